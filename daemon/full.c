/*
 * full.c: a full read of page_owner, the stage that knows every block.
 *
 *   read + parse + aggregate (full_read): records are grouped into combos
 *     (stack x comm x memcg x order x gfp); each block's identity goes to
 *     the next identity file while being merged, in PFN order, against the
 *     previous one, which tells the pages allocated and freed in between
 *     without holding either dump in memory.  No database work.
 *   resolve (full_resolve): combos map to series (stack signature, comm,
 *     memcg, module, order), created when new inside the snapshot's
 *     transaction; per-series values and the detail blob come out.
 */
#include <errno.h>
#include <string.h>

#include "page-ownerd.h"

/* What the record callback fills. */
struct frame {
	struct full_read *out;
	FILE		*ident;		/* new identities */
	struct po_ident_merge merge;
	bool		 merging;
	size_t		 nprev;		/* previous combos */
	int		 werr;		/* first identity write error */
	volatile int	*stop;
	uint64_t	 lo, hi;	/* the PFN window; hi 0 = all */
	bool		 past;		/* a record at or past hi came: done */
};

static void
on_freed(const struct po_ident *i, void *userdata)
{
	struct frame *f = userdata;

	if (i->ref < f->nprev)
		f->out->prev_freed[i->ref] += INT64_C(1) << i->order;
}

static void
on_allocated(const struct po_ident *i, void *userdata)
{
	struct full_read *o = ((struct frame *)userdata)->out;

	if (i->ref >= o->combo_cap) {
		size_t cap = o->combo_cap ? o->combo_cap : 1024;

		while (cap <= i->ref)
			cap *= 2;
		o->combo_alloc = po_xrealloc(o->combo_alloc, cap, sizeof(int64_t));
		memset(o->combo_alloc + o->combo_cap, 0,
		    (cap - o->combo_cap) * sizeof(int64_t));
		o->combo_cap = cap;
	}
	o->combo_alloc[i->ref] += INT64_C(1) << i->order;
}

static void
take_ident(struct frame *f, const struct po_record *r, uint32_t gid, uint64_t ih)
{
	struct po_ident id = { .pfn = r->pfn, .hash = (uint32_t)(ih ^ (ih >> 32)),
	    .ref = gid, .order = (uint8_t)r->order };

	if (po_ident_write(f->ident, &id) < 0 && f->werr == 0)
		f->werr = errno ? -errno : -EIO;
	f->out->idents++;
	if (f->merging)
		po_ident_merge_add(&f->merge, &id);
}

/* The parser's batch: page records into combos (show_stacks text is ignored). */
static int
on_records(const struct po_record *rs, size_t n, void *userdata)
{
	struct frame *f = userdata;
	uint32_t gid[PO_BATCH];
	uint64_t ih[PO_BATCH];
	int rets[PO_BATCH];

	struct po_record in[PO_BATCH];

	if (*f->stop)
		return 1;
	if (n > PO_BATCH)
		n = PO_BATCH;
	if (f->hi != 0) {
		/* a window: the records of [lo, hi) only (a whole read's others
		 * are dropped here; records come in PFN order) */
		size_t k = 0;

		for (size_t i = 0; i < n; i++) {
			if (rs[i].kind != PO_REC_PAGE || rs[i].pfn < f->lo)
				continue;
			if (rs[i].pfn >= f->hi) {
				f->past = true;
				break;
			}
			in[k++] = rs[i];
		}
		if (k == 0)
			return f->past ? 1 : 0;
		rs = in;
		n = k;
	}
	combo_add_batch(f->out->combos, rs, n, gid, ih, rets);
	for (size_t i = 0; i < n; i++)
		if (rets[i] == 0) {
			take_ident(f, &rs[i], gid[i], ih[i]);
			f->out->records++;
			f->out->pages += UINT64_C(1) << rs[i].order;
		}
	return f->past ? 1 : 0;
}

void
full_read_free(struct full_read *f)
{
	combo_table_free(f->combos);
	free(f->combo_alloc);
	free(f->prev_freed);
	memset(f, 0, sizeof(*f));
}

/*
 * Read and parse the page_owner text, writing identities to the next
 * identity file and merging against prev (NULL: no merge; nprev combos).  name is the text's
 * name for messages.  0, or -errno with *rc->cause; ret->page_owner_off
 * tells a kernel without page_owner.
 */
int
full_read(struct read_ctx *rc, struct identfile *idf, FILE *prev, size_t nprev,
    const char *name, struct full_read *ret)
{
	struct frame fr = { .out = ret, .nprev = nprev, .stop = rc->stop,
	    .lo = rc->pfn_lo, .hi = rc->pfn_hi };
	struct po_parser *parser = NULL;
	const struct po_parse_stats *ps;
	uint64_t malformed_before;
	char why[512];
	int r;

	memset(ret, 0, sizeof(*ret));
	r = rc->pfn_hi != 0 ? source_open_range(rc->src, rc->pfn_lo, rc->pfn_hi,
	    rc->cause) : source_open(rc->src, SRC_PAGE_OWNER, rc->cause);
	if (r < 0) {
		ret->page_owner_off = source_get_kind(rc->src) == SOURCE_DEBUGFS &&
		    (r == -ENOENT || r == -EINVAL);
		return r;
	}
	if ((r = identfile_begin(idf, &fr.ident, rc->cause)) < 0) {
		source_end(rc->src);
		return r;
	}
	po_parser_new(&parser);
	ret->combos = combo_table_new();
	combo_set_fold(ret->combos, rc->max_combos);
	ret->prev_freed = po_xcalloc(nprev + 1, sizeof(int64_t));
	if (prev != NULL) {
		po_ident_merge_init(&fr.merge, prev, on_freed, on_allocated, &fr);
		fr.merging = true;
	}
	for (;;) {
		ssize_t n = source_read(rc->src, rc->buf, rc->buflen);

		if (n < 0) {
			r = (int)n;
			*rc->cause = po_xstrdup(source_strerror(rc->src, r, why, sizeof(why)));
			ret->page_owner_off = r == -EINVAL &&
			    source_get_kind(rc->src) == SOURCE_DEBUGFS;
			goto out;
		}
		if (n == 0)
			break;
		(void)po_parser_feed_batch(parser, rc->buf, (size_t)n, on_records, &fr);
		if (*rc->stop) {
			r = -ECANCELED;
			po_asprintf(rc->cause, "snapshot abandoned: the daemon is stopping");
			goto out;
		}
		if (fr.past)
			break;
	}
	source_end(rc->src);
	malformed_before = po_parser_stats(parser)->malformed;
	if (!fr.past)	/* past the window's end, the rest was not read */
		po_parser_finish(parser, NULL, NULL);
	ps = po_parser_stats(parser);
	ret->stats = *ps;
	if (ps->malformed > malformed_before) {
		r = -EBADMSG;
		po_asprintf(rc->cause, "'%s' ends inside a record (at byte %llu of "
		    "%llu): the read was cut short; snapshot not stored", name,
		    (unsigned long long)ps->first_bad_offset,
		    (unsigned long long)ps->bytes);
		goto out;
	}
	if (ps->page_records == 0 && rc->pfn_hi == 0) {
		r = -ENODATA;
		if (ps->bytes == 0)
			po_asprintf(rc->cause, "'%s' gave no data", name);
		else
			po_asprintf(rc->cause, "no page_owner record in %llu bytes "
			    "of '%s'%s%s", (unsigned long long)ps->bytes, name,
			    ps->malformed ? ": first problem: " : "",
			    ps->malformed ? po_malformed_str(ps->first_bad) : "");
		goto out;
	}
	/* no allocated/freed this time if the old file was damaged or unsorted */
	if (fr.merging && (po_ident_merge_finish(&fr.merge) < 0 || fr.merge.unsorted))
		fr.merging = false;
	ret->merged = fr.merging;
	if (fr.werr == 0 && fflush(fr.ident) != 0)
		fr.werr = -errno;
	if (fr.werr < 0) {
		r = fr.werr;
		po_asprintf(rc->cause, "cannot write '%s': %s", identfile_tmp(idf),
		    strerror(-r));
		goto out;
	}
	r = 0;
out:
	source_end(rc->src);
	po_parser_free(parser);
	return r;
}

/*
 * The series of each combo, their values (and, with identities, what was
 * allocated and freed), and the detail blob; inside the transaction.
 */
int
full_resolve(struct read_ctx *rc, const struct full_read *f,
    const struct combo_series *prev, size_t nprev, int64_t snapshot,
    bool identities, struct series_values *v, struct combo_series **ret_combos,
    uint8_t **ret_detail, size_t *ret_detail_len)
{
	size_t ngroups = combo_count(f->combos);
	struct combo_series *combos = po_xcalloc(ngroups + 1, sizeof(*combos));
	struct po_stacktab *stt = combo_stacks(f->combos);
	struct detail_writer *dw = detail_writer_new();

	series_values_clear(v);
	for (size_t g = 0; g < ngroups; g++) {
		const struct combo *cb = combo_get(f->combos, (uint32_t)g);
		const struct po_stack *sk = po_stacktab_get(stt, cb->k.stack);
		const char *culprit = combo_name(f->combos, sk->culprit_id);
		const char *module = combo_name(f->combos, sk->module_id);
		const char *comm = combo_name(f->combos, cb->k.comm);
		const char *memcg = combo_name(f->combos, cb->k.memcg);
		char folded[64], order[16];
		struct detail_row dr;
		int64_t stack_id, alloc;

		stack_id = registry_stack(rc->reg, rc->st, sk->hash,
		    po_stacktab_text(stt, cb->k.stack), sk->sig_hash, culprit,
		    module, snapshot, &combos[g].s[SERIES_STACK - 1]);
		if (sk->handle != 0 && rc->stacks != NULL && stack_id != 0)
			stacks_note_handle(rc->stacks, rc->boot, sk->handle,
			    combos[g].s[SERIES_STACK - 1]);
		series_fold_comm(comm, folded, sizeof(folded));
		snprintf(order, sizeof(order), "%u", cb->k.order);
		combos[g].s[SERIES_COMM - 1] = registry_series(rc->reg, rc->st,
		    SERIES_COMM, folded, NULL, NULL, snapshot);
		combos[g].s[SERIES_MEMCG - 1] = registry_series(rc->reg, rc->st,
		    SERIES_MEMCG, memcg, NULL, NULL, snapshot);
		combos[g].s[SERIES_MODULE - 1] = registry_series(rc->reg, rc->st,
		    SERIES_MODULE, module[0] ? module : "kernel", NULL, NULL, snapshot);
		combos[g].s[SERIES_ORDER - 1] = registry_series(rc->reg, rc->st,
		    SERIES_ORDER, order, NULL, NULL, snapshot);
		for (int k = 0; k < SERIES_NKINDS; k++)
			if (combos[g].s[k] == 0 || stack_id == 0) {
				free(combos);
				detail_writer_free(dw);
				return -EIO;
			}
		series_values_reserve(v, registry_max_series(rc->reg));
		alloc = g < f->combo_cap ? f->combo_alloc[g] : 0;
		for (int k = 0; k < SERIES_NKINDS; k++) {
			int64_t s = combos[g].s[k];
			int64_t ts = (int64_t)cb->ts_min;

			v->pages[s] += (int64_t)cb->pages;
			v->blocks[s] += (int64_t)cb->blocks;
			v->alloc[s] += alloc;
			if (ts > 0 && (v->ts_min[s] == 0 || ts < v->ts_min[s]))
				v->ts_min[s] = ts;
		}
		dr = (struct detail_row){
			.stack = stack_id > 0 ? (uint32_t)stack_id : 0,
			.comm = comm, .memcg = memcg, .order = cb->k.order,
			.gfp = cb->k.gfp, .pages = cb->pages, .blocks = cb->blocks,
			.ts_min = cb->ts_min,
		};
		detail_add(dw, &dr);
	}
	if (identities)
		for (size_t i = 0; i < nprev; i++)
			for (int k = 0; k < SERIES_NKINDS; k++)
				if (prev[i].s[k] > 0 && prev[i].s[k] < v->cap)
					v->freed[prev[i].s[k]] += f->prev_freed[i];
	detail_finish(dw, ret_detail, ret_detail_len);
	detail_writer_free(dw);
	*ret_combos = combos;
	return 0;
}

/* ---- the previous full read's combos, from its detail blob --------------- */

struct prev_load {
	struct store	*st;
	struct registry	*reg;
	struct combo_series *out;
	size_t		 n, cap;
};

static int
prev_row(const struct detail_row *row, void *userdata)
{
	struct prev_load *pl = userdata;
	struct combo_series *c;
	char folded[64], order[16];
	const struct series_info *si;
	int64_t series = 0;

	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 256;
		pl->out = po_xrealloc(pl->out, pl->cap, sizeof(*pl->out));
	}
	c = &pl->out[pl->n++];
	memset(c, 0, sizeof(*c));
	if (store_stack_series(pl->st, row->stack, &series) > 0)
		c->s[SERIES_STACK - 1] = series;
	series_fold_comm(row->comm, folded, sizeof(folded));
	c->s[SERIES_COMM - 1] = registry_find(pl->reg, SERIES_COMM, folded);
	c->s[SERIES_MEMCG - 1] = registry_find(pl->reg, SERIES_MEMCG, row->memcg);
	si = registry_info(pl->reg, c->s[SERIES_STACK - 1]);
	c->s[SERIES_MODULE - 1] = registry_find(pl->reg, SERIES_MODULE,
	    si && si->module[0] ? si->module : "kernel");
	snprintf(order, sizeof(order), "%u", row->order);
	c->s[SERIES_ORDER - 1] = registry_find(pl->reg, SERIES_ORDER, order);
	return 0;
}

/*
 * The combos of the last full read at or before snapshot (the one whose
 * detail is stored), in detail order: the refs its identity file uses.
 * 1 and *ret, 0 when there is none.
 */
int
full_prev_combos(struct store *st, struct registry *reg, int64_t snapshot,
    int64_t *ret_snapshot, struct combo_series **ret, size_t *ret_n)
{
	struct prev_load pl = { .st = st, .reg = reg };
	struct store_blob blob;
	int r;

	*ret = NULL;
	*ret_n = 0;
	*ret_snapshot = 0;
	r = store_detail_latest(st, snapshot, ret_snapshot, &blob);
	if (r <= 0)
		return r;
	r = detail_each(blob.p, blob.len, prev_row, &pl);
	store_blob_free(&blob);
	if (r < 0) {
		free(pl.out);
		return 0;
	}
	*ret = pl.out;
	*ret_n = pl.n;
	return 1;
}
