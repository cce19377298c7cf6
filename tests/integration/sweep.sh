#!/bin/bash
# sweep.sh: mode = sweep on a replayed synthetic host (gen-dump): PFN
# windows read in rotation, the picture the sum of each window's latest
# read, allocated/freed per window.
#   - every window every snapshot gives exactly what whole reads give
#     (pages, allocated and freed per stack);
#   - 3 windows of 11 a snapshot: status says K = 4, the steady leak is
#     the top grower, allocated - freed = growth for every stack, replies
#     say how old the oldest window is;
#   - identity files of an older snapshot put back under the windows
#     are never merged against (a baseline for them, said in the log);
#   - auto on a kernel without page_owner_stacks sweeps once the budget
#     would stretch the interval past 10 minutes for a whole read, not before;
#   - bad window settings are refused, naming the key.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/hold.bash"

sweep_host 3

# per_stack FILE: "culprit stack pages growth alloc freed" lines, sorted
per_stack() {
	"$PY" - "$1" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
for g in sorted(d["groups"], key=lambda g: g["stack_id"]):
    print(g["stack_id"], g.get("pages_now"), g.get("net_pages"), g.get("allocated_pages"),
          g.get("freed_pages"))
PYEOF
}

# ---- every window every snapshot = whole reads ------------------------------
replay_to_end whole 'mode = full\n' || { not_ok "a full-mode daemon replays the capture"; done_testing; }
ctl --json growers --since 1 --limit 10000 >"$T/whole.json"
stop_daemon
replay_to_end all 'mode = sweep\nwindow = 256M\nsweep_windows = 100\n' ||
	{ not_ok "a sweep daemon replays the capture"; done_testing; }
ctl --json growers --since 1 --limit 10000 >"$T/all.json"
ctl --json status >"$T/all-status.json"
stop_daemon
check "sweep, all windows a snapshot: 11 windows of 65536 pages, K = 1" \
	[ "$(pyjson "$T/all-status.json" '(d["sweep"]["windows"], d["sweep"]["window_pages"], d["sweep"]["k"])')" = "(11, 65536, 1)" ]
per_stack "$T/whole.json" >"$T/whole.txt"
per_stack "$T/all.json" >"$T/all.txt"
check "sweep, all windows a snapshot: every stack's pages, growth, allocated and freed equal whole reads' ($(wc -l <"$T/whole.txt") stacks)" \
	cmp -s "$T/whole.txt" "$T/all.txt"
diff "$T/whole.txt" "$T/all.txt" | head -5 | sed 's/^/#   /'

# ---- 3 windows of 11 a snapshot ------------------------------------------------------
replay_to_end rot 'mode = sweep\nwindow = 256M\nsweep_windows = 3\n' ||
	{ not_ok "a sweep daemon (3 windows a snapshot) replays the capture"; done_testing; }
ctl --json status >"$T/rot-status.json"
check "sweep, 3 windows a snapshot: status says 11 windows, 3 a snapshot, K = 4, none unread" \
	[ "$(pyjson "$T/rot-status.json" '(d["sweep"]["windows"], d["sweep"]["per_snapshot"], d["sweep"]["k"], d["sweep"]["unread"])')" = "(11, 3, 4, 0)" ]
check "sweep: the snapshots are of kind sweep" \
	[ "$(pyjson "$T/rot-status.json" 'd["last_snapshot"]["kind"]')" = sweep ]
# the picture is partial until every window was read once: baselines
first=$(dbq "$DB" "select min(id) from snapshots where not baseline")
check "sweep: snapshots 1-3 (partial pictures) are baselines, 4 the first diffed" [ "$first" = 4 ]
ctl --json growers --since "$first" --limit 20 >"$T/rot.json"
check "sweep: the steady leak (leaky_alloc_buffer) is the top grower" \
	[ "$(pyjson "$T/rot.json" 'd["groups"][0]["culprit"]')" = leaky_alloc_buffer ]
check "sweep: allocated - freed = growth for every stack" "$PY" - "$T/rot.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
bad = [g for g in d["groups"] if g["allocated_pages"] - g["freed_pages"] != g["net_pages"]]
print("# mismatched:", bad[:3]) if bad else None
sys.exit(bool(bad) or not d["groups"])
PYEOF
check "sweep: the reply says how old its oldest window is" \
	[ "$(pyjson "$T/rot.json" '"oldest_window_age_s" in d["window"]["sweep"] and d["window"]["sweep"]["windows"] == 11')" = True ]
ctl --json top --limit 5 >"$T/rot-top.json"
check "sweep: top says how old its oldest window is" \
	[ "$(pyjson "$T/rot-top.json" 'd["sweep"]["windows"] == 11 and d["sweep"]["oldest_window_age_s"] >= 0')" = True ]
if "$PY" -c 'import jsonschema' 2>/dev/null; then
	for v in "status rot-status" "growers rot" "top rot-top"; do
		set -- $v
		check "sweep: the $1 reply is valid $1.schema.json" \
			"$PY" "$PO_SRCDIR/tests/tools/validate-json.py" "$PO_SRCDIR/schema/$1.schema.json" "$T/$2.json"
	done
else
	skip "sweep: replies valid against their schemas" "python3-jsonschema is not installed"
fi
leak=$(pyjson "$T/rot.json" 'd["groups"][0]["net_pages"]')
echo "# leak growth over snapshots $first-8 seen by the sweep: $leak pages (true: $((4 * 300)))"
stop_daemon

# ---- stale identity files are never merged against ---------------------------------------
# 11 windows, 3 a snapshot, oldest first: snapshot 5 reads windows 1-3, 6
# reads 4-6, 8 reads 10, 0 and 1.  The files saved after snapshot 4, put
# back after 6, are older than the rows of windows 1-6 say.
printf 'mode = sweep\nwindow = 256M\nsweep_windows = 3\n' >"$T/st.conf"
start_daemon st --config "$T/st.conf" --source "$cap" --interval 3600 ||
	{ not_ok "start for the stale-identities check"; done_testing; }
for i in 2 3 4; do ctl snapshot >/dev/null; done
mkdir "$T/saved"
cp "$DB.windows"/*.ident "$T/saved/"
ctl snapshot >/dev/null
ctl --json snapshot >"$T/s6.json"
check "stale identities: before, a snapshot has identities (allocated/freed)" \
	[ "$(pyjson "$T/s6.json" '(d["id"], d["identities"])')" = "(6, True)" ]
cp "$T/saved"/*.ident "$DB.windows/"
ctl --json snapshot >"$T/s7.json"
ctl --json snapshot >"$T/s8.json"
check "stale identities: windows whose files were not touched still merge (snapshot 7)" \
	[ "$(pyjson "$T/s7.json" '(d["id"], d["identities"])')" = "(7, True)" ]
check "stale identities: a window whose file is older than its row is not merged (snapshot 8: identities false)" \
	[ "$(pyjson "$T/s8.json" '(d["id"], d["identities"])')" = "(8, False)" ]
check "stale identities: ... and the log says why" log_has "no usable identity file"
ctl --json growers --since 7 --until 8 --limit 10000 >"$T/st.json"
check "stale identities: no allocated or freed pages come from the old files" "$PY" - "$T/st.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not d["groups"] or any(g["freed_pages"] or g["allocated_pages"] for g in d["groups"]))
PYEOF
stop_daemon

# ---- memory removed and added back (hot-unplug, hot-add) ----------------------------------
hp="$T/hotplug"
mkdir "$hp"
cp "$cap/0001.page_owner" "$hp/0001.page_owner"
"$PY" - "$cap/0002.page_owner" "$hp/0002.page_owner" <<'PYEOF'
import sys
recs = open(sys.argv[1]).read().split("\n\n")
pfn = lambda r: int(r.split("\n")[1].split()[1], 0)
cut = (pfn(recs[0]) + pfn([r for r in recs if r.strip()][-1])) // 2
open(sys.argv[2], "w").write("".join(r + "\n\n" for r in recs if r.strip() and pfn(r) < cut))
PYEOF
cp "$cap/0003.page_owner" "$hp/0003.page_owner"
printf 'mode = sweep\nwindow = 256M\nsweep_windows = 100\n' >"$T/hp.conf"
start_daemon hp --config "$T/hp.conf" --source "$hp" --interval 3600 ||
	{ not_ok "start for the hot-plug check"; done_testing; }
ctl --json snapshot >"$T/hp2.json"
ctl --json status >"$T/hp2-status.json"
ctl --json snapshot >"$T/hp3.json"
ctl --json status >"$T/hp3-status.json"
check "hot-unplug: the upper half of the PFNs gone, fewer windows (11 -> $(pyjson "$T/hp2-status.json" 'd["sweep"]["windows"]'))" \
	[ "$(pyjson "$T/hp2-status.json" 'd["sweep"]["windows"] < 11')" = True ]
check "hot-unplug: the log says windows were dropped" log_has "windows left the PFN span"
check "hot-add: the memory back, 11 windows again, its blocks allocated (identities true)" \
	[ "$(pyjson "$T/hp3.json" 'd["identities"]')" = True ]
check "hot-add: 11 windows again" \
	[ "$(pyjson "$T/hp3-status.json" 'd["sweep"]["windows"]')" = 11 ]
for iv in "1 2" "2 3"; do
	set -- $iv
	ctl --json growers --since "$1" --until "$2" --limit 10000 >"$T/hp.json"
	check "hot-plug: snapshot $2: allocated - freed = net for every stack" "$PY" - "$T/hp.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
bad = [g for g in d["groups"] if g["allocated_pages"] - g["freed_pages"] != g["net_pages"]]
print("# mismatched:", bad[:2]) if bad else None
sys.exit(bool(bad) or not d["groups"])
PYEOF
done
stop_daemon

# ---- auto: a whole read over budget turns into a sweep ----------------------------------
printf 'mode = auto\ncpu_budget = 0.0001%%\nwindow = 256M\nsweep_windows = 3\n' >"$T/auto.conf"
start_daemon auto --config "$T/auto.conf" --source "$cap" --interval 3600 ||
	{ not_ok "start an auto daemon"; done_testing; }
ctl snapshot >/dev/null
ctl snapshot >/dev/null
check "auto without page_owner_stacks: the first read whole, then sweeps (over budget)" \
	[ "$(dbq "$DB" "select group_concat(kind) from (select kind from snapshots order by id limit 3)")" = "full,sweep,sweep" ]
stop_daemon
printf 'mode = auto\nwindow = 256M\n' >"$T/auto2.conf"
start_daemon auto2 --config "$T/auto2.conf" --source "$cap" --interval 3600 ||
	{ not_ok "start an auto daemon"; done_testing; }
ctl snapshot >/dev/null
ctl snapshot >/dev/null
check "... but not while the default budget stretches the interval less than 10 minutes (whole reads stay exact)" \
	[ "$(dbq "$DB" "select group_concat(kind) from (select kind from snapshots order by id limit 3)")" = "full,full,full" ]
stop_daemon

# ---- settings ---------------------------------------------------------------------------------
for bad in 'window = 12' 'window = lots' 'sweep_windows = -1' 'readers = 0' 'mode = sweeps'; do
	printf '%s\n' "$bad" >"$T/bad.conf"
	"$DAEMON" --config "$T/bad.conf" --source "$cap" --db "$T/bad.db" --socket "$T/bad.sock" \
		--foreground --once >"$T/bad.out" 2>&1
	rc=$?
	key=${bad%% *}
	check "config '$bad' is refused naming the key ($(head -c 120 "$T/bad.out" | tr '\n' ' '))" \
		eval '[ $rc -ne 0 ] && grep -q "$key" "$T/bad.out"'
done

done_testing
