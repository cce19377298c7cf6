/*
 * main.c: pageownerctl, the command-line client of page-ownerd.
 *
 * Global options come before the command; everything after the command
 * name belongs to the command, which is found in cmd.c's table.
 */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "pageownerctl.h"


int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket",	required_argument, NULL, 'S' },
		{ "json",	no_argument,	   NULL, 'j' },
		{ "no-headers",	no_argument,	   NULL, 'H' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = {
		.socket_path = getenv("PAGEOWNERD_SOCKET"),
		.argv0 = "pageownerctl",
	};
	const struct cmd_entry *c;
	char *cause = NULL;
	int ch;

	if (ctl.socket_path == NULL || ctl.socket_path[0] == '\0')
		ctl.socket_path = PO_DEFAULT_SOCKET;
	while ((ch = getopt_long(argc, argv, "+S:jHhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			ctl.socket_path = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 'H':
			ctl.no_headers = true;
			break;
		case 'h': {
			char help[] = "help";

			return cmd_help_entry.exec(&ctl, 1, (char *[]){ help, NULL });
		}
		case 'V':
			printf("pageownerctl %s\n", PO_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'pageownerctl help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "pageownerctl: no command given (try 'pageownerctl help')\n");
		return EXIT_USAGE;
	}
	c = cmd_find(argv[optind], &cause);
	if (c == NULL) {
		fprintf(stderr, "pageownerctl: %s\n", cause);
		free(cause);
		return EXIT_USAGE;
	}
	ctl.color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	argc -= optind;
	argv += optind;
	optind = 0;	/* let the command's getopt_long start afresh */
	return c->exec(&ctl, argc, argv);
}
