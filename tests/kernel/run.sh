#!/bin/bash
#
# run.sh [SERIES...]: the kernel tier (make check-kernel). For each kernel
# series (default: $PAGE_OWNERD_KERNELS, else "6.12 6.1"): builds or reuses
# the cached page_owner kernel, builds kmod/leaker.ko against it, boots it
# in QEMU (TCG) with guest/scenario-leak.sh and checks that
#   - the guest ran the scenario to the end with no oops, BUG, panic or
#     warning on the console;
#   - at every snapshot the module held what it was told to, page_owner shows
#     exactly those pages under leaker_leak_pages (and per caller), and
#     show_stacks agrees (6.9+);
#   - page_owner_sort agrees (crosscheck.sh on the same snapshots), and so
#     does pageownerctl analyze, per stack (compare-sort.sh; SKIP until
#     the client is built);
#   - compaction produced migrated records; the accounted leak is charged to
#     its memory cgroup where that is safe; freeing and unloading bring the
#     module back to 0.
# Then the daemon hook (daemon_scenario below) with build/page-ownerd and
# build/pageownerctl.
#
# TAP lines on stdout ("ok - ...", "not ok - ...", "ok - ... # SKIP ...");
# exit 0 when all pass, 1 otherwise. Timings go to stderr as "# timing:".
# KT_KEEP=1 keeps the work directory (console logs, extracted files).

set -euo pipefail

# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"

# tests/run.sh passes its build directory as PO_BUILD.
build_dir=${PO_BUILD:-build}
[[ $build_dir == /* ]] || build_dir=$KT_ROOT/$build_dir
DAEMON_BIN=${PAGE_OWNERD_BIN:-$build_dir/page-ownerd}
CLIENT_BIN=${PAGEOWNERCTL_BIN:-$build_dir/pageownerctl}

# HOOK(daemon): the in-guest daemon scenario, for the lead to write.
# Called once per kernel series with the paths of the daemon and client
# binaries, after the leak scenario passed. To run it: write a guest script
# (like guest/scenario-leak.sh; guest/lib.sh has kt_snapshot, kt_leak,
# kt_store, kt_churn_start...), then
#   kt_run_scenario "$series" "$KT_DIR/guest/scenario-daemon.sh" "$work/daemon-$series" \
#           "$daemon" "$client"
# which copies both binaries with their shared libraries into the guest as
# /opt/page-ownerd/bin/ (on PATH) and leaves the guest's stored files in
# $KT_FILES for checks here. Print TAP lines with kt_ok / kt_not_ok.
daemon_scenario() {
	local series=$1 daemon=$2 client=$3
	if [[ ! -x $daemon || ! -x $client ]]; then
		kt_skip "$series: daemon scenario in the guest" \
			"$daemon or $client not built"
		return 0
	fi
	kt_skip "$series: daemon scenario in the guest" "not written yet (run.sh daemon_scenario)"
}

# Phase 1, one series after the other: host checks, kernel (built or
# cached), module, initramfs. Prints the SKIP / not ok lines itself.
prepare_series() {
	local series=$1 reason out=$work/$1
	if reason=$(kt_host_unusable "$series"); then
		kt_skip "$series: kernel tests" "$reason"
		return 1
	fi
	mkdir -p "$out"
	if ! kt_scenario_prepare "$series" "$KT_DIR/guest/scenario-leak.sh" "$out"; then
		kt_not_ok "$series: kernel, module and initramfs ready"
		return 1
	fi
}

# Phase 3: checks on what the guest stored.
check_series() {
	local series=$1 out=$work/$1
	KT_FILES=$out/guest/capture-$series
	kt_ok "$series: guest ran the leak scenario cleanly ($(kt_kv "$KT_FILES/000-baseline.meta" kernel))"
	kt_check_snapshots "$KT_FILES" "$out/env"
	# These print their own TAP lines; only their failure is counted here.
	KT_KEEP=0 "$KT_DIR/crosscheck.sh" "$KT_FILES" || KT_FAILED=$((KT_FAILED + 1))
	KT_KEEP=0 "$KT_DIR/compare-sort.sh" "$KT_FILES" || KT_FAILED=$((KT_FAILED + 1))
	daemon_scenario "$series" "$DAEMON_BIN" "$CLIENT_BIN"
}

# shellcheck disable=SC2086
[[ $# -gt 0 ]] || set -- ${PAGE_OWNERD_KERNELS:-$KT_SERIES_ALL}
kt_workdir
work=$KT_WORK
kt_timer_start total

ready=()
for series in "$@"; do
	if prepare_series "$series"; then
		ready+=("$series")
	fi
done

# Phase 2: the guests boot in parallel (TCG keeps each on one host CPU).
declare -A pids=()
kt_timer_start guests
for series in "${ready[@]}"; do
	kt_scenario_boot "$series" "$work/$series" >"$work/$series/boot.log" 2>&1 &
	pids[$series]=$!
done
booted=()
for series in "${ready[@]}"; do
	if wait "${pids[$series]}"; then
		booted+=("$series")
		cat "$work/$series/boot.log" >&2
	else
		cat "$work/$series/boot.log" >&2
		kt_not_ok "$series: guest ran the leak scenario cleanly (console above)"
	fi
done
kt_timer_stop guests

for series in "${booted[@]}"; do
	check_series "$series"
done
kt_timer_stop total
kt_finish
