/*
 * test-parse.c: the streaming page_owner parser (lib/parse.c).
 *
 * Each fixture of tests/fixtures/ is parsed and every field of every record
 * is compared with the hand-written .expect; the same bytes are then fed
 * in every split position, in 1-byte slices and in random slices, and must
 * give the very same records (offsets included) and statistics.  Bad input
 * (generated here when too big to store) must be counted, never crash,
 * never loop, and not grow memory.  The real 6.12 capture is checked
 * against counts taken from the data by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <cmocka.h>

#include "tu.h"

/* ---- fixtures ----------------------------------------------------------- */

static struct fixture {
	const char	*name;
} fixtures[] = {
	{ "era-3.19-4.5.txt" },
	{ "era-4.6-5.10.txt" },
	{ "era-5.11-5.13.txt" },
	{ "era-5.14-5.17.txt" },
	{ "era-5.18-6.4.txt" },
	{ "era-6.5-6.6.txt" },
	{ "era-6.7.txt" },
	{ "era-mm2026-handle.txt" },
	{ "show_stacks-6.9.txt" },
	{ "show_handles-6.19.txt" },
	{ "show_stacks_handles-6.19.txt" },
	{ "show_handles-u32.txt" },
	{ "bad-truncated.txt" },
	{ "bad-garbage.txt" },
	{ "bad-crlf.txt" },
	{ "bad-binary.bin" },
	{ "bad-unknown-lines.txt" },
};

static char *
expect_name(const char *fixture)
{
	const char *dot = strrchr(fixture, '.');
	char *s = NULL;

	po_asprintf(&s, "%.*s.expect", (int)(dot - fixture), fixture);
	return s;
}

struct check_ctx {
	const char		*name;
	const struct tu_expect	*e;
	size_t			 n;	/* records seen */
	struct tu_buf		 plain;	/* records without offsets */
};

static int
check_cb(const struct po_record *r, void *userdata)
{
	struct check_ctx *c = userdata;
	char *s;

	if (c->e->nrecs > 0) {
		if (c->n >= c->e->nrecs)
			fail_msg("%s: more records than the %zu expected", c->name,
			    c->e->nrecs);
		tu_check_record(c->name, c->n, &c->e->recs[c->n], r);
	}
	s = tu_record_str(r, false);
	tu_buf_put(&c->plain, s, strlen(s));
	tu_buf_put(&c->plain, "\n", 1);
	free(s);
	c->n++;
	return 0;
}

static void
check_stat(const char *name, const struct tu_expect *e, const char *key,
    uint64_t got)
{
	const struct tu_kv *kv = tu_need(&e->top, key);

	if (got != tu_u64(kv->val))
		fail_msg("%s: %s is %" PRIu64 ", want %s", name, key, got, kv->val);
}

/*
 * The chunks of a file: runs of non-empty lines.  Each is handed to
 * po_parse_record on its own; its verdict is compared with "reasons" and
 * its record with the streaming parser's.
 */
static void
check_chunks(const char *name, const char *data, size_t len,
    const struct tu_expect *e, const char *stream_plain)
{
	const struct tu_kv *reasons = tu_get(&e->top, "reasons");
	struct tu_buf got = { 0 }, plain = { 0 };
	const char *p = data, *end = data + len;

	tu_buf_put(&plain, "", 0);
	while (p < end) {
		const char *s, *q;
		struct po_record r;
		enum po_malformed why = PO_BAD_NONE;
		int rc;

		while (p < end && *p == '\n')
			p++;
		if (p == end)
			break;
		s = q = p;
		for (;;) {
			const char *nl = memchr(q, '\n', (size_t)(end - q));

			if (nl == NULL) {
				q = end;
				break;
			}
			q = nl + 1;
			if (q == end || *q == '\n')
				break;
		}
		rc = po_parse_record(s, (size_t)(q - s), &r, &why);
		if (rc == 0) {
			char *str = tu_record_str(&r, false);

			why = PO_BAD_NONE;
			tu_buf_put(&plain, str, strlen(str));
			tu_buf_put(&plain, "\n", 1);
			free(str);
		} else {
			assert_int_equal(rc, -EINVAL);
		}
		tu_buf_printf(&got, "%s%s", got.n ? "," : "", tu_reason_name(why));
		p = q;
	}
	if (reasons != NULL && strcmp(got.p != NULL ? got.p : "", reasons->val) != 0)
		fail_msg("%s: po_parse_record verdicts '%s', want '%s'", name,
		    got.p, reasons->val);
	/* one record alone reads the same as in the stream */
	assert_string_equal(plain.p, stream_plain);
	free(got.p);
	free(plain.p);
}

static void
test_fixture(void **state)
{
	const char *name = ((struct fixture *)*state)->name;
	char *ename = expect_name(name);
	struct check_ctx c = { name, NULL, 0, { 0 } };
	struct tu_expect e;
	struct po_parser *p = NULL;
	const struct po_parse_stats *st;
	size_t len = 0;
	char *data = tu_read_fixture(name, &len);
	const struct tu_kv *kv;

	tu_expect_load(ename, &e);
	c.e = &e;
	tu_buf_put(&c.plain, "", 0);
	assert_int_equal(po_parser_new(&p), 0);
	assert_int_equal(po_parser_feed(p, data, len, check_cb, &c), 0);
	assert_int_equal(po_parser_finish(p, check_cb, &c), 0);
	st = po_parser_stats(p);

	if (e.nrecs > 0 && c.n != e.nrecs)
		fail_msg("%s: %zu records, want %zu", name, c.n, e.nrecs);
	check_stat(name, &e, "records", st->records);
	check_stat(name, &e, "page_records", st->page_records);
	check_stat(name, &e, "stack_records", st->stack_records);
	check_stat(name, &e, "pages", st->pages);
	check_stat(name, &e, "malformed", st->malformed);
	check_stat(name, &e, "unknown_lines", st->unknown_lines);
	check_stat(name, &e, "pfn_unsorted", st->pfn_unsorted);
	assert_int_equal(st->bytes, len);
	assert_int_equal(st->records, c.n);
	assert_int_equal(st->records, st->page_records + st->stack_records);
	kv = tu_need(&e.top, "features");
	if (st->features != tu_features_parse(kv->val))
		fail_msg("%s: features %#x, want %#x (%s)", name, st->features,
		    tu_features_parse(kv->val), kv->val);
	kv = tu_need(&e.top, "era");
	assert_string_equal(po_era_str(st->features), kv->val);
	if ((kv = tu_get(&e.top, "first_bad")) != NULL) {
		assert_string_equal(tu_reason_name(st->first_bad), kv->val);
		check_stat(name, &e, "first_bad_offset", st->first_bad_offset);
	} else {
		assert_int_equal(st->malformed, 0);
		assert_int_equal(st->first_bad, PO_BAD_NONE);
	}
	check_chunks(name, data, len, &e, c.plain.p);

	po_parser_free(p);
	free(c.plain.p);
	tu_expect_free(&e);
	free(ename);
	free(data);
}

/* ---- slicing: the same input in any slices gives the same parse --------- */

static void
assert_same_parse(const char *what, const char *data, size_t len,
    const size_t *cut, size_t ncut, const char *want_recs, const char *want_st)
{
	char *recs, *st;

	tu_parse_sliced(data, len, cut, ncut, &recs, &st);
	if (strcmp(recs, want_recs) != 0 || strcmp(st, want_st) != 0)
		fail_msg("%s: slices %zu,%zu,... parse differently:\n"
		    "stats %s\nwant  %s\nrecords:\n%s\nwant:\n%s", what,
		    ncut ? cut[0] : len, ncut > 1 ? cut[1] : 0, st, want_st,
		    recs, want_recs);
	free(recs);
	free(st);
}

/* Every 2-way split, 1-byte slices, and random slices. */
static void
check_split_invariance(const char *what, const char *data, size_t len,
    bool every_split, uint64_t seed, int random_runs)
{
	char *want_recs, *want_st;
	size_t one = 1, cut[64];

	tu_parse_sliced(data, len, NULL, 0, &want_recs, &want_st);
	if (every_split)
		for (size_t i = 0; i <= len; i++) {
			size_t two[2] = { i, len };

			assert_same_parse(what, data, len, two, 2, want_recs, want_st);
		}
	assert_same_parse(what, data, len, &one, 1, want_recs, want_st);
	for (int run = 0; run < random_runs; run++) {
		size_t ncut = 1 + tu_rand(&seed) % PO_ARRAY_SIZE(cut);
		uint64_t span = 1 + tu_rand(&seed) % 300;

		for (size_t i = 0; i < ncut; i++)
			cut[i] = 1 + tu_rand(&seed) % span;
		assert_same_parse(what, data, len, cut, ncut, want_recs, want_st);
	}
	free(want_recs);
	free(want_st);
}

static void
test_fixture_slices(void **state)
{
	const char *name = ((struct fixture *)*state)->name;
	size_t len = 0;
	char *data = tu_read_fixture(name, &len);

	check_split_invariance(name, data, len, true, 0x9e3779b97f4a7c15u, 40);
	free(data);
}

/* All fixtures back to back: records straddle slices of every size. */
static void
test_all_fixtures_slices(void **state)
{
	struct tu_buf all = { 0 };

	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(fixtures); i++) {
		size_t len = 0;
		char *data = tu_read_fixture(fixtures[i].name, &len);

		/* bad-truncated ends inside a record: keep it out */
		if (strcmp(fixtures[i].name, "bad-truncated.txt") == 0) {
			free(data);
			continue;
		}
		tu_buf_put(&all, data, len);
		tu_buf_put(&all, "\n", 1);
		free(data);
	}
	check_split_invariance("all fixtures", all.p, all.n, false, 42, 300);
	free(all.p);
}

/* ---- generated bad input ------------------------------------------------ */

static const char good_rec[] =
	"Page allocated via order 0, mask 0x2cc0(GFP_KERNEL|__GFP_NOWARN), pid 1, tgid 1 (init), ts 5 ns\n"
	"PFN 0x10 type Unmovable Block 0 type Unmovable Flags 0x0(node=0|zone=0)\n"
	" leaker_leak_pages+0x48/0x70 [leaker]\n"
	"\n";

static void
put_good(struct tu_buf *b, uint64_t pfn)
{
	tu_buf_printf(b,
	    "Page allocated via order 1, mask 0x2cc0(GFP_KERNEL|__GFP_NOWARN), pid 1, tgid 1 (init), ts 5 ns\n"
	    "PFN %#" PRIx64 " type Unmovable Block 0 type Unmovable Flags 0x0(node=0|zone=0)\n"
	    " leaker_leak_pages+0x48/0x70 [leaker]\n\n", pfn);
}

static void
parse_once(const char *data, size_t len, struct po_parse_stats *ret)
{
	struct po_parser *p = NULL;

	assert_int_equal(po_parser_new(&p), 0);
	assert_int_equal(po_parser_feed(p, data, len, NULL, NULL), 0);
	assert_int_equal(po_parser_finish(p, NULL, NULL), 0);
	*ret = *po_parser_stats(p);
	po_parser_free(p);
}

/* A line longer than a record may be (64 KiB) spoils only its record. */
static void
test_overlong_line(void **state)
{
	struct tu_buf b = { 0 };
	struct po_parse_stats st;
	size_t bad_off;

	(void)state;
	put_good(&b, 0x10);
	bad_off = b.n;
	tu_buf_put(&b, "Page allocated via order 0, mask 0x0(), pid 0, tgid 0 (", 55);
	for (int i = 0; i < 70000; i++)
		tu_buf_put(&b, "x", 1);
	tu_buf_put(&b, "), ts 1 ns\nPFN 0x11 type Unmovable Block 0 type Unmovable "
	    "Flags 0x0()\n frame+0x1/0x2\n\n", 86);
	put_good(&b, 0x12);

	parse_once(b.p, b.n, &st);
	assert_int_equal(st.records, 2);
	assert_int_equal(st.pages, 4);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.first_bad, PO_BAD_TOO_LONG);
	assert_int_equal(st.first_bad_offset, bad_off);
	check_split_invariance("over-long line", b.p, b.n, false, 7, 20);
	free(b.p);
}

static void
put_lines_record(struct tu_buf *b, unsigned nlines)
{
	tu_buf_printf(b, "Page allocated via order 0, mask 0x0(), pid 0, tgid 0 "
	    "(swapper), ts 1 ns\nPFN 0x1 type Unmovable Block 0 type Unmovable "
	    "Flags 0x0()\n");
	for (unsigned i = 2; i < nlines; i++)
		tu_buf_printf(b, " f%u+0x1/0x2\n", i);
	tu_buf_put(b, "\n", 1);
}

/* PO_MAX_LINES (512) lines is a record; one more is not. */
static void
test_line_limit(void **state)
{
	static const unsigned counts[] = { 512, 513, 600 };
	struct po_parse_stats st;

	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(counts); i++) {
		struct tu_buf b = { 0 };
		struct po_record r;
		enum po_malformed why = PO_BAD_NONE;
		int rc;

		put_lines_record(&b, counts[i]);
		put_good(&b, 0x20);
		parse_once(b.p, b.n, &st);
		if (counts[i] <= PO_MAX_LINES) {
			assert_int_equal(st.records, 2);
			assert_int_equal(st.malformed, 0);
		} else {
			assert_int_equal(st.records, 1);
			assert_int_equal(st.malformed, 1);
			assert_int_equal(st.first_bad, PO_BAD_TOO_LONG);
			assert_int_equal(st.first_bad_offset, 0);
		}
		/* the one-record parser draws the same line */
		rc = po_parse_record(b.p, b.n, &r, &why);
		if (counts[i] <= PO_MAX_LINES) {
			assert_int_equal(rc, 0);
			assert_int_equal(r.nframes, counts[i] - 2);
		} else {
			assert_int_equal(rc, -EINVAL);
			assert_int_equal(why, PO_BAD_TOO_LONG);
		}
		check_split_invariance("line limit", b.p, b.n, false, counts[i], 10);
		free(b.p);
	}
}

/*
 * A record of exactly `size` bytes including its blank line, made of an
 * allocation line, a PFN line and one long frame line.
 */
static void
put_sized_record(struct tu_buf *b, size_t size)
{
	static const char head[] =
	    "Page allocated via order 0, mask 0x0(), pid 0, tgid 0 (swapper), ts 1 ns\n"
	    "PFN 0x1 type Unmovable Block 0 type Unmovable Flags 0x0()\n"
	    " f";
	size_t fill = size - (sizeof(head) - 1) - 2;

	tu_buf_put(b, head, sizeof(head) - 1);
	for (size_t i = 0; i < fill; i++)
		tu_buf_put(b, "y", 1);
	tu_buf_put(b, "\n\n", 2);
}

/*
 * The kernel formats a record into at most one (64 KiB) page with its
 * blank line: PO_MAX_RECORD bytes with it is a record, one more is not,
 * however the input is sliced.
 */
static void
test_record_size_limit(void **state)
{
	static const size_t sizes[] = { PO_MAX_RECORD - 1, PO_MAX_RECORD,
	    PO_MAX_RECORD + 1, PO_MAX_RECORD + 2 };

	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(sizes); i++) {
		struct tu_buf b = { 0 };
		struct po_parse_stats st;
		struct po_record r;
		enum po_malformed why = PO_BAD_NONE;
		size_t half[2] = { 100, SIZE_MAX };
		char *recs, *sts, *recs2, *sts2;
		bool fits = sizes[i] <= PO_MAX_RECORD;

		put_sized_record(&b, sizes[i]);
		assert_int_equal(b.n, sizes[i]);
		put_good(&b, 0x30);
		parse_once(b.p, b.n, &st);
		assert_int_equal(st.records, fits ? 2 : 1);
		assert_int_equal(st.malformed, fits ? 0 : 1);
		if (!fits)
			assert_int_equal(st.first_bad, PO_BAD_TOO_LONG);
		assert_int_equal(po_parse_record(b.p, sizes[i], &r, &why),
		    fits ? 0 : -EINVAL);
		if (!fits)
			assert_int_equal(why, PO_BAD_TOO_LONG);

		/* a record carried over from an earlier slice: same verdict */
		tu_parse_sliced(b.p, b.n, NULL, 0, &recs, &sts);
		tu_parse_sliced(b.p, b.n, half, 2, &recs2, &sts2);
		assert_string_equal(recs2, recs);
		assert_string_equal(sts2, sts);
		free(recs);
		free(sts);
		free(recs2);
		free(sts2);
		free(b.p);
	}
}

static size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/*
 * 16 MiB without a record end: one malformed record, memory stays put, and
 * the parser finds its feet at the next blank line.
 */
static void
test_unterminated_junk(void **state)
{
	static char chunk[65536];
	struct po_parser *p = NULL;
	const struct po_parse_stats *st;
	size_t before, after, n = 0;
	struct tu_buf b = { 0 };

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	for (size_t i = 0; i < sizeof(chunk); i += 4096)
		chunk[i] = '\n';	/* lines, but never an empty one */
	chunk[0] = 'P';
	assert_int_equal(po_parser_new(&p), 0);
	before = heap_in_use();
	for (int i = 0; i < 256; i++)
		assert_int_equal(po_parser_feed(p, chunk, sizeof(chunk), NULL, NULL), 0);
	after = heap_in_use();
	if (before != 0 && after > before + 65536)
		fail_msg("heap grew from %zu to %zu bytes on junk", before, after);
	put_good(&b, 0x40);
	assert_int_equal(po_parser_feed(p, "\n\n", 2, NULL, NULL), 0);
	assert_int_equal(po_parser_feed(p, b.p, b.n, NULL, NULL), 0);
	assert_int_equal(po_parser_finish(p, NULL, NULL), 0);
	st = po_parser_stats(p);
	assert_int_equal(st->records, 1);
	assert_int_equal(st->malformed, 1);
	assert_int_equal(st->first_bad, PO_BAD_TOO_LONG);
	assert_int_equal(st->first_bad_offset, 0);
	assert_int_equal(st->bytes, 256 * sizeof(chunk) + 2 + b.n);
	(void)n;
	po_parser_free(p);
	free(b.p);
}

/*
 * Random bytes with newlines, blank lines and pieces of real records
 * mixed in: any slicing parses the same, and every byte is accounted.
 */
static void
test_random_junk(void **state)
{
	static const char *const pieces[] = {
		"Page allocated via order ", "PFN 0x", " type Movable Block ",
		" Flags 0x", "(", ")", ", pid ", ", tgid ", ", ts ", " ns",
		", free_ts ", "nr_base_pages: ", "handle: ", " sym+0x1/0x2",
		" [mod]", "Charged (via objcg) to offline memcg ", "Slab cache page",
		"Page has been migrated, last migrate reason: ", "\n", "\n\n",
		"\r\n", "0", "9", "-", " ", "\0",
	};
	uint64_t seed = 0x1234567;

	(void)state;
	for (int round = 0; round < 8; round++) {
		struct tu_buf b = { 0 };

		while (b.n < (size_t)64 * 1024) {
			uint64_t x = tu_rand(&seed);

			if (x % 3 == 0) {
				const char *s = pieces[(x >> 8) % PO_ARRAY_SIZE(pieces)];
				size_t n = *s ? strlen(s) : 1;

				tu_buf_put(&b, s, n);
			} else if (x % 3 == 1) {
				tu_buf_put(&b, good_rec, sizeof(good_rec) - 1 -
				    (size_t)((x >> 16) % 3 == 0 ? (x >> 20) % 40 : 0));
			} else {
				char c = (char)(x >> 24);

				tu_buf_put(&b, &c, 1);
			}
		}
		check_split_invariance("random junk", b.p, b.n, false, seed, 12);
		free(b.p);
	}
}

/* A file whose last record has no blank line is cut short. */
static void
test_truncated_end(void **state)
{
	struct po_parse_stats st;
	size_t n = sizeof(good_rec) - 2;	/* drop the blank line */

	(void)state;
	parse_once(good_rec, n, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.first_bad, PO_BAD_TRUNCATED);
	parse_once(good_rec, sizeof(good_rec) - 1, &st);
	assert_int_equal(st.records, 1);
	assert_int_equal(st.malformed, 0);
	/* nothing at all, and blank lines alone, are no records */
	parse_once("", 0, &st);
	assert_int_equal(st.records + st.malformed, 0);
	parse_once("\n\n\n\n", 4, &st);
	assert_int_equal(st.records + st.malformed, 0);
	assert_int_equal(st.bytes, 4);
}

/*
 * The 6.19 stacks files end every record with one blank line, put by
 * seq_putc after whatever lines the file prints: show_handles' last record
 * without it is cut short, a show_stacks_handles record (no count) ends
 * at it like any other, and each handle is the u32 of the %d printed.
 */
static void
test_handles_blank_line(void **state)
{
	static const char sh[] = "handle: 7\nnr_base_pages: 3\n\nhandle: -1\nnr_base_pages: 2\n";
	static const char ssh[] = " a+0x1/0x2\nhandle: -2\n\n b+0x1/0x2\n c+0x3/0x4\nhandle: 9\n\n";
	static const char big[] = "handle: 4294967296\nnr_base_pages: 1\n\n";
	static const char low[] = "handle: -2147483649\nnr_base_pages: 1\n\n";
	static const char word[] = " a+0x1/0x2\nhandle: x1\nnr_base_pages: 1\n\n";
	struct po_parse_stats st;
	struct po_record r;
	enum po_malformed why;

	(void)state;
	parse_once(sh, sizeof(sh) - 1, &st);
	assert_int_equal(st.records, 1);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.first_bad, PO_BAD_TRUNCATED);
	assert_int_equal(st.pages, 3);
	parse_once(ssh, sizeof(ssh) - 1, &st);
	assert_int_equal(st.stack_records, 2);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(po_parse_record(ssh, strlen(" a+0x1/0x2\nhandle: -2\n\n"), &r,
	    &why), 0);
	assert_true(r.has_handle);
	assert_int_equal(r.handle, UINT32_MAX - 1);
	assert_int_equal(r.nframes, 1);
	assert_false(r.has_nr_pages);
	/* a number that is no u32 spoils the record; a word is an unknown line */
	assert_int_not_equal(po_parse_record(big, strlen(big), &r, &why), 0);
	assert_int_equal(why, PO_BAD_HANDLE);
	assert_int_not_equal(po_parse_record(low, strlen(low), &r, &why), 0);
	assert_int_equal(why, PO_BAD_HANDLE);
	assert_int_equal(po_parse_record(word, strlen(word), &r, &why), 0);
	assert_false(r.has_handle);
	assert_int_equal(r.unknown_lines, 1);
}

/* ---- callback, offsets, order, reset ------------------------------------ */

struct stop_ctx {
	int	seen;
	int	stop_at;
};

static int
stop_cb(const struct po_record *r, void *userdata)
{
	struct stop_ctx *c = userdata;

	(void)r;
	return ++c->seen == c->stop_at ? 7 : 0;
}

static int
stop_batch_cb(const struct po_record *rs, size_t n, void *userdata)
{
	struct stop_ctx *c = userdata;

	(void)rs;
	assert_true(n >= 1 && n <= PO_BATCH);
	return ++c->seen == 1 ? 7 : 0;
}

static void
test_callback_stop(void **state)
{
	size_t len = 0;
	char *data = tu_read_fixture("era-6.7.txt", &len);
	struct stop_ctx c = { 0, 2 };
	struct po_parser *p = NULL;

	(void)state;
	assert_int_equal(po_parser_new(&p), 0);
	assert_int_equal(po_parser_feed(p, data, len, stop_cb, &c), 7);
	assert_int_equal(c.seen, 2);
	po_parser_free(p);

	/* the stop also comes through when the record was carried over */
	c.seen = 0;
	assert_int_equal(po_parser_new(&p), 0);
	assert_int_equal(po_parser_feed(p, data, 700, stop_cb, &c), 0);
	assert_int_equal(po_parser_feed(p, data + 700, len - 700, stop_cb, &c), 7);
	assert_int_equal(c.seen, 2);
	po_parser_free(p);

	/* a batch callback stops the feed the same way */
	c.seen = 0;
	assert_int_equal(po_parser_new(&p), 0);
	assert_int_equal(po_parser_feed_batch(p, data, len, stop_batch_cb, &c), 7);
	assert_int_equal(c.seen, 1);
	po_parser_free(p);
	free(data);
}

struct off_ctx {
	const char	*data;
	size_t		 n;
	uint64_t	 offs[16];
};

static int
off_cb(const struct po_record *r, void *userdata)
{
	struct off_ctx *c = userdata;

	assert_true(c->n < PO_ARRAY_SIZE(c->offs));
	c->offs[c->n++] = r->offset;
	return 0;
}

/* A record's offset is where its first line starts in the input. */
static void
test_offsets(void **state)
{
	size_t len, n = 0;
	char *data = tu_read_fixture("era-6.7.txt", &len);
	struct off_ctx c = { data, 0, { 0 } };
	struct po_parser *p = NULL;
	const char *q = data;

	(void)state;
	assert_int_equal(po_parser_new(&p), 0);
	for (size_t off = 0; off < len; off += 97)
		assert_int_equal(po_parser_feed(p, data + off,
		    len - off < 97 ? len - off : 97, off_cb, &c), 0);
	assert_int_equal(c.n, 5);
	while ((q = memmem(q, len - (size_t)(q - data), "Page allocated", 14)) != NULL) {
		assert_int_equal(c.offs[n], (uint64_t)(q - data));
		n++;
		q++;
	}
	assert_int_equal(n, 5);
	po_parser_free(p);
	free(data);
}

/* PFNs that go backwards are counted once per step back. */
static void
test_pfn_unsorted(void **state)
{
	struct tu_buf b = { 0 };
	struct po_parse_stats st;

	(void)state;
	put_good(&b, 0x50);
	put_good(&b, 0x30);	/* back */
	put_good(&b, 0x40);
	put_good(&b, 0x40);	/* equal is not backwards */
	put_good(&b, 0x10);	/* back */
	parse_once(b.p, b.n, &st);
	assert_int_equal(st.records, 5);
	assert_int_equal(st.pfn_unsorted, 2);
	free(b.p);
}

static void
test_reset(void **state)
{
	size_t len = 0;
	char *data = tu_read_fixture("era-5.18-6.4.txt", &len);
	struct po_parser *p = NULL;
	struct po_parse_stats first;
	const struct po_parse_stats *st;

	(void)state;
	assert_int_equal(po_parser_new(&p), 0);
	assert_int_equal(po_parser_feed(p, data, len, NULL, NULL), 0);
	assert_int_equal(po_parser_finish(p, NULL, NULL), 0);
	first = *po_parser_stats(p);
	assert_int_equal(first.records, 4);

	/* reset in the middle of a record: the carried half is dropped */
	po_parser_reset(p);
	assert_int_equal(po_parser_feed(p, data, 300, NULL, NULL), 0);
	po_parser_reset(p);
	st = po_parser_stats(p);
	assert_int_equal(st->records + st->malformed + st->bytes, 0);
	assert_int_equal(po_parser_feed(p, data, len, NULL, NULL), 0);
	assert_int_equal(po_parser_finish(p, NULL, NULL), 0);
	st = po_parser_stats(p);
	assert_memory_equal(st, &first, sizeof(first));
	po_parser_free(p);
	po_parser_free(NULL);
	free(data);
}

/* ---- po_parse_record alone ---------------------------------------------- */

static void
test_parse_record(void **state)
{
	static const char rec[] =
	    "Page allocated via order 3, mask 0x0(), pid 0, tgid 0 (swapper), ts 1 ns\n"
	    "PFN 0x8 type Unmovable Block 0 type Unmovable Flags 0x0()\n"
	    " a+0x1/0x2\n";
	struct po_record r;
	enum po_malformed why = PO_BAD_NONE;

	(void)state;
	/* the blank line is optional, and what follows it is not read */
	assert_int_equal(po_parse_record(rec, sizeof(rec) - 1, &r, &why), 0);
	assert_int_equal(r.order, 3);
	assert_int_equal(r.pfn, 8);
	{
		char two[sizeof(rec) * 2 + 1];

		memcpy(two, rec, sizeof(rec) - 1);
		two[sizeof(rec) - 1] = '\n';
		memcpy(two + sizeof(rec), rec, sizeof(rec) - 1);
		assert_int_equal(po_parse_record(two, sizeof(two) - 1, &r, NULL), 0);
		assert_int_equal(r.nframes, 1);
	}
	/* the last frame without its newline may be cut */
	assert_int_equal(po_parse_record(rec, sizeof(rec) - 2, &r, &why), -EINVAL);
	assert_int_equal(why, PO_BAD_TRUNCATED);
	assert_int_equal(po_parse_record(rec, 0, &r, NULL), -EINVAL);
	assert_int_equal(po_parse_record("\n\n", 2, &r, &why), -EINVAL);
	assert_int_equal(why, PO_BAD_START);
	/* a first line cut short, and a first line alone */
	assert_int_equal(po_parse_record(rec, 30, &r, &why), -EINVAL);
	assert_int_equal(why, PO_BAD_ALLOC_LINE);
	assert_int_equal(po_parse_record(rec, 73, &r, &why), -EINVAL);
	assert_int_equal(why, PO_BAD_PFN_LINE);
}

/*
 * Frame lines after a line that is not one are unknown lines, one each:
 * the stream parser scans a run of frame lines as one piece and must
 * count it line by line, as po_parse_record does (a fuzz finding).
 */
struct unknown_seen {
	unsigned	records;
	unsigned	unknown;
	unsigned	nframes;
};

static int
on_unknown(const struct po_record *r, void *userdata)
{
	struct unknown_seen *u = userdata;

	u->records++;
	u->unknown += r->unknown_lines;
	u->nframes += r->nframes;
	return 0;
}

static void
test_frames_after_trailer(void **state)
{
	static const char *const recs[] = {
		" a+0x1/0x2\n b+0x1/0x2\nJunk line\n c+0x1/0x2\n d+0x1/0x2\n"
		"  e+0x1/0x2\nnr_base_pages: 5\n\n",
		"Page allocated via order 0, mask 0x0(), pid 1, tgid 1 (x), ts 1 ns\n"
		"PFN 0x8 type Unmovable Block 0 type Unmovable Flags 0x0()\n"
		" a+0x1/0x2\nSlab cache page\n c+0x1/0x2\n d+0x1/0x2\nJunk\n"
		" e+0x1/0x2\n\n",
	};
	static const unsigned want_unknown[] = { 4, 4 }, want_frames[] = { 2, 1 };

	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(recs); i++) {
		struct unknown_seen u = { 0 };
		struct po_parser *p = NULL;
		struct po_record r;
		size_t len = strlen(recs[i]);

		assert_int_equal(po_parser_new(&p), 0);
		assert_int_equal(po_parser_feed(p, recs[i], len, on_unknown, &u), 0);
		assert_int_equal(po_parser_finish(p, on_unknown, &u), 0);
		po_parser_free(p);
		assert_int_equal(u.records, 1);
		assert_int_equal(u.unknown, want_unknown[i]);
		assert_int_equal(u.nframes, want_frames[i]);
		assert_int_equal(po_parse_record(recs[i], len, &r, NULL), 0);
		assert_int_equal(r.unknown_lines, want_unknown[i]);
		assert_int_equal(r.nframes, want_frames[i]);
		check_split_invariance("frames after a trailer", recs[i], len, true, 1, 4);
	}
}

/* ---- allocation line details the fixtures do not reach ---------------- */

static void
parse_line_pair(const char *l1, const char *l2, int want_rc,
    enum po_malformed want_why, struct po_record *r)
{
	static char s[1024];	/* r's spans point in here until the next call */
	enum po_malformed why = PO_BAD_NONE;
	int rc, n;

	n = snprintf(s, sizeof(s), "%s\n%s\n f+0x1/0x2\n", l1, l2);
	assert_true(n > 0 && (size_t)n < sizeof(s));
	rc = po_parse_record(s, (size_t)n, r, &why);
	if (rc != want_rc || (rc != 0 && why != want_why))
		fail_msg("'%s' / '%s': rc %d why %s, want rc %d why %s", l1, l2,
		    rc, tu_reason_name(why), want_rc, tu_reason_name(want_why));
}

static void
test_alloc_line_edges(void **state)
{
	static const char pfn[] = "PFN 0x1 type Movable Block 0 type Movable Flags 0x0()";
	struct po_record r;

	(void)state;
	/* comm that is a whole fake tail "x), ts 1 ns" (11 bytes) */
	parse_line_pair("Page allocated via order 0, mask 0x0(), pid 3, tgid 4 (x), ts 1 ns), ts 77 ns",
	    pfn, 0, PO_BAD_NONE, &r);
	tu_check_span("edge", 0, "comm", r.comm, "x), ts 1 ns", 11);
	assert_int_equal(r.ts, 77);
	assert_int_equal(r.pid, 3);
	assert_int_equal(r.tgid, 4);
	/* comm ending in ')' */
	parse_line_pair("Page allocated via order 0, mask 0x0(), pid 3, tgid 4 (f(o)), ts 9 ns, free_ts 9 ns",
	    pfn, 0, PO_BAD_NONE, &r);
	tu_check_span("edge", 0, "comm", r.comm, "f(o)", 4);
	assert_int_equal(r.free_ts, 9);
	/* an empty comm */
	parse_line_pair("Page allocated via order 0, mask 0x0(), pid 3, tgid 4 (), ts 9 ns",
	    pfn, 0, PO_BAD_NONE, &r);
	assert_int_equal(r.comm.n, 0);
	assert_true(r.features & PO_F_TGID);
	/* largest values the formats can carry */
	parse_line_pair("Page allocated via order 30, mask 0xffffffff(GFP_X|0xfffff000), pid 2147483647, tgid 2147483647 (c), ts 18446744073709551615 ns",
	    "PFN 0xffffffffffffffff type Movable Block 18446744073709551615 type Movable Flags 0xffffffffffffffff(x)",
	    0, PO_BAD_NONE, &r);
	assert_int_equal(r.order, 30);
	assert_int_equal(r.gfp, 0xffffffffu);
	assert_int_equal(r.pid, INT32_MAX);
	assert_true(r.ts == UINT64_MAX);
	assert_true(r.pfn == UINT64_MAX);
	assert_true(r.block == UINT64_MAX);
	assert_true(r.page_flags == UINT64_MAX);
	/* order 31 cannot be counted in pages */
	parse_line_pair("Page allocated via order 31, mask 0x0()", pfn, -EINVAL,
	    PO_BAD_ORDER, &r);
	/* 17 hex digits do not fit */
	parse_line_pair("Page allocated via order 0, mask 0x10000000000000000()", pfn,
	    -EINVAL, PO_BAD_ALLOC_LINE, &r);
	parse_line_pair("Page allocated via order 0, mask 0x0()",
	    "PFN 0x10000000000000000 type Movable Block 0 type Movable Flags 0x0()",
	    -EINVAL, PO_BAD_PFN_LINE, &r);
	/* names without their closing parenthesis */
	parse_line_pair("Page allocated via order 0, mask 0x10(GFP_X", pfn, -EINVAL,
	    PO_BAD_ALLOC_LINE, &r);
	/* ts without " ns", free_ts without a number */
	parse_line_pair("Page allocated via order 0, mask 0x0(), pid 1, ts 5", pfn,
	    -EINVAL, PO_BAD_ALLOC_LINE, &r);
	parse_line_pair("Page allocated via order 0, mask 0x0(), pid 1, ts 5 ns, free_ts x ns",
	    pfn, -EINVAL, PO_BAD_ALLOC_LINE, &r);
	/* tgid without a comm */
	parse_line_pair("Page allocated via order 0, mask 0x0(), pid 1, tgid 1, ts 5 ns",
	    pfn, -EINVAL, PO_BAD_ALLOC_LINE, &r);
	/* a CRLF line end is no field of a newer kernel; ", x 1" may be */
	parse_line_pair("Page allocated via order 0, mask 0x0(), pid 1, tgid 1 (a), ts 5 ns\r",
	    pfn, -EINVAL, PO_BAD_ALLOC_LINE, &r);
	parse_line_pair("Page allocated via order 0, mask 0x0\r", pfn, -EINVAL,
	    PO_BAD_ALLOC_LINE, &r);
	parse_line_pair("Page allocated via order 0, mask 0x0(), pid 1, tgid 1 (a), ts 5 ns, nid 0",
	    pfn, 0, PO_BAD_NONE, &r);
	assert_int_equal(r.unknown_lines, 1);
	assert_int_equal(r.ts, 5);
	/* PFN line pieces */
	parse_line_pair("Page allocated via order 0, mask 0x0()",
	    "PFN 1 type Movable Block x type Movable Flags 0x0()", -EINVAL,
	    PO_BAD_PFN_LINE, &r);
	parse_line_pair("Page allocated via order 0, mask 0x0()",
	    "PFN 1 type Movable Block 0 type Movable", -EINVAL, PO_BAD_PFN_LINE, &r);
	parse_line_pair("Page allocated via order 0, mask 0x0()",
	    "PFN 1 Block 0 type Movable Flags   R         ", -EINVAL,
	    PO_BAD_PFN_LINE, &r);
	parse_line_pair("Page allocated via order 0, mask 0x0()",
	    "PFN 1 Block 0 type 1 Fallback", -EINVAL, PO_BAD_PFN_LINE, &r);
	/* a v3.19 "Fallback" record and the default eight spaces */
	parse_line_pair("Page allocated via order 0, mask 0x0",
	    "PFN 1 Block 0 type 3 Fallback Flags K           ", 0, PO_BAD_NONE, &r);
	assert_true(r.fallback);
	tu_check_span("edge", 0, "flag_names", r.flag_names, "K           ", 12);
	tu_check_span("edge", 0, "block_mt", r.block_mt, "3", 1);
	assert_int_equal(r.features & PO_F_GFP_NAMES, 0);
}

/* ---- strings ------------------------------------------------------------ */

static void
test_strings(void **state)
{
	char buf[256], small[8];

	(void)state;
	for (int i = 0; i < PO__BAD_MAX; i++) {
		const char *s = po_malformed_str((enum po_malformed)i);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		assert_string_not_equal(s, "unknown error");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(s, po_malformed_str((enum po_malformed)j));
	}
	assert_string_equal(po_malformed_str(PO__BAD_MAX), "unknown error");
	assert_string_equal(po_malformed_str((enum po_malformed)-1), "unknown error");

	for (size_t i = 0; i < PO_ARRAY_SIZE(tu_feature_names); i++) {
		po_features_str(tu_feature_names[i].bit, buf, sizeof(buf));
		assert_string_equal(buf, tu_feature_names[i].name);
	}
	po_features_str(PO_F_PID | PO_F_TS | PO_F_NR_PAGES, buf, sizeof(buf));
	assert_string_equal(buf, "pid,ts,nr_base_pages");
	po_features_str(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* a small buffer is cut between names and never overrun */
	memset(small, '#', sizeof(small));
	po_features_str(PO_F_PID | PO_F_TS | PO_F_TGID, small, 7);
	assert_int_equal(small[7], '#');
	assert_true(strlen(small) < 7);
	po_features_str(PO_F_PID, small, 0);
	assert_int_equal(small[7], '#');

	assert_string_equal(po_era_str(0), "unknown");
	assert_string_equal(po_era_str(PO_F_LEGACY_PFN), "v3.19-v4.5");
	assert_string_equal(po_era_str(PO_F_GFP_NAMES), "v4.6-v5.10");
	assert_string_equal(po_era_str(PO_F_GFP_NAMES | PO_F_PID | PO_F_TS),
	    "v5.11-v5.13");
	assert_string_equal(po_era_str(PO_F_GFP_NAMES | PO_F_PID | PO_F_TS |
	    PO_F_FREE_TS), "v5.14-v5.17");
	assert_string_equal(po_era_str(PO_F_GFP_NAMES | PO_F_PID | PO_F_TGID |
	    PO_F_TS | PO_F_FREE_TS), "v5.18-v6.4");
	assert_string_equal(po_era_str(PO_F_GFP_NAMES | PO_F_PID | PO_F_TGID |
	    PO_F_TS | PO_F_FREE_TS | PO_F_HEX_PFN), "v6.5-v6.6");
	assert_string_equal(po_era_str(PO_F_GFP_NAMES | PO_F_PID | PO_F_TGID |
	    PO_F_TS | PO_F_HEX_PFN), "v6.7+");
	assert_string_equal(po_era_str(PO_F_NR_PAGES), "page_owner_stacks");
	assert_string_equal(po_era_str(PO_F_HANDLE | PO_F_NR_PAGES),
	    "page_owner_stacks");
}

static void
test_stats_add(void **state)
{
	struct po_parse_stats a = { 0 }, b = { 0 }, c = { 0 };

	(void)state;
	a.bytes = 10; a.records = 2; a.page_records = 1; a.stack_records = 1;
	a.pages = 5; a.unknown_lines = 1; a.features = PO_F_PID;
	b.bytes = 7; b.records = 1; b.page_records = 1; b.pages = 2;
	b.malformed = 3; b.pfn_unsorted = 1; b.features = PO_F_TS;
	b.first_bad = PO_BAD_ORDER; b.first_bad_offset = 99;
	c.malformed = 1; c.first_bad = PO_BAD_START; c.first_bad_offset = 5;

	po_stats_add(&a, &b);
	assert_int_equal(a.bytes, 17);
	assert_int_equal(a.records, 3);
	assert_int_equal(a.page_records, 2);
	assert_int_equal(a.stack_records, 1);
	assert_int_equal(a.pages, 7);
	assert_int_equal(a.malformed, 3);
	assert_int_equal(a.unknown_lines, 1);
	assert_int_equal(a.pfn_unsorted, 1);
	assert_int_equal(a.features, PO_F_PID | PO_F_TS);
	assert_int_equal(a.first_bad, PO_BAD_ORDER);
	assert_int_equal(a.first_bad_offset, 99);
	/* the first bad record stays the first */
	po_stats_add(&a, &c);
	assert_int_equal(a.malformed, 4);
	assert_int_equal(a.first_bad, PO_BAD_ORDER);
	assert_int_equal(a.first_bad_offset, 99);
}

/* ---- the real capture --------------------------------------------------- */

struct real_ctx {
	uint64_t	records;
	uint64_t	pages;
	uint64_t	leak_pages;
	uint64_t	leak_records;
	uint64_t	hash;	/* of every record's text, in order */
};

static int
real_cb(const struct po_record *r, void *userdata)
{
	struct real_ctx *c = userdata;
	char *s = tu_record_str(r, true);
	uint64_t pages = r->kind == PO_REC_PAGE ? UINT64_C(1) << r->order :
	    (uint64_t)r->nr_base_pages;

	c->hash = po_hash_seeded(s, strlen(s), c->hash);
	free(s);
	c->records++;
	c->pages += pages;
	if (memmem(r->stack.p, r->stack.n, " leaker_leak_pages+", 19) != NULL) {
		c->leak_pages += pages;
		c->leak_records++;
	}
	return 0;
}

/* A batch is the records one at a time would be, in order, at most PO_BATCH. */
static int
real_batch_cb(const struct po_record *rs, size_t n, void *userdata)
{
	struct real_ctx *c = userdata;

	assert_true(n >= 1 && n <= PO_BATCH);
	for (size_t i = 0; i < n; i++)
		real_cb(&rs[i], c);
	return 0;
}

static void
parse_real_as(const char *data, size_t len, const size_t *cut, size_t ncut,
    bool batch, struct real_ctx *c, struct po_parse_stats *ret)
{
	struct po_parser *p = NULL;
	size_t off = 0, i = 0;

	memset(c, 0, sizeof(*c));
	assert_int_equal(po_parser_new(&p), 0);
	while (off < len) {
		size_t n = ncut ? cut[i++ % ncut] : len;

		if (n > len - off)
			n = len - off;
		if (batch)
			assert_int_equal(po_parser_feed_batch(p, data + off, n,
			    real_batch_cb, c), 0);
		else
			assert_int_equal(po_parser_feed(p, data + off, n,
			    real_cb, c), 0);
		off += n;
	}
	assert_int_equal(po_parser_finish(p, real_cb, c), 0);
	*ret = *po_parser_stats(p);
	po_parser_free(p);
}

static void
parse_real(const char *data, size_t len, const size_t *cut, size_t ncut,
    struct real_ctx *c, struct po_parse_stats *ret)
{
	parse_real_as(data, len, cut, ncut, false, c, ret);
}

/*
 * real-6.12.117-leak2000: 8,403 records, 9,047 pages (sum of 1 << order),
 * 2,000 one-page records in leaker_leak_pages, PFNs ascending, no trailer
 * lines at all (counted from the file with awk when it was made).
 */
static void
test_real_dump(void **state)
{
	static const size_t cuts[] = { 4096, 1, 333, 65536, 7, 12000 };
	struct real_ctx c, c2;
	struct po_parse_stats st, st2;
	size_t len = 0;
	char *data = tu_read_data("real-6.12.117-leak2000.page_owner.xz", &len);

	(void)state;
	parse_real(data, len, NULL, 0, &c, &st);
	assert_int_equal(st.records, 8403);
	assert_int_equal(st.page_records, 8403);
	assert_int_equal(st.pages, 9047);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.unknown_lines, 0);
	assert_int_equal(st.pfn_unsorted, 0);
	assert_int_equal(st.bytes, len);
	assert_string_equal(po_era_str(st.features), "v6.7+");
	assert_int_equal(st.features, PO_F_GFP_NAMES | PO_F_PID | PO_F_TGID |
	    PO_F_TS | PO_F_HEX_PFN | PO_F_FLAG_FIELDS);
	assert_int_equal(c.records, 8403);
	assert_int_equal(c.pages, 9047);
	assert_int_equal(c.leak_pages, 2000);
	assert_int_equal(c.leak_records, 2000);

	/* read in odd slices, the capture gives the same records */
	parse_real(data, len, cuts, PO_ARRAY_SIZE(cuts), &c2, &st2);
	assert_memory_equal(&c2, &c, sizeof(c));
	assert_memory_equal(&st2, &st, sizeof(st));

	/* and in batches, whole or in odd slices (records straddling them) */
	parse_real_as(data, len, NULL, 0, true, &c2, &st2);
	assert_memory_equal(&c2, &c, sizeof(c));
	assert_memory_equal(&st2, &st, sizeof(st));
	parse_real_as(data, len, cuts, PO_ARRAY_SIZE(cuts), true, &c2, &st2);
	assert_memory_equal(&c2, &c, sizeof(c));
	assert_memory_equal(&st2, &st, sizeof(st));

	/* the 16-byte frame scan reads it as the 32-byte one (when there is one) */
	setenv("PO_PARSE_NO_AVX2", "1", 1);
	parse_real_as(data, len, cuts, PO_ARRAY_SIZE(cuts), false, &c2, &st2);
	unsetenv("PO_PARSE_NO_AVX2");
	assert_memory_equal(&c2, &c, sizeof(c));
	assert_memory_equal(&st2, &st, sizeof(st));

	free(data);
}

/* The matching show_stacks: 411 stacks, 4,077 pages, 2,000 for the leaker. */
static void
test_real_show_stacks(void **state)
{
	struct real_ctx c;
	struct po_parse_stats st;
	size_t len, one = 1;
	char *data = tu_read_data("real-6.12.117-leak2000.show_stacks.xz", &len);

	(void)state;
	parse_real(data, len, &one, 1, &c, &st);
	assert_int_equal(st.records, 411);
	assert_int_equal(st.stack_records, 411);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.unknown_lines, 0);
	assert_int_equal(st.features, PO_F_NR_PAGES);
	assert_int_equal(c.pages, 4077);
	assert_int_equal(st.pages, 4077);	/* a stacks file's pages: nr_base_pages */
	assert_int_equal(c.leak_pages, 2000);
	assert_int_equal(c.leak_records, 1);
	free(data);
}

/* ---- numbers ------------------------------------------------------------ */

/* n random digits of base 10 or 16 (mixed case), leading zeros included. */
static void
put_digits(char *out, size_t n, bool hex, unsigned *seed)
{
	static const char hexd[] = "0123456789abcdefABCDEF";

	for (size_t i = 0; i < n; i++)
		out[i] = hex ? hexd[rand_r(seed) % 22] : (char)('0' + rand_r(seed) % 10);
	out[n] = '\0';
}

/*
 * Numbers of every length from 1 to 21 digits (hex: 1 to 17) in every
 * numeric field of the first two lines: po_parse_record reads the values
 * strtoull gives, or refuses the record where a number does not fit; the
 * stream parser agrees, with the record whole or cut inside a number.
 */
static void
test_numbers(void **state)
{
	unsigned seed = 7;

	(void)state;
	for (size_t len = 1; len <= 21; len++) {
		for (int round = 0; round < 8; round++) {
			char dec[32], dec2[32], hex[32], hex2[32], *rec = NULL;
			char *recs, *sts, *recs2, *sts2;
			struct po_record r;
			enum po_malformed why = PO_BAD_NONE;
			bool dec_fits, hex_fits;
			size_t hl = len < 17 ? len : 17, cut = 1 + len * 3;
			int rc;

			put_digits(dec, len, false, &seed);
			put_digits(dec2, len, false, &seed);
			put_digits(hex, hl, true, &seed);
			put_digits(hex2, hl, true, &seed);
			if (round == 1) {	/* the largest values */
				memset(dec, '9', len);
				memset(hex, 'f', hl);
			}
			errno = 0;
			(void)strtoull(dec, NULL, 10);
			dec_fits = errno == 0;
			hex_fits = hl <= 16;
			rc = po_asprintf(&rec,
			    "Page allocated via order 0, mask 0x%s(), pid 1, tgid 1 (c), ts %s ns\n"
			    "PFN 0x%s type Movable Block %s type Movable Flags 0x%s()\n"
			    " f+0x1/0x2\n\n", hex, dec, hex2, dec2, hex);
			assert_true(rc > 0);

			rc = po_parse_record(rec, strlen(rec), &r, &why);
			if (dec_fits && hex_fits) {
				assert_int_equal(rc, 0);
				assert_true(r.gfp == strtoull(hex, NULL, 16));
				assert_true(r.ts == strtoull(dec, NULL, 10));
				assert_true(r.pfn == strtoull(hex2, NULL, 16));
				assert_true(r.block == strtoull(dec2, NULL, 10));
				assert_true(r.page_flags == strtoull(hex, NULL, 16));
			} else {
				assert_int_equal(rc, -EINVAL);
			}

			/* the stream parser, whole and in two slices */
			tu_parse_sliced(rec, strlen(rec), NULL, 0, &recs, &sts);
			tu_parse_sliced(rec, strlen(rec), &cut, 1, &recs2, &sts2);
			assert_true((strstr(sts, "records=1 ") != NULL) ==
			    (dec_fits && hex_fits));
			assert_string_equal(recs2, recs);
			assert_string_equal(sts2, sts);
			free(recs);
			free(sts);
			free(recs2);
			free(sts2);
			free(rec);
		}
	}
}

/* ---- fuzz regressions ---------------------------------------------------- */

/* Inputs that once broke a fuzz target: they must parse without harm. */
static void
test_fuzz_regressions(void **state)
{
	char *cmd = NULL, line[4096];
	FILE *f;
	int n = 0;

	(void)state;
	po_asprintf(&cmd, "cd '%s' && find tests/fuzz/regressions -type f ! -name README "
	    "2>/dev/null | sort", tu_srcdir());
	f = popen(cmd, "r");
	free(cmd);
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *path = NULL, *data;
		size_t len = 0;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		po_asprintf(&path, "%s/%s", tu_srcdir(), line);
		data = tu_read_file(path, &len);
		assert_non_null(data);
		check_split_invariance(line, data, len, len < 4096, 1, 4);
		for (size_t i = 0; i + 1 < len; i += 1 + len / 64) {
			struct po_record r;

			(void)po_parse_record(data + i, len - i, &r, NULL);
		}
		free(data);
		free(path);
		n++;
	}
	assert_int_equal(pclose(f), 0);
	/* the tree holds some: none found means the test looked in the wrong place */
	if (n == 0)
		fail_msg("no fuzz regression inputs found under %s/tests/fuzz/regressions",
		    tu_srcdir());
}

/* ---- main --------------------------------------------------------------- */

int
main(void)
{
	struct CMUnitTest tests[2 * PO_ARRAY_SIZE(fixtures) + 24];
	char *names[2 * PO_ARRAY_SIZE(fixtures)];
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < PO_ARRAY_SIZE(fixtures); i++) {
		po_asprintf(&names[n], "fixture %s", fixtures[i].name);
		tests[n] = (struct CMUnitTest){ names[n], test_fixture, NULL, NULL,
		    &fixtures[i] };
		n++;
	}
	for (size_t i = 0; i < PO_ARRAY_SIZE(fixtures); i++) {
		po_asprintf(&names[n], "slices %s", fixtures[i].name);
		tests[n] = (struct CMUnitTest){ names[n], test_fixture_slices, NULL,
		    NULL, &fixtures[i] };
		n++;
	}
#define T(f) tests[n++] = (struct CMUnitTest)cmocka_unit_test(f)
	T(test_all_fixtures_slices);
	T(test_overlong_line);
	T(test_line_limit);
	T(test_record_size_limit);
	T(test_unterminated_junk);
	T(test_random_junk);
	T(test_truncated_end);
	T(test_handles_blank_line);
	T(test_callback_stop);
	T(test_offsets);
	T(test_pfn_unsorted);
	T(test_reset);
	T(test_parse_record);
	T(test_frames_after_trailer);
	T(test_alloc_line_edges);
	T(test_numbers);
	T(test_strings);
	T(test_stats_add);
	T(test_real_dump);
	T(test_real_show_stacks);
	T(test_fuzz_regressions);
#undef T
	rc = _cmocka_run_group_tests("parse", tests, n, NULL, NULL);
	for (size_t i = 0; i < PO_ARRAY_SIZE(names); i++)
		free(names[i]);
	return rc;
}
