/*
 * options.c: the options every daemon command shares (--since, --until,
 * --at, --by, --match, --limit) plus a command's own, turned into the
 * request's params.  Values are checked by the daemon, which owns the
 * vocabulary; only their shape is checked here.  Also the way a one-shot
 * command starts and asks: opts_parse_args, then cmd_query.
 */
#include <getopt.h>
#include <string.h>

#include "pageownerctl.h"

#define MAX_OPTS 32

/*
 * The shared options in shared and the command's own in extra (NULL, or
 * ended by a NULL name) into *ret_params (the caller's), with the index
 * of the first other argument in *ret_optind: EXIT_OK; -1 after --help
 * (printed: the command exits 0); else the exit status of a usage error.
 */
int
opts_parse(const struct cmd_entry *c, int argc, char **argv, unsigned shared,
    const struct cmd_opt *extra, json_t **ret_params, int *ret_optind)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
		const char	*param;
		enum opt_type	 type;
	} common[] = {
		{ OPT_SINCE, "since", "since", OPT_STR },
		{ OPT_UNTIL, "until", "until", OPT_STR },
		{ OPT_AT, "at", "at", OPT_STR },
		{ OPT_BY, "by", "by", OPT_STR },
		{ OPT_MATCH, "match", "match", OPT_LIST },
		{ OPT_LIMIT, "limit", "limit", OPT_INT },
	};
	struct option lo[MAX_OPTS + 3];
	const char *param[MAX_OPTS];
	enum opt_type type[MAX_OPTS];
	json_t *params = json_object();
	int n = 0, ch;

	for (size_t i = 0; i < PO_ARRAY_SIZE(common); i++) {
		if (!(shared & common[i].bit))
			continue;
		lo[n] = (struct option){ common[i].name, required_argument, NULL, 1000 + n };
		param[n] = common[i].param;
		type[n] = common[i].type;
		n++;
	}
	for (const struct cmd_opt *e = extra; e != NULL && e->name != NULL && n < MAX_OPTS; e++) {
		lo[n] = (struct option){ e->name, e->type == OPT_BOOL ? no_argument :
		    required_argument, NULL, 1000 + n };
		param[n] = e->param;
		type[n] = e->type;
		n++;
	}
	lo[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	lo[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };

	while ((ch = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
		if (ch == 'h') {
			cmd_usage(stdout, c);
			printf("\n%s\n\n%s", c->summary, c->help);
			json_decref(params);
			return -1;
		}
		if (ch == 'j') {
			json_object_set_new(params, "__json", json_true());
			continue;
		}
		if (ch < 1000 || ch >= 1000 + n) {
			json_decref(params);
			return cmd_usage_error(c, "bad option");
		}
		{
			int i = ch - 1000;
			const char *arg = optarg;

			switch (type[i]) {
			case OPT_STR:
				json_object_set_new(params, param[i], json_string(arg));
				break;
			case OPT_INT: {
				uint64_t v;

				if (po_parse_u64(arg, &v) < 0 || v > INT32_MAX) {
					json_decref(params);
					return cmd_usage_error(c, "--%s wants a number, not '%s'",
					    lo[i].name, arg);
				}
				json_object_set_new(params, param[i], json_integer((json_int_t)v));
				break;
			}
			case OPT_BOOL:
				json_object_set_new(params, param[i], json_true());
				break;
			case OPT_LIST: {
				json_t *a = json_object_get(params, param[i]);

				if (a == NULL) {
					a = json_array();
					json_object_set_new(params, param[i], a);
				}
				if (strchr(arg, '=') == NULL) {
					json_decref(params);
					return cmd_usage_error(c, "--%s wants KEY=VALUE, not '%s'",
					    lo[i].name, arg);
				}
				json_array_append_new(a, json_string(arg));
				break;
			}
			}
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
    char **argv, unsigned shared, const struct cmd_opt *extra, int nargs,
    const char *few, const char *many, json_t **ret_params, int *ret_first)
{
	json_t *params;
	int ret, first;

	ret = opts_parse(c, argc, argv, shared, extra, &params, &first);
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
