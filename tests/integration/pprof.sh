#!/bin/bash
# pprof.sh: `export --format pprof` read by the real `go tool pprof`
# (Debian's golang-go), on a replayed capture whose leak is known
# (tests/tools/mkcapture.py: the leaker's stack grows 2000 -> 4000 -> 9000
# pages among churn).  At two snapshots: -top's totals, in pages and in
# bytes, equal the folded export's at the same point; -diff_base between
# them puts the leak's function on top with exactly its growth; the
# labels and comments name the host, kernel and boot; and the edge cases
# (a bad path, a bad option, a snapshot that is not there) fail cleanly.
. "$(dirname "$0")/lib.bash"

PAGE=$(getconf PAGESIZE)
if ! command -v go >/dev/null 2>&1 || ! go tool pprof -h >/dev/null 2>&1; then
	skip "go tool pprof reads the profiles" "golang-go is not installed (make check's deps install it)"
	done_testing
fi
# go tool pprof offline, with nothing written outside $T
export HOME="$T/home" GOCACHE="$T/home/cache" GOPATH="$T/home/go" PPROF_TMPDIR="$T/home/pprof"
export GOPROXY=off GOFLAGS= GOTOOLCHAIN=local
mkdir -p "$HOME" "$PPROF_TMPDIR"
pprof() { go tool pprof "$@" 2>>"$T/pprof.err"; }

cap="$T/cap"
make_capture "$cap" leak:2000 churn:300 leak:5000 >/dev/null
n=$(ls "$cap"/*.page_owner | wc -l)
if ! start_daemon P --source "$cap" --interval 1; then
	not_ok "page-ownerd starts on the capture"
	done_testing
fi
check "the capture is replayed to its end ($n snapshots)" \
	wait_status "d['source'].get('replay', {}).get('done') and d['snapshots']['stored'] == $n"

# total SNAPSHOT: the folded export's pages at that point
folded_total() {
	ctl export --format folded --at "$1" | awk '{ s += $NF } END { print s + 0 }'
}
# top_total FILE ARGS...: the total -top reports ("... of TOTAL total")
top_total() {
	local f=$1
	shift
	pprof -top -nodecount=1 "$@" "$f" | sed -n 's/^Showing nodes accounting for .* of \(-\{0,1\}[0-9]*\)B\{0,1\} total$/\1/p'
}

for at in 1 "$n"; do
	expect_status 0 "export --format pprof --at $at --output FILE" \
		ctl export --format pprof --at "$at" --output "$T/at$at.pb.gz"
	check "--at $at: the file is gzip (1f 8b)" \
		[ "$(head -c 2 "$T/at$at.pb.gz" | od -An -tx1 | tr -d ' ')" = 1f8b ]
	pages=$(folded_total "$at")
	got=$(top_total "$T/at$at.pb.gz" -sample_index=inuse_pages)
	check "--at $at: pprof -top's inuse_pages total is the folded export's $pages pages (got '$got')" \
		[ -n "$got" ] && [ "$got" = "$pages" ]
	got=$(top_total "$T/at$at.pb.gz" -sample_index=inuse_space -unit=B)
	check "--at $at: pprof -top's inuse_space total is $pages pages of $PAGE bytes (got '$got')" \
		[ -n "$got" ] && [ "$got" = $((pages * PAGE)) ]
	check "--at $at: inuse_space is the default sample type" \
		sh -c "go tool pprof -top -nodecount=1 '$T/at$at.pb.gz' 2>/dev/null | grep -qx 'Type: inuse_space'"
done
check "the two snapshots differ in size" [ "$(folded_total 1)" != "$(folded_total "$n")" ]

# the leak's growth between the two, on top, to the page
leak_top() { # FILE-A FILE-B ARGS...: the first row of -top -diff_base
	local a=$1 b=$2
	shift 2
	pprof -top -nodecount=5 "$@" -diff_base "$a" "$b" | awk '/^ *flat  *flat%/ { getline; print; exit }'
}
row=$(leak_top "$T/at1.pb.gz" "$T/at$n.pb.gz" -sample_index=inuse_pages)
echo "# -diff_base, inuse_pages: $row"
check "-diff_base: leaker_leak_pages [leaker] is on top, +7000 pages" \
	sh -c "echo '$row' | grep -qE '^ *7000 .* leaker_leak_pages \[leaker\]$'"
row=$(leak_top "$T/at1.pb.gz" "$T/at$n.pb.gz" -unit=B)
echo "# -diff_base, inuse_space: $row"
check "-diff_base: and in bytes, +$((7000 * PAGE)) B" \
	sh -c "echo '$row' | grep -qE '^ *$((7000 * PAGE))B .* leaker_leak_pages \[leaker\]$'"
row=$(leak_top "$T/at$n.pb.gz" "$T/at1.pb.gz" -sample_index=inuse_pages)
check "-diff_base the other way: the leak on top, -7000 pages" \
	sh -c "echo '$row' | grep -qE '^ *-7000 .* leaker_leak_pages \[leaker\]$'"

# what the profile says of itself, against the daemon's stacks reply
ctl --json export --format pprof --at "$n" >"$T/stacks.json"
pprof -tags "$T/at$n.pb.gz" >"$T/tags.txt"
pprof -comments "$T/at$n.pb.gz" >"$T/comments.txt"
pprof -raw "$T/at$n.pb.gz" >"$T/raw.txt"
"$PY" - "$T/stacks.json" "$T/tags.txt" "$T/comments.txt" "$T/raw.txt" "$n" <<'PYEOF' >"$T/py.tap" 2>&1
import json, re, sys
st = json.load(open(sys.argv[1]))
tags, comments, raw = (open(p).read() for p in sys.argv[2:5])
n = int(sys.argv[5])
def ok(c, what):
    print(('ok - ' if c else 'not ok - ') + what)
ok(st['format'] == 'stacks' and st['snapshot'] == n, '--json: the daemon\'s stacks reply, snapshot %d' % n)
ok(all(len(s['frames']) >= 1 and not any('+0x' in f for f in s['frames']) for s in st['stacks']),
   'stacks: frames without offsets')
ok([s['pages'] for s in st['stacks']] == sorted((s['pages'] for s in st['stacks']), reverse=True),
   'stacks: largest first')
for k in ('host', 'kernel', 'boot_id'):
    ok(re.search(r'^ *%s: Total' % k, tags, re.M) and st[k] in tags,
       'pprof -tags: label %s is %s' % (k, st[k]))
    ok('%s=%s' % (k, st[k]) in comments.split('\n'), 'pprof -comments: %s=%s' % (k, st[k]))
# -raw: one sample per stack, leaf first: each sample's locations name its
# frames, less the allocator's: the profile's drop_frames names the frames
# below each culprit, and pprof cuts a sample at the first of them it meets
# walking from the root (profile.Prune), as it hides malloc in heap profiles
def culprit_at(s):
    return next((i for i, f in enumerate(s['frames']) if f.split(' [')[0] == s['culprit']), 0)
D = {f for s in st['stacks'] for f in s['frames'][:culprit_at(s)]}
def shown(s):
    fr, user = s['frames'], False
    for i in range(len(fr) - 1, -1, -1):
        if fr[i] not in D:
            user = True
        elif user:
            return fr[i + 1:]
    return fr
m = re.search(r'^Samples:\n(.*?)^Locations', raw, re.S | re.M)
locs = dict(re.findall(r'^ +(\d+): 0x0 M=1 (.+?) :0 s=0$', raw, re.M))
samples = re.findall(r'^ +(\d+) +(\d+): ([0-9 ]+)$', m.group(1) if m else '', re.M)
ok(len(samples) == len(st['stacks']), 'pprof -raw: %d samples, one per stack (%d)' % (len(samples), len(st['stacks'])))
bad = [s['stack_id'] for s, (pages, space, ids) in zip(st['stacks'], samples)
       if int(pages) != s['pages'] or int(space) != s['pages'] * st['page_size'] or
       [locs.get(i) for i in ids.split()] != shown(s)]
ok(samples and not bad, 'pprof -raw: every sample\'s pages, bytes and frames (leaf first, from the culprit) are its stack\'s %s' % bad[:3])
ok(sum(shown(s)[0].split(' [')[0] == s['culprit'] for s in st['stacks']) > len(st['stacks']) // 2,
   'pprof -raw: most samples start at their culprit')
names = [v for v in locs.values()]
ok(len(names) == len(set(names)) == len({f for s in st['stacks'] for f in s['frames']}),
   'pprof -raw: one location per distinct frame (%d)' % len(names))
ok(any(v == 'leaker_leak_pages [leaker]' for v in names), 'pprof -raw: the module is kept in the name')
tn = re.search(r'^Time: (.*)$', raw, re.M)
ok(tn and tn.group(1).startswith(st['time'].replace('T', ' ').rstrip('Z')[:19]),
   'pprof -raw: Time is the snapshot\'s (%s)' % st['time'])
PYEOF
cat "$T/py.tap"
grep -q '^not ok' "$T/py.tap" && _failed=1
grep -q '^ok' "$T/py.tap" || not_ok "the profile checks ran"

# --limit: the largest N stacks
ctl --json export --format pprof --at "$n" --limit 3 >"$T/lim.json"
check "--limit 3: the 3 largest stacks" "$PY" -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
sys.exit(not (b["stacks"] == a["stacks"][:3]))' "$T/stacks.json" "$T/lim.json"
expect_status 0 "--limit 3 --output FILE" ctl export --format pprof --limit 3 --output "$T/lim.pb.gz"
check "--limit 3: pprof -raw has 3 samples" \
	[ "$(pprof -raw "$T/lim.pb.gz" | sed -n '/^Samples:/,/^Locations/p' | grep -cE '^ +[0-9]+ +[0-9]+: ')" = 3 ]

# ---- edge cases --------------------------------------------------------------
mkdir -p "$T/ro"
chmod 0555 "$T/ro"
expect_status 1 "export --format pprof to a missing directory" \
	ctl export --format pprof --output "$T/nodir/p.pb.gz"
check "... says which file it could not create" grep -qF "cannot create '$T/nodir/p.pb.gz.tmp'" "$T/err"
if [ "$(id -u)" != 0 ]; then
	expect_status 1 "export --format pprof into a read-only directory" \
		ctl export --format pprof --output "$T/ro/p.pb.gz"
	check "... leaves no file and no partial file" [ -z "$(ls -A "$T/ro")" ]
else
	skip "export into a read-only directory" "root writes there anyway"
fi
mkdir -p "$T/isdir"
expect_status 1 "export --format pprof --output DIR (a directory: the rename fails)" \
	ctl export --format pprof --output "$T/isdir"
check "... leaves no partial file" [ ! -e "$T/isdir.tmp" ] && [ -z "$(ls -A "$T/isdir")" ]
if command -v script >/dev/null 2>&1; then
	script -qec "'$CTL' --socket '$SOCK' export --format pprof" /dev/null >"$T/tty.out" 2>&1
	rc=$?
	check "export --format pprof to a terminal is refused (exit $rc, wanted 2)" [ "$rc" = 2 ]
	check "... and says to give --output" grep -q -- '--output' "$T/tty.out"
else
	skip "export --format pprof to a terminal" "no script(1) (util-linux)"
fi
expect_status 2 "export --format pprof --since 2 (not a pprof option)" \
	ctl export --format pprof --since 2 --output "$T/x.pb.gz"
check "... and says what pprof takes" grep -qF -- "--since does not apply to --format pprof" "$T/err"
expect_status 2 "export --format pprof --a 1 --b 2" ctl export --format pprof --a 1 --b 2 --output "$T/x.pb.gz"
expect_status 1 "export --format pprof --at 99 (no such snapshot)" \
	ctl export --format pprof --at 99 --output "$T/x.pb.gz"
check "... writes nothing" [ ! -e "$T/x.pb.gz" ] && [ ! -e "$T/x.pb.gz.tmp" ]
expect_status 1 "export --format pprof --limit 0" ctl export --format pprof --limit 0 --output "$T/x.pb.gz"
out=$(rpc_raw '{"jsonrpc":"2.0","id":1,"method":"export","params":{"format":"stacks","by":"module"}}')
check "RPC: format stacks refuses 'by' with -32602" sh -c "echo '$out' | grep -q -- '-32602'"
out=$(rpc_raw '{"jsonrpc":"2.0","id":1,"method":"export","params":{"format":"stacks","at":"nonsense"}}')
check "RPC: format stacks with a bad 'at' is an error" sh -c "echo '$out' | grep -q '\"error\"'"
check "the daemon still answers" eval 'ctl status >/dev/null'
stop_daemon
check "page-ownerd exits 0 on TERM" [ "$DSTATUS" = 0 ]
done_testing
