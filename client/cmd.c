/*
 * cmd.c: the command table.  It drives lookup (full names, aliases and
 * unique prefixes), the usage lines, `help` and shell completion.
 */
#include <string.h>

#include "pageownerctl.h"

const struct cmd_entry *const cmd_table[] = {
	&cmd_status_entry,
	&cmd_snapshots_entry,
	&cmd_snapshot_entry,
	&cmd_top_entry,
	&cmd_growers_entry,
	&cmd_leaks_entry,
	&cmd_history_entry,
	&cmd_stack_entry,
	&cmd_diff_entry,
	&cmd_watch_entry,
	&cmd_export_entry,
	&cmd_pin_entry,
	&cmd_prune_entry,
	&cmd_analyze_entry,
	&cmd_help_entry,
	NULL,
};

const struct cmd_entry *
cmd_find(const char *name, char **cause)
{
	const struct cmd_entry *found = NULL;
	size_t n = strlen(name);
	int matches = 0;

	for (const struct cmd_entry *const *c = cmd_table; *c != NULL; c++) {
		if (strcmp((*c)->name, name) == 0 ||
		    ((*c)->alias != NULL && strcmp((*c)->alias, name) == 0))
			return *c;
	}
	for (const struct cmd_entry *const *c = cmd_table; *c != NULL; c++) {
		if (strncmp((*c)->name, name, n) == 0 ||
		    ((*c)->alias != NULL && strncmp((*c)->alias, name, n) == 0)) {
			if (found != *c)
				matches++;
			found = *c;
		}
	}
	if (matches == 1 && n > 0)
		return found;
	if (matches > 1) {
		size_t used = 0, cap = 256;
		char *s = po_xmalloc(cap);

		used = (size_t)snprintf(s, cap, "ambiguous command '%s': could be", name);
		for (const struct cmd_entry *const *c = cmd_table; *c != NULL; c++)
			if (strncmp((*c)->name, name, n) == 0 && used < cap)
				used += (size_t)snprintf(s + used, cap - used, " %s",
				    (*c)->name);
		*cause = s;
	} else {
		po_asprintf(cause, "unknown command '%s' (try 'pageownerctl help')",
		    name);
	}
	return NULL;
}

static bool
opt_end(const struct cmd_opt *o)
{
	return o->name == NULL && o->short_name == 0;
}

/* "--by KEY"; with shorts "-b, --by KEY", "-m" or "    --pid LIST" */
static void
opt_words(const struct cmd_opt *o, bool shorts, char *buf, size_t len)
{
	char s[8] = "";

	if (shorts && o->short_name != 0)
		snprintf(s, sizeof(s), "-%c%s", o->short_name, o->name ? ", " : "");
	else if (shorts)
		snprintf(s, sizeof(s), "    ");
	snprintf(buf, len, "%s%s%s%s%s", s, o->name ? "--" : "",
	    o->name ? o->name : "", o->arg ? " " : "", o->arg ? o->arg : "");
}

/* The usage line: the options from the command's table, then its arguments. */
void
cmd_usage(FILE *f, const struct cmd_entry *c)
{
	size_t nopts = 0;

	fprintf(f, "usage: pageownerctl [--socket PATH] [--json] [--no-headers] %s", c->name);
	for (const struct cmd_opt *o = c->opts; o != NULL && !opt_end(o); o++)
		nopts += o->name != NULL && o->type != OPT_JSON && o->help != NULL;
	if (nopts > 8) {
		fputs(" [OPTIONS]", f);
	} else {
		for (const struct cmd_opt *o = c->opts; o != NULL && !opt_end(o); o++) {
			char w[96];

			if (o->name == NULL || o->type == OPT_JSON || o->help == NULL)
				continue;
			opt_words(o, false, w, sizeof(w));
			fprintf(f, " [%s]%s", w, o->type == OPT_LIST ? "..." : "");
		}
	}
	fprintf(f, "%s%s\n", c->args ? " " : "", c->args ? c->args : "");
}

/* help CMD and CMD --help: usage, summary, about, one entry per option. */
void
cmd_help(FILE *f, const struct cmd_entry *c)
{
	bool shorts = false;
	int width = 0;

	cmd_usage(f, c);
	fprintf(f, "\n%s\n", c->summary);
	if (c->about != NULL)
		fprintf(f, "\n%s\n", c->about);
	if (c->opts == NULL || opt_end(c->opts))
		return;
	for (const struct cmd_opt *o = c->opts; !opt_end(o); o++)
		shorts |= o->short_name != 0 && o->help != NULL;
	for (const struct cmd_opt *o = c->opts; !opt_end(o); o++) {
		char w[96];

		opt_words(o, shorts, w, sizeof(w));
		if (o->help != NULL && (int)strlen(w) > width && strlen(w) <= 24)
			width = (int)strlen(w);
	}
	fputc('\n', f);
	for (const struct cmd_opt *o = c->opts; !opt_end(o); o++) {
		char w[96];
		const char *h = o->help;

		if (h == NULL)
			continue;
		opt_words(o, shorts, w, sizeof(w));
		if ((int)strlen(w) > width)	/* a long one: its text on the next line */
			fprintf(f, "  %s\n  %*s  ", w, width, "");
		else
			fprintf(f, "  %-*s  ", width, w);
		for (;;) {
			size_t n = strcspn(h, "\n");

			fprintf(f, "%.*s\n", (int)n, h);
			if (h[n] == '\0')
				break;
			h += n + 1;
			fprintf(f, "  %*s  ", width, "");
		}
	}
}

int
cmd_usage_error(const struct cmd_entry *c, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	fprintf(stderr, "pageownerctl %s: %s\n", c->name, msg ? msg : fmt);
	free(msg);
	cmd_usage(stderr, c);
	return EXIT_USAGE;
}

void
cmd_list(FILE *f)
{
	for (const struct cmd_entry *const *c = cmd_table; *c != NULL; c++) {
		char name[64];

		snprintf(name, sizeof(name), "%s%s%s%s", (*c)->name,
		    (*c)->alias ? " (" : "", (*c)->alias ? (*c)->alias : "",
		    (*c)->alias ? ")" : "");
		fprintf(f, "  %-22s %s\n", name, (*c)->summary);
	}
}
