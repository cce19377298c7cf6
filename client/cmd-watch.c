/*
 * cmd-watch.c: `watch`, one line per new snapshot as the daemon takes it:
 * its time, id and pages, and the interval's top growers.  Runs until
 * interrupted (SIGINT or SIGTERM: exit 0); the daemon going away is exit 3.
 */
#include <signal.h>
#include <string.h>

#include "pageownerctl.h"

#define WATCH_POLL_MS	500	/* how often a signal is noticed */
#define WATCH_GROWERS	5	/* growers named per line */

static volatile sig_atomic_t watch_stop;

static void
watch_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static void
watch_line(const struct ctl *ctl, json_t *params)
{
	json_t *snap = json_object_get(params, "snapshot");
	json_t *top = json_object_get(params, "top_growers"), *g;
	char size[32];
	size_t i;
	int named = 0;

	fmt_size((uint64_t)jv_int(snap, "pages"), size, sizeof(size));
	printf("%s  snapshot %lld  %lld pages (%s)", jv_str(snap, "time"),
	    jv_int(snap, "id"), jv_int(snap, "pages"), size);
	if (json_is_true(json_object_get(snap, "baseline"))) {
		printf("  baseline (new boot): growth is counted from here\n");
		return;
	}
	json_array_foreach(top, i, g) {
		long long d = jv_int(g, "delta_pages");

		if (d <= 0 || named == WATCH_GROWERS)
			continue;
		printf("%s %s%+lld%s %s [%s]", named ? "," : "  grew:",
		    clr(ctl, CLR_RED), d, clr(ctl, CLR_OFF), jv_str(g, "culprit"),
		    jv_str(g, "module"));
		named++;
	}
	if (named == 0)
		printf("  nothing grew");
	printf("\n");
}

static int
cmd_watch_exec(struct ctl *ctl, int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = watch_signal };
	json_t *params, *res = NULL, *msg;
	struct rpc *r;
	int ret;

	ret = opts_parse_args(&cmd_watch_entry, ctl, argc, argv, 0, NULL,
	    "no arguments expected", &params, NULL);
	if (ret != CMD_CONTINUE)
		return ret;
	json_decref(params);	/* subscribe takes none */
	ret = rpc_connect(ctl, &r);
	if (ret != EXIT_OK)
		return ret;
	ret = rpc_call(r, PO_M_SUBSCRIBE, NULL, &res);
	json_decref(res);
	if (ret != EXIT_OK) {
		rpc_close(r);
		return ret;
	}
	/* no SA_RESTART: a signal must end the wait for the next line */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!ctl->json && !ctl->no_headers) {
		printf("watching page-ownerd at %s; one line per snapshot (Ctrl-C ends)\n",
		    ctl->socket_path);
		fflush(stdout);
	}
	while (!watch_stop) {
		int n = rpc_read(r, WATCH_POLL_MS, &msg);

		if (n < 0) {
			ret = EXIT_NODAEMON;	/* rpc_read said why */
			break;
		}
		if (n == 0)
			continue;
		if (json_is_string(json_object_get(msg, "method")) &&
		    strcmp(jv_str(msg, "method"), "snapshot_taken") == 0) {
			if (ctl->json) {
				json_dumpf(json_object_get(msg, "params"), stdout,
				    JSON_COMPACT | JSON_PRESERVE_ORDER);
				fputc('\n', stdout);
			} else {
				json_display_scrub(msg);
				watch_line(ctl, json_object_get(msg, "params"));
			}
			fflush(stdout);
		}
		json_decref(msg);
	}
	rpc_close(r);
	return ret;
}

static const struct cmd_opt cmd_watch_opts[] = {
	{ "json", 0, OPT_JSON, NULL, NULL,
	    "one JSON object per line: the notification's params\n"
	    "(snapshot, top_growers)", NULL },
	OPT_E_END,
};

const struct cmd_entry cmd_watch_entry = {
	.name = "watch",
	.summary = "One line per new snapshot, with the interval's top growers",
	.about =
	    "Prints the snapshot's time, id and pages, and the stacks that grew most\n"
	    "since the one before, as the daemon takes them; until interrupted.",
	.opts = cmd_watch_opts,
	.exec = cmd_watch_exec,
};
