#!/bin/bash
# bench-bighost.sh: big hosts (make bench BENCH=bighost).  Synthetic hosts
# of BENCH_BIGHOST_SIZES blocks (default 1 M and 4 M; 10 M and 40 M take
# 5 and 20 GB of text a dump: BENCH_BIGHOST_SIZES="1000000 10000000"),
# BENCH_BIGHOST_DUMPS (3) dumps each with 5% churn and a leak, replayed in
# four ways:
#   full         every snapshot reads the whole dump (the baseline)
#   sweep        1 GiB PFN windows, BENCH_SWEEP_WINDOWS (4) a snapshot
#   sweep-all    every window every snapshot: what full reads give, in
#                memory that holds one window at a time
#   readers=2    whole reads by two reader processes
# Printed: the daemon's peak RSS, CPU per GiB of text, bytes read per
# snapshot, snapshots to full coverage (K), database growth per snapshot,
# and `pageownerctl analyze --threads 1` on the same dump in the same run
# (the daemon's full snapshot should cost at most 1.5x that).  A file
# source has no kernel behind it: the kernel's own cost of formatting the
# text (about 25 s of CPU per GiB on hardware) is not in these figures.
# BENCH_BIGHOST_CLEAN=1 deletes each size's dumps once measured (40 M
# blocks at 3 dumps is 60 GB of text).
set -euo pipefail
build=${BENCH_BUILD:-build} work=${BENCH_WORK:-build/bench}
sizes=(${BENCH_BIGHOST_SIZES:-1000000 4000000})
per=${BENCH_SWEEP_WINDOWS:-4}
dumps=${BENCH_BIGHOST_DUMPS:-3}
ctl="$build/pageownerctl"
mkdir -p "$work"

replay() { # DIR DB CONF: replay DIR to its end; echo the daemon's VmHWM (kB)
	local dir=$1 db=$2 conf=$3 sock="$work/bighost.sock" pid i rss=0 r
	rm -rf "$db" "$db"-* "$db".ident* "$db".windows
	"$build/page-ownerd" --foreground --config "$conf" --source "$dir" \
		--db "$db" --socket "$sock" --interval 1 --log-level warning \
		>"$work/bighost.log" 2>&1 &
	pid=$!
	for i in $(seq 7200); do
		r=$(awk '/VmHWM/ { print $2 }' /proc/$pid/status 2>/dev/null || echo 0)
		[ "${r:-0}" -gt "$rss" ] && rss=$r
		if "$ctl" --socket "$sock" --json status >"$work/bighost-status.json" 2>/dev/null &&
		    grep -q '"done": true' "$work/bighost-status.json"; then
			break
		fi
		sleep 0.5
	done
	r=$(awk '/VmHWM/ { print $2 }' /proc/$pid/status 2>/dev/null || echo 0)
	[ "${r:-0}" -gt "$rss" ] && rss=$r
	kill $pid
	wait $pid || true
	echo "$rss"
}

figures() { # LABEL DB RSS_KB ANALYZE_CPU_S
	python3 - "$@" <<'PYEOF'
import sqlite3, sys, os
label, db, rss, an = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
c = sqlite3.connect(db)
rows = c.execute('SELECT cpu_user + cpu_sys, bytes, duration, kind, baseline FROM snapshots '
                 'ORDER BY id').fetchall()
n = len(rows)
cpu = sum(r[0] for r in rows) / n
byt = sum(r[1] for r in rows) / n
gib = sum(r[1] for r in rows) / 2**30
size = sum(os.path.getsize(p) for p in (db, db + '-wal') if os.path.exists(p))
import json
st = json.load(open(os.path.join(os.path.dirname(db), 'bighost-status.json')))
k = ('%d of %d windows' % (st['sweep']['k'], st['sweep']['windows'])) if 'sweep' in st else '-'
ratio = ('%.2fx analyze' % (cpu / an)) if an > 0 and (rows[-1][3] == 'full' or
    label == 'sweep-all') else ''
print('     %-10s RSS %7.1f MiB  CPU/snapshot %7.2fs  CPU/GiB %6.2fs  read/snapshot %8.1f MiB  '
      'K %s  DB +%7.1f KiB/snapshot  %s' % (label, rss / 1024, cpu, cpu * n / max(gib, 1e-9),
      byt / 2**20, k, size / 1024 / n, ratio))
PYEOF
}

echo "== bighost: full reads vs sweep vs two readers, synthetic hosts (gen-dump, $dumps dumps, 5% churn)"
echo "   baseline: mode = full, one reader (what every snapshot cost before sweep)"
for n in "${sizes[@]}"; do
	dir="$work/bighost-$n"
	if [ ! -s "$dir/$(printf %04d "$dumps").page_owner" ]; then
		rm -rf "$dir"
		"$build/tests/gen-dump" --snapshots "$dumps" --records "$n" --stacks 50000 \
			--churn 5 --leak $((n / 200)) --seed 5 --outdir "$dir"
	fi
	mib=$(($(stat -c %s "$dir/0001.page_owner") >> 20))
	# analyze --threads 1 on the same dump, now: its CPU is the yardstick
	/usr/bin/time -o "$work/an.time" -f '%U %S' "$ctl" analyze --threads 1 --json \
		"$dir/0002.page_owner" >/dev/null 2>&1 || true
	an=$(awk '{ print $1 + $2 }' "$work/an.time" | tail -1)
	echo "   $n blocks ($mib MiB a dump); analyze --threads 1: ${an}s CPU"
	printf 'mode = full\ncpu_budget = 100%%\n' >"$work/bh-full.conf"
	rss=$(replay "$dir" "$work/bh-full.db" "$work/bh-full.conf")
	figures full "$work/bh-full.db" "$rss" "$an"
	printf 'mode = sweep\nwindow = 1G\nsweep_windows = %s\ncpu_budget = 100%%\n' "$per" >"$work/bh-sweep.conf"
	rss=$(replay "$dir" "$work/bh-sweep.db" "$work/bh-sweep.conf")
	BENCH_SWEEP_WINDOWS=$per figures sweep "$work/bh-sweep.db" "$rss" "$an"
	printf 'mode = sweep\nwindow = 1G\nsweep_windows = 1000000\ncpu_budget = 100%%\n' >"$work/bh-all.conf"
	rss=$(replay "$dir" "$work/bh-all.db" "$work/bh-all.conf")
	figures sweep-all "$work/bh-all.db" "$rss" "$an"
	printf 'mode = full\nreaders = 2\ncpu_budget = 100%%\n' >"$work/bh-r2.conf"
	rss=$(replay "$dir" "$work/bh-r2.db" "$work/bh-r2.conf")
	figures "readers=2" "$work/bh-r2.db" "$rss" "$an"
	python3 - "$work/bh-full.db" "$work/bh-r2.db" <<'PYEOF'
import sqlite3, sys
w = [sqlite3.connect(p).execute('SELECT AVG(duration) FROM snapshots').fetchone()[0] for p in sys.argv[1:]]
print('     wall time per full snapshot: 1 reader %.2fs, 2 readers %.2fs' % tuple(w))
PYEOF
	[ "${BENCH_BIGHOST_CLEAN:-0}" != 1 ] || rm -rf "$dir"
done
