/*
 * query.c: the leak and hogger answers (top, growers, leaks, history,
 * stack, diff, export), computed from the packed history.
 *
 * A window (lo, hi] of snapshots is covered by the coarsest stored pieces
 * that fit inside it: daily rollups, then hourly ones, then single
 * snapshots' change blobs; where full-resolution deltas have been pruned
 * the cover falls back to the hour that holds them and the reply says the
 * window is approximate.  Sums over the cover give net growth, pages
 * allocated and freed, and how many intervals grew or shrank; a value at a
 * point is the nearest checkpoint before it plus the deltas after it.
 * Everything runs on the main thread's read-only connection, in C over
 * arrays indexed by series id: no per-delta SQL.
 */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "page-ownerd.h"

#define SPARK_POINTS	24
#define LEVEL_SNAPSHOT	0
#define LEVEL_HOUR	1
#define LEVEL_DAY	2

/* ---- the series, cached: rows are never changed once written ------------- */

struct sinfo {
	int		 kind;		/* enum series_kind, 0 = no such id */
	char		*key;
	char		*culprit;
	char		*module;
	int64_t		 first;		/* first snapshot */
};

struct series_cache {
	struct sinfo	*v;		/* by id */
	int64_t		 max;		/* largest id loaded */
	int64_t		 cap;
};

static struct series_cache cache;

static int
cache_refresh(struct store *st)
{
	sqlite3_stmt *q = store_stmt(st, ST_SERIES_SINCE);
	int rc;

	if (q == NULL)
		return -EIO;
	sqlite3_bind_int64(q, 1, cache.max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		struct sinfo *si;

		if (id <= cache.max && cache.v[id].kind != 0)
			continue;
		if (id >= cache.cap) {
			int64_t cap = cache.cap ? cache.cap : 1024;

			while (cap <= id)
				cap *= 2;
			cache.v = po_xrealloc(cache.v, (size_t)cap, sizeof(*cache.v));
			memset(cache.v + cache.cap, 0,
			    (size_t)(cap - cache.cap) * sizeof(*cache.v));
			cache.cap = cap;
		}
		si = &cache.v[id];
		si->kind = sqlite3_column_int(q, 1);
		si->key = po_xstrdup((const char *)sqlite3_column_text(q, 2));
		si->culprit = po_xstrdup((const char *)sqlite3_column_text(q, 3));
		si->module = po_xstrdup((const char *)sqlite3_column_text(q, 4));
		si->first = sqlite3_column_int64(q, 5);
		if (id > cache.max)
			cache.max = id;
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

void
query_cache_free(void)
{
	for (int64_t i = 0; i <= cache.max && i < cache.cap; i++) {
		free(cache.v[i].key);
		free(cache.v[i].culprit);
		free(cache.v[i].module);
	}
	free(cache.v);
	memset(&cache, 0, sizeof(cache));
}

static const struct sinfo *
sinfo(int64_t id)
{
	static char empty[] = "";
	static const struct sinfo none = { 0, empty, empty, empty, 0 };

	return id > 0 && id <= cache.max && cache.v[id].kind != 0 ? &cache.v[id] : &none;
}

/* ---- covers: the stored pieces that make up a window ---------------------- */

struct segment {
	int		 level;		/* LEVEL_* */
	int64_t		 first, last;	/* snapshot ids */
	double		 t_last;	/* time of last */
	bool		 reset;		/* holds a baseline (new boot): values restart */
	uint8_t		*blob;
	size_t		 len;
	struct pack_reader rd;		/* for segment_find, once ready */
	bool		 rd_ready;
};

struct cover {
	struct segment	*v;
	size_t		 n, cap;
	bool		 approx;	/* pruned deltas were replaced by an hour */
	int		 finest;	/* finest level used */
};

static void
cover_free(struct cover *c)
{
	for (size_t i = 0; i < c->n; i++) {
		pack_reader_free(&c->v[i].rd);
		free(c->v[i].blob);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/*
 * The summed fields (d_pages, d_blocks, allocated, freed) of some series in
 * one segment; the segment keeps its decoded index for the next call.
 * Returns -EBADMSG for a damaged blob.
 */
static int
segment_find(struct segment *seg, const int64_t *ids, size_t n, int64_t *sum)
{
	int64_t f[BK__N];
	int nf = seg->level == LEVEL_SNAPSHOT ? CH__N : BK__N;

	memset(sum, 0, 4 * sizeof(*sum));
	if (!seg->rd_ready) {
		if (pack_reader_init(&seg->rd, seg->blob, seg->len, (unsigned)nf) < 0)
			return -EBADMSG;
		seg->rd_ready = true;
	}
	for (size_t k = 0; k < n; k++) {
		int r = pack_find(&seg->rd, (uint32_t)ids[k], f);

		if (r < 0)
			return r;
		if (r > 0)
			for (int i = 0; i < 4; i++)
				sum[i] += f[i];
	}
	return 0;
}

static void
cover_push(struct cover *c, int level, int64_t first, int64_t last, double t_last,
    const void *blob, size_t len)
{
	struct segment *s;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = po_xrealloc(c->v, c->cap, sizeof(*c->v));
	}
	s = &c->v[c->n++];
	s->level = level;
	s->first = first;
	s->last = last;
	s->t_last = t_last;
	s->reset = false;
	s->rd_ready = false;
	memset(&s->rd, 0, sizeof(s->rd));
	s->len = len;
	s->blob = po_xmalloc(len ? len : 1);
	if (len)
		memcpy(s->blob, blob, len);
	if (level < c->finest)
		c->finest = level;
}

static int
cmp_segment(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* Snapshot times and ids in a range, for the parts rollups do not cover. */
struct snapref {
	int64_t		 id;
	double		 time;
	bool		 baseline;
};

static int
snaps_in(struct store *st, int64_t lo, int64_t hi, struct snapref **ret, size_t *ret_n)
{
	sqlite3_stmt *q = store_stmt(st, ST_SNAP_TIMES);
	struct snapref *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (q == NULL)
		return -EIO;
	sqlite3_bind_int64(q, 1, lo);
	sqlite3_bind_int64(q, 2, hi);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = po_xrealloc(v, cap, sizeof(*v));
		}
		v[n].id = sqlite3_column_int64(q, 0);
		v[n].time = sqlite3_column_double(q, 1);
		v[n].baseline = sqlite3_column_int(q, 2);
		n++;
	}
	sqlite3_reset(q);
	*ret = v;
	*ret_n = n;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static double
snap_time(struct store *st, int64_t id)
{
	struct snap_row r;

	return store_snapshot(st, id, &r) > 0 ? r.time : 0;
}

/* A rollup's place, before its blob is needed. */
struct bucket_meta {
	int		 level;
	int64_t		 start;		/* its key in the table */
	int64_t		 first, last;
	double		 t_last;
};

/* Load a blob into a segment already pushed with no data. */
static int
segment_load_bucket(struct store *st, struct segment *s, int64_t start)
{
	sqlite3_stmt *q = store_stmt(st, ST_BUCKET_BLOB);
	int r = -EIO;

	if (q == NULL)
		return -EIO;
	sqlite3_bind_int(q, 1, s->level);
	sqlite3_bind_int64(q, 2, start);
	if (sqlite3_step(q) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(q, 0);

		free(s->blob);
		s->blob = po_xmalloc(len ? len : 1);
		if (len)
			memcpy(s->blob, sqlite3_column_blob(q, 0), len);
		s->len = len;
		r = 0;
	}
	sqlite3_reset(q);
	return r;
}

static int
buckets_meta(struct store *st, int level, int64_t lo, int64_t hi,
    struct bucket_meta **ret, size_t *ret_n)
{
	sqlite3_stmt *q = store_stmt(st, ST_BUCKETS_META);
	struct bucket_meta *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (q == NULL)
		return -EIO;
	sqlite3_bind_int(q, 1, level);
	sqlite3_bind_int64(q, 2, lo);
	sqlite3_bind_int64(q, 3, hi);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = po_xrealloc(v, cap, sizeof(*v));
		}
		v[n].level = level;
		v[n].start = sqlite3_column_int64(q, 0);
		v[n].first = sqlite3_column_int64(q, 1);
		v[n].last = sqlite3_column_int64(q, 2);
		v[n].t_last = sqlite3_column_double(q, 3);
		n++;
	}
	sqlite3_reset(q);
	*ret = v;
	*ret_n = n;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static bool
cover_overlaps(const struct cover *c, int64_t first, int64_t last)
{
	for (size_t i = 0; i < c->n; i++)
		if (first <= c->v[i].last && last >= c->v[i].first)
			return true;
	return false;
}

/* The parts of (lo, hi] no segment covers yet, appended to the cover. */
static int
cover_fill_gap(struct store *st, struct cover *c, int64_t a, int64_t b)
{
	struct snapref *snaps = NULL;
	sqlite3_stmt *q;
	size_t nsnaps = 0, k = 0;
	int r, rc;

	if (a > b)
		return 0;
	r = snaps_in(st, a, b, &snaps, &nsnaps);
	if (r < 0)
		return r;
	q = store_stmt(st, ST_CHANGES_RANGE);
	if (q == NULL) {
		free(snaps);
		return -EIO;
	}
	sqlite3_bind_int64(q, 1, a);
	sqlite3_bind_int64(q, 2, b);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);

		while (k < nsnaps && snaps[k].id < id)
			k++;
		cover_push(c, LEVEL_SNAPSHOT, id, id,
		    k < nsnaps && snaps[k].id == id ? snaps[k].time : 0,
		    sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1));
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		free(snaps);
		return -EIO;
	}
	/* snapshots whose deltas were pruned: the hour that holds them */
	for (size_t i = 0; i < nsnaps; i++) {
		struct bucket_meta *bm = NULL;
		size_t nbm = 0;

		if (snaps[i].baseline || cover_overlaps(c, snaps[i].id, snaps[i].id))
			continue;
		if ((r = buckets_meta(st, LEVEL_HOUR, snaps[i].id, snaps[i].id, &bm, &nbm)) < 0) {
			free(snaps);
			return r;
		}
		if (nbm > 0 && !cover_overlaps(c, bm[0].first, bm[0].last)) {
			cover_push(c, LEVEL_HOUR, bm[0].first, bm[0].last, bm[0].t_last, NULL, 0);
			r = segment_load_bucket(st, &c->v[c->n - 1], bm[0].start);
			c->approx = true;
		}
		free(bm);
		if (r < 0) {
			free(snaps);
			return r;
		}
	}
	free(snaps);
	return 0;
}

/*
 * Cover (lo, hi] with the coarsest stored pieces that fit wholly inside:
 * day rollups, then hour rollups (up to max_level), then single
 * snapshots' change blobs for the rest.  Only the blobs chosen are read.
 */
static int
cover_build(struct store *st, int64_t lo, int64_t hi, int max_level, struct cover *c)
{
	int64_t from;
	size_t nchosen;
	int r = 0;

	memset(c, 0, sizeof(*c));
	c->finest = LEVEL_DAY;
	if (hi <= lo)
		return 0;
	for (int level = max_level; level >= LEVEL_HOUR; level--) {
		struct bucket_meta *bm = NULL;
		size_t nbm = 0;

		if ((r = buckets_meta(st, level, lo + 1, hi, &bm, &nbm)) < 0)
			return r;
		for (size_t i = 0; i < nbm && r == 0; i++) {
			if (bm[i].first <= lo || bm[i].last > hi ||
			    cover_overlaps(c, bm[i].first, bm[i].last))
				continue;	/* not wholly inside, or taken */
			cover_push(c, level, bm[i].first, bm[i].last, bm[i].t_last, NULL, 0);
			r = segment_load_bucket(st, &c->v[c->n - 1], bm[i].start);
		}
		free(bm);
		if (r < 0) {
			cover_free(c);
			return r;
		}
	}
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), cmp_segment);
	/* the gaps between the rollups: single snapshots */
	nchosen = c->n;
	from = lo + 1;
	for (size_t i = 0; i <= nchosen && r == 0; i++) {
		int64_t to = i < nchosen ? c->v[i].first - 1 : hi;

		r = cover_fill_gap(st, c, from, to);
		if (i < nchosen)
			from = c->v[i].last + 1;
	}
	if (r < 0) {
		cover_free(c);
		return r;
	}
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), cmp_segment);
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].t_last == 0)
			c->v[i].t_last = snap_time(st, c->v[i].last);
	/*
	 * A baseline stores no delta (none crosses a boot), so a value walked
	 * through the segment holding one is wrong: such segments are marked,
	 * and walks take the value there from the state instead.
	 */
	{
		sqlite3_stmt *q = store_stmt(st, ST_BASELINES);
		size_t seg = 0;

		if (q == NULL) {
			cover_free(c);
			return -EIO;
		}
		sqlite3_bind_int64(q, 1, lo + 1);
		sqlite3_bind_int64(q, 2, hi);
		while (sqlite3_step(q) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(q, 0);

			while (seg < c->n && c->v[seg].last < id)
				seg++;
			if (seg < c->n && c->v[seg].first <= id)
				c->v[seg].reset = true;
		}
		sqlite3_reset(q);
	}
	return 0;
}

/* ---- sums and states ------------------------------------------------------------ */

/* Per series: what happened in a window. */
struct acc {
	int64_t		 d_pages, d_blocks, alloc, freed, grew, shrank;
};
_Static_assert(sizeof(struct acc) == BK__N * sizeof(int64_t),
    "struct acc must match the delta tables' fields for pack_sum");

struct vec {
	struct acc	*a;		/* by series id */
	int64_t		 n;		/* entries (max id + 1) */
};

static void
vec_init(struct vec *v, int64_t max)
{
	v->n = max + 1;
	v->a = po_xcalloc((size_t)v->n, sizeof(*v->a));
}

static void
vec_free(struct vec *v)
{
	free(v->a);
	v->a = NULL;
	v->n = 0;
}

/* Add one segment into v; -EBADMSG if its blob is damaged. */
static int
vec_add_segment(struct vec *v, const struct segment *s)
{
	struct pack_reader pr;
	int nf = s->level == LEVEL_SNAPSHOT ? CH__N : BK__N;

	if (v->n < 1 || pack_reader_init(&pr, s->blob, s->len, (unsigned)nf) < 0)
		return -EBADMSG;
	/* struct acc is six int64_t in the delta tables' field order */
	return pack_sum(&pr, &v->a[0].d_pages, (uint32_t)(v->n - 1));
}

/* Pages and blocks of every series after snapshot s. */
struct state {
	int64_t		*pages;
	int64_t		*blocks;
	int64_t		 n;
	bool		 approx;
};

static void
state_free(struct state *s)
{
	free(s->pages);
	free(s->blocks);
	memset(s, 0, sizeof(*s));
}

static int
state_at(struct store *st, int64_t s, struct state *ret)
{
	sqlite3_stmt *q = store_stmt(st, ST_CHECKPOINT_BEFORE);
	struct pack_reader pr;
	struct cover c = { 0 };
	struct vec v = { 0 };
	int64_t cp = 0, f[CP__N];
	uint32_t id;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	ret->n = cache.max + 1;
	ret->pages = po_xcalloc((size_t)ret->n, sizeof(int64_t));
	ret->blocks = po_xcalloc((size_t)ret->n, sizeof(int64_t));
	if (q == NULL)
		return -EIO;
	sqlite3_bind_int64(q, 1, s);
	if (sqlite3_step(q) == SQLITE_ROW) {
		cp = sqlite3_column_int64(q, 0);
		if (pack_reader_init(&pr, sqlite3_column_blob(q, 1),
		    (size_t)sqlite3_column_bytes(q, 1), CP__N) < 0)
			r = -EBADMSG;
		else
			while ((r = pack_next(&pr, &id, f)) > 0)
				if ((int64_t)id < ret->n) {
					ret->pages[id] = f[CP_PAGES];
					ret->blocks[id] = f[CP_BLOCKS];
				}
	}
	sqlite3_reset(q);
	if (r < 0)
		return r;
	if (cp == s)
		return 0;
	r = cover_build(st, cp, s, LEVEL_DAY, &c);
	if (r < 0)
		return r;
	vec_init(&v, cache.max);
	for (size_t i = 0; r == 0 && i < c.n; i++)
		r = vec_add_segment(&v, &c.v[i]);
	for (int64_t i = 0; i < v.n; i++) {
		ret->pages[i] += v.a[i].d_pages;
		ret->blocks[i] += v.a[i].d_blocks;
	}
	ret->approx = c.approx;
	vec_free(&v);
	cover_free(&c);
	return r < 0 ? r : 0;
}

/*
 * For the segments that hold a baseline, the state where a walk through
 * the cover must pick up again: at the segment's end (a forward walk), or
 * at its predecessor's end, lo for the first (a backward walk).  Other
 * entries stay empty.
 */
static int
reset_states(struct store *st, const struct cover *c, int64_t lo, bool before,
    struct state **ret)
{
	struct state *v = po_xcalloc(c->n ? c->n : 1, sizeof(*v));

	for (size_t i = 0; i < c->n; i++) {
		int64_t at = before ? (i > 0 ? c->v[i - 1].last : lo) : c->v[i].last;
		int r;

		if (!c->v[i].reset)
			continue;
		r = state_at(st, at, &v[i]);
		if (r < 0) {
			for (size_t k = 0; k <= i; k++)
				state_free(&v[k]);
			free(v);
			return r;
		}
	}
	*ret = v;
	return 0;
}

static void
reset_states_free(struct state *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		state_free(&v[i]);
	free(v);
}

/* Pages (or blocks) of some series in a state. */
static int64_t
state_sum(const struct state *s, const int64_t *series, size_t n, bool blocks)
{
	int64_t sum = 0;

	for (size_t k = 0; k < n; k++)
		if (series[k] < s->n)
			sum += blocks ? s->blocks[series[k]] : s->pages[series[k]];
	return sum;
}

/* ---- groups: series folded by `by`, filtered by `match` ---------------------- */

enum by { BY_STACK, BY_CULPRIT, BY_MODULE, BY_COMM, BY_MEMCG, BY_ORDER };

static const char *const by_names[] = {
	"stack", "culprit", "module", "comm", "memcg", "order",
};

struct match {
	char		*key;		/* stack, culprit, module, comm, memcg, order */
	char		*pattern;	/* fnmatch pattern (stack: id prefix) */
};

struct query {
	enum by		 by;
	int		 aligned;	/* LEVEL_* the window start was moved to, or 0 */
	struct match	 m[16];
	size_t		 nm;
	struct window	 w;
	int64_t		 page_size;
};

static void
query_free(struct query *q)
{
	for (size_t i = 0; i < q->nm; i++) {
		free(q->m[i].key);
		free(q->m[i].pattern);
	}
}

static enum series_kind
by_kind(enum by b)
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

static int
query_parse(struct store *st, json_t *params, bool window, struct query *q,
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
		for (i = 0; i < PO_ARRAY_SIZE(by_names); i++)
			if (strcmp(json_string_value(by), by_names[i]) == 0)
				break;
		if (i == PO_ARRAY_SIZE(by_names))
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
			want = by_kind(q->by);
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
				    "%s instead", q->m[q->nm - 1].key, by_names[q->by],
				    q->m[q->nm - 1].key);
				query_free(q);
				return -1;
			}
		}
	}
	if (!window)
		return 0;
	code = window_parse(st, params, PO_DEFAULT_LIMIT, &q->w, &cause);
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
series_wanted(const struct query *q, int64_t id)
{
	const struct sinfo *si = sinfo(id);

	if (si->kind != (int)by_kind(q->by))
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

/* A group: one series, or (by culprit) the stack series sharing a culprit. */
struct group {
	int64_t		 first_series;	/* its first series: names it */
	int64_t		*series;
	size_t		 nseries;
	struct acc	 sum;		/* over the window */
	int64_t		 pages, blocks;	/* at the window's end (or `at`) */
	int64_t		 pages_a, blocks_a; /* at the window's start (diff) */
	double		 score;		/* leaks */
	int64_t		*spark;		/* SPARK_POINTS values, for the chosen */
	int		 nspark;
};

struct groups {
	struct group	*v;
	size_t		 n;
	int64_t		*pool;		/* every group's series ids */
	int64_t		*of_series;	/* series id -> group index + 1 */
};

static void
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
static void
groups_build(const struct query *q, struct groups *g)
{
	struct po_strtab *culprits = NULL;
	uint32_t *group_of_culprit = NULL;
	size_t cap = 0, vcap = 0, *fill;
	int64_t total = 0;

	memset(g, 0, sizeof(*g));
	g->of_series = po_xcalloc((size_t)cache.max + 1, sizeof(int64_t));
	if (q->by == BY_CULPRIT)
		po_strtab_new(&culprits);
	for (int64_t id = 1; id <= cache.max; id++) {
		size_t gi = g->n;

		if (!series_wanted(q, id))
			continue;
		if (culprits != NULL) {
			const char *c = sinfo(id)->culprit;
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
	for (int64_t id = 1; id <= cache.max; id++)
		if (g->of_series[id] != 0) {
			size_t gi = (size_t)g->of_series[id] - 1;

			g->v[gi].series[fill[gi]++] = id;
		}
	free(fill);
}

static void
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

static void
groups_set_state(struct groups *g, const struct state *st, bool start)
{
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
static json_t *
group_json(const struct query *q, const struct group *gr)
{
	const struct sinfo *si = sinfo(gr->first_series);
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
		json_object_set_new(j, by_names[q->by], json_string(si->key));
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
static json_t *
window_json(struct store *st, const struct query *q, const struct cover *c,
    int64_t nsnap)
{
	sqlite3_stmt *k = store_stmt(st, ST_SNAP_KINDS);
	int64_t full = 0, stacks = 0;
	char a[40], b[40];

	if (k != NULL) {
		sqlite3_bind_int64(k, 1, q->w.lo + 1);	/* as "snapshots" counts */
		sqlite3_bind_int64(k, 2, q->w.hi);
		while (sqlite3_step(k) == SQLITE_ROW) {
			const char *kind = (const char *)sqlite3_column_text(k, 0);

			if (kind != NULL && strcmp(kind, "stacks") == 0)
				stacks += sqlite3_column_int64(k, 1);
			else
				full += sqlite3_column_int64(k, 1);
		}
		sqlite3_reset(k);
	}
	po_time_str(q->w.t_lo, a, sizeof(a));
	po_time_str(q->w.t_hi, b, sizeof(b));
	return json_pack("{s:I, s:I, s:s, s:s, s:f, s:f, s:I, s:s, s:b, s:s?, "
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
}

/*
 * A long window given relative to now ("-30d") starts at the beginning of
 * the day (or hour) its first snapshot falls in, so that whole rollups
 * cover it: "the last 30 days" need not be exact to the minute 30 days
 * ago, and this saves decoding up to a day of hourly rollups.  The reply
 * says so ("aligned").  A snapshot id or a time is taken as it is.
 */
static void
window_align(struct store *st, struct query *q)
{
	double span = q->w.t_hi - q->w.t_lo;
	int level = span > 2 * 86400 ? LEVEL_DAY : span > 6 * 3600 ? LEVEL_HOUR : 0;
	struct bucket_meta *bm = NULL;
	size_t nbm = 0;

	if (level == 0 || !q->w.relative || buckets_meta(st, level, q->w.lo, q->w.lo, &bm, &nbm) < 0)
		return;
	if (nbm > 0 && bm[0].first <= q->w.lo && bm[0].first > q->w.first) {
		double t;

		q->w.lo = bm[0].first - 1;
		t = snap_time(st, q->w.lo);
		if (t > 0)
			q->w.t_lo = t;
		q->aligned = level;
	}
	free(bm);
}

/* Sparkline values of the chosen groups: their value at each segment end. */
static int
sparklines(struct store *st, int64_t lo, struct cover *c, struct group **sel,
    size_t nsel)
{
	size_t nseg = c->n, step;
	struct state *resets = NULL;
	int64_t *vals;

	if (nsel == 0)
		return 0;
	if (reset_states(st, c, lo, true, &resets) < 0)
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
				reset_states_free(resets, nseg);
				return -EBADMSG;
			}
			vals[k * (nseg + 1) + s] = seg->reset ?
			    state_sum(&resets[s], sel[k]->series, sel[k]->nseries, false) :
			    vals[k * (nseg + 1) + s + 1] - sum[0];
		}
	}
	reset_states_free(resets, nseg);
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

static json_t *
spark_json(const struct group *g)
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
static void
groups_order(struct groups *g, size_t k, int (*cmp)(const void *, const void *))
{
	struct group *out;
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

/* ---- top ------------------------------------------------------------------------- */

static int
cmp_pages_desc(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->pages != y->pages)
		return x->pages > y->pages ? -1 : 1;
	return x->first_series < y->first_series ? -1 : 1;
}

int
query_top(struct daemon *d, struct request *req, json_t **ret, struct rpc_err *err)
{
	json_t *at = json_object_get(req->params, "at"), *list;
	struct query q;
	struct groups g = { 0 };
	struct state st = { 0 };
	int64_t id, total = 0;
	char *cause = NULL;
	int code;

	if (query_parse(d->ro, req->params, false, &q, err) < 0)
		return -1;
	{
		json_t *lim = json_object_get(req->params, "limit");

		q.w.limit = PO_DEFAULT_LIMIT;
		if (lim != NULL) {
			if (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
			    json_integer_value(lim) > PO_MAX_LIMIT) {
				query_free(&q);
				return rpc_fail(err, PO_E_PARAMS, "limit must be an "
				    "integer from 1 to %d", PO_MAX_LIMIT);
			}
			q.w.limit = json_integer_value(lim);
		}
	}
	code = window_point(d->ro, at, "at", &id, &cause);
	if (code != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		query_free(&q);
		return -1;
	}
	if (cache_refresh(d->ro) < 0 || state_at(d->ro, id, &st) < 0) {
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(d->ro));
	}
	groups_build(&q, &g);
	groups_set_state(&g, &st, false);
	for (int64_t i = 1; i < st.n; i++)
		if (sinfo(i)->kind == (int)by_kind(q.by))
			total += st.pages[i];
	groups_order(&g, (size_t)q.w.limit, cmp_pages_desc);
	list = json_array();
	for (size_t i = 0; i < g.n && (int64_t)i < q.w.limit; i++) {
		json_t *j;

		if (g.v[i].pages == 0)
			break;
		j = group_json(&q, &g.v[i]);
		json_object_set_new(j, "pages", json_integer(g.v[i].pages));
		json_object_set_new(j, "blocks", json_integer(g.v[i].blocks));
		json_object_set_new(j, "bytes", json_integer(g.v[i].pages * q.page_size));
		json_object_set_new(j, "share", json_real(total ?
		    (double)g.v[i].pages / (double)total : 0));
		json_array_append_new(list, j);
	}
	{
		struct snap_row row;
		char t[40] = "";

		if (store_snapshot(d->ro, id, &row) > 0)
			po_time_str(row.time, t, sizeof(t));
		*ret = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:b, s:o}",
		    "at", (json_int_t)id, "at_time", t, "by", by_names[q.by],
		    "page_size", (json_int_t)q.page_size,
		    "total_pages", (json_int_t)total,
		    "total_groups", (json_int_t)g.n, "approximate", st.approx,
		    "groups", list);
	}
	groups_free(&g);
	state_free(&st);
	query_free(&q);
	return 0;
}

/* ---- growers and leaks --------------------------------------------------------- */

static int
cmp_net_desc(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->sum.d_pages != y->sum.d_pages)
		return x->sum.d_pages > y->sum.d_pages ? -1 : 1;
	return x->first_series < y->first_series ? -1 : 1;
}

static int
cmp_score_desc(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return cmp_net_desc(a, b);
}

/* Everything growers and leaks need: sums over the window, values at its end. */
static int
window_sums(struct daemon *d, struct query *q, struct groups *g, struct cover *c,
    int64_t *ret_intervals, struct rpc_err *err)
{
	struct state st = { 0 };
	struct vec v = { 0 };
	int64_t intervals = 0;
	int r = 0;

	if (cache_refresh(d->ro) < 0)
		return rpc_fail(err, PO_E_STORAGE, "database: %s", store_errmsg(d->ro));
	window_align(d->ro, q);
	r = cover_build(d->ro, q->w.lo, q->w.hi, LEVEL_DAY, c);
	if (r == 0)
		r = state_at(d->ro, q->w.hi, &st);
	if (r < 0) {
		cover_free(c);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    r == -EBADMSG ? "a stored blob is damaged" : store_errmsg(d->ro));
	}
	vec_init(&v, cache.max);
	for (size_t i = 0; r == 0 && i < c->n; i++) {
		r = vec_add_segment(&v, &c->v[i]);
		intervals += c->v[i].last - c->v[i].first + 1;
	}
	groups_build(q, g);
	groups_add_acc(g, &v);
	groups_set_state(g, &st, false);
	/* culprit groups: grew/shrank were maxima; recount as sums of nets */
	vec_free(&v);
	state_free(&st);
	*ret_intervals = intervals;
	if (r < 0) {
		groups_free(g);
		cover_free(c);
		return rpc_fail(err, PO_E_STORAGE, "a stored blob is damaged");
	}
	return 0;
}

int
query_growers(struct daemon *d, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct query q;
	struct groups g = { 0 };
	struct cover c = { 0 };
	struct group **sel;
	int64_t intervals = 0;
	double hours;
	size_t nsel = 0;
	json_t *list;

	if (query_parse(d->ro, req->params, true, &q, err) < 0)
		return -1;
	if (window_sums(d, &q, &g, &c, &intervals, err) < 0) {
		query_free(&q);
		return -1;
	}
	hours = (q.w.t_hi - q.w.t_lo) / 3600.0;
	groups_order(&g, (size_t)q.w.limit, cmp_net_desc);
	sel = po_xcalloc((size_t)q.w.limit + 1, sizeof(struct group *));
	for (size_t i = 0; i < g.n && (int64_t)nsel < q.w.limit; i++)
		if (g.v[i].sum.d_pages > 0)
			sel[nsel++] = &g.v[i];
	if (sparklines(d->ro, q.w.lo, &c, sel, nsel) < 0) {
		free(sel);
		groups_free(&g);
		cover_free(&c);
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "a stored blob is damaged");
	}
	list = json_array();
	for (size_t i = 0; i < nsel; i++) {
		const struct group *gr = sel[i];
		json_t *j = group_json(&q, gr);

		json_object_set_new(j, "net_pages", json_integer(gr->sum.d_pages));
		json_object_set_new(j, "net_bytes", json_integer(gr->sum.d_pages * q.page_size));
		json_object_set_new(j, "allocated_pages", json_integer(gr->sum.alloc));
		json_object_set_new(j, "freed_pages", json_integer(gr->sum.freed));
		json_object_set_new(j, "rate_pages_per_hour", json_real(hours > 0 ?
		    (double)gr->sum.d_pages / hours : 0));
		json_object_set_new(j, "pages_now", json_integer(gr->pages));
		json_object_set_new(j, "bytes_now", json_integer(gr->pages * q.page_size));
		json_object_set_new(j, "sparkline", spark_json(gr));
		json_array_append_new(list, j);
	}
	*ret = json_pack("{s:o, s:s, s:I, s:I, s:o}",
	    "window", window_json(d->ro, &q, &c, intervals), "by", by_names[q.by],
	    "page_size", (json_int_t)q.page_size, "total_groups", (json_int_t)g.n,
	    "groups", list);
	free(sel);
	groups_free(&g);
	cover_free(&c);
	query_free(&q);
	return 0;
}

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
leak_score(struct group *g, double *ret_s, double *ret_r, double *ret_z,
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

int
query_leaks(struct daemon *d, struct request *req, json_t **ret, struct rpc_err *err)
{
	json_t *all = json_object_get(req->params, "all"), *list;
	struct query q;
	struct groups g = { 0 };
	struct cover c = { 0 };
	struct group **sel;
	struct snap_row last;
	int64_t intervals = 0;
	double hours;
	size_t nsel = 0;
	bool show_all = json_is_true(all);

	if (all != NULL && !json_is_boolean(all))
		return rpc_fail(err, PO_E_PARAMS, "all must be true or false");
	if (query_parse(d->ro, req->params, true, &q, err) < 0)
		return -1;
	if (q.by != BY_STACK && q.by != BY_CULPRIT && q.by != BY_MODULE) {
		rpc_fail(err, PO_E_PARAMS, "leaks are ranked by stack, culprit or module");
		query_free(&q);
		return -1;
	}
	if (window_sums(d, &q, &g, &c, &intervals, err) < 0) {
		query_free(&q);
		return -1;
	}
	if (store_last_snapshot(d->ro, &last) <= 0)
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
	sel = po_xcalloc((size_t)q.w.limit + 1, sizeof(struct group *));
	for (size_t i = 0; i < g.n && (int64_t)nsel < q.w.limit; i++)
		if (g.v[i].score >= 0 && (g.v[i].sum.d_pages > 0 || show_all))
			sel[nsel++] = &g.v[i];
	(void)sparklines(d->ro, q.w.lo, &c, sel, nsel);
	list = json_array();
	for (size_t i = 0; i < nsel; i++) {
		struct group *gr = sel[i];
		json_t *j = group_json(&q, gr), *ev;
		double s, r, z, age = -1, growing = -1;
		bool suspect;
		int64_t ts_min = 0, since = 0;

		leak_score(gr, &s, &r, &z, &suspect);
		/* the oldest surviving block, and how long it has been growing */
		for (size_t k = 0; k < gr->nseries; k++) {
			sqlite3_stmt *qs = store_stmt(d->ro, ST_SERIES_GET);

			if (qs == NULL)
				continue;
			sqlite3_bind_int64(qs, 1, gr->series[k]);
			if (sqlite3_step(qs) == SQLITE_ROW) {
				int64_t t = sqlite3_column_int64(qs, 10);
				int64_t gs = sqlite3_column_int64(qs, 9);

				if (t > 0 && (ts_min == 0 || t < ts_min))
					ts_min = t;
				if (gs > 0 && (since == 0 || gs > since))
					since = gs;
			}
			sqlite3_reset(qs);
		}
		if (ts_min > 0 && last.mono_ns > ts_min)
			age = (double)(last.mono_ns - ts_min) / 1e9;
		if (since > 0) {
			double t = snap_time(d->ro, since);

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
		json_object_set_new(j, "sparkline", spark_json(gr));
		json_array_append_new(list, j);
	}
	*ret = json_pack("{s:o, s:s, s:I, s:I, s:o}",
	    "window", window_json(d->ro, &q, &c, intervals), "by", by_names[q.by],
	    "page_size", (json_int_t)q.page_size, "intervals", (json_int_t)intervals,
	    "groups", list);
	free(sel);
	groups_free(&g);
	cover_free(&c);
	query_free(&q);
	return 0;
}

/* ---- naming one series or stack ------------------------------------------------ */

/*
 * "KIND=KEY" (or KIND:KEY), a stack id or a unique prefix of one (4+ hex
 * digits), a series number, or a culprit name: the series it names (all
 * stacks of a culprit), in *ret (malloc'd), or a JSON-RPC error.
 */
static int
resolve_series(const char *spec, int64_t **ret, size_t *ret_n, char **cause)
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

		if (sinfo(id)->kind == 0) {
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
	for (int64_t id = 1; id <= cache.max; id++) {
		const struct sinfo *si = sinfo(id);
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

static const char *
param_str(json_t *params, const char *name, struct rpc_err *err)
{
	json_t *v = json_object_get(params, name);

	if (v == NULL) {
		rpc_fail(err, PO_E_PARAMS, "'%s' is required", name);
		return NULL;
	}
	if (!json_is_string(v)) {
		rpc_fail(err, PO_E_PARAMS, "'%s' must be a string", name);
		return NULL;
	}
	return json_string_value(v);
}

/* ---- history --------------------------------------------------------------------- */

int
query_history(struct daemon *d, struct request *req, json_t **ret, struct rpc_err *err)
{
	const char *spec = param_str(req->params, "series", err);
	struct query q;
	struct cover c = { 0 };
	struct state st = { 0 }, *resets = NULL;
	int64_t *ids = NULL, pages = 0, blocks = 0;
	size_t nids = 0;
	char *cause = NULL, t[40];
	double span;
	int code, level;
	json_t *points, *info;

	if (spec == NULL)
		return -1;
	if (query_parse(d->ro, req->params, true, &q, err) < 0)
		return -1;
	if (cache_refresh(d->ro) < 0) {
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "database: %s", store_errmsg(d->ro));
	}
	code = resolve_series(spec, &ids, &nids, &cause);
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
	if (state_at(d->ro, q.w.lo, &st) < 0 ||
	    cover_build(d->ro, q.w.lo, q.w.hi, level, &c) < 0 ||
	    reset_states(d->ro, &c, q.w.lo, false, &resets) < 0) {
		free(ids);
		state_free(&st);
		cover_free(&c);
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(d->ro));
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
	reset_states_free(resets, c.n);
	{
		const struct sinfo *si = sinfo(ids[0]);
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
	    "window", window_json(d->ro, &q, &c, q.w.hi - q.w.lo),
	    "page_size", (json_int_t)q.page_size, "points", points);
	free(ids);
	state_free(&st);
	cover_free(&c);
	query_free(&q);
	return 0;
}

/* ---- stack ------------------------------------------------------------------------- */

/* One exact stack's frames, as printed (without the leading space). */
static json_t *
frames_json(const char *text, bool signature)
{
	struct po_span it = { text, strlen(text) }, line;
	json_t *a = json_array();

	while (po_frame_next(&it, &line)) {
		if (signature) {
			struct po_frame f;
			char buf[512];

			po_frame_parse(line, &f);
			snprintf(buf, sizeof(buf), "%.*s%s%.*s%s", (int)f.sym.n, f.sym.p,
			    f.mod.n ? " [" : "", (int)f.mod.n, f.mod.p, f.mod.n ? "]" : "");
			json_array_append_new(a, json_string(buf));
		} else {
			json_array_append_new(a, json_stringn(line.p, line.n));
		}
	}
	return a;
}

struct breakdown {
	int64_t		*stacks;	/* stacks.id of the series */
	size_t		 nstacks;
	json_t		*by[4];		/* comm, memcg, order, gfp: key -> [pages, blocks] */
	int64_t		 ts_min;
};

static void
bd_add(json_t *o, const char *key, const struct detail_row *row)
{
	json_t *a = json_object_get(o, key);

	if (a == NULL) {
		a = json_pack("[I, I]", (json_int_t)0, (json_int_t)0);
		json_object_set_new(o, key, a);
	}
	json_array_set_new(a, 0, json_integer(json_integer_value(json_array_get(a, 0)) +
	    (json_int_t)row->pages));
	json_array_set_new(a, 1, json_integer(json_integer_value(json_array_get(a, 1)) +
	    (json_int_t)row->blocks));
}

static int
bd_row(const struct detail_row *row, void *userdata)
{
	struct breakdown *b = userdata;
	char buf[32];
	size_t i;

	for (i = 0; i < b->nstacks && b->stacks[i] != (int64_t)row->stack; i++)
		;
	if (i == b->nstacks)
		return 0;
	bd_add(b->by[0], row->comm, row);
	bd_add(b->by[1], row->memcg[0] ? row->memcg : "-", row);
	snprintf(buf, sizeof(buf), "%u", row->order);
	bd_add(b->by[2], buf, row);
	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)row->gfp);
	bd_add(b->by[3], buf, row);
	if (row->ts_min > 0 && (b->ts_min == 0 || (int64_t)row->ts_min < b->ts_min))
		b->ts_min = (int64_t)row->ts_min;
	return 0;
}

/* {key: [pages, blocks]} into a list sorted by pages. */
static json_t *
bd_list(json_t *o, const char *name)
{
	json_t *a = json_array(), *v;
	const char *k;

	json_object_foreach(o, k, v) {
		size_t i = 0;
		json_int_t p = json_integer_value(json_array_get(v, 0));

		while (i < json_array_size(a) &&
		    json_integer_value(json_object_get(json_array_get(a, i), "pages")) >= p)
			i++;
		json_array_insert_new(a, i, json_pack("{s:s, s:I, s:I}", name, k,
		    "pages", p, "blocks", json_integer_value(json_array_get(v, 1))));
	}
	return a;
}

int
query_stack(struct daemon *d, struct request *req, json_t **ret, struct rpc_err *err)
{
	const char *spec = param_str(req->params, "id", err);
	static const char *const names[] = { "comm", "memcg", "order", "gfp" };
	struct breakdown b = { 0 };
	int64_t *ids = NULL, series, pages = 0, blocks = 0, last_change = 0, growing = 0;
	size_t nids = 0;
	char *cause = NULL, t[40];
	json_t *stacks, *bd, *j, *signature = NULL;
	sqlite3_stmt *q;
	struct snap_row last;
	int code;

	if (spec == NULL)
		return -1;
	if (cache_refresh(d->ro) < 0)
		return rpc_fail(err, PO_E_STORAGE, "database: %s", store_errmsg(d->ro));
	if (strpbrk(spec, "=:") == NULL && strspn(spec, "0123456789abcdef") != strlen(spec)) {
		po_asprintf(&cause, "'%s' is not a stack id (hex, as top and "
		    "top-growers print it)", spec);
		code = PO_E_PARAMS;
	} else {
		code = resolve_series(spec, &ids, &nids, &cause);
	}
	if (code == 0 && (nids != 1 || sinfo(ids[0])->kind != SERIES_STACK)) {
		po_asprintf(&cause, "'%s' does not name one stack", spec);
		code = PO_E_PARAMS;
	}
	if (code != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		free(ids);
		return -1;
	}
	series = ids[0];
	free(ids);

	stacks = json_array();
	q = store_stmt(d->ro, ST_STACKS_OF_SERIES);
	if (q == NULL) {
		json_decref(stacks);
		return rpc_fail(err, PO_E_STORAGE, "database: %s", store_errmsg(d->ro));
	}
	sqlite3_bind_int64(q, 1, series);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *frames = (const char *)sqlite3_column_text(q, 2);
		char hash[24];
		double ft;

		snprintf(hash, sizeof(hash), "%016llx",
		    (unsigned long long)sqlite3_column_int64(q, 1));
		b.stacks = po_xrealloc(b.stacks, b.nstacks + 1, sizeof(int64_t));
		b.stacks[b.nstacks++] = sqlite3_column_int64(q, 0);
		if (signature == NULL)
			signature = frames_json(frames ? frames : "", true);
		ft = snap_time(d->ro, sqlite3_column_int64(q, 3));
		po_time_str(ft, t, sizeof(t));
		json_array_append_new(stacks, json_pack("{s:s, s:s, s:o}", "hash", hash,
		    "first_seen", t, "frames", frames_json(frames ? frames : "", false)));
	}
	sqlite3_reset(q);

	q = store_stmt(d->ro, ST_SERIES_GET);
	if (q != NULL) {
		sqlite3_bind_int64(q, 1, series);
		if (sqlite3_step(q) == SQLITE_ROW) {
			pages = sqlite3_column_int64(q, 6);
			blocks = sqlite3_column_int64(q, 7);
			last_change = sqlite3_column_int64(q, 8);
			growing = sqlite3_column_int64(q, 9);
		}
		sqlite3_reset(q);
	}
	for (int i = 0; i < 4; i++)
		b.by[i] = json_object();
	q = store_stmt(d->ro, ST_DETAIL_LATEST);
	if (q != NULL) {
		sqlite3_bind_int64(q, 1, INT64_MAX);
		if (sqlite3_step(q) == SQLITE_ROW)
			(void)detail_each(sqlite3_column_blob(q, 1),
			    (size_t)sqlite3_column_bytes(q, 1), bd_row, &b);
		sqlite3_reset(q);
	}
	bd = json_object();
	for (int i = 0; i < 4; i++) {
		json_object_set_new(bd, names[i], bd_list(b.by[i], names[i]));
		json_decref(b.by[i]);
	}
	if (store_last_snapshot(d->ro, &last) <= 0)
		memset(&last, 0, sizeof(last));
	{
		const struct sinfo *si = sinfo(series);
		char first[40], lastseen[40], gs[40];

		po_time_str(snap_time(d->ro, si->first), first, sizeof(first));
		po_time_str(pages > 0 ? last.time : snap_time(d->ro, last_change),
		    lastseen, sizeof(lastseen));
		po_time_str(snap_time(d->ro, growing), gs, sizeof(gs));
		j = json_pack("{s:s, s:I, s:s, s:s, s:O, s:o, s:s, s:s, s:I, s:I, s:I, "
		    "s:s, s:o, s:f}",
		    "stack_id", si->key, "series", (json_int_t)series,
		    "culprit", si->culprit, "module", si->module[0] ? si->module : "kernel",
		    "signature", signature ? signature : json_null(),
		    "stacks", stacks, "first_seen", first, "last_seen", lastseen,
		    "pages_now", (json_int_t)pages, "blocks_now", (json_int_t)blocks,
		    "page_size", (json_int_t)(sysconf(_SC_PAGESIZE) > 0 ?
		    sysconf(_SC_PAGESIZE) : 4096),
		    "growing_since", gs, "breakdown", bd,
		    "oldest_block_age_s", b.ts_min > 0 && last.mono_ns > b.ts_min ?
		    (double)(last.mono_ns - b.ts_min) / 1e9 : -1.0);
	}
	json_decref(signature);
	free(b.stacks);
	*ret = j;
	return 0;
}

/* ---- diff ---------------------------------------------------------------------- */

/* The largest change first, growth or shrinkage: a freed leak is news too. */
static int
cmp_change_desc(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int64_t ax = x->sum.d_pages < 0 ? -x->sum.d_pages : x->sum.d_pages;
	int64_t ay = y->sum.d_pages < 0 ? -y->sum.d_pages : y->sum.d_pages;

	if (ax != ay)
		return ax > ay ? -1 : 1;
	return cmp_net_desc(a, b);
}

int
query_diff(struct daemon *d, struct request *req, json_t **ret, struct rpc_err *err)
{
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
	if (query_parse(d->ro, req->params, false, &q, err) < 0)
		return -1;
	q.w.limit = PO_DEFAULT_LIMIT;
	if (json_object_get(req->params, "limit") != NULL) {
		json_t *lim = json_object_get(req->params, "limit");

		if (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
		    json_integer_value(lim) > PO_MAX_LIMIT) {
			query_free(&q);
			return rpc_fail(err, PO_E_PARAMS, "limit must be an integer "
			    "from 1 to %d", PO_MAX_LIMIT);
		}
		q.w.limit = json_integer_value(lim);
	}
	if ((code = window_point(d->ro, ja, "a", &a, &cause)) != 0 ||
	    (code = window_point(d->ro, jb, "b", &b, &cause)) != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		query_free(&q);
		return -1;
	}
	if (cache_refresh(d->ro) < 0 || state_at(d->ro, a, &sa) < 0 ||
	    state_at(d->ro, b, &sb) < 0 ||
	    cover_build(d->ro, a < b ? a : b, a < b ? b : a, LEVEL_DAY, &c) < 0) {
		query_free(&q);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(d->ro));
	}
	vec_init(&v, cache.max);
	for (size_t i = 0; r == 0 && i < c.n; i++)
		r = vec_add_segment(&v, &c.v[i]);
	groups_build(&q, &g);
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
		const struct group *gr = &g.v[i];
		json_t *j;

		if (gr->pages == 0 && gr->pages_a == 0 && gr->sum.alloc == 0)
			continue;
		j = group_json(&q, gr);
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

		po_time_str(snap_time(d->ro, a), ta, sizeof(ta));
		po_time_str(snap_time(d->ro, b), tb, sizeof(tb));
		*ret = json_pack("{s:{s:I, s:s}, s:{s:I, s:s}, s:s, s:I, s:I, s:I, s:b, "
		    "s:b, s:o}",
		    "a", "snapshot", (json_int_t)a, "time", ta,
		    "b", "snapshot", (json_int_t)b, "time", tb,
		    "by", by_names[q.by], "page_size", (json_int_t)q.page_size,
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

/* ---- export: Prometheus text, Grafana JSON, folded stacks -------------------------- */

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
prom_label(char *buf, size_t len, const char *v)
{
	size_t o = 0;

	for (; *v && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"') {
			buf[o++] = '\\';
			buf[o++] = *v;
		} else if (*v == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *v;
		}
	}
	buf[o] = '\0';
}

struct text {
	char		*s;
	size_t		 len, cap;
};

static void
text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = t->cap - t->len;

		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap ? t->cap * 2 : 4096;
		while (t->cap - t->len <= (size_t)n)
			t->cap *= 2;
		t->s = po_xrealloc(t->s, t->cap, 1);
	}
}

/* One dimension's top N by pages, then an "other" bucket. */
static void
prom_dimension(struct text *t, const struct state *st, enum series_kind kind,
    const char *metric, const char *label, int64_t limit, int64_t page_size,
    const char *help)
{
	struct group *v = NULL;
	size_t n = 0, vcap = 0;
	int64_t other = 0;

	for (int64_t id = 1; id < st->n; id++) {
		if (sinfo(id)->kind != (int)kind || st->pages[id] <= 0)
			continue;
		if (n == vcap) {	/* doubling: every stack holding pages */
			vcap = vcap ? vcap * 2 : 256;
			v = po_xrealloc(v, vcap, sizeof(*v));
		}
		memset(&v[n], 0, sizeof(*v));
		v[n].first_series = id;
		v[n].pages = st->pages[id];
		n++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_pages_desc);
	text_add(t, "# HELP %s %s\n# TYPE %s gauge\n", metric, help, metric);
	for (size_t i = 0; i < n; i++) {
		const struct sinfo *si = sinfo(v[i].first_series);
		char a[512], b[512], c[128];

		if ((int64_t)i >= limit) {
			other += v[i].pages;
			continue;
		}
		if (kind == SERIES_STACK) {
			prom_label(a, sizeof(a), si->culprit);
			prom_label(b, sizeof(b), si->module[0] ? si->module : "kernel");
			snprintf(c, sizeof(c), "%.12s", si->key);
			text_add(t, "%s{stack=\"%s\",culprit=\"%s\",module=\"%s\"} %lld\n",
			    metric, c, a, b, (long long)v[i].pages * page_size);
		} else {
			prom_label(a, sizeof(a), si->key[0] ? si->key : "-");
			text_add(t, "%s{%s=\"%s\"} %lld\n", metric, label, a,
			    (long long)v[i].pages * page_size);
		}
	}
	if ((int64_t)n > limit) {
		if (kind == SERIES_STACK)
			text_add(t, "%s{stack=\"other\",culprit=\"other\",module=\"other\"} %lld\n",
			    metric, (long long)other * page_size);
		else
			text_add(t, "%s{%s=\"other\"} %lld\n", metric, label,
			    (long long)other * page_size);
	}
	free(v);
}

static int
export_prometheus(struct daemon *d, const struct query *q, json_t **ret,
    struct rpc_err *err)
{
	struct text t = { 0 };
	struct state st = { 0 };
	struct snap_row last;
	int64_t total = 0;

	if (store_last_snapshot(d->ro, &last) <= 0)
		return rpc_fail(err, PO_E_NO_DATA, "no snapshot is stored yet");
	if (state_at(d->ro, last.id, &st) < 0)
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(d->ro));
	for (int64_t id = 1; id < st.n; id++)
		if (sinfo(id)->kind == SERIES_STACK)
			total += st.pages[id];
	text_add(&t, "# HELP pageowner_snapshot_timestamp_seconds When the latest "
	    "page_owner snapshot was taken.\n# TYPE pageowner_snapshot_timestamp_seconds "
	    "gauge\npageowner_snapshot_timestamp_seconds %.3f\n", last.time);
	text_add(&t, "# HELP pageowner_snapshot_duration_seconds How long the latest "
	    "snapshot took.\n# TYPE pageowner_snapshot_duration_seconds gauge\n"
	    "pageowner_snapshot_duration_seconds %.6f\n", last.duration);
	text_add(&t, "# HELP pageowner_snapshot_records Records in the latest "
	    "snapshot.\n# TYPE pageowner_snapshot_records gauge\n"
	    "pageowner_snapshot_records %lld\n", (long long)last.records);
	text_add(&t, "# HELP pageowner_snapshot_malformed_records Records the "
	    "latest snapshot could not read.\n# TYPE pageowner_snapshot_malformed_records "
	    "gauge\npageowner_snapshot_malformed_records %lld\n", (long long)last.malformed);
	text_add(&t, "# HELP pageowner_snapshots_failed_total Snapshots that failed "
	    "since the daemon started.\n# TYPE pageowner_snapshots_failed_total counter\n"
	    "pageowner_snapshots_failed_total %llu\n",
	    (unsigned long long)d->snapshots_failed);
	text_add(&t, "# HELP pageowner_allocated_bytes Memory page_owner shows "
	    "allocated, in bytes.\n# TYPE pageowner_allocated_bytes gauge\n"
	    "pageowner_allocated_bytes %lld\n", (long long)total * q->page_size);
	prom_dimension(&t, &st, SERIES_STACK, "pageowner_stack_bytes", "stack",
	    q->w.limit, q->page_size, "Bytes held per allocation stack (top N, then other).");
	prom_dimension(&t, &st, SERIES_MODULE, "pageowner_module_bytes", "module",
	    q->w.limit, q->page_size, "Bytes held per module of the allocating code.");
	prom_dimension(&t, &st, SERIES_COMM, "pageowner_comm_bytes", "comm",
	    q->w.limit, q->page_size, "Bytes held per allocating task name.");
	prom_dimension(&t, &st, SERIES_MEMCG, "pageowner_memcg_bytes", "memcg",
	    q->w.limit, q->page_size, "Bytes held per memory cgroup charged.");
	prom_dimension(&t, &st, SERIES_ORDER, "pageowner_order_bytes", "order",
	    q->w.limit, q->page_size, "Bytes held per allocation order.");
	state_free(&st);
	*ret = json_pack("{s:s, s:s%}", "format", "prometheus", "text", t.s ? t.s : "",
	    t.len);
	free(t.s);
	return 0;
}

/* "root;...;leaf" from a stack's frames (innermost first as printed). */
static void
folded_frames(struct daemon *d, int64_t series, struct text *t)
{
	sqlite3_stmt *q = store_stmt(d->ro, ST_STACKS_OF_SERIES);
	struct po_span lines[256];
	size_t n = 0;
	char *frames = NULL;

	if (q == NULL)
		return;
	sqlite3_bind_int64(q, 1, series);
	if (sqlite3_step(q) == SQLITE_ROW) {
		const char *f = (const char *)sqlite3_column_text(q, 2);

		frames = po_xstrdup(f ? f : "");
	}
	sqlite3_reset(q);
	if (frames == NULL) {
		text_add(t, "%s", sinfo(series)->culprit);
		return;
	}
	{
		struct po_span it = { frames, strlen(frames) }, line;

		while (n < PO_ARRAY_SIZE(lines) && po_frame_next(&it, &line))
			lines[n++] = line;
	}
	for (size_t i = n; i-- > 0;) {
		struct po_frame f;

		po_frame_parse(lines[i], &f);
		/* ';' separates frames and ' ' ends the stack in folded text */
		for (size_t k = 0; k < f.sym.n; k++) {
			char ch = f.sym.p[k];

			text_add(t, "%c", ch == ';' || ch == ' ' ? '_' : ch);
		}
		if (f.mod.n)
			text_add(t, "_[%.*s]", (int)f.mod.n, f.mod.p);
		if (i > 0)
			text_add(t, ";");
	}
	free(frames);
}

static int
export_folded(struct daemon *d, json_t *params, json_t **ret, struct rpc_err *err)
{
	json_t *ja = json_object_get(params, "a"), *jb = json_object_get(params, "b");
	json_t *at = json_object_get(params, "at");
	struct state sa = { 0 }, sb = { 0 };
	struct text t = { 0 };
	int64_t a = 0, b;
	char *cause = NULL;
	bool diff = ja != NULL || jb != NULL;
	int code;

	if (diff && (ja == NULL || jb == NULL))
		return rpc_fail(err, PO_E_PARAMS, "a folded diff needs both 'a' and 'b'");
	if (diff && at != NULL)
		return rpc_fail(err, PO_E_PARAMS, "give 'at', or 'a' and 'b', not both");
	code = window_point(d->ro, diff ? jb : at, diff ? "b" : "at", &b, &cause);
	if (code == 0 && diff)
		code = window_point(d->ro, ja, "a", &a, &cause);
	if (code != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		return -1;
	}
	if (state_at(d->ro, b, &sb) < 0 || (diff && state_at(d->ro, a, &sa) < 0)) {
		state_free(&sb);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(d->ro));
	}
	for (int64_t id = 1; id < sb.n; id++) {
		int64_t pa = diff && id < sa.n ? sa.pages[id] : 0, pb = sb.pages[id];

		if (sinfo(id)->kind != SERIES_STACK || (pa <= 0 && pb <= 0))
			continue;
		folded_frames(d, id, &t);
		if (diff)
			text_add(&t, " %lld %lld\n", (long long)pa, (long long)pb);
		else
			text_add(&t, " %lld\n", (long long)pb);
	}
	*ret = json_pack("{s:s, s:s%, s:b}", "format", "folded",
	    "text", t.s ? t.s : "", t.len, "diff", diff);
	free(t.s);
	state_free(&sa);
	state_free(&sb);
	return 0;
}

/* Grafana's JSON data source shape: [{target, datapoints: [[value, ms]]}]. */
static int
export_json(struct daemon *d, struct query *q, json_t **ret, struct rpc_err *err)
{
	struct state s0 = { 0 }, s1 = { 0 }, *resets = NULL;
	struct groups g = { 0 };
	struct cover c = { 0 };
	double span = q->w.t_hi - q->w.t_lo;
	int level = span <= 2 * 86400 ? LEVEL_SNAPSHOT : span <= 60 * 86400 ?
	    LEVEL_HOUR : LEVEL_DAY;
	json_t *targets = json_array();

	if (state_at(d->ro, q->w.lo, &s0) < 0 || state_at(d->ro, q->w.hi, &s1) < 0 ||
	    cover_build(d->ro, q->w.lo, q->w.hi, level, &c) < 0 ||
	    reset_states(d->ro, &c, q->w.lo, false, &resets) < 0) {
		json_decref(targets);
		state_free(&s0);
		state_free(&s1);
		cover_free(&c);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(d->ro));
	}
	groups_build(q, &g);
	groups_set_state(&g, &s1, false);
	groups_set_state(&g, &s0, true);
	groups_order(&g, (size_t)q->w.limit, cmp_pages_desc);
	for (size_t i = 0; i < g.n && (int64_t)i < q->w.limit; i++) {
		struct group *gr = &g.v[i];
		const struct sinfo *si = sinfo(gr->first_series);
		json_t *dp = json_array();
		int64_t v = gr->pages_a;
		char name[600];

		if (gr->pages == 0 && gr->pages_a == 0)
			break;
		json_array_append_new(dp, json_pack("[I, I]", (json_int_t)v * q->page_size,
		    (json_int_t)(q->w.t_lo * 1000.0)));
		for (size_t s = 0; s < c.n; s++) {
			struct segment *seg = &c.v[s];
			int64_t sum[4] = { 0, 0, 0, 0 };

			(void)segment_find(seg, gr->series, gr->nseries, sum);
			v += sum[0];
			if (seg->reset)	/* a new boot: its values */
				v = state_sum(&resets[s], gr->series, gr->nseries, false);
			json_array_append_new(dp, json_pack("[I, I]",
			    (json_int_t)v * q->page_size, (json_int_t)(seg->t_last * 1000)));
		}
		if (q->by == BY_STACK)
			snprintf(name, sizeof(name), "%s [%s] %.12s", si->culprit,
			    si->module[0] ? si->module : "kernel", si->key);
		else if (q->by == BY_CULPRIT)
			snprintf(name, sizeof(name), "%s", si->culprit);
		else
			snprintf(name, sizeof(name), "%s=%s", by_names[q->by], si->key);
		json_array_append_new(targets, json_pack("{s:s, s:o}", "target", name,
		    "datapoints", dp));
	}
	*ret = json_pack("{s:s, s:s, s:o, s:o}", "format", "json", "unit", "bytes",
	    "window", window_json(d->ro, q, &c, q->w.hi - q->w.lo), "targets", targets);
	reset_states_free(resets, c.n);
	groups_free(&g);
	state_free(&s0);
	state_free(&s1);
	cover_free(&c);
	return 0;
}

int
query_export(struct daemon *d, struct request *req, json_t **ret, struct rpc_err *err)
{
	const char *format = param_str(req->params, "format", err);
	struct query q;
	int r;

	if (format == NULL)
		return -1;
	if (cache_refresh(d->ro) < 0)
		return rpc_fail(err, PO_E_STORAGE, "database: %s", store_errmsg(d->ro));
	if (strcmp(format, "folded") == 0)
		return export_folded(d, req->params, ret, err);
	if (strcmp(format, "prometheus") != 0 && strcmp(format, "json") != 0)
		return rpc_fail(err, PO_E_PARAMS, "format: '%s' is not one of json, "
		    "prometheus, folded", format);
	if (query_parse(d->ro, req->params, strcmp(format, "json") == 0, &q, err) < 0)
		return -1;
	if (strcmp(format, "prometheus") == 0) {
		json_t *lim = json_object_get(req->params, "limit");

		q.w.limit = PO_DEFAULT_LIMIT;
		if (lim != NULL && json_is_integer(lim) && json_integer_value(lim) >= 1 &&
		    json_integer_value(lim) <= PO_MAX_LIMIT)
			q.w.limit = json_integer_value(lim);
		r = export_prometheus(d, &q, ret, err);
	} else {
		r = export_json(d, &q, ret, err);
	}
	query_free(&q);
	return r;
}

/* ---- params each query method takes (the table in methods.c checks them) --- */

const char *const query_top_params[] = { "at", "by", "match", "limit", NULL };
const char *const query_window_params[] = { "since", "until", "by", "match",
	"limit", NULL };
const char *const query_leaks_params[] = { "since", "until", "by", "match",
	"limit", "all", NULL };
const char *const query_history_params[] = { "series", "since", "until", NULL };
const char *const query_stack_params[] = { "id", NULL };
const char *const query_diff_params[] = { "a", "b", "by", "match", "limit", NULL };
const char *const query_export_params[] = { "format", "since", "until", "at", "a",
	"b", "by", "match", "limit", NULL };
