/*
 * cmd-export.c: `export`, the history for other tools: Prometheus text
 * (the latest snapshot, top N per dimension plus an `other` bucket, for
 * node_exporter's textfile collector), Grafana's JSON data source shape,
 * and folded stacks for flamegraph.pl (or the two-column diff of two
 * points, for difffolded); pprof profiles are cmd-export-pprof.c's.
 * --output replaces FILE atomically: a reader sees the old file or the
 * new one, never half of one.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <unistd.h>

#include "pageownerctl.h"

/* Which options each format takes; the rest would be silently ignored. */
static const struct {
	const char	*format;
	const char	*takes;		/* the options it takes, for the message */
	const char	*refuses[8];	/* params it has no use for */
} formats[] = {
	{ "prometheus", "--limit (top N per dimension)",
	    { "since", "until", "at", "by", "match", "a", "b", NULL } },
	{ "json", "--since, --until, --by, --match, --limit",
	    { "at", "a", "b", NULL } },
	{ "folded", "--at, or --a and --b",
	    { "since", "until", "by", "match", "limit", NULL } },
	{ "pprof", "--at, --limit (the largest N stacks)",
	    { "since", "until", "by", "match", "a", "b", NULL } },
};

static int
write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Replace path with data: write path.tmp in the same directory, fsync it,
 * rename it over path, fsync the directory.  0, or -errno with *cause.
 */
int
export_write_atomic(const char *path, const char *data, size_t len, char **cause)
{
	char *tmp = NULL, *dir = po_xstrdup(path);
	int fd, r = 0, dfd;

	po_asprintf(&tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = -errno;
		po_asprintf(cause, "cannot create '%s': %s", tmp, strerror(-r));
		goto out;
	}
	if ((r = write_all(fd, data, len)) < 0 || (fsync(fd) < 0 && (r = -errno))) {
		po_asprintf(cause, "cannot write '%s': %s", tmp, strerror(-r));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0) {
		r = -errno;
		po_asprintf(cause, "cannot write '%s': %s", tmp, strerror(-r));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		po_asprintf(cause, "cannot rename '%s' to '%s': %s", tmp, path,
		    strerror(-r));
		unlink(tmp);
		goto out;
	}
	/* the rename itself survives a crash only once the directory is synced */
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
out:
	free(tmp);
	free(dir);
	return r;
}

/* What to print or write: the text, the targets, or the whole reply. */
static char *
export_output(const struct ctl *ctl, json_t *res, const char *format)
{
	json_t *text = json_object_get(res, "text");

	if (ctl->json || strcmp(format, "json") == 0) {
		char *s = json_dumps(ctl->json ? res : json_object_get(res, "targets"),
		    JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		char *out = NULL;

		po_asprintf(&out, "%s\n", s ? s : "null");
		free(s);
		return out;
	}
	return po_xstrdup(json_is_string(text) ? json_string_value(text) : "");
}

static int
cmd_export_exec(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *res;
	const char *format;
	char *output = NULL, *out, *cause = NULL;
	size_t f;
	int ret;

	ret = opts_parse_args(&cmd_export_entry, ctl, argc, argv, 0, NULL, NULL,
	    &params, NULL);
	if (ret != CMD_CONTINUE)
		return ret;
	format = json_string_value(json_object_get(params, "format"));
	for (f = 0; format != NULL && f < PO_ARRAY_SIZE(formats); f++)
		if (strcmp(formats[f].format, format) == 0)
			break;
	if (format == NULL || f == PO_ARRAY_SIZE(formats)) {
		if (format == NULL)
			ret = cmd_usage_error(&cmd_export_entry, "--format is required: "
			    "json, prometheus, folded or pprof");
		else
			ret = cmd_usage_error(&cmd_export_entry, "--format '%s' is not "
			    "one of json, prometheus, folded, pprof", format);
		json_decref(params);
		return ret;
	}
	format = formats[f].format;	/* params is given away below */
	if (json_is_string(json_object_get(params, "__output")))
		output = po_xstrdup(json_string_value(json_object_get(params, "__output")));
	json_object_del(params, "__output");
	if ((json_object_get(params, "a") != NULL) !=
	    (json_object_get(params, "b") != NULL)) {
		ret = cmd_usage_error(&cmd_export_entry, "a folded diff needs both "
		    "--a and --b");
	} else if (output != NULL && output[0] == '\0') {
		ret = cmd_usage_error(&cmd_export_entry, "--output wants a file name");
	} else {
		for (const char *const *p = formats[f].refuses; *p != NULL; p++)
			if (json_object_get(params, *p) != NULL) {
				ret = cmd_usage_error(&cmd_export_entry, "--%s does not "
				    "apply to --format %s, which takes %s", *p, format,
				    formats[f].takes);
				break;
			}
	}
	if (ret != CMD_CONTINUE) {	/* a check above failed */
		json_decref(params);
		free(output);
		return ret;
	}
	if (strcmp(format, "pprof") == 0) {
		ret = cmd_export_pprof(ctl, params, output);
		free(output);
		return ret;
	}
	ret = rpc_oneshot(ctl, PO_M_EXPORT, params, &res);
	if (ret != EXIT_OK) {
		free(output);
		return ret;
	}
	out = export_output(ctl, res, format);
	json_decref(res);
	if (output == NULL) {
		fputs(out, stdout);
	} else if (export_write_atomic(output, out, strlen(out), &cause) < 0) {
		fprintf(stderr, "pageownerctl export: %s\n", cause);
		free(cause);
		ret = EXIT_REFUSED;
	}
	free(out);
	free(output);
	return ret;
}

static const struct cmd_opt cmd_export_opts[] = {
	{ "format", 0, OPT_STR, "format", "FORMAT",
	    "prometheus: the latest snapshot as Prometheus text:\n"
	    "  bytes per stack, module, comm, memcg and order,\n"
	    "  the top N of each plus an `other` bucket, short\n"
	    "  stack ids as labels, no timestamps (node_exporter's\n"
	    "  textfile collector: --output DIR/page_owner.prom)\n"
	    "json: the window's top N series as Grafana's JSON\n"
	    "  data source wants them: [{target, datapoints:\n"
	    "  [[bytes, unix ms]]}]\n"
	    "folded: folded stacks with their pages, for\n"
	    "  flamegraph.pl; with --a and --b, both points' pages\n"
	    "  on each line, for flamegraph.pl's differential mode\n"
	    "pprof: the stacks at a point as a gzipped pprof\n"
	    "  profile (inuse_pages, inuse_space) for go tool\n"
	    "  pprof, Grafana Pyroscope or Parca; --json prints\n"
	    "  the daemon's stacks instead", NULL },
	{ "output", 0, OPT_STR, "__output", "FILE",
	    "replace FILE atomically (FILE.tmp, fsync, rename)\n"
	    "instead of printing", NULL },
	{ "at", 0, OPT_STR, "at", "WHEN",
	    "folded, pprof: the stacks at this snapshot id or\n"
	    "time (default the latest)", NULL },
	{ "a", 0, OPT_STR, "a", "WHEN", "folded: the first point of a diff", NULL },
	{ "b", 0, OPT_STR, "b", "WHEN", "folded: the second point of a diff", NULL },
	{ "since", 0, OPT_STR, "since", "WHEN",
	    "json: the window's start (default the first snapshot)", NULL },
	{ "until", 0, OPT_STR, "until", "WHEN",
	    "json: the window's end (default the latest)", NULL },
	{ "by", 0, OPT_STR, "by", "KEY",
	    "json: group by stack (default), culprit, module,\n"
	    "comm, memcg or order", NULL },
	{ "match", 0, OPT_LIST, "match", "KEY=GLOB",
	    "json: keep matching groups (repeatable)", NULL },
	{ "limit", 0, OPT_INT, "limit", "N",
	    "json, prometheus: N series (default 20); pprof:\n"
	    "the largest N stacks (default all)", NULL },
	{ "json", 0, OPT_JSON, NULL, NULL, "the daemon's whole reply instead", NULL },
	OPT_E_END,
};

const struct cmd_entry cmd_export_entry = {
	.name = "export",
	.summary = "Export for Prometheus, Grafana, flame graphs or pprof",
	.about = "FORMAT is prometheus, json, folded or pprof (--format is required).",
	.opts = cmd_export_opts,
	.exec = cmd_export_exec,
};
