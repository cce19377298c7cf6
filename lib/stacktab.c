/*
 * stacktab.c: interning of stacks and of short names.
 *
 * Both tables are a po_index (index.h) over a dense array of entries whose
 * text lives in one growing arena: a lookup costs one hash and usually one
 * comparison, and an id is a small integer that stays valid for the
 * table's life.
 */
#include <errno.h>
#include <string.h>

#include "index.h"
#include "po.h"

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

	po_index_init(&t->ix, 256, 50, false);
	*ret = t;
	return 0;
}

void
po_strtab_free(struct po_strtab *t)
{
	if (t == NULL)
		return;
	po_index_free(&t->ix);
	free(t->ents);
	free(t->arena);
	free(t);
}

/* What po_strtab_intern() looks for, and its test of a candidate. */
struct str_key {
	const struct po_strtab *t;	/* the table looked in */
	uint64_t	 hash;		/* po_hash of the bytes */
	const char	*s;		/* the bytes */
	size_t		 n;		/* their length */
};

static bool
str_eq(const void *ctx, uint32_t id, uint64_t check)
{
	const struct str_key *k = ctx;
	const struct str_entry *e = &k->t->ents[id];

	(void)check;
	return e->hash == k->hash && e->len == k->n &&
	    (k->n == 0 || memcmp(k->t->arena + e->off, k->s, k->n) == 0);
}

uint32_t
po_strtab_intern(struct po_strtab *t, const char *s, size_t n)
{
	struct str_key k = { t, po_hash(s, n), s, n };
	struct po_index_probe p;
	uint32_t id;

	id = po_index_find(&t->ix, k.hash, &p, str_eq, &k);
	if (id != PO_NONE)
		return id;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->ents = po_xrealloc(t->ents, t->cap, sizeof(*t->ents));
	}
	id = t->n++;
	t->ents[id].hash = k.hash;
	t->ents[id].len = (uint32_t)n;
	t->ents[id].off = arena_put(&t->arena, &t->arena_len, &t->arena_cap,
	    s, n, true);
	po_index_add(&t->ix, &p, id);
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
 * The stack index is wide: its slots carry the 128-bit hash's high half as
 * well (0: interned by 64 bits), so that a lookup by 128-bit hash (the
 * analyzer's and the daemon's, once per record) is decided in the slot,
 * one cache miss, without reading the entry.  Equal when the slot's tag
 * (bits 32-63) and high half agree: 96 bits.
 */
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

	/*
	 * Up to 70 % full: lookups that hit (nearly all of them) probe 1.8
	 * slots on average, mostly in one line, and a smaller index stays
	 * in cache better than a sparser one.
	 */
	po_index_init(&t->ix, 1024, 70, true);
	t->names = names;
	*ret = t;
	return 0;
}

void
po_stacktab_free(struct po_stacktab *t)
{
	if (t == NULL)
		return;
	po_index_free(&t->ix);
	free(t->ents);
	free(t->arena);
	free(t);
}

uint32_t
po_stacktab_find(const struct po_stacktab *t, uint64_t hash)
{
	struct po_index_probe p;
	uint32_t id;

	for (id = po_index_first_wide(&t->ix, hash, &p); id != PO_NONE;
	    id = po_index_next_wide(&t->ix, &p))
		if (t->ents[id].hash == hash)
			return id;
	return PO_NONE;
}

/* What stacktab_intern() looks for, and its test of a candidate. */
struct stack_key {
	const struct po_stacktab *t;	/* the table looked in */
	uint64_t	 hash;		/* low half of the stack's hash */
	uint64_t	 hi;		/* high half, 0 when only 64 bits are known */
	struct po_span	 text;		/* the frame lines */
};

/*
 * hi != 0: the 128-bit hash decides equality (no text compare on the hot
 * path); hi == 0, here or in the slot: the caller only knows 64 bits, the
 * text decides.
 */
static bool
stack_eq(const void *ctx, uint32_t id, uint64_t slot_hi)
{
	const struct stack_key *k = ctx;
	const struct po_stack *e;

	if (k->hi != 0 && slot_hi != 0)
		return slot_hi == k->hi;
	e = &k->t->ents[id];
	return e->hash == k->hash && e->text_len == k->text.n &&
	    (k->text.n == 0 || memcmp(k->t->arena + e->text_off, k->text.p,
	    k->text.n) == 0);
}

static uint32_t
stacktab_intern(struct po_stacktab *t, uint64_t h, uint64_t hi,
    struct po_span stack, unsigned nframes)
{
	struct stack_key k = { t, h, hi, stack };
	struct po_index_probe p;
	struct po_stack_info info;
	struct po_stack *e;
	uint32_t id;

	id = po_index_find_wide(&t->ix, h, &p, stack_eq, &k);
	if (id != PO_NONE)
		return id;
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
	po_index_add_wide(&t->ix, &p, id, hi);
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
	po_index_prefetch_wide(&t->ix, h);
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
