#!/bin/bash
# daemon.sh: page-ownerd collects a replayed capture with a known history;
# deltas, baselines, restarts, kill -9, systemd readiness, socket
# activation, reload, corrupt and too-new databases.
. "$(dirname "$0")/lib.bash"

cap="$T/cap"
make_capture "$cap" leak:2000 churn:300 leak:5000 same free:7000 reboot leak:100

# --- replay the capture ----------------------------------------------------
if ! start_daemon main --source "$cap" --interval 1; then
	not_ok "page-ownerd starts on a capture directory"
	done_testing
fi
check "the replay runs to its end and says so in status" \
	wait_status 'd["source"]["replay"]["done"] and d["snapshots"]["stored"] == 8'
check "status: version, protocol and source are reported" [ "$(pyjson "$T/status.json" \
	'(d["protocol"], d["source"]["kind"], d["source"]["replay"]["total"])')" = "(1, 'replay', 8)" ]
check "status: no next snapshot once the replay is done" [ "$(pyjson "$T/status.json" 'd["next_snapshot"]')" = None ]
ctl --json snapshots >"$T/snaps.json"
check "snapshots: 8, newest first" [ "$(pyjson "$T/snaps.json" '[s["id"] for s in d["snapshots"]]')" = "[8, 7, 6, 5, 4, 3, 2, 1]" ]
check "snapshots: the first and the one after the reboot are baselines" [ "$(pyjson "$T/snaps.json" \
	'[s["id"] for s in d["snapshots"] if s["baseline"]]')" = "[7, 1]" ]
check "snapshots: pages as the capture's truth" [ "$(pyjson "$T/snaps.json" \
	'[s["pages"] for s in reversed(d["snapshots"])]')" = "$(pyjson "$cap/truth.json" '[t["pages"] for t in d]')" ]
check "snapshots --limit 2 --since 3" [ "$(ctl --json snapshots --limit 2 --since 3 >"$T/s2.json" &&
	pyjson "$T/s2.json" '[s["id"] for s in d["snapshots"]]')" = "[8, 7]" ]
ctl snapshots >"$T/snaps.txt"
check "snapshots table: a header and 8 rows" [ "$(wc -l <"$T/snaps.txt")" = 9 ]
check "status table prints" sh -c "'$CTL' --socket '$SOCK' status | grep -q 'replay 8 of 8 files, finished'"

# --- what was stored, read by an independent decoder ----------------------
"$PY" - "$DB" "$cap" "$CTL" "$PO_SRCDIR/tests/tools" <<'PYEOF' >"$T/deltas.tap"
import json, subprocess, sys
sys.path.insert(0, sys.argv[4])
import podb
db = podb.DB(sys.argv[1])
cap, ctl = sys.argv[2], sys.argv[3]
truth = json.load(open(cap + '/truth.json'))
snaps = db.snapshots()

def ok(cond, what):
    print(('ok - ' if cond else 'not ok - ') + what)

def analyze(*files):
    out = subprocess.run([ctl, 'analyze', '--json', '--by', 'signature'] + list(files),
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)

stack_series = {s: v for s, v in db.series.items() if v['kind'] == 'stack'}
bad_inv, bad_sum, bad_ref = [], [], []
for i, s in enumerate(snaps):
    ch = db.changes(s['id'])
    if s['baseline']:
        ok(not ch, 'snapshot %d (baseline): no delta stored' % s['id'])
        continue
    # allocated - freed = net, for every series (identities are exact here)
    for series, row in ch.items():
        if row['allocated'] - row['freed'] != row['d_pages']:
            bad_inv.append((s['id'], series, row))
    # the sum of the stack deltas is the change in total pages
    d = sum(r['d_pages'] for k, r in ch.items() if k in stack_series)
    if d != s['pages'] - snaps[i - 1]['pages']:
        bad_sum.append((s['id'], d))
    # each stack series' delta, allocated and freed equal analyze's diff
    a = '%s/%s' % (cap, truth[i - 1]['file'])
    b = '%s/%s' % (cap, truth[i]['file'])
    ref = {g['signature']: g for g in analyze(a, b)['groups']}
    for series, v in stack_series.items():
        g = ref.get(v['key'])
        row = ch.get(series, {'d_pages': 0, 'allocated': 0, 'freed': 0})
        want = (g['net_pages'], g['allocated_pages'], g['freed_pages']) if g else (0, 0, 0)
        if (row['d_pages'], row['allocated'], row['freed']) != want:
            bad_ref.append((s['id'], v['culprit'], row, want))
ok(not bad_inv, 'allocated - freed = net delta in every series of every snapshot %s' % bad_inv[:2])
ok(not bad_sum, 'stack deltas add up to the change in total pages %s' % bad_sum[:2])
ok(not bad_ref, 'every stack delta, allocated and freed equals analyze of the two dumps %s' % bad_ref[:2])
leak = [k for k, v in stack_series.items() if v['culprit'] == 'leaker_leak_pages']
ok(len(leak) == 1, 'one series for leaker_leak_pages')
lk = leak[0]
ok(db.changes(2)[lk]['d_pages'] == 2000 and db.changes(2)[lk]['freed'] == 0,
   'snapshot 2: the leak grew by exactly 2000 pages, none freed')
ok(db.changes(4)[lk]['d_pages'] == 5000, 'snapshot 4: the leak grew by exactly 5000 pages')
ok(lk not in db.changes(5), 'snapshot 5 (no change): the leak has no delta')
ok(db.changes(6)[lk]['freed'] == 7000, 'snapshot 6: 7000 pages freed')
ok(db.changes(8)[lk]['d_pages'] == 100, 'snapshot 8 (after the reboot): +100 pages')
ok(db.totals()[lk]['pages'] == truth[-1]['leaker_pages'], 'totals: the leak holds %d pages now' % truth[-1]['leaker_pages'])
ok(db.check() == [], 'integrity_check and every blob decode')
PYEOF
cat "$T/deltas.tap"
grep -q '^not ok' "$T/deltas.tap" && _failed=1

# --- a restart continues the same history ------------------------------------
stop_daemon
check "SIGTERM stops the daemon with status 0" [ "$DSTATUS" = 0 ]
check "the daemon removes its socket on exit" [ ! -e "$SOCK" ]
cp "$cap/008.page_owner" "$T/live.page_owner"
cp "$cap/008.meta" "$T/live.meta"
start_daemon main --source "$T/live.page_owner" --interval 3600 || not_ok "restart"
check "after a restart the next snapshot is 9, not a baseline" \
	wait_status 'd["snapshots"]["stored"] == 9 and not d["last_snapshot"]["baseline"]'
ctl snapshot >/dev/null 2>&1
check "snapshot (root) takes one now and waits for it" [ "$(ctl --json snapshot | tee "$T/snap.json" >/dev/null;
	pyjson "$T/snap.json" 'd["id"] > 9')" = True ]
stop_daemon

# --- kill -9 during a snapshot loses nothing committed -----------------------
mkfifo "$T/fifo"
start_daemon main --source "$T/fifo" --interval 3600 || not_ok "start on a FIFO"
( head -c 200000 "$cap/004.page_owner"; sleep 30 ) >"$T/fifo" &
writer=$!
at_exit "kill $writer 2>/dev/null"
check "queries are answered while a snapshot is being taken" \
	wait_status 'd["snapshot_running"] == True' 20
before=$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from snapshots").fetchone()[0])' "$DB")
stop_daemon KILL
kill "$writer" 2>/dev/null
check "kill -9 mid-snapshot: integrity_check ok, every blob decodes" [ "$("$PY" "$PO_SRCDIR/tests/tools/podb.py" "$DB" check)" = ok ]
check "kill -9 mid-snapshot: the $before committed snapshots are all there" [ "$("$PY" -c \
	'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from snapshots").fetchone()[0])' "$DB")" = "$before" ]
start_daemon main --source "$T/live.page_owner" --interval 3600 || not_ok "restart after kill -9"
check "after kill -9 the history continues" wait_status "d['snapshots']['stored'] == $before + 1"
stop_daemon

# --- a truncated dump fails one snapshot, the next works -----------------------
head -c 300000 "$cap/002.page_owner" >"$T/cut.page_owner"
cp "$cap/002.meta" "$T/cut.meta"
start_daemon trunc --source "$T/cut.page_owner" --interval 1 || not_ok "start on a truncated dump"
check "a truncated dump fails the snapshot with a clear reason" \
	wait_status '"ends inside a record" in (d["last_error"] or {}).get("message", "")'
cp "$cap/002.page_owner" "$T/cut.page_owner"
check "the next snapshot works once the file is whole" wait_status 'd["snapshots"]["stored"] >= 1'
stop_daemon

# --- systemd: readiness, status, watchdog, stopping on a real NOTIFY_SOCKET ----
"$PY" - "$T/sd-notify.sock" "$T/notify.log" <<'PYEOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], 'w') as f:
    end = time.time() + 60
    while time.time() < end:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        f.write(msg.replace('\n', '|') + '\n')
        f.flush()
        if 'STOPPING=1' in msg:
            break
PYEOF
listener=$!
for i in $(seq 50); do [ -S "$T/sd-notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET="$T/sd-notify.sock" WATCHDOG_USEC=400000 start_daemon notify --source "$cap/001.page_owner" --interval 3600 ||
	not_ok "start under a NOTIFY_SOCKET"
sleep 1.5
stop_daemon
wait "$listener"
check "READY=1 arrives" grep -q 'READY=1' "$T/notify.log"
check "STATUS= arrives after the snapshot" grep -q 'STATUS=snapshot 1 at' "$T/notify.log"
check "WATCHDOG=1 pings arrive" [ "$(grep -c 'WATCHDOG=1' "$T/notify.log")" -ge 2 ]
check "STOPPING=1 arrives at the end" grep -q 'STOPPING=1' "$T/notify.log"
check "READY=1 comes before any snapshot status" sh -c \
	"[ \$(grep -n 'READY=1' '$T/notify.log' | head -1 | cut -d: -f1) -le \$(grep -n 'STATUS=snapshot' '$T/notify.log' | head -1 | cut -d: -f1) ]"

# --- socket activation -------------------------------------------------------------
if command -v systemd-socket-activate >/dev/null; then
	systemd-socket-activate -l "$T/act.sock" "$DAEMON" --foreground --db "$T/act.db" \
		--source "$cap/001.page_owner" --interval 3600 >"$T/act.log" 2>&1 &
	act=$!
	at_exit "kill -9 $act 2>/dev/null"
	SOCK="$T/act.sock"
	ok_act=0
	for i in $(seq 100); do
		if ctl --json status >"$T/act.json" 2>/dev/null; then ok_act=1; break; fi
		sleep 0.1
	done
	check "socket activation: the daemon answers on the socket systemd passed" [ $ok_act = 1 ]
	kill -TERM "$act"; wait "$act"
	check "socket activation: the daemon leaves systemd's socket alone" [ -S "$T/act.sock" ]
else
	skip "socket activation" "systemd-socket-activate is not installed"
fi

# --- HUP reloads the config; a bad config keeps the old settings ----------------
printf 'interval = 3600\nlog_level = info\n' >"$T/pod.conf"
start_daemon hup --config "$T/pod.conf" --source "$cap/001.page_owner" || not_ok "start with a config file"
check "the config file's interval is used" wait_status 'd["interval_s"] == 3600'
printf 'interval = 7200\n' >"$T/pod.conf"
kill -HUP "$DPID"
check "HUP reloads: the new interval is in status" wait_status 'd["interval_s"] == 7200'
printf 'interval = soon\n' >"$T/pod.conf"
kill -HUP "$DPID"
sleep 0.5
check "HUP with a bad config: the old settings stay" wait_status 'd["interval_s"] == 7200'
check "HUP with a bad config: the log names the line" grep -q "pod.conf:1: interval: 'soon'" "$DLOG"
stop_daemon
printf 'interval = 60\nbogus = 1\n' >"$T/bad.conf"
expect_status 2 "a bad config at start is an error naming the line" "$DAEMON" --foreground --config "$T/bad.conf" --db "$T/x.db" --socket "$T/x.sock"
check "... the message names the file and line" grep -q "bad.conf:2: unknown setting 'bogus'" "$T/err"

# --- a database newer than this binary is refused, untouched ---------------------
cp "$T/main.db" "$T/new.db"
"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA user_version=999"); c.commit()' "$T/new.db"
sum1=$(md5sum <"$T/new.db")
expect_status 1 "a too-new database is refused" "$DAEMON" --foreground --once --db "$T/new.db" --source "$cap/001.page_owner"
check "... with a clear message" grep -q "schema version 999, newer than" "$T/err"
check "... and the file is not touched" [ "$(md5sum <"$T/new.db")" = "$sum1" ]

# --- a corrupt database is moved aside loudly and a new one started ---------------
head -c 8192 /dev/urandom >"$T/corrupt.db"
expect_status 0 "a corrupt database: the daemon starts anyway (--once)" \
	"$DAEMON" --foreground --once --db "$T/corrupt.db" --source "$cap/001.page_owner"
check "... the corrupt file is kept aside" sh -c "ls '$T'/corrupt.db.corrupt-* >/dev/null"
check "... the log says so loudly" grep -q "DATABASE CORRUPT" "$T/err"
check "... and the new database holds the snapshot" [ "$("$PY" "$PO_SRCDIR/tests/tools/podb.py" "$T/corrupt.db" check)" = ok ]

# --- names and frames that are not text ------------------------------------------
# The history keeps well-formed UTF-8 (other bytes as '?', which JSON needs:
# jansson refuses the rest and the field or the reply would vanish); the
# tables never pass a control character to the terminal.
printf 'Page allocated via order 0, mask 0xcc0(GFP_KERNEL), pid 1, tgid 1 (sh\377\033]0;pwned\007), ts 5 ns\nPFN 0x1000 type Unmovable Block 8 type Unmovable Flags 0x0()\n get_page_from_freelist+0xf62/0x1150\n bad\377\376_frame+0x1/0x2\n tab\there+0x1/0x2\n\n' >"$T/binary.page_owner"
start_daemon binary --source "$T/binary.page_owner" --interval 3600 || not_ok "start on a dump with binary names"
wait_status 'd["last_snapshot"] is not None' 30 || not_ok "the binary dump: no snapshot"
ctl --json top --by comm >"$T/bin-comm.json"
check "a comm that is not UTF-8 is kept (as 'sh?', its control characters JSON-escaped)" \
	"$PY" -c 'import json,sys; g=json.load(open(sys.argv[1]))["groups"]; sys.exit(0 if [x["comm"] for x in g]==["sh?\x1b]0;pwned\x07"] else 1)' "$T/bin-comm.json"
ctl --json top >"$T/bin-top.json"
check "... and a culprit frame that is not (as 'bad??_frame')" \
	"$PY" -c 'import json,sys; g=json.load(open(sys.argv[1]))["groups"]; sys.exit(0 if [x.get("culprit") for x in g]==["bad??_frame"] else 1)' "$T/bin-top.json"
sid=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["groups"][0]["stack_id"])' "$T/bin-top.json" 2>/dev/null)
{ ctl top --by comm; ctl top; ctl stack "$sid"; } >"$T/bin-tables.txt" 2>&1
check "the tables and the stack view hold no control character" \
	sh -c "! LC_ALL=C grep -q '[[:cntrl:]]' '$T/bin-tables.txt' && grep -qF 'sh??]0;pwned?' '$T/bin-tables.txt' && grep -qF '    tab?here+0x1/0x2' '$T/bin-tables.txt'"
stop_daemon

done_testing
