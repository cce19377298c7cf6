#!/usr/bin/python3
"""compare-sort.py SORTED.txt ANALYZE.json: per-stack page totals from the
kernel's `page_owner_sort -m --cull stacktrace` output against
`pageownerctl analyze --json` (grouped by stack).  page_owner_sort's key
also holds the migrate and memcg lines after the frames, so its groups are
summed over the frame lines alone.  Exit 0 when every stack agrees exactly."""
import collections
import json
import re
import sys


def sort_totals(path):
    totals = collections.Counter()
    head = re.compile(r'^(\d+) times, (\d+) pages')
    with open(path, errors='replace') as f:
        text = f.read()
    for block in text.split('\n\n'):
        lines = block.split('\n')
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            continue
        m = head.match(lines[0])
        if not m:
            continue
        frames = [l[1:] for l in lines[1:] if l.startswith(' ')]
        totals['\n'.join(frames)] += int(m.group(2))
    return totals


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    theirs = sort_totals(sys.argv[1])
    with open(sys.argv[2]) as f:
        ours_json = json.load(f)
    ours = collections.Counter()
    for g in ours_json['groups']:
        ours['\n'.join(g['frames'])] += g['pages']
    bad = [k for k in set(ours) | set(theirs) if ours.get(k, 0) != theirs.get(k, 0)]
    print(f"{len(theirs)} stacks in page_owner_sort, {len(ours)} in analyze, "
          f"{sum(theirs.values())} vs {sum(ours.values())} pages, {len(bad)} differ")
    for k in bad[:5]:
        print(f"  differs: page_owner_sort {theirs.get(k, 0)} analyze {ours.get(k, 0)}: "
              + k.replace('\n', ' | ')[:300])
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
