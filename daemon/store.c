/*
 * store.c: the SQLite database.  All SQL of the daemon lives in this file:
 * the statements in the table below, prepared once per connection, and
 * typed functions over them; no other file includes sqlite3.h.
 *
 * One write connection (the collector's) and one read-only connection (the
 * main thread's queries); WAL lets them work at the same time.  Rules:
 * a database newer than this binary is refused and never touched; a file
 * that fails its quick_check is reported as corrupt (-EUCLEAN) so the
 * caller can move it aside; every snapshot is one transaction.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "page-ownerd.h"
#include "store-migrations.h"

#include "store-sql.h"

/* Hourly checkpoints are kept this long, then one a day. */
#define CHECKPOINTS_HOURLY	(2 * 86400.0)

struct store {
	sqlite3		*db;
	char		*path;
	bool		 readonly;
	dev_t		 dev;		/* the file opened, to notice it replaced */
	ino_t		 ino;
	sqlite3_stmt	*stmts[ST__MAX];	/* prepared on first use */
};

static int
sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: return 0;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_CORRUPT: case SQLITE_NOTADB: return -EUCLEAN;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_CANTOPEN: return -ENOENT;
	case SQLITE_CONSTRAINT: return -EEXIST;
	default: return -EIO;	/* SQLITE_IOERR and the rest */
	}
}

/*
 * Statement id, reset, with its parameters bound from fmt, one letter per
 * parameter in order: i int64_t, b bool (int), d double, t text (NUL-
 * terminated), T text and its int length, B blob and its size_t length.
 * NULL if it cannot be prepared (store_errmsg says why).
 */
static sqlite3_stmt *
prep(struct store *s, enum stmt id, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int k = 1;

	if (s->stmts[id] == NULL &&
	    sqlite3_prepare_v3(s->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
	    &s->stmts[id], NULL) != SQLITE_OK)
		return NULL;
	st = s->stmts[id];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	va_start(ap, fmt);
	for (const char *f = fmt; *f != '\0'; f++, k++) {
		switch (*f) {
		case 'i':
			sqlite3_bind_int64(st, k, va_arg(ap, int64_t));
			break;
		case 'b':
			sqlite3_bind_int(st, k, va_arg(ap, int));
			break;
		case 'd':
			sqlite3_bind_double(st, k, va_arg(ap, double));
			break;
		case 't':
			sqlite3_bind_text(st, k, va_arg(ap, const char *), -1, SQLITE_STATIC);
			break;
		case 'T': {
			const char *t = va_arg(ap, const char *);

			sqlite3_bind_text(st, k, t, va_arg(ap, int), SQLITE_STATIC);
			break;
		}
		case 'B': {
			const void *p = va_arg(ap, const void *);

			sqlite3_bind_blob(st, k, p, (int)va_arg(ap, size_t), SQLITE_STATIC);
			break;
		}
		}
	}
	va_end(ap);
	return st;
}

/* Step a statement with no result rows, reset it; 0 or -errno. */
static int
run(struct store *s, sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return sqlite_errno(sqlite3_errcode(s->db));
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sqlite_errno(rc);
	return 0;
}

/* Step to the one row a lookup expects: 1 row, 0 none, -errno. */
static int
step_row(struct store *s, sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return sqlite_errno(sqlite3_errcode(s->db));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
}

/* After a list's last step: 0 if it ended well, -errno. */
static int
end_rows(sqlite3_stmt *st, int rc)
{
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
}

static int
exec_sql(struct store *s, const char *sql, char **cause)
{
	char *err = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK) {
		if (cause != NULL)
			po_asprintf(cause, "%s", err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return sqlite_errno(rc);
	}
	return 0;
}

/*
 * Every row of st, each read by fill into a zeroed item of size bytes, as
 * one array (*ret, the caller's; also on a failure part-way).
 */
static int
collect(struct store *s, sqlite3_stmt *st, size_t size,
    void (*fill)(sqlite3_stmt *st, void *item, void *ud), void *ud, void **ret,
    size_t *ret_n)
{
	char *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*ret = NULL;
	*ret_n = 0;
	if (st == NULL)
		return sqlite_errno(sqlite3_errcode(s->db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = po_xrealloc(v, cap, size);
		}
		memset(v + n * size, 0, size);
		fill(st, v + n * size, ud);
		n++;
	}
	*ret = v;
	*ret_n = n;
	return end_rows(st, rc);
}

static void
take_blob(sqlite3_stmt *st, int col, struct store_blob *ret)
{
	size_t len = (size_t)sqlite3_column_bytes(st, col);

	ret->p = po_xmalloc(len ? len : 1);
	if (len)
		memcpy(ret->p, sqlite3_column_blob(st, col), len);
	ret->len = len;
}

void
store_blob_free(struct store_blob *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

/* ---- opening ------------------------------------------------------------------ */

static int
pragma_int(struct store *s, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return sqlite_errno(sqlite3_errcode(s->db));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : sqlite_errno(rc);
}

static int
migrate(struct store *s, char **cause)
{
	int64_t version = 0;
	int latest = migrations[nmigrations - 1].version, r;

	r = pragma_int(s, "PRAGMA user_version", &version);
	if (r < 0) {
		po_asprintf(cause, "cannot read the schema version of '%s': %s",
		    s->path, sqlite3_errmsg(s->db));
		return r;
	}
	if (version > latest) {
		po_asprintf(cause, "database '%s' has schema version %lld, newer than "
		    "this page-ownerd knows (%d); refusing to touch it (use a newer "
		    "page-ownerd, or another --db)", s->path, (long long)version, latest);
		return -EPROTO;
	}
	if (version == latest || s->readonly) {
		if (version < latest) {
			po_asprintf(cause, "database '%s' has schema version %lld, "
			    "older than %d; the daemon migrates it", s->path,
			    (long long)version, latest);
			return -EPROTO;
		}
		return 0;
	}
	if (version == 0) {
		/* New file: free pages go back to the system when pruned. */
		r = exec_sql(s, "PRAGMA auto_vacuum = INCREMENTAL", cause);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < nmigrations; i++) {
		char *why = NULL, setv[64];

		if (migrations[i].version <= version)
			continue;
		snprintf(setv, sizeof(setv), "PRAGMA user_version = %d",
		    migrations[i].version);
		r = exec_sql(s, "BEGIN IMMEDIATE", &why);
		if (r == 0)
			r = exec_sql(s, migrations[i].sql, &why);
		if (r == 0)
			r = exec_sql(s, setv, &why);
		if (r == 0)
			r = exec_sql(s, "COMMIT", &why);
		if (r < 0) {
			exec_sql(s, "ROLLBACK", NULL);
			po_asprintf(cause, "migration %s of '%s' failed: %s",
			    migrations[i].name, s->path, why ? why : "?");
			free(why);
			return r;
		}
	}
	return 0;
}

static int
quick_check(struct store *s, char **cause)
{
	sqlite3_stmt *st;
	int rc;
	bool ok = false;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		po_asprintf(cause, "database '%s' is unreadable: %s", s->path,
		    sqlite3_errmsg(s->db));
		return sqlite_errno(rc) == -EUCLEAN ? -EUCLEAN : sqlite_errno(rc);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		ok = t != NULL && strcmp(t, "ok") == 0;
		if (!ok)
			po_asprintf(cause, "database '%s' failed its quick_check: %s",
			    s->path, t ? t : "?");
	} else {
		po_asprintf(cause, "database '%s' failed its quick_check: %s",
		    s->path, sqlite3_errmsg(s->db));
		rc = sqlite_errno(rc);
		sqlite3_finalize(st);
		return rc == -EUCLEAN || rc == -EIO ? -EUCLEAN : rc;
	}
	sqlite3_finalize(st);
	return ok ? 0 : -EUCLEAN;
}

/*
 * Open (creating and migrating unless readonly).  -EPROTO: too new;
 * -EUCLEAN: corrupt (the caller may move it aside); others: -errno.
 */
int
store_open(struct store **ret, const char *path, bool readonly, char **cause)
{
	struct store *s = po_xcalloc(1, sizeof(*s));
	int flags = readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	struct stat sb;
	int rc, r;

	s->path = po_xstrdup(path);
	s->readonly = readonly;
	rc = sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		po_asprintf(cause, "cannot open database '%s': %s", path,
		    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		r = sqlite_errno(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 0);
	sqlite3_busy_timeout(s->db, 5000);
	r = quick_check(s, cause);
	if (r < 0)
		goto fail;
	if (!readonly) {
		r = exec_sql(s, "PRAGMA journal_mode = WAL", cause);
		if (r == 0)
			r = exec_sql(s, "PRAGMA synchronous = NORMAL", cause);
		if (r < 0) {
			char *why = *cause;

			*cause = NULL;
			po_asprintf(cause, "cannot set up database '%s': %s", path, why);
			free(why);
			goto fail;
		}
	}
	r = exec_sql(s, "PRAGMA foreign_keys = ON", cause);
	if (r < 0)
		goto fail;
	/* queries read rollup blobs: map the file rather than copy it page by page */
	if (readonly)
		(void)exec_sql(s, "PRAGMA mmap_size = 268435456", NULL);
	r = migrate(s, cause);
	if (r < 0)
		goto fail;
	if (stat(path, &sb) == 0) {
		s->dev = sb.st_dev;
		s->ino = sb.st_ino;
	}
	*ret = s;
	return 0;
fail:
	store_close(s);
	return r;
}

/* Is the file at the path no longer the one this connection reads? */
bool
store_replaced(const struct store *s)
{
	struct stat sb;

	return stat(s->path, &sb) < 0 || sb.st_dev != s->dev || sb.st_ino != s->ino;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < ST__MAX; i++)
		sqlite3_finalize(s->stmts[i]);
	if (s->db != NULL && !s->readonly)
		sqlite3_exec(s->db, "PRAGMA optimize", NULL, NULL, NULL);
	sqlite3_close_v2(s->db);
	free(s->path);
	free(s);
}

const char *
store_errmsg(struct store *s)
{
	return sqlite3_errmsg(s->db);
}

/* Database size in bytes, with its WAL. */
int64_t
store_size(struct store *s)
{
	struct stat st;
	int64_t size = 0;
	char wal[4200];

	if (stat(s->path, &st) == 0)
		size += st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", s->path);
	if (stat(wal, &st) == 0)
		size += st.st_size;
	return size;
}

/* Move a corrupt database (and its WAL and SHM) aside; the new name in ret. */
int
store_quarantine(const char *path, char **ret_moved)
{
	char *dst = NULL, side[4300], sided[4400];
	static const char *const ext[] = { "-wal", "-shm" };
	int r = 0;

	po_asprintf(&dst, "%s.corrupt-%lld", path, (long long)po_now_wall());
	if (rename(path, dst) < 0)
		r = -errno;
	for (size_t i = 0; r == 0 && i < PO_ARRAY_SIZE(ext); i++) {
		snprintf(side, sizeof(side), "%s%s", path, ext[i]);
		snprintf(sided, sizeof(sided), "%s%s", dst, ext[i]);
		(void)rename(side, sided);
	}
	if (r == 0 && ret_moved != NULL)
		*ret_moved = dst;
	else
		free(dst);
	return r;
}

/* ---- transactions ------------------------------------------------------------- */

int
store_begin(struct store *s)
{
	return run(s, prep(s, ST_BEGIN, ""));
}

int
store_commit(struct store *s)
{
	return run(s, prep(s, ST_COMMIT, ""));
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)run(s, prep(s, ST_ROLLBACK, ""));
}

/*
 * A query's read transaction: one consistent view of the history for the
 * whole query (the collector's commits and pruning do not show through
 * half-way), and one lock instead of one per statement.
 */
int
store_read_begin(struct store *s)
{
	return run(s, prep(s, ST_BEGIN_READ, ""));
}

void
store_read_end(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)run(s, prep(s, ST_COMMIT, ""));
}

/* ---- writes ------------------------------------------------------------------- */

int
store_boot(struct store *s, const char *boot_id, const char *kernel, int64_t *ret_id)
{
	sqlite3_stmt *st = prep(s, ST_BOOT_FIND, "t", boot_id);
	int r = step_row(s, st);

	if (r > 0) {
		*ret_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return 0;
	}
	if (r < 0)
		return r;
	r = run(s, prep(s, ST_BOOT_INSERT, "tt", boot_id, kernel));
	if (r == 0)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	return r;
}

int
store_set_boot_range(struct store *s, int64_t boot, int64_t snapshot)
{
	return run(s, prep(s, ST_BOOT_RANGE, "ii", boot, snapshot));
}

/* The one place a snapshot row is bound: ?1 to ?21 (SNAP_BOUND), ?22 its id. */
static sqlite3_stmt *
bind_snap(struct store *s, enum stmt id, const struct snap_row *r)
{
	return prep(s, id, "idibbtttddddddiiiiiiii", r->boot, r->time, r->mono_ns,
	    (int)r->baseline, (int)r->identities, r->kind, r->source, r->format,
	    r->duration, r->cpu_user, r->cpu_sys, r->parse_s, r->diff_s, r->store_s,
	    r->bytes, r->records, r->pages, r->malformed, r->unknown_lines, r->stacks,
	    r->changed, r->id);
}

int
store_insert_snapshot(struct store *s, struct snap_row *row)
{
	int r = run(s, bind_snap(s, ST_SNAP_INSERT, row));

	if (r == 0)
		row->id = sqlite3_last_insert_rowid(s->db);
	return r;
}

int
store_update_snapshot(struct store *s, const struct snap_row *row)
{
	return run(s, bind_snap(s, ST_SNAP_UPDATE, row));
}

int
store_pin(struct store *s, int64_t snapshot, bool pinned)
{
	int r = run(s, prep(s, ST_SNAP_PIN, "ib", snapshot, (int)pinned));

	if (r == 0 && sqlite3_changes(s->db) == 0)
		return -ENOENT;
	return r;
}

int
store_insert_series(struct store *s, int kind, const char *key, const char *culprit,
    const char *module, int64_t first, int64_t *ret_id)
{
	int r = run(s, prep(s, ST_SERIES_INSERT, "ittti",
	    (int64_t)kind, key, culprit ? culprit : "", module ? module : "", first));

	if (r == 0)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	return r;
}

int
store_insert_stack(struct store *s, uint64_t hash, int64_t series, const char *frames,
    size_t frames_len, int64_t first, int64_t *ret_id)
{
	int r = run(s, prep(s, ST_STACK_INSERT, "iiTi", (int64_t)hash, series, frames,
	    (int)frames_len, first));

	if (r == 0)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	return r;
}

int
store_put_totals(struct store *s, const struct series_row *t)
{
	return run(s, prep(s, ST_TOTALS_PUT, "iiiiii", t->id, t->pages, t->blocks,
	    t->last_change, t->growing_since, t->ts_min));
}

int
store_put_changes(struct store *s, int64_t snapshot, const void *blob, size_t len)
{
	return run(s, prep(s, ST_CHANGES_PUT, "iB", snapshot, blob, len));
}

int
store_put_checkpoint(struct store *s, int64_t snapshot, const void *blob, size_t len)
{
	return run(s, prep(s, ST_CHECKPOINT_PUT, "iB", snapshot, blob, len));
}

int
store_put_detail(struct store *s, int64_t snapshot, const void *blob, size_t len)
{
	return run(s, prep(s, ST_DETAIL_PUT, "iB", snapshot, blob, len));
}

int
store_drop_old_detail(struct store *s, int64_t keep)
{
	return run(s, prep(s, ST_DETAIL_DROP_OLD, "i", keep));
}

int
store_put_bucket(struct store *s, const struct bucket_meta *m, const void *blob,
    size_t len)
{
	return run(s, prep(s, ST_BUCKET_PUT, "iiiiiB", (int64_t)m->level, m->start,
	    m->first, m->last, m->n, blob, len));
}

static int
exec_time(struct store *s, enum stmt id, double t, int64_t *deleted)
{
	int r = run(s, prep(s, id, "d", t));

	if (r == 0 && deleted != NULL)
		*deleted += sqlite3_changes(s->db);
	return r;
}

/*
 * Retention: full-resolution deltas for keep_full, hourly rollups for
 * keep_hourly, daily rollups and one checkpoint a day after that; then, over
 * max_size, whole days are dropped from the oldest.  Pinned snapshots keep
 * their deltas, checkpoint and detail.  Runs in its own transactions; a
 * running query keeps its snapshot of the data (WAL).
 */
int
store_prune(struct store *s, double now, double keep_full, double keep_hourly,
    uint64_t max_size, int64_t *ret_deleted)
{
	int64_t deleted = 0;
	int r;

	r = store_begin(s);
	if (r < 0)
		return r;
	if ((r = exec_time(s, ST_PRUNE_CHANGES, now - keep_full, &deleted)) < 0 ||
	    (r = exec_time(s, ST_PRUNE_CHECKPOINTS, now - CHECKPOINTS_HOURLY, &deleted)) < 0 ||
	    (r = exec_time(s, ST_PRUNE_HOURLY, now - keep_hourly, &deleted)) < 0 ||
	    (r = exec_time(s, ST_PRUNE_SNAPSHOTS, now - keep_hourly, &deleted)) < 0 ||
	    (r = exec_time(s, ST_PRUNE_ESTIMATES, now - 86400, &deleted)) < 0) {
		store_rollback(s);
		return r;
	}
	r = store_commit(s);
	if (r < 0) {
		store_rollback(s);
		return r;
	}
	(void)exec_sql(s, "PRAGMA incremental_vacuum", NULL);

	/* The size cap: drop the oldest day until under it (a few per call). */
	for (int round = 0; max_size > 0 && round < 30 &&
	    (uint64_t)store_size(s) > max_size; round++) {
		sqlite3_stmt *st = prep(s, ST_OLDEST_DAY, "");
		double oldest, cut;

		if (step_row(s, st) <= 0)
			break;
		if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
			sqlite3_reset(st);
			break;
		}
		oldest = sqlite3_column_double(st, 0);
		sqlite3_reset(st);
		cut = oldest + 86400;
		if (cut > now - 3600)
			break;	/* never the last hour */
		if ((r = store_begin(s)) < 0)
			return r;
		if ((r = exec_time(s, ST_CAP_BUCKETS, cut, &deleted)) < 0 ||
		    (r = exec_time(s, ST_CAP_CHANGES, cut, &deleted)) < 0 ||
		    (r = exec_time(s, ST_CAP_CHECKPOINTS, cut, &deleted)) < 0 ||
		    (r = exec_time(s, ST_CAP_SNAPSHOTS, cut, &deleted)) < 0 ||
		    (r = exec_time(s, ST_CAP_ESTIMATES, cut, &deleted)) < 0 ||
		    (r = store_commit(s)) < 0) {
			store_rollback(s);
			return r;
		}
		(void)exec_sql(s, "PRAGMA wal_checkpoint(TRUNCATE)", NULL);
		(void)exec_sql(s, "PRAGMA incremental_vacuum", NULL);
	}
	if (ret_deleted != NULL)
		*ret_deleted = deleted;
	return 0;
}

/* ---- snapshots ---------------------------------------------------------------- */

static void
read_snap(sqlite3_stmt *st, struct snap_row *r)
{
	const char *t;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->boot = sqlite3_column_int64(st, 1);
	r->time = sqlite3_column_double(st, 2);
	r->mono_ns = sqlite3_column_int64(st, 3);
	r->baseline = sqlite3_column_int(st, 4);
	r->identities = sqlite3_column_int(st, 5);
#define TXT(col, dst) do {						\
		t = (const char *)sqlite3_column_text(st, (col));	\
		snprintf((dst), sizeof(dst), "%s", t ? t : "");		\
	} while (0)
	TXT(6, r->kind);
	TXT(7, r->source);
	TXT(8, r->format);
	r->duration = sqlite3_column_double(st, 9);
	r->cpu_user = sqlite3_column_double(st, 10);
	r->cpu_sys = sqlite3_column_double(st, 11);
	r->parse_s = sqlite3_column_double(st, 12);
	r->diff_s = sqlite3_column_double(st, 13);
	r->store_s = sqlite3_column_double(st, 14);
	r->bytes = sqlite3_column_int64(st, 15);
	r->records = sqlite3_column_int64(st, 16);
	r->pages = sqlite3_column_int64(st, 17);
	r->malformed = sqlite3_column_int64(st, 18);
	r->unknown_lines = sqlite3_column_int64(st, 19);
	r->stacks = sqlite3_column_int64(st, 20);
	r->changed = sqlite3_column_int64(st, 21);
	r->pinned = sqlite3_column_int(st, 22);
	TXT(23, r->boot_id);
	TXT(24, r->kernel);
#undef TXT
}

static int
one_snap(struct store *s, sqlite3_stmt *st, struct snap_row *ret)
{
	int r = step_row(s, st);

	if (r > 0) {
		read_snap(st, ret);
		sqlite3_reset(st);
	}
	return r;
}

/* 1 and the newest snapshot, 0 when there is none. */
int
store_last_snapshot(struct store *s, struct snap_row *ret)
{
	return one_snap(s, prep(s, ST_SNAP_LAST, ""), ret);
}

int
store_snapshot(struct store *s, int64_t id, struct snap_row *ret)
{
	return one_snap(s, prep(s, ST_SNAP_ID, "i", id), ret);
}

int
store_snapshot_span(struct store *s, int64_t *ret_count, int64_t *ret_first,
    int64_t *ret_last)
{
	sqlite3_stmt *st = prep(s, ST_SNAP_COUNT, "");
	int r = step_row(s, st);

	if (r <= 0)
		return r < 0 ? r : -EIO;
	*ret_count = sqlite3_column_int64(st, 0);
	*ret_first = sqlite3_column_int64(st, 1);
	*ret_last = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	return 0;
}

/* The first snapshot at or after t (after), or the last at or before; 0 = none. */
int
store_snapshot_near(struct store *s, double t, bool after, int64_t *ret_id)
{
	sqlite3_stmt *st = prep(s, after ? ST_SNAP_AT_OR_AFTER : ST_SNAP_AT_OR_BEFORE,
	    "d", t);
	int r = step_row(s, st);

	*ret_id = 0;
	if (r > 0) {
		*ret_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return r < 0 ? r : 0;
}

/* Snapshots lo..hi, newest first, at most limit. */
static void
fill_snap(sqlite3_stmt *st, void *item, void *ud)
{
	(void)ud;
	read_snap(st, item);
}

int
store_snapshots(struct store *s, int64_t lo, int64_t hi, int64_t limit,
    struct snap_row **ret, size_t *ret_n)
{
	void *v;
	int r = collect(s, prep(s, ST_SNAP_WINDOW, "iii", lo, hi, limit),
	    sizeof(**ret), fill_snap, NULL, &v, ret_n);

	*ret = v;
	return r;
}

static void
fill_ref(sqlite3_stmt *st, void *item, void *ud)
{
	struct snap_ref *v = item;

	(void)ud;
	v->id = sqlite3_column_int64(st, 0);
	v->time = sqlite3_column_double(st, 1);
	v->baseline = sqlite3_column_int(st, 2);
	v->boot = sqlite3_column_int64(st, 3);
	v->full = sqlite3_column_int(st, 4) != 0;
	v->identities = sqlite3_column_int(st, 5) != 0;
}

int
store_snapshot_refs(struct store *s, int64_t lo, int64_t hi, struct snap_ref **ret,
    size_t *ret_n)
{
	void *v;
	int r = collect(s, prep(s, ST_SNAP_TIMES, "ii", lo, hi), sizeof(**ret),
	    fill_ref, NULL, &v, ret_n);

	*ret = v;
	return r;
}

/* The last full read at or before at_most: 1 found, 0 none, or -errno. */
int
store_last_full(struct store *s, int64_t at_most, int64_t *ret_id)
{
	sqlite3_stmt *st = prep(s, ST_SNAP_LAST_FULL, "i", at_most);
	int r = step_row(s, st);

	if (r <= 0)
		return r;
	*ret_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 1;
}

/* How many snapshots in lo..hi were full reads, and how many stacks reads. */
int
store_snapshot_kinds(struct store *s, int64_t lo, int64_t hi, int64_t *ret_full,
    int64_t *ret_stacks)
{
	sqlite3_stmt *st = prep(s, ST_SNAP_KINDS, "ii", lo, hi);
	int rc;

	*ret_full = *ret_stacks = 0;
	if (st == NULL)
		return sqlite_errno(sqlite3_errcode(s->db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 0);

		if (kind != NULL && strcmp(kind, "stacks") == 0)
			*ret_stacks += sqlite3_column_int64(st, 1);
		else
			*ret_full += sqlite3_column_int64(st, 1);
	}
	return end_rows(st, rc);
}

static void
fill_id(sqlite3_stmt *st, void *item, void *ud)
{
	(void)ud;
	*(int64_t *)item = sqlite3_column_int64(st, 0);
}

int
store_baselines(struct store *s, int64_t lo, int64_t hi, int64_t **ret, size_t *ret_n)
{
	void *v;
	int r = collect(s, prep(s, ST_BASELINES, "ii", lo, hi), sizeof(**ret), fill_id,
	    NULL, &v, ret_n);

	*ret = v;
	return r;
}

/* ---- series and stacks ------------------------------------------------------- */

static void
read_series(sqlite3_stmt *st, struct series_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->kind = sqlite3_column_int(st, 1);
	r->key = (const char *)sqlite3_column_text(st, 2);
	r->culprit = (const char *)sqlite3_column_text(st, 3);
	r->module = (const char *)sqlite3_column_text(st, 4);
	r->first = sqlite3_column_int64(st, 5);
	r->pages = sqlite3_column_int64(st, 6);
	r->blocks = sqlite3_column_int64(st, 7);
	r->last_change = sqlite3_column_int64(st, 8);
	r->growing_since = sqlite3_column_int64(st, 9);
	r->ts_min = sqlite3_column_int64(st, 10);
	if (r->key == NULL)
		r->key = "";
	if (r->culprit == NULL)
		r->culprit = "";
	if (r->module == NULL)
		r->module = "";
}

/* fn per series with an id above after, in id order; fn's non-zero stops. */
int
store_each_series(struct store *s, int64_t after,
    int (*fn)(const struct series_row *row, void *ud), void *ud)
{
	sqlite3_stmt *st = prep(s, ST_SERIES_SINCE, "i", after);
	int rc;

	if (st == NULL)
		return sqlite_errno(sqlite3_errcode(s->db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct series_row r;
		int x;

		read_series(st, &r);
		if ((x = fn(&r, ud)) != 0) {
			sqlite3_reset(st);
			return x;
		}
	}
	return end_rows(st, rc);
}

/* A series' latest value (its strings are not kept: they are NULL). */
int
store_series_totals(struct store *s, int64_t id, struct series_row *ret)
{
	sqlite3_stmt *st = prep(s, ST_SERIES_GET, "i", id);
	int r = step_row(s, st);

	memset(ret, 0, sizeof(*ret));
	if (r > 0) {
		read_series(st, ret);
		ret->key = ret->culprit = ret->module = NULL;
		sqlite3_reset(st);
	}
	return r;
}

int
store_each_stack(struct store *s, int (*fn)(const struct stack_row *row, void *ud),
    void *ud)
{
	sqlite3_stmt *st = prep(s, ST_STACK_ALL, "");
	int rc;

	if (st == NULL)
		return sqlite_errno(sqlite3_errcode(s->db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct stack_row r = {
			.id = sqlite3_column_int64(st, 0),
			.hash = (uint64_t)sqlite3_column_int64(st, 1),
			.series = sqlite3_column_int64(st, 2),
		};
		int x;

		if ((x = fn(&r, ud)) != 0) {
			sqlite3_reset(st);
			return x;
		}
	}
	return end_rows(st, rc);
}

int
store_stack_series(struct store *s, int64_t stack, int64_t *ret_series)
{
	sqlite3_stmt *st = prep(s, ST_STACK_GET, "i", stack);
	int r = step_row(s, st);

	*ret_series = 0;
	if (r > 0) {
		*ret_series = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return r;
}

/* The exact stacks of a series, oldest first, with their frames. */
static void
fill_stack(sqlite3_stmt *st, void *item, void *ud)
{
	struct stack_row *v = item;
	const char *f = (const char *)sqlite3_column_text(st, 3);

	(void)ud;
	v->id = sqlite3_column_int64(st, 0);
	v->hash = (uint64_t)sqlite3_column_int64(st, 1);
	v->series = sqlite3_column_int64(st, 2);
	v->frames = po_xstrdup(f ? f : "");
	v->first = sqlite3_column_int64(st, 4);
}

int
store_stacks_of_series(struct store *s, int64_t series, struct stack_row **ret,
    size_t *ret_n)
{
	void *v;
	int r = collect(s, prep(s, ST_STACKS_OF_SERIES, "i", series), sizeof(**ret),
	    fill_stack, NULL, &v, ret_n);

	*ret = v;
	return r;
}

void
store_stack_rows_free(struct stack_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].frames);
	free(v);
}

/* ---- blobs -------------------------------------------------------------------- */

/* The first column a snapshot id, the second a blob. */
static int
id_and_blob(struct store *s, sqlite3_stmt *st, int64_t *ret_id, struct store_blob *ret)
{
	int r = step_row(s, st);

	*ret_id = 0;
	memset(ret, 0, sizeof(*ret));
	if (r > 0) {
		*ret_id = sqlite3_column_int64(st, 0);
		take_blob(st, 1, ret);
		sqlite3_reset(st);
	}
	return r;
}

/* The detail of the latest full read at or before at_most. */
int
store_detail_latest(struct store *s, int64_t at_most, int64_t *ret_snapshot,
    struct store_blob *ret)
{
	return id_and_blob(s, prep(s, ST_DETAIL_LATEST, "i", at_most), ret_snapshot, ret);
}

int
store_checkpoint_before(struct store *s, int64_t at_most, int64_t *ret_snapshot,
    struct store_blob *ret)
{
	return id_and_blob(s, prep(s, ST_CHECKPOINT_BEFORE, "i", at_most),
	    ret_snapshot, ret);
}

int
store_checkpoint_exists(struct store *s, int64_t snapshot)
{
	sqlite3_stmt *st = prep(s, ST_CHECKPOINT_AT, "i", snapshot);
	int r = step_row(s, st);

	if (r > 0)
		sqlite3_reset(st);
	return r;
}

/* The rollup of a level that ends last, with its blob. */
int
store_bucket_last(struct store *s, int level, struct bucket_meta *ret,
    struct store_blob *ret_blob)
{
	sqlite3_stmt *st = prep(s, ST_BUCKET_LAST, "i", (int64_t)level);
	int r = step_row(s, st);

	memset(ret, 0, sizeof(*ret));
	memset(ret_blob, 0, sizeof(*ret_blob));
	if (r > 0) {
		ret->level = level;
		ret->start = sqlite3_column_int64(st, 0);
		ret->first = sqlite3_column_int64(st, 1);
		ret->last = sqlite3_column_int64(st, 2);
		ret->n = sqlite3_column_int64(st, 3);
		take_blob(st, 4, ret_blob);
		ret->boot = sqlite3_column_int64(st, 5);
		ret->t_first = sqlite3_column_double(st, 6);
		sqlite3_reset(st);
	}
	return r;
}

/* Rollups of a level that overlap lo..hi, by their first snapshot. */
static void
fill_bucket(sqlite3_stmt *st, void *item, void *ud)
{
	struct bucket_meta *v = item;

	v->level = *(const int *)ud;
	v->start = sqlite3_column_int64(st, 0);
	v->first = sqlite3_column_int64(st, 1);
	v->last = sqlite3_column_int64(st, 2);
	v->t_last = sqlite3_column_double(st, 3);
	v->n = sqlite3_column_int64(st, 4);
}

int
store_buckets(struct store *s, int level, int64_t lo, int64_t hi,
    struct bucket_meta **ret, size_t *ret_n)
{
	void *v;
	int r = collect(s, prep(s, ST_BUCKETS_META, "iii", (int64_t)level, lo, hi),
	    sizeof(**ret), fill_bucket, &level, &v, ret_n);

	*ret = v;
	return r;
}

int
store_bucket_blob(struct store *s, int level, int64_t start, struct store_blob *ret)
{
	sqlite3_stmt *st = prep(s, ST_BUCKET_BLOB, "ii", (int64_t)level, start);
	int r = step_row(s, st);

	memset(ret, 0, sizeof(*ret));
	if (r > 0) {
		take_blob(st, 0, ret);
		sqlite3_reset(st);
	}
	return r;
}

int
store_each_change(struct store *s, int64_t lo, int64_t hi,
    int (*fn)(int64_t snapshot, const void *blob, size_t len, void *ud), void *ud)
{
	sqlite3_stmt *st = prep(s, ST_CHANGES_RANGE, "ii", lo, hi);
	int rc;

	if (st == NULL)
		return sqlite_errno(sqlite3_errcode(s->db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int x = fn(sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1), ud);

		if (x != 0) {
			sqlite3_reset(st);
			return x;
		}
	}
	return end_rows(st, rc);
}

/* ---- sweep windows ---------------------------------------------------------- */

int
store_window_put(struct store *s, const struct window_row *w, const void *blob,
    size_t len)
{
	return run(s, prep(s, ST_WINDOW_PUT, "iiiiidB", w->idx, (int64_t)w->lo,
	    (int64_t)w->hi, w->snapshot, w->boot, w->time, blob, len));
}

int
store_window_drop(struct store *s, int64_t idx)
{
	return run(s, prep(s, ST_WINDOW_DROP, "i", idx));
}

int
store_windows_clear(struct store *s)
{
	return run(s, prep(s, ST_WINDOW_CLEAR, ""));
}

/* fn per window row, in PFN order, with its blob (borrowed for the call). */
int
store_each_window(struct store *s,
    int (*fn)(const struct window_row *w, const void *blob, size_t len, void *ud),
    void *ud)
{
	sqlite3_stmt *st = prep(s, ST_WINDOWS_ALL, "");
	int rc;

	if (st == NULL)
		return sqlite_errno(sqlite3_errcode(s->db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct window_row w = {
			.idx = sqlite3_column_int64(st, 0),
			.lo = (uint64_t)sqlite3_column_int64(st, 1),
			.hi = (uint64_t)sqlite3_column_int64(st, 2),
			.snapshot = sqlite3_column_int64(st, 3),
			.boot = sqlite3_column_int64(st, 4),
			.time = sqlite3_column_double(st, 5),
		};
		int x = fn(&w, sqlite3_column_blob(st, 6),
		    (size_t)sqlite3_column_bytes(st, 6), ud);

		if (x != 0) {
			sqlite3_reset(st);
			return x;
		}
	}
	return end_rows(st, rc);
}

/* How many windows a sweep keeps, and its oldest read: 1, 0 = none. */
int
store_windows_summary(struct store *s, int64_t *ret_n, double *ret_oldest,
    int64_t *ret_oldest_snapshot)
{
	sqlite3_stmt *st = prep(s, ST_WINDOWS_SUMMARY, "");
	int r = step_row(s, st);

	*ret_n = 0;
	*ret_oldest = 0;
	*ret_oldest_snapshot = 0;
	if (r > 0) {
		*ret_n = sqlite3_column_int64(st, 0);
		*ret_oldest = sqlite3_column_double(st, 1);
		*ret_oldest_snapshot = sqlite3_column_int64(st, 2);
		sqlite3_reset(st);
	}
	return r > 0 ? (*ret_n > 0) : r;
}

/* A window's stored values and the snapshot that read them: 1, 0 = none. */
int
store_window_get(struct store *s, int64_t idx, int64_t *ret_snapshot,
    struct store_blob *ret)
{
	return id_and_blob(s, prep(s, ST_WINDOW_GET, "i", idx), ret_snapshot, ret);
}

/* ---- sampled estimates --------------------------------------------------------- */

int
store_estimate_put(struct store *s, const struct estimate_row *e, const void *blob,
    size_t len)
{
	return run(s, prep(s, ST_ESTIMATE_PUT, "iiiiB", e->snapshot, e->windows,
	    e->sampled, e->strata, blob, len));
}

/* The first (or last) estimate of a snapshot in [lo, hi]: 1, 0 = none. */
int
store_estimate_in(struct store *s, int64_t lo, int64_t hi, bool last,
    struct estimate_row *ret, struct store_blob *blob)
{
	sqlite3_stmt *st = prep(s, last ? ST_ESTIMATE_LAST : ST_ESTIMATE_FIRST, "ii",
	    lo, hi);
	int r = step_row(s, st);

	memset(ret, 0, sizeof(*ret));
	memset(blob, 0, sizeof(*blob));
	if (r > 0) {
		ret->snapshot = sqlite3_column_int64(st, 0);
		ret->windows = sqlite3_column_int64(st, 1);
		ret->sampled = sqlite3_column_int64(st, 2);
		ret->strata = sqlite3_column_int64(st, 3);
		take_blob(st, 4, blob);
		sqlite3_reset(st);
	}
	return r;
}
