/*
 * analyze-sort.c: the order of `analyze`'s groups (--sort, --top), and the
 * lists its filters take.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"

/* ---- sorting ------------------------------------------------------------- */

struct sort_ctx {
	const struct analyze_opts *o;
	struct po_agg	*agg;
	bool		 diff;
};

static int
cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int
cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int
group_cmp(const void *pa, const void *pb, void *userdata)
{
	const struct sort_ctx *c = userdata;
	const struct po_group *a = *(struct po_group *const *)pa;
	const struct po_group *b = *(struct po_group *const *)pb;
	int slot = c->diff ? 1 : 0;
	struct po_stacktab *st = po_agg_stacks(c->agg);
	struct po_strtab *names = po_agg_names(c->agg);

	for (unsigned i = 0; i < c->o->nsort; i++) {
		const struct sort_spec *s = &c->o->sort[i];
		int r = 0;

		switch (s->key) {
		case SORT_PAGES:
			r = cmp_u64(a->pages[slot], b->pages[slot]);
			break;
		case SORT_BLOCKS:
			r = cmp_u64(a->blocks[slot], b->blocks[slot]);
			break;
		case SORT_NET:
			r = cmp_i64((int64_t)(a->pages[1] - a->pages[0]),
			    (int64_t)(b->pages[1] - b->pages[0]));
			break;
		case SORT_PID:
			r = cmp_i64(a->pid, b->pid);
			break;
		case SORT_TGID:
			r = cmp_i64(a->tgid, b->tgid);
			break;
		case SORT_NAME:
			r = strcmp(po_strtab_get(names, a->comm_id, NULL),
			    po_strtab_get(names, b->comm_id, NULL));
			break;
		case SORT_STACK: {
			struct po_span x = po_stacktab_text(st, a->stack_id);
			struct po_span y = po_stacktab_text(st, b->stack_id);
			size_t n = x.n < y.n ? x.n : y.n;

			r = memcmp(x.p, y.p, n);
			if (r == 0)
				r = cmp_u64(x.n, y.n);
			break;
		}
		case SORT_ALLOC_TS:
			r = cmp_u64(a->ts_min, b->ts_min);
			break;
		case SORT_FREE_TS:
			r = cmp_u64(a->free_ts_max, b->free_ts_max);
			break;
		case SORT_ALLOCATOR:
			r = cmp_u64(a->ator, b->ator);
			break;
		case SORT_KEY:
			for (unsigned k = 0; k < c->o->nkeys && r == 0; k++)
				r = cmp_u64(a->key[k], b->key[k]);
			break;
		}
		if (r != 0)
			return s->desc ? -r : r;
	}
	/* deterministic ties: by the stack's hash */
	return cmp_u64(po_stacktab_get(st, a->stack_id)->hash,
	    po_stacktab_get(st, b->stack_id)->hash);
}

int
parse_sort(struct analyze_opts *o, const char *list, char **cause)
{
	static const struct {
		const char	*name;
		enum sort_key	 key;
		bool		 desc;
	} names[] = {
		{ "pages", SORT_PAGES, true }, { "mem", SORT_PAGES, true },
		{ "m", SORT_PAGES, true },
		{ "blocks", SORT_BLOCKS, true }, { "times", SORT_BLOCKS, true },
		{ "t", SORT_BLOCKS, true },
		{ "pid", SORT_PID, false }, { "p", SORT_PID, false },
		{ "tgid", SORT_TGID, false }, { "tg", SORT_TGID, false },
		{ "name", SORT_NAME, false }, { "n", SORT_NAME, false },
		{ "comm", SORT_NAME, false },
		{ "stacktrace", SORT_STACK, false }, { "stack", SORT_STACK, false },
		{ "st", SORT_STACK, false },
		{ "alloc_ts", SORT_ALLOC_TS, false }, { "at", SORT_ALLOC_TS, false },
		{ "free_ts", SORT_FREE_TS, false }, { "ft", SORT_FREE_TS, false },
		{ "allocator", SORT_ALLOCATOR, false }, { "ator", SORT_ALLOCATOR, false },
		{ "net", SORT_NET, true }, { "change", SORT_NET, true },
		{ "key", SORT_KEY, false },
	};
	_cleanup_free_ char *copy = po_xstrdup(list);
	char *save = NULL, *tok;

	o->nsort = 0;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		int dir = 0;
		size_t i;

		if (*tok == '+' || *tok == '-')
			dir = *tok++ == '+' ? 1 : -1;
		for (i = 0; i < PO_ARRAY_SIZE(names); i++)
			if (strcmp(tok, names[i].name) == 0)
				break;
		if (i == PO_ARRAY_SIZE(names)) {
			po_asprintf(cause, "unknown sort key '%s' (pages, blocks, "
			    "pid, tgid, name, stacktrace, alloc_ts, free_ts, "
			    "allocator, net, key)", tok);
			return -EINVAL;
		}
		if (o->nsort == PO_ARRAY_SIZE(o->sort)) {
			po_asprintf(cause, "too many sort keys");
			return -EINVAL;
		}
		o->sort[o->nsort].key = names[i].key;
		o->sort[o->nsort].desc = dir == 0 ? names[i].desc : dir < 0;
		o->nsort++;
	}
	if (o->nsort == 0) {
		po_asprintf(cause, "empty sort list");
		return -EINVAL;
	}
	return 0;
}

/*
 * The usual sorts (pages, blocks, net, the timestamps: one key) without
 * group_cmp: each group's key and tie-break read once into a dense array
 * and sorted there, instead of two groups' lines and two stack entries
 * fetched per comparison.  The same order as group_cmp.
 */
struct sort_item {
	uint64_t		 key;	/* the sort key, as unsigned order */
	uint64_t		 tie;	/* the stack's hash */
	struct po_group		*g;
};

static int
item_cmp(const void *pa, const void *pb)
{
	const struct sort_item *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return cmp_u64(a->tie, b->tie);
}

static bool
sort_by_number(const struct analyze_opts *o, struct po_agg *agg, bool diff,
    struct po_group **gs, size_t n)
{
	const struct sort_spec *sp = &o->sort[0];
	struct po_stacktab *st = po_agg_stacks(agg);
	int slot = diff ? 1 : 0;
	struct sort_item *it;

	if (o->nsort != 1 || (sp->key != SORT_PAGES && sp->key != SORT_BLOCKS &&
	    sp->key != SORT_NET && sp->key != SORT_ALLOC_TS &&
	    sp->key != SORT_FREE_TS))
		return false;
	it = po_xcalloc(n + 1, sizeof(*it));
	for (size_t i = 0; i < n; i++) {
		const struct po_group *g = gs[i];
		uint64_t k = 0;

		switch (sp->key) {
		case SORT_PAGES:	k = g->pages[slot]; break;
		case SORT_BLOCKS:	k = g->blocks[slot]; break;
		case SORT_ALLOC_TS:	k = g->ts_min; break;
		case SORT_FREE_TS:	k = g->free_ts_max; break;
		default:	/* SORT_NET: signed, as unsigned order */
			k = (g->pages[1] - g->pages[0]) ^ (UINT64_C(1) << 63);
			break;
		}
		it[i] = (struct sort_item){ sp->desc ? ~k : k,
		    po_stacktab_get(st, g->stack_id)->hash, gs[i] };
	}
	qsort(it, n, sizeof(*it), item_cmp);
	for (size_t i = 0; i < n; i++)
		gs[i] = it[i].g;
	free(it);
	return true;
}

/* gs in the order --sort asks (pages, descending, by default). */
void
sort_groups(const struct analyze_opts *o, struct po_agg *agg, bool diff,
    struct po_group **gs, size_t n)
{
	if (!sort_by_number(o, agg, diff, gs, n)) {
		struct sort_ctx sc = { o, agg, diff };

		qsort_r(gs, n, sizeof(struct po_group *), group_cmp, &sc);
	}
}

/* "1,2,3" into a fresh int32 array. */
int
parse_id_list(const char *list, int32_t **ret, size_t *ret_n)
{
	_cleanup_free_ char *copy = po_xstrdup(list);
	char *save = NULL, *tok;
	int32_t *v = NULL;
	size_t n = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		uint64_t x;

		if (po_parse_u64(tok, &x) < 0 || x > INT32_MAX) {
			free(v);
			return -EINVAL;
		}
		v = po_xrealloc(v, n + 1, sizeof(*v));
		v[n++] = (int32_t)x;
	}
	if (n == 0)
		return -EINVAL;
	*ret = v;
	*ret_n = n;
	return 0;
}

void
parse_name_list(const char *list, char ***ret, size_t *ret_n)
{
	_cleanup_free_ char *copy = po_xstrdup(list);
	char *save = NULL, *tok;
	char **v = NULL;
	size_t n = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		v = po_xrealloc(v, n + 1, sizeof(*v));
		v[n++] = po_xstrdup(tok);
	}
	*ret = v;
	*ret_n = n;
}

