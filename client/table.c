/*
 * table.c: aligned tables for people, and the JSON printer for machines.
 */
#include <string.h>
#include <unistd.h>

#include "pageownerctl.h"

#define TABLE_MAX_COLS 16

struct table {
	const char	*names[TABLE_MAX_COLS];	/* column headers */
	enum table_align align[TABLE_MAX_COLS];
	size_t		 width[TABLE_MAX_COLS];	/* widest cell, in bytes */
	unsigned	 ncols;
	char		**cells;		/* row-major; a note is one cell */
	bool		*is_note;		/* per cell: a free line after a row */
	size_t		 ncells;
	size_t		 cap;
	unsigned	 col;			/* next column in the current row */
};

struct table *
table_new(void)
{
	return po_xcalloc(1, sizeof(struct table));
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->is_note);
	free(t);
}

void
table_col(struct table *t, const char *name, enum table_align align)
{
	if (t->ncols == TABLE_MAX_COLS)
		return;
	t->names[t->ncols] = name;
	t->align[t->ncols] = align;
	t->width[t->ncols] = strlen(name);
	t->ncols++;
}

static void
table_push(struct table *t, char *s, bool note)
{
	if (t->ncells == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cells = po_xrealloc(t->cells, t->cap, sizeof(*t->cells));
		t->is_note = po_xrealloc(t->is_note, t->cap, sizeof(*t->is_note));
	}
	t->cells[t->ncells] = s;
	t->is_note[t->ncells] = note;
	t->ncells++;
}

void
table_cell(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;
	size_t n;

	if (t->ncols == 0)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = po_xstrdup("?");
	va_end(ap);
	n = strlen(s);
	if (n > t->width[t->col])
		t->width[t->col] = n;
	table_push(t, s, false);
	t->col = (t->col + 1) % t->ncols;
}

/* A line printed as it is after the current row (frames of a stack). */
void
table_note(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = po_xstrdup("?");
	va_end(ap);
	table_push(t, s, true);
}

void
table_print(struct table *t, FILE *f, bool headers)
{
	unsigned c;

	if (t->ncols == 0)
		return;
	if (headers) {
		for (c = 0; c < t->ncols; c++) {
			bool last = c + 1 == t->ncols;

			if (t->align[c] == TABLE_RIGHT)
				fprintf(f, "%*s", (int)t->width[c], t->names[c]);
			else
				fprintf(f, "%-*s", last ? 0 : (int)t->width[c], t->names[c]);
			fputs(last ? "\n" : "  ", f);
		}
	}
	c = 0;
	for (size_t i = 0; i < t->ncells; i++) {
		bool last;

		if (t->is_note[i]) {
			fprintf(f, "%s\n", t->cells[i]);
			continue;
		}
		last = c + 1 == t->ncols;
		if (t->align[c] == TABLE_RIGHT)
			fprintf(f, "%*s", (int)t->width[c], t->cells[i]);
		else
			fprintf(f, "%-*s", last ? 0 : (int)t->width[c], t->cells[i]);
		fputs(last ? "\n" : "  ", f);
		c = (c + 1) % t->ncols;
	}
}

void
fmt_pages(uint64_t pages, char *buf, size_t len)
{
	snprintf(buf, len, "%llu", (unsigned long long)pages);
}

void
fmt_signed_pages(int64_t pages, char *buf, size_t len)
{
	snprintf(buf, len, "%+lld", (long long)pages);
}

/* Pages as bytes in binary units; page_owner pages are base pages. */
void
fmt_size(uint64_t pages, char *buf, size_t len)
{
	static long page_size;

	if (page_size == 0) {
		page_size = sysconf(_SC_PAGESIZE);
		if (page_size <= 0)
			page_size = 4096;
	}
	po_human_bytes(pages * (uint64_t)page_size, buf, len);
}

void
json_print(const struct ctl *ctl, json_t *j)
{
	(void)ctl;
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}
