#!/bin/bash
#
# compare-sort.sh [--client PATH] [--sort PATH] DUMP|DIR...: compares
# `pageownerctl analyze --json DUMP` (grouped by stack, the default) with the
# kernel's `page_owner_sort -m --cull stacktrace DUMP`, per stack, exactly:
# same set of stacks, same pages and blocks for each, same totals.
#
# page_owner_sort's group key also holds the trailer lines (migrate reason,
# "Slab cache page", "Charged ... memcg ..."), so its groups are first summed
# over their frame lines only. pageownerctl is expected to print
#   {"records":N,"pages":N,"malformed":N,
#    "groups":[{"blocks":N,"pages":N,"frames":["frame without its leading space",...]},...]}
#
# DUMP may be plain or .xz; a DIR means every NNN-label.page_owner[.xz] in it
# (a capture, e.g. tests/data/capture-6.12). page_owner_sort comes from the
# kernel cache (matching the dump's .meta kernel= when there is one) unless
# --sort is given. Without build/pageownerctl (or --client), /usr/bin/python3
# or a page_owner_sort: a SKIP line. TAP on stdout; exit 1 on a mismatch.
#
#   tests/kernel/compare-sort.sh tests/data/capture-6.12 tests/data/capture-6.1

set -euo pipefail

# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"

# tests/run.sh passes its build directory as PO_BUILD.
client=${PO_BUILD:-build}/pageownerctl
[[ $client == /* ]] || client=$KT_ROOT/$client
sort_tool=
while [[ $# -gt 0 ]]; do
	case $1 in
	--client) client=$2; shift 2 ;;
	--sort) sort_tool=$2; shift 2 ;;
	--) shift; break ;;
	-*) kt_die "usage: $0 [--client PATH] [--sort PATH] DUMP|DIR..." ;;
	*) break ;;
	esac
done
[[ $# -gt 0 ]] || kt_die "usage: $0 [--client PATH] [--sort PATH] DUMP|DIR..."

desc="pageownerctl analyze --json agrees with page_owner_sort per stack"
if [[ ! -x $client ]]; then
	kt_skip "$desc" "$client not built yet"
	exit 0
fi
if [[ ! -x /usr/bin/python3 ]]; then
	kt_skip "$desc" "/usr/bin/python3 missing"
	exit 0
fi

# Dumps to compare: "PATH META" pairs (META may not exist).
dumps=()
for arg in "$@"; do
	arg=${arg%/}
	if [[ -d $arg ]]; then
		for snap in $(kt_snapshots "$arg"); do
			dumps+=("$arg/$snap.page_owner")
		done
	else
		dumps+=("${arg%.xz}")
	fi
done

kt_workdir
work=$KT_WORK

for dump in "${dumps[@]}"; do
	name=${dump%/*}
	name=${name##*/}/${dump##*/}
	name=${name%.page_owner}
	meta=${dump%.page_owner}.meta
	tool=$sort_tool
	if [[ -z $tool ]]; then
		release=$(kt_kv "$meta" kernel 2>/dev/null || true)
		tool=$(kt_find_sort "$release" || true)
	fi
	if [[ -z $tool || ! -x $tool ]]; then
		kt_skip "$name: $desc" "no page_owner_sort (run tests/kernel/build-kernel.sh)"
		continue
	fi
	if ! kt_cat "$dump" >"$work/dump"; then
		kt_not_ok "$name: cannot read ${dump}[.xz]"
		continue
	fi
	if ! "$tool" -m --cull stacktrace "$work/dump" "$work/sorted" >"$work/sort.err" 2>&1; then
		kt_not_ok "$name: page_owner_sort failed: $(head -c 200 "$work/sort.err")"
		continue
	fi
	if ! "$client" analyze --json "$work/dump" >"$work/analyze.json" 2>"$work/analyze.err"; then
		kt_not_ok "$name: pageownerctl analyze failed: $(head -c 200 "$work/analyze.err")"
		continue
	fi
	if /usr/bin/python3 - "$work/sorted" "$work/analyze.json" >"$work/diff" <<-'EOF'; then
		import json
		import sys

		def load_sort(path):
		    """page_owner_sort --cull stacktrace groups, summed per frame list."""
		    groups = {}
		    with open(path, encoding="utf-8", errors="surrogateescape") as f:
		        text = f.read()
		    for para in text.split("\n\n"):
		        lines = [l for l in para.split("\n") if l]
		        if not lines:
		            continue
		        head = lines[0].split()
		        if len(head) < 4 or head[1] != "times," or not head[3].startswith("pages"):
		            raise SystemExit("unexpected page_owner_sort line: %r" % lines[0])
		        frames = tuple(l[1:] for l in lines[1:] if l.startswith(" "))
		        blocks, pages = groups.get(frames, (0, 0))
		        groups[frames] = (blocks + int(head[0]), pages + int(head[2]))
		    return groups

		def load_json(path):
		    with open(path, encoding="utf-8") as f:
		        doc = json.load(f)
		    groups, dups = {}, 0
		    for g in doc["groups"]:
		        frames = tuple(g["frames"])
		        if frames in groups:
		            dups += 1
		        blocks, pages = groups.get(frames, (0, 0))
		        groups[frames] = (blocks + g["blocks"], pages + g["pages"])
		    return doc, groups, dups

		sort_groups = load_sort(sys.argv[1])
		doc, json_groups, dups = load_json(sys.argv[2])
		problems = []
		if dups:
		    problems.append("%d stacks appear in more than one JSON group" % dups)
		sort_pages = sum(p for _, p in sort_groups.values())
		sort_blocks = sum(b for b, _ in sort_groups.values())
		if doc.get("pages") != sort_pages:
		    problems.append("total pages: json %s, page_owner_sort %d" % (doc.get("pages"), sort_pages))
		if doc.get("records") != sort_blocks:
		    problems.append("records: json %s, page_owner_sort blocks %d" % (doc.get("records"), sort_blocks))
		if doc.get("malformed", 0) != 0:
		    problems.append("json reports %s malformed records" % doc.get("malformed"))
		for frames in sorted(set(sort_groups) | set(json_groups)):
		    a = sort_groups.get(frames)
		    b = json_groups.get(frames)
		    if a == b:
		        continue
		    top = frames[0] if frames else "(no frames)"
		    culprit = next((f for f in frames if "leaker" in f), top)
		    problems.append("stack %s ... (%d frames): page_owner_sort %s, json %s"
		                    % (culprit, len(frames),
		                       "blocks %d pages %d" % a if a else "absent",
		                       "blocks %d pages %d" % b if b else "absent"))
		print("%d stacks, %d pages, %d blocks in page_owner_sort; %d stacks in json"
		      % (len(sort_groups), sort_pages, sort_blocks, len(json_groups)))
		for p in problems[:20]:
		    print("mismatch: " + p)
		if len(problems) > 20:
		    print("... and %d more mismatches" % (len(problems) - 20))
		sys.exit(1 if problems else 0)
	EOF
		kt_ok "$name: $desc ($(head -n1 "$work/diff"))"
	else
		kt_not_ok "$name: $desc"
		sed 's/^/#   /' "$work/diff" >&2
	fi
done
kt_finish
