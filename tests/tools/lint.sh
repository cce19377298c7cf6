#!/bin/bash
# tests/tools/lint.sh [--tap]: cppcheck and clang-tidy over the C sources.
# Configuration: .clang-tidy (checks, and why some are off); cppcheck's
# options are below.  Exit status non-zero when either reports anything.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
tap=0
[ "${1:-}" = "--tap" ] && tap=1
srcs=$(ls lib/*.c daemon/*.c client/*.c tests/bench/*.c tests/unit/*.c tests/fuzz/*.c 2>/dev/null)
flags="-std=gnu11 -D_GNU_SOURCE -Ilib -Idaemon -Iclient -Ibuild/gen -Itests/unit -DPO_SRCDIR=\"$top\""
rc=0

report() { # $1 = status (0 ok), $2 = what
	if [ "$tap" -eq 1 ]; then
		if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi
	fi
}

# cppcheck does not read system headers (missingIncludeSystem), so it
# cannot see jansson's json_*_foreach iteration macros (unknownMacro).
out=$(cppcheck -q --enable=warning,performance,portability --std=c11 \
	--error-exitcode=1 --inline-suppr -D_GNU_SOURCE -Ilib -Idaemon -Iclient \
	--suppress=missingIncludeSystem --suppress=unknownMacro $srcs 2>&1)
st=$?
[ -n "$out" ] && { echo "$out"; st=1; }
report $st "cppcheck clean ($(echo "$srcs" | wc -w) files)"
[ $st -eq 0 ] || rc=1

out=$(clang-tidy -quiet $srcs -- $flags $(pkg-config --cflags jansson libsystemd libevent sqlite3 2>/dev/null) 2>&1 |
	grep -v 'warnings generated' | grep -v '^Suppressed' | grep -v 'Use -header-filter' | grep -v '^$')
st=0
echo "$out" | grep -qE '(warning|error):' && st=1
[ $st -eq 0 ] || echo "$out"
report $st "clang-tidy clean"
[ $st -eq 0 ] || rc=1
exit $rc
