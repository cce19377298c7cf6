/*
 * cmd-export-pprof.c: `export --format pprof`: the daemon's stacks at one
 * snapshot (export format "stacks") as a gzipped pprof profile (pprof.c),
 * for go tool pprof, Grafana Pyroscope and Parca.  The profile is written
 * whole, atomically, to --output, or to stdout when that is not a terminal.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "pageownerctl.h"

/*
 * Note the frames at a stack's leaf end that are the allocator's own
 * (lib/frame.c's one list, the rule that finds a stack's culprit) in the
 * set `names`, so that the profile's drop_frames can name them.
 */
static void
note_allocator_frames(json_t *frames, json_t *names)
{
	json_t *f;
	size_t k;

	json_array_foreach(frames, k, f) {
		const char *s = json_string_value(f);
		struct po_span sym;

		if (s == NULL)
			return;
		sym = (struct po_span){ s, strcspn(s, " ") };	/* "sym [module]" */
		if (!po_frame_is_allocator(sym))
			return;
		json_object_set_new(names, s, json_true());
	}
}

/* "^(a|b)$" is how pprof applies it: the names, escaped, joined with '|'. */
static char *
drop_regexp(json_t *names)
{
	char *re = NULL;
	size_t len = 0, cap = 0;
	const char *name;
	json_t *v;

	json_object_foreach(names, name, v) {
		for (const char *c = name; *c; c++) {
			if (len + 4 > cap) {
				cap = cap ? cap * 2 : 256;
				re = po_xrealloc(re, cap, 1);
			}
			if (c == name && len > 0)
				re[len++] = '|';
			if (strchr("\\.+*?()|[]{}^$", *c) != NULL)
				re[len++] = '\\';
			re[len++] = *c;
		}
	}
	if (re != NULL)
		re[len] = '\0';
	return re;
}

/* The profile of a "stacks" reply: 0, or -errno with *cause. */
int
export_pprof_build(json_t *res, uint8_t **ret, size_t *ret_len, char **cause)
{
	static const char *const labels[][2] = {	/* label, reply key */
		{ "host", "host" }, { "kernel", "kernel" }, { "boot_id", "boot_id" },
	};
	json_t *stacks = json_object_get(res, "stacks"), *st;
	json_t *ps = json_object_get(res, "page_size"), *ut = json_object_get(res, "unix_time");
	json_t *alloc = json_object();
	size_t fcap = 64;	/* frames of the deepest stack so far */
	const char **frames = po_xcalloc(fcap, sizeof(*frames));
	struct pprof *p;
	char *re;
	size_t i;
	int r = 0;

	if (!json_is_array(stacks) || !json_is_integer(ps) || json_integer_value(ps) <= 0 ||
	    !json_is_number(ut)) {
		po_asprintf(cause, "the daemon's reply is not a stacks export "
		    "(stacks, page_size, unix_time)");
		free(frames);
		json_decref(alloc);
		return -EBADMSG;
	}
	p = pprof_new();
	{
		/* whole seconds apart: a double holds the time to a microsecond, its
		 * product with 1e9 only to some hundred ns */
		double t = json_number_value(ut), sec = floor(t);

		pprof_set_time(p, (int64_t)sec * 1000000000 + llround((t - sec) * 1e9));
	}
	for (i = 0; i < PO_ARRAY_SIZE(labels); i++) {
		json_t *v = json_object_get(res, labels[i][1]);

		if (json_is_string(v) && json_string_value(v)[0] != '\0')
			(void)pprof_label(p, labels[i][0], json_string_value(v));
	}
	json_array_foreach(stacks, i, st) {
		json_t *fr = json_object_get(st, "frames"), *f;
		json_t *pages = json_object_get(st, "pages");
		size_t k;

		if (!json_is_array(fr) || !json_is_integer(pages)) {
			po_asprintf(cause, "stack %zu of the daemon's reply has no "
			    "frames or pages", i);
			r = -EBADMSG;
			break;
		}
		note_allocator_frames(fr, alloc);
		if (json_array_size(fr) > fcap) {
			fcap = json_array_size(fr);
			frames = po_xrealloc(frames, fcap, sizeof(*frames));
		}
		json_array_foreach(fr, k, f)
			frames[k] = json_string_value(f);	/* NULL if not a string */
		r = pprof_sample(p, frames, json_array_size(fr), json_integer_value(pages),
		    json_integer_value(pages) * json_integer_value(ps));
		if (r < 0) {
			po_asprintf(cause, "stack %zu of the daemon's reply has an "
			    "empty or missing frame", i);
			break;
		}
	}
	re = drop_regexp(alloc);
	pprof_drop_frames(p, re);
	if (r == 0)
		r = pprof_write(p, ret, ret_len, cause);
	free(re);
	json_decref(alloc);
	free(frames);
	pprof_free(p);
	return r;
}

/*
 * Ask for the stacks, encode, and write to output (NULL: stdout).  params
 * is the export request, format already "pprof"; it is given away.
 */
int
cmd_export_pprof(struct ctl *ctl, json_t *params, const char *output)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char *cause = NULL;
	json_t *res;
	int ret;

	if (output == NULL && !ctl->json && isatty(STDOUT_FILENO)) {
		json_decref(params);
		return cmd_usage_error(&cmd_export_entry, "--format pprof writes a "
		    "gzipped profile: give --output FILE, or redirect stdout");
	}
	json_object_set_new(params, "format", json_string("stacks"));
	ret = rpc_oneshot(ctl, "export", params, &res);
	if (ret != EXIT_OK)
		return ret;
	if (ctl->json) {	/* the daemon's reply, as for every format */
		char *s = json_dumps(res, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		po_asprintf((char **)&buf, "%s\n", s ? s : "null");
		len = strlen((char *)buf);
		free(s);
	} else if (export_pprof_build(res, &buf, &len, &cause) < 0) {
		fprintf(stderr, "pageownerctl export: %s\n", cause);
		ret = EXIT_REFUSED;
	}
	if (ret != EXIT_OK) {
		/* nothing to write */
	} else if (output != NULL) {
		if (export_write_atomic(output, (const char *)buf, len, &cause) < 0) {
			fprintf(stderr, "pageownerctl export: %s\n", cause);
			ret = EXIT_REFUSED;
		}
	} else if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
		fprintf(stderr, "pageownerctl export: cannot write the profile to "
		    "stdout: %s\n", strerror(errno));
		ret = EXIT_REFUSED;
	}
	free(cause);
	free(buf);
	json_decref(res);
	return ret;
}
