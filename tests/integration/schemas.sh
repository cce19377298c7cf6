#!/bin/bash
# schemas.sh: every --json reply pageownerctl prints validates against its
# JSON Schema in schema/ (tests/tools/validate-json.py), on a replay of the
# real 6.12 capture when it is there (else a made one); and the schemas are
# strict: a reply with a key too many, a key missing or a wrong type fails.
. "$(dirname "$0")/lib.bash"

S="$PO_SRCDIR/schema"
VALIDATE="$PO_SRCDIR/tests/tools/validate-json.py"
if ! "$PY" -c 'import jsonschema' 2>/dev/null; then
	skip "JSON schemas" "python3-jsonschema is not installed"
	done_testing
fi

# valid SCHEMA WHAT COMMAND...: the command succeeds and its output is valid
valid() {
	local schema=$1 what=$2 rc
	shift 2
	"$@" >"$T/v.json" 2>"$T/v.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		not_ok "$what: exit $rc: $(head -c 300 "$T/v.err")"
	elif "$PY" "$VALIDATE" "$S/$schema.schema.json" "$T/v.json" 2>"$T/v.err"; then
		ok "$what: valid $schema.schema.json"
		# the largest reply of each schema is kept for the strictness checks
		[ "$(stat -c %s "$T/v.json")" -gt "$(stat -c %s "$T/last-$schema.json" 2>/dev/null || echo 0)" ] &&
			cp "$T/v.json" "$T/last-$schema.json"
	else
		not_ok "$what: $(head -c 400 "$T/v.err")"
	fi
}

for f in "$S"/*.schema.json; do
	check "$(basename "$f") is a valid draft 2020-12 schema with a \$comment" "$PY" -c '
import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(s)
sys.exit(not (list(s)[0] == "$comment" and s["$schema"].endswith("2020-12/schema")))' "$f"
done

# ---- the replay ---------------------------------------------------------------
cap="$T/cap"
mkdir -p "$cap"
real="$PO_SRCDIR/tests/data/capture-6.12"
if ls "$real"/*.page_owner.xz >/dev/null 2>&1; then
	for f in "$real"/*.page_owner.xz "$real"/*.meta.xz "$real"/*.show_stacks.xz; do
		[ -f "$f" ] && xz -dc "$f" >"$cap/$(basename "$f" .xz)"
	done
	echo "# replaying the real 6.12 capture ($real)"
else
	make_capture "$cap" leak:2000 churn:300 leak:5000 same
	echo "# tests/data/capture-6.12 is not there: replaying a made capture"
fi
n=$(ls "$cap"/*.page_owner | wc -l)
if ! start_daemon S --source "$cap" --interval 1; then
	not_ok "page-ownerd starts on the capture"
	done_testing
fi
check "the replay runs to its end ($n snapshots)" \
	wait_status "d['source'].get('replay', {}).get('done') and d['snapshots']['stored'] == $n"

valid status "status" ctl --json status
valid snapshots "snapshots" ctl --json snapshots
valid snapshots "snapshots --since 2 --limit 2" ctl --json snapshots --since 2 --limit 2
for by in stack culprit module comm memcg order; do
	valid top "top --by $by" ctl --json top --by "$by" --limit 100
	valid growers "top-growers --by $by" ctl --json top-growers --by "$by" --limit 100
	valid diff "diff 1 $n --by $by" ctl diff --json --by "$by" --limit 100 1 "$n"
	valid export "export --format json --by $by" ctl --json export --format json --by "$by"
done
valid top "top --at 2" ctl --json top --at 2
for by in stack culprit module; do
	valid leaks "leaks --all --by $by" ctl --json leaks --all --by "$by" --limit 1000
done
valid leaks "leaks" ctl --json leaks
valid leaks "leaks --since 2 --until 4" ctl --json leaks --since 2 --until 4
valid growers "top-growers on a one-snapshot window" ctl --json top-growers --since "$n"
valid diff "diff $n 1 (reversed)" ctl --json diff "$n" 1
sid=$(ctl --json top --limit 1 >"$T/t.json" && pyjson "$T/t.json" 'd["groups"][0]["stack_id"]')
valid stack "stack $sid" ctl --json stack "$sid"
leak=$(ctl --json top --match 'culprit=leaker*' --limit 1 >"$T/l.json" && pyjson "$T/l.json" 'd["groups"][0]["stack_id"] if d["groups"] else ""')
[ -n "$leak" ] && valid stack "stack (the leak)" ctl --json stack "$leak"
valid history "history $sid" ctl --json history "$sid"
valid history "history culprit=register_early_stack" ctl --json history culprit=register_early_stack
valid history "history --since 2 --until 3" ctl --json history --since 2 --until 3 "${sid:0:8}"
comm=$(ctl --json top --by comm --limit 1 >"$T/c.json" && pyjson "$T/c.json" 'd["groups"][0]["comm"]')
valid history "history comm=$comm" ctl --json history "comm=$comm"
valid history "history module=kernel" ctl --json history module=kernel
valid history "history order=0" ctl --json history order=0
memcg=$(ctl --json top --by memcg --limit 1 >"$T/m.json" && pyjson "$T/m.json" 'd["groups"][0]["memcg"]')
valid history "history memcg=$memcg" ctl --json history "memcg=$memcg"
valid export "export --format prometheus" ctl --json export --format prometheus --limit 3
valid pin "pin 1" ctl --json pin 1
valid pin "pin --unpin 1" ctl --json pin --unpin 1
valid prune "prune" ctl --json prune
valid export "export --format folded" ctl --json export --format folded
valid export "export --format folded --at 2" ctl --json export --format folded --at 2
valid export "export --format folded --a 1 --b $n" ctl --json export --format folded --a 1 --b "$n"
valid export "export --format json --since 2" ctl --json export --format json --since 2 --limit 5
valid export-targets "export --format json (the targets alone)" ctl export --format json --limit 5
valid export "export --format pprof --json (the daemon's stacks)" ctl --json export --format pprof --at 2
valid export "export --format pprof --json --limit 3" ctl --json export --format pprof --limit 3

# ---- analyze (no daemon): one dump, two dumps, every key ------------------------------
d1=$(ls "$cap"/*.page_owner | head -2 | tail -1)
d2=$(ls "$cap"/*.page_owner | tail -1)
valid analyze "analyze FILE" "$CTL" analyze --json "$d1"
valid analyze "analyze --by comm,pid,tgid,order,gfp,allocator" "$CTL" analyze --json --by comm,pid,tgid,order,gfp,allocator "$d1"
valid analyze "analyze --by signature,culprit,module,memcg --stacks" "$CTL" analyze --json --by signature,culprit,module,memcg --stacks "$d1"
valid analyze "analyze FILE FILE2 (a diff)" "$CTL" analyze --json "$d1" "$d2"
valid analyze "analyze --by culprit FILE FILE2" "$CTL" analyze --json --by culprit "$d1" "$d2"
head -c 100000 "$d1" >"$T/cut.page_owner"
valid analyze "analyze of a cut dump (a malformed record)" "$CTL" analyze --json "$T/cut.page_owner"
old="$PO_SRCDIR/tests/data/capture-6.1/003-leak7000.page_owner.xz"
if [ -f "$old" ]; then
	xz -dc "$old" >"$T/old.page_owner"
	valid analyze "analyze --migration-anomalies (6.1: free_ts)" "$CTL" analyze --json --migration-anomalies "$T/old.page_owner"
else
	skip "analyze --migration-anomalies" "tests/data/capture-6.1 is not there"
fi
stop_daemon

# ---- snapshot and watch: a daemon on one file -------------------------------------------
cp "$d1" "$T/live.page_owner"
start_daemon W --source "$T/live.page_owner" --interval 3600 || not_ok "page-ownerd starts on one file"
wait_status 'd["snapshots"]["stored"] == 1' >/dev/null
if [ "$(id -u)" = 0 ]; then
	"$CTL" --socket "$SOCK" --json watch >"$T/watch.json" 2>"$T/watch.err" &
	wpid=$!
	at_exit "kill $wpid 2>/dev/null"
	# snapshots until watch sees one: one before its subscription is not seen
	for i in $(seq 1 50); do
		ctl --json snapshot >"$T/snap1.json"
		[ -s "$T/watch.json" ] && break
		sleep 0.2
	done
	valid snapshot "snapshot" cat "$T/snap1.json"
	seen=$(wc -l <"$T/watch.json")
	cp "$d2" "$T/live.page_owner"
	valid snapshot "snapshot (of another dump)" ctl --json snapshot
	for i in $(seq 1 100); do [ "$(wc -l <"$T/watch.json")" -gt "$seen" ] && break; sleep 0.1; done
	kill -INT $wpid
	wait $wpid
	check "watch --json: one line per snapshot, each valid snapshot_taken.schema.json" sh -c \
		"[ \$(wc -l <'$T/watch.json') = $((seen + 1)) ] && '$PY' '$VALIDATE' --lines '$S/snapshot_taken.schema.json' '$T/watch.json'"
	cp "$T/watch.json" "$T/last-snapshot_taken.json"
else
	skip "snapshot and watch" "taking a snapshot needs root"
fi
stop_daemon

# ---- an empty database ------------------------------------------------------------------
start_daemon E --source "$T/missing" --interval 1 || not_ok "page-ownerd starts on a missing source"
valid snapshots "snapshots of an empty database" ctl --json snapshots
valid status "status before any snapshot" ctl --json status
stop_daemon

# ---- the schemas bite: each broken copy of a real reply must fail -----------------------
"$PY" - "$VALIDATE" "$S" "$T" <<'PYEOF' >"$T/strict.tap" 2>&1
import copy, importlib.util, json, os, sys
validate, S, T = sys.argv[1:4]
# the validator's own code, in this process (one python start, not one a check)
spec = importlib.util.spec_from_file_location('validate_json', validate)
vj = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vj)
validators = {}

def ok(cond, what):
    print(('ok - ' if cond else 'not ok - ') + what)

def valid(schema, doc):
    if schema not in validators:
        validators[schema] = vj.make_validator(os.path.join(S, schema + '.schema.json'))
    return validators[schema].is_valid(doc)

def first_number(d):
    return next((k for k, v in d.items() if isinstance(v, (int, float)) and
                 not isinstance(v, bool)), None)

def rows(d):
    """the first non-empty list of objects in a reply (groups, points, ...)"""
    for k in ('groups', 'points', 'snapshots', 'targets', 'stacks', 'top_growers'):
        if isinstance(d.get(k), list) and d[k] and isinstance(d[k][0], dict):
            return d[k]
    return None

for schema in ('status', 'snapshots', 'snapshot', 'top', 'growers', 'leaks', 'history',
               'stack', 'diff', 'export', 'export-targets', 'analyze', 'snapshot_taken'):
    path = os.path.join(T, 'last-%s.json' % schema)
    if not os.path.exists(path):
        print('ok - %s: broken copies fail # SKIP no reply was kept' % schema)
        continue
    with open(path) as f:
        text = f.read()
    # watch: the longest line, the one most likely to name growers
    doc = json.loads(max(text.splitlines(), key=len) if schema == 'snapshot_taken' else text)
    ok(valid(schema, doc), '%s: the kept reply is valid' % schema)
    if isinstance(doc, list):
        doc = {'targets': doc}
        unwrap = True
    else:
        unwrap = False
    muts = []
    if not unwrap:
        muts.append(('a key too many', lambda d: d.update(bogus=1)))
        muts.append(('a key missing', lambda d: d.pop(next(iter(d)))))
        if first_number(doc) is not None:
            muts.append(('a number as a string', lambda d: d.update({first_number(d): '1'})))
    if rows(doc):
        muts.append(('a key too many in %s[0]' % next(k for k in doc if doc[k] is rows(doc)),
                     lambda d: rows(d)[0].update(bogus=1)))
        muts.append(('a key missing in the first row', lambda d: rows(d)[0].pop(next(iter(rows(d)[0])))))
    for what, f in muts:
        d = copy.deepcopy(doc)
        f(d)
        ok(not valid(schema, d['targets'] if unwrap else d), '%s: %s fails' % (schema, what))
PYEOF
cat "$T/strict.tap"
grep -q '^not ok' "$T/strict.tap" && _failed=1
grep -q '^ok' "$T/strict.tap" || not_ok "the strictness checks ran"
done_testing
