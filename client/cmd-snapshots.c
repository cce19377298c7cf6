/*
 * cmd-snapshots.c: `snapshots`, the stored snapshots with their statistics.
 */
#include "pageownerctl.h"

static int
cmd_snapshots_exec(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *res, *list, *s;
	struct table *t;
	size_t i;
	int ret;

	ret = opts_parse_args(&cmd_snapshots_entry, ctl, argc, argv, 0, NULL, "no arguments expected",
	    &params, NULL);
	if (ret != CMD_CONTINUE)
		return ret;
	ret = cmd_query(ctl, PO_M_SNAPSHOTS, params, &res);
	if (ret != CMD_CONTINUE)
		return ret;
	list = json_object_get(res, "snapshots");
	t = table_new();
	table_col(t, "ID", TABLE_RIGHT);
	table_col(t, "TIME", TABLE_LEFT);
	table_col(t, "RECORDS", TABLE_RIGHT);
	table_col(t, "PAGES", TABLE_RIGHT);
	table_col(t, "SIZE", TABLE_RIGHT);
	table_col(t, "CHANGED", TABLE_RIGHT);
	table_col(t, "BAD", TABLE_RIGHT);
	table_col(t, "SECONDS", TABLE_RIGHT);
	table_col(t, "CPU", TABLE_RIGHT);
	table_col(t, "NOTE", TABLE_LEFT);
	json_array_foreach(list, i, s) {
		char size[32];
		json_int_t pages = json_integer_value(json_object_get(s, "pages"));

		fmt_size((uint64_t)pages, size, sizeof(size));
		table_cell(t, "%lld", (long long)json_integer_value(json_object_get(s, "id")));
		table_cell(t, "%s", json_string_value(json_object_get(s, "time")));
		table_cell(t, "%lld", (long long)json_integer_value(json_object_get(s, "records")));
		table_cell(t, "%lld", (long long)pages);
		table_cell(t, "%s", size);
		table_cell(t, "%lld", (long long)json_integer_value(json_object_get(s, "changed")));
		table_cell(t, "%lld", (long long)json_integer_value(json_object_get(s, "malformed")));
		table_cell(t, "%.2f", json_number_value(json_object_get(s, "duration_s")));
		table_cell(t, "%.2f", json_number_value(json_object_get(s, "cpu_user_s")) +
		    json_number_value(json_object_get(s, "cpu_sys_s")));
		table_cell(t, "%s%s%s",
		    json_is_true(json_object_get(s, "baseline")) ? "baseline (new boot) " : "",
		    json_is_true(json_object_get(s, "identities")) ? "" : "no-identities ",
		    json_string_value(json_object_get(s, "format")));
	}
	table_print(t, stdout, !ctl->no_headers);
	table_free(t);
	json_decref(res);
	return EXIT_OK;
}

static const struct cmd_opt cmd_snapshots_opts[] = {
	{ "since", 0, OPT_STR, "since", "WHEN",
	    "from this snapshot id, time (ISO-8601) or relative time (-2h)", NULL },
	{ "until", 0, OPT_STR, "until", "WHEN",
	    "up to this one", NULL },
	{ "limit", 0, OPT_INT, "limit", "N",
	    "at most N (default 100, at most 10000)", NULL },
	OPT_E_JSON("the daemon's reply as it is"),
	OPT_E_END,
};

const struct cmd_entry cmd_snapshots_entry = {
	.name = "snapshots",
	.summary = "List stored snapshots, newest first, with their statistics",
	.opts = cmd_snapshots_opts,
	.exec = cmd_snapshots_exec,
};
