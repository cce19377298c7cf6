/*
 * main.c: page-ownerd.  Start-up, the main loop's timers and signals, and
 * the end.  Modules start in this order and stop in the reverse one:
 * config, log, database check, event base, server, collector, read-only
 * store; READY=1 is sent only once the socket listens and the database is
 * migrated.
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
	    "                   [--socket PATH] [--interval SECS] [--mode full|stacks|auto]\n"
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
	    "  -m, --mode MODE       full, stacks or auto (default auto)\n"
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

static void
set_status(struct daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_status(struct daemon *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->status_line, sizeof(d->status_line), fmt, ap);
	va_end(ap);
	notify_status("%s", d->status_line);
}

int
daemon_request_snapshot(struct daemon *d)
{
	int r = collector_request(d->collector);

	if (r == 0)
		d->snapshots_issued++;
	return r;
}

static void
arm_timer(struct daemon *d, double delay)
{
	struct timeval tv;

	if (delay < 0)
		delay = 0;
	tv.tv_sec = (time_t)delay;
	tv.tv_usec = (suseconds_t)((delay - (double)tv.tv_sec) * 1e6);
	evtimer_add(d->timer, &tv);
	d->next_snapshot = po_now_wall() + delay;
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	if (d->replay_done || d->stopping)
		return;
	d->last_request = po_now_wall();
	if (daemon_request_snapshot(d) < 0)
		log_debug("the previous snapshot is still running: skipping this turn");
	arm_timer(d, d->interval);
}

/*
 * The CPU budget: the last hour's snapshots (their CPU, the kernel's
 * formatting in the reader included) may use at most cpu_budget of one
 * CPU.  When the average snapshot costs more than budget x interval, the
 * interval stretches to cost / budget.
 */
void
budget_stats(const struct daemon *d, double now, struct budget *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (unsigned i = 0; i < d->ncosts; i++) {
		const struct cost *c = &d->costs[(d->cost_head + PO_ARRAY_SIZE(d->costs) -
		    1 - i) % PO_ARRAY_SIZE(d->costs)];

		if (now - c->time > 3600)
			break;
		ret->cpu += c->cpu;
		ret->n++;
		if (c->full) {
			ret->full_cpu += c->cpu;
			ret->nfull++;
		}
	}
	ret->window = now - d->started < 3600 ? now - d->started : 3600;
	if (ret->window < d->cfg.interval)
		ret->window = d->cfg.interval;
	ret->spent = ret->cpu / ret->window;
	ret->avg = ret->n ? ret->cpu / ret->n : 0;
}

static void
budget_note(struct daemon *d, const struct snap_row *row)
{
	struct budget b;
	double want;

	d->costs[d->cost_head] = (struct cost){ po_now_wall(), row->cpu_user + row->cpu_sys,
	    strcmp(row->kind, "full") == 0 };
	d->cost_head = (d->cost_head + 1) % PO_ARRAY_SIZE(d->costs);
	if (d->ncosts < PO_ARRAY_SIZE(d->costs))
		d->ncosts++;
	budget_stats(d, po_now_wall(), &b);
	want = d->cfg.interval;
	if (d->cfg.cpu_budget > 0 && b.avg / d->cfg.cpu_budget > want)
		want = b.avg / d->cfg.cpu_budget;
	if (want > 86400)
		want = 86400;
	if (fabs(want - d->interval) > 0.5) {
		log_info("CPU budget %.2g%% of one CPU: a snapshot costs %.3fs, so the "
		    "interval is now %.0fs (configured %.0fs)", d->cfg.cpu_budget * 100,
		    b.avg, want, d->cfg.interval);
		d->interval = want;
		if (!d->replay_done && !d->stopping) {
			double next = d->last_request + want - po_now_wall();

			evtimer_del(d->timer);
			arm_timer(d, next);
		}
	}
}

/*
 * The collector found the database deleted or replaced and started a new
 * one (the queries' connection still reads the old file, and the series
 * cache holds its ids), or it reopened a database opened read-only: open
 * the file at the path for queries.
 */
static void
reopen_queries(struct daemon *d)
{
	struct store *ro = NULL;
	struct snap_row last;
	char *cause = NULL;

	if (store_open(&ro, d->cfg.db, true, &cause) < 0) {
		log_warnx("cannot open database '%s' for queries: %s; %s", d->cfg.db,
		    cause, d->ro ? "answering from the old file" :
		    "queries fail until it opens");
		free(cause);
		return;
	}
	store_close(d->ro);
	d->ro = ro;
	query_cache_free();
	d->have_last = store_last_snapshot(ro, &last) > 0;
	if (d->have_last)
		d->last = last;
	log_notice("queries read database '%s' afresh", d->cfg.db);
}

static void
snapshot_done(struct snap_result *res, void *userdata)
{
	struct daemon *d = userdata;
	char t[40];

	if (res->db_readonly && d->ro != NULL) {
		/* the collector reopens its connection at its next snapshot,
		 * which works only once this one is closed (store.c) */
		log_notice("database '%s' is writable again: reopening it",
		    d->cfg.db);
		store_close(d->ro);
		d->ro = NULL;
	} else if (d->ro == NULL ? !res->db_readonly : store_replaced(d->ro)) {
		reopen_queries(d);
	}
	d->snapshots_completed++;
	d->replay_next = res->replay_next;
	d->replay_total = res->replay_total;
	if (res->error < 0) {
		if (!res->replay_done)
			d->snapshots_failed++;	/* the end of a replay is no failure */
		free(d->last_error);
		d->last_error = po_xstrdup(res->cause ? res->cause : "snapshot failed");
		d->last_error_time = po_now_wall();
		if (res->replay_done) {
			d->replay_done = true;
			log_notice("%s; serving the history", d->last_error);
			set_status(d, "replay finished after %llu snapshots; serving the "
			    "history", (unsigned long long)d->snapshots_ok);
		} else if (res->page_owner_off) {
			log_fields(LOG_WARNING, (const char *const[]){
			    "PAGE_OWNER=off", NULL }, "%s", d->last_error);
			set_status(d, "page_owner is not available: boot with "
			    "page_owner=on (CONFIG_PAGE_OWNER=y); serving %llu stored "
			    "snapshots", (unsigned long long)d->snapshots_ok);
		} else if (res->error != -ECANCELED) {
			log_warnx("snapshot failed: %s", d->last_error);
			set_status(d, "last snapshot failed: %.300s", d->last_error);
		}
	} else {
		char id[32], pages[32], recs[32], dur[32];
		const char *fields[] = { id, pages, recs, dur, NULL };

		d->snapshots_ok++;
		d->last = res->row;
		d->have_last = true;
		budget_note(d, &res->row);
		free(d->last_error);
		d->last_error = NULL;
		snprintf(id, sizeof(id), "SNAPSHOT_ID=%lld", (long long)res->row.id);
		snprintf(pages, sizeof(pages), "PAGES=%lld", (long long)res->row.pages);
		snprintf(recs, sizeof(recs), "RECORDS=%lld", (long long)res->row.records);
		snprintf(dur, sizeof(dur), "DURATION_S=%.3f", res->row.duration);
		log_fields(LOG_INFO, fields, "snapshot %lld: %lld records, %lld pages, "
		    "%lld series changed, %lld malformed, %.2fs%s",
		    (long long)res->row.id, (long long)res->row.records,
		    (long long)res->row.pages, (long long)res->row.changed,
		    (long long)res->row.malformed, res->row.duration,
		    res->row.baseline ? " (baseline)" : "");
		po_time_str(res->row.time, t, sizeof(t));
		set_status(d, "snapshot %lld at %s: %lld pages in %lld records, %lld "
		    "series changed", (long long)res->row.id, t,
		    (long long)res->row.pages, (long long)res->row.records,
		    (long long)res->row.changed);
		{
			json_t *params = json_pack("{s:o, s:O}", "snapshot",
			    snapshot_json(&res->row), "top_growers",
			    res->top ? res->top : json_array());

			if (d->server != NULL)
				server_broadcast(d->server, PO_N_SNAPSHOT, params);
			json_decref(params);
		}
	}
	if (res->overflowed > d->overflowed) {
		if (d->overflowed == 0)
			log_fields(LOG_WARNING, (const char *const[]){ "CAP=reached", NULL },
			    "more distinct stacks or series than max_stacks=%u / "
			    "max_series=%u: new ones are counted under '(overflow)' "
			    "(raise the caps in the config to keep them apart)",
			    d->cfg.max_stacks, d->cfg.max_series);
		d->overflowed = res->overflowed;
	}
	methods_snapshot_done(d, res);
	if (d->once) {
		d->exit_code = res->error < 0 ? 1 : 0;
		event_base_loopexit(d->base, NULL);
		return;
	}
	if (d->snapshot_again && !d->replay_done) {
		d->snapshot_again = false;
		if (daemon_request_snapshot(d) < 0)
			d->snapshot_again = true;
	}
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
	d->stopping = true;
	notify_stopping();
	event_base_loopexit(d->base, NULL);
}

static void
reload(struct daemon *d, const struct flags *fl)
{
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
	log_set_level(c.log_level);
	if (c.interval != d->cfg.interval) {
		d->interval = c.interval;
		evtimer_del(d->timer);
		arm_timer(d, c.interval);
	}
	collector_set_config(d->collector, &c);
	config_free(&d->cfg);
	d->cfg = c;
	log_notice("configuration reloaded (interval %gs, source %s, log level %s)",
	    d->cfg.interval, d->cfg.source, log_level_name(d->cfg.log_level));
	notify_ready();
}

static const struct flags *hup_flags;

static int
on_line(struct client *c, const char *line, size_t n, void *userdata)
{
	return methods_handle_line(userdata, c, line, n);
}

static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	reload(arg, hup_flags);
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
	int ch;

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
	d.started = po_now_wall();
	d.interval = d.cfg.interval;
	d.once = fl.once;
	hup_flags = &fl;

	check_database(d.cfg.db);
	d.base = event_base_new();
	if (d.base == NULL)
		fatalx("cannot create the event loop");
	if (!fl.once && server_new(&d.server, d.base, d.cfg.socket, d.cfg.group,
	    on_line, &d, &cause) < 0)
		fatalx("%s", cause);
	if (collector_start(&d.collector, &d.cfg, d.base, snapshot_done, &d, &cause) < 0)
		fatalx("%s", cause);
	if (store_open(&d.ro, d.cfg.db, true, &cause) < 0)
		fatalx("%s", cause);
	{
		struct source *probe = NULL;

		if (source_new(&probe, d.cfg.source, &cause) == 0) {
			d.source_kind = source_kind_name(source_get_kind(probe));
			source_free(probe);
		} else {
			d.source_kind = "?";
			free(cause);
			cause = NULL;
		}
	}
	{
		struct snap_row last;

		if (store_last_snapshot(d.ro, &last) > 0) {
			d.last = last;
			d.have_last = true;
		}
	}

	d.sig_term = evsignal_new(d.base, SIGTERM, stop_cb, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, stop_cb, &d);
	d.sig_hup = evsignal_new(d.base, SIGHUP, hup_cb, &d);
	evsignal_add(d.sig_term, NULL);
	evsignal_add(d.sig_int, NULL);
	evsignal_add(d.sig_hup, NULL);
	d.timer = evtimer_new(d.base, timer_cb, &d);
	if (fl.once) {
		if (daemon_request_snapshot(&d) < 0)
			fatalx("cannot start the snapshot");
	} else {
		arm_timer(&d, 0);
	}
	wd = notify_watchdog_usec();
	if (wd > 0) {
		struct timeval tv = { (time_t)(wd / 2000000), (suseconds_t)(wd / 2 % 1000000) };

		d.watchdog = event_new(d.base, -1, EV_PERSIST, watchdog_cb, &d);
		event_add(d.watchdog, &tv);
	}
	if (!fl.once) {
		log_notice("page-ownerd %s: reading %s every %gs, database %s, socket %s%s",
		    PO_VERSION, d.cfg.source, d.cfg.interval, d.cfg.db,
		    server_activated(d.server) ? "(from systemd)" : d.cfg.socket,
		    "");
		set_status(&d, "started; first snapshot under way");
		notify_ready();
	}

	event_base_dispatch(d.base);

	d.stopping = true;
	notify_stopping();
	collector_stop(d.collector);
	methods_free_pending(&d);
	server_free(d.server);
	store_close(d.ro);
	if (d.watchdog)
		event_free(d.watchdog);
	event_free(d.timer);
	event_free(d.sig_term);
	event_free(d.sig_int);
	event_free(d.sig_hup);
	event_base_free(d.base);
	free(d.last_error);
	query_cache_free();
	config_free(&d.cfg);
	if (!fl.once)
		log_notice("stopped");
	return d.exit_code;
}
