/*
 * table.c: aligned tables for people, and the JSON printer for machines;
 * the small pieces every command's table uses (sizes, ages, sparklines,
 * colours, the columns naming a group, sampled estimates).
 *
 * Widths are display columns, not bytes: a cell may hold UTF-8 sparkline
 * blocks and colour escapes, neither of which may break the alignment.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pageownerctl.h"

#define TABLE_MAX_COLS 16

struct table {
	const char	*names[TABLE_MAX_COLS];	/* column headers */
	enum table_align align[TABLE_MAX_COLS];
	size_t		 width[TABLE_MAX_COLS];	/* widest cell, in display columns */
	unsigned	 ncols;
	char		**cells;		/* row-major; a note is one cell */
	bool		*is_note;		/* per cell: a free line after a row */
	size_t		 ncells;
	size_t		 cap;
	unsigned	 col;			/* next column in the current row */
};

/*
 * Display columns of s: UTF-8 continuation bytes and ANSI colour escapes
 * (ESC [ ... m) take none.  Good enough for our cells: sparkline blocks
 * and names the kernel prints.
 */
static size_t
disp_width(const char *s)
{
	size_t w = 0;

	while (*s != '\0') {
		if (*s == '\033' && s[1] == '[') {
			s += 2;
			while (*s != '\0' && *s != 'm')
				s++;
			if (*s == 'm')
				s++;
			continue;
		}
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
		s++;
	}
	return w;
}

/* n spaces (no printf: a table of many groups pads a hundred thousand cells) */
static void
put_spaces(FILE *f, size_t n)
{
	static const char sp[] = "                                ";

	while (n > 0) {
		size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;

		fwrite(sp, 1, k, f);
		n -= k;
	}
}

/* s in a column of width w, aligned; the last column is not padded. */
static void
put_cell(FILE *f, const char *s, size_t w, enum table_align align, bool last)
{
	size_t have = disp_width(s), pad = w > have ? w - have : 0;

	if (align == TABLE_RIGHT)
		put_spaces(f, pad);
	fputs(s, f);
	if (align == TABLE_LEFT && !last)
		put_spaces(f, pad);
}

/*
 * Text for a terminal: what came from a dump (a task's name can be any
 * bytes) must not reach it as control characters.  Bytes that are not
 * UTF-8, C0 and C1 controls and DEL become '?'; the only escapes kept are
 * colours (ESC [ digits ; m), ours.
 */
void
display_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;

	po_utf8_scrub(s, strlen(s));
	while (*p != '\0') {
		if (p[0] == '\033' && p[1] == '[') {
			unsigned char *q = p + 2;

			while ((*q >= '0' && *q <= '9') || *q == ';')
				q++;
			if (*q == 'm') {
				p = q + 1;
				continue;
			}
		}
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			p[0] = p[1] = '?';	/* U+0080..U+009F */
			p += 2;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		p++;
	}
}

/*
 * The same over every string of a reply about to be shown (member names
 * too: some are comm or memcg names).  Strings are replaced, not edited.
 */
static void
scrub_push(json_t ***todo, size_t *n, size_t *cap, json_t *j)
{
	if (!json_is_string(j) && !json_is_array(j) && !json_is_object(j))
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*todo = po_xrealloc(*todo, *cap, sizeof(void *));
	}
	(*todo)[(*n)++] = j;
}

void
json_display_scrub(json_t *root)
{
	json_t **todo = NULL, *j, *v;
	size_t n = 0, cap = 0, i;

	scrub_push(&todo, &n, &cap, root);
	while (n > 0) {
		j = todo[--n];
		if (json_is_string(j)) {
			char *c = po_xstrdup(json_string_value(j));

			display_scrub(c);
			if (strcmp(c, json_string_value(j)) != 0)
				json_string_set(j, c);
			free(c);
		} else if (json_is_array(j)) {
			json_array_foreach(j, i, v)
				scrub_push(&todo, &n, &cap, v);
		} else {
			const char *key;
			void *tmp;

			json_object_foreach_safe(j, tmp, key, v) {
				char *c = po_xstrdup(key);

				scrub_push(&todo, &n, &cap, v);
				display_scrub(c);
				if (strcmp(c, key) != 0) {
					json_object_set(j, c, v);
					json_object_del(j, key);
				}
				free(c);
			}
		}
	}
	free(todo);
}

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
	t->width[t->ncols] = disp_width(name);
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
	if (strcmp(fmt, "%s") == 0) {		/* most cells: no vasprintf */
		s = po_xstrdup(va_arg(ap, const char *));
	} else if (strcmp(fmt, "%llu") == 0) {
		char num[24], *q = num + sizeof(num);
		unsigned long long v = va_arg(ap, unsigned long long);

		*--q = '\0';
		do {
			*--q = (char)('0' + v % 10);
			v /= 10;
		} while (v > 0);
		s = po_xstrdup(q);
	} else if (vasprintf(&s, fmt, ap) < 0) {
		s = po_xstrdup("?");
	}
	va_end(ap);
	display_scrub(s);
	n = disp_width(s);
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
	display_scrub(s);
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

			put_cell(f, t->names[c], t->width[c], t->align[c], last);
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
		put_cell(f, t->cells[i], t->width[c], t->align[c], last);
		fputs(last ? "\n" : "  ", f);
		c = (c + 1) % t->ncols;
	}
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

/* Pages as a signed size: "+27.3 MiB", "-4.0 KiB", "0 B". */
void
fmt_signed_size(int64_t pages, char *buf, size_t len)
{
	char s[32];

	fmt_size(pages < 0 ? (uint64_t)-pages : (uint64_t)pages, s, sizeof(s));
	snprintf(buf, len, "%s%s", pages > 0 ? "+" : pages < 0 ? "-" : "", s);
}

/* Seconds as "45s", "3.5h", "6.2d"; a negative value means unknown: "-". */
void
fmt_age(double seconds, char *buf, size_t len)
{
	if (seconds < 0 || isnan(seconds))
		snprintf(buf, len, "-");
	else
		po_duration_str(seconds, buf, len);
}

/*
 * Is the character set UTF-8?  The first of LC_ALL, LC_CTYPE and LANG
 * that is set decides, as it does for setlocale(3).
 */
bool
locale_utf8(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };

	for (size_t i = 0; i < PO_ARRAY_SIZE(vars); i++) {
		const char *v = getenv(vars[i]);

		if (v != NULL && v[0] != '\0')
			return strcasestr(v, "utf-8") != NULL || strcasestr(v, "utf8") != NULL;
	}
	return false;
}

/*
 * A sparkline of n values, scaled from their minimum to their maximum;
 * at most `max` points (evenly sampled, the last one kept).  A flat line
 * sits in the middle, or at the bottom when it is zero.
 */
void
fmt_spark(const int64_t *v, size_t n, size_t max, char *buf, size_t len)
{
	static const char *const bars[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	static const char ascii[] = " .:-=+*#";
	bool utf8 = locale_utf8();
	int64_t lo, hi;
	size_t used = 0, step_n;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (n == 0 || max == 0)
		return;
	step_n = n < max ? n : max;
	lo = hi = v[0];
	for (size_t i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	for (size_t k = 0; k < step_n; k++) {
		/* sample k of step_n, the last one being the last value */
		size_t i = step_n == 1 ? n - 1 :
		    (size_t)((double)k * (double)(n - 1) / (double)(step_n - 1) + 0.5);
		int level = hi == lo ? (hi == 0 ? 0 : 3) :
		    (int)((double)(v[i] - lo) * 7.0 / (double)(hi - lo) + 0.5);
		char one[2] = { ascii[level], '\0' };
		const char *s = utf8 ? bars[level] : one;
		size_t sl = strlen(s);

		if (used + sl + 1 > len)
			break;
		memcpy(buf + used, s, sl);
		used += sl;
	}
	buf[used] = '\0';
}

/* A sparkline from a JSON array of numbers, or of objects' `field`. */
void
fmt_spark_json(json_t *a, const char *field, size_t max, char *buf, size_t len)
{
	size_t n = json_array_size(a);
	int64_t *v = po_xcalloc(n ? n : 1, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(a, i);

		v[i] = json_integer_value(field ? json_object_get(e, field) : e);
	}
	fmt_spark(v, n, max, buf, len);
	free(v);
}

/* An escape sequence for a colour, or "" when ctl->color is off. */
const char *
clr(const struct ctl *ctl, enum clr c)
{
	static const char *const seq[] = {
		[CLR_OFF] = "\033[0m", [CLR_BOLD] = "\033[1m", [CLR_RED] = "\033[31m",
		[CLR_GREEN] = "\033[32m",
	};

	return ctl->color && (unsigned)c < PO_ARRAY_SIZE(seq) ? seq[c] : "";
}

/* Members of a reply, with harmless defaults when one is missing. */
const char *
jv_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

long long
jv_int(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

double
jv_num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/*
 * The columns naming a group, by the reply's `by`: a stack is its short
 * id, culprit and module; a culprit its module and number of stacks; the
 * other dimensions their key.
 */
void
group_cols(struct table *t, const char *by)
{
	if (strcmp(by, "stack") == 0) {
		table_col(t, "STACK", TABLE_LEFT);
		table_col(t, "CULPRIT", TABLE_LEFT);
		table_col(t, "MODULE", TABLE_LEFT);
	} else if (strcmp(by, "culprit") == 0) {
		table_col(t, "STACKS", TABLE_RIGHT);
		table_col(t, "CULPRIT", TABLE_LEFT);
		table_col(t, "MODULE", TABLE_LEFT);
	} else if (strcmp(by, "order") == 0) {
		table_col(t, "ORDER", TABLE_RIGHT);
	} else if (strcmp(by, "module") == 0) {
		table_col(t, "MODULE", TABLE_LEFT);
	} else if (strcmp(by, "comm") == 0) {
		table_col(t, "COMM", TABLE_LEFT);
	} else {
		table_col(t, "MEMCG", TABLE_LEFT);
	}
}

void
group_cells(struct table *t, const char *by, json_t *g)
{
	if (strcmp(by, "stack") == 0) {
		table_cell(t, "%.12s", jv_str(g, "stack_id"));
		table_cell(t, "%s", jv_str(g, "culprit"));
		table_cell(t, "%s", jv_str(g, "module"));
	} else if (strcmp(by, "culprit") == 0) {
		table_cell(t, "%lld", jv_int(g, "stacks"));
		table_cell(t, "%s", jv_str(g, "culprit"));
		table_cell(t, "%s", jv_str(g, "module"));
	} else if (strcmp(by, "order") == 0) {
		table_cell(t, "%lld", jv_int(g, "order"));
	} else {
		const char *k = jv_str(g, by);

		table_cell(t, "%s", k[0] != '\0' ? k : "-");
	}
}

/* The footer line saying which window a reply covers. */
void
window_note(const struct ctl *ctl, json_t *w)
{
	char span[32];

	if (ctl->no_headers || !json_is_object(w))
		return;
	po_duration_str(jv_num(w, "until_unix") - jv_num(w, "since_unix"), span,
	    sizeof(span));
	printf("window: snapshot %lld (%s) to %lld (%s), %s, %lld interval%s%s%s%s\n",
	    jv_int(w, "since"), jv_str(w, "since_time"), jv_int(w, "until"),
	    jv_str(w, "until_time"), span, jv_int(w, "snapshots"),
	    jv_int(w, "snapshots") == 1 ? "" : "s",
	    strcmp(jv_str(w, "resolution"), "snapshot") != 0 ? ", resolution: " : "",
	    strcmp(jv_str(w, "resolution"), "snapshot") != 0 ? jv_str(w, "resolution") : "",
	    json_is_true(json_object_get(w, "approximate")) ?
	    " (approximate: older deltas were pruned to hourly rollups)" : "");
}

/* "±" where the terminal shows UTF-8, else "+-" */
static const char *
plus_minus(void)
{
	return locale_utf8() ? "±" : "+-";
}

/*
 * A group's sampled estimate, in whole pages: "~1234±56", or with growth
 * its growth since the window's first estimate, "~+1234±56", when the
 * reply has one.  "-" for a group without an estimate.  Returns whether
 * the group grows beyond 3 standard errors, as the daemon decided.
 */
bool
fmt_estimate(json_t *e, bool growth, char *buf, size_t len)
{
	long long v, se;

	if (!json_is_object(e)) {
		snprintf(buf, len, "-");
		return false;
	}
	growth = growth && json_object_get(e, "growth_pages") != NULL;
	v = llround(jv_num(e, growth ? "growth_pages" : "pages"));
	se = llround(jv_num(e, growth ? "growth_se_pages" : "se_pages"));
	if (growth)
		snprintf(buf, len, "~%+lld%s%lld", v, plus_minus(), se);
	else
		snprintf(buf, len, "~%lld%s%lld", v, plus_minus(), se);
	return json_is_true(json_object_get(e, "growing"));
}

/*
 * The footer line saying which sampled snapshots a reply's estimates come
 * from: one (top, or a window holding one) or the two a growth spans.
 */
void
estimate_note(const struct ctl *ctl, json_t *est)
{
	long long from, to, h = jv_int(est, "strata");
	bool top = json_object_get(est, "snapshot") != NULL;

	if (ctl->no_headers || !json_is_object(est))
		return;
	from = jv_int(est, top ? "snapshot" : "from_snapshot");
	to = jv_int(est, top ? "snapshot" : "to_snapshot");
	printf("estimates: sampled snapshot%s %lld", from != to ? "s" : "", from);
	if (from != to)
		printf("..%lld", to);
	printf(", %lld of %lld windows, %lld strat%s; ", jv_int(est, "sampled"),
	    jv_int(est, "windows"), h, h == 1 ? "um" : "a");
	if (top)
		printf("EST is the pages over all windows, ~PAGES%sSE (SE: one "
		    "standard error)\n", plus_minus());
	else if (from == to)
		printf("the window holds one: EST GROWTH is ~PAGES%sSE, no growth\n",
		    plus_minus());
	else
		printf("growth counted only beyond 3 standard errors\n");
}
