/*
 * fuzz-parser.c: libFuzzer target for the page_owner record parser.
 *
 * The first two bytes pick where the rest is split (and a slice size), so
 * the fuzzer explores straddling records.  Oracles, each an abort():
 *  - one slice, two slices at the chosen split, and small slices give the
 *    same records (every field, offsets included) and the same statistics,
 *    whether records are handed over one at a time or in batches, and
 *    whether frames are scanned 32 or 16 bytes at a time;
 *  - every record the stream delivers reads the same through
 *    po_parse_record on its own bytes;
 *  - statistics add up (records = page + stack records, bytes = input).
 * Derived facts of each stack (signature, culprit) are computed too, so
 * that their code runs on whatever the parser lets through.
 */
// fuzz-sources: lib/*.c
// fuzz-pkgs: libxxhash
// fuzz-seeds: tests/fuzz/seeds/parser tests/fixtures
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "po.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do {							\
		if (!(x)) {						\
			fprintf(stderr, "fuzz-parser: %s:%d: %s\n",	\
			    __FILE__, __LINE__, #x);			\
			abort();					\
		}							\
	} while (0)

struct run {
	const char	*buf;	/* the whole input */
	size_t		 len;
	uint64_t	 hash;	/* of every record, in order */
	uint64_t	 n;
	bool		 cross;	/* check each record with po_parse_record */
};

static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	return po_hash_seeded(p, n, h);
}

static uint64_t
span_hash(uint64_t h, struct po_span s)
{
	uint64_t n = s.n;

	h = mix(h, &n, sizeof(n));
	return s.n ? mix(h, s.p, s.n) : h;
}

/* Every field but the offset; spans by content. */
static uint64_t
record_hash(const struct po_record *r)
{
	uint64_t h = 0;
	uint64_t v[] = { r->kind, r->features, r->order, r->gfp,
	    (uint64_t)(int64_t)r->pid, (uint64_t)(int64_t)r->tgid, r->ts,
	    r->free_ts, r->pfn, r->block, r->fallback, r->page_flags,
	    r->nframes, r->slab, r->memcg_offline, r->memcg_via_objcg,
	    r->has_handle, r->handle, r->has_nr_pages,
	    (uint64_t)r->nr_base_pages, r->unknown_lines };

	h = mix(h, v, sizeof(v));
	h = span_hash(h, r->gfp_names);
	h = span_hash(h, r->comm);
	h = span_hash(h, r->mt);
	h = span_hash(h, r->block_mt);
	h = span_hash(h, r->flag_names);
	h = span_hash(h, r->stack);
	h = span_hash(h, r->migrate_reason);
	h = span_hash(h, r->memcg);
	return h;
}

static void
touch_stack(struct po_span stack)
{
	struct po_stack_info si;
	char sig[64];
	size_t need;

	po_stack_describe(stack, &si);
	need = po_stack_signature(stack, sig, sizeof(sig));
	if (memchr(stack.p, '\0', stack.n) == NULL)
		CHECK(strlen(sig) == (need < sizeof(sig) ? need : sizeof(sig) - 1));
	if (si.culprit.n > 0)
		CHECK(si.culprit.p >= stack.p &&
		    si.culprit.p + si.culprit.n <= stack.p + stack.n);
}

static int
on_record(const struct po_record *r, void *userdata)
{
	struct run *run = userdata;
	uint64_t h = record_hash(r);

	CHECK(r->kind == PO_REC_PAGE || r->kind == PO_REC_STACK);
	CHECK(r->order <= 30);
	CHECK(r->offset < run->len);
	if (r->nframes > 0) {
		CHECK(r->stack.n > 0 && r->stack.p[r->stack.n - 1] == '\n');
		touch_stack(r->stack);
	} else {
		CHECK(r->has_handle);
	}

	if (run->cross) {
		/* the record alone, up to its blank line, reads the same */
		const char *s = run->buf + r->offset, *e = run->buf + run->len;
		const char *q = s;
		struct po_record one;
		enum po_malformed why;

		for (;;) {
			const char *nl = memchr(q, '\n', (size_t)(e - q));

			CHECK(nl != NULL);
			q = nl + 1;
			if (q == e || *q == '\n')
				break;
		}
		CHECK(po_parse_record(s, (size_t)(q - s), &one, &why) == 0);
		CHECK(record_hash(&one) == h);
	}
	h = mix(h, &r->offset, sizeof(r->offset));
	run->hash = mix(run->hash, &h, sizeof(h));
	run->n++;
	return 0;
}

static int
on_batch(const struct po_record *rs, size_t n, void *userdata)
{
	CHECK(n >= 1 && n <= PO_BATCH);
	for (size_t i = 0; i < n; i++)
		on_record(&rs[i], userdata);
	return 0;
}

static int
feed(struct po_parser *p, const char *buf, size_t len, bool batch,
    struct run *run)
{
	return batch ? po_parser_feed_batch(p, buf, len, on_batch, run) :
	    po_parser_feed(p, buf, len, on_record, run);
}

static void
parse(const char *buf, size_t len, size_t split, size_t slice, bool cross,
    bool batch, struct run *ret, struct po_parse_stats *ret_st)
{
	struct po_parser *p = NULL;

	memset(ret, 0, sizeof(*ret));
	ret->buf = buf;
	ret->len = len;
	ret->cross = cross;
	CHECK(po_parser_new(&p) == 0);
	if (slice > 0) {
		for (size_t off = 0; off < len; off += slice)
			CHECK(feed(p, buf + off,
			    len - off < slice ? len - off : slice, batch, ret) == 0);
	} else {
		CHECK(feed(p, buf, split, batch, ret) == 0);
		CHECK(feed(p, buf + split, len - split, batch, ret) == 0);
	}
	CHECK(po_parser_finish(p, on_record, ret) == 0);
	*ret_st = *po_parser_stats(p);
	po_parser_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run a, b, c, d;
	struct po_parse_stats sa, sb, sc, sd;
	const char *buf;
	size_t len, split, slice;
	char feat[256];

	if (size < 2)
		return 0;
	buf = (const char *)data + 2;
	len = size - 2;
	split = len ? ((size_t)data[0] << 8 | data[1]) % (len + 1) : 0;
	slice = 1 + data[1] % 23;

	parse(buf, len, len, 0, true, false, &a, &sa);
	parse(buf, len, split, 0, false, false, &b, &sb);
	setenv("PO_PARSE_NO_AVX2", "1", 1);	/* the 16-byte frame scan */
	parse(buf, len, 0, slice, false, true, &c, &sc);
	unsetenv("PO_PARSE_NO_AVX2");
	parse(buf, len, split, 0, false, true, &d, &sd);
	CHECK(a.n == b.n && a.hash == b.hash);
	CHECK(a.n == c.n && a.hash == c.hash);
	CHECK(a.n == d.n && a.hash == d.hash);
	CHECK(memcmp(&sa, &sb, sizeof(sa)) == 0);
	CHECK(memcmp(&sa, &sc, sizeof(sa)) == 0);
	CHECK(memcmp(&sa, &sd, sizeof(sa)) == 0);
	CHECK(sa.bytes == len);
	CHECK(sa.records == a.n);
	CHECK(sa.records == sa.page_records + sa.stack_records);
	CHECK((sa.malformed == 0) == (sa.first_bad == PO_BAD_NONE));
	CHECK(sa.malformed == 0 || sa.first_bad_offset < len);
	po_features_str(sa.features, feat, sizeof(feat));
	(void)po_era_str(sa.features);
	(void)po_malformed_str(sa.first_bad);

	/* the whole input as one record */
	{
		struct po_record r;
		enum po_malformed why = PO_BAD_NONE;

		if (po_parse_record(buf, len, &r, &why) == 0) {
			if (r.nframes > 0)
				touch_stack(r.stack);
		} else {
			CHECK(why > PO_BAD_NONE && why < PO__BAD_MAX);
		}
	}
	return 0;
}
