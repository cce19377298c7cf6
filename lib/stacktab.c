/*
 * stacktab.c: interning of stacks and of short names.
 *
 * Both tables are open-addressing hash tables over a dense array of entries
 * whose text lives in one growing arena: a lookup costs one hash and
 * usually one comparison, and an id is a small integer that stays valid for
 * the table's life.
 */
#include <errno.h>
#include <string.h>

#include "po.h"

/*
 * An open-addressing index from 64-bit hashes to dense ids.  A slot holds
 * the id and the hash's high 32 bits (its low bits pick the slot), so a
 * probe passes over other entries without reading them: one cache miss
 * per lookup (the entry found) instead of one per slot tried.
 */
struct po_index {
	uint64_t	*slots;		/* tag << 32 | (id + 1), 0 = empty */
	uint32_t	 mask;		/* capacity - 1 (power of two) */
};

static void
index_init(struct po_index *ix, uint32_t cap)
{
	ix->slots = po_xcalloc(cap, sizeof(*ix->slots));
	ix->mask = cap - 1;
}

static inline uint32_t
slot_tag(uint64_t hash)
{
	return (uint32_t)(hash >> 32);
}

static inline uint64_t
slot_make(uint64_t hash, uint32_t id)
{
	return (uint64_t)slot_tag(hash) << 32 | (id + 1);
}

static inline uint32_t
slot_id(uint64_t v)
{
	return (uint32_t)v - 1;
}

/* Put id (whose hash is h) in the first free slot of its probe sequence. */
static void
index_put(struct po_index *ix, uint64_t h, uint32_t id)
{
	uint32_t i = (uint32_t)h & ix->mask;

	while (ix->slots[i] != 0)
		i = (i + 1) & ix->mask;
	ix->slots[i] = slot_make(h, id);
}

/* ---- strings ------------------------------------------------------------ */

struct str_entry {
	uint64_t	hash;	/* po_hash of the bytes */
	uint32_t	off;	/* start in arena */
	uint32_t	len;	/* length without the NUL */
};

struct po_strtab {
	struct po_index	 ix;	/* hash -> id */
	struct str_entry *ents;	/* by id */
	uint32_t	 n;	/* ids in use */
	uint32_t	 cap;	/* ents allocated */
	char		*arena;	/* NUL-terminated strings */
	size_t		 arena_len;
	size_t		 arena_cap;
};

static uint32_t
arena_put(char **arena, size_t *len, size_t *cap, const char *s, size_t n,
    bool nul)
{
	size_t need = *len + n + (nul ? 1 : 0);
	uint32_t off = (uint32_t)*len;

	if (need > UINT32_MAX) {
		fprintf(stderr, "page_owner text arena over 4 GiB\n");
		abort();
	}
	/* allocate even for nothing, so that arena + off is never NULL + 0 */
	if (need > *cap || *arena == NULL) {
		size_t c = *cap ? *cap : 4096;

		while (c < need)
			c *= 2;
		*arena = po_xrealloc(*arena, c, 1);
		*cap = c;
	}
	if (n > 0)
		memcpy(*arena + *len, s, n);
	if (nul)
		(*arena)[*len + n] = '\0';
	*len = need;
	return off;
}

int
po_strtab_new(struct po_strtab **ret)
{
	struct po_strtab *t = po_xcalloc(1, sizeof(*t));

	index_init(&t->ix, 256);
	*ret = t;
	return 0;
}

void
po_strtab_free(struct po_strtab *t)
{
	if (t == NULL)
		return;
	free(t->ix.slots);
	free(t->ents);
	free(t->arena);
	free(t);
}

static void
strtab_grow(struct po_strtab *t)
{
	uint32_t cap = (t->ix.mask + 1) * 2;

	free(t->ix.slots);
	index_init(&t->ix, cap);
	for (uint32_t id = 0; id < t->n; id++)
		index_put(&t->ix, t->ents[id].hash, id);
}

uint32_t
po_strtab_intern(struct po_strtab *t, const char *s, size_t n)
{
	uint64_t h = po_hash(s, n), v;
	uint32_t i = (uint32_t)h & t->ix.mask, id, tag = slot_tag(h);

	while ((v = t->ix.slots[i]) != 0) {
		if ((uint32_t)(v >> 32) == tag) {
			const struct str_entry *e = &t->ents[slot_id(v)];

			if (e->hash == h && e->len == n &&
			    (n == 0 || memcmp(t->arena + e->off, s, n) == 0))
				return slot_id(v);
		}
		i = (i + 1) & t->ix.mask;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->ents = po_xrealloc(t->ents, t->cap, sizeof(*t->ents));
	}
	id = t->n++;
	t->ents[id].hash = h;
	t->ents[id].len = (uint32_t)n;
	t->ents[id].off = arena_put(&t->arena, &t->arena_len, &t->arena_cap,
	    s, n, true);
	t->ix.slots[i] = slot_make(h, id);
	if ((uint64_t)t->n * 2 > t->ix.mask)
		strtab_grow(t);
	return id;
}

const char *
po_strtab_get(const struct po_strtab *t, uint32_t id, size_t *ret_len)
{
	if (id >= t->n) {
		if (ret_len != NULL)
			*ret_len = 0;
		return "";
	}
	if (ret_len != NULL)
		*ret_len = t->ents[id].len;
	return t->arena + t->ents[id].off;
}

uint32_t
po_strtab_count(const struct po_strtab *t)
{
	return t->n;
}

/* ---- stacks ------------------------------------------------------------- */

/*
 * The stack index's slots carry more of the hash than the names' do: the
 * 128-bit hash's high half as well, so that a lookup by 128-bit hash (the
 * analyzer's and the daemon's, once per record) is decided in the slot,
 * one cache miss, without reading the entry.  Equal when the slot's
 * position (low bits), tag (bits 32-63) and high half agree: 96 bits and
 * more.
 */
struct stack_slot {
	uint64_t	hi;	/* hash_hi of the entry (0: interned by 64 bits) */
	uint32_t	tag;	/* slot_tag(hash) */
	uint32_t	id1;	/* id + 1, 0 = empty */
};

struct po_stacktab {
	struct stack_slot *slots; /* hash -> id */
	uint32_t	 mask;	/* slots - 1 (power of two) */
	struct po_stack	*ents;	/* by id */
	uint32_t	 n;	/* ids in use */
	uint32_t	 cap;	/* ents allocated */
	char		*arena;	/* frame text */
	size_t		 arena_len;
	size_t		 arena_cap;
	struct po_strtab *names; /* where culprit and module names go */
};

static void
stack_index_init(struct po_stacktab *t, uint32_t cap)
{
	t->slots = po_xcalloc(cap, sizeof(*t->slots));
	t->mask = cap - 1;
}

int
po_stacktab_new(struct po_stacktab **ret, struct po_strtab *names)
{
	struct po_stacktab *t = po_xcalloc(1, sizeof(*t));

	stack_index_init(t, 1024);
	t->names = names;
	*ret = t;
	return 0;
}

void
po_stacktab_free(struct po_stacktab *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t->ents);
	free(t->arena);
	free(t);
}

static void
stacktab_grow(struct po_stacktab *t)
{
	uint32_t cap = (t->mask + 1) * 2;

	free(t->slots);
	stack_index_init(t, cap);
	for (uint32_t id = 0; id < t->n; id++) {
		uint32_t i = (uint32_t)t->ents[id].hash & t->mask;

		while (t->slots[i].id1 != 0)
			i = (i + 1) & t->mask;
		t->slots[i] = (struct stack_slot){ t->ents[id].hash_hi,
		    slot_tag(t->ents[id].hash), id + 1 };
	}
}

uint32_t
po_stacktab_find(const struct po_stacktab *t, uint64_t hash)
{
	uint32_t i = (uint32_t)hash & t->mask, tag = slot_tag(hash);
	const struct stack_slot *sl;

	while ((sl = &t->slots[i])->id1 != 0) {
		if (sl->tag == tag && t->ents[sl->id1 - 1].hash == hash)
			return sl->id1 - 1;
		i = (i + 1) & t->mask;
	}
	return PO_NONE;
}

/*
 * hi != 0: the 128-bit hash decides equality (no text compare on the hot
 * path); hi == 0: the caller only knows 64 bits, the text decides.
 */
static uint32_t
stacktab_intern(struct po_stacktab *t, uint64_t h, uint64_t hi,
    struct po_span stack, unsigned nframes)
{
	uint32_t i = (uint32_t)h & t->mask, id, tag = slot_tag(h);
	const struct stack_slot *sl;
	struct po_stack_info info;
	struct po_stack *e;

	while ((sl = &t->slots[i])->id1 != 0) {
		if (sl->tag == tag) {
			if (hi != 0 && sl->hi != 0) {
				if (sl->hi == hi)
					return sl->id1 - 1;
			} else {
				e = &t->ents[sl->id1 - 1];
				if (e->hash == h && e->text_len == stack.n &&
				    (stack.n == 0 || memcmp(t->arena + e->text_off,
				    stack.p, stack.n) == 0))
					return sl->id1 - 1;
			}
		}
		i = (i + 1) & t->mask;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->ents = po_xrealloc(t->ents, t->cap, sizeof(*t->ents));
	}
	id = t->n++;
	e = &t->ents[id];
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->hash_hi = hi;
	e->nframes = nframes;
	e->text_len = (uint32_t)stack.n;
	e->text_off = arena_put(&t->arena, &t->arena_len, &t->arena_cap,
	    stack.p, stack.n, false);
	po_stack_describe(stack, &info);
	e->sig_hash = info.sig_hash;
	e->culprit_id = po_strtab_intern(t->names, info.culprit.p, info.culprit.n);
	e->module_id = po_strtab_intern(t->names, info.module.p, info.module.n);
	t->slots[i] = (struct stack_slot){ hi, tag, id + 1 };
	/*
	 * Up to 70 % full: lookups that hit (nearly all of them) probe 1.8
	 * slots on average, mostly in one line, and a smaller index stays
	 * in cache better than a sparser one.
	 */
	if ((uint64_t)t->n * 10 > (uint64_t)(t->mask + 1) * 7)
		stacktab_grow(t);
	return id;
}

uint32_t
po_stacktab_intern_hashed(struct po_stacktab *t, uint64_t h, struct po_span stack,
    unsigned nframes)
{
	return stacktab_intern(t, h, 0, stack, nframes);
}

/* As po_stacktab_intern(), with the stack's po_stack_hash() already known. */
uint32_t
po_stacktab_intern_hash128(struct po_stacktab *t, uint64_t h, uint64_t hi,
    struct po_span stack, unsigned nframes)
{
	return stacktab_intern(t, h, hi ? hi : 1, stack, nframes);
}

/* Start loading the index slot a lookup of hash h reads first. */
void
po_stacktab_prefetch(const struct po_stacktab *t, uint64_t h)
{
	__builtin_prefetch(&t->slots[(uint32_t)h & t->mask]);
}

uint32_t
po_stacktab_intern(struct po_stacktab *t, struct po_span stack, unsigned nframes)
{
	uint64_t hi, h = po_stack_hash(stack, &hi);

	return stacktab_intern(t, h, hi ? hi : 1, stack, nframes);
}

/* The stack a page record names: its frames, or its stackdepot handle alone. */
uint32_t
po_stacktab_intern_record(struct po_stacktab *t, const struct po_record *r)
{
	char buf[32];
	int n;

	if (r->nframes > 0)
		return po_stacktab_intern(t, r->stack, r->nframes);
	n = snprintf(buf, sizeof(buf), " handle:%u\n", r->handle);
	return po_stacktab_intern(t, (struct po_span){ buf, (size_t)n }, 0);
}

/* Note the stack depot handle a record printed beside its frames. */
void
po_stacktab_set_handle(struct po_stacktab *t, uint32_t id, uint32_t handle)
{
	if (id < t->n)
		t->ents[id].handle = handle;
}

const struct po_stack *
po_stacktab_get(const struct po_stacktab *t, uint32_t id)
{
	return id < t->n ? &t->ents[id] : NULL;
}

struct po_span
po_stacktab_text(const struct po_stacktab *t, uint32_t id)
{
	if (id >= t->n)
		return (struct po_span){ "", 0 };
	return (struct po_span){ t->arena + t->ents[id].text_off,
	    t->ents[id].text_len };
}

uint32_t
po_stacktab_count(const struct po_stacktab *t)
{
	return t->n;
}
