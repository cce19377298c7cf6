/*
 * method-pin.c: `pin` and `prune` (root only), run by the collector, which
 * owns the write connection; the answer comes when it is done.
 *
 * A pinned snapshot survives retention with its deltas, checkpoint and
 * detail: the baseline of a leak hunt stays exact however long it lasts.
 * `prune` applies retention now, instead of at the next hourly turn.
 */
#include <errno.h>

#include "page-ownerd.h"

static const char *const pin_params[] = { "snapshot", "pinned", NULL };
static const char *const prune_params[] = { NULL };

static void
job_done(const struct job_result *res, void *ud)
{
	struct rpc_pending *p = ud;

	if (res != NULL && rpc_pending_wanted(p)) {
		if (res->error < 0)
			rpc_error(p->peer, p->id, res->error == -ENOENT ? PO_E_NOT_FOUND :
			    PO_E_STORAGE, res->cause ? res->cause : "failed");
		else if (res->job.kind == JOB_PIN)
			rpc_reply(p->peer, p->id, json_pack("{s:I, s:b}", "snapshot",
			    (json_int_t)res->job.snapshot, "pinned", res->job.pinned));
		else
			rpc_reply(p->peer, p->id, json_pack("{s:I}", "deleted",
			    (json_int_t)res->count));
	}
	rpc_pending_free(p);
}

static int
submit(struct method_ctx *ctx, struct request *req, struct job *job, struct rpc_err *err)
{
	struct rpc_pending *p = rpc_pending_new(req);

	if (sched_submit(ctx->sched, job, job_done, p) < 0) {
		rpc_pending_free(p);
		return rpc_fail(err, PO_E_BUSY, "the collector is busy: try again");
	}
	return 1;
}

static int
pin(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	json_t *pinned = json_object_get(req->params, "pinned");
	struct job job = { .kind = JOB_PIN, .pinned = true };
	char *cause = NULL;
	int code;

	(void)ret;
	if (json_object_get(req->params, "snapshot") == NULL)
		return rpc_fail(err, PO_E_PARAMS, "'snapshot' (an id or a time) is required");
	if (pinned != NULL && !json_is_boolean(pinned))
		return rpc_fail(err, PO_E_PARAMS, "pinned must be true or false");
	if (pinned != NULL)
		job.pinned = json_is_true(pinned);
	code = window_point(history_store(ctx->hist), json_object_get(req->params,
	    "snapshot"), "snapshot", &job.snapshot, &cause);
	if (code != 0) {
		rpc_fail(err, code, "%s", cause);
		free(cause);
		return -1;
	}
	return submit(ctx, req, &job, err);
}

static int
prune(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	struct job job = { .kind = JOB_PRUNE };

	(void)ret;
	return submit(ctx, req, &job, err);
}

const struct method method_pin = { PO_M_PIN, M_ROOT | M_DB, pin_params, pin };
const struct method method_prune = { PO_M_PRUNE, M_ROOT, prune_params, prune };
