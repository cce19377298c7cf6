/*
 * test-pfnwindow.c: PFN windows of the full dump (daemon/source.c).
 *
 * A windowed read of [lo, hi) must hold exactly the records of that range
 * in a whole read of the same text, and the windows cut from the span
 * must together give the whole: no record lost at a window's edge (a
 * binary search that starts too late), none read twice.  The source is
 * compiled in here (chrony's way), with the daemon's log.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../daemon/source.c"	/* NOLINT(bugprone-suspicious-include) */
#include "../../daemon/log.c"	/* NOLINT(bugprone-suspicious-include) */
#include "tu.h"

/* The records of a read, canonical text per record, and their PFNs. */
struct got {
	struct tu_buf	 text;		/* tu_record_str lines, in order */
	uint64_t	 n;
	uint64_t	 lo, hi;	/* keep records of [lo, hi) */
	uint64_t	 first, last;	/* PFNs seen in the window */
};

static int
keep_cb(const struct po_record *r, void *userdata)
{
	struct got *g = userdata;
	char *s;

	if (r->kind != PO_REC_PAGE || r->pfn < g->lo || r->pfn >= g->hi)
		return 0;
	s = tu_record_str(r, false);
	tu_buf_put(&g->text, s, strlen(s));
	tu_buf_put(&g->text, "\n", 1);
	free(s);
	if (g->n++ == 0)
		g->first = r->pfn;
	g->last = r->pfn;
	return 0;
}

/* A source on path, or the test aborts (a missing fixture is a failure). */
static struct source *
must_open(const char *path)
{
	struct source *s = NULL;
	char *cause = NULL;

	if (source_new(&s, path, &cause) != 0 || s == NULL) {
		fprintf(stderr, "# source_new(%s): %s\n", path, cause != NULL ? cause : "?");
		abort();
	}
	return s;
}

/* Read [lo, hi) through the source as the collector does. */
static void
read_window(struct source *src, uint64_t lo, uint64_t hi, struct got *g)
{
	static char buf[1 << 16];
	struct po_parser *p;
	char *cause = NULL;
	ssize_t n;

	memset(g, 0, sizeof(*g));
	g->lo = lo;
	g->hi = hi;
	assert_int_equal(source_open_range(src, lo, hi, &cause), 0);
	po_parser_new(&p);
	while ((n = source_read(src, buf, sizeof(buf))) > 0)
		po_parser_feed(p, buf, (size_t)n, keep_cb, g);
	assert_int_equal(n, 0);
	po_parser_finish(p, keep_cb, g);
	assert_int_equal(po_parser_stats(p)->malformed, 0);
	po_parser_free(p);
	source_end(src);
}

/* A dump from tests/data, unpacked into a temporary file. */
static char *
unpack(const char *rel)
{
	char *path = strdup("/tmp/po-window-XXXXXX"), *cmd = NULL, *src = tu_path(rel);
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	po_asprintf(&cmd, "xz -dc '%s' > '%s'", src, path);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(src);
	return path;
}

static void
check_dump(const char *rel)
{
	static const uint64_t sizes[] = { 1, 7, 64, 4096, 32768, 262144 };
	char *path = unpack(rel), *cause = NULL;
	struct source *src;
	struct got whole, w;
	uint64_t lo = 0, hi = 0;

	src = must_open(path);
	assert_int_equal(source_get_kind(src), SOURCE_FILE);
	read_window(src, 0, UINT64_MAX, &whole);
	assert_true(whole.n > 1000);
	assert_int_equal(source_pfn_span(src, &lo, &hi, &cause), 0);
	assert_int_equal(lo, whole.first);
	assert_int_equal(hi, whole.last + 1);
	assert_int_equal(source_seek(src, NULL), PFNSEEK_FILE);

	for (size_t k = 0; k < PO_ARRAY_SIZE(sizes); k++) {
		/* windows of span / sizes[k] PFNs, on multiples of their size */
		uint64_t size = (hi - lo) / sizes[k] + 1, total = 0;
		struct tu_buf all = { 0 };

		for (uint64_t a = lo / size * size; a < hi; a += size) {
			struct got ref;
			struct po_parser *p;
			size_t len;
			char *text = tu_read_file(path, &len);

			read_window(src, a, a + size, &w);
			/* the same range of the whole read */
			memset(&ref, 0, sizeof(ref));
			ref.lo = a;
			ref.hi = a + size;
			po_parser_new(&p);
			po_parser_feed(p, text, len, keep_cb, &ref);
			po_parser_finish(p, keep_cb, &ref);
			po_parser_free(p);
			free(text);
			assert_int_equal(w.n, ref.n);
			if (w.n > 0)
				assert_string_equal(w.text.p, ref.text.p);
			total += w.n;
			if (w.n > 0)
				tu_buf_put(&all, w.text.p, w.text.n);
			free(w.text.p);
			free(ref.text.p);
			if (sizes[k] > 64 && a > lo + 64 * size)
				break;	/* enough edges checked at this size */
		}
		if (sizes[k] <= 64) {
			/* the windows' union is the whole */
			assert_int_equal(total, whole.n);
			assert_string_equal(all.p, whole.text.p);
		}
		free(all.p);
	}
	/* a window past the end, and one before the start, are empty */
	read_window(src, hi, hi + 100, &w);
	assert_int_equal(w.n, 0);
	free(w.text.p);
	if (lo > 0) {
		read_window(src, 0, lo, &w);
		assert_int_equal(w.n, 0);
		free(w.text.p);
	}
	free(whole.text.p);
	source_free(src);
	src = NULL;
	unlink(path);
	free(path);
	free(cause);
}

static void
test_window_612(void **state)
{
	(void)state;
	check_dump("tests/data/real-6.12.117-leak2000.page_owner.xz");
}

static void
test_window_61(void **state)
{
	(void)state;
	check_dump("tests/data/capture-6.1/000-baseline.page_owner.xz");
}

/* A FIFO cannot seek: its records are read whole and filtered. */
static void
test_window_fifo(void **state)
{
	char dir[] = "/tmp/po-fifo-XXXXXX", fifo[64], *cause = NULL, *cmd = NULL;
	char *path = unpack("tests/data/real-6.12.117-leak2000.page_owner.xz");
	struct source *src;
	struct got w, ref;
	uint64_t lo = 0, hi = 0, a, b;

	(void)state;
	src = must_open(path);
	assert_int_equal(source_pfn_span(src, &lo, &hi, &cause), 0);
	source_free(src);
	src = NULL;
	a = lo + 1000;	/* the edges are where records are */
	b = hi - 1000;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/dump", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	po_asprintf(&cmd, "cat '%s' > '%s' &", path, fifo);
	assert_int_equal(system(cmd), 0);
	src = must_open(fifo);
	read_window(src, a, b, &w);
	assert_int_equal(source_seek(src, NULL), PFNSEEK_NONE);
	source_free(src);
	src = NULL;

	src = must_open(path);
	read_window(src, a, b, &ref);
	assert_true(ref.n > 0);
	assert_int_equal(w.n, ref.n);
	assert_string_equal(w.text.p, ref.text.p);
	source_free(src);
	src = NULL;
	free(w.text.p);
	free(ref.text.p);
	unlink(fifo);
	rmdir(dir);
	unlink(path);
	free(path);
	free(cmd);
	free(cause);
}

/* N readers on disjoint PFN ranges, merged in PFN order, read what one does. */
static void
test_readers(void **state)
{
	char *path = unpack("tests/data/real-6.12.117-leak2000.page_owner.xz");
	char *cause = NULL;
	struct source *src;
	struct got one, w1, wn, many;
	uint64_t lo = 0, hi = 0;

	(void)state;
	src = must_open(path);
	read_window(src, 0, UINT64_MAX, &one);
	assert_int_equal(source_pfn_span(src, &lo, &hi, &cause), 0);
	read_window(src, lo + 100, lo + 9000, &w1);
	assert_true(w1.n > 100);
	for (unsigned n = 2; n <= 5; n += 3) {
		source_set_readers(src, n, "/tmp");
		read_window(src, 0, UINT64_MAX, &many);
		assert_int_equal(source_parts(src), n);
		assert_int_equal(many.n, one.n);
		assert_string_equal(many.text.p, one.text.p);
		read_window(src, lo + 100, lo + 9000, &wn);
		assert_int_equal(wn.n, w1.n);
		assert_string_equal(wn.text.p, w1.text.p);
		free(many.text.p);
		free(wn.text.p);
	}
	free(one.text.p);
	free(w1.text.p);
	source_free(src);
	src = NULL;
	unlink(path);
	free(path);
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_612),
		cmocka_unit_test(test_window_61),
		cmocka_unit_test(test_window_fifo),
		cmocka_unit_test(test_readers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
