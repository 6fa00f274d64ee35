# shellcheck shell=bash
# Shared shell helpers of the benchmarks under scripts/bench/ (e2e, smtp, screen).
# Source after scripts/lib.sh; RUNDIR must be set by the caller. Nothing here calls `exit`
# except bench_cleanup, which is the EXIT trap.
#
#   bench_traps                          # EXIT/INT/TERM: stop what was tracked, then the daemons
#   bench_track PID SECS NAME            # stop PID on exit (TERM, KILL after SECS)
#   bench_build                          # cargo build --release unless BENCH_NO_BUILD=1
#   bench_sink PORT LOG [DUMPDIR]        # smtp-sink (-u nobody, backlog 256); sets SINK_STARTED_PID
#   bench_write_config FILE DIR SMTP_PORT API_PORT RELAY_PORT [ENGINE [MAX_CONNECTIONS]]
#   bench_start_printgate CONFIG LOG SMTP_PORT API_PORT   # sets PG_PID
#   bench_log_summary LOG                # WARN/ERROR counts and the most frequent lines
#   bench_apt_install PKG...             # bench-only Debian packages (not in PG_DEBIAN_PACKAGES)
#   bench_plot GP DATA PNG               # gnuplot GP with data=DATA, out=PNG (installs gnuplot-nox)

BIN="${BIN:-$PG_ROOT/target/release/printgate}"
BENCH_TRACKED=() # "pid secs name", stopped last-first by bench_cleanup

# TERM a process this script started, KILL it after SECONDS, reap it. Bounded.
stop_pid() { # PID SECONDS NAME
    local pid="$1" secs="$2" name="$3" i
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        pg_log "$name (pid $pid) still running ${secs}s after TERM; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

bench_track() { # PID SECS NAME
    BENCH_TRACKED+=("$1 $2 $3")
}

# Forget a pid that was waited for (so that a recycled pid is never signalled).
bench_untrack() { # PID
    local kept=() e
    for e in "${BENCH_TRACKED[@]}"; do
        [ "${e%% *}" = "$1" ] || kept+=("$e")
    done
    BENCH_TRACKED=("${kept[@]}")
}

# Stop a tracked process now (e.g. printgate before the next configuration) and forget it.
bench_stop() { # PID SECS NAME
    stop_pid "$1" "$2" "$3"
    bench_untrack "$1"
}

# The EXIT trap: stop what was tracked (last started first), then the daemons in RUNDIR.
bench_cleanup() {
    local rc=$? i pid secs name
    # Ignore further signals while cleaning up: `timeout` and Ctrl-C signal the whole process
    # group, so a second TERM/INT would otherwise kill this shell half-way through.
    trap - EXIT
    trap '' INT TERM
    for ((i = ${#BENCH_TRACKED[@]} - 1; i >= 0; i--)); do
        read -r pid secs name <<<"${BENCH_TRACKED[$i]}"
        stop_pid "$pid" "$secs" "$name"
    done
    pg_stop_daemons "$RUNDIR" || true
    exit "$rc"
}

bench_traps() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

wait_port() { # PORT SECONDS PID NAME
    local port="$1" secs="$2" pid="$3" name="$4" i
    for ((i = 0; i < secs * 10; i++)); do
        if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
            "$port" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            pg_err "$name exited before listening on 127.0.0.1:$port"
            return 1
        fi
        sleep 0.1
    done
    pg_err "$name not listening on 127.0.0.1:$port after ${secs}s"
    return 1
}

# Built before anything starts, so a failing build leaves nothing running.
bench_build() {
    if [ "${BENCH_NO_BUILD:-0}" = 1 ] && [ -x "$BIN" ]; then
        pg_log "BENCH_NO_BUILD=1: using the existing $BIN (built $(date -r "$BIN" '+%F %T'))"
    else
        pg_section "build: cargo build --release"
        (cd "$PG_ROOT" && cargo build --release)
    fi
}

# smtp-sink on 127.0.0.1:PORT as nobody, backlog 256; with DUMPDIR it writes every mail there.
bench_sink() { # PORT LOG [DUMPDIR]
    local port="$1" log="$2" dump="${3:-}" args=()
    if [ -n "$dump" ]; then
        mkdir -p "$dump"
        chmod 777 "$dump" # smtp-sink writes as nobody
        args=(-d "$dump/%Y%m%d%H%M%S.")
    fi
    "$PG_SMTP_SINK" -u nobody "${args[@]}" "127.0.0.1:$port" 256 </dev/null >"$log" 2>&1 9>&- &
    SINK_STARTED_PID=$!
    bench_track "$SINK_STARTED_PID" 5 smtp-sink
    wait_port "$port" 10 "$SINK_STARTED_PID" smtp-sink
}

# The benchmark configuration, as tests/common/mod.rs, with production defaults for everything
# not listed. Exceptions:
# - max_message_bytes as in config/printgate.toml;
# - the rate limits raised: every bench mail comes from one client address (127.0.0.1) and one
#   patron, and the defaults (120 mails/min per address, 60/h per sender, 600/h per domain)
#   would refuse most of them with 450; connections (total and per address) as asked;
# - sender authentication answered from fixed records, so it runs (SPF pass for 127.0.0.1,
#   DMARC p=none: an authenticated patron) but never depends on this machine's DNS;
# - ENGINE "rspamd": scan.spam_engine = "rspamd" at PRINTGATE_TEST_RSPAMD, and the queue's
#   thresholds on rspamd's scale (tag 6, reject 15); else spamd at PRINTGATE_TEST_SPAMD (5, 10).
# Creates DIR/keys (site key pair) and DIR/data.
bench_write_config() { # FILE DIR SMTP_PORT API_PORT RELAY_PORT [ENGINE [MAX_CONNECTIONS]]
    local file="$1" dir="$2" smtp_port="$3" api_port="$4" relay_port="$5"
    local engine="${6:-spamassassin}" maxc="${7:-1000}" tag=5.0 reject=10.0 spam
    mkdir -p "$dir/data"
    [ -s "$dir/keys/main.pub.pem" ] || "$BIN" keygen --site main --out "$dir/keys" >/dev/null
    if [ "$engine" = rspamd ]; then
        tag=6.0
        reject=15.0
        spam="[scan.rspamd]
address = \"${PRINTGATE_TEST_RSPAMD:?rspamd not started}\""
    else
        spam="[scan.spamassassin]
address = \"$PRINTGATE_TEST_SPAMD\""
    fi
    cat >"$file" <<EOF
[smtp]
listen = "127.0.0.1:$smtp_port"
hostname = "print.example.org"
max_message_bytes = 26214400
max_connections = $maxc
max_connections_per_ip = $maxc
max_messages_per_ip_per_minute = 1000000
max_messages_per_sender_per_hour = 1000000
max_messages_per_domain_per_hour = 1000000

[[queue]]
address = "bw@print.example.org"
name = "bw"
site = "main"
spam_tag_score = $tag
spam_reject_score = $reject
retention = "72h"

[[site]]
name = "main"
public_key = "$dir/keys/main.pub.pem"

[scan]
spam_engine = "$engine"

[scan.clamav]
address = "$PRINTGATE_TEST_CLAMD"

$spam

[store]
database_url = "sqlite://$dir/data/printgate.db"
blob_url = "file://$dir/data/blobs"
secret_file = "$dir/data/secret.key"

[spool]
dir = "$dir/data/spool"
key_file = "$dir/data/node.key"

[relay]
url = "smtp://127.0.0.1:$relay_port"
from = "printgate@print.example.org"
library_name = "Bench Library"

[api]
listen = "127.0.0.1:$api_port"
${BENCH_PIPELINE_WORKERS:+
[pipeline]
workers = $BENCH_PIPELINE_WORKERS
}
[auth]
resolver = "static"
records = [
    ["example.com", "v=spf1 ip4:127.0.0.1 -all"],
    ["_dmarc.example.com", "v=DMARC1; p=none"],
]
EOF
}

# Starts printgate (release build) in the background, tracked; sets PG_PID.
bench_start_printgate() { # CONFIG LOG SMTP_PORT API_PORT
    local config="$1" log="$2" smtp_port="$3" api_port="$4"
    NO_COLOR=1 PRINTGATE_LOG="${PRINTGATE_LOG:-printgate=info}" \
        "$BIN" serve --config "$config" </dev/null >"$log" 2>&1 9>&- &
    PG_PID=$!
    bench_track "$PG_PID" 15 printgate
    if ! wait_port "$smtp_port" 30 "$PG_PID" printgate || ! wait_port "$api_port" 30 "$PG_PID" printgate; then
        tail -n 40 "$log" >&2
        return 1
    fi
    pg_log "printgate pid $PG_PID on 127.0.0.1:$smtp_port, log $log"
}

bench_log_summary() { # LOG
    local log="$1" warn error
    warn="$(grep -c -E '^\S+\s+WARN ' "$log" || true)"
    error="$(grep -c -E '^\S+\s+ERROR ' "$log" || true)"
    printf 'printgate log: %s lines, %s WARN, %s ERROR\n' "$(wc -l <"$log")" "$warn" "$error"
    grep -E '^\S+\s+(WARN|ERROR) ' "$log" | sed -E 's/^\S+\s+//; s/[0-9a-f]{16,}/<id>/g' | cut -c1-200 |
        sort | uniq -c | sort -rn | head -n 10 || true
}

# The command as run, with the given BENCH_* settings that are set, for the docs table.
bench_command() { # NAME VAR...
    local cmd="$1" v
    shift
    for v in "$@"; do
        [ -n "${!v:-}" ] && cmd="$v=${!v} $cmd"
    done
    printf '%s\n' "$cmd"
}

# Debian packages only a benchmark needs (gnuplot for the plots, the classic stack of
# ../shared/peer): installed when missing, waiting for another apt to finish.
bench_apt_install() { # PKG...
    local missing=() p
    for p in "$@"; do
        pg__pkg_installed "$p" || missing+=("$p")
    done
    [ "${#missing[@]}" -gt 0 ] || return 0
    pg_log "installing bench-only Debian packages: ${missing[*]}"
    echo 'postfix postfix/main_mailer_type select No configuration' | pg__as_root debconf-set-selections
    pg__as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
    pg__as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
}

# A PNG from a gnuplot script that reads `data` and writes `out` (scripts/bench/plot-*.gp).
bench_plot() { # GP DATA PNG
    local gp="$1" data="$2" png="$3"
    bench_apt_install gnuplot-nox
    mkdir -p "$(dirname "$png")"
    gnuplot -e "data='$data'; out='$png'" "$gp"
    pg_log "plot: $png"
}
