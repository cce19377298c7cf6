/*
 * combo.c: one snapshot's records grouped into combos, the finest breakdown
 * the daemon keeps: stack x comm x memcg x order x gfp.
 *
 * A lean cousin of lib/agg.c for the collector's hot path: a combo is 48
 * bytes, its key holds interned ids, and only what a snapshot stores is
 * counted (pages, blocks, oldest allocation).  Memory grows with distinct
 * combos, never with records.
 */
#include <errno.h>
#include <string.h>

#include "page-ownerd.h"

struct combo_table {
	struct po_strtab *names;	/* comm and memcg names */
	struct po_stacktab *stacks;	/* exact stacks and their text */
	struct combo	*v;		/* dense */
	uint32_t	 n, cap;
	uint32_t	*slots;		/* combo index + 1, 0 = empty */
	uint32_t	 mask;
	uint32_t	 empty_name;	/* id of "" */
	uint32_t	 fold_at;	/* combos past which new ones fold */
	uint32_t	 other_name;	/* id of "(other)" */
	uint64_t	 folded;	/* records counted in a folded combo */
};

static uint64_t
key_hash(const struct combo_key *k)
{
	return po_hash(k, sizeof(*k));
}

struct combo_table *
combo_table_new(void)
{
	struct combo_table *t = po_xcalloc(1, sizeof(*t));

	po_strtab_new(&t->names);
	po_stacktab_new(&t->stacks, t->names);
	t->empty_name = po_strtab_intern(t->names, "", 0);
	t->other_name = po_strtab_intern(t->names, COMBO_OTHER, strlen(COMBO_OTHER));
	t->fold_at = UINT32_MAX;
	t->mask = 4095;
	t->slots = po_xcalloc(t->mask + 1, sizeof(*t->slots));
	return t;
}

void
combo_table_free(struct combo_table *t)
{
	if (t == NULL)
		return;
	po_stacktab_free(t->stacks);
	po_strtab_free(t->names);
	free(t->v);
	free(t->slots);
	free(t);
}

static void
rehash(struct combo_table *t)
{
	uint32_t cap = (t->mask + 1) * 2;

	free(t->slots);
	t->slots = po_xcalloc(cap, sizeof(*t->slots));
	t->mask = cap - 1;
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t s = (uint32_t)key_hash(&t->v[i].k) & t->mask;

		while (t->slots[s] != 0)
			s = (s + 1) & t->mask;
		t->slots[s] = i + 1;
	}
}

/*
 * A name as stored and shown: well-formed UTF-8 (a task may call itself
 * anything; bytes that are not UTF-8 become '?', names that differ only
 * there count as one).
 */
static uint32_t
intern_text(struct po_strtab *names, struct po_span s)
{
	char *clean;
	uint32_t id;

	if (po_utf8_valid(s.p, s.n))
		return po_strtab_intern(names, s.p, s.n);
	clean = po_utf8_dup(s.p, s.n);
	id = po_strtab_intern(names, clean, s.n);
	free(clean);
	return id;
}

/* The combo of key k (whose key_hash is h), added when new. */
static struct combo *
find_or_add(struct combo_table *t, const struct combo_key *k, uint64_t h)
{
	struct combo_key f;
	uint32_t s;
	struct combo *c;

again:
	s = (uint32_t)h & t->mask;
	for (;;) {
		uint32_t i = t->slots[s];

		if (i == 0)
			break;
		if (memcmp(&t->v[i - 1].k, k, sizeof(*k)) == 0)
			return &t->v[i - 1];
		s = (s + 1) & t->mask;
	}
	if (t->n >= t->fold_at && k->comm != t->other_name) {
		/* past the cap: the stack's further tasks and memcgs are
		 * counted together, so memory stays flat in the host's size
		 * (once: the folded key's comm is other_name) */
		memset(&f, 0, sizeof(f));	/* keys compare with memcmp */
		f.stack = k->stack;
		f.comm = f.memcg = t->other_name;
		f.order = k->order;
		t->folded++;
		k = &f;
		h = key_hash(&f);
		goto again;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 4096;
		t->v = po_xrealloc(t->v, t->cap, sizeof(*t->v));
	}
	c = &t->v[t->n];
	memset(c, 0, sizeof(*c));
	c->k = *k;
	t->slots[s] = ++t->n;
	if ((uint64_t)t->n * 2 > t->mask) {
		rehash(t);
		c = &t->v[t->n - 1];
	}
	return c;
}

/* The key of page record r, its stack interned as sid. */
static void
combo_key_of(struct combo_table *t, const struct po_record *r, uint32_t sid,
    struct combo_key *k)
{
	memset(k, 0, sizeof(*k));
	k->stack = sid;
	k->comm = r->comm.n ? intern_text(t->names, r->comm) : t->empty_name;
	k->memcg = r->memcg.n ? intern_text(t->names, r->memcg) : t->empty_name;
	k->order = r->order;
	k->gfp = r->gfp;
}

/* Count r into combo c; its index and the record's identity. */
static void
count_record(struct combo_table *t, struct combo *c, const struct po_record *r,
    uint32_t *ret_combo, uint64_t *ret_ident)
{
	c->pages += UINT64_C(1) << r->order;
	c->blocks++;
	if ((r->features & PO_F_TS) && (c->ts_min == 0 || r->ts < c->ts_min))
		c->ts_min = r->ts;
	*ret_combo = (uint32_t)(c - t->v);
	*ret_ident = po_record_ident(r, po_stacktab_get(t->stacks, c->k.stack)->hash);
}

/*
 * Count one page record; its combo in *ret_combo and its identity (what
 * makes it the same allocation in the next snapshot) in *ret_ident.
 */
/*
 * A record with frames and a handle line (the mm tree's per-open
 * mode=stack_handle): the handle names the stack, so the next show_handles
 * read can key it without show_stacks_handles.
 */
static inline void
note_handle(struct combo_table *t, const struct po_record *r, uint32_t stack)
{
	if (r->has_handle && r->nframes > 0 && r->handle != 0)
		po_stacktab_set_handle(t->stacks, stack, r->handle);
}

int
combo_add(struct combo_table *t, const struct po_record *r, uint32_t *ret_combo,
    uint64_t *ret_ident)
{
	struct combo_key k;

	if (r->kind != PO_REC_PAGE)
		return -EINVAL;
	combo_key_of(t, r, po_stacktab_intern_record(t->stacks, r), &k);
	note_handle(t, r, k.stack);
	count_record(t, find_or_add(t, &k, key_hash(&k)), r, ret_combo, ret_ident);
	return 0;
}

/*
 * combo_add() for up to PO_BATCH records at once, with the same results
 * in order.  Each lookup (stack index slot, then combo slot and combo,
 * then the stack's entry for the identity) is started for the whole batch
 * before the first result is used, so the cache misses overlap (see
 * po_agg_add_batch).
 */
void
combo_add_batch(struct combo_table *t, const struct po_record *rs, size_t n,
    uint32_t *combos, uint64_t *idents, int *rets)
{
	uint64_t h[PO_BATCH], hi[PO_BATCH];
	struct combo_key k[PO_BATCH];

	if (n > PO_BATCH)
		n = PO_BATCH;
	for (size_t i = 0; i < n; i++) {
		rets[i] = rs[i].kind == PO_REC_PAGE ? 0 : -EINVAL;
		if (rets[i] == 0 && rs[i].nframes > 0) {
			h[i] = po_stack_hash(rs[i].stack, &hi[i]);
			po_stacktab_prefetch(t->stacks, h[i]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (rets[i] != 0)
			continue;
		combo_key_of(t, &rs[i], rs[i].nframes > 0 ?
		    po_stacktab_intern_hash128(t->stacks, h[i], hi[i], rs[i].stack,
		    rs[i].nframes) : po_stacktab_intern_record(t->stacks, &rs[i]), &k[i]);
		note_handle(t, &rs[i], k[i].stack);
		h[i] = key_hash(&k[i]);
		__builtin_prefetch(&t->slots[(uint32_t)h[i] & t->mask]);
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t v;

		if (rets[i] != 0)
			continue;
		v = t->slots[(uint32_t)h[i] & t->mask];
		if (v != 0)
			__builtin_prefetch(&t->v[v - 1]);
		__builtin_prefetch(po_stacktab_get(t->stacks, k[i].stack));
	}
	for (size_t i = 0; i < n; i++)
		if (rets[i] == 0)
			count_record(t, find_or_add(t, &k[i], h[i]), &rs[i],
			    &combos[i], &idents[i]);
}

/* At most about n combos: past them, new ones fold (see find_or_add). */
void
combo_set_fold(struct combo_table *t, uint32_t n)
{
	t->fold_at = n > 0 ? n : UINT32_MAX;
}

uint64_t
combo_folded(const struct combo_table *t)
{
	return t->folded;
}

uint32_t
combo_count(const struct combo_table *t)
{
	return t->n;
}

const struct combo *
combo_get(const struct combo_table *t, uint32_t i)
{
	return i < t->n ? &t->v[i] : NULL;
}

struct po_stacktab *
combo_stacks(const struct combo_table *t)
{
	return t->stacks;
}

const char *
combo_name(const struct combo_table *t, uint32_t id)
{
	return po_strtab_get(t->names, id, NULL);
}
