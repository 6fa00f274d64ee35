#!/usr/bin/env bash
# The Debian package, installed as an admin would ([5/8] acceptance 2):
#   apt-get install ./printgate_*.deb  ->  user, state directory, keys, conffile, units;
#   the unit's own ExecStartPre/ExecStart, run as its User= with its Environment= and
#   EnvironmentFile= (this machine has no systemd), without any Rust toolchain on PATH;
#   a PDF mail over SMTP  ->  a reply with a release code  ->  the code redeems one job;
#   apt-get remove (config and jobs stay), purge (config goes, jobs stay), reinstall (the keys
#   are not replaced), purge with PRINTGATE_PURGE_DATA=yes (everything goes).
#
# Needs the daemons of scripts/test (PRINTGATE_TEST_CLAMD_TCP, PRINTGATE_TEST_SPAMD), Postfix's
# smtp-sink (PG_SMTP_SINK), swaks, and the package (scripts/package). Runs as root.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

: "${PRINTGATE_TEST_CLAMD_TCP:?start the daemons first (scripts/test does)}"
: "${PRINTGATE_TEST_SPAMD:?start the daemons first (scripts/test does)}"
SINK=${PG_SMTP_SINK:-/usr/sbin/smtp-sink}
DEB=$(ls "$PWD"/target/debian/printgate_*_"$(dpkg --print-architecture)".deb)
STATE=/var/lib/printgate
KEYS=$STATE/keys
UNIT=/lib/systemd/system/printgate.service
MARK=$STATE/.package-test
WORK=$(mktemp -d)
SERVER_PID=
SINK_PID=

fail() {
    pg_err "package test: $*"
    [ -f "$WORK/server.log" ] && tail -40 "$WORK/server.log" >&2
    [ -s "$WORK/sink.log" ] && tail -5 "$WORK/sink.log" >&2
    exit 1
}
ok() { pg_log "package test: ok: $*"; }

apt_() {
    env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -q "$@" >"$WORK/apt.log" 2>&1 ||
        { cat "$WORK/apt.log" >&2; fail "apt-get $*"; }
}

purge_all() {
    if dpkg-query -W -f='${Status}' printgate 2>/dev/null | grep -q installed ||
        dpkg-query -W -f='${Status}' printgate 2>/dev/null | grep -q config-files; then
        PRINTGATE_PURGE_DATA=yes apt_ purge printgate
    fi
    rm -f /etc/printgate/env
    rmdir /etc/printgate 2>/dev/null || true
}

cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
    purge_all || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
    local i
    for i in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        [ -n "$SERVER_PID" ] && ! kill -0 "$SERVER_PID" 2>/dev/null && fail "the server exited"
        sleep 0.1
    done
    fail "nothing listens on port $1"
}

# A real installation on this machine is never touched; one left by an interrupted run is.
if [ -d "$STATE" ] && [ ! -e "$MARK" ]; then
    fail "$STATE exists and is not this test's: refusing to install over a real printgate"
fi
purge_all

pg_section "package test: apt-get install $(basename "$DEB")"
apt_ install --no-install-recommends "$DEB"
touch "$MARK"
dpkg-query -W -f='${Status}' printgate | grep -q 'install ok installed' || fail "not installed"
ok "installed"

# --- What the package put in place --------------------------------------------------------
getent passwd printgate | grep -q ":$STATE:/usr/sbin/nologin$" || fail "printgate user: $(getent passwd printgate)"
[ "$(stat -c '%U:%G %a' "$STATE")" = "printgate:printgate 750" ] || fail "$STATE: $(stat -c '%U:%G %a' "$STATE")"
[ "$(stat -c '%U %a' "$KEYS/main.key.pem")" = "root 600" ] || fail "site private key: $(stat -c '%U %a' "$KEYS/main.key.pem")"
[ "$(stat -c '%U %a' "$KEYS/dkim.key.pem")" = "printgate 600" ] || fail "DKIM key: $(stat -c '%U %a' "$KEYS/dkim.key.pem")"
grep -q 'BEGIN PUBLIC KEY' "$KEYS/main.pub.pem" || fail "no site public key"
dpkg-query -W -f='${Conffiles}' printgate | grep -q '/etc/printgate/printgate.toml' || fail "printgate.toml is not a conffile"
grep -q '^ExecStart=/usr/bin/printgate serve --config /etc/printgate/printgate.toml$' "$UNIT" || fail "unit ExecStart"
for u in printgate-station printgate-kiosk; do
    grep -q '/usr/local/bin' "/lib/systemd/system/$u.service" && fail "$u.service names /usr/local/bin"
done
ok "user, state directory, keys (site private key root-only), conffile, units"

# --- Configure as an admin would: /etc/printgate/env, read by the unit ---------------------
SMTP_PORT=$(free_port) SINK_PORT=$(free_port) API_PORT=$(free_port) ADMIN_PORT=$(free_port)
cat >/etc/printgate/env <<EOF
PRINTGATE_SMTP__LISTEN=127.0.0.1:$SMTP_PORT
PRINTGATE_API__LISTEN=127.0.0.1:$API_PORT
PRINTGATE_ADMIN__LISTEN=127.0.0.1:$ADMIN_PORT
PRINTGATE_SCAN_CLAMAV__ADDRESS=$PRINTGATE_TEST_CLAMD_TCP
PRINTGATE_SCAN_SPAMASSASSIN__ADDRESS=$PRINTGATE_TEST_SPAMD
PRINTGATE_RELAY__URL=smtp://127.0.0.1:$SINK_PORT
PRINTGATE_AUTH__RESOLVER=off
EOF
chmod 0640 /etc/printgate/env

# --- The unit, as systemd would run it ------------------------------------------------------
unit_value() { sed -n "s/^$1=//p" "$UNIT"; }
USER_=$(unit_value User) GROUP_=$(unit_value Group) WD=$(unit_value WorkingDirectory)
declare -a ENVS=(PATH=/usr/sbin:/usr/bin:/sbin:/bin "HOME=$STATE" LANG=C.UTF-8)
while read -r line; do ENVS+=("$line"); done < <(unit_value Environment)
while read -r file; do
    file=${file#-}
    [ -f "$file" ] && while read -r line; do
        case "$line" in '' | '#'*) ;; *) ENVS+=("$line") ;; esac
    done <"$file"
done < <(unit_value EnvironmentFile)
CAPS=()
grep -q '^AmbientCapabilities=CAP_NET_BIND_SERVICE' "$UNIT" &&
    CAPS=(--inh-caps=+net_bind_service --ambient-caps=+net_bind_service)
# setpriv and env exec in turn, so a command started with & has the server's own PID.
UNIT_CMD=(setpriv --reuid="$USER_" --regid="$GROUP_" --init-groups "${CAPS[@]}" -- env -i -C "$WD" "${ENVS[@]}")
as_unit() { "${UNIT_CMD[@]}" "$@"; }
# No Rust toolchain on the unit's PATH: the package must not need one.
as_unit sh -c '! command -v cargo && ! command -v rustc' >/dev/null || fail "cargo or rustc on the unit's PATH"
as_unit cat "$KEYS/main.key.pem" >/dev/null 2>&1 && fail "the service user can read the site private key"

# smtp-sink drops privileges to nobody, which must reach the dump directory.
chmod 0755 "$WORK"
mkdir -p "$WORK/replies" && chown nobody "$WORK/replies"
"$SINK" -u nobody -d "$WORK/replies/%Y%m%d%H%M%S." "127.0.0.1:$SINK_PORT" 16 >"$WORK/sink.log" 2>&1 &
SINK_PID=$!

read -r -a PRE <<<"$(unit_value ExecStartPre)"
as_unit "${PRE[@]}" >"$WORK/check.log" 2>&1 || { cat "$WORK/check.log" >&2; fail "ExecStartPre (check-config)"; }
read -r -a START <<<"$(unit_value ExecStart)"
"${UNIT_CMD[@]}" "${START[@]}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_port "$SMTP_PORT"
wait_port "$SINK_PORT"
ok "ExecStartPre and ExecStart run as $USER_ in $WD; SMTP listens"
[ -f "$STATE/secret.key" ] && [ "$(stat -c '%U %a' "$STATE/secret.key")" = "printgate 600" ] ||
    fail "store secret not made by the service, or not private"

# --- A PDF mail, and its reply ---------------------------------------------------------------
swaks --server "127.0.0.1:$SMTP_PORT" --from patron@example.test --to bw@print.example.org \
    --header 'Subject: thesis' --body 'Please print.' \
    --attach-type application/pdf --attach-name thesis.pdf --attach @tests/fixtures/convert/colour.pdf \
    >"$WORK/swaks.log" 2>&1 || { tail -20 "$WORK/swaks.log" >&2; fail "the mail was not accepted"; }
grep -Eq '^<[-~] +250 .*queued' "$WORK/swaks.log" || fail "no 250 for the mail"
# The code, from the reply's text part (quoted-printable or not); never printed.
reply_code() {
    python3 - "$@" <<'PY'
import email, email.policy, re, sys
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        body = email.message_from_binary_file(f, policy=email.policy.default).get_body(("plain",))
    for line in (body.get_content() if body else "").splitlines():
        if line.startswith("Release code: "):
            print(re.sub(r"\D", "", line))
            sys.exit(0)
PY
}
CODE=
for _ in $(seq 600); do
    if compgen -G "$WORK/replies/*" >/dev/null; then
        CODE=$(reply_code "$WORK"/replies/* 2>/dev/null || true)
        [ -n "$CODE" ] && break
    fi
    sleep 0.1
done
[ -n "$CODE" ] || fail "no reply with a release code within 60 s"
ok "a PDF mail was accepted and the reply carries a release code"

# The code redeems the job through the release API, with a token made by the installed binary.
TOKEN=$(as_unit /usr/bin/printgate station-token create --site main --config /etc/printgate/printgate.toml)
jobs=$(curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"code\":\"$CODE\"}" "http://127.0.0.1:$API_PORT/api/v1/release") || fail "release API refused the code"
echo "$jobs" | python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"]; assert len(j)==1 and j[0]["pages"]>=1, j' ||
    fail "release API answer: not one job with pages"
ok "the code redeems one job"

kill -TERM "$SERVER_PID"
st=0
wait "$SERVER_PID" || st=$?
[ "$st" = 0 ] || fail "the server did not stop cleanly on SIGTERM (exit status $st)"
SERVER_PID=

# --- remove, purge, reinstall, purge with data ----------------------------------------------
pub_sum=$(sha256sum <"$KEYS/main.pub.pem")
apt_ remove printgate
[ ! -e /usr/bin/printgate ] || fail "remove left the binary"
[ -f /etc/printgate/printgate.toml ] || fail "remove took the configuration"
[ -f "$STATE/printgate.db" ] || fail "remove took the database"
ok "remove keeps the configuration and the jobs"

apt_ purge printgate
[ ! -e /etc/printgate/printgate.toml ] || fail "purge left printgate.toml"
[ -f "$STATE/printgate.db" ] && [ -f "$KEYS/main.key.pem" ] || fail "purge without PRINTGATE_PURGE_DATA took the state"
ok "purge removes the configuration and keeps jobs and keys"

apt_ install --no-install-recommends "$DEB"
[ "$(sha256sum <"$KEYS/main.pub.pem")" = "$pub_sum" ] || fail "reinstalling replaced the site key"
ok "reinstalling keeps the existing keys"

rm -f /etc/printgate/env
PRINTGATE_PURGE_DATA=yes apt_ purge printgate
[ ! -e "$STATE" ] || fail "purge with PRINTGATE_PURGE_DATA=yes left $STATE"
[ ! -e /etc/printgate ] || fail "purge left /etc/printgate"
ok "purge with PRINTGATE_PURGE_DATA=yes removes everything"
pg_log "package test: passed"
