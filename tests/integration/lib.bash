# tests/integration/lib.bash: shared by the integration tests (bash).
# TAP output: check prints "ok - what" or "not ok - what"; skip prints a
# SKIP line with its reason.  Sourced with PO_SRCDIR and PO_BUILD set by
# tests/run.sh.
set -u
: "${PO_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${PO_BUILD:=$PO_SRCDIR/build}"
CTL="$PO_BUILD/pageownerctl"
DAEMON="$PO_BUILD/page-ownerd"
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/po-test.XXXXXX")
_failed=0
_cleanups=()

cleanup() {
	local c
	for c in "${_cleanups[@]}"; do eval "$c" || true; done
	rm -rf "$T"
}
trap cleanup EXIT
at_exit() { _cleanups+=("$1"); }

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; _failed=1; }
skip() { echo "ok - $1 # SKIP $2"; }
# check "what" command...: ok when the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# expect_status N "what" command...: ok when the command exits with N
expect_status() {
	local want=$1 what=$2 got
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	cat "$T/err" >>"$T/expect_status.log"
	if [ "$got" -eq "$want" ]; then
		ok "$what (exit $got)"
	else
		not_ok "$what (exit $got, wanted $want): $(head -c 300 "$T/err")"
	fi
}
# jq-like checks with python: pyjson FILE 'expression using d' -> prints value
pyjson() {
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
# Sanitizer reports in any log under $T fail the test.
sanitizer_check() {
	local f
	for f in "$T"/*.log "$T/err"; do
		[ -f "$f" ] || continue
		if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
			not_ok "sanitizer report in $(basename "$f")"
			grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" | head -40 | sed 's/^/#   /'
		fi
	done
}
done_testing() { sanitizer_check; exit "$_failed"; }

real_dump() { # decompress the bundled real 6.12 dump once, print its path
	local f="$T/real-6.12.page_owner"
	[ -s "$f" ] || xz -dc "$PO_SRCDIR/tests/data/real-6.12.117-leak2000.page_owner.xz" >"$f"
	echo "$f"
}

# ---- the daemon ------------------------------------------------------------
# start_daemon NAME ARGS...: run page-ownerd in the foreground with its
# socket and database under $T (unless ARGS name others); wait until it
# answers.  Sets DPID, SOCK, DB, DLOG.
start_daemon() {
	local name=$1 i
	shift
	SOCK="$T/$name.sock"
	DB="$T/$name.db"
	DLOG="$T/$name.log"
	"$DAEMON" --foreground --socket "$SOCK" --db "$DB" "$@" >>"$DLOG" 2>&1 &
	DPID=$!
	at_exit "kill -9 $DPID 2>/dev/null"
	for i in $(seq 1 200); do
		if "$CTL" --socket "$SOCK" status >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$DPID" 2>/dev/null; then
			echo "# page-ownerd exited early; its log:" >&2
			sed 's/^/#   /' "$DLOG" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "# page-ownerd did not answer in 20 s; its log:" >&2
	sed 's/^/#   /' "$DLOG" >&2
	return 1
}

# stop_daemon [SIGNAL]: stop it and wait; its exit status in DSTATUS.
stop_daemon() {
	local sig=${1:-TERM}
	kill -"$sig" "$DPID" 2>/dev/null
	wait "$DPID"
	DSTATUS=$?
}

ctl() { "$CTL" --socket "$SOCK" "$@"; }

# wait_status 'python expression on d (status JSON)' [SECONDS]
wait_status() {
	local expr=$1 limit=${2:-60} i
	for i in $(seq 1 $((limit * 10))); do
		if ctl --json status >"$T/status.json" 2>/dev/null &&
		    [ "$(pyjson "$T/status.json" "$expr")" = True ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "# waited ${limit}s for: $expr; last status:" >&2
	sed 's/^/#   /' "$T/status.json" >&2
	return 1
}

# rpc 'JSON line': send raw lines to the socket, print the replies (python)
rpc_raw() {
	"$PY" - "$SOCK" "$@" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(10)
f = s.makefile('rwb')
for line in sys.argv[2:]:
    f.write(line.encode() + b'\n')
    f.flush()
    print(f.readline().decode().rstrip('\n'))
PYEOF
}

make_capture() { # OUTDIR STEP...: a capture from the real dump (tests/tools/mkcapture.py)
	local out=$1
	shift
	"$PY" "$PO_SRCDIR/tests/tools/mkcapture.py" "$(real_dump)" "$out" "$@"
}

# sweep_host SEED: the synthetic host that sweep.sh and sample.sh replay
# (gen-dump: 8 dumps, 20,000 blocks, 500 stacks, 5% churn, a steady leak of
# 300 pages a dump) into $T/cap, which cap names; a failure ends the test.
sweep_host() {
	local gen="$PO_SRCDIR/build/tests/gen-dump"
	[ -x "$gen" ] || gen="$PO_BUILD/tests/gen-dump"
	cap="$T/cap"
	"$gen" --snapshots 8 --outdir "$cap" --records 20000 --stacks 500 --churn 5 \
		--leak 300 --seed "$1" 2>"$T/gen.err" ||
		{ not_ok "gen-dump: $(head -c 200 "$T/gen.err")"; done_testing; }
}

# replay_to_end NAME CONF: a daemon under the settings CONF (printf %b)
# replays $cap to its end (8 snapshots stored)
replay_to_end() {
	local name=$1
	printf '%b' "$2" >"$T/$name.conf"
	start_daemon "$name" --config "$T/$name.conf" --source "$cap" --interval 1 ||
		return 1
	wait_status "d['source'].get('replay', {}).get('done') and d['snapshots']['stored'] == 8" 120
}
