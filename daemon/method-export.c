/*
 * method-export.c: `export`: the history for dashboards and other tools
 * (export.c has the formats; export-stacks.c the stacks behind a profile).
 */
#include <string.h>

#include "page-ownerd.h"

static const char *const params[] = { "format", "since", "until", "at", "a", "b",
	"by", "match", "limit", NULL };

static int
export(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct history *h = ctx->hist;
	const char *format;
	struct query q;
	int r;

	if (rpc_param_str(req->params, "format", &format, err) < 0)
		return -1;
	if (history_refresh(h) < 0)
		return rpc_fail(err, PO_E_STORAGE, "database: %s", store_errmsg(history_store(h)));
	if (strcmp(format, "folded") == 0)
		return export_folded(h, req->params, ret, err);
	if (strcmp(format, "stacks") == 0)
		return export_stacks(h, req->params, ret, err);
	if (strcmp(format, "prometheus") != 0 && strcmp(format, "json") != 0)
		return rpc_fail(err, PO_E_PARAMS, "format: '%s' is not one of json, "
		    "prometheus, folded, stacks", format);
	if (query_parse(h, req->params, strcmp(format, "json") == 0, &q, err) < 0)
		return -1;
	if (strcmp(format, "prometheus") == 0) {
		r = export_prometheus(h, sched_state(ctx->sched), &q, ret, err);
	} else {
		r = export_json(h, &q, ret, err);
	}
	query_free(&q);
	return r;
}


const struct method method_export = { PO_M_EXPORT, M_DB, params, export };
