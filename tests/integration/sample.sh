#!/bin/bash
# sample.sh: sample = P% on a replayed synthetic host (gen-dump): each
# snapshot reads a stratified random sample of the PFN windows and stores
# every stack's estimated pages with a standard error.
#   - every sampled snapshot has an estimate, and top carries it per stack;
#   - the first snapshot reads every window (never read before): exact;
#   - the estimates against the truth (whole reads of the same dumps): the
#     error is within 3 standard errors for nearly every stack whose change
#     the draw saw (error above 0), and for the leak at nearly every snapshot;
#   - top-growers and leaks rank the steady leak first, each listed group's
#     estimated growth beyond 3 standard errors, and say so;
#   - the same PAGE_OWNERD_SAMPLE_SEED gives the same draws;
#   - 100% is a census: the estimate is the truth, no error;
#   - bad sample settings are refused, naming the key.
. "$(dirname "$0")/lib.bash"

sweep_host 7

# tops PREFIX: top by stack at every snapshot, PREFIX-N.json
tops() {
	local n
	for n in 1 2 3 4 5 6 7 8; do
		ctl --json top --at "$n" --limit 10000 >"$T/$1-$n.json"
	done
}

replay_to_end truth 'mode = full\n' || { not_ok "a full-mode daemon replays the capture"; done_testing; }
tops truth
stop_daemon

export PAGE_OWNERD_SAMPLE_SEED=11
replay_to_end s25 'mode = sweep\nwindow = 32M\nsample = 25%\n' ||
	{ not_ok "a sampling daemon replays the capture"; done_testing; }
ctl --json status >"$T/s25-status.json"
tops s25
ctl --json growers --since 1 --limit 20 >"$T/s25-growers.json"
ctl --json leaks --since 1 --limit 20 >"$T/s25-leaks.json"
ctl --json leaks --since 1 --limit 10000 --all >"$T/s25-leaks-all.json"
ctl top-growers --since 1 --limit 5 >"$T/s25-growers.txt"
stop_daemon
check "sampling: status says 25% of the windows, drawn from strata, the latest snapshot estimated" \
	[ "$(pyjson "$T/s25-status.json" '(d["sweep"]["sample_percent"], d["sweep"]["strata"] > 1, d["sweep"]["estimated"], d["sweep"]["per_snapshot"] * 4 >= d["sweep"]["windows"])')" = "(25.0, True, True, True)" ]
check "sampling: the first snapshot read every window (none read before): its estimate is exact" \
	[ "$(pyjson "$T/s25-1.json" '(d["estimate"]["sampled"] == d["estimate"]["windows"], all(g["estimate"]["se_pages"] == 0 and g["estimate"]["pages"] == g["pages"] for g in d["groups"]))')" = "(True, True)" ]
check "sampling: every snapshot has an estimate" \
	[ "$(sqlite3 "$DB" "select count(*) from estimates")" = 8 ]
check "sampling: the estimates against whole reads: within 3 standard errors for nearly every stack whose change the draw saw, and the leak" \
	"$PY" - "$T" <<'PYEOF'
import json, math, os, sys
d = sys.argv[1]
inside = total = 0
spread_in = spread = leak_in = 0
worst = []
for n in range(1, 9):
    truth = {g["stack_id"]: g["pages"] for g in json.load(open(os.path.join(d, "truth-%d.json" % n)))["groups"]}
    est = json.load(open(os.path.join(d, "s25-%d.json" % n)))
    if "estimate" not in est:
        print("# snapshot %d: no estimate in top" % n)
        sys.exit(1)
    t_sum = sum(truth.values())
    e_sum = sum(g["estimate"]["pages"] for g in est["groups"])
    print("# snapshot %d: %d of %d windows; total pages %d, estimated %.0f"
          % (n, est["estimate"]["sampled"], est["estimate"]["windows"], t_sum, e_sum))
    for g in est["groups"]:
        t = truth.get(g["stack_id"], 0)
        e, se = g["estimate"]["pages"], g["estimate"]["se_pages"]
        ok = abs(e - t) <= 3 * se + 0.5
        total += 1
        inside += ok
        if se > 0:
            spread += 1
            spread_in += ok
        if not ok:
            worst.append((abs(e - t) / max(se, 1e-9), n, g["stack_id"][:16], t, e, se))
        if g["culprit"] == "leaky_alloc_buffer" and n >= 2:
            leak_in += ok
            print("# snapshot %d: the leak: true %d, estimated %.1f +- %.1f" % (n, t, e, se))
print("# %d of %d (stack, snapshot) estimates within 3 SE (%.1f%%); of those with an error "
      "above 0 (a change the draw saw), %d of %d (%.1f%%)" % (inside, total,
      100 * inside / max(total, 1), spread_in, spread, 100 * spread_in / max(spread, 1)))
for w in sorted(worst, reverse=True)[:3]:
    print("#   off by %.1f SE: snapshot %d stack %s true %d est %.1f se %.1f" % w)
print("# the leak within 3 SE of the truth at %d of snapshots 2-8" % leak_in)
sys.exit(not (spread > 500 and spread_in >= 0.9 * spread and leak_in >= 6))
PYEOF
check "sampling: top-growers names the steady leak first, with its estimated growth beyond 3 SE" \
	"$PY" - "$T/s25-growers.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
g = d["groups"]
e = d.get("estimate", {})
print("# estimates from snapshot %s to %s; first: %s, growth %.0f +- %.0f"
      % (e.get("from_snapshot"), e.get("to_snapshot"), g[0]["culprit"] if g else None,
         g[0]["estimate"]["growth_pages"] if g else 0, g[0]["estimate"]["growth_se_pages"] if g else 0))
sys.exit(not (g and g[0]["culprit"] == "leaky_alloc_buffer" and e.get("from_snapshot") == 1
              and e.get("to_snapshot") == 8
              and all(x["estimate"]["growing"] and x["estimate"]["growth_pages"] > 3 * x["estimate"]["growth_se_pages"]
                      for x in g)))
PYEOF
check "sampling: leaks names the leak first; a stack whose estimated growth is within 3 SE is never a suspect, and says why" \
	"$PY" - "$T/s25-leaks.json" "$T/s25-leaks-all.json" <<'PYEOF'
import json, sys
d, a = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
g = d["groups"]
flat = [x for x in a["groups"] if not x["estimate"].get("growing", True)]
bad = [x for x in a["groups"] if x["suspect"] and not x["estimate"]["growing"]]
said = all(x["evidence"]["not_suspect_because"] for x in flat)
print("# %d groups with --all, %d not growing by the estimates; first suspect %s"
      % (len(a["groups"]), len(flat), g[0]["culprit"] if g else None))
sys.exit(not (g and g[0]["culprit"] == "leaky_alloc_buffer" and g[0]["suspect"] and flat
              and not bad and said))
PYEOF
check "sampling: the human top-growers table shows the estimates" grep -q "EST GROWTH" "$T/s25-growers.txt"

# the same seed, the same draws
replay_to_end s25b 'mode = sweep\nwindow = 32M\nsample = 25%\n' ||
	{ not_ok "a second sampling daemon replays the capture"; done_testing; }
ctl --json top --at 8 --limit 10000 >"$T/s25b-8.json"
stop_daemon
check "sampling: the same PAGE_OWNERD_SAMPLE_SEED draws the same windows (the same estimates)" \
	[ "$(pyjson "$T/s25-8.json" '[g["estimate"] for g in d["groups"]]')" = "$(pyjson "$T/s25b-8.json" '[g["estimate"] for g in d["groups"]]')" ]

# a census
replay_to_end s100 'mode = sweep\nwindow = 32M\nsample = 100%\n' ||
	{ not_ok "a 100% sampling daemon replays the capture"; done_testing; }
ctl --json top --at 8 --limit 10000 >"$T/s100-8.json"
stop_daemon
check "sampling 100%: every window read: the estimate is the truth, with no error" "$PY" - "$T/truth-8.json" "$T/s100-8.json" <<'PYEOF'
import json, sys
t = {g["stack_id"]: g["pages"] for g in json.load(open(sys.argv[1]))["groups"]}
e = json.load(open(sys.argv[2]))
bad = [g for g in e["groups"] if g["estimate"]["pages"] != t.get(g["stack_id"]) or g["estimate"]["se_pages"] != 0]
print("# mismatched:", bad[:2]) if bad else None
sys.exit(bool(bad) or len(e["groups"]) != len(t))
PYEOF
unset PAGE_OWNERD_SAMPLE_SEED

if "$PY" -c 'import jsonschema' 2>/dev/null; then
	for v in "status s25-status" "growers s25-growers" "leaks s25-leaks" "top s25-8"; do
		set -- $v
		check "sampling: the $1 reply is valid $1.schema.json" \
			"$PY" "$PO_SRCDIR/tests/tools/validate-json.py" "$PO_SRCDIR/schema/$1.schema.json" "$T/$2.json"
	done
else
	skip "sampling: replies valid against their schemas" "python3-jsonschema is not installed"
fi

for bad in 'sample = 101%' 'sample = -5' 'sample = many'; do
	printf '%s\n' "$bad" >"$T/bad.conf"
	"$DAEMON" --config "$T/bad.conf" --source "$cap" --db "$T/bad.db" --socket "$T/bad.sock" \
		--foreground --once >"$T/bad.out" 2>&1
	rc=$?
	check "config '$bad' is refused naming the key ($(head -c 120 "$T/bad.out" | tr '\n' ' '))" \
		eval '[ $rc -ne 0 ] && grep -q "sample" "$T/bad.out"'
done

done_testing
