#!/bin/sh
# tests/tools/run.sh BUILD: `make run`.  With the daemon built, start it in
# the foreground: on the live kernel when /sys/kernel/debug/page_owner is
# readable, else on a bundled real capture replayed at a short interval;
# database and socket under BUILD/run.  Without the daemon, analyze the
# bundled real dump.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
b=${1:-build}
case "$b" in /*) ;; *) b="$top/$b" ;; esac

if [ ! -x "$b/page-ownerd" ]; then
	dump="$b/run/real-6.12.117-leak2000.page_owner"
	mkdir -p "$b/run"
	[ -s "$dump" ] || xz -dc "$top/tests/data/real-6.12.117-leak2000.page_owner.xz" >"$dump"
	echo "page-ownerd is not built yet; analyzing the bundled real 6.12 dump:"
	echo "  $b/pageownerctl analyze --top 15 $dump"
	exec "$b/pageownerctl" analyze --top 15 "$dump"
fi

run="$b/run"
mkdir -p "$run"
sock="$run/page-ownerd.sock"
db="$run/page-ownerd.db"
if [ -r /sys/kernel/debug/page_owner ] && head -c 1 /sys/kernel/debug/page_owner >/dev/null 2>&1; then
	src=/sys/kernel/debug/page_owner
	interval=60
else
	src="$run/capture"
	rm -rf "$src"
	mkdir -p "$src"
	cap=$(ls -d "$top"/tests/data/capture-6.12 2>/dev/null | head -n 1)
	if [ -n "$cap" ]; then
		for f in "$cap"/*.page_owner.xz; do
			xz -dc "$f" >"$src/$(basename "$f" .xz)"
		done
	else
		xz -dc "$top/tests/data/real-6.12.117-leak2000.page_owner.xz" >"$src/001.page_owner"
	fi
	interval=5
	echo "/sys/kernel/debug/page_owner is not readable here (needs CONFIG_PAGE_OWNER,"
	echo "page_owner=on and root); replaying the bundled capture $src instead."
fi
echo "In another terminal, try:"
echo "  $b/pageownerctl --socket $sock status"
echo "  $b/pageownerctl --socket $sock top-growers"
exec "$b/page-ownerd" --foreground --source "$src" --db "$db" --socket "$sock" --interval "$interval"
