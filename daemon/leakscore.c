/*
 * leakscore.c: the leak score and its guards, on what was measured.
 *
 * Pure: no SQL, no I/O, no allocation.  A stack's (or a group's) history
 * over a window is fed in as points, each tagged with the kind of read
 * that measured it, and comes out as a score, a verdict and the evidence.
 *
 * What each kind of read measures:
 *   full read    pages, blocks (hence the order), and, when its identities
 *                were merged with the previous full read's, the pages
 *                allocated and freed since that read;
 *   stacks read  pages only.  Its block count is not a measurement: a
 *                stack keeps the blocks (and the pages per block) of its
 *                last full read.
 * So:
 *   - allocated and freed are known for a window only from full reads
 *     whose previous full read lies in the window too (two full reads);
 *     otherwise they are unknown, and unknown is never evidence;
 *   - pages falling between two reads of any kind are frees that were
 *     seen (a lower bound), pages rising are allocations that were seen;
 *     their ratio is the "visible" retention, used where the real one is
 *     unknown;
 *   - pages per block come from the last full read that saw the stack
 *     hold blocks; a stack no full read has seen gets the largest block
 *     size its page counts allow: the largest power of two (at most
 *     2^LEAK_MAX_ORDER) dividing every page count and change seen, which
 *     counts as few blocks as the figures allow.  One 512-page block is
 *     then one block, never 512.
 *
 * The score (documented in pageownerctl(1) and `help leaks`):
 *   steadiness s = intervals that grew / intervals that changed
 *   retention  r = 1 - freed / allocated (full reads), else
 *                  1 - pages seen falling / pages seen rising, since the
 *                  last full read before the window (leak_acc_context)
 *   significance z = net growth in blocks / sqrt(block events), events
 *                  being at least the net growth, the allocations and
 *                  frees measured, and the rises and falls seen
 *   score = net growth in pages x s^2 x r^2
 * A suspect grew (net > 0) in at least two intervals, steadily
 * (s >= 0.75), kept most of what it allocated (r > 0.5) and grew beyond
 * chance (z >= 4, so at least 16 blocks with no frees), and holds at least
 * two blocks of growth: a single block, whatever its order, never is.
 */
#include <math.h>
#include <string.h>

#include "page-ownerd.h"

static int64_t
gcd64(int64_t a, int64_t b)
{
	if (a < 0)
		a = -a;
	if (b < 0)
		b = -b;
	while (b != 0) {
		int64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * The context: from the last full read before the window up to its start.
 * Its rises and falls say whether the stack gives back what it takes,
 * where the window alone cannot (no two full reads in it): the full read
 * that ends such a window measured its allocations and frees from that
 * same earlier read, so the span is the one the identities would cover.
 * Nothing else of the context counts: growth, steadiness and measured
 * frees are the window's.
 */
void
leak_acc_context(struct leak_acc *a, const struct leak_point *prior_full)
{
	memset(a, 0, sizeof(*a));
	a->pages = prior_full->pages;
	a->blocks = prior_full->blocks;
	a->full_pages = prior_full->pages;
	a->full_blocks = prior_full->blocks;
	a->sizes = gcd64(0, prior_full->pages);
	a->started = true;
}

/* The window's first point (after leak_acc_context, or alone). */
void
leak_acc_open(struct leak_acc *a, const struct leak_point *start)
{
	if (!a->started)
		memset(a, 0, sizeof(*a));
	else if (!start->reset && start->pages > a->pages)
		a->ctx_rose += start->pages - a->pages;
	else if (!start->reset && start->pages < a->pages)
		a->ctx_fell += a->pages - start->pages;
	a->pages = start->pages;
	a->blocks = start->read == LEAK_READ_FULL ? start->blocks : a->blocks;
	a->sizes = gcd64(a->sizes, start->pages);
	if (start->read == LEAK_READ_FULL) {
		a->full_pages = start->pages;
		a->full_blocks = start->blocks;
	}
	a->full_in_window = start->read == LEAK_READ_FULL;
	a->in_window = true;
	a->started = true;
}

void
leak_acc_start(struct leak_acc *a, const struct leak_point *start,
    const struct leak_point *prior_full)
{
	memset(a, 0, sizeof(*a));
	if (prior_full != NULL && start->read != LEAK_READ_FULL)
		leak_acc_context(a, prior_full);
	leak_acc_open(a, start);
}

void
leak_acc_add(struct leak_acc *a, const struct leak_point *p)
{
	int64_t d = p->pages - a->pages;

	if (p->reset) {
		/* a new boot: no change crosses it, no merge either */
		a->pages = p->pages;
		a->blocks = p->read == LEAK_READ_FULL ? p->blocks : 0;
		a->full_in_window = a->in_window && p->read == LEAK_READ_FULL;
		if (p->read == LEAK_READ_FULL) {
			a->full_pages = p->pages;
			a->full_blocks = p->blocks;
		}
		a->sizes = gcd64(a->sizes, p->pages);
		return;
	}
	a->sizes = gcd64(a->sizes, d);
	a->pages = p->pages;
	if (!a->in_window) {
		if (d > 0)
			a->ctx_rose += d;
		else
			a->ctx_fell -= d;
		if (p->read == LEAK_READ_FULL) {
			a->blocks = p->blocks;
			a->full_pages = p->pages;
			a->full_blocks = p->blocks;
			a->sizes = gcd64(a->sizes, p->pages);
		}
		return;
	}
	if (d > 0) {
		a->grew++;
		a->rose += d;
	} else if (d < 0) {
		a->shrank++;
		a->fell -= d;
	}
	a->net += d;
	if (p->read != LEAK_READ_FULL)
		return;
	a->blocks = p->blocks;
	a->full_pages = p->pages;
	a->full_blocks = p->blocks;
	a->sizes = gcd64(a->sizes, p->pages);
	if (p->merged && a->full_in_window) {
		a->alloc += p->alloc;
		a->freed += p->freed;
		a->merges++;
	}
	a->full_in_window = true;
}

void
leak_acc_add_span(struct leak_acc *a, int64_t d_pages, int64_t grew, int64_t shrank,
    int64_t alloc, int64_t freed, int64_t full_reads)
{
	a->pages += d_pages;
	if (!a->in_window) {
		if (d_pages > 0)
			a->ctx_rose += d_pages;
		else
			a->ctx_fell -= d_pages;
		return;
	}
	a->grew += grew;
	a->shrank += shrank;
	if (d_pages > 0)
		a->rose += d_pages;
	else
		a->fell -= d_pages;
	a->net += d_pages;
	a->sizes = gcd64(a->sizes, d_pages);
	if (full_reads <= 0)
		return;
	/* a rollup holding full reads: only merges after a full read in the
	 * window count, and where in the span the first one fell is lost */
	if (a->full_in_window && (alloc > 0 || freed > 0)) {
		a->alloc += alloc;
		a->freed += freed;
		a->merges++;
	}
	a->full_in_window = true;
	a->full_pages = a->pages;
	a->full_blocks = a->blocks;
}

/* The largest power of two dividing n, at most 2^LEAK_MAX_ORDER; 1 for 0. */
static double
block_size_bound(int64_t n)
{
	int64_t b = 1;

	if (n <= 0)
		return 1;
	while ((n & b) == 0 && b < ((int64_t)1 << LEAK_MAX_ORDER))
		b <<= 1;
	return (double)b;
}

void
leak_judge(const struct leak_acc *a, struct leak_evidence *ret)
{
	struct leak_evidence e;
	int64_t changed = a->grew + a->shrank;
	double events;

	memset(&e, 0, sizeof(e));
	e.net_pages = a->net;
	e.grew = a->grew;
	e.shrank = a->shrank;
	e.steadiness = changed ? (double)a->grew / (double)changed : 0;
	e.rose = a->rose;
	e.fell = a->fell;
	e.ctx_rose = a->ctx_rose;
	e.ctx_fell = a->ctx_fell;
	/* seen: in the window, and where frees were not measured, since the
	 * last full read before it (leak_acc_context) */
	if (a->merges > 0)
		e.visible_retention = a->rose > 0 ?
		    1.0 - (double)a->fell / (double)a->rose : 1.0;
	else
		e.visible_retention = a->rose + a->ctx_rose > 0 ? 1.0 -
		    (double)(a->fell + a->ctx_fell) / (double)(a->rose + a->ctx_rose) : 1.0;
	if (e.visible_retention < 0)
		e.visible_retention = 0;
	e.freed_known = a->merges > 0;
	e.alloc = e.freed_known ? a->alloc : 0;
	e.freed = e.freed_known ? a->freed : 0;
	if (!e.freed_known)
		e.freed_ratio = NAN;
	else
		e.freed_ratio = a->alloc > 0 ? (double)a->freed / (double)a->alloc : 0;
	if (e.freed_known && a->alloc > 0)
		e.retention = 1.0 - e.freed_ratio;
	else if (e.freed_known)
		e.retention = a->freed > 0 ? 0 : 1;
	else
		e.retention = e.visible_retention;
	if (e.retention < 0)
		e.retention = 0;
	e.order_known = a->full_blocks > 0 && a->full_pages > 0;
	e.pages_per_block = e.order_known ?
	    (double)a->full_pages / (double)a->full_blocks : block_size_bound(a->sizes);
	if (e.pages_per_block < 1)
		e.pages_per_block = 1;
	e.net_blocks = a->net > 0 ? (double)a->net / e.pages_per_block : 0;
	events = (double)a->net;
	if (e.freed_known && (double)(a->alloc + a->freed) > events)
		events = (double)(a->alloc + a->freed);
	if ((double)(a->rose + a->fell) > events)
		events = (double)(a->rose + a->fell);
	if (a->net > 0 && events > 0)
		e.significance = e.net_blocks / sqrt(events / e.pages_per_block);
	e.score = a->net > 0 ? (double)a->net * e.steadiness * e.steadiness *
	    e.retention * e.retention : 0;
	if (a->net <= 0)
		e.why_not = "no net growth";
	else if (a->grew < 2)
		e.why_not = "grew in fewer than two intervals";
	else if (e.steadiness < LEAK_MIN_STEADINESS)
		e.why_not = "not steady";
	else if (e.retention <= LEAK_MIN_RETENTION)
		e.why_not = "frees most of what it allocates";
	else if (e.net_blocks < 2)
		e.why_not = "fewer than two blocks of growth";
	else if (e.significance < LEAK_MIN_SIGNIFICANCE)
		e.why_not = "growth within chance";
	e.suspect = e.why_not == NULL;
	*ret = e;
}

void
leak_score_points(const struct leak_point *v, size_t n, const struct leak_point *prior_full,
    struct leak_evidence *ret)
{
	struct leak_acc a;

	if (n == 0) {
		struct leak_point none = { .read = LEAK_READ_STACKS };

		leak_acc_start(&a, &none, NULL);
	} else {
		leak_acc_start(&a, &v[0], prior_full);
		for (size_t i = 1; i < n; i++)
			leak_acc_add(&a, &v[i]);
	}
	leak_judge(&a, ret);
}
