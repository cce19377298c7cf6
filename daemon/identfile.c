/*
 * identfile.c: the block identities of the last full read, in a file.
 *
 * <db>.ident holds one po_ident per block (PFN, a hash of its ts, its
 * combo, its order) in PFN order, behind a header naming the snapshot and
 * boot it is of.  A full read writes <db>.ident.new while merging against
 * the old file, and renames it into place only after the snapshot's
 * commit.  The header is checked every time the file is opened for a
 * merge: a file that is not of the snapshot the merge expects (a crash
 * between commit and rename, a rename that failed, a stray copy) is
 * never merged against; that snapshot then has no allocated/freed figures.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "page-ownerd.h"

#define IDENT_MAGIC	"POID0001"
#define IDENT_BUF	((size_t)256 * 1024)

struct ident_header {
	char		 magic[8];
	int64_t		 snapshot;	/* the snapshot these identities are of */
	int64_t		 boot;
	uint64_t	 count;
};

struct identfile {
	char		*path;		/* <db>.ident */
	char		*tmp;		/* <db>.ident.new */
	FILE		*out;		/* tmp, while a full read writes it */
	char		*buf;		/* out's stdio buffer */
};

struct identfile *
identfile_new(const char *db_path)
{
	struct identfile *f = po_xcalloc(1, sizeof(*f));

	po_asprintf(&f->path, "%s.ident", db_path);
	po_asprintf(&f->tmp, "%s.ident.new", db_path);
	return f;
}

void
identfile_free(struct identfile *f)
{
	if (f == NULL)
		return;
	identfile_abort(f);
	free(f->path);
	free(f->tmp);
	free(f->buf);
	free(f);
}

/* The file being written (between identfile_begin and identfile_finish). */
FILE *
identfile_out(struct identfile *f)
{
	return f->out;
}

const char *
identfile_tmp(const struct identfile *f)
{
	return f->tmp;
}

/* The file at the path, opened and positioned after a header that names
 * snapshot and boot; NULL if there is none or it is of something else. */
FILE *
identfile_open_prev(struct identfile *f, int64_t snapshot, int64_t boot)
{
	return identfile_open_prev_count(f, snapshot, boot, NULL);
}

/* The same, and how many identities the file holds (what follows them is
 * the writer's: a sweep window's combos). */
FILE *
identfile_open_prev_count(struct identfile *f, int64_t snapshot, int64_t boot,
    uint64_t *ret_count)
{
	struct ident_header h;
	FILE *in = fopen(f->path, "re");

	if (in == NULL)
		return NULL;
	if (fread(&h, sizeof(h), 1, in) != 1 || memcmp(h.magic, IDENT_MAGIC, 8) != 0 ||
	    h.snapshot != snapshot || h.boot != boot || snapshot == 0) {
		fclose(in);
		return NULL;
	}
	if (ret_count != NULL)
		*ret_count = h.count;
	return in;
}

bool
identfile_matches(struct identfile *f, int64_t snapshot, int64_t boot)
{
	FILE *in = identfile_open_prev(f, snapshot, boot);

	if (in == NULL)
		return false;
	fclose(in);
	return true;
}

static int
header_write(FILE *out, int64_t snapshot, int64_t boot, uint64_t count)
{
	struct ident_header h;

	memcpy(h.magic, IDENT_MAGIC, 8);
	h.snapshot = snapshot;
	h.boot = boot;
	h.count = count;
	if (fseek(out, 0, SEEK_SET) < 0 || fwrite(&h, sizeof(h), 1, out) != 1)
		return errno ? -errno : -EIO;
	return 0;
}

/* Start the next file: identities go to *ret (po_ident_write). */
int
identfile_begin(struct identfile *f, FILE **ret, char **cause)
{
	int r;

	identfile_abort(f);
	f->out = fopen(f->tmp, "we");
	if (f->out == NULL) {
		r = -errno;
		po_asprintf(cause, "cannot write '%s': %s", f->tmp, strerror(errno));
		return r;
	}
	if (f->buf == NULL)
		f->buf = po_xmalloc(IDENT_BUF);
	setvbuf(f->out, f->buf, _IOFBF, IDENT_BUF);
	if ((r = header_write(f->out, 0, 0, 0)) < 0) {
		po_asprintf(cause, "cannot write '%s': %s", f->tmp, strerror(-r));
		identfile_abort(f);
		return r;
	}
	*ret = f->out;
	return 0;
}

/* The identities are all written: name their snapshot, close the file. */
int
identfile_finish(struct identfile *f, int64_t snapshot, int64_t boot, uint64_t count,
    char **cause)
{
	FILE *out = f->out;
	int r;

	if (out == NULL)
		return -EBADF;
	r = header_write(out, snapshot, boot, count);
	if (r == 0 && fflush(out) != 0)
		r = errno ? -errno : -EIO;
	f->out = NULL;
	if (fclose(out) != 0 && r == 0)
		r = errno ? -errno : -EIO;
	/* a sweep keeps one finished file per window until the commit */
	free(f->buf);
	f->buf = NULL;
	if (r < 0) {
		po_asprintf(cause, "cannot write '%s': %s", f->tmp, strerror(-r));
		(void)unlink(f->tmp);
	}
	return r;
}

/*
 * After the snapshot's commit: the new file replaces the old one.  If it
 * cannot, the old file stays of an older snapshot, which the header check
 * keeps out of the next merge.
 */
int
identfile_commit(struct identfile *f, char **cause)
{
	int r;

	if (rename(f->tmp, f->path) == 0)
		return 0;
	r = -errno;
	po_asprintf(cause, "cannot replace '%s': %s", f->path, strerror(errno));
	(void)unlink(f->tmp);
	return r;
}

/* Drop a file being written (a failed snapshot). */
void
identfile_abort(struct identfile *f)
{
	if (f->out != NULL) {
		fclose(f->out);
		f->out = NULL;
	}
	(void)unlink(f->tmp);
}
