#!/bin/bash
# access.sh: who may talk to page-ownerd.  The daemon binds its socket
# 0660 with the group `socket_group`; a user outside that group cannot
# connect, a member can query but not call `snapshot` (it changes state:
# error -32000, pageownerctl exits 1), and the refusal is logged with the
# caller's uid, gid and pid.  Needs root (a group and two system users are
# made, and removed at exit); SKIPs otherwise.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/hold.bash"

tag=$$
grp="potest$tag"
member="pomem$tag"
outsider="poout$tag"
if [ "$(id -u)" != 0 ]; then
	for w in "an outsider cannot connect" "a member can query" "a member cannot take a snapshot"; do
		hold_skip access "$w" "not root: cannot make users"
	done
	done_testing
fi
if ! groupadd -r "$grp" 2>"$T/err"; then
	hold_skip access "users and groups" "groupadd failed: $(head -c 100 "$T/err")"
	done_testing
fi
at_exit "groupdel '$grp' 2>/dev/null"
useradd -r -M -N -g nogroup -G "$grp" -s /usr/sbin/nologin "$member" &&
	at_exit "userdel '$member' 2>/dev/null"
useradd -r -M -N -g nogroup -s /usr/sbin/nologin "$outsider" &&
	at_exit "userdel '$outsider' 2>/dev/null"
# both must reach the socket's directory: only the socket's mode decides
chmod 0711 "$T"

# as USER: pageownerctl ARGS..., with the user's own groups
as() {
	local u=$1
	shift
	timeout -k 5 60 setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups \
		"$CTL" --socket "$SOCK" "$@"
}

cp "$(real_dump)" "$T/src.page_owner"
printf 'socket_group = %s\ninterval = 3600\n' "$grp" >"$T/access.conf"
if ! start_daemon access --config "$T/access.conf" --source "$T/src.page_owner"; then
	not_ok "page-ownerd starts"
	done_testing
fi
wait_status 'd["snapshots"]["taken"] == 1 and not d["snapshot_running"]' >/dev/null
hold access "the socket is mode 0660, group $grp" [ "$(stat -c '%a %G' "$SOCK")" = "660 $grp" ]

as "$outsider" --json status >"$T/out.json" 2>"$T/out.err"
rc=$?
echo "# outsider: exit $rc: $(head -c 200 "$T/out.err")"
HOLD_NOTE="exit $rc: $(head -c 80 "$T/out.err")"
hold access "a user outside the group cannot connect" \
	sh -c "[ $rc != 0 ] && grep -qi 'permission denied' '$T/out.err'"

as "$member" --json status >"$T/mem.json" 2>"$T/mem.err"
rc=$?
HOLD_NOTE="exit $rc"
hold access "a member of the group can query (status, top)" \
	sh -c "[ $rc = 0 ] && [ \"\$('$PY' -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"protocol\"])' '$T/mem.json')\" = 1 ] &&
	timeout 60 setpriv --reuid=$(id -u "$member") --regid=$(id -g "$member") --init-groups '$CTL' --socket '$SOCK' --json top >/dev/null"

as "$member" --json snapshot >"$T/snap.json" 2>"$T/snap.err"
rc=$?
echo "# member snapshot: exit $rc: $(head -c 200 "$T/snap.err")"
HOLD_NOTE="exit $rc: $(head -c 80 "$T/snap.err")"
hold access "a member cannot take a snapshot (exit 1, permission denied)" \
	sh -c "[ $rc = 1 ] && grep -qi 'permission denied' '$T/snap.err'"
# the exact code, from a raw request as the member
code=$(timeout 60 setpriv --reuid="$(id -u "$member")" --regid="$(id -g "$member")" --init-groups \
	"$PY" -c 'import json,socket,sys
s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(sys.argv[1])
s.sendall(b"{\"jsonrpc\":\"2.0\",\"method\":\"snapshot\",\"id\":1}\n")
print(json.loads(s.makefile().readline())["error"]["code"])' "$SOCK" 2>&1)
hold access "... the error is -32000" [ "$code" = -32000 ]
mu=$(id -u "$member") mg=$(id -g "$member")
hold access "the refusal is logged with uid, gid and pid" \
	log_has "refused 'snapshot' from uid $mu gid $mg pid [0-9]+"
hold access "the refused snapshot was not taken" [ "$(status_field 'd["snapshots"]["taken"]')" = 1 ]
hold access "root still can take a snapshot" quiet tctl --json snapshot
stop_daemon
check "access: SIGTERM: exit status 0" [ "$DSTATUS" = 0 ]
done_testing
