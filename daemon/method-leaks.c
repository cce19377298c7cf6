/*
 * method-leaks.c: `leaks`: stacks (or culprits, or modules) ranked as leak
 * suspects over a window, with the evidence for each.
 */
#include <math.h>
#include <string.h>

#include "page-ownerd.h"

static const char *const params[] = { "since", "until", "by", "match", "limit",
	"all", NULL };

/*
 * The leak score (documented in pageownerctl(1)):
 *   steadiness s = intervals that grew / intervals that changed
 *   retention  r = 1 - freed / allocated   (1 when nothing was allocated)
 *   significance z = net growth in blocks / sqrt(blocks allocated + freed)
 *   score = net growth in pages x s^2 x r^2
 * A suspect grew (net > 0), grew steadily (s >= 0.75), kept most of what
 * it allocated (r >= 0.5) and grew beyond chance (z >= 4).  A stable
 * hogger has no net growth (score 0); a churning cache frees what it
 * allocates (r near 0) and shrinks as often as it grows (s near 0.5).
 * z is how far the growth lies beyond what as many allocations and frees
 * at random would leave (their net is about their square root): over a
 * few snapshots a quiet stack that changed once or twice has s = 1 and
 * r = 1 by chance, and only a growth of 16 blocks or more kept counts.
 * Blocks are pages over the group's pages per block; the allocations are
 * at least the net growth, where a kernel gives no block identities.
 */
static void
leak_score(struct qgroup *g, double *ret_s, double *ret_r, double *ret_z,
    bool *ret_suspect)
{
	int64_t changed = g->sum.grew + g->sum.shrank;
	double s = changed ? (double)g->sum.grew / (double)changed : 0;
	double r = g->sum.alloc > 0 ? 1.0 - (double)g->sum.freed / (double)g->sum.alloc : 1.0;
	double per_block = g->blocks > 0 ? (double)g->pages / (double)g->blocks :
	    g->sum.d_blocks > 0 ? (double)g->sum.d_pages / (double)g->sum.d_blocks : 1.0;
	double events = (double)(g->sum.alloc + g->sum.freed), z = 0;

	if (r < 0)
		r = 0;
	if (per_block < 1)
		per_block = 1;
	if (g->sum.d_pages > 0) {
		if (events < (double)g->sum.d_pages)
			events = (double)g->sum.d_pages;
		z = (double)g->sum.d_pages / sqrt(per_block * events);
	}
	g->score = g->sum.d_pages > 0 ? (double)g->sum.d_pages * s * s * r * r : 0;
	*ret_s = s;
	*ret_r = r;
	*ret_z = z;
	*ret_suspect = g->sum.d_pages > 0 && s >= 0.75 && r >= 0.5 && z >= 4;
}

static int
cmp_score_desc(const void *a, const void *b)
{
	const struct qgroup *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return group_cmp_net(a, b);
}

static int
leaks(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct history *h = ctx->hist;
	json_t *all = json_object_get(req->params, "all"), *list;
	struct query q;
	struct groups g = { 0 };
	struct cover c = { 0 };
	struct qgroup **sel;
	struct snap_row last;
	int64_t intervals = 0;
	double hours;
	size_t nsel = 0;
	bool show_all = json_is_true(all);

	if (all != NULL && !json_is_boolean(all))
		return rpc_fail(err, PO_E_PARAMS, "all must be true or false");
	if (query_parse(h, req->params, true, &q, err) < 0)
		return -1;
	if (q.by != BY_STACK && q.by != BY_CULPRIT && q.by != BY_MODULE) {
		rpc_fail(err, PO_E_PARAMS, "leaks are ranked by stack, culprit or module");
		query_free(&q);
		return -1;
	}
	if (query_window_sums(h, &q, &g, &c, &intervals, err) < 0) {
		query_free(&q);
		return -1;
	}
	if (store_last_snapshot(history_store(h), &last) <= 0)
		memset(&last, 0, sizeof(last));
	hours = (q.w.t_hi - q.w.t_lo) / 3600.0;
	for (size_t i = 0; i < g.n; i++) {
		double s, r, z;
		bool suspect;

		leak_score(&g.v[i], &s, &r, &z, &suspect);
		if (!suspect && !show_all)
			g.v[i].score = -1;
	}
	groups_order(&g, (size_t)q.w.limit, cmp_score_desc);
	sel = po_xcalloc((size_t)q.w.limit + 1, sizeof(struct qgroup *));
	for (size_t i = 0; i < g.n && (int64_t)nsel < q.w.limit; i++)
		if (g.v[i].score >= 0 && (g.v[i].sum.d_pages > 0 || show_all))
			sel[nsel++] = &g.v[i];
	(void)groups_sparklines(h, q.w.lo, &c, sel, nsel);
	list = json_array();
	for (size_t i = 0; i < nsel; i++) {
		struct qgroup *gr = sel[i];
		json_t *j = group_json(h, &q, gr), *ev;
		double s, r, z, age = -1, growing = -1;
		bool suspect;
		int64_t ts_min = 0, since = 0;

		leak_score(gr, &s, &r, &z, &suspect);
		/* the oldest surviving block, and how long it has been growing */
		for (size_t k = 0; k < gr->nseries; k++) {
			struct series_row tot;

			if (store_series_totals(history_store(h), gr->series[k], &tot) <= 0)
				continue;
			if (tot.ts_min > 0 && (ts_min == 0 || tot.ts_min < ts_min))
				ts_min = tot.ts_min;
			if (tot.growing_since > 0 && (since == 0 || tot.growing_since > since))
				since = tot.growing_since;
		}
		if (ts_min > 0 && last.mono_ns > ts_min)
			age = (double)(last.mono_ns - ts_min) / 1e9;
		if (since > 0) {
			double t = history_snap_time(h, since);

			if (t > 0)
				growing = last.time - t;
		}
		ev = json_pack("{s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:f, s:f, s:f}",
		    "net_pages", (json_int_t)gr->sum.d_pages,
		    "net_bytes", (json_int_t)gr->sum.d_pages * q.page_size,
		    "slope_pages_per_hour", hours > 0 ? (double)gr->sum.d_pages / hours : 0.0,
		    "steadiness", s,
		    "intervals_grew", (json_int_t)gr->sum.grew,
		    "intervals_shrank", (json_int_t)gr->sum.shrank,
		    "allocated_pages", (json_int_t)gr->sum.alloc,
		    "freed_pages", (json_int_t)gr->sum.freed,
		    "freed_ratio", gr->sum.alloc > 0 ?
		    (double)gr->sum.freed / (double)gr->sum.alloc : 0.0,
		    "oldest_block_age_s", age, "growing_for_s", growing);
		json_object_set_new(ev, "significance", json_real(z));
		json_object_set_new(j, "score", json_real(gr->score));
		json_object_set_new(j, "suspect", json_boolean(suspect));
		json_object_set_new(j, "pages_now", json_integer(gr->pages));
		json_object_set_new(j, "evidence", ev);
		json_object_set_new(j, "sparkline", group_spark_json(gr));
		json_array_append_new(list, j);
	}
	*ret = json_pack("{s:o, s:s, s:I, s:I, s:o}",
	    "window", query_window_json(h, &q, &c, intervals), "by", query_by_names[q.by],
	    "page_size", (json_int_t)q.page_size, "intervals", (json_int_t)intervals,
	    "groups", list);
	free(sel);
	groups_free(&g);
	cover_free(&c);
	query_free(&q);
	return 0;
}


const struct method method_leaks = { PO_M_LEAKS, M_DB, params, leaks };
