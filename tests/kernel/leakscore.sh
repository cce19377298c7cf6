#!/bin/bash
#
# leakscore.sh [SERIES]: the kernel tier's leak-score check (default series
# 6.12; it needs page_owner_stacks, so 6.9+). Boots the cached kernel with
# guest/scenario-leakscore.sh: page-ownerd in auto mode with the default
# budget, a steady leak, a churn that frees all it allocates a second
# later, and one order-9 block held for good. Checks every window i..j of
# two or more intervals: the leak is the first suspect, and neither the
# churn (leaker_churn_pages) nor the big block (leaker_decoy_alloc) is in
# the top 3. Prints each window's suspects as "# " lines.
#
# TAP on stdout, exit 1 on any failure. Needs build/page-ownerd and
# build/pageownerctl (PO_BUILD, as tests/run.sh sets it).

set -euo pipefail

# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"

series=${1:-6.12}
build_dir=${PO_BUILD:-build}
[[ $build_dir == /* ]] || build_dir=$KT_ROOT/$build_dir
DAEMON_BIN=${PAGE_OWNERD_BIN:-$build_dir/page-ownerd}
CLIENT_BIN=${PAGEOWNERCTL_BIN:-$build_dir/pageownerctl}

if [[ ! -x $DAEMON_BIN || ! -x $CLIENT_BIN ]]; then
	kt_skip "$series: leak score on a real kernel" "$DAEMON_BIN or $CLIENT_BIN not built"
	kt_finish
fi
if reason=$(kt_host_unusable "$series"); then
	kt_skip "$series: leak score on a real kernel" "$reason"
	kt_finish
fi
case $series in
6.1|5.*|4.*|3.*)
	kt_skip "$series: leak score on a real kernel" "no page_owner_stacks before 6.9"
	kt_finish ;;
esac

kt_workdir
out=$KT_WORK/leakscore-$series
if ! kt_scenario_prepare "$series" "$KT_DIR/guest/scenario-leakscore.sh" "$out" \
	"$DAEMON_BIN" "$CLIENT_BIN"; then
	kt_not_ok "$series: kernel, module and initramfs ready"
	kt_finish
fi
if ! KT_BOOT_TIMEOUT=${KT_LEAKSCORE_TIMEOUT:-1100} KT_BOOT_NAME=leakscore-$series \
	kt_scenario_boot "$series" "$out"; then
	kt_not_ok "$series: the leak-score scenario ran in the guest (console above)"
	kt_finish
fi
kt_ok "$series: the leak-score scenario ran in the guest"

python3 - "$series" "$KT_FILES" <<'PYEOF' || KT_FAILED=$((KT_FAILED + 1))
import json, sys
series, d = sys.argv[1:3]
failed = 0
def ok(cond, what):
    global failed
    print(('ok - ' if cond else 'not ok - ') + '%s leakscore: %s' % (series, what))
    failed += not cond
LEAK, CHURN, DECOY = 'leaker_leak_pages', 'leaker_churn_pages', 'leaker_decoy_alloc'
mod = dict(l.split() for l in open(d + '/leakscore-module.txt') if len(l.split()) == 2)
snaps = json.load(open(d + '/leakscore-snapshots.json'))['snapshots']
status = json.load(open(d + '/leakscore-status.json'))
kinds = ''.join('F' if s['kind'] == 'full' else 's' for s in sorted(snaps, key=lambda s: s['id']))
times = [s['time'] for s in sorted(snaps, key=lambda s: s['id'])]
print('# %d snapshots, reads %s; configured interval %ss, effective %.1fs' % (
    len(snaps), kinds, status.get('interval_s'), status.get('effective_interval_s', 0)))
ok(len(snaps) >= 5, 'enough snapshots for windows of two intervals and more (%d)' % len(snaps))
ok('F' in kinds and 's' in kinds, 'auto mode read both page_owner and page_owner_stacks (%s)' % kinds)
ok(int(mod.get('churn_runs', 0)) > 5 and int(mod.get('decoy_pages', 0)) == 512,
   'the module churned (%s runs) and holds one 512-page block' % mod.get('churn_runs'))
windows, cur = [], None
for line in open(d + '/leakscore-windows.txt'):
    if line.startswith('== '):
        cur = [int(x) for x in line.split()[1:3]] + ['']
        windows.append(cur)
    elif cur is not None:
        cur[2] += line
first_bad, decoy_bad, errors = [], [], []
for i, j, text in windows:
    try:
        groups = json.loads(text)['groups']
    except (ValueError, KeyError):
        errors.append((i, j))
        continue
    names = [g['culprit'] for g in groups]
    ev = ['%s(net %d, s %.2f, freed/alloc %s, z %.1f)' % (
        g['culprit'], g['evidence']['net_pages'], g['evidence']['steadiness'],
        '-' if g['evidence']['freed_ratio'] is None else '%.2f' % g['evidence']['freed_ratio'],
        g['evidence']['significance']) for g in groups]
    print('# window %d..%d: %s' % (i, j, '; '.join(ev) if ev else 'no suspect'))
    if not names or names[0] != LEAK:
        first_bad.append((i, j, names))
    if CHURN in names or DECOY in names:
        decoy_bad.append((i, j, names))
ok(windows and not errors, '%d windows asked, every answer parsed %s' % (len(windows), errors[:3]))
ok(windows and not first_bad, 'the leak is the first suspect in every window of two or more '
   'intervals %s' % first_bad[:3])
ok(windows and not decoy_bad, 'the churn and the single big block are never in the top 3 %s'
   % decoy_bad[:3])
sys.exit(1 if failed else 0)
PYEOF
if [[ -f $KT_FILES/leakscore-status.txt ]]; then
	sed 's/^/# status: /' "$KT_FILES/leakscore-status.txt"
fi
kt_finish
