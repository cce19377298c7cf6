/*
 * main.c: page-ownerd.  Start-up, signals, reloads and the end.  Modules
 * start in this order and stop in the reverse one: config, log, database
 * check, event base, server, history (the queries' read-only connection),
 * scheduler (and its collector thread); READY=1 is sent only once the
 * socket listens and the database is migrated.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <malloc.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "page-ownerd.h"

/* Command-line settings, which win over the config file (also on reload). */
struct flags {
	const char	*config;
	const char	*set[16][2];	/* key, value */
	int		 nset;
	bool		 once;
	bool		 foreground;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: page-ownerd [--config FILE] [--source PATH] [--db PATH]\n"
	    "                   [--socket PATH] [--interval SECS] [--mode full|stacks|auto|sweep]\n"
	    "                   [--once] [--foreground] [--log-level LEVEL]\n"
	    "\n"
	    "Reads /sys/kernel/debug/page_owner (or a dump file, or a directory of\n"
	    "dumps replayed one per snapshot) on a schedule, keeps per-stack history\n"
	    "in SQLite and answers pageownerctl over a Unix socket.\n"
	    "\n"
	    "  -c, --config FILE     settings file (default %s)\n"
	    "  -s, --source PATH     page_owner file, dump file or capture directory\n"
	    "  -d, --db PATH         database (default %s)\n"
	    "  -S, --socket PATH     control socket (default %s)\n"
	    "  -i, --interval SECS   time between snapshots (default 60; 90s, 5m...)\n"
	    "  -m, --mode MODE       full, stacks, auto or sweep (default auto)\n"
	    "  -1, --once            take one snapshot, store it, exit\n"
	    "  -f, --foreground      do not detach (implied under systemd)\n"
	    "  -l, --log-level LVL   error, warning, notice, info, debug\n"
	    "  -V, --version         print the version\n",
	    PO_DEFAULT_CONFIG, PO_DEFAULT_DB, PO_DEFAULT_SOCKET);
}

/* Load the file (if any) and apply the flags: the settings to run with. */
static int
load_config(const struct flags *fl, struct config *out, char **cause)
{
	struct config c;
	int r;

	config_defaults(&c);
	r = config_load(&c, fl->config ? fl->config : PO_DEFAULT_CONFIG,
	    fl->config != NULL, cause);
	for (int i = 0; r == 0 && i < fl->nset; i++) {
		char *why = NULL;

		r = config_set(&c, fl->set[i][0], fl->set[i][1], &why);
		if (r < 0) {
			po_asprintf(cause, "--%s: %s", fl->set[i][0], why);
			free(why);
		}
	}
	if (r < 0) {
		config_free(&c);
		return r;
	}
	*out = c;
	return 0;
}

/* Everything the main thread owns. */
struct daemon {
	struct config	 cfg;		/* current settings */
	struct event_base *base;
	struct server	*server;
	struct metrics	*metrics;	/* GET /metrics, or NULL */
	struct history	*hist;		/* the queries' read-only history */
	struct sched	*sched;
	struct method_ctx ctx;		/* what methods see */
	struct event	*watchdog;	/* WATCHDOG=1 pings */
	struct event	*sig_term, *sig_int, *sig_hup;
	const struct flags *flags;	/* for reloads */
};

/* Subscribers hear of every snapshot taken. */
static void
on_snapshot(const struct snap_result *res, void *ud)
{
	struct daemon *d = ud;
	json_t *params;
	char *line;
	size_t n = 0;

	if (d->server == NULL)
		return;
	params = json_pack("{s:o, s:o}", "snapshot", rpc_snapshot_json(&res->row),
	    "top_growers", rpc_growers_json(res));
	line = rpc_notification_line(PO_N_SNAPSHOT, params, &n);
	if (line != NULL)
		server_broadcast(d->server, line, n);
	free(line);
	json_decref(params);
}

static int
on_line(struct rpc_peer *p, const char *line, size_t n, void *userdata)
{
	struct daemon *d = userdata;

	return methods_handle_line(&d->ctx, p, line, n);
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_watchdog();
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	log_notice("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	notify_stopping();
	event_base_loopexit(d->base, NULL);
}

static void
reload(struct daemon *d)
{
	const struct flags *fl = d->flags;
	struct config c;
	char *cause = NULL;

	notify_reloading();
	if (load_config(fl, &c, &cause) < 0) {
		log_errx("reloading the configuration failed: %s; keeping the old "
		    "settings", cause);
		free(cause);
		notify_ready();
		return;
	}
	if (strcmp(c.db, d->cfg.db) != 0 || strcmp(c.socket, d->cfg.socket) != 0)
		log_warnx("changing the database or the socket needs a restart; "
		    "keeping %s and %s", d->cfg.db, d->cfg.socket);
	free(c.db);
	c.db = po_xstrdup(d->cfg.db);
	free(c.socket);
	c.socket = po_xstrdup(d->cfg.socket);
	if ((c.metrics_listen == NULL) != (d->cfg.metrics_listen == NULL) ||
	    (c.metrics_listen != NULL && strcmp(c.metrics_listen, d->cfg.metrics_listen) != 0))
		log_warnx("changing metrics_listen needs a restart; keeping %s",
		    d->cfg.metrics_listen ? d->cfg.metrics_listen : "none");
	free(c.metrics_listen);
	c.metrics_listen = d->cfg.metrics_listen ? po_xstrdup(d->cfg.metrics_listen) : NULL;
	log_set_level(c.log_level);
	sched_set_config(d->sched, &c);
	config_free(&d->cfg);
	d->cfg = c;
	log_notice("configuration reloaded (interval %gs, source %s, log level %s)",
	    d->cfg.interval, d->cfg.source, log_level_name(d->cfg.log_level));
	notify_ready();
}

static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	reload(arg);
}

/* The database: migrated, or refused when too new, or moved aside when corrupt. */
static void
check_database(const char *path)
{
	struct store *st = NULL;
	char *cause = NULL, *dir = po_xstrdup(path), *slash = strrchr(dir, '/');
	int r;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST)
			log_warn("cannot create '%s'", dir);
	}
	free(dir);
	r = store_open(&st, path, false, &cause);
	if (r == -EUCLEAN) {
		char *moved = NULL;

		if (store_quarantine(path, &moved) < 0)
			fatal("database '%s' is corrupt (%s) and cannot be moved aside",
			    path, cause);
		log_fields(LOG_ERR, (const char *const[]){ "DATABASE=corrupt", NULL },
		    "DATABASE CORRUPT: %s. Moved it to '%s' and started a new, empty "
		    "one; the old history is in that file", cause, moved);
		free(moved);
		free(cause);
		cause = NULL;
		r = store_open(&st, path, false, &cause);
	}
	if (r < 0)
		fatalx("%s", cause ? cause : "cannot open the database");
	store_close(st);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "source", required_argument, NULL, 's' },
		{ "db", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 'S' },
		{ "interval", required_argument, NULL, 'i' },
		{ "mode", required_argument, NULL, 'm' },
		{ "once", no_argument, NULL, '1' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		int		 ch;
		const char	*key;
	} keyed[] = {
		{ 's', "source" }, { 'd', "db" }, { 'S', "socket" },
		{ 'i', "interval" }, { 'm', "mode" }, { 'l', "log_level" },
	};
	struct flags fl = { 0 };
	struct daemon d = { 0 };
	char *cause = NULL;
	uint64_t wd;
	int ch, exit_code;

	while ((ch = getopt_long(argc, argv, "c:s:d:S:i:m:1fl:Vh", opts, NULL)) != -1) {
		bool done = false;

		for (size_t i = 0; i < PO_ARRAY_SIZE(keyed); i++)
			if (keyed[i].ch == ch && fl.nset < 16) {
				fl.set[fl.nset][0] = keyed[i].key;
				fl.set[fl.nset][1] = optarg;
				fl.nset++;
				done = true;
			}
		if (done)
			continue;
		switch (ch) {
		case 'c': fl.config = optarg; break;
		case '1': fl.once = true; break;
		case 'f': fl.foreground = true; break;
		case 'V': printf("page-ownerd %s\n", PO_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "page-ownerd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (load_config(&fl, &d.cfg, &cause) < 0) {
		fprintf(stderr, "page-ownerd: %s\n", cause);
		free(cause);
		return 2;
	}
	log_init(notify_under_systemd(), d.cfg.log_level);
	if (!fl.foreground && !fl.once && !notify_under_systemd() &&
	    getenv("NOTIFY_SOCKET") == NULL) {
		if (daemon(0, 0) < 0)
			fatal("cannot detach");
	}
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Queries allocate per-series arrays of a few MiB each time: keep them
	 * in the heap for reuse instead of mapping and zeroing fresh pages.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
	d.flags = &fl;

	check_database(d.cfg.db);
	d.base = event_base_new();
	if (d.base == NULL)
		fatalx("cannot create the event loop");
	if (!fl.once && server_new(&d.server, d.base, d.cfg.socket, d.cfg.group,
	    on_line, &d, &cause) < 0)
		fatalx("%s", cause);
	if (history_open(&d.hist, d.cfg.db, &cause) < 0)
		fatalx("%s", cause);
	{
		struct sched_hooks hooks = { on_snapshot, &d };

		if (sched_new(&d.sched, d.base, &d.cfg, d.hist, &hooks, fl.once,
		    &cause) < 0)
			fatalx("%s", cause);
	}
	d.ctx = (struct method_ctx){ .cfg = &d.cfg, .hist = d.hist, .sched = d.sched,
	    .server = d.server, .started = po_now_wall(), .source_kind = "?" };
	{
		struct source *probe = NULL;

		if (source_new(&probe, d.cfg.source, &cause) == 0) {
			d.ctx.source_kind = source_kind_name(source_get_kind(probe));
			source_free(probe);
		} else {
			free(cause);
			cause = NULL;
		}
	}

	d.sig_term = evsignal_new(d.base, SIGTERM, stop_cb, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, stop_cb, &d);
	d.sig_hup = evsignal_new(d.base, SIGHUP, hup_cb, &d);
	evsignal_add(d.sig_term, NULL);
	evsignal_add(d.sig_int, NULL);
	evsignal_add(d.sig_hup, NULL);
	if (!fl.once && metrics_new(&d.metrics, d.base, &d.ctx, d.cfg.metrics_listen,
	    &cause) < 0)
		fatalx("%s", cause);

	wd = notify_watchdog_usec();
	if (wd > 0) {
		struct timeval tv = { (time_t)(wd / 2000000), (suseconds_t)(wd / 2 % 1000000) };

		d.watchdog = event_new(d.base, -1, EV_PERSIST, watchdog_cb, &d);
		event_add(d.watchdog, &tv);
	}
	sched_start(d.sched);
	if (!fl.once) {
		log_notice("page-ownerd %s: reading %s every %gs, database %s, socket %s",
		    PO_VERSION, d.cfg.source, d.cfg.interval, d.cfg.db,
		    server_activated(d.server) ? "(from systemd)" : d.cfg.socket);
		if (d.metrics != NULL)
			log_notice("serving GET /metrics on %s", metrics_where(d.metrics));
		notify_ready();
	}

	event_base_dispatch(d.base);

	notify_stopping();
	sched_stop(d.sched);
	exit_code = sched_state(d.sched)->exit_code;
	metrics_free(d.metrics);
	server_free(d.server);
	sched_free(d.sched);
	history_free(d.hist);
	if (d.watchdog)
		event_free(d.watchdog);
	event_free(d.sig_term);
	event_free(d.sig_int);
	event_free(d.sig_hup);
	event_base_free(d.base);
	config_free(&d.cfg);
	if (!fl.once)
		log_notice("stopped");
	return exit_code;
}
