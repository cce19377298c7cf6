/*
 * test-index.c: po_index, the hash index from 64-bit hashes to dense ids
 * (lib/index.h, lib/index.c).
 *
 * The index keeps no keys: the tests keep their own entries, as callers
 * do, and check that every id added is found again under its hash (also
 * after growth, and among hashes that share a tag or are equal), that
 * keys never added are not found, and that a wide index gives back the
 * check value stored with each id.
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
#include "../../lib/index.h"

/* splitmix64: the tests' own generator */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* The caller's side: keys by id, each with the hash it is indexed under. */
struct table {
	struct po_index	 ix;
	uint64_t	*key;
	uint64_t	*hash;
	uint32_t	 n;
	uint32_t	 cap;
	bool		 wide;
};

static void
table_init(struct table *t, uint32_t min_slots, unsigned load, bool wide)
{
	memset(t, 0, sizeof(*t));
	t->wide = wide;
	po_index_init(&t->ix, min_slots, load, wide);
}

static void
table_free(struct table *t)
{
	po_index_free(&t->ix);
	free(t->key);
	free(t->hash);
}

/* Lookups through the calls of the table's kind of index. */
static uint32_t
first(const struct table *t, uint64_t h, struct po_index_probe *p)
{
	return t->wide ? po_index_first_wide(&t->ix, h, p) :
	    po_index_first(&t->ix, h, p);
}

static uint32_t
next(const struct table *t, struct po_index_probe *p)
{
	return t->wide ? po_index_next_wide(&t->ix, p) : po_index_next(&t->ix, p);
}

/* The id of key (indexed under h), or PO_NONE; counts candidates looked at. */
static uint32_t
table_find(const struct table *t, uint64_t key, uint64_t h, unsigned *ret_cand)
{
	struct po_index_probe p;
	uint32_t id;

	for (id = first(t, h, &p); id != PO_NONE; id = next(t, &p)) {
		assert_true(id < t->n);
		if (ret_cand != NULL)
			(*ret_cand)++;
		if (t->key[id] == key)
			return id;
	}
	return PO_NONE;
}

/* Add key under h when new; its id either way, and whether it was new. */
static uint32_t
table_intern(struct table *t, uint64_t key, uint64_t h, uint64_t check,
    bool *ret_new)
{
	struct po_index_probe p;
	uint32_t id;

	for (id = first(t, h, &p); id != PO_NONE; id = next(t, &p))
		if (t->key[id] == key) {
			*ret_new = false;
			return id;
		}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->key = po_xrealloc(t->key, t->cap, sizeof(*t->key));
		t->hash = po_xrealloc(t->hash, t->cap, sizeof(*t->hash));
	}
	id = t->n++;
	t->key[id] = key;
	t->hash[id] = h;
	if (t->wide)
		po_index_add_wide(&t->ix, &p, id, check);
	else
		po_index_add(&t->ix, &p, id);
	*ret_new = true;
	return id;
}

/* Every id in the table is found under its hash. */
static void
check_all_found(const struct table *t)
{
	for (uint32_t id = 0; id < t->n; id++)
		assert_int_equal(table_find(t, t->key[id], t->hash[id], NULL), id);
	assert_int_equal(po_index_count(&t->ix), t->n);
}

static void
test_empty(void **state)
{
	struct table t;
	struct po_index_probe p;

	(void)state;
	table_init(&t, 0, 50, false);
	assert_int_equal(po_index_count(&t.ix), 0);
	assert_int_equal(po_index_first(&t.ix, 0, &p), PO_NONE);
	assert_int_equal(po_index_first(&t.ix, UINT64_MAX, &p), PO_NONE);
	assert_true(t.ix.mask + 1 >= 16);
	table_free(&t);
}

/* Random keys, hashed: growth from the smallest index, all found, misses miss. */
static void
test_random_growth(void **state)
{
	const uint32_t n = 200000;
	uint64_t seed = 1;
	unsigned cand = 0;
	struct table t;
	bool fresh;

	(void)state;
	table_init(&t, 1, 70, false);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t k = rnd(&seed);

		assert_int_equal(table_intern(&t, k, po_hash(&k, sizeof(k)), 0,
		    &fresh), i);
		assert_true(fresh);
		if ((i & (i + 1)) == 0)	/* 0, 1, 3, 7 ...: across each growth */
			check_all_found(&t);
	}
	check_all_found(&t);
	/* the index grew, and kept to its load factor */
	assert_true((uint64_t)t.ix.mask + 1 >= (uint64_t)n * 100 / 70);
	assert_true(t.ix.n <= t.ix.limit);
	/* adding again finds the same ids */
	seed = 1;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t k = rnd(&seed);

		assert_int_equal(table_intern(&t, k, po_hash(&k, sizeof(k)), 0,
		    &fresh), i);
		assert_false(fresh);
	}
	assert_int_equal(t.n, n);
	/* keys never added are not found, and rarely reach the caller */
	for (uint32_t i = 0; i < n; i++) {
		uint64_t k = rnd(&seed);

		assert_int_equal(table_find(&t, k, po_hash(&k, sizeof(k)), &cand),
		    PO_NONE);
	}
	/* a candidate of a miss is a tag match: 32 bits less the slot's */
	assert_true(cand < n / 100);
	table_free(&t);
}

/*
 * Hashes that collide: many keys under one hash, keys whose hashes share
 * the tag (and so the first slot) but differ below it, and hashes whose
 * tags share the slot bits.  The caller's equality decides.
 */
static void
test_collisions(void **state)
{
	struct table t;
	uint64_t seed = 7;
	bool fresh;

	(void)state;
	table_init(&t, 16, 50, false);
	/* 300 keys under one hash */
	for (uint64_t k = 0; k < 300; k++)
		assert_int_equal(table_intern(&t, k, 0xdeadbeef00000000ULL, 0,
		    &fresh), k);
	/* 300 more: the same tag, different low halves */
	for (uint64_t k = 1000; k < 1300; k++) {
		uint32_t id = table_intern(&t, k, 0x12345678ULL << 32 | k, 0, &fresh);

		assert_true(fresh);
		assert_int_equal(id, t.n - 1);
	}
	/* 300 whose tags differ only above bit 20: one first slot while small */
	for (uint64_t k = 2000; k < 2300; k++) {
		uint32_t id = table_intern(&t, k, (k << 52) | 0xabcULL << 32, 0,
		    &fresh);

		assert_true(fresh);
		assert_int_equal(id, t.n - 1);
	}
	/* hash 0 and all-ones are keys like any other */
	table_intern(&t, 5000, 0, 0, &fresh);
	assert_true(fresh);
	table_intern(&t, 5001, UINT64_MAX, 0, &fresh);
	assert_true(fresh);
	/* and some random ones among them */
	for (uint64_t k = 10000; k < 12000; k++)
		table_intern(&t, k, rnd(&seed), 0, &fresh);
	check_all_found(&t);
	/* a key not added, under a hash that has many */
	assert_int_equal(table_find(&t, 299 + 1, 0xdeadbeef00000000ULL, NULL),
	    PO_NONE);
	assert_int_equal(table_find(&t, 1300, 0x12345678ULL << 32 | 1300, NULL),
	    PO_NONE);
	assert_int_equal(table_find(&t, 0, 0, NULL), PO_NONE);
	table_free(&t);
}

/* A wide index keeps each id's check value, through growth. */
static void
test_wide(void **state)
{
	const uint32_t n = 50000;
	uint64_t seed = 3;
	struct table t;
	bool fresh;

	(void)state;
	table_init(&t, 16, 70, true);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t k = rnd(&seed);

		/* every fourth key shares its hash with the one before */
		table_intern(&t, k, i % 4 == 3 ? t.hash[i - 1] : k, ~k, &fresh);
		assert_true(fresh);
	}
	for (uint32_t id = 0; id < n; id++) {
		struct po_index_probe p;
		uint32_t got;
		bool seen = false;

		for (got = first(&t, t.hash[id], &p); got != PO_NONE;
		    got = next(&t, &p))
			if (got == id) {
				assert_true(po_index_check(&t.ix, &p) == ~t.key[id]);
				seen = true;
				break;
			}
		assert_true(seen);
	}
	check_all_found(&t);
	table_free(&t);
}

/* po_index_find(): the caller's equality, given the slot's check value. */
struct find_ctx {
	const struct table *t;
	uint64_t	 key;
	bool		 by_check;	/* decide by the check value alone */
};

static bool
find_eq(const void *ctx, uint32_t id, uint64_t check)
{
	const struct find_ctx *c = ctx;

	if (c->by_check)
		return check == ~c->key;
	return c->t->key[id] == c->key;
}

static void
test_find(void **state)
{
	uint64_t seed = 5;
	struct table nt, wt;
	bool fresh;

	(void)state;
	table_init(&nt, 16, 50, false);
	table_init(&wt, 16, 70, true);
	for (uint32_t i = 0; i < 20000; i++) {
		uint64_t k = rnd(&seed), h = i % 3 == 0 ? 0xfeedULL << 32 : k;

		table_intern(&nt, k, h, 0, &fresh);
		table_intern(&wt, k, h, ~k, &fresh);
	}
	for (uint32_t id = 0; id < nt.n; id++) {
		struct find_ctx c = { &nt, nt.key[id], false };
		struct po_index_probe p;

		assert_int_equal(po_index_find(&nt.ix, nt.hash[id], &p, find_eq, &c),
		    id);
		c.t = &wt;
		assert_int_equal(po_index_find_wide(&wt.ix, wt.hash[id], &p, find_eq,
		    &c), id);
		c.by_check = true;
		assert_int_equal(po_index_find_wide(&wt.ix, wt.hash[id], &p, find_eq,
		    &c), id);
	}
	/* keys never added are not found */
	for (uint32_t i = 0; i < 1000; i++) {
		uint64_t k = rnd(&seed);
		struct find_ctx c = { &nt, k, false };
		struct po_index_probe p;

		assert_int_equal(po_index_find(&nt.ix, 0xfeedULL << 32, &p, find_eq,
		    &c), PO_NONE);
		c.t = &wt;
		c.by_check = true;
		assert_int_equal(po_index_find_wide(&wt.ix, k, &p, find_eq, &c),
		    PO_NONE);
	}
	table_free(&nt);
	table_free(&wt);
}

/* po_index_put() without a lookup, and po_index_clear(). */
static void
test_put_clear(void **state)
{
	struct table t;
	uint64_t seed = 11;
	uint32_t slots;
	bool fresh;

	(void)state;
	table_init(&t, 100, 50, false);
	assert_int_equal(t.ix.mask + 1, 128);
	t.cap = 5000;
	t.key = po_xcalloc(t.cap, sizeof(*t.key));
	t.hash = po_xcalloc(t.cap, sizeof(*t.hash));
	for (uint32_t i = 0; i < t.cap; i++) {
		t.key[i] = i;
		t.hash[i] = rnd(&seed);
		po_index_put(&t.ix, t.hash[i], i, 0);
		t.n++;
	}
	check_all_found(&t);
	slots = t.ix.mask + 1;
	po_index_clear(&t.ix);
	assert_int_equal(po_index_count(&t.ix), 0);
	assert_int_equal(t.ix.mask + 1, slots);
	for (uint32_t i = 0; i < t.n; i++)
		assert_int_equal(table_find(&t, t.key[i], t.hash[i], NULL), PO_NONE);
	/* usable again */
	t.n = 0;
	assert_int_equal(table_intern(&t, 42, 42, 0, &fresh), 0);
	assert_true(fresh);
	check_all_found(&t);
	table_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_random_growth),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_wide),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_put_clear),
	};

	return cmocka_run_group_tests_name("index", tests, NULL, NULL);
}
