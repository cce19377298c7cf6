#!/bin/bash
# tests/bench/run.sh: `make bench`.  Prints what it measured, side by side
# with the baseline it names.  Benchmarks print figures; they assert nothing.
#
#   run.sh --build DIR [--only analyze|daemon|kernel|query]
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=build
only=
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	*) echo "bench: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case "$build" in /*) ;; *) build="$top/$build" ;; esac
work="$top/build/bench"
mkdir -p "$work"
ctl="$build/pageownerctl"
gen="$build/tests/gen-dump"

# measure LABEL CMD...: best wall time of 3 runs, peak RSS of the last
# (as /usr/bin/time -v reports it).  Sets m_wall, m_rss_kb.
measure() {
	local best= i out
	shift
	for i in 1 2 3; do
		/usr/bin/time -o "$work/time.out" -f '%e %M' "$@" >/dev/null 2>&1 || true
		out=$(tail -n 1 "$work/time.out")
		local w=${out% *}
		m_rss_kb=${out#* }
		if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$w; fi
	done
	m_wall=$best
}

# measure_pair: wc -l and analyze --json, run by turns (5 rounds), best of
# each.  This machine's speed drifts by a third from minute to minute; a
# ratio of two tools measured at different moments drifts with it.
measure_pair() { # FILE -> p_wc p_an p_an_rss
	local f=$1 i out w
	p_wc= p_an= p_an_rss=0
	for i in 1 2 3 4 5; do
		/usr/bin/time -o "$work/time.out" -f '%e %M' wc -l "$f" >/dev/null 2>&1 || true
		out=$(tail -n 1 "$work/time.out"); w=${out% *}
		if [ -z "$p_wc" ] || awk -v a="$w" -v b="$p_wc" 'BEGIN{exit !(a<b)}'; then p_wc=$w; fi
		/usr/bin/time -o "$work/time.out" -f '%e %M' "$ctl" analyze --json "$f" >/dev/null 2>&1 || true
		out=$(tail -n 1 "$work/time.out"); w=${out% *}
		[ "${out#* }" -gt "$p_an_rss" ] && p_an_rss=${out#* }
		if [ -z "$p_an" ] || awk -v a="$w" -v b="$p_an" 'BEGIN{exit !(a<b)}'; then p_an=$w; fi
	done
}

mbps() { awk -v b="$1" -v s="$2" 'BEGIN{ if (s <= 0) s = 0.005; printf "%.0f", b / 1048576 / s }'; }
mib() { awk -v k="$1" 'BEGIN{ printf "%.1f MiB", k / 1024 }'; }

bench_analyze() {
	local pos sizes=(${BENCH_SIZES:-100 500}) f sz bytes recs
	pos=$(sh "$top/tests/tools/page-owner-sort.sh")
	echo "== analyze: pageownerctl analyze vs wc -l vs page_owner_sort -m --cull stacktrace"
	echo "   (synthetic 6.12-format dumps from tests/bench/gen-dump: Zipf-sized stacks; page cache warm;"
	echo "    wc -l and analyze --json by turns, best of 5 each; the others best of 3; peak RSS from"
	echo "    /usr/bin/time, which counts mapped file pages;"
	echo "    analyze prints every group, with --json unless said; the ratios use the --json run)"
	printf '   %-8s %-38s %9s %9s %12s\n' "dump" "tool" "wall s" "MiB/s" "peak RSS"
	for sz in "${sizes[@]}"; do
		f="$work/dump-${sz}MB.txt"
		if [ ! -s "$f" ]; then
			"$gen" --bytes $((sz * 1000 * 1000)) --stacks 20000 --seed 7 -o "$f"
		fi
		bytes=$(stat -c %s "$f")
		cat "$f" >/dev/null
		recs=$(grep -c '^Page allocated' "$f")
		measure_pair "$f"
		local wc_wall=$p_wc an_wall=$p_an an_rss=$p_an_rss
		printf '   %-8s %-38s %9s %9s %12s\n' "${sz}MB" "wc -l" "$wc_wall" "$(mbps "$bytes" "$wc_wall")" ""
		printf '   %-8s %-38s %9s %9s %12s\n' "" "pageownerctl analyze --json" "$an_wall" "$(mbps "$bytes" "$an_wall")" "$(mib "$an_rss")"
		measure analyze1 "$ctl" analyze --threads 1 --json "$f"
		printf '   %-8s %-38s %9s %9s %12s\n' "" "pageownerctl analyze --threads 1" "$m_wall" "$(mbps "$bytes" "$m_wall")" "$(mib "$m_rss_kb")"
		# the same without encoding every group as JSON: the table
		measure analyze_t "$ctl" analyze "$f"
		printf '   %-8s %-38s %9s %9s %12s\n' "" "pageownerctl analyze (table, no --json)" "$m_wall" "$(mbps "$bytes" "$m_wall")" "$(mib "$m_rss_kb")"
		local pos_wall pos_rss out
		/usr/bin/time -o "$work/time.out" -f '%e %M' "$pos" -m --cull stacktrace "$f" "$work/pos.out" >/dev/null 2>&1 || true
		out=$(tail -n 1 "$work/time.out")
		pos_wall=${out% *}; pos_rss=${out#* }
		printf '   %-8s %-38s %9s %9s %12s\n' "" "page_owner_sort -m --cull stacktrace" "$pos_wall" "$(mbps "$bytes" "$pos_wall")" "$(mib "$pos_rss")"
		awk -v r="$recs" -v wc="$wc_wall" -v an="$an_wall" -v pos="$pos_wall" -v rss="$an_rss" 'BEGIN{
			if (an <= 0) an = 0.005;
			printf "   %-8s %d records; analyze throughput = %.2f x wc -l (target >= 0.33); %.1f x faster than page_owner_sort (target >= 20); RSS %.1f MiB (target < 64)\n",
			    "", r, wc / an, pos / an, rss / 1024 }'
	done
}

case "$only" in
""|analyze) bench_analyze ;;
esac
# the others: tests/bench/bench-NAME.sh, all of them or the one --only names
for extra in "$top"/tests/bench/bench-*.sh; do
	name=${extra##*/bench-}
	name=${name%.sh}
	if [ -z "$only" ] || [ "$only" = "$name" ]; then
		BENCH_BUILD="$build" BENCH_WORK="$work" bash "$extra"
	fi
done
exit 0
