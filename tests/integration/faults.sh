#!/bin/bash
# faults.sh: page-ownerd holds when its source or its database fails, or
# when it is killed mid-snapshot.  Each fault must fail one snapshot (or
# one query) with a clear status and log line, never the daemon; the next
# snapshot works once the cause is gone; nothing committed is lost
# (integrity_check, every blob decodes, the stored snapshots and deltas
# unchanged).
#
# Faults of the source (a file path the test swaps under the daemon):
#   vanishes          the file is removed
#   unreadable        a directory in its place: root reads a mode-000 file
#                     anyway, but read() of a directory fails (EISDIR), the
#                     same path a kernel EIO/ENOMEM part-way takes
#   ends part-way     a FIFO whose writer stops mid-record and exits (what
#                     a reader killed by EIO or ENOMEM leaves)
#   truncated record  a regular file cut inside a record
#   ten times larger  a synthetic dump (gen-dump) 10x the records
#   hangs             a FIFO that never ends, with read_timeout = 2
# Faults of the database (on a small tmpfs, root only, else SKIP):
#   disk full, read-only remount, deleted under the daemon, locked by
#   another writer past the busy timeout, pages overwritten while running.
# The process: kill -9 at random points of snapshots over many rounds.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/hold.bash"

GEN="$PO_SRCDIR/build/tests/gen-dump"
[ -x "$GEN" ] || GEN="$PO_BUILD/tests/gen-dump"
cap="$T/cap"
make_capture "$cap" leak:2000 churn:300 leak:5000 same free:3000
real=$(real_dump)
nrec=$(grep -c '^Page allocated' "$real")

# snap_ok WHAT: `pageownerctl snapshot` works and one more snapshot is stored
snap_ok() {
	local before after
	before=$(status_field 'd["snapshots"]["stored"]')
	tctl --json snapshot >"$T/snap.json" 2>"$T/snap.err" || return 1
	after=$(status_field 'd["snapshots"]["stored"]')
	[ "$after" = $((before + 1)) ]
}

# snap_fails PATTERN: `pageownerctl snapshot` fails (exit 1), status
# last_error and the log name the cause, nothing more is stored, the
# daemon lives
snap_fails() {
	local pat=$1 before after
	before=$(status_field 'd["snapshots"]["stored"]')
	tctl --json snapshot >"$T/snap.json" 2>"$T/snap.err"
	if [ $? -ne 1 ]; then
		echo "# snapshot did not fail with exit 1: $(head -c 300 "$T/snap.err")"
		return 1
	fi
	alive || { echo "# the daemon died"; return 1; }
	after=$(status_field 'd["snapshots"]["stored"]')
	msg=$(status_field '(d["last_error"] or {}).get("message", "")')
	echo "# last_error: $msg"
	[ "$after" = "$before" ] || { echo "# stored went from $before to $after"; return 1; }
	echo "$msg" | grep -qE "$pat" || { echo "# last_error does not match '$pat'"; return 1; }
	grep -qE "snapshot failed: .*($pat)" "$DLOG" || { echo "# no log line"; return 1; }
}

# ---- the source ------------------------------------------------------------
src="$T/src.page_owner"
cp "$cap/001.page_owner" "$src"
printf 'read_timeout = 2\n' >"$T/faults.conf"
if ! start_daemon src --config "$T/faults.conf" --source "$src" --interval 3600; then
	not_ok "page-ownerd starts on a file source"
	done_testing
fi
check "source: the first snapshot is taken" wait_status 'd["snapshots"]["taken"] == 1 and not d["snapshot_running"]'
cp "$cap/002.page_owner" "$src"
check "source: a second snapshot (a leak of 2000 pages)" snap_ok
digest0=$(snaps_digest "$DB")
stored_ok=2

fault_source() { # WHAT PATTERN SETUP RESTORE
	local what=$1 pat=$2
	eval "$3"
	HOLD_NOTE="VmHWM $(vmhwm)"
	hold source "$what: one snapshot fails with a clear status and log line" snap_fails "$pat"
	eval "$4"
	hold source "$what: the next snapshot works" snap_ok
	stored_ok=$((stored_ok + 1))
}

fault_source "the source vanishes" "does not exist" \
	'rm -f "$src"' 'cp "$cap/003.page_owner" "$src"'
fault_source "the source is unreadable (a directory in its place)" "Is a directory" \
	'rm -f "$src"; mkdir "$src"' 'rmdir "$src"; cp "$cap/004.page_owner" "$src"'

# a FIFO whose writer stops inside a record and exits
cut=$("$PY" -c 'import sys; t=open(sys.argv[1],"rb").read(); i=t.index(b"\n\nPage allocated", len(t)//3); print(i+40)' "$cap/005.page_owner")
fault_source "the source ends part-way (FIFO writer stops mid-record)" "ends inside a record" \
	'rm -f "$src"; mkfifo "$src"; (timeout 30 sh -c "head -c $cut \"$cap/005.page_owner\" >\"$src\"") & w=$!' \
	'kill $w 2>/dev/null; wait $w 2>/dev/null; rm -f "$src"; cp "$cap/005.page_owner" "$src"'

fault_source "a truncated record (a file cut inside a record)" "ends inside a record" \
	'head -c $cut "$cap/004.page_owner" >"$src"' 'cp "$cap/004.page_owner" "$src"'

# a FIFO that never ends: read_timeout = 2 gives up
fault_source "the source hangs (a FIFO that never ends, read_timeout = 2)" "no data from" \
	'rm -f "$src"; mkfifo "$src"; (timeout 40 sh -c "head -c 100000 \"$cap/003.page_owner\"; sleep 30" >"$src") & w=$!' \
	'kill $w 2>/dev/null; wait $w 2>/dev/null; rm -f "$src"; cp "$cap/003.page_owner" "$src"'

# ten times larger than the last: it works, memory stays bounded
"$GEN" --records $((nrec * 10)) --stacks 3000 --seed 7 -o "$T/big10.page_owner" 2>/dev/null
mv "$T/big10.page_owner" "$src"
hwm0=$(vmhwm_kb)
HOLD_NOTE="$((nrec * 10)) records, $(($(stat -c %s "$src") >> 20)) MiB"
hold source "a dump ten times larger than the last is taken" snap_ok
stored_ok=$((stored_ok + 1))
check "source: ... with all its records" [ "$(status_field 'd["last_snapshot"]["records"]')" = $((nrec * 10)) ]
hwm1=$(vmhwm_kb)
hold_line source "VmHWM before / after the 10x dump" held "$hwm0 kB / $hwm1 kB"
echo "# VmHWM before the 10x dump $hwm0 kB, after $hwm1 kB"
cp "$cap/005.page_owner" "$src"
hold source "back to the normal dump: the next snapshot works" snap_ok
stored_ok=$((stored_ok + 1))

hold source "nothing stored was lost: $stored_ok snapshots, the first two unchanged" \
	eq2 "$(status_field 'd["snapshots"]["stored"]')" "$stored_ok" "$(snaps_digest "$DB" 2)" "$digest0"
hold source "the database: integrity_check ok, every blob decodes" [ "$(dbcheck "$DB")" = ok ]
stop_daemon
check "source: SIGTERM after all that: exit status 0" [ "$DSTATUS" = 0 ]

# ---- the database ----------------------------------------------------------------
dbfs="$T/dbfs"
mkdir -p "$dbfs"
if [ "$(id -u)" != 0 ]; then
	dbfs_ok="not root: cannot mount a tmpfs"
elif ! mount -t tmpfs -o size=48m,mode=0755 tmpfs "$dbfs" 2>"$T/mount.err"; then
	dbfs_ok="mount -t tmpfs failed: $(head -c 200 "$T/mount.err")"
else
	dbfs_ok=
	at_exit "umount -l '$dbfs'"
fi

if [ -n "$dbfs_ok" ]; then
	for w in "disk full" "read-only" "deleted under the daemon" "locked by another writer" "pages overwritten"; do
		hold_skip database "$w" "$dbfs_ok"
	done
else
	cp "$cap/001.page_owner" "$src"
	DBF="$dbfs/po.db"
	# start_db: the daemon on the tmpfs database (start_daemon sets DB)
	start_db() {
		start_daemon db --source "$src" --interval 3600 --db "$DBF" || not_ok "start with the database on the tmpfs"
		DB=$DBF
		# the snapshot taken at start is over, one way or the other
		wait_status 'd["snapshots"]["taken"] + d["snapshots"]["failed"] >= 1 and not d["snapshot_running"]' >/dev/null
	}
	start_db
	for i in 2 3; do cp "$cap/00$i.page_owner" "$src"; snap_ok; done
	dig=$(snaps_digest "$DB")
	n=3

	# disk full: fill the tmpfs, then free it
	cp "$cap/004.page_owner" "$src"
	dd if=/dev/zero of="$dbfs/filler" bs=1M 2>/dev/null
	HOLD_NOTE="tmpfs 48 MiB filled with a file"
	hold database "disk full: the snapshot fails with a clear reason" snap_fails "disk full|No space left|database or disk is full"
	rm -f "$dbfs/filler"
	hold database "disk full: queries still answered" quiet tctl --json top
	hold database "disk full: the next snapshot works once space is back" snap_ok
	n=$((n + 1))
	hold database "disk full: history intact (integrity, rows, deltas)" \
		eq2 "$(dbcheck "$DB")" ok "$(snaps_digest "$DB" 3)" "$dig"

	# read-only: the kernel refuses to remount ro (EBUSY) while the
	# daemon holds the database open for writing, so the daemon is
	# stopped, the tmpfs remounted ro, and the daemon started on it:
	# it must start, answer queries, fail snapshots clearly, and store
	# again once the file system is writable (without a restart)
	stop_daemon
	cp "$cap/005.page_owner" "$src"
	if mount -o remount,ro "$dbfs" 2>"$T/remount.err"; then
		start_db
		hold database "read-only: the daemon starts and answers queries" quiet tctl --json top
		hold database "read-only: the snapshot fails with a clear reason" snap_fails "[Rr]ead-only|readonly"
		mount -o remount,rw "$dbfs"
		# the snapshot that finds it writable fails and has the daemon
		# close both its connections (SQLite keeps a read-only -shm
		# mapping per file and process while any is open); the next works
		for i in 1 2 3; do
			quiet tctl --json snapshot && break
		done
		HOLD_NOTE="stored after $i attempt(s)"
		hold database "read-only: snapshots work again once writable, without a restart" \
			wait_status 'd["last_error"] is None and d["snapshots"]["stored"] == '$((n + 1)) 30
		n=$((n + 1))
		hold database "read-only: the log says the database was reopened" \
			log_has "is writable again: reopening it"
		hold database "read-only: history intact" eq2 "$(dbcheck "$DB")" ok "$(snaps_digest "$DB" 3)" "$dig"
	else
		hold_skip database "read-only" "mount -o remount,ro failed: $(head -c 100 "$T/remount.err")"
		start_db
	fi

	# locked by another writer longer than the busy timeout (5 s)
	"$PY" - "$DB" "$T/locked" <<'PYEOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute('BEGIN IMMEDIATE')
open(sys.argv[2], 'w').close()
time.sleep(7)
c.execute('ROLLBACK')
PYEOF
	locker=$!
	at_exit "kill $locker 2>/dev/null"
	wait_until 20 [ -e "$T/locked" ]
	cp "$cap/004.page_owner" "$src"
	hold database "locked by another writer (BEGIN IMMEDIATE for 7 s): queries answered meanwhile" quiet tctl --json top
	hold database "locked by another writer: the snapshot fails with a clear reason" snap_fails "locked|busy"
	wait "$locker"
	hold database "locked: the next snapshot works once the lock is gone" snap_ok
	n=$((n + 1))
	hold database "locked: history intact" eq2 "$(dbcheck "$DB")" ok "$(snaps_digest "$DB" 3)" "$dig"

	# the identity file cannot be replaced: a file mounted over <db>.ident
	# makes the rename after the commit fail (EBUSY).  The file left is of
	# an older snapshot: the next snapshot must not merge against it (it
	# takes no identities, a baseline for allocated/freed), and the one
	# after that has them again.
	cp "$DB.ident" "$T/stale.ident"
	if mount --bind "$T/stale.ident" "$DB.ident" 2>"$T/bind.err"; then
		cp "$cap/005.page_owner" "$src"
		hold database "identity file not replaceable: the snapshot is stored" snap_ok
		umount "$DB.ident"
		n=$((n + 1))
		hold database "identity file not replaceable: the log says so" log_has "cannot replace '.*\\.ident'"
		cp "$cap/004.page_owner" "$src"
		snap_ok >/dev/null
		n=$((n + 1))
		hold database "identity file not replaceable: the next snapshot merges against no stale identities" \
			[ "$(dbq "$DB" 'select identities from snapshots order by id desc limit 1')" = 0 ]
		cp "$cap/003.page_owner" "$src"
		snap_ok >/dev/null
		n=$((n + 1))
		hold database "identity file not replaceable: identities again at the snapshot after" \
			[ "$(dbq "$DB" 'select identities from snapshots order by id desc limit 1')" = 1 ]
	else
		for w in "the snapshot is stored" "the log says so" "the next snapshot merges against no stale identities" "identities again at the snapshot after"; do
			hold_skip database "identity file not replaceable: $w" "mount --bind failed: $(head -c 100 "$T/bind.err")"
		done
	fi

	# deleted under the daemon: a new database, said loudly; no crash
	rm -f "$DB" "$DB-wal" "$DB-shm" "$DB.ident"
	cp "$cap/005.page_owner" "$src"
	hold database "deleted under the daemon: the next snapshot starts a new database" \
		quiet tctl --json snapshot
	hold database "deleted under the daemon: the log says so" log_has "deleted or replaced under the daemon"
	hold database "deleted under the daemon: the new file holds that snapshot" \
		[ "$(dbq "$DB" 'select count(*) from snapshots')" = 1 ]
	hold database "deleted under the daemon: queries see the new database" \
		[ "$(status_field '(d["snapshots"]["stored"], d["last_snapshot"]["id"])')" = "(1, 1)" ]
	cp "$cap/004.page_owner" "$src"
	snap_ok >/dev/null
	cp "$cap/003.page_owner" "$src"
	snap_ok >/dev/null

	# pages overwritten while it runs: errors, no crash; a restart moves
	# the file aside and starts afresh
	"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA wal_checkpoint(TRUNCATE)")' "$DB"
	size=$(stat -c %s "$DB")
	dd if=/dev/urandom of="$DB" bs=4096 seek=$((size / 8192)) count=$(((size / 4096) / 3 + 1)) conv=notrunc 2>/dev/null
	cp "$cap/005.page_owner" "$src"
	tctl --json snapshot >"$T/corrupt-snap.json" 2>"$T/corrupt-snap.err"
	echo "# snapshot on a corrupt database: exit $? $(head -c 200 "$T/corrupt-snap.err")"
	for q in status top snapshots leaks; do tctl --json "$q" >/dev/null 2>>"$T/corrupt-q.err"; done
	echo "# queries on a corrupt database: $(sort -u "$T/corrupt-q.err" | head -3 | tr '\n' ' ')"
	HOLD_NOTE="$(head -c 120 "$T/corrupt-snap.err")"
	hold database "pages overwritten while running: no crash, snapshot and queries answered or refused" alive
	stop_daemon KILL
	start_db
	hold database "pages overwritten: at restart the file is moved aside, loudly" \
		sh -c "grep -q 'DATABASE CORRUPT' '$DLOG' && ls '$dbfs'/po.db.corrupt-* >/dev/null"
	hold database "pages overwritten: the new database works" wait_status 'd["snapshots"]["stored"] == 1'
	stop_daemon
fi

# ---- kill -9 at random points of snapshots ----------------------------------------
rounds=${PO_KILL_ROUNDS:-25}
hold_asan && rounds=${PO_KILL_ROUNDS:-10}
"$GEN" --snapshots 3 --outdir "$T/kcap" --records 60000 --stacks 8000 --churn 5 --leak 500 --seed 3 >/dev/null 2>&1
kdb="$T/kill.db"
ksrc="$T/ksrc.page_owner"
cp "$(ls "$T"/kcap/*.page_owner 2>/dev/null | head -1)" "$ksrc" 2>/dev/null ||
	"$GEN" --records 60000 --stacks 8000 -o "$ksrc"
bad=0 prev=0 mid=0
for r in $(seq 1 "$rounds"); do
	# alternate between the dumps so that each snapshot has work to store
	f=$(ls "$T"/kcap/*.page_owner 2>/dev/null | sed -n "$(((r % 3) + 1))p")
	[ -n "$f" ] && cp "$f" "$ksrc"
	"$DAEMON" --foreground --socket "$T/kill.sock" --db "$kdb" --source "$ksrc" \
		--interval 1 >>"$T/kill.log" 2>&1 &
	kp=$!
	# a random point from start-up to past the commit (start-up takes
	# about 1 s here, the snapshot 0.3 s; x3 under ASan): most kills land
	# before the commit, some after it, so the history grows meanwhile
	d=$("$PY" -c "import random; print(round(random.uniform(0.2, 2.0) * (3 if '$PO_BUILD'.find('asan') >= 0 else 1), 2))")
	sleep "$d"
	kill -9 "$kp" 2>/dev/null
	wait "$kp" 2>/dev/null
	[ -f "$kdb" ] || continue
	c=$(dbq "$kdb" 'select count(*) from snapshots' 2>/dev/null)
	ic=$(dbq "$kdb" 'pragma integrity_check' 2>/dev/null)
	if [ "$ic" != ok ] || [ -z "$c" ] || [ "$c" -lt "$prev" ]; then
		bad=$((bad + 1))
		echo "# round $r (kill after ${d}s): integrity '$ic', snapshots $prev -> $c"
	fi
	[ -n "$c" ] && [ "$c" = "$prev" ] && mid=$((mid + 1))
	prev=${c:-$prev}
done
echo "# kill -9: $rounds rounds, $prev snapshots committed, $mid kills before a commit"
HOLD_NOTE="$rounds rounds, $prev snapshots kept, $mid kills landed before a commit"
hold process "kill -9 at random points: every round leaves a consistent database" [ "$bad" = 0 ]
hold process "kill -9: the final database passes integrity_check and every blob decodes" [ "$(dbcheck "$kdb")" = ok ]
start_daemon kill --db "$kdb" --source "$ksrc" --interval 3600 || not_ok "restart after the kill -9 rounds"
hold process "after the kill -9 rounds the history continues (one more snapshot)" \
	wait_status "d['snapshots']['stored'] == $prev + 1 and d['last_snapshot']['id'] > $prev - 1" 120
stop_daemon
check "the kill -9 rounds' database is still consistent after the restart" [ "$(dbcheck "$kdb")" = ok ]

done_testing
