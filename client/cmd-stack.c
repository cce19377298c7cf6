/*
 * cmd-stack.c: `stack ID`, one stack in full: what it is, when it was seen,
 * what it holds, its frames (the signature, and each exact stack that
 * shares it), and who holds its pages now by comm, memcg, order and gfp.
 */
#include <string.h>

#include "pageownerctl.h"

/* One breakdown list ([{KEY: k, pages, blocks}]) as a small table. */
static void
breakdown_table(const struct ctl *ctl, json_t *list, const char *key,
    long long total)
{
	struct table *t = table_new();
	char head[16];
	json_t *e;
	size_t i;

	for (i = 0; key[i] != '\0' && i + 1 < sizeof(head); i++)
		head[i] = (char)(key[i] >= 'a' && key[i] <= 'z' ? key[i] - 32 : key[i]);
	head[i] = '\0';
	table_col(t, "PAGES", TABLE_RIGHT);
	table_col(t, "SIZE", TABLE_RIGHT);
	table_col(t, "BLOCKS", TABLE_RIGHT);
	table_col(t, "SHARE", TABLE_RIGHT);
	table_col(t, head, TABLE_LEFT);
	json_array_foreach(list, i, e) {
		long long pages = jv_int(e, "pages");
		char size[32];

		fmt_size((uint64_t)pages, size, sizeof(size));
		table_cell(t, "%lld", pages);
		table_cell(t, "%s", size);
		table_cell(t, "%lld", jv_int(e, "blocks"));
		table_cell(t, "%.1f%%", total > 0 ? 100.0 * (double)pages / (double)total : 0.0);
		table_cell(t, "%s", jv_str(e, key));
	}
	printf("\n%sby %s%s:\n", clr(ctl, CLR_BOLD), key, clr(ctl, CLR_OFF));
	if (json_array_size(list) == 0)
		printf("  (nothing held at the latest detailed snapshot)\n");
	else
		table_print(t, stdout, !ctl->no_headers);
	table_free(t);
}

static void
stack_print(const struct ctl *ctl, json_t *res)
{
	static const char *const dims[] = { "comm", "memcg", "order", "gfp" };
	json_t *sig = json_object_get(res, "signature"), *stacks, *s, *f;
	long long pages = jv_int(res, "pages_now");
	char size[32], age[32];
	size_t i, k;

	fmt_size((uint64_t)pages, size, sizeof(size));
	fmt_age(jv_num(res, "oldest_block_age_s"), age, sizeof(age));
	printf("%sstack %s%s (series %lld)\n", clr(ctl, CLR_BOLD),
	    jv_str(res, "stack_id"), clr(ctl, CLR_OFF), jv_int(res, "series"));
	printf("culprit:        %s [%s]\n", jv_str(res, "culprit"), jv_str(res, "module"));
	printf("first seen:     %s\n", jv_str(res, "first_seen"));
	printf("last seen:      %s\n", jv_str(res, "last_seen"));
	{
		json_t *now = json_object_get(res, "latest_read");
		json_t *full = json_object_get(res, "last_full_read");

		/* each figure with the read it comes from, side by side */
		printf("pages now:      %lld (%s), %s read #%lld at %s\n", pages, size,
		    jv_str(now, "kind"), jv_int(now, "snapshot"), jv_str(now, "time"));
		if (json_is_object(full)) {
			char fsize[32];

			fmt_size((uint64_t)jv_int(full, "pages"), fsize, sizeof(fsize));
			printf("last full read: %lld pages (%s) in %lld blocks, #%lld at %s%s\n",
			    jv_int(full, "pages"), fsize, jv_int(full, "blocks"),
			    jv_int(full, "snapshot"), jv_str(full, "time"),
			    jv_int(full, "snapshot") == jv_int(now, "snapshot") ?
			    " (the same read)" : "");
		} else {
			printf("last full read: none yet (blocks, orders and holders are "
			    "unknown)\n");
		}
	}
	printf("growing since:  %s\n", jv_str(res, "growing_since"));
	printf("oldest block:   %s%s\n", age, strcmp(age, "-") != 0 ? " old" : " (unknown)");

	printf("\n%ssignature%s (frames without offsets; it names the stack across "
	    "kernel builds):\n", clr(ctl, CLR_BOLD), clr(ctl, CLR_OFF));
	json_array_foreach(sig, i, f) {
		printf("    %s\n", json_string_value(f));
	}
	stacks = json_object_get(res, "stacks");
	printf("\n%sexact stacks%s: %zu\n", clr(ctl, CLR_BOLD), clr(ctl, CLR_OFF),
	    json_array_size(stacks));
	json_array_foreach(stacks, i, s) {
		printf("  %s, first seen %s\n", jv_str(s, "hash"), jv_str(s, "first_seen"));
		json_array_foreach(json_object_get(s, "frames"), k, f) {
			printf("    %s\n", json_string_value(f));
		}
	}
	for (i = 0; i < PO_ARRAY_SIZE(dims); i++)
		breakdown_table(ctl, json_object_get(json_object_get(res, "breakdown"),
		    dims[i]), dims[i], pages);
}

static int
cmd_stack_exec(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *res;
	int ret, first;

	ret = opts_parse_args(&cmd_stack_entry, ctl, argc, argv, 1,
	    "which stack? give its id as top prints it", "one stack at a time",
	    &params, &first);
	if (ret != CMD_CONTINUE)
		return ret;
	json_object_set_new(params, "id", json_string(argv[first]));
	ret = cmd_query(ctl, PO_M_STACK, params, &res);
	if (ret != CMD_CONTINUE)
		return ret;
	stack_print(ctl, res);
	json_decref(res);
	return EXIT_OK;
}

static const struct cmd_opt cmd_stack_opts[] = {
	OPT_E_JSON("the daemon's reply as it is"),
	OPT_E_END,
};

const struct cmd_entry cmd_stack_entry = {
	.name = "stack",
	.args = "ID",
	.summary = "One stack in full: frames, history marks, who holds it now",
	.about =
	    "ID is a stack id as top, top-growers and leaks print it, or a unique\n"
	    "prefix of 4 or more hex digits.  The breakdown by comm, memcg, order\n"
	    "and gfp is from the latest snapshot.",
	.opts = cmd_stack_opts,
	.exec = cmd_stack_exec,
};
