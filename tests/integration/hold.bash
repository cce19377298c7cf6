# tests/integration/hold.bash: helpers shared by the "hold under faults,
# load and hostile input" tests (faults.sh, memory.sh, hostile.sh, load.sh,
# access.sh), sourced after lib.bash.  Not a test itself (run.sh runs *.sh).
#
# Each test also writes what it tried and whether the daemon held to a
# summary file, one tab-separated line per item:
#     AREA <tab> WHAT WAS TRIED <tab> held|FAILED|skipped <tab> NOTE
# under build/test-logs/hold/ (one file per build and script, rewritten at
# each run); tests/tools/report.sh prints them all as one table.

HOLD_NAME=$(basename "$0" .sh)
HOLD_BUILD=$(basename "$PO_BUILD")
[ "$HOLD_BUILD" = build ] && HOLD_BUILD=default
HOLD_DIR=${PO_HOLD_DIR:-$PO_SRCDIR/build/test-logs/hold}
mkdir -p "$HOLD_DIR"
HOLD_FILE="$HOLD_DIR/$HOLD_BUILD-$HOLD_NAME.tsv"
: >"$HOLD_FILE"

# Is this the sanitizer build?  (Slower: some tests scale down.)
hold_asan() {
	case "$PO_BUILD" in *asan*) return 0 ;; esac
	return 1
}

# hold_line AREA WHAT RESULT [NOTE]
hold_line() {
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >>"$HOLD_FILE"
}

# hold AREA WHAT COMMAND...: a TAP check that also goes to the summary
hold() {
	local area=$1 what=$2
	shift 2
	if "$@"; then
		ok "$area: $what"
		hold_line "$area" "$what" held "${HOLD_NOTE:-}"
	else
		not_ok "$area: $what"
		hold_line "$area" "$what" FAILED "${HOLD_NOTE:-}"
	fi
	HOLD_NOTE=
}

# hold_skip AREA WHAT REASON
hold_skip() {
	skip "$1: $2" "$3"
	hold_line "$1" "$2" skipped "$3"
}

# quiet COMMAND...: run it with its output thrown away (inside `hold`,
# where a redirection would swallow the TAP line too)
quiet() {
	"$@" >/dev/null 2>&1
}

# tctl ARGS...: pageownerctl on $SOCK, never waiting forever
tctl() {
	timeout -k 5 "${TCTL_TIMEOUT:-60}" "$CTL" --socket "$SOCK" "$@"
}

# vmhwm [PID]: the peak resident set of the daemon, e.g. "41236 kB"
vmhwm() {
	awk '/^VmHWM:/ { print $2 " " $3 }' "/proc/${1:-$DPID}/status" 2>/dev/null
}

# vmhwm_kb [PID]: the same, a number of KiB
vmhwm_kb() {
	awk '/^VmHWM:/ { print $2 }' "/proc/${1:-$DPID}/status" 2>/dev/null
}

# alive: the daemon still runs
alive() {
	kill -0 "$DPID" 2>/dev/null
}

# dbq DB SQL: one value from the database, read from the outside
dbq() {
	"$PY" - "$1" "$2" <<'PYEOF'
import sqlite3, sys
c = sqlite3.connect('file:%s?mode=ro' % sys.argv[1], uri=True, timeout=30)
r = c.execute(sys.argv[2]).fetchone()
print(r[0] if r else '')
PYEOF
}

# dbcheck DB: "ok" when integrity_check passes and every blob decodes
dbcheck() {
	"$PY" "$PO_SRCDIR/tests/tools/podb.py" "$1" check 2>&1 | head -5
}

# snaps_digest DB [MAX_ID]: the stored snapshots (id, pages, records) and
# the deltas of those up to MAX_ID, as one checksum: what must not change
snaps_digest() {
	"$PY" - "$1" "${2:-9223372036854775807}" "$PO_SRCDIR/tests/tools" <<'PYEOF'
import hashlib, sqlite3, sys
sys.path.insert(0, sys.argv[3])
import podb
db = podb.DB(sys.argv[1])
h = hashlib.sha1()
for s in db.snapshots():
    if s['id'] > int(sys.argv[2]):
        continue
    h.update(repr((s['id'], s['pages'], s['records'])).encode())
    h.update(repr(sorted(db.changes(s['id']).items())).encode())
print(h.hexdigest())
PYEOF
}

# eq2 A B C D: A = B and C = D
eq2() {
	[ "$1" = "$2" ] && [ "$3" = "$4" ] && return 0
	echo "# wanted '$2' and '$4', got '$1' and '$3'"
	return 1
}

# status_field 'python expression on d': one value of `status`
status_field() {
	tctl --json status >"$T/sf.json" 2>/dev/null && pyjson "$T/sf.json" "$1"
}

# log_has PATTERN: the daemon's log (DLOG) has a line matching (grep -E)
log_has() {
	grep -qE "$1" "$DLOG"
}

# wait_until SECONDS COMMAND...: poll until the command succeeds
wait_until() {
	local limit=$1 i
	shift
	for i in $(seq 1 $((limit * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
