/*
 * rollup.c: one snapshot's per-series values become stored history.
 *
 * Per series, the new value against the last one gives the delta; deltas
 * are packed into the snapshot's change blob, totals are updated, and
 * hourly and daily rollups accumulate here and are written when their
 * bucket closes (with a checkpoint of the full state at each hour's end),
 * all inside the caller's transaction.  The open rollups live only in
 * memory, so at start (and after a failed transaction) they are rebuilt
 * from the change blobs written since the last stored rollup.
 */
#include <errno.h>
#include <string.h>

#include "page-ownerd.h"

#define HOUR		3600
#define DAY		86400

/* A rollup being accumulated: level 1 = hour, 2 = day. */
struct bucket_acc {
	int64_t		 key;		/* floor(time / length); -1 = empty */
	int64_t		 boot;		/* a bucket never spans a reboot */
	int64_t		 start;		/* floor(time) of its first snapshot */
	int64_t		 first, last, n;	/* snapshots in it */
	int64_t		(*v)[BK__N];	/* by series id */
	int64_t		 cap;
};

struct rollup {
	struct bucket_acc bk[2];
	bool		 bulk;		/* totals written by rollup_flush_totals */
	uint8_t		*dirty;		/* bulk: series whose totals changed */
	int64_t		 dirty_cap;
};

static void
bucket_reset(struct bucket_acc *b)
{
	if (b->cap > 0)
		memset(b->v, 0, (size_t)b->cap * sizeof(*b->v));
	b->key = -1;
	b->n = b->first = b->last = b->boot = b->start = 0;
}

static void
bucket_grow(struct bucket_acc *b, int64_t series)
{
	if (series >= b->cap) {
		int64_t cap = b->cap ? b->cap : 1024;

		while (cap <= series)
			cap *= 2;
		b->v = po_xrealloc(b->v, (size_t)cap, sizeof(*b->v));
		memset(b->v + b->cap, 0, (size_t)(cap - b->cap) * sizeof(*b->v));
		b->cap = cap;
	}
}

static void
bucket_add(struct bucket_acc *b, int64_t series, const int64_t *ch)
{
	bucket_grow(b, series);
	b->v[series][BK_D_PAGES] += ch[CH_D_PAGES];
	b->v[series][BK_D_BLOCKS] += ch[CH_D_BLOCKS];
	b->v[series][BK_ALLOC] += ch[CH_ALLOC];
	b->v[series][BK_FREED] += ch[CH_FREED];
	if (ch[CH_D_PAGES] > 0)
		b->v[series][BK_GREW]++;
	else if (ch[CH_D_PAGES] < 0)
		b->v[series][BK_SHRANK]++;
}

static int
bucket_write(struct rollup *ru, struct store *st, int level)
{
	struct bucket_acc *b = &ru->bk[level - 1];
	struct bucket_meta m = { .level = level, .start = b->start, .first = b->first,
	    .last = b->last, .n = b->n };
	struct pack_writer w;
	uint8_t *blob;
	size_t len;
	int r;

	pack_writer_init(&w, BK__N, BK_SIGNED);
	for (int64_t s = 1; s < b->cap; s++) {
		bool any = false;

		for (int f = 0; f < BK__N; f++)
			any |= b->v[s][f] != 0;
		if (any)
			pack_add(&w, (uint32_t)s, b->v[s]);
	}
	pack_finish(&w, &blob, &len);
	r = store_put_bucket(st, &m, blob, len);
	free(blob);
	return r;
}

/* The full state (every series' latest value) as the snapshot's checkpoint. */
int
rollup_checkpoint(struct store *st, struct registry *reg, int64_t snapshot)
{
	struct pack_writer w;
	uint8_t *blob;
	size_t len;
	int r;

	pack_writer_init(&w, CP__N, CP_SIGNED);
	for (int64_t s = 1; s <= registry_max_series(reg); s++) {
		const struct series_info *si = registry_info(reg, s);
		int64_t f[CP__N];

		if (si == NULL || (si->pages == 0 && si->blocks == 0))
			continue;
		f[CP_PAGES] = si->pages;
		f[CP_BLOCKS] = si->blocks;
		pack_add(&w, (uint32_t)s, f);
	}
	pack_finish(&w, &blob, &len);
	r = store_put_checkpoint(st, snapshot, blob, len);
	free(blob);
	return r;
}

struct rollup *
rollup_new(void)
{
	struct rollup *r = po_xcalloc(1, sizeof(*r));

	bucket_reset(&r->bk[0]);
	bucket_reset(&r->bk[1]);
	return r;
}

void
rollup_free(struct rollup *r)
{
	if (r == NULL)
		return;
	free(r->bk[0].v);
	free(r->bk[1].v);
	free(r->dirty);
	free(r);
}

/*
 * The latest day rollup may be the open day, written at an hour's end:
 * the accumulator starts from it.  (If it was closed, the next snapshot
 * of another day resets the accumulator, or writes the same rollup again.)
 */
static int
bucket_load_latest(struct store *st, struct bucket_acc *b, int level, int64_t *after)
{
	struct bucket_meta m;
	struct store_blob blob;
	int r = store_bucket_last(st, level, &m, &blob);

	*after = 0;
	if (r <= 0)
		return r < 0 ? -EIO : 0;
	*after = m.last;
	if (level == 2) {
		struct pack_reader pr;
		int64_t f[BK__N];
		uint32_t s;

		if (pack_reader_init(&pr, blob.p, blob.len, BK__N) == 0) {
			b->start = m.start;
			b->first = m.first;
			b->last = m.last;
			b->n = m.n;
			b->boot = m.boot;
			b->key = (int64_t)(m.t_first / (double)DAY);
			while (pack_next(&pr, &s, f) > 0) {
				bucket_grow(b, s);
				for (int i = 0; i < BK__N; i++)
					b->v[s][i] += f[i];
			}
		}
	}
	store_blob_free(&blob);
	return 0;
}

static int
rebuild_add(int64_t snapshot, const void *blob, size_t len, void *ud)
{
	struct bucket_acc *b = ud;
	struct pack_reader pr;
	int64_t f[CH__N];
	uint32_t s;

	(void)snapshot;
	if (pack_reader_init(&pr, blob, len, CH__N) < 0)
		return 0;
	while (pack_next(&pr, &s, f) > 0)
		bucket_add(b, s, f);
	return 0;
}

/* Rebuild the open rollups from the change blobs not yet rolled up. */
int
rollup_rebuild(struct rollup *ru, struct store *st)
{
	for (int level = 1; level <= 2; level++) {
		struct bucket_acc *b = &ru->bk[level - 1];
		int64_t after, len = level == 1 ? HOUR : DAY, from;
		struct snap_ref *refs = NULL;
		size_t nrefs = 0;

		bucket_reset(b);
		if (bucket_load_latest(st, b, level, &after) < 0)
			return -EIO;
		from = after + 1;

		/* snapshots after the last rollup, with their change blobs */
		if (store_snapshot_refs(st, after + 1, INT64_MAX, &refs, &nrefs) < 0) {
			free(refs);
			return -EIO;
		}
		for (size_t i = 0; i < nrefs; i++) {
			int64_t key = (int64_t)(refs[i].time / (double)len);

			if (b->n > 0 && (b->key != key || b->boot != refs[i].boot))
				bucket_reset(b);	/* its successor closed it: it is stored */
			if (b->n == 0) {
				b->key = key;
				b->boot = refs[i].boot;
				b->start = (int64_t)refs[i].time;
				b->first = refs[i].id;
			}
			b->last = refs[i].id;
			b->n++;
		}
		free(refs);
		if (b->n == 0 || b->last < from)
			continue;
		/* an open day loaded from its rollup has its changes to there */
		if (store_each_change(st, b->first > from ? b->first : from, b->last,
		    rebuild_add, b) < 0)
			return -EIO;
	}
	return 0;
}

static void
top_note(struct grower *top, int64_t series, const int64_t *ch)
{
	int i;

	if (ch[CH_D_PAGES] <= top[ROLLUP_TOP - 1].d)
		return;
	for (i = ROLLUP_TOP - 1; i > 0 && top[i - 1].d < ch[CH_D_PAGES]; i--)
		top[i] = top[i - 1];
	top[i] = (struct grower){ series, ch[CH_D_PAGES], ch[CH_ALLOC], ch[CH_FREED] };
}

static void
mark_dirty(struct rollup *ru, int64_t s)
{
	if (s >= ru->dirty_cap) {
		int64_t cap = ru->dirty_cap ? ru->dirty_cap : 1024;

		while (cap <= s)
			cap *= 2;
		ru->dirty = po_xrealloc(ru->dirty, (size_t)cap, 1);
		memset(ru->dirty + ru->dirty_cap, 0, (size_t)(cap - ru->dirty_cap));
		ru->dirty_cap = cap;
	}
	ru->dirty[s] = 1;
}

static int
put_totals(struct store *st, int64_t s, const struct series_info *si, int64_t snapshot)
{
	struct series_row t = { .id = s, .pages = si->pages, .blocks = si->blocks,
	    .last_change = snapshot, .growing_since = si->growing_since,
	    .ts_min = si->ts_min };

	return store_put_totals(st, &t);
}

/* Close the rollups this snapshot does not belong to; open its own. */
static int
buckets_advance(struct rollup *ru, struct store *st, struct registry *reg,
    const struct snap_row *row)
{
	for (int level = 1; level <= 2; level++) {
		struct bucket_acc *b = &ru->bk[level - 1];
		int64_t key = (int64_t)(row->time / (level == 1 ? HOUR : DAY));
		int r;

		if (b->n > 0 && (b->key != key || b->boot != row->boot)) {
			r = bucket_write(ru, st, level);
			/* an hour's end: the full state, so a value now is an hour
			 * of deltas away from one (thinned to one a day later) */
			if (r == 0 && level == 1)
				r = rollup_checkpoint(st, reg, b->last);
			/*
			 * And the open day so far, rewritten at each hour's
			 * end: a month's window then reads 30 day rollups and
			 * an hour of snapshots, not 23 hours of rollups more.
			 */
			if (r == 0 && level == 1 && ru->bk[1].n > 0 &&
			    ru->bk[1].key == (int64_t)(row->time / DAY) &&
			    ru->bk[1].boot == row->boot)
				r = bucket_write(ru, st, 2);
			if (r < 0)
				return r;
			bucket_reset(b);
		}
		if (b->n == 0) {
			b->key = key;
			b->boot = row->boot;
			b->start = (int64_t)row->time;
			b->first = row->id;
		}
		b->last = row->id;
		b->n++;
	}
	return 0;
}

int
rollup_apply(struct rollup *ru, struct store *st, struct registry *reg,
    const struct snap_row *row, struct series_values *v, struct grower *top)
{
	bool baseline = row->baseline;
	struct pack_writer w;
	int64_t max = registry_max_series(reg), changed = 0;
	uint8_t *blob;
	size_t len;
	int r;

	series_values_reserve(v, max);
	if ((r = buckets_advance(ru, st, reg, row)) < 0)
		return r;
	pack_writer_init(&w, CH__N, CH_SIGNED);
	for (int64_t s = 1; s <= max; s++) {
		struct series_info *si = registry_info(reg, s);
		int64_t ch[CH__N];

		if (si == NULL)
			continue;
		ch[CH_D_PAGES] = v->pages[s] - si->pages;
		ch[CH_D_BLOCKS] = v->blocks[s] - si->blocks;
		ch[CH_ALLOC] = row->identities ? v->alloc[s] : 0;
		ch[CH_FREED] = row->identities ? v->freed[s] : 0;
		if (baseline)
			ch[CH_D_PAGES] = ch[CH_D_BLOCKS] = 0;
		if (ch[CH_D_PAGES] || ch[CH_D_BLOCKS] || ch[CH_ALLOC] || ch[CH_FREED]) {
			pack_add(&w, (uint32_t)s, ch);
			bucket_add(&ru->bk[0], s, ch);
			bucket_add(&ru->bk[1], s, ch);
			changed++;
			if (si->kind == SERIES_STACK && top != NULL)
				top_note(top, s, ch);
		}
		if (v->pages[s] != si->pages || v->blocks[s] != si->blocks ||
		    v->ts_min[s] != si->ts_min || (baseline && v->pages[s] != 0)) {
			if (baseline || v->pages[s] < si->pages || si->pages == 0)
				si->growing_since = row->id;
			si->pages = v->pages[s];
			si->blocks = v->blocks[s];
			si->ts_min = v->ts_min[s];
			si->last_change = row->id;
			if (ru->bulk) {
				mark_dirty(ru, s);
				continue;
			}
			r = put_totals(st, s, si, row->id);
			if (r < 0) {
				pack_writer_free(&w);
				return r;
			}
		}
	}
	pack_finish(&w, &blob, &len);
	r = store_put_changes(st, row->id, blob, len);
	free(blob);
	if (r == 0 && baseline)
		r = rollup_checkpoint(st, reg, row->id);
	if (r == 0)
		r = store_set_boot_range(st, row->boot, row->id);
	return r < 0 ? r : (int)(changed > INT32_MAX ? INT32_MAX : changed);
}

/*
 * Bulk loading (the bench generator): totals are kept in memory and
 * written once by rollup_flush_totals, not at every snapshot.
 */
void
rollup_set_bulk(struct rollup *r, bool bulk)
{
	r->bulk = bulk;
}

int
rollup_flush_totals(struct rollup *ru, struct store *st, struct registry *reg)
{
	int r;

	if ((r = store_begin(st)) < 0)
		return r;
	for (int64_t s = 1; s < ru->dirty_cap; s++) {
		const struct series_info *si;

		if (!ru->dirty[s] || (si = registry_info(reg, s)) == NULL)
			continue;
		r = put_totals(st, s, si, si->last_change);
		if (r < 0) {
			store_rollback(st);
			return r;
		}
		ru->dirty[s] = 0;
	}
	return store_commit(st);
}
