/*
 * test-agg.c: grouping and filtering records (lib/agg.c), and the stack
 * and string interners under it (lib/stacktab.c).
 *
 * Group totals for each fixture come from the hand-written "group" and
 * "stack" lines of its .expect; filters are checked on era-5.18-6.4.txt
 * with counts worked out by hand; merging two aggregations must give what
 * one aggregation over all records gives, for every key.
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

/* ---- records of a file, kept whole -------------------------------------- */

/* A parsed record whose spans point into a copy owned by the set. */
struct rec_set {
	char		**texts;	/* one record's bytes each */
	struct po_record *recs;
	size_t		  n;
};

/*
 * Split the file into records with the stream parser, then re-parse each
 * record's bytes alone into storage that lives as long as the set.
 */
struct split_ctx {
	struct rec_set	*set;
	const char	*data;
	size_t		 len;
};

static int
split_cb(const struct po_record *r, void *userdata)
{
	struct split_ctx *c = userdata;
	struct rec_set *s = c->set;
	const char *start = c->data + r->offset, *q = start, *end = c->data + c->len;
	enum po_malformed why;
	char *copy;
	size_t n;

	/* the record runs to its blank line */
	for (;;) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));

		assert_non_null(nl);
		q = nl + 1;
		if (q == end || *q == '\n')
			break;
	}
	n = (size_t)(q - start);
	copy = po_xmalloc(n);
	memcpy(copy, start, n);
	s->texts = po_xrealloc(s->texts, s->n + 1, sizeof(*s->texts));
	s->recs = po_xrealloc(s->recs, s->n + 1, sizeof(*s->recs));
	s->texts[s->n] = copy;
	assert_int_equal(po_parse_record(copy, n, &s->recs[s->n], &why), 0);
	s->recs[s->n].offset = r->offset;
	s->n++;
	return 0;
}

static void
rec_set_load(struct rec_set *s, const char *data, size_t len)
{
	struct split_ctx c = { s, data, len };
	struct po_parser *p = NULL;

	assert_int_equal(po_parser_new(&p), 0);
	assert_int_equal(po_parser_feed(p, data, len, split_cb, &c), 0);
	assert_int_equal(po_parser_finish(p, NULL, NULL), 0);
	po_parser_free(p);
}

static void
rec_set_free(struct rec_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->texts[i]);
	free(s->texts);
	free(s->recs);
	memset(s, 0, sizeof(*s));
}

static int
add_rec(struct po_agg *a, const struct po_record *r, int slot, uint32_t *gid)
{
	if (r->kind == PO_REC_PAGE)
		return po_agg_add(a, r, slot, gid, NULL);
	if (r->has_nr_pages)
		return po_agg_add_stack(a, r, slot, gid);
	return -EINVAL;
}

static struct po_agg *
agg_of(const struct rec_set *s, const enum po_key *keys, unsigned nkeys,
    const struct po_filter *f, size_t from, size_t to)
{
	struct po_agg *a = NULL;

	assert_int_equal(po_agg_new(&a, keys, nkeys, f), 0);
	for (size_t i = from; i < to && i < s->n; i++)
		(void)add_rec(a, &s->recs[i], 0, NULL);
	return a;
}

/* ---- groups against the .expect ---------------------------------------- */

static struct fixture {
	const char	*name;
} group_fixtures[] = {
	{ "era-3.19-4.5" },
	{ "era-4.6-5.10" },
	{ "era-5.11-5.13" },
	{ "era-5.14-5.17" },
	{ "era-5.18-6.4" },
	{ "era-6.5-6.6" },
	{ "era-6.7" },
	{ "era-mm2026-handle" },
	{ "show_stacks-6.9" },
	{ "show_handles-6.19" },
};

static void
test_fixture_groups(void **state)
{
	const char *name = ((struct fixture *)*state)->name;
	char *txt = NULL, *exp = NULL, *data;
	struct rec_set s = { 0 };
	struct tu_expect e;
	size_t len = 0;
	unsigned checked = 0;

	po_asprintf(&txt, "%s.txt", name);
	po_asprintf(&exp, "%s.expect", name);
	data = tu_read_fixture(txt, &len);
	tu_expect_load(exp, &e);
	rec_set_load(&s, data, len);

	for (unsigned k = 0; k < PO__KEY_MAX; k++) {
		enum po_key key = (enum po_key)k;
		const char *kname = po_key_name(key);
		struct po_agg *a = agg_of(&s, &key, 1, NULL, 0, s.n);
		size_t want = 0;

		for (size_t i = 0; i < e.groups.n; i++) {
			char *line = po_xstrdup(e.groups.kv[i].val), *f[4];
			size_t j, nf = tu_split_tabs(line, f, 4);

			assert_int_equal(nf, 4);
			if (strcmp(f[0], kname) != 0) {
				free(line);
				continue;
			}
			want++;
			for (j = 0; j < po_agg_ngroups(a); j++) {
				struct po_group *g = po_agg_group(a, j);
				char ks[256];

				assert_int_equal(po_agg_key_str(a, g, 0, ks, sizeof(ks)), 0);
				if (strcmp(ks, f[1]) != 0)
					continue;
				if (g->pages[0] != tu_u64(f[2]) || g->blocks[0] != tu_u64(f[3]))
					fail_msg("%s by %s '%s': %" PRIu64 " pages %" PRIu64
					    " blocks, want %s %s", name, kname, f[1],
					    g->pages[0], g->blocks[0], f[2], f[3]);
				assert_int_equal(g->pages[1] + g->blocks[1], 0);
				break;
			}
			if (j == po_agg_ngroups(a))
				fail_msg("%s by %s: no group '%s'", name, kname, f[1]);
			free(line);
		}
		if (want > 0) {
			if (po_agg_ngroups(a) != want)
				fail_msg("%s by %s: %zu groups, want %zu", name, kname,
				    po_agg_ngroups(a), want);
			checked++;
		}
		po_agg_free(a);
	}
	if (e.groups.n > 0)
		assert_true(checked > 0);

	/* anomalies (ts == free_ts) add up over any grouping */
	if (tu_get(&e.top, "anomalies") != NULL) {
		enum po_key key = PO_KEY_ORDER;
		struct po_agg *a = agg_of(&s, &key, 1, NULL, 0, s.n);
		uint64_t sum = 0;

		for (size_t j = 0; j < po_agg_ngroups(a); j++)
			sum += po_agg_group(a, j)->anomalies;
		assert_int_equal(sum, tu_u64(tu_need(&e.top, "anomalies")->val));
		po_agg_free(a);
	}
	tu_expect_free(&e);
	rec_set_free(&s);
	free(data);
	free(txt);
	free(exp);
}

/*
 * By stack: one group per distinct frame list, named in the .expect by its
 * culprit frame line, or "handle N" for a stack known by handle only.
 */
static void
test_fixture_stacks(void **state)
{
	const char *name = ((struct fixture *)*state)->name;
	char *txt = NULL, *exp = NULL, *data;
	enum po_key key = PO_KEY_STACK;
	struct rec_set s = { 0 };
	struct tu_expect e;
	struct po_agg *a = NULL;
	char **label;
	size_t len = 0;

	po_asprintf(&txt, "%s.txt", name);
	po_asprintf(&exp, "%s.expect", name);
	data = tu_read_fixture(txt, &len);
	tu_expect_load(exp, &e);
	rec_set_load(&s, data, len);
	label = po_xcalloc(s.n + 1, sizeof(*label));
	assert_int_equal(po_agg_new(&a, &key, 1, NULL), 0);
	for (size_t i = 0; i < s.n; i++) {
		const struct po_record *r = &s.recs[i];
		uint32_t gid;

		if (add_rec(a, r, 0, &gid) != 0)
			continue;
		assert_true(gid <= s.n);
		if (label[gid] == NULL) {
			if (r->nframes == 0)
				po_asprintf(&label[gid], "handle %" PRIu32, r->handle);
			else {
				struct po_stack_info si;

				po_stack_describe(r->stack, &si);
				label[gid] = po_span_dup(si.culprit_line);
			}
		}
	}
	if (e.stacks.n > 0 && po_agg_ngroups(a) != e.stacks.n)
		fail_msg("%s: %zu stacks, want %zu", name, po_agg_ngroups(a), e.stacks.n);
	for (size_t i = 0; i < e.stacks.n; i++) {
		char *line = po_xstrdup(e.stacks.kv[i].val), *f[3];
		size_t j;

		assert_int_equal(tu_split_tabs(line, f, 3), 3);
		for (j = 0; j < po_agg_ngroups(a); j++)
			if (label[j] != NULL && strcmp(label[j], f[0]) == 0)
				break;
		if (j == po_agg_ngroups(a))
			fail_msg("%s: no stack '%s'", name, f[0]);
		assert_int_equal(po_agg_group(a, j)->pages[0], tu_u64(f[1]));
		assert_int_equal(po_agg_group(a, j)->blocks[0], tu_u64(f[2]));
		free(line);
	}
	for (size_t i = 0; i <= s.n; i++)
		free(label[i]);
	free(label);
	po_agg_free(a);
	tu_expect_free(&e);
	rec_set_free(&s);
	free(data);
	free(txt);
	free(exp);
}

/*
 * show_handles + show_stacks_handles (v6.19): the handle joins a count to
 * its frames.  Truth from the fixtures' comments: 42 -> 20824 pages in
 * page_cache_ra_unbounded, 1048577 -> 2000 pages in leaker_leak_pages.
 */
static void
test_handles_join(void **state)
{
	struct rec_set h = { 0 }, sh = { 0 };
	enum po_key key = PO_KEY_CULPRIT;
	struct po_agg *a = NULL;
	size_t len1, len2, joined = 0;
	char *d1 = tu_read_fixture("show_handles-6.19.txt", &len1);
	char *d2 = tu_read_fixture("show_stacks_handles-6.19.txt", &len2);

	(void)state;
	rec_set_load(&h, d1, len1);
	rec_set_load(&sh, d2, len2);
	assert_int_equal(po_agg_new(&a, &key, 1, NULL), 0);
	for (size_t i = 0; i < h.n; i++)
		for (size_t j = 0; j < sh.n; j++) {
			struct po_record r;

			if (sh.recs[j].handle != h.recs[i].handle)
				continue;
			r = sh.recs[j];
			r.has_nr_pages = true;
			r.nr_base_pages = h.recs[i].nr_base_pages;
			assert_int_equal(po_agg_add_stack(a, &r, 0, NULL), 0);
			joined++;
		}
	assert_int_equal(joined, 2);
	assert_int_equal(po_agg_ngroups(a), 2);
	for (size_t j = 0; j < 2; j++) {
		struct po_group *g = po_agg_group(a, j);
		char ks[64];

		po_agg_key_str(a, g, 0, ks, sizeof(ks));
		if (strcmp(ks, "page_cache_ra_unbounded") == 0)
			assert_int_equal(g->pages[0], 20824);
		else if (strcmp(ks, "leaker_leak_pages") == 0)
			assert_int_equal(g->pages[0], 2000);
		else
			fail_msg("unexpected culprit '%s'", ks);
	}
	/* a stack record without a count cannot be counted */
	assert_int_equal(po_agg_add_stack(a, &sh.recs[0], 0, NULL), -EINVAL);
	po_agg_free(a);
	rec_set_free(&h);
	rec_set_free(&sh);
	free(d1);
	free(d2);
}

/* ---- filters ------------------------------------------------------------- */

/*
 * era-5.18-6.4.txt by hand: r1 pid/tgid 156 kworker/u8:3, memcg
 * docker-1f2e.scope, module loop (1 page); r2 4242/4240 "a) b (c), ts x",
 * user@1000.service, kernel, culprit __d_alloc (2 pages); r3 2001/2001
 * gnome-shell, old-job.scope, kernel (1 page); r4 3100/3050 "Web Content",
 * leaked-cg, amdgpu, stack with drm_ioctl (4 pages).
 */
static void
check_filter(const struct rec_set *s, const struct po_filter *f,
    uint64_t want_pages, uint64_t want_filtered)
{
	enum po_key key = PO_KEY_ORDER;
	struct po_agg *a = agg_of(s, &key, 1, f, 0, s->n);
	uint64_t pages = 0, blocks = 0;

	for (size_t j = 0; j < po_agg_ngroups(a); j++) {
		pages += po_agg_group(a, j)->pages[0];
		blocks += po_agg_group(a, j)->blocks[0];
	}
	assert_int_equal(pages, want_pages);
	assert_int_equal(po_agg_filtered(a), want_filtered);
	assert_int_equal(blocks + po_agg_filtered(a), s->n);
	po_agg_free(a);
}

static void
test_filters(void **state)
{
	size_t len = 0;
	char *data = tu_read_fixture("era-5.18-6.4.txt", &len);
	struct rec_set s = { 0 };
	int32_t pids[] = { 4242, 2001 }, tgids[] = { 3050 }, nopid[] = { 4240 };
	static char comm[] = "a) b (c), ts x", part[] = "a) b";
	char *names[] = { comm };
	char *partial[] = { part };
	struct po_filter f;

	(void)state;
	rec_set_load(&s, data, len);
	assert_int_equal(s.n, 4);

	check_filter(&s, NULL, 8, 0);
	memset(&f, 0, sizeof(f));
	check_filter(&s, &f, 8, 0);
	f = (struct po_filter){ .pids = pids, .npids = 2 };
	check_filter(&s, &f, 3, 2);
	f = (struct po_filter){ .pids = nopid, .npids = 1 };	/* a tgid, not a pid */
	check_filter(&s, &f, 0, 4);
	f = (struct po_filter){ .tgids = tgids, .ntgids = 1 };
	check_filter(&s, &f, 4, 3);
	f = (struct po_filter){ .names = names, .nnames = 1 };
	check_filter(&s, &f, 2, 3);
	f = (struct po_filter){ .names = partial, .nnames = 1 };	/* exact only */
	check_filter(&s, &f, 0, 4);
	f = (struct po_filter){ .module = "amdgpu" };
	check_filter(&s, &f, 4, 3);
	f = (struct po_filter){ .module = "kernel" };
	check_filter(&s, &f, 3, 2);
	f = (struct po_filter){ .module = "loop" };
	check_filter(&s, &f, 1, 3);
	f = (struct po_filter){ .memcg = "leaked-cg" };
	check_filter(&s, &f, 4, 3);
	f = (struct po_filter){ .memcg = "leaked" };
	check_filter(&s, &f, 0, 4);
	f = (struct po_filter){ .culprit = "d_alloc" };	/* contains */
	check_filter(&s, &f, 2, 3);
	f = (struct po_filter){ .stack = "drm_ioctl+" };
	check_filter(&s, &f, 4, 3);
	f = (struct po_filter){ .stack = " vma_alloc_folio+" };
	check_filter(&s, &f, 1, 3);
	/* every filter must pass */
	f = (struct po_filter){ .pids = pids, .npids = 2, .module = "kernel" };
	check_filter(&s, &f, 3, 2);
	f = (struct po_filter){ .pids = pids, .npids = 2, .memcg = "old-job.scope" };
	check_filter(&s, &f, 1, 3);
	f = (struct po_filter){ .tgids = tgids, .ntgids = 1, .module = "kernel" };
	check_filter(&s, &f, 0, 4);
	rec_set_free(&s);
	free(data);
}

/* ---- merge == one pass ----------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every group of an aggregation as one sorted text. */
static char *
agg_text(struct po_agg *a)
{
	size_t n = po_agg_ngroups(a);
	char **lines = po_xcalloc(n + 1, sizeof(*lines));
	struct tu_buf b = { 0 };

	for (size_t i = 0; i < n; i++) {
		struct po_group *g = po_agg_group(a, i);
		struct po_strtab *names = po_agg_names(a);
		struct po_stacktab *st = po_agg_stacks(a);
		struct tu_buf l = { 0 };

		for (unsigned k = 0; k < po_agg_nkeys(a); k++) {
			char ks[256];

			po_agg_key_str(a, g, k, ks, sizeof(ks));
			tu_buf_printf(&l, "%s|", ks);
		}
		tu_buf_printf(&l, " blocks %" PRIu64 "/%" PRIu64 " pages %" PRIu64
		    "/%" PRIu64 " ts %" PRIu64 "-%" PRIu64 " free_ts %" PRIu64
		    " anomalies %" PRIu64 " ator %u pid %d tgid %d comm %s stack %016"
		    PRIx64, g->blocks[0], g->blocks[1], g->pages[0], g->pages[1],
		    g->ts_min, g->ts_max, g->free_ts_max, g->anomalies, g->ator,
		    g->pid, g->tgid, po_strtab_get(names, g->comm_id, NULL),
		    po_stacktab_get(st, g->stack_id)->hash);
		lines[i] = l.p;
	}
	qsort(lines, n, sizeof(*lines), cmp_str);
	tu_buf_put(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		tu_buf_printf(&b, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	return b.p;
}

static char *
all_fixture_text(size_t *ret_len)
{
	static const char *const files[] = {
		"era-3.19-4.5.txt", "era-4.6-5.10.txt", "era-5.11-5.13.txt",
		"era-5.14-5.17.txt", "era-5.18-6.4.txt", "era-6.5-6.6.txt",
		"era-6.7.txt", "era-mm2026-handle.txt", "show_stacks-6.9.txt",
		"show_handles-6.19.txt",
	};
	struct tu_buf b = { 0 };

	for (size_t i = 0; i < PO_ARRAY_SIZE(files); i++) {
		size_t len = 0;
		char *d = tu_read_fixture(files[i], &len);

		tu_buf_put(&b, d, len);
		free(d);
	}
	*ret_len = b.n;
	return b.p;
}

static void
check_merge(const struct rec_set *s, const enum po_key *keys, unsigned nkeys,
    size_t cut)
{
	struct po_agg *whole = agg_of(s, keys, nkeys, NULL, 0, s->n);
	struct po_agg *a = agg_of(s, keys, nkeys, NULL, 0, cut);
	struct po_agg *b = agg_of(s, keys, nkeys, NULL, cut, s->n);
	struct po_agg *m = NULL;
	uint32_t *map = po_xcalloc(po_agg_ngroups(b) + 1, sizeof(*map));
	char *tw = agg_text(whole), *tm;

	/* b folded into a */
	po_agg_merge(a, b, map);
	tm = agg_text(a);
	assert_string_equal(tm, tw);
	free(tm);
	for (size_t i = 0; i < po_agg_ngroups(b); i++)
		for (unsigned k = 0; k < nkeys; k++) {
			char x[256], y[256];

			po_agg_key_str(b, po_agg_group(b, i), k, x, sizeof(x));
			po_agg_key_str(a, po_agg_group(a, map[i]), k, y, sizeof(y));
			assert_string_equal(x, y);
		}
	/* both into an empty one */
	{
		struct po_agg *empty = agg_of(s, keys, nkeys, NULL, 0, 0);

		assert_int_equal(po_agg_new(&m, keys, nkeys, NULL), 0);
		po_agg_merge(m, empty, NULL);
		assert_int_equal(po_agg_ngroups(m), 0);
		po_agg_free(m);
		po_agg_free(empty);
	}
	assert_int_equal(po_agg_new(&m, keys, nkeys, NULL), 0);
	{
		struct po_agg *a2 = agg_of(s, keys, nkeys, NULL, 0, cut);

		po_agg_merge(m, a2, NULL);
		po_agg_merge(m, b, NULL);
		po_agg_free(a2);
	}
	tm = agg_text(m);
	assert_string_equal(tm, tw);
	free(tm);
	po_agg_free(m);
	/* a merged aggregation keeps counting right */
	{
		struct po_agg *a3 = agg_of(s, keys, nkeys, NULL, 0, cut / 2);
		struct po_agg *a4 = agg_of(s, keys, nkeys, NULL, cut / 2, cut);

		po_agg_merge(a3, a4, NULL);
		for (size_t i = cut; i < s->n; i++)
			(void)add_rec(a3, &s->recs[i], 0, NULL);
		tm = agg_text(a3);
		assert_string_equal(tm, tw);
		free(tm);
		po_agg_free(a3);
		po_agg_free(a4);
	}
	free(tw);
	free(map);
	po_agg_free(whole);
	po_agg_free(a);
	po_agg_free(b);
}

static void
test_merge_equals_whole(void **state)
{
	static const enum po_key combo[][3] = {
		{ PO_KEY_CULPRIT, PO_KEY_COMM, PO_KEY_ORDER },
		{ PO_KEY_STACK, PO_KEY_MEMCG, PO_KEY_GFP },
		{ PO_KEY_MODULE, PO_KEY_ALLOCATOR, PO_KEY_TGID },
	};
	struct rec_set s = { 0 };
	size_t len = 0;
	char *data = all_fixture_text(&len);

	(void)state;
	rec_set_load(&s, data, len);
	assert_true(s.n > 20);
	for (unsigned k = 0; k < PO__KEY_MAX; k++) {
		enum po_key key = (enum po_key)k;

		for (size_t cut = 0; cut <= s.n; cut += 3)
			check_merge(&s, &key, 1, cut);
	}
	for (size_t i = 0; i < PO_ARRAY_SIZE(combo); i++)
		for (size_t cut = 1; cut < s.n; cut += 5)
			check_merge(&s, combo[i], 3, cut);
	rec_set_free(&s);
	free(data);
}

/*
 * po_agg_add_batch() is po_agg_add() record by record: the same groups in
 * the same order, the same group ids, identities and results, for every
 * key, with and without filters, batches of any length (stack records in
 * a batch are refused as po_agg_add() refuses them).
 */
static void
check_batch(const struct rec_set *s, const enum po_key *keys, unsigned nkeys,
    const struct po_filter *f, size_t step)
{
	struct po_agg *one = NULL, *bat = NULL;
	const struct po_record **rs = po_xcalloc(s->n + 1, sizeof(void *));
	uint32_t *g1 = po_xcalloc(s->n + 1, sizeof(*g1));
	uint32_t *g2 = po_xcalloc(s->n + 1, sizeof(*g2));
	uint64_t *i1 = po_xcalloc(s->n + 1, sizeof(*i1));
	uint64_t *i2 = po_xcalloc(s->n + 1, sizeof(*i2));
	int *r1 = po_xcalloc(s->n + 1, sizeof(*r1));
	int *r2 = po_xcalloc(s->n + 1, sizeof(*r2));
	char *t1, *t2;

	assert_int_equal(po_agg_new(&one, keys, nkeys, f), 0);
	assert_int_equal(po_agg_new(&bat, keys, nkeys, f), 0);
	for (size_t i = 0; i < s->n; i++) {
		rs[i] = &s->recs[i];
		r1[i] = po_agg_add(one, rs[i], 0, &g1[i], &i1[i]);
	}
	for (size_t i = 0; i < s->n; i += step) {
		size_t n = s->n - i < step ? s->n - i : step;

		po_agg_add_batch(bat, rs + i, n, 0, g2 + i, i2 + i, r2 + i);
	}
	for (size_t i = 0; i < s->n; i++) {
		assert_int_equal(r2[i], r1[i]);
		if (r1[i] == 0) {
			assert_int_equal(g2[i], g1[i]);
			assert_true(i2[i] == i1[i]);
		}
	}
	assert_int_equal(po_agg_ngroups(bat), po_agg_ngroups(one));
	assert_true(po_agg_filtered(bat) == po_agg_filtered(one));
	t1 = agg_text(one);
	t2 = agg_text(bat);
	assert_string_equal(t2, t1);
	free(t1);
	free(t2);
	po_agg_free(one);
	po_agg_free(bat);
	free(rs);
	free(g1);
	free(g2);
	free(i1);
	free(i2);
	free(r1);
	free(r2);
}

static void
test_add_batch(void **state)
{
	static const size_t steps[] = { 1, 3, PO_BATCH, PO_BATCH + 5, 1000 };
	static const enum po_key combo[] = { PO_KEY_STACK, PO_KEY_COMM, PO_KEY_ORDER };
	struct po_filter f = { .culprit = "a" };
	int32_t pid = 1;
	struct rec_set s = { 0 };
	size_t len = 0;
	char *data = all_fixture_text(&len);

	(void)state;
	for (int i = 0; i < 3; i++)	/* stacks seen again, batches past the end */
		rec_set_load(&s, data, len);
	assert_true(s.n > PO_BATCH * 2);
	for (unsigned k = 0; k < PO__KEY_MAX; k++) {
		enum po_key key = (enum po_key)k;

		for (size_t i = 0; i < PO_ARRAY_SIZE(steps); i++)
			check_batch(&s, &key, 1, NULL, steps[i]);
	}
	check_batch(&s, combo, 3, NULL, 7);
	check_batch(&s, combo, 1, &f, 5);	/* a stack-level filter */
	f = (struct po_filter){ .pids = &pid, .npids = 1 };
	check_batch(&s, combo, 1, &f, PO_BATCH);	/* a record-level one */
	rec_set_free(&s);
	free(data);
}

/* The same on the real capture (tests/data), cut in the middle. */
static void
test_merge_real(void **state)
{
	struct tu_buf b = { 0 };
	struct rec_set s = { 0 };

	(void)state;
	b.p = tu_read_data("real-6.12.117-leak2000.page_owner.xz", &b.n);
	rec_set_load(&s, b.p, b.n);
	assert_int_equal(s.n, 8403);
	{
		enum po_key key = PO_KEY_CULPRIT;
		struct po_agg *a = agg_of(&s, &key, 1, NULL, 0, s.n);
		uint64_t pages = 0, leak = 0;

		for (size_t i = 0; i < po_agg_ngroups(a); i++) {
			struct po_group *g = po_agg_group(a, i);
			char ks[256];

			po_agg_key_str(a, g, 0, ks, sizeof(ks));
			pages += g->pages[0];
			if (strcmp(ks, "leaker_leak_pages") == 0)
				leak = g->pages[0];
		}
		assert_int_equal(pages, 9047);
		assert_int_equal(leak, 2000);
		po_agg_free(a);
	}
	for (unsigned k = 0; k < PO__KEY_MAX; k++) {
		enum po_key key = (enum po_key)k;

		check_merge(&s, &key, 1, s.n / 2);
	}
	rec_set_free(&s);
	free(b.p);
}

/* ---- smaller things ------------------------------------------------------ */

static void
test_keys(void **state)
{
	static const struct {
		const char	*name;
		enum po_key	 key;
	} names[] = {
		{ "stack", PO_KEY_STACK }, { "signature", PO_KEY_SIGNATURE },
		{ "culprit", PO_KEY_CULPRIT }, { "module", PO_KEY_MODULE },
		{ "comm", PO_KEY_COMM }, { "pid", PO_KEY_PID }, { "tgid", PO_KEY_TGID },
		{ "memcg", PO_KEY_MEMCG }, { "order", PO_KEY_ORDER },
		{ "gfp", PO_KEY_GFP }, { "allocator", PO_KEY_ALLOCATOR },
		/* page_owner_sort's spellings (format notes 9.1, 10) */
		{ "st", PO_KEY_STACK }, { "stacktrace", PO_KEY_STACK },
		{ "n", PO_KEY_COMM }, { "name", PO_KEY_COMM }, { "p", PO_KEY_PID },
		{ "tg", PO_KEY_TGID }, { "ator", PO_KEY_ALLOCATOR },
	};
	enum po_key keys[PO_MAX_KEYS], k;
	unsigned n = 99;
	char *cause = NULL;

	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(names); i++) {
		assert_int_equal(po_key_parse(names[i].name, &k), 0);
		assert_int_equal(k, names[i].key);
	}
	for (unsigned i = 0; i < PO__KEY_MAX; i++) {
		assert_int_equal(po_key_parse(po_key_name((enum po_key)i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_string_equal(po_key_name(PO__KEY_MAX), "?");
	assert_int_equal(po_key_parse("", &k), -EINVAL);
	assert_int_equal(po_key_parse("Stack", &k), -EINVAL);
	assert_int_equal(po_key_parse("free", &k), -EINVAL);	/* gone in v6.7 */

	assert_int_equal(po_keys_parse("culprit,n,order", keys, &n, &cause), 0);
	assert_int_equal(n, 3);
	assert_int_equal(keys[0], PO_KEY_CULPRIT);
	assert_int_equal(keys[1], PO_KEY_COMM);
	assert_int_equal(keys[2], PO_KEY_ORDER);
	assert_null(cause);
	n = 99;
	assert_int_equal(po_keys_parse("comm,name", keys, &n, &cause), -EINVAL);
	assert_non_null(strstr(cause, "twice"));
	assert_int_equal(n, 99);
	free(cause);
	cause = NULL;
	/* one key more than a group may have */
	{
		struct tu_buf many = { 0 };

		for (unsigned i = 0; i <= PO_MAX_KEYS; i++)
			tu_buf_printf(&many, "%s%s", i ? "," : "",
			    po_key_name((enum po_key)i));
		assert_int_equal(po_keys_parse(many.p, keys, &n, &cause), -EINVAL);
		assert_non_null(cause);
		free(cause);
		cause = NULL;
		many.p[strlen(many.p) - strlen(po_key_name((enum po_key)PO_MAX_KEYS)) - 1] = '\0';
		assert_int_equal(po_keys_parse(many.p, keys, &n, &cause), 0);
		assert_int_equal(n, PO_MAX_KEYS);
		free(many.p);
	}
	assert_int_equal(po_keys_parse("comm,bogus", keys, &n, &cause), -EINVAL);
	assert_non_null(strstr(cause, "bogus"));
	free(cause);
	cause = NULL;
	assert_int_equal(po_keys_parse("", keys, &n, &cause), -EINVAL);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	assert_int_equal(po_keys_parse(",,", keys, &n, &cause), -EINVAL);
	free(cause);
}

static void
test_allocator_str(void **state)
{
	char buf[64], small[8];

	(void)state;
	po_allocator_str(PO_ATOR_CMA, buf, sizeof(buf));
	assert_string_equal(buf, "CMA");
	po_allocator_str(PO_ATOR_OTHERS, buf, sizeof(buf));
	assert_string_equal(buf, "OTHERS");
	po_allocator_str(PO_ATOR_SLAB | PO_ATOR_VMALLOC, buf, sizeof(buf));
	assert_string_equal(buf, "SLAB VMALLOC");
	po_allocator_str(PO_ATOR_CMA | PO_ATOR_SLAB | PO_ATOR_VMALLOC |
	    PO_ATOR_OTHERS, buf, sizeof(buf));
	assert_string_equal(buf, "CMA SLAB VMALLOC OTHERS");
	po_allocator_str(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* a short buffer holds a clean prefix, like snprintf */
	po_allocator_str(PO_ATOR_CMA, small, 4);
	assert_string_equal(small, "CMA");
	po_allocator_str(PO_ATOR_CMA | PO_ATOR_SLAB, small, 6);
	assert_string_equal(small, "CMA S");
	memset(small, '#', sizeof(small));
	po_allocator_str(PO_ATOR_CMA, small, 0);
	assert_int_equal(small[0], '#');
}

static const char rec_a[] =
	"Page allocated via order 1, mask 0x2cc0(GFP_KERNEL|__GFP_NOWARN), pid 1, tgid 1 (init), ts 500 ns, free_ts 500 ns\n"
	"PFN 0x2a3c1 type Unmovable Block 337 type Unmovable Flags 0x0(node=0|zone=1)\n"
	" leaker_leak_pages+0x48/0x70 [leaker]\n";

static void
test_add_api(void **state)
{
	enum po_key key = PO_KEY_STACK, keys5[PO_MAX_KEYS + 1] = { 0 };
	struct po_agg *a = NULL, *b = NULL;
	struct po_record r, r2;
	uint64_t id1, id2, id3;
	uint32_t gid;

	(void)state;
	assert_int_equal(po_agg_new(&a, keys5, 0, NULL), -EINVAL);
	assert_int_equal(po_agg_new(&a, keys5, PO_MAX_KEYS + 1, NULL), -EINVAL);
	po_agg_free(NULL);

	assert_int_equal(po_parse_record(rec_a, sizeof(rec_a) - 1, &r, NULL), 0);
	assert_int_equal(po_agg_new(&a, &key, 1, NULL), 0);
	assert_int_equal(po_agg_new(&b, &key, 1, NULL), 0);
	assert_int_equal(po_agg_add(a, &r, 2, NULL, NULL), -EINVAL);
	assert_int_equal(po_agg_add(a, &r, -1, NULL, NULL), -EINVAL);
	assert_int_equal(po_agg_add_stack(a, &r, 0, NULL), -EINVAL);
	assert_int_equal(po_agg_ngroups(a), 0);
	assert_null(po_agg_group(a, 0));

	/* the same block in two dumps has the same identity */
	assert_int_equal(po_agg_add(a, &r, 0, &gid, &id1), 0);
	assert_int_equal(gid, 0);
	assert_int_equal(po_agg_add(b, &r, 1, &gid, &id2), 0);
	assert_true(id1 == id2);
	r2 = r;
	r2.ts = 501;
	assert_int_equal(po_agg_add(a, &r2, 1, &gid, &id3), 0);
	assert_true(id3 != id1);
	r2 = r;
	r2.order = 2;
	assert_int_equal(po_agg_add(a, &r2, 1, NULL, &id3), 0);
	assert_true(id3 != id1);

	/* slots, ts range, anomaly, identity fields of the group */
	{
		struct po_group *g = po_agg_group(a, 0);

		assert_int_equal(po_agg_ngroups(a), 1);
		assert_int_equal(g->blocks[0], 1);
		assert_int_equal(g->blocks[1], 2);
		assert_int_equal(g->pages[0], 2);
		assert_int_equal(g->pages[1], 2 + 4);
		assert_int_equal(g->ts_min, 500);
		assert_int_equal(g->ts_max, 501);
		assert_int_equal(g->free_ts_max, 500);
		assert_int_equal(g->anomalies, 2);	/* ts 501 != free_ts 500 */
		assert_int_equal(g->pid, 1);
		assert_int_equal(g->tgid, 1);
		assert_string_equal(po_strtab_get(po_agg_names(a), g->comm_id, NULL),
		    "init");
		assert_int_equal(g->ator, PO_ATOR_OTHERS);
	}
	assert_int_equal(po_agg_nkeys(a), 1);
	assert_int_equal(po_agg_keys(a)[0], PO_KEY_STACK);
	po_agg_free(a);
	po_agg_free(b);
}

/*
 * The same path in two builds (offsets moved) is two stacks but one
 * signature; another module name is another signature.
 */
static void
test_signature_key(void **state)
{
	static const char *const stacks[] = {
		" alloc_pages+0x1/0x2\n leaker_leak_pages+0x48/0x70 [leaker]\n",
		" alloc_pages+0x5/0x9\n leaker_leak_pages+0x40/0x78 [leaker]\n",
		" alloc_pages+0x1/0x2\n leaker_leak_pages+0x48/0x70 [leaker2]\n",
	};
	enum po_key ks = PO_KEY_STACK, kg = PO_KEY_SIGNATURE, kc = PO_KEY_CULPRIT;
	struct po_agg *a = NULL, *b = NULL, *c = NULL;
	struct po_record r;

	(void)state;
	assert_int_equal(po_parse_record(rec_a, sizeof(rec_a) - 1, &r, NULL), 0);
	assert_int_equal(po_agg_new(&a, &ks, 1, NULL), 0);
	assert_int_equal(po_agg_new(&b, &kg, 1, NULL), 0);
	assert_int_equal(po_agg_new(&c, &kc, 1, NULL), 0);
	for (size_t i = 0; i < PO_ARRAY_SIZE(stacks); i++) {
		r.stack = (struct po_span){ stacks[i], strlen(stacks[i]) };
		r.nframes = 2;
		assert_int_equal(po_agg_add(a, &r, 0, NULL, NULL), 0);
		assert_int_equal(po_agg_add(b, &r, 0, NULL, NULL), 0);
		assert_int_equal(po_agg_add(c, &r, 0, NULL, NULL), 0);
	}
	assert_int_equal(po_agg_ngroups(a), 3);
	assert_int_equal(po_agg_ngroups(b), 2);
	assert_int_equal(po_agg_group(b, 0)->blocks[0], 2);
	assert_int_equal(po_agg_group(b, 1)->blocks[0], 1);
	assert_int_equal(po_agg_ngroups(c), 1);
	assert_int_equal(po_agg_group(c, 0)->pages[0], 6);
	po_agg_free(a);
	po_agg_free(b);
	po_agg_free(c);
}

/* Many groups: the hash table grows and nothing is lost. */
static void
test_many_groups(void **state)
{
	enum po_key keys[2] = { PO_KEY_PID, PO_KEY_ORDER };
	struct po_agg *a = NULL;
	struct po_record r;

	(void)state;
	assert_int_equal(po_parse_record(rec_a, sizeof(rec_a) - 1, &r, NULL), 0);
	assert_int_equal(po_agg_new(&a, keys, 2, NULL), 0);
	for (int round = 0; round < 2; round++)
		for (int32_t pid = 0; pid < 20000; pid++) {
			r.pid = pid;
			r.order = (unsigned)(pid % 3);
			assert_int_equal(po_agg_add(a, &r, 0, NULL, NULL), 0);
		}
	assert_int_equal(po_agg_ngroups(a), 20000);
	for (size_t i = 0; i < po_agg_ngroups(a); i++) {
		struct po_group *g = po_agg_group(a, i);

		assert_int_equal(g->blocks[0], 2);
		assert_int_equal(g->key[1], (uint64_t)((int64_t)g->key[0] % 3));
		assert_int_equal(g->pages[0], 2u << g->key[1]);
	}
	po_agg_free(a);
}

/* ---- stacktab.c ------------------------------------------------------------ */

static void
test_strtab(void **state)
{
	struct po_strtab *t = NULL;
	uint32_t ids[3000];
	size_t n;

	(void)state;
	assert_int_equal(po_strtab_new(&t), 0);
	assert_int_equal(po_strtab_intern(t, "", 0), 0);
	assert_int_equal(po_strtab_intern(t, NULL, 0), 0);
	for (int i = 0; i < 3000; i++) {
		char s[32];

		snprintf(s, sizeof(s), "name-%d", i);
		ids[i] = po_strtab_intern(t, s, strlen(s));
	}
	assert_int_equal(po_strtab_count(t), 3001);
	for (int i = 0; i < 3000; i++) {
		char s[32];

		snprintf(s, sizeof(s), "name-%d", i);
		assert_int_equal(po_strtab_intern(t, s, strlen(s)), ids[i]);
		assert_string_equal(po_strtab_get(t, ids[i], &n), s);
		assert_int_equal(n, strlen(s));
	}
	/* a name with a NUL inside is its own name */
	assert_int_not_equal(po_strtab_intern(t, "a\0b", 3), po_strtab_intern(t, "a", 1));
	assert_string_equal(po_strtab_get(t, 99999, &n), "");
	assert_int_equal(n, 0);
	po_strtab_free(t);
	po_strtab_free(NULL);
}

static void
test_stacktab(void **state)
{
	static const char s1[] = " get_page_from_freelist+0x1/0x2\n leaker_leak_pages+0x48/0x70 [leaker]\n";
	static const char s2[] = " get_page_from_freelist+0x1/0x2\n leaker_leak_pages+0x49/0x70 [leaker]\n";
	struct po_strtab *names = NULL;
	struct po_stacktab *t = NULL;
	uint32_t a, b, c;
	struct po_span txt;
	const struct po_stack *st;

	(void)state;
	assert_int_equal(po_strtab_new(&names), 0);
	assert_int_equal(po_stacktab_new(&t, names), 0);
	a = po_stacktab_intern(t, (struct po_span){ s1, sizeof(s1) - 1 }, 2);
	b = po_stacktab_intern(t, (struct po_span){ s2, sizeof(s2) - 1 }, 2);
	c = po_stacktab_intern(t, (struct po_span){ s1, sizeof(s1) - 1 }, 2);
	assert_int_equal(a, c);
	assert_int_not_equal(a, b);
	assert_int_equal(po_stacktab_count(t), 2);
	st = po_stacktab_get(t, a);
	assert_non_null(st);
	assert_int_equal(st->nframes, 2);
	{
		uint64_t hi, lo = po_stack_hash((struct po_span){ s1, sizeof(s1) - 1 }, &hi);

		/* the identity is XXH3-128 of the frame lines as printed */
		assert_true(st->hash == lo);
		assert_true(st->hash_hi == hi);
		assert_true(lo != po_hash(s1, sizeof(s1) - 1) || hi != 0);
	}
	assert_int_equal(po_stacktab_find(t, st->hash), a);
	assert_int_equal(po_stacktab_find(t, st->hash ^ 1), PO_NONE);
	/* offsets differ, signature does not */
	assert_true(st->sig_hash == po_stacktab_get(t, b)->sig_hash);
	assert_string_equal(po_strtab_get(names, st->culprit_id, NULL), "leaker_leak_pages");
	assert_string_equal(po_strtab_get(names, st->module_id, NULL), "leaker");
	txt = po_stacktab_text(t, b);
	assert_int_equal(txt.n, sizeof(s2) - 1);
	assert_memory_equal(txt.p, s2, txt.n);
	/* an empty stack is a stack too (UBSan found NULL + 0 here) */
	c = po_stacktab_intern(t, (struct po_span){ NULL, 0 }, 0);
	assert_int_equal(po_stacktab_intern(t, (struct po_span){ "", 0 }, 0), c);
	assert_int_equal(po_stacktab_text(t, c).n, 0);
	assert_non_null(po_stacktab_text(t, c).p);
	assert_int_equal(po_stacktab_count(t), 3);
	assert_null(po_stacktab_get(t, 5));
	assert_int_equal(po_stacktab_text(t, 5).n, 0);
	/* growth keeps ids and texts */
	for (int i = 0; i < 5000; i++) {
		char s[64];
		int n = snprintf(s, sizeof(s), " f%d+0x1/0x2\n", i);

		assert_int_equal(po_stacktab_intern(t, (struct po_span){ s, (size_t)n }, 1),
		    (uint32_t)i + 3);
	}
	txt = po_stacktab_text(t, a);
	assert_memory_equal(txt.p, s1, txt.n);
	assert_int_equal(po_stacktab_intern(t, (struct po_span){ s2, sizeof(s2) - 1 }, 2), b);
	po_stacktab_free(t);
	po_stacktab_free(NULL);
	po_strtab_free(names);
}

int
main(void)
{
	struct CMUnitTest tests[2 * PO_ARRAY_SIZE(group_fixtures) + 16];
	char *names[2 * PO_ARRAY_SIZE(group_fixtures)];
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < PO_ARRAY_SIZE(group_fixtures); i++) {
		po_asprintf(&names[n], "groups %s", group_fixtures[i].name);
		tests[n] = (struct CMUnitTest){ names[n], test_fixture_groups, NULL,
		    NULL, &group_fixtures[i] };
		n++;
	}
	for (size_t i = 0; i < PO_ARRAY_SIZE(group_fixtures); i++) {
		po_asprintf(&names[n], "stacks %s", group_fixtures[i].name);
		tests[n] = (struct CMUnitTest){ names[n], test_fixture_stacks, NULL,
		    NULL, &group_fixtures[i] };
		n++;
	}
#define T(f) tests[n++] = (struct CMUnitTest)cmocka_unit_test(f)
	T(test_handles_join);
	T(test_filters);
	T(test_merge_equals_whole);
	T(test_merge_real);
	T(test_keys);
	T(test_allocator_str);
	T(test_add_api);
	T(test_add_batch);
	T(test_signature_key);
	T(test_many_groups);
	T(test_strtab);
	T(test_stacktab);
#undef T
	rc = _cmocka_run_group_tests("agg", tests, n, NULL, NULL);
	for (size_t i = 0; i < PO_ARRAY_SIZE(names); i++)
		free(names[i]);
	return rc;
}
