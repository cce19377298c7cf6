#!/bin/bash
#
# tests/system/run.sh: the system tier (make check-system, CI). Installs the
# Debian package on a real Debian 12 system and checks it the way an admin
# would use it:
#   1. builds the .deb from this tree (make deb);
#   2. gets the system kernel (tests/kernel's page_owner kernel plus what
#      systemd needs, tests/system/kernel.config; built once, cached) and
#      builds kmod/leaker.ko against it;
#   3. gets the Debian image (debootstrap from this machine's apt mirror,
#      with the package's dependencies; built once, cached, keyed by its
#      inputs);
#   4. boots it under QEMU (TCG) with systemd as PID 1 and page_owner=on,
#      the image untouched (-snapshot), the .deb, leaker.ko and
#      guest/scenario.sh on a payload disk; the scenario's TAP lines come
#      back on the second serial port and are passed through here.
# SKIP lines say why when a step cannot run (no QEMU, no network for a first
# debootstrap, no kernel source...). Timings go to stderr as "# timing:".
# Knobs: PAGE_OWNERD_CACHE (/var/cache/page-ownerd; this tier uses its
# system/ subdirectory), ST_BOOT_TIMEOUT (1200 s), KT_KEEP=1 (keep the work
# directory: console.log, tap.log), ST_PRUNE=1 (delete stale cached images
# and kernels of this tier).

set -uo pipefail

# shellcheck source=tests/system/lib.sh
. "$(dirname "$0")/lib.sh"

build_dir=${PO_BUILD:-build}
[[ $build_dir == /* ]] || build_dir=$KT_ROOT/$build_dir

kt_workdir
work=$KT_WORK
kt_timer_start total

finish() {
	kt_timer_stop total
	kt_finish
}

# ---- can it run here? ------------------------------------------------------
if reason=$(kt_host_unusable "$ST_SERIES"); then
	kt_skip "system test: Debian guest with systemd and the package" "$reason"
	finish
fi
missing=$(kt_missing_tools debootstrap mkfs.ext4 dpkg-buildpackage dpkg-deb wget tar)
if [[ -n $missing ]]; then
	kt_skip "system test: Debian guest with systemd and the package" \
		"missing host tools: $missing (tests/tools/deps.sh all)"
	finish
fi

# ---- 1. the package ----------------------------------------------------------
kt_timer_start deb
if ! make -s -C "$KT_ROOT" deb B="$build_dir" PKGDIR="$work/packages" >"$work/deb.log" 2>&1; then
	kt_not_ok "make deb"
	tail -n 30 "$work/deb.log" | sed 's/^/#   /' >&2
	finish
fi
kt_timer_stop deb
deb=$(ls "$work"/packages/page-ownerd_*_"$(dpkg --print-architecture)".deb)
kt_ok "make deb: $(basename "$deb")"

# ---- 2. the system kernel and the module -------------------------------------
kt_timer_start kernel
if ! kdir=$(st_kernel_ensure "$work"); then
	kt_not_ok "system kernel (tests/kernel's recipe with tests/system/kernel.config)"
	finish
fi
kt_timer_stop kernel
kt_ok "system kernel: $(awk -F= '$1 == "key" { print $2 }' "$kdir/BUILD-INFO")"
if ! ko=$(kt_module_build "$kdir/build" "$work"); then
	kt_not_ok "leaker.ko builds against the system kernel"
	finish
fi

# ---- 3. the image --------------------------------------------------------------
# shellcheck disable=SC2046,SC2086 # one package name per word
pkgs=$(printf '%s\n' $ST_BASE_PACKAGES $(st_deb_depends "$deb") | LC_ALL=C sort -u | xargs)
key=$(st_image_key "$pkgs")
if [[ ! -f $ST_CACHE/$key/BUILD-INFO ]] && ! st_network_ok; then
	kt_skip "system test: Debian guest with systemd and the package" \
		"no cached image $key and $(st_apt_mirror) cannot be reached for debootstrap"
	finish
fi
kt_timer_start image
if ! idir=$(st_image_ensure "$pkgs"); then
	kt_not_ok "Debian image (debootstrap $(st_suite) from $(st_apt_mirror))"
	finish
fi
kt_timer_stop image
kt_ok "Debian image: ${idir##*/} ($pkgs)"
if [[ ${ST_PRUNE:-0} == 1 ]]; then
	st_cache_prune "${idir##*/}" "${kdir##*/}"
fi

# ---- 4. boot, run the scenario ---------------------------------------------------
st_payload "$work/payload.tar" "$deb" "$ko" "$ST_DIR/guest/scenario.sh" || {
	kt_not_ok "payload disk"
	finish
}
if st_guest_boot "$kdir" "$idir/rootfs.img" "$work/payload.tar" "$work/guest"; then
	booted=1
	kt_ok "guest booted with systemd and ran the scenario to its end"
else
	booted=0
	kt_not_ok "guest booted with systemd and ran the scenario to its end (console above)"
fi
# the guest's TAP lines, counted as ours
tap=$work/guest/tap.log
if [[ -f $tap ]]; then
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"ok - "*"# SKIP"*) printf '%s\n' "$line"; KT_SKIPPED=$((KT_SKIPPED + 1)) ;;
		"ok - "*) printf '%s\n' "$line"; KT_PASSED=$((KT_PASSED + 1)) ;;
		"not ok - "*) printf '%s\n' "$line"; KT_FAILED=$((KT_FAILED + 1)) ;;
		esac
	done <"$tap"
fi
[[ $booted == 1 ]] || st_guest_failure "$work/guest"
if [[ $booted == 1 ]]; then
	rc=$(sed -n 's/^ST-EXIT rc=\([0-9]*\).*/\1/p' "$tap" | tail -n1)
	guest_ok=$(grep -c '^ok - ' "$tap")
	if [[ $rc != 0 || $guest_ok -lt 40 ]]; then
		kt_not_ok "guest scenario: exit status $rc, $guest_ok checks passed (wanted 0 and at least 40)"
		# the scenario's diagnostics blocks first: a tail alone loses them
		if grep -q -- '---- diagnostics' "$work/guest/console.log"; then
			kt_log "the guest's diagnostics:"
			tr -d '\r' <"$work/guest/console.log" |
				grep -A 45 -- '---- diagnostics' | head -n 300 | sed 's/^/#   /' >&2
		fi
		kt_console_tail "$work/guest/console.log"
	fi
fi
finish
