/*
 * cmd-snapshot.c: `snapshot`, take one now and wait for it (root only).
 */
#include "pageownerctl.h"

static int
cmd_snapshot_exec(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *res;
	char size[32];
	int ret;

	ret = opts_parse_args(&cmd_snapshot_entry, ctl, argc, argv, 0, NULL,
	    "no arguments expected", &params, NULL);
	if (ret != CMD_CONTINUE)
		return ret;
	ret = cmd_query(ctl, PO_M_SNAPSHOT, params, &res);
	if (ret != CMD_CONTINUE)
		return ret;
	fmt_size((uint64_t)json_integer_value(json_object_get(res, "pages")),
	    size, sizeof(size));
	printf("snapshot %lld: %lld records, %lld pages (%s), %lld series "
	    "changed, %.2fs\n",
	    (long long)json_integer_value(json_object_get(res, "id")),
	    (long long)json_integer_value(json_object_get(res, "records")),
	    (long long)json_integer_value(json_object_get(res, "pages")), size,
	    (long long)json_integer_value(json_object_get(res, "changed")),
	    json_number_value(json_object_get(res, "duration_s")));
	json_decref(res);
	return EXIT_OK;
}

static const struct cmd_opt cmd_snapshot_opts[] = {
	OPT_E_JSON("the stored snapshot as JSON"),
	OPT_E_END,
};

const struct cmd_entry cmd_snapshot_entry = {
	.name = "snapshot",
	.summary = "Take a snapshot now and wait for it (needs root)",
	.opts = cmd_snapshot_opts,
	.exec = cmd_snapshot_exec,
};
