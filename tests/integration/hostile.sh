#!/bin/bash
# hostile.sh: page-ownerd against hostile clients (lib/proto.h limits):
# slowloris (a byte a second: closed after the 10 s request timeout while
# others are served), clients that never read their replies (the daemon
# stops answering them at 1 MiB queued, so the 16 MiB output cap is only
# a backstop; they are disconnected once their replies sit unread for
# 30 s, while others are served), a 100 MB line (-32005 and closed), deeply
# nested JSON, invalid UTF-8, duplicate keys, unknown methods and params
# (exact error codes, the connection stays usable), a flood of
# connections past the 128 limit (-32006 for the extra ones), and
# accept() failing with EMFILE (the daemon under `ulimit -n 64` pauses
# accepting and serves the waiting clients once there is room).  The
# daemon's VmHWM is reported after each.  The clients are in rpcclient.py.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/hold.bash"

RC="$PO_SRCDIR/tests/integration/rpcclient.py"
GEN="$PO_SRCDIR/build/tests/gen-dump"
[ -x "$GEN" ] || GEN="$PO_BUILD/tests/gen-dump"
# 12,000 stacks: `top --limit 10000` is a reply of megabytes
"$GEN" --records 40000 --stacks 12000 --seed 5 -o "$T/src.page_owner" 2>/dev/null

if ! start_daemon hostile --source "$T/src.page_owner" --interval 5; then
	not_ok "page-ownerd starts"
	done_testing
fi
wait_status 'd["snapshots"]["taken"] >= 1' >/dev/null
echo "# VmHWM at start: $(vmhwm)"

# hostile_case WHAT RPCCLIENT-ARGS...: run one client, hold on its verdict
# and on the daemon being alive, with the VmHWM after it in the summary
hostile_case() {
	local what=$1 rc t0=$SECONDS
	shift
	timeout -k 5 300 "$PY" "$RC" "$SOCK" "$@" >"$T/case.out" 2>&1
	rc=$?
	grep '^#' "$T/case.out"
	echo "# ($((SECONDS - t0)) s)"
	HOLD_NOTE="$(grep '^# ' "$T/case.out" | tail -1 | cut -c3-150); VmHWM $(vmhwm)"
	hold hostile "$what" [ "$rc" = 0 ]
	hold hostile "$what: the daemon lives and answers" status_ok_now
}
status_ok_now() {
	alive && tctl --json status >/dev/null 2>&1
}

hw0=$(vmhwm_kb)
hostile_case "a 100 MB line: error -32005, then closed" big-line 100
hw=$(vmhwm_kb)
# bounded: the peak grows by far less than the line (64 KiB are read)
hold hostile "a 100 MB line: daemon memory stays bounded (VmHWM $((hw0 / 1024)) -> $((hw / 1024)) MiB)" \
	[ $((${hw:-999999} - ${hw0:-0})) -lt $((32 * 1024)) ]

# in the background meanwhile: two clients that never read their replies,
# big ones (`top` of many groups: 0.5 s each here, seconds under ASan)
# and small cheap ones (`status`)
big=10000
hold_asan && big=2000
timeout -k 5 300 "$PY" "$RC" "$SOCK" never-reads "$big" 150 >"$T/stall-big.out" 2>&1 &
stall_big=$!
timeout -k 5 300 "$PY" "$RC" "$SOCK" never-reads status 150 >"$T/stall.out" 2>&1 &
stall=$!

hostile_case "slowloris (a byte a second): closed after the request timeout, others served" slowloris
check "hostile: slowloris: logged" log_has "took over 10 s to send one request line"
# malformed and wrong requests on one connection: each gets its exact code
timeout -k 5 600 "$PY" "$RC" "$SOCK" protocol >"$T/proto.out" 2>&1
proto_rc=$?
while IFS= read -r line; do
	case "$line" in
	"ok - "*) ok "hostile: ${line#ok - }"; hold_line hostile "${line#ok - }" held "connection stays usable" ;;
	"not ok - "*) not_ok "hostile: ${line#not ok - }"; hold_line hostile "${line#not ok - }" FAILED ;;
	"#"*) echo "$line" ;;
	esac
done <"$T/proto.out"
[ "$proto_rc" = 0 ] || not_ok "hostile: protocol cases (exit $proto_rc): $(tail -3 "$T/proto.out")"
HOLD_NOTE="VmHWM $(vmhwm)"
hold hostile "malformed requests: the daemon lives and answers" status_ok_now

for w in big small; do
	if [ $w = big ]; then pid=$stall_big out="$T/stall-big.out"; else pid=$stall out="$T/stall.out"; fi
	wait "$pid"
	st=$?
	grep '^#' "$out"
	HOLD_NOTE="$(grep '^# never-reads: disc' "$out" | cut -c3-120); $(grep '^# meanwhile' "$out" | cut -c13-140)"
	hold hostile "a client that never reads ($w replies): disconnected once they sit unread 30 s, others served" [ "$st" = 0 ]
done
hold hostile "never-reading clients: logged, and counted (clients.slow_readers)" \
	eq2 "$(grep -c 'left its replies unread for 30 s' "$DLOG")" 2 "$(status_field 'd["clients"]["slow_readers"]')" 2
hostile_case "a flood: 128 clients held, 40 more get -32006 and are closed" flood 40
hold hostile "the flood is counted in status (clients.refused_full)" \
	[ "$(status_field 'd["clients"]["refused_full"] >= 40')" = True ]
echo "# VmHWM after all the above: $(vmhwm)"
stop_daemon
check "hostile: SIGTERM after all that: exit status 0" [ "$DSTATUS" = 0 ]

# accept() fails with EMFILE: the daemon runs with 64 file descriptors
(
	ulimit -n 64
	exec "$DAEMON" --foreground --socket "$T/emfile.sock" --db "$T/emfile.db" \
		--source "$T/src.page_owner" --interval 3600 >>"$T/emfile.log" 2>&1
) &
DPID=$!
SOCK="$T/emfile.sock"
DLOG="$T/emfile.log"
at_exit "kill -9 $DPID 2>/dev/null"
wait_until 20 status_ok_now >/dev/null
wait_status 'd["snapshots"]["taken"] >= 1 and not d["snapshot_running"]' >/dev/null
hostile_case "accept fails with EMFILE (ulimit -n 64, 100 clients): paused, then the waiting are served" emfile 100
check "hostile: EMFILE: logged" log_has "accept: Too many open files; pausing"
stop_daemon
check "hostile: the EMFILE daemon stops with status 0" [ "$DSTATUS" = 0 ]

done_testing
