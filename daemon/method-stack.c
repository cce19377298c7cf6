/*
 * method-stack.c: `stack`: one stack in full: its exact stacks and frames,
 * its value now, and who holds it (the latest full read's breakdown by
 * comm, memcg, order and gfp).  blocks_now is the latest full read's
 * (stacks reads count no blocks); latest_read and last_full_read say
 * which snapshot each figure comes from.
 */
#include <string.h>
#include <unistd.h>

#include "page-ownerd.h"

static const char *const params[] = { "id", NULL };

/* One exact stack's frames, as printed (without the leading space). */
static json_t *
frames_json(const char *text, bool signature)
{
	struct po_span it = { text, strlen(text) }, line;
	json_t *a = json_array();

	while (po_frame_next(&it, &line)) {
		if (signature) {
			struct po_frame f;
			char buf[512];

			po_frame_parse(line, &f);
			snprintf(buf, sizeof(buf), "%.*s%s%.*s%s", (int)f.sym.n, f.sym.p,
			    f.mod.n ? " [" : "", (int)f.mod.n, f.mod.p, f.mod.n ? "]" : "");
			json_array_append_new(a, json_string(buf));
		} else {
			json_array_append_new(a, json_stringn(line.p, line.n));
		}
	}
	return a;
}

struct breakdown {
	int64_t		*stacks;	/* stacks.id of the series */
	size_t		 nstacks;
	int64_t		 pages, blocks;	/* the stack's, at that full read */
	json_t		*by[4];		/* comm, memcg, order, gfp: key -> [pages, blocks] */
	int64_t		 ts_min;
};

static void
bd_add(json_t *o, const char *key, const struct detail_row *row)
{
	json_t *a = json_object_get(o, key);

	if (a == NULL) {
		a = json_pack("[I, I]", (json_int_t)0, (json_int_t)0);
		json_object_set_new(o, key, a);
	}
	json_array_set_new(a, 0, json_integer(json_integer_value(json_array_get(a, 0)) +
	    (json_int_t)row->pages));
	json_array_set_new(a, 1, json_integer(json_integer_value(json_array_get(a, 1)) +
	    (json_int_t)row->blocks));
}

static int
bd_row(const struct detail_row *row, void *userdata)
{
	struct breakdown *b = userdata;
	char buf[32];
	size_t i;

	for (i = 0; i < b->nstacks && b->stacks[i] != (int64_t)row->stack; i++)
		;
	if (i == b->nstacks)
		return 0;
	b->pages += (int64_t)row->pages;
	b->blocks += (int64_t)row->blocks;
	bd_add(b->by[0], row->comm, row);
	bd_add(b->by[1], row->memcg[0] ? row->memcg : "-", row);
	snprintf(buf, sizeof(buf), "%u", row->order);
	bd_add(b->by[2], buf, row);
	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)row->gfp);
	bd_add(b->by[3], buf, row);
	if (row->ts_min > 0 && (b->ts_min == 0 || (int64_t)row->ts_min < b->ts_min))
		b->ts_min = (int64_t)row->ts_min;
	return 0;
}

/* {key: [pages, blocks]} into a list sorted by pages. */
static json_t *
bd_list(json_t *o, const char *name)
{
	json_t *a = json_array(), *v;
	const char *k;

	json_object_foreach(o, k, v) {
		size_t i = 0;
		json_int_t p = json_integer_value(json_array_get(v, 0));

		while (i < json_array_size(a) &&
		    json_integer_value(json_object_get(json_array_get(a, i), "pages")) >= p)
			i++;
		json_array_insert_new(a, i, json_pack("{s:s, s:I, s:I}", name, k,
		    "pages", p, "blocks", json_integer_value(json_array_get(v, 1))));
	}
	return a;
}

static int
stack(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct history *h = ctx->hist;
	const char *spec;
	static const char *const names[] = { "comm", "memcg", "order", "gfp" };
	struct breakdown b = { 0 };
	int64_t *ids = NULL, series, pages = 0, blocks = 0, last_change = 0, growing = 0;
	size_t nids = 0;
	char *cause = NULL, t[40];
	json_t *stacks, *bd, *j, *signature = NULL;
	struct stack_row *rows = NULL;
	struct series_row tot;
	struct store_blob blob;
	struct snap_row last;
	int64_t at = 0;
	size_t nrows = 0;
	int code;

	if (rpc_param_str(req->params, "id", &spec, err) < 0)
		return -1;
	if (history_refresh(h) < 0)
		return rpc_fail(err, PO_E_STORAGE, "database: %s", store_errmsg(history_store(h)));
	if (strpbrk(spec, "=:") == NULL && strspn(spec, "0123456789abcdef") != strlen(spec)) {
		po_asprintf(&cause, "'%s' is not a stack id (hex, as top and "
		    "top-growers print it)", spec);
		code = PO_E_PARAMS;
	} else {
		code = query_resolve_series(h, spec, &ids, &nids, &cause);
	}
	if (code == 0 && (nids != 1 || history_series(h, ids[0])->kind != SERIES_STACK)) {
		po_asprintf(&cause, "'%s' does not name one stack", spec);
		code = PO_E_PARAMS;
	}
	if (code != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		free(ids);
		return -1;
	}
	series = ids[0];
	free(ids);

	if (store_stacks_of_series(history_store(h), series, &rows, &nrows) < 0) {
		store_stack_rows_free(rows, nrows);
		return rpc_fail(err, PO_E_STORAGE, "database: %s",
		    store_errmsg(history_store(h)));
	}
	stacks = json_array();
	for (size_t i = 0; i < nrows; i++) {
		char hash[24];

		snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)rows[i].hash);
		b.stacks = po_xrealloc(b.stacks, b.nstacks + 1, sizeof(int64_t));
		b.stacks[b.nstacks++] = rows[i].id;
		if (signature == NULL)
			signature = frames_json(rows[i].frames, true);
		po_time_str(history_snap_time(h, rows[i].first), t, sizeof(t));
		json_array_append_new(stacks, json_pack("{s:s, s:s, s:o}", "hash", hash,
		    "first_seen", t, "frames", frames_json(rows[i].frames, false)));
	}
	store_stack_rows_free(rows, nrows);
	if (store_series_totals(history_store(h), series, &tot) > 0) {
		pages = tot.pages;
		blocks = tot.blocks;
		last_change = tot.last_change;
		growing = tot.growing_since;
	}
	for (int i = 0; i < 4; i++)
		b.by[i] = json_object();
	if (store_detail_latest(history_store(h), INT64_MAX, &at, &blob) > 0) {
		(void)detail_each(blob.p, blob.len, bd_row, &b);
		store_blob_free(&blob);
	} else {
		at = 0;
	}
	bd = json_object();
	for (int i = 0; i < 4; i++) {
		json_object_set_new(bd, names[i], bd_list(b.by[i], names[i]));
		json_decref(b.by[i]);
	}
	if (store_last_snapshot(history_store(h), &last) <= 0)
		memset(&last, 0, sizeof(last));
	{
		const struct sinfo *si = history_series(h, series);
		char first[40], lastseen[40], gs[40];

		po_time_str(history_snap_time(h, si->first), first, sizeof(first));
		po_time_str(pages > 0 ? last.time : history_snap_time(h, last_change),
		    lastseen, sizeof(lastseen));
		po_time_str(history_snap_time(h, growing), gs, sizeof(gs));
		j = json_pack("{s:s, s:I, s:s, s:s, s:O, s:o, s:s, s:s, s:I, s:I, s:I, "
		    "s:s, s:o, s:f}",
		    "stack_id", si->key, "series", (json_int_t)series,
		    "culprit", si->culprit, "module", si->module[0] ? si->module : "kernel",
		    "signature", signature ? signature : json_null(),
		    "stacks", stacks, "first_seen", first, "last_seen", lastseen,
		    "pages_now", (json_int_t)pages, "blocks_now", (json_int_t)blocks,
		    "page_size", (json_int_t)(sysconf(_SC_PAGESIZE) > 0 ?
		    sysconf(_SC_PAGESIZE) : 4096),
		    "growing_since", gs, "breakdown", bd,
		    "oldest_block_age_s", b.ts_min > 0 && last.mono_ns > b.ts_min ?
		    (double)(last.mono_ns - b.ts_min) / 1e9 : -1.0);
	}
	/*
	 * Each figure with the read it comes from: pages from the latest
	 * snapshot (a stacks read in auto mode), blocks, orders and holders
	 * only from the latest full read, whose own pages are given beside
	 * them; "pages in blocks" of two different reads is no fact.
	 */
	{
		json_t *now = json_pack("{s:I, s:s, s:I}", "snapshot", (json_int_t)last.id,
		    "kind", last.kind[0] ? last.kind : "full", "pages", (json_int_t)pages);
		json_t *full = json_null();
		struct snap_row fr;

		if (at > 0 && store_snapshot(history_store(h), at, &fr) > 0) {
			po_time_str(fr.time, t, sizeof(t));
			full = json_pack("{s:I, s:s, s:s, s:I, s:I}", "snapshot", (json_int_t)at,
			    "kind", "full", "time", t, "pages", (json_int_t)b.pages,
			    "blocks", (json_int_t)b.blocks);
		}
		po_time_str(last.time, t, sizeof(t));
		json_object_set_new(now, "time", json_string(t));
		json_object_set_new(j, "latest_read", now);
		json_object_set_new(j, "last_full_read", full);
	}
	json_decref(signature);
	free(b.stacks);
	*ret = j;
	return 0;
}


const struct method method_stack = { PO_M_STACK, M_DB, params, stack };
