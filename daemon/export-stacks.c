/*
 * export-stacks.c: `export` with format "stacks": every stack held at one
 * snapshot, largest first, with its frames leaf first and offsets stripped
 * ("sym [module]"), and what a profile needs to name its host and time.
 * pageownerctl turns this into a pprof profile (client/pprof.c), so the
 * daemon links no protobuf code and the reply stays plain JSON.
 */
#include <string.h>
#include <unistd.h>

#include "page-ownerd.h"

/* Params of the other formats that mean nothing here: refused, not ignored. */
static const char *const refused[] = { "since", "until", "a", "b", "by", "match", NULL };

/* A stack series holding pages at the point. */
struct held {
	int64_t		 series;
	int64_t		 pages, blocks;
};

static int
held_cmp(const void *a, const void *b)
{
	const struct held *x = a, *y = b;

	if (x->pages != y->pages)
		return x->pages > y->pages ? -1 : 1;
	/* equal sizes in a stable order: the older series first */
	return (x->series > y->series) - (x->series < y->series);
}

/*
 * A series' frames, leaf first as page_owner prints them, each "sym" or
 * "sym [module]".  A series without a stored stack (none is expected) gets
 * its culprit as its one frame, as the folded export does.
 */
static json_t *
stack_frames(struct history *h, int64_t series)
{
	const struct sinfo *si = history_series(h, series);
	struct stack_row *rows = NULL;
	size_t nrows = 0;
	json_t *a = json_array();

	if (store_stacks_of_series(history_store(h), series, &rows, &nrows) == 0 &&
	    nrows > 0) {
		struct po_span it = { rows[0].frames, strlen(rows[0].frames) }, line;

		while (po_frame_next(&it, &line)) {
			struct po_frame f;
			char *s = NULL;

			po_frame_parse(line, &f);
			po_asprintf(&s, "%.*s%s%.*s%s", (int)f.sym.n, f.sym.p,
			    f.mod.n ? " [" : "", (int)f.mod.n, f.mod.p, f.mod.n ? "]" : "");
			json_array_append_new(a, json_string(s));
			free(s);
		}
	}
	store_stack_rows_free(rows, nrows);
	if (json_array_size(a) == 0) {
		char *s = NULL;

		po_asprintf(&s, "%s%s%s%s", si->culprit, si->module[0] ? " [" : "",
		    si->module, si->module[0] ? "]" : "");
		json_array_append_new(a, json_string(s));
		free(s);
	}
	return a;
}

int
export_stacks(struct history *h, json_t *params, json_t **ret, struct rpc_err *err)
{
	json_t *at = json_object_get(params, "at"), *list;
	struct state st = { 0 };
	struct held *v = NULL;
	struct snap_row row;
	size_t n = 0, vcap = 0;
	int64_t id, limit = INT64_MAX;
	char *cause = NULL, host[256], t[40];
	long page_size = sysconf(_SC_PAGESIZE);
	int code;

	for (const char *const *p = refused; *p != NULL; p++)
		if (json_object_get(params, *p) != NULL)
			return rpc_fail(err, PO_E_PARAMS, "'%s' does not apply to format "
			    "stacks (it takes 'at' and 'limit')", *p);
	if (rpc_param_limit(params, &limit, err) < 0)
		return -1;
	code = window_point(history_store(h), at, "at", &id, &cause);
	if (code != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		return -1;
	}
	code = store_snapshot(history_store(h), id, &row);
	if (code == 0)
		return rpc_fail(err, PO_E_NOT_FOUND, "snapshot %lld is not stored",
		    (long long)id);
	if (code < 0 || history_state_at(h, id, &st) < 0) {
		state_free(&st);
		return rpc_fail(err, PO_E_STORAGE, "cannot read the history: %s",
		    store_errmsg(history_store(h)));
	}
	for (int64_t s = 1; s < st.n; s++) {
		if (history_series(h, s)->kind != SERIES_STACK || st.pages[s] <= 0)
			continue;
		if (n == vcap) {
			vcap = vcap ? vcap * 2 : 256;
			v = po_xrealloc(v, vcap, sizeof(*v));
		}
		v[n++] = (struct held){ s, st.pages[s], st.blocks[s] };
	}
	state_free(&st);
	if (n > 1)
		qsort(v, n, sizeof(*v), held_cmp);
	if ((int64_t)n > limit)
		n = (size_t)limit;
	list = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct sinfo *si = history_series(h, v[i].series);

		json_array_append_new(list, json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:o}",
		    "stack_id", si->key, "series", (json_int_t)v[i].series,
		    "culprit", si->culprit, "module", si->module[0] ? si->module : "kernel",
		    "pages", (json_int_t)v[i].pages, "blocks", (json_int_t)v[i].blocks,
		    "frames", stack_frames(h, v[i].series)));
	}
	free(v);
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	po_time_str(row.time, t, sizeof(t));
	*ret = json_pack("{s:s, s:I, s:s, s:f, s:s, s:s, s:s, s:I, s:o}",
	    "format", "stacks", "snapshot", (json_int_t)id, "time", t,
	    "unix_time", row.time, "boot_id", row.boot_id, "kernel", row.kernel,
	    "host", host, "page_size", (json_int_t)(page_size > 0 ? page_size : 4096),
	    "stacks", list);
	return 0;
}
