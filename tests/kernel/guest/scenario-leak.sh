#!/bin/sh
#
# The leak scenario, run in the guest by tests/kernel/run.sh (which checks
# the result) and tests/kernel/capture.sh (which keeps it as a recorded
# capture). With churn in the background, it snapshots page_owner at:
#
#   000-baseline   leaker loaded, nothing leaked
#   001-leak2000   2,000 order-0 pages leaked (GFP_KERNEL)
#   002-churn      after more churn, still 2,000
#   003-leak7000   5,000 more: 4,000 GFP_KERNEL and, when non-root memory
#                  cgroups are safe on this kernel, 1,000 GFP_KERNEL_ACCOUNT
#                  written from cgroup "leakers" (else 1,000 GFP_KERNEL)
#   004-compacted  after fragmenting tmpfs and compact_memory: migrated pages
#   005-steady     after the steady leak (8 pages every 50 ms) ran alongside
#                  four writers leaking and freeing concurrently, then stopped
#   006-freed      everything freed: 0 pages
#   007-reloaded   module reloaded with leak_on_load=16 leak_order=2: 64 pages
#                  whose stack has a freed init-text frame (a raw address)
#
# then unloads the module and stores dmesg. Settings come from /kt/env:
# KT_NONROOT_MEMCG (1: churn runs in cgroup "churn"), KT_CHURN_SECONDS.

set -eu
# shellcheck disable=SC3040 # busybox ash has it
set -o pipefail

. /kt/env
. /kt/lib.sh

kt_say "scenario leak: kernel $(uname -r), non-root memcg ${KT_NONROOT_MEMCG:-0}"

churn_cg=
account=0
if [ "${KT_NONROOT_MEMCG:-0}" = 1 ]; then
	if kt_cgroup_create churn && kt_cgroup_create leakers; then
		churn_cg=churn
		account=1
	else
		kt_say "memory cgroups unavailable; everything runs in the root cgroup"
	fi
fi

insmod /kt/leaker.ko
[ -d "$KT_LEAKER" ] || kt_fail "no $KT_LEAKER after insmod"

kt_churn_start "$churn_cg"
sleep 2
kt_snapshot baseline

kt_leak 2000
kt_snapshot leak2000

sleep "${KT_CHURN_SECONDS:-5}"
kt_snapshot churn

kt_leak 4000
if [ "$account" = 1 ]; then
	# GFP_KERNEL_ACCOUNT: 0x400cc0 on 6.1 and 6.12 alike
	kt_in_cgroup leakers "echo '1000 0 0x400cc0' >$KT_LEAKER/leak"
else
	kt_leak 1000
fi
kt_snapshot leak7000

# 32 MiB: enough for compaction to move some hundreds of pages nearly every
# time (16 MiB moved as few as 27 on some runs); where it moved fewer than
# 64, kt_compact fragments 32 MiB more and compacts again.
kt_compact 32 4 || kt_say "compaction moved fewer than 64 pages in 4 tries"
kt_snapshot compacted
rm -rf /tmp/frag

# The steady work and four concurrent writers at once; each writer leaks and
# frees 10 blocks 25 times, so the writers leave the total unchanged (but
# may free steady blocks: the per-source counts move, the total does not).
kt_steady 8 50
writers=
for w in 1 2 3 4; do
	(
		i=0
		while [ $i -lt 25 ]; do
			echo 10 >"$KT_LEAKER/leak" && echo 10 >"$KT_LEAKER/free" || exit 1
			i=$((i + 1))
		done
	) &
	writers="$writers $!"
done
for w in $writers; do
	wait "$w" || kt_fail "concurrent writer $w failed"
done
sleep 2
kt_steady 0 0
kt_snapshot steady

# Bad requests are refused and change nothing.
gen=$(kt_leaker_get generation)
for bad in "abc" "1 99" "1 0 0x8000" "1 0 0x1 7" ""; do
	if echo "$bad" >"$KT_LEAKER/leak" 2>/dev/null; then
		kt_fail "leak '$bad' was accepted"
	fi
done
if echo "-1" >"$KT_LEAKER/free" 2>/dev/null; then
	kt_fail "free '-1' was accepted"
fi
[ "$(kt_leaker_get generation)" = "$gen" ] || kt_fail "a refused request changed the module"
kt_say "bad requests refused"

kt_leaker_free all
kt_snapshot freed

kt_churn_stop

rmmod leaker
insmod /kt/leaker.ko leak_on_load=16 leak_order=2
kt_snapshot reloaded
rmmod leaker
[ ! -d "$KT_LEAKER" ] || kt_fail "$KT_LEAKER still there after rmmod"

grep -E 'MemTotal|MemFree' /proc/meminfo
dmesg | kt_store dmesg.txt
kt_say "scenario leak: done"
