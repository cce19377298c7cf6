#!/bin/bash
# queries.sh: the leak and hogger answers (top, top-growers, leaks, history,
# stack, diff, export, watch) on replayed captures whose history is known.
# Every number is checked against a truth computed from the capture files
# themselves by a separate reader (below), never from the daemon's own
# output; then the edge cases and their exit statuses and messages.
. "$(dirname "$0")/lib.bash"

export CTL T
PAGE=$(getconf PAGESIZE)

# ---- the truth, from the files ---------------------------------------------
cat >"$T/truth.py" <<'PYEOF'
# truth.py CAPDIR: what each dump of a capture holds, read from the files
# alone (not by page-ownerd's parser): per stack signature (frames without
# offsets, one a line) pages and blocks, and what was allocated and freed
# since the dump before (block identity = PFN and ts; none across a boot).
import json, os, re, sys
cap = sys.argv[1]
files = sorted(f for f in os.listdir(cap) if f.endswith('.page_owner'))
OFF = re.compile(r'\+0x[0-9a-f]+/0x[0-9a-f]+')
out = {'files': files, 'boot': [], 'total': [], 'stacks': [], 'alloc': [], 'freed': [],
       'frames': {}, 'comm': {}}
prev, prev_boot = None, None
for f in files:
    meta = dict(l.split('=', 1) for l in open(os.path.join(cap, f[:-11] + '.meta')).read().split())
    blocks, stacks = {}, {}
    for rec in open(os.path.join(cap, f)).read().split('\n\n'):
        lines = rec.strip('\n').split('\n')
        if not lines or not lines[0].startswith('Page allocated'):
            continue
        order = int(re.search(r'order (\d+),', lines[0]).group(1))
        ts = int(re.search(r', ts (\d+) ns', lines[0]).group(1))
        comm = re.search(r'tgid \d+ \((.*)\), ts ', lines[0]).group(1)
        pfn = int(re.match(r'PFN (0x[0-9a-f]+|\d+)', lines[1]).group(1), 0)
        frames = [l.strip() for l in lines[2:] if l.startswith(' ') and '+0x' in l]
        sig = '\n'.join(OFF.sub('', fr) for fr in frames)
        pages = 1 << order
        blocks[(pfn, ts)] = (sig, pages)
        s = stacks.setdefault(sig, [0, 0])
        s[0] += pages
        s[1] += 1
        out['frames'].setdefault(sig, frames)
        c = out['comm'].setdefault(f, {}).setdefault(sig, {})
        c[comm] = c.get(comm, 0) + pages
    alloc, freed = {}, {}
    if prev is not None and meta['boot_id'] == prev_boot:
        for k, (sig, p) in blocks.items():
            if k not in prev:
                alloc[sig] = alloc.get(sig, 0) + p
        for k, (sig, p) in prev.items():
            if k not in blocks:
                freed[sig] = freed.get(sig, 0) + p
    out['boot'].append(meta['boot_id'])
    out['total'].append(sum(p for _, p in blocks.values()))
    out['stacks'].append(stacks)
    out['alloc'].append(alloc)
    out['freed'].append(freed)
    prev, prev_boot = blocks, meta['boot_id']
json.dump(out, sys.stdout)
PYEOF

# Shared by the python checks: the client, the truth, TAP lines.
cat >"$T/qlib.py" <<'PYEOF'
import json, os, re, subprocess, sys
CTL, T = os.environ['CTL'], os.environ['T']
SOCK = os.environ['SOCK']
PAGE = os.sysconf('SC_PAGE_SIZE')
LEAK = 'leaker_leak_pages'

def ok(cond, what):
    print(('ok - ' if cond else 'not ok - ') + what)
    sys.stdout.flush()

def ctl(*args):
    r = subprocess.run([CTL, '--socket', SOCK] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError('pageownerctl %s: exit %d: %s' % (' '.join(args), r.returncode, r.stderr))
    return r.stdout

def cj(*args):
    return json.loads(ctl('--json', *args))

_sig = {}
def sig(stack_id):
    """A stack id's signature as the truth spells it (frames, one a line)."""
    if stack_id not in _sig:
        _sig[stack_id] = '\n'.join(cj('stack', stack_id)['signature'])
    return _sig[stack_id]

class Truth:
    def __init__(self, path):
        self.t = json.load(open(path))
        self.n = len(self.t['files'])
        self.leak = next(s for s in self.t['frames'] if LEAK in s)
    # snapshot ids are 1..n, one per file, in order
    def pages(self, s, i):
        return self.t['stacks'][i - 1].get(s, [0, 0])[0]
    def total(self, i):
        return self.t['total'][i - 1]
    def newboot(self, i):
        return i > 1 and self.t['boot'][i - 1] != self.t['boot'][i - 2]
    def net(self, s, lo, hi):
        """growth in (lo, hi], no change counted across a boot"""
        return sum(self.pages(s, i) - self.pages(s, i - 1) for i in range(lo + 1, hi + 1)
                   if not self.newboot(i))
    def alloc(self, s, lo, hi):
        return sum(self.t['alloc'][i - 1].get(s, 0) for i in range(lo + 1, hi + 1))
    def freed(self, s, lo, hi):
        return sum(self.t['freed'][i - 1].get(s, 0) for i in range(lo + 1, hi + 1))
    def sigs(self):
        return set(self.t['frames'])
PYEOF

# pytap ARGS... <<'EOF' python EOF: run checks that print TAP lines
pytap() {
	local rc
	SOCK="$SOCK" PYTHONPATH="$T" "$PY" - "$@" >"$T/py.tap" 2>&1
	rc=$?
	cat "$T/py.tap"
	grep -q '^not ok' "$T/py.tap" && _failed=1
	if [ $rc -ne 0 ]; then
		not_ok "python checks ended with status $rc"
		sed 's/^/#   /' "$T/py.tap" | tail -20
	fi
}
# err_has TEXT: the last expect_status's stderr says TEXT
err_has() { grep -qF -- "$1" "$T/err"; }

# ---- capture A: a steady leak among churn and a big stable hogger -----------
capA="$T/capA"
make_capture "$capA" churn:300 leak:2000 churn:300 churn:300 leak:5000 churn:300 same
"$PY" "$T/truth.py" "$capA" >"$T/truthA.json"
if ! start_daemon A --source "$capA" --interval 1; then
	not_ok "page-ownerd starts on capture A"
	done_testing
fi
check "capture A is replayed to its end (8 snapshots)" \
	wait_status 'd["source"].get("replay", {}).get("done") and d["snapshots"]["stored"] == 8'

pytap "$T/truthA.json" <<'PYEOF'
import sys
from qlib import *
tr = Truth(sys.argv[1])
L, n = tr.leak, tr.n
REG = next(s for s in tr.sigs() if s.startswith('register_early_stack'))
ok(n == 8 and len(cj('snapshots')['snapshots']) == n, 'one snapshot per dump')

# top: who holds what at the end, and at an earlier point
top = cj('top', '--limit', '10')
ok(sig(top['groups'][0]['stack_id']) == L and top['groups'][0]['culprit'] == LEAK,
   'top: leaker_leak_pages holds the most at the end')
ok(top['groups'][0]['pages'] == tr.pages(L, n) == 9000, 'top: the leak holds exactly %d pages' % tr.pages(L, n))
ok(top['total_pages'] == tr.total(n), 'top: the total is the last dump\'s %d pages' % tr.total(n))
bad = [(g['culprit'], g['pages'], tr.pages(sig(g['stack_id']), n)) for g in top['groups']
       if g['pages'] != tr.pages(sig(g['stack_id']), n)]
ok(not bad, 'top: every row\'s pages equal the dump\'s %s' % bad[:3])
ok([g['pages'] for g in top['groups']] == sorted([g['pages'] for g in top['groups']], reverse=True),
   'top: largest first')
reg = [g for g in top['groups'] if sig(g['stack_id']) == REG]
ok(len(reg) == 1 and reg[0]['pages'] == tr.pages(REG, n) == 4693,
   'top: the stable hogger register_early_stack holds its 4693 pages')
ok(abs(sum(g['share'] for g in cj('top', '--limit', '10000')['groups']) - 1) < 1e-9,
   'top --limit 10000: the shares add up to 1')
t3 = cj('top', '--at', '3', '--limit', '3')
ok(t3['at'] == 3 and [g['pages'] for g in t3['groups'] if g['culprit'] == LEAK] == [tr.pages(L, 3)],
   'top --at 3: the leak held %d pages then' % tr.pages(L, 3))
bymod = {g['module']: g['pages'] for g in cj('top', '--by', 'module')['groups']}
ok(bymod.get('leaker') == tr.pages(L, n), 'top --by module: module leaker holds the leak\'s pages')
m = cj('top', '--match', 'culprit=leaker_*')['groups']
ok(len(m) == 1 and m[0]['culprit'] == LEAK, 'top --match culprit=leaker_*: only the leak')

# top-growers over several windows: the leak first, with its exact growth
for lo, hi in ((1, 8), (1, 3), (3, 6), (2, 5)):
    g = cj('top-growers', '--since', str(lo), '--until', str(hi), '--limit', '10000')
    first = g['groups'][0]
    ok(first['culprit'] == LEAK and first['net_pages'] == tr.net(L, lo, hi) and
       first['allocated_pages'] == tr.alloc(L, lo, hi) and first['freed_pages'] == 0,
       'top-growers %d..%d: the leak first, +%d pages, all allocated, none freed'
       % (lo, hi, tr.net(L, lo, hi)))
    bad = [(x['culprit'], x['net_pages'], tr.net(sig(x['stack_id']), lo, hi))
           for x in g['groups'][:15]
           if (x['net_pages'], x['allocated_pages'], x['freed_pages'], x['pages_now']) !=
           (tr.net(sig(x['stack_id']), lo, hi), tr.alloc(sig(x['stack_id']), lo, hi),
            tr.freed(sig(x['stack_id']), lo, hi), tr.pages(sig(x['stack_id']), hi))]
    ok(not bad, 'top-growers %d..%d: growth, allocated, freed and size now as the dumps say %s'
       % (lo, hi, bad[:2]))
    want = sum(1 for s in tr.sigs() if tr.net(s, lo, hi) > 0)
    ok(len(g['groups']) == want, 'top-growers %d..%d: every one of the %d stacks that grew, no other'
       % (lo, hi, want))
g = cj('top-growers', '--since', '6')
ok(LEAK not in [x['culprit'] for x in g['groups']], 'top-growers --since 6: the leak did not grow after 6')
spark = cj('top-growers', '--limit', '1')['groups'][0]['sparkline']
ok(spark == [tr.pages(L, i) for i in range(1, n + 1)], 'top-growers: the leak\'s sparkline is its size at each snapshot')

# leaks: the leak is the only suspect; churn and the hogger are not
lk = cj('leaks', '--limit', '10000')
ok([x['culprit'] for x in lk['groups']] == [LEAK] and lk['groups'][0]['suspect'],
   'leaks: leaker_leak_pages is the one suspect')
ev = lk['groups'][0]['evidence']
grew = sum(1 for i in range(2, n + 1) if tr.pages(L, i) > tr.pages(L, i - 1))
ok((ev['net_pages'], ev['allocated_pages'], ev['freed_pages'], ev['intervals_grew'],
    ev['intervals_shrank'], ev['steadiness'], ev['freed_ratio']) ==
   (tr.net(L, 1, n), tr.alloc(L, 1, n), 0, grew, 0, 1.0, 0.0),
   'leaks: the evidence (net %d, allocated %d, freed 0, grew in %d intervals, never shrank)'
   % (tr.net(L, 1, n), tr.alloc(L, 1, n), grew))
ok(ev['oldest_block_age_s'] > 0 and ev['growing_for_s'] >= 0 and ev['significance'] >= 4,
   'leaks: oldest block age, growing time and significance are given')
churny = {s for s in tr.sigs() if s != L and (tr.alloc(s, 1, n) or tr.freed(s, 1, n))}
grown = {s for s in churny if tr.net(s, 1, n) > 0 and tr.freed(s, 1, n) == 0}
ok(len(churny) > 50 and len(grown) > 5,
   'the capture churns: %d stacks allocated or freed, %d of them only grew' % (len(churny), len(grown)))
every = cj('leaks', '--all', '--limit', '10000')['groups']
sus = [sig(x['stack_id']) for x in every if x['suspect']]
ok(sus == [L] and not churny & set(sus), 'leaks --all: no churning stack is a suspect, even one that only grew')
order = [sig(x['stack_id']) for x in every]
ok(REG in order and order.index(L) < order.index(REG) and
   not every[order.index(REG)]['suspect'] and every[order.index(REG)]['score'] == 0,
   'leaks --all: the stable hogger ranks below the leak, score 0, not a suspect')
ok([x['score'] for x in every] == sorted((x['score'] for x in every), reverse=True),
   'leaks --all: ranked by score')
ok(cj('leaks', '--since', '6')['groups'] == [], 'leaks --since 6: no suspect where nothing leaked')
# one interval is one rise: never a suspect on its own (a single burst,
# one big block); two intervals that both grew are a steady grower
one = cj('leaks', '--all', '--since', '2', '--until', '3')['groups']
ok(cj('leaks', '--since', '2', '--until', '3')['groups'] == [] and one and
   one[0]['culprit'] == LEAK and not one[0]['suspect'] and
   one[0]['evidence']['not_suspect_because'] == 'grew in fewer than two intervals',
   'leaks 2..3: one interval of growth is no suspect; --all ranks the leak first and says why')
def grew_in(lo, hi):
    return sum(1 for i in range(lo + 1, hi + 1) if tr.pages(L, i) > tr.pages(L, i - 1))
two = [(lo, min(hi for hi in range(lo + 1, n + 1) if grew_in(lo, hi) >= 2))
       for lo in range(1, n) if grew_in(lo, n) >= 2]
bad = [w for w in two if [x['culprit'] for x in cj('leaks', '--since', str(w[0]), '--until',
                                                   str(w[1]))['groups']][:1] != [LEAK]]
ok(two and not bad, 'leaks in the shortest windows that saw the leak grow twice: the leak '
   'first (%s; wrong: %s)' % (two, bad))
ok([x['module'] for x in cj('leaks', '--by', 'module')['groups']] == ['leaker'],
   'leaks --by module: the module leaker')

# history: the leak's size at every snapshot, as the dumps say
sid = top['groups'][0]['stack_id']
h = cj('history', sid[:6])
ok([p['pages'] for p in h['points']] == [tr.pages(L, i) for i in range(1, n + 1)],
   'history %s: pages at each snapshot as truth.json' % sid[:6])
ok([p['allocated'] for p in h['points']] == [0] + [tr.alloc(L, i - 1, i) for i in range(2, n + 1)] and
   all(p['freed'] == 0 for p in h['points']), 'history: allocated and freed per interval')
truthjson = json.load(open(os.path.join(os.path.dirname(sys.argv[1]), 'capA', 'truth.json')))
ok([p['pages'] for p in h['points']] == [x['leaker_pages'] for x in truthjson],
   'history: the leak\'s pages are mkcapture\'s truth.json leaker_pages')
hc = cj('history', 'culprit=' + LEAK)
ok([p['pages'] for p in hc['points']] == [p['pages'] for p in h['points']],
   'history culprit=leaker_leak_pages: the same points')
hw = cj('history', '--since', '3', '--until', '6', sid)
ok([(p['snapshot'], p['pages']) for p in hw['points']] == [(i, tr.pages(L, i)) for i in range(3, 7)],
   'history --since 3 --until 6: points 3 to 6')
hm = cj('history', 'module=leaker')
ok([p['pages'] for p in hm['points']] == [tr.pages(L, i) for i in range(1, n + 1)],
   'history module=leaker: the module series')

# stack: frames and breakdown
st = cj('stack', sid)
ok('\n'.join(st['signature']) == L and st['pages_now'] == tr.pages(L, n) and
   [s['frames'] for s in st['stacks']] == [tr.t['frames'][L]],
   'stack --json: the signature, the exact frames, pages now')
comm = tr.t['comm'][tr.t['files'][-1]][L]
ok({b['comm']: b['pages'] for b in st['breakdown']['comm']} == comm and
   [(b['order'], b['pages']) for b in st['breakdown']['order']] == [('0', tr.pages(L, n))],
   'stack: the breakdown by comm %s and order' % comm)
txt = ctl('stack', sid[:8])
ok(all(('    ' + f + '\n') in txt for f in tr.t['frames'][L]) and
   'leaker_leak_pages [leaker]' in txt and 'by comm' in txt and 'by gfp' in txt and
   ('pages now:      %d' % tr.pages(L, n)) in txt,
   'stack (table): header, every frame of the dump, the breakdown tables')

# diff: two points, the largest change first, numbers as the dumps say
for a, b in ((1, 8), (3, 7)):
    d = cj('diff', '--limit', '40', str(a), str(b))
    rows = [(sig(x['stack_id']), x) for x in d['groups']]
    bad = [(x['culprit'], x['pages_a'], x['pages_b'])
           for s, x in rows
           if (x['pages_a'], x['pages_b'], x['net_pages'], x['allocated_pages'], x['freed_pages']) !=
           (tr.pages(s, a), tr.pages(s, b), tr.pages(s, b) - tr.pages(s, a), tr.alloc(s, a, b),
            tr.freed(s, a, b))]
    ok(not bad, 'diff %d %d: A, B, change, allocated and freed as the dumps say %s' % (a, b, bad[:2]))
    ch = sorted((abs(tr.pages(s, b) - tr.pages(s, a)) for s in tr.sigs()), reverse=True)
    ok([abs(x['net_pages']) for x in d['groups']] == ch[:len(d['groups'])] and len(d['groups']) == 40,
       'diff %d %d: the 40 largest changes, largest first' % (a, b))
    ok((d['total_pages_a'], d['total_pages_b']) == (tr.total(a), tr.total(b)),
       'diff %d %d: totals %d and %d' % (a, b, tr.total(a), tr.total(b)))
ok(cj('diff', '8', '1')['reversed'] is True, 'diff 8 1: says B is older')
PYEOF

# ---- the tables people read -----------------------------------------------------
ctl top --limit 3 >"$T/top.txt"
check "top: a header PAGES SIZE SHARE STACK CULPRIT MODULE, 3 rows, a summary" \
	[ "$(head -1 "$T/top.txt" | tr -s ' ')" = "PAGES SIZE SHARE STACK CULPRIT MODULE" -a "$(wc -l <"$T/top.txt")" = 5 ]
check "top: the leak's row with its size in MiB and a 12-digit stack id" \
	grep -qE '^ *9000 +35\.2 MiB +[0-9.]+% +[0-9a-f]{12} +leaker_leak_pages +leaker$' "$T/top.txt"
ctl --no-headers top --limit 3 >"$T/top-nh.txt"
check "--no-headers: only the rows" [ "$(wc -l <"$T/top-nh.txt")" = 3 ]
check "--json after the command equals the global --json" \
	cmp -s <(ctl --json top) <(ctl top --json)
LANG=C.UTF-8 LC_ALL= LC_CTYPE= ctl top-growers --limit 1 >"$T/g-utf8.txt"
check "top-growers: the header names GROWTH ... SPARKLINE STACK CULPRIT MODULE" \
	[ "$(head -1 "$T/g-utf8.txt" | tr -s ' ')" = "GROWTH SIZE ALLOC FREED RATE/h NOW SPARKLINE STACK CULPRIT MODULE" ]
check "top-growers: a UTF-8 locale draws the sparkline with blocks" grep -q '▁▁▃▃▃███' "$T/g-utf8.txt"
LANG=C LC_ALL= LC_CTYPE= ctl growers --limit 1 >"$T/g-ascii.txt"
check "growers (alias): the C locale draws it in ASCII" grep -qE '^ *\+7000 .*  :::###  ' "$T/g-ascii.txt"
check "the C locale prints no byte above ASCII" \
	"$PY" -c 'import sys; sys.exit(any(b > 127 for b in open(sys.argv[1], "rb").read()))' "$T/g-ascii.txt"
LC_ALL=C LANG=C.UTF-8 ctl growers --limit 1 | grep -q ':::###'
check "LC_ALL decides over LANG" [ $? = 0 ]
ctl leaks >"$T/leaks.txt"
check "leaks: SCORE, the evidence columns, the leak's row" \
	sh -c "head -1 '$T/leaks.txt' | tr -s ' ' | grep -qx 'SCORE GROWTH SLOPE/h STEADY FREED/ALLOC OLDEST GROWING SPARKLINE STACK CULPRIT MODULE' &&
	grep -qE '^ *7000 +\+27\.3 MiB .* 100% +0% .* leaker_leak_pages +leaker\$' '$T/leaks.txt'"
ctl history culprit=leaker_leak_pages >"$T/hist.txt"
check "history: TIME PAGES SIZE DELTA ALLOC FREED rows and a sparkline line" \
	sh -c "grep -q 'SNAPSHOT  TIME .* PAGES .* SIZE .* DELTA .* ALLOC .* FREED' '$T/hist.txt' &&
	grep -qE '^ +6  [0-9T:Z-]+ +9000 +35\.2 MiB +\+5000 +5000 +0\$' '$T/hist.txt' &&
	grep -q '^sparkline: ' '$T/hist.txt'"
ctl diff 1 8 --limit 2 >"$T/diff.txt"
check "diff: CHANGE A PAGES B PAGES ALLOC FREED, the leak first" \
	sh -c "head -1 '$T/diff.txt' | grep -q 'CHANGE .* A PAGES  B PAGES  ALLOC  FREED  STACK' &&
	sed -n 2p '$T/diff.txt' | grep -qE '^ *\+7000 +\+27\.3 MiB +2000 +9000 +7000 +0 '"
# colours only on a terminal, and not with NO_COLOR
cat >"$T/onpty.py" <<'PYEOF'
import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdout=s, stderr=subprocess.DEVNULL)
os.close(s)
out = b''
while True:
    try:
        b = os.read(m, 65536)
    except OSError:
        break
    if not b:
        break
    out += b
p.wait()
sys.stdout.write('escapes' if b'\x1b[' in out else 'plain')
PYEOF
check "on a terminal the growth is coloured" [ "$(env -u NO_COLOR "$PY" "$T/onpty.py" "$CTL" --socket "$SOCK" growers --limit 2)" = escapes ]
check "NO_COLOR turns colours off on a terminal" [ "$(NO_COLOR=1 "$PY" "$T/onpty.py" "$CTL" --socket "$SOCK" growers --limit 2)" = plain ]
check "no colours into a pipe" sh -c "! ctl_out=\$('$CTL' --socket '$SOCK' growers --limit 2) || ! printf '%s' \"\$ctl_out\" | grep -q \$(printf '\033')"

# ---- export ------------------------------------------------------------------------
ctl export --format prometheus --limit 2 >"$T/prom.txt"
pytap "$T/truthA.json" "$T/prom.txt" <<'PYEOF'
import sys
from qlib import *
tr = Truth(sys.argv[1])
lines = open(sys.argv[2]).read().splitlines()
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+]+)$')
bad = [l for l in lines if not (l.startswith('# HELP ') or l.startswith('# TYPE ') or sample.match(l))]
ok(lines and not bad, 'prometheus: every line a comment or name{labels} value (no timestamp) %s' % bad[:2])
names = {sample.match(l).group(1) for l in lines if not l.startswith('#')}
ok(names and all(x.startswith('pageowner_') for x in names), 'prometheus: every metric is pageowner_*')
typed = {l.split()[2] for l in lines if l.startswith('# TYPE ')}
ok(names <= typed, 'prometheus: every metric has a # TYPE line')
stack = [l for l in lines if l.startswith('pageowner_stack_bytes{')]
ok(len(stack) == 3 and stack[-1].startswith('pageowner_stack_bytes{stack="other"'),
   'prometheus --limit 2: two stacks and an other bucket')
val = lambda l: int(l.rsplit(' ', 1)[1])
total = [val(l) for l in lines if l.startswith('pageowner_allocated_bytes ')]
ok(total == [tr.total(tr.n) * PAGE] and sum(map(val, stack)) == total[0],
   'prometheus: stacks plus other add up to all %d pages in bytes' % tr.total(tr.n))
leak = [l for l in stack if 'culprit="leaker_leak_pages"' in l]
ok(len(leak) == 1 and val(leak[0]) == tr.pages(tr.leak, tr.n) * PAGE and
   re.search(r'stack="[0-9a-f]{12}"', leak[0]), 'prometheus: the leak\'s bytes, a short stack id label')
for dim in ('module', 'comm', 'memcg', 'order'):
    v = [l for l in lines if l.startswith('pageowner_%s_bytes{' % dim)]
    ok(v and sum(map(val, v)) == total[0], 'prometheus: pageowner_%s_bytes adds up to the total' % dim)
PYEOF
ctl export --format folded >"$T/folded.txt"
ctl export --format folded --a 1 --b 8 >"$T/folded-diff.txt"
ctl export --format folded --at 3 >"$T/folded-3.txt"
pytap "$T/truthA.json" "$T/folded.txt" "$T/folded-diff.txt" "$T/folded-3.txt" <<'PYEOF'
import sys
from qlib import *
tr = Truth(sys.argv[1])
one = open(sys.argv[2]).read().splitlines()
two = open(sys.argv[3]).read().splitlines()
at3 = open(sys.argv[4]).read().splitlines()
ok(one and all(re.match(r'^[^ ]+ [0-9]+$', l) for l in one), 'folded: every line is frames, a space, a number')
ok(sum(';' in l for l in one) > len(one) // 2, 'folded: frames joined with ";"')
ok(sum(int(l.rsplit(' ', 1)[1]) for l in one) == tr.total(tr.n), 'folded: the counts add up to the last dump\'s pages')
leak = [l for l in one if 'leaker_leak_pages' in l]
ok(len(leak) == 1 and leak[0].endswith(' %d' % tr.pages(tr.leak, tr.n)) and
   leak[0].startswith('entry_SYSCALL_64_after_hwframe;'), 'folded: the leak\'s line, root frame first')
ok(two and all(re.match(r'^[^ ]+ [0-9]+ [0-9]+$', l) for l in two), 'folded --a --b: two counts per line (difffolded)')
ok(sum(int(l.split(' ')[1]) for l in two) == tr.total(1) and sum(int(l.split(' ')[2]) for l in two) == tr.total(8),
   'folded --a 1 --b 8: each column adds up to its dump')
ok([l.split(' ', 1)[1] for l in two if 'leaker_leak_pages' in l] == ['%d %d' % (tr.pages(tr.leak, 1), tr.pages(tr.leak, 8))],
   'folded --a 1 --b 8: the leak went from 2000 to 9000')
ok([l.rsplit(' ', 1)[1] for l in at3 if 'leaker_leak_pages' in l] == [str(tr.pages(tr.leak, 3))],
   'folded --at 3: the leak as it was then')
j = json.loads(ctl('export', '--format', 'json', '--limit', '2'))
ok(isinstance(j, list) and 'leaker_leak_pages' in j[0]['target'] and
   [v for v, _ in j[0]['datapoints']] == [tr.pages(tr.leak, i) * PAGE for i in range(1, tr.n + 1)],
   'export --format json: Grafana targets, the leak\'s bytes at each snapshot')
snaps = sorted(cj('snapshots')['snapshots'], key=lambda s: s['id'])
ok([t for _, t in j[0]['datapoints']] == [int(s['unix_time'] * 1000) for s in snaps],
   'export --format json: timestamps are the snapshots\' times in ms')
PYEOF
# --output replaces the file atomically (a rename: a new inode), no .tmp left
mkdir -p "$T/textfile"
echo "old" >"$T/textfile/po.prom"
ino=$(stat -c %i "$T/textfile/po.prom")
echo "stale" >"$T/textfile/po.prom.tmp"
expect_status 0 "export --output FILE" ctl export --format prometheus --limit 2 --output "$T/textfile/po.prom"
check "--output: FILE holds what stdout would have" cmp -s "$T/textfile/po.prom" "$T/prom.txt"
check "--output: FILE was replaced by a rename, not rewritten in place" [ "$(stat -c %i "$T/textfile/po.prom")" != "$ino" ]
check "--output: no FILE.tmp is left behind" [ ! -e "$T/textfile/po.prom.tmp" ]
check "--output: FILE is readable by node_exporter (0644)" [ "$(stat -c %a "$T/textfile/po.prom")" = 644 ]
expect_status 1 "export --output into a missing directory fails" \
	ctl export --format folded --output "$T/nodir/x.folded"
check "... and says which file it could not create" err_has "cannot create '$T/nodir/x.folded.tmp'"
expect_status 2 "export without --format" ctl export
check "... says --format is required" err_has "--format is required"
expect_status 2 "export --format xml" ctl export --format xml
expect_status 2 "export --format prometheus --since 2 (not a prometheus option)" ctl export --format prometheus --since 2
check "... says what prometheus takes" err_has "--since does not apply to --format prometheus"
expect_status 2 "export --format folded --a 1 (without --b)" ctl export --format folded --a 1
expect_status 2 "export --format json --at 3" ctl export --format json --at 3

# ---- windows and errors -------------------------------------------------------------
expect_status 0 "top-growers on a one-snapshot window answers" ctl top-growers --since 8
check "... and says the window holds one snapshot" grep -q 'the window holds one snapshot (8)' "$T/out"
check "... --json: no group" [ "$(ctl --json top-growers --since 8 >"$T/g8.json"; pyjson "$T/g8.json" '(d["groups"], d["window"]["snapshots"])')" = "([], 0)" ]
expect_status 0 "leaks on a one-snapshot window" ctl leaks --since 8
check "history on a one-snapshot window: one point" [ "$(ctl --json history --since 8 culprit=leaker_leak_pages >"$T/h8.json"; pyjson "$T/h8.json" '[p["pages"] for p in d["points"]]')" = "[9000]" ]
expect_status 1 "an unknown stack id is refused" ctl stack ffffffff
check "... no stack 'ffffffff'" err_has "no stack 'ffffffff' in the history"
expect_status 1 "stack with a non-hex id" ctl stack zz
check "... is not a stack id" err_has "'zz' is not a stack id"
expect_status 1 "history of an unknown stack prefix" ctl history 0000
expect_status 1 "history of an unknown series kind" ctl history color=red
check "... names the kinds" err_has "'color' is not a series kind"
expect_status 2 "history without a series" ctl history
expect_status 2 "stack with two ids" ctl stack 849b fc7e
expect_status 1 "--since yesterday is refused" ctl top-growers --since yesterday
check "... with the forms it accepts" err_has "cannot read time 'yesterday'"
expect_status 1 "--until after --since: an empty window" ctl leaks --since 6 --until 3
check "... says so" err_has "no snapshot in that window"
expect_status 1 "--since a snapshot that does not exist" ctl leaks --since 99
check "... names the stored range" err_has "no snapshot 99 (stored: 1 to 8)"
expect_status 1 "--by colour is refused" ctl top --by colour
check "... names the dimensions" err_has "by: 'colour' is not one of stack, culprit, module, comm, memcg, order"
expect_status 1 "leaks --by comm is refused" ctl leaks --by comm
expect_status 1 "--match on the wrong dimension" ctl top --match comm=init
check "... says which dimension to group by" err_has "group by comm instead"
expect_status 0 "--match on the grouped dimension" ctl top --by comm --match 'comm=ini*'
check "... keeps only the matching group" [ "$(tail -n +2 "$T/out" | head -n -1 | awk '{print $NF}')" = init ]
expect_status 2 "--match without '='" ctl top --match init
expect_status 1 "--limit 0 is refused" ctl top --limit 0
check "... with the range" err_has "limit must be an integer from 1 to 10000"
expect_status 1 "--limit 10001 is refused" ctl top-growers --limit 10001
expect_status 0 "--limit 10000 is fine" ctl leaks --limit 10000
expect_status 2 "--limit abc is a usage error" ctl top --limit abc
expect_status 1 "diff to a snapshot that does not exist" ctl diff 1 99
expect_status 2 "diff with one point" ctl diff 1
expect_status 1 "diff -100d now: a relative time is an argument, not an option" ctl diff -100d now
check "... it reached the daemon as A" err_has "a: no snapshot that early"
expect_status 0 "diff 1 -- 8 (arguments after --)" ctl diff 1 -- 8
expect_status 2 "an unknown command" "$CTL" --socket "$SOCK" frobnicate
check "... says so" err_has "unknown command 'frobnicate'"
expect_status 2 "an ambiguous prefix" "$CTL" --socket "$SOCK" s
check "... lists the candidates" err_has "ambiguous command 's': could be status snapshots snapshot stack"
expect_status 0 "a unique prefix runs the command" "$CTL" --socket "$SOCK" lea
expect_status 0 "'to' is ambiguous but 'top' is a command" "$CTL" --socket "$SOCK" top
expect_status 2 "top with an argument" ctl top extra

# ---- help ---------------------------------------------------------------------------
for c in top top-growers leaks history stack diff watch export; do
	"$CTL" help "$c" >"$T/help.txt" 2>&1 && "$CTL" "$c" --help >"$T/help2.txt" 2>&1
	check "help $c and $c --help: usage and the options" sh -c "
		grep -q '^usage: pageownerctl .* $c' '$T/help.txt' && cmp -s '$T/help.txt' '$T/help2.txt' &&
		for o in \$('$CTL' help --options $c | grep -vx -- --help); do grep -q -- \"\$o\" '$T/help.txt' || exit 1; done"
done
check "help leaks explains the score" grep -q 'score = net growth in pages x s^2 x r^2' <("$CTL" help leaks)
check "help --commands lists the new commands and the alias" sh -c \
	"'$CTL' help --commands | sort | tr '\n' ' ' | grep -q 'diff export growers help history leaks pin prune snapshot snapshots stack status top top-growers watch'"
check "help --options leaks: one long option a line" [ "$("$CTL" help --options leaks | head -2 | tr '\n' ' ')" = "--all --since " ]
expect_status 2 "help --options of an unknown command" "$CTL" help --options nosuch

# ---- bash completion ------------------------------------------------------------------
comp() { # comp WORD...: what completion offers for the last word
	PATH="$PO_BUILD:$PATH" PAGEOWNERD_SOCKET=$SOCK bash -c '
		. "$1/packaging/bash-completion/pageownerctl"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _pageownerctl
		echo "${COMPREPLY[*]}"' _ "$PO_SRCDIR" pageownerctl "$@"
}
check "completion: commands" [ "$(comp to)" = "top top-growers" ]
check "completion: a command's options" [ "$(comp leaks --a)" = "--all" ]
check "completion: --by values" [ "$(comp top --by c)" = "culprit comm" ]
check "completion: --by for leaks" [ "$(comp leaks --by '')" = "stack culprit module" ]
check "completion: --format values" [ "$(comp export --format p)" = "prometheus pprof" ]
sid=$(ctl --json top --limit 1 >"$T/t1.json"; pyjson "$T/t1.json" 'd["groups"][0]["stack_id"][:12]')
check "completion: stack ids from the daemon" [ "$(comp stack "${sid:0:5}")" = "$sid" ]
check "completion: no daemon, no stack ids, no noise" [ -z "$(comp --socket "$T/none.sock" stack '' 2>&1)" ]

# ---- capture B: a reboot in the window -------------------------------------------------
stop_daemon
capB="$T/capB"
make_capture "$capB" leak:2000 churn:300 reboot leak:500 same
# the reboot's dump holds what a fresh boot holds: the first dump again
cp "$capB/001.page_owner" "$capB/004.page_owner"
"$PY" "$T/truth.py" "$capB" >"$T/truthB.json"
start_daemon B --source "$capB" --interval 1 || not_ok "page-ownerd starts on capture B"
check "capture B is replayed (6 snapshots, a reboot at 4)" \
	wait_status 'd["source"].get("replay", {}).get("done") and d["snapshots"]["stored"] == 6'
pytap "$T/truthB.json" <<'PYEOF'
import sys
from qlib import *
tr = Truth(sys.argv[1])
L, n = tr.leak, tr.n
ok([s['id'] for s in cj('snapshots')['snapshots'] if s['baseline']] == [4, 1], 'snapshots 1 and 4 are baselines')
want = [tr.pages(L, i) for i in range(1, n + 1)]
ok(want == [2000, 4000, 4000, 2000, 4500, 4500], 'the capture: the reboot drops the leak to 2000')
h = cj('history', 'culprit=' + LEAK)
ok([p['pages'] for p in h['points']] == want, 'history across the reboot: %s' % want)
ok([p['new_boot'] for p in h['points']] == [tr.newboot(i) for i in range(1, n + 1)], 'history marks the new boot')
g = cj('top-growers', '--limit', '1')['groups'][0]
ok(g['culprit'] == LEAK and g['net_pages'] == tr.net(L, 1, n) == 4500 and g['pages_now'] == 4500,
   'top-growers across the reboot: growth within each boot (+2000, +2500), none across it')
ok(g['sparkline'] == want, 'top-growers: the sparkline drops at the reboot')
j = json.loads(ctl('export', '--format', 'json', '--match', 'culprit=leaker*'))
ok([v for v, _ in j[0]['datapoints']] == [x * PAGE for x in want], 'export --format json across the reboot')
ok([cj('top', '--at', str(i), '--match', 'culprit=leaker*')['groups'][0]['pages'] for i in (3, 4)] == [4000, 2000],
   'top --at 3 and --at 4: before and after the reboot')
d = cj('diff', '3', '4', '--match', 'culprit=leaker*')['groups'][0]
ok((d['pages_a'], d['pages_b'], d['net_pages'], d['allocated_pages'], d['freed_pages']) == (4000, 2000, -2000, 0, 0),
   'diff 3 4: the reboot\'s change, no allocation or free counted across it')
ok([x['culprit'] for x in cj('leaks')['groups']] == [LEAK], 'leaks across the reboot: the leak')
ht = ctl('history', 'culprit=' + LEAK)
ok('new boot' in ht, 'history (table): the reboot row says so')
PYEOF
stop_daemon

# ---- the real 6.12 capture: a module leaking under a real workload -------------------
real="$PO_SRCDIR/tests/data/capture-6.12"
if ls "$real"/*.page_owner.xz >/dev/null 2>&1; then
	capR="$T/capR"
	mkdir -p "$capR"
	for f in "$real"/*.page_owner.xz "$real"/*.meta.xz "$real"/*.show_stacks.xz; do
		[ -f "$f" ] && xz -dc "$f" >"$capR/$(basename "$f" .xz)"
	done
	"$PY" "$T/truth.py" "$capR" >"$T/truthR.json"
	nR=$(ls "$capR"/*.page_owner | wc -l)
	start_daemon R --source "$capR" --interval 1 || not_ok "page-ownerd starts on the real capture"
	check "the real 6.12 capture is replayed ($nR snapshots)" \
		wait_status "d['source'].get('replay', {}).get('done') and d['snapshots']['stored'] == $nR"
	pytap "$T/truthR.json" <<'PYEOF'
import sys
from qlib import *
tr = Truth(sys.argv[1])
n = tr.n
def sum_of(sigs, i):
    return sum(tr.pages(s, i) for s in sigs)
def net_of(sigs, lo, hi):
    return sum(tr.net(s, lo, hi) for s in sigs)
leaks_ = [s for s in tr.sigs() if LEAK in s]
mod = [s for s in tr.sigs() if '[leaker]' in s]
leak = [sum_of(leaks_, i) for i in range(1, n + 1)]
ok(max(leak) >= 2000, 'real capture: the module leaks (%s pages)' % leak)
h = cj('history', 'culprit=' + LEAK)
ok([p['pages'] for p in h['points']] == leak,
   'real capture: history culprit=leaker_leak_pages is the dumps\' leak at every snapshot')
peak = leak.index(max(leak)) + 1
lk = cj('leaks', '--until', str(peak), '--limit', '10000')['groups']
ok(lk and all(x['culprit'] == LEAK for x in lk) and
   sig(lk[0]['stack_id']) == max(leaks_, key=lambda s: net_of([s], 1, peak)),
   'real capture: leaks up to the peak (%d): only leaker_leak_pages stacks, the largest first' % peak)
m = cj('leaks', '--by', 'module', '--until', str(peak))['groups']
ok([x['module'] for x in m] == ['leaker'] and m[0]['evidence']['net_pages'] == net_of(mod, 1, peak),
   'real capture: leaks --by module: only the module leaker, +%d pages' % net_of(mod, 1, peak))
t = cj('top', '--at', str(peak), '--by', 'module', '--match', 'module=leaker')['groups']
ok([x['pages'] for x in t] == [sum_of(mod, peak)],
   'real capture: top --at %d --by module: leaker holds %d pages' % (peak, sum_of(mod, peak)))
g = cj('top-growers', '--until', str(peak), '--by', 'culprit', '--limit', '1')['groups']
ok(g[0]['culprit'] == LEAK and g[0]['net_pages'] == net_of(leaks_, 1, peak),
   'real capture: top-growers --by culprit: the leak first, +%d pages' % net_of(leaks_, 1, peak))
# auto mode on a capture with show_stacks: full reads and stacks reads
snaps = sorted(cj('snapshots', '--limit', '1000')['snapshots'], key=lambda s: s['id'])
kind = {s['id']: s['kind'] for s in snaps}
ok('stacks' in kind.values() and 'full' in kind.values(),
   'real capture: auto mode read both kinds (%s)' % ''.join(k[0] for k in kind.values()))
# totals: a stacks read counts the early-boot stacks show_stacks leaves out
# (at their last full read), so the total follows the dump's, whatever the read
early = [s for s in tr.sigs() if 'register_early_stack' in s]
off = [(s['id'], s['kind'], s['pages'] - tr.total(s['id'])) for s in snaps]
ok(early and sum_of(early, 1) > 1000 and
   all(abs(d) * 4 < sum_of(early, i) for i, k, d in off),
   'real capture: each snapshot\'s total is the dump\'s, stacks reads too (early boot %d pages; '
   'off by %s)' % (sum_of(early, 1), off))
ok(all(s['pages_from'].startswith('page_owner_stacks, plus') == (s['kind'] == 'stacks') for s in snaps),
   'real capture: a stacks read says its total adds the stacks show_stacks leaves out')
t_at = {s['id']: cj('top', '--at', str(s['id']), '--limit', '1')['total_pages'] for s in snaps}
ok(all(t_at[s['id']] == s['pages'] for s in snaps),
   'real capture: top\'s total (the stacks\' sum) is the snapshot\'s total at every snapshot')
# FREED/ALLOC: unknown (null, "-") unless the window holds two full reads
fulls = [i for i in kind if kind[i] == 'full']
def two_full(lo, hi):
    return sum(1 for i in fulls if lo <= i <= hi) >= 2
bad = []
for lo in range(1, n):
    for hi in range(lo + 1, n + 1):
        for x in cj('leaks', '--all', '--since', str(lo), '--until', str(hi), '--limit', '10000')['groups']:
            e = x['evidence']
            known = e['freed_ratio'] is not None
            if known != two_full(lo, hi) or (e['allocated_pages'] is None) == known or \
                    (e['retention_from'] == 'full reads') != known:
                bad.append((lo, hi, x['culprit'], e['freed_ratio']))
                break
ok(not bad, 'real capture: FREED/ALLOC is known exactly in windows holding two full reads %s' % bad[:3])
lo_s = next((i for i in range(1, n - 1) if not two_full(i, i + 2)), None)
if lo_s is not None:
    lines = ctl('leaks', '--all', '--since', str(lo_s), '--until', str(lo_s + 2)).splitlines()
    end = lines[0].index('FREED/ALLOC') + len('FREED/ALLOC')	# right-aligned
    rows = [l for l in lines[1:] if re.match(r' *[0-9.]+ +(yes|no) ', l)]
    ok(rows and all(l[:end].split()[-1] == '-' for l in rows) and
       any(l.startswith('FREED/ALLOC -: unknown, the window does not hold two full reads') for l in lines),
       'real capture: leaks (table) %d..%d shows FREED/ALLOC "-" on every row, and says why' % (lo_s, lo_s + 2))
# stack: each figure with the read it comes from
st = cj('stack', lk[0]['stack_id'])
last = snaps[-1]
ok(st['latest_read']['snapshot'] == last['id'] and st['latest_read']['kind'] == last['kind'] and
   st['last_full_read'] is not None and st['last_full_read']['snapshot'] == max(fulls) and
   st['blocks_now'] == st['last_full_read']['blocks'] and
   st['last_full_read']['pages'] == tr.pages(sig(lk[0]['stack_id']), max(fulls)),
   'real capture: stack names the read of its pages (%s #%d) and of its blocks (full #%d)'
   % (last['kind'], last['id'], max(fulls)))
txt = ctl('stack', lk[0]['stack_id'])
ok(re.search(r'^pages now: +%d .*, %s read #%d at ' % (st['pages_now'], last['kind'], last['id']), txt, re.M) and
   re.search(r'^last full read: %d pages .* in %d blocks, #%d at ' % (st['last_full_read']['pages'],
             st['blocks_now'], max(fulls)), txt, re.M),
   'real capture: stack (table) labels each figure with its read')
# status: the configured interval, the one kept, and why
sj = cj('status')
line = next(l for l in ctl('status').splitlines() if l.startswith('source:'))
if sj['interval_reason'] == 'cpu_budget':
    want = 'every %.0fs (configured every 1s; stretched to keep within the CPU budget' % sj['effective_interval_s']
else:
    want = 'every 1s (as configured)'
ok(want in line and sj['interval_s'] == 1,
   'status (table): the interval configured and kept, and why (%s)' % line)
PYEOF
	stop_daemon
else
	skip "the real 6.12 capture" "tests/data/capture-6.12 is not there"
fi

# ---- watch: one line per snapshot; SIGINT ends it; the daemon leaving is exit 3 -----
cp "$capA/001.page_owner" "$T/live.page_owner"
cp "$capA/001.meta" "$T/live.meta"
start_daemon W --source "$T/live.page_owner" --interval 3600 || not_ok "page-ownerd starts on one file"
wait_status 'd["snapshots"]["stored"] == 1' >/dev/null

# ---- pin and prune (root only) --------------------------------------------------------
pinned1() { ctl --json snapshots >"$T/pinned.json" &&
	pyjson "$T/pinned.json" 'any(s["id"] == 1 and s["pinned"] for s in d["snapshots"])'; }
ctl pin 1 >"$T/pin.txt" 2>&1
check "pin 1: said, and the snapshot is pinned" [ "$(cat "$T/pin.txt")/$(pinned1)" = "snapshot 1 pinned: retention keeps it/True" ]
ctl pin --unpin 1 >"$T/pin.txt" 2>&1
check "pin --unpin 1: said, and it is not pinned any more" [ "$(cat "$T/pin.txt")/$(pinned1)" = "snapshot 1 unpinned/False" ]
expect_status 1 "pin of a snapshot that does not exist" ctl pin 99999
expect_status 2 "pin without WHEN" ctl pin
check "prune: retention now, rows counted" sh -c "ctl() { '$CTL' --socket '$SOCK' \"\$@\"; }; ctl prune | grep -qE '^retention applied: [0-9]+ rows deleted$'"

"$CTL" --socket "$SOCK" watch >"$T/watch.out" 2>"$T/watch.err" &
wpid=$!
at_exit "kill $wpid 2>/dev/null"
for i in $(seq 1 100); do grep -q '^watching' "$T/watch.out" && break; sleep 0.1; done
cp "$capA/003.page_owner" "$T/live.page_owner"
ctl snapshot >/dev/null
cp "$capA/006.page_owner" "$T/live.page_owner"
ctl snapshot >/dev/null
for i in $(seq 1 100); do [ "$(grep -c ' snapshot ' "$T/watch.out")" -ge 2 ] && break; sleep 0.1; done
check "watch: one line per snapshot, with the interval's top grower" sh -c "
	grep -qE 'snapshot 2  11013 pages \(43\.0 MiB\)  grew: \+2000 leaker_leak_pages \[leaker\]' '$T/watch.out' &&
	grep -qE 'snapshot 3  16163 pages .* grew: \+5000 leaker_leak_pages \[leaker\]' '$T/watch.out'"
kill -INT $wpid
wait $wpid
check "watch: SIGINT ends it with status 0" [ $? = 0 ]
"$CTL" --socket "$SOCK" --json watch >"$T/watch.json" 2>"$T/watch2.err" &
wpid=$!
at_exit "kill $wpid 2>/dev/null"
# snapshots until one is seen: one taken before the subscription is not
for i in $(seq 1 50); do
	ctl snapshot >/dev/null
	[ -s "$T/watch.json" ] && break
	sleep 0.2
done
check "watch --json: the notification's params, one object a line" \
	[ "$(head -1 "$T/watch.json" >"$T/w1.json"; pyjson "$T/w1.json" '(d["snapshot"]["pages"], d["top_growers"])')" = "(16163, [])" ]
stop_daemon
wait $wpid
check "watch: the daemon going away is exit 3" [ $? = 3 ]
check "... with a message" grep -q 'closed the connection' "$T/watch2.err"

# ---- an empty database, and no daemon at all -----------------------------------------------
start_daemon E --source "$T/does-not-exist" --interval 1 || not_ok "page-ownerd starts on a missing source"
check "the daemon runs on a source that fails" wait_status 'd["snapshots"]["failed"] >= 1 and d["snapshots"]["stored"] == 0'
for c in top top-growers leaks "history 849b" "diff 1 2" "export --format prometheus" \
	"export --format json" "export --format folded"; do
	# shellcheck disable=SC2086
	expect_status 1 "empty database: $c" ctl $c
	check "... no snapshot is stored yet" err_has "no snapshot is stored yet"
done
expect_status 1 "empty database: stack" ctl stack 849bf45d
expect_status 0 "empty database: snapshots lists none" ctl snapshots
check "... only a header" [ "$(wc -l <"$T/out")" = 1 ]
stop_daemon
for c in top top-growers leaks "history 849b" "stack 849b" "diff 1 2" watch "export --format folded"; do
	# shellcheck disable=SC2086
	expect_status 3 "no daemon: $c" "$CTL" --socket "$T/none.sock" $c
	check "... cannot reach page-ownerd" err_has "cannot reach page-ownerd at $T/none.sock"
done
done_testing
