/*
 * cmd-help.c: `help [COMMAND]`, and the word lists shell completion uses.
 */
#include <string.h>

#include "pageownerctl.h"

static int
cmd_help_exec(struct ctl *ctl, int argc, char **argv)
{
	const struct cmd_entry *c;
	char *cause = NULL;

	(void)ctl;
	if (argc > 2 && !(argc == 3 && strcmp(argv[1], "--options") == 0))
		return cmd_usage_error(&cmd_help_entry, "too many arguments");
	if (argc == 2 && strcmp(argv[1], "--commands") == 0) {
		/* for completion: every command name and alias */
		for (const struct cmd_entry *const *e = cmd_table; *e; e++)
			printf("%s%s%s\n", (*e)->name, (*e)->alias ? "\n" : "",
			    (*e)->alias ? (*e)->alias : "");
		return EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "--options") == 0) {
		/* for completion: a command's long options, one a line */
		if (argc != 3)
			return cmd_usage_error(&cmd_help_entry, "--options wants a "
			    "command name");
		c = cmd_find(argv[2], &cause);
		if (c == NULL) {
			fprintf(stderr, "pageownerctl: %s\n", cause);
			free(cause);
			return EXIT_USAGE;
		}
		for (const struct cmd_opt *o = c->opts; o != NULL &&
		    (o->name != NULL || o->short_name != 0); o++)
			if (o->name != NULL)
				printf("--%s\n", o->name);
		printf("--help\n");
		return EXIT_OK;
	}
	if (argc < 2) {
		printf("usage: pageownerctl [--socket PATH] [--json] [--no-headers] COMMAND [ARGS]\n\n"
		    "Commands:\n");
		cmd_list(stdout);
		printf("\nGlobal options:\n"
		    "  -S, --socket PATH   daemon socket (default %s)\n"
		    "  -j, --json          print JSON instead of tables\n"
		    "  -H, --no-headers    tables without their header line\n"
		    "      --version       print the version\n"
		    "\n'pageownerctl help COMMAND' tells more about one command.\n",
		    PO_DEFAULT_SOCKET);
		return EXIT_OK;
	}
	c = cmd_find(argv[1], &cause);
	if (c == NULL) {
		fprintf(stderr, "pageownerctl: %s\n", cause);
		free(cause);
		return EXIT_USAGE;
	}
	cmd_help(stdout, c);
	return EXIT_OK;
}

/* Parsed by cmd_help_exec itself; listed for help and completion. */
static const struct cmd_opt cmd_help_opts[] = {
	{ "commands", 0, OPT_BOOL, NULL, NULL,
	    "list command names only (for shell completion)", NULL },
	{ "options", 0, OPT_STR, NULL, "COMMAND",
	    "list a command's long options (for completion)", NULL },
	OPT_E_END,
};

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.args = "[COMMAND]",
	.summary = "List the commands, or explain one",
	.opts = cmd_help_opts,
	.exec = cmd_help_exec,
};
