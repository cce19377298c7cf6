/*
 * method-diff.c: `diff`: what changed between two points, the largest
 * change (growth or shrinkage) first.
 */
#include "page-ownerd.h"

static const char *const params[] = { "a", "b", "by", "match", "limit", NULL };

/* The largest change first, growth or shrinkage: a freed leak is news too. */
static int
cmp_change_desc(const void *a, const void *b)
{
	const struct qgroup *x = a, *y = b;
	int64_t ax = x->sum.d_pages < 0 ? -x->sum.d_pages : x->sum.d_pages;
	int64_t ay = y->sum.d_pages < 0 ? -y->sum.d_pages : y->sum.d_pages;

	if (ax != ay)
		return ax > ay ? -1 : 1;
	return group_cmp_net(a, b);
}

static int
diff(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct history *h = ctx->hist;
	json_t *ja = json_object_get(req->params, "a"), *jb = json_object_get(req->params, "b");
	struct query q;
	struct groups g = { 0 };
	struct state sa = { 0 }, sb = { 0 };
	struct cover c = { 0 };
	struct vec v = { 0 };
	int64_t a, b, tot_a = 0, tot_b = 0;
	size_t shown = 0;
	char *cause = NULL;
	json_t *list;
	int code, r = 0;

	if (ja == NULL || jb == NULL)
		return rpc_fail(err, PO_E_PARAMS, "'a' and 'b' (snapshot ids or times) "
		    "are required");
	if (query_parse(h, req->params, false, &q, err) < 0)
		return -1;
	if ((code = window_point(history_store(h), ja, "a", &a, &cause)) != 0 ||
	    (code = window_point(history_store(h), jb, "b", &b, &cause)) != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		query_free(&q);
		return -1;
	}
	if (history_refresh(h) < 0 || history_state_at(h, a, &sa) < 0 ||
	    history_state_at(h, b, &sb) < 0 ||
	    cover_build(h, a < b ? a : b, a < b ? b : a, LEVEL_DAY, &c) < 0) {
		state_free(&sa);
		state_free(&sb);
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(history_store(h)));
	}
	r = cover_sum(&c, history_max_series(h), &v, NULL);
	groups_build(h, &q, &g);
	groups_add_acc(&g, &v);
	groups_set_state(&g, &sa, true);
	groups_set_state(&g, &sb, false);
	for (size_t i = 0; i < g.n; i++) {
		/* sort key: the change from a to b */
		g.v[i].sum.d_pages = g.v[i].pages - g.v[i].pages_a;
		tot_a += g.v[i].pages_a;
		tot_b += g.v[i].pages;
	}
	groups_order(&g, (size_t)q.w.limit, cmp_change_desc);
	list = json_array();
	for (size_t i = 0; i < g.n && (int64_t)shown < q.w.limit; i++) {
		const struct qgroup *gr = &g.v[i];
		json_t *j;

		if (gr->pages == 0 && gr->pages_a == 0 && gr->sum.alloc == 0)
			continue;
		j = group_json(h, &q, gr);
		json_object_set_new(j, "pages_a", json_integer(gr->pages_a));
		json_object_set_new(j, "pages_b", json_integer(gr->pages));
		json_object_set_new(j, "net_pages", json_integer(gr->pages - gr->pages_a));
		json_object_set_new(j, "allocated_pages", json_integer(gr->sum.alloc));
		json_object_set_new(j, "freed_pages", json_integer(gr->sum.freed));
		json_array_append_new(list, j);
		shown++;
	}
	{
		char ta[40], tb[40];

		po_time_str(history_snap_time(h, a), ta, sizeof(ta));
		po_time_str(history_snap_time(h, b), tb, sizeof(tb));
		*ret = json_pack("{s:{s:I, s:s}, s:{s:I, s:s}, s:s, s:I, s:I, s:I, s:b, "
		    "s:b, s:o}",
		    "a", "snapshot", (json_int_t)a, "time", ta,
		    "b", "snapshot", (json_int_t)b, "time", tb,
		    "by", query_by_names[q.by], "page_size", (json_int_t)q.page_size,
		    "total_pages_a", (json_int_t)tot_a, "total_pages_b", (json_int_t)tot_b,
		    "approximate", c.approx || sa.approx || sb.approx,
		    "reversed", a > b, "groups", list);
	}
	vec_free(&v);
	groups_free(&g);
	state_free(&sa);
	state_free(&sb);
	cover_free(&c);
	query_free(&q);
	return r < 0 ? rpc_fail(err, PO_E_STORAGE, "a stored blob is damaged") : 0;
}


const struct method method_diff = { PO_M_DIFF, M_DB, params, diff };
