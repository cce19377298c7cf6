# shellcheck shell=bash
#
# tests/system/lib.sh: what the system tier needs beyond tests/kernel/lib.sh
# (which it sources and reuses: TAP helpers, timings, the kernel cache and
# build, the leaker module build). Three things live here:
#
# - the system kernel: tests/kernel's page_owner kernel plus the options
#   systemd needs (kernel.config), built by kt_kernel_ensure itself and
#   cached under $ST_CACHE (a directory of its own, so build-kernel.sh
#   --prune, which only knows the kernel tier's keys, leaves it alone);
# - the Debian image: debootstrap from the mirror this machine's apt uses,
#   packed into a raw ext4 image with mkfs.ext4 -d (no loop device, no
#   mount), cached under $ST_CACHE/image-<suite>-<hash>/ keyed by its inputs
#   (suite, mirror, package list, debootstrap version, the st_recipe_*
#   functions' text and the files they copy in);
# - booting it: QEMU (TCG) with systemd as PID 1. The image is never
#   written (-snapshot); each run's payload (the .deb, leaker.ko, the
#   scenario) is a tar archive on a second raw disk that st-run.service in
#   the image unpacks and runs; TAP lines come back on the second serial
#   port, the console log on the first.
#
# Rules: nothing is written inside the repository; every wait is bounded; a
# cached image is complete or absent (built in .tmp-<key>.<pid>, renamed).

# shellcheck source=tests/kernel/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../kernel/lib.sh"

ST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ST_CACHE=${PAGE_OWNERD_CACHE:-/var/cache/page-ownerd}/system
ST_SERIES=${ST_SERIES:-6.12}
ST_BOOT_TIMEOUT=${ST_BOOT_TIMEOUT:-1200}	# seconds, the whole guest run
ST_DEBOOTSTRAP_TIMEOUT=${ST_DEBOOTSTRAP_TIMEOUT:-1200}	# seconds
ST_IMAGE_SIZE=${ST_IMAGE_SIZE:-2G}
ST_GUEST_MEM=${ST_GUEST_MEM:-1024}			# MiB
# One vCPU: TCG runs every vCPU on one host thread (thread=single, see
# tests/kernel), so a second one only adds scheduling and IPIs.
ST_GUEST_CPUS=${ST_GUEST_CPUS:-1}

# ---------------------------------------------------------------------------
# The system kernel.

# st_kernel_fragment: the kernel tier's fragment without the symbols that
# kernel.config names, then kernel.config (so every line of the result can
# be checked as it stands by kt_recipe_config).
st_kernel_fragment() {
	local syms
	syms=$(sed -nE 's/^(# )?(CONFIG_[A-Za-z0-9_]+)[= ].*/\2/p' "$ST_DIR/kernel.config" |
		LC_ALL=C sort -u)
	awk -v syms="$syms" '
		BEGIN { n = split(syms, s, "\n"); for (i = 1; i <= n; i++) drop[s[i]] = 1 }
		{
			sym = $0
			sub(/^# /, "", sym)
			if (sym ~ /^CONFIG_/) {
				sub(/[= ].*/, "", sym)
				if (sym in drop) next
			}
			print
		}' "$KT_FRAGMENT"
	printf '\n# ---- tests/system/kernel.config ----\n'
	cat "$ST_DIR/kernel.config"
}

# st_kernel_ensure WORKDIR: prints the cache directory of the system kernel,
# building it first when needed.
#
# kt_kernel_ensure builds in a fresh bash that sources "$KT_DIR/lib.sh",
# which sets KT_FRAGMENT to the kernel tier's fragment. To build with ours
# without copying the recipe, KT_DIR points (for this one call) at a shim
# directory whose lib.sh sources the real one and then names our fragment;
# its patches/ is the kernel tier's. The cache key is computed from the same
# fragment, patches and recipe text, so it is exactly what gets built.
st_kernel_ensure() {
	local shim=$1/kt-shim frag=$1/system-kernel.config
	mkdir -p "$shim"
	st_kernel_fragment >"$frag"
	ln -sfn "$KT_DIR/patches" "$shim/patches"
	printf '. %q\nKT_FRAGMENT=%q\n' "$KT_DIR/lib.sh" "$frag" >"$shim/lib.sh"
	KT_DIR=$shim KT_FRAGMENT=$frag KT_CACHE=$ST_CACHE kt_kernel_ensure "$ST_SERIES"
}

# ---------------------------------------------------------------------------
# The Debian image.

# st_apt_mirror: the Debian archive this machine's apt uses (deb822
# sources or one-line sources.list), else deb.debian.org.
st_apt_mirror() {
	local uri
	uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' |
		grep -E '/debian/?$' | head -n1)
	if [[ -z $uri ]]; then
		uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' |
			grep -E '/debian/?$' | head -n1)
	fi
	printf '%s' "${uri:-http://deb.debian.org/debian}"
}

st_suite() {
	# shellcheck disable=SC1091
	(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-bookworm}")
}

# st_deb_depends DEB: the package's run-time dependencies, one name each
# (first alternative, no versions), for the image to carry.
st_deb_depends() {
	dpkg-deb -f "$1" Depends | tr ',' '\n' |
		sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' -e '/^$/d' | LC_ALL=C sort -u
}

# What every image has besides the package's dependencies: systemd as
# init, insmod for the test module, useradd and runuser for the test users.
# shellcheck disable=SC2034 # for run.sh
ST_BASE_PACKAGES="systemd-sysv kmod passwd util-linux curl"

# The functions whose text is part of the image key (like KT_RECIPE).
ST_RECIPE="st_recipe_image"

# st_image_key PACKAGES: image-<suite>-<hash of every input>.
st_image_key() {
	local pkgs=$1
	printf 'image-%s-%s' "$(st_suite)" "$({
		printf 'suite %s\nmirror %s\narch %s\nsize %s\n' "$(st_suite)" "$(st_apt_mirror)" \
			"$(dpkg --print-architecture)" "$ST_IMAGE_SIZE"
		printf 'packages %s\n' "$pkgs"
		printf 'debootstrap %s\n' "$(dpkg-query -W -f '${Version}' debootstrap 2>/dev/null)"
		printf 'e2fsprogs %s\n' "$(dpkg-query -W -f '${Version}' e2fsprogs 2>/dev/null)"
		cat "$ST_DIR/guest/st-run" "$ST_DIR/guest/st-run.service"
		# shellcheck disable=SC2086
		declare -f $ST_RECIPE
	} | sha256sum | cut -c1-12)"
}

# --- recipe: part of the image key ---

# st_recipe_image OUT SUITE MIRROR PACKAGES: debootstrap into OUT/root,
# make it boot to st-run.service quietly, pack it into OUT/rootfs.img.
# Runs under set -euo pipefail.
st_recipe_image() {
	local out=$1 suite=$2 mirror=$3 pkgs=$4 root=$1/root
	debootstrap --variant=minbase --components=main --include="${pkgs// /,}" \
		"$suite" "$root" "$mirror"
	echo st-guest >"$root/etc/hostname"
	printf '127.0.1.1\tst-guest\n' >>"$root/etc/hosts"
	printf '/dev/vda\t/\text4\trw,errors=remount-ro\t0\t0\n' >"$root/etc/fstab"
	install -m 0755 "$ST_DIR/guest/st-run" "$root/usr/local/sbin/st-run"
	install -m 0644 "$ST_DIR/guest/st-run.service" "$root/etc/systemd/system/st-run.service"
	systemctl --root="$root" enable st-run.service
	# nothing that waits for devices udev would announce (there is no
	# udev), nothing periodic that competes with the test for the CPU
	systemctl --root="$root" mask serial-getty@ttyS0.service getty@tty1.service \
		getty-static.service apt-daily.timer apt-daily-upgrade.timer \
		e2scrub_all.timer fstrim.timer systemd-timesyncd.service 2>/dev/null || true
	# the journal in memory: the image is never written, and 1 GiB is plenty
	mkdir -p "$root/etc/systemd/journald.conf.d"
	printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/st.conf"
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
	mkfs.ext4 -q -F -L st-root -E root_owner=0:0 -d "$root" "$out/rootfs.img" "$ST_IMAGE_SIZE"
	rm -rf "$root"
}

# --- end of recipe ---

# st_image_ensure PACKAGES: prints the cache directory of a complete image
# holding PACKAGES (space-separated), building it first when needed.
st_image_ensure() {
	local pkgs key dir tmp rc=0
	# shellcheck disable=SC2086 # one name per word
	pkgs=$(printf '%s\n' $1 | LC_ALL=C sort -u | xargs)
	key=$(st_image_key "$pkgs")
	dir=$ST_CACHE/$key
	kt_cache_claim "$ST_CACHE" "$key" image st_clean_tmp || rc=$?
	if [[ $rc -eq 0 ]]; then
		kt_log "image: cached $dir"
		printf '%s\n' "$dir"
		return 0
	fi
	[[ $rc -eq 2 ]] || return 1
	tmp=$KT_CLAIM_TMP
	kt_log "image: building $key from $(st_apt_mirror) (log: $tmp/build.log)"
	kt_timer_start image-build
	rc=0
	timeout -k 30 "$ST_DEBOOTSTRAP_TIMEOUT" bash -c \
		'set -euo pipefail; source "$1"; st_recipe_image "$2" "$3" "$4" "$5"' \
		st-recipe "$ST_DIR/lib.sh" "$tmp" "$(st_suite)" "$(st_apt_mirror)" "$pkgs" \
		>"$tmp/build.log" 2>&1 || rc=$?
	if [[ $rc -ne 0 ]]; then
		kt_log "image: build failed (rc=$rc), last lines of the log:"
		tail -n 30 "$tmp/build.log" | sed 's/^/#   /' >&2
		[[ -f $tmp/root/debootstrap/debootstrap.log ]] &&
			tail -n 20 "$tmp/root/debootstrap/debootstrap.log" | sed 's/^/#   /' >&2
		kt_cache_abandon
		return 1
	fi
	kt_timer_stop image-build
	xz -T1 -6 "$tmp/build.log"
	{
		printf 'key=%s\nsuite=%s\nmirror=%s\npackages=%s\n' "$key" "$(st_suite)" \
			"$(st_apt_mirror)" "$pkgs"
		printf 'built=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		printf 'seconds=%s\n' "$(awk -v s="${KT_TIMERS[image-build]}" -v e="$(kt_now)" \
			'BEGIN { printf "%d", e - s }')"
	} >"$tmp/BUILD-INFO"
	kt_cache_commit "$dir" image
}

# st_clean_tmp: removes the trees of interrupted image builds (their pid is
# gone), whatever their key.
st_clean_tmp() {
	local t pid
	for t in "$ST_CACHE"/.tmp-image-*; do
		[[ -d $t ]] || continue
		pid=${t##*.}
		[[ $pid =~ ^[0-9]+$ ]] || continue
		if ! kill -0 "$pid" 2>/dev/null; then
			kt_log "removing $t (its build was interrupted)"
			rm -rf "$t"
		fi
	done
}

# st_cache_prune KEY...: removes cached images and system kernels other than the
# current ones (their keys given as arguments), and interrupted builds.
st_cache_prune() {
	local keep=" $* " d
	for d in "$ST_CACHE"/image-* "$ST_CACHE"/kernel-*; do
		[[ -d $d ]] || continue
		[[ $keep == *" ${d##*/} "* ]] && continue
		kt_log "removing $d"
		rm -rf "$d" "$ST_CACHE/.lock-${d##*/}"
	done
}

# st_network_ok: can debootstrap reach the mirror? (a SKIP otherwise)
st_network_ok() {
	local m
	m=$(st_apt_mirror)
	# debootstrap downloads with wget (its dependency)
	timeout 30 wget -q -T 20 -t 1 -O /dev/null "$m/dists/$(st_suite)/Release"
}

# ---------------------------------------------------------------------------
# Booting the guest.

ST_CMDLINE="console=ttyS0 root=/dev/vda rw rootfstype=ext4 page_owner=on panic=-1 \
oops=panic nokaslr systemd.show_status=auto loglevel=4"

# Console lines that fail a run whatever the scenario says.
ST_CONSOLE_BAD='Oops|BUG:|Kernel panic|general protection fault|KT-FAIL'

# st_payload OUT FILE...: the payload disk, a tar archive of FILEs (flat).
st_payload() {
	local out=$1 dir
	shift
	dir=$(mktemp -d "${out%/*}/payload.XXXXXX")
	cp "$@" "$dir/"
	tar -C "$dir" -cf "$out" . || return 1
	rm -rf "$dir"
}

# st_guest_boot KERNELDIR IMAGE PAYLOAD OUTDIR: boots the image (never
# written: -snapshot) with the payload as /dev/vdb; OUTDIR gets console.log
# and tap.log (the scenario's TAP, from the second serial port). Returns 0
# when the guest finished its scenario ("ST-EXIT" on the TAP port) within
# ST_BOOT_TIMEOUT seconds, whatever the scenario's status, and the console
# shows no oops, BUG or panic; prints why otherwise.
st_guest_boot() {
	local kdir=$1 image=$2 payload=$3 out=$4 rc=0
	mkdir -p "$out"
	kt_timer_start guest-run
	timeout --kill-after=10 "$ST_BOOT_TIMEOUT" \
		qemu-system-x86_64 \
		-accel tcg,thread=single -cpu qemu64 -smp "$ST_GUEST_CPUS" -m "$ST_GUEST_MEM" \
		-nographic -no-reboot -monitor none -snapshot \
		-kernel "$kdir/bzImage" -append "$ST_CMDLINE" \
		-drive "file=$image,format=raw,if=virtio,cache=unsafe" \
		-drive "file=$payload,format=raw,if=virtio,readonly=on" \
		-serial "file:$out/console.log" -serial "file:$out/tap.log" \
		</dev/null >"$out/qemu.log" 2>&1 || rc=$?
	kt_timer_stop guest-run
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		st_guest_failed "$out" "timed out after ${ST_BOOT_TIMEOUT}s"
		return 1
	fi
	if [[ $rc -ne 0 ]]; then
		st_guest_failed "$out" "qemu exited with status $rc: $(head -c 500 "$out/qemu.log")"
		return 1
	fi
	if grep -Eq "$ST_CONSOLE_BAD" "$out/console.log"; then
		st_guest_failed "$out" "the console shows a failure:
$(grep -En -m 5 "$ST_CONSOLE_BAD" "$out/console.log")"
		return 1
	fi
	if ! grep -q '^ST-EXIT rc=' "$out/tap.log"; then
		st_guest_failed "$out" "the scenario did not finish (no ST-EXIT line)"
		return 1
	fi
}

# st_guest_failed OUTDIR WHY: says why the guest run failed, with the
# console's last lines, and keeps the reason in OUTDIR/failure so that
# st_guest_failure can say it again after the guest's TAP lines (a log
# viewer that shows a failing test's last lines then shows the cause).
st_guest_failed() {
	printf '%s\n' "$2" >"$1/failure"
	kt_log "guest: $2"
	kt_console_tail "$1/console.log"
}

# st_guest_failure OUTDIR: the reason and the console's last lines again.
st_guest_failure() {
	[[ -f $1/failure ]] || return 0
	kt_log "guest failed, again after its TAP lines: $(cat "$1/failure")"
	KT_CONSOLE_TAIL=${ST_FAILURE_TAIL:-25} kt_console_tail "$1/console.log"
}
