/*
 * cmd-diff.c: `diff A B`, what changed between two points in time, per
 * group, the largest change (growth or shrinkage) first.
 */
#include <string.h>

#include "pageownerctl.h"

/*
 * A and B may be relative times ("-2h"), which getopt would take for
 * options: the new argv (malloc'd) has the options first, then "--", then
 * the other arguments in their order.  Options that take an argument (and
 * their abbreviations) keep theirs; after a "--" everything is an argument.
 */
static char **
args_last(int argc, char **argv, int *ret_argc)
{
	static const char *const with_arg[] = { "by", "match", "limit" };
	static char dashdash[] = "--";
	char **out = po_xcalloc((size_t)argc + 2, sizeof(char *));
	char **pos = po_xcalloc((size_t)argc + 1, sizeof(char *));
	int n = 0, npos = 0;

	out[n++] = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			while (++i < argc)
				pos[npos++] = argv[i];
			break;
		}
		if (a[0] != '-' || (a[1] >= '0' && a[1] <= '9') || a[1] == '\0') {
			pos[npos++] = argv[i];
			continue;
		}
		out[n++] = argv[i];
		if (strncmp(a, "--", 2) != 0 || strchr(a, '=') != NULL)
			continue;
		for (size_t k = 0; k < PO_ARRAY_SIZE(with_arg); k++)
			/* --NAME or an abbreviation of it: a prefix of the name */
			if (strstr(with_arg[k], a + 2) == with_arg[k] && i + 1 < argc) {
				out[n++] = argv[++i];
				break;
			}
	}
	out[n++] = dashdash;
	for (int i = 0; i < npos; i++)
		out[n++] = pos[i];
	out[n] = NULL;
	free(pos);
	*ret_argc = n;
	return out;
}

static void
diff_footer(const struct ctl *ctl, json_t *res, size_t shown)
{
	json_t *a = json_object_get(res, "a"), *b = json_object_get(res, "b");
	long long ta = jv_int(res, "total_pages_a"), tb = jv_int(res, "total_pages_b");
	char size[32];

	if (ctl->no_headers)
		return;
	fmt_signed_size(tb - ta, size, sizeof(size));
	printf("snapshot %lld (%s) to %lld (%s): %lld to %lld pages, %+lld (%s); "
	    "%zu groups by %s shown%s%s\n", jv_int(a, "snapshot"), jv_str(a, "time"),
	    jv_int(b, "snapshot"), jv_str(b, "time"), ta, tb, tb - ta, size, shown,
	    jv_str(res, "by"),
	    json_is_true(json_object_get(res, "reversed")) ? "; B is older than A" : "",
	    json_is_true(json_object_get(res, "approximate")) ?
	    "; approximate (older deltas were pruned)" : "");
}

static int
cmd_diff_exec(struct ctl *ctl, int argc, char **argv)
{
	static const char want[] = "want two points in time, A and B (snapshot "
	    "ids, ISO-8601 times or relative times)";
	json_t *params, *res, *list, *g;
	const char *by;
	struct table *t;
	char **args;
	size_t i;
	int ret, first, nargs;

	args = args_last(argc, argv, &nargs);
	ret = opts_parse_args(&cmd_diff_entry, ctl, nargs, args, 2, want, want, &params, &first);
	if (ret != CMD_CONTINUE) {
		free(args);
		return ret;
	}
	json_object_set_new(params, "a", json_string(args[first]));
	json_object_set_new(params, "b", json_string(args[first + 1]));
	free(args);
	ret = cmd_query(ctl, PO_M_DIFF, params, &res);
	if (ret != CMD_CONTINUE)
		return ret;
	by = jv_str(res, "by");
	list = json_object_get(res, "groups");
	t = table_new();
	table_col(t, "CHANGE", TABLE_RIGHT);
	table_col(t, "SIZE", TABLE_RIGHT);
	table_col(t, "A PAGES", TABLE_RIGHT);
	table_col(t, "B PAGES", TABLE_RIGHT);
	table_col(t, "ALLOC", TABLE_RIGHT);
	table_col(t, "FREED", TABLE_RIGHT);
	group_cols(t, by);
	json_array_foreach(list, i, g) {
		long long net = jv_int(g, "net_pages");
		char size[32];

		fmt_signed_size(net, size, sizeof(size));
		table_cell(t, "%s%+lld%s", clr(ctl, net > 0 ? CLR_RED : net < 0 ?
		    CLR_GREEN : CLR_OFF), net, clr(ctl, CLR_OFF));
		table_cell(t, "%s", size);
		table_cell(t, "%lld", jv_int(g, "pages_a"));
		table_cell(t, "%lld", jv_int(g, "pages_b"));
		table_cell(t, "%lld", jv_int(g, "allocated_pages"));
		table_cell(t, "%lld", jv_int(g, "freed_pages"));
		group_cells(t, by, g);
	}
	table_print(t, stdout, !ctl->no_headers);
	table_free(t);
	diff_footer(ctl, res, json_array_size(list));
	json_decref(res);
	return EXIT_OK;
}

static const struct cmd_opt cmd_diff_opts[] = {
	OPT_E_BY,
	OPT_E_MATCH,
	OPT_E_LIMIT,
	OPT_E_JSON("the daemon's reply as it is"),
	OPT_E_END,
};

const struct cmd_entry cmd_diff_entry = {
	.name = "diff",
	.args = "A B",
	.summary = "What changed between two points in time, largest change first",
	.about =
	    "A and B are snapshot ids, ISO-8601 times, relative times (-1d) or\n"
	    "'now'.  CHANGE is B's pages minus A's; ALLOC and FREED are the pages\n"
	    "allocated and freed in between (no change is counted across a reboot,\n"
	    "so there they need not add up to CHANGE).",
	.opts = cmd_diff_opts,
	.exec = cmd_diff_exec,
};
