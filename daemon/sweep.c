/*
 * sweep.c: a big host's full reads, a few PFN windows at a time.
 *
 * The PFN span is cut into windows of `window` bytes of memory, aligned on
 * multiples of their size (so memory that comes or goes changes which
 * windows exist, never where they start).  Each snapshot reads as many
 * windows as the CPU budget allows, those read longest ago first, so every
 * window is read again within K snapshots.  Per window, in the snapshot's
 * transaction, the read's per-series values replace the window's row in
 * the database; the picture is the sum of every window's latest read.
 * The identity diff (allocated, freed) is per window: each window has its
 * own identity file, <db>.windows/<idx>.ident, with the window's combos
 * (their series) behind its identities, renamed into place after the
 * commit.  A file whose header does not name the snapshot the window's
 * row names (a failed write or rename, a crash in between) is never
 * merged against: that window's next read has no allocated/freed figures,
 * and the snapshot says so (identities false).
 *
 * Until every window has been read once (a first sweep, a new boot, memory
 * added), the picture is partial: such snapshots are baselines, their
 * values recorded, nothing diffed.  A window whose read fails keeps its
 * last row (stale, never counted as freed) and is read first next time.
 *
 * Sampling (sample = P%) reads, instead of the windows due, every window
 * never read (a stratum taken whole) and n = max(2, ceil(N P / 100)) of the
 * N windows read before: up to n / 2 of those most active at their last
 * read (where one series grew most a snapshot) and their neighbours
 * (another stratum taken whole, chosen before the draw), and a stratified
 * random sample of the rest: H strata of consecutive windows, two drawn in
 * each (three in the last when the draws are odd).  It stores per series a
 * difference estimator of the pages over the whole span.  Each window w has x_w, its row from before this read
 * (0 if none), fixed before the draw; a sampled window gives d_w = y_w -
 * x_w.  Then
 *	T = sum_w x_w + sum_h N_h mean_h(d)	(x_w = y_w for a window read whole)
 *	  = picture + sum_h (N_h / n_h - 1) sum_{w in h} d_w
 *	Var = N^2 (1 - n / N) s^2 / n
 * with s^2 the variance of d over all the draws (pooled over the strata,
 * sample_store), N and n the windows drawn from and drawn: unbiased given the
 * earlier reads, and as good as they are close to the present (a series
 * that did not change has no error at all); a series that changed in the
 * windows read for sure has that change's square added to its variance.  A stratum left with fewer
 * than two reads of more windows (a read failed) leaves the snapshot
 * without an estimate.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "page-ownerd.h"

#define COST_WEIGHT	0.3	/* of a new window's cost in the estimate */

/* A window of the span, as this snapshot sees it. */
struct win {
	int64_t		 idx;
	bool		 stored;	/* has a row */
	int64_t		 snapshot;	/* its row's */
	int64_t		 boot;
	double		 time;
	bool		 stale;		/* its last read failed */
};

/* An identity file written this snapshot, renamed at the commit. */
struct pending {
	struct identfile *f;
	int64_t		 idx;
};

struct sweep {
	char		*dir;		/* <db>.windows */
	struct win	*w;		/* the span's windows, by idx order */
	size_t		 n, cap;
	int64_t		*stale;		/* idx of windows whose read failed */
	size_t		 nstale;
	struct pending	*pend;
	size_t		 npend;
	double		 cost;		/* CPU seconds per window, 0 = unknown */
	struct series_values wv;	/* one window's values */
	struct sweep_status st;
	struct sampler	*smp;		/* sampling (sample.c) */
};

struct sweep *
sweep_new(const char *db_path)
{
	struct sweep *sw = po_xcalloc(1, sizeof(*sw));

	po_asprintf(&sw->dir, "%s.windows", db_path);
	sw->smp = sampler_new();
	return sw;
}

void
sweep_abort(struct sweep *sw)
{
	for (size_t i = 0; i < sw->npend; i++)
		identfile_free(sw->pend[i].f);	/* unlinks the .new file */
	sw->npend = 0;
}

void
sweep_free(struct sweep *sw)
{
	if (sw == NULL)
		return;
	sweep_abort(sw);
	free(sw->pend);
	free(sw->w);
	free(sw->stale);
	free(sw->dir);
	series_values_free(&sw->wv);
	sampler_free(sw->smp);
	free(sw);
}

const struct sweep_status *
sweep_status(const struct sweep *sw)
{
	return &sw->st;
}

static double
cpu_seconds(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_THREAD, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec +
	    kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) +
	    (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec +
	    kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e6;
}

static bool
is_stale(const struct sweep *sw, int64_t idx)
{
	for (size_t i = 0; i < sw->nstale; i++)
		if (sw->stale[i] == idx)
			return true;
	return false;
}

static void
set_stale(struct sweep *sw, int64_t idx, bool stale)
{
	for (size_t i = 0; i < sw->nstale; i++)
		if (sw->stale[i] == idx) {
			if (!stale)
				sw->stale[i] = sw->stale[--sw->nstale];
			return;
		}
	if (stale) {
		sw->stale = po_xrealloc(sw->stale, sw->nstale + 1, sizeof(*sw->stale));
		sw->stale[sw->nstale++] = idx;
	}
}

/* ---- the stored rows --------------------------------------------------------- */

struct load {
	struct sweep	*sw;
	int64_t		 first, last;	/* the span's windows */
	int64_t		 boot;
	int64_t		*drop;		/* rows to delete */
	size_t		 ndrop;
	int64_t		*gone;		/* by series: their pages, freed with them */
	int64_t		 ngone;
};

static int
load_row(const struct window_row *w, const void *blob, size_t len, void *ud)
{
	struct load *l = ud;
	struct win *x;

	if (w->idx < l->first || w->idx > l->last || w->boot != l->boot) {
		struct pack_reader rd;
		int64_t f[WIN_FIELDS];
		uint32_t series;

		/* memory that went away (hot-unplug), or another boot's: its
		 * blocks went with it, freed (so allocated - freed = net) */
		l->drop = po_xrealloc(l->drop, l->ndrop + 1, sizeof(*l->drop));
		l->drop[l->ndrop++] = w->idx;
		if (w->boot == l->boot &&
		    pack_reader_init(&rd, blob, len, WIN_FIELDS) == 0) {
			while (pack_next(&rd, &series, f) > 0) {
				if ((int64_t)series >= l->ngone) {
					int64_t n = (int64_t)series + 1024;

					l->gone = po_xrealloc(l->gone, (size_t)n,
					    sizeof(*l->gone));
					memset(l->gone + l->ngone, 0,
					    (size_t)(n - l->ngone) * sizeof(*l->gone));
					l->ngone = n;
				}
				l->gone[series] += f[0];
			}
			pack_reader_free(&rd);
		}
		return 0;
	}
	x = &l->sw->w[w->idx - l->first];
	x->stored = true;
	x->snapshot = w->snapshot;
	x->boot = w->boot;
	x->time = w->time;
	return 0;
}

/* The picture: every window's latest values; allocated and freed of the
 * windows this snapshot read. */
struct sum {
	struct series_values *v;
	int64_t		 max;		/* series ids known */
	int64_t		 snapshot;
	int		 error;
};

static int
sum_row(const struct window_row *w, const void *blob, size_t len, void *ud)
{
	struct sum *s = ud;
	struct pack_reader rd;
	int64_t f[WIN_FIELDS];
	uint32_t series;
	int r;

	if ((r = pack_reader_init(&rd, blob, len, WIN_FIELDS)) < 0) {
		s->error = r;
		return 1;
	}
	while ((r = pack_next(&rd, &series, f)) > 0) {
		struct series_values *v = s->v;

		if ((int64_t)series > s->max)
			continue;	/* a series rolled back with a failed snapshot */
		v->pages[series] += f[0];
		v->blocks[series] += f[1];
		if (w->snapshot == s->snapshot) {
			v->alloc[series] += f[2];
			v->freed[series] += f[3];
		}
		if (f[4] > 0 && (v->ts_min[series] == 0 || f[4] < v->ts_min[series]))
			v->ts_min[series] = f[4];
	}
	pack_reader_free(&rd);
	if (r < 0) {
		s->error = r;
		return 1;
	}
	return 0;
}

/* ---- one window ------------------------------------------------------------------- */

/* The previous read's combos behind its identities; the file left at them. */
static int
load_combos(FILE *in, uint64_t count, struct combo_series **ret, size_t *ret_n)
{
	long hdr = ftell(in);
	struct combo_series c, *v = NULL;
	size_t n = 0;

	*ret = NULL;
	*ret_n = 0;
	if (hdr < 0 || fseek(in, hdr + (long)(count * IDENTFILE_RECORD), SEEK_SET) < 0)
		return -EBADMSG;
	while (fread(&c, sizeof(c), 1, in) == 1) {
		v = po_xrealloc(v, n + 1, sizeof(*v));
		v[n++] = c;
	}
	if (ferror(in) || fseek(in, hdr, SEEK_SET) < 0) {
		free(v);
		return -EIO;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* The identities alone: a stream that ends where the combos begin. */
struct limited {
	FILE		*f;
	uint64_t	 left;		/* bytes */
};

static ssize_t
limited_read(void *cookie, char *buf, size_t n)
{
	struct limited *l = cookie;
	size_t got;

	if (n > l->left)
		n = (size_t)l->left;
	got = fread(buf, 1, n, l->f);
	l->left -= got;
	return ferror(l->f) ? -1 : (ssize_t)got;
}

static int
limited_close(void *cookie)
{
	struct limited *l = cookie;
	int r = fclose(l->f);

	free(l);
	return r;
}

static FILE *
limit_to(FILE *in, uint64_t bytes)
{
	struct limited *l = po_xcalloc(1, sizeof(*l));
	cookie_io_functions_t io = { .read = limited_read, .close = limited_close };
	FILE *f;

	l->f = in;
	l->left = bytes;
	f = fopencookie(l, "r", io);
	if (f == NULL) {
		fclose(in);
		free(l);
	}
	return f;
}

static void
pack_window(const struct series_values *v, int64_t max, uint8_t **ret, size_t *ret_len)
{
	struct pack_writer w;

	pack_writer_init(&w, WIN_FIELDS, 0);
	for (int64_t s = 1; s <= max && s < v->cap; s++) {
		int64_t f[WIN_FIELDS] = { v->pages[s], v->blocks[s], v->alloc[s],
		    v->freed[s], v->ts_min[s] };

		if (f[0] || f[1] || f[2] || f[3])
			pack_add(&w, (uint32_t)s, f);
	}
	pack_finish(&w, ret, ret_len);
}

/*
 * Read window x of the current dump and store its row.  0; 1 when its read
 * failed (the window is stale, the snapshot goes on); -errno when the
 * snapshot must fail (the database, the daemon stopping).
 */
static int
read_window(struct sweep *sw, struct read_ctx *rc, struct win *x, uint64_t wpfns,
    struct snap_row *row, struct po_parse_stats *stats, bool *ret_merged)
{
	struct window_row wr = { .idx = x->idx, .lo = (uint64_t)x->idx * wpfns,
	    .hi = (uint64_t)(x->idx + 1) * wpfns, .snapshot = row->id, .boot = row->boot,
	    .time = row->time };
	struct combo_series *prev = NULL, *combos = NULL;
	struct full_read fr = { 0 };
	struct identfile *idf;
	uint8_t *detail = NULL, *blob = NULL;
	size_t nprev = 0, dlen = 0, blen = 0;
	char *base = NULL, *why = NULL;
	uint64_t count = 0;
	FILE *in = NULL;
	int r;

	po_asprintf(&base, "%s/%lld", sw->dir, (long long)x->idx);
	idf = identfile_new(base);
	free(base);
	if (x->stored && x->boot == row->boot)
		in = identfile_open_prev_count(idf, x->snapshot, x->boot, &count);
	else if (!x->stored)
		/* memory new to this boot (hot-add, or the first sweep, which
		 * is a baseline anyway): every block in it was allocated */
		in = fopen("/dev/null", "re");
	if (in != NULL && load_combos(in, count, &prev, &nprev) < 0) {
		fclose(in);
		in = NULL;
	}
	if (in != NULL)
		in = limit_to(in, count * IDENTFILE_RECORD);
	rc->pfn_lo = wr.lo;
	rc->pfn_hi = wr.hi;
	r = full_read(rc, idf, in, nprev, row->source, &fr);
	if (in != NULL)
		fclose(in);
	rc->pfn_lo = rc->pfn_hi = 0;
	if (r < 0) {
		if (*rc->stop)
			goto out;
		log_warnx("sweep: window %lld (PFN %#llx-%#llx) not read, kept as it "
		    "was and read first next time: %s", (long long)x->idx,
		    (unsigned long long)wr.lo, (unsigned long long)wr.hi,
		    *rc->cause ? *rc->cause : strerror(-r));
		free(*rc->cause);
		*rc->cause = NULL;
		set_stale(sw, x->idx, true);
		r = 1;
		goto out;
	}
	set_stale(sw, x->idx, false);
	*ret_merged = fr.merged && in != NULL;
	r = full_resolve(rc, &fr, prev, nprev, row->id, *ret_merged, &sw->wv, &combos,
	    &detail, &dlen);
	if (r < 0)
		goto out;
	/* behind the identities: the combos they refer to, by series */
	if (fwrite(combos, sizeof(*combos), combo_count(fr.combos),
	    identfile_out(idf)) != combo_count(fr.combos)) {
		r = errno ? -errno : -EIO;
		po_asprintf(rc->cause, "cannot write '%s': %s", identfile_tmp(idf),
		    strerror(-r));
		goto out;
	}
	if ((r = identfile_finish(idf, row->id, row->boot, fr.idents, &why)) < 0) {
		*rc->cause = why;
		goto out;
	}
	pack_window(&sw->wv, registry_max_series(rc->reg), &blob, &blen);
	if ((r = store_window_put(rc->st, &wr, blob, blen)) < 0)
		goto out;
	sw->pend = po_xrealloc(sw->pend, sw->npend + 1, sizeof(*sw->pend));
	sw->pend[sw->npend++] = (struct pending){ idf, x->idx };
	idf = NULL;
	x->stored = true;
	x->snapshot = row->id;
	x->boot = row->boot;
	x->time = row->time;
	po_stats_add(stats, &fr.stats);
	row->records += (int64_t)fr.records;
	row->pages += (int64_t)fr.pages;
	row->stacks += po_stacktab_count(combo_stacks(fr.combos));
	r = 0;
out:
	identfile_free(idf);
	free(prev);
	free(combos);
	free(detail);
	free(blob);
	full_read_free(&fr);
	return r;
}


/* ---- the snapshot ------------------------------------------------------------------ */

/* A window in the order this snapshot reads them. */
struct due {
	struct win	*w;
};

static int
cmp_due(const void *a, const void *b)
{
	const struct win *x = ((const struct due *)a)->w, *y = ((const struct due *)b)->w;

	/* never read, then stale, then read longest ago; PFN order within */
	if (x->stored != y->stored)
		return x->stored ? 1 : -1;
	if (x->stale != y->stale)
		return x->stale ? -1 : 1;
	if (x->snapshot != y->snapshot)
		return x->snapshot < y->snapshot ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* How many windows this snapshot may read. */
static size_t
budget_windows(const struct sweep *sw, const struct config *cfg, size_t n)
{
	double budget = cfg->cpu_budget * cfg->interval;
	size_t k;

	if (cfg->sweep_windows > 0)
		k = cfg->sweep_windows;
	else if (sw->cost <= 0)
		k = 1;		/* measure one first */
	else
		k = (size_t)(budget / sw->cost);
	return k < 1 ? 1 : k > n ? n : k;
}

/*
 * One sweep snapshot, inside its transaction (row inserted): read the due
 * windows, store their rows, and sum every window into v.  row gets what
 * was read, and becomes a baseline while the picture is partial.
 */
int
sweep_span(struct source *src, const struct config *cfg, uint64_t span[2],
    uint64_t *ret_wpfns, int64_t *ret_first, int64_t *ret_last, char **cause)
{
	long psz = sysconf(_SC_PAGESIZE);
	uint64_t wpfns = cfg->window / (uint64_t)(psz > 0 ? psz : 4096), lo, hi;
	int r;

	if (wpfns == 0)
		wpfns = 1;
	if ((r = source_pfn_span(src, &lo, &hi, cause)) < 0)
		return r;
	span[0] = lo;
	span[1] = hi;
	*ret_wpfns = wpfns;
	*ret_first = (int64_t)(lo / wpfns);
	*ret_last = (int64_t)((hi > lo ? hi - 1 : lo) / wpfns);
	return 0;
}

/* Read one window due, timing it: read_window's result. */
static int
read_due(struct sweep *sw, struct read_ctx *rc, struct win *w, uint64_t wpfns,
    struct snap_row *row, struct po_parse_stats *stats, size_t *nread, size_t *unmerged)
{
	double c0 = cpu_seconds(), c;
	bool merged = false;
	int r;

	r = read_window(sw, rc, w, wpfns, row, stats, &merged);
	if (r < 0)
		return r;
	c = cpu_seconds() - c0;
	sw->cost = sw->cost <= 0 ? c : (1 - COST_WEIGHT) * sw->cost + COST_WEIGHT * c;
	if (r == 0) {
		(*nread)++;
		*unmerged += !merged;
	}
	return r;
}

/*
 * Read a window read before, its row fetched first (x, fixed before the
 * draw): its difference into the stratum's sums when tally, its activity
 * noted.  read_window's result; *ok false when the estimate cannot stand (a
 * window taken whole not read, or its stored values damaged).
 */
static int
read_known(struct sweep *sw, struct read_ctx *rc, struct win *w, uint64_t wpfns,
    struct snap_row *row, struct po_parse_stats *stats, size_t *nread,
    size_t *unmerged, bool tally, bool *ok)
{
	struct store_blob xb = { 0 };
	int64_t xsnap = 0;
	double grew = 0;
	int r;

	if ((r = store_window_get(rc->st, w->idx, &xsnap, &xb)) < 0)
		return r;
	r = read_due(sw, rc, w, wpfns, row, stats, nread, unmerged);
	if (r == 0 && sampler_window(sw->smp, &xb, &sw->wv, registry_max_series(rc->reg),
	    tally, &grew) < 0) {
		if (*ok)
			log_warnx("sweep: window %lld: its stored values are damaged: no "
			    "estimate this snapshot", (long long)w->idx);
		*ok = false;
	} else if (r == 0)
		sampler_activity(sw->smp, w->idx,
		    grew / (double)(row->id > xsnap ? row->id - xsnap : 1));
	else if (r == 1 && !tally) {
		if (*ok)
			log_warnx("sweep: window %lld, read for sure, could not be read: "
			    "no estimate this snapshot", (long long)w->idx);
		*ok = false;
	}
	store_blob_free(&xb);
	return r;
}

int
sweep_run(struct sweep *sw, struct read_ctx *rc, const struct config *cfg,
    struct snap_row *row, struct series_values *v)
{
	uint64_t wpfns, span[2];
	struct load l = { .sw = sw, .boot = row->boot };
	struct po_parse_stats stats = { 0 };
	struct sum sum = { .v = v, .snapshot = row->id };
	struct due *due = NULL;
	struct sample_stratum *strata = NULL;
	size_t *ridx = NULL, nr = 0, ndrawn = 0;
	size_t ndue = 0, nread = 0, unmerged = 0, unread = 0, nstrata = 0;
	bool sampling = cfg->sample > 0, estimated = sampling;
	const char *seek_why;
	double oldest = 0;
	int r;

	sweep_abort(sw);
	if ((r = sweep_span(rc->src, cfg, span, &wpfns, &l.first, &l.last, rc->cause)) < 0)
		return r;
	sw->n = (size_t)(l.last - l.first + 1);
	if (sw->n > 10000000) {
		po_asprintf(rc->cause, "sweep: %zu windows of %llu pages: make window "
		    "larger", sw->n, (unsigned long long)wpfns);
		return -E2BIG;
	}
	if (sw->n > sw->cap) {
		sw->cap = sw->n;
		sw->w = po_xrealloc(sw->w, sw->cap, sizeof(*sw->w));
	}
	for (size_t i = 0; i < sw->n; i++)
		sw->w[i] = (struct win){ .idx = l.first + (int64_t)i,
		    .stale = is_stale(sw, l.first + (int64_t)i) };
	if ((r = store_each_window(rc->st, load_row, &l)) < 0)
		goto out;
	for (size_t i = 0; i < l.ndrop; i++)
		if ((r = store_window_drop(rc->st, l.drop[i])) < 0)
			goto out;
	if (l.ndrop > 0)
		log_info("sweep: %zu windows left the PFN span (memory removed, or "
		    "a new boot): dropped", l.ndrop);
	(void)mkdir(sw->dir, 0700);

	due = po_xcalloc(sw->n, sizeof(*due));
	for (size_t i = 0; i < sw->n; i++)
		due[i].w = &sw->w[i];
	row->records = row->pages = row->stacks = 0;
	if (sampling) {
		size_t take = 0, nsample = 0;

		/*
		 * Windows never read (a first snapshot, a new boot, memory added)
		 * are all read, a stratum taken whole: their pages exact, no x
		 * to differ from.  The draw is among the windows read before.
		 */
		ridx = po_xcalloc(sw->n, sizeof(*ridx));
		for (size_t i = 0; i < sw->n && !*rc->stop; i++) {
			if (sw->w[i].stored) {
				ridx[nr++] = i;
				continue;
			}
			take++;
			r = read_due(sw, rc, &sw->w[i], wpfns, row, &stats, &nread, &unmerged);
			if (r < 0)
				goto out;
			if (r == 0)	/* no growth known yet: its largest series */
				sampler_activity(sw->smp, sw->w[i].idx,
				    sampler_largest(&sw->wv, registry_max_series(rc->reg)));
			if (r == 1) {
				if (estimated)
					log_warnx("sweep: a window never read before could not be "
					    "read: no estimate this snapshot");
				estimated = false;
			}
		}
		sampler_reset(sw->smp, registry_max_series(rc->reg));
		if (nr > 0) {
			size_t n = (size_t)ceil((double)nr * cfg->sample - 1e-9), c;

			n = n < 2 ? 2 : n > nr ? nr : n;
			/*
			 * The windows most active at their last read (a series grew
			 * most there), and the windows on either side of them (where
			 * the allocator goes on when one fills), are read for sure,
			 * up to half the sample: a stratum taken whole, chosen before
			 * the draw, so that a leak that keeps filling one region is
			 * measured, not drawn.  The others, in PFN order, are drawn
			 * from.
			 */
			c = sampler_pick_sure(sw->smp, sw->w[0].idx, sw->n, ridx, nr,
			    n >= 4 ? n / 2 : 0);
			for (size_t i = 0; i < c && !*rc->stop; i++)
				if ((r = read_known(sw, rc, &sw->w[ridx[i]], wpfns, row, &stats,
				    &nread, &unmerged, false, &estimated)) < 0)
					goto out;
			nr -= c;
			memmove(ridx, ridx + c, nr * sizeof(*ridx));
			if (n > c && nr > 0)
				strata = sampler_draw(sw->smp, n - c, nr, &nstrata);
			nsample = n;
		}
		ndue = take + nsample;
		for (size_t h = 0; h < nstrata && !*rc->stop; h++) {
			struct sample_stratum *x = &strata[h];

			for (unsigned k = 0; k < x->n && !*rc->stop; k++) {
				r = read_known(sw, rc, &sw->w[ridx[x->pick[k]]], wpfns, row, &stats,
				    &nread, &unmerged, true, &estimated);
				if (r < 0)
					goto out;
				if (r == 0) {
					x->read++;
					ndrawn++;
				}
			}
			if (x->read < 2 && x->hi - x->lo > x->read) {
				if (estimated)
					log_warnx("sweep: %u of the %u windows drawn in stratum "
					    "%zu were read: no estimate this snapshot",
					    x->read, x->n, h);
				estimated = false;
			}
			sampler_stratum(sw->smp, x);
		}
	} else {
		qsort(due, sw->n, sizeof(*due), cmp_due);
		ndue = budget_windows(sw, cfg, sw->n);
		for (size_t i = 0; i < ndue && !*rc->stop; i++)
			if ((r = read_due(sw, rc, due[i].w, wpfns, row, &stats, &nread,
			    &unmerged)) < 0)
				goto out;
	}
	if (*rc->stop) {
		po_asprintf(rc->cause, "snapshot abandoned: the daemon is stopping");
		r = -ECANCELED;
		goto out;
	}
	if (nread == 0 && ndue > 0) {
		po_asprintf(rc->cause, "sweep: none of the %zu windows due could be "
		    "read (see the log)", ndue);
		r = -EIO;
		goto out;
	}

	/* the picture: every window's latest read */
	series_values_reserve(v, registry_max_series(rc->reg));
	series_values_clear(v);
	sum.max = registry_max_series(rc->reg);
	if ((r = store_each_window(rc->st, sum_row, &sum)) < 0 || (r = sum.error) < 0)
		goto out;
	for (int64_t s = 1; s < l.ngone && s <= sum.max; s++)
		v->freed[s] += l.gone[s];
	if (estimated) {
		struct estimate_row e = { .snapshot = row->id, .windows = (int64_t)sw->n,
		    .sampled = (int64_t)nread, .strata = (int64_t)nstrata };

		if ((r = sampler_store(sw->smp, rc->st, v, sum.max, ndrawn, nr, &e)) < 0)
			goto out;
	}
	for (size_t i = 0; i < sw->n; i++) {
		if (!sw->w[i].stored)
			unread++;
		else if (oldest == 0 || sw->w[i].time < oldest)
			oldest = sw->w[i].time;
	}
	if (unread > 0)
		row->baseline = true;	/* a partial picture: nothing to diff */
	row->identities = !row->baseline && unmerged == 0;
	row->bytes = (int64_t)stats.bytes;
	row->malformed = (int64_t)stats.malformed;
	row->unknown_lines = (int64_t)stats.unknown_lines;
	snprintf(row->format, sizeof(row->format), "%s", po_era_str(stats.features));

	sw->st = (struct sweep_status){
		.active = true, .windows = (uint32_t)sw->n,
		.per_snapshot = (uint32_t)ndue,
		.k = ndue > 0 ? (uint32_t)((sw->n + ndue - 1) / ndue) : 0,
		.read = (uint32_t)nread, .stale = (uint32_t)sw->nstale,
		.unmerged = (uint32_t)unmerged, .unread = (uint32_t)unread,
		.oldest = oldest, .window_pages = wpfns, .span_lo = span[0], .span_hi = span[1],
		.cost = sw->cost, .sample = cfg->sample * 100, .strata = (uint32_t)nstrata,
		.estimated = estimated,
	};
	snprintf(sw->st.seek, sizeof(sw->st.seek), "%s",
	    source_seek_name(source_seek(rc->src, &seek_why)));
	if (unmerged > 0 && !row->baseline)
		log_info("sweep: %zu of the %zu windows read had no usable identity "
		    "file (first read, or its write or rename failed): a baseline for "
		    "them, no allocated/freed figures this snapshot", unmerged, nread);
	r = 0;
out:
	free(due);
	free(strata);
	free(ridx);
	free(l.drop);
	free(l.gone);
	if (r < 0)
		sweep_abort(sw);
	return r;
}

/* After the commit: the windows' new identity files replace the old ones. */
void
sweep_commit(struct sweep *sw)
{
	for (size_t i = 0; i < sw->npend; i++) {
		char *why = NULL;

		if (identfile_commit(sw->pend[i].f, &why) < 0) {
			log_warnx("sweep: window %lld: %s: its next read is a baseline "
			    "for it (no allocated/freed figures)",
			    (long long)sw->pend[i].idx, why);
			free(why);
		}
		identfile_free(sw->pend[i].f);
	}
	sw->npend = 0;
}
