#!/bin/bash
# tests/tools/report.sh [--short] [DIR]: print what the "hold under faults, load and
# hostile input" tests tried and whether the daemon held, as one table per
# build.  The tests (tests/integration/faults.sh, memory.sh, hostile.sh,
# load.sh, access.sh) write tab-separated lines (area, what was tried,
# held|FAILED|skipped, note) to DIR (default build/test-logs/hold/), one
# file per build and test.  Exit status 1 when any line says FAILED.
#
# --short (what make check prints): the default build's table, then one line
# per build and area with its counts, and every line of any build that did
# not hold.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
short=0
if [ "${1:-}" = --short ]; then
	short=1
	shift
fi
dir=${1:-$top/build/test-logs/hold}
if ! ls "$dir"/*.tsv >/dev/null 2>&1; then
	echo "report.sh: nothing in $dir (run the integration tests first)"
	exit 0
fi
if [ "$short" = 1 ]; then
	awk -F '\t' '
	FNR == 1 {
		f = FILENAME; sub(/.*\//, "", f); sub(/\.tsv$/, "", f)
		split(f, part, "-"); build = part[1]
	}
	NF >= 3 {
		k = build SUBSEP $1
		if (!(k in tried)) order[++nk] = k
		tried[k]++
		res[k, $3]++
		n[$3]++
		if ($3 != "held" && build != "default")
			odd[++nodd] = sprintf("  %s %s: %s: %s %s", build, $1, $3, $2, $4)
		if (build == "default") {
			what = $2
			if (length(what) > 72) what = substr(what, 1, 69) "..."
			note = $4
			if (length(note) > 70) note = substr(note, 1, 67) "..."
			if (!hdr++)
				printf "%-8s | %-7s | %-72s | %s\n", "area", "result",
				    "what was tried (default build)", "note"
			printf "%-8s | %-7s | %-72s | %s\n", $1, $3, what, note
		}
	}
	END {
		print ""
		printf "%-8s %-10s %6s %6s %7s %8s\n", "build", "area", "tried", "held", "failed", "skipped"
		for (i = 1; i <= nk; i++) {
			split(order[i], p, SUBSEP)
			printf "%-8s %-10s %6d %6d %7d %8d\n", p[1], p[2], tried[order[i]],
			    res[order[i], "held"], res[order[i], "FAILED"], res[order[i], "skipped"]
		}
		if (nodd) print "not held in the other builds:"
		for (i = 1; i <= nodd; i++) print odd[i]
		printf "%d held, %d failed, %d skipped (full table: tests/tools/report.sh)\n",
		    n["held"], n["FAILED"], n["skipped"]
		exit n["FAILED"] > 0
	}' $(ls "$dir"/*.tsv | sort)
	exit
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
