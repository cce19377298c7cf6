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

void
cmd_usage(FILE *f, const struct cmd_entry *c)
{
	fprintf(f, "usage: pageownerctl [--socket PATH] [--json] [--no-headers] %s%s%s\n",
	    c->name, c->usage[0] ? " " : "", c->usage);
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
