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

/* An open-addressing index from 64-bit hashes to dense ids. */
struct po_index {
	uint32_t	*slots;		/* id + 1, 0 = empty */
	uint32_t	 mask;		/* capacity - 1 (power of two) */
};

static void
index_init(struct po_index *ix, uint32_t cap)
{
	ix->slots = po_xcalloc(cap, sizeof(*ix->slots));
	ix->mask = cap - 1;
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
	for (uint32_t id = 0; id < t->n; id++) {
		uint32_t i = (uint32_t)t->ents[id].hash & t->ix.mask;

		while (t->ix.slots[i] != 0)
			i = (i + 1) & t->ix.mask;
		t->ix.slots[i] = id + 1;
	}
}

uint32_t
po_strtab_intern(struct po_strtab *t, const char *s, size_t n)
{
	uint64_t h = po_hash(s, n);
	uint32_t i = (uint32_t)h & t->ix.mask, id;

	while (t->ix.slots[i] != 0) {
		const struct str_entry *e = &t->ents[t->ix.slots[i] - 1];

		if (e->hash == h && e->len == n &&
		    (n == 0 || memcmp(t->arena + e->off, s, n) == 0))
			return t->ix.slots[i] - 1;
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
	t->ix.slots[i] = id + 1;
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

struct po_stacktab {
	struct po_index	 ix;	/* hash -> id */
	struct po_stack	*ents;	/* by id */
	uint32_t	 n;	/* ids in use */
	uint32_t	 cap;	/* ents allocated */
	char		*arena;	/* frame text */
	size_t		 arena_len;
	size_t		 arena_cap;
	struct po_strtab *names; /* where culprit and module names go */
};

int
po_stacktab_new(struct po_stacktab **ret, struct po_strtab *names)
{
	struct po_stacktab *t = po_xcalloc(1, sizeof(*t));

	index_init(&t->ix, 1024);
	t->names = names;
	*ret = t;
	return 0;
}

void
po_stacktab_free(struct po_stacktab *t)
{
	if (t == NULL)
		return;
	free(t->ix.slots);
	free(t->ents);
	free(t->arena);
	free(t);
}

static void
stacktab_grow(struct po_stacktab *t)
{
	uint32_t cap = (t->ix.mask + 1) * 2;

	free(t->ix.slots);
	index_init(&t->ix, cap);
	for (uint32_t id = 0; id < t->n; id++) {
		uint32_t i = (uint32_t)t->ents[id].hash & t->ix.mask;

		while (t->ix.slots[i] != 0)
			i = (i + 1) & t->ix.mask;
		t->ix.slots[i] = id + 1;
	}
}

uint32_t
po_stacktab_find(const struct po_stacktab *t, uint64_t hash)
{
	uint32_t i = (uint32_t)hash & t->ix.mask;

	while (t->ix.slots[i] != 0) {
		if (t->ents[t->ix.slots[i] - 1].hash == hash)
			return t->ix.slots[i] - 1;
		i = (i + 1) & t->ix.mask;
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
	uint32_t i = (uint32_t)h & t->ix.mask, id;
	struct po_stack_info info;
	struct po_stack *e;

	while (t->ix.slots[i] != 0) {
		e = &t->ents[t->ix.slots[i] - 1];
		if (e->hash == h && e->text_len == stack.n &&
		    (hi != 0 && e->hash_hi != 0 ? e->hash_hi == hi :
		    stack.n == 0 || memcmp(t->arena + e->text_off, stack.p, stack.n) == 0))
			return t->ix.slots[i] - 1;
		i = (i + 1) & t->ix.mask;
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
	t->ix.slots[i] = id + 1;
	if ((uint64_t)t->n * 2 > t->ix.mask)
		stacktab_grow(t);
	return id;
}

uint32_t
po_stacktab_intern_hashed(struct po_stacktab *t, uint64_t h, struct po_span stack,
    unsigned nframes)
{
	return stacktab_intern(t, h, 0, stack, nframes);
}

uint32_t
po_stacktab_intern(struct po_stacktab *t, struct po_span stack, unsigned nframes)
{
	uint64_t hi, h = po_stack_hash(stack, &hi);

	return stacktab_intern(t, h, hi ? hi : 1, stack, nframes);
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
