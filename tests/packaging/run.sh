#!/bin/bash
# tests/packaging/run.sh: the packaging tier (make check-packaging; `make
# check` with TIERS naming "packaging"). Checks what an admin installs:
#   - the units: systemd-analyze verify (ExecStart pointing at the built
#     daemon), the offline security exposure (<= 2.0), the settings the
#     issue asks for, the socket's path/mode/group agreeing with the daemon;
#   - the manual pages against the programs: every pageownerctl command and
#     every long option of each (from `pageownerctl help COMMAND`) in
#     pageownerctl(1), every daemon flag in page-ownerd(8), every config key
#     of daemon/config.c in page-ownerd.conf(5) and etc/page-ownerd.conf;
#     the pages render without warnings;
#   - etc/page-ownerd.conf: uncommented, it parses and changes no default
#     (built against daemon/config.c), and the daemon runs with it;
#   - make install DESTDIR=... for PREFIX=/usr and /usr/local: the exact
#     file list, paths in the installed unit, no overwritten configuration;
#   - the Grafana dashboard: valid JSON, only metrics the export writes;
#   - the Debian packages (dpkg-buildpackage via make deb) and lintian (no
#     errors, no warnings), their contents and maintainer scripts;
#   - the RPM (rpmbuild via make rpm), its contents and scriptlets.
# TAP on stdout. The two package builds run in the background while the
# quick checks run (about 3 minutes in all on 2 CPUs).
set -u
PO_SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
: "${PO_BUILD:=$PO_SRCDIR/build}"
case $PO_BUILD in /*) ;; *) PO_BUILD=$PO_SRCDIR/$PO_BUILD ;; esac
export PO_SRCDIR PO_BUILD
# shellcheck source=tests/integration/lib.bash
. "$PO_SRCDIR/tests/integration/lib.bash"
top=$PO_SRCDIR
cd "$top" || exit 1
version=$(sed -n 's/^#define PO_VERSION "\(.*\)"$/\1/p' lib/po.h)

have() { command -v "$1" >/dev/null 2>&1; }

# roff to plain text for matching: \- to -, no font escapes.
unroff() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(em/--/g' -e 's/\\e/\\/g' "$1"; }

# ---- start the package builds ------------------------------------------------
pkgout=$T/packages
mkdir -p "$pkgout"
deb_pid="" rpm_pid=""
if have dpkg-buildpackage && have dh; then
	make -s deb B="$PO_BUILD" PKGDIR="$pkgout/deb" >"$T/deb.log" 2>&1 &
	deb_pid=$!
fi
if have rpmbuild; then
	make -s rpm B="$PO_BUILD" PKGDIR="$pkgout/rpm" >"$T/rpm.log" 2>&1 &
	rpm_pid=$!
fi
at_exit "kill $deb_pid $rpm_pid 2>/dev/null"

# ---- versions ----------------------------------------------------------------
check "version $version in lib/po.h" test -n "$version"
for m in man/page-ownerd.8 man/pageownerctl.1 man/page-ownerd.conf.5; do
	check "$m names version $version" grep -q "^\.TH .*\"page\\\\-ownerd $version\"" "$m"
done
check "debian/changelog is at $version" \
	test "$(dpkg-parsechangelog -l packaging/debian/changelog -S Version 2>/dev/null)" = "$version"
check "the RPM spec is at $version" grep -qx "Version:[[:space:]]*$version" packaging/rpm/page-ownerd.spec

# ---- units -------------------------------------------------------------------
svc=systemd/page-ownerd.service sock=systemd/page-ownerd.socket
if ! have systemd-analyze; then
	skip "systemd-analyze verify and security" "no systemd-analyze (apt-get install systemd)"
elif [ ! -x "$DAEMON" ]; then
	not_ok "units: $DAEMON is built"
else
	mkdir -p "$T/units"
	sed "s|^ExecStart=/usr/sbin/page-ownerd|ExecStart=$DAEMON|" "$svc" >"$T/units/page-ownerd.service"
	cp "$sock" systemd/page-ownerd-metrics.socket "$T/units/"
	out=$(cd "$T/units" && systemd-analyze verify --man=no ./page-ownerd.socket \
		./page-ownerd-metrics.socket ./page-ownerd.service 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		ok "systemd-analyze verify: the three units clean"
	else
		not_ok "systemd-analyze verify (rc $rc): $out"
	fi
	# a broken unit must fail the same check (the check can fail)
	sed 's/^Type=notify/Type=notifyy/' "$T/units/page-ownerd.service" >"$T/units/broken.service"
	out=$(cd "$T/units" && systemd-analyze verify --man=no ./broken.service 2>&1)
	check "systemd-analyze verify notices a bad Type=" test -n "$out"

	out=$(cd "$T/units" && systemd-analyze security --offline=true ./page-ownerd.service 2>&1)
	score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for page-ownerd.service: \([0-9.]*\).*/\1/p')
	if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
		ok "systemd-analyze security --offline: exposure $score (<= 2.0)"
	else
		not_ok "systemd-analyze security --offline: exposure '$score' (want <= 2.0)"
		printf '%s\n' "$out" | grep '✗' | sed 's/^/#   /'
	fi
fi

# the pprof export timer and its service: clean, shipped disabled, locked down
if have systemd-analyze && [ -x "$CTL" ]; then
	mkdir -p "$T/units"
	sed "s|/usr/bin/pageownerctl|$CTL|g" systemd/page-ownerd-export.service \
		>"$T/units/page-ownerd-export.service"
	cp systemd/page-ownerd-export.timer "$T/units/"
	out=$(cd "$T/units" && systemd-analyze verify --man=no ./page-ownerd-export.timer \
		./page-ownerd-export.service 2>&1)
	rc=$?
	check "systemd-analyze verify: the export timer and service clean (rc $rc) $out" \
		test $rc -eq 0 -a -z "$out"
	out=$(cd "$T/units" && systemd-analyze security --offline=true ./page-ownerd-export.service 2>&1)
	score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for page-ownerd-export.service: \([0-9.]*\).*/\1/p')
	check "systemd-analyze security --offline: export service exposure '$score' (<= 2.0)" \
		awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'
	check "the export service reads its URL from /etc/page-ownerd/export.env" \
		grep -qx 'EnvironmentFile=-/etc/page-ownerd/export.env' systemd/page-ownerd-export.service
	check "etc/export.env pushes nowhere until it is edited" grep -qx 'PPROF_PUSH_URL=' etc/export.env
	check "the Debian package neither enables nor starts the export timer" \
		grep -q 'dh_installsystemd.*--no-enable --no-start page-ownerd-export.timer' packaging/debian/rules
fi

# the settings the issue asks for, and those debugfs forbids
for want in Type=notify WatchdogSec= StateDirectory=page-ownerd RuntimeDirectory=page-ownerd \
	Nice= CPUSchedulingPolicy=batch IOSchedulingClass= Restart=on-failure \
	StartLimitIntervalSec= StartLimitBurst= ProtectSystem=strict PrivateNetwork=yes \
	RestrictAddressFamilies=AF_UNIX SystemCallFilter=@system-service NoNewPrivileges=yes \
	MemoryDenyWriteExecute=yes CapabilityBoundingSet= ProtectHome=yes PrivateTmp=yes \
	ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes \
	LockPersonality=yes RestrictRealtime=yes RestrictNamespaces=yes \
	SystemCallArchitectures=native UMask=; do
	check "unit sets $want" grep -q "^$want" "$svc"
done
check "unit keeps /sys/kernel/debug visible (no InaccessiblePaths/TemporaryFileSystem over /sys)" \
	bash -c "! grep -E '^(InaccessiblePaths|TemporaryFileSystem)=.*(/sys( |$|/kernel( |$|/debug))|[ =]/( |$))' '$svc'"
check "unit keeps /proc/sys (ProcSubset=pid would hide the boot id)" \
	bash -c "! grep -q '^ProcSubset=pid' '$svc'"
check "unit keeps @resources (the reader's setpriority/ioprio_set)" \
	bash -c "! grep -q '^SystemCallFilter=~.*@resources' '$svc'"
sock_path=$(sed -n 's/^#define PO_DEFAULT_SOCKET[[:space:]]*"\(.*\)"$/\1/p' lib/proto.h)
check "socket listens on the daemon's default path ($sock_path)" grep -qx "ListenStream=$sock_path" "$sock"
check "socket is 0660" grep -qx 'SocketMode=0660' "$sock"
group=$(sed -n 's/.*c->group = po_xstrdup("\(.*\)");/\1/p' daemon/config.c)
check "socket group is the daemon's socket_group default ($group)" grep -qx "SocketGroup=$group" "$sock"
msock=systemd/page-ownerd-metrics.socket
check "metrics socket is passed by name (FileDescriptorName=metrics, daemon/metrics.c)" \
	bash -c "grep -qx 'FileDescriptorName=metrics' '$msock' && grep -q '\"metrics\"' daemon/metrics.c"
check "metrics socket activates page-ownerd.service" grep -qx 'Service=page-ownerd.service' "$msock"
check "metrics socket carries the IP allow/deny lists" \
	bash -c "grep -qx 'IPAddressDeny=any' '$msock' && grep -q '^IPAddressAllow=' '$msock'"
check "metrics socket's port is the one page-ownerd(8) documents" \
	bash -c "port=\$(sed -n 's/^ListenStream=.*:\\([0-9]*\\)$/\\1/p' '$msock'); [ -n \"\$port\" ] && grep -q \"127.0.0.1:\$port\" man/page-ownerd.8"
check "sysusers makes group $group" grep -qE "^g[[:space:]]+${group}[[:space:]]" systemd/page-ownerd.sysusers
check "service runs with group $group" grep -qx "Group=$group" "$svc"
check "state directory holds the daemon's default database" \
	grep -q '^#define PO_DEFAULT_DB[[:space:]]*"/var/lib/page-ownerd/' lib/proto.h

# ---- manual pages ------------------------------------------------------------
for m in man/*.[158]; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$m" 2>&1 >/dev/null)
	check "$m renders without warnings${out:+: $out}" test -z "$out"
done
unroff man/pageownerctl.1 >"$T/ctl.man"
unroff man/page-ownerd.8 >"$T/d.man"
unroff man/page-ownerd.conf.5 >"$T/conf.man"
# man_section FILE NAME: the text of ".SS NAME ..." up to the next .SS/.SH
man_section() {
	awk -v n="$2" '
		/^\.S[SH] / { on = 0 }
		/^\.SS / { split($0, w, /[ \t]+/); if (w[2] == n) on = 1 }
		on' "$1"
}
if [ ! -x "$CTL" ]; then
	not_ok "$CTL is built"
else
	"$CTL" help >"$T/help" 2>&1
	cmds=$(sed -n '/^Commands:/,/^$/p' "$T/help" | awk 'NF && !/^Commands:/ { print $1 }')
	check "pageownerctl help lists commands" test -n "$cmds"
	"$CTL" --help >"$T/help2" 2>&1
	check "pageownerctl --help is pageownerctl help" cmp -s "$T/help" "$T/help2"
	globals=$(grep -o -- '--[a-z][a-z0-9-]*' "$T/help" | sort -u)
	gsec=$(awk '/^\.SH GLOBAL OPTIONS/ { on = 1; next } /^\.SH / { on = 0 } on' "$T/ctl.man")
	for o in $globals; do
		check "pageownerctl(1) GLOBAL OPTIONS has $o" grep -qF -- "$o" <<<"$gsec"
	done
	for c in $cmds; do
		sec=$(man_section "$T/ctl.man" "$c")
		if [ -z "$sec" ]; then
			not_ok "pageownerctl(1) has a section for command $c"
			continue
		fi
		ok "pageownerctl(1) has a section for command $c"
		"$CTL" help "$c" >"$T/help-$c" 2>&1
		missing=
		for o in $(grep -o -- '--[a-z][a-z0-9-]*' "$T/help-$c" | sort -u); do
			grep -qF -- "$o" <<<"$sec" && continue
			grep -qxF -- "$o" <<<"$globals" && continue
			missing="$missing $o"
		done
		check "pageownerctl(1) $c documents every option of 'help $c'${missing:+ (missing:$missing)}" \
			test -z "$missing"
	done
	# aliases: "top-growers (growers)"
	for a in $(sed -n 's/^  [a-z-]* *(\([a-z-]*\)).*/\1/p' "$T/help"); do
		check "pageownerctl(1) names the alias $a" grep -q "alias .*$a" "$T/ctl.man"
	done
	# and the other way: no section for a command that does not exist
	extra=
	for s in $(awk '/^\.SH COMMANDS/ { on = 1; next } /^\.SH / { on = 0 }
		on && /^\.SS / { print $2 }' "$T/ctl.man"); do
		grep -qxF "$s" <<<"$cmds" || extra="$extra $s"
	done
	check "pageownerctl(1) documents no command pageownerctl lacks${extra:+ (extra:$extra)}" test -z "$extra"
	for s in 0 1 2 3; do
		check "pageownerctl(1) EXIT STATUS lists $s" \
			bash -c "awk '/^\.SH EXIT STATUS/ { on = 1; next } /^\.SH / { on = 0 } on' '$T/ctl.man' | grep -qx '.B $s'"
	done
	# the score's formula and thresholds, as the daemon's comment (daemon/leakscore.c) has them
	for rule in 'score = net growth in pages x s^2 x r^2' 's >= 0.75' 'r > 0.5' 'z >= 4'; do
		manrule=$(sed -e 's/ x / \\(mu /g' -e 's/\^2/\\(ha2/g' -e 's/>=/\\(>=/' <<<"$rule")
		if ! grep -qF -- "$rule" daemon/leakscore.c; then
			not_ok "daemon/leakscore.c still says '$rule' (update pageownerctl(1) and this test)"
		else
			check "pageownerctl(1) THE LEAK SCORE says '$rule'" \
				bash -c 'tr -s " " <"$1" | grep -qF -- "$2"' _ man/pageownerctl.1 "$manrule"
		fi
	done
fi
if [ -x "$DAEMON" ]; then
	missing=
	for o in $("$DAEMON" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -qF -- "$o" "$T/d.man" || missing="$missing $o"
	done
	check "page-ownerd(8) documents every flag of page-ownerd --help${missing:+ (missing:$missing)}" \
		test -z "$missing"
fi
for f in SNAPSHOT_ID PAGES RECORDS DURATION_S PAGE_OWNER=off CAP=reached DATABASE=corrupt; do
	if grep -q "\"$f" daemon/*.c; then
		check "page-ownerd(8) documents the journal field $f" grep -qF "$f" "$T/d.man"
	else
		not_ok "no daemon/*.c logs $f any more (update this test and page-ownerd(8))"
	fi
done

# ---- configuration keys --------------------------------------------------------
# one line of config.c per key; keys on the same line are aliases
grep -o 'strcmp(key, "[a-z_]*") == 0\( || strcmp(key, "[a-z_]*") == 0\)*' daemon/config.c |
	sed 's/strcmp(key, "\([a-z_]*\)") == 0/\1/g; s/ || / /g' >"$T/keys"
check "daemon/config.c has keys" test -s "$T/keys"
while read -r -a names; do
	for k in "${names[@]}"; do
		check "page-ownerd.conf(5) documents $k" grep -qE "^\.B[IR]? +$k( |$)" "$T/conf.man"
		check "etc/page-ownerd.conf mentions $k" grep -qw -- "$k" etc/page-ownerd.conf
	done
	found=0
	for k in "${names[@]}"; do
		grep -qE "^#$k = " etc/page-ownerd.conf && found=1
	done
	check "etc/page-ownerd.conf shows ${names[0]} with its default" test $found = 1
done <"$T/keys"
extra=
for k in $(sed -n 's/^#\([a-z_]*\) = .*/\1/p' etc/page-ownerd.conf); do
	grep -qw -- "$k" "$T/keys" || extra="$extra $k"
done
check "etc/page-ownerd.conf shows no key the daemon lacks${extra:+ (extra:$extra)}" test -z "$extra"
check "etc/page-ownerd.conf sets nothing (every setting commented)" \
	bash -c "! grep -Ev '^[[:space:]]*(#|;|$)' etc/page-ownerd.conf"
sed -n 's/^#\([a-z_]* = .*\)/\1/p' etc/page-ownerd.conf >"$T/all-defaults.conf"
objs="$PO_BUILD/daemon/config.o $PO_BUILD/daemon/log.o $PO_BUILD/libpo.a"
if ls $objs >/dev/null 2>&1; then
	if cc -std=gnu11 -D_GNU_SOURCE -pthread -Wall -Wextra -Werror -Ilib -Idaemon \
		$(pkg-config --cflags jansson sqlite3 libsystemd 2>/dev/null) \
		-o "$T/config-defaults" tests/packaging/config-defaults.c $objs \
		$(pkg-config --libs libsystemd 2>/dev/null) -lm 2>"$T/cc.log"; then
		out=$("$T/config-defaults" "$T/all-defaults.conf" 2>&1)
		check "etc/page-ownerd.conf uncommented changes no default${out:+: $out}" test -z "$out"
		printf 'interval = 90s\n' >"$T/changed.conf"
		check "the defaults check notices a changed value" \
			bash -c "! '$T/config-defaults' '$T/changed.conf' >/dev/null"
	else
		not_ok "build the defaults check: $(head -c 400 "$T/cc.log")"
	fi
else
	not_ok "the daemon's objects are built in $PO_BUILD"
fi
if [ -x "$DAEMON" ]; then
	check "page-ownerd --once runs with every default uncommented" \
		"$DAEMON" --config "$T/all-defaults.conf" --once --source "$(real_dump)" \
		--db "$T/defaults.db" --log-level error
fi

# ---- the Grafana dashboard -----------------------------------------------------------
dash=packaging/grafana/page-ownerd-dashboard.json
check "dashboard is valid JSON" python3 -m json.tool "$dash" >/dev/null
metrics=$(grep -o 'pageowner_[a-z_]*' "$dash" | sort -u)
check "dashboard uses pageowner_stack_bytes" grep -qx pageowner_stack_bytes <<<"$metrics"
for mt in $metrics; do
	check "dashboard metric $mt is written by the daemon" grep -q "$mt[{ \"]" daemon/*.c
done

# ---- make install --------------------------------------------------------------------
expect_usr="etc/page-ownerd/export.env
etc/page-ownerd/page-ownerd.conf
usr/bin/pageownerctl
usr/lib/systemd/system/page-ownerd-export.service
usr/lib/systemd/system/page-ownerd-export.timer
usr/lib/systemd/system/page-ownerd-metrics.socket
usr/lib/systemd/system/page-ownerd.service
usr/lib/systemd/system/page-ownerd.socket
usr/lib/sysusers.d/page-ownerd.conf
usr/lib/tmpfiles.d/page-ownerd.conf
usr/sbin/page-ownerd
usr/share/bash-completion/completions/pageownerctl
usr/share/doc/page-ownerd/examples/page-ownerd.conf
usr/share/man/man1/pageownerctl.1
usr/share/man/man5/page-ownerd.conf.5
usr/share/man/man8/page-ownerd.8
usr/share/page-ownerd/grafana/page-ownerd-dashboard.json
usr/share/page-ownerd/prometheus/page-ownerd.rules.yml"
d=$T/dest-usr
if make -s install B="$PO_BUILD" DESTDIR="$d" PREFIX=/usr >"$T/install.log" 2>&1; then
	got=$(cd "$d" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
	if [ "$got" = "$expect_usr" ]; then
		ok "make install PREFIX=/usr: exactly the expected $(wc -l <<<"$got") files"
	else
		not_ok "make install PREFIX=/usr: files differ"
		diff <(echo "$expect_usr") <(echo "$got") | sed 's/^/#   /'
	fi
	check "installed unit runs /usr/sbin/page-ownerd with the built-in config path" \
		grep -qx 'ExecStart=/usr/sbin/page-ownerd --foreground' "$d/usr/lib/systemd/system/page-ownerd.service"
	check "installed binaries are executable" test -x "$d/usr/sbin/page-ownerd" -a -x "$d/usr/bin/pageownerctl"
	check "installed configuration is etc/page-ownerd.conf" cmp -s etc/page-ownerd.conf "$d/etc/page-ownerd/page-ownerd.conf"
	echo "interval = 5" >>"$d/etc/page-ownerd/page-ownerd.conf"
	make -s install B="$PO_BUILD" DESTDIR="$d" PREFIX=/usr >>"$T/install.log" 2>&1
	check "make install again keeps an existing configuration" \
		grep -qx 'interval = 5' "$d/etc/page-ownerd/page-ownerd.conf"
else
	not_ok "make install DESTDIR=... PREFIX=/usr: $(tail -5 "$T/install.log")"
fi
d=$T/dest-local
if make -s install B="$PO_BUILD" DESTDIR="$d" >"$T/install-local.log" 2>&1; then
	got=$(cd "$d" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
	want=$(echo "$expect_usr" | sed 's|^usr/|usr/local/|; s|^etc/|usr/local/etc/|' | LC_ALL=C sort)
	if [ "$got" = "$want" ]; then
		ok "make install (PREFIX=/usr/local): everything under usr/local"
	else
		not_ok "make install (PREFIX=/usr/local): files differ"
		diff <(echo "$want") <(echo "$got") | sed 's/^/#   /'
	fi
	check "/usr/local unit runs /usr/local/sbin/page-ownerd with --config=/usr/local/etc/..." \
		grep -qx 'ExecStart=/usr/local/sbin/page-ownerd --config=/usr/local/etc/page-ownerd/page-ownerd.conf --foreground' \
		"$d/usr/local/lib/systemd/system/page-ownerd.service"
else
	not_ok "make install DESTDIR=... (PREFIX=/usr/local): $(tail -5 "$T/install-local.log")"
fi

# ---- the Debian package ---------------------------------------------------------------
if [ -z "$deb_pid" ]; then
	skip "Debian package build" "no dpkg-buildpackage/debhelper (apt-get install debhelper devscripts)"
elif ! wait "$deb_pid"; then
	not_ok "make deb: dpkg-buildpackage failed"
	tail -30 "$T/deb.log" | sed 's/^/#   /'
else
	deb=$pkgout/deb/page-ownerd_${version}_$(dpkg --print-architecture).deb
	check "make deb built $(basename "$deb")" test -f "$deb"
	check "make deb left no debian/ at the top of the tree" test ! -e "$top/debian"
	dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' | LC_ALL=C sort >"$T/deb.files"
	want=$(echo "$expect_usr" | sed 's|^usr/lib/systemd/|lib/systemd/|; s|^\(usr/share/man/.*\)|\1.gz|' |
		LC_ALL=C sort)
	# dh_compress compresses documentation over 4 KiB
	readme=README.md
	[ "$(stat -c %s "$top/README.md")" -le 4096 ] || readme=README.md.gz
	want=$(printf '%s\nusr/share/doc/page-ownerd/%s\nusr/share/doc/page-ownerd/changelog.gz\nusr/share/doc/page-ownerd/copyright\n' "$want" "$readme" | LC_ALL=C sort)
	if [ "$want" = "$(cat "$T/deb.files")" ]; then
		ok "the .deb holds exactly the expected files"
	else
		not_ok "the .deb's files differ"
		diff <(echo "$want") "$T/deb.files" | sed 's/^/#   /'
	fi
	dpkg-deb -e "$deb" "$T/debian-control"
	check "the configuration is a conffile" grep -qx /etc/page-ownerd/page-ownerd.conf "$T/debian-control/conffiles"
	check "postinst creates the group (systemd-sysusers)" grep -q 'systemd-sysusers.*page-ownerd.conf' "$T/debian-control/postinst"
	check "postinst enables the service (deb-systemd-helper)" grep -q "deb-systemd-helper enable 'page-ownerd.service'" "$T/debian-control/postinst"
	check "postinst enables the socket (deb-systemd-helper)" grep -q "deb-systemd-helper enable 'page-ownerd.socket'" "$T/debian-control/postinst"
	# dh_installsystemd --no-enable: enabled again on upgrades only if the
	# admin had enabled it (the system tier checks a fresh install leaves
	# it disabled)
	check "postinst enables the metrics socket only if it was (--no-enable)" \
		grep -q "deb-systemd-helper debian-installed 'page-ownerd-metrics.socket'" "$T/debian-control/postinst"
	check "prerm stops the units" grep -q "deb-systemd-invoke stop.*page-ownerd" "$T/debian-control/prerm"
	check "the .deb depends on procps (/bin/kill in ExecReload)" \
		bash -c "dpkg-deb -f '$deb' Depends | grep -qw procps"
	dkms=$pkgout/deb/page-ownerd-dkms_${version}_all.deb
	if [ -f "$dkms" ]; then
		dpkg-deb -c "$dkms" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' | grep '^usr/src/' |
			LC_ALL=C sort >"$T/dkms.files"
		want=$(printf "usr/src/page-ownerd-leaker-$version/%s\n" Kbuild Makefile dkms.conf leaker.c)
		check "page-ownerd-dkms holds kmod/ and dkms.conf" test "$want" = "$(cat "$T/dkms.files")"
		check "page-ownerd-dkms's dkms.conf has the version filled in" \
			bash -c "dpkg-deb --fsys-tarfile '$dkms' | tar -xOf - ./usr/src/page-ownerd-leaker-$version/dkms.conf |
				grep -qx 'PACKAGE_VERSION=\"$version\"'"
		check "page-ownerd-dkms's leaker.c is kmod/leaker.c" \
			bash -c "dpkg-deb --fsys-tarfile '$dkms' | tar -xOf - ./usr/src/page-ownerd-leaker-$version/leaker.c |
				cmp -s - kmod/leaker.c"
	else
		not_ok "make deb built page-ownerd-dkms_${version}_all.deb"
	fi
	if have lintian; then
		lintian --info --pedantic "$pkgout/deb/"*.changes >"$T/lintian.log" 2>&1
		sed 's/^/# lintian: /' "$T/lintian.log"
		check "lintian: no errors" bash -c "! grep -q '^E:' '$T/lintian.log'"
		check "lintian: no warnings" bash -c "! grep -q '^W:' '$T/lintian.log'"
	else
		skip "lintian" "no lintian (apt-get install lintian)"
	fi
fi

# ---- the RPM ------------------------------------------------------------------------
if [ -z "$rpm_pid" ]; then
	skip "RPM build" "no rpmbuild (apt-get install rpm)"
elif ! wait "$rpm_pid"; then
	not_ok "make rpm: rpmbuild failed"
	tail -30 "$T/rpm.log" | sed 's/^/#   /'
else
	rpm=$(ls "$pkgout/rpm/page-ownerd-$version-"*.rpm 2>/dev/null | grep -v -e debuginfo -e debugsource | head -1)
	check "make rpm built page-ownerd-$version" test -n "$rpm"
	if [ -n "$rpm" ]; then
		rpm -qlp "$rpm" 2>/dev/null >"$T/rpm.files"
		missing=
		for f in $expect_usr; do
			case $f in usr/share/doc/*) continue ;; esac
			grep -qx "/$f*" "$T/rpm.files" || grep -q "^/$f" "$T/rpm.files" || missing="$missing $f"
		done
		check "the RPM holds the installed files${missing:+ (missing:$missing)}" test -z "$missing"
		check "the RPM's configuration is %config(noreplace)" \
			bash -c "rpm -qp --configfiles '$rpm' 2>/dev/null | grep -qx /etc/page-ownerd/page-ownerd.conf"
		rpm -qp --scripts "$rpm" >"$T/rpm.scripts" 2>/dev/null
		check "the RPM creates the group before install" grep -q 'groupadd -r page-ownerd' "$T/rpm.scripts"
		check "the RPM enables the units after install" grep -q 'page-ownerd.socket' "$T/rpm.scripts"
	fi
fi
done_testing
