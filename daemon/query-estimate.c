/*
 * query-estimate.c: a sampling sweep's estimates (sample.c stores them) in
 * the replies of top, top-growers and leaks: per group, its estimated pages
 * at the last estimated snapshot of the window and its growth since the
 * first, with their standard errors; the 3-standard-error rule.
 */
#include <math.h>
#include <string.h>

#include "page-ownerd.h"

/* An estimate blob into the groups: the last one's pages and variance, or
 * the first one's taken from the growth. */
static int
est_apply(struct history *h, struct groups *g, const struct store_blob *b, bool last)
{
	struct pack_reader rd;
	int64_t f[EST_FIELDS];
	uint32_t series;
	int r;

	if ((r = pack_reader_init(&rd, b->p, b->len, EST_FIELDS)) < 0)
		return r;
	while ((r = pack_next(&rd, &series, f)) > 0) {
		double pages = (double)f[0] / EST_SCALE, se = (double)f[1] / EST_SCALE;
		struct qgroup *gr;
		int64_t gi;

		if ((int64_t)series > history_max_series(h) ||
		    (gi = g->of_series[series]) == 0)
			continue;
		gr = &g->v[gi - 1];
		/* a group's standard error: its series' summed, as if they moved
		 * together (they share windows): an upper bound */
		if (last) {
			gr->est_pages += pages;
			gr->est_var += se;
			gr->est_growth += pages;
		} else {
			gr->est_growth -= pages;
			gr->est_gvar += se;
		}
	}
	pack_reader_free(&rd);
	return r;
}

/*
 * The estimates of snapshots in [lo, hi] (a sampling sweep's) into the
 * groups: at the last one, and the growth since the first.  Before any
 * groups_order (the groups are found by series).  ret->n: 0, 1 or 2.
 */
int
query_estimates(struct history *h, int64_t lo, int64_t hi, struct groups *g,
    struct est_meta *ret)
{
	struct store_blob a = { 0 }, b = { 0 };
	int r;

	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < g->n; i++)
		g->v[i].est_pages = g->v[i].est_var = g->v[i].est_growth =
		    g->v[i].est_gvar = 0;
	if ((r = store_estimate_in(history_store(h), lo, hi, true, &ret->last, &b)) <= 0)
		return r;
	if ((r = est_apply(h, g, &b, true)) < 0)
		goto out;
	ret->n = 1;
	/* est_var, est_gvar held standard errors (summed) until here */
	if (ret->last.snapshot > lo) {
		r = store_estimate_in(history_store(h), lo, ret->last.snapshot - 1, false,
		    &ret->first, &a);
		if (r < 0 || (r > 0 && (r = est_apply(h, g, &a, false)) < 0))
			goto out;
		if (r == 0 && ret->first.snapshot > 0)
			ret->n = 2;
	}
	/* independent draws: the growth's variance is the two's summed */
	for (size_t i = 0; i < g->n; i++) {
		struct qgroup *gr = &g->v[i];

		gr->est_gvar = gr->est_var * gr->est_var + gr->est_gvar * gr->est_gvar;
		gr->est_var *= gr->est_var;
	}
	r = 0;
out:
	if (r < 0)
		ret->n = 0;
	store_blob_free(&a);
	store_blob_free(&b);
	return r;
}

/* The reply's "estimate": which snapshots, and how they were drawn. */
json_t *
est_meta_json(const struct est_meta *m, bool growth)
{
	json_t *j = json_pack("{s:I, s:I, s:I}", "windows", (json_int_t)m->last.windows,
	    "sampled", (json_int_t)m->last.sampled, "strata", (json_int_t)m->last.strata);

	if (!growth)
		json_object_set_new(j, "snapshot", json_integer(m->last.snapshot));
	else {
		json_object_set_new(j, "from_snapshot", json_integer(m->n == 2 ?
		    m->first.snapshot : m->last.snapshot));
		json_object_set_new(j, "to_snapshot", json_integer(m->last.snapshot));
	}
	return j;
}

/* Grows beyond chance: more than 3 standard errors (true without two
 * estimates: then the picture's figures decide alone). */
bool
group_est_growing(const struct est_meta *m, const struct qgroup *gr)
{
	return m->n < 2 || gr->est_growth > 3 * sqrt(gr->est_gvar);
}

/* A group's "estimate". */
json_t *
group_est_json(const struct est_meta *m, const struct qgroup *gr)
{
	json_t *j = json_pack("{s:f, s:f}", "pages", gr->est_pages,
	    "se_pages", sqrt(gr->est_var));

	if (m->n == 2) {
		json_object_set_new(j, "growth_pages", json_real(gr->est_growth));
		json_object_set_new(j, "growth_se_pages", json_real(sqrt(gr->est_gvar)));
		json_object_set_new(j, "growing", json_boolean(group_est_growing(m, gr)));
	}
	return j;
}
