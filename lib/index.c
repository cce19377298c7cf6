/*
 * index.c: po_index's allocation and growth (lookups are in index.h).
 */
#include <string.h>

#include "index.h"
#include "po.h"

static void
index_alloc(struct po_index *ix, uint32_t slots)
{
	ix->w = po_xcalloc((size_t)slots << ix->shift, sizeof(*ix->w));
	ix->mask = slots - 1;
	ix->limit = (uint32_t)((uint64_t)slots * ix->load / 100);
}

/*
 * An empty index of at least min_slots slots (rounded up to a power of
 * two), that doubles when more than load_pct percent of its slots are
 * used; wide: each slot also keeps a 64-bit check value.
 */
void
po_index_init(struct po_index *ix, uint32_t min_slots, unsigned load_pct,
    bool wide)
{
	uint32_t slots = 16;

	while (slots < min_slots && slots < (UINT32_C(1) << 31))
		slots *= 2;
	memset(ix, 0, sizeof(*ix));
	ix->shift = wide ? 1 : 0;
	ix->load = (uint8_t)(load_pct < 10 ? 10 : load_pct > 90 ? 90 : load_pct);
	index_alloc(ix, slots);
}

void
po_index_free(struct po_index *ix)
{
	free(ix->w);
	ix->w = NULL;
	ix->mask = ix->n = ix->limit = 0;
}

/* Forget every id; the capacity stays. */
void
po_index_clear(struct po_index *ix)
{
	memset(ix->w, 0, (((size_t)ix->mask + 1) << ix->shift) * sizeof(*ix->w));
	ix->n = 0;
}

/* Twice the slots, every id moved to its slot there (by its tag alone). */
static inline __attribute__((always_inline)) void
index_move(struct po_index *ix, const uint64_t *old, uint32_t oldn, unsigned shift)
{
	for (uint32_t i = 0; i < oldn; i++) {
		uint64_t v = old[(size_t)i << shift];
		uint32_t pos;

		if (v == 0)
			continue;
		pos = (uint32_t)(v >> 32) & ix->mask;
		while (ix->w[(size_t)pos << shift] != 0)
			pos = (pos + 1) & ix->mask;
		ix->w[(size_t)pos << shift] = v;
		if (shift != 0)
			ix->w[((size_t)pos << shift) + 1] = old[((size_t)i << shift) + 1];
	}
}

void
po_index_grow_(struct po_index *ix)
{
	uint64_t *old = ix->w;
	uint32_t oldn = ix->mask + 1;

	if (oldn >= (UINT32_C(1) << 31)) {
		fprintf(stderr, "po_index: over 2^31 slots\n");
		abort();
	}
	index_alloc(ix, oldn * 2);
	if (ix->shift == 0)
		index_move(ix, old, oldn, 0);
	else
		index_move(ix, old, oldn, 1);
	free(old);
}
