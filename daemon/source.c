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
reader_child(const char *path, int fd, int out, char *buf, double pace)
{
	uint64_t total = 0, slice_start = mono_ns();

	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		_exit(errno & 0x7f);
	for (;;) {
		ssize_t n = read(fd, buf, CHILD_BUF), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(errno & 0x7f);
		if (n == 0)
			_exit(0);
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

static int
start_reader(struct source *s, char **cause)
{
	int p[2], in;
	char *buf;
	pid_t pid;

	if (access(s->path, R_OK) < 0)
		return explain_open(s->path, errno, cause);
	if (pipe2(p, O_CLOEXEC) < 0) {
		po_asprintf(cause, "cannot make a pipe: %s", strerror(errno));
		return -errno;
	}
	in = open_filtered(s);
	/* our end waits with poll(), so a reader stuck in the kernel times out */
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	buf = po_xmalloc(CHILD_BUF);	/* before fork: the child only reads and writes */
	pid = fork();
	if (pid < 0) {
		int e = errno;

		free(buf);
		close(p[0]);
		close(p[1]);
		if (in >= 0)
			close(in);
		po_asprintf(cause, "cannot fork the page_owner reader: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		struct sched_param sp = { 0 };

		close(p[0]);
		/* the reader (and the kernel's formatting for it) yields to
		 * everything else, but is never starved outright as SCHED_IDLE
		 * could be on a busy host: it is only bookkeeping */
		(void)sched_setscheduler(0, SCHED_BATCH, &sp);
		(void)setpriority(PRIO_PROCESS, 0, 19);
		(void)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0,
		    3 << 13 /* IOPRIO_CLASS_IDLE */);
		reader_child(s->path, in, p[1], buf, s->pace);
	}
	free(buf);
	close(p[1]);
	if (in >= 0)
		close(in);
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

/* Open file `which` of the current snapshot for source_read. */
int
source_open(struct source *s, enum source_file which, char **cause)
{
	char *p;
	struct stat st;

	source_end(s);
	s->open_file = which;
	s->at_eof = false;
	if (s->kind == SOURCE_DEBUGFS && which == SRC_PAGE_OWNER)
		return start_reader(s, cause);
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
