#!/bin/sh
# tests/tools/deps.sh build|all: install the Debian 12 packages the build
# (and, with "all", every test tier) needs, if any is missing.
# The one list of what page-ownerd needs from Debian lives here.
set -eu

build="build-essential pkg-config clang libsqlite3-dev libsystemd-dev
	libevent-dev libjansson-dev libxxhash-dev libcmocka-dev xz-utils
	libprotobuf-c-dev protobuf-c-compiler zlib1g-dev"
tests="clang-tidy cppcheck libclang-rt-14-dev time python3 python3-jsonschema
	sqlite3 systemd iproute2 util-linux procps psmisc bc bison flex
	libelf-dev libssl-dev cpio kmod qemu-system-x86 busybox-static
	linux-source-6.12 linux-source-6.1 debhelper devscripts lintian rpm
	debootstrap e2fsprogs dh-dkms man-db wget
	golang-go"
# the Prometheus endpoint's tests: a real Prometheus server, promtool, curl
tests="$tests prometheus curl"

case "${1:-build}" in
build) want=$build ;;
all) want="$build $tests" ;;
*) echo "usage: deps.sh build|all" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "page-ownerd needs these Debian packages:$missing" >&2
	echo "Install them as root: apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends $missing; then
	apt-get update && apt-get install -y --no-install-recommends $missing
fi
