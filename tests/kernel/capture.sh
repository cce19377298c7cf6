#!/bin/bash
#
# capture.sh [SERIES [OUTDIR]]: records a capture for page-ownerd's tests.
# Boots the cached page_owner kernel for SERIES (default 6.12) with
# guest/scenario-leak.sh (leaker module, churn, snapshots at 8 points; see
# that script), checks the result exactly as run.sh does, and only then
# writes OUTDIR (default tests/data/capture-SERIES/):
#
#   NNN-label.page_owner.xz   /sys/kernel/debug/page_owner, read with dd bs=1M
#   NNN-label.show_stacks.xz  page_owner_stacks/show_stacks right after (6.9+)
#   NNN-label.status.xz       leaker status before the dump ("before.KEY V")
#                             and after show_stacks ("after.KEY V")
#   NNN-label.meta.xz         label=, seq=, boot_id=, kernel=, time=, uptimes,
#                             page_owner_bytes=, leaker_loaded=
#   dmesg.txt.xz, console.log.xz, config.xz (the guest kernel's .config)
#   README                    generated summary (per-snapshot counts)
#
# The old OUTDIR is replaced only when the new capture passed its checks
# (KT_FORCE=1 records a failing one anyway, for debugging).
#
#   tests/kernel/capture.sh 6.12 && tests/kernel/capture.sh 6.1

set -euo pipefail

# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"

series=${1:-6.12}
outdir=${2:-$KT_ROOT/tests/data/capture-$series}

if reason=$(kt_host_unusable "$series"); then
	kt_skip "capture $series" "$reason"
	exit 0
fi

kt_workdir
work=$KT_WORK
kt_timer_start capture
kt_run_scenario "$series" "$KT_DIR/guest/scenario-leak.sh" "$work/run" ||
	kt_die "capture $series: the guest run failed"
# shellcheck disable=SC2153 # set by kt_run_scenario
files=$KT_FILES

kt_check_snapshots "$files" "$work/run/env"
KT_KEEP=0 "$KT_DIR/crosscheck.sh" "$files" || KT_FAILED=$((KT_FAILED + 1))
if [[ $KT_FAILED -ne 0 && ${KT_FORCE:-0} != 1 ]]; then
	kt_die "capture $series: checks failed, $outdir left as it was"
fi

# Assemble next to OUTDIR, then swap, so OUTDIR is never half written.
new=$outdir.new.$$
rm -rf "$new"
mkdir -p "$new"
for f in "$files"/*; do
	xz -T1 -9 -c "$f" >"$new/${f##*/}.xz"
done
xz -T1 -9 -c "$work/run/guest/console.log" >"$new/console.log.xz"
xz -T1 -9 -c "$KT_KDIR/config" >"$new/config.xz"

summary() {
	local snap base po ss
	printf 'Capture recorded by tests/kernel/capture.sh %s on %s.\n' "$series" \
		"$(date -u +%Y-%m-%d)"
	printf 'Kernel %s (%s), boot_id %s.\n' \
		"$(kt_kv "$files/000-baseline.meta" kernel)" "$(basename "$KT_KDIR")" \
		"$(kt_kv "$files/000-baseline.meta" boot_id)"
	printf 'Scenario: tests/kernel/guest/scenario-leak.sh (its header says what each\n'
	printf 'step does). Guest env: '
	tr '\n' ' ' <"$work/run/env"
	printf '\nKernel patches: %s\n' \
		"$(awk -F= '$1 == "patches" { print ($2 == "" ? "none" : $2) }' "$KT_KDIR/BUILD-INFO")"
	printf 'All files are xz-compressed; see tests/kernel/capture.sh for the format.\n\n'
	printf '%-15s %7s %7s %5s %7s %7s %7s %5s %5s %6s %6s\n' snapshot records pages \
		malf leak_po leak_ss status gen migr ts=fts read_s
	for snap in $(kt_snapshots "$files"); do
		base=$files/$snap
		po=$(kt_po_count "$base.page_owner" "$KT_PAT_LEAK")
		ss=-
		if kt_has "$base.show_stacks"; then
			ss=$(kt_po_count "$base.show_stacks" "$KT_PAT_LEAK" |
				awk '$1 == "match_pages" { print $2 }')
		fi
		printf '%-15s %7s %7s %5s %7s %7s %7s %5s %5s %6s %6s\n' "$snap" \
			"$(awk '$1 == "records" { print $2 }' <<<"$po")" \
			"$(awk '$1 == "pages" { print $2 }' <<<"$po")" \
			"$(awk '$1 == "malformed" { print $2 }' <<<"$po")" \
			"$(awk '$1 == "match_pages" { print $2 }' <<<"$po")" \
			"$ss" \
			"$(kt_kv "$base.status" after.pages)" \
			"$(kt_kv "$base.status" after.generation)" \
			"$(awk '$1 == "migrated_compaction" { print $2 }' <<<"$po")" \
			"$(awk '$1 == "ts_eq_free_ts" { print $2 }' <<<"$po")" \
			"$(awk -v a="$(kt_kv "$base.meta" uptime_start)" \
				-v b="$(kt_kv "$base.meta" uptime_page_owner_done)" \
				'BEGIN { printf "%.2f", b - a }')"
	done
	printf '\nrecords/pages: page_owner records and pages (1 << order); malf: records\n'
	printf 'not parsed by po-count.awk; leak_po: pages whose stack has\n'
	printf 'leaker_leak_pages in page_owner, leak_ss: the same in show_stacks (6.9+);\n'
	printf 'status: pages the module held (after.pages); gen: its generation; migr:\n'
	printf 'records with "last migrate reason: compaction"; ts=fts: records whose ts\n'
	printf 'equals free_ts (kernels with free_ts); read_s: seconds to read\n'
	printf 'page_owner in the guest (TCG, with churn running).\n'
}
summary >"$new/README"

rm -rf "$outdir"
mv -T "$new" "$outdir"
kt_timer_stop capture
kt_log "capture $series: $(du -sh "$outdir" | cut -f1) in $outdir"
sed 's/^/# /' "$outdir/README" >&2
kt_finish
