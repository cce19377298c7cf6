/*
 * cmd-analyze.c: `analyze FILE [FILE2]`, page_owner_sort's job without a
 * daemon: group, filter and sort one dump, or diff two; as a table, or as
 * JSON (analyze-json.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "analyze.h"

/* Columns naming the group: the keys, with culprit/module for stacks. */
static void
key_columns(struct table *t, const struct analyze_opts *o)
{
	for (unsigned k = 0; k < o->nkeys; k++) {
		switch (o->keys[k]) {
		case PO_KEY_STACK:
			table_col(t, "STACK", TABLE_LEFT);
			break;
		case PO_KEY_SIGNATURE:
			table_col(t, "SIGNATURE", TABLE_LEFT);
			break;
		default: {
			static char upper[PO__KEY_MAX][16];
			const char *n = po_key_name(o->keys[k]);
			size_t i;

			for (i = 0; n[i] && i + 1 < sizeof(upper[0]); i++)
				upper[o->keys[k]][i] = (char)(n[i] >= 'a' && n[i] <= 'z' ?
				    n[i] - 32 : n[i]);
			upper[o->keys[k]][i] = '\0';
			table_col(t, upper[o->keys[k]], o->keys[k] == PO_KEY_PID ||
			    o->keys[k] == PO_KEY_TGID || o->keys[k] == PO_KEY_ORDER ?
			    TABLE_RIGHT : TABLE_LEFT);
		}
		}
	}
	if ((has_key(o, PO_KEY_STACK) || has_key(o, PO_KEY_SIGNATURE))) {
		if (!has_key(o, PO_KEY_CULPRIT))
			table_col(t, "CULPRIT", TABLE_LEFT);
		if (!has_key(o, PO_KEY_MODULE))
			table_col(t, "MODULE", TABLE_LEFT);
	}
}

static void
key_cells(struct table *t, struct po_agg *agg, const struct analyze_opts *o,
    const struct po_group *g)
{
	struct po_stacktab *st = po_agg_stacks(agg);
	struct po_strtab *names = po_agg_names(agg);
	const struct po_stack *s = po_stacktab_get(st, g->stack_id);
	char buf[256];

	for (unsigned k = 0; k < o->nkeys; k++) {
		po_agg_key_str(agg, g, k, buf, sizeof(buf));
		if (o->keys[k] == PO_KEY_STACK || o->keys[k] == PO_KEY_SIGNATURE)
			buf[12] = '\0';
		table_cell(t, "%s", buf[0] ? buf : "-");
	}
	if (has_key(o, PO_KEY_STACK) || has_key(o, PO_KEY_SIGNATURE)) {
		const char *mod = po_strtab_get(names, s->module_id, NULL);

		if (!has_key(o, PO_KEY_CULPRIT))
			table_cell(t, "%s", po_strtab_get(names, s->culprit_id, NULL));
		if (!has_key(o, PO_KEY_MODULE))
			table_cell(t, "%s", *mod ? mod : "kernel");
	}
}

static void
stack_notes(struct table *t, struct po_agg *agg, const struct po_group *g)
{
	struct po_span it = po_stacktab_text(po_agg_stacks(agg), g->stack_id), line;

	while (po_frame_next(&it, &line))
		table_note(t, "    %.*s", (int)line.n, line.p);
	table_note(t, "%s", "");
}

static void
print_one(const struct ctl *ctl, const struct analyze_opts *o, struct po_agg *agg,
    struct po_group **gs, size_t n, const struct dump *d)
{
	size_t shown = o->top && o->top < n ? o->top : n;

	if (ctl->json) {
		json_t *j = stats_json(d), *by = json_array();

		for (unsigned k = 0; k < o->nkeys; k++)
			json_array_append_new(by, json_string(po_key_name(o->keys[k])));
		json_object_set_new(j, "by", by);
		json_object_set_new(j, "filtered", json_integer(
		    (json_int_t)po_agg_filtered(agg)));
		json_object_set_new(j, "ngroups", json_integer((json_int_t)n));
		print_groups_json(o, agg, j, gs, shown);
		return;
	}

	struct table *t = table_new();
	char size[32];

	table_col(t, "PAGES", TABLE_RIGHT);
	table_col(t, "SIZE", TABLE_RIGHT);
	table_col(t, "BLOCKS", TABLE_RIGHT);
	table_col(t, "SHARE", TABLE_RIGHT);
	key_columns(t, o);
	for (size_t i = 0; i < shown; i++) {
		const struct po_group *g = gs[i];

		fmt_size(g->pages[0], size, sizeof(size));
		table_cell(t, "%llu", (unsigned long long)g->pages[0]);
		table_cell(t, "%s", size);
		table_cell(t, "%llu", (unsigned long long)g->blocks[0]);
		table_cell(t, "%.1f%%", d->st.pages ?
		    100.0 * (double)g->pages[0] / (double)d->st.pages : 0.0);
		key_cells(t, agg, o, g);
		if (o->stacks)
			stack_notes(t, agg, g);
	}
	table_print(t, stdout, !ctl->no_headers);
	table_free(t);
	if (!ctl->no_headers) {
		fmt_size(d->st.pages, size, sizeof(size));
		/* a stacks file: its stacks, its pages the nr_base_pages sum */
		bool stacks = d->st.page_records == 0 && d->st.stack_records > 0;

		printf("%zu of %zu groups; %llu %s, %llu pages (%s); "
		    "%llu malformed; format %s\n", shown, n,
		    (unsigned long long)(stacks ? d->st.stack_records :
		    d->st.page_records), stacks ? "stacks" : "records",
		    (unsigned long long)d->st.pages, size,
		    (unsigned long long)d->st.malformed, po_era_str(d->st.features));
	}
}

static void
print_diff(const struct ctl *ctl, const struct analyze_opts *o, struct po_agg *agg,
    struct po_group **gs, size_t n, const struct dump *a, const struct dump *b,
    bool idents)
{
	size_t shown = o->top && o->top < n ? o->top : n;

	if (ctl->json) {
		json_t *j = json_object(), *by = json_array();

		json_object_set_new(j, "a", stats_json(a));
		json_object_set_new(j, "b", stats_json(b));
		for (unsigned k = 0; k < o->nkeys; k++)
			json_array_append_new(by, json_string(po_key_name(o->keys[k])));
		json_object_set_new(j, "by", by);
		json_object_set_new(j, "identities", json_boolean(idents));
		json_object_set_new(j, "ngroups", json_integer((json_int_t)n));
		print_diff_json(o, agg, j, gs, shown, idents);
		return;
	}

	struct table *t = table_new();
	char size[32];

	table_col(t, "NET", TABLE_RIGHT);
	table_col(t, "SIZE", TABLE_RIGHT);
	table_col(t, "A PAGES", TABLE_RIGHT);
	table_col(t, "B PAGES", TABLE_RIGHT);
	if (idents) {
		table_col(t, "ALLOC", TABLE_RIGHT);
		table_col(t, "FREED", TABLE_RIGHT);
	}
	key_columns(t, o);
	for (size_t i = 0; i < shown; i++) {
		const struct po_group *g = gs[i];
		int64_t net = (int64_t)(g->pages[1] - g->pages[0]);

		fmt_size(net < 0 ? (uint64_t)-net : (uint64_t)net, size, sizeof(size));
		table_cell(t, "%+lld", (long long)net);
		table_cell(t, "%s%s", net < 0 ? "-" : "", size);
		table_cell(t, "%llu", (unsigned long long)g->pages[0]);
		table_cell(t, "%llu", (unsigned long long)g->pages[1]);
		if (idents) {
			table_cell(t, "%llu", (unsigned long long)g->alloc_pages);
			table_cell(t, "%llu", (unsigned long long)g->freed_pages);
		}
		key_cells(t, agg, o, g);
		if (o->stacks)
			stack_notes(t, agg, g);
	}
	table_print(t, stdout, !ctl->no_headers);
	table_free(t);
	if (!ctl->no_headers) {
		printf("%zu of %zu groups; A: %llu pages, B: %llu pages, net %+lld",
		    shown, n, (unsigned long long)a->st.pages,
		    (unsigned long long)b->st.pages,
		    (long long)(b->st.pages - a->st.pages));
		if (!idents)
			printf("; allocated/freed unknown (%s)",
			    a->unsorted || b->unsorted ? "a dump is not in PFN order" :
			    "dumps without identities");
		printf("\n");
	}
}

/* ---- the command --------------------------------------------------------- */

static void
filter_free(struct po_filter *f)
{
	free(f->pids);
	free(f->tgids);
	for (size_t i = 0; i < f->nnames; i++)
		free(f->names[i]);
	free(f->names);
}

/* ---- options: each fills struct analyze_opts ------------------------------ */

struct aparse {
	struct analyze_opts o;
	bool		 sort_given;
};

static int
set_by(void *ud, const struct cmd_opt *opt, const char *arg, char **cause)
{
	struct aparse *a = ud;

	(void)opt;
	return po_keys_parse(arg, a->o.keys, &a->o.nkeys, cause) < 0 ? -1 : 0;
}

/* --sort LIST, or one of page_owner_sort's -m -t ... (the key in opt->param) */
static int
set_sort(void *ud, const struct cmd_opt *opt, const char *arg, char **cause)
{
	struct aparse *a = ud;

	if (a->sort_given && opt->param != NULL) {
		po_asprintf(cause, "give one sort option (or --sort with a list)");
		return -1;
	}
	if (parse_sort(&a->o, opt->param ? opt->param : arg, cause) < 0)
		return -1;
	a->sort_given = true;
	return 0;
}

static int
set_ids(void *ud, const struct cmd_opt *opt, const char *arg, char **cause)
{
	struct po_filter *f = &((struct aparse *)ud)->o.filter;
	bool pid = strcmp(opt->name, "pid") == 0;

	if (parse_id_list(arg, pid ? &f->pids : &f->tgids, pid ? &f->npids :
	    &f->ntgids) < 0) {
		po_asprintf(cause, "bad %s list '%s'", opt->name, arg);
		return -1;
	}
	return 0;
}

static int
set_filter(void *ud, const struct cmd_opt *opt, const char *arg, char **cause)
{
	struct po_filter *f = &((struct aparse *)ud)->o.filter;

	(void)cause;
	switch (opt->name[0]) {
	case 'n': parse_name_list(arg, &f->names, &f->nnames); break;
	case 'm': if (opt->name[1] == 'o') f->module = arg; else f->memcg = arg; break;
	case 'c': f->culprit = arg; break;
	default: f->stack = arg; break;	/* stack-contains */
	}
	return 0;
}

static int
set_number(void *ud, const struct cmd_opt *opt, const char *arg, char **cause)
{
	struct analyze_opts *o = &((struct aparse *)ud)->o;
	bool top = strcmp(opt->name, "top") == 0;
	uint64_t v;

	if (po_parse_u64(arg, &v) < 0 || v == 0 || v > (top ? SIZE_MAX : MAX_THREADS)) {
		if (top)
			po_asprintf(cause, "--top wants a positive number, not '%s'", arg);
		else
			po_asprintf(cause, "--threads wants 1 to %d, not '%s'",
			    MAX_THREADS, arg);
		return -1;
	}
	if (top)
		o->top = (size_t)v;
	else
		o->threads = (unsigned)v;
	return 0;
}

static int
set_flag(void *ud, const struct cmd_opt *opt, const char *arg, char **cause)
{
	struct analyze_opts *o = &((struct aparse *)ud)->o;

	(void)arg;
	(void)cause;
	if (strcmp(opt->name, "stacks") == 0)
		o->stacks = true;
	else
		o->anomalies = true;
	return 0;
}

#define SORT1(c, key) { NULL, c, OPT_FN, key, NULL, NULL, set_sort }

static const struct cmd_opt cmd_analyze_opts[] = {
	{ "by", 'b', OPT_FN, NULL, "KEYS",
	    "group by: stack (default), signature, culprit,\n"
	    "module, comm, pid, tgid, memcg, order, gfp,\n"
	    "allocator; comma-separated (alias --cull; also\n"
	    "page_owner_sort's st, n, p, tg, ator)", set_by },
	{ "cull", 0, OPT_FN, NULL, "KEYS", NULL, set_by },
	{ "sort", 0, OPT_FN, NULL, "[+|-]KEY[,...]",
	    "pages, blocks, pid, tgid, name, stacktrace,\n"
	    "alloc_ts, free_ts, allocator, net, key", set_sort },
	SORT1('m', "pages"), SORT1('t', "blocks"), SORT1('p', "pid"),
	SORT1('P', "tgid"), SORT1('n', "name"), SORT1('s', "stacktrace"),
	SORT1('a', "alloc_ts"), SORT1('r', "free_ts"),
	{ "pid", 0, OPT_FN, NULL, "LIST", "only these pids (comma-separated)", set_ids },
	{ "tgid", 0, OPT_FN, NULL, "LIST", "only these tgids", set_ids },
	{ "name", 0, OPT_FN, NULL, "LIST", "only these task names (comm), exactly",
	    set_filter },
	{ "module", 0, OPT_FN, NULL, "NAME", "only stacks of this module ('kernel' = none)",
	    set_filter },
	{ "memcg", 0, OPT_FN, NULL, "NAME", "only pages charged to this memcg",
	    set_filter },
	{ "culprit", 0, OPT_FN, NULL, "TEXT", "only stacks whose culprit contains TEXT",
	    set_filter },
	{ "stack-contains", 0, OPT_FN, NULL, "TEXT",
	    "only stacks whose frames contain TEXT", set_filter },
	{ "top", 0, OPT_FN, NULL, "N", "print the first N groups", set_number },
	{ "stacks", 0, OPT_FN, NULL, NULL, "print each group's frames", set_flag },
	{ "migration-anomalies", 0, OPT_FN, NULL, NULL,
	    "only blocks whose ts equals free_ts\n"
	    "(5.14-6.6 kernels: a page-migration hint)", set_flag },
	{ "threads", 0, OPT_FN, NULL, "N", "parse with N threads (default: CPUs, max 8)",
	    set_number },
	{ "json", 'j', OPT_JSON, NULL, NULL, "JSON: records, pages, malformed, groups[]",
	    NULL },
	OPT_E_END,
};

static int
cmd_analyze_exec(struct ctl *ctl, int argc, char **argv)
{
	struct aparse ap = { .o = { .keys = { PO_KEY_STACK }, .nkeys = 1 } };
	struct analyze_opts o;
	struct dump da = { 0 }, db = { 0 };
	struct po_agg *agg = NULL;
	struct po_group **gs = NULL;
	FILE *ids = NULL;
	json_t *params;
	char *cause = NULL;
	bool diff, idents = false;
	size_t n;
	int first, ret = EXIT_OK, r;

	ret = opts_parse(&cmd_analyze_entry, argc, argv, &ap, &params, &first);
	o = ap.o;
	if (ret != EXIT_OK) {
		ret = ret < 0 ? EXIT_OK : ret;
		goto out;
	}
	if (opts_take_json(params))
		ctl->json = true;
	json_decref(params);
	argc -= first;
	argv += first;
	if (argc < 1 || argc > 2) {
		ret = cmd_usage_error(&cmd_analyze_entry,
		    argc < 1 ? "no dump file given" : "at most two dump files");
		goto out;
	}
	diff = argc == 2;
	if (!ap.sort_given)
		parse_sort(&o, diff ? "net" : "pages", &cause);

	po_agg_new(&agg, o.keys, o.nkeys, &o.filter);
	da.path = argv[0];
	if (diff) {
		ids = tmpfile();
		if (ids == NULL) {
			fprintf(stderr, "pageownerctl analyze: cannot create a "
			    "temporary file: %s\n", strerror(errno));
			ret = EXIT_REFUSED;
			goto out;
		}
	}
	r = read_dump(&o, &da, agg, 0, ids, NULL, &cause);
	if (r < 0)
		goto fail_cause;
	if (diff) {
		struct po_ident_merge m;

		if (fflush(ids) != 0) {
			po_asprintf(&cause, "cannot write identities: %s",
			    strerror(errno));
			goto fail_cause;
		}
		rewind(ids);
		db.path = argv[1];
		po_ident_merge_init(&m, ids, diff_freed, diff_allocated, agg);
		m.match_ref = true;	/* one grouping for both dumps: refs agree */
		r = read_dump(&o, &db, agg, 1, NULL, &m, &cause);
		if (r < 0)
			goto fail_cause;
		if (po_ident_merge_finish(&m) < 0) {
			po_asprintf(&cause, "cannot read back identities");
			goto fail_cause;
		}
		idents = !m.unsorted && !da.unsorted && !db.unsorted &&
		    da.st.page_records > 0 && db.st.page_records > 0;
	}
	if (o.anomalies && !(da.st.features & PO_F_FREE_TS))
		fprintf(stderr, "pageownerctl analyze: '%s' has no free_ts "
		    "(only kernels 5.14 to 6.6 print it): no anomaly to find\n",
		    da.path);

	n = po_agg_ngroups(agg);
	gs = po_xcalloc(n + 1, sizeof(struct po_group *));
	for (size_t i = 0; i < n; i++)
		gs[i] = po_agg_group(agg, i);
	sort_groups(&o, agg, diff, gs, n);
	if (diff)
		print_diff(ctl, &o, agg, gs, n, &da, &db, idents);
	else
		print_one(ctl, &o, agg, gs, n, &da);
	if (!ctl->json && (da.st.malformed > 0 || db.st.malformed > 0)) {
		const struct dump *bad = da.st.malformed > 0 ? &da : &db;

		fprintf(stderr, "pageownerctl analyze: %s: %llu malformed records "
		    "skipped (first at byte %llu: %s)\n", bad->path,
		    (unsigned long long)bad->st.malformed,
		    (unsigned long long)bad->st.first_bad_offset,
		    po_malformed_str(bad->st.first_bad));
	}
	goto out;

fail_cause:
	fprintf(stderr, "pageownerctl analyze: %s\n", cause);
	ret = EXIT_REFUSED;
out:
	free(cause);
	free(gs);
	if (ids != NULL)
		fclose(ids);
	po_agg_free(agg);
	filter_free(&o.filter);
	return ret;
}

const struct cmd_entry cmd_analyze_entry = {
	.name = "analyze",
	.args = "FILE [FILE2]",
	.summary = "Group, filter and sort a page_owner dump, or diff two (no daemon)",
	.about =
	    "FILE is a copy of /sys/kernel/debug/page_owner (any kernel from 3.19),\n"
	    "or a page_owner_stacks/show_stacks file; '-' reads standard input.\n"
	    "With FILE2, prints the change from FILE to FILE2 per group.\n"
	    "page_owner_sort's -m -t -p -P -n -s -a -r sort by pages, blocks, pid,\n"
	    "tgid, name, stacktrace, alloc ts, free ts.",
	.opts = cmd_analyze_opts,
	.exec = cmd_analyze_exec,
};
