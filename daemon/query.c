/*
 * query.c: what every answer shares.  The vocabulary (by, match and the
 * window, into a struct query), series folded into groups (one per series,
 * or by culprit the stack series that share one), the groups' sums over a
 * window and values at its ends, their order, names and sparklines, and
 * naming one series or stack as a user would.
 */
#include <errno.h>
#include <fnmatch.h>
#include <string.h>
#include <unistd.h>

#include "page-ownerd.h"

#define SPARK_POINTS	24

const char *const query_by_names[] = {
	"stack", "culprit", "module", "comm", "memcg", "order",
};

void
query_free(struct query *q)
{
	for (size_t i = 0; i < q->nm; i++) {
		free(q->m[i].key);
		free(q->m[i].pattern);
	}
}

enum series_kind
query_by_kind(enum by b)
{
	switch (b) {
	case BY_STACK: case BY_CULPRIT: return SERIES_STACK;
	case BY_MODULE: return SERIES_MODULE;
	case BY_COMM: return SERIES_COMM;
	case BY_MEMCG: return SERIES_MEMCG;
	case BY_ORDER: return SERIES_ORDER;
	}
	return SERIES_STACK;
}

int
query_parse(struct history *h, json_t *params, bool window, struct query *q,
    struct rpc_err *err)
{
	json_t *by = json_object_get(params, "by"), *match = json_object_get(params, "match");
	char *cause = NULL;
	size_t i;
	json_t *m;
	int code;

	memset(q, 0, sizeof(*q));
	q->page_size = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
	if (by != NULL) {
		if (!json_is_string(by))
			return rpc_fail(err, PO_E_PARAMS, "by must be a string");
		for (i = 0; i < PO_ARRAY_SIZE(query_by_names); i++)
			if (strcmp(json_string_value(by), query_by_names[i]) == 0)
				break;
		if (i == PO_ARRAY_SIZE(query_by_names))
			return rpc_fail(err, PO_E_PARAMS, "by: '%s' is not one of stack, "
			    "culprit, module, comm, memcg, order", json_string_value(by));
		q->by = (enum by)i;
	}
	if (match != NULL) {
		if (json_is_string(match)) {
			json_t *a = json_array();

			json_array_append(a, match);
			json_object_set_new(params, "match", a);
			match = a;
		}
		if (!json_is_array(match) || json_array_size(match) > PO_ARRAY_SIZE(q->m))
			return rpc_fail(err, PO_E_PARAMS, "match must be a list of at "
			    "most 16 \"KEY=VALUE\" strings");
		json_array_foreach(match, i, m) {
			const char *s = json_string_value(m), *eq;
			enum series_kind want, have;

			if (s == NULL || (eq = strchr(s, '=')) == NULL || eq == s) {
				query_free(q);
				return rpc_fail(err, PO_E_PARAMS, "match: want KEY=VALUE");
			}
			q->m[q->nm].key = po_xstrndup(s, (size_t)(eq - s));
			q->m[q->nm].pattern = po_xstrdup(eq + 1);
			q->nm++;
			/* a filter must speak of the series we group */
			want = query_by_kind(q->by);
			if (strcmp(q->m[q->nm - 1].key, "stack") == 0 ||
			    strcmp(q->m[q->nm - 1].key, "culprit") == 0)
				have = SERIES_STACK;
			else if (series_kind_parse(q->m[q->nm - 1].key, &have) < 0) {
				rpc_fail(err, PO_E_PARAMS, "match: unknown key '%s' (stack, "
				    "culprit, module, comm, memcg, order)", q->m[q->nm - 1].key);
				query_free(q);
				return -1;
			}
			if (have != want && !(want == SERIES_STACK && have == SERIES_MODULE)) {
				rpc_fail(err, PO_E_PARAMS, "match: '%s' cannot filter series "
				    "grouped by %s (history is kept per stack and per comm, "
				    "memcg, module and order, not across them); group by "
				    "%s instead", q->m[q->nm - 1].key, query_by_names[q->by],
				    q->m[q->nm - 1].key);
				query_free(q);
				return -1;
			}
		}
	}
	if (!window) {	/* a point, or two: only how many rows */
		q->w.limit = PO_DEFAULT_LIMIT;
		if (rpc_param_limit(params, &q->w.limit, err) < 0) {
			query_free(q);
			return -1;
		}
		return 0;
	}
	code = window_parse(history_store(h), params, PO_DEFAULT_LIMIT, &q->w, &cause);
	if (code != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		query_free(q);
		return -1;
	}
	return 0;
}

/* Does series id pass the filters, for this grouping? */
static bool
series_wanted(struct history *h, const struct query *q, int64_t id)
{
	const struct sinfo *si = history_series(h, id);

	if (si->kind != (int)query_by_kind(q->by))
		return false;
	for (size_t i = 0; i < q->nm; i++) {
		const char *k = q->m[i].key, *p = q->m[i].pattern;

		if (strcmp(k, "stack") == 0) {
			if (strncmp(si->key, p, strlen(p)) != 0)
				return false;
		} else if (strcmp(k, "culprit") == 0) {
			if (fnmatch(p, si->culprit, 0) != 0)
				return false;
		} else if (strcmp(k, "module") == 0 && si->kind == SERIES_STACK) {
			const char *mod = si->module[0] ? si->module : "kernel";

			if (fnmatch(p, mod, 0) != 0)
				return false;
		} else if (fnmatch(p, si->key, 0) != 0) {
			return false;
		}
	}
	return true;
}

void
groups_free(struct groups *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i].spark);
	free(g->v);
	free(g->pool);
	free(g->of_series);
	memset(g, 0, sizeof(*g));
}

/*
 * The groups of a query: one per wanted series, or (by culprit) one per
 * culprit name.  Two passes: assign each series a group, then lay the
 * series of every group out in one pool.
 */
void
groups_build(struct history *h, const struct query *q, struct groups *g)
{
	struct po_strtab *culprits = NULL;
	uint32_t *group_of_culprit = NULL;
	size_t cap = 0, vcap = 0, *fill;
	int64_t total = 0;

	memset(g, 0, sizeof(*g));
	g->of_series = po_xcalloc((size_t)history_max_series(h) + 1, sizeof(int64_t));
	if (q->by == BY_CULPRIT)
		po_strtab_new(&culprits);
	for (int64_t id = 1; id <= history_max_series(h); id++) {
		size_t gi = g->n;

		if (!series_wanted(h, q, id))
			continue;
		if (culprits != NULL) {
			const char *c = history_series(h, id)->culprit;
			uint32_t cid = po_strtab_intern(culprits, c, strlen(c));

			if (cid >= cap || group_of_culprit == NULL) {
				size_t ncap = cap * 2 > (size_t)cid + 1024 ? cap * 2 :
				    (size_t)cid + 1024;

				group_of_culprit = po_xrealloc(group_of_culprit, ncap,
				    sizeof(uint32_t));
				for (size_t k = cap; k < ncap; k++)
					group_of_culprit[k] = UINT32_MAX;
				cap = ncap;
			}
			if (group_of_culprit[cid] != UINT32_MAX)
				gi = group_of_culprit[cid];
			else
				group_of_culprit[cid] = (uint32_t)g->n;
		}
		if (gi == g->n) {
			if (g->n == vcap) {	/* doubling: 100,000 stacks are 100,000 groups */
				vcap = vcap ? vcap * 2 : 256;
				g->v = po_xrealloc(g->v, vcap, sizeof(*g->v));
			}
			memset(&g->v[g->n], 0, sizeof(*g->v));
			g->v[g->n].first_series = id;
			g->n++;
		}
		g->v[gi].nseries++;
		g->of_series[id] = (int64_t)gi + 1;
		total++;
	}
	po_strtab_free(culprits);
	free(group_of_culprit);
	g->pool = po_xcalloc((size_t)total + 1, sizeof(int64_t));
	if (g->v == NULL)
		return;		/* no series wanted */
	fill = po_xcalloc(g->n + 1, sizeof(*fill));
	{
		int64_t off = 0;

		for (size_t i = 0; i < g->n; i++) {
			g->v[i].series = g->pool + off;
			off += (int64_t)g->v[i].nseries;
		}
	}
	for (int64_t id = 1; id <= history_max_series(h); id++)
		if (g->of_series[id] != 0) {
			size_t gi = (size_t)g->of_series[id] - 1;

			g->v[gi].series[fill[gi]++] = id;
		}
	free(fill);
}

void
groups_add_acc(struct groups *g, const struct vec *v)
{
	for (size_t i = 0; i < g->n; i++)
		for (size_t k = 0; k < g->v[i].nseries; k++) {
			const struct acc *a = &v->a[g->v[i].series[k]];
			struct acc *s = &g->v[i].sum;

			s->d_pages += a->d_pages;
			s->d_blocks += a->d_blocks;
			s->alloc += a->alloc;
			s->freed += a->freed;
			s->grew = s->grew > a->grew ? s->grew : a->grew;
			s->shrank = s->shrank > a->shrank ? s->shrank : a->shrank;
		}
}

void
groups_set_state(struct groups *g, const struct state *st, bool start)
{
	if (st->pages == NULL || st->blocks == NULL)
		return;		/* an empty history */
	for (size_t i = 0; i < g->n; i++) {
		int64_t p = 0, b = 0;

		for (size_t k = 0; k < g->v[i].nseries; k++) {
			int64_t id = g->v[i].series[k];

			if (id < st->n) {
				p += st->pages[id];
				b += st->blocks[id];
			}
		}
		if (start) {
			g->v[i].pages_a = p;
			g->v[i].blocks_a = b;
		} else {
			g->v[i].pages = p;
			g->v[i].blocks = b;
		}
	}
}

/* JSON naming a group. */
json_t *
group_json(struct history *h, const struct query *q, const struct qgroup *gr)
{
	const struct sinfo *si = history_series(h, gr->first_series);
	json_t *j = json_object();

	switch (q->by) {
	case BY_STACK:
		json_object_set_new(j, "stack_id", json_string(si->key));
		json_object_set_new(j, "series", json_integer(gr->first_series));
		__attribute__((fallthrough));
	case BY_CULPRIT:
		json_object_set_new(j, "culprit", json_string(si->culprit));
		json_object_set_new(j, "module", json_string(si->module[0] ?
		    si->module : "kernel"));
		if (q->by == BY_CULPRIT)
			json_object_set_new(j, "stacks", json_integer((json_int_t)gr->nseries));
		break;
	case BY_ORDER:
		json_object_set_new(j, "order", json_integer(strtol(si->key, NULL, 10)));
		json_object_set_new(j, "series", json_integer(gr->first_series));
		break;
	default:
		json_object_set_new(j, query_by_names[q->by], json_string(si->key));
		json_object_set_new(j, "series", json_integer(gr->first_series));
		break;
	}
	return j;
}

/*
 * The window, and where its figures come from: full reads of page_owner
 * give every series and the pages allocated and freed; reads of
 * page_owner_stacks give stack and module series only.
 */
json_t *
query_window_json(struct history *h, const struct query *q, const struct cover *c,
    int64_t nsnap)
{
	int64_t full = 0, stacks = 0;
	char a[40], b[40];
	json_t *j;

	/* from lo + 1, as "snapshots" counts */
	(void)store_snapshot_kinds(history_store(h), q->w.lo + 1, q->w.hi, &full, &stacks);
	po_time_str(q->w.t_lo, a, sizeof(a));
	po_time_str(q->w.t_hi, b, sizeof(b));
	j = json_pack("{s:I, s:I, s:s, s:s, s:f, s:f, s:I, s:s, s:b, s:s?, "
	    "s:{s:I, s:I}}",
	    "since", (json_int_t)q->w.lo, "until", (json_int_t)q->w.hi,
	    "since_time", a, "until_time", b,
	    "since_unix", q->w.t_lo, "until_unix", q->w.t_hi,
	    "snapshots", (json_int_t)nsnap,
	    "resolution", c == NULL || c->n == 0 ? "snapshot" :
	    c->finest == LEVEL_SNAPSHOT ? "snapshot" :
	    c->finest == LEVEL_HOUR ? "hour" : "day",
	    "approximate", c != NULL && c->approx,
	    "aligned", q->aligned == LEVEL_DAY ? "day" : q->aligned == LEVEL_HOUR ?
	    "hour" : NULL,
	    "reads", "full", (json_int_t)full, "stacks", (json_int_t)stacks);
	query_sweep_json(h, q->w.t_hi, j);
	return j;
}

/*
 * A sweep's picture rests on PFN windows read at different times: into
 * `into`, "sweep" with the windows and how old the oldest one is at time t
 * (nothing when the history holds no sweep).
 */
void
query_sweep_json(struct history *h, double t, json_t *into)
{
	int64_t nwin = 0, oldest_snap = 0;
	double oldest = 0;

	if (into != NULL && store_windows_summary(history_store(h), &nwin, &oldest,
	    &oldest_snap) > 0)
		json_object_set_new(into, "sweep", json_pack("{s:I, s:I, s:f}",
		    "windows", (json_int_t)nwin,
		    "oldest_window_snapshot", (json_int_t)oldest_snap,
		    "oldest_window_age_s", t > oldest ? t - oldest : 0.0));
}

/*
 * A long window given relative to now ("-30d") starts at the beginning of
 * the day (or hour) its first snapshot falls in, so that whole rollups
 * cover it: "the last 30 days" need not be exact to the minute 30 days
 * ago, and this saves decoding up to a day of hourly rollups.  The reply
 * says so ("aligned").  A snapshot id or a time is taken as it is.
 */
void
query_align(struct history *h, struct query *q)
{
	double span = q->w.t_hi - q->w.t_lo;
	int level = span > 2 * 86400 ? LEVEL_DAY : span > 6 * 3600 ? LEVEL_HOUR : 0;
	struct bucket_meta bm;

	if (level == 0 || !q->w.relative || cover_buckets_at(h, level, q->w.lo, &bm) <= 0)
		return;
	if (bm.first <= q->w.lo && bm.first > q->w.first) {
		double t;

		q->w.lo = bm.first - 1;
		t = history_snap_time(h, q->w.lo);
		if (t > 0)
			q->w.t_lo = t;
		q->aligned = level;
	}
}

/* Sparkline values of the chosen groups: their value at each segment end. */
int
groups_sparklines(struct history *h, int64_t lo, struct cover *c, struct qgroup **sel,
    size_t nsel)
{
	size_t nseg = c->n, step;
	struct state *resets = NULL;
	int64_t *vals;

	if (nsel == 0)
		return 0;
	if (cover_reset_states(h, c, lo, true, &resets) < 0)
		return -EIO;
	/* walk back from the end: value before a segment = after it - its delta */
	vals = po_xcalloc(nsel * (nseg + 1), sizeof(int64_t));
	for (size_t k = 0; k < nsel; k++)
		vals[k * (nseg + 1) + nseg] = sel[k]->pages;
	for (size_t s = nseg; s-- > 0;) {
		struct segment *seg = &c->v[s];

		for (size_t k = 0; k < nsel; k++) {
			int64_t sum[4];

			if (segment_find(seg, sel[k]->series, sel[k]->nseries, sum) < 0) {
				free(vals);
				cover_reset_states_free(resets, nseg);
				return -EBADMSG;
			}
			vals[k * (nseg + 1) + s] = seg->reset ?
			    state_sum(&resets[s], sel[k]->series, sel[k]->nseries, false) :
			    vals[k * (nseg + 1) + s + 1] - sum[0];
		}
	}
	cover_reset_states_free(resets, nseg);
	/* sample SPARK_POINTS evenly, the last point being the end */
	step = (nseg + SPARK_POINTS) / SPARK_POINTS;
	for (size_t k = 0; k < nsel; k++) {
		int n = 0;
		size_t first = nseg % step;

		free(sel[k]->spark);
		sel[k]->spark = po_xcalloc(SPARK_POINTS, sizeof(int64_t));
		for (size_t s = first; s <= nseg && n < SPARK_POINTS; s += step)
			sel[k]->spark[n++] = vals[k * (nseg + 1) + s];
		sel[k]->nspark = n;
	}
	free(vals);
	return 0;
}

json_t *
group_spark_json(const struct qgroup *g)
{
	json_t *a = json_array();

	for (int i = 0; i < g->nspark; i++)
		json_array_append_new(a, json_integer(g->spark[i]));
	return a;
}

/*
 * Put the k best groups (by cmp, best first) at the front of g->v, in
 * order; the rest follow in no order.  A bounded heap: a query wants the
 * top 20 of 20,000 stacks, not all of them sorted.
 */
void
groups_order(struct groups *g, size_t k, int (*cmp)(const void *, const void *))
{
	struct qgroup *out;
	size_t *heap, n = 0;
	uint8_t *taken;

	if (k >= g->n / 4 || g->n < 64) {
		if (g->n > 1)
			qsort(g->v, g->n, sizeof(*g->v), cmp);
		return;
	}
	/* heap of the k best so far, the worst of them at the root */
	heap = po_xcalloc(k + 1, sizeof(*heap));
	for (size_t i = 0; i < g->n; i++) {
		size_t c, p;

		if (n == k) {
			if (cmp(&g->v[i], &g->v[heap[0]]) >= 0)
				continue;	/* not better than the worst kept */
			heap[0] = i;
			for (p = 0; (c = 2 * p + 1) < n; p = c) {
				if (c + 1 < n && cmp(&g->v[heap[c + 1]], &g->v[heap[c]]) > 0)
					c++;
				if (cmp(&g->v[heap[c]], &g->v[heap[p]]) <= 0)
					break;
				size_t t = heap[c]; heap[c] = heap[p]; heap[p] = t;
			}
			continue;
		}
		heap[n] = i;
		for (c = n++; c > 0 && cmp(&g->v[heap[c]], &g->v[heap[(c - 1) / 2]]) > 0;
		    c = (c - 1) / 2) {
			size_t t = heap[c]; heap[c] = heap[(c - 1) / 2]; heap[(c - 1) / 2] = t;
		}
	}
	taken = po_xcalloc(g->n, 1);
	out = po_xcalloc(g->n, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		out[i] = g->v[heap[i]];
		taken[heap[i]] = 1;
	}
	qsort(out, n, sizeof(*out), cmp);
	for (size_t i = 0, j = n; i < g->n; i++)
		if (!taken[i])
			out[j++] = g->v[i];
	free(g->v);
	g->v = out;
	free(taken);
	free(heap);
}

int
group_cmp_pages(const void *a, const void *b)
{
	const struct qgroup *x = a, *y = b;

	if (x->pages != y->pages)
		return x->pages > y->pages ? -1 : 1;
	return x->first_series < y->first_series ? -1 : 1;
}

int
group_cmp_net(const void *a, const void *b)
{
	const struct qgroup *x = a, *y = b;

	if (x->sum.d_pages != y->sum.d_pages)
		return x->sum.d_pages > y->sum.d_pages ? -1 : 1;
	return x->first_series < y->first_series ? -1 : 1;
}
/*
 * The leak evidence of every group (leakscore.c): the window walked point
 * by point, each point tagged with the read that measured it, after its
 * context (from the last full read before the window to its start).  A full
 * read is a point of every group (it measured them all, changed or not);
 * a stacks read only of the groups it changed, which leaves the evidence
 * as it would be with every point.  The window's start is a point too;
 * when it is a stacks read, the last full read before it gives the
 * blocks (and so the order).  Rollup segments are spans: their summed
 * change, interval counts and whether they hold full reads.
 */
struct leak_walk {
	struct groups	*g;
	int64_t		*d;		/* by group: d_pages, d_blocks, alloc, freed,
					   grew, shrank */
	size_t		*touched;	/* groups changed in this segment */
	uint8_t		*mark;		/* by group: listed in touched */
	size_t		 ntouched;
	int64_t		 max_series;
};

#define LW_N	6

static void
lw_collect(struct leak_walk *w, uint32_t series, const int64_t *f, int nf)
{
	int64_t gi, *d;

	if ((int64_t)series > w->max_series || (gi = w->g->of_series[series]) == 0)
		return;
	d = &w->d[(size_t)(gi - 1) * LW_N];
	if (!w->mark[gi - 1]) {
		w->mark[gi - 1] = 1;
		w->touched[w->ntouched++] = (size_t)(gi - 1);
	}
	for (int i = 0; i < 4; i++)
		d[i] += f[i];
	if (nf == BK__N) {	/* intervals: the most of any series */
		if (f[BK_GREW] > d[4])
			d[4] = f[BK_GREW];
		if (f[BK_SHRANK] > d[5])
			d[5] = f[BK_SHRANK];
	}
}

/* Feed every group the points of one cover's segments (lo: the cover's start). */
static int
lw_segments(struct leak_walk *w, struct history *h, struct cover *c, int64_t lo,
    const struct snap_ref *refs, size_t nrefs)
{
	struct groups *g = w->g;
	struct state *resets = NULL;
	size_t ri = 0;
	int r;

	if ((r = cover_reset_states(h, c, lo, false, &resets)) < 0)
		return r;
	for (size_t k = 0; k < c->n; k++) {
		const struct segment *seg = &c->v[k];
		int nf = seg->level == LEVEL_SNAPSHOT ? CH__N : BK__N;
		struct pack_reader pr;
		int64_t f[BK__N], nfull = 0, nstacks = 0;
		uint32_t series;
		bool full = false, merged = false, all;

		if (pack_reader_init(&pr, seg->blob.p, seg->blob.len, (unsigned)nf) < 0) {
			r = -EBADMSG;
			break;
		}
		w->ntouched = 0;
		while ((r = pack_next(&pr, &series, f)) > 0)
			lw_collect(w, series, f, nf);
		pack_reader_free(&pr);
		if (r < 0)
			break;
		if (seg->level == LEVEL_SNAPSHOT) {
			while (ri < nrefs && refs[ri].id < seg->first)
				ri++;
			if (ri < nrefs && refs[ri].id == seg->first) {
				full = refs[ri].full;
				merged = refs[ri].identities;
			}
		} else {
			(void)store_snapshot_kinds(history_store(h), seg->first, seg->last,
			    &nfull, &nstacks);
		}
		all = seg->reset || full || nfull > 0;
		for (size_t t = 0; t < (all ? g->n : w->ntouched); t++) {
			size_t gi = all ? t : w->touched[t];
			struct qgroup *gr = &g->v[gi];
			int64_t *d = &w->d[gi * LW_N];

			if (seg->level != LEVEL_SNAPSHOT) {
				gr->leak.blocks += d[1];
				if (seg->reset) {
					gr->leak.pages = state_sum(&resets[k], gr->series,
					    gr->nseries, false);
					gr->leak.blocks = state_sum(&resets[k], gr->series,
					    gr->nseries, true);
				} else {
					leak_acc_add_span(&gr->leak, d[0], d[4], d[5], d[2],
					    d[3], nfull);
				}
			} else {
				struct leak_point p = {
				    .read = full ? LEAK_READ_FULL : LEAK_READ_STACKS,
				    .pages = gr->leak.pages + d[0],
				    .blocks = gr->leak.blocks + d[1],
				    .merged = merged, .alloc = d[2], .freed = d[3],
				    .reset = seg->reset };

				if (seg->reset) {
					p.pages = state_sum(&resets[k], gr->series, gr->nseries,
					    false);
					p.blocks = state_sum(&resets[k], gr->series, gr->nseries,
					    true);
				}
				leak_acc_add(&gr->leak, &p);
			}
		}
		for (size_t t = 0; t < w->ntouched; t++) {
			memset(&w->d[w->touched[t] * LW_N], 0, LW_N * sizeof(int64_t));
			w->mark[w->touched[t]] = 0;
		}
	}
	cover_reset_states_free(resets, c->n);
	return r < 0 ? r : 0;
}

/* How far back the context of a window may reach, in snapshots. */
#define LW_MAX_CONTEXT	10000

static int
leak_walk(struct history *h, const struct query *q, struct groups *g, struct cover *c)
{
	struct store *st = history_store(h);
	struct leak_walk w = { .g = g, .max_series = history_max_series(h) };
	struct snap_ref *refs = NULL;
	struct state s0 = { 0 }, sp = { 0 };
	struct cover cc = { 0 };
	size_t nrefs = 0;
	int64_t prior = 0;
	bool lo_full = false, have_prior = false, context = false;
	int r;

	if (g->n == 0)
		return 0;
	if ((r = store_snapshot_refs(st, q->w.lo, q->w.lo, &refs, &nrefs)) < 0)
		return r;
	lo_full = nrefs > 0 && refs[0].full;
	free(refs);
	refs = NULL;
	if (!lo_full && store_last_full(st, q->w.lo, &prior) > 0 &&
	    history_state_at(h, prior, &sp) == 0)
		have_prior = true;
	/* the context: from that full read to the window's start */
	context = have_prior && q->w.lo - prior <= LW_MAX_CONTEXT &&
	    cover_build(h, prior, q->w.lo, LEVEL_DAY, &cc) == 0;
	if ((r = store_snapshot_refs(st, context ? prior : q->w.lo, q->w.hi, &refs,
	    &nrefs)) < 0)
		goto out;
	if ((r = history_state_at(h, q->w.lo, &s0)) < 0)
		goto out;
	w.d = po_xcalloc(g->n * LW_N, sizeof(int64_t));
	w.touched = po_xcalloc(g->n, sizeof(size_t));
	w.mark = po_xcalloc(g->n, 1);
	for (size_t i = 0; i < g->n; i++) {
		struct leak_point pf = { .read = LEAK_READ_FULL };

		if (have_prior) {
			pf.pages = state_sum(&sp, g->v[i].series, g->v[i].nseries, false);
			pf.blocks = state_sum(&sp, g->v[i].series, g->v[i].nseries, true);
		}
		/* without the context's walk, that read still gives the order */
		if (have_prior)
			leak_acc_context(&g->v[i].leak, &pf);
		else
			memset(&g->v[i].leak, 0, sizeof(g->v[i].leak));
	}
	if (context && (r = lw_segments(&w, h, &cc, prior, refs, nrefs)) < 0)
		goto out;
	for (size_t i = 0; i < g->n; i++) {
		struct qgroup *gr = &g->v[i];
		struct leak_point start = { .read = lo_full ? LEAK_READ_FULL : LEAK_READ_STACKS,
		    .pages = state_sum(&s0, gr->series, gr->nseries, false),
		    .blocks = state_sum(&s0, gr->series, gr->nseries, true) };

		leak_acc_open(&gr->leak, &start);
	}
	r = lw_segments(&w, h, c, q->w.lo, refs, nrefs);
out:
	cover_free(&cc);
	state_free(&s0);
	state_free(&sp);
	free(w.d);
	free(w.touched);
	free(w.mark);
	free(refs);
	return r < 0 ? r : 0;
}

/* Everything growers and leaks need: sums over the window, values at its end. */
int
query_window_sums(struct history *h, struct query *q, struct groups *g, struct cover *c,
    int64_t *ret_intervals, struct rpc_err *err)
{
	struct state st = { 0 };
	struct vec v = { 0 };
	int r;

	if (history_refresh(h) < 0)
		return rpc_fail(err, PO_E_STORAGE, "database: %s",
		    store_errmsg(history_store(h)));
	query_align(h, q);
	r = cover_build(h, q->w.lo, q->w.hi, LEVEL_DAY, c);
	if (r == 0)
		r = history_state_at(h, q->w.hi, &st);
	if (r < 0) {
		cover_free(c);
		state_free(&st);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    r == -EBADMSG ? "a stored blob is damaged" :
		    store_errmsg(history_store(h)));
	}
	r = cover_sum(c, history_max_series(h), &v, ret_intervals);
	groups_build(h, q, g);
	groups_add_acc(g, &v);
	groups_set_state(g, &st, false);
	vec_free(&v);
	state_free(&st);
	if (r == 0 && !q->no_leak_evidence)
		r = leak_walk(h, q, g, c);
	if (r < 0) {
		groups_free(g);
		cover_free(c);
		return rpc_fail(err, PO_E_STORAGE, "a stored blob is damaged");
	}
	return 0;
}

/* ---- naming one series or stack ------------------------------------------------ */

/*
 * "KIND=KEY" (or KIND:KEY), a stack id or a unique prefix of one (4+ hex
 * digits), a series number, or a culprit name: the series it names (all
 * stacks of a culprit), in *ret (malloc'd), or a JSON-RPC error.
 */
int
query_resolve_series(struct history *h, const char *spec, int64_t **ret, size_t *ret_n, char **cause)
{
	char kindname[16] = "";
	const char *key = spec, *sep = strpbrk(spec, "=:");
	enum series_kind kind = SERIES_STACK;
	bool by_culprit = false, prefix = false;
	int64_t *v = NULL;
	size_t n = 0, vcap = 0, hex = strspn(spec, "0123456789abcdef");

	if (sep != NULL && (size_t)(sep - spec) < sizeof(kindname)) {
		memcpy(kindname, spec, (size_t)(sep - spec));
		kindname[sep - spec] = '\0';
		key = sep + 1;
		if (strcmp(kindname, "culprit") == 0)
			by_culprit = true;
		else if (strcmp(kindname, "stack") == 0)
			prefix = true;
		else if (series_kind_parse(kindname, &kind) < 0) {
			po_asprintf(cause, "'%s' is not a series kind (stack, culprit, "
			    "module, comm, memcg, order)", kindname);
			return PO_E_PARAMS;
		}
	} else if (spec[0] != '\0' && spec[strspn(spec, "0123456789")] == '\0' &&
	    strlen(spec) < 12) {
		int64_t id = strtoll(spec, NULL, 10);

		if (history_series(h, id)->kind == 0) {
			po_asprintf(cause, "no series %s", spec);
			return PO_E_NOT_FOUND;
		}
		*ret = po_xcalloc(1, sizeof(int64_t));
		(*ret)[0] = id;
		*ret_n = 1;
		return 0;
	} else if (hex == strlen(spec) && hex >= 4 && hex <= 16) {
		prefix = true;
	} else {
		by_culprit = true;
	}
	for (int64_t id = 1; id <= history_max_series(h); id++) {
		const struct sinfo *si = history_series(h, id);
		bool hit;

		if (by_culprit)
			hit = si->kind == SERIES_STACK && strcmp(si->culprit, key) == 0;
		else if (prefix)
			hit = si->kind == SERIES_STACK && strlen(key) >= 4 &&
			    strncmp(si->key, key, strlen(key)) == 0;
		else
			hit = si->kind == (int)kind && strcmp(si->key, key) == 0;
		if (!hit)
			continue;
		if (n == vcap) {	/* doubling: a culprit may name many series */
			vcap = vcap ? vcap * 2 : 16;
			v = po_xrealloc(v, vcap, sizeof(*v));
		}
		v[n++] = id;
	}
	if (n == 0) {
		po_asprintf(cause, "no %s '%s' in the history", by_culprit ? "culprit" :
		    prefix ? "stack" : series_kind_name(kind), key);
		free(v);
		return PO_E_NOT_FOUND;
	}
	if (prefix && n > 1) {
		po_asprintf(cause, "stack id '%s' is ambiguous: %zu stacks start with it",
		    key, n);
		free(v);
		return PO_E_PARAMS;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
