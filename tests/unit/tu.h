/*
 * tu.h: shared helpers of the unit tests (header-only, static functions).
 *
 * Reads fixtures and their hand-written .expect files (format in
 * tests/fixtures/README), renders a parsed record as one canonical string
 * so that two parses can be compared whole, and checks a record against
 * its expected fields.  The names of features and malformed reasons are
 * this file's own tables, taken from po.h's comments, so that the tests do
 * not read the library's answers back to themselves.
 *
 * Include after <cmocka.h>.
 */
#ifndef TU_H
#define TU_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/po.h"

#ifndef PO_SRCDIR
#define PO_SRCDIR "."
#endif

#define TU_UNUSED __attribute__((unused))

/* ---- growable text buffer ---------------------------------------------- */

struct tu_buf {
	char	*p;	/* always NUL-terminated once anything was put */
	size_t	 n;	/* bytes used, without the NUL */
	size_t	 cap;
};

static TU_UNUSED void
tu_buf_put(struct tu_buf *b, const void *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->n + n + 1)
			cap *= 2;
		b->p = po_xrealloc(b->p, cap, 1);
		b->cap = cap;
	}
	if (b->p == NULL)	/* cannot happen: tells the analyzers */
		abort();
	if (n > 0)
		memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static TU_UNUSED void __attribute__((format(printf, 2, 3)))
tu_buf_printf(struct tu_buf *b, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	tu_buf_put(b, s, (size_t)n);
	free(s);
}

/* Text with every byte outside printable ASCII escaped, so NULs show. */
static TU_UNUSED void
tu_buf_escaped(struct tu_buf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			tu_buf_put(b, &p[i], 1);
		else
			tu_buf_printf(b, "\\x%02x", c);
	}
}

/* ---- files -------------------------------------------------------------- */

static TU_UNUSED const char *
tu_srcdir(void)
{
	const char *s = getenv("PO_SRCDIR");

	return s != NULL && *s != '\0' ? s : PO_SRCDIR;
}

static TU_UNUSED char *
tu_path(const char *rel)
{
	char *p = NULL;

	po_asprintf(&p, "%s/%s", tu_srcdir(), rel);
	return p;
}

/* Whole file, or NULL when it cannot be read. */
static TU_UNUSED char *
tu_read_file(const char *path, size_t *ret_len)
{
	struct tu_buf b = { 0 };
	char chunk[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	*ret_len = 0;
	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		tu_buf_put(&b, chunk, n);
	fclose(f);
	if (b.p == NULL)
		tu_buf_put(&b, "", 0);
	*ret_len = b.n;
	return b.p;
}

static TU_UNUSED char *
tu_read_fixture(const char *name, size_t *ret_len)
{
	char *path = NULL, *data;

	po_asprintf(&path, "%s/tests/fixtures/%s", tu_srcdir(), name);
	data = tu_read_file(path, ret_len);
	if (data == NULL)
		fail_msg("cannot read fixture %s: %s", path, strerror(errno));
	free(path);
	return data;
}

/*
 * A file of tests/data (part of the tree), decompressed when its name ends
 * in .xz.  Its absence, or xz's, is a test failure: never a skip.
 */
static TU_UNUSED char *
tu_data_path(const char *name)
{
	char *path = NULL;

	po_asprintf(&path, "%s/tests/data/%s", tu_srcdir(), name);
	if (access(path, R_OK) != 0)
		fail_msg("cannot read %s: %s (tests/data is part of the tree)", path,
		    strerror(errno));
	return path;
}

static TU_UNUSED char *
tu_read_data(const char *name, size_t *ret_len)
{
	char *path = tu_data_path(name), *cmd = NULL, chunk[65536];
	struct tu_buf b = { 0 };
	size_t n, len = strlen(name);
	FILE *f;
	int rc;

	if (len < 3 || strcmp(name + len - 3, ".xz") != 0) {
		char *data = tu_read_file(path, ret_len);

		if (data == NULL)
			fail_msg("cannot read %s: %s", path, strerror(errno));
		free(path);
		return data;
	}
	po_asprintf(&cmd, "xz -dc '%s'", path);
	f = popen(cmd, "r");
	if (f == NULL) {
		fail_msg("cannot run '%s': %s", cmd, strerror(errno));
		abort();
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		tu_buf_put(&b, chunk, n);
	rc = pclose(f);
	if (rc != 0 || b.n == 0)
		fail_msg("'%s' failed (status %d, %zu bytes): is xz-utils installed?",
		    cmd, rc, b.n);
	free(cmd);
	free(path);
	*ret_len = b.n;
	return b.p;
}

/* ---- names of po.h's enums, written from its comments ------------------ */

static const struct {
	const char	*name;
	unsigned	 bit;
} tu_feature_names[] TU_UNUSED = {
	{ "gfp_names", PO_F_GFP_NAMES }, { "pid", PO_F_PID },
	{ "tgid", PO_F_TGID }, { "ts", PO_F_TS }, { "free_ts", PO_F_FREE_TS },
	{ "hex_pfn", PO_F_HEX_PFN }, { "legacy_pfn", PO_F_LEGACY_PFN },
	{ "flag_fields", PO_F_FLAG_FIELDS }, { "addr_frames", PO_F_ADDR_FRAMES },
	{ "migrate", PO_F_MIGRATE }, { "slab", PO_F_SLAB },
	{ "memcg", PO_F_MEMCG }, { "handle", PO_F_HANDLE },
	{ "nr_base_pages", PO_F_NR_PAGES },
};

static const char *const tu_reason_names[PO__BAD_MAX] TU_UNUSED = {
	[PO_BAD_NONE] = "none", [PO_BAD_START] = "start",
	[PO_BAD_ALLOC_LINE] = "alloc_line", [PO_BAD_PFN_LINE] = "pfn_line",
	[PO_BAD_NO_STACK] = "no_stack", [PO_BAD_TOO_LONG] = "too_long",
	[PO_BAD_TRUNCATED] = "truncated", [PO_BAD_STACK_COUNT] = "stack_count",
	[PO_BAD_ORDER] = "order", [PO_BAD_HANDLE] = "handle",
};

static TU_UNUSED unsigned
tu_features_parse(const char *list)
{
	unsigned bits = 0;
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		bool found = false;

		for (size_t i = 0; i < PO_ARRAY_SIZE(tu_feature_names); i++)
			if (strlen(tu_feature_names[i].name) == n &&
			    strncmp(tu_feature_names[i].name, p, n) == 0) {
				bits |= tu_feature_names[i].bit;
				found = true;
			}
		if (!found)
			fail_msg("unknown feature name in '%s'", list);
		p += n;
		if (*p == ',')
			p++;
	}
	return bits;
}

static TU_UNUSED const char *
tu_reason_name(enum po_malformed why)
{
	return (unsigned)why < PO__BAD_MAX ? tu_reason_names[why] : "?";
}

/* ---- canonical form of a record ---------------------------------------- */

static TU_UNUSED void
tu_span_field(struct tu_buf *b, const char *name, struct po_span s)
{
	tu_buf_printf(b, " %s=", name);
	if (s.p == NULL)
		tu_buf_put(b, "(null)", 6);
	else {
		tu_buf_put(b, "\"", 1);
		tu_buf_escaped(b, s.p, s.n);
		tu_buf_put(b, "\"", 1);
	}
}

/* Every field of r as text; the caller frees it. */
static TU_UNUSED char *
tu_record_str(const struct po_record *r, bool with_offset)
{
	struct tu_buf b = { 0 };

	tu_buf_printf(&b, "kind=%d features=%#x order=%u gfp=%#" PRIx64,
	    (int)r->kind, r->features, r->order, r->gfp);
	tu_span_field(&b, "gfp_names", r->gfp_names);
	tu_buf_printf(&b, " pid=%" PRId32 " tgid=%" PRId32, r->pid, r->tgid);
	tu_span_field(&b, "comm", r->comm);
	tu_buf_printf(&b, " ts=%" PRIu64 " free_ts=%" PRIu64 " pfn=%" PRIu64
	    " block=%" PRIu64, r->ts, r->free_ts, r->pfn, r->block);
	tu_span_field(&b, "mt", r->mt);
	tu_span_field(&b, "block_mt", r->block_mt);
	tu_buf_printf(&b, " fallback=%d flags=%#" PRIx64, r->fallback,
	    r->page_flags);
	tu_span_field(&b, "flag_names", r->flag_names);
	tu_span_field(&b, "stack", r->stack);
	tu_buf_printf(&b, " nframes=%u", r->nframes);
	tu_span_field(&b, "migrate", r->migrate_reason);
	tu_buf_printf(&b, " slab=%d", r->slab);
	tu_span_field(&b, "memcg", r->memcg);
	tu_buf_printf(&b, " offline=%d objcg=%d has_handle=%d handle=%" PRIu32
	    " has_nr=%d nr=%" PRId64 " unknown=%u", r->memcg_offline,
	    r->memcg_via_objcg, r->has_handle, r->handle, r->has_nr_pages,
	    r->nr_base_pages, r->unknown_lines);
	if (with_offset)
		tu_buf_printf(&b, " offset=%" PRIu64, r->offset);
	return b.p;
}

static TU_UNUSED char *
tu_stats_str(const struct po_parse_stats *st)
{
	struct tu_buf b = { 0 };

	tu_buf_printf(&b, "bytes=%" PRIu64 " records=%" PRIu64 " page=%" PRIu64
	    " stack=%" PRIu64 " pages=%" PRIu64 " malformed=%" PRIu64
	    " unknown=%" PRIu64 " unsorted=%" PRIu64 " features=%#x"
	    " first_bad=%d first_bad_offset=%" PRIu64, st->bytes, st->records,
	    st->page_records, st->stack_records, st->pages, st->malformed,
	    st->unknown_lines, st->pfn_unsorted, st->features,
	    (int)st->first_bad, st->malformed ? st->first_bad_offset : 0);
	return b.p;
}

/* ---- collecting a parse ------------------------------------------------- */

/* Every record of one parse as canonical text, one per line. */
struct tu_collect {
	struct tu_buf	 text;
	size_t		 n;
};

static TU_UNUSED int
tu_collect_cb(const struct po_record *r, void *userdata)
{
	struct tu_collect *c = userdata;
	char *s = tu_record_str(r, true);

	tu_buf_put(&c->text, s, strlen(s));
	tu_buf_put(&c->text, "\n", 1);
	free(s);
	c->n++;
	return 0;
}

/*
 * Parse data fed in slices whose lengths come from cut[] (cyclically;
 * ncut == 0: one slice), then finish.  Returns the records as text and
 * the statistics as text.
 */
static TU_UNUSED void
tu_parse_sliced(const char *data, size_t len, const size_t *cut, size_t ncut,
    char **ret_records, char **ret_stats)
{
	struct tu_collect c = { { 0 }, 0 };
	struct po_parser *p = NULL;
	size_t off = 0, i = 0;

	assert_int_equal(po_parser_new(&p), 0);
	while (off < len) {
		size_t n = ncut ? cut[i++ % ncut] : len;

		if (n > len - off)
			n = len - off;
		assert_int_equal(po_parser_feed(p, data + off, n, tu_collect_cb,
		    &c), 0);
		off += n;
	}
	assert_int_equal(po_parser_finish(p, tu_collect_cb, &c), 0);
	if (c.text.p == NULL)
		tu_buf_put(&c.text, "", 0);
	*ret_records = c.text.p;
	*ret_stats = tu_stats_str(po_parser_stats(p));
	po_parser_free(p);
}

/* ---- .expect files ------------------------------------------------------ */

struct tu_kv {
	char	*key;
	char	*val;	/* unescaped, NUL-terminated */
	size_t	 vlen;	/* may hold NULs */
};

struct tu_list {
	struct tu_kv	*kv;
	size_t		 n;
};

struct tu_expect {
	struct tu_list	 top;		/* stats and the like */
	struct tu_list	*recs;		/* record ... end blocks */
	size_t		 nrecs;
	struct tu_list	 groups;	/* group lines, val = rest of line */
	struct tu_list	 stacks;	/* stack lines, val = rest of line */
};

static TU_UNUSED void
tu_list_add(struct tu_list *l, const char *key, size_t klen, const char *val,
    size_t vlen)
{
	struct tu_kv *kv;

	l->kv = po_xrealloc(l->kv, l->n + 1, sizeof(*l->kv));
	kv = &l->kv[l->n++];
	kv->key = po_xstrndup(key, klen);
	kv->val = po_xstrndup(val, vlen);
	kv->vlen = vlen;
}

/* "quoted \x41 text" -> bytes; anything else is taken as it is. */
static TU_UNUSED char *
tu_unquote(const char *s, size_t n, size_t *ret_len)
{
	struct tu_buf b = { 0 };

	if (n < 2 || s[0] != '"' || s[n - 1] != '"') {
		*ret_len = n;
		return po_xstrndup(s, n);
	}
	tu_buf_put(&b, "", 0);
	for (size_t i = 1; i + 1 < n; i++) {
		char c = s[i];

		if (c == '\\' && i + 2 < n) {
			c = s[++i];
			switch (c) {
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			case '0': c = '\0'; break;
			case 'x': {
				char hex[3] = { s[i + 1], s[i + 2], '\0' };

				c = (char)strtoul(hex, NULL, 16);
				i += 2;
				break;
			}
			default: break;
			}
		}
		tu_buf_put(&b, &c, 1);
	}
	*ret_len = b.n;
	return b.p;
}

static TU_UNUSED void
tu_expect_load(const char *name, struct tu_expect *e)
{
	size_t len, vlen;
	char *data = tu_read_fixture(name, &len);
	char *line = data, *end = data + len;
	struct tu_list *cur = NULL;

	memset(e, 0, sizeof(*e));
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *le = nl != NULL ? nl : end;
		char *tab = memchr(line, '\t', (size_t)(le - line));
		size_t klen = tab != NULL ? (size_t)(tab - line) : (size_t)(le - line);
		char *val = tab != NULL ? tab + 1 : le;

		if (le == line || line[0] == '#') {
			/* blank or comment */
		} else if (klen == 6 && strncmp(line, "record", 6) == 0) {
			e->recs = po_xrealloc(e->recs, e->nrecs + 1, sizeof(*e->recs));
			cur = &e->recs[e->nrecs++];
			memset(cur, 0, sizeof(*cur));
		} else if (klen == 3 && strncmp(line, "end", 3) == 0) {
			cur = NULL;
		} else if (klen == 5 && strncmp(line, "group", 5) == 0) {
			tu_list_add(&e->groups, "group", 5, val, (size_t)(le - val));
		} else if (klen == 5 && strncmp(line, "stack", 5) == 0 && cur == NULL) {
			tu_list_add(&e->stacks, "stack", 5, val, (size_t)(le - val));
		} else {
			char *v = tu_unquote(val, (size_t)(le - val), &vlen);

			tu_list_add(cur != NULL ? cur : &e->top, line, klen, v, vlen);
			free(v);
		}
		line = nl != NULL ? nl + 1 : end;
	}
	free(data);
}

static TU_UNUSED void
tu_list_free(struct tu_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->kv[i].key);
		free(l->kv[i].val);
	}
	free(l->kv);
}

static TU_UNUSED void
tu_expect_free(struct tu_expect *e)
{
	tu_list_free(&e->top);
	for (size_t i = 0; i < e->nrecs; i++)
		tu_list_free(&e->recs[i]);
	free(e->recs);
	tu_list_free(&e->groups);
	tu_list_free(&e->stacks);
}

static TU_UNUSED const struct tu_kv *
tu_get(const struct tu_list *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->kv[i].key, key) == 0)
			return &l->kv[i];
	return NULL;
}

/* The key's entry; a test failure when the block lacks it. */
static TU_UNUSED const struct tu_kv *
tu_need(const struct tu_list *l, const char *key)
{
	const struct tu_kv *kv = tu_get(l, key);

	if (kv == NULL) {
		fail_msg(".expect lacks '%s'", key);
		abort();
	}
	return kv;
}

static TU_UNUSED uint64_t
tu_u64(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0')
		fail_msg("bad number '%s' in an .expect file", s);
	return v;
}

static TU_UNUSED int64_t
tu_i64(const char *s)
{
	char *end;
	int64_t v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0')
		fail_msg("bad number '%s' in an .expect file", s);
	return v;
}

/*
 * Split "a<TAB>b<TAB>c" in place into at most max fields; fields past the
 * last are set to an empty string.  Returns the fields found.
 */
static TU_UNUSED size_t
tu_split_tabs(char *s, char **f, size_t max)
{
	size_t n = 0;

	while (n < max) {
		char *t = strchr(s, '\t');

		f[n++] = s;
		if (t == NULL)
			break;
		*t = '\0';
		s = t + 1;
	}
	for (size_t i = n; i < max; i++)
		f[i] = s + strlen(s);
	return n;
}

/* ---- checking one record against an expect block ----------------------- */

static TU_UNUSED void
tu_check_span(const char *what, size_t idx, const char *field,
    struct po_span got, const char *want, size_t wlen)
{
	if (got.n != wlen || (wlen > 0 && memcmp(got.p, want, wlen) != 0)) {
		struct tu_buf g = { 0 }, w = { 0 };

		tu_buf_escaped(&g, got.p != NULL ? got.p : "", got.n);
		tu_buf_escaped(&w, want, wlen);
		tu_buf_put(&g, "", 0);
		tu_buf_put(&w, "", 0);
		fail_msg("%s record %zu: %s is '%s', want '%s'", what, idx, field,
		    g.p, w.p);
	}
}

static TU_UNUSED void
tu_check_num(const char *what, size_t idx, const char *field, int64_t got,
    int64_t want)
{
	if (got != want)
		fail_msg("%s record %zu: %s is %" PRId64 ", want %" PRId64, what,
		    idx, field, got, want);
}

static TU_UNUSED void
tu_check_u64(const char *what, size_t idx, const char *field, uint64_t got,
    uint64_t want)
{
	if (got != want)
		fail_msg("%s record %zu: %s is %#" PRIx64 ", want %#" PRIx64, what,
		    idx, field, got, want);
}

/* Want value of a key, or dflt when the block does not give it. */
static TU_UNUSED const char *
tu_want(const struct tu_list *l, const char *key, const char *dflt,
    size_t *ret_len)
{
	const struct tu_kv *kv = tu_get(l, key);

	if (kv == NULL) {
		*ret_len = strlen(dflt);
		return dflt;
	}
	*ret_len = kv->vlen;
	return kv->val;
}

/*
 * Compare every field of r with the block: fields the block does not name
 * must hold their empty value.  Culprit and module are those of
 * po_stack_describe on the record's stack.
 */
static TU_UNUSED void
tu_check_record(const char *what, size_t idx, const struct tu_list *l,
    const struct po_record *r)
{
	struct tu_buf frames = { 0 };
	const char *w;
	size_t wl;

	w = tu_want(l, "kind", "?", &wl);
	if (strcmp(w, "page") == 0)
		tu_check_num(what, idx, "kind", r->kind, PO_REC_PAGE);
	else if (strcmp(w, "stack") == 0)
		tu_check_num(what, idx, "kind", r->kind, PO_REC_STACK);
	else
		fail_msg("%s record %zu: kind missing in .expect", what, idx);
	tu_check_u64(what, idx, "features", r->features,
	    tu_features_parse(tu_want(l, "features", "", &wl)));
	tu_check_num(what, idx, "order", r->order, tu_i64(tu_want(l, "order", "0", &wl)));
	tu_check_u64(what, idx, "gfp", r->gfp, tu_u64(tu_want(l, "gfp", "0", &wl)));
	w = tu_want(l, "gfp_names", "", &wl);
	tu_check_span(what, idx, "gfp_names", r->gfp_names, w, wl);
	tu_check_num(what, idx, "pid", r->pid, tu_i64(tu_want(l, "pid", "-1", &wl)));
	tu_check_num(what, idx, "tgid", r->tgid, tu_i64(tu_want(l, "tgid", "-1", &wl)));
	w = tu_want(l, "comm", "", &wl);
	tu_check_span(what, idx, "comm", r->comm, w, wl);
	tu_check_u64(what, idx, "ts", r->ts, tu_u64(tu_want(l, "ts", "0", &wl)));
	tu_check_u64(what, idx, "free_ts", r->free_ts,
	    tu_u64(tu_want(l, "free_ts", "0", &wl)));
	tu_check_u64(what, idx, "pfn", r->pfn, tu_u64(tu_want(l, "pfn", "0", &wl)));
	tu_check_u64(what, idx, "block", r->block, tu_u64(tu_want(l, "block", "0", &wl)));
	w = tu_want(l, "mt", "", &wl);
	tu_check_span(what, idx, "mt", r->mt, w, wl);
	w = tu_want(l, "block_mt", "", &wl);
	tu_check_span(what, idx, "block_mt", r->block_mt, w, wl);
	tu_check_num(what, idx, "fallback", r->fallback,
	    tu_i64(tu_want(l, "fallback", "0", &wl)));
	tu_check_u64(what, idx, "page_flags", r->page_flags,
	    tu_u64(tu_want(l, "page_flags", "0", &wl)));
	w = tu_want(l, "flag_names", "", &wl);
	tu_check_span(what, idx, "flag_names", r->flag_names, w, wl);

	/* the stack span is the frame lines exactly as printed */
	tu_buf_put(&frames, "", 0);
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->kv[i].key, "frame") == 0) {
			tu_buf_put(&frames, " ", 1);
			tu_buf_put(&frames, l->kv[i].val, l->kv[i].vlen);
			tu_buf_put(&frames, "\n", 1);
		}
	tu_check_span(what, idx, "stack", r->stack, frames.p, frames.n);
	{
		unsigned nf = 0;

		for (size_t i = 0; i < l->n; i++)
			nf += strcmp(l->kv[i].key, "frame") == 0;
		tu_check_num(what, idx, "nframes", r->nframes, nf);
	}
	free(frames.p);

	w = tu_want(l, "migrate_reason", "", &wl);
	tu_check_span(what, idx, "migrate_reason", r->migrate_reason, w, wl);
	tu_check_num(what, idx, "slab", r->slab, tu_i64(tu_want(l, "slab", "0", &wl)));
	w = tu_want(l, "memcg", "", &wl);
	tu_check_span(what, idx, "memcg", r->memcg, w, wl);
	tu_check_num(what, idx, "memcg_offline", r->memcg_offline,
	    tu_i64(tu_want(l, "memcg_offline", "0", &wl)));
	tu_check_num(what, idx, "memcg_via_objcg", r->memcg_via_objcg,
	    tu_i64(tu_want(l, "memcg_via_objcg", "0", &wl)));
	if (tu_get(l, "handle") != NULL) {
		tu_check_num(what, idx, "has_handle", r->has_handle, 1);
		tu_check_u64(what, idx, "handle", r->handle,
		    tu_u64(tu_need(l, "handle")->val));
	} else {
		tu_check_num(what, idx, "has_handle", r->has_handle, 0);
	}
	if (tu_get(l, "nr_base_pages") != NULL) {
		tu_check_num(what, idx, "has_nr_pages", r->has_nr_pages, 1);
		tu_check_num(what, idx, "nr_base_pages", r->nr_base_pages,
		    tu_i64(tu_need(l, "nr_base_pages")->val));
	} else {
		tu_check_num(what, idx, "has_nr_pages", r->has_nr_pages, 0);
	}
	tu_check_num(what, idx, "unknown_lines", r->unknown_lines,
	    tu_i64(tu_want(l, "unknown_lines", "0", &wl)));

	if (tu_get(l, "culprit") != NULL) {
		struct po_stack_info si;
		const char *m;

		po_stack_describe(r->stack, &si);
		w = tu_want(l, "culprit", "", &wl);
		tu_check_span(what, idx, "culprit", si.culprit, w, wl);
		m = tu_want(l, "module", "kernel", &wl);
		if (strcmp(m, "kernel") == 0)
			wl = 0;
		tu_check_span(what, idx, "module", si.module, m, wl);
	}
}

/*
 * A skip the runner counts: cmocka 1.1.5 prints its own skip() as "not ok
 * N # SKIP", which TAP readers take for a failure.  The test then returns
 * and cmocka adds its "ok" line.
 */
#define TU_SKIP(why) do {						\
		printf("ok - %s # SKIP %s\n", __func__, (why));		\
		fflush(stdout);						\
		return;							\
	} while (0)

/* ---- a deterministic PRNG (xorshift64*) --------------------------------- */

static TU_UNUSED uint64_t
tu_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

#endif
