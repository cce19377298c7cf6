#!/bin/sh
#
# The daemon scenario, run in the guest by tests/kernel/run.sh
# (daemon_scenario checks what it stores): page-ownerd collects from the
# real /sys/kernel/debug/page_owner while the leaker module leaks steadily
# and the churn workload allocates and frees, then pageownerctl is asked
# who grows and who leaks. Twice: in full mode (the page_owner file at
# every snapshot) and in auto mode (page_owner_stacks in between), where
# the kernel has page_owner_stacks.
#
# The daemon keeps its database in the guest's tmpfs, so its own storage
# is memory that grows and is never given back: its stack (SQLite's
# pwrite64 into shmem) may rightly show up as a suspect beside the leak.
#
# For each mode it stores MODE-growers.json, MODE-leaks.json,
# MODE-status.json, MODE-snapshots.json, MODE-history.json,
# MODE-history-freed.json, MODE-module.txt (the module's pages when the
# leak stopped), MODE-first-top.txt (the first snapshot at which
# leaker_leak_pages was the top grower) and MODE-daemon.log.

set -eu
# shellcheck disable=SC3040 # busybox ash has it
set -o pipefail

. /kt/env
. /kt/lib.sh

W=/tmp/pod
mkdir -p "$W"

# wait_first_snapshot LABEL PID LOG: until the daemon PID has stored a
# snapshot (60 s at most); its log and a failure if it does not, or dies
wait_first_snapshot() {
	local i=0
	until $C --json status 2>/dev/null | grep -q '"stored": [1-9]'; do
		i=$((i + 1))
		[ "$i" -lt 600 ] || { cat "$3"; kt_fail "$1: no first snapshot in 60 s"; return 1; }
		kill -0 "$2" || { cat "$3"; kt_fail "$1: the daemon died"; return 1; }
		usleep 100000
	done
}

# start_phase NAME CONF: a daemon on the real page_owner with the settings
# CONF (a printf format), its own database and socket NAME.*, snapshots by
# hand (interval 3600); sets C and pid and waits for its first snapshot.
start_phase() {
	sock=$W/$1.sock
	C="pageownerctl --socket $sock"
	# shellcheck disable=SC2059
	printf "$2" >"$W/$1.conf"
	page-ownerd --foreground --config "$W/$1.conf" \
		--source /sys/kernel/debug/page_owner --db "$W/$1.db" \
		--socket "$sock" --interval 3600 --log-level info \
		>"$W/$1-daemon.log" 2>&1 &
	pid=$!
	wait_first_snapshot "$1" "$pid" "$W/$1-daemon.log"
}

# phase MODE INTERVAL: one daemon, one steady leak, the questions
phase() {
	mode=$1
	interval=$2
	sock=$W/$mode.sock
	C="pageownerctl --socket $sock"
	printf 'mode = %s\nfull_every = 4\ncpu_budget = 100%%\nread_timeout = 120\n' \
		"$mode" >"$W/$mode.conf"
	page-ownerd --foreground --config "$W/$mode.conf" \
		--source /sys/kernel/debug/page_owner --db "$W/$mode.db" \
		--socket "$sock" --interval "$interval" --log-level info \
		>"$W/$mode-daemon.log" 2>&1 &
	pid=$!
	wait_first_snapshot "$mode" "$pid" "$W/$mode-daemon.log" || return 1
	kt_say "$mode: daemon up, first snapshot stored"

	# the steady leak: 16 pages every 100 ms, for 18 s, churn all along;
	# longer (up to 90 s) until a snapshot shows it on top: full reads
	# take seconds under TCG, and more when the host is busy
	kt_steady 16 100
	first=
	t=0
	while [ "$t" -lt 18 ] || { [ -z "$first" ] && [ "$t" -lt 90 ]; }; do
		sleep 2
		t=$((t + 2))
		if [ -z "$first" ] &&
		    $C --no-headers top-growers --limit 1 2>/dev/null | grep -q leaker_leak_pages; then
			first=$($C --json status | sed -n 's/.*"last": \([0-9]*\).*/\1/p')
			kt_say "$mode: leaker_leak_pages is the top grower from snapshot $first"
		fi
	done
	kt_steady 0 0
	usleep 300000
	kt_leaker_get pages >"$W/$mode-module.txt"
	echo "${first:-none}" >"$W/$mode-first-top.txt"
	# two snapshots with the leak stopped: counts from both kinds of read agree
	$C snapshot >/dev/null
	$C snapshot >/dev/null
	$C --json top-growers --limit 10 >"$W/$mode-growers.json"
	$C --json leaks --limit 20 >"$W/$mode-leaks.json"
	# every suspect's stack, with who holds it (comm, memcg...)
	n=0
	for id in $(sed -n 's/.*"stack_id": "\([0-9a-f]*\)".*/\1/p' "$W/$mode-leaks.json"); do
		$C --json stack "$id" >"$W/$mode-stack-$n.json" || true
		n=$((n + 1))
	done
	echo "$n" >"$W/$mode-nstacks.txt"
	$C --json history culprit=leaker_leak_pages >"$W/$mode-history.json"
	kt_leaker_free all
	$C snapshot >/dev/null
	$C --json history culprit=leaker_leak_pages >"$W/$mode-history-freed.json"
	$C --json snapshots --limit 1000 >"$W/$mode-snapshots.json"
	$C --json status >"$W/$mode-status.json"
	kill -TERM "$pid"
	wait "$pid" || kt_fail "$mode: the daemon exited with an error"
	for f in growers.json leaks.json history.json history-freed.json \
	    snapshots.json status.json module.txt first-top.txt daemon.log \
	    nstacks.txt; do
		kt_store_file "$W/$mode-$f"
	done
	i=0
	while [ "$i" -lt "$n" ]; do
		[ -f "$W/$mode-stack-$i.json" ] && kt_store_file "$W/$mode-stack-$i.json"
		i=$((i + 1))
	done
}

# stop_rounds: the daemon in stacks mode, stopped (SIGTERM) at spread-out
# moments just after it started (its first snapshot reads
# page_owner_stacks), round after round until three rounds caught it
# mid-read (at most 30 rounds). Closing show_stacks part-way frees a
# kernel list entry still in use (6.9-6.12, see daemon/source.c), so the
# daemon reads on to the end before closing; then the file is read again,
# which oopses the guest (oops=panic) where that went wrong.
# Stores stop-rounds.txt: "rounds R drained D failed F".
stop_rounds() {
	printf 'mode = stacks\ncpu_budget = 100%%\nread_timeout = 120\n' >"$W/stop.conf"
	: >"$W/stop-daemon.log"
	r=0
	failed=0
	drained=0
	while [ "$r" -lt 30 ] && [ "$drained" -lt 3 ]; do
		: >"$W/stop-round.log"
		page-ownerd --foreground --config "$W/stop.conf" \
			--source /sys/kernel/debug/page_owner --db "$W/stop.db" \
			--socket "$W/stop.sock" --interval 1 --log-level info \
			>"$W/stop-round.log" 2>&1 &
		pid=$!
		# its start line comes once SIGTERM is handled
		i=0
		until grep -q ': reading .* every ' "$W/stop-round.log"; do
			i=$((i + 1))
			if [ "$i" -ge 2000 ] || ! kill -0 "$pid" 2>/dev/null; then
				break
			fi
			usleep 5000
		done
		usleep $(( (r % 10) * 15000 ))
		kill -TERM "$pid"
		wait "$pid" || failed=$((failed + 1))
		cat "$W/stop-round.log" >>"$W/stop-daemon.log"
		r=$((r + 1))
		drained=$(grep -c 'read the rest of page_owner_stacks' "$W/stop-daemon.log" || true)
	done
	for i in 1 2 3; do
		cat "$KT_SHOW_STACKS" >/dev/null || kt_fail "stop rounds: reading show_stacks failed"
		if [ -r "$KT_SHOW_HANDLES" ]; then
			cat "$KT_SHOW_HANDLES" "$KT_SHOW_STACKS_HANDLES" >/dev/null ||
				kt_fail "stop rounds: reading show_handles failed"
		fi
	done
	kt_say "stop rounds: $r rounds, $drained stopped mid-read and drained, $failed exited badly"
	echo "rounds $r drained $drained failed $failed" >"$W/stop-rounds.txt"
	kt_store_file "$W/stop-rounds.txt"
	kt_store_file "$W/stop-daemon.log"
}

# handles_phase: where the kernel has 6.19's show_handles. The daemon in
# stacks mode (its stacks read is then show_handles, keyed by boot and
# handle) snapshots by hand while the leak grows; its status after each
# one says how often it read show_stacks_handles. Then, with the churn and
# the leak stopped, one snapshot and at once a full page_owner read: the
# host compares the daemon's stacks (export --format folded) with the
# dump's. Last, the kernel CPU of reading each file (kt_read_cpu).
# Stores handles-status-N.json, handles-growers.json, handles-folded.txt,
# handles-snapshot.json, handles-compare.page_owner, handles-module.txt,
# handles-cpu.txt and handles-daemon.log.
handles_phase() {
	start_phase handles 'mode = stacks\ncpu_budget = 100%%\nread_timeout = 120\n' || return 1
	$C --json status >"$W/handles-status-0.json"
	kt_steady 16 100
	n=1
	while [ "$n" -le 6 ]; do
		sleep 2
		$C snapshot >/dev/null || kt_fail "handles: snapshot $n failed"
		$C --json status >"$W/handles-status-$n.json"
		n=$((n + 1))
	done
	kt_steady 0 0
	$C --json top-growers --limit 5 >"$W/handles-growers.json"
	# the same moment, as near as two reads get: churn and leak stopped
	kt_churn_stop
	sleep 1
	kt_leaker_get pages >"$W/handles-module.txt"
	$C --json snapshot >"$W/handles-snapshot.json" || kt_fail "handles: the compared snapshot failed"
	# straight to the output disk: a copy in tmpfs would be shmem pages
	# of its own in the dump
	dd if="$KT_PAGE_OWNER" bs=1M 2>/dev/null | kt_store handles-compare.page_owner ||
		kt_fail "handles: storing the full read failed"
	$C --json status >"$W/handles-status-$n.json"
	$C export --format folded >"$W/handles-folded.txt"
	kill -TERM "$pid"
	wait "$pid" || kt_fail "handles: the daemon exited with an error"
	{
		for f in show_handles show_stacks_handles show_stacks; do
			echo "$f $(kt_read_cpu "/sys/kernel/debug/page_owner_stacks/$f" 20)"
		done
		echo "page_owner $(kt_read_cpu "$KT_PAGE_OWNER" 3)"
	} >"$W/handles-cpu.txt"
	kt_say "handles: kernel CPU per read: $(tr '\n' ' ' <"$W/handles-cpu.txt")"
	i=0
	while [ "$i" -le "$n" ]; do
		kt_store_file "$W/handles-status-$i.json"
		i=$((i + 1))
	done
	for f in growers.json folded.txt snapshot.json module.txt cpu.txt daemon.log; do
		kt_store_file "$W/handles-$f"
	done
}

# sweep_phase: the daemon in sweep mode (PFN windows of 128 MiB, two a
# snapshot, in rotation) on the real page_owner, snapshots by hand: K + 2
# while the module leaks, K more once it stopped (every window read again).
# Then, churn stopped, one whole read of page_owner and one that starts
# with lseek() at PFN SWEEP_PFN (dd iflag=skip_bytes): the host checks that
# the second is the first's records from that PFN on. Stores
# sweep-status-0.json, sweep-status.json, sweep-growers.json,
# sweep-snapshots.json, sweep-module.txt, sweep-first-top.txt,
# sweep-daemon.log, sweep-whole.page_owner, sweep-from.page_owner and
# sweep-pfn.txt.
SWEEP_PFN=131072
sweep_phase() {
	start_phase sweep 'mode = sweep\nwindow = 128M\nsweep_windows = 2\ncpu_budget = 100%%\nread_timeout = 120\n' ||
		return 1
	$C --json status >"$W/sweep-status-0.json"
	k=$(sed -n 's/.*"k": \([0-9]*\).*/\1/p' "$W/sweep-status-0.json")
	[ -n "$k" ] || { kt_fail "sweep: no K in the status"; k=8; }
	kt_say "sweep: every window read again within K = $k snapshots"
	kt_steady 16 100
	first=
	n=1
	while [ "$n" -le $((k + 2)) ]; do
		sleep 2
		$C snapshot >/dev/null || kt_fail "sweep: snapshot $n failed"
		if [ -z "$first" ] &&
		    $C --no-headers top-growers --limit 1 2>/dev/null | grep -q leaker_leak_pages; then
			first=$n
		fi
		n=$((n + 1))
	done
	kt_steady 0 0
	usleep 300000
	kt_leaker_get pages >"$W/sweep-module.txt"
	echo "${first:-none}" >"$W/sweep-first-top.txt"
	i=0
	while [ "$i" -lt "$k" ]; do
		$C snapshot >/dev/null || kt_fail "sweep: settling snapshot $i failed"
		i=$((i + 1))
	done
	$C --json top-growers --limit 5 >"$W/sweep-growers.json"
	$C --json snapshots --limit 1000 >"$W/sweep-snapshots.json"
	$C --json status >"$W/sweep-status.json"
	kill -TERM "$pid"
	wait "$pid" || kt_fail "sweep: the daemon exited with an error"
	kt_churn_stop
	sleep 1
	# straight to the output disk (a tmpfs copy would be pages of its own)
	dd if="$KT_PAGE_OWNER" bs=1M 2>/dev/null | kt_store sweep-whole.page_owner ||
		kt_fail "sweep: storing the whole read failed"
	dd if="$KT_PAGE_OWNER" iflag=skip_bytes skip="$SWEEP_PFN" bs=1M 2>/dev/null |
		kt_store sweep-from.page_owner || kt_fail "sweep: storing the read from a PFN failed"
	echo "$SWEEP_PFN" >"$W/sweep-pfn.txt"
	for f in status-0.json status.json growers.json snapshots.json module.txt \
	    first-top.txt daemon.log pfn.txt; do
		kt_store_file "$W/sweep-$f"
	done
}

# sample_phase: sample = 25% of 16 MiB windows (64 in the guest), a new
# database, churn running, snapshots by hand while the module leaks a
# steady trickle; then the leak stopped and one more snapshot, whose
# estimate of the leak's pages the host holds against the module's own
# count. Stores sample-top.json, sample-growers.json, sample-status.json,
# sample-snapshots.json, sample-module.txt and sample-daemon.log.
sample_phase() {
	kt_churn_start ""
	start_phase sample 'mode = sweep\nwindow = 16M\nsample = 25%%\ncpu_budget = 100%%\nread_timeout = 120\n' ||
		return 1
	kt_steady 16 100
	n=1
	while [ "$n" -le 6 ]; do
		sleep 2
		$C snapshot >/dev/null || kt_fail "sample: snapshot $n failed"
		n=$((n + 1))
	done
	kt_steady 0 0
	usleep 300000
	$C snapshot >/dev/null || kt_fail "sample: the last snapshot failed"
	kt_leaker_get pages >"$W/sample-module.txt"
	$C --json top --by culprit --limit 50 >"$W/sample-top.json"
	$C --json top-growers --by culprit --limit 5 >"$W/sample-growers.json"
	$C --json snapshots --limit 1000 >"$W/sample-snapshots.json"
	$C --json status >"$W/sample-status.json"
	kill -TERM "$pid"
	wait "$pid" || kt_fail "sample: the daemon exited with an error"
	kt_churn_stop
	for f in top.json growers.json snapshots.json status.json module.txt daemon.log; do
		kt_store_file "$W/sample-$f"
	done
}

kt_say "scenario daemon: kernel $(uname -r)"
insmod /kt/leaker.ko
[ -d "$KT_LEAKER" ] || kt_fail "no $KT_LEAKER after insmod"
kt_churn_start ""
phase full 3
if [ -r "$KT_SHOW_STACKS" ]; then
	phase auto 2
	stop_rounds
	if [ -r "$KT_SHOW_HANDLES" ]; then
		handles_phase
	fi
else
	kt_say "no page_owner_stacks on this kernel: auto mode is full mode here"
fi
sweep_phase
kt_churn_stop
sample_phase
rmmod leaker
kt_store_index
