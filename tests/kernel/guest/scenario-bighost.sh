#!/bin/sh
#
# The big-host scenario, run in a 5 GiB guest by tests/kernel/run.sh when
# PAGE_OWNERD_KERNEL_BIGHOST=1 (make check-kernel-bighost): 4 GiB of tmpfs
# pages make page_owner hold over a million page blocks, then
#   (a) a read that starts with lseek() at PFN WIN_LO, cut at WIN_HI, against
#       the same range of a whole read, both as "PFN header" lines;
#   (c) the kernel CPU of that whole read (the reader's, as times(1) sees it);
#   (b) the daemon in sweep mode (1 GiB windows, two a snapshot) with churn
#       running: K + 2 snapshots while the module leaks, and its peak RSS.
# Stores bighost-blocks.txt, bighost-whole-range.txt, bighost-window.txt,
# bighost-range.txt, bighost-whole-cpu.txt, bighost-status-0.json,
# bighost-status.json, bighost-growers.json, bighost-snapshots.json,
# bighost-first-top.txt, bighost-rss.txt and bighost-daemon.log.

. /kt/lib.sh

W=/tmp/bighost
mkdir -p "$W"
WIN_LO=262144		# PFNs: 1 GiB
WIN_HI=393216		# 1.5 GiB

# range_lines LO HI: "PFN header" (the header up to its timestamp) of each
# record with LO <= PFN < HI from page_owner text on stdin, which is in PFN
# order: it stops at the first PFN >= HI. Counts every record it saw into
# $W/blocks.txt.
range_lines() {
	awk -v lo="$1" -v hi="$2" -v count="$W/blocks.txt" '
		/^Page allocated via order/ { n++; hdr = $0; sub(/, ts .*/, "", hdr); next }
		/^PFN / { pfn = $2 + 0
			if (pfn >= hi) { print n > count; exit }
			if (pfn >= lo) print pfn, hdr }
		END { print n + 0 > count }'
}

kt_say "scenario bighost: kernel $(uname -r), $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"
insmod /kt/leaker.ko
[ -d "$KT_LEAKER" ] || kt_fail "no $KT_LEAKER after insmod"
mkdir -p /big
mount -t tmpfs -o size=4400m tmpfs /big
t0=$(date +%s)
i=0
while [ "$i" -lt 16 ]; do
	dd if=/dev/zero of=/big/f$i bs=1M count=256 2>/dev/null || kt_fail "filling /big/f$i failed"
	i=$((i + 1))
done
kt_say "bighost: 4 GiB of tmpfs written in $(($(date +%s) - t0)) s"

# (a), (c): one whole read, its reader's CPU, and the range from it
t0=$(date +%s)
{ dd if="$KT_PAGE_OWNER" bs=1M 2>/dev/null; times >"$W/whole-times"; } |
	range_lines 0 999999999999 >"$W/all.txt"
awk -v lo="$WIN_LO" -v hi="$WIN_HI" '$1 >= lo && $1 < hi' "$W/all.txt" >"$W/whole-range.txt"
rm -f "$W/all.txt"
mv "$W/blocks.txt" "$W/blocks-whole.txt"
awk 'NR == 2 { split($2, a, "m"); sub(/s$/, "", a[2]); u = a[1] * 60 + a[2]
	split($4, b, "m"); sub(/s$/, "", b[2]); printf "%.3f\n", u + b[1] * 60 + b[2] }' \
	"$W/whole-times" >"$W/whole-cpu.txt"
kt_say "bighost: a whole read: $(cat "$W/blocks-whole.txt") blocks, $(cat "$W/whole-cpu.txt") s of the reader's CPU, $(($(date +%s) - t0)) s"
dd if="$KT_PAGE_OWNER" iflag=skip_bytes skip="$WIN_LO" bs=1M 2>/dev/null |
	range_lines "$WIN_LO" "$WIN_HI" >"$W/window.txt"
echo "$WIN_LO $WIN_HI" >"$W/range.txt"

# (b): sweep mode, churn running, the module leaking a slow trickle (the
# guest has ~700 MiB left beside the tmpfs)
sock=$W/sweep.sock
C="pageownerctl --socket $sock"
printf 'mode = sweep\nwindow = 1G\nsweep_windows = 2\ncpu_budget = 100%%\nread_timeout = 600\n' \
	>"$W/sweep.conf"
kt_churn_start ""
page-ownerd --foreground --config "$W/sweep.conf" \
	--source /sys/kernel/debug/page_owner --db "$W/sweep.db" \
	--socket "$sock" --interval 36000 --log-level info \
	>"$W/daemon.log" 2>&1 &
pid=$!
i=0
until $C --json status 2>/dev/null | grep -q '"stored": [1-9]'; do
	i=$((i + 1))
	[ "$i" -lt 6000 ] || { cat "$W/daemon.log"; kt_fail "bighost: no first snapshot in 600 s"; break; }
	kill -0 "$pid" || { cat "$W/daemon.log"; kt_fail "bighost: the daemon died"; break; }
	usleep 100000
done
$C --json status >"$W/status-0.json"
k=$(sed -n 's/.*"k": \([0-9]*\).*/\1/p' "$W/status-0.json")
[ -n "$k" ] || { kt_fail "bighost: no K in the status"; k=4; }
kt_say "bighost: every window read again within K = $k snapshots"
kt_steady 4 100
first=
n=1
while [ "$n" -le $((k + 2)) ]; do
	$C snapshot >/dev/null || kt_fail "bighost: snapshot $n failed"
	if [ -z "$first" ] &&
	    $C --no-headers top-growers --limit 1 2>/dev/null | grep -q leaker_leak_pages; then
		first=$n
	fi
	n=$((n + 1))
done
kt_steady 0 0
echo "${first:-none}" >"$W/first-top.txt"
awk '/VmHWM/ { print $2 }' "/proc/$pid/status" >"$W/rss.txt"
$C --json top-growers --limit 5 >"$W/growers.json"
$C --json snapshots --limit 1000 >"$W/snapshots.json"
$C --json status >"$W/status.json"
kill -TERM "$pid"
wait "$pid" || kt_fail "bighost: the daemon exited with an error"
kt_churn_stop
for f in blocks-whole.txt whole-range.txt window.txt range.txt whole-cpu.txt status-0.json \
    status.json growers.json snapshots.json first-top.txt rss.txt daemon.log; do
	kt_store_file "$W/$f" "bighost-$f"
done
rmmod leaker
kt_say "scenario bighost: done"
