/*
 * method-status.c: `status`: what the daemon reads and how, what it has
 * stored, what it costs, and how it is doing.
 */
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "page-ownerd.h"

static const char *const params[] = { NULL };

static double
seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static json_t *
budget_json(const struct method_ctx *ctx)
{
	struct budget_stats b;

	budget_stats(sched_budget(ctx->sched), po_now_wall(), ctx->cfg->interval, &b);
	return json_pack("{s:f, s:f, s:f, s:f, s:f, s:i, s:i, s:f, s:f}",
	    "cpu_share", ctx->cfg->cpu_budget, "spent_share", b.spent,
	    "window_s", b.window, "cpu_s", b.cpu, "avg_snapshot_cpu_s", b.avg,
	    "snapshots", (int)b.n, "full_reads", (int)b.nfull,
	    "full_read_cpu_s", b.nfull ? b.full_cpu / b.nfull : 0.0,
	    "stacks_read_cpu_s", b.n > b.nfull ?
	    (b.cpu - b.full_cpu) / (b.n - b.nfull) : 0.0);
}

/* A sweep's windows: K, coverage, and how old the oldest window is. */
static json_t *
sweep_json(const struct sched_state *ss)
{
	const struct sweep_status *w = &ss->sweep;

	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:I, "
	    "s:s, s:f, s:I, s:b}",
	    "windows", (json_int_t)w->windows,
	    "window_pages", (json_int_t)w->window_pages,
	    "per_snapshot", (json_int_t)w->per_snapshot,
	    "k", (json_int_t)w->k,
	    "read", (json_int_t)w->read,
	    "stale", (json_int_t)w->stale,
	    "without_identities", (json_int_t)w->unmerged,
	    "unread", (json_int_t)w->unread,
	    "oldest_window_age_s", w->oldest > 0 ? po_now_wall() - w->oldest : 0.0,
	    "window_cpu_s", w->cost,
	    "span_first_pfn", (json_int_t)w->span_lo,
	    "span_end_pfn", (json_int_t)w->span_hi,
	    "seek", w->seek,
	    "sample_percent", w->sample,
	    "strata", (json_int_t)w->strata,
	    "estimated", w->estimated);
}

/*
 * How the cheap read goes: its file (show_handles: keyed by stack depot
 * handle), and for show_handles what the handle map of this boot holds.
 */
static json_t *
stacks_json(const struct stacks_stats *st)
{
	if (st->file[0] == '\0')
		return json_null();
	if (strcmp(st->file, "show_handles") != 0)
		return json_pack("{s:s, s:s}", "file", st->file, "key", "stack text");
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "file", st->file, "key", "boot and handle",
	    "boot", (json_int_t)st->handles_boot,
	    "handles_known", (json_int_t)st->handles_known,
	    "reads", (json_int_t)st->reads,
	    "resolve_reads", (json_int_t)st->resolve_reads,
	    "new_handles_last", (json_int_t)st->new_handles,
	    "unresolved_last", (json_int_t)st->unresolved,
	    "unresolved_pages_last", (json_int_t)st->unresolved_pages,
	    "unresolved_total", (json_int_t)st->unresolved_total,
	    "handles_from_full_reads", (json_int_t)st->from_full);
}

/*
 * The per-open filter full reads write to the kernel's page_owner, and
 * whether the kernel took it ("taken": null before the first full read).
 */
static json_t *
filter_json(const struct sched_state *ss)
{
	const struct stacks_stats *st = &ss->stacks;

	if (!ss->have_last)
		return json_null();
	return json_pack("{s:s, s:o, s:s}", "filter", st->filter,
	    "taken", st->filter_state == 0 ? json_null() :
	    json_boolean(st->filter_state > 0), "why_not", st->filter_why);
}

static int
status(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	const struct sched_state *ss = sched_state(ctx->sched);
	struct store *st = history_store(ctx->hist);
	struct rusage self, kids;
	json_t *j, *src;
	char t[40];
	int64_t count = 0, first = 0, last = 0;

	(void)req;
	(void)err;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	po_time_str(ctx->started, t, sizeof(t));
	j = json_pack("{s:s, s:i, s:i, s:s, s:f}", "version", PO_VERSION,
	    "protocol", PO_PROTO_VERSION, "pid", (int)getpid(), "started", t,
	    "uptime_s", po_now_wall() - ctx->started);
	src = json_pack("{s:s, s:s, s:I}", "path", ctx->cfg->source, "kind",
	    ctx->source_kind, "readers", (json_int_t)ctx->cfg->readers);
	if (ss->replay_total > 0)
		json_object_set_new(src, "replay", json_pack("{s:I, s:I, s:b}",
		    "next", (json_int_t)ss->replay_next,
		    "total", (json_int_t)ss->replay_total, "done", ss->replay_done));
	json_object_set_new(j, "source", src);
	json_object_set_new(j, "mode", json_string(config_mode_name(ctx->cfg->mode)));
	json_object_set_new(j, "budget", budget_json(ctx));
	if (ss->sweep.active)
		json_object_set_new(j, "sweep", sweep_json(ss));
	json_object_set_new(j, "stacks_read", stacks_json(&ss->stacks));
	json_object_set_new(j, "page_owner_filter", filter_json(ss));
	json_object_set_new(j, "interval_s", json_real(ctx->cfg->interval));
	json_object_set_new(j, "effective_interval_s", json_real(ss->interval));
	/* why the interval the daemon keeps is not the one configured */
	{
		struct budget_stats b;
		const char *why = "configured";

		budget_stats(sched_budget(ctx->sched), po_now_wall(), ctx->cfg->interval, &b);
		if (ss->interval > ctx->cfg->interval + 0.5 && ctx->cfg->cpu_budget > 0)
			why = "cpu_budget";
		json_object_set_new(j, "interval_reason", json_string(why));
	}
	if (ss->replay_done || ss->stopping) {
		json_object_set_new(j, "next_snapshot", json_null());
	} else {
		po_time_str(ss->next_snapshot, t, sizeof(t));
		json_object_set_new(j, "next_snapshot", json_string(t));
	}
	json_object_set_new(j, "snapshot_running", json_boolean(sched_busy(ctx->sched)));
	json_object_set_new(j, "last_snapshot", ss->have_last ?
	    rpc_snapshot_json(&ss->last) : json_null());
	if (ss->last_error != NULL) {
		po_time_str(ss->last_error_time, t, sizeof(t));
		json_object_set_new(j, "last_error", json_pack("{s:s, s:s}",
		    "message", ss->last_error, "time", t));
	} else {
		json_object_set_new(j, "last_error", json_null());
	}
	(void)store_snapshot_span(st, &count, &first, &last);
	json_object_set_new(j, "snapshots", json_pack("{s:I, s:I, s:I, s:I, s:I}",
	    "taken", (json_int_t)ss->snapshots_ok,
	    "failed", (json_int_t)ss->snapshots_failed,
	    "stored", (json_int_t)count, "first", (json_int_t)first,
	    "last", (json_int_t)last));
	json_object_set_new(j, "database", json_pack("{s:s, s:I}",
	    "path", ctx->cfg->db, "bytes", (json_int_t)store_size(st)));
	json_object_set_new(j, "cpu", json_pack("{s:f, s:f, s:f, s:f}",
	    "user_s", seconds(self.ru_utime), "sys_s", seconds(self.ru_stime),
	    "reader_user_s", seconds(kids.ru_utime),
	    "reader_sys_s", seconds(kids.ru_stime)));
	json_object_set_new(j, "max_rss_kib", json_integer(self.ru_maxrss));
	json_object_set_new(j, "limits", json_pack("{s:I, s:I, s:I}",
	    "max_stacks", (json_int_t)ctx->cfg->max_stacks,
	    "max_series", (json_int_t)ctx->cfg->max_series,
	    "overflowed", (json_int_t)ss->overflowed));
	if (ctx->server != NULL)
		server_stats(ctx->server, j);
	json_object_set_new(j, "status", json_string(ss->status_line));
	*ret = j;
	return 0;
}

const struct method method_status = { PO_M_STATUS, M_DB, params, status };
