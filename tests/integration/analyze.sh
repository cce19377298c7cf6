#!/bin/bash
# analyze.sh: `pageownerctl analyze` on real and generated dumps, against
# the kernel's page_owner_sort, and on bad input and bad arguments.
. "$(dirname "$0")/lib.bash"

real=$(real_dump)
gen="$PO_BUILD/tests/gen-dump"

# --- the real 6.12 dump: the leak is where it is known to be -------------
"$CTL" analyze --json "$real" >"$T/real.json"
check "real dump: 8403 records" [ "$(pyjson "$T/real.json" 'd["records"]')" = 8403 ]
check "real dump: 9047 pages" [ "$(pyjson "$T/real.json" 'd["pages"]')" = 9047 ]
check "real dump: no malformed record" [ "$(pyjson "$T/real.json" 'd["malformed"]')" = 0 ]
check "real dump: format detected as v6.7+" [ "$(pyjson "$T/real.json" 'd["format"]')" = "v6.7+" ]
check "real dump: leaker_leak_pages holds exactly 2000 pages" [ "$(pyjson "$T/real.json" \
	'sum(g["pages"] for g in d["groups"] if any("leaker_leak_pages" in f for f in g["frames"]))')" = 2000 ]
check "real dump: its culprit is leaker_leak_pages in module leaker" [ "$(pyjson "$T/real.json" \
	'[(g["culprit"], g["module"]) for g in d["groups"] if g["pages"] == 2000][0]')" = "('leaker_leak_pages', 'leaker')" ]
check "real dump: frames are printed without their leading space" [ "$(pyjson "$T/real.json" \
	'd["groups"][0]["frames"][0][0] != " "')" = True ]
"$CTL" analyze "$real" >"$T/real.txt"
check "real dump: the table names leaker_leak_pages with 2000 pages" \
	grep -Eq '^ *2000 .*leaker_leak_pages +leaker$' "$T/real.txt"

"$CTL" analyze --json --by culprit "$real" >"$T/culprit.json"
check "by culprit: leaker_leak_pages 2000 pages" [ "$(pyjson "$T/culprit.json" \
	'[g["pages"] for g in d["groups"] if g["culprit"] == "leaker_leak_pages"][0]')" = 2000 ]
"$CTL" analyze --json --module leaker "$real" >"$T/mod.json"
check "--module leaker keeps only the leak" [ "$(pyjson "$T/mod.json" \
	'(sum(g["pages"] for g in d["groups"]), d["filtered"])')" = "(2000, 6403)" ]
"$CTL" analyze --json --by comm,order "$real" >"$T/comm.json"
check "by comm,order: groups add up to every page" [ "$(pyjson "$T/comm.json" \
	'sum(g["pages"] for g in d["groups"])')" = 9047 ]
"$CTL" analyze --json --pid 0 --name swapper "$real" >"$T/pid0.json"
want=$(awk '/^Page allocated/ && /, pid 0, / && /\(swapper\)/ { n += 2 ^ $5 } END { print n }' FS='[ ,]+' "$real")
check "--pid 0 --name swapper: every page of pid 0 ($want), early boot first" [ "$(pyjson "$T/pid0.json" \
	'(sum(g["pages"] for g in d["groups"]), d["groups"][0]["culprit"], d["groups"][0]["pages"])')" = "($want, 'register_early_stack', 4693)" ]
xz -dc "$PO_SRCDIR/tests/data/real-6.12.117-leak2000.show_stacks.xz" >"$T/show_stacks"
"$CTL" analyze --json "$T/show_stacks" >"$T/ss.json"
check "show_stacks input: leaker_leak_pages has 2000 pages" [ "$(pyjson "$T/ss.json" \
	'[g["pages"] for g in d["groups"] if g["culprit"] == "leaker_leak_pages"][0]')" = 2000 ]
"$CTL" analyze --json - <"$real" >"$T/stdin.json"
check "standard input gives the same totals" [ "$(pyjson "$T/stdin.json" '(d["records"], d["pages"])')" = "(8403, 9047)" ]

# --- exact agreement with the kernel's page_owner_sort --------------------
if pos=$(sh "$PO_SRCDIR/tests/tools/page-owner-sort.sh" 2>"$T/pos.err"); then
	"$pos" -m --cull stacktrace "$real" "$T/real.sorted" >/dev/null 2>&1
	check "real dump: per-stack totals equal page_owner_sort -m --cull stacktrace" \
		"$PY" "$PO_SRCDIR/tests/tools/compare-sort.py" "$T/real.sorted" "$T/real.json"
	"$gen" --records 30000 --stacks 3000 --seed 3 -o "$T/gen.txt"
	"$pos" -m --cull stacktrace "$T/gen.txt" "$T/gen.sorted" >/dev/null 2>&1
	"$CTL" analyze --json "$T/gen.txt" >"$T/gen.json"
	check "generated dump: per-stack totals equal page_owner_sort" \
		"$PY" "$PO_SRCDIR/tests/tools/compare-sort.py" "$T/gen.sorted" "$T/gen.json"
else
	skip "agreement with page_owner_sort" "cannot build it: $(head -c 200 "$T/pos.err")"
fi

# --- threads: a split dump gives the same answer as one thread -----------
"$gen" --records 60000 --stacks 4000 --seed 5 -o "$T/big.txt"
"$CTL" analyze --json --threads 1 "$T/big.txt" >"$T/t1.json"
"$CTL" analyze --json --threads 4 "$T/big.txt" >"$T/t4.json"
check "4 threads and 1 thread give identical JSON" cmp -s "$T/t1.json" "$T/t4.json"
"$CTL" analyze --json --threads 3 --by module,comm "$T/big.txt" >"$T/t3m.json"
"$CTL" analyze --json --threads 1 --by module,comm "$T/big.txt" >"$T/t1m.json"
check "3 threads and 1 thread agree when grouped by module,comm" cmp -s "$T/t1m.json" "$T/t3m.json"
# Junk three quarters in (another thread's part) and a cut last record: the
# first malformed record is named by its offset in the file, however split.
junk_at=$("$PY" - "$T/big.txt" "$T/bad.txt" <<'PYEOF'
import sys
data = open(sys.argv[1], 'rb').read()
at = data.index(b'\n\n', len(data) * 3 // 4) + 2
open(sys.argv[2], 'wb').write(data[:at] + b'this is not a record\n\n' + data[at:-100])
print(at)
PYEOF
)
"$CTL" analyze --json --threads 1 "$T/bad.txt" >"$T/b1.json" 2>/dev/null
"$CTL" analyze --json --threads 4 "$T/bad.txt" >"$T/b4.json" 2>/dev/null
check "a damaged dump: 4 threads and 1 thread give identical JSON" cmp -s "$T/b1.json" "$T/b4.json"
check "a damaged dump: the first malformed record's offset is its place in the file" \
	[ "$(pyjson "$T/b4.json" '(d["malformed"], d["first_malformed"]["offset"])')" = "(2, $junk_at)" ]

# --- diff of two dumps ----------------------------------------------------
# B = A without the first 500 leaker records and with 300 records of A's
# first stack duplicated at new PFNs: exact allocated/freed are known.
"$PY" - "$real" "$T/b.txt" <<'PYEOF'
import sys, re
recs = open(sys.argv[1]).read().split('\n\n')
recs = [r for r in recs if r.strip()]
out, dropped, added = [], 0, 0
for r in recs:
    if 'leaker_leak_pages' in r and dropped < 500:
        dropped += 1
        continue
    out.append(r)
extra = []
early = [r for r in recs if 'register_early_stack' in r][:300]
for i, r in enumerate(early):
    r = re.sub(r'PFN 0x[0-9a-f]+', 'PFN 0x%x' % (0x900000 + i), r)
    r = re.sub(r'ts \d+ ns', 'ts %d ns' % (9000000000 + i), r)
    extra.append(r)
open(sys.argv[2], 'w').write('\n\n'.join(out + extra) + '\n\n')
PYEOF
"$CTL" analyze --json "$real" "$T/b.txt" >"$T/diff.json"
check "diff: identities available for PFN-ordered dumps" [ "$(pyjson "$T/diff.json" 'd["identities"]')" = True ]
check "diff: the leak's stack shrank by 500 pages, all freed" [ "$(pyjson "$T/diff.json" \
	'[(g["net_pages"], g["allocated_pages"], g["freed_pages"]) for g in d["groups"] if g["culprit"] == "leaker_leak_pages"][0]')" = "(-500, 0, 500)" ]
check "diff: the early stack grew by 300 pages, all allocated" [ "$(pyjson "$T/diff.json" \
	'[(g["net_pages"], g["allocated_pages"], g["freed_pages"]) for g in d["groups"] if g["culprit"] == "register_early_stack"][0]')" = "(300, 300, 0)" ]
check "diff: allocated - freed = net in every group" [ "$(pyjson "$T/diff.json" \
	'all(g["allocated_pages"] - g["freed_pages"] == g["net_pages"] for g in d["groups"])')" = True ]
check "diff: net changes add up to the change in total pages" [ "$(pyjson "$T/diff.json" \
	'sum(g["net_pages"] for g in d["groups"]) == d["b"]["pages"] - d["a"]["pages"]')" = True ]
"$CTL" analyze "$real" "$T/b.txt" >"$T/diff.txt"
check "diff table: the biggest grower comes first" \
	sh -c "sed -n 2p '$T/diff.txt' | grep -q '^ *+300 .*register_early_stack'"

# --- bad input: counted and reported, never fatal -------------------------
{
	head -c 20000 "$real"
	printf 'garbage line\nmore garbage\n\n'
	head -c 3000 /dev/urandom
	printf '\n\n'
	sed -n '1,200p' "$real"
	printf 'Page allocated via order 0, mask 0x2cc0(GFP_KERNEL), pid 1, tgid 1 (x), ts 5 ns\nPFN 0x'
} >"$T/bad.txt"
"$CTL" analyze --json "$T/bad.txt" >"$T/bad.json" 2>"$T/bad.err"
check "garbage input: exit 0 with the junk and the cut tail counted as malformed" [ "$(pyjson "$T/bad.json" 'd["malformed"] >= 2')" = True ]
check "garbage input: the good records are still counted" [ "$(pyjson "$T/bad.json" 'd["records"] >= 80')" = True ]
check "garbage input: the truncated tail is reported" [ "$(pyjson "$T/bad.json" '"first_malformed" in d')" = True ]
"$CTL" analyze "$T/bad.txt" >/dev/null 2>"$T/bad.err"
check "garbage input: the table run says what was skipped" grep -q 'malformed records skipped' "$T/bad.err"
head -c 2000000 /dev/urandom >"$T/random.bin"
expect_status 0 "random binary input is survived" "$CTL" analyze "$T/random.bin"
: >"$T/empty"
"$CTL" analyze --json "$T/empty" >"$T/empty.json"
check "empty input: zero records, no groups" [ "$(pyjson "$T/empty.json" '(d["records"], len(d["groups"]))')" = "(0, 0)" ]

# --- a file cut short while it is read --------------------------------------
# analyze maps regular files; pages cut off under a mapping raise SIGBUS,
# which must end the read with an error, not the process. When the cut
# comes after the read finished the run succeeds; either way no signal.
"$gen" --bytes 60000000 --stacks 2000 --seed 3 -o "$T/shrink-src.txt"
crashed=0
cut=0
for delay in 0.02 0.05 0.1 0.2; do
	cp "$T/shrink-src.txt" "$T/shrink.txt"
	"$CTL" analyze --threads 2 --top 1 "$T/shrink.txt" >/dev/null 2>"$T/shrink.err" &
	pid=$!
	sleep "$delay"
	truncate -s 100000 "$T/shrink.txt"
	wait "$pid"
	rc=$?
	[ "$rc" -ge 128 ] && crashed=$((crashed + 1))
	if [ "$rc" -eq 1 ] && grep -q "cut short while being read" "$T/shrink.err"; then
		cut=$((cut + 1))
	fi
done
check "a file truncated while it is read: never a crash (4 rounds, $cut reported it cut short)" \
	[ "$crashed" -eq 0 ]

# --- names and frames that are not text -----------------------------------
# A task may name itself any bytes (here an OSC title sequence and a byte
# that is not UTF-8); a damaged dump holds anything.  JSON keeps every
# field (bytes that are not UTF-8 as '?'); a table never sends a control
# character to the terminal.
printf 'Page allocated via order 0, mask 0xcc0(GFP_KERNEL), pid 1, tgid 1 (sh\377\033]0;pwned\007), ts 5 ns\nPFN 0x1000 type Unmovable Block 8 type Unmovable Flags 0x0()\n get_page_from_freelist+0xf62/0x1150\n bad\377\376_frame+0x1/0x2\n tab\there+0x1/0x2\n\n' >"$T/binary.txt"
"$CTL" analyze --json "$T/binary.txt" >"$T/binary.json"
check "bytes that are not UTF-8: the JSON parses and keeps all 3 frames and the culprit" \
	"$PY" -c 'import json,sys; g=json.load(open(sys.argv[1]))["groups"][0]; sys.exit(0 if len(g["frames"])==3 and g["frames"][1]=="bad??_frame+0x1/0x2" and g["frames"][2]=="tab\there+0x1/0x2" and g["culprit"]=="bad??_frame" else 1)' "$T/binary.json"
"$CTL" analyze --json --by comm "$T/binary.txt" >"$T/binary-comm.json"
check "... and a comm with them, control characters escaped as JSON does" \
	"$PY" -c 'import json,sys; g=json.load(open(sys.argv[1]))["groups"][0]; sys.exit(0 if g["comm"]=="sh?\x1b]0;pwned\x07" else 1)' "$T/binary-comm.json"
"$CTL" analyze --stacks --by stack,comm "$T/binary.txt" >"$T/binary.table"
check "the table holds no control character (the comm shown as 'sh??]0;pwned?')" \
	sh -c "! LC_ALL=C grep -q '[[:cntrl:]]' '$T/binary.table' && grep -qF 'sh??]0;pwned?' '$T/binary.table' && grep -qF 'tab?here+0x1/0x2' '$T/binary.table'"

# --- --json written two ways: the same bytes ---------------------------------
# Groups whose strings need no escaping are written as JSON text directly,
# the rest by jansson; PO_ANALYZE_JANSSON=1 makes jansson write them all.
same=0 total=0
for args in "" "--by culprit,module,comm" "--by stack,pid,tgid,order,gfp,allocator" \
    "--by memcg,signature" "--migration-anomalies"; do
	for f in "$real" "$T/binary.txt" "$PO_SRCDIR/tests/fixtures/era-5.14-5.17.txt"; do
		total=$((total + 1))
		# shellcheck disable=SC2086
		"$CTL" analyze --json $args "$f" >"$T/fast.json" 2>/dev/null
		# shellcheck disable=SC2086
		PO_ANALYZE_JANSSON=1 "$CTL" analyze --json $args "$f" >"$T/jansson.json" 2>/dev/null
		cmp -s "$T/fast.json" "$T/jansson.json" && [ -s "$T/fast.json" ] && same=$((same + 1))
	done
	# and a diff of two dumps (with identities), of binary names too
	total=$((total + 1))
	# shellcheck disable=SC2086
	"$CTL" analyze --json $args "$real" "$T/binary.txt" >"$T/fast.json" 2>/dev/null
	# shellcheck disable=SC2086
	PO_ANALYZE_JANSSON=1 "$CTL" analyze --json $args "$real" "$T/binary.txt" >"$T/jansson.json" 2>/dev/null
	cmp -s "$T/fast.json" "$T/jansson.json" && [ -s "$T/fast.json" ] && same=$((same + 1))
done
check "--json: the direct writer and jansson give the same bytes ($same of $total runs)" [ "$same" -eq "$total" ]

# --- bad arguments and unreadable files -----------------------------------
expect_status 2 "no file given" "$CTL" analyze
expect_status 2 "three files given" "$CTL" analyze a b c
expect_status 2 "unknown option" "$CTL" analyze --bogus "$real"
expect_status 2 "unknown --by key" "$CTL" analyze --by colour "$real"
expect_status 2 "unknown sort key" "$CTL" analyze --sort size "$real"
expect_status 2 "two single-key sorts" "$CTL" analyze -m -t "$real"
expect_status 2 "bad --top" "$CTL" analyze --top -3 "$real"
expect_status 2 "bad pid list" "$CTL" analyze --pid 1,x "$real"
expect_status 1 "missing file" "$CTL" analyze "$T/does-not-exist"
expect_status 1 "a directory" "$CTL" analyze "$T"
"$CTL" analyze "$T/does-not-exist" 2>"$T/err" >/dev/null
check "missing file: one-line error naming the file" sh -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q does-not-exist '$T/err'"
expect_status 2 "unknown command" "$CTL" frobnicate
expect_status 0 "unique prefix 'an' runs analyze" "$CTL" an --json "$T/empty"

done_testing
