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
 *	po_index_add(ix, &p, id, 0);
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
	uint32_t	pos;
	uint32_t	tag;
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

/* The first slot from p->pos on that is empty (PO_NONE) or carries p->tag. */
static inline uint32_t
po_index_scan_(const struct po_index *ix, struct po_index_probe *p)
{
	const uint64_t *w = ix->w;
	uint32_t pos = p->pos, mask = ix->mask;
	unsigned shift = ix->shift;
	uint64_t v;

	while ((v = w[(size_t)pos << shift]) != 0) {
		if ((uint32_t)(v >> 32) == p->tag)
			break;
		pos = (pos + 1) & mask;
	}
	p->pos = pos;
	return v != 0 ? (uint32_t)v - 1 : PO_NONE;
}

/*
 * The first id whose slot carries hash h's tag (a candidate: the caller
 * checks its entry), or PO_NONE when there is none.  p then marks where
 * h would go: see po_index_add().
 */
static inline uint32_t
po_index_first(const struct po_index *ix, uint64_t h, struct po_index_probe *p)
{
	p->tag = (uint32_t)(h >> 32);
	p->pos = p->tag & ix->mask;
	return po_index_scan_(ix, p);
}

/* The next candidate after the one p is at, or PO_NONE. */
static inline uint32_t
po_index_next(const struct po_index *ix, struct po_index_probe *p)
{
	p->pos = (p->pos + 1) & ix->mask;
	return po_index_scan_(ix, p);
}

/* A wide index: the check value stored with the candidate p is at. */
static inline uint64_t
po_index_check(const struct po_index *ix, const struct po_index_probe *p)
{
	return ix->w[((size_t)p->pos << 1) + 1];
}

/*
 * Add id (with its check value, for a wide index) in the empty slot a
 * lookup that returned PO_NONE stopped at.  May grow the index: p is then
 * stale.  id must be below PO_NONE - 1.
 */
static inline void
po_index_add(struct po_index *ix, const struct po_index_probe *p, uint32_t id,
    uint64_t check)
{
	size_t at = (size_t)p->pos << ix->shift;

	ix->w[at] = (uint64_t)p->tag << 32 | (id + 1);
	if (ix->shift != 0)
		ix->w[at + 1] = check;
	if (++ix->n > ix->limit)
		po_index_grow_(ix);
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
	po_index_add(ix, &p, id, check);
}

/* Start loading the slot a lookup of h reads first. */
static inline void
po_index_prefetch(const struct po_index *ix, uint64_t h)
{
	__builtin_prefetch(&ix->w[(size_t)((uint32_t)(h >> 32) & ix->mask) <<
	    ix->shift]);
}

#endif
