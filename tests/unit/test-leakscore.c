/*
 * test-leakscore.c: the leak score and its guards (daemon/leakscore.c),
 * on synthetic histories that mix full reads and stacks reads.
 *
 * The module is pure, so it is included whole.  Every test states the
 * truth of its history (a leak, one big block, a churning cache) and
 * checks the verdict in every window the history allows, not in one
 * chosen window.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* the module is pure (no I/O, no other module): included whole, as chrony does */
#include "../../daemon/leakscore.c"	/* NOLINT(bugprone-suspicious-include) */

#define F	LEAK_READ_FULL
#define S	LEAK_READ_STACKS
#define MAXP	64

/* A history in the making: one point per snapshot. */
struct hist {
	struct leak_point v[MAXP];
	size_t		 n;
};

/* A full read of an order-`order` stack holding `pages`; merged with the
 * previous full read: alloc and freed since it. */
static void
add_full(struct hist *h, int64_t pages, int order, int64_t alloc, int64_t freed)
{
	assert_true(h->n < MAXP);
	h->v[h->n++] = (struct leak_point){ .read = F, .pages = pages,
	    .blocks = pages >> order, .merged = true, .alloc = alloc, .freed = freed };
}

/* A stacks read: pages only.  Its blocks field is set to nonsense on
 * purpose (the pages, as if they were order-0 blocks): it must be ignored. */
static void
add_stacks(struct hist *h, int64_t pages)
{
	assert_true(h->n < MAXP);
	h->v[h->n++] = (struct leak_point){ .read = S, .pages = pages, .blocks = pages,
	    .alloc = 12345, .freed = 0 };
}

/* The last full read at or before index i, or NULL. */
static const struct leak_point *
prior_full(const struct hist *h, size_t i)
{
	for (size_t k = i + 1; k-- > 0;)
		if (h->v[k].read == F)
			return &h->v[k];
	return NULL;
}

/*
 * The evidence of the window lo..hi (points lo..hi, hi - lo intervals),
 * as the daemon walks it: from the last full read before lo (the
 * context), then the window.
 */
static void
window(const struct hist *h, size_t lo, size_t hi, struct leak_evidence *e)
{
	const struct leak_point *pf = prior_full(h, lo);
	struct leak_acc a;

	if (pf != NULL && pf != &h->v[lo]) {
		leak_acc_context(&a, pf);
		for (const struct leak_point *p = pf + 1; p < &h->v[lo]; p++)
			leak_acc_add(&a, p);
		leak_acc_open(&a, &h->v[lo]);
	} else {
		leak_acc_start(&a, &h->v[lo], NULL);
	}
	for (size_t i = lo + 1; i <= hi; i++)
		leak_acc_add(&a, &h->v[i]);
	leak_judge(&a, e);
}

/* Auto mode's pattern: a full read every 10th snapshot, stacks reads between. */
static bool
is_full(size_t i)
{
	return i % 10 == 0;
}

/* ---- one big block ------------------------------------------------------ */

/*
 * khugepaged's collapse: one order-9 block (512 pages) appears between two
 * full reads and is held for good.  Stacks reads see 512 pages and nothing
 * else; the full reads after it see one block.  No window is a suspect.
 */
static void
test_one_big_block(void **state)
{
	struct hist h = { 0 };

	(void)state;
	for (size_t i = 0; i < 30; i++) {
		int64_t pages = i >= 3 ? 512 : 0;

		if (is_full(i))
			add_full(&h, pages, 9, i == 10 ? 512 : 0, 0);
		else
			add_stacks(&h, pages);
	}
	for (size_t lo = 0; lo < h.n; lo++)
		for (size_t hi = lo + 1; hi < h.n; hi++) {
			struct leak_evidence e;

			window(&h, lo, hi, &e);
			if (e.suspect)
				fail_msg("window %zu..%zu: one 512-page block is a suspect "
				    "(z %.1f, blocks %.1f)", lo, hi, e.significance,
				    e.net_blocks);
			if (e.net_pages > 0)
				assert_true(e.net_blocks <= 1.0);
		}
}

/* The same block, but the window holds no full read that saw it: the
 * order is unknown, and the page counts still say "one block at most". */
static void
test_one_big_block_stacks_only(void **state)
{
	struct hist h = { 0 };
	struct leak_evidence e;

	(void)state;
	add_full(&h, 0, 0, 0, 0);
	for (int i = 0; i < 8; i++)
		add_stacks(&h, i >= 2 ? 512 : 0);
	window(&h, 0, h.n - 1, &e);
	assert_false(e.suspect);
	assert_false(e.order_known);
	assert_true(e.pages_per_block == 512.0);
	assert_true(e.net_blocks == 1.0);
	assert_true(e.significance < LEAK_MIN_SIGNIFICANCE);
	/* a second block much later: two, still no suspect */
	add_stacks(&h, 1024);
	window(&h, 0, h.n - 1, &e);
	assert_false(e.suspect);
	assert_true(e.net_blocks == 2.0);
}

/* ---- rise and fall ------------------------------------------------------- */

/*
 * A cache that allocates and gives back: a churn of N pages freed before
 * the next allocation, sampled at odd moments (some reads see it held,
 * some not), and a wave that rises for a while and falls back.  Neither
 * is a suspect in any window, whatever the reads' kinds.
 */
static void
test_rise_and_fall(void **state)
{
	static const int64_t churn[] = { 0, 800, 0, 0, 800, 0, 800, 800, 0, 800, 0, 0,
	    800, 0, 800, 0, 0, 800, 800, 0, 800, 0, 0, 800, 0 };
	static const int64_t wave[] = { 100, 400, 700, 1000, 600, 200, 100, 500, 900,
	    1300, 700, 300, 100, 400, 800, 1100, 500, 100, 100, 600, 1000, 400, 100 };
	const int64_t *shapes[] = { churn, wave };
	size_t lens[] = { PO_ARRAY_SIZE(churn), PO_ARRAY_SIZE(wave) };

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct hist h = { 0 };

		for (size_t i = 0; i < lens[k]; i++) {
			int64_t v = shapes[k][i], prev = i ? shapes[k][i - 1] : v;

			if (is_full(i))	/* the merge saw what came and went */
				add_full(&h, v, 0, v > prev ? v - prev + 800 : 800,
				    v < prev ? prev - v + 800 : 800);
			else
				add_stacks(&h, v);
		}
		for (size_t lo = 0; lo < h.n; lo++)
			for (size_t hi = lo + 1; hi < h.n; hi++) {
				struct leak_evidence e;

				window(&h, lo, hi, &e);
				/* a window on the wave's rising flank sees a
				 * steady grower: only windows in which it gave
				 * back at least half of what it took count */
				if (k == 1 && e.fell * 2 < e.rose)
					continue;
				if (e.suspect)
					fail_msg("%s, window %zu..%zu: a suspect (s %.2f, "
					    "r %.2f, z %.1f, grew %jd)", k ? "wave" : "churn",
					    lo, hi, e.steadiness, e.retention, e.significance,
					    (intmax_t)e.grew);
			}
	}
}

/* A churn of a fixed N can only rise once before it falls: in a window
 * of two intervals 0 -> N -> N is one rise, never two, so never a suspect. */
static void
test_single_rise_is_not_steady(void **state)
{
	struct hist h = { 0 };
	struct leak_evidence e;

	(void)state;
	add_full(&h, 0, 0, 0, 0);
	add_stacks(&h, 800);
	add_stacks(&h, 800);
	window(&h, 0, 2, &e);
	assert_false(e.suspect);
	assert_int_equal(e.grew, 1);
	assert_true(e.steadiness == 1.0);
}

/*
 * A churn of N pages held for a second every two seconds, read by stacks
 * reads at 0 or N, and by a full read that takes seconds: its PFN walk
 * meets some of the batch held and some not, and counts part of it.  So
 * 0 -> part -> N rises twice in a row, in a window without two full
 * reads.  What the reads saw since the last full read before the window
 * (N up and down, again and again) says it gives everything back.
 */
static void
test_churn_smeared_by_a_full_read(void **state)
{
	static const int64_t seen[] = { 0, 400, 0, 0, 400, 0, 400, 0, 0 };
	struct hist h = { 0 };
	struct leak_evidence e;

	(void)state;
	add_full(&h, 0, 0, 0, 0);
	for (size_t i = 0; i < PO_ARRAY_SIZE(seen); i++)
		add_stacks(&h, seen[i]);
	add_full(&h, 170, 0, 170, 0);	/* the smeared full read */
	add_stacks(&h, 400);
	add_stacks(&h, 400);
	for (size_t lo = 1; lo < h.n; lo++)
		for (size_t hi = lo + 2; hi < h.n; hi++) {
			window(&h, lo, hi, &e);
			if (e.suspect)
				fail_msg("window %zu..%zu: the churn is a suspect (grew %jd, "
				    "r %.2f)", lo, hi, (intmax_t)e.grew, e.retention);
		}
	window(&h, 9, 12, &e);
	assert_int_equal(e.grew, 2);
	assert_int_equal(e.shrank, 0);
	assert_false(e.freed_known);
	assert_true(e.ctx_fell >= 1200);
	/* without its context, the same window would look like a leak: the
	 * context is what keeps it out, not a guard that would hide a leak */
	leak_score_points(&h.v[9], 4, NULL, &e);
	assert_true(e.suspect);
}

/* A leak's context holds no fall: it stays a suspect in every window. */
static void
test_context_keeps_a_leak(void **state)
{
	struct hist h = { 0 };

	(void)state;
	add_full(&h, 100, 0, 0, 0);
	for (int i = 1; i < 15; i++)
		add_stacks(&h, 100 + 300 * i);
	for (size_t lo = 1; lo < h.n; lo++)
		for (size_t hi = lo + 2; hi < h.n; hi++) {
			struct leak_evidence e;

			window(&h, lo, hi, &e);
			if (!e.suspect)
				fail_msg("window %zu..%zu: %s", lo, hi, e.why_not);
			assert_true(e.retention == 1.0);
		}
}

/* ---- the steady grower --------------------------------------------------- */

/*
 * 40 order-0 pages every 2 s, read every 11-30 s: each interval adds
 * 200-600 pages.  Every window of two or more intervals names it, whether
 * its points are full or stacks reads, with or without a full read in
 * the window.
 */
static void
test_steady_grower(void **state)
{
	static const int64_t step[] = { 240, 560, 400, 200, 320, 600, 440, 280, 360,
	    520, 240, 480, 200, 400, 560, 320, 240, 600, 280, 440, 360, 200, 520,
	    400, 480, 240, 320, 560, 200, 440 };
	struct hist h = { 0 };
	int64_t pages = 2000, prev_full = 2000;
	size_t windows = 0;

	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(step); i++) {
		if (i > 0)
			pages += step[i];
		if (is_full(i)) {
			add_full(&h, pages, 0, pages - prev_full + 40, 40);
			prev_full = pages;
		} else {
			add_stacks(&h, pages);
		}
	}
	for (size_t lo = 0; lo < h.n; lo++)
		for (size_t hi = lo + 2; hi < h.n; hi++) {
			struct leak_evidence e;

			window(&h, lo, hi, &e);
			if (!e.suspect)
				fail_msg("window %zu..%zu: the steady grower is no suspect "
				    "(%s; s %.2f, r %.2f, z %.1f)", lo, hi, e.why_not,
				    e.steadiness, e.retention, e.significance);
			assert_int_equal(e.grew, (int64_t)(hi - lo));
			windows++;
		}
	assert_true(windows > 300);
}

/* The same leak seen only by stacks reads, its order never measured: the
 * page counts bound the block size (steps of 40 pages: at most 8 pages a
 * block), and two intervals are still enough. */
static void
test_steady_grower_unknown_order(void **state)
{
	struct hist h = { 0 };

	(void)state;
	add_full(&h, 0, 0, 0, 0);	/* before the module loaded */
	for (int i = 1; i < 12; i++)
		add_stacks(&h, 200 + 240 * i + (i % 3) * 40);
	for (size_t lo = 1; lo < h.n; lo++)
		for (size_t hi = lo + 2; hi < h.n; hi++) {
			struct leak_evidence e;

			window(&h, lo, hi, &e);
			assert_false(e.order_known);
			assert_true(e.pages_per_block <= 8.0);
			if (!e.suspect)
				fail_msg("window %zu..%zu: %s", lo, hi, e.why_not);
		}
}

/* ---- what is known, and from which read ---------------------------------- */

/* FREED/ALLOC: known only across two full reads of the window. */
static void
test_freed_unknown_without_two_full_reads(void **state)
{
	struct hist h = { 0 };
	struct leak_evidence e;

	(void)state;
	for (size_t i = 0; i < 21; i++) {
		if (is_full(i))
			add_full(&h, 1000 + 100 * (int64_t)i, 0, 1500, 500);
		else
			add_stacks(&h, 1000 + 100 * (int64_t)i);
	}
	/* stacks reads only */
	window(&h, 2, 8, &e);
	assert_false(e.freed_known);
	assert_true(isnan(e.freed_ratio));
	/* one full read at the end: its merge reaches back before the window */
	window(&h, 2, 10, &e);
	assert_false(e.freed_known);
	assert_true(isnan(e.freed_ratio));
	/* one full read at the start, none after */
	window(&h, 10, 19, &e);
	assert_false(e.freed_known);
	/* two: the second one's merge is wholly inside */
	window(&h, 0, 10, &e);
	assert_true(e.freed_known);
	assert_int_equal(e.alloc, 1500);
	assert_int_equal(e.freed, 500);
	assert_true(fabs(e.freed_ratio - 1.0 / 3.0) < 1e-9);
	window(&h, 5, 20, &e);
	assert_true(e.freed_known);
	assert_int_equal(e.alloc, 1500);
}

/*
 * Unknown is never evidence: a stack that rose by 1,000 and fell by 900
 * between stacks reads has freed at least 900, whatever the unknown
 * allocator count; its retention is what was seen (0.1), not 1, and it
 * is no suspect.  The same history with a full read pair that measured
 * no free at all scores higher than the unknown one.
 */
static void
test_unknown_is_not_evidence(void **state)
{
	struct hist h = { 0 };
	struct leak_evidence unknown, known;

	(void)state;
	add_full(&h, 0, 0, 0, 0);
	add_stacks(&h, 500);
	add_stacks(&h, 1000);
	add_stacks(&h, 100);
	add_stacks(&h, 600);
	add_stacks(&h, 100);
	window(&h, 1, 5, &unknown);
	assert_false(unknown.freed_known);
	assert_true(unknown.retention < LEAK_MIN_RETENTION);
	assert_false(unknown.suspect);

	memset(&h, 0, sizeof(h));
	add_full(&h, 0, 0, 0, 0);
	for (int i = 1; i < 6; i++)
		add_stacks(&h, 100 * (int64_t)i);
	window(&h, 1, 5, &unknown);
	add_full(&h, 600, 0, 600, 0);
	window(&h, 0, 6, &known);
	assert_false(unknown.freed_known);
	assert_true(known.freed_known);
	assert_true(known.retention == 1.0);
	assert_true(unknown.retention <= known.retention);
}

/* Blocks come from full reads only: a stacks read's block figure is not
 * a measurement, and the order of the last full read holds. */
static void
test_blocks_only_from_full_reads(void **state)
{
	struct hist h = { 0 };
	struct leak_evidence e;

	(void)state;
	add_full(&h, 1024, 9, 0, 0);	/* two order-9 blocks */
	add_stacks(&h, 1536);
	add_stacks(&h, 2048);
	add_stacks(&h, 2560);
	window(&h, 0, 3, &e);
	assert_true(e.order_known);
	assert_true(e.pages_per_block == 512.0);
	assert_true(e.net_blocks == 3.0);
	assert_false(e.suspect);	/* 3 blocks: within chance */
	/* a window starting at a stacks read keeps the full read's order */
	window(&h, 1, 3, &e);
	assert_true(e.pages_per_block == 512.0);
	assert_true(e.net_blocks == 2.0);
}

/* Steadiness and growth measured by stacks reads count as much as by full
 * reads: the same values give the same evidence whatever read took them. */
static void
test_stacks_reads_count(void **state)
{
	static const int64_t v[] = { 1000, 1300, 1500, 1500, 1900, 2300, 2200, 2600 };
	struct hist a = { 0 }, b = { 0 };
	struct leak_evidence ea, eb;

	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(v); i++) {
		add_full(&a, v[i], 0, 0, 0);
		a.v[a.n - 1].merged = false;
		if (i == 0)
			add_full(&b, v[i], 0, 0, 0);
		else
			add_stacks(&b, v[i]);
	}
	window(&a, 0, a.n - 1, &ea);
	window(&b, 0, b.n - 1, &eb);
	assert_int_equal(ea.grew, 5);
	assert_int_equal(ea.shrank, 1);
	assert_int_equal(eb.grew, ea.grew);
	assert_int_equal(eb.shrank, ea.shrank);
	assert_int_equal(eb.net_pages, 1600);
	assert_true(eb.steadiness == ea.steadiness);
	assert_true(eb.significance == ea.significance);
	assert_true(eb.suspect);
	assert_true(ea.suspect);
	/* leaving out stacks points equal to the last one changes nothing */
	{
		struct leak_acc acc;
		struct leak_evidence ec;

		leak_acc_start(&acc, &b.v[0], NULL);
		for (size_t i = 1; i < b.n; i++)
			if (b.v[i].pages != b.v[i - 1].pages)
				leak_acc_add(&acc, &b.v[i]);
		leak_judge(&acc, &ec);
		assert_true(ec.score == eb.score);
		assert_int_equal(ec.grew, eb.grew);
	}
}

/* A new boot: no change crosses it. */
static void
test_reset(void **state)
{
	struct hist h = { 0 };
	struct leak_evidence e;

	(void)state;
	add_full(&h, 5000, 0, 0, 0);
	add_stacks(&h, 5200);
	add_full(&h, 100, 0, 0, 0);
	h.v[h.n - 1].reset = true;
	add_stacks(&h, 300);
	add_stacks(&h, 500);
	window(&h, 0, 4, &e);
	assert_int_equal(e.net_pages, 600);
	assert_int_equal(e.shrank, 0);
	assert_false(e.freed_known);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_big_block),
		cmocka_unit_test(test_one_big_block_stacks_only),
		cmocka_unit_test(test_rise_and_fall),
		cmocka_unit_test(test_single_rise_is_not_steady),
		cmocka_unit_test(test_churn_smeared_by_a_full_read),
		cmocka_unit_test(test_context_keeps_a_leak),
		cmocka_unit_test(test_steady_grower),
		cmocka_unit_test(test_steady_grower_unknown_order),
		cmocka_unit_test(test_freed_unknown_without_two_full_reads),
		cmocka_unit_test(test_unknown_is_not_evidence),
		cmocka_unit_test(test_blocks_only_from_full_reads),
		cmocka_unit_test(test_stacks_reads_count),
		cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
