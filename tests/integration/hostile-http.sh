#!/bin/bash
# hostile-http.sh: page-ownerd's /metrics endpoint against hostile HTTP
# clients (daemon/metrics.c's limits, those of the control socket):
# malformed requests, a slowloris dribbling headers (cut off after the
# 10 s request timeout), 10,000 connections at once (accepting pauses at
# 32; the rest wait in the kernel's backlog or are refused), a 1 MB path,
# 1 MB of headers (both refused at 64 KiB), and scrapes while a snapshot
# is being taken.  After each, the daemon must serve both its control
# socket and scrapes.  Results go to the hold table (tests/tools/report.sh).
# Prints two figures: the series in a scrape of a 20,000-stack host
# (tests/bench/gen-dump), and how long scrapes take during a snapshot.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/hold.bash"

CURL=$(command -v curl)
if [ -z "$CURL" ]; then
	skip "hostile HTTP clients" "no curl (apt-get install curl)"
	done_testing
fi
HC="$PO_SRCDIR/tests/integration/httpclient.py"
GEN="$PO_BUILD/tests/gen-dump"
[ -x "$GEN" ] || GEN="$PO_SRCDIR/build/tests/gen-dump"

# a 20,000-stack host with churn and a leak, replayed: snapshots of 200,000
# records take long enough to be scraped during (fewer under ASan)
recs=200000 nsnap=14
hold_asan && recs=50000
"$GEN" --snapshots "$nsnap" --records "$recs" --stacks 20000 --churn 5 --leak 200 \
	--seed 11 --outdir "$T/cap" >/dev/null 2>&1
MPORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'metrics_listen = 127.0.0.1:%s\ncpu_budget = 100%%\n' "$MPORT" >"$T/m.conf"
if ! start_daemon hhttp --config "$T/m.conf" --source "$T/cap" --interval 1 --mode full; then
	not_ok "page-ownerd starts with metrics_listen"
	done_testing
fi
URL="http://127.0.0.1:$MPORT/metrics"
wait_status 'd["snapshots"]["taken"] >= 1' 120 >/dev/null

scrape_ok() {
	[ "$("$CURL" -s -o /dev/null -w '%{http_code}' --max-time "${1:-30}" "$URL")" = 200 ]
}
serves() {
	alive && tctl --json status >/dev/null 2>&1 && scrape_ok 30
}

# ---- scrapes during a snapshot ------------------------------------------------------------
# each sample: was a snapshot running before and after the scrape, its time
: >"$T/during.txt"
for i in $(seq 1 400); do
	running=$(tctl --json status 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["snapshot_running"])' 2>/dev/null)
	if [ "$running" = True ]; then
		out=$("$CURL" -s -o "$T/during.prom" -w '%{http_code} %{time_total}' --max-time 30 "$URL")
		echo "$out" >>"$T/during.txt"
	fi
	[ "$(wc -l <"$T/during.txt")" -ge 20 ] && break
	ctl --json status 2>/dev/null | grep -q '"done": true' && break
	sleep 0.05
done
n=$(wc -l <"$T/during.txt")
if [ "$n" -eq 0 ]; then
	hold_skip hostile "scrapes during a snapshot" "no snapshot was seen running"
else
	fig=$(awk '{ print $2 }' "$T/during.txt" | sort -n |
		awk '{ t[NR] = $1 } END { printf "%d scrapes: median %.3f s, max %.3f s", NR, t[int((NR + 1) / 2)], t[NR] }')
	echo "# scrape time during a snapshot ($recs records, 20000 stacks): $fig"
	HOLD_NOTE="$fig"
	hold hostile "HTTP: scrapes during a snapshot are answered 200" \
		bash -c "! grep -qv '^200 ' '$T/during.txt'"
fi
wait_status 'd["snapshots"]["taken"] >= 2' 300 >/dev/null
"$CURL" -s -o "$T/full.prom" "$URL"
# and between snapshots, for comparison
for i in 1 2 3 4 5; do
	tctl --json status 2>/dev/null | grep -q '"snapshot_running": false' &&
		"$CURL" -s -o /dev/null -w '%{time_total}\n' --max-time 30 "$URL"
done | sort -n | awk '{ t[NR] = $1 } END { if (NR) printf "# scrape time between snapshots: %d scrapes: median %.3f s, max %.3f s\n", NR, t[int((NR + 1) / 2)], t[NR] }'
series=$(grep -vc '^#' "$T/full.prom")
stacks=$(grep -c '^pageowner_stack_bytes{' "$T/full.prom")
echo "# series in a scrape of a 20,000-stack host: $series ($stacks of pageowner_stack_bytes)"
check "a 20,000-stack host's scrape stays within the documented 151 series ($series)" test "$series" -le 151
check "pageowner_stack_bytes: the top 20 stacks and other ($stacks)" test "$stacks" = 21
check "the other bucket holds the remaining stacks" grep -qE '^pageowner_stack_bytes\{stack="other",culprit="other",module="other"\} [1-9]' "$T/full.prom"

# ---- hostile clients --------------------------------------------------------------------------
# http_case WHAT HTTPCLIENT-ARGS...: one client; hold on its verdict and on
# the daemon serving its control socket and scrapes after it
http_case() {
	local what=$1 rc t0=$SECONDS
	shift
	timeout -k 5 300 "$PY" "$HC" 127.0.0.1 "$MPORT" "$@" >"$T/case.out" 2>&1
	rc=$?
	grep '^#' "$T/case.out"
	HOLD_NOTE="$(grep '^# ' "$T/case.out" | tail -1 | cut -c3-150); $((SECONDS - t0)) s; VmHWM $(vmhwm)"
	hold hostile "HTTP: $what" [ "$rc" = 0 ]
	hold hostile "HTTP: $what: the daemon serves RPC and scrapes after" serves
}

http_case "malformed requests: 4xx or closed" malformed
http_case "slowloris: closed before 30 s" slowloris 30
http_case "a 1 MB path: refused" bigpath 1048576
http_case "1 MB of headers: refused" bigheaders 1048576
http_case "20 scrapes on one keep-alive connection" pipeline 20

# 10,000 connections held for 15 s: meanwhile the control socket answers
timeout -k 5 120 "$PY" "$HC" 127.0.0.1 "$MPORT" flood 10000 15 >"$T/flood.out" 2>&1 &
fpid=$!
sleep 3
HOLD_NOTE="$(grep '^# ' "$T/flood.out" | head -1 | cut -c3-150)"
hold hostile "HTTP: 10,000 connections: the control socket answers meanwhile" \
	bash -c "'$CTL' --socket '$SOCK' --json status >/dev/null"
t0=$SECONDS
scrape_ok 60
rc=$?
HOLD_NOTE="a scrape during the flood: $((SECONDS - t0)) s"
echo "# $HOLD_NOTE"
hold hostile "HTTP: 10,000 connections: a scrape gets through (idle ones are cut)" [ "$rc" = 0 ]
wait "$fpid"
frc=$?
grep '^#' "$T/flood.out"
hold hostile "HTTP: 10,000 connections: the flood client ends" [ "$frc" = 0 ]
HOLD_NOTE="VmHWM $(vmhwm)"
hold hostile "HTTP: 10,000 connections: the daemon serves RPC and scrapes after" serves

grep -E 'metrics: ' "$DLOG" | sed 's/^[^ ]* [^ ]* //' | sort | uniq -c | sed 's/^/# log: /'
# stopped between snapshots (what a stop in the middle of one leaves
# behind is faults.sh's business)
wait_status 'd["source"].get("replay", {}).get("done")' 600 >/dev/null
stop_daemon
check "the daemon stops cleanly after it all (status $DSTATUS)" test "$DSTATUS" = 0
done_testing
