#!/usr/bin/python3
"""Office conversion throughput and reply latency of printgate against raw LibreOffice.

Driven by scripts/bench/convert; run with Debian's /usr/bin/python3 (the `uno` module is needed
by the `raw` phase, imported only in its worker processes). Standard library (+ uno) only.

Phases (each writes RESULTS/<phase>.json; `report` prints the summary and the table rows):

  printgate  `printgate convert --workers W --parallel W` over the mixed Office set (docs/s from
             its summary line; per-document ms and arrival times from its JSON lines).
  raw        W soffice listeners, each with its own profile and a private UNO pipe, driven
             directly over UNO (loadComponentFromURL Hidden=True + storeToURL with the pdf
             export filter of the document's kind), one process per listener pulling from one
             shared queue, each warmed with one document before timing.
  cold       `soffice --headless --convert-to pdf`, one process per document, sequentially,
             one profile reused (created by an untimed first run).
  colour     the step printgate runs after LibreOffice: `pdftoppm -r 20` on each distinct PDF.
  latency    printgate serve (started by the shell script): mails sent one at a time; time from
             the 250 after DATA to the reply's arrival at smtp-sink (dump file mtime), for a small
             PDF and for a DOCX.
  report     the summary block and ready-to-paste rows for docs/benchmarks.md.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (  # noqa: E402 - after the path set-up
    BUSY_CORES,
    Documents,
    RelayWatcher,
    Sent,
    b64_lines,
    build_mail,
    machine_info,
    percentile,
    print_rows,
    sample_pdf,
    send_one,
    PATRON,
    QUEUE_ADDRESS,
)

CLK = os.sysconf("SC_CLK_TCK")

# Goals (printed, not enforced).
GOAL_RAW = 0.8    # printgate docs/s >= 0.8 x warm raw listeners
GOAL_COLD = 20.0  # printgate docs/s >= 20 x cold soffice --convert-to
GOAL_PDF_P50 = 0.5
GOAL_DOCX_P50 = 3.0


def _exit_on_term(*_):
    raise SystemExit(143)


# --- CPU: our process trees versus the rest of the machine ---------------------------------

def _stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            head, tail = f.read().rsplit(")", 1)
    except (OSError, ValueError):
        return None
    fields = tail.split()
    comm = head.split("(", 1)[1] if "(" in head else "?"
    # ppid, own utime+stime, reaped children's cutime+cstime, program name
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]), comm


class TreeMeter:
    """CPU seconds of every live process below the given roots (plus what they reaped), and of
    the machine. 'other' = machine busy time not used by those trees (other engineers' work).
    `by` splits our time by program: own time under its name, reaped children's time under
    "NAME's children" (printgate's are its pdftoppm runs)."""

    def __init__(self, roots):
        self.roots = {int(r) for r in roots if r}

    def snapshot(self):
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
        procs = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                s = _stat(name)
                if s:
                    procs[int(name)] = s
        ours, by, mine = 0, {}, {}
        for pid, (ppid, own, reaped, comm) in procs.items():
            p, depth = pid, 0
            while p and depth < 64:
                if p in self.roots:
                    ours += own + reaped
                    mine[pid] = (comm, (own + reaped) / CLK)
                    by[comm] = by.get(comm, 0) + own
                    if reaped:
                        by[f"{comm}'s children"] = by.get(f"{comm}'s children", 0) + reaped
                    break
                p = procs.get(p, (0,))[0]
                depth += 1
        return {"wall": time.time(), "busy": busy / CLK, "ours": ours / CLK, "by": {k: t / CLK for k, t in by.items()},
                "procs": mine}

    @staticmethod
    def diff(a, b):
        wall = b["wall"] - a["wall"]
        busy = b["busy"] - a["busy"]
        ours = b["ours"] - a["ours"]
        other = max(0.0, busy - ours)
        by = {k: round(b["by"].get(k, 0) - a["by"].get(k, 0), 2) for k in set(a["by"]) | set(b["by"])}
        return {"wall": wall, "busy": busy, "ours": ours, "other": other,
                "other_cores": other / wall if wall > 0 else 0.0,
                "by": {k: v for k, v in sorted(by.items(), key=lambda kv: -kv[1]) if abs(v) >= 0.01}}


def fmt_by(by, docs):
    """CPU ms per document by program, e.g. 'soffice.bin 95, printgate's children 14'."""
    return ", ".join(f"{k} {v / docs * 1000:.0f}" for k, v in by.items() if v / docs >= 0.0005)


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def save(results_dir, name, data):
    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(results_dir, name + ".json"), "w") as f:
        json.dump(data, f, indent=1)


def append_passes(results_dir, name, data):
    """Adds this run's passes to RESULTS/name.json (the shell script alternates the phases)."""
    old = load(results_dir, name)
    if old:
        data = {**old, **data, "passes": old.get("passes", []) + data.get("passes", []),
                "failures": old.get("failures", []) + data.get("failures", [])}
    save(results_dir, name, data)


def load(results_dir, name):
    path = os.path.join(results_dir, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def kind_of(path):
    return os.path.splitext(path)[1].lstrip(".").lower()


def by_kind_ms(items):
    """{kind: mean ms} from [(kind, seconds)]."""
    out = {}
    for k, s in items:
        out.setdefault(k, []).append(s)
    return {k: round(statistics.mean(v) * 1000) for k, v in sorted(out.items())}


def kill_group(proc, grace=5.0):
    """TERM then KILL the process group this benchmark started for `proc` (own session)."""
    if proc is None:
        return
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    if pgid is not None and pgid == proc.pid:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    else:
        proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    if pgid is not None and pgid == proc.pid:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def record_pgid(pid_dir, pid):
    """Leave the process group id where the shell's EXIT trap finds it (fallback clean-up)."""
    if pid_dir:
        os.makedirs(pid_dir, exist_ok=True)
        with open(os.path.join(pid_dir, f"{pid}.pgid"), "w") as f:
            f.write(str(pid))


def forget_pgid(pid_dir, pid):
    if pid_dir:
        try:
            os.remove(os.path.join(pid_dir, f"{pid}.pgid"))
        except FileNotFoundError:
            pass


def procs_naming(path):
    """Pids whose command line names `path` (printgate's LibreOffice workers name their profile)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if path.encode() in f.read():
                        found.append(int(name))
            except OSError:
                continue
    return found


def wait_gone(path, secs):
    """Waits until no process names `path` (the workers shut down after printgate exits)."""
    deadline = time.time() + secs
    while time.time() < deadline:
        if not procs_naming(path):
            return 0
        time.sleep(0.1)
    return len(procs_naming(path))


# --- phase: printgate convert --------------------------------------------------------------

def set_child_subreaper():
    """Orphaned descendants become our children (PR_SET_CHILD_SUBREAPER), so that we reap them
    and their CPU time is not lost: printgate kills its LibreOffice workers as it exits, and
    nobody else would wait for them."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(36, 1, 0, 0, 0) == 0


def reap_all(proc, names, secs=30):
    """Waits for printgate (`proc`) and then every orphan it left (we are their subreaper):
    {label: CPU seconds of that process and what it reaped} from wait4's rusage."""
    cpu = {}
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu[proc.pid] = ("printgate + its pdftoppm runs", ru.ru_utime + ru.ru_stime)
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            pid, status, ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break  # no children left
        if pid == 0:
            time.sleep(0.05)
            continue
        cpu[pid] = (names.get(pid, ("?",))[0], ru.ru_utime + ru.ru_stime)
    return cpu


def phase_printgate(args):
    files = args.files
    meter = TreeMeter(args.root)
    subreaper = set_child_subreaper()
    passes = []
    for p in range(args.first_pass - 1, args.first_pass - 1 + args.passes):
        workdir = os.path.join(args.workdir, f"{'diag' if args.diag else 'pass'}{p + 1}")
        os.makedirs(workdir, exist_ok=True)
        parallel = args.parallel or args.workers
        cmd = [args.bin, "convert", "--workers", str(args.workers), "--parallel", str(parallel), *files]
        print(f"printgate {'diagnosis' if args.diag else 'pass'} {p + 1}: {args.bin} convert --workers {args.workers} "
              f"--parallel {parallel} <{len(files)} files> (cwd {workdir})", flush=True)
        a = meter.snapshot()
        first = last = None
        t_start = time.time()
        with open(os.path.join(args.workdir, f"pass{p + 1}.stderr"), "w") as err:
            proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                    text=True, start_new_session=True,
                                    env={**os.environ, "NO_COLOR": "1"})
            record_pgid(args.pid_dir, proc.pid)
            watchdog = threading.Timer(args.timeout, kill_group, args=(proc,))
            watchdog.daemon = True
            watchdog.start()
            lines, arrivals, summary, reaped = [], [], None, {}
            try:
                for line in proc.stdout:
                    t = time.time()
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        print(f"  unexpected output: {line[:200]}", flush=True)
                        continue
                    if "summary" in obj:
                        summary = obj["summary"]
                    else:
                        if not lines:
                            first = meter.snapshot()  # the first document is done: CPU from here on
                        lines.append(obj)
                        arrivals.append(t)
                        if len(lines) == len(files):
                            last = meter.snapshot()  # printgate's own time vs its pdftoppm runs
                t_eof = time.time()
                reaped = reap_all(proc, first["procs"] if first else {})
            finally:
                watchdog.cancel()
                if proc.returncode is None:
                    kill_group(proc)
                forget_pgid(args.pid_dir, proc.pid)
            rc = proc.returncode
        c = meter.snapshot()
        t_end = time.time()
        d = meter.diff(a, c)
        lingering = wait_gone(workdir, 30)
        if lingering:
            print(f"  {lingering} LibreOffice process(es) of this pass still running 30 s after printgate exited",
                  flush=True)
        failed = [x for x in lines if not x.get("ok")]
        if summary is None:
            print(f"  no summary line (exit {rc}); see {args.workdir}/pass{p + 1}.stderr", flush=True)
            passes.append({"ok": False, "rc": rc, "failed": len(failed),
                           "errors": [x.get("error") for x in failed][:5], "cpu": d})
            continue
        # Warm rate: from the 2nd completion (~ each worker's first document done) to the last.
        k = min(args.workers, len(arrivals) - 1)
        warm = (len(arrivals) - k) / (arrivals[-1] - arrivals[k - 1]) if k >= 1 and arrivals[-1] > arrivals[k - 1] else None
        per_doc = [(kind_of(x["file"]), x["ms"] / 1000) for x in lines if x.get("ok")]
        first_ms = [x["ms"] for x in lines[:args.workers]]
        later = [x["ms"] for x in lines[args.workers:] if x.get("ok")]
        steady = None
        if first and len(lines) > 1 and subreaper:
            # CPU from the first document's completion to the end, by program: what each process
            # had used then (live) against its total at exit (wait4). Shutdown is included.
            steady = meter.diff(first, c)
            steady["docs"] = len(lines) - 1
            steady["wall"] = t_eof - first["wall"]
            by = {}
            for pid, (label, total) in reaped.items():
                before = first["procs"].get(pid, (label, 0.0))[1]
                by[label] = by.get(label, 0.0) + total - before
            pg_label = "printgate + its pdftoppm runs"
            if last and pg_label in by and proc.pid in last["procs"]:
                # printgate was still running at its last document line: split its own time
                # (up to then) from its reaped children's (pdftoppm).
                own = last["by"].get("printgate", 0.0) - first["by"].get("printgate", 0.0)
                by["printgate itself"] = own
                by["pdftoppm (printgate's children)"] = by.pop(pg_label) - own
            steady["by"] = {k: round(v, 2) for k, v in sorted(by.items(), key=lambda kv: -kv[1])}
        res = {
            "parallel": parallel,
            "cpu_steady": steady,
            "ok": rc == 0 and not failed, "rc": rc, "docs": summary["docs"], "failed": summary["failed"],
            "seconds": summary["seconds"], "docs_per_s": summary["docs_per_s"], "startup_ms": summary["startup_ms"],
            "restarts": summary.get("restarts"), "wall_s": t_end - t_start, "warm_docs_per_s": warm,
            "ms_mean": statistics.mean(later) if later else None,
            "ms_p50": percentile(later, 50) if later else None,
            "first_ms": first_ms, "by_kind_ms": by_kind_ms(per_doc),
            "errors": [f"{x.get('file')}: {x.get('error')}" for x in failed][:5], "cpu": d,
            "pages": {os.path.basename(x["file"]): x.get("pages") for x in lines if x.get("ok")},
            "color_pages": {os.path.basename(x["file"]): x.get("color_pages") for x in lines if x.get("ok")},
        }
        passes.append(res)
        print(f"  {res['docs_per_s']:.2f} docs/s ({summary['docs']} docs, {summary['failed']} failed, "
              f"{summary['seconds']:.2f} s after start-up {summary['startup_ms']} ms; whole command {res['wall_s']:.1f} s); "
              f"after the first {args.workers} documents {warm or 0:.2f} docs/s; per document mean "
              f"{res['ms_mean'] or 0:.0f} ms (first ones {first_ms} ms); other processes {d['other_cores']:.2f} cores",
              flush=True)
        if steady:
            print(f"  CPU after the first document: {steady['ours'] / steady['docs'] * 1000:.0f} ms per document "
                  f"({fmt_by(steady['by'], steady['docs'])})", flush=True)
        if failed:
            print(f"  FAILED: {res['errors']}", flush=True)
    if args.diag:
        old = load(args.results, "printgate") or {"passes": []}
        old["diag"] = old.get("diag", []) + passes
        save(args.results, "printgate", old)
    else:
        append_passes(args.results, "printgate", {"passes": passes, "files": len(files), "workers": args.workers})
    return 0 if passes and all(p["ok"] for p in passes) else 1


# --- phase: raw warm listeners -------------------------------------------------------------

def _export_filter(doc):
    if doc.supportsService("com.sun.star.sheet.SpreadsheetDocument"):
        return "calc_pdf_Export"
    if doc.supportsService("com.sun.star.presentation.PresentationDocument"):
        return "impress_pdf_Export"
    if doc.supportsService("com.sun.star.drawing.DrawingDocument"):
        return "draw_pdf_Export"
    return "writer_pdf_Export"


def _raw_worker(idx, args, tasks, results, barrier):
    """One listener: its own soffice + profile + UNO pipe; pulls document indexes from `tasks`."""
    signal.signal(signal.SIGTERM, _exit_on_term)
    office = None
    try:
        import uno
        from com.sun.star.beans import PropertyValue
        from com.sun.star.connection import NoConnectException

        def prop(name, value):
            p = PropertyValue()
            p.Name = name
            p.Value = value
            return p

        profile = os.path.join(args.workdir, f"profile-{idx}")
        os.makedirs(profile, exist_ok=True)
        outdir = os.path.join(args.workdir, "out")
        os.makedirs(outdir, exist_ok=True)
        pipe = f"pgbench-raw-{os.getpid()}-{idx}"
        url = f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
        t0 = time.time()
        office = subprocess.Popen(
            [args.soffice, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault", "--nolockcheck",
             "-env:UserInstallation=" + uno.systemPathToFileUrl(profile),
             f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        record_pgid(args.pid_dir, office.pid)
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.time() + 120
        while True:
            try:
                ctx = resolver.resolve(url)
                break
            except NoConnectException:
                if office.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"soffice listener {idx} did not start (exit {office.poll()})")
                time.sleep(0.1)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)

        plain_props = (prop("Hidden", True),)
        # What printgate's lo_bridge.py passes: read-only, macros never run, links never updated.
        printgate_props = (prop("Hidden", True), prop("ReadOnly", True), prop("MacroExecutionMode", 0),
                           prop("UpdateDocMode", 0))

        def convert(path, out, mode="plain"):
            props = plain_props if mode == "plain" else printgate_props
            doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0, props)
            if doc is None:
                raise RuntimeError(f"cannot open {path}")
            try:
                doc.storeToURL(uno.systemPathToFileUrl(out), (prop("FilterName", _export_filter(doc)),))
            finally:
                doc.close(True)
            if not os.path.getsize(out):
                raise RuntimeError(f"empty PDF for {path}")
            if mode == "props+pdftoppm":  # printgate's colour step after LibreOffice
                ppm = os.path.join(args.workdir, f"ppm-{idx}")
                os.makedirs(ppm, exist_ok=True)
                subprocess.run(["pdftoppm", "-r", "20", out, os.path.join(ppm, "page")], check=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for n in os.listdir(ppm):
                    with open(os.path.join(ppm, n), "rb") as f:
                        f.read()
                    os.remove(os.path.join(ppm, n))

        t_ready = time.time()
        t = time.time()
        # Untimed warm-up. A listener that has just accepted the connection sometimes returns
        # no document for its very first load: try again (up to 3 times).
        for attempt in range(3):
            try:
                convert(args.warm_file, os.path.join(outdir, f"warm-{idx}.pdf"))
                break
            except Exception as e:  # noqa: BLE001 - retried, then reported
                if attempt == 2:
                    raise
                sys.stderr.write(f"raw listener {idx}: warm-up attempt {attempt + 1} failed ({e}); retrying\n")
                time.sleep(0.5)
        results.put(("ready", idx, t_ready - t0, time.time() - t, attempt))
        for p in range(args.passes + (2 if args.diag else 0)):
            barrier.wait()
            while True:
                item = tasks.get()
                if item is None:
                    break
                i, mode = item
                path = args.files[i]
                t = time.time()
                try:
                    convert(path, os.path.join(outdir, os.path.basename(path) + ".pdf"), mode)
                    results.put(("doc", p, idx, i, t, time.time(), None))
                except Exception as e:  # noqa: BLE001 - reported by the parent
                    results.put(("doc", p, idx, i, t, time.time(), f"{type(e).__name__}: {getattr(e, 'Message', '') or e}"))
            results.put(("done", p, idx, time.time()))
        try:
            desktop.terminate()
        except Exception:  # noqa: BLE001 - soffice may already be closing the bridge
            pass
        try:
            office.wait(10)
        except subprocess.TimeoutExpired:
            pass
    except BaseException as e:  # noqa: BLE001 - the parent must hear about any failure
        results.put(("error", idx, f"{type(e).__name__}: {getattr(e, 'Message', '') or e}"))
    finally:
        if office is not None:
            kill_group(office, grace=2.0)
            forget_pgid(args.pid_dir, office.pid)


def phase_raw(args):
    import multiprocessing as mp
    import queue as queue_mod

    ctx = mp.get_context("fork")
    tasks, results = ctx.Queue(), ctx.Queue()
    barrier = ctx.Barrier(args.workers + 1)
    meter = TreeMeter(args.root)
    procs = [ctx.Process(target=_raw_worker, args=(i, args, tasks, results, barrier)) for i in range(args.workers)]
    signal.signal(signal.SIGTERM, _exit_on_term)
    out = {"passes": [], "ready": [], "workers": args.workers, "files": len(args.files)}
    modes = ["plain"] * args.passes + (["props", "props+pdftoppm"] if args.diag else [])
    failures = []
    print(f"raw: starting {args.workers} soffice listeners (own profile, UNO pipe), warming each with "
          f"{os.path.basename(args.warm_file)} ...", flush=True)
    for pr in procs:
        pr.start()
    try:
        t0 = time.time()

        def get(timeout):
            try:
                return results.get(timeout=timeout)
            except queue_mod.Empty:
                raise RuntimeError(f"no answer from the raw listeners within {timeout:.0f}s") from None

        while len(out["ready"]) < args.workers:
            msg = get(180)
            if msg[0] == "error":
                raise RuntimeError(f"raw listener {msg[1]}: {msg[2]}")
            out["ready"].append({"start_s": msg[2], "warm_ms": round(msg[3] * 1000), "warm_retries": msg[4]})
        print(f"  ready after {time.time() - t0:.1f}s: "
              + ", ".join(f"start {r['start_s']:.1f}s, warm-up document {r['warm_ms']} ms"
                        + (f" ({r['warm_retries']} failed first)" if r["warm_retries"] else "") for r in out["ready"]),
              flush=True)
        for p, mode in enumerate(modes):
            for i in range(len(args.files)):
                tasks.put((i, mode))
            for _ in range(args.workers):
                tasks.put(None)
            time.sleep(0.2)  # let the queue's feeder thread hand everything over
            a = meter.snapshot()
            barrier.wait(60)
            t_begin = time.time()
            docs, done = [], []
            while len(done) < args.workers:
                msg = get(args.timeout)
                if msg[0] == "error":
                    raise RuntimeError(f"raw listener {msg[1]}: {msg[2]}")
                if msg[0] == "doc":
                    docs.append(msg)
                elif msg[0] == "done":
                    done.append(msg[3])
            t_end = max(done)
            d = meter.diff(a, meter.snapshot())
            errs = [m for m in docs if m[6]]
            ok = [m for m in docs if not m[6]]
            per_doc = [(kind_of(args.files[m[3]]), m[5] - m[4]) for m in ok]
            res = {"docs": len(docs), "failed": len(errs), "seconds": t_end - t_begin,
                   "docs_per_s": len(ok) / (t_end - t_begin), "ms_mean": statistics.mean(s for _, s in per_doc) * 1000,
                   "ms_p50": percentile([s for _, s in per_doc], 50) * 1000,
                   "by_kind_ms": by_kind_ms(per_doc), "cpu": d,
                   "errors": [f"{args.files[m[3]]}: {m[6]}" for m in errs][:5], "mode": mode}
            if mode == "plain":
                out["passes"].append(res)
                label = f"pass {p + 1}"
            else:
                out.setdefault("diag", {})[mode] = res
                label = {"props": "diagnosis, printgate's load options (ReadOnly, MacroExecutionMode, UpdateDocMode)",
                         "props+pdftoppm": "diagnosis, printgate's load options + pdftoppm -r 20 per document"}[mode]
            print(f"  {label}: {res['docs_per_s']:.2f} docs/s ({len(ok)} docs in {res['seconds']:.2f} s), per "
                  f"document mean {res['ms_mean']:.0f} ms; CPU {d['ours'] / max(1, len(docs)) * 1000:.0f} ms per "
                  f"document ({fmt_by(d['by'], max(1, len(docs)))}); other processes {d['other_cores']:.2f} cores",
                  flush=True)
            if errs:
                failures.append(f"raw pass {p + 1}: {len(errs)} failed, first {res['errors'][0]}")
        for pr in procs:
            pr.join(30)
    except BaseException as e:
        failures.append(f"raw: {e}")
        print(f"  FAILED: {e}", flush=True)
        for pr in procs:
            if pr.is_alive():
                pr.terminate()
        for pr in procs:
            pr.join(15)
            if pr.is_alive():
                pr.kill()
        if not isinstance(e, Exception):
            raise
    out["failures"] = failures
    append_passes(args.results, "raw", out)
    return 1 if failures else 0


# --- phase: cold soffice --convert-to ------------------------------------------------------

def phase_cold(args):
    profile = os.path.join(args.workdir, "profile")
    outdir = os.path.join(args.workdir, "out")
    os.makedirs(outdir, exist_ok=True)
    signal.signal(signal.SIGTERM, _exit_on_term)
    meter = TreeMeter(args.root)

    def run(path):
        cmd = [args.soffice, "--headless", "--norestore", "--nolockcheck",
               "-env:UserInstallation=file://" + profile, "--convert-to", "pdf", "--outdir", outdir, path]
        target = os.path.join(outdir, os.path.splitext(os.path.basename(path))[0] + ".pdf")
        if os.path.exists(target):
            os.remove(target)
        t = time.time()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        record_pgid(args.pid_dir, proc.pid)
        try:
            rc = proc.wait(120)
        except subprocess.TimeoutExpired:
            rc = "timeout"
        finally:
            kill_group(proc, grace=1.0)
            forget_pgid(args.pid_dir, proc.pid)
        secs = time.time() - t
        ok = rc == 0 and os.path.exists(target) and os.path.getsize(target) > 0
        return secs, ok, rc

    print(f"cold: creating the profile with an untimed first run ({os.path.basename(args.files[0])}) ...", flush=True)
    first, ok, rc = run(args.files[0])
    if not ok:
        print(f"  FAILED: first run exit {rc}", flush=True)
    a = meter.snapshot()
    times, failures = [], []
    for path in args.files:
        secs, ok, rc = run(path)
        times.append((kind_of(path), secs))
        if not ok:
            failures.append(f"{os.path.basename(path)}: exit {rc} or no PDF")
    d = meter.diff(a, meter.snapshot())
    total = sum(s for _, s in times)
    good = len(times) - len(failures)
    res = {"docs": len(times), "failed": len(failures), "seconds": total, "docs_per_s": good / total if total else 0,
           "ms_mean": statistics.mean(s for _, s in times) * 1000, "by_kind_ms": by_kind_ms(times),
           "profile_run_ms": round(first * 1000), "cpu": d, "failures": failures}
    print(f"  {res['docs_per_s']:.3f} docs/s ({len(times)} documents in {total:.1f} s, mean {res['ms_mean']:.0f} ms; "
          f"profile-creating first run {first:.1f} s); other processes {d['other_cores']:.2f} cores", flush=True)
    if failures:
        print(f"  FAILED: {failures}", flush=True)
    save(args.results, "cold", res)
    return 1 if failures else 0


# --- phase: the colour step (pdftoppm -r 20) -----------------------------------------------

def phase_colour(args):
    rows = {}
    for pdf in args.files:
        tmp = os.path.join(args.workdir, "ppm")
        os.makedirs(tmp, exist_ok=True)
        times = []
        for _ in range(args.repeat):
            t = time.time()
            subprocess.run(["pdftoppm", "-r", "20", pdf, os.path.join(tmp, "page")], check=True,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.time() - t)
            for n in os.listdir(tmp):
                os.remove(os.path.join(tmp, n))
        pages = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True).stdout
        npages = next((int(line.split()[1]) for line in pages.splitlines() if line.startswith("Pages:")), 0)
        rows[os.path.basename(pdf)] = {"ms": round(statistics.median(times) * 1000, 1), "pages": npages}
    mean = statistics.mean(r["ms"] for r in rows.values()) if rows else 0
    print("colour step (pdftoppm -r 20, median of %d) per document: %s; mean %.0f ms"
          % (args.repeat, ", ".join(f"{k} {v['ms']:.0f} ms/{v['pages']}p" for k, v in rows.items()), mean), flush=True)
    save(args.results, "colour", {"docs": rows, "ms_mean": mean})
    return 0


# --- phase: latency through printgate serve ------------------------------------------------

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_variant(docx: bytes, serial: int) -> bytes:
    """The same DOCX with its own ZIP archive comment (the end-of-central-directory record is
    the file's last 22 bytes when it has no comment), so every mail carries distinct bytes."""
    eocd = docx.rfind(b"PK\x05\x06")
    if eocd < 0 or len(docx) - eocd != 22:
        return docx
    comment = f"printgate bench {serial:09d}".encode()
    return docx[:eocd + 20] + len(comment).to_bytes(2, "little") + comment


def build_attachment_mail(message_id, data, ctype, filename):
    import email.utils
    return (
        f"From: Pat Patron <{PATRON}>\r\n"
        f"To: {QUEUE_ADDRESS}\r\n"
        "Subject: please print\r\n"
        f"Date: {email.utils.formatdate(localtime=False)}\r\n"
        f"Message-ID: <{message_id}>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1_printgate_bench"\r\n'
        "\r\n"
        "--b1_printgate_bench\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "Please print the attached document.\r\n"
        "--b1_printgate_bench\r\n"
        f"Content-Type: {ctype}\r\n"
        f'Content-Disposition: attachment; filename="{filename}"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{b64_lines(data)}\r\n"
        "--b1_printgate_bench--\r\n"
    ).encode()


def phase_latency(args):
    host, port = args.smtp.rsplit(":", 1)
    watcher = RelayWatcher(args.relay_dir)
    meter = TreeMeter(args.root)
    run_tag = uuid.uuid4().hex[:10]
    pdfs = Documents(lambda text: sample_pdf(text, 1))
    with open(args.docx, "rb") as f:
        docx = f.read()
    serial = iter(range(1, 1_000_000))

    def make(kind, msgid):
        if kind == "pdf":
            return build_mail(msgid, b64_lines(pdfs.pdf()))
        return build_attachment_mail(msgid, docx_variant(docx, next(serial)), DOCX_TYPE, "letter.docx")

    def one(kind, i, label):
        s = Sent(f"bench.convert.{run_tag}.{label}.{kind}.{i:04d}@bench.example.com")
        send_one(host, int(port), s, make(kind, s.msgid), 60)

        if s.code != 250:
            return s, None, f"not accepted: {s.code} {s.text}"
        deadline = time.time() + args.reply_timeout
        while time.time() < deadline:
            watcher.poll()
            for mtime, irt, subject in watcher.replies():
                if irt == s.msgid:
                    note = None if subject.startswith("Ready to print:") else f"reply subject {subject!r}"
                    return s, mtime - s.t_250, note
            time.sleep(0.05)
        return s, None, f"no reply within {args.reply_timeout:.0f}s"

    out = {"n": args.n, "warm": args.warm, "docx_bytes": len(docx), "pdf_bytes": pdfs.pdf_bytes,
           "docx_name": os.path.basename(args.docx)}
    failures = []
    for kind in ("pdf", "docx"):
        warm = []
        for i in range(args.warm):
            _, lat, note = one(kind, i, "warm")
            warm.append(lat)
            if note:
                failures.append(f"{kind} warm-up {i}: {note}")
        a = meter.snapshot()
        lats = []
        for i in range(args.n):
            s, lat, note = one(kind, i, "timed")
            if lat is not None:
                lats.append(lat)
            if note:
                failures.append(f"{kind} {i}: {note}")
        d = meter.diff(a, meter.snapshot())
        res = {"count": len(lats), "warm_s": warm, "cpu": d}
        if lats:
            res.update(p50=percentile(lats, 50), p95=percentile(lats, 95), max=max(lats), min=min(lats),
                       mean=statistics.mean(lats))
            print(f"latency {kind}: {len(lats)}/{args.n} replies, p50 {res['p50'] * 1000:.0f} ms, p95 "
                  f"{res['p95'] * 1000:.0f} ms, min {res['min'] * 1000:.0f} ms, max {res['max'] * 1000:.0f} ms "
                  f"(warm-up {', '.join('%.0f ms' % (w * 1000) if w is not None else 'none' for w in warm)}); "
                  f"other processes {d['other_cores']:.2f} cores", flush=True)
        out[kind] = res
    out["failures"] = failures
    for f in failures[:10]:
        print(f"  FAILED: {f}", flush=True)
    save(args.results, "latency", out)
    return 1 if failures else 0


# --- report --------------------------------------------------------------------------------

def phase_report(args):
    pg = load(args.results, "printgate")
    raw = load(args.results, "raw")
    cold = load(args.results, "cold")
    colour = load(args.results, "colour")
    lat = load(args.results, "latency")
    machine, nproc = machine_info()
    date = time.strftime("%Y-%m-%d")
    cmd = args.command
    problems = []

    def best(res):
        ok = [p for p in (res or {}).get("passes", []) if p.get("docs_per_s")]
        return max(ok, key=lambda p: p["docs_per_s"]) if ok else None

    pg_best, raw_best = best(pg), best(raw)
    cpu_phases = []
    for name, res in (("printgate", pg), ("raw", raw)):
        for i, p in enumerate((res or {}).get("passes", [])):
            cpu_phases.append((f"{name} pass {i + 1}", p.get("cpu")))
    for mode, res in ((raw or {}).get("diag") or {}).items():
        cpu_phases.append((f"raw {mode}", res.get("cpu")))
    cpu_phases.append(("cold", (cold or {}).get("cpu")))
    for kind in ("pdf", "docx"):
        cpu_phases.append((f"latency {kind}", ((lat or {}).get(kind) or {}).get("cpu")))
    busy = max((c["other_cores"] for _, c in cpu_phases if c), default=0.0)
    busy_note = (f"; busy: other processes used up to {busy:.1f} cores during a phase" if busy > BUSY_CORES
                 else "; quiet: other processes used under 0.25 cores")

    print()
    print(f"date:    {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"machine: {machine} (nproc {nproc}); load average {args.load_start} at start, {loadavg()} at end")
    print(f"set:     {args.set_desc}")
    print()
    rows = []
    r_raw = r_cold = None
    if pg_best:
        rows.append(("printgate convert --workers 2 --parallel 2", f"{pg_best['docs_per_s']:.2f} docs/s",
                     "best of %d: %s; start-up %s ms" % (len(pg["passes"]), ", ".join(
                         f"{p['docs_per_s']:.2f}" for p in pg["passes"] if p.get("docs_per_s")), pg_best["startup_ms"])))
        rows.append(("printgate, after each worker's first document", f"{pg_best['warm_docs_per_s'] or 0:.2f} docs/s",
                     f"first documents {pg_best['first_ms']} ms"))
    else:
        problems.append("printgate convert produced no figure")
    if raw_best:
        rows.append(("raw warm listeners x2 (UNO, own profiles)", f"{raw_best['docs_per_s']:.2f} docs/s",
                     "best of %d: %s" % (len(raw["passes"]), ", ".join(f"{p['docs_per_s']:.2f}" for p in raw["passes"]))))
    else:
        problems.append("raw listeners produced no figure")
    if cold and cold.get("docs_per_s"):
        rows.append(("cold soffice --convert-to pdf, sequential", f"{cold['docs_per_s']:.3f} docs/s",
                     f"{cold['docs']} documents, mean {cold['ms_mean']:.0f} ms each"))
    else:
        problems.append("cold soffice produced no figure")
    if pg_best and raw_best:
        r_raw = pg_best["docs_per_s"] / raw_best["docs_per_s"]
        rows.append(("ratio printgate / raw warm", f"{r_raw:.2f}",
                     f"goal >= {GOAL_RAW}: {'met' if r_raw >= GOAL_RAW else 'MISSED'}"))
        if pg_best.get("warm_docs_per_s"):
            rows.append(("ratio printgate (after first docs) / raw warm",
                         f"{pg_best['warm_docs_per_s'] / raw_best['docs_per_s']:.2f}", "for diagnosis"))
    cpu_pg = [p["cpu_steady"]["ours"] / p["cpu_steady"]["docs"] for p in (pg or {}).get("passes", []) if p.get("cpu_steady")]
    cpu_raw = [p["cpu"]["ours"] / p["docs"] for p in (raw or {}).get("passes", []) if p.get("cpu") and p.get("docs")]
    if cpu_pg and cpu_raw:
        rows.append(("CPU per document, printgate / raw (median of passes)",
                     f"{statistics.median(cpu_pg) * 1000:.0f}/{statistics.median(cpu_raw) * 1000:.0f} ms",
                     f"raw/printgate {statistics.median(cpu_raw) / statistics.median(cpu_pg):.2f}: the docs/s ratio on a "
                     f"CPU-bound machine, less sensitive to background load"))
    if pg_best and cold and cold.get("docs_per_s"):
        r_cold = pg_best["docs_per_s"] / cold["docs_per_s"]
        rows.append(("ratio printgate / cold", f"{r_cold:.1f}",
                     f"goal >= {GOAL_COLD:.0f}: {'met' if r_cold >= GOAL_COLD else 'MISSED'}"))
    lat_rows = {}
    for kind, goal in (("pdf", GOAL_PDF_P50), ("docx", GOAL_DOCX_P50)):
        res = (lat or {}).get(kind) or {}
        if res.get("count"):
            met = res["p50"] < goal
            lat_rows[kind] = (res, met, goal)
            rows.append((f"latency 250 -> reply at relay, {kind.upper()}, p50/p95",
                         f"{res['p50'] * 1000:.0f}/{res['p95'] * 1000:.0f} ms",
                         f"{res['count']} mails one at a time, max {res['max'] * 1000:.0f} ms; goal p50 < {goal} s: "
                         f"{'met' if met else 'MISSED'}"))
        else:
            problems.append(f"no {kind} latency figure")
    print_rows(rows)
    print()

    print("where the time goes (mean ms per document, by kind):")
    kinds = sorted(set((pg_best or {}).get("by_kind_ms", {})) | set((raw_best or {}).get("by_kind_ms", {})))
    print(f"  {'kind':<6} {'printgate':>10} {'raw warm':>9} {'cold':>7}")
    for k in kinds:
        print(f"  {k:<6} {str((pg_best or {}).get('by_kind_ms', {}).get(k, '-')):>10} "
              f"{str((raw_best or {}).get('by_kind_ms', {}).get(k, '-')):>9} {str((cold or {}).get('by_kind_ms', {}).get(k, '-')):>7}")
    if pg_best and raw_best:
        print(f"  all    {pg_best['ms_mean']:>10.0f} {raw_best['ms_mean']:>9.0f}   "
              f"(printgate excludes each worker's first document; raw is warmed)")
    if colour:
        print(f"  pdftoppm -r 20 (printgate's colour step) on these PDFs, alone: mean {colour['ms_mean']:.0f} ms per document")
    steady = (pg_best or {}).get("cpu_steady")
    if steady:
        print(f"  CPU per document, printgate (after its first document): {steady['ours'] / steady['docs'] * 1000:.0f} ms "
              f"({fmt_by(steady['by'], steady['docs'])}); wall {steady['wall']:.2f} s for {steady['docs']} documents")
    if raw_best and raw_best.get("cpu"):
        c = raw_best["cpu"]
        print(f"  CPU per document, raw warm listeners: {c['ours'] / raw_best['docs'] * 1000:.0f} ms "
              f"({fmt_by(c['by'], raw_best['docs'])})")
    for mode, label in (("props", "raw + printgate's load options (ReadOnly, MacroExecutionMode, UpdateDocMode)"),
                        ("props+pdftoppm", "raw + those options + pdftoppm -r 20 per document")):
        res = ((raw or {}).get("diag") or {}).get(mode)
        if res:
            c = res["cpu"]
            print(f"  {label}: {res['docs_per_s']:.2f} docs/s, {res['ms_mean']:.0f} ms per document, CPU "
                  f"{c['ours'] / res['docs'] * 1000:.0f} ms per document; other processes {c['other_cores']:.2f} cores")
    for res in (pg or {}).get("diag", []):
        if res.get("docs_per_s"):
            st = res.get("cpu_steady")
            print(f"  printgate convert --workers 2 --parallel {res['parallel']} (diagnosis: more documents in flight than "
                  f"workers, so LibreOffice is not idle during the colour step): {res['docs_per_s']:.2f} docs/s, "
                  f"{res['warm_docs_per_s'] or 0:.2f} after the first documents"
                  + (f"; CPU {st['ours'] / st['docs'] * 1000:.0f} ms per document" if st else "")
                  + f"; other processes {res['cpu']['other_cores']:.2f} cores")
    if pg_best:
        print(f"  printgate start-up (2 workers, before timing): {pg_best['startup_ms']} ms; its first documents "
              f"{pg_best['first_ms']} ms (raw warm-up documents: "
              f"{', '.join(str(r['warm_ms']) for r in (raw or {}).get('ready', []))} ms)")
    print()
    print("CPU per phase ('other' = processes this benchmark did not start)")
    for name, c in cpu_phases:
        if c:
            print(f"  {name:<20} wall {c['wall']:6.1f} s  ours {c['ours']:6.1f} s  other {c['other']:6.1f} s "
                  f"({c['other_cores']:.2f} cores)")
    if busy > BUSY_CORES:
        print(f"WARNING: other processes used up to {busy:.1f} cores during a phase: the figures are disturbed")
    print()

    for res, label in ((pg, "printgate"), (raw, "raw"), (cold, "cold"), (lat, "latency")):
        if res is None:
            problems.append(f"{label}: no results")
            continue
        for p in res.get("passes", []):
            if p.get("errors"):
                problems.append(f"{label}: {p['errors'][0]}")
            if p.get("failed"):
                problems.append(f"{label}: {p['failed']} documents failed")
        for f in res.get("failures", []):
            problems.append(f"{label}: {f}")
    print("RESULT: FAIL" if problems else "RESULT: OK")
    for p in problems[:15]:
        print(f"  - {p}")
    print()

    m = machine + busy_note
    print("rows for docs/benchmarks.md:")
    cpu_note = ""
    if cpu_pg and cpu_raw:
        cpu_note = (f" (CPU per document: printgate {statistics.median(cpu_pg) * 1000:.0f} ms, raw "
                    f"{statistics.median(cpu_raw) * 1000:.0f} ms)")
    if pg_best and raw_best:
        print(f"| {date} | convert docs/s, mixed Office set: {args.set_desc}; `printgate convert --workers 2 "
              f"--parallel 2` (timed after the workers are ready), best of {len(pg['passes'])} | `{cmd}` | "
              f"{pg_best['docs_per_s']:.2f} docs/s | {raw_best['docs_per_s']:.2f} docs/s: 2 warm soffice UNO listeners "
              f"(own profiles, pipe), driven from Python, warmed with one document each; goal >= {GOAL_RAW}x{cpu_note} | "
              f"{r_raw:.2f} | {m} |")
    if pg_best and cold and cold.get("docs_per_s"):
        print(f"| {date} | convert docs/s vs cold LibreOffice, same run | `{cmd}` | {pg_best['docs_per_s']:.2f} docs/s | "
              f"{cold['docs_per_s']:.3f} docs/s: `soffice --headless --convert-to pdf`, one process per document, "
              f"sequential, {cold['docs']} documents ({cold['ms_mean']:.0f} ms each); goal >= {GOAL_COLD:.0f}x | "
              f"{r_cold:.1f} | {m} |")
    for kind, (res, met, goal) in lat_rows.items():
        if kind == "pdf":
            what = f"a one-page {lat['pdf_bytes'] / 1024:.1f} KB PDF"
        else:
            pages = ((pg_best or {}).get("pages") or {}).get(lat.get("docx_name"))
            what = f"a {lat['docx_bytes'] / 1024:.1f} KB DOCX ({lat.get('docx_name')}{f', {pages} pages' if pages else ''})"
        print(f"| {date} | convert latency, 250 after DATA to reply at the smtp-sink relay, mail with {what}, "
              f"{res['count']} mails one at a time, clamd + spamd, same run | `{cmd}` | p50 {res['p50'] * 1000:.0f} ms, "
              f"p95 {res['p95'] * 1000:.0f} ms, max {res['max'] * 1000:.0f} ms | goal p50 < {goal} s | - | {m} |")
    return 1 if problems else 0


def main():
    signal.signal(signal.SIGTERM, _exit_on_term)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="phase", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--results", required=True)
    common.add_argument("--root", action="append", default=[], help="pid whose process tree is ours (CPU)")
    common.add_argument("--pid-dir", default=None, help="record process groups started here")

    p = sub.add_parser("printgate", parents=[common])
    p.add_argument("--bin", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--passes", type=int, default=2)
    p.add_argument("--first-pass", type=int, default=1, help="number of the first pass (its work directory)")
    p.add_argument("--parallel", type=int, default=0, help="documents at once (default: --workers)")
    p.add_argument("--diag", action="store_true", help="a diagnostic run: kept apart from the reported passes")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("files", nargs="+")

    p = sub.add_parser("raw", parents=[common])
    p.add_argument("--soffice", default="soffice")
    p.add_argument("--workdir", required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--passes", type=int, default=2)
    p.add_argument("--warm-file", required=True)
    p.add_argument("--diag", action="store_true", help="two more passes: printgate's load options, then + pdftoppm")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("files", nargs="+")

    p = sub.add_parser("cold", parents=[common])
    p.add_argument("--soffice", default="soffice")
    p.add_argument("--workdir", required=True)
    p.add_argument("files", nargs="+")

    p = sub.add_parser("colour", parents=[common])
    p.add_argument("--workdir", required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("files", nargs="+")

    p = sub.add_parser("latency", parents=[common])
    p.add_argument("--smtp", required=True)
    p.add_argument("--relay-dir", required=True)
    p.add_argument("--docx", required=True)
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--warm", type=int, default=2)
    p.add_argument("--reply-timeout", type=float, default=60)

    p = sub.add_parser("report", parents=[common])
    p.add_argument("--command", default="scripts/bench/convert")
    p.add_argument("--set-desc", default="")
    p.add_argument("--load-start", default="?")

    args = ap.parse_args()
    fn = {"printgate": phase_printgate, "raw": phase_raw, "cold": phase_cold, "colour": phase_colour,
          "latency": phase_latency, "report": phase_report}[args.phase]
    return fn(args)


if __name__ == "__main__":
    sys.exit(main())
