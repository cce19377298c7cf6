/*
 * history.c: the stored history as the answers read it.  A struct history
 * owns a read-only connection (the main thread's; or borrows the
 * collector's, to pin a snapshot) and the series cache: series rows are
 * never changed once written, so they are loaded once and then only the
 * new ones.  A value at a point (history_state_at) is the nearest
 * checkpoint before it plus the deltas after it (cover.c).
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
