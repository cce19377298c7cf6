/*
 * analyze-json.c: `analyze --json`, streamed: groups are encoded as they
 * are sorted, by two threads in batches, never the whole answer in memory.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "analyze.h"

/* ---- output -------------------------------------------------------------- */

bool
has_key(const struct analyze_opts *o, enum po_key k)
{
	for (unsigned i = 0; i < o->nkeys; i++)
		if (o->keys[i] == k)
			return true;
	return false;
}

/*
 * A JSON string of text from a dump (or a file name): as it is when it is
 * well-formed UTF-8, else with the other bytes as '?' (jansson refuses
 * them, and the field would be missing).
 */
json_t *
jtext(const char *p, size_t n)
{
	char *c;
	json_t *j;

	if (po_utf8_valid(p, n))	/* faster than jansson's own check */
		return json_stringn_nocheck(p, n);
	c = po_utf8_dup(p, n);
	j = json_stringn_nocheck(c, n);
	free(c);
	return j;
}

json_t *
stats_json(const struct dump *d)
{
	char feat[256];
	json_t *j, *fa = json_array();
	char *save = NULL, *tok;

	po_features_str(d->st.features, feat, sizeof(feat));
	for (tok = strtok_r(feat, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		json_array_append_new(fa, json_string(tok));
	j = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:b}",
	    "file", jtext(d->path, strlen(d->path)),
	    "bytes", (json_int_t)d->st.bytes,
	    "records", (json_int_t)d->st.page_records,
	    "stack_records", (json_int_t)d->st.stack_records,
	    "pages", (json_int_t)d->st.pages,
	    "malformed", (json_int_t)d->st.malformed,
	    "unknown_lines", (json_int_t)d->st.unknown_lines,
	    "format", po_era_str(d->st.features),
	    "features", fa,
	    "pfn_ordered", !d->unsorted);
	if (d->st.malformed > 0)
		json_object_set_new(j, "first_malformed", json_pack("{s:I, s:s}",
		    "offset", (json_int_t)d->st.first_bad_offset,
		    "reason", po_malformed_str(d->st.first_bad)));
	return j;
}

/* Items are encoded into a buffer that goes out in large writes. */
struct jbuf {
	char	*p;
	size_t	 n;
	size_t	 cap;
};

static void
jbuf_grow(struct jbuf *b, size_t size)
{
	size_t cap = b->cap ? b->cap : (size_t)128 * 1024;

	while (size > cap - b->n)
		cap *= 2;
	b->p = po_xrealloc(b->p, cap, 1);
	b->cap = cap;
}

/* Inline: a group's JSON is some forty small pieces. */
static inline void
jb_put(const char *buf, size_t size, struct jbuf *b)
{
	if (size > b->cap - b->n)
		jbuf_grow(b, size);
	memcpy(b->p + b->n, buf, size);
	b->n += size;
}

/* jb_put for json_dump_callback() */
static int
jbuf_put(const char *buf, size_t size, void *data)
{
	jb_put(buf, size, data);
	return 0;
}

/*
 * A group's members are written by one list of calls (group_keys) into one
 * of two places: a jansson object, or straight into the output as compact
 * JSON text.  The text way takes only strings that need no escaping
 * (printable ASCII without '"' or '\\', which is what kernel symbols are);
 * a group with any other string is written by jansson instead.  Both give
 * the same bytes (tests/integration/analyze.sh compares them).
 */
struct gw {
	json_t		*obj;		/* build this object, or */
	struct jbuf	*text;		/* append its members here as JSON text */
	unsigned	 members;	/* text: members written */
	bool		 escape;	/* text: a string needs jansson */
};

/*
 * [p, p + n) is printable ASCII without '"' or '\\' (and, with nl, the
 * '\n' between frame lines): JSON text as it is.  16 bytes at a time, as
 * a stack's text is most of a group's output.
 */
static bool
needs_no_escape_nl(const char *p, size_t n, bool nl)
{
	size_t i = 0;

#ifdef __SSE2__
	const __m128i sp = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
	const __m128i qu = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
	const __m128i lf = _mm_set1_epi8(nl ? '\n' : 0x20);

	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		/* signed: bytes from 0x80 are below 0x20 too */
		__m128i bad = _mm_andnot_si128(_mm_cmpeq_epi8(x, lf),
		    _mm_cmplt_epi8(x, sp));

		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, del));
		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, qu));
		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, bs));
		if (_mm_movemask_epi8(bad) != 0)
			return false;
	}
#endif
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && !(nl && c == '\n')) || c > 0x7e || c == '"' ||
		    c == '\\')
			return false;
	}
	return true;
}

static bool
needs_no_escape(const char *p, size_t n)
{
	return needs_no_escape_nl(p, n, false);
}

static void
gw_key(struct gw *w, const char *key)
{
	bool first = w->members++ == 0;

	jb_put(first ? "\"" : ",\"", first ? 1 : 2, w->text);
	jb_put(key, strlen(key), w->text);
	jb_put("\":", 2, w->text);
}

static void
gw_int(struct gw *w, const char *key, int64_t v)
{
	char num[24], *p = num + sizeof(num);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	if (w->obj != NULL) {
		json_object_set_new_nocheck(w->obj, key, json_integer((json_int_t)v));
		return;
	}
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		*--p = '-';
	gw_key(w, key);
	jb_put(p, (size_t)(num + sizeof(num) - p), w->text);
}

static void
gw_str(struct gw *w, const char *key, const char *p, size_t n)
{
	if (w->obj != NULL) {
		json_object_set_new_nocheck(w->obj, key, jtext(p, n));
		return;
	}
	if (!needs_no_escape(p, n)) {
		w->escape = true;
		return;
	}
	gw_key(w, key);
	jb_put("\"", 1, w->text);
	jb_put(p, n, w->text);
	jb_put("\"", 1, w->text);
}

/* "frames": the stack's lines as printed, without the leading space */
static void
gw_frames(struct gw *w, struct po_span it)
{
	struct po_span line;
	json_t *a;
	bool first = true;

	if (w->obj != NULL) {
		a = json_array();
		while (po_frame_next(&it, &line))
			json_array_append_new(a, jtext(line.p, line.n));
		json_object_set_new_nocheck(w->obj, "frames", a);
		return;
	}
	/* lines are split at '\n': the text as a whole, '\n' allowed */
	if (!needs_no_escape_nl(it.p, it.n, true)) {
		w->escape = true;
		return;
	}
	gw_key(w, "frames");
	jb_put("[", 1, w->text);
	while (po_frame_next(&it, &line)) {
		jb_put(first ? "\"" : ",\"", first ? 1 : 2, w->text);
		jb_put(line.p, line.n, w->text);
		jb_put("\"", 1, w->text);
		first = false;
	}
	jb_put("]", 1, w->text);
}

static void
group_keys(struct gw *w, struct po_agg *agg, const struct analyze_opts *o,
    const struct po_group *g)
{
	struct po_stacktab *st = po_agg_stacks(agg);
	struct po_strtab *names = po_agg_names(agg);
	const struct po_stack *s = po_stacktab_get(st, g->stack_id);
	char buf[256], ator[64];

	po_allocator_str(g->ator, ator, sizeof(ator));
	for (unsigned k = 0; k < o->nkeys && !w->escape; k++) {
		enum po_key key = o->keys[k];

		if (key == PO_KEY_PID || key == PO_KEY_TGID || key == PO_KEY_ORDER) {
			gw_int(w, po_key_name(key), (int64_t)g->key[k]);
			continue;
		}
		if (key == PO_KEY_ALLOCATOR) {	/* the group's, as below */
			gw_str(w, po_key_name(key), ator, strlen(ator));
			continue;
		}
		po_agg_key_str(agg, g, k, buf, sizeof(buf));
		gw_str(w, key == PO_KEY_STACK ? "stack_id" : po_key_name(key),
		    buf, strlen(buf));
	}
	if (has_key(o, PO_KEY_STACK) || has_key(o, PO_KEY_SIGNATURE)) {
		const char *mod = po_strtab_get(names, s->module_id, NULL);
		const char *culprit = po_strtab_get(names, s->culprit_id, NULL);

		if (!has_key(o, PO_KEY_CULPRIT))
			gw_str(w, "culprit", culprit, strlen(culprit));
		if (!has_key(o, PO_KEY_MODULE)) {
			if (*mod == '\0')
				mod = "kernel";
			gw_str(w, "module", mod, strlen(mod));
		}
		gw_frames(w, po_stacktab_text(st, g->stack_id));
	}
	if (g->ts_max > 0) {
		gw_int(w, "ts_min", (int64_t)g->ts_min);
		gw_int(w, "ts_max", (int64_t)g->ts_max);
	}
	if (g->anomalies > 0)
		gw_int(w, "migration_anomalies", (int64_t)g->anomalies);
	if (!has_key(o, PO_KEY_ALLOCATOR))
		gw_str(w, "allocator", ator, strlen(ator));
}

/*
 * Groups are printed as they are built, so the JSON of a dump with a
 * million stacks never sits in memory whole: the head object is printed
 * without its closing brace, then "groups": [ item, item ... ] }.
 */
static void
json_stream_begin(json_t *head)
{
	char *s = json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t n = s ? strlen(s) : 0;

	json_decref(head);
	if (n < 2) {
		free(s);
		s = po_xstrdup("{}");
		n = 2;
	}
	fwrite(s, 1, n - 1, stdout);	/* without the final '}' */
	fputs(n > 2 ? ",\n\"groups\": [" : "\"groups\": [", stdout);
	free(s);
}

static void
jbuf_flush(struct jbuf *b)
{
	if (b->n > 0)
		fwrite(b->p, 1, b->n, stdout);
	b->n = 0;
}

/* Append one item of the groups list (the first without a comma). */
static void
jbuf_item(struct jbuf *b, json_t *item, bool first)
{
	jb_put(first ? "\n" : ",\n", first ? 1 : 2, b);
	(void)json_dump_callback(item, jbuf_put, b, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(item);
}

static struct jbuf jout;

static void
json_stream_item(json_t *item, bool first)
{
	jbuf_item(&jout, item, first);
	if (jout.n >= (size_t)64 * 1024)
		jbuf_flush(&jout);
}

void
json_stream_end(void)
{
	jbuf_flush(&jout);
	free(jout.p);
	jout = (struct jbuf){ NULL, 0, 0 };
	fputs("\n]}\n", stdout);
}

/*
 * Encoding the groups of one dump: with many groups (a stack each) this is
 * a good part of a run, so two threads encode alternate batches, each into
 * its own buffer, written in order; memory stays at two batches.
 */
#define ENCODE_BATCH	2048

struct encode_job {
	struct po_agg	*agg;
	const struct analyze_opts *o;
	struct po_group	**gs;
	size_t		 from, to;
	struct jbuf	 out;
};

/*
 * PO_ANALYZE_JANSSON: groups by jansson only (the tests' comparison).
 * Read once before the encoding threads start (print_groups_json).
 */
static bool
jansson_only(void)
{
	static int only = -1;

	if (only < 0)
		only = getenv("PO_ANALYZE_JANSSON") != NULL;
	return only;
}

static void *
encode_groups(void *arg)
{
	struct encode_job *j = arg;

	for (size_t i = j->from; i < j->to; i++) {
		const struct po_group *g = j->gs[i];
		size_t mark = j->out.n;
		struct gw w = { .text = &j->out };

		if (!jansson_only()) {
			jb_put(i == 0 ? "\n{" : ",\n{", i == 0 ? 2 : 3, &j->out);
			gw_int(&w, "blocks", (int64_t)g->blocks[0]);
			gw_int(&w, "pages", (int64_t)g->pages[0]);
			group_keys(&w, j->agg, j->o, g);
			jb_put("}", 1, &j->out);
		}
		if (jansson_only() || w.escape) {
			j->out.n = mark;
			w = (struct gw){ .obj = json_object() };
			gw_int(&w, "blocks", (int64_t)g->blocks[0]);
			gw_int(&w, "pages", (int64_t)g->pages[0]);
			group_keys(&w, j->agg, j->o, g);
			jbuf_item(&j->out, w.obj, i == 0);
		}
	}
	return NULL;
}

/* One dump's head (its stats) and groups, streamed. */
void
print_groups_json(const struct analyze_opts *o, struct po_agg *agg, json_t *head,
    struct po_group **gs, size_t shown)
{
	struct encode_job job[2] = {
		{ .agg = agg, .o = o, .gs = gs },
		{ .agg = agg, .o = o, .gs = gs },
	};
	bool two = (o->threads ? o->threads : default_threads()) > 1 &&
	    shown > ENCODE_BATCH;

	json_stream_begin(head);
	(void)jansson_only();	/* before the threads */
	for (size_t at = 0; at < shown; ) {
		pthread_t tid;
		bool spawned = false;

		job[0].from = at;
		job[0].to = at + ENCODE_BATCH < shown ? at + ENCODE_BATCH : shown;
		job[1].from = job[1].to = job[0].to;
		if (two && job[0].to < shown) {
			job[1].to = job[1].from + ENCODE_BATCH < shown ?
			    job[1].from + ENCODE_BATCH : shown;
			spawned = pthread_create(&tid, NULL, encode_groups, &job[1]) == 0;
			if (!spawned)
				job[1].to = job[1].from;
		}
		encode_groups(&job[0]);
		if (spawned)
			pthread_join(tid, NULL);
		jbuf_flush(&job[0].out);
		jbuf_flush(&job[1].out);
		at = job[1].to;
	}
	free(job[0].out.p);
	free(job[1].out.p);
	fputs("\n]}\n", stdout);
}

/* A diff group's counts as JSON text, in the order the jansson way has them. */
static void
diff_text(struct gw *w, const struct po_group *g, bool idents, bool first)
{
	jb_put(first ? "\n{" : ",\n{", first ? 2 : 3, w->text);
	for (int side = 0; side < 2; side++) {
		struct gw sub = { .text = w->text };

		gw_key(w, side == 0 ? "a" : "b");
		jb_put("{", 1, w->text);
		gw_int(&sub, "blocks", (int64_t)g->blocks[side]);
		gw_int(&sub, "pages", (int64_t)g->pages[side]);
		jb_put("}", 1, w->text);
	}
	gw_int(w, "net_pages", (int64_t)(g->pages[1] - g->pages[0]));
	gw_int(w, "net_blocks", (int64_t)(g->blocks[1] - g->blocks[0]));
	if (idents) {
		gw_int(w, "allocated_pages", (int64_t)g->alloc_pages);
		gw_int(w, "allocated_blocks", (int64_t)g->alloc_blocks);
		gw_int(w, "freed_pages", (int64_t)g->freed_pages);
		gw_int(w, "freed_blocks", (int64_t)g->freed_blocks);
	}
}


/* A diff's head (its stats) and groups, streamed. */
void
print_diff_json(const struct analyze_opts *o, struct po_agg *agg, json_t *head,
    struct po_group **gs, size_t n, bool idents)
{
	json_stream_begin(head);
	for (size_t i = 0; i < n; i++) {
		const struct po_group *g = gs[i];
		size_t mark = jout.n;
		struct gw w = { .text = &jout };

		if (!jansson_only()) {
			diff_text(&w, g, idents, i == 0);
			group_keys(&w, agg, o, g);
			jb_put("}", 1, &jout);
			if (!w.escape) {
				if (jout.n >= (size_t)64 * 1024)
					jbuf_flush(&jout);
				continue;
			}
			jout.n = mark;	/* a string for jansson: again */
		}
		json_t *jg = json_pack("{s:{s:I, s:I}, s:{s:I, s:I}, s:I, s:I}",
		    "a", "blocks", (json_int_t)g->blocks[0],
		    "pages", (json_int_t)g->pages[0],
		    "b", "blocks", (json_int_t)g->blocks[1],
		    "pages", (json_int_t)g->pages[1],
		    "net_pages", (json_int_t)(g->pages[1] - g->pages[0]),
		    "net_blocks", (json_int_t)(g->blocks[1] - g->blocks[0]));

		if (idents) {
			json_object_set_new(jg, "allocated_pages",
			    json_integer((json_int_t)g->alloc_pages));
			json_object_set_new(jg, "allocated_blocks",
			    json_integer((json_int_t)g->alloc_blocks));
			json_object_set_new(jg, "freed_pages",
			    json_integer((json_int_t)g->freed_pages));
			json_object_set_new(jg, "freed_blocks",
			    json_integer((json_int_t)g->freed_blocks));
		}
		{
			struct gw wj = { .obj = jg };

			group_keys(&wj, agg, o, g);
		}
		json_stream_item(jg, i == 0);
	}
	json_stream_end();
}
