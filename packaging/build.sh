#!/bin/sh
# packaging/build.sh deb|rpm OUTDIR: build the Debian or RPM package of
# this tree into OUTDIR (make deb, make rpm). Works on a copy of the source
# (the files git knows, committed or not, minus what .gitignore ignores;
# everything but build/ and .git/ outside a git checkout) in
# OUTDIR/.work-<kind>/, so the repository gets no debian/ and no artefacts
# and two builds into different OUTDIRs do not meet.
# Nothing is downloaded: the build dependencies must be installed
# (tests/tools/deps.sh all).
set -eu

kind=${1:-}
out=${2:-}
case $kind in
deb|rpm) ;;
*) echo "usage: packaging/build.sh deb|rpm OUTDIR" >&2; exit 2 ;;
esac
[ -n "$out" ] || { echo "packaging/build.sh: no OUTDIR" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n 's/^#define PO_VERSION "\(.*\)"$/\1/p' "$top/lib/po.h")
[ -n "$version" ] || { echo "packaging/build.sh: no PO_VERSION in lib/po.h" >&2; exit 1; }
work=$out/.work-$kind
src=$work/page-ownerd-$version

# the source files, one per line, relative to the top
list_sources() {
	if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$top" ls-files -z --cached --others --exclude-standard |
			tr '\0' '\n' | while IFS= read -r f; do
				# staged or tracked but deleted from the work tree
				[ -f "$top/$f" ] && printf '%s\n' "$f"
			done
	else
		(cd "$top" && find . -path ./build -prune -o -path ./.git -prune -o \
			-type f -print | sed 's|^\./||')
	fi
}

rm -rf "$work"
mkdir -p "$src"
# never the packages themselves, when OUTDIR is inside the tree
case $out/ in
"$top"/*) skip=${out#"$top"/}/ ;;
*) skip= ;;
esac
list_sources | awk -v p="$skip" 'p == "" || index($0, p) != 1' |
	LC_ALL=C sort >"$work/files"
(cd "$top" && tar -cf - --no-recursion -T "$work/files") | tar -xf - -C "$src"

case $kind in
deb)
	cp -r "$src/packaging/debian" "$src/debian"
	chmod +x "$src/debian/rules"
	deb_version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
	if [ "${deb_version%%-*}" != "$version" ]; then
		echo "packaging/build.sh: debian/changelog says $deb_version, lib/po.h says $version" >&2
		exit 1
	fi
	(cd "$src" && dpkg-buildpackage -us -uc -b)
	for f in "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo; do
		[ -e "$f" ] && cp "$f" "$out/"
	done
	ls "$work"/*.deb
	;;
rpm)
	spec_version=$(sed -n 's/^Version:[[:space:]]*//p' "$src/packaging/rpm/page-ownerd.spec")
	if [ "$spec_version" != "$version" ]; then
		echo "packaging/build.sh: the spec says $spec_version, lib/po.h says $version" >&2
		exit 1
	fi
	mkdir -p "$work/rpm/SOURCES"
	tar -C "$work" -czf "$work/rpm/SOURCES/page-ownerd-$version.tar.gz" \
		"page-ownerd-$version"
	# Debian has no RPM build dependencies to check against: --nodeps there
	nodeps=
	[ -e /etc/debian_version ] && nodeps=--nodeps
	rpmbuild --define "_topdir $work/rpm" $nodeps -bb "$src/packaging/rpm/page-ownerd.spec"
	find "$work/rpm/RPMS" -name '*.rpm' -exec cp {} "$out/" \; -print
	;;
esac
