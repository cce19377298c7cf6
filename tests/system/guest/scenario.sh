#!/bin/bash
# scenario.sh: the system test, inside the Debian guest (systemd as PID 1,
# a page_owner kernel). tests/system/run.sh puts it on the payload disk with
# the .deb and leaker.ko; st-run.service runs it as root. It installs the
# package the way an admin does and checks the result: units enabled and
# running sandboxed, snapshots of the real debugfs page_owner, a steady leak
# found by a member of the page-ownerd group, anyone else refused, history
# kept across restarts, structured journal fields, socket activation and the
# daemon's own socket, reload, the Prometheus endpoint's socket unit (curl
# answers, the service's security score unchanged), and removal.
#
# TAP on stdout (the host's tap.log); diagnostics on stderr (the console).
# Every wait is bounded. Settings for the test (a snapshot every 5 s, a CPU
# budget that TCG's slowness does not stretch) go in the conffile, as an
# admin would put them.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C.UTF-8
ST=/run/st
SOCK=/run/page-ownerd/page-ownerd.sock
CONF=/etc/page-ownerd/page-ownerd.conf
failed=0

say() { echo "$*" >&2; }
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }
# check WHAT CMD...: ok when CMD succeeds; its output goes to the console
check() {
	local what=$1
	shift
	if "$@" >&2; then ok "$what"; else not_ok "$what"; return 1; fi
}
# expect_eq WHAT WANT GOT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1 ($3)"; else not_ok "$1 (wanted '$2', got '$3')"; fi
}
# wait_for SECONDS CMD...: until CMD succeeds; status 1 on timeout
wait_for() {
	local limit=$1 t0=$SECONDS
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ $((SECONDS - t0)) -ge "$limit" ] && return 1
		sleep 1
	done
}
ctl() { pageownerctl "$@"; }
as() { local u=$1; shift; runuser -u "$u" -- "$@"; }
# status_num KEY: a number from `pageownerctl --json status`'s "snapshots"
status_num() {
	ctl --json status 2>/dev/null | tr -d ' \n\t' | grep -o '"snapshots":{[^}]*}' |
		grep -o "\"$1\":[0-9]*" | cut -d: -f2
}
last_id() { local n; n=$(status_num last); echo "${n:-0}"; }
snapshots_after() { [ "$(last_id)" -ge "$1" ]; }
journal() { journalctl -u page-ownerd.service --no-pager "$@"; }
# diag: the units' state and recent journal, on the console
diag() {
	say "---- diagnostics: $*"
	systemctl status --no-pager -l page-ownerd.socket page-ownerd.service 2>&1 | sed 's/^/  /' >&2
	journalctl -b --no-pager -n 60 -u page-ownerd.service -u page-ownerd.socket 2>&1 |
		sed 's/^/  /' >&2
}

say "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print $2 }' /proc/meminfo) kB"
check "systemd is PID 1" test "$(cat /proc/1/comm)" = systemd
check "page_owner is on (/sys/kernel/debug/page_owner readable)" test -r /sys/kernel/debug/page_owner

# ---- install, the Debian way ------------------------------------------------
deb=$(ls "$ST"/page-ownerd_*.deb)
check "dpkg -i $(basename "$deb")" dpkg -i "$deb"
check "the group page-ownerd exists (sysusers)" getent group page-ownerd
expect_eq "page-ownerd.service is enabled" enabled "$(systemctl is-enabled page-ownerd.service 2>&1)"
expect_eq "page-ownerd.socket is enabled" enabled "$(systemctl is-enabled page-ownerd.socket 2>&1)"
expect_eq "page-ownerd.socket is listening after install" active "$(systemctl is-active page-ownerd.socket 2>&1)"
expect_eq "page-ownerd.service runs after install" active "$(systemctl is-active page-ownerd.service 2>&1)"
expect_eq "the socket is 0660 root:page-ownerd" "660 root page-ownerd" "$(stat -c '%a %U %G' "$SOCK" 2>&1)"
check "the configuration is installed" test -f "$CONF"
[ $failed = 0 ] || diag "after dpkg -i"

# ---- configure, start ------------------------------------------------------
cat >>"$CONF" <<'EOF'

# tests/system: a snapshot every 5 s, of page_owner_stacks only: under TCG
# a full read of page_owner takes a minute (the first snapshot, taken with
# the shipped settings at install, was one); a budget TCG does not stretch.
interval = 5
mode = stacks
cpu_budget = 50%
EOF
check "systemctl enable --now page-ownerd.socket page-ownerd.service" \
	systemctl enable --now page-ownerd.socket page-ownerd.service
check "systemctl restart page-ownerd (new settings)" systemctl restart page-ownerd.service
base=$(last_id)
if ! check "a snapshot is taken after the restart" wait_for 120 snapshots_after $((base + 1)); then
	diag "no snapshot"
fi
ctl status >&2

# ---- the leak ----------------------------------------------------------------
check "insmod leaker.ko steady_pages=64 steady_ms=500" \
	insmod "$ST/leaker.ko" steady_pages=64 steady_ms=500
start=$(last_id)
check "four snapshots while it leaks" wait_for 240 snapshots_after $((start + 4))
ctl snapshots --limit 8 >&2

check "useradd alice, in group page-ownerd" useradd -M -N -G page-ownerd alice
check "useradd bob, not in it" useradd -M -N bob
if ctl help | grep -q '^  top-growers'; then
	as alice pageownerctl top-growers --limit 5 >"$ST/growers" 2>"$ST/growers.err"
	rc=$?
	expect_eq "alice: pageownerctl top-growers" 0 "$rc"
	cat "$ST/growers" "$ST/growers.err" >&2
	row=$(as alice pageownerctl --no-headers top-growers --limit 1 2>&1 | head -n1)
	check "alice: the top grower is leaker_leak_pages [leaker]: $row" \
		grep -q 'leaker_leak_pages *leaker' <<<"$row"
else
	say "pageownerctl has no top-growers: using --json growers"
fi
as alice pageownerctl --json growers --limit 1 >"$ST/growers.json" 2>&1
expect_eq "alice: pageownerctl --json growers" 0 "$?"
check "alice: --json growers names leaker_leak_pages first" \
	grep -q '"culprit": *"leaker_leak_pages"' "$ST/growers.json"
if ctl help | grep -q '^  leaks'; then
	row=$(as alice pageownerctl --no-headers leaks --limit 1 2>&1 | head -n1)
	check "alice: the first leak suspect is leaker_leak_pages: $row" \
		grep -q 'leaker_leak_pages' <<<"$row"
fi

as bob pageownerctl status >"$ST/bob.out" 2>"$ST/bob.err"
expect_eq "bob (not in the group): pageownerctl status exits 3" 3 "$?"
check "bob is told why: $(head -c 200 "$ST/bob.err")" grep -q 'Permission denied' "$ST/bob.err"
as bob pageownerctl snapshots >/dev/null 2>&1
expect_eq "bob: pageownerctl snapshots exits 3" 3 "$?"

# ---- what the daemon read, and how it runs -----------------------------------
ctl --json status >"$ST/status.json" 2>&1
check "the daemon reads debugfs" grep -q '"kind": *"debugfs"' "$ST/status.json"
check "no snapshot failed" grep -q '"failed": *0' "$ST/status.json"
ctl --json snapshots --limit 50 >"$ST/snapshots.json" 2>&1
check "full reads of page_owner work in the sandbox" grep -q '"kind": *"full"' "$ST/snapshots.json"
check "stacks reads of page_owner_stacks work in the sandbox" grep -q '"kind": *"stacks"' "$ST/snapshots.json"

pid=$(systemctl show -p MainPID --value page-ownerd.service)
say "daemon pid $pid: $(grep -E '^(Uid|Gid|CapEff|CapBnd|NoNewPrivs|Seccomp):' "/proc/$pid/status" | tr '\t\n' '  ')"
expect_eq "the daemon has no effective capabilities" 0000000000000000 \
	"$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")"
expect_eq "the daemon has an empty bounding set" 0000000000000000 \
	"$(awk '/^CapBnd:/ { print $2 }' "/proc/$pid/status")"
expect_eq "the daemon has no_new_privs" 1 "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$pid/status")"
expect_eq "the daemon runs under a seccomp filter" 2 "$(awk '/^Seccomp:/ { print $2 }' "/proc/$pid/status")"
check "the daemon has a network namespace of its own (PrivateNetwork)" \
	test "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/1/ns/net)"
check "the daemon has a mount namespace of its own" \
	test "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/1/ns/mnt)"
expect_eq "the daemon runs at nice 10" 10 "$(ps -o ni= -p "$pid" | tr -d ' ')"
check "the daemon runs SCHED_BATCH" bash -c "chrt -p $pid | grep -q SCHED_BATCH"
check "the daemon's I/O class is best-effort 7" bash -c "ionice -p $pid | grep -q 'best-effort: prio 7'"
check "in its namespace /etc/shadow is hidden" bash -c "! nsenter -t $pid -m test -e /etc/shadow"
check "in its namespace /root is empty (ProtectHome)" \
	test -z "$(nsenter -t "$pid" -m ls -A /root 2>/dev/null)"
check "in its namespace page_owner is visible" nsenter -t "$pid" -m test -r /sys/kernel/debug/page_owner
check "in its namespace /sys/kernel/debug is read-only" \
	bash -c "nsenter -t $pid -m findmnt -no OPTIONS /sys/kernel/debug | grep -qE '(^|,)ro(,|$)'"
check "in its namespace / is read-only" \
	bash -c "nsenter -t $pid -m findmnt -no OPTIONS / | grep -qE '(^|,)ro(,|$)'"
check "in its namespace /var/lib/page-ownerd is writable" \
	bash -c "nsenter -t $pid -m findmnt -no OPTIONS /var/lib/page-ownerd | grep -qE '(^|,)rw(,|$)'"
expect_eq "the watchdog is armed" 2min "$(systemctl show -p WatchdogUSec --value page-ownerd.service)"
sec=$(systemd-analyze security page-ownerd.service 2>&1)
score=$(sed -n 's/.*Overall exposure level for page-ownerd.service: \([0-9.]*\).*/\1/p' <<<"$sec")
say "$(grep '✗' <<<"$sec")"
check "systemd-analyze security (live): exposure $score <= 2.0" \
	awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'

# ---- the journal ---------------------------------------------------------------
journal -o json >"$ST/journal.json"
n=$(grep -c '"SNAPSHOT_ID":"[0-9]*"' "$ST/journal.json")
check "journalctl -u page-ownerd -o json: $n entries with SNAPSHOT_ID" test "$n" -gt 0
check "... and PAGES, RECORDS, DURATION_S" \
	bash -c "grep '\"SNAPSHOT_ID\"' '$ST/journal.json' | head -n1 | grep '\"PAGES\":\"[0-9]*\"' | grep '\"RECORDS\":' | grep -q '\"DURATION_S\":'"
check "journalctl can select by SNAPSHOT_ID" \
	bash -c "journalctl -u page-ownerd.service --no-pager -o cat SNAPSHOT_ID=$start | grep -q 'snapshot $start'"
check "the daemon got its socket from systemd" \
	bash -c "journalctl -u page-ownerd.service --no-pager -o cat | grep -q '(from systemd)'"

# ---- history across a restart ----------------------------------------------------
first=$(status_num first) stored=$(status_num stored) last=$(last_id)
check "systemctl restart page-ownerd" systemctl restart page-ownerd.service
check "a snapshot after the restart" wait_for 120 snapshots_after $((last + 1))
new=$(last_id)
expect_eq "the first snapshot is still $first after the restart" "$first" "$(status_num first)"
check "snapshot ids continue after the restart ($last, then $new)" test "$new" -gt "$last"
check "nothing stored was lost (stored $stored, now $(status_num stored))" \
	test "$(status_num stored)" -gt "$stored"
check "the growth still spans the leak" \
	bash -c "runuser -u alice -- pageownerctl --json growers --limit 1 | grep -q '\"culprit\": *\"leaker_leak_pages\"'"

# ---- reload, socket activation, the daemon's own socket ------------------------------
check "systemctl reload page-ownerd" systemctl reload page-ownerd.service
check "the reload is logged" wait_for 30 bash -c "journalctl -u page-ownerd.service -o cat | grep -q 'configuration reloaded'"
expect_eq "still running after the reload" active "$(systemctl is-active page-ownerd.service)"

systemctl stop page-ownerd.service 2>&1 | sed 's/^/systemctl: /' >&2
expect_eq "stopped service, socket still listening" "inactive active" \
	"$(systemctl is-active page-ownerd.service page-ownerd.socket | xargs)"
check "alice's query starts the service through the socket" as alice pageownerctl status
expect_eq "the service runs again" active "$(systemctl is-active page-ownerd.service)"

check "stop the socket and the service, mask the socket" bash -c \
	"systemctl stop page-ownerd.socket page-ownerd.service && systemctl mask --runtime page-ownerd.socket"
check "the service alone binds its own socket" systemctl start page-ownerd.service
expect_eq "... 0660 root:page-ownerd" "660 root page-ownerd" "$(stat -c '%a %U %G' "$SOCK" 2>&1)"
check "... alice can query it" as alice pageownerctl snapshots --limit 1
as bob pageownerctl status >/dev/null 2>&1
expect_eq "... bob cannot (exit 3)" 3 "$?"
check "... and it says so in the journal" \
	bash -c "journalctl -u page-ownerd.service --no-pager -o cat | tail -n 20 | grep -q 'socket $SOCK'"
check "back to socket activation" bash -c "systemctl stop page-ownerd.service &&
	systemctl unmask --runtime page-ownerd.socket && systemctl start page-ownerd.service"
expect_eq "the socket is listening again" active "$(systemctl is-active page-ownerd.socket)"
check "answers again" as alice pageownerctl status

# ---- the Prometheus endpoint (page-ownerd-metrics.socket) -----------------------------
MPORT=$(sed -n 's/^ListenStream=.*:\([0-9]*\)$/\1/p' /lib/systemd/system/page-ownerd-metrics.socket)
expect_eq "page-ownerd-metrics.socket is installed disabled" disabled \
	"$(systemctl is-enabled page-ownerd-metrics.socket 2>&1)"
check "nothing listens on 127.0.0.1:${MPORT:-?} before it is enabled" \
	bash -c "! curl -s --max-time 5 -o /dev/null http://127.0.0.1:$MPORT/metrics"
# systemd refuses to start a socket whose service runs ("Socket service ... already
# active, refusing"): the documented order is enable, stop the service, start both.
check "systemctl enable page-ownerd-metrics.socket" \
	systemctl enable page-ownerd-metrics.socket
check "systemctl stop page-ownerd.service" systemctl stop page-ownerd.service
check "systemctl start page-ownerd-metrics.socket page-ownerd.service" \
	systemctl start page-ownerd-metrics.socket page-ownerd.service ||
	diag "$(systemctl status --no-pager page-ownerd-metrics.socket 2>&1 | tail -n 15
		journalctl --no-pager -n 30 -o cat 2>&1)"
if check "curl http://127.0.0.1:$MPORT/metrics answers" \
	wait_for 120 curl -sf --max-time 20 -o "$ST/metrics.txt" "http://127.0.0.1:$MPORT/metrics"; then
	check "... with the daemon's metrics (pageowner_info, pageowner_stack_bytes)" \
		bash -c "grep -q '^pageowner_info{' '$ST/metrics.txt' && grep -q '^pageowner_stack_bytes{' '$ST/metrics.txt'"
	check "... and the leak" grep -q 'culprit="leaker_leak_pages"' "$ST/metrics.txt"
else
	diag "no /metrics"
fi
check "the daemon got the metrics socket from systemd" \
	bash -c "journalctl -u page-ownerd.service --no-pager -o cat | grep -q 'serving GET /metrics on (from systemd)'"
pid=$(systemctl show -p MainPID --value page-ownerd.service)
check "with the metrics socket, the daemon still has its own network namespace" \
	test "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/1/ns/net)"
sec2=$(systemd-analyze security page-ownerd.service 2>&1)
score2=$(sed -n 's/.*Overall exposure level for page-ownerd.service: \([0-9.]*\).*/\1/p' <<<"$sec2")
expect_eq "systemd-analyze security page-ownerd.service unchanged by the metrics socket" "$score" "$score2"
check "pageownerctl still answers" as alice pageownerctl status
check "systemctl disable --now page-ownerd-metrics.socket" \
	systemctl disable --now page-ownerd-metrics.socket
check "systemctl restart page-ownerd (without it)" systemctl restart page-ownerd.service

# ---- an upgrade (the same package again: postinst with a version) --------------------
before=$(last_id)
check "dpkg -i again (upgrade path)" dpkg -i "$deb"
expect_eq "after the upgrade: socket and service active" "active active" \
	"$(systemctl is-active page-ownerd.socket page-ownerd.service | xargs)"
check "after the upgrade: snapshots go on from $before" wait_for 120 snapshots_after $((before + 1))
check "after the upgrade: the settings were kept (conffile)" grep -qx 'interval = 5' "$CONF"

# ---- removal -------------------------------------------------------------------------
rmmod leaker >&2 2>&1
check "dpkg --purge page-ownerd" dpkg --purge page-ownerd
expect_eq "the service is gone" inactive "$(systemctl is-active page-ownerd.service 2>&1)"
check "the socket is gone" test ! -e "$SOCK"
check "the configuration is gone" test ! -e "$CONF"

[ $failed = 0 ] || diag "at the end"
say "scenario finished, failed=$failed"
exit $failed
