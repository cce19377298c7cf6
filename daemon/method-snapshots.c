/*
 * method-snapshots.c: `snapshots`: the stored snapshots of a window, newest
 * first.
 */
#include "page-ownerd.h"

static const char *const params[] = { "since", "until", "limit", NULL };

static int
snapshots(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct store *st = history_store(ctx->hist);
	struct snap_row *rows = NULL;
	struct window w;
	size_t n = 0;
	char *cause = NULL;
	json_t *list;
	int code;

	code = window_parse(st, req->params, 100, &w, &cause);
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
	if (store_snapshots(st, w.lo, w.hi, w.limit, &rows, &n) < 0) {
		free(rows);
		return rpc_fail(err, PO_E_STORAGE, "database: %s", store_errmsg(st));
	}
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, rpc_snapshot_json(&rows[i]));
	free(rows);
	*ret = json_pack("{s:o, s:I}", "snapshots", list, "count", (json_int_t)n);
	return 0;
}

const struct method method_snapshots = { PO_M_SNAPSHOTS, M_DB, params, snapshots };
