/*
 * cmd-top.c: `top`, who holds the most memory now (or at --at): the
 * groups of the chosen dimension by pages, with their share of the total.
 */
#include "pageownerctl.h"

static int
cmd_top_exec(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *res, *list, *g, *est;
	const char *by;
	struct table *t;
	char size[32], e[64];
	size_t i;
	int ret;

	ret = opts_parse_args(&cmd_top_entry, ctl, argc, argv, 0, NULL, NULL, &params,
	    NULL);
	if (ret != CMD_CONTINUE)
		return ret;
	ret = cmd_query(ctl, PO_M_TOP, params, &res);
	if (ret != CMD_CONTINUE)
		return ret;
	by = jv_str(res, "by");
	list = json_object_get(res, "groups");
	/* sample = P%: the snapshot also carries an estimate per group */
	est = json_object_get(res, "estimate");
	t = table_new();
	table_col(t, "PAGES", TABLE_RIGHT);
	table_col(t, "SIZE", TABLE_RIGHT);
	table_col(t, "SHARE", TABLE_RIGHT);
	if (est != NULL)
		table_col(t, "EST", TABLE_RIGHT);
	group_cols(t, by);
	json_array_foreach(list, i, g) {
		fmt_size((uint64_t)jv_int(g, "pages"), size, sizeof(size));
		table_cell(t, "%lld", jv_int(g, "pages"));
		table_cell(t, "%s", size);
		table_cell(t, "%.1f%%", 100.0 * jv_num(g, "share"));
		if (est != NULL) {
			fmt_estimate(json_object_get(g, "estimate"), false, e, sizeof(e));
			table_cell(t, "%s", e);
		}
		group_cells(t, by, g);
	}
	table_print(t, stdout, !ctl->no_headers);
	table_free(t);
	if (!ctl->no_headers) {
		fmt_size((uint64_t)jv_int(res, "total_pages"), size, sizeof(size));
		printf("snapshot %lld (%s): %lld pages (%s) held; %zu of %lld groups "
		    "by %s shown%s\n", jv_int(res, "at"), jv_str(res, "at_time"),
		    jv_int(res, "total_pages"), size, json_array_size(list),
		    jv_int(res, "total_groups"), by,
		    json_is_true(json_object_get(res, "approximate")) ?
		    " (approximate: older deltas were pruned)" : "");
	}
	estimate_note(ctl, est);
	json_decref(res);
	return EXIT_OK;
}

static const struct cmd_opt cmd_top_opts[] = {
	{ "at", 0, OPT_STR, "at", "WHEN",
	    "the state at this snapshot id, ISO-8601 time or\n"
	    "relative time (-2h, -7d); default the latest", NULL },
	OPT_E_BY,
	OPT_E_MATCH,
	OPT_E_LIMIT,
	OPT_E_JSON("the daemon's reply as it is"),
	OPT_E_END,
};

const struct cmd_entry cmd_top_entry = {
	.name = "top",
	.summary = "Who holds the most memory now, or at a given time",
	.opts = cmd_top_opts,
	.exec = cmd_top_exec,
};
