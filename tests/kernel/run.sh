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
# The daemon scenario's guest is prepared with the leak scenario's and boots
# beside it (one host CPU each); daemon_check reads what it stored.
daemon_prepare() {
	local series=$1 out=$work/daemon-$1
	if [[ ! -x $DAEMON_BIN || ! -x $CLIENT_BIN ]]; then
		return 1
	fi
	kt_scenario_prepare "$series" "$KT_DIR/guest/scenario-daemon.sh" "$out" \
		"$DAEMON_BIN" "$CLIENT_BIN"
}

daemon_boot() {
	local series=$1
	KT_BOOT_TIMEOUT=${KT_DAEMON_TIMEOUT:-600} KT_BOOT_NAME=daemon-$series \
		kt_scenario_boot "$series" "$work/daemon-$series"
}

daemon_check() {
	local series=$1 booted=$2 mode
	if [[ ! -x $DAEMON_BIN || ! -x $CLIENT_BIN ]]; then
		kt_skip "$series: daemon scenario in the guest" \
			"$DAEMON_BIN or $CLIENT_BIN not built"
		return 0
	fi
	if [[ $booted != 1 ]]; then
		kt_not_ok "$series: page-ownerd ran in the guest on the real page_owner (console above)"
		return 0
	fi
	KT_FILES=$work/daemon-$series/guest/capture-$series
	kt_ok "$series: page-ownerd ran in the guest on the real page_owner"
	for mode in full auto; do
		[[ -f $KT_FILES/$mode-growers.json ]] || continue
		python3 - "$series" "$mode" "$KT_FILES" <<'PYEOF'
import json, sys
series, mode, d = sys.argv[1:4]
def load(n):
    return json.load(open('%s/%s-%s' % (d, mode, n)))
def ok(cond, what):
    print(('ok - ' if cond else 'not ok - ') + '%s %s: %s' % (series, mode, what))
module = int(open('%s/%s-module.txt' % (d, mode)).read().split()[0])
growers, leaks = load('growers.json')['groups'], load('leaks.json')['groups']
hist = load('history.json')['points']
freed = load('history-freed.json')['points']
snaps = load('snapshots.json')['snapshots']
status = load('status.json')
first = open('%s/%s-first-top.txt' % (d, mode)).read().split()
ok(module > 0, 'the module leaked steadily (%d pages)' % module)
ok(growers and growers[0]['culprit'] == 'leaker_leak_pages',
   'top-growers names leaker_leak_pages first (%s)' % (growers[0]['culprit'] if growers else None))
ok(growers and growers[0]['pages_now'] == module,
   'its pages now equal what the module holds (%s vs %d)' % (growers[0].get('pages_now') if growers else None, module))
sus = [g for g in leaks if g['suspect']]
ok(sus and sus[0]['culprit'] == 'leaker_leak_pages',
   'leaks ranks leaker_leak_pages first (%s)' % (sus[0]['culprit'] if sus else None))
# The churn workload runs as dd, sort, awk, md5sum, true and sh: no suspect
# may be held mostly by them (the daemon's own database in tmpfs may be).
churn = {'dd', 'sort', 'awk', 'md5sum', 'true', 'sh', 'seq', 'rm', 'usleep'}
bad = []
nst = int(open('%s/%s-nstacks.txt' % (d, mode)).read())
for i in range(nst):
    try:
        st = load('stack-%d.json' % i)
    except OSError:
        continue
    if st['culprit'] == 'leaker_leak_pages':
        continue
    held = {c['comm']: c['pages'] for c in st['breakdown']['comm']}
    total = sum(held.values())
    by_churn = sum(p for c, p in held.items() if c in churn)
    g = [x for x in leaks if x.get('stack_id') == st['stack_id']]
    if g and g[0]['suspect'] and total and by_churn * 2 > total:
        bad.append('%s (%s)' % (st['culprit'], held))
ok(not bad, 'no page held by the churn workload is a leak suspect %s' % bad[:3])
ok(hist and hist[-1]['pages'] == module,
   'history: the leak series ends at the module\'s pages (%s vs %d)' % (hist[-1]['pages'] if hist else None, module))
ok(freed and freed[-1]['pages'] == 0,
   'history: after the module frees, the series falls back to 0 (%s)' % (freed[-1]['pages'] if freed else None))
ok(first and first[0] != 'none', 'the leak was the top grower while it leaked (from snapshot %s)' % (first[0] if first else None))
kinds = {s['kind'] for s in snaps}
if mode == 'auto':
    ok(kinds == {'full', 'stacks'}, 'auto mode read both page_owner and page_owner_stacks (%s)' % sorted(kinds))
    # the last two points before the free were taken with the leak stopped:
    # whatever kind each read was, they agree
    ok(len(hist) >= 2 and hist[-1]['pages'] == hist[-2]['pages'] == module,
       'a stacks read and a full read agree on the leak\'s pages')
else:
    ok(kinds == {'full'}, 'full mode only read page_owner (%s)' % sorted(kinds))
b = status.get('budget', {})
print('# %s %s: %d snapshots; CPU per full read %.3fs, per stacks read %.3fs (the kernel\'s '
      'formatting included); spent %.2f%% of one CPU' % (series, mode, len(snaps),
      b.get('full_read_cpu_s', 0), b.get('stacks_read_cpu_s', 0), 100 * b.get('spent_share', 0)))
PYEOF
	done
	handles_check "$series"
	sweep_check "$series"
	sample_check "$series"
	if [[ -f $KT_FILES/stop-rounds.txt ]]; then
		local rounds drained failed
		read -r _ rounds _ drained _ failed <"$KT_FILES/stop-rounds.txt"
		kt_expect_eq "$series: the daemon stopped mid-read $rounds times exits 0 each time" \
			0 "$failed"
		kt_expect_gt "$series: some stops came while it read page_owner_stacks, which it read to the end ($drained of $rounds)" \
			0 "$drained"
		kt_ok "$series: show_stacks still reads cleanly after those stops (no oops)"
	fi
}

# sweep_check SERIES: what guest/scenario-daemon.sh's sweep_phase stored:
# sweep mode on the real page_owner (PFN windows by lseek), and a read that
# starts at a PFN against a whole read. CPU figures printed, not asserted.
sweep_check() {
	local series=$1
	if [[ ! -f $KT_FILES/sweep-status.json ]]; then
		kt_not_ok "$series: sweep mode ran in the guest (no sweep-status.json)"
		return 0
	fi
	python3 - "$series" "$KT_FILES" "$KT_DIR" <<'PYEOF' ||
import json, os, re, sys
sys.path.insert(0, sys.argv[3])
from ktcheck import Tap
t = Tap('sweep')
series, d, load, ok = t.series, t.dir, t.load, t.ok
st, st0 = load('sweep-status.json'), load('sweep-status-0.json')
sw = st.get('sweep') or {}
ok(sw.get('seek') == 'pfn',
   'the kernel takes a PFN as the file offset, and the daemon found so (seek: %s)' % sw.get('seek'))
ok(sw.get('windows', 0) >= 4 and sw.get('per_snapshot') == 2 and
   sw.get('k') == -(-sw['windows'] // 2),
   '%s windows of %s pages, 2 a snapshot: K = %s' % (sw.get('windows'), sw.get('window_pages'), sw.get('k')))
ok(st['snapshots']['failed'] == 0 and sw.get('stale') == 0 and sw.get('unread') == 0,
   'no failed snapshot, no stale or unread window (%s failed, %s stale, %s unread)'
   % (st['snapshots']['failed'], sw.get('stale'), sw.get('unread')))
module = int(open(os.path.join(d, 'sweep-module.txt')).read().split()[0])
g = load('sweep-growers.json')['groups']
k = sw.get('k', 0)
first = open(os.path.join(d, 'sweep-first-top.txt')).read().split()
ok(g and g[0]['culprit'] == 'leaker_leak_pages',
   "top-growers names the module's leak first (%s)" % (g[0]['culprit'] if g else None))
ok(first and first[0] != 'none' and int(first[0]) <= k + 2,
   'the leak was the top grower within K + 2 = %d snapshots of its start (from snapshot %s)'
   % (k + 2, first[0] if first else None))
ok(g and g[0]['pages_now'] == module,
   "once every window was read again, its pages equal the module's (%s vs %d)"
   % (g[0].get('pages_now') if g else None, module))
# (a) a read from PFN p is the whole read's records from p on (within the
# race of what changed between the two reads; churn was stopped)
p = int(open(os.path.join(d, 'sweep-pfn.txt')).read())
def recs(name):
    out = {}
    with open(os.path.join(d, name), errors='replace') as f:
        for rec in f.read().split('\n\n'):
            lines = rec.strip('\n').split('\n')
            if len(lines) < 2 or not lines[0].startswith('Page allocated via order'):
                continue
            m = re.match(r'PFN (\S+) ', lines[1])
            if m:
                out[int(m.group(1), 0)] = (lines[0].split(',')[0],
                    tuple(OFF.sub('', l.strip()) for l in lines[2:] if l.startswith(' ')))
    return out
OFF = re.compile(r'\+0x[0-9a-f]+/0x[0-9a-f]+')
whole, part = recs('sweep-whole.page_owner'), recs('sweep-from.page_owner')
tail = {k2: v for k2, v in whole.items() if k2 >= p}
same = sum(1 for k2, v in part.items() if tail.get(k2) == v)
ok(part and tail and min(part) >= p and abs(min(part) - min(tail)) < 512,
   'the read from PFN %d starts at the first record from there on (PFN %s; the whole read: %s)'
   % (p, min(part) if part else None, min(tail) if tail else None))
ok(any(k2 < p for k2 in whole) and len(tail) > 1000,
   'the whole read has records before it (%d) and %d from it on' % (len(whole) - len(tail), len(tail)))
ok(same >= 0.75 * max(len(tail), len(part)),
   'the two agree on %d of %d records from PFN %d on (%d in the read from it)' % (same, len(tail), p, len(part)))
# (c) the kernel's CPU: a sweep snapshot's windows vs one full read
full_cpu = (load('full-status.json').get('budget') or {}).get('full_read_cpu_s', 0)
snaps = [s for s in load('sweep-snapshots.json')['snapshots']]
b = [s.get('bytes', 0) for s in snaps[-k:]] if k else []
print('# %s sweep: %d windows, K = %d; CPU per window %.3f s, per snapshot (2 windows) %.3f s vs a '
      'full read %.3f s (full mode, kernel formatting included); bytes read per snapshot %d vs %d '
      'for a whole read'
      % (series, sw.get('windows', 0), k, sw.get('window_cpu_s', 0), 2 * sw.get('window_cpu_s', 0),
         full_cpu, sum(b) // max(1, len(b)), os.path.getsize(os.path.join(d, 'sweep-whole.page_owner'))))
t.exit()
PYEOF
		KT_FAILED=$((KT_FAILED + 1))
}

# sample_check SERIES: what guest/scenario-daemon.sh's sample_phase
# stored: sampled estimates (sample = 25%) on the real page_owner; the
# estimate of the leak's pages against the module's own count (7(d)).
sample_check() {
	local series=$1
	if [[ ! -f $KT_FILES/sample-top.json ]]; then
		kt_not_ok "$series: sampling ran in the guest (no sample-top.json)"
		return 0
	fi
	python3 - "$series" "$KT_FILES" "$KT_DIR" <<'PYEOF' ||
import json, os, sys
sys.path.insert(0, sys.argv[3])
from ktcheck import Tap
t = Tap('sample')
series, d, load, ok = t.series, t.dir, t.load, t.ok
st, top, gr = load('sample-status.json'), load('sample-top.json'), load('sample-growers.json')
sw = st.get('sweep') or {}
module = int(open(os.path.join(d, 'sample-module.txt')).read().split()[0])
ok(sw.get('sample_percent') == 25 and sw.get('estimated') and sw.get('strata', 0) >= 2 and
   st['snapshots']['failed'] == 0,
   'status: 25%% of %s windows, %s strata, the latest snapshot estimated, none failed'
   % (sw.get('windows'), sw.get('strata')))
leak = [g for g in top['groups'] if g['culprit'] == 'leaker_leak_pages']
e = leak[0].get('estimate', {}) if leak else {}
est, se = e.get('pages'), e.get('se_pages')
ok(est is not None and abs(est - module) <= 3 * se + 0.5,
   "the estimate of the leak's pages is within 3 standard errors of the module's count "
   "(%s +- %s vs %d)" % (est, se, module))
g = gr.get('groups') or []
ee = gr.get('estimate') or {}
ok(g and g[0]['culprit'] == 'leaker_leak_pages' and g[0]['estimate'].get('growing'),
   "top-growers by the estimates names the module's leak first, its growth beyond 3 standard "
   "errors (%s)" % (g[0]['culprit'] if g else None))
print('# %s sample: %s of %s windows a snapshot, %s strata; leak estimated %s +- %s pages vs the '
      "module's %d; top grower by the estimates from snapshot %s to %s: %s (%s +- %s pages); "
      'kernel CPU per window %.3f s, per snapshot %.3f s'
      % (series, ee.get('sampled'), ee.get('windows'), ee.get('strata'), est, se, module,
         ee.get('from_snapshot'), ee.get('to_snapshot'), g[0]['culprit'] if g else None,
         g[0]['estimate'].get('growth_pages') if g else None,
         g[0]['estimate'].get('growth_se_pages') if g else None,
         sw.get('window_cpu_s', 0), sw.get('window_cpu_s', 0) * (ee.get('sampled') or 0)))
t.exit()
PYEOF
		KT_FAILED=$((KT_FAILED + 1))
}

# handles_check SERIES: what guest/scenario-daemon.sh's handles_phase
# stored, on kernels with 6.19's show_handles (6.12-handles); a skip
# elsewhere. The CPU figures are printed, not asserted.
handles_check() {
	local series=$1
	if [[ ! -f $KT_FILES/handles-cpu.txt ]]; then
		if [[ -f $KT_FILES/auto-status.json ]]; then
			kt_skip "$series: handle-keyed stacks reads" \
				"no page_owner_stacks/show_handles on this kernel (6.19+)"
		fi
		return 0
	fi
	python3 - "$series" "$KT_FILES" "$KT_DIR" <<'PYEOF' ||
import glob, importlib.util, json, os, sys
sys.path.insert(0, sys.argv[3])
from ktcheck import Tap
t = Tap('handles')
series, d, load, ok = t.series, t.dir, t.load, t.ok
spec = importlib.util.spec_from_file_location('fold', os.path.join(sys.argv[3], 'handles-fold.py'))
fold = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fold)
# auto mode on this kernel: its stacks reads are show_handles
sr = load('auto-status.json').get('stacks_read') or {}
ok(sr.get('file') == 'show_handles' and sr.get('key') == 'boot and handle',
   'auto mode reads show_handles, keyed by boot and handle (status: %s, %s)'
   % (sr.get('file'), sr.get('key')))
fmts = sorted({s['format'] for s in load('auto-snapshots.json')['snapshots'] if s['kind'] == 'stacks'})
ok(fmts == ['show_handles'], 'every stacks snapshot of auto mode is a show_handles read (%s)' % fmts)
# a released kernel's page_owner takes no per-open filter: the full reads
# went on unfiltered, and the status says why
pf = load('full-status.json').get('page_owner_filter') or {}
ok(pf.get('taken') is False and 'failed' in pf.get('why_not', '') and
   load('full-status.json')['snapshots']['failed'] == 0,
   'the kernel refused the per-open filter %s, the full reads fell back to no filter (%s)'
   % (pf.get('filter'), pf.get('why_not')))
# stacks mode, snapshot by snapshot
n = len(glob.glob(os.path.join(d, 'handles-status-*.json')))
sts = [load('handles-status-%d.json' % i)['stacks_read'] for i in range(n)]
ok(n > 2 and all(s and s['file'] == 'show_handles' for s in sts), 'stacks mode: every read is show_handles')
ok(len({s['boot'] for s in sts}) == 1 and [s['reads'] for s in sts] == list(range(1, n + 1)),
   'one boot, one handle map, kept across the %d snapshots (reads %s)' % (n, [s['reads'] for s in sts]))
steps = [(b['resolve_reads'] - a['resolve_reads'], b['new_handles_last'] + b['unresolved_last'])
         for a, b in zip(sts, sts[1:])]
ok(sts[0]['resolve_reads'] == 1 and all(dr in (0, 1) and (dr == 1) == (new > 0) for dr, new in steps),
   'show_stacks_handles was read exactly when show_handles listed new handles '
   '(per snapshot: resolve reads, new handles: %s)' % steps)
ok(sts[-1]['resolve_reads'] < sts[-1]['reads'],
   'some snapshots needed show_handles alone (%d resolve reads in %d reads; %d handles known)'
   % (sts[-1]['resolve_reads'], sts[-1]['reads'], sts[-1]['handles_known']))
ok(sts[-1]['unresolved_total'] == 0, 'every handle was resolved (%d unresolved)' % sts[-1]['unresolved_total'])
# the stop rounds (stacks mode) stopped it inside the handles files too:
# each such read was drained to its end before the close
drains = open(os.path.join(d, 'stop-daemon.log')).read().count
ok(drains('read the rest of page_owner_stacks/show_handles') +
   drains('read the rest of page_owner_stacks/show_stacks_handles') > 0 and
   drains('could not read page_owner_stacks') == 0,
   'stopped mid-read, the daemon read show_handles / show_stacks_handles to the end (%d, %d times)'
   % (drains('page_owner_stacks/show_handles'), drains('page_owner_stacks/show_stacks_handles')))
g = load('handles-growers.json')['groups']
ok(g and g[0]['culprit'] == 'leaker_leak_pages',
   "the module's leak is the top grower of the handles reads (%s)" % (g[0]['culprit'] if g else None))
# the compared moment: the daemon's stacks against a full read just after
module = int(open(os.path.join(d, 'handles-module.txt')).read().split()[0])
full = fold.fold_dump(os.path.join(d, 'handles-compare.page_owner'))
daemon = fold.fold_folded(os.path.join(d, 'handles-folded.txt'))
keys = set(full) | set(daemon)
same = [k for k in keys if full.get(k, 0) == daemon.get(k, 0)]
moved = sum(abs(full.get(k, 0) - daemon.get(k, 0)) for k in keys)
total = sum(full.values())
leak = [k for k in keys if 'leaker_leak_pages' in k]
ok(leak and all(full.get(k, 0) == daemon.get(k, 0) for k in leak) and
   sum(daemon.get(k, 0) for k in leak) == module,
   "the leak's stacks: the handles read, the full read and the module agree (%d pages)" % module)
ok(len(same) >= 0.9 * len(keys),
   '%d of %d stacks have the same pages in the handles read and the full read' % (len(same), len(keys)))
ok(moved <= max(256, total // 10),
   'the other stacks differ by %d pages in all (of %d): what was allocated or freed '
   'between the two reads' % (moved, total))
snap = load('handles-snapshot.json')
cpu = {l.split()[0]: float(l.split()[1]) for l in open(os.path.join(d, 'handles-cpu.txt'))}
share = sum(dr for dr, _ in steps) / max(1, len(steps))
print('# %s: kernel CPU per read (system time; 20 reads each, 3 of page_owner): show_handles '
      '%.4f s, show_stacks_handles %.4f s, show_stacks %.4f s, page_owner %.4f s'
      % (series, cpu['show_handles'], cpu['show_stacks_handles'], cpu['show_stacks'], cpu['page_owner']))
print('# %s: kernel CPU per snapshot: handles path %.4f s (show_handles, and show_stacks_handles '
      'in %.0f%% of snapshots) vs show_stacks %.4f s vs full read %.4f s; the daemon\'s compared '
      'handles snapshot: %.4f s system, %.4f s user, %d bytes read'
      % (series, cpu['show_handles'] + share * cpu['show_stacks_handles'], 100 * share,
         cpu['show_stacks'], cpu['page_owner'], snap['cpu_sys_s'], snap['cpu_user_s'], snap['bytes']))
t.exit()
PYEOF
		KT_FAILED=$((KT_FAILED + 1))
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
}

# shellcheck disable=SC2086
[[ $# -gt 0 ]] || set -- ${PAGE_OWNERD_KERNELS:-$KT_SERIES_ALL}
kt_workdir
work=$KT_WORK
kt_timer_start total

ready=()
declare -A dready=()
for series in "$@"; do
	if prepare_series "$series"; then
		ready+=("$series")
		daemon_prepare "$series" && dready[$series]=1
	fi
done

# Phase 2: the guests boot in parallel (TCG keeps each on one host CPU).
declare -A pids=() dpids=() dbooted=()
kt_timer_start guests
for series in "${ready[@]}"; do
	kt_scenario_boot "$series" "$work/$series" >"$work/$series/boot.log" 2>&1 &
	pids[$series]=$!
	if [[ -n ${dready[$series]:-} ]]; then
		daemon_boot "$series" >"$work/daemon-$series.boot.log" 2>&1 &
		dpids[$series]=$!
	fi
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
	if [[ -n ${dpids[$series]:-} ]]; then
		if wait "${dpids[$series]}"; then
			dbooted[$series]=1
		fi
		cat "$work/daemon-$series.boot.log" >&2
	fi
done
kt_timer_stop guests

for series in "${booted[@]}"; do
	check_series "$series"
done
for series in "${ready[@]}"; do
	daemon_check "$series" "${dbooted[$series]:-0}"
done
kt_timer_stop total
kt_finish
