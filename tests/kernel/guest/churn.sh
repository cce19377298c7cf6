#!/bin/sh
#
# churn.sh [CGROUP] STOPFILE: background noise for the page_owner dumps
# until STOPFILE exists. Each round writes and deletes tmpfs files (page
# cache), builds anonymous memory in short-lived busybox processes (sort,
# awk) and starts and reaps a few more processes (page tables, stacks,
# task structs). Bounded: at most 6 files of at most 1 MiB.

cg=$1
stop=$2
if [ -n "$cg" ]; then
	echo $$ >"/sys/fs/cgroup/$cg/cgroup.procs" || exit 1
fi
mkdir -p /tmp/churn
i=0
while [ ! -e "$stop" ]; do
	# page cache in tmpfs: write one file, drop the one written 3 rounds ago
	dd if=/dev/urandom of=/tmp/churn/f$((i % 6)) bs=4k \
		count=$((16 + (i * 37) % 240)) 2>/dev/null
	rm -f /tmp/churn/f$(((i + 3) % 6))
	# anonymous memory: sort holds its whole input, awk a big array
	seq 1 $((2000 + (i * 911) % 20000)) | sort -r >/dev/null
	awk -v n=$((1000 + (i * 577) % 8000)) \
		'BEGIN { for (k = 0; k < n; k++) a[k] = k "-" k; }'
	# short-lived processes
	for _ in 1 2 3; do
		/bin/true &
	done
	wait
	md5sum </tmp/churn/f$((i % 6)) >/dev/null
	i=$((i + 1))
	usleep 20000
done
echo "$i" >"$stop.iterations"
