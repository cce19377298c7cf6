#!/bin/bash
# tests/fuzz/run.sh: build and run the libFuzzer targets, bounded, as TAP.
#
#   tests/fuzz/run.sh --build DIR [--seconds N] [--runs N] [--smoke]
#                     [--target NAME]...
#
# Targets are the files tests/fuzz/fuzz-NAME.c.  Each is built with clang
# (-fsanitize=fuzzer,address,undefined) into DIR/fuzz-NAME from its own
# compile line, never from the Makefile's objects.  A target may say what
# else it needs in comment lines near its top:
#
#   // fuzz-sources: lib/*.c daemon/foo.c    (globs from the top; default lib/*.c)
#   // fuzz-exclude: daemon/main.c           (files the globs must not bring)
#   // fuzz-gen: migrations                  (the schema, embedded as the build does)
#   // fuzz-pkgs: jansson sqlite3             (pkg-config names; libxxhash always)
#   // fuzz-seeds: tests/fuzz/seeds/NAME tests/fixtures   (seed directories)
#   // fuzz-cflags: -DFOO                     (extra compiler flags)
#
# For each target: first every file of tests/fuzz/regressions/NAME/ is
# replayed (a TAP line), then the fuzzer runs for --seconds (default 60;
# --smoke: 30) or --runs inputs on a working corpus in DIR/corpus/NAME
# seeded from the seed directories, the target's dictionary
# tests/fuzz/NAME.dict, and records cut from the real capture in
# tests/data.  A finding is left in DIR/artifacts/ and
# makes a "not ok" line and a non-zero exit status.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=
seconds=60
runs=
smoke=0
targets=
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--smoke) smoke=1; shift ;;
	--target) targets="$targets $2"; shift 2 ;;
	-h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "tests/fuzz/run.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
if [ -z "$build" ]; then
	echo "tests/fuzz/run.sh: --build DIR is required" >&2
	exit 2
fi
case "$build" in /*) ;; *) build="$top/$build" ;; esac
[ "$smoke" -eq 1 ] && seconds=30
CC=${FUZZ_CC:-clang}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}

if [ -z "$targets" ]; then
	for f in "$top"/tests/fuzz/fuzz-*.c; do
		[ -f "$f" ] || continue
		n=${f##*/fuzz-}
		targets="$targets ${n%.c}"
	done
fi

failed=0
n_tap=0
tap() { # tap ok|not-ok TEXT
	n_tap=$((n_tap + 1))
	if [ "$1" = ok ]; then
		echo "ok - $2"
	else
		echo "not ok - $2"
		failed=1
	fi
}

# Can clang link a libFuzzer binary here?
mkdir -p "$build"
probe="$build/.probe"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$probe.c"
if ! "$CC" -fsanitize=fuzzer,address,undefined -o "$probe" "$probe.c" >/dev/null 2>&1; then
	echo "ok - fuzz # SKIP $CC cannot build libFuzzer targets (libclang-rt-dev missing?)"
	rm -f "$probe" "$probe.c"
	exit 0
fi
rm -f "$probe" "$probe.c"

# directive FILE KEY: the words after "// fuzz-KEY:" in FILE
directive() {
	sed -n "s|^// fuzz-$2:[[:space:]]*||p" "$1" | head -1
}

# Cut small seeds from the real capture: the first records of a few
# distinct stacks, and a run of records that straddle at odd places.
real_seeds() { # DIR
	local dir=$1 po="$top/tests/data/real-6.12.117-leak2000.page_owner.xz"
	local ss="$top/tests/data/real-6.12.117-leak2000.show_stacks.xz"
	mkdir -p "$dir"
	for f in "$po" "$ss"; do
		[ -r "$f" ] || tap not-ok "fuzz seeds: '$f' is missing (tests/data is part of the tree)"
	done
	if [ -r "$po" ] && command -v xz >/dev/null; then
		xz -dc "$po" | awk -v dir="$dir" '
			BEGIN { RS = ""; FS = "\n" }
			{
				key = $3 $4 $5 $6
				if (!(key in seen) && n < 40) {
					seen[key] = 1
					n++
					printf "\001\002%s\n\n", $0 > (dir "/real-" n)
					close(dir "/real-" n)
				}
				if (NR >= 100 && NR < 104)
					printf "\003\100%s\n\n", $0 >> (dir "/real-run")
			}'
	fi
	if [ -r "$ss" ] && command -v xz >/dev/null; then
		xz -dc "$ss" | awk -v dir="$dir" '
			BEGIN { RS = ""; FS = "\n" }
			NR <= 20 { printf "%s\n\n", $0 > (dir "/stacks-" NR); close(dir "/stacks-" NR) }'
	fi
}

pkg_flags() { # PKGS... -> cflags and libs, or fail
	"$PKG_CONFIG" --cflags --libs "$@" 2>/dev/null
}

for t in $targets; do
	src="$top/tests/fuzz/fuzz-$t.c"
	bin="$build/fuzz-$t"
	if [ ! -f "$src" ]; then
		tap not-ok "fuzz $t: no $src"
		continue
	fi

	# ---- build
	srcs=$(directive "$src" sources)
	[ -n "$srcs" ] || srcs="lib/*.c"
	files=
	skip=" $(directive "$src" exclude) "
	for g in $srcs; do
		for f in "$top"/$g; do
			case "$skip" in *" ${f#"$top"/} "*) continue ;; esac
			[ -f "$f" ] && files="$files $f"
		done
	done
	case " $(directive "$src" gen) " in
	*" migrations "*)
		sh "$top/schema/embed-sql.sh" "$top"/schema/[0-9][0-9][0-9]-*.sql \
		    >"$build/migrations-$t.c"
		files="$files $build/migrations-$t.c -I$top/daemon" ;;
	esac
	pkgs="libxxhash $(directive "$src" pkgs)"
	if ! flags=$(pkg_flags $pkgs); then
		tap not-ok "fuzz $t: pkg-config does not know: $pkgs"
		continue
	fi
	extra=$(directive "$src" cflags)
	log="$build/fuzz-$t.build.log"
	# shellcheck disable=SC2086
	if ! "$CC" -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -I"$top/lib" $extra -o "$bin" "$src" $files $flags -lm >"$log" 2>&1; then
		tap not-ok "fuzz $t: build failed, see $log"
		sed 's/^/# /' "$log" | head -20
		continue
	fi

	# ---- replay the regressions
	regdir="$top/tests/fuzz/regressions/$t"
	if [ -d "$regdir" ] && [ -n "$(ls -A "$regdir" 2>/dev/null)" ]; then
		nreg=$(ls -1 "$regdir" | wc -l)
		rlog="$build/fuzz-$t.regressions.log"
		if "$bin" -runs=1 "$regdir"/* >"$rlog" 2>&1; then
			tap ok "fuzz $t regressions: $nreg inputs replayed"
		else
			tap not-ok "fuzz $t regressions: a stored input fails again, see $rlog"
			grep -E 'ERROR|SUMMARY|fuzz-' "$rlog" | head -5 | sed 's/^/# /'
			continue
		fi
	fi

	# ---- seeds and the working corpus
	corpus="$build/corpus/$t"
	artifacts="$build/artifacts"
	mkdir -p "$corpus" "$artifacts"
	seeddirs=
	for d in $(directive "$src" seeds); do
		[ -d "$top/$d" ] && seeddirs="$seeddirs $top/$d"
	done
	case " $(directive "$src" seeds) " in
	*" tests/fixtures "*)
		real_seeds "$build/seeds-real"
		seeddirs="$seeddirs $build/seeds-real" ;;
	esac
	dict=
	[ -f "$top/tests/fuzz/$t.dict" ] && dict="-dict=$top/tests/fuzz/$t.dict"
	limit="-max_total_time=$seconds"
	[ -n "$runs" ] && limit="-runs=$runs"

	# ---- fuzz
	flog="$build/fuzz-$t.log"
	rm -f "$artifacts/$t-"*
	# shellcheck disable=SC2086
	"$bin" $limit $dict -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
	    "$corpus" $seeddirs >"$flog" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$flog" | tail -1)
	[ -n "$execs" ] || execs=0
	found=$(ls -1 "$artifacts/$t-"* 2>/dev/null | head -1)
	if [ "$rc" -eq 0 ] && [ -z "$found" ]; then
		tap ok "fuzz $t: $execs runs, no crash"
	else
		tap not-ok "fuzz $t: $execs runs, finding ${found:-(exit status $rc)}, log $flog"
		grep -E 'ERROR|SUMMARY|fuzz-|runtime error' "$flog" | head -8 | sed 's/^/# /'
		if [ -n "$found" ]; then
			echo "# to keep it as a regression input:"
			echo "#   mkdir -p tests/fuzz/regressions/$t && cp '$found' tests/fuzz/regressions/$t/"
		fi
	fi
done

if [ "$n_tap" -eq 0 ]; then
	echo "ok - fuzz # SKIP no targets"
fi
exit "$failed"
