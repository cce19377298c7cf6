/*
 * export.c: the history in other tools' formats: Prometheus text (the
 * latest values, cardinality-bounded: top N per dimension, then "other"),
 * Grafana's JSON data source shape (a window's series), and folded stacks
 * for flame graphs (a point, or two points for a differential graph).
 */
#include <string.h>

#include "page-ownerd.h"

/* A Prometheus label value: backslash, quote and newline escaped. */
void
export_prom_label(char *buf, size_t len, const char *v)
{
	size_t o = 0;

	for (; *v && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"') {
			buf[o++] = '\\';
			buf[o++] = *v;
		} else if (*v == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *v;
		}
	}
	buf[o] = '\0';
}

struct text {
	char		*s;
	size_t		 len, cap;
};

static void
text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = t->cap - t->len;

		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap ? t->cap * 2 : 4096;
		while (t->cap - t->len <= (size_t)n)
			t->cap *= 2;
		t->s = po_xrealloc(t->s, t->cap, 1);
	}
}

/* One dimension's top N by pages, then an "other" bucket. */
static void
prom_dimension(struct history *h, struct text *t, const struct state *st,
    enum series_kind kind,
    const char *metric, const char *label, int64_t limit, int64_t page_size,
    const char *help)
{
	struct qgroup *v = NULL;
	size_t n = 0, vcap = 0;
	int64_t other = 0;

	for (int64_t id = 1; id < st->n; id++) {
		if (history_series(h, id)->kind != (int)kind || st->pages[id] <= 0)
			continue;
		if (n == vcap) {	/* doubling: every stack holding pages */
			vcap = vcap ? vcap * 2 : 256;
			v = po_xrealloc(v, vcap, sizeof(*v));
		}
		memset(&v[n], 0, sizeof(*v));
		v[n].first_series = id;
		v[n].pages = st->pages[id];
		n++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), group_cmp_pages);
	text_add(t, "# HELP %s %s\n# TYPE %s gauge\n", metric, help, metric);
	for (size_t i = 0; i < n; i++) {
		const struct sinfo *si = history_series(h, v[i].first_series);
		char a[512], b[512], c[128];

		if ((int64_t)i >= limit) {
			other += v[i].pages;
			continue;
		}
		if (kind == SERIES_STACK) {
			export_prom_label(a, sizeof(a), si->culprit);
			export_prom_label(b, sizeof(b), si->module[0] ? si->module : "kernel");
			snprintf(c, sizeof(c), "%.12s", si->key);
			text_add(t, "%s{stack=\"%s\",culprit=\"%s\",module=\"%s\"} %lld\n",
			    metric, c, a, b, (long long)v[i].pages * page_size);
		} else {
			export_prom_label(a, sizeof(a), si->key[0] ? si->key : "-");
			text_add(t, "%s{%s=\"%s\"} %lld\n", metric, label, a,
			    (long long)v[i].pages * page_size);
		}
	}
	if ((int64_t)n > limit) {
		if (kind == SERIES_STACK)
			text_add(t, "%s{stack=\"other\",culprit=\"other\",module=\"other\"} %lld\n",
			    metric, (long long)other * page_size);
		else
			text_add(t, "%s{%s=\"other\"} %lld\n", metric, label,
			    (long long)other * page_size);
	}
	free(v);
}

int
export_prometheus(struct history *h, const struct sched_state *ss,
    const struct query *q, json_t **ret, struct rpc_err *err)
{
	struct text t = { 0 };
	struct state st = { 0 };
	struct snap_row last;
	int64_t total = 0;

	if (store_last_snapshot(history_store(h), &last) <= 0)
		return rpc_fail(err, PO_E_NO_DATA, "no snapshot is stored yet");
	if (history_state_at(h, last.id, &st) < 0) {
		state_free(&st);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(history_store(h)));
	}
	for (int64_t id = 1; id < st.n; id++)
		if (history_series(h, id)->kind == SERIES_STACK)
			total += st.pages[id];
	text_add(&t, "# HELP pageowner_snapshot_timestamp_seconds When the latest "
	    "page_owner snapshot was taken.\n# TYPE pageowner_snapshot_timestamp_seconds "
	    "gauge\npageowner_snapshot_timestamp_seconds %.3f\n", last.time);
	text_add(&t, "# HELP pageowner_snapshot_duration_seconds How long the latest "
	    "snapshot took.\n# TYPE pageowner_snapshot_duration_seconds gauge\n"
	    "pageowner_snapshot_duration_seconds %.6f\n", last.duration);
	text_add(&t, "# HELP pageowner_snapshot_records Records in the latest "
	    "snapshot.\n# TYPE pageowner_snapshot_records gauge\n"
	    "pageowner_snapshot_records %lld\n", (long long)last.records);
	text_add(&t, "# HELP pageowner_snapshot_malformed_records Records the "
	    "latest snapshot could not read.\n# TYPE pageowner_snapshot_malformed_records "
	    "gauge\npageowner_snapshot_malformed_records %lld\n", (long long)last.malformed);
	text_add(&t, "# HELP pageowner_snapshots_failed_total Snapshots that failed "
	    "since the daemon started.\n# TYPE pageowner_snapshots_failed_total counter\n"
	    "pageowner_snapshots_failed_total %llu\n",
	    (unsigned long long)(ss ? ss->snapshots_failed : 0));
	text_add(&t, "# HELP pageowner_allocated_bytes Memory page_owner shows "
	    "allocated, in bytes.\n# TYPE pageowner_allocated_bytes gauge\n"
	    "pageowner_allocated_bytes %lld\n", (long long)total * q->page_size);
	prom_dimension(h, &t, &st, SERIES_STACK, "pageowner_stack_bytes", "stack",
	    q->w.limit, q->page_size, "Bytes held per allocation stack (top N, then other).");
	prom_dimension(h, &t, &st, SERIES_MODULE, "pageowner_module_bytes", "module",
	    q->w.limit, q->page_size, "Bytes held per module of the allocating code.");
	prom_dimension(h, &t, &st, SERIES_COMM, "pageowner_comm_bytes", "comm",
	    q->w.limit, q->page_size, "Bytes held per allocating task name.");
	prom_dimension(h, &t, &st, SERIES_MEMCG, "pageowner_memcg_bytes", "memcg",
	    q->w.limit, q->page_size, "Bytes held per memory cgroup charged.");
	prom_dimension(h, &t, &st, SERIES_ORDER, "pageowner_order_bytes", "order",
	    q->w.limit, q->page_size, "Bytes held per allocation order.");
	state_free(&st);
	*ret = json_pack("{s:s, s:s%}", "format", "prometheus", "text", t.s ? t.s : "",
	    t.len);
	free(t.s);
	return 0;
}

/* "root;...;leaf" from a stack's frames (innermost first as printed). */
static void
folded_frames(struct history *h, int64_t series, struct text *t)
{
	struct stack_row *rows = NULL;
	struct po_span lines[256];
	size_t n = 0, nrows = 0;
	char *frames = NULL;

	if (store_stacks_of_series(history_store(h), series, &rows, &nrows) == 0 &&
	    nrows > 0) {
		frames = rows[0].frames;
		rows[0].frames = NULL;
	}
	store_stack_rows_free(rows, nrows);
	if (frames == NULL) {
		text_add(t, "%s", history_series(h, series)->culprit);
		return;
	}
	{
		struct po_span it = { frames, strlen(frames) }, line;

		while (n < PO_ARRAY_SIZE(lines) && po_frame_next(&it, &line))
			lines[n++] = line;
	}
	for (size_t i = n; i-- > 0;) {
		struct po_frame f;

		po_frame_parse(lines[i], &f);
		/* ';' separates frames and ' ' ends the stack in folded text */
		for (size_t k = 0; k < f.sym.n; k++) {
			char ch = f.sym.p[k];

			text_add(t, "%c", ch == ';' || ch == ' ' ? '_' : ch);
		}
		if (f.mod.n)
			text_add(t, "_[%.*s]", (int)f.mod.n, f.mod.p);
		if (i > 0)
			text_add(t, ";");
	}
	free(frames);
}

int
export_folded(struct history *h, json_t *params, json_t **ret, struct rpc_err *err)
{
	json_t *ja = json_object_get(params, "a"), *jb = json_object_get(params, "b");
	json_t *at = json_object_get(params, "at");
	struct state sa = { 0 }, sb = { 0 };
	struct text t = { 0 };
	int64_t a = 0, b;
	char *cause = NULL;
	bool diff = ja != NULL || jb != NULL;
	int code;

	if (diff && (ja == NULL || jb == NULL))
		return rpc_fail(err, PO_E_PARAMS, "a folded diff needs both 'a' and 'b'");
	if (diff && at != NULL)
		return rpc_fail(err, PO_E_PARAMS, "give 'at', or 'a' and 'b', not both");
	code = window_point(history_store(h), diff ? jb : at, diff ? "b" : "at", &b, &cause);
	if (code == 0 && diff)
		code = window_point(history_store(h), ja, "a", &a, &cause);
	if (code != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		return -1;
	}
	if (history_state_at(h, b, &sb) < 0 || (diff && history_state_at(h, a, &sa) < 0)) {
		state_free(&sa);
		state_free(&sb);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(history_store(h)));
	}
	for (int64_t id = 1; id < sb.n; id++) {
		int64_t pa = diff && id < sa.n ? sa.pages[id] : 0, pb = sb.pages[id];

		if (history_series(h, id)->kind != SERIES_STACK || (pa <= 0 && pb <= 0))
			continue;
		folded_frames(h, id, &t);
		if (diff)
			text_add(&t, " %lld %lld\n", (long long)pa, (long long)pb);
		else
			text_add(&t, " %lld\n", (long long)pb);
	}
	*ret = json_pack("{s:s, s:s%, s:b}", "format", "folded",
	    "text", t.s ? t.s : "", t.len, "diff", diff);
	free(t.s);
	state_free(&sa);
	state_free(&sb);
	return 0;
}

/* Grafana's JSON data source shape: [{target, datapoints: [[value, ms]]}]. */
int
export_json(struct history *h, struct query *q, json_t **ret, struct rpc_err *err)
{
	struct state s0 = { 0 }, s1 = { 0 }, *resets = NULL;
	struct groups g = { 0 };
	struct cover c = { 0 };
	double span = q->w.t_hi - q->w.t_lo;
	int level = span <= 2 * 86400 ? LEVEL_SNAPSHOT : span <= 60 * 86400 ?
	    LEVEL_HOUR : LEVEL_DAY;
	json_t *targets = json_array();

	if (history_state_at(h, q->w.lo, &s0) < 0 || history_state_at(h, q->w.hi, &s1) < 0 ||
	    cover_build(h, q->w.lo, q->w.hi, level, &c) < 0 ||
	    cover_reset_states(h, &c, q->w.lo, false, &resets) < 0) {
		json_decref(targets);
		state_free(&s0);
		state_free(&s1);
		cover_free(&c);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(history_store(h)));
	}
	groups_build(h, q, &g);
	groups_set_state(&g, &s1, false);
	groups_set_state(&g, &s0, true);
	groups_order(&g, (size_t)q->w.limit, group_cmp_pages);
	for (size_t i = 0; i < g.n && (int64_t)i < q->w.limit; i++) {
		struct qgroup *gr = &g.v[i];
		const struct sinfo *si = history_series(h, gr->first_series);
		json_t *dp = json_array();
		int64_t v = gr->pages_a;
		char name[600];

		if (gr->pages == 0 && gr->pages_a == 0)
			break;
		json_array_append_new(dp, json_pack("[I, I]", (json_int_t)v * q->page_size,
		    (json_int_t)(q->w.t_lo * 1000.0)));
		for (size_t s = 0; s < c.n; s++) {
			struct segment *seg = &c.v[s];
			int64_t sum[4] = { 0, 0, 0, 0 };

			(void)segment_find(seg, gr->series, gr->nseries, sum);
			v += sum[0];
			if (seg->reset)	/* a new boot: its values */
				v = state_sum(&resets[s], gr->series, gr->nseries, false);
			json_array_append_new(dp, json_pack("[I, I]",
			    (json_int_t)v * q->page_size, (json_int_t)(seg->t_last * 1000)));
		}
		if (q->by == BY_STACK)
			snprintf(name, sizeof(name), "%s [%s] %.12s", si->culprit,
			    si->module[0] ? si->module : "kernel", si->key);
		else if (q->by == BY_CULPRIT)
			snprintf(name, sizeof(name), "%s", si->culprit);
		else
			snprintf(name, sizeof(name), "%s=%s", query_by_names[q->by], si->key);
		json_array_append_new(targets, json_pack("{s:s, s:o}", "target", name,
		    "datapoints", dp));
	}
	*ret = json_pack("{s:s, s:s, s:o, s:o}", "format", "json", "unit", "bytes",
	    "window", query_window_json(h, q, &c, q->w.hi - q->w.lo), "targets", targets);
	cover_reset_states_free(resets, c.n);
	groups_free(&g);
	state_free(&s0);
	state_free(&s1);
	cover_free(&c);
	return 0;
}

