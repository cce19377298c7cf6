/*
 * fuzz-detail.c: libFuzzer target for the detail-blob reader of
 * daemon/pack.c (detail_each) on arbitrary bytes: the latest full
 * breakdown the daemon reads back out of its database.
 *
 * The input is the blob.  Oracles, each an abort():
 *  - nothing crashes; detail_each returns 0 or -EBADMSG, or what the
 *    callback returned, having stopped there;
 *  - every row's strings are readable and its order at most 64;
 *  - a blob that reads without error re-encodes (detail_writer) to a blob
 *    that reads as the same rows, and re-encodes again to the same bytes.
 */
// fuzz-sources: lib/*.c daemon/pack.c daemon/log.c
// fuzz-pkgs: libxxhash jansson libsystemd
// fuzz-seeds: tests/fuzz/seeds/detail
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/page-ownerd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do {							\
		if (!(x)) {						\
			fprintf(stderr, "fuzz-detail: %s:%d: %s\n",	\
			    __FILE__, __LINE__, #x);			\
			abort();					\
		}							\
	} while (0)

/* Rows as read, with copies of their strings (owned: 2 a row). */
struct rows {
	struct detail_row *v;
	char		**owned;
	size_t		 n, cap;
	size_t		 stop;		/* the callback returns 7 at this row, if > 0 */
};

static int
collect_cb(const struct detail_row *row, void *userdata)
{
	struct rows *r = userdata;
	struct detail_row *d;

	CHECK(row->comm != NULL && row->memcg != NULL);
	CHECK(row->order <= 64);
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		r->owned = realloc(r->owned, 2 * r->cap * sizeof(*r->owned));
		CHECK(r->v != NULL && r->owned != NULL);
	}
	r->owned[2 * r->n] = strdup(row->comm);
	r->owned[2 * r->n + 1] = strdup(row->memcg);
	CHECK(r->owned[2 * r->n] != NULL && r->owned[2 * r->n + 1] != NULL);
	d = &r->v[r->n];
	*d = *row;
	d->comm = r->owned[2 * r->n];
	d->memcg = r->owned[2 * r->n + 1];
	r->n++;
	if (r->stop > 0 && r->n == r->stop)
		return 7;
	return 0;
}

static void
rows_free(struct rows *r)
{
	for (size_t i = 0; i < 2 * r->n; i++)
		free(r->owned[i]);
	free(r->owned);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static bool
same_rows(const struct rows *a, const struct rows *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct detail_row *x = &a->v[i], *y = &b->v[i];

		if (x->stack != y->stack || x->order != y->order || x->gfp != y->gfp ||
		    x->pages != y->pages || x->blocks != y->blocks ||
		    x->ts_min != y->ts_min || strcmp(x->comm, y->comm) != 0 ||
		    strcmp(x->memcg, y->memcg) != 0)
			return false;
	}
	return true;
}

static void
encode(const struct rows *r, uint8_t **ret, size_t *ret_len)
{
	struct detail_writer *w = detail_writer_new();

	for (size_t i = 0; i < r->n; i++)
		detail_add(w, &r->v[i]);
	detail_finish(w, ret, ret_len);
	detail_writer_free(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rows a = { 0 }, b = { 0 }, c = { 0 };
	uint8_t *blob = NULL, *blob2 = NULL;
	size_t len = 0, len2 = 0;
	int ret;

	ret = detail_each(data, size, collect_cb, &a);
	CHECK(ret == 0 || ret == -EBADMSG);
	if (ret != 0) {
		rows_free(&a);
		return 0;
	}
	/* stopping at a row returns the callback's value, having read that far */
	if (a.n > 0) {
		c.stop = 1 + a.n / 2;
		CHECK(detail_each(data, size, collect_cb, &c) == 7);
		CHECK(c.n == c.stop);
		rows_free(&c);
	}

	encode(&a, &blob, &len);
	CHECK(detail_each(blob, len, collect_cb, &b) == 0);
	CHECK(same_rows(&a, &b));
	encode(&b, &blob2, &len2);
	CHECK(len2 == len && memcmp(blob, blob2, len) == 0);
	free(blob);
	free(blob2);
	rows_free(&a);
	rows_free(&b);
	return 0;
}
