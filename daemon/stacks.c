/*
 * stacks.c: the cheap read, page_owner_stacks (6.9+): per stack, its pages
 * now, and nothing else.  show_stacks gives frames and nr_base_pages;
 * 6.19's show_handles gives a stack depot handle and nr_base_pages, and
 * show_stacks_handles the frames of each handle, so the frames are read
 * only for handles not met before in this boot.
 *
 * Stack and module series get new values; comm, memcg and order series,
 * blocks and ages carry over from the last full read; pages allocated and
 * freed are not known.  The snapshot's total pages are the listed stacks'
 * plus the carried ones'.  Runs inside the snapshot's transaction (new
 * stacks are stored as they are met).
 */
#include <errno.h>
#include <string.h>

#include "page-ownerd.h"

/* stackdepot handle -> stack series, valid for one boot. */
struct handle_map {
	uint64_t	*keys;		/* handle + 1 (all 2^32 handles fit); 0 = empty */
	int64_t		*series;
	uint32_t	 mask;
	uint32_t	 n;
};

struct stacks {
	struct handle_map *handles;
	int64_t		 handles_boot;	/* boots.id the handles are of */
	struct stacks_stats st;		/* for status */
};

static void
handle_map_free(struct handle_map *m)
{
	if (m == NULL)
		return;
	free(m->keys);
	free(m->series);
	free(m);
}

static struct handle_map *
handle_map_new(void)
{
	struct handle_map *m = po_xcalloc(1, sizeof(*m));

	m->mask = 1023;
	m->keys = po_xcalloc(m->mask + 1, sizeof(*m->keys));
	m->series = po_xcalloc(m->mask + 1, sizeof(*m->series));
	return m;
}

/* The slot of a handle: its own, or the empty one it would take. */
static uint32_t
handle_probe(const struct handle_map *m, uint32_t handle)
{
	uint32_t i = (handle * 2654435761u) & m->mask;

	while (m->keys[i] != 0 && m->keys[i] != (uint64_t)handle + 1)
		i = (i + 1) & m->mask;
	return i;
}

static void
handle_map_grow(struct handle_map *m)
{
	uint64_t *keys = m->keys;
	uint32_t oldmask = m->mask;
	int64_t *series = m->series;

	m->mask = m->mask * 2 + 1;
	m->keys = po_xcalloc(m->mask + 1, sizeof(*m->keys));
	m->series = po_xcalloc(m->mask + 1, sizeof(*m->series));
	for (uint32_t k = 0; k <= oldmask; k++) {
		uint32_t i;

		if (keys[k] == 0)
			continue;
		i = handle_probe(m, (uint32_t)(keys[k] - 1));
		m->keys[i] = keys[k];
		m->series[i] = series[k];
	}
	free(keys);
	free(series);
}

static int64_t *
handle_slot(struct handle_map *m, uint32_t handle, bool add)
{
	uint32_t i = handle_probe(m, handle);

	if (m->keys[i] != 0)
		return &m->series[i];
	if (!add)
		return NULL;
	if ((m->n + 1) * 2 > m->mask) {
		handle_map_grow(m);
		i = handle_probe(m, handle);
	}
	m->keys[i] = (uint64_t)handle + 1;
	m->n++;
	return &m->series[i];
}

struct stacks *
stacks_new(void)
{
	return po_xcalloc(1, sizeof(struct stacks));
}

void
stacks_free(struct stacks *s)
{
	if (s == NULL)
		return;
	handle_map_free(s->handles);
	free(s);
}

/* Can this snapshot be a stacks read? */
bool
stacks_available(const struct source *src)
{
	return source_available(src, SRC_SHOW_STACKS) ||
	    (source_available(src, SRC_SHOW_HANDLES) &&
	    source_available(src, SRC_SHOW_STACKS_HANDLES));
}

/* What one read gathers. */
struct frame {
	struct read_ctx	*rc;
	struct handle_map *handles;
	int64_t		 snapshot;	/* for new series and stacks */
	bool		 map_handles;	/* show_stacks_handles: fill the handle map */
	int64_t		*pages;		/* by series: nr_base_pages seen */
	uint8_t		*seen;		/* by series */
	int64_t		 cap;
	int64_t		 records, total;
	int		 error;		/* -errno that stopped the read */
	/* show_handles records whose handle is not mapped yet */
	uint32_t	*pend_handle;
	int64_t		*pend_pages;
	size_t		 npend, pend_cap;
};

static void
frame_pend(struct frame *f, uint32_t handle, int64_t pages)
{
	if (f->npend == f->pend_cap) {
		f->pend_cap = f->pend_cap ? f->pend_cap * 2 : 64;
		f->pend_handle = po_xrealloc(f->pend_handle, f->pend_cap,
		    sizeof(*f->pend_handle));
		f->pend_pages = po_xrealloc(f->pend_pages, f->pend_cap,
		    sizeof(*f->pend_pages));
	}
	f->pend_handle[f->npend] = handle;
	f->pend_pages[f->npend++] = pages;
}

static void
frame_grow(struct frame *f, int64_t series)
{
	int64_t cap = f->cap ? f->cap : 1024;

	if (series < f->cap)
		return;
	while (cap <= series)
		cap *= 2;
	f->pages = po_xrealloc(f->pages, (size_t)cap, sizeof(*f->pages));
	f->seen = po_xrealloc(f->seen, (size_t)cap, 1);
	memset(f->pages + f->cap, 0, (size_t)(cap - f->cap) * sizeof(*f->pages));
	memset(f->seen + f->cap, 0, (size_t)(cap - f->cap));
	f->cap = cap;
}

static void
frame_reset(struct frame *f)
{
	free(f->pages);
	free(f->seen);
	free(f->pend_handle);
	free(f->pend_pages);
	f->pages = NULL;
	f->seen = NULL;
	f->pend_handle = NULL;
	f->pend_pages = NULL;
	f->npend = f->pend_cap = 0;
	f->cap = f->records = f->total = 0;
	f->error = 0;
}

/* A stack series' pages of this read. */
static void
frame_count(struct frame *f, int64_t series, int64_t pages)
{
	frame_grow(f, series);
	f->pages[series] += pages;
	f->seen[series] = 1;
}

/* The stack series of a record's frames, registered when new. */
static int64_t
series_of(struct frame *f, const struct po_record *r)
{
	struct po_stack_info info;
	char *culprit, *module;
	int64_t series = 0, id;
	uint64_t hi;

	po_stack_describe(r->stack, &info);
	culprit = po_span_dup(info.culprit);
	module = po_span_dup(info.module);
	id = registry_stack(f->rc->reg, f->rc->st, po_stack_hash(r->stack, &hi),
	    r->stack, info.sig_hash, culprit, module, f->snapshot, &series);
	free(culprit);
	free(module);
	return id == 0 ? 0 : series;
}

static int
on_stack_record(const struct po_record *r, void *userdata)
{
	struct frame *f = userdata;
	int64_t series = 0, *slot, pages;

	if (*f->rc->stop) {
		f->error = -ECANCELED;
		return 1;
	}
	if (r->kind != PO_REC_STACK)
		return 0;
	if (f->map_handles) {
		/*
		 * show_stacks_handles: frames and a handle, no count.  Only
		 * handles not mapped yet are hashed: the rest of the file
		 * costs the parse alone.
		 */
		if (r->nframes == 0 || !r->has_handle ||
		    handle_slot(f->handles, r->handle, false) != NULL)
			return 0;
		series = series_of(f, r);
		if (series == 0) {
			f->error = -EIO;
			return 1;
		}
		*handle_slot(f->handles, r->handle, true) = series;
		return 0;
	}
	if (!r->has_nr_pages)
		return 0;
	pages = r->nr_base_pages > 0 ? r->nr_base_pages : 0;
	if (r->nframes > 0) {
		series = series_of(f, r);
		if (series == 0) {
			f->error = -EIO;
			return 1;
		}
	} else if (r->has_handle) {
		slot = handle_slot(f->handles, r->handle, false);
		if (slot == NULL) {
			/* met for the first time: resolved after this read */
			frame_pend(f, r->handle, pages);
			f->records++;
			f->total += pages;
			return 0;
		}
		series = *slot;
	}
	if (series <= 0)
		return 0;
	frame_count(f, series, pages);
	f->records++;
	f->total += pages;
	return 0;
}

/* Read one page_owner_stacks file of this snapshot through the parser. */
static int
read_file(struct frame *f, enum source_file which, uint64_t *ret_bytes)
{
	struct read_ctx *rc = f->rc;
	struct po_parser *p = NULL;
	int r;

	if ((r = source_open(rc->src, which, rc->cause)) < 0)
		return r;
	po_parser_new(&p);
	for (;;) {
		ssize_t n = source_read(rc->src, rc->buf, rc->buflen);

		if (n < 0) {
			char why[512];

			r = (int)n;
			*rc->cause = po_xstrdup(source_strerror(rc->src, r, why, sizeof(why)));
			break;
		}
		if (n == 0)
			break;
		if (po_parser_feed(p, rc->buf, (size_t)n, on_stack_record, f) != 0) {
			r = f->error ? f->error : -ECANCELED;
			break;
		}
	}
	source_end(rc->src);
	if (r == 0)
		po_parser_finish(p, on_stack_record, f);
	*ret_bytes += po_parser_stats(p)->bytes;
	po_parser_free(p);
	return r;
}

/* Stacks the kernel's show_stacks never lists: their last full value holds. */
static bool
stack_not_listed(const struct series_info *si)
{
	return strcmp(si->culprit, "register_early_stack") == 0 ||
	    strcmp(si->culprit, "register_dummy_stack") == 0 ||
	    strcmp(si->culprit, "register_failure_stack") == 0;
}

/* The handle map of this boot, made anew when the boot changed. */
static struct handle_map *
boot_map(struct stacks *s, int64_t boot)
{
	if (s->handles == NULL || s->handles_boot != boot) {
		handle_map_free(s->handles);
		s->handles = handle_map_new();
		s->handles_boot = boot;
		memset(&s->st, 0, sizeof(s->st));
		s->st.handles_boot = boot;
	}
	return s->handles;
}

/*
 * show_handles, keyed by handle: one read of show_handles, and, only when
 * it lists handles not met before in this boot, one read of
 * show_stacks_handles to map those (a reboot starts an empty map: handles
 * are per boot, so no series is ever joined across boots by its handle).
 * A handle that show_stacks_handles does not list (it came after that
 * read began, or the file lost it) is left unresolved: its pages count in
 * the total, in no series, and it is looked up again at the next read.
 */
static int
read_handles(struct stacks *s, struct frame *f, int64_t boot, uint64_t *bytes)
{
	int r;

	f->handles = boot_map(s, boot);
	s->st.reads++;
	s->st.new_handles = s->st.unresolved = 0;
	s->st.unresolved_pages = 0;
	r = read_file(f, SRC_SHOW_HANDLES, bytes);
	if (r < 0 || f->npend == 0)
		goto out;
	f->map_handles = true;
	s->st.resolve_reads++;
	r = read_file(f, SRC_SHOW_STACKS_HANDLES, bytes);
	f->map_handles = false;
	if (r < 0)
		goto out;
	for (size_t i = 0; i < f->npend; i++) {
		int64_t *slot = handle_slot(f->handles, f->pend_handle[i], false);

		if (slot != NULL && *slot > 0) {
			s->st.new_handles++;
			frame_count(f, *slot, f->pend_pages[i]);
		} else {
			s->st.unresolved++;
			s->st.unresolved_pages += f->pend_pages[i];
		}
	}
	s->st.unresolved_total += s->st.unresolved;
	if (s->st.unresolved > 0)
		log_warnx("show_handles listed %llu handles (%lld pages) that "
		    "show_stacks_handles did not; their pages are in the total but "
		    "in no stack until a later read resolves them",
		    (unsigned long long)s->st.unresolved,
		    (long long)s->st.unresolved_pages);
out:
	s->st.handles_known = s->handles->n;
	return r;
}

/*
 * A full read whose records print their handle beside the frames (the
 * mm tree's mode=stack_handle) names the stack of a handle.
 */
void
stacks_note_handle(struct stacks *s, int64_t boot, uint32_t handle, int64_t series)
{
	int64_t *slot;

	if (series <= 0)
		return;
	slot = handle_slot(boot_map(s, boot), handle, true);
	if (*slot == 0)
		s->st.from_full++;
	*slot = series;
	s->st.handles_known = s->handles->n;
}

void
stacks_stats(const struct stacks *s, struct stacks_stats *ret)
{
	*ret = s->st;
}

int
stacks_read(struct stacks *s, struct read_ctx *rc, struct snap_row *row,
    struct series_values *v)
{
	struct frame f = { .rc = rc, .snapshot = row->id };
	uint64_t bytes = 0, threshold = source_count_threshold(rc->src);
	bool handles = source_available(rc->src, SRC_SHOW_HANDLES) &&
	    source_available(rc->src, SRC_SHOW_STACKS_HANDLES);
	int64_t max, carried = 0;
	int r;

	if (handles) {
		r = read_handles(s, &f, row->boot, &bytes);
		snprintf(row->format, sizeof(row->format), "show_handles");
	} else {
		r = read_file(&f, SRC_SHOW_STACKS, &bytes);
		snprintf(row->format, sizeof(row->format), "show_stacks");
	}
	snprintf(s->st.file, sizeof(s->st.file), "%s", row->format);
	if (r == 0 && f.records == 0) {
		r = -ENODATA;
		po_asprintf(rc->cause, "page_owner_stacks listed no stack");
	}
	if (r < 0)
		goto out;

	max = registry_max_series(rc->reg);
	series_values_reserve(v, max);
	series_values_clear(v);
	frame_grow(&f, max);
	for (int64_t i = 1; i <= max; i++) {
		const struct series_info *si = registry_info(rc->reg, i);

		if (si == NULL)
			continue;
		v->blocks[i] = si->blocks;
		v->ts_min[i] = si->ts_min;
		if (si->kind == SERIES_MODULE)
			continue;	/* summed from the stacks below */
		if (si->kind != SERIES_STACK || (!f.seen[i] && (stack_not_listed(si) ||
		    (threshold > 0 && (uint64_t)si->pages < threshold)))) {
			v->pages[i] = si->pages;	/* carried over */
			if (si->kind == SERIES_STACK)
				carried += si->pages;
		} else
			v->pages[i] = f.pages[i];
	}
	for (int64_t i = 1; i <= max; i++) {
		const struct series_info *si = registry_info(rc->reg, i);
		int64_t mod;

		if (si == NULL || si->kind != SERIES_STACK || v->pages[i] == 0)
			continue;
		mod = registry_series(rc->reg, rc->st, SERIES_MODULE,
		    si->module[0] ? si->module : "kernel", NULL, NULL, row->id);
		if (mod == 0) {
			r = -EIO;
			goto out;
		}
		series_values_reserve(v, mod);
		v->pages[mod] += v->pages[i];
	}
	row->records = f.records;
	/*
	 * The total counts the stacks show_stacks leaves out (early boot,
	 * under count_threshold) at their last full read's value, as their
	 * series do: a total that moved with the kind of read would show
	 * thousands of pages come and go whenever auto mode switches.
	 */
	row->pages = f.total + carried;
	row->bytes = (int64_t)bytes;
out:
	frame_reset(&f);
	return r;
}
