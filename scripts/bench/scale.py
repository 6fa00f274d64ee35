#!/usr/bin/env python3
"""Scaling of printgate's cost with attachments, pages and message size ([7/8]).

Driven by scripts/bench/scale, which starts clamd + spamd and a reply relay (smtp-sink with
dumps) and writes printgate's configuration. This script starts a fresh printgate (release
build) for every case, sends it one warm-up mail (first connections to clamd and spamd, first
conversion) and then the case's mails, and stops it: so a case's peak is not the memory an
earlier, larger case left in the allocator. Standard library only; helpers in benchlib.py.

Cases (one mail at a time, each repeated --runs times, a different document every time):
  - att-1, att-10, att-100: a mail with N one-page text PDFs;
  - pages-1, pages-100, pages-1000: a mail with one text PDF of N pages;
  - imgpages-1, imgpages-100, imgpages-1000: one PDF of N pages, each with its own small image;
  - size-1MB, size-5MB, size-25MB: a mail of about that size on the wire (4 one-page PDFs
    carrying an incompressible greyscale image each, base64).

Per mail: connect -> 250 (screening is inline before the 250), connect -> reply at the relay
(mail -> reply), printgate's peak RSS (VmHWM, reset with `echo 5 > /proc/PID/clear_refs`
before each mail, read after its reply) and its RSS once the reply is out, the peak RSS of
the child processes printgate started for the mail (qpdf, pdftoppm ...: sampled every 5 ms,
summed over the ones alive at once, the LibreOffice pool alive before the mail excluded), and
printgate's CPU (utime+stime of its own, cutime+cstime of its reaped children). Medians over
the runs, except RSS: the largest.

Rules (reported PASS/MISS, not enforced):
  - linear time: time(100)/time(10) <= 15 for attachments, time(1000)/time(100) <= 15 for
    pages, and time(25 MB)/time(5 MB) <= 7.5 for size (5x the size: 1.5x slack over linear),
    both for connect -> 250 and mail -> reply (for information also the cost per
    attachment/page/MB of the largest step against the one before: too noisy on a shared
    machine to judge, where the small cases differ by a few ms);
  - memory: peak RSS of printgate <= C + 3 x message size, C = its peak in the att-1 case
    (a fresh process after one warm-up mail), with SLACK_MIB of measurement slack (a fresh
    process's RSS varies by about that much from start to start: thread arenas, page cache).
Writes RUN_DIR/scale.json and RUN_DIR/scale-*.dat (gnuplot input).
"""

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (  # noqa: E402 - after the path set-up
    CLK,
    PATRON,
    QUEUE_ADDRESS,
    RelayWatcher,
    Sent,
    _pdf,
    b64_lines,
    child_pids,
    loadavg,
    machine_info,
    proc_ticks,
    sample_pdf,
    send_one,
)

MB = 1_000_000
SLACK_MIB = 4
BOUNDARY = "b1_printgate_scale"


# --- documents -----------------------------------------------------------------------------

def image_pages_pdf(text, pages, side=48, seed=0):
    """One PDF of `pages` pages, each with a line of text over its own small greyscale image
    (side x side, seeded random bytes 0x80-0xff, uncompressed): a scan-like page, cheap to make."""
    rnd = random.Random(seed)
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        None,  # the page tree, once the kids are known
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for i in range(pages):
        page_no = len(objects) + 1
        kids.append(f"{page_no} 0 R")
        content = f"q 200 0 0 200 72 500 cm /Im1 Do Q BT /F1 14 Tf 72 770 Td ({text} - page {i + 1}) Tj ET"
        pixels = bytes(0x80 | b for b in rnd.randbytes(side * side))
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Resources << /Font << /F1 3 0 R >> /XObject << /Im1 {page_no + 2} 0 R >> >> /Contents {page_no + 1} 0 R >>")
        objects.append(f"<< /Length {len(content)} >>\nstream\n{content}\nendstream")
        objects.append(
            f"<< /Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceGray "
            f"/BitsPerComponent 8 /Length {len(pixels)} >>\nstream\n".encode() + pixels + b"\nendstream")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {pages} >>"
    return _pdf(objects)


def big_image_pdf(text, pdf_bytes, seed):
    """A one-page PDF of about `pdf_bytes` bytes: an incompressible greyscale image (a scan)."""
    side = max(8, int((max(pdf_bytes - 1200, 64)) ** 0.5))
    pixels = bytes(0x80 | b for b in random.Random(seed).randbytes(side * side))
    content = f"q 523 0 0 770 36 36 cm /Im1 Do Q BT /F1 14 Tf 72 800 Td ({text}) Tj ET"
    return _pdf([
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 3 0 R >> /XObject << /Im1 6 0 R >> >> /Contents 5 0 R >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        f"<< /Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceGray "
        f"/BitsPerComponent 8 /Length {len(pixels)} >>\nstream\n".encode() + pixels + b"\nendstream",
    ])


def build_mail(message_id, pdfs):
    """A patron's mail: a text part and one base64 PDF attachment per entry of `pdfs`."""
    head = (
        f"From: Pat Patron <{PATRON}>\r\n"
        f"To: {QUEUE_ADDRESS}\r\n"
        "Subject: please print\r\n"
        f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n"
        f"Message-ID: <{message_id}>\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"\r\n'
        "\r\n"
        f"--{BOUNDARY}\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "Please print the attached documents.\r\n"
    )
    parts = [head.encode()]
    for i, pdf in enumerate(pdfs):
        parts.append(
            (f"--{BOUNDARY}\r\n"
             "Content-Type: application/pdf\r\n"
             f'Content-Disposition: attachment; filename="doc{i + 1:03d}.pdf"\r\n'
             "Content-Transfer-Encoding: base64\r\n"
             "\r\n").encode())
        parts.append(b64_lines(pdf).encode() + b"\r\n")
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(parts)


SERIAL = iter(range(1, 1 << 30))


def doc_text():
    return f"printgate scaling document DOC-{next(SERIAL):09d}"


def size_pdfs(total):
    """4 image PDFs making a mail of about `total` bytes on the wire (base64: 78 per 57)."""
    each = int(total / 4 * 57 / 78) - 400
    return [big_image_pdf(doc_text(), each, seed=next(SERIAL)) for _ in range(4)]


# (name, series, x, documents in the mail, pages in all, maker)
CASES = [
    ("att-1", "attachments", 1, lambda: [sample_pdf(doc_text(), 1)]),
    ("att-10", "attachments", 10, lambda: [sample_pdf(doc_text(), 1) for _ in range(10)]),
    ("att-100", "attachments", 100, lambda: [sample_pdf(doc_text(), 1) for _ in range(100)]),
    ("pages-1", "pages", 1, lambda: [sample_pdf(doc_text(), 1)]),
    ("pages-100", "pages", 100, lambda: [sample_pdf(doc_text(), 100)]),
    ("pages-1000", "pages", 1000, lambda: [sample_pdf(doc_text(), 1000)]),
    ("imgpages-1", "imgpages", 1, lambda: [image_pages_pdf(doc_text(), 1, seed=next(SERIAL))]),
    ("imgpages-100", "imgpages", 100, lambda: [image_pages_pdf(doc_text(), 100, seed=next(SERIAL))]),
    ("imgpages-1000", "imgpages", 1000, lambda: [image_pages_pdf(doc_text(), 1000, seed=next(SERIAL))]),
    ("size-1MB", "size", 1, lambda: size_pdfs(1 * MB)),
    ("size-5MB", "size", 5, lambda: size_pdfs(5 * MB)),
    ("size-25MB", "size", 25, lambda: size_pdfs(25 * MB)),
]


# --- /proc ---------------------------------------------------------------------------------

def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    comm = data[data.index("(") + 1:data.rindex(")")]
    return comm, data.rsplit(")", 1)[1].split()


def cpu_ticks(pid):
    """(own utime+stime, reaped children's cutime+cstime) in seconds."""
    _, f = stat_fields(pid)
    return (int(f[11]) + int(f[12])) / CLK, (int(f[13]) + int(f[14])) / CLK


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def descendants(root):
    """{pid: (comm, rss_kb)} of every live descendant of `root`."""
    parent, info = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            comm, f = stat_fields(name)
        except (OSError, ValueError):
            continue
        pid = int(name)
        parent[pid] = int(f[1])
        info[pid] = (comm, int(f[21]) * os.sysconf("SC_PAGE_SIZE") // 1024)
    out = {}
    for pid in parent:
        p, seen = parent[pid], 0
        while p > 1 and seen < 64:
            if p == root:
                out[pid] = info[pid]
                break
            p, seen = parent.get(p, 0), seen + 1
    return out


class ChildSampler:
    """Samples printgate's child processes every `interval` s until stopped."""

    def __init__(self, root, interval=0.005):
        self.root = root
        self.interval = interval
        self.resident = set(descendants(root))
        self.peak_sum = 0
        self.peak_one = (0, "")
        self.seen = set()
        self.stop = False

    def run(self):
        while not self.stop:
            # A child between fork and exec still has printgate's name and shares its pages:
            # not a helper program yet, and its RSS is printgate's own.
            now = {p: v for p, v in descendants(self.root).items()
                   if p not in self.resident and not v[0].startswith(("tokio-", "printgate"))}
            self.seen.update(f"{p}:{c}" for p, (c, _) in now.items())
            total = sum(rss for _, rss in now.values())
            self.peak_sum = max(self.peak_sum, total)
            for comm, rss in now.values():
                if rss > self.peak_one[0]:
                    self.peak_one = (rss, comm)
            time.sleep(self.interval)


# --- one mail ------------------------------------------------------------------------------

def wait_reply(watcher, msgid, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        watcher.poll()
        for mtime, irt, subject in watcher.replies():
            if irt == msgid:
                return mtime, subject
        time.sleep(0.05)
    return None, None


def one_mail(args, watcher, pid, case):
    name, series, x, make = case
    pdfs = make()
    msgid = f"scale.{name}.{uuid.uuid4().hex[:12]}@bench.example.com"
    raw = build_mail(msgid, pdfs)
    del pdfs
    import threading

    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")
    rss_before = status_kb(pid, "VmRSS")
    own0, kids0 = cpu_ticks(pid)
    sampler = ChildSampler(pid)
    t = threading.Thread(target=sampler.run, daemon=True)
    t.start()
    sent = Sent(msgid)
    host, port = args.smtp.rsplit(":", 1)
    try:
        send_one(host, int(port), sent, raw, timeout=args.reply_timeout)
    except Exception as e:  # noqa: BLE001 - reported as a failed mail
        sent.code, sent.text = -1, repr(e)
    reply_at, subject = (None, None)
    if sent.code == 250:
        reply_at, subject = wait_reply(watcher, msgid, args.reply_timeout)
    sampler.stop = True
    t.join()
    own1, kids1 = cpu_ticks(pid)
    hwm = status_kb(pid, "VmHWM")
    rss_after = status_kb(pid, "VmRSS")
    return {
        "case": name, "series": series, "x": x, "message_bytes": len(raw),
        "code": sent.code, "text": sent.text[:200], "reply_subject": (subject or "").split(", code")[0][:80],
        "t_250": (sent.t_250 - sent.t_connect) if sent.t_250 else None,
        "t_reply": (reply_at - sent.t_connect) if reply_at else None,
        "rss_before_kb": rss_before, "hwm_kb": hwm, "rss_after_kb": rss_after,
        "children_peak_kb": sampler.peak_sum,
        "child_peak_one": list(sampler.peak_one),
        "children_seen": len(sampler.seen),
        "children_names": sorted({s.split(":", 1)[1] for s in sampler.seen}),
        "cpu_own_s": own1 - own0, "cpu_children_s": kids1 - kids0,
    }


# --- printgate, fresh for each case --------------------------------------------------------

class Printgate:
    """`BIN serve --config CONFIG`, its log appended to LOG, its pid in PIDFILE."""

    def __init__(self, args):
        self.args = args
        self.proc = None

    def start(self):
        env = dict(os.environ, NO_COLOR="1", PRINTGATE_LOG=os.environ.get("PRINTGATE_LOG", "printgate=info"))
        self.log_from = os.path.getsize(self.args.log) if os.path.exists(self.args.log) else 0
        log = open(self.args.log, "ab")
        self.proc = subprocess.Popen([self.args.bin, "serve", "--config", self.args.config], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        with open(self.args.pid_file, "w") as f:
            f.write(f"{self.proc.pid}\n")
        host, port = self.args.smtp.rsplit(":", 1)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"printgate exited with {self.proc.returncode} at start (log {self.args.log})")
            try:
                socket.create_connection((host, int(port)), 1).close()
                return self.proc.pid
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("printgate not listening after 30 s")

    def wait_office_pool(self, workers=2, timeout=60):
        """Waits until the LibreOffice workers are up (printgate starts them after it listens),
        so that they are resident before the first measured mail and not counted as its
        child processes."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.args.log, "rb") as f:
                f.seek(self.log_from)
                if f.read().count(b"LibreOffice worker ready") >= workers:
                    return True
            time.sleep(0.2)
        print(f"  the LibreOffice pool was not ready after {timeout} s: its start may count as the case's children")
        return False

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.returncode not in (0, -signal.SIGTERM):
            print(f"  printgate exited {self.proc.returncode} when stopped")


# --- summary -------------------------------------------------------------------------------

def summarise(runs):
    ok = [r for r in runs if r["code"] == 250 and r["t_reply"] is not None]
    if not ok:
        return None
    med = lambda k: statistics.median(r[k] for r in ok)  # noqa: E731
    return {
        "case": runs[0]["case"], "series": runs[0]["series"], "x": runs[0]["x"],
        "message_bytes": int(med("message_bytes")), "runs": len(runs), "ok": len(ok),
        "t_250": med("t_250"), "t_reply": med("t_reply"),
        "cpu_own_s": med("cpu_own_s"), "cpu_children_s": med("cpu_children_s"),
        "hwm_kb": max(r["hwm_kb"] for r in ok),
        "rss_before_kb": min(r["rss_before_kb"] for r in ok),
        "rss_after_kb": max(r["rss_after_kb"] for r in ok),
        "children_peak_kb": max(r["children_peak_kb"] for r in ok),
        "child_peak_one": max((r["child_peak_one"] for r in ok), key=lambda v: v[0]),
        "children_names": sorted({n for r in ok for n in r["children_names"]}),
        "children_seen": max(r["children_seen"] for r in ok),
    }


def rules(summary):
    """[(rule, PASS|MISS|n/a, detail)]."""
    by = {s["case"]: s for s in summary if s}
    out = []

    def ratio_rule(label, small, big, limit, unit, n_small, n_big):
        for key, what in (("t_250", "connect -> 250"), ("t_reply", "mail -> reply")):
            if small not in by or big not in by:
                out.append((f"{label}: {what}", "n/a", "a case failed"))
                continue
            a, b = by[small][key], by[big][key]
            r = b / a if a > 0 else float("inf")
            out.append((f"{label}: {what} {big}/{small} <= {limit:g}", "PASS" if r <= limit else "MISS",
                        f"{b * 1000:.0f} ms / {a * 1000:.0f} ms = {r:.1f}x for {n_big / n_small:g}x the {unit}"))
        # marginal cost per unit between the middle and the largest case against the first step
        for key, what in (("t_reply", "mail -> reply"),):
            base = by.get(label_first[label])
            if base and small in by and big in by:
                m1 = (by[small][key] - base[key]) / max(n_small - label_n0[label], 1e-9)
                m2 = (by[big][key] - by[small][key]) / (n_big - n_small)
                r = m2 / m1 if m1 > 0 else float("inf")
                out.append((f"{label}: {what} cost per {unit} of {big} over {small} against {small} over "
                            f"{label_first[label]}", "info",
                            f"{m2 * 1000:.2f} ms against {m1 * 1000:.2f} ms per {unit} = {r:.1f}x"))

    label_first = {"attachments": "att-1", "pages": "pages-1", "image pages": "imgpages-1", "size": "size-1MB"}
    label_n0 = {"attachments": 1, "pages": 1, "image pages": 1, "size": 1}
    ratio_rule("attachments", "att-10", "att-100", 15, "attachment", 10, 100)
    ratio_rule("pages", "pages-100", "pages-1000", 15, "page", 100, 1000)
    ratio_rule("image pages", "imgpages-100", "imgpages-1000", 15, "page", 100, 1000)
    ratio_rule("size", "size-5MB", "size-25MB", 7.5, "MB", 5, 25)
    base = by.get("att-1")
    if base:
        c_kb = base["hwm_kb"]
        for s in summary:
            if not s:
                continue
            limit_kb = c_kb + 3 * s["message_bytes"] / 1024
            ok = s["hwm_kb"] <= limit_kb + SLACK_MIB * 1024
            out.append((f"memory: {s['case']} printgate peak RSS <= C + 3 x message (+{SLACK_MIB} MiB slack)",
                        "PASS" if ok else "MISS",
                        f"{s['hwm_kb'] / 1024:.1f} MiB against C {c_kb / 1024:.1f} + 3 x {s['message_bytes'] / 2**20:.2f} MiB "
                        f"= {limit_kb / 1024:.1f} MiB; growth over C {(s['hwm_kb'] - c_kb) / 1024:.1f} MiB = "
                        f"{(s['hwm_kb'] - c_kb) * 1024 / max(s['message_bytes'], 1):.1f} x the message "
                        f"(children peak {s['children_peak_kb'] / 1024:.1f} MiB)"))
    else:
        out.append(("memory", "n/a", "att-1 failed"))
    return out


def write_dat(run_dir, summary):
    """One gnuplot data file per series: x, MB, t_250 ms, t_reply ms, printgate peak MiB,
    children peak MiB, CPU own s, CPU children s."""
    for series in ("attachments", "pages", "imgpages", "size"):
        rows = [s for s in summary if s and s["series"] == series]
        with open(os.path.join(run_dir, f"scale-{series}.dat"), "w") as f:
            f.write("# x message_MB t250_ms treply_ms pg_peak_MiB children_peak_MiB cpu_own_s cpu_children_s\n")
            for s in rows:
                f.write(f"{s['x']} {s['message_bytes'] / MB:.4f} {s['t_250'] * 1000:.1f} {s['t_reply'] * 1000:.1f} "
                        f"{s['hwm_kb'] / 1024:.1f} {s['children_peak_kb'] / 1024:.1f} "
                        f"{s['cpu_own_s']:.3f} {s['cpu_children_s']:.3f}\n")
    with open(os.path.join(run_dir, "scale-all.dat"), "w") as f:
        f.write("# message_MB pg_peak_MiB case\n")
        for s in sorted((s for s in summary if s), key=lambda s: s["message_bytes"]):
            f.write(f"{s['message_bytes'] / MB:.4f} {s['hwm_kb'] / 1024:.1f} {s['case']}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smtp", required=True, help="printgate's SMTP HOST:PORT (as in its configuration)")
    ap.add_argument("--bin", required=True, help="the printgate binary")
    ap.add_argument("--config", required=True, help="printgate's configuration")
    ap.add_argument("--log", required=True, help="printgate's log (appended)")
    ap.add_argument("--pid-file", required=True, help="where the running printgate's pid is written")
    ap.add_argument("--daemon-pid", action="append", type=int, default=[],
                    help="clamd, spamd, smtp-sink: their CPU (and their children's) is the run's own, not 'other'")
    ap.add_argument("--relay-dir", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "") or 3))
    ap.add_argument("--cases", default=os.environ.get("BENCH_CASES", ""),
                    help="comma-separated case names (default: all)")
    ap.add_argument("--reply-timeout", type=float, default=float(os.environ.get("BENCH_REPLY_TIMEOUT", "300")))
    args = ap.parse_args()

    wanted = [c for c in CASES if not args.cases or c[0] in args.cases.split(",")]
    machine, nproc = machine_info()
    watcher = RelayWatcher(args.relay_dir)
    busy0 = (open("/proc/stat").readline().split()[1:], ours(args))
    t_start = time.time()
    print(f"machine: {machine}; load average at start {loadavg()}; "
          f"MALLOC_MMAP_THRESHOLD_={os.environ.get('MALLOC_MMAP_THRESHOLD_', '(glibc default)')}")
    printgate = Printgate(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results, summary = [], []
    try:
        for case in wanted:
            summary.append(run_case(args, watcher, printgate, case, results))
    finally:
        printgate.stop()
    return report(args, machine, nproc, summary, results, busy0, t_start)


def run_case(args, watcher, printgate, case, results):
    pid = printgate.start()
    printgate.wait_office_pool()
    # one warm-up mail (first connections to clamd/spamd, first conversion)
    warm = one_mail(args, watcher, pid, CASES[0])
    if warm["code"] != 250 or warm["t_reply"] is None:
        print(f"  warm-up mail: {warm['code']} {warm['text']} (no reply: {warm['t_reply'] is None})")
    runs = []
    try:
        for i in range(args.runs):
            r = one_mail(args, watcher, pid, case)
            runs.append(r)
            t250 = f"{r['t_250'] * 1000:.0f} ms" if r["t_250"] else "-"
            trep = f"{r['t_reply'] * 1000:.0f} ms" if r["t_reply"] else "-"
            subject = r["reply_subject"].split(", code")[0]  # never the release code
            print(f"  {case[0]:<14} run {i + 1}: {r['message_bytes'] / MB:7.2f} MB  {r['code']}  250 {t250:>9}  "
                  f"reply {trep:>9}  peak {r['hwm_kb'] / 1024:6.1f} MiB (before {r['rss_before_kb'] / 1024:.1f}, "
                  f"after {r['rss_after_kb'] / 1024:.1f})  children {r['children_peak_kb'] / 1024:5.1f} MiB "
                  f"{','.join(r['children_names'])}  cpu {r['cpu_own_s']:.2f}+{r['cpu_children_s']:.2f} s  {subject!r}",
                  flush=True)
            if r["code"] != 250:
                print(f"    not accepted: {r['text']}")
            time.sleep(0.3)
    finally:
        printgate.stop()
    results.extend(runs)
    return summarise(runs) if runs else None


def ours(args):
    """CPU seconds of the run's own processes: this script and the printgates it started and
    reaped (with their children), clamd, spamd (with its preforked children), the smtp-sink."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    for pid in args.daemon_pid:
        total += proc_ticks(pid) / CLK + sum(proc_ticks(c, with_children=False) for c in child_pids(pid)) / CLK
    return total


def report(args, machine, nproc, summary, results, busy0, t_start):
    elapsed = time.time() - t_start
    busy1 = (open("/proc/stat").readline().split()[1:], ours(args))
    busy = lambda v: sum(int(v[i]) for i in (0, 1, 2, 5, 6, 7)) / CLK  # noqa: E731
    cores_busy = (busy(busy1[0]) - busy(busy0[0])) / elapsed
    cores_other = max(0.0, cores_busy - (busy1[1] - busy0[1]) / elapsed)

    print()
    print(f"{'case':<14} {'MB':>7} {'250 ms':>8} {'reply ms':>9} {'pg peak MiB':>11} {'after MiB':>9} "
          f"{'child MiB':>9} {'pg CPU s':>8} {'child CPU s':>11}  children")
    for s in summary:
        if not s:
            continue
        print(f"{s['case']:<14} {s['message_bytes'] / MB:7.2f} {s['t_250'] * 1000:8.0f} {s['t_reply'] * 1000:9.0f} "
              f"{s['hwm_kb'] / 1024:11.1f} {s['rss_after_kb'] / 1024:9.1f} {s['children_peak_kb'] / 1024:9.1f} "
              f"{s['cpu_own_s']:8.2f} {s['cpu_children_s']:11.2f}  {','.join(s['children_names'])}")
    print()
    verdicts = rules(summary)
    for rule, verdict, detail in verdicts:
        print(f"{verdict:<4}  {rule}: {detail}")
    failed = [r for r in results if r["code"] != 250 or r["t_reply"] is None]
    print(f"\n{len(results)} mails, {len(failed)} without 250 or reply; {elapsed:.0f} s; "
          f"machine busy {cores_busy:.2f} of {nproc} cores on average, of which {cores_other:.2f} by processes "
          f"not of this run (load average {loadavg()})")
    os.makedirs(args.run_dir, exist_ok=True)
    write_dat(args.run_dir, summary)
    with open(os.path.join(args.run_dir, "scale.json"), "w") as f:
        json.dump({
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "command": os.environ.get("BENCH_COMMAND", "scripts/bench/scale"),
            "machine": machine,
            "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
            "elapsed_s": elapsed, "machine_busy_cores": cores_busy, "other_cores": cores_other, "runs": args.runs,
            "summary": summary, "rules": verdicts, "mails": results,
        }, f, indent=1)
    print(f"results: {os.path.join(args.run_dir, 'scale.json')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
