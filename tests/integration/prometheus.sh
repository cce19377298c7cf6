#!/bin/bash
# prometheus.sh: page-ownerd's GET /metrics against the real tools.
#   - promtool test rules: every rule of packaging/prometheus/page-ownerd.rules.yml
#     (tests/prometheus/*.test.yml);
#   - the endpoint: 404, 405, HEAD, text 0.0.4 and OpenMetrics (# EOF),
#     `promtool check metrics` on a real scrape, the series count within the
#     bound page-ownerd(8) states, every metric the Grafana dashboard queries
#     present in a scrape;
#   - a real Prometheus (Debian's `prometheus`) on loopback, its data under
#     the build directory, scraping every second a daemon that replays a
#     capture with a known leak, with the shipped rules (a copy whose `for:`
#     are short): its HTTP API must give the leak's pageowner_stack_bytes
#     exactly, the leak alert pending or firing, and no collection alert.
# Prometheus is stopped at the end, also when a check fails (at_exit).
. "$(dirname "$0")/lib.bash"

PROMTOOL=$(command -v promtool)
PROMETHEUS=$(command -v prometheus)
[ -n "$PROMETHEUS" ] || PROMETHEUS=/usr/bin/prometheus
CURL=$(command -v curl)
RULES="$PO_SRCDIR/packaging/prometheus/page-ownerd.rules.yml"
DASH="$PO_SRCDIR/packaging/grafana/page-ownerd-dashboard.json"

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- the rules' unit tests ------------------------------------------------------------
if [ -z "$PROMTOOL" ]; then
	skip "promtool check rules / test rules" "no promtool (apt-get install prometheus)"
else
	check "promtool check rules: page-ownerd.rules.yml" bash -c "'$PROMTOOL' check rules '$RULES' >/dev/null"
	for t in "$PO_SRCDIR"/tests/prometheus/*.test.yml; do
		if out=$(cd "$(dirname "$t")" && "$PROMTOOL" test rules "$(basename "$t")" 2>&1); then
			ok "promtool test rules: $(basename "$t")"
		else
			not_ok "promtool test rules: $(basename "$t")"
			printf '%s\n' "$out" | head -40 | sed 's/^/#   /'
		fi
	done
	# every rule of the file has a test (an alert named in an alert_rule_test,
	# a recording rule in a promql_expr_test)
	for r in $(sed -n 's/^ *- \(alert\|record\): *\([^ ]*\).*/\2/p' "$RULES"); do
		check "rule $r is unit-tested" grep -qE "(alertname: $r\$|expr: .*$r)" "$PO_SRCDIR"/tests/prometheus/*.test.yml
	done
fi

if [ -z "$CURL" ]; then
	skip "the /metrics endpoint" "no curl (apt-get install curl)"
	done_testing
fi

# ---- a capture with a leak: the leaker grows by 200 pages a dump ------------------------
cap="$T/cap"
steps="same"
for i in $(seq 1 24); do
	case $((i % 4)) in
	0) steps="$steps churn:100" ;;
	*) steps="$steps leak:200" ;;
	esac
done
# shellcheck disable=SC2086
make_capture "$cap" $steps >/dev/null
ndumps=$(ls "$cap"/*.page_owner | wc -l)
leak_pages=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[-1]["leaker_pages"])' "$cap/truth.json")
page_size=$(getconf PAGESIZE)

MPORT=$(free_port)
printf 'metrics_listen = 127.0.0.1:%s\ncpu_budget = 50%%\n' "$MPORT" >"$T/metrics.conf"
# the replay must outlast Prometheus' start and a few scrapes: 2 s a dump
if ! start_daemon prom --config "$T/metrics.conf" --source "$cap" --interval 2 --mode full; then
	not_ok "page-ownerd starts with metrics_listen = 127.0.0.1:$MPORT"
	done_testing
fi
URL="http://127.0.0.1:$MPORT/metrics"
wait_status 'd["snapshots"]["taken"] >= 2' >/dev/null

# ---- the endpoint itself ------------------------------------------------------------------
code() { "$CURL" -s -o /dev/null -w '%{http_code}' --max-time 20 "$@"; }
check "GET /metrics answers 200" test "$(code "$URL")" = 200
check "GET / answers 404" test "$(code "http://127.0.0.1:$MPORT/")" = 404
check "GET /metricsx answers 404" test "$(code "http://127.0.0.1:$MPORT/metricsx")" = 404
check "POST /metrics answers 405" test "$(code -X POST -d x "$URL")" = 405
check "DELETE /metrics answers 405" test "$(code -X DELETE "$URL")" = 405
check "HEAD /metrics answers 200" test "$(code -I "$URL")" = 200
"$CURL" -s -D "$T/text.h" -o "$T/scrape.txt" "$URL"
check "the text format is 0.0.4" grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/text.h"
check "the text format has no # EOF" bash -c "! grep -q '^# EOF' '$T/scrape.txt'"
"$CURL" -s -D "$T/om.h" -o "$T/scrape.om" \
	-H 'Accept: application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5' "$URL"
check "OpenMetrics when Accept asks for it" \
	grep -qi '^Content-Type: application/openmetrics-text; version=1.0.0' "$T/om.h"
check "OpenMetrics ends with # EOF" test "$(tail -1 "$T/scrape.om")" = "# EOF"
check "OpenMetrics names the counter family without _total" \
	grep -qx '# TYPE pageowner_snapshots counter' "$T/scrape.om"
check "OpenMetrics has only HELP, TYPE and EOF comments" \
	bash -c "! grep '^#' '$T/scrape.om' | grep -qvE '^# (HELP|TYPE) |^# EOF$'"
check "the query string is ignored (/metrics?x=1)" test "$(code "$URL?x=1")" = 200
if [ -n "$PROMTOOL" ]; then
	if out=$("$PROMTOOL" check metrics <"$T/scrape.txt" 2>&1); then
		ok "promtool check metrics passes on a real scrape"
	else
		not_ok "promtool check metrics: $(head -c 600 <<<"$out")"
	fi
	# the check can fail: a counter without _total is a lint error
	sed 's/pageowner_snapshots_total/pageowner_snapshots_count_all/' "$T/scrape.txt" >"$T/bad.txt"
	check "promtool check metrics notices a bad name" bash -c "! '$PROMTOOL' check metrics <'$T/bad.txt' >/dev/null 2>&1"
fi
for m in pageowner_info pageowner_snapshots_total pageowner_snapshots_failed_total \
	pageowner_snapshot_cpu_seconds pageowner_interval_seconds \
	pageowner_effective_interval_seconds pageowner_budget_cpu_ratio \
	pageowner_budget_spent_ratio pageowner_last_snapshot_timestamp_seconds \
	pageowner_leak_window_seconds pageowner_leak_suspects pageowner_stack_bytes; do
	check "the scrape has $m" grep -qE "^$m(\{| )" "$T/scrape.txt"
done
check "pageowner_info has version, kernel, boot_id and mode" \
	grep -qE '^pageowner_info\{version="[^"]+",kernel="6\.12\.117-test",boot_id="b0000000-[^"]*",mode="full"\} 1$' "$T/scrape.txt"
series=$(grep -vc '^#' "$T/scrape.txt")
check "series in a scrape: $series, within the documented 151" test "$series" -le 151

# every metric name the dashboard's queries use is in a real scrape
dash_metrics=$("$PY" - "$DASH" <<'PYEOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
names = set()
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k in ('expr', 'definition') and isinstance(v, str):
                names.update(re.findall(r'\bpageowner_[a-z_]+', v))
            elif k == 'query' and isinstance(v, (str, dict)):
                walk({'expr': v} if isinstance(v, str) else v)
            else:
                walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(d)
print('\n'.join(sorted(names)))
PYEOF
)
check "the dashboard queries page-ownerd metrics" test -n "$dash_metrics"
# a scrape with a leak suspect (the leak series exist only then)
for i in $(seq 1 40); do
	"$CURL" -s -o "$T/scrape2.txt" "$URL"
	grep -q '^pageowner_leak_score{' "$T/scrape2.txt" && break
	sleep 1
done
check "a leak suspect appears in a scrape" grep -q '^pageowner_leak_score{.*culprit="leaker_leak_pages",module="leaker"}' "$T/scrape2.txt"
for m in $dash_metrics; do
	check "dashboard metric $m is in a real scrape" grep -qE "^$m(\{| )" "$T/scrape2.txt"
done

# ---- a daemon whose snapshots fail: no history, the collection figures still --------------
FPORT=$(free_port)
printf 'metrics_listen = 127.0.0.1:%s\n' "$FPORT" >"$T/fail.conf"
SOCK_KEEP=$SOCK DPID_KEEP=$DPID DLOG_KEEP=$DLOG
if start_daemon fail --config "$T/fail.conf" --source "$T/no-such-file" --interval 1; then
	wait_status 'd["snapshots"]["failed"] >= 2' >/dev/null
	FURL="http://127.0.0.1:$FPORT/metrics"
	"$CURL" -s -o "$T/fail.txt" "$FURL"
	"$CURL" -s -o "$T/fail.om" -H 'Accept: application/openmetrics-text; version=1.0.0' "$FURL"
	check "no history: the scrape counts the failed snapshots" \
		grep -qE '^pageowner_snapshots_failed_total [1-9]' "$T/fail.txt"
	check "no history: the last snapshot's time is 0" \
		grep -qx 'pageowner_last_snapshot_timestamp_seconds 0.000' "$T/fail.txt"
	check "no history: no leak suspect" grep -qx 'pageowner_leak_suspects 0' "$T/fail.txt"
	check "no history: OpenMetrics has only HELP, TYPE and EOF comments" \
		bash -c "! grep '^#' '$T/fail.om' | grep -qvE '^# (HELP|TYPE) |^# EOF$'"
	if [ -n "$PROMTOOL" ]; then
		check "no history: promtool check metrics passes" bash -c "'$PROMTOOL' check metrics <'$T/fail.txt'"
	fi
	stop_daemon
else
	not_ok "page-ownerd starts on a missing source"
fi
SOCK=$SOCK_KEEP DPID=$DPID_KEEP DLOG=$DLOG_KEEP

# ---- sockets passed by systemd, told apart by name (systemd-socket-activate) ---------------
# both orders: the control socket and FileDescriptorName=metrics
act=$(command -v systemd-socket-activate)
if [ -z "$act" ]; then
	skip "sockets passed by name" "no systemd-socket-activate (apt-get install systemd)"
else
	for order in control-first metrics-first; do
		AP=$(free_port)
		asock="$T/act-$order.sock"
		if [ $order = control-first ]; then
			largs=(-l "$asock" -l "127.0.0.1:$AP" --fdname=page-ownerd.socket:metrics)
		else
			largs=(-l "127.0.0.1:$AP" -l "$asock" --fdname=metrics:page-ownerd.socket)
		fi
		"$act" "${largs[@]}" "$DAEMON" --foreground --db "$T/act-$order.db" \
			--source "$cap/001.page_owner" --interval 60 >"$T/act-$order.log" 2>&1 &
		apid=$!
		at_exit "kill $apid 2>/dev/null"
		for i in $(seq 1 100); do [ -S "$asock" ] && break; sleep 0.1; done
		# the first connection starts the daemon
		check "$order: GET /metrics on the socket named metrics answers 200" \
			test "$(code --max-time 30 "http://127.0.0.1:$AP/metrics")" = 200
		check "$order: the control socket answers pageownerctl" \
			bash -c "'$CTL' --socket '$asock' status >/dev/null"
		check "$order: both sockets came from systemd (the log says so)" \
			bash -c "grep -q 'socket (from systemd)' '$T/act-$order.log' && grep -q 'serving GET /metrics on (from systemd)' '$T/act-$order.log'"
		kill "$apid" 2>/dev/null
		wait "$apid" 2>/dev/null
	done
fi

# ---- a real Prometheus -------------------------------------------------------------------
if [ ! -x "$PROMETHEUS" ]; then
	skip "a real Prometheus scrapes the daemon" "no prometheus (apt-get install prometheus)"
	stop_daemon
	done_testing
fi
PDIR="$PO_BUILD/test-prometheus"
rm -rf "$PDIR"
mkdir -p "$PDIR/data"
# the shipped rules with every for: at 2 s
sed 's/^\( *for:\).*/\1 2s/' "$RULES" >"$PDIR/rules.yml"
PPORT=$(free_port)
cat >"$PDIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $PDIR/rules.yml
scrape_configs:
  - job_name: page-ownerd
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
"$PROMETHEUS" --config.file="$PDIR/prometheus.yml" --storage.tsdb.path="$PDIR/data" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$PDIR/prometheus.log" 2>&1 &
PROMPID=$!
at_exit "kill $PROMPID 2>/dev/null; wait $PROMPID 2>/dev/null"
API="http://127.0.0.1:$PPORT/api/v1"

# promq 'PromQL' -> the JSON answer in $T/q.json
promq() {
	"$CURL" -s --max-time 10 -G "$API/query" --data-urlencode "query=$1" >"$T/q.json"
}
# promval 'PromQL': its single value, or "" when it has no sample
promval() {
	promq "$1" && "$PY" -c 'import json,sys
r = json.load(open(sys.argv[1]))["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "")' "$T/q.json" 2>/dev/null
}
ready=0
for i in $(seq 1 120); do
	if "$CURL" -s --max-time 2 "http://127.0.0.1:$PPORT/-/ready" >/dev/null 2>&1; then
		ready=1
		break
	fi
	kill -0 "$PROMPID" 2>/dev/null || break
	sleep 0.5
done
if [ $ready = 0 ]; then
	not_ok "prometheus starts on 127.0.0.1:$PPORT"
	sed 's/^/#   /' "$PDIR/prometheus.log" | tail -20
	stop_daemon
	done_testing
fi
ok "prometheus starts on 127.0.0.1:$PPORT (data in $PDIR/data)"

# the replay's end, then scrapes of it: the leak's value is final
check "the daemon replays the capture to its end ($ndumps dumps)" \
	wait_status 'd["source"].get("replay", {}).get("done")' 180
want=$((leak_pages * page_size))
got=
for i in $(seq 1 60); do
	got=$(promval 'pageowner_stack_bytes{job="page-ownerd",culprit="leaker_leak_pages"}')
	[ "$got" = "$want" ] && break
	sleep 1
done
check "prometheus: the target is up" test "$(promval 'up{job="page-ownerd"}')" = 1
check "prometheus: the leak's pageowner_stack_bytes is $want (got ${got:-none})" test "$got" = "$want"
"$CURL" -s "$API/targets" >"$T/targets.json"
check "prometheus: the scrape has no error (OpenMetrics parsed)" \
	test "$(pyjson "$T/targets.json" '[t["lastError"] for t in d["data"]["activeTargets"]]')" = "['']"
check "prometheus: pageowner_allocated_bytes is the last dump's total" \
	test "$(promval 'pageowner_allocated_bytes{job="page-ownerd"}')" = \
	"$(( $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[-1]["pages"])' "$cap/truth.json") * page_size ))"
check "prometheus: the recording rule of the suspects' bytes holds the leak's" \
	test "$(promval 'instance:pageowner_leak_suspect_bytes:sum{job="page-ownerd"}')" = "$want"

alerts() { "$CURL" -s --max-time 10 "$API/alerts" >"$T/alerts.json"; }
leak_state=
for i in $(seq 1 30); do
	alerts
	leak_state=$(pyjson "$T/alerts.json" '",".join(sorted(set(a["state"] for a in d["data"]["alerts"] if a["labels"]["alertname"] == "PageOwnerLeakSuspect" and a["labels"].get("culprit") == "leaker_leak_pages")))')
	[ "$leak_state" = firing ] && break
	sleep 1
done
check "prometheus: PageOwnerLeakSuspect for leaker_leak_pages is pending or firing (${leak_state:-absent})" \
	grep -qE '^(pending|firing)' <<<"$leak_state"
collection=$(pyjson "$T/alerts.json" '" ".join(a["labels"]["alertname"] + ":" + a["state"] for a in d["data"]["alerts"] if a["labels"]["alertname"] != "PageOwnerLeakSuspect")')
check "prometheus: no collection alert is pending or firing${collection:+ ($collection)}" test -z "$collection"
check "prometheus: the alerts carry no other culprit than the leak" \
	test "$(pyjson "$T/alerts.json" 'sorted(set(a["labels"].get("culprit") for a in d["data"]["alerts"]))')" = "['leaker_leak_pages']"

kill "$PROMPID" 2>/dev/null
wait "$PROMPID" 2>/dev/null
check "the daemon still answers its control socket" bash -c "'$CTL' --socket '$SOCK' status >/dev/null"
stop_daemon
check "the daemon stops cleanly (status $DSTATUS)" test "$DSTATUS" = 0
done_testing
