#!/bin/bash
# bench-kernel.sh: what a snapshot costs the kernel on a real page_owner, in
# `full` mode (the page_owner file at every snapshot: the baseline) against
# `auto` mode (page_owner_stacks/show_stacks in between, a full read every
# 4th interval), on the same 6.12 guest under QEMU.
#
# It runs the kernel tier's daemon scenario (tests/kernel/run.sh 6.12, the
# kernel built once and cached) and reads the snapshots that page-ownerd
# stored in the guest: per snapshot, cpu_sys_s is the kernel's share (the
# formatting of page_owner or show_stacks inside read(2)) and cpu_user_s the
# daemon's (parse, diff, store).  TCG emulation makes every figure several
# times what a real CPU would spend; the ratio between the modes is the
# figure to quote.  Prints figures only; asserts nothing.
set -uo pipefail
# run.sh passes its build and work directories
build=${BENCH_BUILD:-build} work=${BENCH_WORK:-build/bench}
top=$(cd "$(dirname "$0")/../.." && pwd)
series=${BENCH_KERNEL:-6.12}

echo "== kernel: CPU per snapshot on a real $series page_owner, full mode (baseline) vs auto mode"
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "   skipped: qemu-system-x86_64 is not installed (tests/tools/deps.sh all)"
	exit 0
fi
kw="$work/kernel"
rm -rf "$kw"
mkdir -p "$kw"
if ! KT_KEEP=1 KT_WORK="$kw" PO_BUILD="$build" bash "$top/tests/kernel/run.sh" "$series" \
    >"$work/kernel-bench.log" 2>&1; then
	echo "   (the kernel tier reported failures: $work/kernel-bench.log)"
fi
if grep -q '# SKIP' "$work/kernel-bench.log"; then
	grep '# SKIP' "$work/kernel-bench.log" | sed 's/^/   skipped: /'
fi
cap="$kw/daemon-$series/guest/capture-$series"
if [ ! -f "$cap/full-snapshots.json" ]; then
	echo "   no figures: the daemon scenario stored nothing ($work/kernel-bench.log)"
	exit 0
fi
python3 - "$cap" <<'PYEOF'
import json, os, sys
d = sys.argv[1]
rows = {}
for mode in ('full', 'auto'):
    p = '%s/%s-snapshots.json' % (d, mode)
    if not os.path.exists(p):
        continue
    snaps = [s for s in json.load(open(p))['snapshots'] if not s.get('baseline')]
    if snaps:
        rows[mode] = snaps
print('   %-6s %-8s %6s %12s %12s %12s %10s' % ('mode', 'read', 'count', 'kernel s', 'daemon s',
      'wall s', 'bytes'))
mean = lambda xs: sum(xs) / len(xs) if xs else 0.0
per = {}
for mode, snaps in rows.items():
    for kind in ('full', 'stacks'):
        ks = [s for s in snaps if s['kind'] == kind]
        if not ks:
            continue
        print('   %-6s %-8s %6d %12.4f %12.4f %12.4f %10d' % (mode, kind, len(ks),
              mean([s['cpu_sys_s'] for s in ks]), mean([s['cpu_user_s'] for s in ks]),
              mean([s['duration_s'] for s in ks]), int(mean([s.get('bytes', 0) for s in ks]))))
    per[mode] = (mean([s['cpu_sys_s'] for s in snaps]), mean([s['cpu_user_s'] for s in snaps]))
for mode, (k, u) in per.items():
    print('   %-6s per snapshot, every kind: kernel %.4f s, daemon %.4f s' % (mode, k, u))
if 'full' in per and 'auto' in per and per['auto'][0] > 0:
    print('   auto mode costs the kernel %.1f x less CPU per snapshot than full mode '
          '(%.4f s vs %.4f s; baseline: full mode)' % (per['full'][0] / per['auto'][0],
          per['auto'][0], per['full'][0]))
elif 'auto' not in per:
    print('   no auto-mode figures: this kernel has no page_owner_stacks')
PYEOF
