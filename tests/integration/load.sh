#!/bin/bash
# load.sh: 128 clients query page-ownerd at once while snapshots are being
# taken one after the other: every reply must equal the answer given when
# the daemon was idle (the queries name fixed snapshots: top at 2, growers
# and leaks of 1..3, diff 1 3, snapshots until 3), none may fail or be
# lost.  Reports p50/p99 latency and the daemon's VmHWM.  The clients are
# in rpcclient.py (python threads, one connection each).
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/hold.bash"

RC="$PO_SRCDIR/tests/integration/rpcclient.py"
cap="$T/cap"
make_capture "$cap" leak:2000 churn:300 leak:5000 churn:500 free:1000
src="$T/src.page_owner"
cp "$cap/001.page_owner" "$src"
# no CPU budget stretching the interval; the interval in the file, not a
# flag, so that a reload can change it
printf 'cpu_budget = 100\ninterval = 3600\n' >"$T/load.conf"
if ! start_daemon load --config "$T/load.conf" --source "$src"; then
	not_ok "page-ownerd starts"
	done_testing
fi
wait_status 'd["snapshots"]["taken"] == 1 and not d["snapshot_running"]' >/dev/null
for i in 2 3; do
	cp "$cap/00$i.page_owner" "$src"
	tctl snapshot >/dev/null 2>&1 || not_ok "snapshot $i"
done
check "load: three snapshots to query" [ "$(status_field 'd["snapshots"]["stored"]')" = 3 ]

clients=128 per=16
hold_asan && per=6
check "load: the answers when idle" timeout 60 "$PY" "$RC" "$SOCK" idle "$T/idle.json"
# now snapshots one after the other (SIGHUP reloads the interval)
printf 'cpu_budget = 100\ninterval = 1\n' >"$T/load.conf"
kill -HUP "$DPID"
check "load: SIGHUP: snapshots every second now" wait_status 'd["interval_s"] == 1' 20
hwm0=$(vmhwm)
timeout -k 5 400 "$PY" "$RC" "$SOCK" load "$clients" "$per" "$T/idle.json" "$T/load.json" \
	"$src" "$cap/004.page_owner" "$cap/005.page_owner" "$cap/006.page_owner" >"$T/load.out" 2>&1
rc=$?
grep '^#' "$T/load.out"
res=$(pyjson "$T/load.json" '"%d requests, p50 %s ms, p99 %s ms, max %s ms, %d snapshots meanwhile" % (d["requests"], d["p50_ms"], d["p99_ms"], d["max_ms"], d["snapshots_meanwhile"])' 2>/dev/null)
HOLD_NOTE="$res; VmHWM $hwm0 -> $(vmhwm)"
hold load "$clients clients x $per queries while snapshots run: every reply equals the idle answer" [ "$rc" = 0 ]
echo "# load: $res; VmHWM before $hwm0, after $(vmhwm)"
hold load "after the load the daemon answers and its database is sound" \
	eq2 "$(status_field 'd["clients"]["connected"] <= 1')" True "$(dbcheck "$DB")" ok
stop_daemon
check "load: SIGTERM: exit status 0" [ "$DSTATUS" = 0 ]
done_testing
