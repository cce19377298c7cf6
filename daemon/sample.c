/*
 * sample.c: a sampling sweep's draws and estimates (sample = P%).
 *
 * sweep.c reads, each snapshot, every window never read (a stratum taken
 * whole) and n = max(2, ceil(N P / 100)) of the N windows read before: up
 * to n / 2 of those most active at their last read (where one series grew
 * most a snapshot) and their neighbours, read for sure (another stratum
 * taken whole, chosen before the draw), and a stratified random sample of
 * the rest: H strata of consecutive windows, two drawn in each (three in
 * the last when the draws are odd).  Here: the draw, and per series a
 * difference estimator of the pages over the whole span.  Each window w
 * has x_w, its row from before this read, fixed before the draw; a window
 * read gives d_w = y_w - x_w.  Then
 *	T = sum_w x_w + sum_h N_h mean_h(d)	(x_w = y_w for a window read whole)
 *	  = picture + sum_h (N_h / n_h - 1) sum_{w in h} d_w
 *	Var = N^2 (1 - n / N) s^2 / n + seen^2
 * with s^2 the variance of d over all the draws (pooled over the strata),
 * N and n the windows drawn from and drawn: unbiased given the earlier
 * reads, and as good as they are close to the present (a series that did
 * not change has no error at all).  seen, what the series changed in the
 * windows read for sure, is a model's term: a draw that saw no change has
 * no variance, however much changed where it did not look.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "page-ownerd.h"

/* A window's largest growth of one series per snapshot, at its last read. */
struct activity {
	int64_t		 idx;
	double		 rate;
};

struct sampler {
	uint64_t	 rng;
	int64_t		 ecap;		/* series the arrays below hold */
	double		*add;		/* estimate - picture */
	double		*var;		/* sum of d^2 over the draws */
	double		*gs;		/* sum of d over the draws */
	double		*seen;		/* sum of |d| over the windows read for sure */
	double		*sd, *sd2;	/* a stratum's sum of d, of d^2 */
	int64_t		*dw;		/* one window's d */
	uint8_t		*mark;		/* 1: in dw's list, 2: in the stratum's */
	int64_t		*wlist, *hlist;	/* series touched: window, stratum */
	size_t		 nw, nh;
	struct activity	*act;		/* by idx: growth a snapshot at the last read */
	size_t		 nact;
	int64_t		 first;		/* cmp_active: idx of position 0 */
};

struct sampler *
sampler_new(void)
{
	struct sampler *sw = po_xcalloc(1, sizeof(*sw));
	const char *seed = getenv("PAGE_OWNERD_SAMPLE_SEED");

	/* reproducible draws for tests; otherwise the kernel's */
	if (seed != NULL && *seed != '\0')
		sw->rng = strtoull(seed, NULL, 0);
	else if (getrandom(&sw->rng, sizeof(sw->rng), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(sw->rng))
		sw->rng = (uint64_t)(po_now_mono() * 1e9) ^ (uint64_t)getpid();
	return sw;
}

void
sampler_free(struct sampler *sw)
{
	if (sw == NULL)
		return;
	free(sw->add);
	free(sw->var);
	free(sw->gs);
	free(sw->seen);
	free(sw->sd);
	free(sw->sd2);
	free(sw->dw);
	free(sw->mark);
	free(sw->wlist);
	free(sw->hlist);
	free(sw->act);
	free(sw);
}

/* splitmix64 */
static uint64_t
rng_next(struct sampler *sw)
{
	uint64_t z = (sw->rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, m), m > 0: no modulo bias. */
static uint64_t
rng_below(struct sampler *sw, uint64_t m)
{
	uint64_t lim, r;

	if (m <= 1)
		return 0;
	lim = UINT64_MAX - UINT64_MAX % m;
	do
		r = rng_next(sw);
	while (r >= lim);
	return r % m;
}

/* The draw of n of nwin windows (positions): H strata of consecutive
 * windows, two at random in each (three in the last when n is odd; one when
 * there is one window). */
struct sample_stratum *
sampler_draw(struct sampler *sw, size_t n, size_t nwin, size_t *ret_h)
{
	struct sample_stratum *v;
	size_t h;

	if (n > nwin)
		n = nwin;
	h = n >= 2 ? n / 2 : 1;
	v = po_xcalloc(h, sizeof(*v));
	for (size_t i = 0; i < h; i++) {
		struct sample_stratum *x = &v[i];
		size_t size;

		x->lo = i * nwin / h;
		x->hi = (i + 1) * nwin / h;
		size = x->hi - x->lo;
		x->n = n < 2 ? 1 : i + 1 < h ? 2 : (unsigned)(n - 2 * (h - 1));
		for (unsigned k = 0; k < x->n; k++) {
			size_t w;
			bool dup;

			do {
				w = x->lo + (size_t)rng_below(sw, size);
				dup = false;
				for (unsigned j = 0; j < k; j++)
					dup |= x->pick[j] == w;
			} while (dup);
			x->pick[k] = w;
		}
	}
	*ret_h = h;
	return v;
}

/* Room in the per-series sums for series up to max (series come as windows
 * are read); what they hold is kept. */
static void
sample_reserve(struct sampler *sw, int64_t max)
{
	size_t old = (size_t)sw->ecap, n;

	if (max < sw->ecap)
		return;
	n = (size_t)max + 1024;
#define GROW(a) do {							\
		(a) = po_xrealloc((a), n, sizeof(*(a)));		\
		memset((a) + old, 0, (n - old) * sizeof(*(a)));		\
	} while (0)
	GROW(sw->add);
	GROW(sw->var);
	GROW(sw->gs);
	GROW(sw->seen);
	GROW(sw->sd);
	GROW(sw->sd2);
	GROW(sw->dw);
	GROW(sw->mark);
	GROW(sw->wlist);
	GROW(sw->hlist);
#undef GROW
	sw->ecap = (int64_t)n;
}

/* A new snapshot's estimate: nothing added yet. */
void
sampler_reset(struct sampler *sw, int64_t max)
{
	sample_reserve(sw, max);
	memset(sw->add, 0, (size_t)sw->ecap * sizeof(*sw->add));
	memset(sw->var, 0, (size_t)sw->ecap * sizeof(*sw->var));
	memset(sw->gs, 0, (size_t)sw->ecap * sizeof(*sw->gs));
	memset(sw->seen, 0, (size_t)sw->ecap * sizeof(*sw->seen));
	sw->nw = sw->nh = 0;
}

static void
touch(struct sampler *sw, int64_t s)
{
	if (!(sw->mark[s] & 1)) {
		sw->mark[s] |= 1;
		sw->wlist[sw->nw++] = s;
	}
}

/*
 * A window read this snapshot that was read before: its difference d = y - x
 * per series, y its values now (sw->wv), x its row from before (xb).  When
 * tally, into its stratum's sums.  *ret_grew: the largest growth of one
 * series in it (how active it is, for the next draw).
 */
int
sampler_window(struct sampler *sw, const struct store_blob *xb,
    const struct series_values *y, int64_t max, bool tally, double *ret_grew)
{
	double grew = 0;

	sample_reserve(sw, max);
	if (xb->len > 0) {
		struct pack_reader rd;
		int64_t f[WIN_FIELDS];
		uint32_t series;
		int r;

		if ((r = pack_reader_init(&rd, xb->p, xb->len, WIN_FIELDS)) < 0)
			return r;
		while ((r = pack_next(&rd, &series, f)) > 0)
			if ((int64_t)series <= max) {
				touch(sw, series);
				sw->dw[series] -= f[0];
			}
		pack_reader_free(&rd);
		if (r < 0) {
			for (size_t i = 0; i < sw->nw; i++) {
				sw->dw[sw->wlist[i]] = 0;
				sw->mark[sw->wlist[i]] &= (uint8_t)~1u;
			}
			sw->nw = 0;
			return r;
		}
	}
	for (int64_t s = 1; s <= max && s < y->cap; s++)
		if (y->pages[s] != 0) {
			touch(sw, s);
			sw->dw[s] += y->pages[s];
		}
	for (size_t i = 0; i < sw->nw; i++) {
		int64_t s = sw->wlist[i];
		double d = (double)sw->dw[s];

		if (d > grew)
			grew = d;
		sw->dw[s] = 0;
		sw->mark[s] &= (uint8_t)~1u;
		if (!tally) {
			sw->seen[s] += fabs(d);
			continue;
		}
		sw->sd[s] += d;
		sw->sd2[s] += d * d;
		if (!(sw->mark[s] & 2))
			sw->hlist[sw->nh++] = s;
		sw->mark[s] = 2;
	}
	sw->nw = 0;
	*ret_grew = grew;
	return 0;
}

/* The most pages one series holds in v. */
double
sampler_largest(const struct series_values *v, int64_t max)
{
	int64_t m = 0;

	for (int64_t s = 1; s <= max && s < v->cap; s++)
		if (v->pages[s] > m)
			m = v->pages[s];
	return (double)m;
}

/* How active window idx was at its last read (0: unknown, or quiet). */
static double
act_get(const struct sampler *sw, int64_t idx)
{
	size_t lo = 0, hi = sw->nact;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sw->act[mid].idx == idx)
			return sw->act[mid].rate;
		if (sw->act[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void
sampler_activity(struct sampler *sw, int64_t idx, double rate)
{
	size_t lo = 0, hi = sw->nact;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sw->act[mid].idx == idx) {
			sw->act[mid].rate = rate;
			return;
		}
		if (sw->act[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	sw->act = po_xrealloc(sw->act, sw->nact + 1, sizeof(*sw->act));
	memmove(&sw->act[lo + 1], &sw->act[lo], (sw->nact - lo) * sizeof(*sw->act));
	sw->act[lo] = (struct activity){ idx, rate };
	sw->nact++;
}

/* The most active first. */
static int
cmp_active(const void *a, const void *b, void *ud)
{
	const struct sampler *sw = ud;
	double x = act_get(sw, sw->first + (int64_t)*(const size_t *)a),
	    y = act_get(sw, sw->first + (int64_t)*(const size_t *)b);

	return x > y ? -1 : x < y;
}

/* A stratum's reads are in: into the estimate, and the sums of d and d^2
 * over every draw (the variance, pooled: sample_store). */
void
sampler_stratum(struct sampler *sw, const struct sample_stratum *x)
{
	double nh = x->read, big = (double)(x->hi - x->lo);

	for (size_t i = 0; i < sw->nh; i++) {
		int64_t s = sw->hlist[i];

		if (nh > 0)
			sw->add[s] += (big / nh - 1) * sw->sd[s];
		sw->gs[s] += sw->sd[s];
		sw->var[s] += sw->sd2[s];
		sw->sd[s] = sw->sd2[s] = 0;
		sw->mark[s] = 0;
	}
	sw->nh = 0;
}

/*
 * The estimate of every series: the picture v plus what the draws add.
 * Its variance is a simple random sample's of the n windows drawn among
 * the nr read before, N^2 (1 - n/N) s^2 / n with s^2 the variance of d over
 * all draws: pooled over the strata for more degrees of freedom than two
 * draws a stratum give, and no smaller where the strata differ; plus, for
 * a series that changed in the windows read for sure, that change squared
 * (a model's term, not the design's: a draw that saw no change has no
 * variance, however much changed in a window it missed).
 */
int
sampler_store(struct sampler *sw, struct store *st, const struct series_values *v,
    int64_t max, size_t n, size_t nr, const struct estimate_row *e)
{
	double dn = (double)n, dN = (double)nr;
	struct pack_writer w;
	uint8_t *blob = NULL;
	size_t len = 0;
	int r;

	pack_writer_init(&w, EST_FIELDS, 1u);	/* an estimate can be < 0 */
	for (int64_t s = 1; s <= max && s < v->cap && s < sw->ecap; s++) {
		double est = (double)v->pages[s] + sw->add[s], var = 0, se;
		int64_t f[EST_FIELDS];

		if (n >= 2 && dN > dn) {
			double s2 = (sw->var[s] - sw->gs[s] * sw->gs[s] / dn) / (dn - 1);

			if (s2 > 0)
				var = dN * dN * (1 - dn / dN) * s2 / dn;
		}
		/* what changed where it was read for sure may have changed as
		 * much where nothing was read (a leak moving on to new memory):
		 * no draw can see that, so its square is added */
		if (dN > dn)
			var += sw->seen[s] * sw->seen[s];
		se = sqrt(var);
		f[0] = llround(est * EST_SCALE);
		f[1] = llround(se * EST_SCALE);
		if (f[0] != 0 || f[1] != 0)
			pack_add(&w, (uint32_t)s, f);
	}
	pack_finish(&w, &blob, &len);
	r = store_estimate_put(st, e, blob, len);
	free(blob);
	return r;
}

/*
 * The windows read for sure, moved to the front of ridx (the positions, in
 * the span's nwin windows from idx first on, of the nr read before), the
 * rest after them in PFN order: by activity, each with its neighbours, at
 * most cap.  Returns how many.
 */
size_t
sampler_pick_sure(struct sampler *sw, int64_t first, size_t nwin, size_t *ridx, size_t nr,
    size_t cap)
{
	uint8_t *st = po_xcalloc(nwin, 1);	/* 1: read before, 2: picked */
	size_t *order = po_xcalloc(nr, sizeof(*order)), c = 0, k = 0;

	for (size_t i = 0; i < nr; i++)
		st[ridx[i]] = 1;
	memcpy(order, ridx, nr * sizeof(*order));
	sw->first = first;
	qsort_r(order, nr, sizeof(*order), cmp_active, sw);
	for (size_t i = 0; i < nr && c < cap; i++) {
		size_t p = order[i], near[3] = { p, p - 1, p + 1 };

		if (act_get(sw, first + (int64_t)p) <= 0)
			break;
		for (int j = 0; j < 3 && c < cap; j++)
			if (near[j] < nwin && st[near[j]] == 1) {
				st[near[j]] = 2;
				c++;
			}
	}
	/* the picked first, then the rest in PFN order */
	for (size_t i = 0; i < nwin; i++)
		if (st[i] == 2)
			ridx[k++] = i;
	for (size_t i = 0; i < nwin; i++)
		if (st[i] == 1)
			ridx[k++] = i;
	free(order);
	free(st);
	return c;
}

