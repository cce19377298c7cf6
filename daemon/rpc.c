/*
 * rpc.c: the protocol's envelopes, in one place.  JSON-RPC 2.0, one JSON
 * object per line (lib/proto.h has the version, names, codes and limits):
 * a request line parsed and checked into a struct request, replies and
 * errors and notifications built and encoded, and the objects several
 * methods and notifications share (a snapshot, a snapshot's top growers).
 * Replies go to a struct rpc_peer, whatever carries them (server.c).
 */
#include <errno.h>
#include <string.h>

#include "page-ownerd.h"

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

/* One compact line (no newline); NULL if it cannot be encoded. */
static char *
encode(json_t *msg, size_t *ret_len)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s != NULL)
		*ret_len = strlen(s);
	return s;
}

/* Send one message; one that cannot be encoded closes the connection. */
static void
send_msg(struct rpc_peer *p, json_t *msg)
{
	size_t n = 0;
	char *s = encode(msg, &n);

	if (s == NULL) {
		p->ops->close(p, "cannot encode a reply");
		return;
	}
	p->ops->write(p, s, n);
	free(s);
}

struct rpc_pending *
rpc_pending_new(const struct request *req)
{
	struct rpc_pending *p = po_xcalloc(1, sizeof(*p));

	p->peer = req->peer;
	p->peer->ops->ref(p->peer);
	p->id = req->id != NULL ? json_incref(req->id) : NULL;
	return p;
}

bool
rpc_pending_wanted(const struct rpc_pending *p)
{
	return p->id != NULL && p->peer->ops->alive(p->peer);
}

void
rpc_pending_free(struct rpc_pending *p)
{
	p->peer->ops->unref(p->peer);
	json_decref(p->id);
	free(p);
}

/* A result (taken) for request id; a notification (NULL id) gets none. */
void
rpc_reply(struct rpc_peer *p, json_t *id, json_t *result)
{
	json_t *msg;

	if (id == NULL) {
		json_decref(result);
		return;
	}
	msg = json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "result",
	    result ? result : json_null(), "id", id);
	send_msg(p, msg);
	json_decref(msg);
}

static json_t *
error_msg(json_t *id, int code, const char *message)
{
	return json_pack("{s:s, s:{s:i, s:s}, s:O}", "jsonrpc", "2.0", "error",
	    "code", code, "message", message, "id", id ? id : json_null());
}

void
rpc_error(struct rpc_peer *p, json_t *id, int code, const char *message)
{
	json_t *msg = error_msg(id, code, message);

	send_msg(p, msg);
	json_decref(msg);
}

/* An error line for a peer that cannot be served (too many, too large). */
char *
rpc_error_line(json_t *id, int code, const char *message, size_t *ret_len)
{
	json_t *msg = error_msg(id, code, message);
	char *s = encode(msg, ret_len);

	json_decref(msg);
	return s;
}

char *
rpc_notification_line(const char *method, json_t *params, size_t *ret_len)
{
	json_t *msg = json_pack("{s:s, s:s, s:O}", "jsonrpc", "2.0", "method",
	    method, "params", params);
	char *s = encode(msg, ret_len);

	json_decref(msg);
	return s;
}

/* rpc_fail for a request that is not one: the code, not -1. */
static int
bad_request(struct rpc_err *err, int code, const char *msg)
{
	rpc_fail(err, code, "%s", msg);
	return code;
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
 * One request line: parsed (duplicate keys refused) and checked to be a
 * JSON-RPC 2.0 request.  0 and *ret, which borrows from *ret_doc (the
 * caller frees it; params is always an object); or the error code with
 * *err and, in *ret_err_id, the id the error goes to (NULL = null).
 */
int
rpc_parse(const char *line, size_t n, json_t **ret_doc, struct request *ret,
    struct rpc_err *err, json_t **ret_err_id)
{
	static const char *const members[] = { "jsonrpc", "method", "params", "id", NULL };
	json_error_t jerr;
	json_t *req, *id, *method, *params;

	*ret_doc = NULL;
	*ret_err_id = NULL;
	/* any JSON value: a bare 42 is an invalid request, not a parse error */
	req = json_loadb(line, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (req == NULL) {
		char msg[256];

		snprintf(msg, sizeof(msg), "parse error: %s (at byte %d)", jerr.text,
		    jerr.position);
		/*
		 * jansson's parse errors quote the bad token as it came,
		 * invalid bytes and all, and a reply holding them could not
		 * be encoded: the client would be disconnected instead of
		 * told (fuzz-rpc found it).
		 */
		po_utf8_scrub(msg, strlen(msg));
		return bad_request(err, PO_E_PARSE, msg);
	}
	*ret_doc = req;
	if (json_is_array(req))
		return bad_request(err, PO_E_INVALID, "batch requests are not supported: "
		    "send one object per line");
	if (!json_is_object(req))
		return bad_request(err, PO_E_INVALID, "a request is a JSON object");
	id = json_object_get(req, "id");
	if (id != NULL && !json_is_string(id) && !json_is_integer(id) &&
	    !json_is_null(id))
		return bad_request(err, PO_E_INVALID, "id must be a string, an integer "
		    "or null");
	*ret_err_id = id;
	if (!json_is_string(json_object_get(req, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(req, "jsonrpc")), "2.0") != 0)
		return bad_request(err, PO_E_INVALID, "\"jsonrpc\": \"2.0\" is required");
	if (!only_members(req, members))
		return bad_request(err, PO_E_INVALID, "unknown member in the request "
		    "(allowed: jsonrpc, method, params, id)");
	method = json_object_get(req, "method");
	if (!json_is_string(method))
		return bad_request(err, PO_E_INVALID, "method must be a string");
	params = json_object_get(req, "params");
	if (params != NULL && !json_is_object(params))
		return bad_request(err, PO_E_PARAMS, "params must be an object (named "
		    "params)");
	if (params == NULL) {
		params = json_object();
		json_object_set_new(req, "params", params);
	}
	memset(ret, 0, sizeof(*ret));
	ret->id = id;
	ret->method = json_string_value(method);
	ret->params = params;
	return 0;
}

/* A string param: 0 and *ret, or -1 with err (required). */
int
rpc_param_str(json_t *params, const char *name, const char **ret, struct rpc_err *err)
{
	json_t *v = json_object_get(params, name);

	if (v == NULL)
		return rpc_fail(err, PO_E_PARAMS, "'%s' is required", name);
	if (!json_is_string(v))
		return rpc_fail(err, PO_E_PARAMS, "'%s' must be a string", name);
	*ret = json_string_value(v);
	return 0;
}

/* limit, if given (1 to PO_MAX_LIMIT), into *ret; else *ret stays. */
int
rpc_param_limit(json_t *params, int64_t *ret, struct rpc_err *err)
{
	json_t *lim = json_object_get(params, "limit");

	if (lim == NULL)
		return 0;
	if (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
	    json_integer_value(lim) > PO_MAX_LIMIT)
		return rpc_fail(err, PO_E_PARAMS, "limit must be an integer from 1 "
		    "to %d", PO_MAX_LIMIT);
	*ret = json_integer_value(lim);
	return 0;
}

/* A snapshot, as status, snapshots, snapshot and notifications show it. */
json_t *
rpc_snapshot_json(const struct snap_row *r)
{
	char t[40];
	json_t *j;

	po_time_str(r->time, t, sizeof(t));
	j = json_pack("{s:I, s:s, s:f, s:s, s:s, s:b, s:b, s:s, s:s, s:s, s:f, "
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
	/* where the total comes from: it must not move with the kind of read */
	json_object_set_new(j, "pages_from", json_string(strcmp(r->kind, "stacks") == 0 ?
	    "page_owner_stacks, plus the stacks it does not list (early boot) at "
	    "their last full read" : "page_owner"));
	return j;
}

/* A snapshot's top growers, as its notification shows them. */
json_t *
rpc_growers_json(const struct snap_result *res)
{
	json_t *a = json_array();

	for (int i = 0; i < ROLLUP_TOP && res->top[i].series != 0; i++) {
		char *const *nm = res->top_names[i];

		json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I}",
		    "series", (json_int_t)res->top[i].series,
		    "key", nm[0] ? nm[0] : "", "culprit", nm[1] ? nm[1] : "",
		    "module", nm[2] ? nm[2] : "kernel",
		    "delta_pages", (json_int_t)res->top[i].d,
		    "allocated_pages", (json_int_t)res->top[i].alloc,
		    "freed_pages", (json_int_t)res->top[i].freed));
	}
	return a;
}
