/*
 * agg.c: grouping page_owner records by any mix of keys, with filters.
 *
 * Everything that is a property of a stack (culprit, module, signature,
 * the vmalloc allocator test, the stack-level filters) is worked out once
 * per distinct stack and cached; a record costs one stack lookup and one
 * group lookup.
 */
#include <errno.h>
#include <string.h>

#include "index.h"
#include "po.h"

/* Facts of a stack that only the aggregation needs. */
/*
 * What the aggregation keeps per stack id, in one array so that a record
 * costs one lookup here: the stack filters' verdict, the vmalloc bit, and
 * the group when groups are keyed by stack alone.
 */
struct stack_extra {
	int8_t	 pass;		/* stack-level filters: -1 unknown, 0 no, 1 yes */
	uint8_t	 vmalloc;	/* PO_ATOR_VMALLOC or 0 */
	uint32_t group;		/* keyed by stack only: group id + 1, 0 = none yet */
};

struct po_agg {
	enum po_key	 keys[PO_MAX_KEYS]; /* what a group is */
	unsigned	 nkeys;
	struct po_filter filter;	/* borrowed from the caller */
	uint32_t	 f_module;	/* filter ids, PO_NONE when unset */
	uint32_t	 f_memcg;
	struct po_strtab *names;	/* culprits, modules, comms, memcgs */
	struct po_stacktab *stacks;
	struct stack_extra *extra;	/* by stack id */
	uint32_t	 extra_cap;
	struct po_group	*groups;	/* dense */
	size_t		 ngroups;
	size_t		 cap;
	struct po_index	 ix;		/* hash of the key -> group id */
	uint64_t	 filtered;	/* records the filter dropped */
};

static const char *const key_names[PO__KEY_MAX] = {
	[PO_KEY_STACK]		= "stack",
	[PO_KEY_SIGNATURE]	= "signature",
	[PO_KEY_CULPRIT]	= "culprit",
	[PO_KEY_MODULE]		= "module",
	[PO_KEY_COMM]		= "comm",
	[PO_KEY_PID]		= "pid",
	[PO_KEY_TGID]		= "tgid",
	[PO_KEY_MEMCG]		= "memcg",
	[PO_KEY_ORDER]		= "order",
	[PO_KEY_GFP]		= "gfp",
	[PO_KEY_ALLOCATOR]	= "allocator",
};

const char *
po_key_name(enum po_key k)
{
	return (unsigned)k < PO__KEY_MAX ? key_names[k] : "?";
}

/* Our names, plus page_owner_sort's spellings of the same keys. */
int
po_key_parse(const char *s, enum po_key *ret)
{
	static const struct {
		const char	*name;
		enum po_key	 key;
	} aliases[] = {
		{ "st", PO_KEY_STACK }, { "stacktrace", PO_KEY_STACK },
		{ "sig", PO_KEY_SIGNATURE },
		{ "n", PO_KEY_COMM }, { "name", PO_KEY_COMM },
		{ "p", PO_KEY_PID }, { "tg", PO_KEY_TGID },
		{ "ator", PO_KEY_ALLOCATOR }, { "mod", PO_KEY_MODULE },
	};

	for (unsigned k = 0; k < PO__KEY_MAX; k++)
		if (strcmp(s, key_names[k]) == 0) {
			*ret = (enum po_key)k;
			return 0;
		}
	for (size_t i = 0; i < PO_ARRAY_SIZE(aliases); i++)
		if (strcmp(s, aliases[i].name) == 0) {
			*ret = aliases[i].key;
			return 0;
		}
	return -EINVAL;
}

int
po_keys_parse(const char *list, enum po_key *keys, unsigned *ret_n, char **cause)
{
	_cleanup_free_ char *copy = po_xstrdup(list);
	char *save = NULL, *tok;
	unsigned n = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		enum po_key k;

		if (po_key_parse(tok, &k) < 0) {
			po_asprintf(cause, "unknown key '%s' (keys: stack, "
			    "signature, culprit, module, comm, pid, tgid, memcg, "
			    "order, gfp, allocator)", tok);
			return -EINVAL;
		}
		if (n == PO_MAX_KEYS) {
			po_asprintf(cause, "at most %d keys", PO_MAX_KEYS);
			return -EINVAL;
		}
		for (unsigned i = 0; i < n; i++)
			if (keys[i] == k) {
				po_asprintf(cause, "key '%s' given twice", tok);
				return -EINVAL;
			}
		keys[n++] = k;
	}
	if (n == 0) {
		po_asprintf(cause, "no key given");
		return -EINVAL;
	}
	*ret_n = n;
	return 0;
}

/* The n bytes at s into buf of len bytes as a string, cut to fit (snprintf's "%.*s"). */
static void
copy_cut(char *buf, size_t len, const char *s, size_t n)
{
	if (len == 0)
		return;
	if (n > len - 1)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

void
po_allocator_str(unsigned ator, char *buf, size_t len)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
	} names[] = {
		{ PO_ATOR_CMA, "CMA" }, { PO_ATOR_SLAB, "SLAB" },
		{ PO_ATOR_VMALLOC, "VMALLOC" }, { PO_ATOR_OTHERS, "OTHERS" },
	};
	char s[32];	/* room for "CMA SLAB VMALLOC OTHERS" */
	size_t n = 0;

	/* built whole first, so that a short buf gets a plain prefix (once a group: no printf) */
	for (size_t i = 0; i < PO_ARRAY_SIZE(names); i++) {
		size_t k = strlen(names[i].name);

		if (!(ator & names[i].bit))
			continue;
		if (n > 0)
			s[n++] = ' ';
		memcpy(s + n, names[i].name, k);
		n += k;
	}
	copy_cut(buf, len, s, n);
}

int
po_agg_new(struct po_agg **ret, const enum po_key *keys, unsigned nkeys,
    const struct po_filter *filter)
{
	struct po_agg *a;

	if (nkeys == 0 || nkeys > PO_MAX_KEYS)
		return -EINVAL;
	a = po_xcalloc(1, sizeof(*a));
	memcpy(a->keys, keys, nkeys * sizeof(*keys));
	a->nkeys = nkeys;
	if (filter != NULL)
		a->filter = *filter;
	po_strtab_new(&a->names);
	po_stacktab_new(&a->stacks, a->names);
	a->f_module = a->f_memcg = PO_NONE;
	if (a->filter.module != NULL) {
		const char *m = strcmp(a->filter.module, "kernel") == 0 ?
		    "" : a->filter.module;

		a->f_module = po_strtab_intern(a->names, m, strlen(m));
	}
	if (a->filter.memcg != NULL)
		a->f_memcg = po_strtab_intern(a->names, a->filter.memcg,
		    strlen(a->filter.memcg));
	po_index_init(&a->ix, 1024, 50, false);
	*ret = a;
	return 0;
}

void
po_agg_free(struct po_agg *a)
{
	if (a == NULL)
		return;
	po_stacktab_free(a->stacks);
	po_strtab_free(a->names);
	free(a->extra);
	free(a->groups);
	po_index_free(&a->ix);
	free(a);
}

static struct stack_extra *
extra_get(struct po_agg *a, uint32_t sid)
{
	if (sid >= a->extra_cap) {
		uint32_t cap = a->extra_cap ? a->extra_cap : 256;

		while (cap <= sid)
			cap *= 2;
		a->extra = po_xrealloc(a->extra, cap, sizeof(*a->extra));
		for (uint32_t i = a->extra_cap; i < cap; i++)
			a->extra[i] = (struct stack_extra){ .pass = -1 };
		a->extra_cap = cap;
	}
	return &a->extra[sid];
}

/* page_owner_sort's test: the frame above __vmalloc_node_range allocates pages. */
static bool
stack_is_vmalloc(struct po_span stack)
{
	struct po_span it = stack, line, prev = { NULL, 0 };

	/* most stacks have no vmalloc frame: one search of the whole text */
	if (!po_contains(stack, "__vmalloc_node_range", 20))
		return false;
	while (po_frame_next(&it, &line)) {
		if (po_contains(line, "__vmalloc_node_range", 20))
			return prev.n > 0 && po_contains(prev, "alloc_pages", 11);
		prev = line;
	}
	return false;
}

static bool
stack_passes(struct po_agg *a, uint32_t sid)
{
	const struct po_stack *s = po_stacktab_get(a->stacks, sid);
	const struct po_filter *f = &a->filter;

	if (a->f_module != PO_NONE && s->module_id != a->f_module)
		return false;
	if (f->culprit != NULL) {
		const char *c = po_strtab_get(a->names, s->culprit_id, NULL);

		if (strstr(c, f->culprit) == NULL)
			return false;
	}
	if (f->stack != NULL) {
		struct po_span t = po_stacktab_text(a->stacks, sid);

		if (memmem(t.p, t.n, f->stack, strlen(f->stack)) == NULL)
			return false;
	}
	return true;
}

static bool
record_passes(struct po_agg *a, const struct po_record *r)
{
	const struct po_filter *f = &a->filter;
	size_t i;

	if (f->npids > 0) {
		for (i = 0; i < f->npids && f->pids[i] != r->pid; i++)
			;
		if (i == f->npids)
			return false;
	}
	if (f->ntgids > 0) {
		for (i = 0; i < f->ntgids && f->tgids[i] != r->tgid; i++)
			;
		if (i == f->ntgids)
			return false;
	}
	if (f->nnames > 0) {
		for (i = 0; i < f->nnames && !po_span_eq(r->comm, f->names[i]); i++)
			;
		if (i == f->nnames)
			return false;
	}
	if (a->f_memcg != PO_NONE &&
	    po_strtab_intern(a->names, r->memcg.p, r->memcg.n) != a->f_memcg)
		return false;
	return true;
}

static unsigned
record_allocator(const struct po_record *r, const struct stack_extra *x)
{
	unsigned ator = x->vmalloc;

	if ((r->mt.n == 3 && memcmp(r->mt.p, "CMA", 3) == 0) ||
	    (r->block_mt.n == 3 && memcmp(r->block_mt.p, "CMA", 3) == 0))
		ator |= PO_ATOR_CMA;
	if (r->slab || po_contains(r->flag_names, "slab", 4))
		ator |= PO_ATOR_SLAB;
	return ator ? ator : PO_ATOR_OTHERS;
}


/* What group_find_or_add() looks for, and its test of a candidate. */
struct group_key {
	const struct po_group *groups;	/* the aggregation's groups */
	const uint64_t	*key;		/* the key values looked for */
	size_t		 len;		/* bytes of key */
};

static bool
group_eq(const void *ctx, uint32_t id, uint64_t check)
{
	const struct group_key *k = ctx;

	(void)check;
	return memcmp(k->groups[id].key, k->key, k->len) == 0;
}

static uint32_t
group_find_or_add(struct po_agg *a, const uint64_t *key, bool *ret_new)
{
	struct group_key k = { a->groups, key, a->nkeys * sizeof(*key) };
	uint64_t h = po_hash(key, k.len);
	struct po_index_probe p;
	struct po_group *g;
	uint32_t id;

	*ret_new = false;
	id = po_index_find(&a->ix, h, &p, group_eq, &k);
	if (id != PO_NONE)
		return id;
	if (a->ngroups == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 256;
		a->groups = po_xrealloc_aligned(a->groups, a->ngroups, a->cap,
		    sizeof(*a->groups));
	}
	g = &a->groups[a->ngroups];
	memset(g, 0, sizeof(*g));
	memcpy(g->key, key, a->nkeys * sizeof(*key));
	g->ts_min = UINT64_MAX;
	id = (uint32_t)a->ngroups++;
	po_index_add(&a->ix, &p, id);
	*ret_new = true;
	return id;
}

static uint64_t
key_value(struct po_agg *a, enum po_key k, const struct po_record *r,
    uint32_t sid, unsigned ator)
{
	const struct po_stack *s = po_stacktab_get(a->stacks, sid);

	switch (k) {
	case PO_KEY_STACK:	return sid;
	case PO_KEY_SIGNATURE:	return s->sig_hash;
	case PO_KEY_CULPRIT:	return s->culprit_id;
	case PO_KEY_MODULE:	return s->module_id;
	case PO_KEY_COMM:	return po_strtab_intern(a->names, r->comm.p, r->comm.n);
	case PO_KEY_PID:	return (uint64_t)(int64_t)r->pid;
	case PO_KEY_TGID:	return (uint64_t)(int64_t)r->tgid;
	case PO_KEY_MEMCG:	return po_strtab_intern(a->names, r->memcg.p, r->memcg.n);
	case PO_KEY_ORDER:	return r->order;
	case PO_KEY_GFP:	return r->gfp;
	case PO_KEY_ALLOCATOR:	return ator;
	case PO__KEY_MAX:	break;
	}
	return 0;
}

/* po_agg_add() of page record r, whose stack is sid. */
static int
add_record(struct po_agg *a, const struct po_record *r, uint32_t sid, int slot,
    uint32_t *ret_group, uint64_t *ret_ident)
{
	uint64_t key[PO_MAX_KEYS];
	struct stack_extra *x;
	struct po_group *g;
	uint32_t gid;
	unsigned ator;
	bool fresh;

	x = extra_get(a, sid);
	/* the group's line is needed below: start loading it now */
	if (x->group != 0)
		__builtin_prefetch(&a->groups[x->group - 1], 1);
	if (x->pass < 0) {
		x->pass = stack_passes(a, sid) ? 1 : 0;
		x->vmalloc = r->nframes > 0 && stack_is_vmalloc(r->stack) ?
		    PO_ATOR_VMALLOC : 0;
	}
	if (!x->pass || !record_passes(a, r)) {
		a->filtered++;
		return 1;
	}
	ator = record_allocator(r, x);

	if (a->nkeys == 1 && a->keys[0] == PO_KEY_STACK) {
		/* The common case: a direct map from stack to group. */
		if (x->group == 0) {
			key[0] = sid;
			gid = group_find_or_add(a, key, &fresh);
			x->group = gid + 1;
		} else {
			gid = x->group - 1;
			fresh = false;
		}
	} else {
		for (unsigned i = 0; i < a->nkeys; i++)
			key[i] = key_value(a, a->keys[i], r, sid, ator);
		gid = group_find_or_add(a, key, &fresh);
	}

	g = &a->groups[gid];
	if (fresh) {
		g->stack_id = sid;
		g->pid = r->pid;
		g->tgid = r->tgid;
		g->comm_id = po_strtab_intern(a->names, r->comm.p, r->comm.n);
	}
	g->blocks[slot]++;
	g->pages[slot] += UINT64_C(1) << r->order;
	g->ator |= ator;
	if (r->features & PO_F_TS) {
		if (r->ts < g->ts_min)
			g->ts_min = r->ts;
		if (r->ts > g->ts_max)
			g->ts_max = r->ts;
	}
	if (r->features & PO_F_FREE_TS) {
		if (r->free_ts > g->free_ts_max)
			g->free_ts_max = r->free_ts;
		if (r->free_ts == r->ts)
			g->anomalies++;
	}
	if (ret_group != NULL)
		*ret_group = gid;
	if (ret_ident != NULL)
		*ret_ident = po_record_ident(r, po_stacktab_get(a->stacks, sid)->hash);
	return 0;
}

/*
 * Add one page record to slot 0 or 1.  Returns 1 when the filter dropped
 * it, 0 when counted (with its group and, if asked, its identity hash: the
 * allocation ts with its stack and order, which matches the same block in
 * another dump of the same boot).
 */
int
po_agg_add(struct po_agg *a, const struct po_record *r, int slot,
    uint32_t *ret_group, uint64_t *ret_ident)
{
	if (r->kind != PO_REC_PAGE || slot < 0 || slot > 1)
		return -EINVAL;
	return add_record(a, r, po_stacktab_intern_record(a->stacks, r), slot, ret_group, ret_ident);
}

static void
add_batch(struct po_agg *a, const struct po_record *const *rs, size_t n,
    int slot, uint32_t *gids, uint64_t *idents, int *rets)
{
	uint64_t h[PO_BATCH], hi[PO_BATCH];
	uint32_t sid[PO_BATCH];

	for (size_t i = 0; i < n; i++) {
		const struct po_record *r = rs[i];

		rets[i] = r->kind != PO_REC_PAGE || slot < 0 || slot > 1 ?
		    -EINVAL : 0;
		if (rets[i] == 0 && r->nframes > 0) {
			h[i] = po_stack_hash(r->stack, &hi[i]);
			po_stacktab_prefetch(a->stacks, h[i]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct po_record *r = rs[i];

		if (rets[i] != 0)
			continue;
		sid[i] = r->nframes > 0 ?
		    po_stacktab_intern_hash128(a->stacks, h[i], hi[i], r->stack,
		    r->nframes) : po_stacktab_intern_record(a->stacks, r);
		__builtin_prefetch(extra_get(a, sid[i]));
	}
	/* extra_get() grew the array to cover every sid: no more moves */
	for (size_t i = 0; i < n; i++)
		if (rets[i] == 0 && a->extra[sid[i]].group != 0)
			__builtin_prefetch(&a->groups[a->extra[sid[i]].group - 1], 1);
	for (size_t i = 0; i < n; i++)
		if (rets[i] == 0)
			rets[i] = add_record(a, rs[i], sid[i], slot,
			    gids != NULL ? &gids[i] : NULL,
			    idents != NULL ? &idents[i] : NULL);
}

/*
 * po_agg_add() for n records at once, in order, with the same results
 * (rets[i], and gids[i] and idents[i] when asked for).  Counting a record
 * waits on three lookups in a row (the stack's index slot, its per-stack
 * line, its group's line), and with thousands of stacks each is a cache
 * miss: here each lookup is started for every record of the batch before
 * the first is used, so the misses overlap instead of adding up.
 */
void
po_agg_add_batch(struct po_agg *a, const struct po_record *const *rs, size_t n,
    int slot, uint32_t *gids, uint64_t *idents, int *rets)
{
	for (size_t at = 0; at < n; at += PO_BATCH)
		add_batch(a, rs + at, n - at < PO_BATCH ? n - at : PO_BATCH, slot,
		    gids != NULL ? gids + at : NULL,
		    idents != NULL ? idents + at : NULL, rets + at);
}

/*
 * A block's identity: everything that says which allocation it is (its
 * time, stack, order, gfp, task, memcg), so that a block found at the same
 * PFN in two dumps is the same allocation only if all of it agrees.
 */
uint64_t
po_record_ident(const struct po_record *r, uint64_t stack_hash)
{
	uint64_t fixed[5] = {
		r->ts, stack_hash, r->order, r->gfp,
		(uint64_t)(uint32_t)r->pid | ((uint64_t)(uint32_t)r->tgid << 32),
	};
	uint64_t h = po_hash(fixed, sizeof(fixed));

	h = po_hash_seeded(r->comm.p, r->comm.n, h);
	return po_hash_seeded(r->memcg.p, r->memcg.n, h);
}

/*
 * A page_owner_stacks record (show_stacks): pages per stack, no blocks and
 * no per-record fields; keys other than stack, signature, culprit and
 * module take their empty value.
 */
int
po_agg_add_stack(struct po_agg *a, const struct po_record *r, int slot,
    uint32_t *ret_group)
{
	uint64_t key[PO_MAX_KEYS];
	struct stack_extra *x;
	struct po_group *g;
	uint32_t sid, gid;
	bool fresh;

	if (r->kind != PO_REC_STACK || !r->has_nr_pages || slot < 0 || slot > 1)
		return -EINVAL;
	sid = po_stacktab_intern_record(a->stacks, r);
	x = extra_get(a, sid);
	if (x->pass < 0) {
		x->pass = stack_passes(a, sid) ? 1 : 0;
		x->vmalloc = r->nframes > 0 && stack_is_vmalloc(r->stack) ?
		    PO_ATOR_VMALLOC : 0;
	}
	if (!x->pass) {
		a->filtered++;
		return 1;
	}
	for (unsigned i = 0; i < a->nkeys; i++) {
		switch (a->keys[i]) {
		case PO_KEY_STACK:
		case PO_KEY_SIGNATURE:
		case PO_KEY_CULPRIT:
		case PO_KEY_MODULE:
			key[i] = key_value(a, a->keys[i], r, sid, 0);
			break;
		case PO_KEY_COMM:
		case PO_KEY_MEMCG:
			key[i] = po_strtab_intern(a->names, "", 0);
			break;
		case PO_KEY_PID:
		case PO_KEY_TGID:
			key[i] = (uint64_t)(int64_t)-1;
			break;
		default:
			key[i] = 0;
			break;
		}
	}
	gid = group_find_or_add(a, key, &fresh);
	g = &a->groups[gid];
	if (fresh) {
		g->stack_id = sid;
		g->pid = g->tgid = -1;
		g->comm_id = po_strtab_intern(a->names, "", 0);
	}
	if (r->nr_base_pages > 0)
		g->pages[slot] += (uint64_t)r->nr_base_pages;
	if (ret_group != NULL)
		*ret_group = gid;
	return 0;
}

size_t
po_agg_ngroups(const struct po_agg *a)
{
	return a->ngroups;
}

struct po_group *
po_agg_group(struct po_agg *a, size_t i)
{
	return i < a->ngroups ? &a->groups[i] : NULL;
}

unsigned
po_agg_nkeys(const struct po_agg *a)
{
	return a->nkeys;
}

const enum po_key *
po_agg_keys(const struct po_agg *a)
{
	return a->keys;
}

struct po_strtab *
po_agg_names(const struct po_agg *a)
{
	return a->names;
}

struct po_stacktab *
po_agg_stacks(const struct po_agg *a)
{
	return a->stacks;
}

uint64_t
po_agg_filtered(const struct po_agg *a)
{
	return a->filtered;
}

static bool
key_is_name(enum po_key k)
{
	return k == PO_KEY_CULPRIT || k == PO_KEY_MODULE || k == PO_KEY_COMM ||
	    k == PO_KEY_MEMCG;
}

static uint32_t
copy_name(struct po_agg *into, const struct po_agg *from, uint64_t id)
{
	size_t n;
	const char *s = po_strtab_get(from->names, (uint32_t)id, &n);

	return po_strtab_intern(into->names, s, n);
}

static uint32_t
copy_stack(struct po_agg *into, const struct po_agg *from, uint32_t sid)
{
	const struct po_stack *s = po_stacktab_get(from->stacks, sid);

	if (s->hash_hi != 0)	/* interned by its 128-bit hash: that decides */
		return po_stacktab_intern_hash128(into->stacks, s->hash, s->hash_hi,
		    po_stacktab_text(from->stacks, sid), s->nframes);
	return po_stacktab_intern_hashed(into->stacks, s->hash,
	    po_stacktab_text(from->stacks, sid), s->nframes);	/* text decides */
}

/* Fold another aggregation with the same keys into this one (threads). */
void
po_agg_merge(struct po_agg *into, const struct po_agg *from, uint32_t *ret_map)
{
	for (size_t i = 0; i < from->ngroups; i++) {
		const struct po_group *src = &from->groups[i];
		uint64_t key[PO_MAX_KEYS];
		struct po_group *g;
		uint32_t gid;
		bool fresh;

		for (unsigned k = 0; k < into->nkeys; k++) {
			key[k] = src->key[k];
			if (into->keys[k] == PO_KEY_STACK)
				key[k] = copy_stack(into, from, (uint32_t)src->key[k]);
			else if (key_is_name(into->keys[k]))
				key[k] = copy_name(into, from, src->key[k]);
		}
		gid = group_find_or_add(into, key, &fresh);
		if (ret_map != NULL)
			ret_map[i] = gid;
		g = &into->groups[gid];
		if (fresh) {
			g->stack_id = copy_stack(into, from, src->stack_id);
			g->pid = src->pid;
			g->tgid = src->tgid;
			g->comm_id = copy_name(into, from, src->comm_id);
			g->ts_min = src->ts_min;
		} else if (src->ts_min < g->ts_min) {
			g->ts_min = src->ts_min;
		}
		for (int s = 0; s < 2; s++) {
			g->blocks[s] += src->blocks[s];
			g->pages[s] += src->pages[s];
		}
		g->alloc_pages += src->alloc_pages;
		g->alloc_blocks += src->alloc_blocks;
		g->freed_pages += src->freed_pages;
		g->freed_blocks += src->freed_blocks;
		if (src->ts_max > g->ts_max)
			g->ts_max = src->ts_max;
		if (src->free_ts_max > g->free_ts_max)
			g->free_ts_max = src->free_ts_max;
		g->anomalies += src->anomalies;
		g->ator |= src->ator;
	}
	into->filtered += from->filtered;
	/* keyed-by-stack shortcut is rebuilt lazily from the groups */
	for (uint32_t i = 0; i < into->extra_cap; i++)
		into->extra[i].group = 0;
}

/* A group's i-th key as text, for tables and JSON. */
int
po_agg_key_str(const struct po_agg *a, const struct po_group *g, unsigned i,
    char *buf, size_t len)
{
	enum po_key k = a->keys[i];
	uint64_t v = g->key[i];
	const char *s;

	switch (k) {
	case PO_KEY_STACK:	/* "%016llx", without printf: once a group */
		if (len > 0) {
			static const char hex[] = "0123456789abcdef";
			uint64_t h = po_stacktab_get(a->stacks, (uint32_t)v)->hash;
			char t[16];

			for (int d = 15; d >= 0; d--, h >>= 4)
				t[d] = hex[h & 15];
			copy_cut(buf, len, t, sizeof(t));
		}
		break;
	case PO_KEY_SIGNATURE:
		snprintf(buf, len, "%016llx", (unsigned long long)v);
		break;
	case PO_KEY_CULPRIT:
	case PO_KEY_COMM:
	case PO_KEY_MEMCG:
		snprintf(buf, len, "%s", po_strtab_get(a->names, (uint32_t)v, NULL));
		break;
	case PO_KEY_MODULE:
		s = po_strtab_get(a->names, (uint32_t)v, NULL);
		snprintf(buf, len, "%s", *s ? s : "kernel");
		break;
	case PO_KEY_PID:
	case PO_KEY_TGID:
		snprintf(buf, len, "%lld", (long long)(int64_t)v);
		break;
	case PO_KEY_ORDER:
		snprintf(buf, len, "%llu", (unsigned long long)v);
		break;
	case PO_KEY_GFP:
		/* as the kernel prints it: "%#x" there gives 0x0, here 0 */
		snprintf(buf, len, "0x%llx", (unsigned long long)v);
		break;
	case PO_KEY_ALLOCATOR:
		po_allocator_str((unsigned)v, buf, len);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}
