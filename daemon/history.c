/*
 * history.c: the stored history as the answers read it.  A struct history
 * owns a read-only connection (the main thread's; or borrows the
 * collector's, to pin a snapshot) and the series cache: series rows are
 * never changed once written, so they are loaded once and then only the
 * new ones.  A value at a point (history_state_at) is the nearest
 * checkpoint before it plus the deltas after it.
 *
 * The cover: a window (lo, hi] of snapshots is covered by the coarsest
 * stored pieces that fit inside it: daily rollups, then hourly ones, then
 * single snapshots' change blobs; where full-resolution deltas have been
 * pruned the cover falls back to the hour that holds them and is marked
 * approximate.  Sums over the cover give net growth, pages allocated and
 * freed, and how many intervals grew or shrank.  Everything runs in C over
 * arrays indexed by series id: no per-delta SQL.
 */
#include <errno.h>
#include <string.h>

#include "page-ownerd.h"

struct history {
	struct store	*st;		/* NULL while closed for a reopen */
	char		*path;		/* NULL when borrowed */
	bool		 borrowed;	/* st belongs to someone else */
	struct sinfo	*v;		/* by series id */
	int64_t		 max;		/* largest id loaded */
	int64_t		 cap;
};

static void
cache_free(struct history *h)
{
	for (int64_t i = 0; i <= h->max && i < h->cap; i++) {
		free(h->v[i].key);
		free(h->v[i].culprit);
		free(h->v[i].module);
	}
	free(h->v);
	h->v = NULL;
	h->max = h->cap = 0;
}

int
history_open(struct history **ret, const char *path, char **cause)
{
	struct history *h = po_xcalloc(1, sizeof(*h));
	int r = store_open(&h->st, path, true, cause);

	if (r < 0) {
		free(h);
		return r;
	}
	h->path = po_xstrdup(path);
	*ret = h;
	return 0;
}

/* A history over a connection someone else owns (and closes). */
int
history_borrow(struct history **ret, struct store *st)
{
	struct history *h = po_xcalloc(1, sizeof(*h));

	h->st = st;
	h->borrowed = true;
	*ret = h;
	return 0;
}

void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	if (!h->borrowed)
		store_close(h->st);
	cache_free(h);
	free(h->path);
	free(h);
}

struct store *
history_store(struct history *h)
{
	return h->st;
}

/* Open the file at the path afresh; the old connection stays on failure. */
int
history_reopen(struct history *h, char **cause)
{
	struct store *st = NULL;
	int r;

	if (h->borrowed)
		return -EINVAL;
	if ((r = store_open(&st, h->path, true, cause)) < 0)
		return r;
	store_close(h->st);
	h->st = st;
	cache_free(h);
	return 0;
}

/* Close the connection until history_reopen (queries are refused). */
void
history_close_store(struct history *h)
{
	if (h->borrowed)
		return;
	store_close(h->st);
	h->st = NULL;
}

static int
cache_add(const struct series_row *row, void *ud)
{
	struct history *h = ud;
	struct sinfo *si;
	int64_t id = row->id;

	if (id <= h->max && h->v[id].kind != 0)
		return 0;
	if (id >= h->cap) {
		int64_t cap = h->cap ? h->cap : 1024;

		while (cap <= id)
			cap *= 2;
		h->v = po_xrealloc(h->v, (size_t)cap, sizeof(*h->v));
		memset(h->v + h->cap, 0, (size_t)(cap - h->cap) * sizeof(*h->v));
		h->cap = cap;
	}
	si = &h->v[id];
	si->kind = row->kind;
	si->key = po_xstrdup(row->key);
	si->culprit = po_xstrdup(row->culprit);
	si->module = po_xstrdup(row->module);
	si->first = row->first;
	if (id > h->max)
		h->max = id;
	return 0;
}

/* Load the series stored since the last refresh. */
int
history_refresh(struct history *h)
{
	if (h->st == NULL)
		return -ESHUTDOWN;
	return store_each_series(h->st, h->max, cache_add, h) < 0 ? -EIO : 0;
}

const struct sinfo *
history_series(const struct history *h, int64_t id)
{
	static char empty[] = "";
	static const struct sinfo none = { 0, empty, empty, empty, 0 };

	return id > 0 && id <= h->max && h->v[id].kind != 0 ? &h->v[id] : &none;
}

int64_t
history_max_series(const struct history *h)
{
	return h->max;
}

double
history_snap_time(struct history *h, int64_t id)
{
	struct snap_row r;

	return store_snapshot(h->st, id, &r) > 0 ? r.time : 0;
}

void
state_free(struct state *s)
{
	free(s->pages);
	free(s->blocks);
	memset(s, 0, sizeof(*s));
}

/* Pages (or blocks) of some series in a state. */
int64_t
state_sum(const struct state *s, const int64_t *series, size_t n, bool blocks)
{
	int64_t sum = 0;

	for (size_t k = 0; k < n; k++)
		if (series[k] < s->n)
			sum += blocks ? s->blocks[series[k]] : s->pages[series[k]];
	return sum;
}

/* Every series' value after snapshot s (refresh the cache first). */
int
history_state_at(struct history *h, int64_t s, struct state *ret)
{
	struct store_blob blob;
	struct pack_reader pr;
	struct cover c = { 0 };
	struct vec v = { 0 };
	int64_t cp = 0, f[CP__N];
	uint32_t id;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->n = h->max + 1;
	ret->pages = po_xcalloc((size_t)ret->n, sizeof(int64_t));
	ret->blocks = po_xcalloc((size_t)ret->n, sizeof(int64_t));
	r = store_checkpoint_before(h->st, s, &cp, &blob);
	if (r < 0)
		return -EIO;
	if (r > 0) {
		if (pack_reader_init(&pr, blob.p, blob.len, CP__N) < 0)
			r = -EBADMSG;
		else
			while ((r = pack_next(&pr, &id, f)) > 0)
				if ((int64_t)id < ret->n) {
					ret->pages[id] = f[CP_PAGES];
					ret->blocks[id] = f[CP_BLOCKS];
				}
		store_blob_free(&blob);
		if (r < 0)
			return r;
	}
	if (cp == s)
		return 0;
	r = cover_build(h, cp, s, LEVEL_DAY, &c);
	if (r < 0)
		return r;
	r = cover_sum(&c, h->max, &v, NULL);
	for (int64_t i = 0; r == 0 && i < v.n; i++) {
		ret->pages[i] += v.a[i].d_pages;
		ret->blocks[i] += v.a[i].d_blocks;
	}
	ret->approx = c.approx;
	vec_free(&v);
	cover_free(&c);
	return r < 0 ? r : 0;
}

/* ---- the cover of a window ------------------------------------------------ */

_Static_assert(sizeof(struct acc) == BK__N * sizeof(int64_t),
    "struct acc must match the delta tables' fields for pack_sum");

void
cover_free(struct cover *c)
{
	for (size_t i = 0; i < c->n; i++) {
		pack_reader_free(&c->v[i].rd);
		store_blob_free(&c->v[i].blob);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/*
 * The summed fields (d_pages, d_blocks, allocated, freed) of some series in
 * one segment; the segment keeps its decoded index for the next call.
 * Returns -EBADMSG for a damaged blob.
 */
int
segment_find(struct segment *seg, const int64_t *ids, size_t n, int64_t *sum)
{
	int64_t f[BK__N];
	int nf = seg->level == LEVEL_SNAPSHOT ? CH__N : BK__N;

	memset(sum, 0, 4 * sizeof(*sum));
	if (!seg->rd_ready) {
		if (pack_reader_init(&seg->rd, seg->blob.p, seg->blob.len, (unsigned)nf) < 0)
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

static struct segment *
cover_push(struct cover *c, int level, int64_t first, int64_t last, double t_last)
{
	struct segment *s;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = po_xrealloc(c->v, c->cap, sizeof(*c->v));
	}
	s = &c->v[c->n++];
	memset(s, 0, sizeof(*s));
	s->level = level;
	s->first = first;
	s->last = last;
	s->t_last = t_last;
	if (level < c->finest)
		c->finest = level;
	return s;
}

static int
cmp_segment(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

static bool
cover_overlaps(const struct cover *c, int64_t first, int64_t last)
{
	for (size_t i = 0; i < c->n; i++)
		if (first <= c->v[i].last && last >= c->v[i].first)
			return true;
	return false;
}

/* A rollup pushed with its blob. */
static int
push_bucket(struct history *h, struct cover *c, const struct bucket_meta *bm)
{
	struct segment *s = cover_push(c, bm->level, bm->first, bm->last, bm->t_last);

	return store_bucket_blob(history_store(h), bm->level, bm->start, &s->blob) > 0 ?
	    0 : -EIO;
}

/* The rollup of a level that holds snapshot id, if any: 1 and *ret. */
int
cover_buckets_at(struct history *h, int level, int64_t snapshot, struct bucket_meta *ret)
{
	struct bucket_meta *bm = NULL;
	size_t nbm = 0;
	int r = store_buckets(history_store(h), level, snapshot, snapshot, &bm, &nbm);

	if (r == 0 && nbm > 0)
		*ret = bm[0];
	free(bm);
	return r < 0 ? r : nbm > 0;
}

struct gap_fill {
	struct cover	*c;
	struct snap_ref	*snaps;
	size_t		 nsnaps, k;
};

static int
push_change(int64_t id, const void *blob, size_t len, void *ud)
{
	struct gap_fill *g = ud;
	struct segment *s;

	while (g->k < g->nsnaps && g->snaps[g->k].id < id)
		g->k++;
	s = cover_push(g->c, LEVEL_SNAPSHOT, id, id,
	    g->k < g->nsnaps && g->snaps[g->k].id == id ? g->snaps[g->k].time : 0);
	s->blob.p = po_xmalloc(len ? len : 1);
	if (len)
		memcpy(s->blob.p, blob, len);
	s->blob.len = len;
	return 0;
}

/* The parts of (a, b] no segment covers yet, appended to the cover. */
static int
cover_fill_gap(struct history *h, struct cover *c, int64_t a, int64_t b)
{
	struct gap_fill g = { .c = c };
	int r;

	if (a > b)
		return 0;
	r = store_snapshot_refs(history_store(h), a, b, &g.snaps, &g.nsnaps);
	if (r == 0)
		r = store_each_change(history_store(h), a, b, push_change, &g);
	if (r < 0) {
		free(g.snaps);
		return -EIO;
	}
	/* snapshots whose deltas were pruned: the hour that holds them */
	for (size_t i = 0; i < g.nsnaps; i++) {
		struct bucket_meta bm = { 0 };

		if (g.snaps[i].baseline || cover_overlaps(c, g.snaps[i].id, g.snaps[i].id))
			continue;
		r = cover_buckets_at(h, LEVEL_HOUR, g.snaps[i].id, &bm);
		if (r > 0 && !cover_overlaps(c, bm.first, bm.last)) {
			r = push_bucket(h, c, &bm);
			c->approx = true;
		}
		if (r < 0) {
			free(g.snaps);
			return r;
		}
	}
	free(g.snaps);
	return 0;
}

/* Segments that hold a baseline (a new boot): values restart there. */
static int
mark_resets(struct history *h, struct cover *c, int64_t lo, int64_t hi)
{
	int64_t *ids = NULL;
	size_t n = 0, seg = 0;

	/*
	 * A baseline stores no delta (none crosses a boot), so a value walked
	 * through the segment holding one is wrong: such segments are marked,
	 * and walks take the value there from the state instead.
	 */
	if (store_baselines(history_store(h), lo + 1, hi, &ids, &n) < 0) {
		free(ids);
		return -EIO;
	}
	for (size_t i = 0; i < n; i++) {
		while (seg < c->n && c->v[seg].last < ids[i])
			seg++;
		if (seg < c->n && c->v[seg].first <= ids[i])
			c->v[seg].reset = true;
	}
	free(ids);
	return 0;
}

/*
 * Cover (lo, hi] with the coarsest stored pieces that fit wholly inside:
 * day rollups, then hour rollups (up to max_level), then single
 * snapshots' change blobs for the rest.  Only the blobs chosen are read.
 */
int
cover_build(struct history *h, int64_t lo, int64_t hi, int max_level, struct cover *c)
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

		if (store_buckets(history_store(h), level, lo + 1, hi, &bm, &nbm) < 0) {
			free(bm);
			cover_free(c);
			return -EIO;
		}
		for (size_t i = 0; i < nbm && r == 0; i++) {
			if (bm[i].first <= lo || bm[i].last > hi ||
			    cover_overlaps(c, bm[i].first, bm[i].last))
				continue;	/* not wholly inside, or taken */
			r = push_bucket(h, c, &bm[i]);
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

		r = cover_fill_gap(h, c, from, to);
		if (i < nchosen)
			from = c->v[i].last + 1;
	}
	if (r == 0 && c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), cmp_segment);
	for (size_t i = 0; r == 0 && i < c->n; i++)
		if (c->v[i].t_last == 0)
			c->v[i].t_last = history_snap_time(h, c->v[i].last);
	if (r == 0)
		r = mark_resets(h, c, lo, hi);
	if (r < 0)
		cover_free(c);
	return r;
}

void
vec_free(struct vec *v)
{
	free(v->a);
	v->a = NULL;
	v->n = 0;
}

/*
 * Per series (ids up to max_series), the sums over the cover's segments;
 * ret_intervals (or NULL): the snapshots the segments span.  -EBADMSG if
 * a blob is damaged (the sums so far are kept).
 */
int
cover_sum(const struct cover *c, int64_t max_series, struct vec *ret,
    int64_t *ret_intervals)
{
	int64_t intervals = 0;
	int r = 0;

	ret->n = max_series + 1;
	ret->a = po_xcalloc((size_t)ret->n, sizeof(*ret->a));
	for (size_t i = 0; r == 0 && i < c->n; i++) {
		const struct segment *s = &c->v[i];
		struct pack_reader pr;
		int nf = s->level == LEVEL_SNAPSHOT ? CH__N : BK__N;

		/* struct acc is six int64_t in the delta tables' field order */
		if (pack_reader_init(&pr, s->blob.p, s->blob.len, (unsigned)nf) < 0)
			r = -EBADMSG;
		else
			r = pack_sum(&pr, &ret->a[0].d_pages, (uint32_t)(ret->n - 1));
		intervals += s->last - s->first + 1;
	}
	if (ret_intervals != NULL)
		*ret_intervals = intervals;
	return r;
}

/*
 * For the segments that hold a baseline, the state where a walk through
 * the cover must pick up again: at the segment's end (a forward walk), or
 * at its predecessor's end, lo for the first (a backward walk).  Other
 * entries stay empty.
 */
int
cover_reset_states(struct history *h, const struct cover *c, int64_t lo, bool before,
    struct state **ret)
{
	struct state *v = po_xcalloc(c->n ? c->n : 1, sizeof(*v));

	for (size_t i = 0; i < c->n; i++) {
		int64_t at = before ? (i > 0 ? c->v[i - 1].last : lo) : c->v[i].last;
		int r;

		if (!c->v[i].reset)
			continue;
		r = history_state_at(h, at, &v[i]);
		if (r < 0) {
			cover_reset_states_free(v, i + 1);
			return r;
		}
	}
	*ret = v;
	return 0;
}

void
cover_reset_states_free(struct state *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		state_free(&v[i]);
	free(v);
}
