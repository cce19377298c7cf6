/*
 * cmd-analyze.c: `analyze FILE [FILE2]`, page_owner_sort's job without a
 * daemon: group, filter and sort one dump, or diff two.
 *
 * A large regular file is cut at record boundaries into one range per
 * thread; each thread parses its range with its own parser and grouping,
 * and the groupings are merged.  Memory depends on the number of distinct
 * groups, not on the size of the dump.  A diff writes the first dump's
 * block identities to a temporary file in PFN order and merges the second
 * dump against it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "pageownerctl.h"

#define READ_CHUNK	((size_t)64 * 1024)	/* copied into, then parsed, within L2 */
#define MAX_THREADS	8
#define MIN_SPLIT	((off_t)4 * 1024 * 1024)	/* smaller files use one thread */

/* Sort keys: page_owner_sort's and ours. */
enum sort_key {
	SORT_PAGES, SORT_BLOCKS, SORT_PID, SORT_TGID, SORT_NAME, SORT_STACK,
	SORT_ALLOC_TS, SORT_FREE_TS, SORT_ALLOCATOR, SORT_NET, SORT_KEY,
};

struct sort_spec {
	enum sort_key	key;
	bool		desc;
};

struct analyze_opts {
	enum po_key	 keys[PO_MAX_KEYS];	/* --by */
	unsigned	 nkeys;
	struct sort_spec sort[8];		/* --sort */
	unsigned	 nsort;
	struct po_filter filter;
	size_t		 top;			/* --top, 0 = all */
	bool		 stacks;		/* --stacks */
	bool		 anomalies;		/* --migration-anomalies */
	unsigned	 threads;		/* --threads */
};

/* One range of one file, parsed by one thread. */
struct scan {
	const char	*path;
	int		 fd;
	off_t		 start;			/* first byte */
	off_t		 end;			/* one past the last, -1 = EOF */
	bool		 stream;		/* read(), not pread() */
	char		*map;			/* the whole file mapped, or NULL */
	struct po_parser *parser;
	struct po_agg	*agg;
	int		 slot;			/* 0 = first dump, 1 = second */
	bool		 anomalies;		/* keep only ts == free_ts blocks */
	FILE		*ident_out;		/* first dump of a diff */
	struct po_ident_merge *merge;		/* second dump of a diff */
	uint64_t	 first_pfn;		/* PFN range seen, for ordering */
	uint64_t	 last_pfn;
	bool		 any_pfn;
	int		 error;			/* -errno of a read */
	bool		 shrank;		/* the file was cut short while mapped */
	int		 werror;		/* -errno of an identity write */
};

/* The result of reading one file. */
struct dump {
	const char	*path;
	struct po_parse_stats st;
	bool		 unsorted;		/* PFNs not ascending */
};

/* A record's identity goes to the first dump's file or into the merge. */
static void
put_ident(struct scan *s, const struct po_record *r, uint32_t gid, uint64_t ih)
{
	struct po_ident e = {
		.pfn = r->pfn, .hash = (uint32_t)ih, .ref = gid,
		.order = (uint8_t)r->order,
	};

	if (s->ident_out != NULL) {
		int ret = po_ident_write(s->ident_out, &e);

		if (ret < 0 && s->werror == 0)
			s->werror = ret;
	} else {
		po_ident_merge_add(s->merge, &e);
	}
}

/*
 * What one record is before it is counted: a show_stacks count goes in
 * now, a page record is noted (PFN range) and kept if the filters of this
 * scan let it through.
 */
static bool
take_record(struct scan *s, const struct po_record *r)
{
	if (r->kind == PO_REC_STACK) {
		if (r->has_nr_pages && !s->anomalies)
			(void)po_agg_add_stack(s->agg, r, s->slot, NULL);
		return false;
	}
	if (!s->any_pfn) {
		s->first_pfn = r->pfn;
		s->any_pfn = true;
	}
	s->last_pfn = r->pfn;
	return !s->anomalies ||
	    ((r->features & PO_F_FREE_TS) && r->ts == r->free_ts);
}

/* The parser's batch of records, counted together (po_agg_add_batch). */
static int
on_records(const struct po_record *rs, size_t n, void *userdata)
{
	struct scan *s = userdata;
	const struct po_record *keep[PO_BATCH] = { NULL };
	uint32_t gids[PO_BATCH];
	uint64_t ih[PO_BATCH];
	int rets[PO_BATCH];
	bool idents = s->ident_out != NULL || s->merge != NULL;
	size_t k = 0;

	for (size_t i = 0; i < n && i < PO_BATCH; i++)
		if (take_record(s, &rs[i]))
			keep[k++] = &rs[i];
	po_agg_add_batch(s->agg, keep, k, s->slot, gids, idents ? ih : NULL, rets);
	if (idents)
		for (size_t i = 0; i < k; i++)
			if (rets[i] == 0)
				put_ident(s, keep[i], gids[i], ih[i]);
	return 0;
}

/*
 * A regular file is parsed where it lies instead of being copied out of
 * the page cache by pread() (the copy was an eighth of the time): the
 * whole file is mapped once, pages come in by the kernel's fault-around as
 * the parse reaches them, and every MAP_WINDOW bytes parsed are dropped
 * again (MADV_DONTNEED), so the file pages counted in RSS stay at about a
 * window a thread.  One mapping, not one per window: populating and
 * unmapping a window at a time cost twice the system time, and each
 * mmap()/munmap() took the address space's lock the other threads'
 * faults wait on.  A file cut short while mapped raises SIGBUS on the
 * missing pages; the handler jumps back out of the parse and the read
 * fails cleanly.
 */
#define MAP_WINDOW	((size_t)4 << 20)

static __thread sigjmp_buf *bus_jump;

static void
on_sigbus(int sig)
{
	if (bus_jump != NULL)
		siglongjmp(*bus_jump, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Parse [pos, s->end) of a regular file through its mapping; the position reached. */
static off_t
scan_mapped(struct scan *s, off_t pos)
{
	static size_t page;
	sigjmp_buf jb;
	volatile off_t at = pos;

	if (page == 0)
		page = (size_t)sysconf(_SC_PAGESIZE);
	if (sigsetjmp(jb, 1) != 0) {
		bus_jump = NULL;
		s->error = -EIO;
		s->shrank = true;
		return s->end;
	}
	bus_jump = &jb;
	while (at < s->end) {
		off_t stop = s->end - at > (off_t)MAP_WINDOW ?
		    at + (off_t)MAP_WINDOW : s->end;
		off_t drop = at - (off_t)((size_t)at % page);

		po_parser_feed_batch(s->parser, s->map + at, (size_t)(stop - at),
		    on_records, s);
		/* pages wholly before stop are done with (the last may be shared) */
		stop -= (off_t)((size_t)stop % page);
		if (stop > drop)
			(void)madvise(s->map + drop, (size_t)(stop - drop),
			    MADV_DONTNEED);
		at = at + (off_t)MAP_WINDOW < s->end ? at + (off_t)MAP_WINDOW : s->end;
	}
	bus_jump = NULL;
	return at;
}

static void *
scan_run(void *arg)
{
	struct scan *s = arg;
	char *buf = po_xmalloc(READ_CHUNK);
	off_t pos = s->start;

	po_parser_start_at(s->parser, (uint64_t)pos);	/* offsets in the file */

	if (s->map != NULL && s->end > pos)
		pos = scan_mapped(s, pos);
	for (;;) {
		size_t want = READ_CHUNK;
		ssize_t n;

		if (s->end >= 0) {
			if (pos >= s->end)
				break;
			if ((off_t)want > s->end - pos)
				want = (size_t)(s->end - pos);
		}
		n = s->stream ? read(s->fd, buf, want) : pread(s->fd, buf, want, pos);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			s->error = -errno;
			break;
		}
		if (n == 0)
			break;
		po_parser_feed_batch(s->parser, buf, (size_t)n, on_records, s);
		pos += n;
	}
	po_parser_finish(s->parser, NULL, NULL);
	free(buf);
	return NULL;
}

/* The first record start at or after off: just past a blank line. */
static off_t
find_boundary(int fd, off_t off, off_t size)
{
	char buf[256 * 1024];
	ssize_t n = pread(fd, buf, sizeof(buf), off);

	if (n <= 0)
		return size;
	for (ssize_t i = 0; i + 1 < n; i++)
		if (buf[i] == '\n' && buf[i + 1] == '\n')
			return off + i + 2;
	return size;
}

static unsigned
default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

/*
 * Read one dump into agg (slot), splitting it over threads when it is a
 * big regular file.  With ident_out, the blocks' identities are written in
 * PFN order; with merge, they are merged against an earlier dump's.
 */
static int
read_dump(const struct analyze_opts *o, struct dump *d, struct po_agg *agg,
    int slot, FILE *ident_out, struct po_ident_merge *merge, char **cause)
{
	struct scan scans[MAX_THREADS];
	struct po_agg *aggs[MAX_THREADS] = { NULL };
	FILE *idfiles[MAX_THREADS] = { NULL };
	pthread_t tids[MAX_THREADS];
	unsigned nthreads = o->threads ? o->threads : default_threads();
	bool is_stdin = strcmp(d->path, "-") == 0;
	struct stat sb;
	char *fmap = NULL;
	int fd, ret = 0;

	fd = is_stdin ? STDIN_FILENO : open(d->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		po_asprintf(cause, "cannot open '%s': %s", d->path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &sb) < 0)
		ret = -errno;
	else if (S_ISDIR(sb.st_mode))
		ret = -EISDIR;
	if (ret < 0) {
		po_asprintf(cause, "cannot read '%s': %s", d->path, strerror(-ret));
		if (!is_stdin)
			close(fd);
		return ret;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size < MIN_SPLIT || merge != NULL)
		nthreads = 1;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (S_ISREG(sb.st_mode)) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigbus;
		sigemptyset(&sa.sa_mask);
		(void)sigaction(SIGBUS, &sa, NULL);
		if (sb.st_size > 0 && (uintmax_t)sb.st_size <= SIZE_MAX) {
			fmap = mmap(NULL, (size_t)sb.st_size, PROT_READ,
			    MAP_PRIVATE, fd, 0);
			if (fmap == MAP_FAILED)
				fmap = NULL;	/* pread() does it */
			else
				(void)madvise(fmap, (size_t)sb.st_size,
				    MADV_SEQUENTIAL);
		}
	}

	memset(scans, 0, sizeof(scans));
	for (unsigned t = 0; t < nthreads; t++) {
		struct scan *s = &scans[t];

		s->path = d->path;
		s->fd = fd;
		s->stream = !S_ISREG(sb.st_mode);
		s->map = fmap;
		s->start = t == 0 ? 0 : scans[t - 1].end;
		s->end = S_ISREG(sb.st_mode) ? sb.st_size : -1;
		if (t + 1 < nthreads)
			s->end = find_boundary(fd,
			    sb.st_size / (off_t)nthreads * (off_t)(t + 1), sb.st_size);
		if (s->end >= 0 && s->end < s->start)
			s->end = s->start;
		s->slot = slot;
		s->anomalies = o->anomalies;
		s->merge = merge;
		if (po_parser_new(&s->parser) < 0) {
			ret = -ENOMEM;
			goto out;
		}
		if (t == 0) {
			s->agg = agg;
			s->ident_out = ident_out;
		} else {
			po_agg_new(&aggs[t], o->keys, o->nkeys, &o->filter);
			s->agg = aggs[t];
			if (ident_out != NULL) {
				idfiles[t] = tmpfile();
				if (idfiles[t] == NULL) {
					ret = -errno;
					po_asprintf(cause, "cannot create a temporary "
					    "file: %s", strerror(errno));
					goto out;
				}
				s->ident_out = idfiles[t];
			}
		}
	}
	for (unsigned t = 1; t < nthreads; t++)
		if (pthread_create(&tids[t], NULL, scan_run, &scans[t]) != 0) {
			/* run it here instead */
			scan_run(&scans[t]);
			tids[t] = 0;
		}
	scan_run(&scans[0]);
	for (unsigned t = 1; t < nthreads; t++)
		if (tids[t] != 0)
			pthread_join(tids[t], NULL);

	memset(&d->st, 0, sizeof(d->st));
	for (unsigned t = 0; t < nthreads; t++) {
		struct scan *s = &scans[t];

		po_stats_add(&d->st, po_parser_stats(s->parser));
		if (s->error < 0 && ret == 0) {
			ret = s->error;
			po_asprintf(cause, "cannot read '%s': %s", d->path,
			    s->shrank ? "it was cut short while being read" :
			    strerror(-s->error));
		}
		if (s->werror < 0 && ret == 0) {
			ret = s->werror;
			po_asprintf(cause, "cannot write identities: %s",
			    strerror(-s->werror));
		}
		if (t > 0 && s->any_pfn && scans[t - 1].any_pfn &&
		    s->first_pfn < scans[t - 1].last_pfn)
			d->unsorted = true;
	}
	if (d->st.pfn_unsorted > 0)
		d->unsorted = true;
	if (ret < 0)
		goto out;

	/* Fold the other threads in, renumbering their groups. */
	for (unsigned t = 1; t < nthreads; t++) {
		uint32_t *map = po_xcalloc(po_agg_ngroups(aggs[t]) + 1, sizeof(*map));

		po_agg_merge(agg, aggs[t], map);
		if (idfiles[t] != NULL) {
			struct po_ident e;

			rewind(idfiles[t]);
			while (po_ident_read(idfiles[t], &e) > 0) {
				e.ref = map[e.ref];
				if (po_ident_write(ident_out, &e) < 0 && ret == 0) {
					ret = -EIO;
					po_asprintf(cause, "cannot write identities: %s",
					    strerror(errno));
				}
			}
		}
		free(map);
	}
out:
	for (unsigned t = 0; t < nthreads; t++) {
		po_parser_free(scans[t].parser);
		po_agg_free(aggs[t]);
		if (idfiles[t] != NULL)
			fclose(idfiles[t]);
	}
	if (fmap != NULL)
		munmap(fmap, (size_t)sb.st_size);
	if (!is_stdin)
		close(fd);
	return ret;
}

/* ---- diff callbacks ------------------------------------------------------ */

static void
diff_freed(const struct po_ident *e, void *userdata)
{
	struct po_group *g = po_agg_group(userdata, e->ref);

	if (g == NULL)
		return;
	g->freed_blocks++;
	g->freed_pages += UINT64_C(1) << e->order;
}

static void
diff_allocated(const struct po_ident *e, void *userdata)
{
	struct po_group *g = po_agg_group(userdata, e->ref);

	if (g == NULL)
		return;
	g->alloc_blocks++;
	g->alloc_pages += UINT64_C(1) << e->order;
}

/* ---- sorting ------------------------------------------------------------- */

struct sort_ctx {
	const struct analyze_opts *o;
	struct po_agg	*agg;
	bool		 diff;
};

static int
cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int
cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int
group_cmp(const void *pa, const void *pb, void *userdata)
{
	const struct sort_ctx *c = userdata;
	const struct po_group *a = *(struct po_group *const *)pa;
	const struct po_group *b = *(struct po_group *const *)pb;
	int slot = c->diff ? 1 : 0;
	struct po_stacktab *st = po_agg_stacks(c->agg);
	struct po_strtab *names = po_agg_names(c->agg);

	for (unsigned i = 0; i < c->o->nsort; i++) {
		const struct sort_spec *s = &c->o->sort[i];
		int r = 0;

		switch (s->key) {
		case SORT_PAGES:
			r = cmp_u64(a->pages[slot], b->pages[slot]);
			break;
		case SORT_BLOCKS:
			r = cmp_u64(a->blocks[slot], b->blocks[slot]);
			break;
		case SORT_NET:
			r = cmp_i64((int64_t)(a->pages[1] - a->pages[0]),
			    (int64_t)(b->pages[1] - b->pages[0]));
			break;
		case SORT_PID:
			r = cmp_i64(a->pid, b->pid);
			break;
		case SORT_TGID:
			r = cmp_i64(a->tgid, b->tgid);
			break;
		case SORT_NAME:
			r = strcmp(po_strtab_get(names, a->comm_id, NULL),
			    po_strtab_get(names, b->comm_id, NULL));
			break;
		case SORT_STACK: {
			struct po_span x = po_stacktab_text(st, a->stack_id);
			struct po_span y = po_stacktab_text(st, b->stack_id);
			size_t n = x.n < y.n ? x.n : y.n;

			r = memcmp(x.p, y.p, n);
			if (r == 0)
				r = cmp_u64(x.n, y.n);
			break;
		}
		case SORT_ALLOC_TS:
			r = cmp_u64(a->ts_min, b->ts_min);
			break;
		case SORT_FREE_TS:
			r = cmp_u64(a->free_ts_max, b->free_ts_max);
			break;
		case SORT_ALLOCATOR:
			r = cmp_u64(a->ator, b->ator);
			break;
		case SORT_KEY:
			for (unsigned k = 0; k < c->o->nkeys && r == 0; k++)
				r = cmp_u64(a->key[k], b->key[k]);
			break;
		}
		if (r != 0)
			return s->desc ? -r : r;
	}
	/* deterministic ties: by the stack's hash */
	return cmp_u64(po_stacktab_get(st, a->stack_id)->hash,
	    po_stacktab_get(st, b->stack_id)->hash);
}

static int
parse_sort(struct analyze_opts *o, const char *list, char **cause)
{
	static const struct {
		const char	*name;
		enum sort_key	 key;
		bool		 desc;
	} names[] = {
		{ "pages", SORT_PAGES, true }, { "mem", SORT_PAGES, true },
		{ "m", SORT_PAGES, true },
		{ "blocks", SORT_BLOCKS, true }, { "times", SORT_BLOCKS, true },
		{ "t", SORT_BLOCKS, true },
		{ "pid", SORT_PID, false }, { "p", SORT_PID, false },
		{ "tgid", SORT_TGID, false }, { "tg", SORT_TGID, false },
		{ "name", SORT_NAME, false }, { "n", SORT_NAME, false },
		{ "comm", SORT_NAME, false },
		{ "stacktrace", SORT_STACK, false }, { "stack", SORT_STACK, false },
		{ "st", SORT_STACK, false },
		{ "alloc_ts", SORT_ALLOC_TS, false }, { "at", SORT_ALLOC_TS, false },
		{ "free_ts", SORT_FREE_TS, false }, { "ft", SORT_FREE_TS, false },
		{ "allocator", SORT_ALLOCATOR, false }, { "ator", SORT_ALLOCATOR, false },
		{ "net", SORT_NET, true }, { "change", SORT_NET, true },
		{ "key", SORT_KEY, false },
	};
	_cleanup_free_ char *copy = po_xstrdup(list);
	char *save = NULL, *tok;

	o->nsort = 0;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		int dir = 0;
		size_t i;

		if (*tok == '+' || *tok == '-')
			dir = *tok++ == '+' ? 1 : -1;
		for (i = 0; i < PO_ARRAY_SIZE(names); i++)
			if (strcmp(tok, names[i].name) == 0)
				break;
		if (i == PO_ARRAY_SIZE(names)) {
			po_asprintf(cause, "unknown sort key '%s' (pages, blocks, "
			    "pid, tgid, name, stacktrace, alloc_ts, free_ts, "
			    "allocator, net, key)", tok);
			return -EINVAL;
		}
		if (o->nsort == PO_ARRAY_SIZE(o->sort)) {
			po_asprintf(cause, "too many sort keys");
			return -EINVAL;
		}
		o->sort[o->nsort].key = names[i].key;
		o->sort[o->nsort].desc = dir == 0 ? names[i].desc : dir < 0;
		o->nsort++;
	}
	if (o->nsort == 0) {
		po_asprintf(cause, "empty sort list");
		return -EINVAL;
	}
	return 0;
}

/*
 * The usual sorts (pages, blocks, net, the timestamps: one key) without
 * group_cmp: each group's key and tie-break read once into a dense array
 * and sorted there, instead of two groups' lines and two stack entries
 * fetched per comparison (with 20 k groups those were cache misses, and
 * the sort a tenth of a run).  The same order as group_cmp.
 */
struct sort_item {
	uint64_t		 key;	/* the sort key, as unsigned order */
	uint64_t		 tie;	/* the stack's hash */
	struct po_group		*g;
};

static int
item_cmp(const void *pa, const void *pb)
{
	const struct sort_item *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return cmp_u64(a->tie, b->tie);
}

static bool
sort_by_number(const struct analyze_opts *o, struct po_agg *agg, bool diff,
    struct po_group **gs, size_t n)
{
	const struct sort_spec *sp = &o->sort[0];
	struct po_stacktab *st = po_agg_stacks(agg);
	int slot = diff ? 1 : 0;
	struct sort_item *it;

	if (o->nsort != 1 || (sp->key != SORT_PAGES && sp->key != SORT_BLOCKS &&
	    sp->key != SORT_NET && sp->key != SORT_ALLOC_TS &&
	    sp->key != SORT_FREE_TS))
		return false;
	it = po_xcalloc(n + 1, sizeof(*it));
	for (size_t i = 0; i < n; i++) {
		const struct po_group *g = gs[i];
		uint64_t k = 0;

		switch (sp->key) {
		case SORT_PAGES:	k = g->pages[slot]; break;
		case SORT_BLOCKS:	k = g->blocks[slot]; break;
		case SORT_ALLOC_TS:	k = g->ts_min; break;
		case SORT_FREE_TS:	k = g->free_ts_max; break;
		default:	/* SORT_NET: signed, as unsigned order */
			k = (g->pages[1] - g->pages[0]) ^ (UINT64_C(1) << 63);
			break;
		}
		it[i] = (struct sort_item){ sp->desc ? ~k : k,
		    po_stacktab_get(st, g->stack_id)->hash, gs[i] };
	}
	qsort(it, n, sizeof(*it), item_cmp);
	for (size_t i = 0; i < n; i++)
		gs[i] = it[i].g;
	free(it);
	return true;
}

/* "1,2,3" into a fresh int32 array. */
static int
parse_id_list(const char *list, int32_t **ret, size_t *ret_n)
{
	_cleanup_free_ char *copy = po_xstrdup(list);
	char *save = NULL, *tok;
	int32_t *v = NULL;
	size_t n = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		uint64_t x;

		if (po_parse_u64(tok, &x) < 0 || x > INT32_MAX) {
			free(v);
			return -EINVAL;
		}
		v = po_xrealloc(v, n + 1, sizeof(*v));
		v[n++] = (int32_t)x;
	}
	if (n == 0)
		return -EINVAL;
	*ret = v;
	*ret_n = n;
	return 0;
}

static void
parse_name_list(const char *list, char ***ret, size_t *ret_n)
{
	_cleanup_free_ char *copy = po_xstrdup(list);
	char *save = NULL, *tok;
	char **v = NULL;
	size_t n = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		v = po_xrealloc(v, n + 1, sizeof(*v));
		v[n++] = po_xstrdup(tok);
	}
	*ret = v;
	*ret_n = n;
}

/* ---- output -------------------------------------------------------------- */

static bool
has_key(const struct analyze_opts *o, enum po_key k)
{
	for (unsigned i = 0; i < o->nkeys; i++)
		if (o->keys[i] == k)
			return true;
	return false;
}

/*
 * A JSON string of text from a dump (or a file name): as it is when it is
 * well-formed UTF-8, else with the other bytes as '?' (jansson refuses
 * them, and the field would be missing).
 */
static json_t *
jtext(const char *p, size_t n)
{
	char *c;
	json_t *j;

	if (po_utf8_valid(p, n))	/* faster than jansson's own check */
		return json_stringn_nocheck(p, n);
	c = po_utf8_dup(p, n);
	j = json_stringn_nocheck(c, n);
	free(c);
	return j;
}

static json_t *
stats_json(const struct dump *d)
{
	char feat[256];
	json_t *j, *fa = json_array();
	char *save = NULL, *tok;

	po_features_str(d->st.features, feat, sizeof(feat));
	for (tok = strtok_r(feat, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		json_array_append_new(fa, json_string(tok));
	j = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:b}",
	    "file", jtext(d->path, strlen(d->path)),
	    "bytes", (json_int_t)d->st.bytes,
	    "records", (json_int_t)d->st.page_records,
	    "stack_records", (json_int_t)d->st.stack_records,
	    "pages", (json_int_t)d->st.pages,
	    "malformed", (json_int_t)d->st.malformed,
	    "unknown_lines", (json_int_t)d->st.unknown_lines,
	    "format", po_era_str(d->st.features),
	    "features", fa,
	    "pfn_ordered", !d->unsorted);
	if (d->st.malformed > 0)
		json_object_set_new(j, "first_malformed", json_pack("{s:I, s:s}",
		    "offset", (json_int_t)d->st.first_bad_offset,
		    "reason", po_malformed_str(d->st.first_bad)));
	return j;
}

/*
 * Items are encoded into a buffer that goes out in 64 KiB writes:
 * json_dumpf() would call fwrite() (and take stdout's lock) for every
 * token, which cost more than parsing the dump when there are many groups.
 */
struct jbuf {
	char	*p;
	size_t	 n;
	size_t	 cap;
};

static void
jbuf_grow(struct jbuf *b, size_t size)
{
	size_t cap = b->cap ? b->cap : (size_t)128 * 1024;

	while (size > cap - b->n)
		cap *= 2;
	b->p = po_xrealloc(b->p, cap, 1);
	b->cap = cap;
}

/* Inline: a group's JSON is some forty small pieces. */
static inline void
jb_put(const char *buf, size_t size, struct jbuf *b)
{
	if (size > b->cap - b->n)
		jbuf_grow(b, size);
	memcpy(b->p + b->n, buf, size);
	b->n += size;
}

/* jb_put for json_dump_callback() */
static int
jbuf_put(const char *buf, size_t size, void *data)
{
	jb_put(buf, size, data);
	return 0;
}

/*
 * A group's members are written by one list of calls (group_keys) into one
 * of two places: a jansson object, or straight into the output as compact
 * JSON text.  The text way is for the bulk of `analyze --json`, where
 * jansson's encoder (a UTF-8 decode per byte, a loop check per container)
 * cost a third of a run: it takes only strings that need no escaping
 * (printable ASCII without '"' or '\\', which is what kernel symbols are);
 * a group with any other string is written by jansson instead.  Both give
 * the same bytes (tests/integration/analyze.sh compares them).
 */
struct gw {
	json_t		*obj;		/* build this object, or */
	struct jbuf	*text;		/* append its members here as JSON text */
	unsigned	 members;	/* text: members written */
	bool		 escape;	/* text: a string needs jansson */
};

/*
 * [p, p + n) is printable ASCII without '"' or '\\' (and, with nl, the
 * '\n' between frame lines): JSON text as it is.  16 bytes at a time, as
 * a stack's text is most of a group's output.
 */
static bool
needs_no_escape_nl(const char *p, size_t n, bool nl)
{
	size_t i = 0;

#ifdef __SSE2__
	const __m128i sp = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
	const __m128i qu = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
	const __m128i lf = _mm_set1_epi8(nl ? '\n' : 0x20);

	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		/* signed: bytes from 0x80 are below 0x20 too */
		__m128i bad = _mm_andnot_si128(_mm_cmpeq_epi8(x, lf),
		    _mm_cmplt_epi8(x, sp));

		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, del));
		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, qu));
		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, bs));
		if (_mm_movemask_epi8(bad) != 0)
			return false;
	}
#endif
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && !(nl && c == '\n')) || c > 0x7e || c == '"' ||
		    c == '\\')
			return false;
	}
	return true;
}

static bool
needs_no_escape(const char *p, size_t n)
{
	return needs_no_escape_nl(p, n, false);
}

static void
gw_key(struct gw *w, const char *key)
{
	bool first = w->members++ == 0;

	jb_put(first ? "\"" : ",\"", first ? 1 : 2, w->text);
	jb_put(key, strlen(key), w->text);
	jb_put("\":", 2, w->text);
}

static void
gw_int(struct gw *w, const char *key, int64_t v)
{
	char num[24], *p = num + sizeof(num);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	if (w->obj != NULL) {
		json_object_set_new_nocheck(w->obj, key, json_integer((json_int_t)v));
		return;
	}
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		*--p = '-';
	gw_key(w, key);
	jb_put(p, (size_t)(num + sizeof(num) - p), w->text);
}

static void
gw_str(struct gw *w, const char *key, const char *p, size_t n)
{
	if (w->obj != NULL) {
		json_object_set_new_nocheck(w->obj, key, jtext(p, n));
		return;
	}
	if (!needs_no_escape(p, n)) {
		w->escape = true;
		return;
	}
	gw_key(w, key);
	jb_put("\"", 1, w->text);
	jb_put(p, n, w->text);
	jb_put("\"", 1, w->text);
}

/* "frames": the stack's lines as printed, without the leading space */
static void
gw_frames(struct gw *w, struct po_span it)
{
	struct po_span line;
	json_t *a;
	bool first = true;

	if (w->obj != NULL) {
		a = json_array();
		while (po_frame_next(&it, &line))
			json_array_append_new(a, jtext(line.p, line.n));
		json_object_set_new_nocheck(w->obj, "frames", a);
		return;
	}
	/* lines are split at '\n': the text as a whole, '\n' allowed */
	if (!needs_no_escape_nl(it.p, it.n, true)) {
		w->escape = true;
		return;
	}
	gw_key(w, "frames");
	jb_put("[", 1, w->text);
	while (po_frame_next(&it, &line)) {
		jb_put(first ? "\"" : ",\"", first ? 1 : 2, w->text);
		jb_put(line.p, line.n, w->text);
		jb_put("\"", 1, w->text);
		first = false;
	}
	jb_put("]", 1, w->text);
}

static void
group_keys(struct gw *w, struct po_agg *agg, const struct analyze_opts *o,
    const struct po_group *g)
{
	struct po_stacktab *st = po_agg_stacks(agg);
	struct po_strtab *names = po_agg_names(agg);
	const struct po_stack *s = po_stacktab_get(st, g->stack_id);
	char buf[256], ator[64];

	po_allocator_str(g->ator, ator, sizeof(ator));
	for (unsigned k = 0; k < o->nkeys && !w->escape; k++) {
		enum po_key key = o->keys[k];

		if (key == PO_KEY_PID || key == PO_KEY_TGID || key == PO_KEY_ORDER) {
			gw_int(w, po_key_name(key), (int64_t)g->key[k]);
			continue;
		}
		if (key == PO_KEY_ALLOCATOR) {	/* the group's, as below */
			gw_str(w, po_key_name(key), ator, strlen(ator));
			continue;
		}
		po_agg_key_str(agg, g, k, buf, sizeof(buf));
		gw_str(w, key == PO_KEY_STACK ? "stack_id" : po_key_name(key),
		    buf, strlen(buf));
	}
	if (has_key(o, PO_KEY_STACK) || has_key(o, PO_KEY_SIGNATURE)) {
		const char *mod = po_strtab_get(names, s->module_id, NULL);
		const char *culprit = po_strtab_get(names, s->culprit_id, NULL);

		if (!has_key(o, PO_KEY_CULPRIT))
			gw_str(w, "culprit", culprit, strlen(culprit));
		if (!has_key(o, PO_KEY_MODULE)) {
			if (*mod == '\0')
				mod = "kernel";
			gw_str(w, "module", mod, strlen(mod));
		}
		gw_frames(w, po_stacktab_text(st, g->stack_id));
	}
	if (g->ts_max > 0) {
		gw_int(w, "ts_min", (int64_t)g->ts_min);
		gw_int(w, "ts_max", (int64_t)g->ts_max);
	}
	if (g->anomalies > 0)
		gw_int(w, "migration_anomalies", (int64_t)g->anomalies);
	if (!has_key(o, PO_KEY_ALLOCATOR))
		gw_str(w, "allocator", ator, strlen(ator));
}

/* Columns naming the group: the keys, with culprit/module for stacks. */
static void
key_columns(struct table *t, const struct analyze_opts *o)
{
	for (unsigned k = 0; k < o->nkeys; k++) {
		switch (o->keys[k]) {
		case PO_KEY_STACK:
			table_col(t, "STACK", TABLE_LEFT);
			break;
		case PO_KEY_SIGNATURE:
			table_col(t, "SIGNATURE", TABLE_LEFT);
			break;
		default: {
			static char upper[PO__KEY_MAX][16];
			const char *n = po_key_name(o->keys[k]);
			size_t i;

			for (i = 0; n[i] && i + 1 < sizeof(upper[0]); i++)
				upper[o->keys[k]][i] = (char)(n[i] >= 'a' && n[i] <= 'z' ?
				    n[i] - 32 : n[i]);
			upper[o->keys[k]][i] = '\0';
			table_col(t, upper[o->keys[k]], o->keys[k] == PO_KEY_PID ||
			    o->keys[k] == PO_KEY_TGID || o->keys[k] == PO_KEY_ORDER ?
			    TABLE_RIGHT : TABLE_LEFT);
		}
		}
	}
	if ((has_key(o, PO_KEY_STACK) || has_key(o, PO_KEY_SIGNATURE))) {
		if (!has_key(o, PO_KEY_CULPRIT))
			table_col(t, "CULPRIT", TABLE_LEFT);
		if (!has_key(o, PO_KEY_MODULE))
			table_col(t, "MODULE", TABLE_LEFT);
	}
}

static void
key_cells(struct table *t, struct po_agg *agg, const struct analyze_opts *o,
    const struct po_group *g)
{
	struct po_stacktab *st = po_agg_stacks(agg);
	struct po_strtab *names = po_agg_names(agg);
	const struct po_stack *s = po_stacktab_get(st, g->stack_id);
	char buf[256];

	for (unsigned k = 0; k < o->nkeys; k++) {
		po_agg_key_str(agg, g, k, buf, sizeof(buf));
		if (o->keys[k] == PO_KEY_STACK || o->keys[k] == PO_KEY_SIGNATURE)
			buf[12] = '\0';
		table_cell(t, "%s", buf[0] ? buf : "-");
	}
	if (has_key(o, PO_KEY_STACK) || has_key(o, PO_KEY_SIGNATURE)) {
		const char *mod = po_strtab_get(names, s->module_id, NULL);

		if (!has_key(o, PO_KEY_CULPRIT))
			table_cell(t, "%s", po_strtab_get(names, s->culprit_id, NULL));
		if (!has_key(o, PO_KEY_MODULE))
			table_cell(t, "%s", *mod ? mod : "kernel");
	}
}

static void
stack_notes(struct table *t, struct po_agg *agg, const struct po_group *g)
{
	struct po_span it = po_stacktab_text(po_agg_stacks(agg), g->stack_id), line;

	while (po_frame_next(&it, &line))
		table_note(t, "    %.*s", (int)line.n, line.p);
	table_note(t, "%s", "");
}

/*
 * Groups are printed as they are built, so the JSON of a dump with a
 * million stacks never sits in memory whole: the head object is printed
 * without its closing brace, then "groups": [ item, item ... ] }.
 */
static void
json_stream_begin(json_t *head)
{
	char *s = json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t n = s ? strlen(s) : 0;

	json_decref(head);
	if (n < 2) {
		free(s);
		s = po_xstrdup("{}");
		n = 2;
	}
	fwrite(s, 1, n - 1, stdout);	/* without the final '}' */
	fputs(n > 2 ? ",\n\"groups\": [" : "\"groups\": [", stdout);
	free(s);
}

static void
jbuf_flush(struct jbuf *b)
{
	if (b->n > 0)
		fwrite(b->p, 1, b->n, stdout);
	b->n = 0;
}

/* Append one item of the groups list (the first without a comma). */
static void
jbuf_item(struct jbuf *b, json_t *item, bool first)
{
	jb_put(first ? "\n" : ",\n", first ? 1 : 2, b);
	(void)json_dump_callback(item, jbuf_put, b, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(item);
}

static struct jbuf jout;

static void
json_stream_item(json_t *item, bool first)
{
	jbuf_item(&jout, item, first);
	if (jout.n >= (size_t)64 * 1024)
		jbuf_flush(&jout);
}

static void
json_stream_end(void)
{
	jbuf_flush(&jout);
	free(jout.p);
	jout = (struct jbuf){ NULL, 0, 0 };
	fputs("\n]}\n", stdout);
}

/*
 * Encoding the groups of one dump: with many groups (a stack each) this is
 * a good part of a run, so two threads encode alternate batches, each into
 * its own buffer, written in order; memory stays at two batches.
 */
#define ENCODE_BATCH	2048

struct encode_job {
	struct po_agg	*agg;
	const struct analyze_opts *o;
	struct po_group	**gs;
	size_t		 from, to;
	struct jbuf	 out;
};

/*
 * PO_ANALYZE_JANSSON: groups by jansson only (the tests' comparison).
 * Read once before the encoding threads start (print_groups_json).
 */
static bool
jansson_only(void)
{
	static int only = -1;

	if (only < 0)
		only = getenv("PO_ANALYZE_JANSSON") != NULL;
	return only;
}

static void *
encode_groups(void *arg)
{
	struct encode_job *j = arg;

	for (size_t i = j->from; i < j->to; i++) {
		const struct po_group *g = j->gs[i];
		size_t mark = j->out.n;
		struct gw w = { .text = &j->out };

		if (!jansson_only()) {
			jb_put(i == 0 ? "\n{" : ",\n{", i == 0 ? 2 : 3, &j->out);
			gw_int(&w, "blocks", (int64_t)g->blocks[0]);
			gw_int(&w, "pages", (int64_t)g->pages[0]);
			group_keys(&w, j->agg, j->o, g);
			jb_put("}", 1, &j->out);
		}
		if (jansson_only() || w.escape) {
			j->out.n = mark;
			w = (struct gw){ .obj = json_object() };
			gw_int(&w, "blocks", (int64_t)g->blocks[0]);
			gw_int(&w, "pages", (int64_t)g->pages[0]);
			group_keys(&w, j->agg, j->o, g);
			jbuf_item(&j->out, w.obj, i == 0);
		}
	}
	return NULL;
}

static void
print_groups_json(const struct analyze_opts *o, struct po_agg *agg,
    struct po_group **gs, size_t shown)
{
	struct encode_job job[2] = {
		{ .agg = agg, .o = o, .gs = gs },
		{ .agg = agg, .o = o, .gs = gs },
	};
	bool two = (o->threads ? o->threads : default_threads()) > 1 &&
	    shown > ENCODE_BATCH;

	(void)jansson_only();	/* before the threads */
	for (size_t at = 0; at < shown; ) {
		pthread_t tid;
		bool spawned = false;

		job[0].from = at;
		job[0].to = at + ENCODE_BATCH < shown ? at + ENCODE_BATCH : shown;
		job[1].from = job[1].to = job[0].to;
		if (two && job[0].to < shown) {
			job[1].to = job[1].from + ENCODE_BATCH < shown ?
			    job[1].from + ENCODE_BATCH : shown;
			spawned = pthread_create(&tid, NULL, encode_groups, &job[1]) == 0;
			if (!spawned)
				job[1].to = job[1].from;
		}
		encode_groups(&job[0]);
		if (spawned)
			pthread_join(tid, NULL);
		jbuf_flush(&job[0].out);
		jbuf_flush(&job[1].out);
		at = job[1].to;
	}
	free(job[0].out.p);
	free(job[1].out.p);
	fputs("\n]}\n", stdout);
}

static void
print_one(const struct ctl *ctl, const struct analyze_opts *o, struct po_agg *agg,
    struct po_group **gs, size_t n, const struct dump *d)
{
	size_t shown = o->top && o->top < n ? o->top : n;

	if (ctl->json) {
		json_t *j = stats_json(d), *by = json_array();

		for (unsigned k = 0; k < o->nkeys; k++)
			json_array_append_new(by, json_string(po_key_name(o->keys[k])));
		json_object_set_new(j, "by", by);
		json_object_set_new(j, "filtered", json_integer(
		    (json_int_t)po_agg_filtered(agg)));
		json_object_set_new(j, "ngroups", json_integer((json_int_t)n));
		json_stream_begin(j);
		print_groups_json(o, agg, gs, shown);
		return;
	}

	struct table *t = table_new();
	char size[32];

	table_col(t, "PAGES", TABLE_RIGHT);
	table_col(t, "SIZE", TABLE_RIGHT);
	table_col(t, "BLOCKS", TABLE_RIGHT);
	table_col(t, "SHARE", TABLE_RIGHT);
	key_columns(t, o);
	for (size_t i = 0; i < shown; i++) {
		const struct po_group *g = gs[i];

		fmt_size(g->pages[0], size, sizeof(size));
		table_cell(t, "%llu", (unsigned long long)g->pages[0]);
		table_cell(t, "%s", size);
		table_cell(t, "%llu", (unsigned long long)g->blocks[0]);
		table_cell(t, "%.1f%%", d->st.pages ?
		    100.0 * (double)g->pages[0] / (double)d->st.pages : 0.0);
		key_cells(t, agg, o, g);
		if (o->stacks)
			stack_notes(t, agg, g);
	}
	table_print(t, stdout, !ctl->no_headers);
	table_free(t);
	if (!ctl->no_headers) {
		fmt_size(d->st.pages, size, sizeof(size));
		/* a stacks file: its stacks, its pages the nr_base_pages sum */
		bool stacks = d->st.page_records == 0 && d->st.stack_records > 0;

		printf("%zu of %zu groups; %llu %s, %llu pages (%s); "
		    "%llu malformed; format %s\n", shown, n,
		    (unsigned long long)(stacks ? d->st.stack_records :
		    d->st.page_records), stacks ? "stacks" : "records",
		    (unsigned long long)d->st.pages, size,
		    (unsigned long long)d->st.malformed, po_era_str(d->st.features));
	}
}

/* A diff group's counts as JSON text, in the order the jansson way has them. */
static void
diff_text(struct gw *w, const struct po_group *g, bool idents, bool first)
{
	jb_put(first ? "\n{" : ",\n{", first ? 2 : 3, w->text);
	for (int side = 0; side < 2; side++) {
		struct gw sub = { .text = w->text };

		gw_key(w, side == 0 ? "a" : "b");
		jb_put("{", 1, w->text);
		gw_int(&sub, "blocks", (int64_t)g->blocks[side]);
		gw_int(&sub, "pages", (int64_t)g->pages[side]);
		jb_put("}", 1, w->text);
	}
	gw_int(w, "net_pages", (int64_t)(g->pages[1] - g->pages[0]));
	gw_int(w, "net_blocks", (int64_t)(g->blocks[1] - g->blocks[0]));
	if (idents) {
		gw_int(w, "allocated_pages", (int64_t)g->alloc_pages);
		gw_int(w, "allocated_blocks", (int64_t)g->alloc_blocks);
		gw_int(w, "freed_pages", (int64_t)g->freed_pages);
		gw_int(w, "freed_blocks", (int64_t)g->freed_blocks);
	}
}

static void
print_diff(const struct ctl *ctl, const struct analyze_opts *o, struct po_agg *agg,
    struct po_group **gs, size_t n, const struct dump *a, const struct dump *b,
    bool idents)
{
	size_t shown = o->top && o->top < n ? o->top : n;

	if (ctl->json) {
		json_t *j = json_object(), *by = json_array();

		json_object_set_new(j, "a", stats_json(a));
		json_object_set_new(j, "b", stats_json(b));
		for (unsigned k = 0; k < o->nkeys; k++)
			json_array_append_new(by, json_string(po_key_name(o->keys[k])));
		json_object_set_new(j, "by", by);
		json_object_set_new(j, "identities", json_boolean(idents));
		json_object_set_new(j, "ngroups", json_integer((json_int_t)n));
		json_stream_begin(j);
		for (size_t i = 0; i < shown; i++) {
			const struct po_group *g = gs[i];
			size_t mark = jout.n;
			struct gw w = { .text = &jout };

			if (!jansson_only()) {
				diff_text(&w, g, idents, i == 0);
				group_keys(&w, agg, o, g);
				jb_put("}", 1, &jout);
				if (!w.escape) {
					if (jout.n >= (size_t)64 * 1024)
						jbuf_flush(&jout);
					continue;
				}
				jout.n = mark;	/* a string for jansson: again */
			}
			json_t *jg = json_pack("{s:{s:I, s:I}, s:{s:I, s:I}, s:I, s:I}",
			    "a", "blocks", (json_int_t)g->blocks[0],
			    "pages", (json_int_t)g->pages[0],
			    "b", "blocks", (json_int_t)g->blocks[1],
			    "pages", (json_int_t)g->pages[1],
			    "net_pages", (json_int_t)(g->pages[1] - g->pages[0]),
			    "net_blocks", (json_int_t)(g->blocks[1] - g->blocks[0]));

			if (idents) {
				json_object_set_new(jg, "allocated_pages",
				    json_integer((json_int_t)g->alloc_pages));
				json_object_set_new(jg, "allocated_blocks",
				    json_integer((json_int_t)g->alloc_blocks));
				json_object_set_new(jg, "freed_pages",
				    json_integer((json_int_t)g->freed_pages));
				json_object_set_new(jg, "freed_blocks",
				    json_integer((json_int_t)g->freed_blocks));
			}
			{
				struct gw wj = { .obj = jg };

				group_keys(&wj, agg, o, g);
			}
			json_stream_item(jg, i == 0);
		}
		json_stream_end();
		return;
	}

	struct table *t = table_new();
	char size[32];

	table_col(t, "NET", TABLE_RIGHT);
	table_col(t, "SIZE", TABLE_RIGHT);
	table_col(t, "A PAGES", TABLE_RIGHT);
	table_col(t, "B PAGES", TABLE_RIGHT);
	if (idents) {
		table_col(t, "ALLOC", TABLE_RIGHT);
		table_col(t, "FREED", TABLE_RIGHT);
	}
	key_columns(t, o);
	for (size_t i = 0; i < shown; i++) {
		const struct po_group *g = gs[i];
		int64_t net = (int64_t)(g->pages[1] - g->pages[0]);

		fmt_size(net < 0 ? (uint64_t)-net : (uint64_t)net, size, sizeof(size));
		table_cell(t, "%+lld", (long long)net);
		table_cell(t, "%s%s", net < 0 ? "-" : "", size);
		table_cell(t, "%llu", (unsigned long long)g->pages[0]);
		table_cell(t, "%llu", (unsigned long long)g->pages[1]);
		if (idents) {
			table_cell(t, "%llu", (unsigned long long)g->alloc_pages);
			table_cell(t, "%llu", (unsigned long long)g->freed_pages);
		}
		key_cells(t, agg, o, g);
		if (o->stacks)
			stack_notes(t, agg, g);
	}
	table_print(t, stdout, !ctl->no_headers);
	table_free(t);
	if (!ctl->no_headers) {
		printf("%zu of %zu groups; A: %llu pages, B: %llu pages, net %+lld",
		    shown, n, (unsigned long long)a->st.pages,
		    (unsigned long long)b->st.pages,
		    (long long)(b->st.pages - a->st.pages));
		if (!idents)
			printf("; allocated/freed unknown (%s)",
			    a->unsorted || b->unsorted ? "a dump is not in PFN order" :
			    "dumps without identities");
		printf("\n");
	}
}

/* ---- the command --------------------------------------------------------- */

static void
filter_free(struct po_filter *f)
{
	free(f->pids);
	free(f->tgids);
	for (size_t i = 0; i < f->nnames; i++)
		free(f->names[i]);
	free(f->names);
}

static int
cmd_analyze_exec(struct ctl *ctl, int argc, char **argv)
{
	enum {
		OPT_PID = 256, OPT_TGID, OPT_NAME, OPT_MODULE, OPT_MEMCG,
		OPT_CULPRIT, OPT_TOP, OPT_STACKS, OPT_ANOM, OPT_THREADS, OPT_SORT,
		OPT_CONTAINS,
	};
	static const struct option opts[] = {
		{ "by",		required_argument, NULL, 'b' },
		{ "cull",	required_argument, NULL, 'b' },
		{ "sort",	required_argument, NULL, OPT_SORT },
		{ "pid",	required_argument, NULL, OPT_PID },
		{ "tgid",	required_argument, NULL, OPT_TGID },
		{ "name",	required_argument, NULL, OPT_NAME },
		{ "module",	required_argument, NULL, OPT_MODULE },
		{ "memcg",	required_argument, NULL, OPT_MEMCG },
		{ "culprit",	required_argument, NULL, OPT_CULPRIT },
		{ "stack-contains", required_argument, NULL, OPT_CONTAINS },
		{ "top",	required_argument, NULL, OPT_TOP },
		{ "stacks",	no_argument,	   NULL, OPT_STACKS },
		{ "migration-anomalies", no_argument, NULL, OPT_ANOM },
		{ "threads",	required_argument, NULL, OPT_THREADS },
		{ "json",	no_argument,	   NULL, 'j' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct analyze_opts o = {
		.keys = { PO_KEY_STACK }, .nkeys = 1,
	};
	struct dump da = { 0 }, db = { 0 };
	struct po_agg *agg = NULL;
	struct po_group **gs = NULL;
	FILE *ids = NULL;
	char *cause = NULL;
	bool sort_given = false, diff, idents = false;
	uint64_t v;
	size_t n;
	int ch, ret = EXIT_OK, r;

	while ((ch = getopt_long(argc, argv, "b:jhmtpPnsar", opts, NULL)) != -1) {
		const char *single = NULL;

		switch (ch) {
		case 'b':
			if (po_keys_parse(optarg, o.keys, &o.nkeys, &cause) < 0)
				goto usage_cause;
			break;
		case OPT_SORT:
			if (parse_sort(&o, optarg, &cause) < 0)
				goto usage_cause;
			sort_given = true;
			break;
		case 'm': single = "pages"; break;
		case 't': single = "blocks"; break;
		case 'p': single = "pid"; break;
		case 'P': single = "tgid"; break;
		case 'n': single = "name"; break;
		case 's': single = "stacktrace"; break;
		case 'a': single = "alloc_ts"; break;
		case 'r': single = "free_ts"; break;
		case OPT_PID:
			if (parse_id_list(optarg, &o.filter.pids, &o.filter.npids) < 0) {
				ret = cmd_usage_error(&cmd_analyze_entry,
				    "bad pid list '%s'", optarg);
				goto out;
			}
			break;
		case OPT_TGID:
			if (parse_id_list(optarg, &o.filter.tgids, &o.filter.ntgids) < 0) {
				ret = cmd_usage_error(&cmd_analyze_entry,
				    "bad tgid list '%s'", optarg);
				goto out;
			}
			break;
		case OPT_NAME:
			parse_name_list(optarg, &o.filter.names, &o.filter.nnames);
			break;
		case OPT_MODULE:
			o.filter.module = optarg;
			break;
		case OPT_MEMCG:
			o.filter.memcg = optarg;
			break;
		case OPT_CULPRIT:
			o.filter.culprit = optarg;
			break;
		case OPT_CONTAINS:
			o.filter.stack = optarg;
			break;
		case OPT_TOP:
			if (po_parse_u64(optarg, &v) < 0 || v == 0 || v > SIZE_MAX) {
				ret = cmd_usage_error(&cmd_analyze_entry,
				    "--top wants a positive number, not '%s'", optarg);
				goto out;
			}
			o.top = (size_t)v;
			break;
		case OPT_STACKS:
			o.stacks = true;
			break;
		case OPT_ANOM:
			o.anomalies = true;
			break;
		case OPT_THREADS:
			if (po_parse_u64(optarg, &v) < 0 || v == 0 || v > MAX_THREADS) {
				ret = cmd_usage_error(&cmd_analyze_entry,
				    "--threads wants 1 to %d, not '%s'", MAX_THREADS,
				    optarg);
				goto out;
			}
			o.threads = (unsigned)v;
			break;
		case 'j':
			ctl->json = true;
			break;
		case 'h':
			cmd_usage(stdout, &cmd_analyze_entry);
			printf("\n%s", cmd_analyze_entry.help);
			goto out;
		default:
			ret = cmd_usage_error(&cmd_analyze_entry, "bad option");
			goto out;
		}
		if (single != NULL) {
			if (sort_given) {
				ret = cmd_usage_error(&cmd_analyze_entry,
				    "give one sort option (or --sort with a list)");
				goto out;
			}
			parse_sort(&o, single, &cause);
			sort_given = true;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2) {
		ret = cmd_usage_error(&cmd_analyze_entry,
		    argc < 1 ? "no dump file given" : "at most two dump files");
		goto out;
	}
	diff = argc == 2;
	if (!sort_given)
		parse_sort(&o, diff ? "net" : "pages", &cause);

	po_agg_new(&agg, o.keys, o.nkeys, &o.filter);
	da.path = argv[0];
	if (diff) {
		ids = tmpfile();
		if (ids == NULL) {
			fprintf(stderr, "pageownerctl analyze: cannot create a "
			    "temporary file: %s\n", strerror(errno));
			ret = EXIT_REFUSED;
			goto out;
		}
	}
	r = read_dump(&o, &da, agg, 0, ids, NULL, &cause);
	if (r < 0)
		goto fail_cause;
	if (diff) {
		struct po_ident_merge m;

		if (fflush(ids) != 0) {
			po_asprintf(&cause, "cannot write identities: %s",
			    strerror(errno));
			goto fail_cause;
		}
		rewind(ids);
		db.path = argv[1];
		po_ident_merge_init(&m, ids, diff_freed, diff_allocated, agg);
		m.match_ref = true;	/* one grouping for both dumps: refs agree */
		r = read_dump(&o, &db, agg, 1, NULL, &m, &cause);
		if (r < 0)
			goto fail_cause;
		if (po_ident_merge_finish(&m) < 0) {
			po_asprintf(&cause, "cannot read back identities");
			goto fail_cause;
		}
		idents = !m.unsorted && !da.unsorted && !db.unsorted &&
		    da.st.page_records > 0 && db.st.page_records > 0;
	}
	if (o.anomalies && !(da.st.features & PO_F_FREE_TS))
		fprintf(stderr, "pageownerctl analyze: '%s' has no free_ts "
		    "(only kernels 5.14 to 6.6 print it): no anomaly to find\n",
		    da.path);

	n = po_agg_ngroups(agg);
	gs = po_xcalloc(n + 1, sizeof(struct po_group *));
	for (size_t i = 0; i < n; i++)
		gs[i] = po_agg_group(agg, i);
	if (!sort_by_number(&o, agg, diff, gs, n)) {
		struct sort_ctx sc = { &o, agg, diff };

		qsort_r(gs, n, sizeof(struct po_group *), group_cmp, &sc);
	}
	if (diff)
		print_diff(ctl, &o, agg, gs, n, &da, &db, idents);
	else
		print_one(ctl, &o, agg, gs, n, &da);
	if (!ctl->json && (da.st.malformed > 0 || db.st.malformed > 0)) {
		const struct dump *bad = da.st.malformed > 0 ? &da : &db;

		fprintf(stderr, "pageownerctl analyze: %s: %llu malformed records "
		    "skipped (first at byte %llu: %s)\n", bad->path,
		    (unsigned long long)bad->st.malformed,
		    (unsigned long long)bad->st.first_bad_offset,
		    po_malformed_str(bad->st.first_bad));
	}
	goto out;

usage_cause:
	ret = cmd_usage_error(&cmd_analyze_entry, "%s", cause);
	goto out;
fail_cause:
	fprintf(stderr, "pageownerctl analyze: %s\n", cause);
	ret = EXIT_REFUSED;
out:
	free(cause);
	free(gs);
	if (ids != NULL)
		fclose(ids);
	po_agg_free(agg);
	filter_free(&o.filter);
	return ret;
}

const struct cmd_entry cmd_analyze_entry = {
	.name = "analyze",
	.usage = "[OPTIONS] FILE [FILE2]",
	.summary = "Group, filter and sort a page_owner dump, or diff two (no daemon)",
	.help =
	    "FILE is a copy of /sys/kernel/debug/page_owner (any kernel from 3.19),\n"
	    "or a page_owner_stacks/show_stacks file; '-' reads standard input.\n"
	    "With FILE2, prints the change from FILE to FILE2 per group.\n"
	    "\n"
	    "  -b, --by KEYS        group by: stack (default), signature, culprit,\n"
	    "                       module, comm, pid, tgid, memcg, order, gfp,\n"
	    "                       allocator; comma-separated (alias --cull; also\n"
	    "                       page_owner_sort's st, n, p, tg, ator)\n"
	    "      --sort [+|-]KEY[,...]  pages, blocks, pid, tgid, name, stacktrace,\n"
	    "                       alloc_ts, free_ts, allocator, net, key\n"
	    "  -m -t -p -P -n -s -a -r  page_owner_sort's sorts: pages, blocks, pid,\n"
	    "                       tgid, name, stacktrace, alloc ts, free ts\n"
	    "      --pid LIST       only these pids (comma-separated)\n"
	    "      --tgid LIST      only these tgids\n"
	    "      --name LIST      only these task names (comm), exactly\n"
	    "      --module NAME    only stacks of this module ('kernel' = none)\n"
	    "      --memcg NAME     only pages charged to this memcg\n"
	    "      --culprit TEXT   only stacks whose culprit contains TEXT\n"
	    "      --stack-contains TEXT  only stacks whose frames contain TEXT\n"
	    "      --top N          print the first N groups\n"
	    "      --stacks         print each group's frames\n"
	    "      --migration-anomalies  only blocks whose ts equals free_ts\n"
	    "                       (5.14-6.6 kernels: a page-migration hint)\n"
	    "      --threads N      parse with N threads (default: CPUs, max 8)\n"
	    "  -j, --json           JSON: records, pages, malformed, groups[]\n",
	.options = "--by --cull --sort --pid --tgid --name --module --memcg --culprit "
	    "--stack-contains --top --stacks --migration-anomalies --threads --json",
	.exec = cmd_analyze_exec,
};
