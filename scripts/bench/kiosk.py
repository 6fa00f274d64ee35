#!/usr/bin/env python3
"""Kiosk latency on loopback: code -> document list, and Print -> job at the printer.

Driven by scripts/bench/kiosk, which starts clamd, spamd, smtp-sink, printgate, ippeveprinter
and `printgate station kiosk` and passes their addresses. Standard library only.

  bench: mails N documents, reads the N release codes from the replies, then per code
    (a) the list: POST / do=code (form token from the last page) + the redirected GET / until
        the documents screen has arrived, then do=cancel; beside it the bare release API call
        (POST /api/v1/release with the kiosk's token) for the same code;
    (b) the print: code -> documents (not timed), then POST / do=print -> the job's file in the
        printer's spool directory (and -> the done screen); beside it a bare IPP Print-Job of
        the same PDF to the same printer -> its file in the spool directory.
  shots: drives a kiosk through its screens and has Chromium draw each one (800x480 PNG).

Exit code 0 only if every code listed its document, every job reached the printer, and every
printed code was gone from the API afterwards.
"""

import argparse
import base64
import datetime
import email
import email.policy
import email.utils
import http.client
import json
import os
import re
import shutil
import smtplib
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (  # noqa: E402 - after the path set-up
    CpuMeter,
    Documents,
    RelayWatcher,
    _pdf,
    b64_lines,
    busy_note,
    machine_info,
    parse_pids,
    pdf_of_size,
    percentile,
    print_cpu,
    print_rows,
    sample_pdf,
    send_batch,
    wait_replies,
    warn_if_busy,
)

GROUPS = ("printgate", "kiosk", "ippeveprinter", "bench client", "other")


# --- clients --------------------------------------------------------------------------------

class Http:
    """One keep-alive HTTP/1.1 connection (as a browser keeps one), opened again if closed."""

    def __init__(self, address, timeout=60.0):
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body bytes)."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                return resp.status, resp.headers, resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


class Kiosk:
    """The kiosk page as its browser sees it: GET /, and forms POSTed to / (303 to /)."""

    def __init__(self, address):
        self.http = Http(address)
        self.html = ""

    def get(self):
        status, _, body = self.http.request("GET", "/")
        if status != 200:
            raise RuntimeError(f"GET / answered {status}")
        self.html = body.decode()
        return self.html

    def post(self, fields):
        """Sends a form with the current page's token; returns the page it leads to."""
        body = urllib.parse.urlencode([("csrf", self.csrf())] + list(fields))
        status, headers, _ = self.http.request(
            "POST", "/", body, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 303 or headers.get("Location") != "/":
            raise RuntimeError(f"POST / {fields[0]} answered {status}")
        return self.get()

    def csrf(self):
        m = re.search(r'data-csrf="([0-9a-f]+)"', self.html)
        if not m:
            raise RuntimeError("no form token on the page")
        return m.group(1)

    def screen(self):
        m = re.search(r'data-screen="([a-z]+)"', self.html)
        return m.group(1) if m else "?"

    def job_ids(self):
        return re.findall(r'name="job" value="([0-9a-f]+)"', self.html)

    def expect(self, screen, what):
        if self.screen() != screen:
            notice = re.search(r'<p class="notice"[^>]*>([^<]*)<', self.html)
            raise RuntimeError(f"{what}: screen {self.screen()!r}, not {screen!r}"
                               + (f" ({notice.group(1)})" if notice else ""))

    def wait_for(self, screen, timeout, every=0.025):
        deadline = time.time() + timeout
        while self.get() and self.screen() != screen:
            if time.time() > deadline:
                raise RuntimeError(f"screen {self.screen()!r} after {timeout:.0f}s, not {screen!r}")
            time.sleep(every)


def redeem(api, token, code):
    """The bare release API call; returns the HTTP status."""
    status, _, _ = api.request("POST", "/api/v1/release", json.dumps({"code": code}),
                               {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    return status


def ipp_print_job(printer, pdf, request_id):
    """A bare IPP/2.0 Print-Job (RFC 8010 encoding) of `pdf`; raises unless it succeeded."""
    def attr(tag, name, value):
        n, v = name.encode(), value.encode()
        return struct.pack(">BH", tag, len(n)) + n + struct.pack(">H", len(v)) + v

    uri = f"ipp://{printer.host}:{printer.port}/ipp/print"
    body = (struct.pack(">BBHI", 2, 0, 0x0002, request_id) + b"\x01"
            + attr(0x47, "attributes-charset", "utf-8") + attr(0x48, "attributes-natural-language", "en")
            + attr(0x45, "printer-uri", uri) + attr(0x42, "requesting-user-name", "bench")
            + attr(0x42, "job-name", "reference") + attr(0x49, "document-format", "application/pdf")
            + b"\x03" + pdf)
    status, _, answer = printer.request("POST", "/ipp/print", body, {"Content-Type": "application/ipp"})
    if status != 200 or len(answer) < 4 or struct.unpack(">H", answer[2:4])[0] > 0xff:
        raise RuntimeError(f"Print-Job: HTTP {status}, IPP status {answer[2:4].hex()}")


def ipp_printer_state(printer, request_id):
    """`printer-state` from a bare Get-Printer-Attributes: 3 idle, 4 processing, 5 stopped."""
    def attr(tag, name, value):
        n, v = name.encode(), value.encode()
        return struct.pack(">BH", tag, len(n)) + n + struct.pack(">H", len(v)) + v

    uri = f"ipp://{printer.host}:{printer.port}/ipp/print"
    body = (struct.pack(">BBHI", 2, 0, 0x000B, request_id) + b"\x01"
            + attr(0x47, "attributes-charset", "utf-8") + attr(0x48, "attributes-natural-language", "en")
            + attr(0x45, "printer-uri", uri) + attr(0x44, "requested-attributes", "printer-state") + b"\x03")
    _, _, answer = printer.request("POST", "/ipp/print", body, {"Content-Type": "application/ipp"})
    i = 8
    while i < len(answer):
        tag = answer[i]
        i += 1
        if tag < 0x10:  # a delimiter: the next group, or the end
            if tag == 0x03:
                break
            continue
        (nlen,) = struct.unpack(">H", answer[i:i + 2])
        name = answer[i + 2:i + 2 + nlen]
        i += 2 + nlen
        (vlen,) = struct.unpack(">H", answer[i:i + 2])
        value = answer[i + 2:i + 2 + vlen]
        i += 2 + vlen
        if name == b"printer-state" and vlen == 4:
            return struct.unpack(">i", value)[0]
    raise RuntimeError("no printer-state in the printer's answer")


def wait_printer_idle(printer, timeout=30.0):
    """ippeveprinter takes one job at a time (a second one is refused as busy)."""
    deadline = time.time() + timeout
    while ipp_printer_state(printer, 1) != 3:
        if time.time() > deadline:
            raise RuntimeError(f"the printer is not idle after {timeout:.0f}s")
        time.sleep(0.02)


class SpoolWatcher(threading.Thread):
    """Notes when each file first appears in the printer's spool directory (every 2 ms)."""

    def __init__(self, directory):
        super().__init__(daemon=True)
        self.dir = directory
        self.seen = {n: 0.0 for n in os.listdir(directory)}
        self.lock = threading.Lock()
        self.stop = False

    def run(self):
        while not self.stop:
            now = time.perf_counter()
            for name in os.listdir(self.dir):
                if name.endswith(".pdf") and name not in self.seen:
                    with self.lock:
                        self.seen[name] = now
            time.sleep(0.002)

    def first_after(self, t0, timeout=30.0):
        """(name, time) of the first file that appeared after t0."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                new = sorted((t, n) for n, t in self.seen.items() if t >= t0)
            if new:
                return new[0][1], new[0][0]
            time.sleep(0.002)
        raise RuntimeError(f"no new file in {self.dir} within {timeout:.0f}s")


# --- codes from mail ------------------------------------------------------------------------

def codes_from_replies(relay_dir, msgids):
    """{Message-ID: release code digits} from the replies smtp-sink dumped."""
    codes = {}
    for name in os.listdir(relay_dir):
        with open(os.path.join(relay_dir, name), "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        irt = (msg.get("In-Reply-To") or "").strip().strip("<>")
        if irt not in msgids:
            continue
        text = msg.get_body(preferencelist=("plain",)).get_content()
        m = re.search(r"^Release code: ([0-9 ]+)$", text, re.M)
        if m:
            codes[irt] = m.group(1).replace(" ", "")
    return codes


def mail_codes(smtp, relay_dir, n, c, timeout=180):
    """Sends n mails with one ~10 KB PDF each; returns their release codes."""
    host, port = smtp.rsplit(":", 1)
    docs = Documents(lambda text: pdf_of_size(10240, text))
    watcher = RelayWatcher(relay_dir)
    batch = send_batch(host, port, n, c, docs.mail, "kiosk")
    problems = batch.problems("mails")
    if problems:
        raise RuntimeError("; ".join(problems))
    replies, _, not_ready = wait_replies(watcher, batch, timeout)
    if len(replies) < n or not_ready:
        raise RuntimeError(f"{len(replies)} of {n} replies, {len(not_ready)} not 'Ready to print'")
    codes = codes_from_replies(relay_dir, {s.msgid for s in batch.accepted})
    if len(codes) < n:
        raise RuntimeError(f"only {len(codes)} of {n} replies hold a release code")
    return [codes[s.msgid] for s in batch.accepted]


# --- the benchmark --------------------------------------------------------------------------

def measure_list(kiosk, api, token, code, ref_first):
    """(kiosk seconds, API seconds) for one code; the kiosk is back on the start screen."""
    def via_kiosk():
        t0 = time.perf_counter()
        kiosk.post([("do", "code"), ("code", code)])
        t = time.perf_counter() - t0
        kiosk.expect("documents", "after the code")
        kiosk.post([("do", "cancel")])
        kiosk.expect("start", "after cancel")
        return t

    def via_api():
        t0 = time.perf_counter()
        status = redeem(api, token, code)
        t = time.perf_counter() - t0
        if status != 200:
            raise RuntimeError(f"release API answered {status} for a live code")
        return t

    if ref_first:
        r = via_api()
        return via_kiosk(), r
    k = via_kiosk()
    return k, via_api()


def measure_print(kiosk, printer, spool, watcher, code, request_id):
    """(to the file, to done, reference) seconds for one code's job."""
    kiosk.post([("do", "code"), ("code", code)])
    kiosk.expect("documents", "before printing")
    jobs = kiosk.job_ids()
    if 'name="printer" value="0" checked' not in kiosk.html:
        raise RuntimeError("the printer is not preselected (not ready?)")
    wait_printer_idle(printer)
    t0 = time.perf_counter()
    kiosk.post([("do", "print"), ("printer", "0")] + [("job", j) for j in jobs])
    name, t_file = watcher.first_after(t0)
    kiosk.wait_for("done", 60)
    t_done = time.perf_counter()
    kiosk.post([("do", "finish")])
    kiosk.expect("start", "after finish")
    # The reference: the very PDF the kiosk printed, sent bare.
    with open(os.path.join(spool, name), "rb") as f:
        pdf = f.read()
    if not pdf.startswith(b"%PDF"):
        raise RuntimeError(f"{name} at the printer is not a PDF")
    r0 = time.perf_counter()
    ipp_print_job(printer, pdf, request_id)
    _, r_file = watcher.first_after(r0)
    wait_printer_idle(printer)
    return t_file - t0, t_done - t0, r_file - r0


def wait_printer_ready(kiosk, code, timeout=20):
    """Until the documents screen offers the printer (the kiosk asks it every 2 s)."""
    deadline = time.time() + timeout
    while True:
        kiosk.post([("do", "code"), ("code", code)])
        kiosk.expect("documents", "first code")
        ready = 'name="printer" value="0" checked' in kiosk.html
        kiosk.post([("do", "cancel")])
        if ready:
            return
        if time.time() > deadline:
            raise RuntimeError(f"the printer is not ready after {timeout}s")
        time.sleep(0.5)


def p(values, q):
    return percentile(values, q) * 1000


def bench(args):
    token = os.environ.get("BENCH_TOKEN") or sys.exit("BENCH_TOKEN (the station token) is not set")
    machine, nproc = machine_info()
    meter = CpuMeter(parse_pids(args.pid, GROUPS[:3]), groups=GROUPS, trees=())
    n = args.n
    print(f"mailing {n} documents for {n} codes ...", flush=True)
    codes = mail_codes(args.smtp, args.relay_dir, n, args.c)
    kiosk, api = Kiosk(args.kiosk), Http(args.api)
    printer = Http(args.printer)
    kiosk.get()
    wait_printer_ready(kiosk, codes[0])
    for code in codes[:3]:  # warm-up: connections, caches; not timed
        measure_list(kiosk, api, token, code, False)

    phases = []
    print(f"(a) code -> document list, {n} codes, each also through the bare API ...", flush=True)
    a = meter.snapshot()
    lists = [measure_list(kiosk, api, token, code, i % 2 == 1) for i, code in enumerate(codes)]
    phases.append(("(a) list", meter.diff(a, meter.snapshot())))
    k_list, r_list = [x[0] for x in lists], [x[1] for x in lists]

    print(f"(b) print -> job at the printer, {n} codes, each also as a bare Print-Job ...", flush=True)
    watcher = SpoolWatcher(args.spool)
    watcher.start()
    a = meter.snapshot()
    prints = [measure_print(kiosk, printer, args.spool, watcher, code, 1000 + i) for i, code in enumerate(codes)]
    phases.append(("(b) print", meter.diff(a, meter.snapshot())))
    watcher.stop = True
    k_file, k_done, r_file = ([x[i] for x in prints] for i in range(3))

    failures = []
    left = [redeem(api, token, code) for code in codes]
    if any(s == 200 for s in left):
        failures.append(f"{sum(s == 200 for s in left)} printed codes still list jobs at the API")
    files = len([x for x in os.listdir(args.spool) if x.endswith(".pdf")])
    if files != 2 * n:
        failures.append(f"{files} files at the printer, not {2 * n} ({n} kiosk + {n} reference)")

    ratio_list = p(k_list, 50) / p(r_list, 50)
    ratio_print = p(k_file, 50) / p(r_file, 50)
    pp = lambda v: f"{p(v, 50):.1f}/{p(v, 95):.1f} ms"  # noqa: E731
    print()
    print_rows([
        ("(a) kiosk: code -> documents screen, p50/p95", pp(k_list), "POST do=code + redirected GET /"),
        ("(a) reference: POST /api/v1/release, p50/p95", pp(r_list), "same codes, same token"),
        ("(a) ratio kiosk / API (p50)", f"{ratio_list:.2f}", f"max kiosk {max(k_list) * 1000:.1f} ms"),
        ("(b) kiosk: print -> job file at printer, p50/p95", pp(k_file), "fetch, open, Print-Job"),
        ("(b) kiosk: print -> done screen, p50/p95", pp(k_done), "printer completes; the kiosk asks every 0.5 s"),
        ("(b) reference: bare Print-Job -> file, p50/p95", pp(r_file), "the same PDF, same printer"),
        ("(b) ratio kiosk / bare Print-Job (p50)", f"{ratio_print:.2f}", ""),
    ])
    print()
    busy = print_cpu(phases, GROUPS, nproc)
    warn_if_busy(busy)
    goal = p(k_list, 50) < 300
    print(f"goal: list p50 < 300 ms: {'met' if goal else 'NOT met'}")
    if failures:
        print("RESULT: FAIL")
        for f in failures:
            print(f"  - {f}")
        return 1
    date = datetime.date.today().isoformat()
    cmd = args.command
    mach = machine + busy_note(busy)
    print("RESULT: OK")
    print()
    print("rows for docs/benchmarks.md:")
    print(f"| {date} | kiosk: code -> document list on loopback (POST / do=code with the page's form token, "
          f"then the redirected GET / until the documents screen arrived; cancel between), {n} codes of one "
          f"~10 KB PDF each, SQLite, one client; goal p50 < 300 ms: {'met' if goal else 'NOT met'} | `{cmd}` | "
          f"p50 {p(k_list, 50):.1f} ms, p95 {p(k_list, 95):.1f} ms | p50 {p(r_list, 50):.1f} ms, "
          f"p95 {p(r_list, 95):.1f} ms: the bare `POST /api/v1/release` the kiosk makes, same codes | "
          f"{ratio_list:.2f} | {mach} |")
    print(f"| {date} | kiosk: Print -> the printer has the job (POST / do=print until the job's file appears "
          f"in ippeveprinter's spool directory: fetch, SHA-256, open, Print-Job), same run; to the done screen "
          f"(the printer completes the job, the kiosk asks it every 0.5 s and acknowledges it) p50 {p(k_done, 50):.0f} ms, p95 {p(k_done, 95):.0f} ms | `{cmd}` | "
          f"p50 {p(k_file, 50):.1f} ms, p95 {p(k_file, 95):.1f} ms | p50 {p(r_file, 50):.1f} ms, "
          f"p95 {p(r_file, 95):.1f} ms: a bare IPP Print-Job of the same PDF | {ratio_print:.2f} | {mach} |")
    return 0


# --- screenshots ----------------------------------------------------------------------------

def colour_pdf(text):
    """A one-page PDF with a red and a blue block (colour pages for the documents screen)."""
    content = (f"1 0 0 rg 72 500 220 220 re f 0 0 1 rg 320 500 200 220 re f "
               f"0 g BT /F1 24 Tf 72 760 Td ({text}) Tj ET")
    return _pdf([
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
        "/Contents 5 0 R >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
    ])


def two_document_mail(message_id, to, subject, files):
    parts = "".join(
        "--b1_kiosk\r\nContent-Type: application/pdf\r\n"
        f'Content-Disposition: attachment; filename="{name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        f"{b64_lines(data)}\r\n" for name, data in files)
    return (f"From: Pat Patron <patron@example.com>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: {email.utils.formatdate(localtime=False)}\r\nMessage-ID: <{message_id}>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1_kiosk\"\r\n\r\n"
            "--b1_kiosk\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nPlease print.\r\n"
            f"{parts}--b1_kiosk--\r\n").encode()


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
    JSON messages ending in NUL, in on fd 3, out on fd 4), so that a page can be scrolled or its
    timers run ahead before it is drawn. Standard library only."""

    def __init__(self, chromium):
        to_child, self.out = os.pipe()
        self.inp, from_child = os.pipe()
        self.profile = tempfile.mkdtemp(prefix="kiosk-shots-")  # one per instance: no profile lock
        args = [f"--user-data-dir={self.profile}", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=800,480", "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(["sh", "-c", f'exec "$0" "$@" 3<&{to_child} 4>&{from_child}', chromium, *args],
                                     pass_fds=(to_child, from_child), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_child)
        os.close(from_child)
        self.buf, self.next_id, self.events = b"", 0, []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 800, "height": 480, "deviceScaleFactor": 1, "mobile": False}, session=True)

    def _read(self):
        while b"\0" not in self.buf:
            chunk = os.read(self.inp, 65536)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=False):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self.out, json.dumps(msg).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer.get("method"))

    def wait_event(self, name, timeout=60):
        deadline = time.time() + timeout
        while name not in self.events:
            if time.time() > deadline:
                raise RuntimeError(f"no {name} within {timeout}s")
            self.events.append(self._read().get("method"))
        self.events.clear()

    def shoot(self, url, path, script=None, budget_ms=None):
        """Loads `url`, runs `script`, lets timers run `budget_ms` ahead, draws 800x480 PNG."""
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_event("Page.loadEventFired")
        if budget_ms:
            self.call("Emulation.setVirtualTimePolicy", {"policy": "advance", "budget": budget_ms}, session=True)
            self.wait_event("Emulation.virtualTimeBudgetExpired")
        if script:
            self.call("Runtime.evaluate", {"expression": script}, session=True)
        png = self.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))
        print(f"{path}: {os.path.getsize(path) // 1024} KB", flush=True)
        self.events.clear()
        self.call("Page.navigate", {"url": "about:blank"}, session=True)
        self.wait_event("Page.loadEventFired")

    def close(self):
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        self.proc.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)


def mail_for_shots(smtp, relay_dir):
    """Two documents (a 12-page text PDF, a colour poster) in 2 copies to the colour queue;
    returns the release code."""
    host, port = smtp.rsplit(":", 1)
    msgid = f"kiosk.shots.{uuid.uuid4().hex[:12]}@bench.example.com"
    files = [("Thesis-final.pdf", sample_pdf("Thesis, final version", 12)), ("Poster-A4.pdf", colour_pdf("Poster"))]
    to = "colour@print.example.org"
    with smtplib.SMTP(host, int(port), local_hostname="bench.example.com", timeout=60) as smtp_client:
        smtp_client.sendmail("patron@example.com", [to],
                             two_document_mail(msgid, to, "please print [2 copies]", files))
    watcher = RelayWatcher(relay_dir)
    deadline = time.time() + 120
    while not any(irt == msgid for _, irt, _ in watcher.replies()):
        if time.time() > deadline:
            raise RuntimeError("no reply to the screenshot mail")
        time.sleep(0.2)
        watcher.poll()
    return codes_from_replies(relay_dir, {msgid})[msgid]


def shots(args):
    code = mail_for_shots(args.smtp, args.relay_dir)
    url = f"http://{args.kiosk}/"
    out = lambda name: os.path.join(args.out, name)  # noqa: E731
    kiosk = Kiosk(args.kiosk)
    kiosk.get()
    time.sleep(3)  # the first printer states
    browser = Chromium(args.chromium)
    try:
        browser.shoot(url, out("kiosk-start.png"))
        kiosk.post([("do", "lang"), ("lang", "de")])
        kiosk.post([("do", "code"), ("code", "1234 5678")])
        kiosk.expect("start", "wrong code")
        browser.shoot(url, out("kiosk-wrong-code-de.png"))
        kiosk.post([("do", "cancel")])
        kiosk.post([("do", "code"), ("code", code)])
        kiosk.expect("documents", "screenshot code")
        browser.shoot(url, out("kiosk-documents.png"))
        browser.shoot(url, out("kiosk-printers.png"), script="window.scrollTo(0, document.body.scrollHeight)")
        kiosk.get()
        kiosk.post([("do", "print"), ("printer", "0")] + [("job", j) for j in kiosk.job_ids()])
        time.sleep(1.5)
        browser.shoot(url, out("kiosk-printing.png"))
        kiosk.wait_for("done", 60, every=0.2)
        browser.shoot(url, out("kiosk-done.png"))
        kiosk.get()
        kiosk.post([("do", "finish")])
        kiosk.post([("do", "code"), ("code", "8765 4321")])
        kiosk.expect("start", "wrong code")
        # --idle 60s: the warning shows from 40 s; at 45 s its countdown says 15. Last, as
        # virtual time stays paused after the budget.
        browser.shoot(url, out("kiosk-idle.png"), budget_ms=45000)
    finally:
        browser.close()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--smtp", required=True, help="printgate SMTP HOST:PORT")
    b.add_argument("--api", required=True, help="printgate release API HOST:PORT")
    b.add_argument("--kiosk", required=True, help="the kiosk page HOST:PORT")
    b.add_argument("--printer", required=True, help="ippeveprinter HOST:PORT")
    b.add_argument("--spool", required=True, help="ippeveprinter's spool directory (-d)")
    b.add_argument("--relay-dir", required=True, help="smtp-sink dump directory")
    b.add_argument("--pid", action="append", default=[], metavar="GROUP=PID",
                   help="process to account CPU to: printgate=, kiosk=, ippeveprinter=")
    b.add_argument("-n", type=int, default=int(os.environ.get("BENCH_N", "30")))
    b.add_argument("-c", type=int, default=int(os.environ.get("BENCH_C", "4")))
    b.add_argument("--command", default=os.environ.get("BENCH_COMMAND", "scripts/bench/kiosk"))
    s = sub.add_parser("shots")
    s.add_argument("--smtp", required=True)
    s.add_argument("--kiosk", required=True)
    s.add_argument("--relay-dir", required=True)
    s.add_argument("--chromium", default="/usr/bin/chromium")
    s.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.what == "bench" and (args.n < 4 or args.c < 1):
        ap.error("N must be >= 4 and C >= 1")
    return bench(args) if args.what == "bench" else shots(args)


if __name__ == "__main__":
    sys.exit(main())
