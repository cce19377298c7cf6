/*
 * test-pack.c: the database's packed blobs (daemon/pack.c).
 *
 * A packed table must give back every series and field it was given, in
 * order, through pack_next, pack_find and pack_sum, whatever the values
 * (zero, negative, near the ends of int64) and whatever the table's kind
 * (the field counts that select a transform: 2 checkpoints, 4 changes,
 * 6 buckets, and the others stored as they are).  Version-1 blobs, written
 * here from the format in pack.c's header comment, are still read.  A
 * blob cut short anywhere is -EBADMSG; a blob with any byte changed is
 * -EBADMSG or reads as something, never a crash (the sanitizer build
 * checks the "never").  The same for the detail blob and detail_each.
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
#include "page-ownerd.h"

/* ---- a table to write, kept as plain arrays ---------------------------- */

struct table {
	unsigned	 nfields;
	unsigned	 smask;
	size_t		 n;
	uint32_t	*series;
	int64_t		*vals;		/* n x nfields */
};

static void
table_free(struct table *t)
{
	free(t->series);
	free(t->vals);
	memset(t, 0, sizeof(*t));
}

/* Fields the table kind transforms from others (pack.c): kept in a range
 * where the differences cannot overflow; page counts never come near it. */
static bool
transformed(unsigned nfields, unsigned i)
{
	if (nfields == CH__N || nfields == BK__N)
		return i < 4;
	if (nfields == CP__N)
		return i < 2;
	return false;
}

static int64_t
random_field(uint64_t *seed, unsigned nfields, unsigned i, bool is_signed)
{
	static const int64_t edge[] = {
		0, 1, -1, 127, 128, -64, -65, 16383, 16384, INT32_MAX,
		(int64_t)UINT32_MAX + 1, INT64_MAX, INT64_MIN, INT64_MAX - 1,
		INT64_MIN + 1, (int64_t)1 << 62, -((int64_t)1 << 62),
	};
	uint64_t r = tu_rand(seed);
	int64_t v;

	switch (r % 8) {
	case 0:
	case 1:
	case 2:
		v = 0;
		break;
	case 3:
		v = (int64_t)(tu_rand(seed) % 300) - (is_signed ? 150 : 0);
		break;
	case 4:
		v = edge[tu_rand(seed) % PO_ARRAY_SIZE(edge)];
		break;
	case 5:
		v = (int64_t)tu_rand(seed);
		break;
	default:
		v = (int64_t)(tu_rand(seed) % 100000);
		break;
	}
	if (transformed(nfields, i))
		v /= 8;		/* |v| < 2^60 */
	return v;
}

/* Random ascending series: small steps, big jumps, up to UINT32_MAX. */
static void
table_random(struct table *t, uint64_t *seed, unsigned nfields, unsigned smask,
    size_t n)
{
	uint64_t s = tu_rand(seed) % 4;

	memset(t, 0, sizeof(*t));
	t->nfields = nfields;
	t->smask = smask;
	t->series = po_xcalloc(n + 1, sizeof(*t->series));
	t->vals = po_xcalloc((n + 1) * nfields + 1, sizeof(*t->vals));
	for (size_t i = 0; i < n; i++) {
		if (s > UINT32_MAX)
			break;
		t->series[t->n] = (uint32_t)s;
		for (unsigned k = 0; k < nfields; k++)
			t->vals[t->n * nfields + k] = random_field(seed, nfields, k,
			    (smask >> k) & 1);
		t->n++;
		switch (tu_rand(seed) % 500) {
		case 0:
			s += 1 + tu_rand(seed) % ((uint64_t)1 << 31);
			break;
		case 1: case 2: case 3: case 4: case 5:
		case 6: case 7: case 8: case 9: case 10:
			s += 1 + tu_rand(seed) % ((uint64_t)1 << 20);
			break;
		default:
			s += 1 + tu_rand(seed) % (tu_rand(seed) % 4 == 0 ? 300 : 3);
			break;
		}
	}
	/* now and then the very last id */
	if (n > 0 && tu_rand(seed) % 4 == 0 && t->series[t->n - 1] < UINT32_MAX) {
		t->series[t->n] = UINT32_MAX;
		for (unsigned k = 0; k < nfields; k++)
			t->vals[t->n * nfields + k] = random_field(seed, nfields, k,
			    (smask >> k) & 1);
		t->n++;
	}
}

static void
table_pack(const struct table *t, uint8_t **ret, size_t *ret_len)
{
	struct pack_writer w;

	pack_writer_init(&w, t->nfields, t->smask);
	for (size_t i = 0; i < t->n; i++)
		pack_add(&w, t->series[i], &t->vals[i * t->nfields]);
	pack_finish(&w, ret, ret_len);
	pack_writer_free(&w);
}

static void
check_fields(const char *what, size_t idx, unsigned nfields, const int64_t *got,
    const int64_t *want)
{
	for (unsigned k = 0; k < nfields; k++)
		if (got[k] != want[k])
			fail_msg("%s: entry %zu field %u is %" PRId64 ", want %" PRId64,
			    what, idx, k, got[k], want[k]);
}

/* pack_next gives back the whole table, then 0, and 0 again. */
static void
check_read_all(const struct table *t, const uint8_t *blob, size_t len)
{
	struct pack_reader r;
	int64_t f[PACK_MAX_FIELDS];
	uint32_t s;

	assert_int_equal(pack_reader_init(&r, blob, len, t->nfields), 0);
	assert_int_equal(r.n, t->n);
	for (size_t i = 0; i < t->n; i++) {
		memset(f, 0x5a, sizeof(f));
		assert_int_equal(pack_next(&r, &s, f), 1);
		if (s != t->series[i])
			fail_msg("entry %zu: series %" PRIu32 ", want %" PRIu32, i, s,
			    t->series[i]);
		check_fields("pack_next", i, t->nfields, f, &t->vals[i * t->nfields]);
	}
	assert_int_equal(pack_next(&r, &s, f), 0);
	assert_int_equal(pack_next(&r, &s, f), 0);
	pack_reader_free(&r);
}

/* pack_find finds every entry, and nothing between, before or after. */
static void
check_find(const struct table *t, const uint8_t *blob, size_t len, uint64_t *seed)
{
	struct pack_reader r;
	int64_t f[PACK_MAX_FIELDS];

	assert_int_equal(pack_reader_init(&r, blob, len, t->nfields), 0);
	/* in a shuffled order: the index, not the position, finds them */
	for (size_t j = 0; j < t->n; j++) {
		size_t i = (size_t)(tu_rand(seed) % t->n);

		memset(f, 0x5a, sizeof(f));
		assert_int_equal(pack_find(&r, t->series[i], f), 1);
		check_fields("pack_find", i, t->nfields, f, &t->vals[i * t->nfields]);
	}
	for (size_t i = 0; i < t->n; i++) {
		assert_int_equal(pack_find(&r, t->series[i], f), 1);
		check_fields("pack_find", i, t->nfields, f, &t->vals[i * t->nfields]);
		if (i + 1 < t->n && t->series[i + 1] > t->series[i] + 1)
			assert_int_equal(pack_find(&r, t->series[i] + 1, f), 0);
	}
	if (t->n == 0) {
		assert_int_equal(pack_find(&r, 0, f), 0);
		assert_int_equal(pack_find(&r, UINT32_MAX, f), 0);
	} else {
		if (t->series[0] > 0)
			assert_int_equal(pack_find(&r, t->series[0] - 1, f), 0);
		if (t->series[t->n - 1] < UINT32_MAX)
			assert_int_equal(pack_find(&r, t->series[t->n - 1] + 1, f), 0);
	}
	pack_reader_free(&r);
	pack_reader_free(&r);	/* twice is harmless */
}

static void
round_trip(unsigned nfields, unsigned smask, size_t n, uint64_t seed)
{
	struct table t;
	uint8_t *blob = NULL;
	size_t len = 0;

	table_random(&t, &seed, nfields, smask, n);
	table_pack(&t, &blob, &len);
	/* the header pack.c documents: 'P' 2 nfields signed_mask xform */
	assert_true(len >= 7);
	assert_int_equal(blob[0], 'P');
	assert_int_equal(blob[1], 2);
	assert_int_equal(blob[2], nfields);
	assert_int_equal(blob[3] & smask, smask);
	assert_int_equal(blob[4], nfields == CH__N || nfields == BK__N ? 1 :
	    nfields == CP__N ? 2 : 0);
	check_read_all(&t, blob, len);
	check_find(&t, blob, len, &seed);
	free(blob);
	table_free(&t);
}

static void
test_round_trip_every_kind(void **state)
{
	uint64_t seed = 7;

	(void)state;
	for (unsigned nf = 1; nf <= PACK_MAX_FIELDS; nf++) {
		unsigned all = (1u << nf) - 1;
		unsigned masks[] = { 0, all, 0x55u & all, (unsigned)tu_rand(&seed) & all };

		for (size_t m = 0; m < PO_ARRAY_SIZE(masks); m++) {
			static const size_t sizes[] = { 0, 1, 2, 63, 64, 65, 128, 129, 1000 };

			for (size_t k = 0; k < PO_ARRAY_SIZE(sizes); k++)
				round_trip(nf, masks[m], sizes[k], tu_rand(&seed));
		}
	}
	/* the daemon's own kinds, with their own masks */
	round_trip(CH__N, CH_SIGNED, 5000, 11);
	round_trip(BK__N, BK_SIGNED, 5000, 12);
	round_trip(CP__N, CP_SIGNED, 5000, 13);
}

/* The writer is reusable after pack_finish: a second table, same kind. */
static void
test_writer_reuse(void **state)
{
	struct pack_writer w;
	struct pack_reader r;
	int64_t a[CH__N] = { 5, 5, 9, 4 }, b[CH__N] = { -3, -1, 0, 3 }, f[CH__N];
	uint8_t *blob1 = NULL, *blob2 = NULL;
	size_t len1 = 0, len2 = 0;
	uint32_t s;

	(void)state;
	pack_writer_init(&w, CH__N, CH_SIGNED);
	pack_add(&w, 10, a);
	pack_add(&w, 20, b);
	pack_finish(&w, &blob1, &len1);
	pack_add(&w, 7, b);
	pack_finish(&w, &blob2, &len2);
	pack_writer_free(&w);

	assert_int_equal(pack_reader_init(&r, blob1, len1, CH__N), 0);
	assert_int_equal(pack_next(&r, &s, f), 1);
	assert_int_equal(s, 10);
	check_fields("first", 0, CH__N, f, a);
	assert_int_equal(pack_next(&r, &s, f), 1);
	assert_int_equal(s, 20);
	check_fields("first", 1, CH__N, f, b);
	assert_int_equal(pack_next(&r, &s, f), 0);
	pack_reader_free(&r);

	assert_int_equal(pack_reader_init(&r, blob2, len2, CH__N), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(pack_next(&r, &s, f), 1);
	assert_int_equal(s, 7);
	check_fields("second", 0, CH__N, f, b);
	assert_int_equal(pack_next(&r, &s, f), 0);
	pack_reader_free(&r);
	free(blob1);
	free(blob2);
}

/* Zero fields take no byte (the bitmap says so): a table of zeros is small. */
static void
test_zeros_are_small(void **state)
{
	struct pack_writer w;
	int64_t zero[BK__N] = { 0 };
	/* order-0 allocations with identities: d_blocks = d_pages, freed = alloc - d_pages */
	int64_t implied[CH__N] = { 3, 3, 10, 7 };
	uint8_t *blob = NULL;
	size_t len = 0;

	(void)state;
	pack_writer_init(&w, BK__N, BK_SIGNED);
	for (uint32_t s = 0; s < 1000; s++)
		pack_add(&w, s, zero);
	pack_finish(&w, &blob, &len);
	/* one byte of series step and one of bitmap per entry, and the index */
	assert_true(len < 1000 * 2 + 100);
	free(blob);
	pack_writer_free(&w);

	pack_writer_init(&w, CH__N, CH_SIGNED);
	for (uint32_t s = 0; s < 1000; s++)
		pack_add(&w, s, implied);
	pack_finish(&w, &blob, &len);
	/* d_pages and allocated stored, d_blocks and freed implied */
	assert_true(len < 1000 * 4 + 100);
	free(blob);
	pack_writer_free(&w);
}

/* ---- pack_sum ------------------------------------------------------------ */

static void
sum_check(unsigned nfields, unsigned smask, size_t n, size_t skip, uint32_t max,
    uint64_t seed)
{
	struct table t;
	struct pack_reader r;
	uint8_t *blob = NULL;
	size_t len = 0, cap;
	int64_t *got, *want, fld[PACK_MAX_FIELDS];
	uint32_t s;

	table_random(&t, &seed, nfields, smask, n);
	/* dense small ids, so that dst stays small */
	for (size_t i = 0; i < t.n; i++)
		t.series[i] = (uint32_t)(i * 2 + (seed & 1));
	/* fields as the queries see them: page counts, far from overflow */
	for (size_t i = 0; i < t.n * nfields; i++)
		t.vals[i] %= 1000000;
	table_pack(&t, &blob, &len);
	cap = (size_t)max + 1;
	got = po_xcalloc(cap * BK__N, sizeof(*got));
	want = po_xcalloc(cap * BK__N, sizeof(*want));
	for (size_t i = skip; i < t.n; i++) {
		size_t e = i * nfields;
		int64_t *a;

		if (t.series[i] > max)
			continue;
		a = want + (size_t)t.series[i] * BK__N;
		for (unsigned k = 0; k < 4; k++)
			a[k] += t.vals[e + k];
		if (nfields == BK__N) {
			a[4] += t.vals[e + 4];
			a[5] += t.vals[e + 5];
		} else {
			a[4] += t.vals[e] > 0;
			a[5] += t.vals[e] < 0;
		}
	}
	/* a sum may start where pack_next stopped */
	assert_int_equal(pack_reader_init(&r, blob, len, nfields), 0);
	for (size_t i = 0; i < skip && i < t.n; i++)
		assert_int_equal(pack_next(&r, &s, fld), 1);
	assert_int_equal(pack_sum(&r, got, max), 0);
	for (size_t i = 0; i < cap * BK__N; i++)
		if (got[i] != want[i])
			fail_msg("pack_sum: series %zu field %zu is %" PRId64 ", want %"
			    PRId64, i / BK__N, i % BK__N, got[i], want[i]);
	/* and leaves nothing to read */
	assert_int_equal(pack_next(&r, &s, fld), 0);
	pack_reader_free(&r);
	free(got);
	free(want);
	free(blob);
	table_free(&t);
}

static void
test_sum(void **state)
{
	(void)state;
	sum_check(CH__N, CH_SIGNED, 0, 0, 10, 1);
	sum_check(CH__N, CH_SIGNED, 500, 0, 2000, 2);
	sum_check(CH__N, CH_SIGNED, 500, 70, 2000, 3);
	sum_check(BK__N, BK_SIGNED, 500, 0, 2000, 4);
	sum_check(BK__N, BK_SIGNED, 500, 3, 2000, 5);
	/* entries past max_series are skipped */
	sum_check(CH__N, CH_SIGNED, 500, 0, 300, 6);
	sum_check(BK__N, BK_SIGNED, 500, 0, 0, 8);
}

/* pack_sum reads delta tables only: other kinds are refused. */
static void
test_sum_other_kinds(void **state)
{
	int64_t dst[BK__N * 4] = { 0 };

	(void)state;
	for (unsigned nf = 1; nf <= PACK_MAX_FIELDS; nf++) {
		struct pack_writer w;
		struct pack_reader r;
		int64_t f[PACK_MAX_FIELDS] = { 1, 2, 3, 4, 5, 6, 7, 8 };
		uint8_t *blob = NULL;
		size_t len = 0;

		if (nf == CH__N || nf == BK__N)
			continue;
		pack_writer_init(&w, nf, 0);
		pack_add(&w, 1, f);
		pack_finish(&w, &blob, &len);
		pack_writer_free(&w);
		assert_int_equal(pack_reader_init(&r, blob, len, nf), 0);
		assert_int_equal(pack_sum(&r, dst, 3), -EBADMSG);
		pack_reader_free(&r);
		free(blob);
	}
	for (size_t i = 0; i < PO_ARRAY_SIZE(dst); i++)
		assert_true(dst[i] == 0);
}

/* ---- version 1, written here from the format in pack.c ----------------- */

static void
put_byte(struct tu_buf *b, unsigned v)
{
	uint8_t c = (uint8_t)v;

	tu_buf_put(b, &c, 1);
}

static void
put_varint(struct tu_buf *b, uint64_t v)
{
	while (v >= 0x80) {
		uint8_t c = (uint8_t)(v | 0x80);

		tu_buf_put(b, &c, 1);
		v >>= 7;
	}
	put_byte(b, (unsigned)v);
}

static uint64_t
zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

/* 'P' 1 nfields smask varint(n) varint(nblocks) index, then every field. */
static void
pack_v1(const struct table *t, struct tu_buf *out)
{
	struct tu_buf idx = { 0 }, ent = { 0 };
	uint64_t nblocks = (t->n + 63) / 64, prev_first = 0, prev_off = 0;

	tu_buf_put(&idx, "", 0);
	tu_buf_put(&ent, "", 0);
	for (size_t i = 0; i < t->n; i++) {
		if (i % 64 == 0) {
			put_varint(&idx, t->series[i] - prev_first);
			put_varint(&idx, ent.n - prev_off);
			prev_first = t->series[i];
			prev_off = ent.n;
			put_varint(&ent, t->series[i]);
		} else {
			put_varint(&ent, t->series[i] - t->series[i - 1]);
		}
		for (unsigned k = 0; k < t->nfields; k++) {
			int64_t v = t->vals[i * t->nfields + k];

			put_varint(&ent, (t->smask >> k) & 1 ? zz(v) : (uint64_t)v);
		}
	}
	tu_buf_put(out, "P\001", 2);
	put_byte(out, t->nfields);
	put_byte(out, t->smask);
	put_varint(out, t->n);
	put_varint(out, nblocks);
	tu_buf_put(out, idx.p, idx.n);
	tu_buf_put(out, ent.p, ent.n);
	free(idx.p);
	free(ent.p);
}

static void
test_version1(void **state)
{
	uint64_t seed = 21;

	(void)state;
	for (unsigned nf = 1; nf <= PACK_MAX_FIELDS; nf++) {
		static const size_t sizes[] = { 0, 1, 64, 65, 300 };

		for (size_t k = 0; k < PO_ARRAY_SIZE(sizes); k++) {
			struct table t;
			struct tu_buf b = { 0 };
			unsigned smask = (unsigned)tu_rand(&seed) & ((1u << nf) - 1);

			table_random(&t, &seed, nf, smask, sizes[k]);
			pack_v1(&t, &b);
			check_read_all(&t, (const uint8_t *)b.p, b.n);
			check_find(&t, (const uint8_t *)b.p, b.n, &seed);
			free(b.p);
			table_free(&t);
		}
	}
}

/* A version-1 delta table sums its fields as they are (no transform). */
static void
test_version1_sum(void **state)
{
	static const int64_t f[2 * CH__N] = { 4, 2, 9, 5, -6, -3, 0, 6 };
	static const int64_t want[3 * BK__N] = {
		4, 2, 9, 5, 1, 0,
		0, 0, 0, 0, 0, 0,
		-6, -3, 0, 6, 0, 1,
	};
	struct table t = { 0 };
	struct tu_buf b = { 0 };
	struct pack_reader r;
	int64_t dst[3 * BK__N] = { 0 };

	(void)state;
	t.nfields = CH__N;
	t.smask = CH_SIGNED;
	t.n = 2;
	t.series = po_xcalloc(2, sizeof(*t.series));
	t.series[1] = 2;
	t.vals = po_xcalloc(PO_ARRAY_SIZE(f), sizeof(*t.vals));
	memcpy(t.vals, f, sizeof(f));
	pack_v1(&t, &b);
	assert_int_equal(pack_reader_init(&r, b.p, b.n, CH__N), 0);
	assert_int_equal(pack_sum(&r, dst, 2), 0);
	check_fields("pack_sum v1", 0, 3 * BK__N, dst, want);
	pack_reader_free(&r);
	free(b.p);
	table_free(&t);
}

/* ---- bad blobs ------------------------------------------------------------ */

static void
test_bad_headers(void **state)
{
	struct pack_reader r;
	struct pack_writer w;
	int64_t f[CH__N] = { 1, 1, 1, 0 };
	uint8_t *blob = NULL, *bad;
	size_t len = 0;

	(void)state;
	pack_writer_init(&w, CH__N, CH_SIGNED);
	pack_add(&w, 3, f);
	pack_finish(&w, &blob, &len);
	pack_writer_free(&w);
	assert_int_equal(pack_reader_init(&r, blob, len, CH__N), 0);
	pack_reader_free(&r);

	assert_int_equal(pack_reader_init(&r, NULL, 0, CH__N), -EBADMSG);
	assert_int_equal(pack_reader_init(&r, blob, 0, CH__N), -EBADMSG);
	/* a table of another kind */
	assert_int_equal(pack_reader_init(&r, blob, len, BK__N), -EBADMSG);
	assert_int_equal(pack_reader_init(&r, blob, len, CP__N), -EBADMSG);
	bad = po_xmalloc(len);
	/* the magic, the version (0, 3, 255), the field count, the transform */
	static const struct { size_t at; uint8_t v; } edits[] = {
		{ 0, 'D' }, { 0, 'p' }, { 1, 0 }, { 1, 3 }, { 1, 255 },
		{ 2, 0 }, { 2, 9 }, { 2, 255 }, { 4, 3 }, { 4, 255 },
		/* n and nblocks disagree */
		{ 5, 65 }, { 6, 0 }, { 6, 2 },
	};
	for (size_t i = 0; i < PO_ARRAY_SIZE(edits); i++) {
		memcpy(bad, blob, len);
		bad[edits[i].at] = edits[i].v;
		if (pack_reader_init(&r, bad, len, CH__N) != -EBADMSG)
			fail_msg("byte %zu set to %u: not refused", edits[i].at,
			    edits[i].v);
	}
	/* more fields than PACK_MAX_FIELDS, even when asked for */
	memcpy(bad, blob, len);
	bad[2] = PACK_MAX_FIELDS + 1;
	assert_int_equal(pack_reader_init(&r, bad, len, PACK_MAX_FIELDS + 1), -EBADMSG);
	free(bad);
	free(blob);
}

/* Read what can be read; returns the first error or 0 at the end. */
static int
read_everything(const uint8_t *blob, size_t len, unsigned nfields, size_t *ret_n)
{
	struct pack_reader r;
	int64_t f[PACK_MAX_FIELDS];
	uint32_t s, prev = 0;
	int ret;

	*ret_n = 0;
	ret = pack_reader_init(&r, blob, len, nfields);
	if (ret < 0) {
		assert_int_equal(ret, -EBADMSG);
		return ret;
	}
	while ((ret = pack_next(&r, &s, f)) == 1) {
		/* within a block, series only go up */
		if (r.in_block != 1 && *ret_n > 0)
			assert_true(s > prev);
		prev = s;
		(*ret_n)++;
		assert_true(*ret_n <= r.n);
	}
	pack_reader_free(&r);
	if (ret < 0)
		assert_int_equal(ret, -EBADMSG);
	return ret;
}

static void
test_truncated(void **state)
{
	uint64_t seed = 5;

	(void)state;
	for (unsigned nf = 1; nf <= PACK_MAX_FIELDS; nf++) {
		struct table t;
		uint8_t *blob = NULL;
		size_t len = 0, n;

		table_random(&t, &seed, nf, (1u << nf) - 1, 150);
		table_pack(&t, &blob, &len);
		assert_int_equal(read_everything(blob, len, nf, &n), 0);
		assert_int_equal(n, t.n);
		for (size_t cut = 0; cut < len; cut++) {
			/* a copy of just the prefix, so that ASan sees any overread */
			uint8_t *p = po_xmalloc(cut + 1);
			struct pack_reader r;
			int64_t f[PACK_MAX_FIELDS];

			memcpy(p, blob, cut);
			if (read_everything(p, cut, nf, &n) != -EBADMSG)
				fail_msg("%u fields: cut at %zu of %zu read as whole", nf,
				    cut, len);
			/* pack_find: what it finds in the prefix is right */
			if (pack_reader_init(&r, p, cut, nf) == 0) {
				for (size_t i = 0; i < t.n; i += 7) {
					int ret = pack_find(&r, t.series[i], f);

					assert_true(ret == 1 || ret == 0 || ret == -EBADMSG);
					if (ret == 1)
						check_fields("pack_find cut", i, nf, f,
						    &t.vals[i * nf]);
				}
				pack_reader_free(&r);
			}
			/* pack_sum: the cut is noticed */
			if ((nf == CH__N || nf == BK__N) &&
			    pack_reader_init(&r, p, cut, nf) == 0) {
				int64_t *dst = po_xcalloc((size_t)16 * BK__N, sizeof(*dst));

				assert_int_equal(pack_sum(&r, dst, 15), -EBADMSG);
				free(dst);
				pack_reader_free(&r);
			}
			free(p);
		}
		free(blob);
		table_free(&t);
	}
}

static void
test_corrupt(void **state)
{
	static const uint8_t flips[] = { 0x01, 0x02, 0x40, 0x80, 0xff, 0x7f };
	uint64_t seed = 6;

	(void)state;
	for (unsigned nf = 1; nf <= PACK_MAX_FIELDS; nf++) {
		struct table t;
		uint8_t *blob = NULL, *p;
		size_t len = 0, n;

		table_random(&t, &seed, nf, (unsigned)tu_rand(&seed) & ((1u << nf) - 1),
		    140);
		table_pack(&t, &blob, &len);
		p = po_xmalloc(len);
		for (size_t at = 0; at < len; at++) {
			for (size_t k = 0; k <= PO_ARRAY_SIZE(flips); k++) {
				struct pack_reader r;
				int64_t f[PACK_MAX_FIELDS];
				uint8_t x = k < PO_ARRAY_SIZE(flips) ? flips[k] :
				    (uint8_t)(1 + tu_rand(&seed) % 255);
				int ret;

				memcpy(p, blob, len);
				p[at] ^= x;
				(void)read_everything(p, len, nf, &n);
				if (pack_reader_init(&r, p, len, nf) == 0) {
					for (size_t i = 0; i < t.n; i += 11) {
						ret = pack_find(&r, t.series[i], f);
						assert_true(ret == 1 || ret == 0 ||
						    ret == -EBADMSG);
					}
					/* a miss between entries, and past the end */
					ret = pack_find(&r, UINT32_MAX, f);
					assert_true(ret == 1 || ret == 0 || ret == -EBADMSG);
					pack_reader_free(&r);
				}
				if ((nf == CH__N || nf == BK__N) &&
				    pack_reader_init(&r, p, len, nf) == 0) {
					int64_t *dst = po_xcalloc((size_t)64 * BK__N, sizeof(*dst));

					ret = pack_sum(&r, dst, 63);
					assert_true(ret == 0 || ret == -EBADMSG);
					free(dst);
					pack_reader_free(&r);
				}
			}
		}
		free(p);
		free(blob);
		table_free(&t);
	}
}

/* Hand-made bad entries that a writer never makes. */
static void
test_bad_entries(void **state)
{
	struct tu_buf b = { 0 };
	struct pack_reader r;
	int64_t f[PACK_MAX_FIELDS];
	uint32_t s;

	(void)state;
	/* two entries, the second a step of 0 (series must go up) */
	tu_buf_put(&b, "P\002\001\000\000\002\001\000\000" "\005\001\001" "\000\001\001", 15);
	assert_int_equal(pack_reader_init(&r, b.p, b.n, 1), 0);
	assert_int_equal(pack_next(&r, &s, f), 1);
	assert_int_equal(s, 5);
	assert_true(f[0] == 1);
	assert_int_equal(pack_next(&r, &s, f), -EBADMSG);
	pack_reader_free(&r);
	free(b.p);
	memset(&b, 0, sizeof(b));

	/* a bitmap naming a field the table does not have */
	tu_buf_put(&b, "P\002\001\000\000\001\001\000\000" "\005\002\001", 12);
	assert_int_equal(pack_reader_init(&r, b.p, b.n, 1), 0);
	assert_int_equal(pack_next(&r, &s, f), -EBADMSG);
	pack_reader_free(&r);
	free(b.p);
	memset(&b, 0, sizeof(b));

	/* a first series past UINT32_MAX */
	tu_buf_put(&b, "P\002\001\000\000\001\001\000\000", 9);
	put_varint(&b, (uint64_t)UINT32_MAX + 1);
	tu_buf_put(&b, "\000", 1);
	assert_int_equal(pack_reader_init(&r, b.p, b.n, 1), 0);
	assert_int_equal(pack_next(&r, &s, f), -EBADMSG);
	pack_reader_free(&r);
	free(b.p);
	memset(&b, 0, sizeof(b));

	/* a step that wraps past UINT32_MAX */
	tu_buf_put(&b, "P\002\001\000\000\002\001\000\000", 9);
	put_varint(&b, UINT32_MAX - 1);
	tu_buf_put(&b, "\000\002\000", 3);
	assert_int_equal(pack_reader_init(&r, b.p, b.n, 1), 0);
	assert_int_equal(pack_next(&r, &s, f), 1);
	assert_int_equal(s, UINT32_MAX - 1);
	assert_int_equal(pack_next(&r, &s, f), -EBADMSG);
	pack_reader_free(&r);
	free(b.p);
	memset(&b, 0, sizeof(b));

	/* a varint longer than 64 bits */
	tu_buf_put(&b, "P\002\001\000\000\001\001\000\000" "\001\001", 11);
	for (int i = 0; i < 10; i++)
		tu_buf_put(&b, "\xff", 1);
	tu_buf_put(&b, "\001", 1);
	assert_int_equal(pack_reader_init(&r, b.p, b.n, 1), 0);
	assert_int_equal(pack_next(&r, &s, f), -EBADMSG);
	pack_reader_free(&r);
	free(b.p);
	memset(&b, 0, sizeof(b));

	/* an index offset past the entries: pack_find says so */
	tu_buf_put(&b, "P\002\001\000\000\001\001\000\077" "\005\001\001", 12);
	assert_int_equal(pack_reader_init(&r, b.p, b.n, 1), 0);
	assert_int_equal(pack_find(&r, 5, f), -EBADMSG);
	pack_reader_free(&r);
	free(b.p);
	memset(&b, 0, sizeof(b));

	/* a count of 2^32 entries */
	tu_buf_put(&b, "P\002\001\000\000", 5);
	put_varint(&b, (uint64_t)UINT32_MAX + 1);
	put_varint(&b, ((uint64_t)UINT32_MAX + 1) / 64);
	assert_int_equal(pack_reader_init(&r, b.p, b.n, 1), -EBADMSG);
	free(b.p);
}

/*
 * Fields at the ends of int64 in the kinds that store differences: the
 * writer must still give them back (the differences wrap, and unwrap).
 */
static void
test_round_trip_extremes(void **state)
{
	static const int64_t ext[] = { INT64_MIN, INT64_MAX, -1, 0, 1, INT64_MIN + 1 };
	static const unsigned kinds[][2] = {
		{ CH__N, CH_SIGNED }, { BK__N, BK_SIGNED }, { CP__N, CP_SIGNED },
	};

	(void)state;
	for (size_t k = 0; k < PO_ARRAY_SIZE(kinds); k++) {
		struct table t = { 0 };
		size_t n = 1, nf = kinds[k][0];
		uint8_t *blob = NULL;
		size_t len = 0;
		uint64_t seed = 3;

		for (size_t i = 0; i < nf; i++)
			n *= PO_ARRAY_SIZE(ext);
		if (n > 5000)
			n = 5000;
		t.nfields = (unsigned)nf;
		t.smask = kinds[k][1];
		t.n = n;
		t.series = po_xcalloc(n, sizeof(*t.series));
		t.vals = po_xcalloc(n * nf, sizeof(*t.vals));
		for (size_t i = 0; i < n; i++) {
			size_t c = i;

			t.series[i] = (uint32_t)i;
			for (size_t j = 0; j < nf; j++) {
				t.vals[i * nf + j] = ext[c % PO_ARRAY_SIZE(ext)];
				c /= PO_ARRAY_SIZE(ext);
			}
		}
		table_pack(&t, &blob, &len);
		check_read_all(&t, blob, len);
		check_find(&t, blob, len, &seed);
		free(blob);
		table_free(&t);
	}
}

/* Stored fields at the ends of int64 (no writer makes them): read, never harm. */
static void
test_huge_stored_fields(void **state)
{
	static const uint64_t zz_ext[] = {
		UINT64_MAX, UINT64_MAX - 1, 1, 2, (uint64_t)1 << 63,
	};
	static const unsigned kinds[] = { CH__N, BK__N, CP__N };

	(void)state;
	for (size_t k = 0; k < PO_ARRAY_SIZE(kinds); k++) {
		for (size_t a = 0; a < PO_ARRAY_SIZE(zz_ext); a++) {
			for (size_t b = 0; b < PO_ARRAY_SIZE(zz_ext); b++) {
				struct tu_buf buf = { 0 };
				struct pack_reader r;
				int64_t f[PACK_MAX_FIELDS], *dst;
				uint32_t s;
				unsigned nf = kinds[k], xf = nf == CP__N ? 2 : 1;
				int ret;

				/* 'P' 2 nf smask xform, n = 2 in one block, index */
				tu_buf_put(&buf, "P\002", 2);
				put_byte(&buf, nf);
				put_byte(&buf, (1u << nf) - 1);
				put_byte(&buf, xf);
				tu_buf_put(&buf, "\002\001\000\000", 4);
				for (int e = 0; e < 2; e++) {
					tu_buf_put(&buf, "\001", 1);	/* series 1, then 2 */
					put_byte(&buf, (1u << nf) - 1);
					for (unsigned i = 0; i < nf; i++)
						put_varint(&buf, i % 2 ? zz_ext[a] : zz_ext[b]);
				}
				assert_int_equal(pack_reader_init(&r, buf.p, buf.n, nf), 0);
				ret = pack_next(&r, &s, f);
				assert_true(ret == 1 || ret == -EBADMSG);
				pack_reader_free(&r);
				if (nf != CP__N) {
					dst = po_xcalloc((size_t)3 * BK__N, sizeof(*dst));
					assert_int_equal(pack_reader_init(&r, buf.p, buf.n, nf), 0);
					ret = pack_sum(&r, dst, 2);
					assert_true(ret == 0 || ret == -EBADMSG);
					pack_reader_free(&r);
					free(dst);
				}
				free(buf.p);
			}
		}
	}
}

/* A damaged index is damaged at every call, and costs nothing each time. */
static void
test_find_bad_index_again(void **state)
{
	struct tu_buf b = { 0 };
	struct pack_reader r;
	int64_t f[PACK_MAX_FIELDS];

	(void)state;
	/* one entry, its block's offset past the entries */
	tu_buf_put(&b, "P\002\001\000\000\001\001\000\077" "\005\001\001", 12);
	assert_int_equal(pack_reader_init(&r, b.p, b.n, 1), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pack_find(&r, 5, f), -EBADMSG);
	pack_reader_free(&r);
	free(b.p);
}

/* ---- detail ---------------------------------------------------------------- */

struct rows {
	struct detail_row *v;
	char		**strs;		/* owned copies of comm, memcg */
	size_t		 n, at;
	size_t		 stop_at;	/* return 42 at this row (0 = never) */
};

static void
rows_free(struct rows *r)
{
	for (size_t i = 0; i < 2 * r->n; i++)
		free(r->strs[i]);
	free(r->strs);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static const char *const detail_names[] = {
	"", "kworker/0:1", "systemd", "a b\tc", "\xc3\xa9t\xc3\xa9", "x",
	"/sys/fs/cgroup/system.slice/foo.service", "leaky",
	"a-name-longer-than-a-kernel-comm-of-sixteen-bytes",
};

static void
rows_random(struct rows *r, uint64_t *seed, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->n = n;
	r->v = po_xcalloc(n + 1, sizeof(*r->v));
	r->strs = po_xcalloc(2 * n + 1, sizeof(*r->strs));
	for (size_t i = 0; i < n; i++) {
		struct detail_row *d = &r->v[i];
		static const uint64_t big[] = { 0, 1, 127, 128, UINT32_MAX, UINT64_MAX,
			UINT64_MAX - 1, (uint64_t)1 << 63 };

		r->strs[2 * i] = po_xstrdup(detail_names[tu_rand(seed) %
		    PO_ARRAY_SIZE(detail_names)]);
		if (tu_rand(seed) % 5 == 0)
			po_asprintf(&r->strs[2 * i + 1], "cg-%" PRIu64, tu_rand(seed) % 50);
		else
			r->strs[2 * i + 1] = po_xstrdup(detail_names[tu_rand(seed) % 3]);
		d->comm = r->strs[2 * i];
		d->memcg = r->strs[2 * i + 1];
		d->stack = tu_rand(seed) % 3 == 0 ? UINT32_MAX : (uint32_t)tu_rand(seed);
		d->order = (uint32_t)(tu_rand(seed) % 12);
		if (i % 17 == 0)
			d->order = 64;	/* the largest the reader takes */
		d->gfp = tu_rand(seed);
		d->pages = big[tu_rand(seed) % PO_ARRAY_SIZE(big)];
		d->blocks = tu_rand(seed) % 2 ? tu_rand(seed) : 0;
		d->ts_min = tu_rand(seed) % 2 ? tu_rand(seed) : UINT64_MAX;
	}
}

static int
rows_check_cb(const struct detail_row *row, void *userdata)
{
	struct rows *r = userdata;
	const struct detail_row *w;

	if (r->at >= r->n)
		fail_msg("detail_each: more rows than written (%zu)", r->n);
	w = &r->v[r->at];
	if (row->stack != w->stack || row->order != w->order || row->gfp != w->gfp ||
	    row->pages != w->pages || row->blocks != w->blocks ||
	    row->ts_min != w->ts_min || strcmp(row->comm, w->comm) != 0 ||
	    strcmp(row->memcg, w->memcg) != 0)
		fail_msg("detail row %zu differs: stack %" PRIu32 " comm '%s' memcg '%s'"
		    " order %" PRIu32 " pages %" PRIu64, r->at, row->stack, row->comm,
		    row->memcg, row->order, row->pages);
	r->at++;
	if (r->stop_at != 0 && r->at == r->stop_at)
		return 42;
	return 0;
}

static void
rows_pack(const struct rows *r, uint8_t **ret, size_t *ret_len)
{
	struct detail_writer *w = detail_writer_new();

	for (size_t i = 0; i < r->n; i++)
		detail_add(w, &r->v[i]);
	detail_finish(w, ret, ret_len);
	detail_writer_free(w);
}

static void
test_detail_round_trip(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 100, 3000 };
	uint64_t seed = 77;

	(void)state;
	detail_writer_free(NULL);
	for (size_t k = 0; k < PO_ARRAY_SIZE(sizes); k++) {
		struct rows r;
		uint8_t *blob = NULL;
		size_t len = 0;

		rows_random(&r, &seed, sizes[k]);
		rows_pack(&r, &blob, &len);
		assert_true(len >= 4);
		assert_int_equal(blob[0], 'D');
		assert_int_equal(blob[1], 1);
		assert_int_equal(detail_each(blob, len, rows_check_cb, &r), 0);
		assert_int_equal(r.at, r.n);
		/* a non-zero return stops the walk and is returned */
		if (r.n >= 2) {
			r.at = 0;
			r.stop_at = 2;
			assert_int_equal(detail_each(blob, len, rows_check_cb, &r), 42);
			assert_int_equal(r.at, 2);
		}
		free(blob);
		rows_free(&r);
	}
}

/* Names are written once: a thousand rows of one comm hold it once. */
static void
test_detail_strings_once(void **state)
{
	struct detail_writer *w = detail_writer_new();
	struct detail_row row = { 1, "a-rather-long-command-name", "", 0, 0, 1, 1, 0 };
	uint8_t *blob = NULL;
	size_t len = 0;

	(void)state;
	for (uint32_t i = 0; i < 1000; i++) {
		row.stack = i;
		detail_add(w, &row);
	}
	detail_finish(w, &blob, &len);
	detail_writer_free(w);
	{
		size_t hits = 0, cl = strlen(row.comm);

		for (size_t i = 0; i + cl <= len; i++)
			hits += memcmp(blob + i, row.comm, cl) == 0;
		assert_int_equal(hits, 1);
	}
	assert_true(len < 1000 * 10 + 100);
	free(blob);
}

static int
count_cb(const struct detail_row *row, void *userdata)
{
	size_t *n = userdata;

	/* strings are readable, the order within what the reader allows */
	assert_true(strlen(row->comm) < (size_t)1 << 20);
	assert_true(strlen(row->memcg) < (size_t)1 << 20);
	assert_true(row->order <= 64);
	(*n)++;
	return 0;
}

static void
test_detail_bad(void **state)
{
	struct rows r;
	uint64_t seed = 8;
	uint8_t *blob = NULL, *p;
	size_t len = 0, n = 0;

	(void)state;
	assert_int_equal(detail_each(NULL, 0, count_cb, &n), -EBADMSG);
	assert_int_equal(detail_each("", 0, count_cb, &n), -EBADMSG);
	assert_int_equal(detail_each("D", 1, count_cb, &n), -EBADMSG);
	assert_int_equal(detail_each("D\002\000\000", 4, count_cb, &n), -EBADMSG);
	assert_int_equal(detail_each("P\001\000\000", 4, count_cb, &n), -EBADMSG);
	/* the smallest blob: no strings, no rows */
	assert_int_equal(detail_each("D\001\000\000", 4, count_cb, &n), 0);
	assert_int_equal(n, 0);
	/* more strings than bytes */
	assert_int_equal(detail_each("D\001\177\000", 4, count_cb, &n), -EBADMSG);
	/* a string longer than the blob */
	assert_int_equal(detail_each("D\001\001\050ab\000", 7, count_cb, &n), -EBADMSG);
	/* a row naming a string that is not there */
	assert_int_equal(detail_each("D\001\001\001a\001" "\001\000\001\000\000\000\000\000",
	    14, count_cb, &n), -EBADMSG);
	/* an order past 64 */
	assert_int_equal(detail_each("D\001\001\001a\001" "\001\000\000\101\000\000\000\000",
	    14, count_cb, &n), -EBADMSG);
	/* and the same row with order 64 is fine */
	assert_int_equal(detail_each("D\001\001\001a\001" "\001\000\000\100\000\000\000\000",
	    14, count_cb, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	/* a stack past UINT32_MAX */
	{
		struct tu_buf b = { 0 };

		tu_buf_put(&b, "D\001\001\001a\001", 6);
		put_varint(&b, (uint64_t)UINT32_MAX + 1);
		tu_buf_put(&b, "\000\000\000\000\000\000\000", 7);
		assert_int_equal(detail_each(b.p, b.n, count_cb, &n), -EBADMSG);
		free(b.p);
	}
	assert_int_equal(n, 0);

	rows_random(&r, &seed, 60);
	rows_pack(&r, &blob, &len);
	/* every cut is noticed */
	for (size_t cut = 0; cut < len; cut++) {
		p = po_xmalloc(cut + 1);
		memcpy(p, blob, cut);
		n = 0;
		if (detail_each(p, cut, count_cb, &n) != -EBADMSG)
			fail_msg("detail cut at %zu of %zu read as whole", cut, len);
		free(p);
	}
	/* every changed byte reads as something or is refused */
	p = po_xmalloc(len);
	for (size_t at = 0; at < len; at++) {
		static const uint8_t flips[] = { 0x01, 0x10, 0x80, 0xff };

		for (size_t k = 0; k < PO_ARRAY_SIZE(flips); k++) {
			int ret;

			memcpy(p, blob, len);
			p[at] ^= flips[k];
			n = 0;
			ret = detail_each(p, len, count_cb, &n);
			assert_true(ret == 0 || ret == -EBADMSG);
		}
	}
	free(p);
	free(blob);
	rows_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_kind),
		cmocka_unit_test(test_writer_reuse),
		cmocka_unit_test(test_zeros_are_small),
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_sum_other_kinds),
		cmocka_unit_test(test_version1),
		cmocka_unit_test(test_version1_sum),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_find_bad_index_again),
		cmocka_unit_test(test_detail_round_trip),
		cmocka_unit_test(test_detail_strings_once),
		cmocka_unit_test(test_detail_bad),
		/* last: under UBSan an overflow in pack.c stops the program */
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_round_trip_extremes),
		cmocka_unit_test(test_huge_stored_fields),
	};

	return cmocka_run_group_tests_name("pack", tests, NULL, NULL);
}
