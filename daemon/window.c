/*
 * window.c: the window vocabulary every method shares.  `since` and
 * `until` (and `at`) are a snapshot id (a number, or "#123"), "now", a
 * relative time ("-2h", "-7d") or an ISO-8601 time; `limit` is 1 to
 * PO_MAX_LIMIT.  A time is resolved to the first snapshot at or after it
 * (since) or the last at or before it (until, at).
 */
#include <errno.h>
#include <string.h>

#include "page-ownerd.h"

/*
 * One end: 0 and *ret_id (0 = before or after every snapshot), or a
 * JSON-RPC error code with *cause.
 */
static int
resolve(struct store *st, json_t *v, const char *what, bool after, int64_t first,
    int64_t last, int64_t *ret_id, char **cause)
{
	struct po_when w;
	char buf[80], *why = NULL;
	const char *s;

	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		s = buf;
	} else if (json_is_string(v)) {
		s = json_string_value(v);
	} else {
		po_asprintf(cause, "%s must be a snapshot id, a time or a relative "
		    "time, as a string or an integer", what);
		return PO_E_PARAMS;
	}
	if (po_when_parse(s, po_now_wall(), &w, &why) < 0) {
		po_asprintf(cause, "%s: %s", what, why);
		free(why);
		return PO_E_PARAMS;
	}
	switch (w.kind) {
	case PO_WHEN_NOW:
		*ret_id = after ? last + 1 : last;
		return 0;
	case PO_WHEN_SNAPSHOT: {
		struct snap_row r;
		int found = store_snapshot(st, w.snapshot, &r);

		if (found < 0) {
			po_asprintf(cause, "database: %s", store_errmsg(st));
			return PO_E_STORAGE;
		}
		if (found == 0) {
			if (last == 0)
				po_asprintf(cause, "%s: no snapshot %lld (none is stored "
				    "yet)", what, (long long)w.snapshot);
			else
				po_asprintf(cause, "%s: no snapshot %lld (stored: %lld "
				    "to %lld)", what, (long long)w.snapshot,
				    (long long)first, (long long)last);
			return PO_E_NOT_FOUND;
		}
		*ret_id = w.snapshot;
		return 0;
	}
	case PO_WHEN_TIME: {
		int64_t id;

		if (store_snapshot_near(st, w.time, after, &id) < 0) {
			po_asprintf(cause, "database: %s", store_errmsg(st));
			return PO_E_STORAGE;
		}
		*ret_id = id == 0 ? (after ? last + 1 : 0) : id;
		return 0;
	}
	}
	po_asprintf(cause, "%s: cannot read it", what);
	return PO_E_PARAMS;
}

int
window_point(struct store *st, json_t *value, const char *what, int64_t *ret_id,
    char **cause)
{
	int64_t first = 0, last = 0, count = 0;

	if (store_snapshot_span(st, &count, &first, &last) < 0) {
		po_asprintf(cause, "database: %s", store_errmsg(st));
		return PO_E_STORAGE;
	}
	if (count == 0) {
		po_asprintf(cause, "no snapshot is stored yet");
		return PO_E_NO_DATA;
	}
	if (value == NULL) {
		*ret_id = last;
		return 0;
	}
	{
		int code = resolve(st, value, what, false, first, last, ret_id, cause);

		if (code == 0 && *ret_id == 0) {
			po_asprintf(cause, "%s: no snapshot that early (the first is "
			    "snapshot %lld)", what, (long long)first);
			return PO_E_NO_DATA;
		}
		return code;
	}
}

/* 0, or a JSON-RPC error code (PO_E_NO_DATA: nothing in the window). */
int
window_parse(struct store *st, json_t *params, int64_t default_limit,
    struct window *ret, char **cause)
{
	json_t *since = json_object_get(params, "since");
	json_t *until = json_object_get(params, "until");
	json_t *limit = json_object_get(params, "limit");
	int64_t count = 0;
	int code;

	memset(ret, 0, sizeof(*ret));
	ret->limit = default_limit;
	if (limit != NULL) {
		if (!json_is_integer(limit) || json_integer_value(limit) < 1 ||
		    json_integer_value(limit) > PO_MAX_LIMIT) {
			po_asprintf(cause, "limit must be an integer from 1 to %d",
			    PO_MAX_LIMIT);
			return PO_E_PARAMS;
		}
		ret->limit = json_integer_value(limit);
	}
	if (store_snapshot_span(st, &count, &ret->first, &ret->last) < 0) {
		po_asprintf(cause, "database: %s", store_errmsg(st));
		return PO_E_STORAGE;
	}
	ret->lo = ret->first;
	ret->hi = ret->last;
	ret->relative = json_is_string(since) && json_string_value(since)[0] == '-';
	if (since != NULL &&
	    (code = resolve(st, since, "since", true, ret->first, ret->last,
	    &ret->lo, cause)) != 0)
		return code;
	if (until != NULL &&
	    (code = resolve(st, until, "until", false, ret->first, ret->last,
	    &ret->hi, cause)) != 0)
		return code;
	if (count == 0) {
		po_asprintf(cause, "no snapshot is stored yet");
		return PO_E_NO_DATA;
	}
	if (ret->lo > ret->hi || ret->hi == 0) {
		po_asprintf(cause, "no snapshot in that window (stored: %lld to %lld)",
		    (long long)ret->first, (long long)ret->last);
		return PO_E_NO_DATA;
	}
	{
		struct snap_row r;

		if (store_snapshot(st, ret->lo, &r) > 0)
			ret->t_lo = r.time;
		if (store_snapshot(st, ret->hi, &r) > 0)
			ret->t_hi = r.time;
	}
	return 0;
}
