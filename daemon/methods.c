/*
 * methods.c: the dispatch table.  Each method lives in its own
 * method-NAME.c and exports one struct method; this table lists them.
 *
 * The table, not each handler, enforces the rules: the method exists, its
 * params are known ones (unknown params are errors, not ignored), a method
 * that changes state is called by root, and one that reads the history
 * waits while the database is being reopened.  A refused request is
 * logged with the peer's credentials.
 */
#include <string.h>

#include "page-ownerd.h"

static const struct method *const methods[] = {
	&method_status, &method_snapshots, &method_snapshot, &method_subscribe,
	&method_top, &method_growers, &method_leaks, &method_history,
	&method_stack, &method_diff, &method_export, &method_pin, &method_prune,
};

const struct method *
methods_find(const char *name)
{
	for (size_t i = 0; i < PO_ARRAY_SIZE(methods); i++)
		if (strcmp(methods[i]->name, name) == 0)
			return methods[i];
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
		rpc_error(req->peer, req->id, code, msg);
}

void
methods_dispatch(struct method_ctx *ctx, struct request *req)
{
	const struct method *m = methods_find(req->method);
	struct rpc_err err = { 0, NULL };
	json_t *result = NULL;
	struct store *st;
	const char *bad;
	char msg[512];
	int r;

	if (m == NULL) {
		snprintf(msg, sizeof(msg), "unknown method '%.*s'",
		    utf8_prefix(req->method, 60), req->method);
		request_error(req, PO_E_NO_METHOD, msg);
		return;
	}
	if ((m->flags & M_ROOT) && req->peer->uid != 0) {
		log_warnx("refused '%s' from uid %u gid %u pid %d: it needs root",
		    m->name, (unsigned)req->peer->uid, (unsigned)req->peer->gid,
		    (int)req->peer->pid);
		snprintf(msg, sizeof(msg), "permission denied: '%s' changes state and "
		    "needs root", m->name);
		request_error(req, PO_E_DENIED, msg);
		return;
	}
	st = history_store(ctx->hist);
	if ((m->flags & M_DB) && st == NULL) {
		/* closed for a moment (a read-only database reopened) */
		request_error(req, PO_E_STORAGE, "the database is being reopened: "
		    "try again after the next snapshot");
		return;
	}
	if ((bad = unknown_param(m, req->params)) != NULL) {
		char allowed[320] = "";
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
	if (st != NULL)
		(void)store_read_begin(st);
	r = m->fn(ctx, req, &result, &err);
	if (st != NULL)
		store_read_end(st);
	if (r == 0)
		rpc_reply(req->peer, req->id, result);
	else if (r < 0)
		request_error(req, err.code ? err.code : PO_E_INTERNAL,
		    err.msg ? err.msg : "failed");
	free(err.msg);
}

/* One request line from a peer: 0, or the JSON-RPC error it was answered with. */
int
methods_handle_line(struct method_ctx *ctx, struct rpc_peer *peer, const char *line,
    size_t n)
{
	struct rpc_err err = { 0, NULL };
	struct request req;
	json_t *doc = NULL, *err_id = NULL;
	int code;

	code = rpc_parse(line, n, &doc, &req, &err, &err_id);
	if (code != 0) {
		rpc_error(peer, err_id, code, err.msg ? err.msg : "bad request");
	} else {
		req.peer = peer;
		methods_dispatch(ctx, &req);
	}
	free(err.msg);
	json_decref(doc);
	return code;
}
