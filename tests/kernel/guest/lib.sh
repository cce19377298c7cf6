# shellcheck shell=sh
#
# /kt/lib.sh in the test guest (busybox ash): getting files out, snapshots of
# page_owner, the leaker module, background churn, memory cgroups.
#
# Output disk protocol (read back by kt_disk_extract in tests/kernel/lib.sh):
# /dev/vda is a raw disk. Each stored file starts on a 1 MiB boundary and is
# written with O_DIRECT, zero-padded to whole MiB, so a dump streamed from
# page_owner to the disk never sits in the page cache or in tmpfs, and never
# shows up in the next dump. The first MiB holds the index, written last:
#   KT-INDEX 1
#   <name> <first MiB> <size in bytes>
# State shared between processes (the scenario is a child of init) lives in
# /tmp/.kt/.

KT_DISK=${KT_DISK:-/dev/vda}
KT_STATE=/tmp/.kt
KT_LEAKER=/sys/kernel/debug/leaker
KT_PAGE_OWNER=/sys/kernel/debug/page_owner
KT_SHOW_STACKS=/sys/kernel/debug/page_owner_stacks/show_stacks
# 6.19 (and the 6.12-handles kernel): per stack depot handle
KT_SHOW_HANDLES=/sys/kernel/debug/page_owner_stacks/show_handles
# shellcheck disable=SC2034 # used by scenario-daemon.sh
KT_SHOW_STACKS_HANDLES=/sys/kernel/debug/page_owner_stacks/show_stacks_handles

mkdir -p "$KT_STATE"

kt_say() { echo "KT: $*"; }

kt_fail() {
	echo "KT-FAIL: $*"
	return 1
}

kt_uptime() { cut -d' ' -f1 /proc/uptime; }

# kt_counter NAME: prints the next value (0, 1, ...) of a named counter.
kt_counter() {
	_f=$KT_STATE/counter.$1
	_n=0
	[ -f "$_f" ] && _n=$(cat "$_f")
	echo $((_n + 1)) >"$_f"
	echo "$_n"
}

# kt_store NAME < data: streams stdin to the output disk.
kt_store() {
	_name=$1
	case "$_name" in
	*[!A-Za-z0-9._-]*|'') kt_fail "kt_store: bad name '$_name'"; return 1 ;;
	esac
	_slot=1
	[ -f "$KT_STATE/slot" ] && _slot=$(cat "$KT_STATE/slot")
	[ -p "$KT_STATE/fifo" ] || mkfifo "$KT_STATE/fifo"
	dd of="$KT_DISK" bs=1M seek="$_slot" iflag=fullblock conv=sync,notrunc \
		oflag=direct <"$KT_STATE/fifo" 2>"$KT_STATE/dd.err" &
	_dd=$!
	_size=$(tee "$KT_STATE/fifo" | wc -c)
	_size=$((_size))
	if ! wait "$_dd"; then
		cat "$KT_STATE/dd.err"
		kt_fail "kt_store $_name: writing $KT_DISK failed"
		return 1
	fi
	echo "$_name $_slot $_size" >>"$KT_STATE/index"
	echo $((_slot + (_size + 1048575) / 1048576)) >"$KT_STATE/slot"
}

# kt_store_file PATH [NAME]
kt_store_file() {
	kt_store "${2:-${1##*/}}" <"$1"
}

kt_store_index() {
	{
		echo "KT-INDEX 1"
		[ -f "$KT_STATE/index" ] && cat "$KT_STATE/index"
	} | dd of="$KT_DISK" bs=1M seek=0 iflag=fullblock conv=sync,notrunc \
		oflag=direct 2>"$KT_STATE/dd.err" || {
		cat "$KT_STATE/dd.err"
		kt_fail "writing the index failed"
	}
}

# --- the leaker module ------------------------------------------------------

kt_leaker_status() {
	if [ -r "$KT_LEAKER/status" ]; then
		cat "$KT_LEAKER/status"
	fi
}

# kt_leaker_get KEY: one value from the status file.
kt_leaker_get() {
	kt_leaker_status | awk -v k="$1" '$1 == k { print $2 }'
}

# kt_leak "N [ORDER [GFP]]"
kt_leak() {
	echo "$1" >"$KT_LEAKER/leak" || kt_fail "leak '$1' failed"
}

kt_leaker_free() {
	echo "$1" >"$KT_LEAKER/free" || kt_fail "free '$1' failed"
}

# kt_steady PAGES MS: set the steady leak (0 0 stops it).
kt_steady() {
	echo "$2" >/sys/module/leaker/parameters/steady_ms &&
		echo "$1" >/sys/module/leaker/parameters/steady_pages
}

# --- snapshots --------------------------------------------------------------

# kt_snapshot LABEL: stores NNN-LABEL.{page_owner,show_stacks,status,meta}
# (and .show_handles, .show_stacks_handles where the kernel has them).
# .status holds the module's status before the dump ("before.KEY VALUE")
# and after show_stacks was read ("after.KEY VALUE"); equal generations mean
# the module's pages did not change during the dump.
kt_snapshot() {
	_seq=$(kt_counter snapshot)
	_snap=$(printf '%03d-%s' "$_seq" "$1")
	kt_leaker_status >"$KT_STATE/before"
	_t0=$(kt_uptime)
	dd if="$KT_PAGE_OWNER" bs=1M 2>"$KT_STATE/po.err" | kt_store "$_snap.page_owner" || {
		cat "$KT_STATE/po.err"
		kt_fail "snapshot $_snap: reading $KT_PAGE_OWNER failed"
		return 1
	}
	_po_bytes=$(tail -n1 "$KT_STATE/index" | cut -d' ' -f3)
	_t1=$(kt_uptime)
	if [ -r "$KT_SHOW_STACKS" ]; then
		dd if="$KT_SHOW_STACKS" bs=1M 2>"$KT_STATE/po.err" |
			kt_store "$_snap.show_stacks" || {
			cat "$KT_STATE/po.err"
			kt_fail "snapshot $_snap: reading $KT_SHOW_STACKS failed"
			return 1
		}
	fi
	# show_handles, then show_stacks_handles to name its handles (a
	# stack never leaves the kernel's list, so every handle is there)
	if [ -r "$KT_SHOW_HANDLES" ]; then
		for _f in show_handles show_stacks_handles; do
			dd if="/sys/kernel/debug/page_owner_stacks/$_f" bs=1M 2>"$KT_STATE/po.err" |
				kt_store "$_snap.$_f" || {
				cat "$KT_STATE/po.err"
				kt_fail "snapshot $_snap: reading $_f failed"
				return 1
			}
		done
	fi
	_t2=$(kt_uptime)
	kt_leaker_status >"$KT_STATE/after"
	{
		sed 's/^/before./' "$KT_STATE/before"
		sed 's/^/after./' "$KT_STATE/after"
	} | kt_store "$_snap.status" || return 1
	{
		echo "label=$1"
		echo "seq=$_seq"
		echo "boot_id=$(cat /proc/sys/kernel/random/boot_id)"
		echo "kernel=$(uname -r)"
		echo "time=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "uptime_start=$_t0"
		echo "uptime_page_owner_done=$_t1"
		echo "uptime_end=$_t2"
		echo "page_owner_bytes=$_po_bytes"
		echo "cpus=$(nproc)"
		echo "mem_total_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
		echo "leaker_loaded=$([ -d "$KT_LEAKER" ] && echo 1 || echo 0)"
	} | kt_store "$_snap.meta" || return 1
	kt_say "snapshot $_snap: page_owner $_po_bytes bytes in $(awk -v a="$_t0" -v b="$_t1" \
		'BEGIN { printf "%.2f", b - a }') s, leaker pages $(kt_leaker_get pages)"
}

# --- memory cgroups ---------------------------------------------------------

# kt_cgroup_create NAME: a child of the root with the memory controller on.
kt_cgroup_create() {
	[ -f /sys/fs/cgroup/cgroup.controllers ] || return 1
	grep -qw memory /sys/fs/cgroup/cgroup.controllers || return 1
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control || return 1
	mkdir -p "/sys/fs/cgroup/$1"
}

# kt_in_cgroup NAME 'COMMAND': runs a shell command inside the cgroup.
kt_in_cgroup() {
	sh -c 'echo $$ >"/sys/fs/cgroup/$1/cgroup.procs" && eval "$2"' kt-cg "$1" "$2"
}

# --- background churn -------------------------------------------------------

# kt_churn_start [CGROUP]: /kt/churn.sh in the background (in CGROUP if set).
kt_churn_start() {
	rm -f "$KT_STATE/churn.stop"
	sh /kt/churn.sh "${1:-}" "$KT_STATE/churn.stop" &
	echo $! >"$KT_STATE/churn.pid"
	kt_say "churn started (pid $!, cgroup ${1:-/})"
}

# kt_churn_stop: asks the loop to stop, waits at most 30 s.
kt_churn_stop() {
	[ -f "$KT_STATE/churn.pid" ] || return 0
	_pid=$(cat "$KT_STATE/churn.pid")
	touch "$KT_STATE/churn.stop"
	_i=0
	while kill -0 "$_pid" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -gt 300 ]; then
			kill -9 "$_pid" 2>/dev/null
			kt_fail "churn did not stop in 30 s"
			return 1
		fi
		usleep 100000
	done
	wait "$_pid" 2>/dev/null || true
	rm -f "$KT_STATE/churn.pid"
	kt_say "churn stopped ($(cat "$KT_STATE/churn.stop.iterations" 2>/dev/null || echo ?) iterations)"
}

# --- fragmentation ----------------------------------------------------------

# kt_fragment MB [NAME]: fills two tmpfs files (/tmp/frag/NAME.keep and
# .drop, NAME default 0) a page at a time, alternately, so their pages
# interleave, then deletes one: MB MiB of movable pages with a free page
# between most of them, for compaction to move.
kt_fragment() {
	_f=/tmp/frag/${2:-0}
	mkdir -p /tmp/frag
	awk -v pages=$(($1 * 256)) -v f="$_f" 'BEGIN {
		s = "f"
		while (length(s) < 4096)
			s = s s
		s = substr(s, 1, 4095)
		for (i = 0; i < pages; i++) {
			print s >(f ".keep")
			print s >(f ".drop")
		}
	}'
	rm -f "$_f.drop"
}

kt_vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }

# kt_compact MB TRIES: fragments MB MiB (kt_fragment) and compacts all
# memory, up to TRIES times, until compaction has migrated 64 pages or more
# (the check wants some migrated page still allocated at the snapshot).
# How many it moves depends on where the fragmented pages landed: the free
# scanner takes only partly used movable pageblocks, so in a mostly free
# guest it may meet the migrate scanner before either found much work
# (seen: no migrated record left at the snapshot in two CI runs of some
# dozens; 32-33 pages moved in two boots of eight here, 111-449 in the
# others; second and third rounds moved thousands). The files stay until
# the caller removes /tmp/frag. Returns 1 if fewer than 64 ever moved.
kt_compact() {
	_try=1
	_moved0=$(kt_vmstat pgmigrate_success)
	while :; do
		kt_fragment "$1" "$_try"
		echo 1 >/proc/sys/vm/compact_memory
		_moved=$(($(kt_vmstat pgmigrate_success) - _moved0))
		kt_say "compaction $_try: pgmigrate_success +$_moved" \
			"compact_migrate_scanned $(kt_vmstat compact_migrate_scanned)"
		[ "$_moved" -ge 64 ] && return 0
		[ "$_try" -ge "$2" ] && return 1
		_try=$((_try + 1))
	done
}

# --- kernel CPU of a read ---------------------------------------------------

# kt_read_cpu FILE N: reads FILE N times (to /dev/null) in a child shell
# and prints the kernel (system) CPU seconds per read: what the kernel
# spends formatting the file, from the children's times of that shell
# (clock ticks, hence N reads).
kt_read_cpu() {
	sh -c 'i=0; while [ $i -lt "$2" ]; do cat "$1" >/dev/null; i=$((i + 1)); done; times' \
		kt-cpu "$1" "$2" | awk -v n="$2" 'NR == 2 {
			split($2, a, "m"); sub(/s$/, "", a[2])
			printf "%.6f\n", (a[1] * 60 + a[2]) / n }'
}
