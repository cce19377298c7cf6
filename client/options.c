/*
 * options.c: a command's options, as its table of them (struct cmd_opt)
 * declares them, turned into the request's params or handed to the
 * command.  Values are checked by the daemon, which owns the vocabulary;
 * only their shape is checked here.  Also the way a one-shot command
 * starts and asks: opts_parse_args, then cmd_query; and the help that the
 * same tables print (cmd_usage, cmd_help in cmd.c).
 */
#include <getopt.h>
#include <string.h>

#include "pageownerctl.h"

#define MAX_OPTS 40

static bool
opt_end(const struct cmd_opt *o)
{
	return o->name == NULL && o->short_name == 0;
}

/* One option's argument into params (or to fn); else a usage error's status. */
static int
opt_take(const struct cmd_entry *c, const struct cmd_opt *o, const char *arg,
    void *ud, json_t *params)
{
	const char *name = o->name ? o->name : "-";
	char *cause = NULL;
	uint64_t v;
	json_t *a;
	int ret;

	switch (o->type) {
	case OPT_STR:
		json_object_set_new(params, o->param, json_string(arg));
		break;
	case OPT_INT:
		if (po_parse_u64(arg, &v) < 0 || v > INT32_MAX)
			return cmd_usage_error(c, "--%s wants a number, not '%s'",
			    name, arg);
		json_object_set_new(params, o->param, json_integer((json_int_t)v));
		break;
	case OPT_BOOL:
		json_object_set_new(params, o->param, json_true());
		break;
	case OPT_LIST:
		if (strchr(arg, '=') == NULL)
			return cmd_usage_error(c, "--%s wants KEY=VALUE, not '%s'",
			    name, arg);
		a = json_object_get(params, o->param);
		if (a == NULL) {
			a = json_array();
			json_object_set_new(params, o->param, a);
		}
		json_array_append_new(a, json_string(arg));
		break;
	case OPT_JSON:
		json_object_set_new(params, "__json", json_true());
		break;
	case OPT_FN:
		if (o->fn(ud, o, arg, &cause) < 0) {
			ret = cmd_usage_error(c, "%s", cause ? cause : "bad option");
			free(cause);
			return ret;
		}
		break;
	}
	return EXIT_OK;
}

/*
 * The command's options (c->opts) into *ret_params (the caller's; OPT_FN
 * options go to fn with ud), with the index of the first other argument
 * in *ret_optind: EXIT_OK; -1 after --help (printed: the command exits
 * 0); else the exit status of a usage error.
 */
int
opts_parse(const struct cmd_entry *c, int argc, char **argv, void *ud,
    json_t **ret_params, int *ret_optind)
{
	struct option lo[MAX_OPTS + 2];
	const struct cmd_opt *by_code[MAX_OPTS];
	char shorts[2 * MAX_OPTS + 2] = "h";
	json_t *params = json_object();
	size_t ns = 1;
	int n = 0, nl = 0, ch, ret;

	for (const struct cmd_opt *o = c->opts; o != NULL && !opt_end(o) && n < MAX_OPTS;
	    o++, n++) {
		int has_arg = o->arg != NULL ? required_argument : no_argument;

		by_code[n] = o;
		if (o->name != NULL)
			lo[nl++] = (struct option){ o->name, has_arg, NULL, 1000 + n };
		if (o->short_name != 0) {
			shorts[ns++] = (char)o->short_name;
			if (has_arg == required_argument)
				shorts[ns++] = ':';
		}
	}
	lo[nl] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[nl + 1] = (struct option){ NULL, 0, NULL, 0 };
	shorts[ns] = '\0';

	while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		const struct cmd_opt *o = NULL;

		if (ch == 'h') {
			cmd_help(stdout, c);
			json_decref(params);
			return -1;
		}
		if (ch >= 1000 && ch < 1000 + n)
			o = by_code[ch - 1000];
		for (int i = 0; o == NULL && i < n; i++)
			if (by_code[i]->short_name == ch)
				o = by_code[i];
		if (o == NULL) {
			json_decref(params);
			return cmd_usage_error(c, "bad option");
		}
		if ((ret = opt_take(c, o, optarg, ud, params)) != EXIT_OK) {
			json_decref(params);
			return ret;
		}
	}
	*ret_params = params;
	*ret_optind = optind;
	return EXIT_OK;
}

/* Take our private flag out of params: was --json given after the command? */
bool
opts_take_json(json_t *params)
{
	bool j = json_object_get(params, "__json") != NULL;

	json_object_del(params, "__json");
	return j;
}

/*
 * How a command starts: opts_parse, --json after the command into
 * ctl->json, then exactly nargs positional arguments, else a usage error:
 * few when there are fewer, many when there are more (NULL: "unexpected
 * argument 'X'", X the first one too many).  CMD_CONTINUE with
 * *ret_params (the caller's) and *ret_first, the index of the first
 * positional argument (ret_first may be NULL); else the command is done
 * and this is its exit status: EXIT_OK after --help, or EXIT_USAGE.
 */
int
opts_parse_args(const struct cmd_entry *c, struct ctl *ctl, int argc,
    char **argv, int nargs, const char *few, const char *many,
    json_t **ret_params, int *ret_first)
{
	json_t *params;
	int ret, first;

	ret = opts_parse(c, argc, argv, NULL, &params, &first);
	if (ret != EXIT_OK)
		return ret < 0 ? EXIT_OK : ret;
	if (opts_take_json(params))
		ctl->json = true;
	if (argc - first != nargs) {
		json_decref(params);
		if (argc - first < nargs)
			return cmd_usage_error(c, "%s", few);
		if (many == NULL)
			return cmd_usage_error(c, "unexpected argument '%s'",
			    argv[first + nargs]);
		return cmd_usage_error(c, "%s", many);
	}
	*ret_params = params;
	if (ret_first != NULL)
		*ret_first = first;
	return CMD_CONTINUE;
}

/*
 * Ask the daemon (rpc_oneshot: params are given away) and, with --json,
 * print its reply as it is.  CMD_CONTINUE with the reply in *ret_res for
 * the caller to print and free; else the command is done and this is its
 * exit status: EXIT_OK once the JSON is printed, or rpc_oneshot's failure.
 */
int
cmd_query(const struct ctl *ctl, const char *method, json_t *params,
    json_t **ret_res)
{
	json_t *res;
	int ret = rpc_oneshot(ctl, method, params, &res);

	if (ret != EXIT_OK)
		return ret;
	if (ctl->json) {
		json_print(ctl, res);
		json_decref(res);
		return EXIT_OK;
	}
	json_display_scrub(res);	/* for people: no control characters */
	*ret_res = res;
	return CMD_CONTINUE;
}
