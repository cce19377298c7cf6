/*
 * test-ident.c: block identities and the two-dump merge (lib/ident.c).
 *
 * The merge must account every old block once (matched or freed) and every
 * new block once (matched or allocated), so that per group allocated -
 * freed = net change, whatever the input; it must say when either side
 * went backwards in PFN; and its file format must read back what it wrote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tu.h"

/* ---- file format ---------------------------------------------------------- */

static void
test_round_trip(void **state)
{
	static struct po_ident v[1000];
	FILE *f = tmpfile();
	struct po_ident got;
	uint64_t seed = 99;

	(void)state;
	assert_non_null(f);
	for (size_t i = 0; i < PO_ARRAY_SIZE(v); i++) {
		v[i].pfn = tu_rand(&seed) & ((UINT64_C(1) << 56) - 1);
		v[i].hash = (uint32_t)tu_rand(&seed);
		v[i].ref = (uint32_t)tu_rand(&seed);
		v[i].order = (uint8_t)(tu_rand(&seed) % 11);
	}
	v[0].pfn = (UINT64_C(1) << 56) - 1;	/* the largest PFN kept */
	v[1].order = 255;
	v[2] = (struct po_ident){ 0, 0, 0, 0 };
	for (size_t i = 0; i < PO_ARRAY_SIZE(v); i++)
		assert_int_equal(po_ident_write(f, &v[i]), 0);
	assert_int_equal(ftell(f), 1000 * 16);	/* 16 bytes a block (po.h) */
	rewind(f);
	for (size_t i = 0; i < PO_ARRAY_SIZE(v); i++) {
		memset(&got, 0xa5, sizeof(got));
		assert_int_equal(po_ident_read(f, &got), 1);
		assert_true(got.pfn == v[i].pfn);
		assert_int_equal(got.hash, v[i].hash);
		assert_int_equal(got.ref, v[i].ref);
		assert_int_equal(got.order, v[i].order);
	}
	assert_int_equal(po_ident_read(f, &got), 0);
	assert_int_equal(po_ident_read(f, &got), 0);
	fclose(f);
}

static void
test_bad_files(void **state)
{
	struct po_ident e = { 5, 6, 7, 1 }, got;
	FILE *f = tmpfile();

	(void)state;
	/* a cut identity is a bad file, not the end */
	assert_non_null(f);
	assert_int_equal(po_ident_write(f, &e), 0);
	assert_int_equal(fwrite("abc", 1, 3, f), 3);
	rewind(f);
	assert_int_equal(po_ident_read(f, &got), 1);
	assert_int_equal(po_ident_read(f, &got), -EBADMSG);
	fclose(f);

	/* a stream that cannot be read */
	f = fopen("/dev/null", "w");
	assert_non_null(f);
	assert_int_equal(po_ident_read(f, &got), -EIO);
	fclose(f);

	/* a full disk */
	f = fopen("/dev/full", "w");
	if (f != NULL) {
		setvbuf(f, NULL, _IONBF, 0);
		assert_int_equal(po_ident_write(f, &e), -ENOSPC);
		fclose(f);
	}
}

/* ---- merge ------------------------------------------------------------------ */

#define NREF 8

struct acct {
	int64_t		alloc_pages[NREF];
	int64_t		freed_pages[NREF];
	uint64_t	nalloc;
	uint64_t	nfreed;
	struct tu_buf	log;	/* "+pfn" / "-pfn" in call order */
};

static void
on_freed(const struct po_ident *e, void *userdata)
{
	struct acct *a = userdata;

	assert_true(e->ref < NREF);
	a->freed_pages[e->ref] += INT64_C(1) << e->order;
	a->nfreed++;
	tu_buf_printf(&a->log, "-%" PRIu64 " ", e->pfn);
}

static void
on_allocated(const struct po_ident *e, void *userdata)
{
	struct acct *a = userdata;

	assert_true(e->ref < NREF);
	a->alloc_pages[e->ref] += INT64_C(1) << e->order;
	a->nalloc++;
	tu_buf_printf(&a->log, "+%" PRIu64 " ", e->pfn);
}

static FILE *
ident_file(const struct po_ident *v, size_t n)
{
	FILE *f = tmpfile();

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(po_ident_write(f, &v[i]), 0);
	rewind(f);
	return f;
}

/*
 * By hand: old 10 and 40 come back unchanged (matched); 20 comes back with
 * another hash (a new allocation at the same PFN: freed + allocated); 30
 * is gone (freed); 25 and 50 are new (allocated).
 */
static void
test_merge_by_hand(void **state)
{
	static const struct po_ident old[] = {
		{ 10, 0x111, 0, 0 }, { 20, 0x222, 1, 1 }, { 30, 0x333, 0, 0 },
		{ 40, 0x444, 2, 2 },
	};
	static const struct po_ident cur[] = {
		{ 10, 0x111, 0, 0 }, { 20, 0x999, 3, 0 }, { 25, 0x555, 0, 3 },
		{ 40, 0x444, 2, 2 }, { 50, 0x666, 2, 0 },
	};
	struct acct a = { { 0 }, { 0 }, 0, 0, { 0 } };
	struct po_ident_merge m;
	FILE *f = ident_file(old, PO_ARRAY_SIZE(old));

	(void)state;
	po_ident_merge_init(&m, f, on_freed, on_allocated, &a);
	for (size_t i = 0; i < PO_ARRAY_SIZE(cur); i++)
		po_ident_merge_add(&m, &cur[i]);
	assert_int_equal(po_ident_merge_finish(&m), 0);
	assert_false(m.unsorted);
	assert_int_equal(m.matched, 2);
	assert_string_equal(a.log.p, "-20 +20 +25 -30 +50 ");
	/* ref 0: +8 (25) -1 (30); ref 1: -2 (old 20); ref 2: +1 (50); ref 3: +1 */
	assert_int_equal(a.alloc_pages[0], 8);
	assert_int_equal(a.freed_pages[0], 1);
	assert_int_equal(a.freed_pages[1], 2);
	assert_int_equal(a.alloc_pages[1], 0);
	assert_int_equal(a.alloc_pages[2], 1);
	assert_int_equal(a.freed_pages[2], 0);
	assert_int_equal(a.alloc_pages[3], 1);
	fclose(f);
	free(a.log.p);
}

/* A block whose group or order changed is not the same block. */
static void
test_merge_same_pfn_changes(void **state)
{
	static const struct po_ident old[] = {
		{ 1, 7, 0, 0 }, { 2, 7, 0, 0 }, { 3, 7, 0, 0 },
	};
	static const struct po_ident cur[] = {
		{ 1, 7, 0, 0 }, { 2, 7, 1, 0 }, { 3, 7, 0, 1 },
	};
	struct acct a = { { 0 }, { 0 }, 0, 0, { 0 } };
	struct po_ident_merge m;
	FILE *f = ident_file(old, 3);

	(void)state;
	po_ident_merge_init(&m, f, on_freed, on_allocated, &a);
	m.match_ref = true;	/* one grouping for both dumps */
	for (size_t i = 0; i < 3; i++)
		po_ident_merge_add(&m, &cur[i]);
	assert_int_equal(po_ident_merge_finish(&m), 0);
	assert_int_equal(m.matched, 1);
	assert_int_equal(a.nfreed, 2);
	assert_int_equal(a.nalloc, 2);
	assert_string_equal(a.log.p, "-2 +2 -3 +3 ");
	free(a.log.p);

	/* refs of two different groupings do not compare: only the order */
	memset(&a, 0, sizeof(a));
	rewind(f);
	po_ident_merge_init(&m, f, on_freed, on_allocated, &a);
	assert_false(m.match_ref);
	for (size_t i = 0; i < 3; i++)
		po_ident_merge_add(&m, &cur[i]);
	assert_int_equal(po_ident_merge_finish(&m), 0);
	assert_int_equal(m.matched, 2);
	assert_string_equal(a.log.p, "-3 +3 ");
	fclose(f);
	free(a.log.p);
}

static void
test_merge_no_prev(void **state)
{
	static const struct po_ident cur[] = { { 1, 1, 0, 0 }, { 2, 1, 0, 4 } };
	struct acct a = { { 0 }, { 0 }, 0, 0, { 0 } };
	struct po_ident_merge m;

	(void)state;
	po_ident_merge_init(&m, NULL, on_freed, on_allocated, &a);
	po_ident_merge_add(&m, &cur[0]);
	po_ident_merge_add(&m, &cur[1]);
	assert_int_equal(po_ident_merge_finish(&m), 0);
	assert_int_equal(a.nalloc, 2);
	assert_int_equal(a.alloc_pages[0], 17);
	assert_int_equal(a.nfreed, 0);
	assert_int_equal(m.matched, 0);

	/* an empty new dump frees everything */
	{
		FILE *f = ident_file(cur, 2);
		struct acct b = { { 0 }, { 0 }, 0, 0, { 0 } };

		po_ident_merge_init(&m, f, on_freed, on_allocated, &b);
		assert_int_equal(po_ident_merge_finish(&m), 0);
		assert_int_equal(b.freed_pages[0], 17);
		assert_int_equal(b.nalloc, 0);
		fclose(f);
		free(b.log.p);
	}
	free(a.log.p);
}

static void
test_merge_unsorted(void **state)
{
	static const struct po_ident sorted[] = { { 1, 1, 0, 0 }, { 5, 1, 0, 0 } };
	static const struct po_ident back[] = { { 5, 1, 0, 0 }, { 1, 1, 0, 0 } };
	static const struct po_ident same[] = { { 5, 1, 0, 0 }, { 5, 2, 0, 0 } };
	struct po_ident_merge m;
	struct acct a = { { 0 }, { 0 }, 0, 0, { 0 } };
	FILE *f;

	(void)state;
	/* new side backwards */
	f = ident_file(sorted, 2);
	po_ident_merge_init(&m, f, on_freed, on_allocated, &a);
	po_ident_merge_add(&m, &back[0]);
	po_ident_merge_add(&m, &back[1]);
	assert_int_equal(po_ident_merge_finish(&m), 0);
	assert_true(m.unsorted);
	fclose(f);
	/* old side backwards */
	f = ident_file(back, 2);
	po_ident_merge_init(&m, f, on_freed, on_allocated, &a);
	po_ident_merge_add(&m, &sorted[0]);
	po_ident_merge_add(&m, &sorted[1]);
	assert_int_equal(po_ident_merge_finish(&m), 0);
	assert_true(m.unsorted);
	fclose(f);
	/* a repeated PFN is not backwards */
	f = ident_file(same, 2);
	po_ident_merge_init(&m, f, on_freed, on_allocated, &a);
	po_ident_merge_add(&m, &same[0]);
	po_ident_merge_add(&m, &same[1]);
	assert_int_equal(po_ident_merge_finish(&m), 0);
	assert_false(m.unsorted);
	fclose(f);
	free(a.log.p);
}

static void
test_merge_bad_prev(void **state)
{
	static const struct po_ident old[] = { { 1, 1, 0, 0 }, { 2, 1, 0, 0 } };
	struct acct a = { { 0 }, { 0 }, 0, 0, { 0 } };
	struct po_ident_merge m;
	FILE *f = ident_file(old, 2);

	(void)state;
	fseek(f, 0, SEEK_END);
	assert_int_equal(fwrite("xy", 1, 2, f), 2);
	rewind(f);
	po_ident_merge_init(&m, f, on_freed, on_allocated, &a);
	po_ident_merge_add(&m, &old[0]);
	assert_int_equal(po_ident_merge_finish(&m), -EBADMSG);
	assert_int_equal(m.matched, 1);
	assert_int_equal(a.nfreed, 1);
	fclose(f);
	free(a.log.p);
}

/*
 * Random dumps, sorted and not: every block is accounted once and
 * allocated - freed = net for every group.  Sorted, the matches are
 * exactly the blocks present unchanged on both sides.
 */
static void
test_merge_random(void **state)
{
	uint64_t seed = 0xfeedface;

	(void)state;
	for (int round = 0; round < 300; round++) {
		size_t nold = tu_rand(&seed) % 200, ncur = 0;
		struct po_ident *old = po_xcalloc(nold + 1, sizeof(*old));
		struct po_ident *cur = po_xcalloc(2 * nold + 50, sizeof(*cur));
		int64_t net[NREF] = { 0 };
		uint64_t pfn = 0, same = 0;
		struct acct a = { { 0 }, { 0 }, 0, 0, { 0 } };
		struct po_ident_merge m;
		bool shuffle = round % 4 == 3;
		FILE *f;

		for (size_t i = 0; i < nold; i++) {
			pfn += 1 + tu_rand(&seed) % 4;
			old[i] = (struct po_ident){ pfn, (uint32_t)(tu_rand(&seed) % 3),
			    (uint32_t)(tu_rand(&seed) % NREF), (uint8_t)(tu_rand(&seed) % 4) };
			net[old[i].ref] -= INT64_C(1) << old[i].order;
		}
		/* the new dump: keep, change or drop each old block, add some */
		pfn = 0;
		for (size_t i = 0; i <= nold; i++) {
			uint64_t x = tu_rand(&seed) % 6;

			if (x == 0) {	/* a block in between */
				uint64_t p = i < nold ? old[i].pfn : pfn + 3;

				if (p > pfn + 1)
					cur[ncur++] = (struct po_ident){ p - 1, 1,
					    (uint32_t)(tu_rand(&seed) % NREF), 0 };
			}
			if (i == nold)
				break;
			if (x <= 2) {
				cur[ncur++] = old[i];
				same++;
			} else if (x == 3) {
				cur[ncur] = old[i];
				cur[ncur++].hash += 1;
			}
			pfn = old[i].pfn;
		}
		for (size_t i = 0; i < ncur; i++)
			net[cur[i].ref] += INT64_C(1) << cur[i].order;
		if (shuffle)
			for (size_t i = ncur; i > 1; i--) {
				size_t j = tu_rand(&seed) % i;
				struct po_ident t = cur[i - 1];

				cur[i - 1] = cur[j];
				cur[j] = t;
			}

		f = ident_file(old, nold);
		po_ident_merge_init(&m, f, on_freed, on_allocated, &a);
		m.match_ref = round % 2 == 0;	/* refs never change here */
		for (size_t i = 0; i < ncur; i++)
			po_ident_merge_add(&m, &cur[i]);
		assert_int_equal(po_ident_merge_finish(&m), 0);
		assert_int_equal(m.matched + a.nfreed, nold);
		assert_int_equal(m.matched + a.nalloc, ncur);
		for (int r = 0; r < NREF; r++)
			if (a.alloc_pages[r] - a.freed_pages[r] != net[r])
				fail_msg("round %d ref %d: allocated %" PRId64 " - freed %"
				    PRId64 " != net %" PRId64, round, r, a.alloc_pages[r],
				    a.freed_pages[r], net[r]);
		if (!shuffle) {
			assert_int_equal(m.matched, same);
			assert_false(m.unsorted);
		}
		fclose(f);
		free(a.log.p);
		free(old);
		free(cur);
	}
}

/* ---- end to end: two dumps through agg and ident ------------------------- */

struct dump_ctx {
	struct po_agg		*agg;
	int			 slot;
	FILE			*out;	/* identities of slot 0 */
	struct po_ident_merge	*merge;	/* slot 1 against them */
};

static int
dump_cb(const struct po_record *r, void *userdata)
{
	struct dump_ctx *c = userdata;
	struct po_ident e;
	uint64_t ident;
	uint32_t gid;

	assert_int_equal(po_agg_add(c->agg, r, c->slot, &gid, &ident), 0);
	e = (struct po_ident){ r->pfn, (uint32_t)ident, gid, (uint8_t)r->order };
	if (c->out != NULL)
		assert_int_equal(po_ident_write(c->out, &e), 0);
	else
		po_ident_merge_add(c->merge, &e);
	return 0;
}

static void
diff_freed(const struct po_ident *e, void *userdata)
{
	struct po_group *g = po_agg_group(userdata, e->ref);

	g->freed_pages += UINT64_C(1) << e->order;
	g->freed_blocks++;
}

static void
diff_allocated(const struct po_ident *e, void *userdata)
{
	struct po_group *g = po_agg_group(userdata, e->ref);

	g->alloc_pages += UINT64_C(1) << e->order;
	g->alloc_blocks++;
}

static void
feed_all(const char *data, size_t len, struct dump_ctx *c)
{
	struct po_parser *p = NULL;

	assert_int_equal(po_parser_new(&p), 0);
	assert_int_equal(po_parser_feed(p, data, len, dump_cb, c), 0);
	assert_int_equal(po_parser_finish(p, NULL, NULL), 0);
	assert_int_equal(po_parser_stats(p)->malformed, 0);
	po_parser_free(p);
}

/*
 * era-6.7.txt, then the same dump a little later: the order-1 leaker block
 * at 0x2a3c4 was freed and a new order-0 one at 0x2a3c8 appeared, the rest
 * is unchanged.  By hand: leaker_leak_pages freed 2 pages (1 block),
 * allocated 1 (1 block), net -1; every other culprit 0/0.
 */
static void
test_two_dumps(void **state)
{
	static const char *const gone =
	    "Page allocated via order 1, mask 0x2cc0(GFP_KERNEL|__GFP_NOWARN), pid 1, tgid 1 (init), ts 52016999000 ns\n";
	static const char *const added =
	    "Page allocated via order 0, mask 0x2cc0(GFP_KERNEL|__GFP_NOWARN), pid 1, tgid 1 (init), ts 52017000000 ns\n"
	    "PFN 0x2a3c8 type Unmovable Block 337 type Unmovable Flags 0x100000000000000(node=0|zone=1)\n"
	    " get_page_from_freelist+0xf62/0x1150\n"
	    " __alloc_pages_noprof+0x196/0xe80\n"
	    " alloc_pages_mpol_noprof+0x47/0xf0\n"
	    " leaker_leak_pages+0x48/0x70 [leaker]\n"
	    " leak_write+0x6b/0xb0 [leaker]\n"
	    " full_proxy_write+0x52/0x80\n"
	    " vfs_write+0xf6/0x480\n"
	    " ksys_write+0x6a/0xf0\n"
	    " do_syscall_64+0x9e/0x1c0\n"
	    " entry_SYSCALL_64_after_hwframe+0x77/0x7f\n\n";
	enum po_key key = PO_KEY_CULPRIT;
	struct po_agg *agg = NULL;
	struct po_ident_merge m;
	struct dump_ctx c;
	struct tu_buf b2 = { 0 };
	size_t len = 0;
	char *d1 = tu_read_fixture("era-6.7.txt", &len);
	const char *g0 = strstr(d1, gone), *g1, *raw;
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(g0);
	g1 = strstr(g0, "\n\n") + 2;
	raw = g1;
	tu_buf_put(&b2, d1, (size_t)(g0 - d1));
	tu_buf_put(&b2, added, strlen(added));
	tu_buf_put(&b2, raw, len - (size_t)(raw - d1));

	assert_int_equal(po_agg_new(&agg, &key, 1, NULL), 0);
	c = (struct dump_ctx){ agg, 0, f, NULL };
	feed_all(d1, len, &c);
	rewind(f);
	po_ident_merge_init(&m, f, diff_freed, diff_allocated, agg);
	m.match_ref = true;	/* one aggregation for both dumps: refs agree */
	c = (struct dump_ctx){ agg, 1, NULL, &m };
	feed_all(b2.p, b2.n, &c);
	assert_int_equal(po_ident_merge_finish(&m), 0);
	assert_false(m.unsorted);
	assert_int_equal(m.matched, 4);

	for (size_t i = 0; i < po_agg_ngroups(agg); i++) {
		struct po_group *g = po_agg_group(agg, i);
		char ks[128];

		po_agg_key_str(agg, g, 0, ks, sizeof(ks));
		assert_int_equal((int64_t)g->alloc_pages - (int64_t)g->freed_pages,
		    (int64_t)g->pages[1] - (int64_t)g->pages[0]);
		assert_int_equal((int64_t)g->alloc_blocks - (int64_t)g->freed_blocks,
		    (int64_t)g->blocks[1] - (int64_t)g->blocks[0]);
		if (strcmp(ks, "leaker_leak_pages") == 0) {
			assert_int_equal(g->freed_pages, 2);
			assert_int_equal(g->freed_blocks, 1);
			assert_int_equal(g->alloc_pages, 1);
			assert_int_equal(g->alloc_blocks, 1);
			assert_int_equal(g->pages[0], 3);
			assert_int_equal(g->pages[1], 2);
		} else {
			assert_int_equal(g->alloc_pages + g->freed_pages, 0);
		}
	}
	assert_int_equal(po_agg_ngroups(agg), 4);
	fclose(f);
	po_agg_free(agg);
	free(b2.p);
	free(d1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_merge_by_hand),
		cmocka_unit_test(test_merge_same_pfn_changes),
		cmocka_unit_test(test_merge_no_prev),
		cmocka_unit_test(test_merge_unsorted),
		cmocka_unit_test(test_merge_bad_prev),
		cmocka_unit_test(test_merge_random),
		cmocka_unit_test(test_two_dumps),
	};

	return cmocka_run_group_tests_name("ident", tests, NULL, NULL);
}
