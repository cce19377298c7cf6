# page-ownerd: a plain GNU Makefile.
#
# Honours CC CFLAGS CPPFLAGS LDFLAGS DESTDIR PREFIX (what Debian's tooling
# passes).  Objects go under $(B)/ with -MMD header dependencies; the
# sanitizer build is the same tree built again into another $(B).

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
DATADIR		?= $(PREFIX)/share
SYSCONFDIR	?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR		?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR	?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR	?= $(PREFIX)/lib/tmpfiles.d
BASHCOMPDIR	?= $(DATADIR)/bash-completion/completions

CC		?= cc
PKG_CONFIG	?= pkg-config
CFLAGS		?= -O2 -g
B		?= build
SANITIZE	?=

PKGS		:= sqlite3 libsystemd libevent libevent_pthreads jansson libxxhash
WARN		:= -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
		   -Wmissing-prototypes -Wmissing-declarations -Wold-style-definition \
		   -Wpointer-arith -Wundef -Wvla -Wwrite-strings -Wimplicit-fallthrough \
		   -Wcast-qual -Wnull-dereference
PKG_CFLAGS	 = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	 = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm
comma		:= ,
SAN_FLAGS	:= $(if $(SANITIZE),-fsanitize=address$(comma)undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
ALL_CFLAGS	 = -std=gnu11 -D_GNU_SOURCE -pthread -Ilib $(WARN) $(PKG_CFLAGS) \
		   $(SAN_FLAGS) -MMD -MP $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS	 = -pthread $(SAN_FLAGS) $(LDFLAGS)

LIB_SRCS	:= $(wildcard lib/*.c)
DAEMON_SRCS	:= $(wildcard daemon/*.c)
CLIENT_SRCS	:= $(wildcard client/*.c)
UNIT_SRCS	:= $(wildcard tests/unit/test-*.c)
SCHEMA_SQL	:= $(sort $(wildcard schema/[0-9][0-9][0-9]-*.sql))

LIB_OBJS	:= $(LIB_SRCS:%.c=$(B)/%.o)
DAEMON_OBJS	:= $(DAEMON_SRCS:%.c=$(B)/%.o) $(if $(DAEMON_SRCS),$(B)/gen/migrations.o)
CLIENT_OBJS	:= $(CLIENT_SRCS:%.c=$(B)/%.o)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
LIBPO		:= $(B)/libpo.a

PROGRAMS	:= $(B)/pageownerctl $(if $(DAEMON_SRCS),$(B)/page-ownerd)
TOOLS		:= $(B)/tests/gen-dump $(if $(DAEMON_SRCS),$(B)/tests/gen-history)

.PHONY: all check check-fast check-kernel bench fuzz run install clean lint deps \
	deps-build units
all: $(PROGRAMS) $(TOOLS)

# quiet unless V=1
Q		:= $(if $(V),,@)
say		 = $(if $(V),,@echo "  $(1)	$(2)";)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/gen/migrations.o: $(B)/gen/migrations.c
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -Idaemon -c -o $@ $<

$(LIBPO): $(LIB_OBJS)
	@rm -f $@
	$(call say,AR,$@)$(AR) rcs $@ $^

$(B)/pageownerctl: $(CLIENT_OBJS) $(LIBPO)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/page-ownerd: $(DAEMON_OBJS) $(LIBPO)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Migrations are compiled in: one generated C file holding every schema/NNN-*.sql.
$(B)/gen/migrations.c: $(SCHEMA_SQL) schema/embed-sql.sh
	@mkdir -p $(@D)
	$(call say,GEN,$@)sh schema/embed-sql.sh $(SCHEMA_SQL) > $@.tmp && mv $@.tmp $@

# Unit tests link the daemon's modules too: every daemon object but main.o,
# in an archive (only what a test calls is linked), before $(LIBPO).
LIBPOD		:= $(if $(DAEMON_SRCS),$(B)/libpod.a)
$(B)/libpod.a: $(filter-out $(B)/daemon/main.o,$(DAEMON_OBJS))
	@rm -f $@
	$(call say,AR,$@)$(AR) rcs $@ $^

$(B)/tests/unit/%: tests/unit/%.c $(LIBPOD) $(LIBPO)
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -Idaemon -Wno-missing-prototypes -Wno-missing-declarations \
		-DPO_SRCDIR='"$(CURDIR)"' -o $@ $< $(LIBPOD) $(LIBPO) \
		$(ALL_LDFLAGS) $(shell $(PKG_CONFIG) --libs cmocka) $(PKG_LIBS)

$(B)/tests/gen-dump: tests/bench/gen-dump.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) -lm

# the bench's history generator writes through the daemon's own engine
ENGINE_OBJS	:= $(patsubst %,$(B)/daemon/%.o,engine full stacks rollup identfile registry \
		   series combo store pack source config log history sweep sample) \
		   $(B)/gen/migrations.o
$(B)/tests/bench/gen-history.o: tests/bench/gen-history.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -Idaemon -c -o $@ $<

$(B)/tests/gen-history: $(B)/tests/bench/gen-history.o $(ENGINE_OBJS) $(LIBPO)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

units: $(UNIT_BINS)

# ---- pprof profiles (pageownerctl export --format pprof) ----------------------
# protoc-c generates the profile.proto code into $(B)/gen; the client links
# libprotobuf-c, and zlib for the gzip wrapper.  test-pprof decodes with the
# same generated code.
PROTOC_C	?= protoc-c
PPROF_PKGS	:= libprotobuf-c zlib
PPROF_GEN	:= $(B)/gen/pprof.pb-c.c $(B)/gen/pprof.pb-c.h
PPROF_LIBS	 = $(shell $(PKG_CONFIG) --libs $(PPROF_PKGS) 2>/dev/null)
$(PPROF_GEN) &: client/pprof.proto
	@mkdir -p $(B)/gen
	$(call say,GEN,$(B)/gen/pprof.pb-c.c)$(PROTOC_C) --proto_path=client --c_out=$(B)/gen client/pprof.proto
$(B)/gen/pprof.pb-c.o: $(B)/gen/pprof.pb-c.c $(B)/gen/pprof.pb-c.h
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(CLIENT_OBJS) $(B)/gen/pprof.pb-c.o $(B)/tests/unit/test-pprof: \
	ALL_CFLAGS += -I$(B)/gen $(shell $(PKG_CONFIG) --cflags $(PPROF_PKGS) 2>/dev/null)
$(B)/client/pprof.o $(B)/client/cmd-export-pprof.o: $(B)/gen/pprof.pb-c.h
$(B)/pageownerctl: $(B)/gen/pprof.pb-c.o
$(B)/pageownerctl: PKG_LIBS += $(PPROF_LIBS)
# test-pprof links the client's objects but its main
PPROF_TEST_OBJS	:= $(filter-out $(B)/client/main.o,$(CLIENT_OBJS)) $(B)/gen/pprof.pb-c.o
$(B)/tests/unit/test-pprof: tests/unit/test-pprof.c $(PPROF_TEST_OBJS) $(LIBPO)
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -Wno-missing-declarations \
		-Iclient -DPO_SRCDIR='"$(CURDIR)"' -o $@ $< $(PPROF_TEST_OBJS) $(LIBPO) \
		$(ALL_LDFLAGS) $(shell $(PKG_CONFIG) --libs cmocka) $(PPROF_LIBS) $(PKG_LIBS)

# ---- dependencies: installed here when missing (Debian, as root) ----------
deps-build:
	@sh tests/tools/deps.sh build
deps:
	@sh tests/tools/deps.sh all

# ---- tests ---------------------------------------------------------------------
# check: every tier: lint, unit, integration, the sanitizer build, a bounded
# fuzz run, packaging, the real kernel and the full system (tests/run.sh).
check: deps
	$(MAKE) all units
	$(MAKE) CC=clang B=build/clang all units
	$(MAKE) CC=clang B=build/asan SANITIZE=1 all units
	PAGE_OWNERD_KERNELS="$(or $(PAGE_OWNERD_KERNELS),6.12 6.12-handles)" \
	bash tests/run.sh --build $(B) --asan build/asan --tiers "$(or $(TIERS),lint unit integration asan fuzz packaging kernel system)"

check-fast: deps-build
	$(MAKE) all units
	bash tests/run.sh --build $(B) --tiers "unit integration"

# every kernel (make check boots 6.12 and 6.12-handles, the newest interface,
# and leaves 6.1 to this target to keep CI's runs short)
check-kernel: deps
	$(MAKE) all
	PAGE_OWNERD_KERNELS="$(or $(PAGE_OWNERD_KERNELS),6.12 6.12-handles 6.1)" \
	bash tests/run.sh --build $(B) --tiers kernel

fuzz: deps-build
	bash tests/fuzz/run.sh --build build/fuzz --seconds $(or $(FUZZ_SECONDS),60) $(if $(FUZZ_RUNS),--runs $(FUZZ_RUNS))

bench: deps
	$(MAKE) all
	bash tests/bench/run.sh --build $(B) $(if $(BENCH),--only $(BENCH))

lint: deps-build
	bash tests/tools/lint.sh

run: deps-build
	$(MAKE) all
	sh tests/tools/run.sh $(B)

# ---- install, packages ------------------------------------------------------
# install: what an admin's `make install` (and both packages) put in place.
# The units name $(SBINDIR)/page-ownerd, and --config when the configuration
# is not in /etc (the daemon's built-in default); an existing configuration
# is never overwritten.  The file list is checked by tests/packaging/run.sh.
DOCDIR		?= $(DATADIR)/doc/page-ownerd
DASHBOARDDIR	?= $(DATADIR)/page-ownerd/grafana
PROMRULESDIR	?= $(DATADIR)/page-ownerd/prometheus
CONFFILE	 = $(SYSCONFDIR)/page-ownerd/page-ownerd.conf
UNIT_EXEC	 = $(SBINDIR)/page-ownerd$(if $(filter /etc,$(SYSCONFDIR)),, --config=$(CONFFILE))
PKGDIR		?= $(B)/packages

.PHONY: deb rpm check-packaging check-system
install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/pageownerctl $(DESTDIR)$(BINDIR)/pageownerctl
	$(if $(DAEMON_SRCS),install -d $(DESTDIR)$(SBINDIR))
	$(if $(DAEMON_SRCS),install -m 0755 $(B)/page-ownerd $(DESTDIR)$(SBINDIR)/page-ownerd)
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	sed 's|^ExecStart=/usr/sbin/page-ownerd|ExecStart=$(UNIT_EXEC)|' \
		systemd/page-ownerd.service >$(DESTDIR)$(UNITDIR)/page-ownerd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/page-ownerd.service
	install -m 0644 systemd/page-ownerd.socket $(DESTDIR)$(UNITDIR)/page-ownerd.socket
	install -m 0644 systemd/page-ownerd-metrics.socket $(DESTDIR)$(UNITDIR)/page-ownerd-metrics.socket
	install -m 0644 systemd/page-ownerd.sysusers $(DESTDIR)$(SYSUSERSDIR)/page-ownerd.conf
	install -m 0644 systemd/page-ownerd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/page-ownerd.conf
	install -d $(DESTDIR)$(SYSCONFDIR)/page-ownerd
	[ -e $(DESTDIR)$(CONFFILE) ] || install -m 0644 etc/page-ownerd.conf $(DESTDIR)$(CONFFILE)
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 etc/page-ownerd.conf $(DESTDIR)$(DOCDIR)/examples/page-ownerd.conf
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 man/pageownerctl.1 $(DESTDIR)$(MANDIR)/man1/pageownerctl.1
	install -m 0644 man/page-ownerd.conf.5 $(DESTDIR)$(MANDIR)/man5/page-ownerd.conf.5
	install -m 0644 man/page-ownerd.8 $(DESTDIR)$(MANDIR)/man8/page-ownerd.8
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 packaging/bash-completion/pageownerctl $(DESTDIR)$(BASHCOMPDIR)/pageownerctl
	install -d $(DESTDIR)$(DASHBOARDDIR)
	install -m 0644 packaging/grafana/page-ownerd-dashboard.json \
		$(DESTDIR)$(DASHBOARDDIR)/page-ownerd-dashboard.json
	sed -e 's|/usr/bin/pageownerctl|$(BINDIR)/pageownerctl|g' \
		-e 's|/etc/page-ownerd/export.env|$(SYSCONFDIR)/page-ownerd/export.env|g' \
		systemd/page-ownerd-export.service >$(DESTDIR)$(UNITDIR)/page-ownerd-export.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/page-ownerd-export.service
	install -m 0644 systemd/page-ownerd-export.timer $(DESTDIR)$(UNITDIR)/page-ownerd-export.timer
	[ -e $(DESTDIR)$(SYSCONFDIR)/page-ownerd/export.env ] || \
		install -m 0644 etc/export.env $(DESTDIR)$(SYSCONFDIR)/page-ownerd/export.env
	install -d $(DESTDIR)$(PROMRULESDIR)
	install -m 0644 packaging/prometheus/page-ownerd.rules.yml \
		$(DESTDIR)$(PROMRULESDIR)/page-ownerd.rules.yml

# Packages, built from a copy of this tree (the repository stays clean):
# $(PKGDIR)/*.deb (dpkg-buildpackage) and $(PKGDIR)/*.rpm (rpmbuild).
deb:
	sh packaging/build.sh deb $(PKGDIR)
rpm:
	sh packaging/build.sh rpm $(PKGDIR)

# The packaging tier alone (also part of `make check` when TIERS names it),
# and the full-system test: a Debian 12 guest with systemd and the .deb.
check-packaging: deps
	$(MAKE) all
	bash tests/run.sh --build $(B) --tiers packaging
check-system: deps
	$(MAKE) all
	bash tests/run.sh --build $(B) --tiers system

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(DAEMON_OBJS:.o=.d) $(CLIENT_OBJS:.o=.d) \
	$(UNIT_BINS:=.d) $(B)/tests/gen-dump.d $(B)/tests/bench/gen-history.d
