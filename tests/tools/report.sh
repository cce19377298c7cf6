#!/bin/bash
# tests/tools/report.sh [DIR]: print what the "hold under faults, load and
# hostile input" tests tried and whether the daemon held, as one table per
# build.  The tests (tests/integration/faults.sh, memory.sh, hostile.sh,
# load.sh, access.sh) write tab-separated lines (area, what was tried,
# held|FAILED|skipped, note) to DIR (default build/test-logs/hold/), one
# file per build and test.  Exit status 1 when any line says FAILED.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-$top/build/test-logs/hold}
if ! ls "$dir"/*.tsv >/dev/null 2>&1; then
	echo "report.sh: nothing in $dir (run the integration tests first)"
	exit 0
fi
awk -F '\t' '
	FNR == 1 {
		f = FILENAME; sub(/.*\//, "", f); sub(/\.tsv$/, "", f)
		split(f, part, "-"); build = part[1]
		if (build != last) {
			if (last != "") print ""
			printf "== %s build\n", build
			printf "%-9s | %-7s | %-92s | %s\n", "area", "result", "what was tried", "note"
			printf "%-9s-+-%-7s-+-%-92s-+-%s\n", "---------", "-------", \
			    "--------------------------------------------------------------------------------------------", "----"
			last = build
		}
	}
	NF >= 3 {
		what = $2
		if (length(what) > 92) what = substr(what, 1, 89) "..."
		printf "%-9s | %-7s | %-92s | %s\n", $1, $3, what, $4
		n[$3]++
		if ($3 == "FAILED") bad = 1
	}
	END {
		printf "\n%d held, %d failed, %d skipped\n", n["held"], n["FAILED"], n["skipped"]
		exit bad
	}' $(ls "$dir"/*.tsv | sort)
