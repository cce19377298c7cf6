/*
 * metrics.c: the Prometheus scrape endpoint.  GET /metrics over HTTP
 * (libevent's evhttp) answers what `export --format prometheus` writes
 * (export.c), the daemon's own collection figures and the top leak
 * suspects as `leaks` ranks them, in the text format 0.0.4, or in
 * OpenMetrics 1.0.0 when the scraper's Accept header asks for it.
 *
 * A scrape is answered from the read-only history, like the RPC methods:
 * it never waits for the collector.  Everything it writes is bounded (the
 * largest number of series is METRICS_MAX_SERIES, documented in
 * page-ownerd(8)): METRICS_TOP per dimension plus "other", METRICS_LEAKS
 * leak suspects, labels with fixed names and 12-character stack ids.
 *
 * The listening socket comes from systemd (page-ownerd-metrics.socket,
 * FileDescriptorName=metrics) or from `metrics_listen = ADDR:PORT`.
 * Limits, like the control socket's (lib/proto.h): a request's line and
 * headers at most PO_MAX_REQUEST bytes; a request must arrive whole within
 * PO_REQUEST_TIMEOUT seconds of the connection's start (or of its previous
 * reply), a reply must be taken within METRICS_WRITE_STALL seconds,
 * otherwise the connection is shut down (slowloris); at most
 * METRICS_MAX_CONNECTIONS at once: past that, accepting pauses and the
 * kernel's backlog holds (or refuses) the rest, and connections that have
 * not sent a request within PRESSURE_TIMEOUT seconds make room.  Paths other than /metrics
 * get 404, methods other than GET and HEAD 405.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <systemd/sd-daemon.h>

#include "page-ownerd.h"

#define METRICS_TOP		PO_DEFAULT_LIMIT /* series per dimension, then "other" */
#define METRICS_LEAKS		10	/* leak suspects with their own series */
#define METRICS_LEAKS_COUNTED	100	/* pageowner_leak_suspects counts up to this */
#define METRICS_MAX_CONNECTIONS	32	/* HTTP connections at once */
#define METRICS_WRITE_STALL	30	/* seconds a reply may take to be read */
#define METRICS_BACKLOG		64
#define PRESSURE_TIMEOUT	2	/* seconds to send a request when all are taken */
#define METRICS_FD_NAME		"metrics" /* FileDescriptorName= of the socket unit */

#define CT_TEXT		"text/plain; version=0.0.4; charset=utf-8"
#define CT_OPENMETRICS	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* One HTTP connection, as far as evhttp lets us see it: its bufferevent. */
struct mconn {
	struct bufferevent *bev;	/* ours by one reference, evhttp's by another */
	double		 since;		/* connection start, or end of the last reply */
	double		 answered;	/* when a reply began (0: reading a request) */
	struct mconn	*next;
};

struct metrics {
	struct event_base *base;
	struct method_ctx *ctx;		/* what the methods see */
	struct evhttp	*http;
	struct evconnlistener *listener; /* evhttp's (freed with it) */
	struct event	*sweep;		/* deadlines and the connection count */
	struct mconn	*conns;
	size_t		 nconns;
	bool		 paused;	/* accepting paused: too many connections */
	char		 where[128];	/* metrics_listen, "" when from systemd */
	double		 warned;	/* when "pausing" was last logged */
	/* what changes only with a snapshot (refresh_cache) */
	bool		 cache_valid;
	int64_t		 cache_snapshot;	/* latest snapshot it was made at */
	uint64_t	 cache_failed;		/* failed snapshots then */
	char		*cache_export;		/* export.c's text, or NULL */
	char		*cache_leaks;		/* the leak suspects' series */
};

/* ---- the text ---------------------------------------------------------------- */

/* A label value, escaped (export.c's rule). */
static void
label(char *buf, size_t len, const char *v)
{
	export_prom_label(buf, len, v != NULL ? v : "");
}

static double
jnum(json_t *o, const char *key, double dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/*
 * The top leak suspects.  They come from one call of the `leaks` method's
 * own handler (method-leaks.c), so the endpoint ranks exactly as `pageownerctl
 * leaks` does; only its reply's fields are read here.
 */
static void
leak_metrics(struct method_ctx *ctx, FILE *f, int64_t page_size)
{
	struct rpc_err err = { 0, NULL };
	json_t *params = json_pack("{s:s, s:I}", "by", "stack", "limit",
	    (json_int_t)METRICS_LEAKS_COUNTED), *res = NULL, *groups, *g, *w;
	struct request req = { .peer = NULL, .id = NULL, .method = PO_M_LEAKS,
	    .params = params };
	size_t i, n = 0;

	/* no snapshot yet, or none in the window: no suspects (OpenMetrics
	 * has no room for a comment saying why) */
	if (method_leaks.fn(ctx, &req, &res, &err) != 0) {
		log_debug("metrics: no leak suspects: %s", err.msg ? err.msg : "?");
		json_decref(res);
		res = NULL;
	}
	free(err.msg);
	w = json_object_get(res, "window");
	groups = json_object_get(res, "groups");
	json_array_foreach(groups, i, g)
		if (json_is_true(json_object_get(g, "suspect")))
			n++;
	fprintf(f, "# HELP pageowner_leak_window_seconds The window leak suspects are "
	    "ranked over.\n# TYPE pageowner_leak_window_seconds gauge\n"
	    "pageowner_leak_window_seconds %.3f\n",
	    jnum(w, "until_unix", 0) - jnum(w, "since_unix", 0));
	fprintf(f, "# HELP pageowner_leak_suspects Stacks ranked as leak suspects (at "
	    "most %d counted).\n# TYPE pageowner_leak_suspects gauge\n"
	    "pageowner_leak_suspects %zu\n", METRICS_LEAKS_COUNTED, n);
	static const struct {
		const char	*name, *help;
	} per[] = {
		{ "pageowner_leak_score", "Leak score of a top suspect (pageownerctl(1))." },
		{ "pageowner_stack_growth_bytes_per_second",
		  "Net growth of a top leak suspect over the leak window." },
		{ "pageowner_leak_age_seconds",
		  "Age of a top leak suspect's oldest surviving block." },
	};
	for (size_t k = 0; k < PO_ARRAY_SIZE(per); k++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", per[k].name, per[k].help,
		    per[k].name);
		json_array_foreach(groups, i, g) {
			json_t *ev = json_object_get(g, "evidence");
			char stack[16], culprit[512], module[256];
			double v;

			if (i >= METRICS_LEAKS || !json_is_true(json_object_get(g, "suspect")))
				break;
			if (k == 0)
				v = jnum(g, "score", 0);
			else if (k == 1)
				v = jnum(ev, "slope_pages_per_hour", 0) * (double)page_size / 3600.0;
			else if ((v = jnum(ev, "oldest_block_age_s", -1)) < 0)
				continue;	/* no block ages (stacks reads only) */
			snprintf(stack, sizeof(stack), "%.12s", jstr(g, "stack_id"));
			label(culprit, sizeof(culprit), jstr(g, "culprit"));
			label(module, sizeof(module), jstr(g, "module"));
			fprintf(f, "%s{stack=\"%s\",culprit=\"%s\",module=\"%s\"} %.9g\n",
			    per[k].name, stack, culprit, module, v);
		}
	}
	json_decref(res);
	json_decref(params);
}

/* The daemon's own figures: what it is, how collection goes, what it costs. */
static void
daemon_metrics(struct method_ctx *ctx, FILE *f, bool have_export)
{
	const struct sched_state *ss = sched_state(ctx->sched);
	struct budget_stats b;
	char kernel[256], boot[128];

	budget_stats(sched_budget(ctx->sched), po_now_wall(), ctx->cfg->interval, &b);
	label(kernel, sizeof(kernel), ss->have_last ? ss->last.kernel : "");
	label(boot, sizeof(boot), ss->have_last ? ss->last.boot_id : "");
	fprintf(f, "# HELP pageowner_info The daemon, and the kernel and boot of its "
	    "latest snapshot.\n# TYPE pageowner_info gauge\n"
	    "pageowner_info{version=\"%s\",kernel=\"%s\",boot_id=\"%s\",mode=\"%s\"} 1\n",
	    PO_VERSION, kernel, boot, config_mode_name(ctx->cfg->mode));
	fprintf(f, "# HELP pageowner_snapshots_total Snapshots attempted since the "
	    "daemon started, failed ones included.\n# TYPE pageowner_snapshots_total "
	    "counter\npageowner_snapshots_total %llu\n",
	    (unsigned long long)ss->snapshots_ok + ss->snapshots_failed);
	if (!have_export)	/* export.c writes it with the rest */
		fprintf(f, "# HELP pageowner_snapshots_failed_total Snapshots that failed "
		    "since the daemon started.\n# TYPE pageowner_snapshots_failed_total "
		    "counter\npageowner_snapshots_failed_total %llu\n",
		    (unsigned long long)ss->snapshots_failed);
	fprintf(f, "# HELP pageowner_snapshot_cpu_seconds CPU time the latest snapshot "
	    "used.\n# TYPE pageowner_snapshot_cpu_seconds gauge\n"
	    "pageowner_snapshot_cpu_seconds %.6f\n",
	    ss->have_last ? ss->last.cpu_user + ss->last.cpu_sys : 0.0);
	fprintf(f, "# HELP pageowner_last_snapshot_timestamp_seconds When the latest "
	    "snapshot was stored (0: none yet).\n# TYPE "
	    "pageowner_last_snapshot_timestamp_seconds gauge\n"
	    "pageowner_last_snapshot_timestamp_seconds %.3f\n",
	    ss->have_last ? ss->last.time : 0.0);
	fprintf(f, "# HELP pageowner_interval_seconds The configured time between "
	    "snapshots.\n# TYPE pageowner_interval_seconds gauge\n"
	    "pageowner_interval_seconds %g\n", ctx->cfg->interval);
	fprintf(f, "# HELP pageowner_effective_interval_seconds The time between "
	    "snapshots the CPU budget allows.\n# TYPE "
	    "pageowner_effective_interval_seconds gauge\n"
	    "pageowner_effective_interval_seconds %g\n",
	    ss->interval > 0 ? ss->interval : ctx->cfg->interval);
	fprintf(f, "# HELP pageowner_budget_cpu_ratio The CPU budget of collection, a "
	    "share of one CPU.\n# TYPE pageowner_budget_cpu_ratio gauge\n"
	    "pageowner_budget_cpu_ratio %g\n", ctx->cfg->cpu_budget);
	fprintf(f, "# HELP pageowner_budget_spent_ratio CPU collection used over the "
	    "last hour, a share of one CPU.\n# TYPE pageowner_budget_spent_ratio gauge\n"
	    "pageowner_budget_spent_ratio %.6f\n", b.spent);
}

/* 0.0.4 text to OpenMetrics: counters' families lose "_total", "# EOF" ends it. */
static char *
to_openmetrics(const char *text, size_t len, size_t *ret_len)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *name = NULL;

		if (n > 7 && (memcmp(p, "# HELP ", 7) == 0 || memcmp(p, "# TYPE ", 7) == 0))
			name = p + 7;
		if (name != NULL) {
			const char *sp = memchr(name, ' ', n - 7);
			size_t nlen = sp ? (size_t)(sp - name) : n - 7;

			/* counters here all end in _total (promtool's rule) */
			if (nlen > 6 && memcmp(name + nlen - 6, "_total", 6) == 0) {
				fwrite(p, 1, (size_t)(name - p) + nlen - 6, f);
				fwrite(name + nlen, 1, n - 7 - nlen, f);
				fputc('\n', f);
				p += n + 1;
				continue;
			}
		}
		fwrite(p, 1, n, f);
		fputc('\n', f);
		p += n + 1;
	}
	fputs("# EOF\n", f);
	fclose(f);
	*ret_len = outlen;
	return out;
}

/*
 * The export's text and the leak suspects change only with a new snapshot
 * (or a failed one: the export counts failures): between two, scrapes
 * reuse them, so that a leak ranking over a long history is computed once
 * a snapshot, however often Prometheus scrapes.
 */
static void
refresh_cache(struct metrics *m, struct history *h)
{
	struct method_ctx *ctx = m->ctx;
	const struct sched_state *ss = sched_state(ctx->sched);
	struct rpc_err err = { 0, NULL };
	struct snap_row last;
	json_t *params, *exp = NULL;
	struct query q;
	int64_t id = store_last_snapshot(history_store(h), &last) > 0 ? last.id : 0;
	size_t len = 0;
	FILE *f;

	if (m->cache_valid && m->cache_snapshot == id &&
	    m->cache_failed == ss->snapshots_failed)
		return;
	free(m->cache_export);
	free(m->cache_leaks);
	m->cache_export = m->cache_leaks = NULL;
	params = json_object();
	if (query_parse(h, params, false, &q, &err) == 0) {
		q.w.limit = METRICS_TOP;
		if (export_prometheus(h, ss, &q, &exp, &err) == 0)
			m->cache_export = po_xstrdup(jstr(exp, "text"));
		query_free(&q);
	}
	json_decref(params);
	json_decref(exp);
	free(err.msg);
	f = open_memstream(&m->cache_leaks, &len);
	leak_metrics(ctx, f, sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096);
	fclose(f);
	m->cache_snapshot = id;
	m->cache_failed = ss->snapshots_failed;
	m->cache_valid = true;
}

int
metrics_text(struct metrics *m, bool openmetrics, char **ret, size_t *ret_len,
    char **cause)
{
	struct history *h = m->ctx->hist;
	struct store *st = history_store(h);
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (st == NULL) {
		po_asprintf(cause, "the database is being reopened: try again after the "
		    "next snapshot");
		return -EAGAIN;
	}
	(void)store_read_begin(st);
	if (history_refresh(h) < 0) {
		po_asprintf(cause, "database: %s", store_errmsg(st));
		store_read_end(st);
		return -EIO;
	}
	refresh_cache(m, h);
	store_read_end(st);
	f = open_memstream(&text, &len);
	if (m->cache_export != NULL)
		fputs(m->cache_export, f);
	daemon_metrics(m->ctx, f, m->cache_export != NULL);
	if (m->cache_leaks != NULL)
		fputs(m->cache_leaks, f);
	fclose(f);
	if (openmetrics) {
		char *om = to_openmetrics(text, len, ret_len);

		free(text);
		*ret = om;
	} else {
		*ret = text;
		*ret_len = len;
	}
	return 0;
}

/* ---- HTTP ---------------------------------------------------------------------- */

static struct mconn *
conn_of(struct metrics *m, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

	for (struct mconn *c = m->conns; c != NULL; c = c->next)
		if (c->bev == bev)
			return c;
	return NULL;
}

/* A reply went out whole: the connection may send its next request. */
static void
reply_done(struct evhttp_request *req, void *arg)
{
	struct mconn *c = arg;

	(void)req;
	c->answered = 0;
	c->since = po_now_wall();
}

static void
reply(struct metrics *m, struct evhttp_request *req, int code, const char *reason,
    const char *ctype, const char *body, size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = evbuffer_new();
	struct mconn *c = conn_of(m, req);

	if (c != NULL) {
		c->answered = po_now_wall();
		evhttp_request_set_on_complete_cb(req, reply_done, c);
	}
	evhttp_add_header(out, "Content-Type", ctype);
	if (code == HTTP_BADMETHOD)
		evhttp_add_header(out, "Allow", "GET, HEAD");
	if (buf != NULL)
		evbuffer_add(buf, body, len);
	evhttp_send_reply(req, code, reason, buf);
	if (buf != NULL)
		evbuffer_free(buf);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *accept = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Accept");
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char *text = NULL, *cause = NULL;
	size_t len = 0;
	bool om;
	double t0;

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		static const char msg[] = "Not found: page-ownerd serves /metrics only\n";

		reply(m, req, HTTP_NOTFOUND, "Not Found", "text/plain; charset=utf-8", msg,
		    sizeof(msg) - 1);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		static const char msg[] = "Method not allowed: GET or HEAD\n";

		reply(m, req, HTTP_BADMETHOD, "Method Not Allowed",
		    "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
		return;
	}
	om = accept != NULL && strstr(accept, "application/openmetrics-text") != NULL;
	t0 = po_now_mono();
	if (metrics_text(m, om, &text, &len, &cause) < 0) {
		reply(m, req, 503, "Service Unavailable", "text/plain; charset=utf-8",
		    cause, strlen(cause));
		free(cause);
		return;
	}
	log_debug("scrape of %zu bytes (%s) in %.3f s", len, om ? "OpenMetrics" : "text",
	    po_now_mono() - t0);
	reply(m, req, HTTP_OK, "OK", om ? CT_OPENMETRICS : CT_TEXT, text, len);
	free(text);
}

/* evhttp makes each connection's bufferevent here: one we can watch. */
static struct bufferevent *
bev_cb(struct event_base *base, void *arg)
{
	struct metrics *m = arg;
	struct mconn *c;
	/* no BEV_OPT_CLOSE_ON_FREE: evhttp closes the socket when it is done */
	struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);

	if (bev == NULL)
		return NULL;
	bufferevent_incref(bev);
	c = po_xcalloc(1, sizeof(*c));
	c->bev = bev;
	c->since = po_now_wall();
	c->next = m->conns;
	m->conns = c;
	if (++m->nconns >= METRICS_MAX_CONNECTIONS && !m->paused) {
		double now = po_now_wall();

		if (now - m->warned >= 60) {	/* once a minute in a flood */
			log_warnx("metrics: %d HTTP connections: pausing new ones",
			    METRICS_MAX_CONNECTIONS);
			m->warned = now;
		}
		evconnlistener_disable(m->listener);
		m->paused = true;
	}
	return bev;
}

/* Has evhttp let go of the connection? (It clears the callbacks when it frees it.) */
static bool
released(struct bufferevent *bev)
{
	bufferevent_data_cb rd = NULL, wr = NULL;
	bufferevent_event_cb ev = NULL;

	bufferevent_getcb(bev, &rd, &wr, &ev, NULL);
	return rd == NULL && wr == NULL && ev == NULL;
}

static void
sweep(struct metrics *m)
{
	double now = po_now_wall();
	/* at the connection limit, a connection that has not sent its request
	 * within PRESSURE_TIMEOUT gives its place to one waiting (a scraper
	 * sends its request at once) */
	double deadline = m->paused ? PRESSURE_TIMEOUT : PO_REQUEST_TIMEOUT;
	struct mconn **pp = &m->conns, *c;

	while ((c = *pp) != NULL) {
		if (released(c->bev)) {
			*pp = c->next;
			bufferevent_decref(c->bev);
			free(c);
			m->nconns--;
			continue;
		}
		if ((c->answered == 0 && now - c->since > deadline) ||
		    (c->answered > 0 && now - c->answered > METRICS_WRITE_STALL)) {
			int fd = bufferevent_getfd(c->bev);

			/* evhttp sees the end of the stream and frees the connection */
			if (fd >= 0)
				(void)shutdown(fd, SHUT_RDWR);
			log_debug("metrics: HTTP connection %s: shut down",
			    c->answered ? "not reading its reply" : "too slow with its request");
			c->since = now;	/* once */
			c->answered = 0;
		}
		pp = &c->next;
	}
	if (m->paused && m->nconns < METRICS_MAX_CONNECTIONS) {
		evconnlistener_enable(m->listener);
		m->paused = false;
	}
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sweep(arg);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct metrics *m = arg;
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		/* the sweep enables it again within a second */
		log_warnx("metrics: accept: %s; pausing new connections", strerror(e));
		evconnlistener_disable(m->listener);
		m->paused = true;
		return;
	}
	log_warnx("metrics: accept: %s", strerror(e));
}

/* The socket systemd passed as FileDescriptorName=metrics, or -1. */
static int
activated_fd(void)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(0, &names), fd = -1;

	for (int i = 0; i < n; i++) {
		if (fd < 0 && names != NULL && strcmp(names[i], METRICS_FD_NAME) == 0) {
			if (sd_is_socket(SD_LISTEN_FDS_START + i, AF_UNSPEC, SOCK_STREAM, 1) > 0)
				fd = SD_LISTEN_FDS_START + i;
			else
				log_warnx("systemd passed a socket named '%s' that is not a "
				    "listening stream socket: ignored", METRICS_FD_NAME);
		}
		if (names != NULL)
			free(names[i]);
	}
	free(names);
	return fd;
}

static int
bind_listen(const char *addr, char **cause)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss), fd, on = 1, r;

	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &len) < 0) {
		po_asprintf(cause, "metrics_listen: '%s' is not ADDR:PORT", addr);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		po_asprintf(cause, "metrics: socket: %s", strerror(errno));
		return r;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, (socklen_t)len) < 0 ||
	    listen(fd, METRICS_BACKLOG) < 0) {
		r = -errno;
		po_asprintf(cause, "metrics: cannot listen on %s: %s", addr, strerror(errno));
		close(fd);
		return r;
	}
	return fd;
}

int
metrics_new(struct metrics **ret, struct event_base *base, struct method_ctx *ctx,
    const char *listen_on, char **cause)
{
	struct metrics *m;
	struct evhttp_bound_socket *bound;
	struct timeval tick = { 1, 0 };
	int fd = activated_fd();
	bool activated = fd >= 0;

	*ret = NULL;
	if (fd >= 0 && listen_on != NULL)
		log_notice("metrics: using the socket systemd passed; metrics_listen = %s "
		    "is not used", listen_on);
	if (fd < 0 && listen_on == NULL)
		return 0;	/* no endpoint wanted */
	if (fd < 0 && (fd = bind_listen(listen_on, cause)) < 0)
		return fd;
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	m = po_xcalloc(1, sizeof(*m));
	m->base = base;
	m->ctx = ctx;
	snprintf(m->where, sizeof(m->where), "%s", activated ? "" : listen_on);
	m->http = evhttp_new(base);
	m->listener = evconnlistener_new(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (m->http == NULL || m->listener == NULL) {
		po_asprintf(cause, "metrics: cannot listen with libevent");
		if (m->listener == NULL)
			close(fd);
		metrics_free(m);
		return -ENOMEM;
	}
	bound = evhttp_bind_listener(m->http, m->listener);
	if (bound == NULL) {
		po_asprintf(cause, "metrics: cannot serve HTTP with libevent");
		evconnlistener_free(m->listener);
		m->listener = NULL;
		metrics_free(m);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(m->listener, accept_error_cb);
	evhttp_set_gencb(m->http, request_cb, m);
	evhttp_set_bevcb(m->http, bev_cb, m);
	/* every method reaches request_cb, which answers 405 (evhttp: 501) */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(m->http, (ev_ssize_t)PO_MAX_REQUEST);
	evhttp_set_max_body_size(m->http, (ev_ssize_t)PO_MAX_REQUEST);
	evhttp_set_timeout(m->http, PO_REQUEST_TIMEOUT);
	m->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, m);
	event_add(m->sweep, &tick);
	*ret = m;
	return 0;
}

const char *
metrics_where(const struct metrics *m)
{
	return m == NULL ? "off" : m->where[0] ? m->where : "(from systemd)";
}

void
metrics_free(struct metrics *m)
{
	struct mconn *c, *next;

	if (m == NULL)
		return;
	if (m->sweep != NULL)
		event_free(m->sweep);
	if (m->http != NULL)
		evhttp_free(m->http);	/* its connections and the listener */
	for (c = m->conns; c != NULL; c = next) {
		next = c->next;
		bufferevent_decref(c->bev);
		free(c);
	}
	free(m->cache_export);
	free(m->cache_leaks);
	free(m);
}
