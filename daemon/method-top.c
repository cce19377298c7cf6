/*
 * method-top.c: `top`: who holds the most memory at a point (now, or `at`),
 * grouped by stack, culprit, module, comm, memcg or order.
 */
#include "page-ownerd.h"

static const char *const params[] = { "at", "by", "match", "limit", NULL };

static int
top(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct history *h = ctx->hist;
	json_t *at = json_object_get(req->params, "at"), *list;
	struct query q;
	struct groups g = { 0 };
	struct state st = { 0 };
	struct est_meta em;
	int64_t id, total = 0;
	char *cause = NULL;
	int code;

	if (query_parse(h, req->params, false, &q, err) < 0)
		return -1;
	code = window_point(history_store(h), at, "at", &id, &cause);
	if (code != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		query_free(&q);
		return -1;
	}
	if (history_refresh(h) < 0 || history_state_at(h, id, &st) < 0) {
		state_free(&st);
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(history_store(h)));
	}
	groups_build(h, &q, &g);
	groups_set_state(&g, &st, false);
	if (query_estimates(h, id, id, &g, &em) < 0) {
		groups_free(&g);
		state_free(&st);
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "a stored estimate is damaged");
	}
	for (int64_t i = 1; i < st.n; i++)
		if (history_series(h, i)->kind == (int)query_by_kind(q.by))
			total += st.pages[i];
	groups_order(&g, (size_t)q.w.limit, group_cmp_pages);
	list = json_array();
	for (size_t i = 0; i < g.n && (int64_t)i < q.w.limit; i++) {
		json_t *j;

		if (g.v[i].pages == 0)
			break;
		j = group_json(h, &q, &g.v[i]);
		json_object_set_new(j, "pages", json_integer(g.v[i].pages));
		json_object_set_new(j, "blocks", json_integer(g.v[i].blocks));
		json_object_set_new(j, "bytes", json_integer(g.v[i].pages * q.page_size));
		json_object_set_new(j, "share", json_real(total ?
		    (double)g.v[i].pages / (double)total : 0));
		if (em.n > 0)
			json_object_set_new(j, "estimate", group_est_json(&em, &g.v[i]));
		json_array_append_new(list, j);
	}
	{
		struct snap_row row;
		char t[40] = "";
		double when = po_now_wall();

		if (store_snapshot(history_store(h), id, &row) > 0) {
			po_time_str(row.time, t, sizeof(t));
			when = row.time;
		}
		*ret = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:b, s:o}",
		    "at", (json_int_t)id, "at_time", t, "by", query_by_names[q.by],
		    "page_size", (json_int_t)q.page_size,
		    "total_pages", (json_int_t)total,
		    "total_groups", (json_int_t)g.n, "approximate", st.approx,
		    "groups", list);
		query_sweep_json(h, when, *ret);
		if (em.n > 0)
			json_object_set_new(*ret, "estimate", est_meta_json(&em, false));
	}
	groups_free(&g);
	state_free(&st);
	query_free(&q);
	return 0;
}


const struct method method_top = { PO_M_TOP, M_DB, params, top };
