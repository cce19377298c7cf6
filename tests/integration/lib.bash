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
done_testing() { exit "$_failed"; }

real_dump() { # decompress the bundled real 6.12 dump once, print its path
	local f="$T/real-6.12.page_owner"
	[ -s "$f" ] || xz -dc "$PO_SRCDIR/tests/data/real-6.12.117-leak2000.page_owner.xz" >"$f"
	echo "$f"
}
