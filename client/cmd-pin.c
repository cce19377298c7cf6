/*
 * cmd-pin.c: `pin WHEN` and `prune` (root only).  A pinned snapshot keeps
 * its deltas, checkpoint and detail through retention: the baseline of a
 * leak hunt that lasts longer than keep_full.  `prune` applies retention
 * now.
 */
#include "pageownerctl.h"

static int
cmd_pin_exec(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *res, *unpin;
	int ret, first;

	ret = opts_parse_args(&cmd_pin_entry, ctl, argc, argv, 1,
	    "which snapshot? an id, an ISO-8601 time or a relative time (-2h)",
	    NULL, &params, &first);
	if (ret != CMD_CONTINUE)
		return ret;
	unpin = json_object_get(params, "unpin");
	json_object_set_new(params, "pinned", json_boolean(!json_is_true(unpin)));
	json_object_del(params, "unpin");
	json_object_set_new(params, "snapshot", json_string(argv[first]));
	ret = cmd_query(ctl, PO_M_PIN, params, &res);
	if (ret != CMD_CONTINUE)
		return ret;
	printf("snapshot %lld %s\n", jv_int(res, "snapshot"),
	    json_is_true(json_object_get(res, "pinned")) ?
	    "pinned: retention keeps it" : "unpinned");
	json_decref(res);
	return EXIT_OK;
}

static int
cmd_prune_exec(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *res;
	int ret;

	ret = opts_parse_args(&cmd_prune_entry, ctl, argc, argv, 0, NULL,
	    "no arguments expected", &params, NULL);
	if (ret != CMD_CONTINUE)
		return ret;
	ret = cmd_query(ctl, PO_M_PRUNE, params, &res);
	if (ret != CMD_CONTINUE)
		return ret;
	printf("retention applied: %lld rows deleted\n", jv_int(res, "deleted"));
	json_decref(res);
	return EXIT_OK;
}

static const struct cmd_opt cmd_pin_opts[] = {
	{ "unpin", 0, OPT_BOOL, "unpin", NULL,
	    "let retention have it again", NULL },
	OPT_E_JSON("the daemon's reply as it is"),
	OPT_E_END,
};

const struct cmd_entry cmd_pin_entry = {
	.name = "pin",
	.args = "WHEN",
	.summary = "Keep a snapshot through retention, a leak hunt's baseline (needs root)",
	.about =
	    "WHEN is a snapshot id, an ISO-8601 time or a relative time (-2h).",
	.opts = cmd_pin_opts,
	.exec = cmd_pin_exec,
};

static const struct cmd_opt cmd_prune_opts[] = {
	OPT_E_JSON("the daemon's reply as it is"),
	OPT_E_END,
};

const struct cmd_entry cmd_prune_entry = {
	.name = "prune",
	.summary = "Apply retention now (needs root)",
	.opts = cmd_prune_opts,
	.exec = cmd_prune_exec,
};
