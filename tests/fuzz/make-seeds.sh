#!/bin/sh
# tests/fuzz/make-seeds.sh: (re)make the committed seed corpora under
# tests/fuzz/seeds/ from the hand-written fixtures, one small file per
# record.  Seeds cut from the real capture are made by run.sh at run time
# instead, so that the repository stays small.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
seeds="$top/tests/fuzz/seeds"
fx="$top/tests/fixtures"
rm -rf "$seeds"
mkdir -p "$seeds/parser" "$seeds/stacks" "$seeds/frame"

# parser: two bytes (where to split the rest, slice size), then records
for f in "$fx"/era-*.txt "$fx"/show_*.txt; do
	b=$(basename "$f" .txt)
	awk -v out="$seeds/parser/$b" -v fout="$seeds/frame/$b" '
		BEGIN { RS = ""; FS = "\n" }
		{
			printf "%c%c%s\n\n", 1 + NR, 7 * NR, $0 > (out "-" NR)
			close(out "-" NR)
			s = ""
			for (i = 1; i <= NF; i++)
				if (substr($i, 1, 1) == " ")
					s = s $i "\n"
			if (s != "") {
				printf "%c%s", 16 + NR, s > (fout "-" NR)
				close(fout "-" NR)
			}
		}' "$f"
	{ printf '\001\003'; cat "$f"; } >"$seeds/parser/$b-all"
done
{ printf '\000\050'; cat "$fx/bad-garbage.txt"; } >"$seeds/parser/bad-garbage"
{ printf '\000\170'; cat "$fx/bad-truncated.txt"; } >"$seeds/parser/bad-truncated"
{ printf '\001\001'; cat "$fx/bad-unknown-lines.txt"; } >"$seeds/parser/bad-unknown-lines"

# stacks: one file, or two joined by a NUL (show_handles, then frames)
cp "$fx/show_stacks-6.9.txt" "$seeds/stacks/show_stacks"
cp "$fx/show_handles-6.19.txt" "$seeds/stacks/show_handles"
{ cat "$fx/show_handles-6.19.txt"; printf '\000'; cat "$fx/show_stacks_handles-6.19.txt"; } \
	>"$seeds/stacks/handles-join"
{ cat "$fx/show_stacks-6.9.txt"; printf '\000'; cat "$fx/show_stacks-6.9.txt"; } \
	>"$seeds/stacks/two-snapshots"
