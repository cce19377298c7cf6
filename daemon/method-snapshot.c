/*
 * method-snapshot.c: `snapshot`: take one now (root only), and answer with
 * it once it is stored; and `subscribe`: a notification per snapshot.
 */
#include <errno.h>

#include "page-ownerd.h"

static const char *const no_params[] = { NULL };

static void
snapshot_done(const struct job_result *res, void *ud)
{
	struct rpc_pending *p = ud;

	if (res != NULL && rpc_pending_wanted(p)) {
		if (res->snap.error == 0)
			rpc_reply(p->peer, p->id, rpc_snapshot_json(&res->snap.row));
		else
			rpc_error(p->peer, p->id, PO_E_SOURCE,
			    res->snap.cause ? res->snap.cause : "snapshot failed");
	}
	rpc_pending_free(p);
}

static int
snapshot(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	const struct sched_state *ss = sched_state(ctx->sched);
	struct job job = { .kind = JOB_SNAPSHOT };
	struct rpc_pending *p;

	if (ss->stopping)
		return rpc_fail(err, PO_E_BUSY, "the daemon is stopping");
	if (ss->replay_done)
		return rpc_fail(err, PO_E_SOURCE, "the capture replay has no file left");
	if (req->id == NULL) {
		/* a notification: take one, nobody waits for the answer */
		(void)sched_submit(ctx->sched, &job, NULL, NULL);
		*ret = NULL;
		return 0;
	}
	p = rpc_pending_new(req);
	if (sched_submit(ctx->sched, &job, snapshot_done, p) < 0) {
		rpc_pending_free(p);
		return rpc_fail(err, PO_E_BUSY, "the collector is busy: try again");
	}
	return 1;
}

static int
subscribe(struct method_ctx *ctx, struct request *req, json_t **ret, struct rpc_err *err)
{
	(void)ctx;
	(void)err;
	req->peer->ops->subscribe(req->peer);
	*ret = json_pack("{s:b, s:s}", "subscribed", 1, "notification", PO_N_SNAPSHOT);
	return 0;
}

const struct method method_snapshot = { PO_M_SNAPSHOT, M_ROOT, no_params, snapshot };
const struct method method_subscribe = { PO_M_SUBSCRIBE, 0, no_params, subscribe };
