/*
 * method-history.c: `history`: one series (or the stacks of a culprit)
 * over a window, point by point.
 */
#include "page-ownerd.h"

static const char *const params[] = { "series", "since", "until", NULL };

static int
history(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct history *h = ctx->hist;
	const char *spec;
	struct query q;
	struct cover c = { 0 };
	struct state st = { 0 }, *resets = NULL;
	int64_t *ids = NULL, pages = 0, blocks = 0;
	size_t nids = 0;
	char *cause = NULL, t[40];
	double span;
	int code, level;
	json_t *points, *info;

	if (rpc_param_str(req->params, "series", &spec, err) < 0)
		return -1;
	if (query_parse(h, req->params, true, &q, err) < 0)
		return -1;
	if (history_refresh(h) < 0) {
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "database: %s", store_errmsg(history_store(h)));
	}
	code = query_resolve_series(h, spec, &ids, &nids, &cause);
	if (code != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		query_free(&q);
		return -1;
	}
	/*
	 * Resolution: every snapshot for two days, hourly to 14 (at most 336
	 * points), daily after: a month is 30 day rollups read, not 720 hours.
	 */
	span = q.w.t_hi - q.w.t_lo;
	level = span <= 2 * 86400 ? LEVEL_SNAPSHOT : span <= 14 * 86400 ? LEVEL_HOUR : LEVEL_DAY;
	if (history_state_at(h, q.w.lo, &st) < 0 ||
	    cover_build(h, q.w.lo, q.w.hi, level, &c) < 0 ||
	    cover_reset_states(h, &c, q.w.lo, false, &resets) < 0) {
		free(ids);
		state_free(&st);
		cover_free(&c);
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(history_store(h)));
	}
	for (size_t k = 0; k < nids; k++)
		if (ids[k] < st.n) {
			pages += st.pages[ids[k]];
			blocks += st.blocks[ids[k]];
		}
	points = json_array();
	po_time_str(q.w.t_lo, t, sizeof(t));
	json_array_append_new(points, json_pack("{s:I, s:s, s:f, s:I, s:I, s:I, s:I, s:b}",
	    "snapshot", (json_int_t)q.w.lo, "time", t, "unix", q.w.t_lo,
	    "pages", (json_int_t)pages, "blocks", (json_int_t)blocks,
	    "allocated", (json_int_t)0, "freed", (json_int_t)0, "new_boot", 0));
	for (size_t i = 0; i < c.n; i++) {
		struct segment *seg = &c.v[i];
		int64_t sum[4] = { 0, 0, 0, 0 };
		int64_t d_p, d_b, al, fr;

		(void)segment_find(seg, ids, nids, sum);
		d_p = sum[0];
		d_b = sum[1];
		al = sum[2];
		fr = sum[3];
		if (seg->reset) {
			/* a new boot: its values, not the old boot's plus a delta */
			pages = state_sum(&resets[i], ids, nids, false);
			blocks = state_sum(&resets[i], ids, nids, true);
		} else {
			pages += d_p;
			blocks += d_b;
		}
		if (json_array_size(points) >= (size_t)PO_MAX_LIMIT)
			continue;
		po_time_str(seg->t_last, t, sizeof(t));
		json_array_append_new(points, json_pack("{s:I, s:s, s:f, s:I, s:I, s:I, s:I, "
		    "s:b}",
		    "snapshot", (json_int_t)seg->last, "time", t, "unix", seg->t_last,
		    "pages", (json_int_t)pages, "blocks", (json_int_t)blocks,
		    "allocated", (json_int_t)al, "freed", (json_int_t)fr,
		    "new_boot", seg->reset));
	}
	cover_reset_states_free(resets, c.n);
	{
		const struct sinfo *si = history_series(h, ids[0]);
		json_t *idl = json_array();

		for (size_t k = 0; k < nids; k++)
			json_array_append_new(idl, json_integer(ids[k]));
		info = json_pack("{s:s, s:s, s:s, s:s, s:o}",
		    "kind", series_kind_name((enum series_kind)si->kind),
		    "key", si->key, "culprit", si->culprit,
		    "module", si->kind == SERIES_STACK && si->module[0] == '\0' ?
		    "kernel" : si->module, "series", idl);
	}
	*ret = json_pack("{s:o, s:o, s:I, s:o}", "series", info,
	    "window", query_window_json(h, &q, &c, q.w.hi - q.w.lo),
	    "page_size", (json_int_t)q.page_size, "points", points);
	free(ids);
	state_free(&st);
	cover_free(&c);
	query_free(&q);
	return 0;
}


const struct method method_history = { PO_M_HISTORY, M_DB, params, history };
