#!/usr/bin/env python3
"""Screening stage of printgate with spamd and with rspamd, beside each daemon alone, in one run.

Driven by scripts/bench/screen, which starts clamd, spamd, rspamd, two smtp-sinks (printgate's
reply relay, and one without dumps as the client's ceiling) and two printgates: one with the
default spam engine (SpamAssassin), one with scan.spam_engine = "rspamd". Standard library
only; helpers in benchlib.py.

Screening (clamd + spam filter + sender authentication) runs inline before printgate's 250,
so the screening stage's rate is printgate's SMTP accept rate: accepted mails from the first
connect to the last 250 (C concurrent senders, new connection per mail, ~10 KB mail with a
PDF attachment, a different document in every mail). Each is set beside the daemons alone on
the same input in the same run:
  - clamd: zINSTREAM of the mail, then of the decoded PDF (what printgate asks per mail), a new
    document every time (clamd caches clean results by content hash);
  - spamd: SYMBOLS SPAMC/1.5 on the mail (new connection per request, as spamd wants);
  - rspamd: POST /checkv2 with the mail and printgate's IP/Helo/From headers (keep-alive);
and the goal is printgate >= 0.9 x the slower daemon of its pair (clamd and the spam filter).
For information also clamd and each spam filter together without printgate (both per mail, in
parallel, as printgate calls them).
References are measured before and after printgate (best of two passes); the CPU used by each
process group per phase shows whether other work disturbed the run.
Exit code 0 only if every mail got 250 and its reply and every reference request a clean answer.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (  # noqa: E402 - after the path set-up
    CpuMeter,
    RelayWatcher,
    RspamdClient,
    Documents,
    busy_note,
    clamd_scan,
    loadavg,
    machine_info,
    ms,
    parse_pids,
    pdf_of_size,
    percentile,
    print_cpu,
    print_rows,
    send_batch,
    spamd_score,
    spamd_symbols,
    timed_requests,
    together,
    wait_replies,
    warn_if_busy,
)

GROUPS = ("pg spamd", "pg rspamd", "spamd", "rspamd", "clamd", "smtp-sinks", "bench client", "other")


def env_int(name, default):
    return int(os.environ.get(name, "") or default)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smtp-spamd", required=True, help="printgate with SpamAssassin, SMTP HOST:PORT")
    ap.add_argument("--smtp-rspamd", required=True, help="printgate with rspamd, SMTP HOST:PORT")
    ap.add_argument("--sink", required=True, help="smtp-sink HOST:PORT without dumps (the client's ceiling)")
    ap.add_argument("--clamd", required=True, help="clamd unix socket path (unix:/path or /path)")
    ap.add_argument("--spamd", required=True, help="spamd HOST:PORT")
    ap.add_argument("--rspamd", required=True, help="rspamd normal worker HOST:PORT")
    ap.add_argument("--relay-dir", required=True, help="dump directory of the reply relay's smtp-sink")
    ap.add_argument("--pid", action="append", default=[], metavar="GROUP=PID",
                    help="process to account CPU to: " + ", ".join(GROUPS[:6]))
    ap.add_argument("-c", type=int, default=env_int("BENCH_C", 4), help="concurrent clients")
    ap.add_argument("--n", type=int, default=env_int("BENCH_N", 120),
                    help="mails to printgate with spamd, and spamd requests per pass")
    ap.add_argument("--n-rspamd", type=int, default=env_int("BENCH_N_RSPAMD", 600),
                    help="mails to printgate with rspamd, and rspamd requests per pass")
    ap.add_argument("--pdf-bytes", type=int, default=env_int("BENCH_PDF_BYTES", 10240))
    ap.add_argument("--reply-timeout", type=float, default=float(os.environ.get("BENCH_REPLY_TIMEOUT", "120")))
    ap.add_argument("--command", default=os.environ.get("BENCH_COMMAND", "scripts/bench/screen"))
    args = ap.parse_args()
    c = args.c
    if min(c, args.n, args.n_rspamd) < 1:
        ap.error("counts must be >= 1")
    spamd_host, spamd_port = args.spamd.rsplit(":", 1)
    spamd_port = int(spamd_port)
    clamd_path = args.clamd[5:] if args.clamd.startswith("unix:") else args.clamd
    sink_host, sink_port = args.sink.rsplit(":", 1)
    rspamd = RspamdClient(args.rspamd, 60)
    pids = parse_pids(args.pid, GROUPS[:6])
    meter = CpuMeter(pids, groups=GROUPS)
    phases = []
    failures = []
    load_start = loadavg()

    def measure(label, fn):
        a = meter.snapshot()
        result = fn()
        phases.append((label, meter.diff(a, meter.snapshot())))
        return result

    docs = Documents(lambda text: pdf_of_size(args.pdf_bytes, text))
    # spamd and rspamd keep no cache: one mail, as printgate hands it over, serves every request.
    scanned = docs.scanned()[0]
    print(f"document: sample PDF {docs.pdf_bytes} bytes, a new one in every mail; mail {len(scanned)} bytes "
          f"as scanned (base64 attachment + Received header); every daemon gets the whole mail", flush=True)
    make_mail = docs.mail

    def clamd_per_mail(i):
        raw, pdf = docs.scanned()
        clamd_scan(clamd_path, raw, 60)
        clamd_scan(clamd_path, pdf, 60)

    def spamd_one(i):
        spamd_symbols(spamd_host, spamd_port, scanned, 120)

    def rspamd_one(i):
        answer = rspamd.check(scanned)
        if answer.get("action") == "reject":
            raise RuntimeError(f"rspamd rejects the bench mail: {answer.get('score')}")

    # Warm the daemons (rules, caches) and note the scores; not timed.
    clamd_per_mail(0)
    print(f"spamd score {spamd_score(spamd_symbols(spamd_host, spamd_port, scanned, 120)):.1f} (queue: tag 5, "
          f"reject 10)", flush=True)
    answer = rspamd.check(scanned)
    print(f"rspamd score {answer['score']:.1f}, action {answer.get('action')!r} (queue: tag 6, reject 15)",
          flush=True)
    timed_requests(2 * c, c, spamd_one)
    timed_requests(4 * c, c, rspamd_one)

    ref = {}  # name -> [rate per pass]
    lat = {}  # name -> [seconds per request]
    refs = (("clamd", args.n_rspamd, clamd_per_mail), ("spamd", args.n, spamd_one),
            ("rspamd", args.n_rspamd, rspamd_one),
            ("clamd+spamd", args.n, lambda i: together(lambda: clamd_per_mail(i), lambda: spamd_one(i))),
            ("clamd+rspamd", args.n_rspamd, lambda i: together(lambda: clamd_per_mail(i), lambda: rspamd_one(i))))

    def reference_pass(label):
        for name, n, fn in refs:
            print(f"reference {label}: {name} alone, {n} requests, {c} clients ...", flush=True)
            rate, l, errs = measure(f"{name} alone, {label}", lambda n=n, fn=fn: timed_requests(n, c, fn))
            ref.setdefault(name, []).append(rate)
            lat.setdefault(name, []).extend(l)
            if errs:
                failures.append(f"{name} {label}: {len(errs)} of {n} failed, first: {errs[0][1]}")
        batch = measure(f"client -> smtp-sink, {label}",
                        lambda: send_batch(sink_host, sink_port, args.n_rspamd, c, make_mail, "sink"))
        ref.setdefault("sink", []).append(batch.rate)
        failures.extend(batch.problems(f"smtp-sink {label}"))

    reference_pass("pass 1")

    watcher = RelayWatcher(args.relay_dir)
    watcher.poll()
    results = {}
    for engine, address, n in (("spamd", args.smtp_spamd, args.n), ("rspamd", args.smtp_rspamd, args.n_rspamd)):
        host, port = address.rsplit(":", 1)
        print(f"printgate with {engine}: {n} mails, {c} concurrent senders, new connection per mail ...", flush=True)
        batch = measure(f"printgate ({engine}), sending",
                        lambda host=host, port=port, n=n, engine=engine: send_batch(host, port, n, c, make_mail,
                                                                                    engine))
        print(f"  {len(batch.accepted)} of {n} accepted with 250; waiting up to {args.reply_timeout:.0f}s "
              f"for the replies (the pipeline drains before the next phase)", flush=True)
        replies, dups, not_ready = measure(f"printgate ({engine}), draining replies",
                                           lambda b=batch: wait_replies(watcher, b, args.reply_timeout))
        failures.extend(batch.problems(f"printgate ({engine})"))
        missing = len(batch.accepted) - len(replies)
        if missing:
            failures.append(f"printgate ({engine}): {missing} of {len(batch.accepted)} replies missing "
                            f"after {args.reply_timeout:.0f}s")
        if dups:
            failures.append(f"printgate ({engine}): {dups} duplicate replies")
        if not_ready:
            failures.append(f"printgate ({engine}): {len(not_ready)} replies not 'Ready to print', "
                            f"e.g. {not_ready[0][1]!r}")
        results[engine] = batch

    reference_pass("pass 2")
    load_end = loadavg()

    # --- report ---
    machine, nproc = machine_info()
    date = time.strftime("%Y-%m-%d")
    best = {name: max(rates) for name, rates in ref.items()}

    def passes(name):
        return ", ".join(f"{r:.1f}" for r in ref[name])

    def p50_95(values):
        return f"{ms(percentile(values, 50))}/{ms(percentile(values, 95))}".replace(" ms/", "/")

    print()
    print(f"date:    {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"machine: {machine} (nproc {nproc}); load average {load_start} at start, {load_end} at end")
    print(f"run:     C={c} concurrent clients; printgate with spamd {args.n} mails, with rspamd {args.n_rspamd}; "
          f"PDF {docs.pdf_bytes} B, mail {len(scanned)} B; references best of 2 passes")
    print()
    rows = [
        ("clamd alone (mail + decoded PDF, INSTREAM)", f"{best['clamd']:.1f} msg/s", f"passes: {passes('clamd')}"),
        ("spamd alone (SYMBOLS)", f"{best['spamd']:.1f} msg/s", f"passes: {passes('spamd')}"),
        ("rspamd alone (POST /checkv2)", f"{best['rspamd']:.1f} msg/s", f"passes: {passes('rspamd')}"),
        ("clamd + spamd together, no printgate", f"{best['clamd+spamd']:.1f} msg/s",
         f"in parallel per mail, as printgate asks; passes: {passes('clamd+spamd')}"),
        ("clamd + rspamd together, no printgate", f"{best['clamd+rspamd']:.1f} msg/s",
         f"in parallel per mail, as printgate asks; passes: {passes('clamd+rspamd')}"),
        ("Python client -> smtp-sink (the client's ceiling)", f"{best['sink']:.0f} msg/s",
         f"passes: {passes('sink')}"),
    ]
    summary = {}
    for engine in ("spamd", "rspamd"):
        batch = results[engine]
        slower_name, slower = min((("clamd", best["clamd"]), (engine, best[engine])), key=lambda kv: kv[1])
        ratio = batch.rate / slower if slower else 0.0
        sending = next(d for p, d in phases if p == f"printgate ({engine}), sending")
        pg_cpu = sending["pg " + engine] / max(1, len(batch.accepted))
        both = best["clamd+" + engine]
        summary[engine] = (batch.rate, slower_name, slower, ratio, both)
        rows += [
            (f"printgate screening with {engine} (connect .. last 250)", f"{batch.rate:.1f} msg/s",
             f"{len(batch.accepted)}/{len(batch.sent)} got 250; printgate {ms(pg_cpu)} CPU per mail"),
            (f"ratio printgate ({engine}) / slower daemon ({slower_name})", f"{ratio:.2f}",
             "goal >= 0.9: " + ("met" if ratio >= 0.9 else "NOT MET")),
            (f"ratio printgate ({engine}) / clamd + {engine} together", f"{batch.rate / both:.2f}" if both else "n/a",
             "information: the daemons share this machine's cores with printgate"),
        ]
        if batch.accepted:
            rows.append((f"printgate ({engine}) connect -> 250, p50/p95", p50_95(batch.latencies()),
                         f"C={c} in flight"))
        if lat.get(engine):
            rows.append((f"{engine} alone, one request, p50/p95", p50_95(lat[engine]), f"C={c} in flight"))
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

    m = machine + busy_note(busy)
    print("RESULT: OK")
    print()
    print("rows for docs/benchmarks.md:")
    for engine, n in (("spamd", args.n), ("rspamd", args.n_rspamd)):
        rate, slower_name, slower, ratio, both = summary[engine]
        other = "spamd" if engine == "rspamd" else "rspamd"
        print(f"| {date} | screen msg/s, printgate with {engine} (SMTP accept rate: screening is inline before "
              f"250), {n} mails with a {docs.pdf_bytes // 1024} KB PDF, {c} concurrent senders | `{args.command}` | "
              f"{rate:.1f} msg/s | {slower:.1f} msg/s {slower_name} alone (clamd {best['clamd']:.0f}, "
              f"{engine} {best[engine]:.1f}; {other} {best[other]:.1f}; clamd + {engine} together {both:.1f}, ratio "
              f"{rate / both:.2f}) | {ratio:.2f} | {m} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
