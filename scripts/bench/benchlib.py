"""Shared helpers of the benchmarks under scripts/bench/ (e2e.py, smtp.py, screen.py).

Standard library only. Imported, never run: the scripts put their own directory on sys.path.

  - the test mails: sample_pdf / pdf_of_size (the small text PDF of src/convert/sample.rs),
    image_pdf (a ~1 MB one-page PDF), build_mail, with_received, spam_input (what printgate
    gives spamd for a mail above its size cap);
  - clients: clamd_scan (zINSTREAM), spamd_symbols (SYMBOLS SPAMC/1.5), rspamd_check
    (POST /checkv2), send_one (one mail over a new SMTP connection), RelayWatcher (replies
    dumped by smtp-sink);
  - measuring: run_concurrent, percentile, CpuMeter (CPU seconds per process group and what
    processes not started by the benchmark used), tree_ticks (a whole process tree's CPU),
    machine_info, print_rows, print_cpu.
"""

import base64
import concurrent.futures as cf
import email
import email.policy
import email.utils
import http.client
import itertools
import json
import os
import platform
import random
import smtplib
import socket
import struct
import subprocess
import threading
import time
import uuid

QUEUE_ADDRESS = "bw@print.example.org"
PATRON = "patron@example.com"
CLIENT_HELO = "bench.example.com"

# Above this many cores of CPU used by processes the benchmark did not start (in any phase),
# the figures are flagged as disturbed.
BUSY_CORES = 0.25


# --- the test documents -------------------------------------------------------------------

def _pdf(objects) -> bytes:
    """A PDF file of the given object bodies (object i+1 = objects[i]), with its xref."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects):
        offsets.append(len(out))
        out += f"{i + 1} 0 obj\n".encode() + (body.encode() if isinstance(body, str) else body) + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


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
    return _pdf(objects)


def pdf_of_size(target: int, text: str = "printgate end-to-end benchmark document") -> bytes:
    """The smallest sample PDF of at least `target` bytes (more pages of the same text)."""
    for pages in range(1, 200):
        pdf = sample_pdf(text, pages)
        if len(pdf) >= target:
            return pdf
    return pdf


def image_pdf(target: int, text: str = "printgate benchmark document") -> bytes:
    """A one-page PDF of about `target` bytes: a line of text over an uncompressed greyscale
    image of seeded random bytes (0x80-0xff only, so no PDF token can appear in it by chance).
    Stands in for a scanned page: large, incompressible, one page."""
    side = max(8, int((max(target - 1200, 64)) ** 0.5))
    pixels = bytes(0x80 | b for b in random.Random(20261125).randbytes(side * side))
    content = f"q 523 0 0 770 36 36 cm /Im1 Do Q BT /F1 14 Tf 72 800 Td ({text}) Tj ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 3 0 R >> /XObject << /Im1 6 0 R >> >> /Contents 5 0 R >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        f"<< /Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceGray "
        f"/BitsPerComponent 8 /Length {len(pixels)} >>\nstream\n".encode() + pixels + b"\nendstream",
    ]
    return _pdf(objects)


def b64_lines(data: bytes) -> str:
    """Base64 in 76-character lines joined by CRLF, without a final line break."""
    return base64.encodebytes(data).decode().rstrip("\n").replace("\n", "\r\n")


BODY_TEXT = "Please print the attached document."


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
        f"{BODY_TEXT}\r\n"
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


def spam_input(raw: bytes, texts, max_bytes: int) -> bytes:
    """As src/screen/mod.rs::spam_input: the mail itself up to `max_bytes`, else its header
    fields (less the MIME ones), a text/plain MIME header and the text parts `texts`."""
    if len(raw) <= max_bytes:
        return raw
    p = raw.find(b"\r\n\r\n")
    header = raw[:p + 2] if p >= 0 else raw[:min(len(raw), max_bytes)]
    fields, start = [], 0
    for i, b in enumerate(header):
        if b == 0x0A and header[i + 1:i + 2] not in (b" ", b"\t"):
            fields.append(header[start:i + 1])
            start = i + 1
    if start < len(header):
        fields.append(header[start:])
    out = b"".join(f for f in fields
                   if not f.lower().startswith((b"content-type:", b"content-transfer-encoding:", b"mime-version:")))
    out += (b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"X-Printgate-Scan: headers and text parts only\r\n\r\n")
    for text in texts:
        out += text + b"\r\n"
    return out[:max_bytes]


class Documents:
    """Distinct documents of one size and the mails carrying them.

    Every call gives a PDF of the same size and layout with its own serial number in its text,
    as real traffic has a different document in every mail: clamd caches clean results by
    content hash, so scanning one document again and again would measure that cache.
    `factory(text)` makes the PDF (pdf_of_size, image_pdf); the serial replaces TOKEN in place,
    so lengths and xref offsets stay valid."""

    TOKEN = "DOC-000000000"

    def __init__(self, factory):
        self.template = factory(f"printgate benchmark document {self.TOKEN}")
        if self.TOKEN.encode() not in self.template:
            raise ValueError("the document factory dropped the serial number")
        self.serials = itertools.count(1)
        self.pdf_bytes = len(self.template)

    def pdf(self):
        return self.template.replace(self.TOKEN.encode(), f"DOC-{next(self.serials):09d}".encode())

    def mail(self, message_id):
        """A patron's mail with a new document."""
        return build_mail(message_id, b64_lines(self.pdf()))

    def scanned(self):
        """(mail as printgate hands it to clamd, its decoded PDF) with a new document."""
        pdf = self.pdf()
        raw = with_received(build_mail(f"reference.{uuid.uuid4().hex}@bench.example.com", b64_lines(pdf)))
        return raw, pdf


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


# --- scanner clients ----------------------------------------------------------------------

def clamd_scan(path: str, message: bytes, timeout: float) -> str:
    """One zINSTREAM scan over clamd's unix socket; raises unless clamd answers `stream: OK`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(b"zINSTREAM\0")
        chunk = 256 * 1024  # printgate's chunk size
        for i in range(0, len(message), chunk):
            part = message[i:i + chunk]
            s.sendall(struct.pack("!I", len(part)) + part)
        s.sendall(struct.pack("!I", 0))
        reply = recv_until(s, lambda d: d.endswith(b"\0"))
    text = reply.rstrip(b"\0").decode(errors="replace").strip()
    if text != "stream: OK":
        raise RuntimeError(f"clamd answered {text!r}")
    return text


def spamd_symbols(host: str, port: int, message: bytes, timeout: float) -> str:
    """One `SYMBOLS SPAMC/1.5` request (new connection, as spamd wants); returns the answer."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(f"SYMBOLS SPAMC/1.5\r\nContent-length: {len(message)}\r\n\r\n".encode() + message)
        reply = recv_until(s, lambda d: False)  # spamd closes after its answer
    head = reply.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = head.split()
    if len(parts) < 2 or not parts[0].startswith("SPAMD/") or parts[1] != "0":
        raise RuntimeError(f"spamd answered {head!r}")
    return reply.decode(errors="replace")


def spamd_score(answer: str) -> float:
    """The score in a spamd answer ("Spam: False ; 1.2 / 5.0")."""
    for line in answer.split("\r\n"):
        if line.startswith("Spam:"):
            return float(line.split(";")[1].split("/")[0])
    raise RuntimeError("spamd answer has no Spam header")


class RspamdClient:
    """POST /checkv2 with the envelope headers printgate sends (IP, Helo, From), one HTTP
    connection per thread, reopened when rspamd closes it: rspamd's normal worker answers every
    request with `Connection: close`, so here as in printgate each request is a new connection."""

    def __init__(self, address: str, timeout: float):
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)
        self.timeout = timeout
        self.local = threading.local()

    def check(self, message: bytes) -> dict:
        headers = {"IP": "127.0.0.1", "Helo": CLIENT_HELO, "From": PATRON,
                   "Content-Type": "application/octet-stream"}
        for attempt in (1, 2):  # a pooled connection the worker closed: retry once on a new one
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                conn.request("POST", "/checkv2", body=message, headers=headers)
                response = conn.getresponse()
                body = response.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
        if response.status != 200:
            raise RuntimeError(f"rspamd answered HTTP {response.status}")
        answer = json.loads(body)
        if not isinstance(answer.get("score"), (int, float)):
            raise RuntimeError(f"rspamd answer has no score: {body[:200]!r}")
        return answer


# --- SMTP client and the reply relay ------------------------------------------------------

class Sent:
    __slots__ = ("msgid", "t_connect", "t_data", "t_250", "code", "text")

    def __init__(self, msgid):
        self.msgid = msgid
        self.t_connect = None
        self.t_data = None  # the DATA command is sent (the mail leaves the patron)
        self.t_250 = None
        self.code = None
        self.text = ""


def send_one(host, port, sent: Sent, raw: bytes, timeout: float):
    """One mail over a new SMTP connection (EHLO, MAIL, RCPT, DATA, QUIT), timed into `sent`."""
    sent.t_connect = time.time()
    smtp = smtplib.SMTP(host, port, local_hostname=CLIENT_HELO, timeout=timeout)
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
        sent.t_data = time.time()
        code, text = smtp.data(raw)  # returns when the server's reply to the final "." arrives
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


def tree_ticks(root):
    """CPU of a whole process tree in clock ticks: utime+stime+cutime+cstime of `root` and of
    every live descendant. A reaped process is in its reaper's cutime, a live one in its own
    utime, so nothing is counted twice; a warm worker that runs for the whole benchmark (a
    LibreOffice or render worker) counts while it is alive. 0 if `root` is gone."""
    procs = {}  # pid -> (ppid, ticks)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            procs[int(name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
        except (OSError, IndexError, ValueError):
            continue
    kids = {}
    for pid, (ppid, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    total, stack, seen = 0, [root], set()
    while stack:
        p = stack.pop()
        if p in seen or p not in procs:
            continue
        seen.add(p)
        total += procs[p][1]
        stack.extend(kids.get(p, ()))
    return total


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
    """CPU seconds per process group between two snapshots, and what nobody of ours used.

    `pids` maps a group name to the pid (or pids) of its (parent) processes. Groups in `trees` (preforking
    daemons: spamd, rspamd) also count their live children; reaped children are in the parent's
    cutime. Groups in `deep` count their whole live process tree (tree_ticks: printgate with its
    warm workers and converters). "bench client" is this Python process and the programs it ran (smtp-source);
    "other" is the machine's busy time that none of these used."""

    GROUPS = ("printgate", "spamd", "clamd", "smtp-sink", "bench client", "other")

    def __init__(self, pids, groups=None, trees=("spamd", "rspamd"), deep=()):
        self.pids = pids  # group -> pid (or None)
        self.groups = tuple(groups) if groups else self.GROUPS
        self.trees = trees
        self.deep = deep

    def snapshot(self):
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
        snap = {"busy": busy / CLK, "wall": time.time()}
        for group, pid in self.pids.items():
            ticks = 0
            for p in (pid if isinstance(pid, (tuple, list)) else (pid,)):
                if not p:
                    continue
                if group in self.deep:
                    ticks += tree_ticks(p)
                    continue
                ticks += proc_ticks(p)
                if group in self.trees:  # preforked children, reaped ones are in the parent's cutime
                    ticks += sum(proc_ticks(c, with_children=False) for c in child_pids(p))
            snap[group] = ticks / CLK
        t = os.times()
        snap["bench client"] = t.user + t.system + t.children_user + t.children_system
        return snap

    def diff(self, a, b):
        d = {k: b[k] - a[k] for k in a}
        ours = sum(v for k, v in d.items() if k not in ("busy", "wall", "other"))
        d["other"] = max(0.0, d["busy"] - ours)
        return d


def print_cpu(phases, groups, nproc):
    """The CPU-seconds table; returns the most cores 'other' used in any phase (and warns)."""
    groups = list(groups)
    wp = max(len(p) for p, _ in phases)
    gw = max(12, max(len(g) for g in groups))
    print(f"CPU seconds per phase (machine has {nproc} cores; 'other' = processes not started here)")
    print(f"{'phase':<{wp}}  {'wall':>6}  " + "  ".join(f"{g:>{gw}}" for g in groups))
    for name, d in phases:
        print(f"{name:<{wp}}  {d['wall']:>6.1f}  " + "  ".join(f"{d.get(g, 0.0):>{gw}.2f}" for g in groups))
    return busy_other(phases)


def busy_other(phases):
    return max((d["other"] / d["wall"] for _, d in phases if d["wall"] > 0), default=0.0)


def warn_if_busy(busy):
    if busy > BUSY_CORES:
        print(f"WARNING: other processes used up to {busy:.1f} cores during a phase: "
              f"the figures are disturbed; re-run on a quiet machine")


def machine_info():
    """(description for the docs table, number of cores)."""
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
    return f"{model}, {nproc} cores, {mem}, {os_name}, rustc {rustc}", nproc


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def ms(v):
    return f"{v * 1000:.0f} ms"


def print_rows(rows):
    """A `measure  value  note` table."""
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'measure':<{w0}}  {'value':>{w1}}  note")
    print(f"{'-' * w0}  {'-' * w1}  {'-' * 30}")
    for name, value, note in rows:
        print(f"{name:<{w0}}  {value:>{w1}}  {note}")


def parse_pids(items, groups):
    """`--pid GROUP=PID[,PID...]` arguments into {group: pid, tuple of pids, or None}."""
    pids = {g: None for g in groups}
    for item in items:
        group, _, value = item.partition("=")
        found = tuple(int(p) for p in value.split(",") if p.strip().isdigit())
        if group in pids and found:
            pids[group] = found[0] if len(found) == 1 else found
    return pids


def vm_status(pid):
    """VmRSS and VmHWM of a process in KiB (None when it is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "VmHWM", "Threads"):
                    out[key] = int(line.split()[1])
    except OSError:
        return None
    return out


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


# --- one batch of mails through an SMTP server --------------------------------------------

class Batch:
    """N mails sent by C concurrent clients, each over a new connection."""

    def __init__(self, sent, errors):
        self.sent = sent
        self.errors = errors
        self.accepted = [s for s in sent if s.code == 250]
        self.not_accepted = [s for s in sent if s.code != 250]
        starts = [s.t_connect for s in sent if s.t_connect is not None]
        self.t_first = min(starts) if starts else time.time()
        if self.accepted:
            self.rate = len(self.accepted) / (max(s.t_250 for s in self.accepted) - self.t_first)
        else:
            self.rate = 0.0

    def latencies(self):
        """Connect to 250 per accepted mail."""
        return [s.t_250 - s.t_connect for s in self.accepted]

    def problems(self, label):
        """Failure lines for the report."""
        from collections import Counter

        out = []
        if self.not_accepted:
            kinds = Counter(f"{s.code} {s.text}".strip()[:120] for s in self.not_accepted)
            out.append(f"{label}: {len(self.not_accepted)} of {len(self.sent)} mails not accepted with 250: "
                       + "; ".join(f"{k!r} x{v}" for k, v in kinds.most_common(5)))
        if self.errors:
            out.append(f"{label}: {len(self.errors)} sends raised, first: {self.errors[0][1]}")
        return out


def send_batch(host, port, n, c, make_mail, tag, timeout=120.0):
    """Sends n mails (make_mail(message_id) -> bytes) with c clients; returns a Batch."""
    run = uuid.uuid4().hex[:12]
    sent = [Sent(f"bench.{tag}.{run}.{i:06d}@bench.example.com") for i in range(n)]
    mails = [make_mail(s.msgid) for s in sent]
    _, _, errors = run_concurrent(n, c, lambda i: send_one(host, int(port), sent[i], mails[i], timeout))
    return Batch(sent, errors)


def wait_replies(watcher, batch, timeout):
    """Waits (at most `timeout` s) until every accepted mail of `batch` has its reply at the
    relay. Returns (replies {msgid: arrival}, duplicates, not 'Ready to print' [(msgid, subject)])."""
    wanted = {s.msgid for s in batch.accepted}
    deadline = time.time() + timeout
    while True:
        watcher.poll()
        matched = {irt for _, irt, _ in watcher.replies() if irt in wanted}
        if len(matched) >= len(wanted) or time.time() >= deadline:
            break
        time.sleep(0.2)
    time.sleep(0.4)
    watcher.poll()
    replies, duplicates, not_ready = {}, 0, []
    for mtime, irt, subject in watcher.replies():
        if irt not in wanted:
            continue
        if irt in replies:
            duplicates += 1
            continue
        replies[irt] = mtime
        if not subject.startswith("Ready to print:"):
            not_ready.append((irt, subject))
    return replies, duplicates, not_ready


def timed_requests(n, c, fn):
    """fn(i) n times on c threads: (rate of successes, per-request seconds, errors)."""
    def timed(i):
        t = time.time()
        fn(i)
        return time.time() - t

    secs, lat, errs = run_concurrent(n, c, timed)
    return (n - len(errs)) / secs, [x for x in lat if x is not None], errs


def busy_note(busy):
    """For the machine column of docs/benchmarks.md."""
    if busy > BUSY_CORES:
        return f"; busy: other processes used up to {busy:.1f} cores during a phase"
    return "; quiet: other processes used under 0.25 cores"


def together(*fns):
    """Runs the calls concurrently (as printgate runs clamd and the spam filter side by side
    for one mail) and returns when all are done; the first error is raised."""
    errors = []

    def run(fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - re-raised below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in fns[1:]]
    for t in threads:
        t.start()
    run(fns[0])
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
