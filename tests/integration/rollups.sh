#!/bin/bash
# rollups.sh: the hour and day rollups long windows are answered from.
# A three-day history is written through the daemon's own engine twice,
# once straight and once closed and reopened every 70 minutes (as a
# daemon restarted mid-hour and mid-day would be); the two databases
# must hold the same rollups and checkpoints, every rollup must equal the
# sum of its snapshots' changes (read by tests/tools/podb.py, not by the
# daemon), and windows answered from rollups must equal that sum too.
. "$(dirname "$0")/lib.bash"

GEN="$PO_BUILD/tests/gen-history"
PODB="$PO_SRCDIR/tests/tools/podb.py"
END=1790000000	# a fixed end, so both runs see the same clock
if [ ! -x "$GEN" ]; then
	skip "rollups" "$GEN is not built"
	done_testing
fi
gen() { "$GEN" --days 3 --interval 600 --stacks 300 --seed 5 --end $END "$@" 2>>"$T/gen.log"; }
check "a three-day history, written straight" gen --db "$T/straight.db"
check "the same, the engine reopened every 7 snapshots" gen --db "$T/reopened.db" --reopen-every 7

rows() { sqlite3 "$1" "SELECT level, start, first_snapshot, last_snapshot, nsnapshots, hex(data) FROM buckets ORDER BY 1, 2; SELECT snapshot, hex(data) FROM checkpoints ORDER BY 1" | md5sum; }
check "restarts leave the same rollups and checkpoints" \
	[ "$(rows "$T/straight.db")" = "$(rows "$T/reopened.db")" ]
for db in straight reopened; do
	"$PY" "$PODB" "$T/$db.db" rollups >"$T/rollups.$db" 2>&1
	check "$db: every rollup is the sum of its snapshots' changes ($(head -c 200 "$T/rollups.$db"))" \
		grep -Eq '^ok [1-9][0-9]*$' "$T/rollups.$db"
done
check "no two rollups of a level overlap" [ "$(sqlite3 "$T/reopened.db" \
	"SELECT COUNT(*) FROM buckets a JOIN buckets b ON a.level = b.level AND a.start < b.start AND b.first_snapshot <= a.last_snapshot")" = 0 ]
# the open day is stored up to its last whole hour
check "the open day's rollup ends where the last hour's does" [ "$(sqlite3 "$T/reopened.db" \
	"SELECT (SELECT MAX(last_snapshot) FROM buckets WHERE level = 2) = (SELECT MAX(last_snapshot) FROM buckets WHERE level = 1)")" = 1 ]
check "and that is before the latest snapshot (the open hour is not rolled up)" [ "$(sqlite3 "$T/reopened.db" \
	"SELECT (SELECT MAX(last_snapshot) FROM buckets WHERE level = 2) < (SELECT MAX(id) FROM snapshots)")" = 1 ]

# ---- windows answered from rollups equal the sum of the changes -----------
cp "$T/reopened.db" "$T/main.db"
start_daemon main --source "$T/none" --interval 86400 || not_ok "daemon on the history"
cat >"$T/sum.py" <<'PYEOF'
# sum.py DB LO HI GROWERS.json PODBDIR: the reply's per-stack net, allocated
# and freed pages against the sum of the changes of snapshots LO+1..HI
import json, sys
sys.path.insert(0, sys.argv[5])
import podb
db = podb.DB(sys.argv[1])
lo, hi = int(sys.argv[2]), int(sys.argv[3])
want = {}
for s in range(lo + 1, hi + 1):
    for series, ch in db.changes(s).items():
        w = want.setdefault(series, [0, 0, 0])
        w[0] += ch['d_pages']; w[1] += ch['allocated']; w[2] += ch['freed']
rep = json.load(open(sys.argv[4]))
assert rep['window']['since'] == lo and rep['window']['until'] == hi, rep['window']
got = {g['series']: [g['net_pages'], g['allocated_pages'], g['freed_pages']]
       for g in rep['groups']}
# growers: the stacks that grew, and only those
want = {k: v for k, v in want.items() if db.series[k]['kind'] == 'stack' and v[0] > 0}
bad = [k for k in set(want) | set(got) if want.get(k) != got.get(k)]
print('ok %d stacks, resolution %s' % (len(want), rep['window']['resolution'])
      if not bad else 'differ: %d stacks, e.g. series %d: reply %r, changes %r' %
      (len(bad), bad[0], got.get(bad[0]), want.get(bad[0])))
PYEOF
last=$(sqlite3 "$T/reopened.db" "SELECT MAX(id) FROM snapshots")
day=$(sqlite3 "$T/reopened.db" "SELECT first_snapshot - 1 FROM buckets WHERE level = 2 ORDER BY start LIMIT 1 OFFSET 1")
for w in "1 $last" "$day $last" "$((day + 3)) $((last - 5))" "$((day + 150)) $((day + 290))"; do
	set -- $w
	ctl --json top-growers --since "$1" --until "$2" --limit 10000 >"$T/g.json" 2>"$T/err"
	"$PY" "$T/sum.py" "$DB" "$1" "$2" "$T/g.json" "$PO_SRCDIR/tests/tools" >"$T/sum.out" 2>&1
	check "top-growers $1..$2 equals the sum of the changes: $(head -c 200 "$T/sum.out")" \
		grep -q '^ok [1-9]' "$T/sum.out"
done
done_testing
