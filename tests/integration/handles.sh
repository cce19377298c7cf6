#!/bin/bash
# handles.sh: the 6.19 page_owner_stacks files, show_handles and
# show_stacks_handles, replayed from a hand-made capture whose truth is
# written below: series keyed by (boot, handle), show_stacks_handles read
# only when show_handles lists a handle not met before in the boot, a
# handle printed negative by %d, a handle show_stacks_handles does not
# list, a reboot that reuses a handle for another stack, a full read whose
# records print their handle (the mm tree's per-open mode=stack_handle);
# and the totals of `pageownerctl analyze` on stacks files.
. "$(dirname "$0")/lib.bash"

# ---- analyze on stacks files: the total is the nr_base_pages sum --------
xz -dc "$PO_SRCDIR/tests/data/real-6.12.117-leak2000.show_stacks.xz" >"$T/show_stacks"
want_pages=$(awk '/^nr_base_pages: / { s += $2 } END { print s }' "$T/show_stacks")
want_stacks=$(grep -c '^nr_base_pages: ' "$T/show_stacks")
"$CTL" analyze --json "$T/show_stacks" >"$T/ss.json"
check "analyze --json on a real 6.12 show_stacks: pages is the nr_base_pages sum ($want_pages)" \
	[ "$(pyjson "$T/ss.json" 'd["pages"]')" = "$want_pages" ]
check "analyze --json on show_stacks: $want_stacks stack records, 0 page records" \
	[ "$(pyjson "$T/ss.json" '(d["stack_records"], d["records"])')" = "($want_stacks, 0)" ]
check "analyze --json on show_stacks: the groups add up to the total" \
	[ "$(pyjson "$T/ss.json" 'sum(g["pages"] for g in d["groups"])')" = "$want_pages" ]
"$CTL" analyze "$T/show_stacks" >"$T/ss.txt"
check "analyze's footer on show_stacks: $want_stacks stacks, $want_pages pages" \
	grep -q "; $want_stacks stacks, $want_pages pages (" "$T/ss.txt"
share=$(awk -v t="$want_pages" 'BEGIN { printf "%.1f%%", 200000 / t }')
check "analyze on show_stacks: the leak's share is 2000 of $want_pages pages ($share)" \
	grep -Eq "^ *2000 .* $share .*leaker_leak_pages" "$T/ss.txt"
# the same stacks as show_handles: handle N per stack, same counts
awk 'BEGIN { RS = ""; FS = "\n" }
	{ printf "handle: %d\n%s\n\n", (NR % 2 ? NR : -NR), $NF }' "$T/show_stacks" >"$T/show_handles"
"$CTL" analyze --json "$T/show_handles" >"$T/sh.json"
check "analyze --json on show_handles: the same total ($want_pages), one group per handle" \
	[ "$(pyjson "$T/sh.json" '(d["pages"], len(d["groups"]))')" = "($want_pages, $want_stacks)" ]
"$CTL" analyze "$T/show_handles" >"$T/sh.txt"
check "analyze's footer on show_handles: $want_stacks stacks, $want_pages pages" \
	grep -q "; $want_stacks stacks, $want_pages pages (" "$T/sh.txt"
check "analyze on show_handles: a negative %d handle is shown as its u32 (handle -2 = 4294967294)" \
	grep -q 'handle:4294967294 ' "$T/sh.txt"

# ---- a capture with show_handles and show_stacks_handles -----------------
cap="$T/cap"
mkdir -p "$cap"
BOOT_A=aaaaaaaa-0000-4000-8000-000000000001
BOOT_B=bbbbbbbb-0000-4000-8000-000000000002

stack_leak() {
	printf ' get_page_from_freelist+0xf62/0x1150\n __alloc_pages_noprof+0x196/0xe80\n'
	printf ' alloc_pages_mpol_noprof+0x47/0xf0\n leaker_leak_pages+0x48/0x70 [leaker]\n'
	printf ' leak_write+0x6b/0xb0 [leaker]\n vfs_write+0xf6/0x480\n'
}
stack_foo() {
	printf ' get_page_from_freelist+0xf62/0x1150\n __alloc_pages_noprof+0x196/0xe80\n'
	printf ' foo_alloc+0x10/0x40\n foo_ioctl+0x22/0x90\n'
}
stack_bar() {
	printf ' get_page_from_freelist+0xf62/0x1150\n __alloc_pages_noprof+0x196/0xe80\n'
	printf ' bar_grow+0x31/0x80\n bar_work+0x5/0x20\n'
}
# snap N BOOT: NNN.page_owner (one record: replay steps go by these files)
# and NNN.meta; the stacks files are written by the caller.
snap() {
	local n=$1 boot=$2
	printf 'Page allocated via order 0, mask 0xcc0(GFP_KERNEL), pid 1, tgid 1 (init), ts %d ns\n' "$n" >"$cap/$n.page_owner"
	printf 'PFN 0x100 type Unmovable Block 0 type Unmovable Flags 0x0()\n' >>"$cap/$n.page_owner"
	stack_foo >>"$cap/$n.page_owner"
	echo >>"$cap/$n.page_owner"
	printf 'boot_id=%s\nkernel=6.12.118-handles\n' "$boot" >"$cap/$n.meta"
}
# boot A: handle 1 = the leak, 2 = foo; 2147484296 (printed -2147483000) =
# bar from 002 on; 99 appears in 003 and show_stacks_handles never lists it
snap 000 $BOOT_A
printf 'handle: 1\nnr_base_pages: 10\n\nhandle: 2\nnr_base_pages: 5\n\n' >"$cap/000.show_handles"
{ stack_leak; printf 'handle: 1\n\n'; stack_foo; printf 'handle: 2\n\n'; } >"$cap/000.show_stacks_handles"
snap 001 $BOOT_A
printf 'handle: 1\nnr_base_pages: 20\n\nhandle: 2\nnr_base_pages: 5\n\n' >"$cap/001.show_handles"
# no new handle: reading this one would fail the snapshot (a directory)
mkdir "$cap/001.show_stacks_handles"
snap 002 $BOOT_A
printf 'handle: -2147483000\nnr_base_pages: 7\n\nhandle: 1\nnr_base_pages: 30\n\nhandle: 2\nnr_base_pages: 5\n\n' >"$cap/002.show_handles"
{ stack_bar; printf 'handle: -2147483000\n\n'; stack_leak; printf 'handle: 1\n\n'
  stack_foo; printf 'handle: 2\n\n'; } >"$cap/002.show_stacks_handles"
snap 003 $BOOT_A
printf 'handle: 99\nnr_base_pages: 3\n\nhandle: 1\nnr_base_pages: 40\n\nhandle: 2147484296\nnr_base_pages: 7\n\n' >"$cap/003.show_handles"
{ stack_bar; printf 'handle: -2147483000\n\n'; stack_leak; printf 'handle: 1\n\n'
  stack_foo; printf 'handle: 2\n\n'; } >"$cap/003.show_stacks_handles"
# boot B: handle 1 is now foo's stack, 2 the leak's; the largest u32,
# printed -1, is bar's
snap 004 $BOOT_B
printf 'handle: 1\nnr_base_pages: 8\n\nhandle: 2\nnr_base_pages: 4\n\nhandle: -1\nnr_base_pages: 2\n\n' >"$cap/004.show_handles"
{ stack_foo; printf 'handle: 1\n\n'; stack_leak; printf 'handle: 2\n\n'
  stack_bar; printf 'handle: 4294967295\n\n'; } >"$cap/004.show_stacks_handles"

printf 'mode = stacks\ncpu_budget = 100%%\n' >"$T/h.conf"
start_daemon H --config "$T/h.conf" --source "$cap" --interval 1 ||
	not_ok "page-ownerd starts on the show_handles capture"
check "the capture is replayed, every snapshot stored (none failed)" \
	wait_status "d['source'].get('replay', {}).get('done') and d['snapshots']['stored'] == 5 and d['snapshots']['failed'] == 0" 30
ctl --json status >"$T/h-status.json"
check "status: the stacks read uses show_handles, keyed by boot and handle" \
	[ "$(pyjson "$T/h-status.json" '(d["stacks_read"]["file"], d["stacks_read"]["key"])')" = "('show_handles', 'boot and handle')" ]
check "status: the new boot started a new handle map (1 read, 1 resolve, 3 handles)" \
	[ "$(pyjson "$T/h-status.json" '(d["stacks_read"]["reads"], d["stacks_read"]["resolve_reads"], d["stacks_read"]["handles_known"])')" = "(1, 1, 3)" ]
ctl --json snapshots --limit 10 >"$T/h-snaps.json"
check "every snapshot is a stacks read of show_handles" \
	[ "$(pyjson "$T/h-snaps.json" 'sorted({(s["kind"], s["format"]) for s in d["snapshots"]})')" = "[('stacks', 'show_handles')]" ]
check "each snapshot's pages are its show_handles total (003: 3 unresolved pages included)" \
	[ "$(pyjson "$T/h-snaps.json" '[s["pages"] for s in sorted(d["snapshots"], key=lambda s: s["id"])]')" = "[15, 25, 42, 50, 14]" ]
ctl --json history culprit=leaker_leak_pages >"$T/h-leak.json"
check "the leak's series follows handle 1 in boot A and handle 2 in boot B" \
	[ "$(pyjson "$T/h-leak.json" '[p["pages"] for p in d["points"]]')" = "[10, 20, 30, 40, 4]" ]
ctl --json history culprit=foo_alloc >"$T/h-foo.json"
check "foo's series: handle 2 in boot A, handle 1 after the reboot (never joined by handle)" \
	[ "$(pyjson "$T/h-foo.json" '[p["pages"] for p in d["points"]]')" = "[5, 5, 5, 0, 8]" ]
ctl --json history culprit=bar_grow >"$T/h-bar.json"
check "handles printed negative (-2147483000, -1) are the u32s 2147484296 and 2^32 - 1: one series for both spellings" \
	[ "$(pyjson "$T/h-bar.json" '[p["pages"] for p in d["points"]]')" = "[0, 0, 7, 7, 2]" ]
check "the handle show_stacks_handles did not list was logged, the snapshot kept" \
	grep -q 'show_handles listed 1 handles (3 pages) that show_stacks_handles did not' "$DLOG"
check "status: no per-open filter is written to a capture (page_owner_filter.taken false)" \
	[ "$(pyjson "$T/h-status.json" '(d["page_owner_filter"]["filter"], d["page_owner_filter"]["taken"])')" = "('mode=stack_handle', False)" ]
stop_daemon
check "page-ownerd exits 0" [ "$DSTATUS" = 0 ]

# ---- real files of a 6.12 kernel with the 6.19 series (the kernel tier's
# 6.12-handles guest, 2,000 pages leaked by the test module) --------------
realh="$PO_SRCDIR/tests/data/real-6.12.118-handles-leak2000"
capR="$T/capR"
mkdir -p "$capR"
cap=$capR snap 000 dddddddd-0000-4000-8000-000000000004
xz -dc "$realh.show_handles.xz" >"$capR/000.show_handles"
xz -dc "$realh.show_stacks_handles.xz" >"$capR/000.show_stacks_handles"
want_pages=$(awk '/^nr_base_pages: / { s += $2 } END { print s }' "$capR/000.show_handles")
"$CTL" analyze --json "$capR/000.show_handles" >"$T/rh.json"
check "analyze on a real show_handles: the nr_base_pages sum ($want_pages), no malformed record" \
	[ "$(pyjson "$T/rh.json" '(d["pages"], d["malformed"])')" = "($want_pages, 0)" ]
start_daemon R --config "$T/h.conf" --source "$capR" --interval 1 ||
	not_ok "page-ownerd starts on the real show_handles"
check "the real show_handles is read (one stacks snapshot)" \
	wait_status "d['source'].get('replay', {}).get('done') and d['snapshots']['stored'] == 1 and d['snapshots']['failed'] == 0" 30
ctl --json history culprit=leaker_leak_pages >"$T/r-leak.json"
check "the real leak's 2000 pages, joined by handle through show_stacks_handles" \
	[ "$(pyjson "$T/r-leak.json" '[p["pages"] for p in d["points"]]')" = "[2000]" ]
ctl --json status >"$T/r-status.json"
check "every real handle was resolved in one show_stacks_handles read" \
	[ "$(pyjson "$T/r-status.json" '(d["stacks_read"]["resolve_reads"], d["stacks_read"]["unresolved_total"], d["stacks_read"]["handles_known"] >= '"$(grep -c '^handle: ' "$capR/000.show_handles")"')')" = "(1, 0, True)" ]
ctl --json snapshots >"$T/r-snaps.json"
check "the snapshot's pages are the real show_handles total" \
	[ "$(pyjson "$T/r-snaps.json" 'd["snapshots"][0]["pages"]')" = "$want_pages" ]
stop_daemon

# ---- a full read whose records print their handle (mode=stack_handle) ----
# names the stacks of those handles: the show_handles read after it needs
# no show_stacks_handles (a directory here: reading it fails the snapshot)
capF="$T/capF"
mkdir -p "$capF"
BOOT_C=cccccccc-0000-4000-8000-000000000003
fullrec() { # PFN HANDLE STACKFN
	printf 'Page allocated via order 0, mask 0xcc0(GFP_KERNEL), pid 7, tgid 7 (sh), ts %d ns\n' "$1"
	printf 'PFN 0x%x type Unmovable Block 0 type Unmovable Flags 0x0()\n' "$1"
	"$3"
	printf 'handle: %s\n\n' "$2"
}
{
	for pfn in 256 257 258; do fullrec $pfn -5 stack_leak; done
	fullrec 300 2 stack_foo
} >"$capF/000.page_owner"
printf 'boot_id=%s\nkernel=mm-next\n' $BOOT_C >"$capF/000.meta"
printf 'handle: -5\nnr_base_pages: 3\n\nhandle: 2\nnr_base_pages: 1\n\n' >"$capF/000.show_handles"
mkdir "$capF/000.show_stacks_handles"
cp "$capF/000.page_owner" "$capF/001.page_owner"
cp "$capF/000.meta" "$capF/001.meta"
printf 'handle: -5\nnr_base_pages: 11\n\nhandle: 2\nnr_base_pages: 1\n\n' >"$capF/001.show_handles"
mkdir "$capF/001.show_stacks_handles"
printf 'mode = auto\nfull_every = 100\ncpu_budget = 100%%\n' >"$T/f.conf"
start_daemon F --config "$T/f.conf" --source "$capF" --interval 1 ||
	not_ok "page-ownerd starts on the capture with handle lines"
check "full read, then a show_handles read, none failed" \
	wait_status "d['source'].get('replay', {}).get('done') and d['snapshots']['stored'] == 2 and d['snapshots']['failed'] == 0" 30
ctl --json status >"$T/f-status.json"
check "status: the full read mapped both handles, show_stacks_handles was never read" \
	[ "$(pyjson "$T/f-status.json" '(d["stacks_read"]["handles_from_full_reads"], d["stacks_read"]["resolve_reads"], d["stacks_read"]["reads"])')" = "(2, 0, 1)" ]
ctl --json history culprit=leaker_leak_pages >"$T/f-leak.json"
check "the leak's series: 3 pages in the full read, 11 through its handle (-5) after" \
	[ "$(pyjson "$T/f-leak.json" '[p["pages"] for p in d["points"]]')" = "[3, 11]" ]
stop_daemon
check "page-ownerd exits 0" [ "$DSTATUS" = 0 ]

done_testing
