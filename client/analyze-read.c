/*
 * analyze-read.c: reading dumps for `analyze`.
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

#include "analyze.h"

#define READ_CHUNK	((size_t)64 * 1024)	/* copied into, then parsed, within L2 */

#define MIN_SPLIT	((off_t)4 * 1024 * 1024)	/* smaller files use one thread */
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
 * A regular file is parsed where it lies, not copied out of the page
 * cache: the whole file is mapped once, pages come in by the kernel's
 * fault-around as the parse reaches them, and every MAP_WINDOW bytes
 * parsed are dropped again (MADV_DONTNEED), so the file pages counted in
 * RSS stay at about a window a thread.  A file cut short while mapped
 * raises SIGBUS on the missing pages; the handler jumps back out of the
 * parse and the read fails cleanly.
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

unsigned
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
int
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

void
diff_freed(const struct po_ident *e, void *userdata)
{
	struct po_group *g = po_agg_group(userdata, e->ref);

	if (g == NULL)
		return;
	g->freed_blocks++;
	g->freed_pages += UINT64_C(1) << e->order;
}

void
diff_allocated(const struct po_ident *e, void *userdata)
{
	struct po_group *g = po_agg_group(userdata, e->ref);

	if (g == NULL)
		return;
	g->alloc_blocks++;
	g->alloc_pages += UINT64_C(1) << e->order;
}

