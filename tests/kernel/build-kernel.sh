#!/bin/bash
#
# build-kernel.sh [SERIES...]: build (once) and cache the page_owner test
# kernel for each Debian linux-source SERIES (default: 6.12), and print the
# cache directory of each. Later calls only compute the cache key (about a
# second) and print the cached directory.
#
#   tests/kernel/build-kernel.sh            # 6.12
#   tests/kernel/build-kernel.sh 6.12 6.1
#   PAGE_OWNERD_CACHE=/tmp/c tests/kernel/build-kernel.sh --key 6.1
#
# --key prints the cache key without building; --prune deletes cached
# kernels whose key is no longer current (older fragments, patches, recipes
# or toolchains). The recipe itself lives in lib.sh (kt_recipe_*), so run.sh
# and capture.sh build exactly the same way.

set -euo pipefail

# shellcheck source=tests/kernel/lib.sh
. "$(dirname "$0")/lib.sh"

key_only=0
case ${1:-} in
--key)
	key_only=1
	shift
	;;
--prune)
	keep=" "
	for series in $KT_SERIES_ALL; do
		keep+="$(kt_kernel_key "$series") "
	done
	for dir in "$KT_CACHE"/kernel-*; do
		[[ -d $dir ]] || continue
		[[ $keep == *" ${dir##*/} "* ]] && continue
		kt_log "removing $dir"
		rm -rf "$dir" "$KT_CACHE/.lock-${dir##*/}"
	done
	kt_kernel_clean_tmp
	exit 0
	;;
esac
[[ $# -gt 0 ]] || set -- 6.12

for series in "$@"; do
	if reason=$(kt_host_unusable "$series"); then
		kt_die "cannot build kernel $series: $reason"
	fi
	if [[ $key_only == 1 ]]; then
		kt_kernel_key "$series"
		echo
		continue
	fi
	dir=$(kt_kernel_ensure "$series") || kt_die "kernel $series: build failed"
	printf '%s\n' "$dir"
done
