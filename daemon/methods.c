/*
 * methods.c: the JSON-RPC dispatch table and the daemon's own methods.
 *
 * The table, not each handler, enforces the rules: the method exists, its
 * params are known ones (unknown params are errors, not ignored), and a
 * method that changes state is called by root.  A refused request is
 * logged with the peer's credentials.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "page-ownerd.h"

enum {
	M_ROOT = 1 << 0,	/* changes state: uid 0 only */
};

struct method {
	const char	*name;
	unsigned	 flags;
	const char *const *params;	/* allowed param names */
	method_fn	 fn;
};

/* A client waiting for `snapshot` to finish. */
struct pending {
	struct client	*client;
	json_t		*id;
	uint64_t	 wait_for;	/* reply when this many have completed */
	struct pending	*next;
};

int
rpc_fail(struct rpc_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	if (vasprintf(&err->msg, fmt, ap) < 0)
		err->msg = NULL;
	va_end(ap);
	return -1;
}

json_t *
snapshot_json(const struct snap_row *r)
{
	char t[40];

	po_time_str(r->time, t, sizeof(t));
	return json_pack("{s:I, s:s, s:f, s:s, s:s, s:b, s:b, s:s, s:s, s:s, s:f, "
	    "s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
	    "id", (json_int_t)r->id, "time", t, "unix_time", r->time,
	    "boot_id", r->boot_id, "kernel", r->kernel,
	    "baseline", r->baseline, "identities", r->identities,
	    "kind", r->kind, "source", r->source, "format", r->format,
	    "duration_s", r->duration, "cpu_user_s", r->cpu_user,
	    "cpu_sys_s", r->cpu_sys, "parse_s", r->parse_s, "diff_s", r->diff_s,
	    "store_s", r->store_s, "bytes", (json_int_t)r->bytes,
	    "records", (json_int_t)r->records, "pages", (json_int_t)r->pages,
	    "malformed", (json_int_t)r->malformed,
	    "unknown_lines", (json_int_t)r->unknown_lines,
	    "stacks", (json_int_t)r->stacks, "changed", (json_int_t)r->changed,
	    "pinned", r->pinned);
}

/* ---- status ------------------------------------------------------------------ */

static const char *const status_params[] = { NULL };

static int
m_status(struct daemon *d, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct rusage self, kids;
	json_t *j, *src;
	char t[40];
	sqlite3_stmt *q;
	int64_t count = 0, first = 0, last = 0;

	(void)req;
	(void)err;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	po_time_str(d->started, t, sizeof(t));
	j = json_pack("{s:s, s:i, s:i, s:s, s:f}", "version", PO_VERSION,
	    "protocol", PO_PROTO_VERSION, "pid", (int)getpid(), "started", t,
	    "uptime_s", po_now_wall() - d->started);
	src = json_pack("{s:s, s:s}", "path", d->cfg.source, "kind",
	    d->source_kind);
	if (d->replay_total > 0)
		json_object_set_new(src, "replay", json_pack("{s:I, s:I, s:b}",
		    "next", (json_int_t)d->replay_next,
		    "total", (json_int_t)d->replay_total, "done", d->replay_done));
	json_object_set_new(j, "source", src);
	json_object_set_new(j, "mode", json_string(config_mode_name(d->cfg.mode)));
	{
		struct budget b;

		budget_stats(d, po_now_wall(), &b);
		json_object_set_new(j, "budget", json_pack("{s:f, s:f, s:f, s:f, s:f, "
		    "s:i, s:i, s:f, s:f}",
		    "cpu_share", d->cfg.cpu_budget, "spent_share", b.spent,
		    "window_s", b.window, "cpu_s", b.cpu, "avg_snapshot_cpu_s", b.avg,
		    "snapshots", (int)b.n, "full_reads", (int)b.nfull,
		    "full_read_cpu_s", b.nfull ? b.full_cpu / b.nfull : 0.0,
		    "stacks_read_cpu_s", b.n > b.nfull ?
		    (b.cpu - b.full_cpu) / (b.n - b.nfull) : 0.0));
	}
	json_object_set_new(j, "interval_s", json_real(d->cfg.interval));
	json_object_set_new(j, "effective_interval_s", json_real(d->interval));
	if (d->replay_done || d->stopping) {
		json_object_set_new(j, "next_snapshot", json_null());
	} else {
		po_time_str(d->next_snapshot, t, sizeof(t));
		json_object_set_new(j, "next_snapshot", json_string(t));
	}
	json_object_set_new(j, "snapshot_running", json_boolean(collector_busy(d->collector)));
	json_object_set_new(j, "last_snapshot", d->have_last ?
	    snapshot_json(&d->last) : json_null());
	if (d->last_error != NULL) {
		po_time_str(d->last_error_time, t, sizeof(t));
		json_object_set_new(j, "last_error", json_pack("{s:s, s:s}",
		    "message", d->last_error, "time", t));
	} else {
		json_object_set_new(j, "last_error", json_null());
	}
	q = store_stmt(d->ro, ST_SNAP_COUNT);
	if (q != NULL && sqlite3_step(q) == SQLITE_ROW) {
		count = sqlite3_column_int64(q, 0);
		first = sqlite3_column_int64(q, 1);
		last = sqlite3_column_int64(q, 2);
	}
	if (q != NULL)
		sqlite3_reset(q);
	json_object_set_new(j, "snapshots", json_pack("{s:I, s:I, s:I, s:I, s:I}",
	    "taken", (json_int_t)d->snapshots_ok,
	    "failed", (json_int_t)d->snapshots_failed,
	    "stored", (json_int_t)count, "first", (json_int_t)first,
	    "last", (json_int_t)last));
	json_object_set_new(j, "database", json_pack("{s:s, s:I}",
	    "path", d->cfg.db, "bytes", (json_int_t)store_size(d->ro)));
	json_object_set_new(j, "cpu", json_pack("{s:f, s:f, s:f, s:f}",
	    "user_s", (double)self.ru_utime.tv_sec + (double)self.ru_utime.tv_usec / 1e6,
	    "sys_s", (double)self.ru_stime.tv_sec + (double)self.ru_stime.tv_usec / 1e6,
	    "reader_user_s", (double)kids.ru_utime.tv_sec + (double)kids.ru_utime.tv_usec / 1e6,
	    "reader_sys_s", (double)kids.ru_stime.tv_sec + (double)kids.ru_stime.tv_usec / 1e6));
	json_object_set_new(j, "max_rss_kib", json_integer(self.ru_maxrss));
	json_object_set_new(j, "limits", json_pack("{s:I, s:I, s:I}",
	    "max_stacks", (json_int_t)d->cfg.max_stacks,
	    "max_series", (json_int_t)d->cfg.max_series,
	    "overflowed", (json_int_t)d->overflowed));
	server_stats(d->server, j);
	json_object_set_new(j, "status", json_string(d->status_line));
	*ret = j;
	return 0;
}

/* ---- snapshots --------------------------------------------------------------- */

static const char *const snapshots_params[] = { "since", "until", "limit", NULL };

static int
m_snapshots(struct daemon *d, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct window w;
	sqlite3_stmt *q;
	json_t *list;
	char *cause = NULL;
	int rc, code;

	code = window_parse(d->ro, req->params, 100, &w, &cause);
	if (code == PO_E_NO_DATA) {
		free(cause);
		*ret = json_pack("{s:[], s:i}", "snapshots", "count", 0);
		return 0;
	}
	if (code != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		return -1;
	}
	q = store_stmt(d->ro, ST_SNAP_WINDOW);
	if (q == NULL)
		return rpc_fail(err, PO_E_STORAGE, "database: %s", store_errmsg(d->ro));
	sqlite3_bind_int64(q, 1, w.lo);
	sqlite3_bind_int64(q, 2, w.hi);
	sqlite3_bind_int64(q, 3, w.limit);
	list = json_array();
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct snap_row r;

		store_read_snap(q, &r);
		json_array_append_new(list, snapshot_json(&r));
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return rpc_fail(err, PO_E_STORAGE, "database: %s", store_errmsg(d->ro));
	}
	*ret = json_pack("{s:o, s:I}", "snapshots", list, "count",
	    (json_int_t)json_array_size(list));
	return 0;
}

/* ---- snapshot (take one now) ----------------------------------------------- */

static const char *const snapshot_params[] = { NULL };

static int
m_snapshot(struct daemon *d, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct pending *p;

	(void)ret;
	if (d->stopping)
		return rpc_fail(err, PO_E_BUSY, "the daemon is stopping");
	if (d->replay_done)
		return rpc_fail(err, PO_E_SOURCE, "the capture replay has no file left");
	if (req->id == NULL) {
		/* a notification: take one, nobody waits for the answer */
		if (daemon_request_snapshot(d) < 0)
			d->snapshot_again = true;
		*ret = NULL;
		return 0;
	}
	p = po_xcalloc(1, sizeof(*p));
	p->client = client_ref(req->client);
	p->id = json_incref(req->id);
	if (daemon_request_snapshot(d) < 0)
		d->snapshot_again = true;	/* after the running one */
	p->wait_for = d->snapshots_issued + (d->snapshot_again ? 1 : 0);
	p->next = d->pending;
	d->pending = p;
	return 1;
}

/* Reply to the clients whose snapshot is this one. */
void
methods_snapshot_done(struct daemon *d, const struct snap_result *res)
{
	struct pending **pp = &d->pending, *p;

	while ((p = *pp) != NULL) {
		if (p->wait_for > d->snapshots_completed) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		if (client_alive(p->client)) {
			if (res->error == 0)
				server_reply(p->client, p->id, snapshot_json(&res->row));
			else
				server_error(p->client, p->id, PO_E_SOURCE,
				    res->cause ? res->cause : "snapshot failed");
		}
		client_unref(p->client);
		json_decref(p->id);
		free(p);
	}
}

void
methods_free_pending(struct daemon *d)
{
	struct pending *p;

	while ((p = d->pending) != NULL) {
		d->pending = p->next;
		client_unref(p->client);
		json_decref(p->id);
		free(p);
	}
}

/* ---- subscribe ----------------------------------------------------------------- */

static const char *const subscribe_params[] = { NULL };

static int
m_subscribe(struct daemon *d, struct request *req, json_t **ret, struct rpc_err *err)
{
	(void)d;
	(void)err;
	server_subscribe(req->client);
	*ret = json_pack("{s:b, s:s}", "subscribed", 1, "notification", PO_N_SNAPSHOT);
	return 0;
}

/* ---- the table ------------------------------------------------------------------ */

static const struct method methods[] = {
	{ PO_M_STATUS, 0, status_params, m_status },
	{ PO_M_SNAPSHOTS, 0, snapshots_params, m_snapshots },
	{ PO_M_SNAPSHOT, M_ROOT, snapshot_params, m_snapshot },
	{ PO_M_SUBSCRIBE, 0, subscribe_params, m_subscribe },
	{ PO_M_TOP, 0, query_top_params, query_top },
	{ PO_M_GROWERS, 0, query_window_params, query_growers },
	{ PO_M_LEAKS, 0, query_leaks_params, query_leaks },
	{ PO_M_HISTORY, 0, query_history_params, query_history },
	{ PO_M_STACK, 0, query_stack_params, query_stack },
	{ PO_M_DIFF, 0, query_diff_params, query_diff },
	{ PO_M_EXPORT, 0, query_export_params, query_export },
};

static const struct method *
method_find(const char *name)
{
	for (size_t i = 0; i < PO_ARRAY_SIZE(methods); i++)
		if (strcmp(methods[i].name, name) == 0)
			return &methods[i];
	return NULL;
}

static const char *
unknown_param(const struct method *m, json_t *params)
{
	const char *key;
	json_t *v;

	json_object_foreach(params, key, v) {
		const char *const *p;

		(void)v;
		for (p = m->params; *p != NULL && strcmp(*p, key) != 0; p++)
			;
		if (*p == NULL)
			return key;
	}
	return NULL;
}

static bool
only_members(json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		const char *const *a;

		(void)v;
		for (a = allowed; *a != NULL && strcmp(*a, key) != 0; a++)
			;
		if (*a == NULL)
			return false;
	}
	return true;
}

/*
 * One request line from a client: parse it (duplicate keys refused),
 * check it is a JSON-RPC 2.0 request, and dispatch it.  Returns 0, or the
 * JSON-RPC error code it answered with.
 */
int
methods_handle_line(struct daemon *d, struct client *c, const char *line, size_t n)
{
	static const char *const members[] = { "jsonrpc", "method", "params", "id", NULL };
	json_error_t err;
	json_t *req, *id, *method, *params;
	struct request r;
	int code = 0;

	/* any JSON value: a bare 42 is an invalid request, not a parse error */
	req = json_loadb(line, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (req == NULL) {
		char msg[256];

		snprintf(msg, sizeof(msg), "parse error: %s (at byte %d)", err.text,
		    err.position);
		/*
		 * jansson's parse errors quote the bad token as it came,
		 * invalid bytes and all, and a reply holding them could not
		 * be encoded: the client would be disconnected instead of
		 * told (fuzz-rpc found it).
		 */
		po_utf8_scrub(msg, strlen(msg));
		server_error(c, NULL, PO_E_PARSE, msg);
		return PO_E_PARSE;
	}
	code = PO_E_INVALID;
	if (json_is_array(req)) {
		server_error(c, NULL, code, "batch requests are not supported: "
		    "send one object per line");
		goto out;
	}
	if (!json_is_object(req)) {
		server_error(c, NULL, code, "a request is a JSON object");
		goto out;
	}
	id = json_object_get(req, "id");
	if (id != NULL && !json_is_string(id) && !json_is_integer(id) &&
	    !json_is_null(id)) {
		server_error(c, NULL, code, "id must be a string, an integer or null");
		goto out;
	}
	if (!json_is_string(json_object_get(req, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(req, "jsonrpc")), "2.0") != 0) {
		server_error(c, id, code, "\"jsonrpc\": \"2.0\" is required");
		goto out;
	}
	if (!only_members(req, members)) {
		server_error(c, id, code, "unknown member in the request "
		    "(allowed: jsonrpc, method, params, id)");
		goto out;
	}
	method = json_object_get(req, "method");
	if (!json_is_string(method)) {
		server_error(c, id, code, "method must be a string");
		goto out;
	}
	params = json_object_get(req, "params");
	if (params != NULL && !json_is_object(params)) {
		code = PO_E_PARAMS;
		server_error(c, id, code, "params must be an object (named params)");
		goto out;
	}
	code = 0;
	memset(&r, 0, sizeof(r));
	r.client = c;
	r.id = id;
	r.method = json_string_value(method);
	r.params = params ? params : json_object();
	client_creds(c, &r.uid, &r.gid, &r.pid);
	methods_dispatch(d, &r);
	if (params == NULL)
		json_decref(r.params);
out:
	json_decref(req);
	return code;
}

/*
 * How many bytes of s to quote in a message, at most max, cut between two
 * UTF-8 characters: a reply holding half a character cannot be encoded,
 * and the client would lose its connection instead of getting the error.
 */
static int
utf8_prefix(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

/* A notification (no id) gets no reply, not even an error (JSON-RPC 2.0). */
static void
request_error(struct request *req, int code, const char *msg)
{
	if (req->id != NULL)
		server_error(req->client, req->id, code, msg);
}

void
methods_dispatch(struct daemon *d, struct request *req)
{
	const struct method *m = method_find(req->method);
	struct rpc_err err = { 0, NULL };
	json_t *result = NULL;
	const char *bad;
	int r;

	if (m == NULL) {
		char msg[160];

		snprintf(msg, sizeof(msg), "unknown method '%.*s'",
		    utf8_prefix(req->method, 60), req->method);
		request_error(req, PO_E_NO_METHOD, msg);
		return;
	}
	if ((m->flags & M_ROOT) && req->uid != 0) {
		char msg[160];

		log_warnx("refused '%s' from uid %u gid %u pid %d: it needs root",
		    m->name, (unsigned)req->uid, (unsigned)req->gid, (int)req->pid);
		snprintf(msg, sizeof(msg), "permission denied: '%s' changes state and "
		    "needs root", m->name);
		request_error(req, PO_E_DENIED, msg);
		return;
	}
	if (d->ro == NULL && m->fn != m_snapshot && m->fn != m_subscribe) {
		/* main.c closed it for a moment (a read-only database reopened) */
		request_error(req, PO_E_STORAGE, "the database is being reopened: "
		    "try again after the next snapshot");
		return;
	}
	if ((bad = unknown_param(m, req->params)) != NULL) {
		char msg[512], allowed[320] = "";
		size_t used = 0;

		for (const char *const *p = m->params; *p != NULL; p++)
			used += (size_t)snprintf(allowed + used, sizeof(allowed) - used,
			    "%s%s", used ? ", " : "", *p);
		snprintf(msg, sizeof(msg), "unknown param '%.*s' for '%s' (%s%s)",
		    utf8_prefix(bad, 60), bad, m->name, used ? "allowed: " : "it takes none",
		    allowed);
		request_error(req, PO_E_PARAMS, msg);
		return;
	}
	if (d->ro != NULL)	/* NULL: only snapshot and subscribe get here */
		(void)store_read_begin(d->ro);
	r = m->fn(d, req, &result, &err);
	if (d->ro != NULL)
		store_read_end(d->ro);
	if (r == 0)
		server_reply(req->client, req->id, result);
	else if (r < 0)
		request_error(req, err.code ? err.code : PO_E_INTERNAL,
		    err.msg ? err.msg : "failed");
	free(err.msg);
}
