#!/bin/bash
# bench-daemon.sh: what one snapshot costs (issue: snapshots on a schedule).
# A replayed capture of 50 snapshots of a host with 500,000 records and
# churn (tests/bench/gen-dump --snapshots): snapshot cost split into
# parse / diff / store, CPU per snapshot against the time `cat` takes to
# read the same file, the daemon's peak RSS (also with 100,000-record
# dumps, to show it flat in dump size), database bytes per snapshot.
set -euo pipefail
# run.sh passes its build and work directories
build=${BENCH_BUILD:-build} work=${BENCH_WORK:-build/bench}
nsnap=${BENCH_SNAPSHOTS:-50}

run_replay() { # RECORDS: replay NSNAP dumps of RECORDS records; print figures
	local recs=$1 dir="$work/replay-$1" db="$work/replay-$1.db" sock="$work/replay.sock"
	local pid rss i cat_s
	rm -rf "$dir" "$db" "$db"-* "$db".ident*
	"$build/tests/gen-dump" --snapshots "$nsnap" --records "$recs" --stacks 20000 \
		--churn 5 --leak 200 --seed 11 --outdir "$dir"
	cat "$dir"/0001.page_owner >/dev/null
	cat_s=$( { /usr/bin/time -f "%e" sh -c "cat \"$dir/0001.page_owner\" | wc -c >/dev/null"; } 2>&1 | tail -1)
	# every snapshot back to back: the CPU budget would stretch the interval
	printf 'cpu_budget = 100%%\n' >"$work/replay.conf"
	"$build/page-ownerd" --foreground --config "$work/replay.conf" --source "$dir" \
		--db "$db" --socket "$sock" --interval 1 --log-level warning >"$work/replay.log" 2>&1 &
	pid=$!
	for i in $(seq 3600); do
		if "$build/pageownerctl" --socket "$sock" --json status 2>/dev/null |
		    grep -q '"done": true'; then
			break
		fi
		sleep 0.5
	done
	rss=$(awk '/VmHWM/ { print $2 }' /proc/$pid/status)
	kill $pid
	wait $pid || true
	python3 - "$db" "$recs" "$cat_s" "$rss" "$nsnap" <<'PYEOF'
import sqlite3, statistics, sys, os
db, recs, cat_s, rss, nsnap = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
c = sqlite3.connect(db)
rows = c.execute('SELECT parse_s, diff_s, store_s, cpu_user, cpu_sys, duration, bytes, '
                 'records, changed FROM snapshots WHERE NOT baseline').fetchall()
med = lambda i: statistics.median(r[i] for r in rows)
size = os.path.getsize(db) + (os.path.getsize(db + '-wal') if os.path.exists(db + '-wal') else 0)
print('   %d records/dump (%.0f MiB), %d snapshots stored:' % (recs, med(6) / 1048576, len(rows) + 1))
print('     per snapshot (median): parse %.3fs  diff %.3fs  store %.3fs  total %.3fs; '
      '%d series changed' % (med(0), med(1), med(2), med(5), med(8)))
print('     CPU per snapshot: %.3fs user + %.3fs system = %.3fs; cat of the same file: %.3fs '
      '(%.1fx)' % (med(3), med(4), med(3) + med(4), cat_s, (med(3) + med(4)) / max(cat_s, 0.001)))
print('     daemon peak RSS %.1f MiB (target < 64 MiB plus the series); database %.1f MiB, '
      '%.0f KiB per snapshot' % (rss / 1024, size / 1048576, size / 1024 / (len(rows) + 1)))
PYEOF
	rm -rf "$dir"
}
echo "== daemon: $nsnap replayed snapshots with 5% churn and a steady leak"
run_replay "${BENCH_SMALL:-100000}"
run_replay "${BENCH_LARGE:-500000}"
