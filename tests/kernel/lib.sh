# shellcheck shell=bash
#
# tests/kernel/lib.sh: everything the kernel-tier scripts share (TAP output,
# timings, the cached page_owner kernel, the leaker module, the initramfs,
# booting QEMU, getting files out of the guest). Scripts source it and keep
# only their own scenario and checks.
#
# Rules this file keeps:
# - Nothing is written inside the repository; work files go under a
#   temporary directory, kernels under the cache (${PAGE_OWNERD_CACHE}).
# - Every wait is bounded (flock -w, timeout).
# - A cached kernel is complete or absent: it is built in a temporary
#   directory and renamed into place.
# - The cache key hashes the functions named in KT_RECIPE (as bash prints
#   them, so comments and log wording do not count), the config fragment,
#   the patches, the source tarball and the toolchain. Change anything that
#   affects the built kernel inside those functions, not elsewhere.

KT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KT_ROOT=$(cd "$KT_DIR/../.." && pwd)
KT_CACHE=${PAGE_OWNERD_CACHE:-/var/cache/page-ownerd}
KT_JOBS=${KT_JOBS:-$(($(nproc) + 1))}	# one more than CPUs: covers I/O waits
KT_BOOT_TIMEOUT=${KT_BOOT_TIMEOUT:-300}	# seconds, whole guest run
KT_BUILD_LOCK_WAIT=${KT_BUILD_LOCK_WAIT:-1800}	# seconds, another build running
KT_FRAGMENT=$KT_DIR/page-ownerd.config
KT_GUEST_MEM=${KT_GUEST_MEM:-1024}	# MiB
KT_GUEST_CPUS=2
KT_DISK_MB=${KT_DISK_MB:-512}

# Kernel series the harness knows: the Debian linux-source-<series> tarball.
# A series "<base>-<name>" (6.12-handles) is the base's source with the
# base's patches and then those of patches/<base>-<name>/ (kt_series_base).
# shellcheck disable=SC2034 # used by run.sh
KT_SERIES_ALL="6.12 6.1 6.12-handles"

# ---------------------------------------------------------------------------
# Output: TAP lines on stdout, diagnostics as '# ' lines on stderr.

KT_FAILED=0
KT_PASSED=0
KT_SKIPPED=0

kt_log() { printf '# %s\n' "$*" >&2; }

kt_die() {
	printf '# fatal: %s\n' "$*" >&2
	exit 1
}

kt_ok() {
	printf 'ok - %s\n' "$*"
	KT_PASSED=$((KT_PASSED + 1))
}

kt_not_ok() {
	printf 'not ok - %s\n' "$*"
	KT_FAILED=$((KT_FAILED + 1))
}

# kt_skip DESCRIPTION REASON
kt_skip() {
	printf 'ok - %s # SKIP %s\n' "$1" "$2"
	KT_SKIPPED=$((KT_SKIPPED + 1))
}

# kt_expect_eq DESCRIPTION EXPECTED ACTUAL
kt_expect_eq() {
	if [[ "$2" == "$3" ]]; then
		kt_ok "$1 ($3)"
	else
		kt_not_ok "$1 (expected '$2', got '$3')"
	fi
}

# kt_expect_gt DESCRIPTION MIN ACTUAL: ACTUAL (an integer) above MIN.
kt_expect_gt() {
	if [[ $3 =~ ^[0-9]+$ ]] && [[ $3 -gt $2 ]]; then
		kt_ok "$1 ($3)"
	else
		kt_not_ok "$1 (expected more than $2, got '$3')"
	fi
}

kt_finish() {
	kt_log "summary: $KT_PASSED passed, $KT_FAILED failed, $KT_SKIPPED skipped"
	[[ $KT_FAILED -eq 0 ]] && exit 0
	exit 1
}

# Timings: kt_timer_start NAME ... kt_timer_stop NAME prints '# timing: NAME N.N s'.
declare -A KT_TIMERS=()

kt_now() { date +%s.%N; }

kt_timer_start() { KT_TIMERS[$1]=$(kt_now); }

kt_timer_stop() {
	local start=${KT_TIMERS[$1]:-} end
	end=$(kt_now)
	[[ -n $start ]] || return 0
	awk -v n="$1" -v s="$start" -v e="$end" \
		'BEGIN { printf "# timing: %s %.1f s\n", n, e - s }' >&2
}

# kt_workdir: sets KT_WORK to a private scratch directory, removed on exit
# unless KT_KEEP=1. Call it directly, not in $(...): the EXIT trap would
# fire when the subshell ends.
kt_workdir() {
	[[ -z ${KT_WORK:-} ]] || return 0
	KT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/page-ownerd-kt.XXXXXX")
	if [[ ${KT_KEEP:-0} == 1 ]]; then
		kt_log "keeping work directory $KT_WORK"
	else
		trap 'rm -rf "$KT_WORK"' EXIT
	fi
}

# ---------------------------------------------------------------------------
# Host requirements: kt_host_unusable prints why the kernel tier cannot run
# here (callers turn it into a SKIP line), or nothing.

kt_missing_tools() {
	local t missing=()
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	printf '%s' "${missing[*]}"
}

kt_host_unusable() {
	local series=${1:-6.12} missing
	missing=$(kt_missing_tools qemu-system-x86_64 make gcc bc bison flex \
		cpio xz flock timeout patch sha256sum)
	if [[ -n $missing ]]; then
		printf 'missing host tools: %s' "$missing"
		return 0
	fi
	if [[ ! -x /bin/busybox ]] || ! /bin/busybox --list >/dev/null 2>&1; then
		printf 'missing /bin/busybox (apt-get install busybox-static)'
		return 0
	fi
	if ldd /bin/busybox >/dev/null 2>&1; then
		printf '/bin/busybox is dynamically linked (need busybox-static)'
		return 0
	fi
	if [[ ! -r $(kt_kernel_tarball "$series") ]]; then
		printf 'missing %s (apt-get install linux-source-%s)' \
			"$(kt_kernel_tarball "$series")" "$series"
		return 0
	fi
	if [[ ! -e /usr/include/libelf.h ]]; then
		printf 'missing libelf headers (apt-get install libelf-dev)'
		return 0
	fi
	if [[ ! -e /usr/include/openssl/ssl.h ]]; then
		printf 'missing openssl headers (apt-get install libssl-dev)'
		return 0
	fi
	if ! mkdir -p "$KT_CACHE" 2>/dev/null || [[ ! -w $KT_CACHE ]]; then
		printf 'cannot write the kernel cache %s (set PAGE_OWNERD_CACHE)' "$KT_CACHE"
		return 0
	fi
	# A build needs about 3 GB while it runs (the tree is deleted after).
	if ! ls "$KT_CACHE/kernel-$(kt_kernel_srcversion "$series")"-*/BUILD-INFO >/dev/null 2>&1 &&
		[[ $(df -Pk "$KT_CACHE" | awk 'NR == 2 { print $4 }') -lt 4000000 ]]; then
		printf 'less than 4 GB free in %s for a kernel build' "$KT_CACHE"
		return 0
	fi
	return 1
}

# ---------------------------------------------------------------------------
# The cached page_owner kernel.
#
# Layout of $KT_CACHE/kernel-<srcversion>-<hash>/:
#   bzImage, System.map, config   the guest kernel
#   build/                        trimmed tree for out-of-tree modules
#                                 (make -C build M=...)
#   page_owner_sort               tools/mm (or tools/vm) from the same source
#   BUILD-INFO                    key inputs, versions, timings
#   build.log.xz                  the full build log

# kt_series_base SERIES: the Debian source series a series is built from.
kt_series_base() { printf '%s' "${1%%-*}"; }

kt_kernel_tarball() { printf '/usr/src/linux-source-%s.tar.xz' "$(kt_series_base "$1")"; }

# Upstream version of the packaged source (6.12.117), from dpkg when it can,
# else from the tarball's Makefile (slower: it decompresses the tarball).
kt_kernel_srcversion() {
	local series=$1 v tarball
	v=$(dpkg-query -W -f '${Version}' "linux-source-$(kt_series_base "$series")" 2>/dev/null || true)
	if [[ -n $v ]]; then
		v=${v#*:}
		printf '%s' "${v%%-*}"
		return 0
	fi
	tarball=$(kt_kernel_tarball "$series")
	tar -xJOf "$tarball" --wildcards '*/Makefile' --no-wildcards-match-slash \
		2>/dev/null | awk '
		/^VERSION =/ { v = $3 } /^PATCHLEVEL =/ { p = $3 }
		/^SUBLEVEL =/ { s = $3; printf "%s.%s.%s", v, p, s; exit }'
}

kt_kernel_patches() {
	local dir base
	base=$(kt_series_base "$1")
	if [[ $base != "$1" ]]; then
		kt_kernel_patches "$base"
	fi
	dir=$KT_DIR/patches/$1
	[[ -d $dir ]] || return 0
	find "$dir" -maxdepth 1 -name '*.patch' -type f | LC_ALL=C sort
}

# The functions whose text is part of the cache key (see the header).
KT_RECIPE="kt_recipe_build kt_recipe_config kt_recipe_trim kt_recipe_selftest"

kt_kernel_hash() {
	local series=$1 tarball p
	tarball=$(kt_kernel_tarball "$series")
	{
		printf 'series %s\n' "$series"
		printf 'tarball %s\n' "$(sha256sum <"$tarball" | cut -d' ' -f1)"
		printf 'cc %s\n' "$(gcc --version | head -n1)"
		printf 'ld %s\n' "$(ld --version | head -n1)"
		printf 'fragment\n'
		cat "$KT_FRAGMENT"
		for p in $(kt_kernel_patches "$series"); do
			printf 'patch %s\n' "${p##*/}"
			cat "$p"
		done
		# shellcheck disable=SC2086
		declare -f $KT_RECIPE
	} | sha256sum | cut -c1-12
}

kt_kernel_key() {
	printf 'kernel-%s-%s' "$(kt_kernel_srcversion "$1")" "$(kt_kernel_hash "$1")"
}

# kt_kernel_clean_tmp: removes the temporary trees of interrupted builds
# (.tmp-<key>.<pid> whose pid is gone), whatever their key.
kt_kernel_clean_tmp() {
	local t pid
	for t in "$KT_CACHE"/.tmp-kernel-*; do
		[[ -d $t ]] || continue
		pid=${t##*.}
		[[ $pid =~ ^[0-9]+$ ]] || continue
		if ! kill -0 "$pid" 2>/dev/null; then
			kt_log "removing $t (its build was interrupted)"
			rm -rf "$t"
		fi
	done
}

# kt_cache_claim CACHE KEY LABEL CLEAN: claims CACHE/KEY, an artefact built
# once and kept (a kernel, an image). Returns 0 when it is complete already
# (perhaps built by another run while this one waited), 1 when the lock
# could not be had, 2 when the caller must build it: then the lock is held
# on fd KT_CLAIM_FD and KT_CLAIM_TMP is an empty directory to build in,
# to be handed to kt_cache_commit or kt_cache_abandon. CLEAN is a command
# that removes the trees of interrupted builds of any key.
kt_cache_claim() {
	local cache=$1 key=$2 label=$3 clean=$4 lock fd
	[[ -f $cache/$key/BUILD-INFO ]] && return 0
	mkdir -p "$cache"
	lock=$cache/.lock-$key
	exec {fd}>"$lock"
	if ! flock -w "$KT_BUILD_LOCK_WAIT" "$fd"; then
		kt_log "$label: gave up waiting ${KT_BUILD_LOCK_WAIT}s for $lock"
		exec {fd}>&-
		return 1
	fi
	if [[ -f $cache/$key/BUILD-INFO ]]; then
		exec {fd}>&-
		return 0
	fi
	# We hold the lock: any temporary tree for this key is a dead build's.
	rm -rf "$cache/.tmp-$key".*
	"$clean"
	KT_CLAIM_FD=$fd
	KT_CLAIM_TMP=$cache/.tmp-$key.$$
	mkdir -p "$KT_CLAIM_TMP"
	return 2
}

# kt_cache_abandon: a failed build; drops KT_CLAIM_TMP and the lock.
kt_cache_abandon() {
	rm -rf "$KT_CLAIM_TMP"
	exec {KT_CLAIM_FD}>&-
}

# kt_cache_commit DIR LABEL: the build in KT_CLAIM_TMP (with its BUILD-INFO)
# becomes DIR; releases the lock and prints DIR.
kt_cache_commit() {
	local dir=$1 label=$2
	if ! mv -T "$KT_CLAIM_TMP" "$dir"; then
		kt_cache_abandon
		return 1
	fi
	exec {KT_CLAIM_FD}>&-
	kt_log "$label: cached $dir"
	printf '%s\n' "$dir"
}

# kt_kernel_ensure SERIES: prints the cache directory of a complete kernel,
# building it first when needed (one build at a time per key).
kt_kernel_ensure() {
	local series=$1 key dir tmp rc=0
	key=$(kt_kernel_key "$series")
	dir=$KT_CACHE/$key
	kt_cache_claim "$KT_CACHE" "$key" "kernel $series" kt_kernel_clean_tmp || rc=$?
	if [[ $rc -eq 0 ]]; then
		kt_log "kernel $series: cached $dir"
		printf '%s\n' "$dir"
		return 0
	fi
	[[ $rc -eq 2 ]] || return 1
	tmp=$KT_CLAIM_TMP
	kt_log "kernel $series: building $key (log: $tmp/build.log)"
	kt_timer_start "kernel-build-$series"
	# A fresh bash: set -e would be ignored in a subshell of a caller that
	# tests our status (kt_kernel_ensure ... || ...).
	rc=0
	KT_JOBS=$KT_JOBS bash -c 'set -euo pipefail; source "$1"; kt_recipe_build "$2" "$3"
		times >"$3/cpu-times"' \
		kt-recipe "$KT_DIR/lib.sh" "$series" "$tmp" >"$tmp/build.log" 2>&1 || rc=$?
	if [[ $rc -ne 0 ]]; then
		kt_log "kernel $series: build failed (rc=$rc), last lines of the log:"
		tail -n 40 "$tmp/build.log" | sed 's/^/#   /' >&2
		kt_cache_abandon
		return 1
	fi
	kt_timer_stop "kernel-build-$series"
	xz -T1 -6 "$tmp/build.log"
	{
		printf 'key=%s\n' "$key"
		printf 'series=%s\n' "$series"
		printf 'srcversion=%s\n' "$(kt_kernel_srcversion "$series")"
		printf 'release=%s\n' "$(cat "$tmp/build/include/config/kernel.release")"
		printf 'built=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		printf 'seconds=%s\n' "$(awk -v s="${KT_TIMERS[kernel-build-$series]}" \
			-v e="$(kt_now)" 'BEGIN { printf "%d", e - s }')"
		# CPU time of the build's processes (user + system): the wall time
		# above depends on whatever else the machine was doing.
		printf 'cpu_seconds=%s\n' "$(awk 'NR == 2 {
			split($1, u, /[ms]/); split($2, s, /[ms]/)
			printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$tmp/cpu-times")"
		printf 'jobs=%s\n' "$KT_JOBS"
		printf 'cc=%s\n' "$(gcc --version | head -n1)"
		printf 'patches=%s\n' "$(kt_kernel_patches "$series" | sed "s|^$KT_DIR/patches/||" | tr '\n' ' ')"
	} >"$tmp/BUILD-INFO"
	rm -f "$tmp/cpu-times"
	kt_cache_commit "$dir" "kernel $series"
}

# --- recipe: everything below until the next banner is part of the key ---

# kt_recipe_build SERIES OUT: unpack, patch, configure, build, keep the
# results in OUT and delete the source tree. Runs under set -euo pipefail.
kt_recipe_build() {
	local series=$1 out=$2 src=$2/src p tool
	mkdir -p "$src"
	tar -xJf "$(kt_kernel_tarball "$series")" -C "$src" --strip-components=1
	for p in $(kt_kernel_patches "$series"); do
		echo "applying ${p##*/}"
		patch -d "$src" -p1 --forward --batch <"$p"
	done
	kt_recipe_config "$src"
	make -C "$src" -j"$KT_JOBS" all
	cp "$src/arch/x86/boot/bzImage" "$src/System.map" "$out/"
	cp "$src/.config" "$out/config"
	# page_owner_sort moved from tools/vm to tools/mm in 6.3.
	tool=$src/tools/mm/page_owner_sort.c
	[[ -f $tool ]] || tool=$src/tools/vm/page_owner_sort.c
	gcc -O2 -Wall -o "$out/page_owner_sort" "$tool"
	kt_recipe_trim "$src" "$out/build"
	kt_recipe_selftest "$out/build"
	rm -rf "$src"
}

# kt_recipe_config SRC: x86_64_defconfig + kvm_guest.config + our fragment,
# merged as text and resolved by one olddefconfig (merging after a full
# `make x86_64_defconfig` would keep every symbol the defconfig's drivers
# selected, e.g. the crypto that mac80211 wants), then check that every
# option of the fragment survived.
kt_recipe_config() {
	local src=$1 line opt val bad=0
	# shellcheck disable=SC2164 # runs under set -e
	(
		cd "$src"
		scripts/kconfig/merge_config.sh -m arch/x86/configs/x86_64_defconfig \
			kernel/configs/kvm_guest.config "$KT_FRAGMENT"
	)
	make -C "$src" olddefconfig
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			opt=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
			grep -qxF "$opt=$val" "$src/.config" || {
				echo "config: wanted $opt=$val, got: $(grep "^$opt=" "$src/.config" || echo unset)"
				bad=1
			}
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			opt=${BASH_REMATCH[1]}
			if grep -q "^$opt=" "$src/.config"; then
				echo "config: wanted $opt unset, got: $(grep "^$opt=" "$src/.config")"
				bad=1
			fi
		fi
	done <"$KT_FRAGMENT"
	[[ $bad -eq 0 ]]
}

# kt_recipe_trim SRC DEST: the files an out-of-tree module build reads
# (Makefiles, headers, built scripts/ and objtool, the generated config and
# Module.symvers), the way distributions package linux-headers.
kt_recipe_trim() {
	local src=$1 dest=$2
	mkdir -p "$dest"
	# shellcheck disable=SC2164 # runs under set -e
	(
		cd "$src"
		{
			echo Makefile
			echo .config
			echo Module.symvers
			find arch/x86 -maxdepth 1 -name 'Makefile*' -type f
			find arch/x86 -path '*/include/*' \( -type f -o -type l \)
			find include \( -type f -o -type l \)
			find scripts \( -type f -o -type l \) ! -name '*.o' ! -name '.*.cmd'
			if [[ -e tools/objtool/objtool ]]; then
				echo tools/objtool/objtool
			fi
		} | LC_ALL=C sort -u | tar -cf - --no-recursion -T - | tar -xf - -C "$dest"
	)
}

# kt_recipe_selftest KDIR: the trimmed tree builds and links a module.
kt_recipe_selftest() {
	local kdir=$1 t
	t=$(mktemp -d)
	cat >"$t/selftest.c" <<-'EOF'
		#include <linux/module.h>
		#include <linux/gfp.h>
		static int __init selftest_init(void)
		{
			__free_pages(alloc_pages(GFP_KERNEL, 0), 0);
			return 0;
		}
		module_init(selftest_init);
		MODULE_LICENSE("GPL");
	EOF
	echo 'obj-m := selftest.o' >"$t/Kbuild"
	make -C "$kdir" M="$t" modules
	test -s "$t/selftest.ko"
	rm -rf "$t"
}

# --- end of recipe ---

# ---------------------------------------------------------------------------
# The leaker module, built from a copy of kmod/ so the repository stays clean.

# kt_module_build KDIR OUTDIR: prints the path of leaker.ko.
kt_module_build() {
	local kdir=$1 out=$2/kmod
	rm -rf "$out"
	mkdir -p "$out"
	cp "$KT_ROOT/kmod/leaker.c" "$KT_ROOT/kmod/Kbuild" "$KT_ROOT/kmod/Makefile" "$out/"
	if ! make -C "$out" KDIR="$kdir" >"$out/build.log" 2>&1; then
		kt_log "module build failed:"
		sed 's/^/#   /' "$out/build.log" >&2
		return 1
	fi
	if grep -q 'warning:' "$out/build.log"; then
		kt_log "module build warnings:"
		grep -A3 'warning:' "$out/build.log" | sed 's/^/#   /' >&2
	fi
	printf '%s\n' "$out/leaker.ko"
}

# ---------------------------------------------------------------------------
# The initramfs: busybox-static, guest/init as /init, guest/*.sh under /kt/,
# the module, an env file, and any extra host binaries (with the shared
# libraries ldd lists and the dynamic loader) under /opt/page-ownerd/bin/.

# kt_copy_with_libs BINARY ROOT: copies BINARY to ROOT/opt/page-ownerd/bin and
# its libraries to the same paths under ROOT.
kt_copy_with_libs() {
	local bin=$1 root=$2 lib
	mkdir -p "$root/opt/page-ownerd/bin"
	cp -L "$bin" "$root/opt/page-ownerd/bin/" || return 1
	# "libx.so => /lib/.../libx.so (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
	for lib in $(ldd "$bin" 2>/dev/null | awk '
		$2 == "=>" && $3 ~ /^\// { print $3 }
		$1 ~ /^\// { print $1 }'); do
		[[ -e $root$lib ]] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib" || return 1
	done
}

# kt_initramfs_build OUT MODULE SCENARIO ENVFILE [BINARY...]
kt_initramfs_build() {
	local out=$1 module=$2 scenario=$3 envfile=$4 root applet bin
	shift 4
	root=$(mktemp -d "${out%/*}/initramfs.XXXXXX")
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,kt,root,etc}
	cp /bin/busybox "$root/bin/busybox"
	for applet in $(/bin/busybox --list-full); do
		[[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
	done
	cp "$KT_DIR/guest/init" "$root/init"
	cp "$KT_DIR/guest/lib.sh" "$KT_DIR/guest/churn.sh" "$root/kt/"
	cp "$scenario" "$root/kt/scenario.sh"
	cp "$envfile" "$root/kt/env"
	cp "$module" "$root/kt/leaker.ko"
	chmod 755 "$root/init" "$root/kt/"*.sh
	for bin in "$@"; do
		kt_copy_with_libs "$bin" "$root" || {
			kt_log "initramfs: cannot copy $bin and its libraries"
			return 1
		}
	done
	# The kernel opens /dev/console for init before anything is mounted.
	mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out" || return 1
	rm -rf "$root"
}

# ---------------------------------------------------------------------------
# Booting the guest.

# panic_on_warn and softlockup_panic end a broken run at once (the console
# check would fail it anyway); nokaslr keeps module addresses stable.
KT_CMDLINE="console=ttyS0 page_owner=on panic=-1 oops=panic panic_on_warn=1 \
softlockup_panic=1 nokaslr"

# Console lines that fail a run whatever the scenario says.
KT_CONSOLE_BAD='Oops|BUG:|Kernel panic|WARNING:|general protection fault|Call Trace:|KT-FAIL'

# kt_guest_boot KERNELDIR INITRAMFS OUTDIR [FILESDIR]: boots, waits at most
# KT_BOOT_TIMEOUT seconds, then checks the console and extracts the disk
# into FILESDIR (default OUTDIR/files). Returns 0 only when the guest ran its
# scenario to the end with status 0 and the console shows no oops, BUG,
# panic or warning. OUTDIR keeps console.log.
kt_guest_boot() {
	local kdir=$1 initramfs=$2 out=$3 files=${4:-$3/files} rc=0 console
	console=$out/console.log
	mkdir -p "$out"
	rm -f "$out/disk.img"
	truncate -s "${KT_DISK_MB}M" "$out/disk.img"
	kt_timer_start "boot-${KT_BOOT_NAME:-guest}"
	timeout --kill-after=10 "$KT_BOOT_TIMEOUT" \
		qemu-system-x86_64 \
		-accel tcg,thread=single -cpu qemu64 -smp "$KT_GUEST_CPUS" -m "$KT_GUEST_MEM" \
		-nographic -no-reboot -monitor none \
		-kernel "$kdir/bzImage" -initrd "$initramfs" \
		-append "$KT_CMDLINE" \
		-drive "file=$out/disk.img,format=raw,if=virtio,cache=unsafe" \
		</dev/null >"$console" 2>&1 || rc=$?
	kt_timer_stop "boot-${KT_BOOT_NAME:-guest}"
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		kt_log "guest ${KT_BOOT_NAME:-}: timed out after ${KT_BOOT_TIMEOUT}s"
		kt_console_tail "$console"
		return 1
	fi
	if [[ $rc -ne 0 ]]; then
		kt_log "guest ${KT_BOOT_NAME:-}: qemu exited with status $rc"
		kt_console_tail "$console"
		return 1
	fi
	if grep -Eq "$KT_CONSOLE_BAD" "$console"; then
		kt_log "guest ${KT_BOOT_NAME:-}: the console shows a failure:"
		grep -En -m 5 "$KT_CONSOLE_BAD" "$console" | sed 's/^/#   /' >&2
		kt_console_tail "$console"
		return 1
	fi
	if ! grep -q '^KT-EXIT rc=0' "$console"; then
		kt_log "guest ${KT_BOOT_NAME:-}: the scenario did not finish with status 0"
		kt_console_tail "$console"
		return 1
	fi
	kt_disk_extract "$out/disk.img" "$files" || return 1
	rm -f "$out/disk.img"
}

kt_console_tail() {
	kt_log "last lines of $1:"
	tail -n "${KT_CONSOLE_TAIL:-60}" "$1" | tr -d '\r' | sed 's/^/#   /' >&2
}

# kt_disk_extract DISK DIR: the files kt_store wrote (see guest/lib.sh).
kt_disk_extract() {
	local disk=$1 dir=$2 name slot size n=0
	mkdir -p "$dir"
	if [[ $(head -c 10 "$disk") != "KT-INDEX 1" ]]; then
		kt_log "disk: no index in $disk"
		return 1
	fi
	while read -r name slot size; do
		dd if="$disk" of="$dir/$name" bs=1M skip="$slot" \
			count=$(((size + 1048575) / 1048576)) status=none
		truncate -s "$size" "$dir/$name"
		n=$((n + 1))
	done < <(head -c 1048576 "$disk" | tr -d '\0' | tail -n +2)
	kt_log "disk: extracted $n files into $dir"
}

# kt_guest_env SERIES KERNELDIR: the /kt/env settings for this kernel.
kt_guest_env() {
	local series=$1 kdir=$2
	printf 'KT_SERIES=%s\n' "$series"
	printf 'KT_NONROOT_MEMCG=%s\n' "$(kt_nonroot_memcg_safe "$series" "$kdir" && echo 1 || echo 0)"
	printf 'KT_CHURN_SECONDS=%s\n' "${KT_CHURN_SECONDS:-5}"
}

# Whether reading page_owner is safe while pages are charged to a non-root
# memory cgroup (see patches/6.12/): 6.1 decodes memcg_data correctly
# (page_memcg_check()); 6.12 only with our patch applied.
kt_nonroot_memcg_safe() {
	local series=$1 kdir=$2
	case $series in
	6.1) return 0 ;;
	6.12 | 6.12-*) grep -q '^patches=.*page_owner-memcg' "$kdir/BUILD-INFO" ;;
	*) return 1 ;;
	esac
}

# kt_scenario_prepare SERIES SCENARIO OUTDIR [BINARY...]: the kernel
# (cached), the module and the initramfs for one guest run in OUTDIR, which
# then holds "kdir" (the kernel directory used) and env. Sets KT_KDIR.
kt_scenario_prepare() {
	local series=$1 scenario=$2 out=$3 ko
	shift 3
	mkdir -p "$out"
	# KT_KERNEL_DIR: use that kernel directory (same layout as the cache)
	# instead of the cached build, e.g. to try a kernel built by hand.
	if [[ -n ${KT_KERNEL_DIR:-} ]]; then
		KT_KDIR=$KT_KERNEL_DIR
	else
		KT_KDIR=$(kt_kernel_ensure "$series") || return 1
	fi
	printf '%s\n' "$KT_KDIR" >"$out/kdir"
	kt_timer_start "module-build-$series"
	ko=$(kt_module_build "$KT_KDIR/build" "$out") || return 1
	kt_timer_stop "module-build-$series"
	kt_guest_env "$series" "$KT_KDIR" >"$out/env"
	kt_timer_start "initramfs-$series"
	kt_initramfs_build "$out/initramfs.cpio" "$ko" "$scenario" "$out/env" "$@" || return 1
	kt_timer_stop "initramfs-$series"
}

# kt_scenario_boot SERIES OUTDIR: boots what kt_scenario_prepare made; the
# guest's files land in OUTDIR/guest/capture-SERIES/. Sets KT_KDIR and
# KT_FILES. Several may run at once (one host CPU each: TCG is
# single-threaded).
kt_scenario_boot() {
	local series=$1 out=$2
	KT_KDIR=$(cat "$out/kdir")
	# shellcheck disable=SC2034 # for the caller
	KT_FILES=$out/guest/capture-$series
	KT_BOOT_NAME=$series kt_guest_boot "$KT_KDIR" "$out/initramfs.cpio" "$out/guest" \
		"$KT_FILES"
}

# kt_run_scenario SERIES SCENARIO OUTDIR [BINARY...]: both of the above.
kt_run_scenario() {
	kt_scenario_prepare "$@" && kt_scenario_boot "$1" "$3"
}

# ---------------------------------------------------------------------------
# Reading snapshots: a directory of NNN-label.{page_owner,show_stacks,status,
# meta} files, plain (fresh from a guest) or .xz (a recorded capture).

# kt_snapshots DIR: the NNN-label names, in order.
kt_snapshots() {
	local f
	for f in "$1"/[0-9][0-9][0-9]-*.page_owner "$1"/[0-9][0-9][0-9]-*.page_owner.xz; do
		[[ -e $f ]] || continue
		f=${f##*/}
		printf '%s\n' "${f%%.page_owner*}"
	done | LC_ALL=C sort -u
}

# kt_cat DIR/NAME: the file's text, from NAME or NAME.xz.
kt_cat() {
	if [[ -f $1 ]]; then
		cat "$1"
	elif [[ -f $1.xz ]]; then
		xz -dc "$1.xz"
	else
		return 1
	fi
}

kt_has() { [[ -f $1 || -f $1.xz ]]; }

# kt_kv FILE KEY: the value of "KEY VALUE" or "KEY=VALUE" in FILE[.xz].
kt_kv() {
	kt_cat "$1" | awk -v k="$2" '
		$1 == k { print $2; exit }
		index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }'
}

# kt_po_count FILE PATTERN: po-count.awk output for FILE[.xz].
kt_po_count() {
	kt_cat "$1" | awk -v pat="$2" -f "$KT_DIR/po-count.awk"
}

# kt_find_sort RELEASE: the cached page_owner_sort built from that kernel
# release (from a .meta kernel= line), else the newest cached one.
kt_find_sort() {
	local release=$1 info newest=
	# shellcheck disable=SC2045 # our own paths, newest first
	for info in $(ls -t "$KT_CACHE"/kernel-*/BUILD-INFO 2>/dev/null); do
		[[ -x ${info%/*}/page_owner_sort ]] || continue
		[[ -n $newest ]] || newest=${info%/*}/page_owner_sort
		if grep -qxF "release=$release" "$info"; then
			printf '%s\n' "${info%/*}/page_owner_sort"
			return 0
		fi
	done
	[[ -n $newest ]] || return 1
	printf '%s\n' "$newest"
}

# ---------------------------------------------------------------------------
# Checks on the leak scenario's snapshots (guest/scenario-leak.sh), shared by
# run.sh and capture.sh (which refuses to record a capture that fails them).

# Pages the module must hold at each step; steady is 7000 + what the steady
# work leaked (read from the status).
declare -A KT_EXPECT_PAGES=(
	[baseline]=0 [leak2000]=2000 [churn]=2000 [leak7000]=7000
	[compacted]=7000 [freed]=0 [reloaded]=64
)

KT_PAT_LEAK='^ leaker_leak_pages\+'
KT_PAT_WRITE='^ leaker_leak_write\+'
KT_PAT_STEADY='^ leaker_steady_fn\+'

# kt_handles_pages BASE PATTERN: the nr_base_pages that BASE.show_handles
# gives the handles whose frames in BASE.show_stacks_handles match
# PATTERN (joined on the handle as printed).
kt_handles_pages() {
	{
		kt_cat "$1.show_stacks_handles"
		echo "--"
		kt_cat "$1.show_handles"
	} | awk -v pat="$2" '
		$0 == "--" { second = 1; next }
		!second && /^ / && $0 ~ pat { hit = 1 }
		!second && /^handle: / { if (hit) want[$2] = 1; hit = 0 }
		second && /^handle: / { h = $2 }
		second && /^nr_base_pages: / { if (h in want) n += $2 }
		END { print n + 0 }'
}

# kt_records_end_blank FILE: "ok" when every record of a page_owner_stacks
# file ends with exactly one blank line (6.19 prints it with seq_putc
# after the selected lines), else where it does not.
kt_records_end_blank() {
	kt_cat "$1" | awk '
		/^$/ { if (prev == "" && NR > 1) { print "two blank lines at line " NR; bad = 1; exit }
		       if (NR == 1) { print "blank first line"; bad = 1; exit } }
		{ prev = $0 }
		END { if (!bad) print (prev == "" || NR == 0) ? "ok" : "no blank line at the end" }'
}

# kt_check_snapshots DIR ENVFILE: TAP lines for every snapshot in DIR.
kt_check_snapshots() {
	local dir=$1 envfile=$2 snap label base want pages blocks gen_b gen_a
	local po ss write steady nonroot seen=0 stacks_seen=0 n tag name
	tag=${dir%/}
	tag=${tag##*/}
	nonroot=$(awk -F= '$1 == "KT_NONROOT_MEMCG" { print $2 }' "$envfile")
	kt_expect_eq "$tag: guest runs on $KT_GUEST_CPUS CPUs" "$KT_GUEST_CPUS" \
		"$(kt_kv "$dir/000-baseline.meta" cpus || true)"
	for name in $(kt_snapshots "$dir"); do
		seen=$((seen + 1))
		label=${name#*-}
		base=$dir/$name
		snap=$tag/$name
		pages=$(kt_kv "$base.status" after.pages || true)
		blocks=$(kt_kv "$base.status" after.blocks || true)
		gen_b=$(kt_kv "$base.status" before.generation || true)
		gen_a=$(kt_kv "$base.status" after.generation || true)
		if [[ -z $pages ]]; then
			kt_not_ok "$snap: leaker status recorded"
			continue
		fi
		kt_expect_eq "$snap: leaker unchanged during the dump (generation)" "$gen_b" "$gen_a"

		want=${KT_EXPECT_PAGES[$label]:-}
		if [[ $label == steady ]]; then
			# 8 pages per run; the concurrent writers net out to zero.
			n=$(kt_kv "$base.status" after.steady_runs)
			want=$((7000 + 8 * n))
			kt_expect_gt "$snap: times the steady work ran" 0 "$n"
		fi
		kt_expect_eq "$snap: status adds up (load + write + steady)" "$pages" \
			"$(kt_cat "$base.status" | awk '$1 ~ /^after\.pages_(load|write|steady)$/ { s += $2 }
				END { print s + 0 }')"
		kt_expect_eq "$snap: status adds up (leaked - freed)" "$pages" \
			"$(kt_cat "$base.status" | awk '$1 == "after.leaked_pages_total" { s += $2 }
				$1 == "after.freed_pages_total" { s -= $2 } END { print s + 0 }')"
		if [[ -n $want ]]; then
			kt_expect_eq "$snap: module holds the pages it was told to" "$want" "$pages"
		fi
		if [[ $label == reloaded ]]; then
			kt_expect_eq "$snap: leak_on_load=16 leak_order=2 holds 16 blocks" 16 "$blocks"
		else
			kt_expect_eq "$snap: order-0 leaks: blocks == pages" "$pages" "$blocks"
		fi

		po=$(kt_po_count "$base.page_owner" "$KT_PAT_LEAK")
		kt_expect_eq "$snap: page_owner records all well-formed" 0 \
			"$(awk '$1 == "malformed" { print $2 }' <<<"$po")"
		kt_expect_eq "$snap: page_owner pages under leaker_leak_pages" "$pages" \
			"$(awk '$1 == "match_pages" { print $2 }' <<<"$po")"
		write=$(kt_po_count "$base.page_owner" "$KT_PAT_WRITE" | awk '$1 == "match_pages" { print $2 }')
		kt_expect_eq "$snap: page_owner pages via leaker_leak_write" \
			"$(kt_kv "$base.status" after.pages_write)" "$write"
		steady=$(kt_po_count "$base.page_owner" "$KT_PAT_STEADY" | awk '$1 == "match_pages" { print $2 }')
		kt_expect_eq "$snap: page_owner pages via leaker_steady_fn" \
			"$(kt_kv "$base.status" after.pages_steady)" "$steady"

		if kt_has "$base.show_stacks"; then
			stacks_seen=1
			ss=$(kt_po_count "$base.show_stacks" "$KT_PAT_LEAK")
			kt_expect_eq "$snap: show_stacks nr_base_pages under leaker_leak_pages" "$pages" \
				"$(awk '$1 == "match_pages" { print $2 }' <<<"$ss")"
		fi
		if kt_has "$base.show_handles"; then
			kt_expect_eq "$snap: show_handles nr_base_pages of the handles show_stacks_handles gives leaker_leak_pages" \
				"$pages" "$(kt_handles_pages "$base" "$KT_PAT_LEAK")"
			kt_expect_eq "$snap: every show_handles record ends with one blank line, as show_stacks_handles' do" \
				"ok ok" "$(kt_records_end_blank "$base.show_handles") $(kt_records_end_blank "$base.show_stacks_handles")"
		fi

		case $label in
		compacted)
			kt_expect_gt "$snap: records migrated by compaction" 0 \
				"$(awk '$1 == "migrated_compaction" { print $2 }' <<<"$po")"
			# (sed, not head: with pipefail an early exit fails the pipe)
			if [[ $(kt_cat "$base.page_owner" | sed -n 1p) == *free_ts* ]]; then
				kt_expect_gt "$snap: records with ts == free_ts (migrated)" 0 \
					"$(awk '$1 == "ts_eq_free_ts" { print $2 }' <<<"$po")"
			fi
			;;
		leak7000)
			if [[ $nonroot == 1 ]]; then
				kt_expect_eq "$snap: accounted leak charged to memcg leakers (via objcg)" 1000 \
					"$(awk '$1 == "match_memcg.objcg:leakers" { print $2 }' <<<"$po")"
				kt_expect_gt "$snap: records charged to memcg churn" 0 \
					"$(kt_cat "$base.page_owner" | grep -c '^Charged to memcg churn$' || true)"
			fi
			;;
		reloaded)
			# leaker_init is init text, freed after load: a raw address.
			n=$(kt_cat "$base.page_owner" | awk '
				BEGIN { RS = ""; FS = "\n" }
				{ for (i = 1; i < NF; i++)
					if ($i ~ /^ leaker_leak_pages\+/ && $(i + 1) ~ /^ 0x[0-9a-f]+$/) { n++; break } }
				END { print n + 0 }')
			kt_expect_eq "$snap: leak_on_load stacks show the freed init frame as an address" 16 "$n"
			;;
		esac
	done
	kt_expect_eq "$tag: snapshots present" 8 "$seen"
	if [[ $stacks_seen == 0 ]]; then
		kt_skip "$tag: show_stacks agrees with page_owner" "no page_owner_stacks/show_stacks on $(kt_kv "$dir/000-baseline.meta" kernel) (6.9+)"
	fi
	if kt_has "$dir/dmesg.txt"; then
		kt_expect_eq "$tag: unload freed everything the module held (dmesg)" 1 \
			"$(kt_cat "$dir/dmesg.txt" | grep -c 'leaker: unloaded: freed 16 blocks (64 pages)' || true)"
	else
		kt_not_ok "$tag: dmesg.txt stored"
	fi
}
