#!/bin/bash
# tests/run.sh: the test runner behind `make check`.
#
# Every test program speaks TAP on stdout: "ok - what", "not ok - what",
# "ok - what # SKIP why".  A program that exits non-zero without printing a
# "not ok" line counts as one failure; so does one that prints no TAP line at
# all, whatever its exit status (it checked nothing).  The last line is
# "N passed, N failed, N skipped" and the exit status is non-zero if
# anything failed.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
build=build
asan=
tiers="unit integration"
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--asan) asan=$2; shift 2 ;;
	--tiers) tiers=$2; shift 2 ;;
	*) echo "tests/run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case "$build" in /*) ;; *) build="$top/$build" ;; esac
case "$asan" in ""|/*) ;; *) asan="$top/$asan" ;; esac

logdir="$top/build/test-logs"
rm -rf "$logdir"
mkdir -p "$logdir"
passed=0 failed=0 skipped=0
skips=""
failures=""

if [ -t 1 ]; then
	c_ok=$(printf '\033[32m') c_bad=$(printf '\033[31m') c_skip=$(printf '\033[33m') c_off=$(printf '\033[0m')
else
	c_ok= c_bad= c_skip= c_off=
fi

# run_prog TIER NAME TIMEOUT CMD...: run one test program, count its TAP lines.
run_prog() {
	local tier=$1 name=$2 limit=$3
	shift 3
	local log="$logdir/$tier-$(echo "$name" | tr '/ ' '__').log"
	local t0=$SECONDS rc
	echo "== $tier/$name"
	timeout -k 10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	local p f s
	# TAP: a "# SKIP" directive makes a line a skip, ok or not ok
	p=$(grep -Ec '^ok( |$)' "$log" | head -1)
	s=$(grep -Ec '^(not )?ok( .*)?# *(SKIP|skip)' "$log" | head -1)
	f=$(grep -E '^not ok' "$log" | grep -Evc '# *(SKIP|skip)' | head -1)
	p=$((p - $(grep -Ec '^ok( .*)?# *(SKIP|skip)' "$log" | head -1)))
	while IFS= read -r line; do
		case "$line" in
		*ok*"# SKIP"*|*ok*"# skip"*)
			echo "  ${c_skip}SKIP${c_off} ${line#*ok}"
			skips="$skips$tier/$name:${line#*ok}
" ;;
		"not ok"*) echo "  ${c_bad}FAIL${c_off} ${line#not ok}" ;;
		esac
	done <"$log"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "  ${c_bad}FAIL${c_off} timed out after ${limit}s"
		else
			echo "  ${c_bad}FAIL${c_off} exited with status $rc"
		fi
	fi
	if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
		f=1
		echo "  ${c_bad}FAIL${c_off} printed no TAP line (\"ok - ...\", \"not ok - ...\"): it checked nothing"
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	echo "  $p passed, $f failed, $s skipped ($((SECONDS - t0))s)"
	if [ "$f" -gt 0 ]; then
		failures="$failures $log"
	fi
}

tier_unit() { # $1 = build dir, $2 = tier label
	local b=$1 label=$2 t found=0
	for t in "$b"/tests/unit/test-*; do
		[ -x "$t" ] || continue
		case "$t" in *.d) continue ;; esac
		found=1
		CMOCKA_MESSAGE_OUTPUT=TAP PO_SRCDIR="$top" PO_BUILD="$b" \
			run_prog "$label" "$(basename "$t")" 300 "$t"
	done
	if [ $found -eq 0 ]; then
		echo "ok - unit tests # SKIP none built in $b" >"$logdir/$label-none.tap"
		run_prog "$label" none 10 cat "$logdir/$label-none.tap"
	fi
}

tier_integration() { # $1 = build dir, $2 = tier label
	local b=$1 label=$2 t
	for t in "$top"/tests/integration/*.sh; do
		[ -f "$t" ] || continue
		PO_SRCDIR="$top" PO_BUILD="$b" run_prog "$label" "$(basename "$t" .sh)" 900 bash "$t"
	done
}

# tier_script TIER NAME TIMEOUT SCRIPT ARGS...: one TAP-speaking script;
# a tier whose script does not exist yet is a skip, and says so.
tier_script() {
	local tier=$1 name=$2 limit=$3 script=$4
	shift 4
	if [ ! -f "$top/$script" ]; then
		echo "ok - $tier tier # SKIP $script does not exist yet" >"$logdir/$tier-missing.tap"
		run_prog "$tier" "$name" 10 cat "$logdir/$tier-missing.tap"
		return
	fi
	run_prog "$tier" "$name" "$limit" bash "$top/$script" "$@"
}

for tier in $tiers; do
	case "$tier" in
	unit) tier_unit "$build" unit ;;
	integration) tier_integration "$build" integration ;;
	asan)
		if [ -z "$asan" ]; then
			echo "ok - asan tier # SKIP no sanitizer build given (--asan)" >"$logdir/asan.tap"
			run_prog asan build 10 cat "$logdir/asan.tap"
		else
			# the sanitizer build's own gen-dump and page_owner_sort are not needed
			export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
			export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
			tier_unit "$asan" asan-unit
			tier_integration "$asan" asan-integration
			unset ASAN_OPTIONS UBSAN_OPTIONS
		fi ;;
	fuzz) tier_script fuzz smoke 1500 tests/fuzz/run.sh --build "$top/build/fuzz" --smoke ;;
	lint) tier_script lint lint 900 tests/tools/lint.sh --tap ;;
	kernel) PO_BUILD="$build" tier_script kernel real-kernel 3600 tests/kernel/run.sh
		# the leak score on a real kernel, auto mode, the default budget
		PO_BUILD="$build" tier_script kernel leakscore 1500 tests/kernel/leakscore.sh ;;
	system) PO_BUILD="$build" tier_script system full-system 3600 tests/system/run.sh ;;
	packaging) PO_BUILD="$build" tier_script packaging packaging 1800 tests/packaging/run.sh ;;
	*) echo "tests/run.sh: unknown tier '$tier'" >&2; exit 2 ;;
	esac
done

# what the integration tiers tried against faults, load and hostile input
if ls "$logdir"/hold/*.tsv >/dev/null 2>&1; then
	echo
	echo "== what was tried, and whether the daemon held"
	bash "$top/tests/tools/report.sh" --short "$logdir/hold" || true
fi
if [ -n "$failures" ]; then
	echo
	echo "== logs of failing programs (last 40 lines each)"
	for f in $failures; do
		echo "--- $f"
		tail -n 40 "$f"
	done
fi
if [ -n "$skips" ]; then
	echo
	echo "== skipped, and why"
	printf '%s' "$skips" | sed 's/^/  /'
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
