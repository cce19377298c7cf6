#!/bin/sh
# tests/tools/page-owner-sort.sh [VERSION]: print the path of the kernel's
# own tools/mm/page_owner_sort, built once from Debian's linux-source-VERSION
# (default 6.12) and cached outside the repository.
set -eu
ver=${1:-6.12}
cache=${PAGE_OWNERD_CACHE:-/var/cache/page-ownerd}
tarball=/usr/src/linux-source-$ver.tar.xz
[ -r "$tarball" ] || { echo "page-owner-sort.sh: $tarball missing (apt-get install linux-source-$ver)" >&2; exit 1; }
key=$(stat -c '%s-%Y' "$tarball")
out="$cache/page_owner_sort-$ver-$key"
if [ ! -x "$out" ]; then
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/pos.XXXXXX")
	tar -xJf "$tarball" -C "$tmp" "linux-source-$ver/tools/mm/page_owner_sort.c"
	cc -O2 -o "$tmp/page_owner_sort" "$tmp/linux-source-$ver/tools/mm/page_owner_sort.c"
	mv "$tmp/page_owner_sort" "$out"
	rm -rf "$tmp"
fi
echo "$out"
