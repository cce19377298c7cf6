/*
 * cmd-leaks.c: `leaks`, the leak suspects of a window ranked by score,
 * with the evidence behind each score.  The score is the daemon's
 * (daemon/leakscore.c); the help text below says it in the same words,
 * and must change with it.
 */
#include "pageownerctl.h"

static void
leaks_footer(const struct ctl *ctl, json_t *res, size_t shown, bool all, bool unknown)
{
	json_t *w = json_object_get(res, "window");

	if (ctl->no_headers)
		return;
	if (jv_int(w, "snapshots") == 0)
		printf("the window holds one snapshot (%lld): a leak needs growth over "
		    "time; widen it with --since\n", jv_int(w, "until"));
	else if (shown == 0)
		printf("no leak suspect in this window%s\n", all ? "" :
		    " (--all lists every group with its evidence)");
	/* say why FREED/ALLOC is "-" */
	if (unknown)
		printf("FREED/ALLOC -: unknown, the window does not hold two full reads "
		    "of page_owner; the retention comes from the rises and falls seen\n");
	window_note(ctl, w);
	estimate_note(ctl, json_object_get(res, "estimate"));
}

static int
cmd_leaks_exec(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *res, *list, *g, *est;
	const char *by;
	struct table *t;
	size_t i;
	bool all, unknown = false;
	int ret;

	ret = opts_parse_args(&cmd_leaks_entry, ctl, argc, argv, 0, NULL, NULL, &params, NULL);
	if (ret != CMD_CONTINUE)
		return ret;
	all = json_is_true(json_object_get(params, "all"));
	ret = cmd_query(ctl, PO_M_LEAKS, params, &res);
	if (ret != CMD_CONTINUE)
		return ret;
	by = jv_str(res, "by");
	list = json_object_get(res, "groups");
	/* sample = P%: the window holds estimates, and each group has its own */
	est = json_object_get(res, "estimate");
	t = table_new();
	table_col(t, "SCORE", TABLE_RIGHT);
	if (all)
		table_col(t, "SUSPECT", TABLE_LEFT);
	table_col(t, "GROWTH", TABLE_RIGHT);
	table_col(t, "SLOPE/h", TABLE_RIGHT);
	table_col(t, "STEADY", TABLE_RIGHT);
	table_col(t, "FREED/ALLOC", TABLE_RIGHT);
	table_col(t, "OLDEST", TABLE_RIGHT);
	table_col(t, "GROWING", TABLE_RIGHT);
	if (est != NULL)
		table_col(t, "EST GROWTH", TABLE_RIGHT);
	table_col(t, "SPARKLINE", TABLE_LEFT);
	group_cols(t, by);
	json_array_foreach(list, i, g) {
		json_t *ev = json_object_get(g, "evidence");
		bool suspect = json_is_true(json_object_get(g, "suspect"));
		double score = jv_num(g, "score");
		char growth[32], slope[32], oldest[32], growing[32], spark[128], e[64];

		fmt_signed_size(jv_int(ev, "net_pages"), growth, sizeof(growth));
		fmt_signed_size((int64_t)jv_num(ev, "slope_pages_per_hour"), slope,
		    sizeof(slope));
		fmt_age(jv_num(ev, "oldest_block_age_s"), oldest, sizeof(oldest));
		fmt_age(jv_num(ev, "growing_for_s"), growing, sizeof(growing));
		fmt_spark_json(json_object_get(g, "sparkline"), NULL, 24, spark,
		    sizeof(spark));
		table_cell(t, score >= 100 ? "%s%.0f%s" : "%s%.1f%s",
		    clr(ctl, suspect ? CLR_RED : CLR_OFF), score, clr(ctl, CLR_OFF));
		if (all)
			table_cell(t, "%s", suspect ? "yes" : "no");
		table_cell(t, "%s", growth);
		table_cell(t, "%s", slope);
		table_cell(t, "%.0f%%", 100.0 * jv_num(ev, "steadiness"));
		/* null: unknown (no two full reads in the window), never 0 */
		if (json_is_number(json_object_get(ev, "freed_ratio"))) {
			table_cell(t, "%.0f%%", 100.0 * jv_num(ev, "freed_ratio"));
		} else {
			table_cell(t, "-");
			unknown = true;
		}
		table_cell(t, "%s", oldest);
		table_cell(t, "%s", growing);
		if (est != NULL) {
			bool grows = fmt_estimate(json_object_get(g, "estimate"), true,
			    e, sizeof(e));

			table_cell(t, "%s%s%s", clr(ctl, grows ? CLR_RED : CLR_OFF), e,
			    clr(ctl, CLR_OFF));
		}
		table_cell(t, "%s", spark);
		group_cells(t, by, g);
	}
	table_print(t, stdout, !ctl->no_headers);
	table_free(t);
	leaks_footer(ctl, res, json_array_size(list), all, unknown);
	json_decref(res);
	return EXIT_OK;
}

static const struct cmd_opt cmd_leaks_opts[] = {
	{ "all", 0, OPT_BOOL, "all", NULL,
	    "every group, suspect or not, ranked by score", NULL },
	OPT_E_SINCE,
	OPT_E_UNTIL,
	{ "by", 0, OPT_STR, "by", "KEY",
	    "rank stacks (default), culprits or modules", NULL },
	{ "match", 0, OPT_LIST, "match", "KEY=GLOB",
	    "keep groups whose stack (id prefix), culprit or\n"
	    "module matches (repeatable)", NULL },
	OPT_E_LIMIT,
	OPT_E_JSON("the daemon's reply as it is"),
	OPT_E_END,
};

const struct cmd_entry cmd_leaks_entry = {
	.name = "leaks",
	.summary = "Leak suspects of a window, ranked, with their evidence",
	.about =
	    "A hogger is big; a leak keeps growing and does not give back.  Over the\n"
	    "window, for each group:\n"
	    "  steadiness s = intervals that grew / intervals that changed\n"
	    "  retention  r = 1 - freed / allocated, measured by full reads; where\n"
	    "               they are unknown, 1 - pages seen falling / pages seen\n"
	    "               rising between reads, since the last full read before\n"
	    "               the window (the span a full read's frees would cover)\n"
	    "  significance z = net growth in blocks / sqrt(block events), the\n"
	    "               events being at least the net growth, the allocations\n"
	    "               and frees measured, and the rises and falls seen\n"
	    "  score = net growth in pages x s^2 x r^2\n"
	    "A suspect grew (net > 0) in at least two intervals, steadily (s >=\n"
	    "0.75), kept most of what it allocated (r > 0.5), grew beyond chance\n"
	    "(z >= 4: 16 blocks or more with no frees) and by two blocks or more: a\n"
	    "single block, whatever its order, never is.  A stable hogger has no net\n"
	    "growth (score 0); a churning cache frees what it allocates (r near 0)\n"
	    "and shrinks as often as it grows (s near 0.5).\n"
	    "\n"
	    "How each piece of evidence is obtained:\n"
	    "  growth, steadiness   from every read: full reads of page_owner and\n"
	    "                       reads of page_owner_stacks alike (pages of a stack)\n"
	    "  freed / allocated    only from full reads, by matching each block's\n"
	    "                       identity with the previous full read's: known for a\n"
	    "                       window that holds two full reads, else unknown (\"-\",\n"
	    "                       null in JSON) and never taken as evidence; pages\n"
	    "                       seen falling between any two reads are frees too\n"
	    "  blocks (the order)   only from full reads; between them a stack keeps its\n"
	    "                       last full read's pages per block; a stack no full\n"
	    "                       read has seen counts as few blocks as its page\n"
	    "                       counts allow (the largest power of two, up to 1024\n"
	    "                       pages, that divides them all)\n"
	    "  full mode: every read is full, so everything is measured every interval;\n"
	    "  stacks mode: freed / allocated is never known, blocks only from page\n"
	    "  counts; auto mode: a full read every full_every snapshots (or sooner\n"
	    "  when a stack grew past full_trigger pages) and stacks reads between.\n"
	    "\n"
	    "Columns: SCORE; GROWTH, the net growth; SLOPE/h, growth per hour;\n"
	    "STEADY, s as a percentage; FREED/ALLOC, freed / allocated (\"-\":\n"
	    "unknown, the window does not hold two full reads); OLDEST, the age of\n"
	    "the oldest block still held; GROWING, how long since it last shrank;\n"
	    "the size over the window.\n"
	    "Where the daemon samples (sample = P% in page-ownerd.conf), EST GROWTH\n"
	    "is the estimated growth from the window's first estimated snapshot to\n"
	    "its last, ~GROWTH+-SE, SE being one standard error (~PAGES+-SE, the\n"
	    "estimate itself, when the window holds one); a group whose estimated\n"
	    "growth is not beyond 3 standard errors is no suspect.",
	.opts = cmd_leaks_opts,
	.exec = cmd_leaks_exec,
};
