#!/usr/bin/env python3
"""End-to-end throughput and latency of printgate against its own scanners, in one run.

Driven by scripts/bench/e2e, which starts clamd, spamd, smtp-sink (the reply relay) and
printgate and passes their addresses. Standard library only.

Measures, with the same ~10 KB message:
  (a) clamd alone: N zINSTREAM scans over the unix socket, C concurrent clients;
  (b) spamd alone: N `SYMBOLS SPAMC/1.5` requests, C concurrent clients;
  (c) printgate: N mails (new SMTP connection each) by C concurrent senders; accepted msg/s
      (first connect to last 250), and per mail the time from the 250 to the reply's arrival
      at the relay (matched by In-Reply-To), plus whole-path msg/s (first connect to last reply).

Exit code 0 only if every mail got 250, every reply arrived (exactly one per mail, subject
"Ready to print: ...") and every reference request got a clean answer.
"""

import argparse
import concurrent.futures as cf
import email
import email.policy
import email.utils
import os
import platform
import smtplib
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid

QUEUE_ADDRESS = "bw@print.example.org"
PATRON = "patron@example.com"


# --- the test document --------------------------------------------------------------------

def sample_pdf(text: str, pages: int) -> bytes:
    """Byte-for-byte the layout of src/convert/sample.rs::sample_pdf."""
    pages = max(1, pages)
    safe = "".join(c if (33 <= ord(c) <= 126 or c == " ") else "?" for c in text)
    safe = "".join(c for c in safe if c not in "()\\")
    objects = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(pages))
    objects.append("<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i in range(pages):
        content = f"BT /F1 14 Tf 72 770 Td ({safe} - page {i + 1}) Tj ET"
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(content)} >>\nstream\n{content}\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects):
        offsets.append(len(out))
        out += f"{i + 1} 0 obj\n{body}\nendobj\n".encode()
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


def pdf_of_size(target: int) -> bytes:
    """The smallest sample PDF of at least `target` bytes (more pages of the same text)."""
    text = "printgate end-to-end benchmark document"
    for pages in range(1, 200):
        pdf = sample_pdf(text, pages)
        if len(pdf) >= target:
            return pdf
    return pdf


def b64_lines(data: bytes) -> str:
    import base64

    b64 = base64.b64encode(data).decode()
    return "\r\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))


def build_mail(message_id: str, pdf_b64: str) -> bytes:
    """A patron's mail: text part + PDF attachment, CRLF line ends (as tests/common builds it)."""
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
        "Content-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="doc.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{pdf_b64}\r\n"
        "--b1_printgate_bench--\r\n"
    ).encode()


def with_received(raw: bytes) -> bytes:
    """What printgate hands its scanners: the mail with its own Received header on top."""
    date = email.utils.formatdate(localtime=False)
    header = (
        "Received: from bench.example.com ([127.0.0.1])\r\n"
        f"\tby print.test (printgate) with ESMTP id 0000000000000000000000000000;\r\n\t{date}\r\n"
    )
    return header.encode() + raw


# --- helpers ------------------------------------------------------------------------------

def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def run_concurrent(n, c, fn):
    """Runs fn(i) for i in range(n) on c threads; returns (elapsed_s, results, errors)."""
    results = [None] * n
    errors = []
    lock = threading.Lock()

    def task(i):
        try:
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - every failure is counted and reported
            with lock:
                errors.append((i, repr(e)))

    start = time.time()
    with cf.ThreadPoolExecutor(max_workers=c) as pool:
        list(pool.map(task, range(n)))
    return time.time() - start, results, errors


def recv_until(sock, stop):
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
        if stop(data):
            return data


# --- reference (a): clamd alone -----------------------------------------------------------

def clamd_scan(path: str, message: bytes, timeout: float) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(b"zINSTREAM\0")
        chunk = 256 * 1024  # printgate's chunk size; the message fits in one
        for i in range(0, len(message), chunk):
            part = message[i:i + chunk]
            s.sendall(struct.pack("!I", len(part)) + part)
        s.sendall(struct.pack("!I", 0))
        reply = recv_until(s, lambda d: d.endswith(b"\0"))
    text = reply.rstrip(b"\0").decode(errors="replace").strip()
    if text != "stream: OK":
        raise RuntimeError(f"clamd answered {text!r}")
    return text


# --- reference (b): spamd alone -----------------------------------------------------------

def spamd_symbols(host: str, port: int, message: bytes, timeout: float) -> str:
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(f"SYMBOLS SPAMC/1.5\r\nContent-length: {len(message)}\r\n\r\n".encode() + message)
        reply = recv_until(s, lambda d: False)  # spamd closes after its answer
    head = reply.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = head.split()
    if len(parts) < 2 or not parts[0].startswith("SPAMD/") or parts[1] != "0":
        raise RuntimeError(f"spamd answered {head!r}")
    return reply.decode(errors="replace")


# --- printgate end to end -----------------------------------------------------------------

class Sent:
    __slots__ = ("msgid", "t_connect", "t_250", "code", "text")

    def __init__(self, msgid):
        self.msgid = msgid
        self.t_connect = None
        self.t_250 = None
        self.code = None
        self.text = ""


def send_one(host, port, sent: Sent, raw: bytes, timeout: float):
    sent.t_connect = time.time()
    smtp = smtplib.SMTP(host, port, local_hostname="bench.example.com", timeout=timeout)
    try:
        smtp.ehlo()
        code, text = smtp.mail(PATRON)
        if code != 250:
            sent.code, sent.text = code, f"MAIL: {text.decode(errors='replace')}"
            return sent
        code, text = smtp.rcpt(QUEUE_ADDRESS)
        if code not in (250, 251):
            sent.code, sent.text = code, f"RCPT: {text.decode(errors='replace')}"
            return sent
        code, text = smtp.data(raw)  # returns when printgate's reply to the final "." arrives
        sent.t_250 = time.time()
        sent.code, sent.text = code, text.decode(errors="replace")
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    return sent


class RelayWatcher:
    """Reads smtp-sink's dump files; arrival time is the file's mtime (end of DATA)."""

    def __init__(self, directory):
        self.dir = directory
        self.seen = {}  # file name -> (mtime, in_reply_to, subject) once complete
        self.pending_since = {}

    def poll(self):
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return
        now = time.time()
        for name in names:
            if name in self.seen:
                continue
            path = os.path.join(self.dir, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            # smtp-sink creates the file at MAIL and closes it at the end of DATA: only read
            # files that have not changed for a moment. mtime is still the arrival time.
            if now - st.st_mtime < 0.3:
                continue
            with open(path, "rb") as f:
                data = f.read()
            msg = email.message_from_bytes(data, policy=email.policy.compat32)
            irt = (msg.get("In-Reply-To") or "").strip()
            self.seen[name] = (st.st_mtime, irt.strip("<>"), str(msg.get("Subject") or ""))

    def replies(self):
        return list(self.seen.values())


# --- CPU accounting (was the machine otherwise quiet?) -------------------------------------

CLK = os.sysconf("SC_CLK_TCK")


def proc_ticks(pid, with_children=True):
    """utime+stime (+ reaped children) of one process, in clock ticks; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks


def child_pids(ppid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == ppid:
                    out.append(int(name))
        except (OSError, IndexError, ValueError):
            continue
    return out


class CpuMeter:
    """CPU seconds per process group between two snapshots, and what nobody of ours used."""

    GROUPS = ("printgate", "spamd", "clamd", "smtp-sink", "bench client", "other")

    def __init__(self, pids):
        self.pids = pids  # group -> pid (or None)

    def snapshot(self):
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
        snap = {"busy": busy / CLK, "wall": time.time()}
        for group, pid in self.pids.items():
            if not pid:
                snap[group] = 0.0
                continue
            ticks = proc_ticks(pid)
            if group == "spamd":  # preforked children, reaped ones are in the parent's cutime
                ticks += sum(proc_ticks(c, with_children=False) for c in child_pids(pid))
            snap[group] = ticks / CLK
        t = os.times()
        snap["bench client"] = t.user + t.system
        return snap

    @staticmethod
    def diff(a, b):
        d = {k: b[k] - a[k] for k in a}
        ours = sum(d[g] for g in CpuMeter.GROUPS if g != "other" and g in d)
        d["other"] = max(0.0, d["busy"] - ours)
        return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smtp", required=True, help="printgate SMTP HOST:PORT")
    ap.add_argument("--clamd", required=True, help="clamd unix socket path (unix:/path or /path)")
    ap.add_argument("--spamd", required=True, help="spamd HOST:PORT")
    ap.add_argument("--relay-dir", required=True, help="smtp-sink dump directory")
    ap.add_argument("--pid", action="append", default=[], metavar="GROUP=PID",
                    help="process to account CPU to: printgate=, spamd= (parent), clamd=, smtp-sink=")
    ap.add_argument("-n", type=int, default=int(os.environ.get("BENCH_N", "200")))
    ap.add_argument("-c", type=int, default=int(os.environ.get("BENCH_C", "4")))
    ap.add_argument("--ref-n", type=int, default=int(os.environ.get("BENCH_REF_N", "0")) or None,
                    help="requests per reference scanner and pass (default: same as -n)")
    ap.add_argument("--pdf-bytes", type=int, default=int(os.environ.get("BENCH_PDF_BYTES", "10240")))
    ap.add_argument("--reply-timeout", type=float, default=float(os.environ.get("BENCH_REPLY_TIMEOUT", "120")))
    ap.add_argument("--command", default=os.environ.get("BENCH_COMMAND", "scripts/bench/e2e"))
    args = ap.parse_args()
    n, c = args.n, args.c
    ref_n = args.ref_n or n
    if n < 1 or c < 1 or ref_n < 1:
        ap.error("N, C and reference N must be >= 1")
    smtp_host, smtp_port = args.smtp.rsplit(":", 1)
    spamd_host, spamd_port = args.spamd.rsplit(":", 1)
    clamd_path = args.clamd[5:] if args.clamd.startswith("unix:") else args.clamd
    pids = {g: None for g in ("printgate", "spamd", "clamd", "smtp-sink")}
    for item in args.pid:
        group, _, pid = item.partition("=")
        if group in pids and pid.strip().isdigit():
            pids[group] = int(pid)
    meter = CpuMeter(pids)
    failures = []
    load_start = open("/proc/loadavg").read().split()[0]

    pdf = pdf_of_size(args.pdf_bytes)
    pdf_b64 = b64_lines(pdf)
    reference = with_received(build_mail(f"reference.{uuid.uuid4().hex}@bench.example.com", pdf_b64))
    print(f"document: sample PDF {len(pdf)} bytes; mail {len(reference)} bytes as scanned "
          f"(base64 attachment + Received header)", flush=True)

    # Warm both scanners (first requests load rules and caches); not timed.
    run_concurrent(2 * c, c, lambda i: clamd_scan(clamd_path, reference, 30))
    run_concurrent(2 * c, c, lambda i: spamd_symbols(spamd_host, int(spamd_port), reference, 60))

    ref = {"clamd": [], "spamd": []}  # per pass: (rate, seconds)
    ref_lat = {"clamd": [], "spamd": []}  # per request, both passes
    phases = []  # (name, cpu diff)

    def reference_pass(label):
        for name, fn in (("clamd", lambda i: clamd_scan(clamd_path, reference, 30)),
                         ("spamd", lambda i: spamd_symbols(spamd_host, int(spamd_port), reference, 60))):
            what = "INSTREAM scans" if name == "clamd" else "SYMBOLS requests"
            print(f"reference {label}: {name} alone, {ref_n} {what}, {c} clients ...", flush=True)
            def timed(i, fn=fn):
                t = time.time()
                fn(i)
                return time.time() - t

            a = meter.snapshot()
            secs, lat, errs = run_concurrent(ref_n, c, timed)
            d = meter.diff(a, meter.snapshot())
            ref[name].append(((ref_n - len(errs)) / secs, secs))
            ref_lat[name].extend(x for x in lat if x is not None)
            phases.append((f"{name} alone, {label}", d))
            if errs:
                failures.append(f"{name} reference {label}: {len(errs)} of {ref_n} failed, first: {errs[0][1]}")

    reference_pass("pass 1")

    # --- printgate ---
    run_tag = uuid.uuid4().hex[:12]
    sent = [Sent(f"bench.{run_tag}.{i:06d}@bench.example.com") for i in range(n)]
    mails = [build_mail(s.msgid, pdf_b64) for s in sent]
    watcher = RelayWatcher(args.relay_dir)
    watcher.poll()
    stale = len(watcher.replies())
    if stale:
        print(f"note: {stale} files already in the relay directory are ignored (other Message-IDs)")

    print(f"printgate: {n} mails, {c} concurrent senders, new connection per mail ...", flush=True)
    stop_watch = threading.Event()

    def watch():
        while not stop_watch.is_set():
            watcher.poll()
            stop_watch.wait(0.2)

    watch_thread = threading.Thread(target=watch, daemon=True)
    watch_thread.start()
    cpu_a = meter.snapshot()
    _, _, send_err = run_concurrent(n, c, lambda i: send_one(smtp_host, int(smtp_port), sent[i], mails[i], 120))
    accepted = [s for s in sent if s.code == 250]
    not_accepted = [s for s in sent if s.code != 250]
    if accepted:
        t_first_connect = min(s.t_connect for s in sent if s.t_connect is not None)
        t_last_250 = max(s.t_250 for s in accepted)
        accept_rate = len(accepted) / (t_last_250 - t_first_connect)
    else:
        t_first_connect, accept_rate = min(s.t_connect or time.time() for s in sent), 0.0
    print(f"  {len(accepted)} of {n} accepted with 250; waiting up to {args.reply_timeout:.0f}s for replies",
          flush=True)

    by_id = {s.msgid: s for s in sent}
    deadline = time.time() + args.reply_timeout
    while True:
        matched = {irt for _, irt, _ in watcher.replies() if irt in by_id}
        if len(matched) >= len(accepted) or time.time() >= deadline:
            break
        time.sleep(0.2)
    phases.append(("printgate, first send .. last reply seen", meter.diff(cpu_a, meter.snapshot())))
    time.sleep(0.5)
    stop_watch.set()
    watch_thread.join(5)
    watcher.poll()

    replies = {}
    duplicates = 0
    not_ready = []
    unmatched = 0
    for mtime, irt, subject in watcher.replies():
        if irt not in by_id:
            unmatched += 1
            continue
        if irt in replies:
            duplicates += 1
            continue
        replies[irt] = mtime
        if not subject.startswith("Ready to print:"):
            not_ready.append((irt, subject))
    unmatched -= stale
    latencies = [replies[s.msgid] - s.t_250 for s in accepted if s.msgid in replies]
    missing = [s for s in accepted if s.msgid not in replies]
    if replies:
        t_last_reply = max(replies.values())
        e2e_rate = len(replies) / (t_last_reply - t_first_connect)
    else:
        e2e_rate = 0.0

    # Second reference pass: the machine's background load changes over a run; best of two.
    reference_pass("pass 2")
    load_end = open("/proc/loadavg").read().split()[0]

    # --- report ---
    clam_rate = max(r for r, _ in ref["clamd"])
    spam_rate = max(r for r, _ in ref["spamd"])
    slowest_name, slowest = min((("clamd", clam_rate), ("spamd", spam_rate)), key=lambda kv: kv[1])
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    try:
        mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
        mem = f"{mem_kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration):
        mem = "? RAM"
    try:
        os_name = "Debian " + open("/etc/debian_version").read().strip()
    except OSError:
        os_name = platform.platform()
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, timeout=30).stdout.split()[1]
    except (OSError, IndexError, subprocess.SubprocessError):
        rustc = "?"
    nproc = os.cpu_count()
    date = time.strftime("%Y-%m-%d")
    machine = f"{model}, {nproc} cores, {mem}, {os_name}, rustc {rustc}"

    def ms(v):
        return f"{v * 1000:.0f} ms"

    def passes(name):
        return ", ".join(f"{r:.1f}" for r, _ in ref[name])

    print()
    print(f"date:    {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"machine: {machine} (nproc {nproc}); load average {load_start} at start, {load_end} at end")
    print(f"run:     N={n} mails, C={c} concurrent clients, reference N={ref_n} x 2 passes, "
          f"PDF {len(pdf)} B, mail {len(reference)} B")
    print()
    rows = [
        ("clamd alone (INSTREAM, unix socket)", f"{clam_rate:.1f} msg/s", f"best of 2 passes: {passes('clamd')}"),
        ("spamd alone (SYMBOLS)", f"{spam_rate:.1f} msg/s", f"best of 2 passes: {passes('spamd')}"),
        ("printgate accepted (connect .. last 250)", f"{accept_rate:.1f} msg/s",
         f"{len(accepted)}/{n} got 250"),
        ("printgate end to end (connect .. last reply)", f"{e2e_rate:.1f} msg/s",
         f"{len(replies)}/{len(accepted)} replies at relay"),
        (f"ratio accepted / slowest scanner ({slowest_name})",
         f"{accept_rate / slowest:.2f}" if slowest else "n/a", ""),
        (f"ratio end to end / slowest scanner ({slowest_name})",
         f"{e2e_rate / slowest:.2f}" if slowest else "n/a", ""),
    ]
    if latencies:
        rows += [
            ("latency 250 -> reply at relay, p50", ms(percentile(latencies, 50)), ""),
            ("latency 250 -> reply at relay, p95", ms(percentile(latencies, 95)), ""),
            ("latency 250 -> reply at relay, max", ms(max(latencies)), f"min {ms(min(latencies))}"),
        ]
    else:
        rows.append(("latency 250 -> reply at relay", "n/a", "no replies"))
    smtp_lat = [s.t_250 - s.t_connect for s in accepted]
    if smtp_lat:
        rows.append(("printgate connect -> 250 (inline screening), p50/p95",
                     f"{ms(percentile(smtp_lat, 50))}/{ms(percentile(smtp_lat, 95))}".replace(" ms/", "/"),
                     f"C={c} in flight"))
    for name in ("spamd", "clamd"):
        if ref_lat[name]:
            rows.append((f"{name} alone, one request, p50/p95",
                         f"{ms(percentile(ref_lat[name], 50))}/{ms(percentile(ref_lat[name], 95))}".replace(" ms/", "/"),
                         f"C={c} in flight"))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'measure':<{w0}}  {'value':>{w1}}  note")
    print(f"{'-' * w0}  {'-' * w1}  {'-' * 30}")
    for name, value, note in rows:
        print(f"{name:<{w0}}  {value:>{w1}}  {note}")
    print()

    # CPU seconds per phase; "other" is CPU used by processes this benchmark did not start.
    groups = list(CpuMeter.GROUPS)
    wp = max(len(p) for p, _ in phases)
    print(f"CPU seconds per phase (machine has {nproc} cores; 'other' = processes not started here)")
    print(f"{'phase':<{wp}}  {'wall':>6}  " + "  ".join(f"{g:>12}" for g in groups))
    for name, d in phases:
        print(f"{name:<{wp}}  {d['wall']:>6.1f}  " + "  ".join(f"{d.get(g, 0.0):>12.2f}" for g in groups))
    pg_phase = phases[2][1] if len(phases) > 2 else None
    if pg_phase and accepted:
        print(f"per accepted mail: printgate {ms(pg_phase['printgate'] / len(accepted))} CPU, "
              f"spamd {ms(pg_phase['spamd'] / len(accepted))} CPU, clamd {ms(pg_phase['clamd'] / len(accepted))} CPU")
    busy_other = max((d["other"] / d["wall"] for _, d in phases if d["wall"] > 0), default=0.0)
    if busy_other > 0.25:
        print(f"WARNING: other processes used up to {busy_other:.1f} cores during a phase: "
              f"the figures are disturbed; re-run on a quiet machine")
    print()

    if not_accepted:
        from collections import Counter

        kinds = Counter(f"{s.code} {s.text}".strip()[:120] for s in not_accepted)
        failures.append(f"{len(not_accepted)} of {n} mails not accepted with 250: "
                        + "; ".join(f"{k!r} x{v}" for k, v in kinds.most_common(5)))
    if send_err:
        failures.append(f"{len(send_err)} sends raised, first: {send_err[0][1]}")
    if missing:
        failures.append(f"{len(missing)} of {len(accepted)} replies missing after {args.reply_timeout:.0f}s, "
                        f"e.g. {missing[0].msgid}")
    if duplicates:
        failures.append(f"{duplicates} duplicate replies (same In-Reply-To)")
    if not_ready:
        failures.append(f"{len(not_ready)} replies are not 'Ready to print', e.g. {not_ready[0][1]!r}")
    if unmatched > 0:
        failures.append(f"{unmatched} mails at the relay match no sent Message-ID")

    print(f"counts: sent {n}, accepted {len(accepted)}, not accepted {len(not_accepted)}, "
          f"replies {len(replies)}, missing {len(missing)}, duplicates {duplicates}, "
          f"not 'Ready to print' {len(not_ready)}")
    if failures:
        print("RESULT: FAIL")
        for f in failures:
            print(f"  - {f}")
        return 1

    cmd = args.command
    params = f"N={n}, C={c}, {len(pdf) // 1024} KB PDF"
    print("RESULT: OK")
    print()
    print("rows for docs/benchmarks.md:")
    print(f"| {date} | e2e accepted msg/s (connect to last 250), {params} | `{cmd}` | "
          f"{accept_rate:.1f} msg/s | {slowest:.1f} msg/s {slowest_name} alone (clamd {clam_rate:.0f}) | "
          f"{accept_rate / slowest:.2f} | {machine} |")
    print(f"| {date} | e2e whole path msg/s (connect to last reply at relay), same run | `{cmd}` | "
          f"{e2e_rate:.1f} msg/s | {slowest:.1f} msg/s {slowest_name} alone | {e2e_rate / slowest:.2f} | {machine} |")
    if latencies:
        print(f"| {date} | e2e latency 250 to reply at relay, same run | `{cmd}` | "
              f"p50 {ms(percentile(latencies, 50))}, p95 {ms(percentile(latencies, 95))}, "
              f"max {ms(max(latencies))} | - | - | {machine} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
