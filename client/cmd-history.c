/*
 * cmd-history.c: `history STACK|SERIES`, one series over a window: a stack
 * (its id or a unique prefix of 4+ hex digits), all stacks of a culprit,
 * or a comm, memcg, module or order series.
 */
#include <string.h>

#include "pageownerctl.h"

#define HISTORY_SPARK_MAX 60	/* points on the sparkline line */

/* What the series is, in one line above the table. */
static void
history_title(json_t *series)
{
	const char *kind = jv_str(series, "kind");
	size_t n = json_array_size(json_object_get(series, "series"));

	if (strcmp(kind, "stack") != 0)
		printf("%s %s\n", kind, jv_str(series, "key"));
	else if (n > 1)
		printf("culprit %s [%s]: %zu stacks\n", jv_str(series, "culprit"),
		    jv_str(series, "module"), n);
	else
		printf("stack %s: %s [%s]\n", jv_str(series, "key"),
		    jv_str(series, "culprit"), jv_str(series, "module"));
}

static int
cmd_history_exec(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *res, *points, *p;
	struct table *t;
	bool reboot = false;
	long long prev = 0, lo = 0, hi = 0;
	size_t i;
	int ret, first;

	ret = opts_parse_args(&cmd_history_entry, ctl, argc, argv, 1,
	    "which series? give a stack id (as top prints it), culprit=NAME, "
	    "comm=NAME, memcg=NAME, module=NAME or order=N",
	    "one series at a time", &params, &first);
	if (ret != CMD_CONTINUE)
		return ret;
	json_object_set_new(params, "series", json_string(argv[first]));
	ret = cmd_query(ctl, PO_M_HISTORY, params, &res);
	if (ret != CMD_CONTINUE)
		return ret;
	points = json_object_get(res, "points");
	json_array_foreach(points, i, p) {
		reboot |= json_is_true(json_object_get(p, "new_boot"));
	}
	if (!ctl->no_headers)
		history_title(json_object_get(res, "series"));
	t = table_new();
	table_col(t, "SNAPSHOT", TABLE_RIGHT);
	table_col(t, "TIME", TABLE_LEFT);
	table_col(t, "PAGES", TABLE_RIGHT);
	table_col(t, "SIZE", TABLE_RIGHT);
	table_col(t, "DELTA", TABLE_RIGHT);
	table_col(t, "ALLOC", TABLE_RIGHT);
	table_col(t, "FREED", TABLE_RIGHT);
	if (reboot)
		table_col(t, "NOTE", TABLE_LEFT);
	json_array_foreach(points, i, p) {
		long long pages = jv_int(p, "pages");
		char size[32];

		fmt_size((uint64_t)pages, size, sizeof(size));
		table_cell(t, "%lld", jv_int(p, "snapshot"));
		table_cell(t, "%s", jv_str(p, "time"));
		table_cell(t, "%lld", pages);
		table_cell(t, "%s", size);
		if (i == 0)
			table_cell(t, "-");
		else
			table_cell(t, "%s%+lld%s", clr(ctl, pages > prev ? CLR_RED :
			    pages < prev ? CLR_GREEN : CLR_OFF), pages - prev,
			    clr(ctl, CLR_OFF));
		if (i == 0) {
			/* the window's starting point: nothing before it */
			table_cell(t, "-");
			table_cell(t, "-");
		} else {
			table_cell(t, "%lld", jv_int(p, "allocated"));
			table_cell(t, "%lld", jv_int(p, "freed"));
		}
		if (reboot)
			table_cell(t, "%s", json_is_true(json_object_get(p, "new_boot")) ?
			    "new boot: no change counted across it" : "");
		lo = i == 0 || pages < lo ? pages : lo;
		hi = i == 0 || pages > hi ? pages : hi;
		prev = pages;
	}
	table_print(t, stdout, !ctl->no_headers);
	table_free(t);
	if (!ctl->no_headers && json_array_size(points) > 0) {
		char spark[HISTORY_SPARK_MAX * 4 + 1], a[32], b[32];

		fmt_spark_json(points, "pages", HISTORY_SPARK_MAX, spark, sizeof(spark));
		fmt_size((uint64_t)lo, a, sizeof(a));
		fmt_size((uint64_t)hi, b, sizeof(b));
		printf("sparkline: %s  (%lld to %lld pages, %s to %s)\n", spark, lo, hi,
		    a, b);
		window_note(ctl, json_object_get(res, "window"));
	}
	json_decref(res);
	return EXIT_OK;
}

static const struct cmd_opt cmd_history_opts[] = {
	{ "since", 0, OPT_STR, "since", "WHEN",
	    "from this snapshot id, ISO-8601 time or relative time\n"
	    "(-2h, -7d); default the first snapshot", NULL },
	OPT_E_UNTIL,
	OPT_E_JSON("the daemon's reply as it is (points[])"),
	OPT_E_END,
};

const struct cmd_entry cmd_history_entry = {
	.name = "history",
	.args = "STACK|SERIES",
	.summary = "One stack or series over time: pages, allocated and freed",
	.about =
	    "STACK is a stack id as top prints it, or a unique prefix of 4 or more\n"
	    "hex digits.  SERIES is KIND=KEY: culprit=NAME (all its stacks),\n"
	    "module=NAME, comm=NAME (kworker names folded: comm=kworker/u8:*),\n"
	    "memcg=NAME, order=N; or a series number from --json output.\n"
	    "Points are every snapshot for windows up to two days, hourly up to\n"
	    "14 days, daily beyond; ALLOC and FREED are per point.",
	.opts = cmd_history_opts,
	.exec = cmd_history_exec,
};
