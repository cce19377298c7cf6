#!/bin/bash
#
# crosscheck.sh [--sort PATH] DIR...: checks recorded snapshots against the
# kernel's own tool. For each NNN-label snapshot in DIR (a capture such as
# tests/data/capture-6.12/, or a guest's output from run.sh), runs
# `page_owner_sort -m --cull stacktrace` on the dump and checks that
#   - the groups whose stack has a leaker_leak_pages frame total exactly the
#     pages the leaker's status reported around the dump (order-0 leaks:
#     pages == blocks), and the status did not change during the dump;
#   - page_owner_sort's pages over all groups equal po-count.awk's total.
# page_owner_sort is the cached one built from the dump's kernel release
# (see build-kernel.sh) unless --sort is given; without one: SKIP.
#
#   tests/kernel/crosscheck.sh tests/data/capture-6.12 tests/data/capture-6.1
#
# TAP lines on stdout; exit 1 on any failure.

set -euo pipefail

# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"

sort_tool=
if [[ ${1:-} == --sort ]]; then
	sort_tool=$2
	shift 2
fi
[[ $# -gt 0 ]] || kt_die "usage: $0 [--sort PATH] DIR..."

kt_workdir
work=$KT_WORK

# Sums page_owner_sort --cull stacktrace groups: all, and those whose frames
# match the pattern. Output: "TOTAL MATCHED".
sort_sums() {
	awk -v pat="$2" '
		BEGIN { RS = ""; FS = "\n" }
		$1 ~ /^[0-9]+ times, [0-9]+ pages/ {
			split($1, w, " ")
			total += w[3]
			for (i = 2; i <= NF; i++)
				if (substr($i, 1, 1) == " " && $i ~ pat) {
					matched += w[3]
					break
				}
		}
		END { printf "%d %d\n", total, matched }' "$1"
}

for dir in "$@"; do
	snaps=$(kt_snapshots "$dir")
	if [[ -z $snaps ]]; then
		kt_not_ok "$dir: no snapshots (NNN-label.page_owner[.xz])"
		continue
	fi
	for name in $snaps; do
		base=$dir/$name
		snap=${dir%/}
		snap=${snap##*/}/$name
		release=$(kt_kv "$base.meta" kernel 2>/dev/null || true)
		tool=$sort_tool
		[[ -n $tool ]] || tool=$(kt_find_sort "$release" || true)
		if [[ -z $tool || ! -x $tool ]]; then
			kt_skip "$snap: page_owner_sort agrees with the leaker's status" \
				"no page_owner_sort (run tests/kernel/build-kernel.sh)"
			continue
		fi
		kt_cat "$base.page_owner" >"$work/dump"
		if ! "$tool" -m --cull stacktrace "$work/dump" "$work/sorted" >"$work/sort.log" 2>&1; then
			kt_not_ok "$snap: page_owner_sort failed: $(head -c 200 "$work/sort.log")"
			continue
		fi
		read -r total matched < <(sort_sums "$work/sorted" '^ leaker_leak_pages\+')
		before=$(kt_kv "$base.status" before.pages || true)
		after=$(kt_kv "$base.status" after.pages || true)
		gen_b=$(kt_kv "$base.status" before.generation || true)
		gen_a=$(kt_kv "$base.status" after.generation || true)
		if [[ $(kt_kv "$base.meta" leaker_loaded || true) == 0 ]]; then
			before=0 after=0
		fi
		if [[ -z $after ]]; then
			kt_not_ok "$snap: no leaker status recorded"
		elif [[ $before != "$after" || $gen_b != "$gen_a" ]]; then
			kt_not_ok "$snap: leaker changed during the dump (pages $before -> $after)"
		elif [[ $matched == "$after" ]]; then
			kt_ok "$snap: page_owner_sort: $matched pages under leaker_leak_pages, as the module says"
		else
			kt_not_ok "$snap: page_owner_sort: $matched pages under leaker_leak_pages, module says $after"
		fi
		count=$(awk -f "$KT_DIR/po-count.awk" "$work/dump" | awk '$1 == "pages" { print $2 }')
		kt_expect_eq "$snap: page_owner_sort total pages equal po-count.awk's" "$count" "$total"
	done
done
kt_finish
