#!/usr/bin/env python3
"""SMTP receiving rate of printgate beside smtp-sink, clamd alone and spamd alone, in one run.

Driven by scripts/bench/smtp, which starts clamd, spamd, two smtp-sinks (one as the receiving
limit, one as printgate's reply relay) and printgate, and passes their addresses. Standard
library only; helpers in benchlib.py.

For a 10 KB mail and a 1 MB mail (text part + PDF attachment, base64; every mail, to printgate
or to clamd, carries a different document, since clamd caches clean results by content hash)
it measures:
  (a) Postfix smtp-sink as the receiving limit of this machine, fed by Postfix smtp-source
      (C sessions, new connection per mail, -F with the same mail) and, for comparison, by the
      Python client used for printgate;
  (b) clamd alone: zINSTREAM over the unix socket, the mail only and, as printgate asks it,
      the mail and then the decoded PDF;
  (c) spamd alone: SYMBOLS on what printgate gives it: the whole mail up to scan.spamassassin
      .max_bytes (512 KB), above that the header fields and text parts only; for the 1 MB mail
      also the whole mail (information only: printgate never sends it);
  (b+c) clamd and spamd together without printgate: per mail both, in parallel, as printgate
      calls them (information: on a small machine the scanners and printgate share the cores);
  (d) printgate: accepted msg/s (first connect to last 250; screening is inline before 250)
      and whole-path msg/s (to the last reply at the relay);
then (e) printgate's VmRSS with 1,000 idle SMTP sessions (greeting read, connection kept).

References are measured before and after printgate (best of two passes); the CPU used by
every process group per phase shows whether other work disturbed the run.
Exit code 0 only if every mail got 250 and its reply, every reference request got a clean
answer and every idle session was greeted.
"""

import argparse
import os
import resource
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (  # noqa: E402 - after the path set-up
    BODY_TEXT,
    PATRON,
    QUEUE_ADDRESS,
    CpuMeter,
    RelayWatcher,
    Documents,
    busy_note,
    clamd_scan,
    image_pdf,
    loadavg,
    machine_info,
    ms,
    open_fds,
    parse_pids,
    pdf_of_size,
    percentile,
    print_cpu,
    print_rows,
    recv_until,
    send_batch,
    spam_input,
    spamd_score,
    spamd_symbols,
    timed_requests,
    together,
    vm_status,
    wait_replies,
    warn_if_busy,
)

GROUPS = ("printgate", "spamd", "clamd", "smtp-sink", "relay sink", "bench client", "other")


def env_int(name, default):
    return int(os.environ.get(name, "") or default)


class Size:
    """One mail size: its documents (a new one in every mail), what each scanner is given."""

    def __init__(self, label, docs, n, sink_n, py_sink_n, clamd_n, spam_max_bytes, workdir):
        self.label = label
        self.docs = docs
        self.n = n
        self.sink_n = sink_n
        self.py_sink_n = py_sink_n
        self.clamd_n = clamd_n
        self.scanned_bytes = len(docs.scanned()[0])
        self.spam_max_bytes = spam_max_bytes
        self.spam_reduced = self.scanned_bytes > spam_max_bytes
        # spamd keeps no cache: one input, as printgate makes it, serves every spamd request.
        self.spam = self.spam_input(docs.scanned()[0])
        # smtp-source -F sends the file's lines, each with CRLF appended.
        self.file = os.path.join(workdir, f"mail-{label.replace(' ', '')}.eml")
        plain = docs.mail(f"sink.{label.replace(' ', '')}@bench.example.com")
        with open(self.file, "wb") as f:
            f.write(plain.replace(b"\r\n", b"\n"))
        self.mail_bytes = len(plain)

    def spam_input(self, raw):
        return spam_input(raw, [BODY_TEXT.encode()], self.spam_max_bytes)

    def mail(self, message_id):
        return self.docs.mail(message_id)

    def clamd_mail(self):
        """What printgate asks clamd for one mail: the mail, then its decoded PDF."""
        raw, pdf = self.docs.scanned()
        clamd_scan(self.clamd_path, raw, 60)
        clamd_scan(self.clamd_path, pdf, 60)


def smtp_source(tool, sink, n, c, path):
    """n mails from the file with smtp-source, c sessions; returns (msg/s, error or None)."""
    cmd = [tool, "-s", str(c), "-m", str(n), "-F", path, "-f", PATRON, "-t", QUEUE_ADDRESS,
           "-M", "bench.example.com", sink]
    t = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return 0.0, "smtp-source did not finish within 300 s"
    secs = time.time() - t
    if p.returncode != 0:
        return 0.0, f"smtp-source exit {p.returncode}: {(p.stderr or p.stdout).strip()[:200]}"
    return n / secs, None


def idle_sessions(host, port, count, pid, timeout=10.0):
    """Opens `count` SMTP sessions and reads each greeting, keeps them open, reads printgate's
    memory, checks each session still answers NOOP, closes them all. Returns a dict."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = count + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    out = {"before": vm_status(pid), "fds_before": open_fds(pid), "greeted": 0, "refused": [],
           "errors": [], "noop_ok": 0}
    socks = []
    t0 = time.time()
    try:
        for i in range(count):
            try:
                s = socket.create_connection((host, port), timeout=timeout)
                greeting = recv_until(s, lambda d: d.endswith(b"\n"))
            except OSError as e:
                out["errors"].append(f"session {i}: {e!r}")
                if len(out["errors"]) >= 20:
                    break
                continue
            if greeting.startswith(b"220"):
                socks.append(s)
            else:
                out["refused"].append(greeting.decode(errors="replace").strip()[:100])
                s.close()
        out["greeted"] = len(socks)
        out["open_secs"] = time.time() - t0
        time.sleep(1.0)
        out["with"] = vm_status(pid)
        out["fds_with"] = open_fds(pid)
        t1 = time.time()
        for s in socks:
            try:
                s.sendall(b"NOOP\r\n")
                if recv_until(s, lambda d: d.endswith(b"\n")).startswith(b"250"):
                    out["noop_ok"] += 1
            except OSError as e:
                out["errors"].append(f"NOOP: {e!r}")
        out["noop_secs"] = time.time() - t1
        out["after_noop"] = vm_status(pid)
    finally:
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
    time.sleep(1.5)
    out["closed"] = vm_status(pid)
    out["fds_closed"] = open_fds(pid)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smtp", required=True, help="printgate SMTP HOST:PORT")
    ap.add_argument("--sink", required=True, help="smtp-sink HOST:PORT (the receiving limit, no dumps)")
    ap.add_argument("--smtp-source", required=True, help="path of Postfix smtp-source")
    ap.add_argument("--clamd", required=True, help="clamd unix socket path (unix:/path or /path)")
    ap.add_argument("--spamd", required=True, help="spamd HOST:PORT")
    ap.add_argument("--relay-dir", required=True, help="dump directory of the reply relay's smtp-sink")
    ap.add_argument("--workdir", required=True, help="directory for the smtp-source mail files")
    ap.add_argument("--pid", action="append", default=[], metavar="GROUP=PID",
                    help="process to account CPU to: " + ", ".join(GROUPS[:5]))
    ap.add_argument("-c", type=int, default=env_int("BENCH_C", 4), help="concurrent clients")
    ap.add_argument("--n", type=int, default=env_int("BENCH_N", 100),
                    help="10 KB mails to printgate, and spamd requests per pass")
    ap.add_argument("--n-large", type=int, default=env_int("BENCH_N_LARGE", 60),
                    help="1 MB mails to printgate, and spamd requests per pass")
    ap.add_argument("--sink-n", type=int, default=env_int("BENCH_SINK_N", 2000),
                    help="10 KB mails per smtp-source pass (1 MB: a tenth)")
    ap.add_argument("--spamd-full-n", type=int, default=env_int("BENCH_SPAMD_FULL_N", 8),
                    help="whole 1 MB mails to spamd (information only)")
    ap.add_argument("--idle", type=int, default=env_int("BENCH_IDLE", 1000), help="idle sessions")
    ap.add_argument("--small-bytes", type=int, default=10240)
    ap.add_argument("--large-bytes", type=int, default=1048576)
    ap.add_argument("--spam-max-bytes", type=int, default=512 * 1024,
                    help="printgate's scan.spamassassin.max_bytes")
    ap.add_argument("--reply-timeout", type=float, default=float(os.environ.get("BENCH_REPLY_TIMEOUT", "120")))
    ap.add_argument("--command", default=os.environ.get("BENCH_COMMAND", "scripts/bench/smtp"))
    args = ap.parse_args()
    c = args.c
    if min(c, args.n, args.n_large, args.sink_n, args.idle) < 1:
        ap.error("counts must be >= 1")
    smtp_host, smtp_port = args.smtp.rsplit(":", 1)
    sink_host, sink_port = args.sink.rsplit(":", 1)
    spamd_host, spamd_port = args.spamd.rsplit(":", 1)
    spamd_port = int(spamd_port)
    clamd_path = args.clamd[5:] if args.clamd.startswith("unix:") else args.clamd
    pids = parse_pids(args.pid, GROUPS[:5])
    meter = CpuMeter(pids, groups=GROUPS)
    phases = []
    failures = []
    load_start = loadavg()

    def measure(label, fn):
        a = meter.snapshot()
        result = fn()
        phases.append((label, meter.diff(a, meter.snapshot())))
        return result

    workdir = args.workdir
    os.makedirs(workdir, exist_ok=True)
    sizes = [
        Size("10 KB", Documents(lambda text: pdf_of_size(args.small_bytes, text)), args.n, args.sink_n, 400,
             3 * args.n, args.spam_max_bytes, workdir),
        Size("1 MB", Documents(lambda text: image_pdf(args.large_bytes, text)), args.n_large,
             max(20, args.sink_n // 10), 100, 2 * args.n_large, args.spam_max_bytes, workdir),
    ]
    for z in sizes:
        z.clamd_path = clamd_path
        what = (f"headers + text parts, {len(z.spam)} B (mail above {args.spam_max_bytes} B)"
                if z.spam_reduced else "the whole mail")
        print(f"{z.label}: PDF {z.docs.pdf_bytes} B, mail {z.mail_bytes} B ({z.scanned_bytes} B as scanned), "
              f"a new document in every mail; spamd gets {what}", flush=True)

    # Warm the scanners (rules) and note the scores; not timed.
    for z in sizes:
        z.clamd_mail()
        score = spamd_score(spamd_symbols(spamd_host, spamd_port, z.spam, 120))
        print(f"{z.label}: spamd score {score:.1f} on the input printgate gives it", flush=True)
    for z in sizes:  # one request per spamd child and more
        timed_requests(2 * c, c, lambda i, z=z: spamd_symbols(spamd_host, spamd_port, z.spam, 120))

    ref = {}  # (size, name) -> [rate per pass]
    lat = {}  # (size, name) -> [seconds per request]

    def record(z, name, label, n, fn):
        rate, l, errs = measure(f"{name}, {z.label}, {label}", lambda: timed_requests(n, c, fn))
        ref.setdefault((z.label, name), []).append(rate)
        lat.setdefault((z.label, name), []).extend(l)
        if errs:
            failures.append(f"{name} {z.label} {label}: {len(errs)} of {n} failed, first: {errs[0][1]}")

    def reference_pass(label):
        for z in sizes:
            print(f"reference {label}, {z.label}: smtp-sink, clamd, spamd ...", flush=True)
            rate, err = measure(f"smtp-sink via smtp-source, {z.label}, {label}",
                                lambda z=z: smtp_source(args.smtp_source, args.sink, z.sink_n, c, z.file))
            ref.setdefault((z.label, "sink"), []).append(rate)
            if err:
                failures.append(f"smtp-source {z.label} {label}: {err}")
            batch = measure(f"smtp-sink via Python client, {z.label}, {label}",
                            lambda z=z: send_batch(sink_host, sink_port, z.py_sink_n, c, z.mail, "sink"))
            ref.setdefault((z.label, "sink-py"), []).append(batch.rate)
            failures.extend(batch.problems(f"smtp-sink (Python client) {z.label} {label}"))
            record(z, "clamd mail", label, z.clamd_n,
                   lambda i, z=z: clamd_scan(clamd_path, z.docs.scanned()[0], 60))
            record(z, "clamd", label, z.clamd_n, lambda i, z=z: z.clamd_mail())
            record(z, "spamd", label, z.n, lambda i, z=z: spamd_symbols(spamd_host, spamd_port, z.spam, 120))
            record(z, "clamd+spamd", label, z.n, lambda i, z=z: together(
                z.clamd_mail, lambda: spamd_symbols(spamd_host, spamd_port, z.spam, 120)))

    reference_pass("pass 1")
    large = sizes[1]
    if large.spam_reduced and args.spamd_full_n > 0:
        print(f"reference: spamd on the whole {large.label} mail, {args.spamd_full_n} requests (information) ...",
              flush=True)
        record(large, "spamd whole mail", "pass 1", args.spamd_full_n,
               lambda i: spamd_symbols(spamd_host, spamd_port, large.docs.scanned()[0], 300))

    # --- printgate ---
    watcher = RelayWatcher(args.relay_dir)
    watcher.poll()
    results = {}
    for z in sizes:
        print(f"printgate {z.label}: {z.n} mails, {c} concurrent senders, new connection per mail ...", flush=True)
        batch = measure(f"printgate {z.label}, sending",
                        lambda z=z: send_batch(smtp_host, smtp_port, z.n, c, z.mail, z.label.replace(" ", "")))
        print(f"  {len(batch.accepted)} of {z.n} accepted with 250; waiting up to {args.reply_timeout:.0f}s "
              f"for the replies (the pipeline drains before the next phase)", flush=True)
        replies, dups, not_ready = measure(f"printgate {z.label}, draining replies",
                                           lambda b=batch: wait_replies(watcher, b, args.reply_timeout))
        failures.extend(batch.problems(f"printgate {z.label}"))
        missing = [s for s in batch.accepted if s.msgid not in replies]
        if missing:
            failures.append(f"printgate {z.label}: {len(missing)} of {len(batch.accepted)} replies missing "
                            f"after {args.reply_timeout:.0f}s")
        if dups:
            failures.append(f"printgate {z.label}: {dups} duplicate replies")
        if not_ready:
            failures.append(f"printgate {z.label}: {len(not_ready)} replies not 'Ready to print', "
                            f"e.g. {not_ready[0][1]!r}")
        whole = len(replies) / (max(replies.values()) - batch.t_first) if replies else 0.0
        results[z.label] = (batch, whole, len(replies))

    reference_pass("pass 2")

    # --- (e) idle sessions ---
    idle = None
    if pids["printgate"]:
        print(f"idle sessions: opening {args.idle} SMTP sessions to printgate ...", flush=True)
        idle = measure(f"{args.idle} idle sessions", lambda: idle_sessions(smtp_host, int(smtp_port), args.idle,
                                                                           pids["printgate"]))
        if idle["greeted"] < args.idle:
            failures.append(f"idle sessions: {idle['greeted']} of {args.idle} greeted with 220; refused "
                            f"{len(idle['refused'])} (e.g. {idle['refused'][:1]}), errors {idle['errors'][:2]}")
        if idle["noop_ok"] < idle["greeted"]:
            failures.append(f"idle sessions: {idle['noop_ok']} of {idle['greeted']} answered NOOP with 250")
    else:
        failures.append("no printgate pid: idle sessions not measured")
    load_end = loadavg()

    # --- report ---
    machine, nproc = machine_info()
    date = time.strftime("%Y-%m-%d")

    def best(key):
        return max(ref.get(key, [0.0]))

    def passes(key):
        return ", ".join(f"{r:.1f}" for r in ref.get(key, []))

    def p50_95(values):
        return f"{ms(percentile(values, 50))}/{ms(percentile(values, 95))}".replace(" ms/", "/")

    print()
    print(f"date:    {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"machine: {machine} (nproc {nproc}); load average {load_start} at start, {load_end} at end")
    print(f"run:     C={c} concurrent clients (smtp-source: {c} sessions), new connection per mail; "
          f"10 KB: {sizes[0].n} mails to printgate and spamd, 1 MB: {sizes[1].n}; references best of 2 passes")
    print()
    rows = []
    summary = {}
    for z in sizes:
        batch, whole, nreplies = results[z.label]
        sink, sink_py = best((z.label, "sink")), best((z.label, "sink-py"))
        clam, clam_mail, spam = best((z.label, "clamd")), best((z.label, "clamd mail")), best((z.label, "spamd"))
        slowest_name, slowest = min((("clamd", clam), ("spamd", spam)), key=lambda kv: kv[1])
        ratio = batch.rate / slowest if slowest else 0.0
        both = best((z.label, "clamd+spamd"))
        summary[z.label] = (batch.rate, slowest_name, slowest, ratio, sink, sink_py, clam, spam, both)
        spam_what = "headers + text parts, as printgate sends" if z.spam_reduced else "whole mail"
        rows += [
            (f"[{z.label}] smtp-sink, fed by smtp-source", f"{sink:.0f} msg/s",
             f"{z.sink_n} mails/pass; passes: {passes((z.label, 'sink'))}"),
            (f"[{z.label}] smtp-sink, fed by the Python client", f"{sink_py:.0f} msg/s",
             f"{z.py_sink_n} mails/pass; the client printgate gets; passes: {passes((z.label, 'sink-py'))}"),
            (f"[{z.label}] clamd alone, mail only (INSTREAM)", f"{clam_mail:.1f} msg/s",
             f"passes: {passes((z.label, 'clamd mail'))}"),
            (f"[{z.label}] clamd alone, mail + decoded PDF", f"{clam:.1f} msg/s",
             f"what printgate asks per mail; passes: {passes((z.label, 'clamd'))}"),
            (f"[{z.label}] spamd alone (SYMBOLS, {spam_what})", f"{spam:.1f} msg/s",
             f"{len(z.spam)} B; passes: {passes((z.label, 'spamd'))}"),
        ]
        rows.append((f"[{z.label}] clamd + spamd together, no printgate", f"{both:.1f} msg/s",
                     f"both per mail, in parallel, as printgate asks; passes: {passes((z.label, 'clamd+spamd'))}"))
        if (z.label, "spamd whole mail") in ref:
            rows.append((f"[{z.label}] spamd alone (SYMBOLS, whole mail; information)",
                         f"{best((z.label, 'spamd whole mail')):.2f} msg/s",
                         f"{z.scanned_bytes} B, {args.spamd_full_n} requests; printgate never sends this"))
        rows += [
            (f"[{z.label}] printgate accepted (connect .. last 250)", f"{batch.rate:.1f} msg/s",
             f"{len(batch.accepted)}/{z.n} got 250"),
            (f"[{z.label}] printgate whole path (connect .. last reply)", f"{whole:.1f} msg/s",
             f"{nreplies}/{len(batch.accepted)} replies at the relay"),
            (f"[{z.label}] ratio printgate / slowest scanner ({slowest_name})", f"{ratio:.2f}",
             "goal >= 0.9: " + ("met" if ratio >= 0.9 else "NOT MET")),
            (f"[{z.label}] ratio printgate / clamd + spamd together", f"{batch.rate / both:.2f}" if both else "n/a",
             "information: the scanners share this machine's cores with printgate"),
            (f"[{z.label}] ratio printgate / smtp-sink (smtp-source)",
             f"{batch.rate / sink:.4f}" if sink else "n/a", "the receiving limit of this machine"),
            (f"[{z.label}] ratio printgate / smtp-sink (Python client)",
             f"{batch.rate / sink_py:.4f}" if sink_py else "n/a", "same client as printgate's"),
        ]
        if batch.accepted:
            rows.append((f"[{z.label}] printgate connect -> 250, p50/p95", p50_95(batch.latencies()),
                         f"C={c} in flight"))
        if lat.get((z.label, "spamd")):
            rows.append((f"[{z.label}] spamd alone, one request, p50/p95", p50_95(lat[(z.label, "spamd")]),
                         f"C={c} in flight"))
    if idle:
        def mb(kib):
            return f"{kib / 1024:.1f} MB"

        with_rss = max(idle["with"]["VmRSS"], idle["after_noop"]["VmRSS"])
        per = (with_rss - idle["before"]["VmRSS"]) / max(1, idle["greeted"])
        summary["idle"] = (with_rss, idle["before"]["VmRSS"], per)
        rows += [
            ("[idle] printgate VmRSS before", mb(idle["before"]["VmRSS"]),
             f"after the mails above; {idle['fds_before']} fds, {idle['before']['Threads']} threads"),
            (f"[idle] printgate VmRSS with {idle['greeted']} idle sessions", mb(with_rss),
             "goal < 100 MB: " + ("met" if with_rss < 100 * 1024 else "NOT MET")
             + f"; {idle['fds_with']} fds"),
            ("[idle] per idle session", f"{per:.1f} KiB", "(VmRSS with - before) / sessions"),
            ("[idle] printgate VmRSS after closing them", mb(idle["closed"]["VmRSS"]),
             f"{idle['fds_closed']} fds"),
            ("[idle] printgate VmHWM (peak over the whole run)", mb(idle["closed"]["VmHWM"]), ""),
            ("[idle] open + greet all / NOOP all", f"{idle['open_secs']:.2f}s/{idle['noop_secs']:.2f}s",
             f"{idle['noop_ok']}/{idle['greeted']} answered NOOP"),
        ]
    print_rows(rows)
    print()
    busy = print_cpu(phases, GROUPS, nproc)
    warn_if_busy(busy)
    print()

    if failures:
        print("RESULT: FAIL")
        for f in failures:
            print(f"  - {f}")
        return 1

    cmd = args.command
    m = machine + busy_note(busy)
    print("RESULT: OK")
    print()
    print("rows for docs/benchmarks.md:")
    for z in sizes:
        rate, slowest_name, slowest, ratio, sink, sink_py, clam, spam, both = summary[z.label]
        what = f"{z.label} mail (PDF attachment), {z.n} mails, {c} concurrent senders, new connection per mail"
        spam_note = " on headers + text parts, as printgate sends" if z.spam_reduced else ""
        print(f"| {date} | smtp accepted msg/s vs slowest scanner, {what} | `{cmd}` | {rate:.1f} msg/s | "
              f"{slowest:.1f} msg/s {slowest_name} alone (clamd mail + decoded PDF {clam:.1f}, spamd SYMBOLS "
              f"{spam:.1f}{spam_note}; clamd + spamd together, no printgate: {both:.1f}, ratio {rate / both:.2f}) | "
              f"{ratio:.2f} | {m} |")
        print(f"| {date} | smtp accepted msg/s vs smtp-sink (receiving limit), {what}, same run | `{cmd}` | "
              f"{rate:.1f} msg/s | {sink:.0f} msg/s smtp-sink fed by smtp-source ({sink_py:.0f} msg/s with "
              f"the Python client) | {rate / sink:.4f} | {m} |")
    if "idle" in summary:
        with_rss, before, per = summary["idle"]
        print(f"| {date} | smtp VmRSS with {idle['greeted']} idle sessions (greeted, kept open), same run | "
              f"`{cmd}` | {with_rss / 1024:.1f} MB ({per:.1f} KiB per session) | {before / 1024:.1f} MB "
              f"before the sessions; goal < 100 MB | - | {m} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
