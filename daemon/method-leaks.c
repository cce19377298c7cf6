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
 * A group's leak score and verdict (leakscore.c has the rule and its
 * guards; pageownerctl(1) documents it): steadiness, the retention the
 * score used (measured across two full reads of the window, else the
 * one seen from rises and falls between reads; never unknown taken as
 * "kept everything"), significance, and whether it is a suspect.  Sets
 * g->score.  query_window_sums must have walked the window (g->leak).
 */
void
leak_score(struct qgroup *g, double *ret_s, double *ret_r, double *ret_z,
    bool *ret_suspect)
{
	struct leak_evidence e;

	leak_judge(&g->leak, &e);
	g->score = e.score;
	*ret_s = e.steadiness;
	*ret_r = e.retention;
	*ret_z = e.significance;
	*ret_suspect = e.suspect;
}

/*
 * With a sampling sweep's estimates (two in the window), a group grows only
 * beyond 3 standard errors of its estimated growth.  Where its picture has
 * no diffed interval in the window (baselines only, or none of its memory
 * read again), the estimate alone decides, and the score is the estimated
 * growth.  1 when the estimate decided.
 */
static int
leak_verdict(const struct est_meta *em, struct qgroup *g, double *ret_s, double *ret_r,
    double *ret_z, bool *ret_suspect)
{
	leak_score(g, ret_s, ret_r, ret_z, ret_suspect);
	if (em->n < 2)
		return 0;
	if (g->leak.grew + g->leak.shrank == 0) {
		*ret_suspect = group_est_growing(em, g) && g->est_growth >= 2;
		g->score = g->est_growth > 0 ? g->est_growth : 0;
		return 1;
	}
	*ret_suspect = *ret_suspect && group_est_growing(em, g);
	return 0;
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
	struct est_meta em;
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
	if (query_estimates(h, q.w.lo, q.w.hi, &g, &em) < 0) {
		groups_free(&g);
		cover_free(&c);
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "a stored estimate is damaged");
	}
	if (store_last_snapshot(history_store(h), &last) <= 0)
		memset(&last, 0, sizeof(last));
	hours = (q.w.t_hi - q.w.t_lo) / 3600.0;
	for (size_t i = 0; i < g.n; i++) {
		double s, r, z;
		bool suspect;

		(void)leak_verdict(&em, &g.v[i], &s, &r, &z, &suspect);
		if (!suspect && !show_all)
			g.v[i].score = -1;
	}
	groups_order(&g, (size_t)q.w.limit, cmp_score_desc);
	sel = po_xcalloc((size_t)q.w.limit + 1, sizeof(struct qgroup *));
	for (size_t i = 0; i < g.n && (int64_t)nsel < q.w.limit; i++)
		if (g.v[i].score >= 0 && (g.v[i].sum.d_pages > 0 || show_all ||
		    (em.n == 2 && g.v[i].est_growth > 0)))
			sel[nsel++] = &g.v[i];
	(void)groups_sparklines(h, q.w.lo, &c, sel, nsel);
	list = json_array();
	for (size_t i = 0; i < nsel; i++) {
		struct qgroup *gr = sel[i];
		json_t *j = group_json(h, &q, gr), *ev;
		double s, r, z, age = -1, growing = -1;
		struct leak_evidence le;
		bool suspect, by_est;
		int64_t ts_min = 0, since = 0;

		by_est = leak_verdict(&em, gr, &s, &r, &z, &suspect) == 1;
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
		leak_judge(&gr->leak, &le);
		ev = json_pack("{s:I, s:I, s:f, s:f, s:I, s:I, s:o, s:o, s:o, s:f, s:f}",
		    "net_pages", (json_int_t)le.net_pages,
		    "net_bytes", (json_int_t)le.net_pages * q.page_size,
		    "slope_pages_per_hour", hours > 0 ? (double)le.net_pages / hours : 0.0,
		    "steadiness", s,
		    "intervals_grew", (json_int_t)le.grew,
		    "intervals_shrank", (json_int_t)le.shrank,
		    "allocated_pages", le.freed_known ?
		    json_integer((json_int_t)le.alloc) : json_null(),
		    "freed_pages", le.freed_known ?
		    json_integer((json_int_t)le.freed) : json_null(),
		    "freed_ratio", le.freed_known ? json_real(le.freed_ratio) : json_null(),
		    "oldest_block_age_s", age, "growing_for_s", growing);
		json_object_set_new(ev, "significance", json_real(z));
		json_object_set_new(ev, "retention", json_real(r));
		json_object_set_new(ev, "retention_from", json_string(le.freed_known ?
		    "full reads" : "rises and falls"));
		json_object_set_new(ev, "seen_rise_pages", json_integer(le.rose));
		json_object_set_new(ev, "seen_fall_pages", json_integer(le.fell));
		json_object_set_new(ev, "context_rise_pages", json_integer(le.ctx_rose));
		json_object_set_new(ev, "context_fall_pages", json_integer(le.ctx_fell));
		json_object_set_new(ev, "pages_per_block", json_real(le.pages_per_block));
		json_object_set_new(ev, "order_from", json_string(le.order_known ?
		    "full read" : "page counts"));
		json_object_set_new(ev, "net_blocks", json_real(le.net_blocks));
		if (!group_est_growing(&em, gr))
			json_object_set_new(ev, "not_suspect_because", json_string("its "
			    "estimated growth is within 3 standard errors"));
		else if (by_est)
			json_object_set_new(ev, "not_suspect_because", suspect ? json_null() :
			    json_string("its estimated growth is under 2 pages"));
		else
			json_object_set_new(ev, "not_suspect_because", le.why_not != NULL ?
			    json_string(le.why_not) : json_null());
		json_object_set_new(ev, "judged_by", json_string(by_est ? "estimate" :
		    "reads"));
		if (em.n > 0)
			json_object_set_new(j, "estimate", group_est_json(&em, gr));
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
	if (em.n > 0)
		json_object_set_new(*ret, "estimate", est_meta_json(&em, true));
	free(sel);
	groups_free(&g);
	cover_free(&c);
	query_free(&q);
	return 0;
}


const struct method method_leaks = { PO_M_LEAKS, M_DB, params, leaks };
