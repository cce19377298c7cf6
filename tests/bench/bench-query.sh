#!/bin/bash
# bench-query.sh: query latency on a month of history (issue: leak and hogger
# answers).  A database holding 30 days of 60-second snapshots of a host with
# 20,000 stacks, 10% of series changing each snapshot, written through the
# daemon's own engine (tests/bench/gen-history.c), then queried over the
# socket: idle, and while a snapshot of a 500,000-record dump is written.
# Targets: every query under 100 ms p99; database under 200 MiB.
set -euo pipefail
# run.sh passes its build and work directories
build=${BENCH_BUILD:-build} work=${BENCH_WORK:-build/bench}
days=${BENCH_DAYS:-30}
db="$work/history-${days}d.db"
sock="$work/bench-query.sock"
echo "== queries: ${days} days of 60 s snapshots, 20,000 stacks, 10% changing per snapshot"
rm -f "$db" "$db"-wal "$db"-shm "$db".ident*
t0=$(date +%s.%N)
"$build/tests/gen-history" --db "$db" --days "$days" --stacks 20000 --change 0.10 2>/dev/null
t1=$(date +%s.%N)
size=$(stat -c %s "$db")
awk -v s="$size" -v t="$(echo "$t1 - $t0" | bc)" -v d="$days" 'BEGIN {
	printf "   generated in %.0f s; database %.1f MiB for %d days (target < 200 MiB)\n", t, s / 1048576, d }'
dump="$work/dump-500k.txt"
[ -s "$dump" ] || "$build/tests/gen-dump" --records 500000 --stacks 20000 --seed 9 -o "$dump"
"$build/page-ownerd" --foreground --db "$db" --socket "$sock" --source "$dump" \
	--interval 86400 --log-level warning >"$work/bench-query.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for i in $(seq 600); do
	"$build/pageownerctl" --socket "$sock" --json status 2>/dev/null |
		grep -q '"snapshot_running": false' && break
	sleep 0.1
done
leak=$(python3 - "$sock" <<'PYEOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rwb')
f.write(b'{"jsonrpc":"2.0","method":"growers","params":{"since":"-1d","limit":1},"id":1}\n')
f.flush()
print(json.loads(f.readline())["result"]["groups"][0]["stack_id"])
PYEOF
)
queries=(top 'growers:{"since":"-30d"}' 'leaks:{"since":"-7d"}'
	"history:{\"series\":\"$leak\",\"since\":\"-7d\"}"
	"history:{\"series\":\"$leak\",\"since\":\"-30d\"}"
	'diff:{"a":"-30d","b":"now"}')
echo "   idle (no snapshot running):"
python3 "$(dirname "$0")/latency.py" "$sock" "${BENCH_SECONDS:-20}" "${queries[@]}" | sed 's/^/     /'
echo "   while snapshots of a 500,000-record dump are taken back to back:"
python3 "$(dirname "$0")/latency.py" --busy "$sock" "${BENCH_SECONDS:-20}" "${queries[@]}" | sed 's/^/     /'
awk '/^(VmHWM|RssAnon|RssFile):/ { kb[$1] = $2 } END {
	printf "   daemon peak RSS: %d MiB (now: %d MiB anonymous, %d MiB of the database file mapped read-only)\n",
	    kb["VmHWM:"] / 1024, kb["RssAnon:"] / 1024, kb["RssFile:"] / 1024 }' /proc/$pid/status
