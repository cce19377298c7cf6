/*
 * source.c: where page_owner text comes from, behind one small interface
 * (next / open / read / end), so that the collector reads the kernel, a
 * dump file and a recorded capture alike.
 *
 * - The kernel's file (debugfs) is read by a child process that copies it
 *   into a pipe with a 1 MiB buffer (the kernel returns one record per
 *   read() and fails a smaller buffer with ENOMEM).  A kernel bug that
 *   kills the reader, or a read error part-way, then fails one snapshot:
 *   the daemon sees the pipe end early and the child's status, and lives.
 * - A regular file is opened afresh at every snapshot, so a test can
 *   replace it between snapshots; X.meta beside X.page_owner may name the
 *   boot_id and kernel it came from.
 * - A directory is a recorded capture, replayed one file per snapshot in
 *   name order; NNN.meta beside NNN.page_owner may name the boot_id and
 *   kernel of the capture.
 * Reads wait at most READ_STALL seconds for data (a FIFO that never ends
 * fails the snapshot instead of hanging the collector).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "page-ownerd.h"

#define DEBUGFS_MAGIC	0x64626720
#define READ_STALL	30		/* default seconds without a byte: give up */
#define CHILD_BUF	((size_t)1 << 20)
#define PACE_AFTER	((uint64_t)64 << 20)	/* small dumps are read in one go */
#define DRAIN_LIMIT	30.0		/* seconds a page_owner_stacks drain may take */
#define PACE_SLICE_NS	((uint64_t)100000000)	/* 100 ms of reading, then a pause */
/*
 * Written to each open of the kernel's page_owner where the kernel takes
 * per-open filters (the mm tree, 2026: the file is 0600 with a write
 * handler): every record then prints "handle: %u" after its frames, which
 * maps the live stacks' handles for the show_handles reads.  Released
 * kernels have no write handler (the write fails with EINVAL): the read
 * goes on unfiltered.
 */
#define PO_FILTER	"mode=stack_handle"

struct source {
	char		*path;		/* configured path */
	enum source_kind kind;
	int		 fd;		/* open during a snapshot, else -1 */
	pid_t		 child;		/* debugfs reader process, or 0 */
	char		*last;		/* replay: last file name read */
	char		*cur;		/* replay: path of the current dump */
	size_t		 next, total;	/* replay: position, for status */
	bool		 done;		/* replay: no file after last */
	bool		 fifo;		/* the open file is a FIFO */
	double		 stall;		/* seconds without data before -ETIMEDOUT */
	double		 pace;		/* share of time the kernel reader may read */
	bool		 got_data;	/* bytes came since source_open */
	enum source_file open_file;	/* which file fd is */
	bool		 at_eof;	/* fd was read to its end */
	enum source_seek seek;		/* how a PFN window is found (debugfs) */
	char		*seek_why;	/* what the detection saw */
	uint64_t	 win_lo, win_hi; /* the open read's PFN window */
	unsigned	 readers;	/* reader processes for a full read */
	char		*spool_dir;	/* where readers after the first spool */
	struct part {
		int	 fd;		/* a spool file, -1 once read */
		pid_t	 child;		/* its reader, 0 once reaped */
	}		*more;		/* the ranges after the first, in order */
	unsigned	 nmore, next_more;
	unsigned	 nparts;	/* readers the open read uses */
	int		 filter;	/* page_owner takes PO_FILTER: 0 untried,
					   1 yes, -1 no (then never tried again) */
	char		 filter_why[128]; /* why not, for status */
};

static bool
on_debugfs(const char *path)
{
	struct statfs sf;

	if (strncmp(path, "/sys/kernel/debug/", 18) == 0)
		return true;
	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == DEBUGFS_MAGIC;
}

int
source_new(struct source **ret, const char *path, char **cause)
{
	struct source *s;
	struct stat st;

	if (path == NULL || path[0] == '\0') {
		po_asprintf(cause, "no source given");
		return -EINVAL;
	}
	s = po_xcalloc(1, sizeof(*s));
	s->path = po_xstrdup(path);
	s->fd = -1;
	s->stall = READ_STALL;
	s->pace = 1.0;
	s->readers = 1;
	if (on_debugfs(path))
		s->kind = SOURCE_DEBUGFS;
	else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		s->kind = SOURCE_DIR;
	else
		s->kind = SOURCE_FILE;
	*ret = s;
	return 0;
}

void
source_free(struct source *s)
{
	if (s == NULL)
		return;
	source_end(s);
	free(s->path);
	free(s->last);
	free(s->cur);
	free(s->seek_why);
	free(s->spool_dir);
	free(s->more);
	free(s);
}

enum source_kind
source_get_kind(const struct source *s)
{
	return s->kind;
}

const char *
source_kind_name(enum source_kind k)
{
	switch (k) {
	case SOURCE_DEBUGFS: return "debugfs";
	case SOURCE_FILE: return "file";
	case SOURCE_DIR: return "replay";
	}
	return "?";
}

const char *
source_path(const struct source *s)
{
	return s->path;
}

void
source_set_timeout(struct source *s, double seconds)
{
	s->stall = seconds > 0 ? seconds : READ_STALL;
}

void
source_set_pace(struct source *s, double pace)
{
	s->pace = pace > 0 && pace <= 1.0 ? pace : 1.0;
}

double
source_timeout(const struct source *s)
{
	return s->stall;
}

void
source_position(const struct source *s, size_t *ret_next, size_t *ret_total)
{
	*ret_next = s->next;
	*ret_total = s->total;
}

static bool
is_dump_name(const char *n)
{
	size_t len = strlen(n);

	return len > 11 && strcmp(n + len - 11, ".page_owner") == 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The next capture file after s->last, in name order. */
static int
replay_next(struct source *s, char **ret_name, char **cause)
{
	DIR *d = opendir(s->path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;
	int r = 0;

	if (d == NULL) {
		r = -errno;
		po_asprintf(cause, "cannot open capture directory '%s': %s", s->path,
		    strerror(errno));
		return r;
	}
	while ((e = readdir(d)) != NULL) {
		if (!is_dump_name(e->d_name))
			continue;
		names = po_xrealloc(names, n + 1, sizeof(*names));
		names[n++] = po_xstrdup(e->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++)
		if (s->last == NULL || strcmp(names[i], s->last) > 0)
			break;
	s->total = n;
	if (n == 0) {
		po_asprintf(cause, "capture directory '%s' holds no *.page_owner file",
		    s->path);
		r = -ENOENT;
	} else if (i == n) {
		s->done = true;
		po_asprintf(cause, "replay of '%s' finished: all %zu files were read",
		    s->path, n);
		r = -ENODATA;
	} else {
		*ret_name = po_xstrdup(names[i]);
		s->next = i + 1;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

/* NNN.meta beside NNN.page_owner: "boot_id=..." and "kernel=..." lines. */
static void
read_meta(const char *dump_path, struct source_meta *meta)
{
	char path[4200], line[512];
	size_t n = strlen(dump_path);
	FILE *f;

	if (!is_dump_name(dump_path))
		return;
	snprintf(path, sizeof(path), "%.*s.meta", (int)(n - 11), dump_path);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "boot_id=", 8) == 0)
			po_strlcpy(meta->boot_id, line + 8, sizeof(meta->boot_id));
		else if (strncmp(line, "kernel=", 7) == 0)
			po_strlcpy(meta->kernel, line + 7, sizeof(meta->kernel));
	}
	fclose(f);
}

static int
explain_open(const char *path, int err, char **cause)
{
	if (err == ENOENT)
		po_asprintf(cause, "'%s' does not exist: page_owner needs a kernel "
		    "with CONFIG_PAGE_OWNER=y booted with page_owner=on, and debugfs "
		    "mounted on /sys/kernel/debug", path);
	else if (err == EACCES || err == EPERM)
		po_asprintf(cause, "cannot read '%s': %s (page_owner is readable "
		    "by root only)", path, strerror(err));
	else
		po_asprintf(cause, "cannot open '%s': %s", path, strerror(err));
	return -err;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The child: copy the kernel's file into the pipe; exit status = errno.
 * Past PACE_AFTER bytes it paces itself: after each PACE_SLICE of reading
 * it sleeps so that it reads at most `pace` of the time (the kernel
 * formats records in this process, so this is the kernel's CPU too).
 * Only async-signal-safe calls here: the parent has threads.
 */
static void __attribute__((noreturn))
reader_child(const char *path, int fd, int out, char *buf, double pace,
    uint64_t lo, uint64_t hi)
{
	uint64_t total = 0, slice_start = mono_ns();

	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		_exit(errno & 0x7f);
	/* a PFN window (the kernel honours seeks, see detect_seek): the
	 * offset is a PFN, and after each record it is that record's PFN + 1 */
	if (lo > 0 && lseek(fd, (off_t)lo, SEEK_SET) != (off_t)lo)
		_exit(ESPIPE);
	for (;;) {
		ssize_t n = read(fd, buf, CHILD_BUF), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(errno & 0x7f);
		if (n == 0)
			_exit(0);
		if (hi != UINT64_MAX) {
			off_t pos = lseek(fd, 0, SEEK_CUR);

			if (pos > 0 && (uint64_t)pos - 1 >= hi)
				_exit(0);
		}
		while (off < n) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				_exit(EPIPE);
			off += w;
		}
		total += (uint64_t)n;
		if (pace < 1.0 && total > PACE_AFTER) {
			uint64_t busy = mono_ns() - slice_start;

			if (busy >= PACE_SLICE_NS) {
				uint64_t rest = (uint64_t)((double)busy * (1.0 / pace - 1.0));
				struct timespec ts = { (time_t)(rest / 1000000000u),
				    (long)(rest % 1000000000u) };

				while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
					;
				slice_start = mono_ns();
			}
		}
	}
}

/*
 * page_owner opened for reading with PO_FILTER written to it, where the
 * kernel takes it; else -1 (the child opens it read-only) and s->filter
 * says why not.  The filter is per open file, so the child reads this fd.
 */
static int
open_filtered(struct source *s)
{
	size_t len = strlen(PO_FILTER);
	ssize_t w;
	int fd, e;

	if (s->filter < 0)
		return -1;
	fd = open(s->path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(s->filter_why, sizeof(s->filter_why),
		    "opening it for writing failed: %s", strerror(errno));
		s->filter = -1;
		return -1;
	}
	do
		w = write(fd, PO_FILTER, len);
	while (w < 0 && errno == EINTR);
	e = errno;
	if (w == (ssize_t)len && lseek(fd, 0, SEEK_SET) == 0) {
		if (s->filter == 0)
			log_info("page_owner takes per-open filters: full reads write "
			    "'%s' (records name their stack depot handle)", PO_FILTER);
		s->filter = 1;
		return fd;
	}
	snprintf(s->filter_why, sizeof(s->filter_why), "writing '%s' failed: %s",
	    PO_FILTER, w < 0 ? strerror(e) : "short write or no lseek");
	if (s->filter == 1)
		log_warnx("page_owner no longer takes '%s' (%s): reading it unfiltered",
		    PO_FILTER, s->filter_why);
	s->filter = -1;
	close(fd);
	return -1;
}

/* Whether the kernel's page_owner took the per-open filter (status). */
void
source_filter(const struct source *s, const char **ret_filter, int *ret_state,
    const char **ret_why)
{
	*ret_filter = PO_FILTER;
	*ret_state = s->kind == SOURCE_DEBUGFS ? s->filter : -1;
	*ret_why = s->kind != SOURCE_DEBUGFS ? "the source is not the kernel's file" :
	    s->filter < 0 ? s->filter_why : "";
}

static char *file_path(const struct source *s, enum source_file which);

/* A reader child's copy of bytes [lo, hi) of a regular file (hi < 0: all). */
static void __attribute__((noreturn))
copy_child(const char *path, int out, char *buf, off_t lo, off_t hi)
{
	int fd = path != NULL ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	if (fd < 0)
		_exit(ENOENT);
	for (off_t at = lo; hi < 0 || at < hi;) {
		size_t want = hi < 0 || (off_t)CHILD_BUF < hi - at ? CHILD_BUF :
		    (size_t)(hi - at);
		ssize_t n = pread(fd, buf, want, at), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(errno & 0x7f);
		if (n == 0)
			break;
		while (off < n) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				_exit(EPIPE);
			off += w;
		}
		at += n;
	}
	_exit(0);
}

/*
 * A reader child for a range: of the kernel's file, PFNs [lo, hi); of a
 * regular file, bytes [off_lo, off_hi) (off_hi < 0: to its end).  Its
 * output goes to out.  The pid, or -errno.
 */
static pid_t
spawn_reader(struct source *s, int out, int close_in_child, uint64_t lo, uint64_t hi,
    off_t off_lo, off_t off_hi)
{
	/* before fork: the parent has threads, the child only reads and writes */
	char *buf = po_xmalloc(CHILD_BUF);
	char *path = s->kind == SOURCE_DEBUGFS ? NULL : file_path(s, SRC_PAGE_OWNER);
	int in = s->kind == SOURCE_DEBUGFS ? open_filtered(s) : -1;
	pid_t pid = fork();

	if (pid < 0) {
		int e = errno;

		free(buf);
		free(path);
		if (in >= 0)
			close(in);
		return -e;
	}
	if (pid == 0) {
		struct sched_param sp = { 0 };

		if (close_in_child >= 0)
			close(close_in_child);
		/* the reader (and the kernel's formatting for it) yields to
		 * everything else, but is never starved outright as SCHED_IDLE
		 * could be on a busy host: it is only bookkeeping */
		(void)sched_setscheduler(0, SCHED_BATCH, &sp);
		(void)setpriority(PRIO_PROCESS, 0, 19);
		(void)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0,
		    3 << 13 /* IOPRIO_CLASS_IDLE */);
		if (s->kind == SOURCE_DEBUGFS)
			reader_child(s->path, in, out, buf, s->pace, lo, hi);
		copy_child(path, out, buf, off_lo, off_hi);
	}
	free(buf);
	free(path);
	if (in >= 0)
		close(in);
	return pid;
}

static int
start_reader(struct source *s, uint64_t lo, uint64_t hi, char **cause)
{
	int p[2];
	pid_t pid;

	if (access(s->path, R_OK) < 0)
		return explain_open(s->path, errno, cause);
	if (pipe2(p, O_CLOEXEC) < 0) {
		po_asprintf(cause, "cannot make a pipe: %s", strerror(errno));
		return -errno;
	}
	/* our end waits with poll(), so a reader stuck in the kernel times out */
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	pid = spawn_reader(s, p[1], p[0], lo, hi, 0, -1);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		po_asprintf(cause, "cannot fork the page_owner reader: %s", strerror((int)-pid));
		return (int)pid;
	}
	s->fd = p[0];
	s->child = pid;
	return 0;
}

/* The file names of the page_owner_stacks/ files, by enum source_file. */
static const char *const stack_files[] = {
	[SRC_PAGE_OWNER] = "page_owner",
	[SRC_SHOW_STACKS] = "show_stacks",
	[SRC_SHOW_HANDLES] = "show_handles",
	[SRC_SHOW_STACKS_HANDLES] = "show_stacks_handles",
};

/*
 * Where file `which` of the current snapshot is: for the kernel,
 * page_owner_stacks/NAME beside page_owner; for a dump X.page_owner (or a
 * capture's current NNN.page_owner), X.NAME beside it.
 */
static char *
file_path(const struct source *s, enum source_file which)
{
	const char *base = s->kind == SOURCE_DIR ? s->cur : s->path;
	char *p = NULL;
	size_t n;

	if (which == SRC_PAGE_OWNER || base == NULL)
		return po_xstrdup(base ? base : s->path);
	n = strlen(base);
	if (s->kind == SOURCE_DEBUGFS) {
		const char *slash = strrchr(base, '/');

		po_asprintf(&p, "%.*s/page_owner_stacks/%s",
		    slash ? (int)(slash - base) : 0, base, stack_files[which]);
	} else if (is_dump_name(base)) {
		po_asprintf(&p, "%.*s.%s", (int)(n - 11), base, stack_files[which]);
	} else {
		po_asprintf(&p, "%s.%s", base, stack_files[which]);
	}
	return p;
}

/*
 * Start a snapshot: a capture moves on to its next dump (and reads its
 * .meta); the kernel and plain files stay where they are.
 */
int
source_next(struct source *s, struct source_meta *meta, char **cause)
{
	char *name = NULL;
	int r;

	memset(meta, 0, sizeof(*meta));
	source_end(s);
	if (s->kind != SOURCE_DIR) {
		po_strlcpy(meta->name, s->path, sizeof(meta->name));
		if (s->kind == SOURCE_FILE)
			read_meta(s->path, meta);
		return 0;
	}
	r = replay_next(s, &name, cause);
	if (r < 0)
		return r;
	free(s->cur);
	po_asprintf(&s->cur, "%s/%s", s->path, name);
	free(s->last);
	s->last = name;
	po_strlcpy(meta->name, s->cur, sizeof(meta->name));
	read_meta(s->cur, meta);
	return 0;
}

/* Is file `which` there for this snapshot? */
bool
source_available(const struct source *s, enum source_file which)
{
	char *p = file_path(s, which);
	bool ok = access(p, R_OK) == 0;

	free(p);
	return ok;
}

static int open_plain(struct source *s, enum source_file which, char **cause);

/* Open file `which` of the current snapshot for source_read. */
int
source_open(struct source *s, enum source_file which, char **cause)
{
	if (which == SRC_PAGE_OWNER && s->readers > 1)
		return source_open_range(s, 0, UINT64_MAX, cause);
	return open_plain(s, which, cause);
}

static int
open_plain(struct source *s, enum source_file which, char **cause)
{
	char *p;
	struct stat st;

	source_end(s);
	s->open_file = which;
	s->at_eof = false;
	s->nparts = 1;
	s->win_lo = 0;
	s->win_hi = UINT64_MAX;
	if (s->kind == SOURCE_DEBUGFS && which == SRC_PAGE_OWNER)
		return start_reader(s, 0, UINT64_MAX, cause);
	p = file_path(s, which);
	s->fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (s->fd < 0) {
		int r = explain_open(p, errno, cause);

		free(p);
		return r;
	}
	free(p);
	s->fifo = fstat(s->fd, &st) == 0 && S_ISFIFO(st.st_mode);
	s->got_data = false;
	return 0;
}

/*
 * The next range of a parallel read: its reader has spooled it into a
 * file; wait for it to finish (as long as the spool keeps growing), then
 * read the file from its start.
 */
static int
next_part(struct source *s)
{
	struct part *p = &s->more[s->next_more++];
	double deadline = po_now_mono() + s->stall;
	off_t last = -1;
	int status, e;

	for (;;) {
		struct stat st;
		pid_t w = waitpid(p->child, &status, WNOHANG);

		if (w < 0 && errno != EINTR)
			return -errno;
		if (w == p->child)
			break;
		if (fstat(p->fd, &st) == 0 && st.st_size != last) {
			last = st.st_size;
			deadline = po_now_mono() + s->stall;
		} else if (po_now_mono() > deadline) {
			return -ETIMEDOUT;
		}
		(void)poll(NULL, 0, 5);
	}
	p->child = 0;
	if (WIFSIGNALED(status))
		return -ECHILD;
	e = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
	if (e != 0)
		return -e;
	if (lseek(p->fd, 0, SEEK_SET) < 0)
		return -errno;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = p->fd;
	p->fd = -1;
	s->fifo = false;
	return 0;
}

/* Bytes read, 0 at the end, -errno (-ETIMEDOUT when the input stalls). */
ssize_t
source_read(struct source *s, char *buf, size_t len)
{
	double deadline = po_now_mono() + s->stall;

	for (;;) {
		ssize_t n = read(s->fd, buf, len);

		if (n == 0 && s->fifo && !s->got_data) {
			/* a FIFO without a writer yet: wait for one, not forever */
			if (po_now_mono() > deadline)
				return -ETIMEDOUT;
			(void)poll(NULL, 0, 100);
			continue;
		}
		if (n > 0)
			s->got_data = true;
		if (n == 0)
			s->at_eof = true;
		if (n >= 0) {
			if (n == 0 && s->child > 0) {
				int status, e;

				if (waitpid(s->child, &status, 0) < 0)
					return -errno;
				s->child = 0;
				if (WIFSIGNALED(status))
					return -ECHILD;
				e = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
				if (e != 0)
					return -e;
			}
			if (n == 0 && s->next_more < s->nmore) {
				int r = next_part(s);

				if (r < 0)
					return r;
				deadline = po_now_mono() + s->stall;
				continue;
			}
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
			int p = poll(&pfd, 1, (int)(s->stall * 1000));

			if (p == 0)
				return -ETIMEDOUT;
			if (p < 0 && errno != EINTR)
				return -errno;
			deadline = po_now_mono() + s->stall;
			continue;
		}
		return -errno;
	}
}

/*
 * The kernel's page_owner_stacks files (found in 6.12.117; the files date
 * from 6.9) keep their place in the stack list in seq_file->private,
 * which the file's release (seq_release_private) then kfree()s: closing
 * one before its end frees the list entry it stopped at, or a static one,
 * while it is still linked, and a later reader follows freed memory (an
 * oops in stack_print; the system test's guest died of it when the
 * service was stopped mid-read).  At its end the place is NULL and the free is
 * harmless.  So a read we abandon (stopping, a cap, a parse error) reads
 * on to the end first, bounded in time; only a kill -9 mid-read can
 * still trip it.
 */
static void
drain_stacks_file(struct source *s)
{
	double deadline = po_now_mono() + DRAIN_LIMIT;
	uint64_t bytes = 0;
	char buf[64 * 1024];
	ssize_t n;

	while (po_now_mono() < deadline) {
		n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->at_eof = n == 0;
			break;
		}
		bytes += (uint64_t)n;
	}
	if (s->at_eof)
		log_info("read the rest of page_owner_stacks/%s (%llu bytes) before "
		    "closing it: closing it part-way frees a kernel list entry "
		    "still in use", stack_files[s->open_file], (unsigned long long)bytes);
	else
		log_warnx("could not read page_owner_stacks/%s to its end before "
		    "closing it (%llu bytes read); the kernel (6.12, perhaps 6.9 "
		    "on) may oops in stack_print on a later read",
		    stack_files[s->open_file], (unsigned long long)bytes);
}

void
source_end(struct source *s)
{
	if (s->fd >= 0 && s->kind == SOURCE_DEBUGFS &&
	    s->open_file != SRC_PAGE_OWNER && !s->at_eof)
		drain_stacks_file(s);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->child > 0) {
		kill(s->child, SIGKILL);
		(void)waitpid(s->child, NULL, 0);
		s->child = 0;
	}
	for (unsigned i = 0; i < s->nmore; i++) {
		if (s->more[i].fd >= 0)
			close(s->more[i].fd);
		if (s->more[i].child > 0) {
			kill(s->more[i].child, SIGKILL);
			(void)waitpid(s->more[i].child, NULL, 0);
		}
	}
	s->nmore = s->next_more = 0;
}

/* The message for a failed read (-errno from source_read), into buf. */
const char *
source_strerror(const struct source *s, int err, char *buf, size_t len)
{
	switch (-err) {
	case ECHILD:
		snprintf(buf, len, "the page_owner reader was killed while reading "
		    "'%s' (a kernel oops while formatting a record? see dmesg)",
		    s->path);
		break;
	case EINVAL:
		snprintf(buf, len, "reading '%s' failed with EINVAL: page_owner is "
		    "off (boot with page_owner=on; CONFIG_PAGE_OWNER=y)", s->path);
		break;
	case ETIMEDOUT:
		snprintf(buf, len, "no data from '%s' for %g s (read_timeout): gave up",
		    s->path, s->stall);
		break;
	default:
		snprintf(buf, len, "reading '%s' failed part-way: %s", s->path,
		    strerror(-err));
		break;
	}
	return buf;
}

/*
 * page_owner_stacks/count_threshold hides small stacks from show_stacks:
 * read it (0 for files and captures), never write it: it is one setting
 * for every reader of the system.
 */
uint64_t
source_count_threshold(const struct source *s)
{
	const char *slash = strrchr(s->path, '/');
	char *p = NULL, line[64] = "";
	FILE *f;

	if (s->kind != SOURCE_DEBUGFS)
		return 0;
	po_asprintf(&p, "%.*s/page_owner_stacks/count_threshold",
	    slash ? (int)(slash - s->path) : 0, s->path);
	f = fopen(p, "re");
	free(p);
	if (f == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	return strtoull(line, NULL, 10);
}

/* ---- PFN windows ------------------------------------------------------------ */

static int open_parallel(struct source *s, uint64_t lo, uint64_t hi, char **cause);

#define PROBE_BUF	((size_t)256 << 10)	/* a record is a few KiB at most */
#define PROBE_TRIES	4

static const char rec_start[] = "Page allocated via order ";

const char *
source_seek_name(enum source_seek k)
{
	switch (k) {
	case PFNSEEK_UNKNOWN: return "unknown";
	case PFNSEEK_KERNEL: return "pfn";
	case PFNSEEK_NONE: return "whole reads";
	case PFNSEEK_FILE: return "file index";
	}
	return "?";
}

/* The PFN of the record at the start of buf[0..n), or -1. */
static int64_t
record_pfn(const char *buf, size_t n)
{
	struct po_record r;

	if (n == 0 || po_parse_record(buf, n, &r, NULL) < 0 || r.kind != PO_REC_PAGE)
		return -1;
	return (int64_t)r.pfn;
}

/* One record from the kernel's file at its current offset: its PFN, and
 * the offset the kernel left; -1 when there is none or it does not parse. */
static int64_t
probe_read(int fd, char *buf, off_t *ret_pos)
{
	ssize_t n;

	do
		n = read(fd, buf, CHILD_BUF);
	while (n < 0 && errno == EINTR);
	*ret_pos = lseek(fd, 0, SEEK_CUR);
	return n > 0 ? record_pfn(buf, (size_t)n) : -1;
}

/*
 * Does the running kernel take a PFN as the file offset?  Read two
 * records A and B from the start, then seek to A's PFN + 1: a kernel that
 * honours it returns a record whose PFN is past A and at most B's (more,
 * if B was freed in between: try again), and leaves the offset at that
 * PFN + 1.  A kernel that counts from min_low_pfn, or ignores seeks,
 * fails one of these, and is read whole, its records filtered by PFN.
 */
static void
detect_seek(struct source *s)
{
	char *buf;
	int fd;

	if (s->seek != PFNSEEK_UNKNOWN)
		return;
	s->seek = PFNSEEK_NONE;
	free(s->seek_why);
	s->seek_why = NULL;
	fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		po_asprintf(&s->seek_why, "cannot open '%s': %s", s->path,
		    strerror(errno));
		s->seek = PFNSEEK_UNKNOWN;		/* ask again next time */
		return;
	}
	buf = po_xmalloc(CHILD_BUF);
	for (int t = 0; t < PROBE_TRIES; t++) {
		int64_t a, b, c;
		off_t pa, pb, pc;

		a = probe_read(fd, buf, &pa);
		b = probe_read(fd, buf, &pb);
		if (a < 0 || b < 0) {
			po_asprintf(&s->seek_why, "fewer than two records to test with");
			break;
		}
		if (pa != (off_t)a + 1 || pb != (off_t)b + 1 || b <= a) {
			po_asprintf(&s->seek_why, "the offset after PFN %lld is %lld, "
			    "not the PFN + 1", (long long)a, (long long)pa);
			break;
		}
		if (lseek(fd, (off_t)a + 1, SEEK_SET) != (off_t)a + 1) {
			po_asprintf(&s->seek_why, "lseek to a PFN failed: %s",
			    strerror(errno));
			break;
		}
		c = probe_read(fd, buf, &pc);
		if (c > a && c <= b && pc == (off_t)c + 1) {
			s->seek = PFNSEEK_KERNEL;
			po_asprintf(&s->seek_why, "a seek to PFN %lld read PFN %lld",
			    (long long)a + 1, (long long)c);
			break;
		}
		free(s->seek_why);
		po_asprintf(&s->seek_why, "a seek to PFN %lld read PFN %lld, expected "
		    "%lld..%lld", (long long)a + 1, (long long)c, (long long)a + 1,
		    (long long)b);
		if (c >= 0 && c <= a)
			break;		/* went backwards: the offset is not a PFN */
		/* B freed in between, perhaps: try again further on */
	}
	free(buf);
	close(fd);
}

/* In a regular file: the first record starting at or after off, its offset
 * and PFN; -ENOENT when none does. */
static int
file_record_at(int fd, off_t off, char *buf, off_t *ret_off, int64_t *ret_pfn)
{
	for (int guard = 0; guard < 64; guard++) {
		ssize_t n = pread(fd, buf, PROBE_BUF, off);
		const char *p = buf, *end;

		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOENT;
		end = buf + n;
		for (;;) {
			p = memmem(p, (size_t)(end - p), rec_start, sizeof(rec_start) - 1);
			if (p == NULL)
				break;
			if ((p == buf && off == 0) || (p > buf && p[-1] == '\n')) {
				int64_t pfn = record_pfn(p, (size_t)(end - p));

				if (pfn >= 0) {
					*ret_off = off + (p - buf);
					*ret_pfn = pfn;
					return 0;
				}
			}
			p++;
		}
		if ((size_t)n < PROBE_BUF)
			return -ENOENT;
		off += (off_t)(PROBE_BUF - sizeof(rec_start));
	}
	return -ENOENT;
}

/*
 * A regular file's offset to start a window at PFN lo: a binary search
 * over byte offsets (records are in PFN order).  It may start a little
 * before the window (the reader drops records below lo), never after.
 */
static off_t
file_window_start(int fd, uint64_t lo)
{
	struct stat st;
	off_t a = 0, b, ro = 0;
	int64_t pfn = 0;
	char *buf;

	if (lo == 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	buf = po_xmalloc(PROBE_BUF);
	b = st.st_size;
	while (b - a > (off_t)PROBE_BUF) {
		off_t mid = a + (b - a) / 2;

		if (file_record_at(fd, mid, buf, &ro, &pfn) < 0 || ro >= b ||
		    (uint64_t)pfn >= lo)
			b = mid;
		else
			a = ro + 1;
	}
	if (a > 0 && file_record_at(fd, a, buf, &ro, &pfn) == 0)
		a = ro;
	else if (a > 0)
		a = b;
	free(buf);
	return a;
}

/*
 * Open the full dump for the PFN window [lo, hi): the kernel's file from
 * lo when it honours seeks (else whole: the caller drops records outside
 * the window, which it must do anyway), a regular file from a byte
 * offset found by binary search, a FIFO whole.
 */
int
source_open_range(struct source *s, uint64_t lo, uint64_t hi, char **cause)
{
	bool windowed = lo > 0 || hi != UINT64_MAX;
	int r;

	s->nparts = 1;
	if (s->readers > 1) {
		s->open_file = SRC_PAGE_OWNER;
		s->at_eof = false;
		s->win_lo = lo;
		s->win_hi = hi;
		if ((r = open_parallel(s, lo, hi, cause)) <= 0)
			return r;
		s->nparts = 1;
	}
	if (s->kind == SOURCE_DEBUGFS) {
		source_end(s);
		s->open_file = SRC_PAGE_OWNER;
		s->at_eof = false;
		if (windowed)
			detect_seek(s);
		s->win_lo = lo;
		s->win_hi = hi;
		if (windowed && s->seek == PFNSEEK_KERNEL)
			return start_reader(s, lo, hi, cause);
		return start_reader(s, 0, UINT64_MAX, cause);
	}
	if ((r = open_plain(s, SRC_PAGE_OWNER, cause)) < 0)
		return r;
	s->win_lo = lo;
	s->win_hi = hi;
	if (windowed && !s->fifo) {
		off_t at = file_window_start(s->fd, lo);

		if (at > 0 && lseek(s->fd, at, SEEK_SET) != at) {
			r = -errno;
			po_asprintf(cause, "cannot seek in '%s': %s", s->path,
			    strerror(errno));
			source_end(s);
			return r;
		}
	}
	return 0;
}

/* How a window is found: for the kernel, what detect_seek saw. */
enum source_seek
source_seek(const struct source *s, const char **ret_why)
{
	if (ret_why != NULL)
		*ret_why = s->seek_why;
	if (s->kind == SOURCE_DEBUGFS)
		return s->seek;
	return s->fifo ? PFNSEEK_NONE : PFNSEEK_FILE;
}

/* "NAME  N" at p (a /proc/zoneinfo line, leading blanks skipped): N. */
static bool
zoneinfo_field(const char *p, const char *name, uint64_t *ret)
{
	size_t n = strlen(name);
	char *end;

	if (strncmp(p, name, n) != 0 || (p[n] != ' ' && p[n] != '\t'))
		return false;
	p += n;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	*ret = strtoull(p, &end, 10);
	return errno == 0 && end != p;
}

/* The kernel's PFN span, from /proc/zoneinfo (start_pfn + spanned). */
static int
zoneinfo_span(uint64_t *ret_lo, uint64_t *ret_hi)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	uint64_t lo = UINT64_MAX, hi = 0, spanned = 0;
	char line[256];

	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = line + strspn(line, " \t");
		uint64_t v;

		if (zoneinfo_field(p, "spanned", &v))
			spanned = v;
		else if (zoneinfo_field(p, "start_pfn:", &v) && spanned > 0) {
			if (v < lo)
				lo = v;
			if (v + spanned > hi)
				hi = v + spanned;
			spanned = 0;
		}
	}
	fclose(f);
	if (hi == 0)
		return -ENODATA;
	*ret_lo = lo;
	*ret_hi = hi;
	return 0;
}

/* A regular file's span: its first record's PFN, its last record's + 1. */
static int
file_span(const char *path, uint64_t *ret_lo, uint64_t *ret_hi)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	off_t ro = 0, at;
	int64_t pfn = 0, last = -1;
	char *buf;
	int r;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ESPIPE;
	}
	buf = po_xmalloc(PROBE_BUF);
	r = file_record_at(fd, 0, buf, &ro, &pfn);
	if (r == 0) {
		*ret_lo = (uint64_t)pfn;
		/* the last record: walk the records of the file's tail */
		at = st.st_size > (off_t)PROBE_BUF ? st.st_size - (off_t)PROBE_BUF : 0;
		while (file_record_at(fd, at, buf, &ro, &pfn) == 0) {
			last = pfn;
			at = ro + 1;
		}
		*ret_hi = (uint64_t)(last >= 0 ? last : (int64_t)*ret_lo) + 1;
	}
	free(buf);
	close(fd);
	return r;
}

/*
 * The PFN span [lo, hi) windows are cut from: the kernel's zones, or the
 * current dump's first and last records.  -ESPIPE: not known (a FIFO).
 */
int
source_pfn_span(struct source *s, uint64_t *ret_lo, uint64_t *ret_hi, char **cause)
{
	char *p;
	int r;

	if (s->kind == SOURCE_DEBUGFS) {
		r = zoneinfo_span(ret_lo, ret_hi);
		if (r < 0)
			po_asprintf(cause, "cannot read the PFN span from "
			    "/proc/zoneinfo: %s", strerror(-r));
		return r;
	}
	p = file_path(s, SRC_PAGE_OWNER);
	r = file_span(p, ret_lo, ret_hi);
	if (r < 0)
		po_asprintf(cause, "cannot find the PFN span of '%s': %s", p,
		    r == -ENOENT ? "no record in it" : strerror(-r));
	free(p);
	return r;
}

/* ---- parallel readers ---------------------------------------------------------- */

#define EXACT_BUF	((size_t)1 << 20)

void
source_set_readers(struct source *s, unsigned n, const char *spool_dir)
{
	s->readers = n >= 1 ? n : 1;
	free(s->spool_dir);
	s->spool_dir = spool_dir != NULL ? po_xstrdup(spool_dir) : NULL;
}

unsigned
source_parts(const struct source *s)
{
	return s->nparts;
}

/* The offset of the first record at or after PFN lo in a regular file
 * (its size when there is none): where a reader's byte range starts. */
static off_t
file_exact_start(int fd, uint64_t lo)
{
	off_t at = file_window_start(fd, lo);
	char *buf = po_xmalloc(EXACT_BUF);
	struct stat st;

	if (fstat(fd, &st) < 0) {
		free(buf);
		return -1;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, EXACT_BUF, at);
		const char *p = buf, *end, *resume = NULL;

		if (n <= 0)
			break;
		end = buf + n;
		while ((p = memmem(p, (size_t)(end - p), rec_start,
		    sizeof(rec_start) - 1)) != NULL) {
			if ((p == buf && at == 0) || (p > buf && p[-1] == '\n')) {
				int64_t pfn = record_pfn(p, (size_t)(end - p));

				if (pfn >= 0 && (uint64_t)pfn >= lo) {
					off_t found = at + (p - buf);

					free(buf);
					return found;
				}
				if (pfn < 0 && end - p < (ptrdiff_t)(64 << 10) && p > buf) {
					resume = p;	/* cut off by the buffer */
					break;
				}
			}
			p++;
		}
		if ((size_t)n < EXACT_BUF && resume == NULL)
			break;
		at += resume != NULL ? resume - buf :
		    (off_t)(EXACT_BUF - sizeof(rec_start));
	}
	free(buf);
	return st.st_size;
}

static int
spool_open(const struct source *s)
{
	int fd = -1;

	if (s->spool_dir != NULL)
		fd = open(s->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = memfd_create("page-owner-spool", MFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * A full read of [lo, hi) by `readers` processes on disjoint PFN ranges:
 * the first streams into a pipe, the others spool into unlinked files
 * (beside the database, else in memory) that are read after it, in PFN
 * order.  1 when this read cannot be split (one reader, a kernel that
 * ignores seeks, a FIFO, an unknown span): the caller reads it whole.
 */
static int
open_parallel(struct source *s, uint64_t lo, uint64_t hi, char **cause)
{
	unsigned n = s->readers;
	uint64_t slo = 0, shi = 0, a, b, cuts[65];
	off_t offs[65];
	char *why = NULL;
	int p[2], r, fd = -1;
	pid_t pid;

	if (n < 2)
		return 1;
	if (n > 64)
		n = 64;
	if (s->kind == SOURCE_DEBUGFS) {
		detect_seek(s);
		if (s->seek != PFNSEEK_KERNEL)
			return 1;
	} else {
		char *path = file_path(s, SRC_PAGE_OWNER);
		struct stat st;

		fd = open(path, O_RDONLY | O_CLOEXEC);
		free(path);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			if (fd >= 0)
				close(fd);
			return 1;
		}
	}
	if (source_pfn_span(s, &slo, &shi, &why) < 0) {
		free(why);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	a = lo > slo ? lo : slo;
	b = hi < shi ? hi : shi;
	if (b <= a || b - a < n) {
		if (fd >= 0)
			close(fd);
		return 1;
	}
	cuts[0] = lo;
	cuts[n] = hi;
	for (unsigned i = 1; i < n; i++)
		cuts[i] = a + (uint64_t)((double)(b - a) * i / n);
	offs[0] = 0;
	offs[n] = -1;
	if (fd >= 0) {
		offs[0] = lo > 0 ? file_window_start(fd, lo) : 0;
		for (unsigned i = 1; i < n; i++)
			offs[i] = file_exact_start(fd, cuts[i]);
		if (hi != UINT64_MAX)
			offs[n] = file_exact_start(fd, hi);
		close(fd);
	}

	source_end(s);
	s->more = po_xrealloc(s->more, n - 1, sizeof(*s->more));
	/* the spooling readers first: none of them may hold the pipe's
	 * write end, or the first range would never end */
	for (unsigned i = 1; i < n; i++) {
		struct part *pt = &s->more[s->nmore];

		pt->fd = spool_open(s);
		pt->child = 0;
		if (pt->fd < 0) {
			r = pt->fd;
			po_asprintf(cause, "cannot make a spool file for reader %u: %s",
			    i + 1, strerror(-r));
			goto fail;
		}
		s->nmore++;
		pid = spawn_reader(s, pt->fd, -1, cuts[i], cuts[i + 1], offs[i], offs[i + 1]);
		if (pid < 0) {
			r = (int)pid;
			po_asprintf(cause, "cannot fork page_owner reader %u: %s", i + 1,
			    strerror(-r));
			goto fail;
		}
		pt->child = pid;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		po_asprintf(cause, "cannot make a pipe: %s", strerror(errno));
		goto fail;
	}
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	pid = spawn_reader(s, p[1], p[0], cuts[0], cuts[1], offs[0], offs[1]);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		r = (int)pid;
		po_asprintf(cause, "cannot fork the page_owner reader: %s", strerror(-r));
		goto fail;
	}
	s->fd = p[0];
	s->child = pid;
	s->fifo = false;
	s->got_data = false;
	s->nparts = n;
	return 0;
fail:
	source_end(s);
	return r;
}
