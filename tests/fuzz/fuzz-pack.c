/*
 * fuzz-pack.c: libFuzzer target for the packed-table reader of
 * daemon/pack.c (pack_reader_init, pack_next, pack_find, pack_sum) on
 * arbitrary bytes: the blobs the daemon reads back out of its database.
 *
 * The input is the blob; the table kind asked for is its own third byte
 * (the field count), so that most inputs get past the header.
 * Oracles, each an abort():
 *  - nothing crashes; every call returns 0, 1 or -EBADMSG;
 *  - pack_next gives at most the entries the header announces, series
 *    rising within a block, and then 0 for good;
 *  - a blob that reads to its end without error, with rising series,
 *    re-encodes (pack_writer) to a blob that reads as the same entries;
 *  - pack_find of a series read finds it or says the blob is corrupt,
 *    never another entry's fields when the blob is one the writer made;
 *  - pack_sum of a delta table adds up what pack_next read.
 */
// fuzz-sources: lib/*.c daemon/pack.c daemon/log.c
// fuzz-pkgs: libxxhash jansson libsystemd
// fuzz-seeds: tests/fuzz/seeds/pack
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/page-ownerd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do {							\
		if (!(x)) {						\
			fprintf(stderr, "fuzz-pack: %s:%d: %s\n",	\
			    __FILE__, __LINE__, #x);			\
			abort();					\
		}							\
	} while (0)

#define MAX_ENTRIES	(1u << 16)	/* inputs are at most 64 KiB */
#define SUM_SERIES	1024		/* pack_sum's table, when ids fit */

struct entries {
	uint32_t	 n;
	uint32_t	 series[MAX_ENTRIES];
	int64_t		 f[MAX_ENTRIES][PACK_MAX_FIELDS];
};

static struct entries got, again;

/* Every entry of a blob: 0 read to the end, -EBADMSG corrupt. */
static int
read_all(const void *blob, size_t len, unsigned nfields, struct entries *e,
    bool *ret_rising, unsigned *ret_smask)
{
	struct pack_reader r;
	int ret;

	e->n = 0;
	*ret_rising = true;
	ret = pack_reader_init(&r, blob, len, nfields);
	CHECK(ret == 0 || ret == -EBADMSG);
	if (ret < 0)
		return ret;
	*ret_smask = r.smask;
	for (;;) {
		uint32_t s;

		CHECK(e->n < MAX_ENTRIES);
		ret = pack_next(&r, &s, e->f[e->n]);
		CHECK(ret == 1 || ret == 0 || ret == -EBADMSG);
		if (ret != 1)
			break;
		if (r.in_block != 1)
			CHECK(e->n > 0 && s > e->series[e->n - 1]);
		else if (e->n > 0 && s <= e->series[e->n - 1])
			*ret_rising = false;
		e->series[e->n++] = s;
		CHECK(e->n <= r.n);
	}
	if (ret == 0) {
		uint32_t s;
		int64_t f[PACK_MAX_FIELDS];

		CHECK(e->n == r.n);
		CHECK(pack_next(&r, &s, f) == 0);
	}
	pack_reader_free(&r);
	return ret;
}

static bool
same(const struct entries *a, const struct entries *b, unsigned nfields)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++) {
		if (a->series[i] != b->series[i])
			return false;
		for (unsigned k = 0; k < nfields; k++)
			if (a->f[i][k] != b->f[i][k])
				return false;
	}
	return true;
}

static void
check_find(const void *blob, size_t len, unsigned nfields, const struct entries *e,
    bool trusted)
{
	struct pack_reader r;
	int64_t f[PACK_MAX_FIELDS];

	CHECK(pack_reader_init(&r, blob, len, nfields) == 0);
	for (uint32_t i = 0; i < e->n; i += 1 + e->n / 16) {
		int ret = pack_find(&r, e->series[i], f);

		CHECK(ret == 1 || ret == 0 || ret == -EBADMSG);
		if (trusted) {
			CHECK(ret == 1);
			CHECK(memcmp(f, e->f[i], nfields * sizeof(*f)) == 0);
		}
	}
	{
		int ret = pack_find(&r, UINT32_MAX, f);

		CHECK(ret == 1 || ret == 0 || ret == -EBADMSG);
	}
	pack_reader_free(&r);
}

/* pack_sum against the entries read one by one (wrapping sums, unsigned). */
static void
check_sum(const void *blob, size_t len, unsigned nfields, const struct entries *e)
{
	static int64_t dst[(SUM_SERIES + 1) * BK__N];
	static uint64_t want[(SUM_SERIES + 1) * BK__N];
	struct pack_reader r;

	memset(dst, 0, sizeof(dst));
	memset(want, 0, sizeof(want));
	for (uint32_t i = 0; i < e->n; i++) {
		uint64_t *a;

		if (e->series[i] > SUM_SERIES)
			continue;
		a = want + (size_t)e->series[i] * BK__N;
		for (unsigned k = 0; k < 4; k++)
			a[k] += (uint64_t)e->f[i][k];
		if (nfields == BK__N) {
			a[4] += (uint64_t)e->f[i][4];
			a[5] += (uint64_t)e->f[i][5];
		} else {
			a[4] += e->f[i][0] > 0;
			a[5] += e->f[i][0] < 0;
		}
	}
	CHECK(pack_reader_init(&r, blob, len, nfields) == 0);
	CHECK(pack_sum(&r, dst, SUM_SERIES) == 0);
	for (size_t i = 0; i < PO_ARRAY_SIZE(dst); i++)
		CHECK((uint64_t)dst[i] == want[i]);
	pack_reader_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned nfields = size > 2 ? data[2] : 0, smask = 0;
	bool rising;
	int ret;

	ret = read_all(data, size, nfields, &got, &rising, &smask);
	/* whatever it read, pack_find and pack_sum do no harm */
	if (ret == 0 || pack_reader_init(&(struct pack_reader){ 0 }, data, size,
	    nfields) == 0) {
		struct pack_reader r;
		int64_t *dst = calloc((size_t)8 * BK__N, sizeof(*dst)), f[PACK_MAX_FIELDS];

		CHECK(dst != NULL);
		CHECK(pack_reader_init(&r, data, size, nfields) == 0);
		for (uint32_t s = 0; s < 4; s++) {
			int fr = pack_find(&r, s * 3, f);

			CHECK(fr == 1 || fr == 0 || fr == -EBADMSG);
		}
		pack_reader_free(&r);
		CHECK(pack_reader_init(&r, data, size, nfields) == 0);
		{
			int sr = pack_sum(&r, dst, 7);

			CHECK(sr == 0 || sr == -EBADMSG);
			if (nfields != CH__N && nfields != BK__N)
				CHECK(sr == -EBADMSG);
		}
		pack_reader_free(&r);
		free(dst);
	}
	if (ret != 0)
		return 0;
	check_find(data, size, nfields, &got, false);
	if (nfields == CH__N || nfields == BK__N)
		check_sum(data, size, nfields, &got);
	if (!rising)
		return 0;

	/* re-encode what was read: the same entries come back */
	{
		struct pack_writer w;
		uint8_t *blob = NULL;
		size_t len = 0;
		unsigned smask2 = 0;

		pack_writer_init(&w, nfields, smask);
		for (uint32_t i = 0; i < got.n; i++)
			pack_add(&w, got.series[i], got.f[i]);
		pack_finish(&w, &blob, &len);
		pack_writer_free(&w);
		CHECK(read_all(blob, len, nfields, &again, &rising, &smask2) == 0);
		CHECK(rising);
		CHECK(same(&got, &again, nfields));
		/* a blob the writer made: pack_find finds every entry */
		check_find(blob, len, nfields, &again, true);
		free(blob);
	}
	return 0;
}
