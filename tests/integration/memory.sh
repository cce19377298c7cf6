#!/bin/bash
# memory.sh: page-ownerd's memory stays bounded on a large dump with very
# many distinct stacks (the dump is streamed, never held whole), and the
# max_stacks cap, when hit, is said clearly (status limits.overflowed, a
# log line) and nothing crashes.  Reports the daemon's VmHWM.
#
# Scale: make check takes a 300 MB dump of 200,000 distinct stacks (half
# that under ASan); PO_MEMORY_SCALE=full takes the 2 GB, 1,000,000-stack
# run for the benchmarks (minutes, and 2 GB of disk under $TMPDIR).
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/hold.bash"

GEN="$PO_SRCDIR/build/tests/gen-dump"
[ -x "$GEN" ] || GEN="$PO_BUILD/tests/gen-dump"
records=600000 stacks=200000
hold_asan && records=300000 stacks=100000
if [ "${PO_MEMORY_SCALE:-}" = full ]; then
	records=4000000 stacks=1000000
fi

dump="$T/big.page_owner"
"$GEN" --records "$records" --stacks "$stacks" --seed 11 -o "$dump" 2>"$T/gen.err" ||
	{ not_ok "gen-dump: $(head -c 200 "$T/gen.err")"; done_testing; }
mib=$(($(stat -c %s "$dump") >> 20))
echo "# dump: $records records, $stacks stacks, $mib MiB"

# --- the whole dump, every stack kept -----------------------------------------
start_daemon big --source "$dump" --interval 3600 || { not_ok "start on the big dump"; done_testing; }
hold memory "a $mib MiB dump of $stacks stacks is stored" \
	wait_status 'd["snapshots"]["taken"] == 1' 1200
check "memory: ... with all its $records records" [ "$(pyjson "$T/status.json" 'd["last_snapshot"]["records"]')" = "$records" ]
hwm=$(vmhwm_kb)
echo "# VmHWM after the big snapshot: $hwm kB (dump $mib MiB)"
# bounded: well under the dump itself (it is streamed); ASan's shadow and
# quarantine cost more, so there the bound is the dump's size again
limit=$((mib * 1024 / 2))
hold_asan && limit=$((mib * 1024 * 2 + 300 * 1024))
HOLD_NOTE="VmHWM $((hwm / 1024)) MiB for a $mib MiB dump of $stacks stacks (bound $((limit / 1024)) MiB)"
hold memory "RSS stays bounded on that dump (VmHWM under half the dump)" [ "${hwm:-999999999}" -lt "$limit" ]
# a `top` over 200,000 stacks: tens of milliseconds (growing its groups by one
# at a time made it 90 s under ASan, where realloc always copies)
t0=$SECONDS
TCTL_TIMEOUT=900 quiet tctl --json top --limit 5
rc=$?
HOLD_NOTE="top --limit 5 took $((SECONDS - t0)) s"
hold memory "queries answered after it (top by stack)" [ "$rc" = 0 ]
echo "# top --limit 5 over $stacks stacks took $((SECONDS - t0)) s"
stop_daemon
check "memory: SIGTERM: exit status 0" [ "$DSTATUS" = 0 ]

# --- the same dump with max_stacks = 1000 ------------------------------------------------
printf 'max_stacks = 1000\nmax_series = 2000\n' >"$T/cap.conf"
start_daemon capped --config "$T/cap.conf" --source "$dump" --interval 3600 ||
	{ not_ok "start with max_stacks = 1000"; done_testing; }
hold memory "max_stacks = 1000: the snapshot is stored anyway" \
	wait_status 'd["snapshots"]["taken"] == 1' 1200
over=$(pyjson "$T/status.json" 'd["limits"]["overflowed"]')
HOLD_NOTE="limits.overflowed = $over, VmHWM $(($(vmhwm_kb) / 1024)) MiB"
hold memory "max_stacks = 1000: status says the cap was hit (limits.overflowed)" [ "${over:-0}" -gt 0 ]
hold memory "max_stacks = 1000: a log line says so" log_has "more distinct stacks or series than max_stacks=1000"
hold memory "max_stacks = 1000: at most 1000 stacks stored, the rest under (overflow)" \
	[ "$(dbq "$DB" "select count(*) <= 1001 and sum(key = '(overflow)') = 1 from series where kind = 1")" = 1 ]
tctl --json top --limit 3 >"$T/top.json"
hold memory "max_stacks = 1000: top answers, (overflow) among the groups" \
	grep -q '(overflow)' "$T/top.json"
echo "# VmHWM with max_stacks = 1000: $(vmhwm)"
stop_daemon
check "memory: capped daemon stops with status 0" [ "$DSTATUS" = 0 ]
hold memory "the capped database passes integrity_check" [ "$(dbcheck "$DB")" = ok ]

done_testing
