/*
 * cmd-growers.c: `top-growers` (alias `growers`), the largest net growth
 * in a window, with what was allocated and freed on the way.
 */
#include "pageownerctl.h"

/* The footer: the window, and why a table may be empty. */
static void
growers_footer(const struct ctl *ctl, json_t *res, size_t shown)
{
	json_t *w = json_object_get(res, "window");

	if (ctl->no_headers)
		return;
	if (jv_int(w, "snapshots") == 0)
		printf("the window holds one snapshot (%lld): there is no growth to "
		    "measure; widen it with --since\n", jv_int(w, "until"));
	else if (shown == 0)
		printf("nothing grew in this window (%lld groups by %s looked at)\n",
		    jv_int(res, "total_groups"), jv_str(res, "by"));
	window_note(ctl, w);
	estimate_note(ctl, json_object_get(res, "estimate"));
}

static int
cmd_growers_exec(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *res, *list, *g, *est;
	const char *by;
	struct table *t;
	size_t i;
	int ret;

	ret = opts_parse_args(&cmd_growers_entry, ctl, argc, argv, 0, NULL, NULL, &params, NULL);
	if (ret != CMD_CONTINUE)
		return ret;
	ret = cmd_query(ctl, PO_M_GROWERS, params, &res);
	if (ret != CMD_CONTINUE)
		return ret;
	by = jv_str(res, "by");
	list = json_object_get(res, "groups");
	/* sample = P%: the window holds estimates, and each group has its own */
	est = json_object_get(res, "estimate");
	t = table_new();
	table_col(t, "GROWTH", TABLE_RIGHT);
	table_col(t, "SIZE", TABLE_RIGHT);
	table_col(t, "ALLOC", TABLE_RIGHT);
	table_col(t, "FREED", TABLE_RIGHT);
	table_col(t, "RATE/h", TABLE_RIGHT);
	table_col(t, "NOW", TABLE_RIGHT);
	if (est != NULL)
		table_col(t, "EST GROWTH", TABLE_RIGHT);
	table_col(t, "SPARKLINE", TABLE_LEFT);
	group_cols(t, by);
	json_array_foreach(list, i, g) {
		long long net = jv_int(g, "net_pages");
		bool idents = jv_int(g, "allocated_pages") != 0 || jv_int(g, "freed_pages") != 0;
		char size[32], rate[32], now[32], spark[128], e[64];

		fmt_signed_size(net, size, sizeof(size));
		fmt_signed_size((int64_t)jv_num(g, "rate_pages_per_hour"), rate, sizeof(rate));
		fmt_size((uint64_t)jv_int(g, "pages_now"), now, sizeof(now));
		fmt_spark_json(json_object_get(g, "sparkline"), NULL, 24, spark, sizeof(spark));
		table_cell(t, "%s%+lld%s", clr(ctl, net > 0 ? CLR_RED : CLR_GREEN), net,
		    clr(ctl, CLR_OFF));
		table_cell(t, "%s", size);
		if (idents) {
			table_cell(t, "%lld", jv_int(g, "allocated_pages"));
			table_cell(t, "%lld", jv_int(g, "freed_pages"));
		} else {
			/* a kernel without block identities: only the net is known */
			table_cell(t, "-");
			table_cell(t, "-");
		}
		table_cell(t, "%s", rate);
		table_cell(t, "%s", now);
		if (est != NULL) {
			bool growing = fmt_estimate(json_object_get(g, "estimate"), true,
			    e, sizeof(e));

			table_cell(t, "%s%s%s", clr(ctl, growing ? CLR_RED : CLR_OFF), e,
			    clr(ctl, CLR_OFF));
		}
		table_cell(t, "%s", spark);
		group_cells(t, by, g);
	}
	table_print(t, stdout, !ctl->no_headers);
	table_free(t);
	growers_footer(ctl, res, json_array_size(list));
	json_decref(res);
	return EXIT_OK;
}

static const struct cmd_opt cmd_growers_opts[] = {
	OPT_E_SINCE,
	OPT_E_UNTIL,
	OPT_E_BY,
	OPT_E_MATCH,
	OPT_E_LIMIT,
	OPT_E_JSON("the daemon's reply as it is"),
	OPT_E_END,
};

const struct cmd_entry cmd_growers_entry = {
	.name = "top-growers",
	.alias = "growers",
	.summary = "The largest net growth in a window (default: all the history)",
	.about =
	    "GROWTH is the net change in pages over the window, ALLOC and FREED the\n"
	    "pages allocated and freed on the way (\"-\" where the kernel gives no\n"
	    "block identities), RATE/h the growth per hour, NOW the size at the\n"
	    "window's end; the sparkline is the size over the window.  A reboot\n"
	    "inside the window is not growth: no change is counted across one.\n"
	    "Where the daemon samples (sample = P% in page-ownerd.conf), EST GROWTH\n"
	    "is the estimated growth from the window's first estimated snapshot to\n"
	    "its last, ~GROWTH+-SE, SE being one standard error (~PAGES+-SE, the\n"
	    "estimate itself, when the window holds one); a group is listed only\n"
	    "when that growth is beyond 3 standard errors.",
	.opts = cmd_growers_opts,
	.exec = cmd_growers_exec,
};
