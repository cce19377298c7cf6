/*
 * index.h: po_index, the one hash index of the code base.
 *
 * An open-addressing index from 64-bit hashes to the caller's dense u32
 * ids: the entries (keys, text, counters) stay in the caller's own arrays,
 * and the caller decides equality.  A slot is one 64-bit word, the hash's
 * high 32 bits (the tag) over id + 1 (0 = empty), so that a probe passes
 * over other entries' slots without reading their entries: most misses,
 * and most hits, cost one cache line of the index and at most one of the
 * caller's memory.  Capacity is a power of two, probing is linear, and
 * the index doubles when it passes its load factor.
 *
 * The slot is found from the tag alone, so the index can grow by itself
 * without asking the caller for hashes.  A "wide" index gives each slot a
 * second word, a check value the caller stores with the id (the high half
 * of a 128-bit hash): a lookup can then decide equality in the slot
 * (tag and check agree: 96 bits) without reading the entry.
 *
 * Lookup and insertion are static inline below; growth is lib/index.c.
 *
 *	struct po_index_probe p;
 *	uint32_t id;
 *
 *	for (id = po_index_first(ix, h, &p); id != PO_NONE;
 *	    id = po_index_next(ix, &p))
 *		if (my_entry_equals(id, key))
 *			return id;
 *	id = my_entry_append(key);
 *	po_index_add(ix, &p, id);
 *
 * or, on a hot path, the same lookup as one loop with the caller's
 * equality inlined: id = po_index_find(ix, h, &p, my_eq, &key).
 *
 * A wide index is used through po_index_first_wide(), _next_wide() and
 * _add_wide() (each kind has its own probe loop, the width a constant).
 */
#ifndef PO_INDEX_H
#define PO_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef PO_NONE
#define PO_NONE UINT32_MAX
#endif

struct po_index {
	uint64_t	*w;	/* slots: tag << 32 | (id + 1) [, check]; 0 = empty */
	uint32_t	 mask;	/* slots - 1 (power of two) */
	uint32_t	 n;	/* ids in the index */
	uint32_t	 limit;	/* grow when n passes this */
	uint8_t		 shift;	/* log2 of words per slot: 0, or 1 when wide */
	uint8_t		 load;	/* load factor, percent */
};

/* Where a lookup is: the slot looked at, and the tag looked for. */
struct po_index_probe {
	uint32_t	pos;	/* slot index */
	uint32_t	tag;	/* hash >> 32 */
};

void	 po_index_init(struct po_index *ix, uint32_t min_slots, unsigned load_pct,
	    bool wide);
void	 po_index_free(struct po_index *ix);
void	 po_index_clear(struct po_index *ix);
void	 po_index_grow_(struct po_index *ix);

/* Ids in the index. */
static inline uint32_t
po_index_count(const struct po_index *ix)
{
	return ix->n;
}

/*
 * The first slot from p->pos on that is empty (PO_NONE) or carries p->tag.
 * shift is a constant at each call (narrow 0, wide 1), so that each kind
 * of index gets its own probe loop.
 */
static inline __attribute__((always_inline)) uint32_t
po_index_scan_(const struct po_index *ix, struct po_index_probe *p,
    unsigned shift)
{
	const uint64_t *w = ix->w;
	uint32_t pos = p->pos, mask = ix->mask;
	uint64_t v;

	while ((v = w[(size_t)pos << shift]) != 0) {
		if ((uint32_t)(v >> 32) == p->tag)
			break;
		pos = (pos + 1) & mask;
	}
	p->pos = pos;
	return (uint32_t)v - 1;		/* empty: 0 - 1 = PO_NONE */
}

static inline __attribute__((always_inline)) uint32_t
po_index_first_(const struct po_index *ix, uint64_t h, struct po_index_probe *p,
    unsigned shift)
{
	p->tag = (uint32_t)(h >> 32);
	p->pos = p->tag & ix->mask;
	return po_index_scan_(ix, p, shift);
}

static inline __attribute__((always_inline)) void
po_index_add_(struct po_index *ix, const struct po_index_probe *p, uint32_t id,
    uint64_t check, unsigned shift)
{
	size_t at = (size_t)p->pos << shift;

	ix->w[at] = (uint64_t)p->tag << 32 | (id + 1);
	if (shift != 0)
		ix->w[at + 1] = check;
	if (++ix->n > ix->limit)
		po_index_grow_(ix);
}

/*
 * The id the caller's eq() accepts among those whose slots carry h's tag,
 * or PO_NONE (p then marks where h would go: see po_index_add()).  eq is
 * given the id and, in a wide index, the slot's check value; with eq a
 * static function, the whole lookup is one loop with eq inlined in it.
 */
typedef bool po_index_eq_fn(const void *ctx, uint32_t id, uint64_t check);

static inline __attribute__((always_inline)) uint32_t
po_index_find_(const struct po_index *ix, uint64_t h, struct po_index_probe *p,
    po_index_eq_fn *eq, const void *ctx, unsigned shift)
{
	const uint64_t *w = ix->w;
	uint32_t tag = (uint32_t)(h >> 32), mask = ix->mask, pos = tag & mask;
	uint64_t v;

	while ((v = w[(size_t)pos << shift]) != 0) {
		if ((uint32_t)(v >> 32) == tag &&
		    eq(ctx, (uint32_t)v - 1, shift ? w[((size_t)pos << shift) + 1] : 0))
			break;
		pos = (pos + 1) & mask;
	}
	p->tag = tag;
	p->pos = pos;
	return (uint32_t)v - 1;
}

static inline __attribute__((always_inline)) uint32_t
po_index_find(const struct po_index *ix, uint64_t h, struct po_index_probe *p,
    po_index_eq_fn *eq, const void *ctx)
{
	return po_index_find_(ix, h, p, eq, ctx, 0);
}

static inline __attribute__((always_inline)) uint32_t
po_index_find_wide(const struct po_index *ix, uint64_t h,
    struct po_index_probe *p, po_index_eq_fn *eq, const void *ctx)
{
	return po_index_find_(ix, h, p, eq, ctx, 1);
}

/*
 * The first id whose slot carries hash h's tag (a candidate: the caller
 * checks its entry), or PO_NONE when there is none.  p then marks where
 * h would go: see po_index_add().
 */
static inline uint32_t
po_index_first(const struct po_index *ix, uint64_t h, struct po_index_probe *p)
{
	return po_index_first_(ix, h, p, 0);
}

/* The next candidate after the one p is at, or PO_NONE. */
static inline uint32_t
po_index_next(const struct po_index *ix, struct po_index_probe *p)
{
	p->pos = (p->pos + 1) & ix->mask;
	return po_index_scan_(ix, p, 0);
}

/*
 * Add id in the empty slot a lookup that returned PO_NONE stopped at.  May
 * grow the index: p is then stale.  id must be below PO_NONE - 1.
 */
static inline void
po_index_add(struct po_index *ix, const struct po_index_probe *p, uint32_t id)
{
	po_index_add_(ix, p, id, 0, 0);
}

/* The same three for a wide index, whose slots also keep a check value. */
static inline uint32_t
po_index_first_wide(const struct po_index *ix, uint64_t h,
    struct po_index_probe *p)
{
	return po_index_first_(ix, h, p, 1);
}

static inline uint32_t
po_index_next_wide(const struct po_index *ix, struct po_index_probe *p)
{
	p->pos = (p->pos + 1) & ix->mask;
	return po_index_scan_(ix, p, 1);
}

static inline void
po_index_add_wide(struct po_index *ix, const struct po_index_probe *p,
    uint32_t id, uint64_t check)
{
	po_index_add_(ix, p, id, check, 1);
}

/* The check value stored with the candidate p is at (a wide index). */
static inline uint64_t
po_index_check(const struct po_index *ix, const struct po_index_probe *p)
{
	return ix->w[((size_t)p->pos << 1) + 1];
}

/* Add id under h without looking for an equal entry (known to be new). */
static inline void
po_index_put(struct po_index *ix, uint64_t h, uint32_t id, uint64_t check)
{
	struct po_index_probe p;

	p.tag = (uint32_t)(h >> 32);
	p.pos = p.tag & ix->mask;
	while (ix->w[(size_t)p.pos << ix->shift] != 0)
		p.pos = (p.pos + 1) & ix->mask;
	po_index_add_(ix, &p, id, check, ix->shift);
}

/* Start loading the slot a lookup of h reads first. */
static inline __attribute__((always_inline)) void
po_index_prefetch_(const struct po_index *ix, uint64_t h, unsigned shift)
{
	__builtin_prefetch(&ix->w[(size_t)((uint32_t)(h >> 32) & ix->mask) << shift]);
}

static inline void
po_index_prefetch(const struct po_index *ix, uint64_t h)
{
	po_index_prefetch_(ix, h, 0);
}

static inline void
po_index_prefetch_wide(const struct po_index *ix, uint64_t h)
{
	po_index_prefetch_(ix, h, 1);
}

#endif
