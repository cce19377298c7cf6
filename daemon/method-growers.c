/*
 * method-growers.c: `growers`: the largest net growth over a window.
 */
#include <math.h>

#include "page-ownerd.h"

static const char *const params[] = { "since", "until", "by", "match", "limit", NULL };

static int
growers(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct history *h = ctx->hist;
	struct query q;
	struct groups g = { 0 };
	struct cover c = { 0 };
	struct qgroup **sel;
	struct est_meta em;
	int64_t intervals = 0;
	double hours;
	size_t nsel = 0;
	json_t *list;

	if (query_parse(h, req->params, true, &q, err) < 0)
		return -1;
	q.no_leak_evidence = true;
	if (query_window_sums(h, &q, &g, &c, &intervals, err) < 0) {
		query_free(&q);
		return -1;
	}
	if (query_estimates(h, q.w.lo, q.w.hi, &g, &em) < 0) {
		groups_free(&g);
		cover_free(&c);
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "a stored estimate is damaged");
	}
	hours = (q.w.t_hi - q.w.t_lo) / 3600.0;
	/*
	 * Sampled (two estimates in the window): the estimated growth ranks,
	 * and one within 3 standard errors is not growth; the picture's own
	 * net growth is partial where windows were not read in the window.
	 */
	for (size_t i = 0; i < g.n && em.n == 2; i++)
		g.v[i].sum.d_pages = group_est_growing(&em, &g.v[i]) ?
		    llround(g.v[i].est_growth) : 0;
	groups_order(&g, (size_t)q.w.limit, group_cmp_net);
	sel = po_xcalloc((size_t)q.w.limit + 1, sizeof(struct qgroup *));
	for (size_t i = 0; i < g.n && (int64_t)nsel < q.w.limit; i++)
		if (g.v[i].sum.d_pages > 0)
			sel[nsel++] = &g.v[i];
	if (groups_sparklines(h, q.w.lo, &c, sel, nsel) < 0) {
		free(sel);
		groups_free(&g);
		cover_free(&c);
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "a stored blob is damaged");
	}
	list = json_array();
	for (size_t i = 0; i < nsel; i++) {
		const struct qgroup *gr = sel[i];
		json_t *j = group_json(h, &q, gr);

		json_object_set_new(j, "net_pages", json_integer(gr->sum.d_pages));
		json_object_set_new(j, "net_bytes", json_integer(gr->sum.d_pages * q.page_size));
		json_object_set_new(j, "allocated_pages", json_integer(gr->sum.alloc));
		json_object_set_new(j, "freed_pages", json_integer(gr->sum.freed));
		json_object_set_new(j, "rate_pages_per_hour", json_real(hours > 0 ?
		    (double)gr->sum.d_pages / hours : 0));
		json_object_set_new(j, "pages_now", json_integer(gr->pages));
		json_object_set_new(j, "bytes_now", json_integer(gr->pages * q.page_size));
		json_object_set_new(j, "sparkline", group_spark_json(gr));
		if (em.n > 0)
			json_object_set_new(j, "estimate", group_est_json(&em, gr));
		json_array_append_new(list, j);
	}
	*ret = json_pack("{s:o, s:s, s:I, s:I, s:o}",
	    "window", query_window_json(h, &q, &c, intervals), "by", query_by_names[q.by],
	    "page_size", (json_int_t)q.page_size, "total_groups", (json_int_t)g.n,
	    "groups", list);
	if (em.n > 0)
		json_object_set_new(*ret, "estimate", est_meta_json(&em, true));
	free(sel);
	groups_free(&g);
	cover_free(&c);
	query_free(&q);
	return 0;
}


const struct method method_growers = { PO_M_GROWERS, M_DB, params, growers };
