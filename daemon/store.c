/*
 * store.c: the SQLite database.  All SQL lives in this file, in the table
 * below, prepared once per connection.
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

#include "page-ownerd.h"
#include "store-migrations.h"

struct store {
	sqlite3		*db;
	char		*path;
	bool		 readonly;
	dev_t		 dev;		/* the file opened, to notice it replaced */
	ino_t		 ino;
	sqlite3_stmt	*stmts[ST__MAX];	/* prepared on first use */
};

/* Every statement, by id.  Query statements are used by query.c. */
static const char *const sql_text[ST__MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_SNAP_KINDS] =
	    "SELECT 'full', COUNT(*) FROM snapshots WHERE kind = 'full' AND id BETWEEN ?1 AND ?2 "
	    "UNION ALL SELECT 'stacks', COUNT(*) FROM snapshots WHERE kind = 'stacks' AND "
	    "id BETWEEN ?1 AND ?2",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_BOOT_FIND] = "SELECT id FROM boots WHERE boot_id = ?1",
	[ST_BOOT_INSERT] = "INSERT INTO boots (boot_id, kernel) VALUES (?1, ?2)",
	[ST_BOOT_RANGE] =
	    "UPDATE boots SET first_snapshot = COALESCE(first_snapshot, ?2), "
	    "last_snapshot = ?2 WHERE id = ?1",
	[ST_SNAP_INSERT] =
	    "INSERT INTO snapshots (boot, time, mono_ns, baseline, identities, kind, "
	    "source, format, duration, cpu_user, cpu_sys, parse_s, diff_s, store_s, "
	    "bytes, records, pages, malformed, unknown_lines, stacks, changed) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
	    "?15, ?16, ?17, ?18, ?19, ?20, ?21)",
	[ST_SNAP_FIELDS_LAST] =
	    "SELECT " SNAP_COLUMNS " FROM snapshots s JOIN boots b ON b.id = s.boot "
	    "ORDER BY s.id DESC LIMIT 1",
	[ST_SNAP_FIELDS_ID] =
	    "SELECT " SNAP_COLUMNS " FROM snapshots s JOIN boots b ON b.id = s.boot "
	    "WHERE s.id = ?1",
	[ST_SNAP_WINDOW] =
	    "SELECT " SNAP_COLUMNS " FROM snapshots s JOIN boots b ON b.id = s.boot "
	    "WHERE s.id BETWEEN ?1 AND ?2 ORDER BY s.id DESC LIMIT ?3",
	[ST_SNAP_COUNT] = "SELECT COUNT(*), MIN(id), MAX(id) FROM snapshots",
	[ST_SNAP_AT_OR_BEFORE] =
	    "SELECT id FROM snapshots WHERE time <= ?1 ORDER BY time DESC, id DESC LIMIT 1",
	[ST_SNAP_AT_OR_AFTER] =
	    "SELECT id FROM snapshots WHERE time >= ?1 ORDER BY time, id LIMIT 1",
	[ST_SNAP_TIMES] =
	    "SELECT id, time, baseline, boot FROM snapshots WHERE id BETWEEN ?1 AND ?2 "
	    "ORDER BY id",
	[ST_SNAP_PIN] = "UPDATE snapshots SET pinned = ?2 WHERE id = ?1",
	[ST_SNAP_UPDATE] =
	    "UPDATE snapshots SET duration = ?2, cpu_user = ?3, cpu_sys = ?4, "
	    "parse_s = ?5, diff_s = ?6, store_s = ?7, changed = ?8, bytes = ?9, "
	    "records = ?10, pages = ?11, format = ?12 WHERE id = ?1",
	[ST_SERIES_INSERT] =
	    "INSERT INTO series (kind, key, culprit, module, first_snapshot) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_SERIES_ALL] =
	    "SELECT s.id, s.kind, s.key, s.culprit, s.module, s.first_snapshot, "
	    "t.pages, t.blocks, t.snapshot, t.growing_since, t.ts_min "
	    "FROM series s LEFT JOIN totals t ON t.series = s.id ORDER BY s.id",
	[ST_SERIES_GET] =
	    "SELECT s.id, s.kind, s.key, s.culprit, s.module, s.first_snapshot, "
	    "t.pages, t.blocks, t.snapshot, t.growing_since, t.ts_min "
	    "FROM series s LEFT JOIN totals t ON t.series = s.id WHERE s.id = ?1",
	[ST_SERIES_FIND] = "SELECT id FROM series WHERE kind = ?1 AND key = ?2",
	[ST_SERIES_BY_KEY_PREFIX] =
	    "SELECT id FROM series WHERE kind = ?1 AND key >= ?2 AND key < ?3 LIMIT 2",
	[ST_SERIES_MAX] = "SELECT COALESCE(MAX(id), 0) FROM series",
	[ST_STACK_INSERT] =
	    "INSERT INTO stacks (hash, series, frames, first_snapshot) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[ST_STACK_ALL] = "SELECT id, hash, series FROM stacks",
	[ST_STACKS_OF_SERIES] =
	    "SELECT id, hash, frames, first_snapshot FROM stacks WHERE series = ?1 "
	    "ORDER BY id",
	[ST_STACK_GET] = "SELECT id, hash, series, frames FROM stacks WHERE id = ?1",
	[ST_STACK_BY_HASH_PREFIX] =
	    "SELECT series FROM stacks WHERE hash >= ?1 AND hash <= ?2 LIMIT 2",
	[ST_TOTALS_PUT] =
	    "INSERT OR REPLACE INTO totals (series, pages, blocks, snapshot, "
	    "growing_since, ts_min) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_CHANGES_PUT] = "INSERT OR REPLACE INTO changes (snapshot, data) VALUES (?1, ?2)",
	[ST_CHECKPOINT_PUT] =
	    "INSERT OR REPLACE INTO checkpoints (snapshot, data) VALUES (?1, ?2)",
	[ST_DETAIL_PUT] = "INSERT OR REPLACE INTO detail (snapshot, data) VALUES (?1, ?2)",
	[ST_DETAIL_DROP_OLD] =
	    "DELETE FROM detail WHERE snapshot < ?1 AND snapshot NOT IN "
	    "(SELECT id FROM snapshots WHERE pinned)",
	[ST_DETAIL_LATEST] =
	    "SELECT snapshot, data FROM detail WHERE snapshot <= ?1 "
	    "ORDER BY snapshot DESC LIMIT 1",
	[ST_BUCKET_PUT] =
	    "INSERT OR REPLACE INTO buckets (level, start, first_snapshot, "
	    "last_snapshot, nsnapshots, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_BUCKETS_OF_LEVEL] =
	    "SELECT start, first_snapshot, last_snapshot, nsnapshots, data "
	    "FROM buckets WHERE level = ?1 AND last_snapshot >= ?2 AND "
	    "first_snapshot <= ?3 ORDER BY first_snapshot",
	[ST_BUCKET_LAST] =
	    "SELECT b.start, b.first_snapshot, b.last_snapshot, b.nsnapshots, "
	    "b.data, s.boot, s.time FROM buckets b "
	    "JOIN snapshots s ON s.id = b.first_snapshot WHERE b.level = ?1 "
	    "ORDER BY b.last_snapshot DESC LIMIT 1",
	[ST_CHANGES_RANGE] =
	    "SELECT snapshot, data FROM changes WHERE snapshot BETWEEN ?1 AND ?2 "
	    "ORDER BY snapshot",
	[ST_CHANGES_FIRST] = "SELECT COALESCE(MIN(snapshot), 0) FROM changes",
	[ST_CHECKPOINT_BEFORE] =
	    "SELECT snapshot, data FROM checkpoints WHERE snapshot <= ?1 "
	    "ORDER BY snapshot DESC LIMIT 1",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
	[ST_PRUNE_CHANGES] =
	    "DELETE FROM changes WHERE snapshot IN (SELECT id FROM snapshots "
	    "WHERE time < ?1 AND NOT pinned) AND snapshot <= "
	    "(SELECT COALESCE(MAX(last_snapshot), 0) FROM buckets WHERE level = 1)",
	[ST_PRUNE_HOURLY] =
	    "DELETE FROM buckets WHERE level = 1 AND start < ?1 AND last_snapshot <= "
	    "(SELECT COALESCE(MAX(last_snapshot), 0) FROM buckets WHERE level = 2)",
	[ST_PRUNE_CHECKPOINTS] =
	    "DELETE FROM checkpoints WHERE snapshot IN (SELECT c.snapshot FROM "
	    "checkpoints c JOIN snapshots s ON s.id = c.snapshot WHERE s.time < ?1 "
	    "AND NOT s.baseline AND NOT s.pinned) AND snapshot NOT IN (SELECT "
	    "MAX(c2.snapshot) FROM checkpoints c2 JOIN snapshots s2 ON "
	    "s2.id = c2.snapshot GROUP BY CAST(s2.time / 86400 AS INTEGER))",
	[ST_PRUNE_SNAPSHOTS] =
	    "DELETE FROM snapshots WHERE time < ?1 AND NOT pinned AND NOT baseline "
	    "AND id NOT IN (SELECT snapshot FROM checkpoints) AND id NOT IN "
	    "(SELECT snapshot FROM changes) AND id NOT IN (SELECT snapshot FROM detail) "
	    "AND id NOT IN (SELECT first_snapshot FROM buckets) AND id NOT IN "
	    "(SELECT last_snapshot FROM buckets) AND id <> (SELECT MAX(id) FROM snapshots)",
	[ST_OLDEST_DAY] =
	    "SELECT MIN(time) FROM snapshots WHERE NOT pinned",
	[ST_CAP_BUCKETS] = "DELETE FROM buckets WHERE start < ?1",
	[ST_CAP_CHANGES] =
	    "DELETE FROM changes WHERE snapshot IN (SELECT id FROM snapshots "
	    "WHERE time < ?1 AND NOT pinned)",
	[ST_CAP_CHECKPOINTS] =
	    "DELETE FROM checkpoints WHERE snapshot IN (SELECT id FROM snapshots "
	    "WHERE time < ?1 AND NOT pinned) AND snapshot <> (SELECT MAX(snapshot) "
	    "FROM checkpoints)",
	[ST_CAP_SNAPSHOTS] =
	    "DELETE FROM snapshots WHERE time < ?1 AND NOT pinned AND id NOT IN "
	    "(SELECT snapshot FROM checkpoints) AND id NOT IN (SELECT snapshot FROM "
	    "detail) AND id <> (SELECT MAX(id) FROM snapshots)",
	[ST_PAGE_COUNT] = "PRAGMA page_count",
	[ST_PAGE_SIZE] = "PRAGMA page_size",
	[ST_FREELIST] = "PRAGMA freelist_count",
	[ST_SERIES_SINCE] =
	    "SELECT id, kind, key, culprit, module, first_snapshot FROM series "
	    "WHERE id > ?1 ORDER BY id",
	[ST_BUCKETS_META] =
	    "SELECT b.start, b.first_snapshot, b.last_snapshot, COALESCE(s.time, 0) "
	    "FROM buckets b LEFT JOIN snapshots s ON s.id = b.last_snapshot "
	    "WHERE b.level = ?1 AND b.last_snapshot >= ?2 AND b.first_snapshot <= ?3 "
	    "ORDER BY b.first_snapshot",
	[ST_BUCKET_BLOB] = "SELECT data FROM buckets WHERE level = ?1 AND start = ?2",
	[ST_BASELINES] =
	    "SELECT id FROM snapshots WHERE baseline AND id BETWEEN ?1 AND ?2 ORDER BY id",
};

/* Hourly checkpoints are kept this long, then one a day. */
#define CHECKPOINTS_HOURLY	(2 * 86400.0)

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

int
store_errno(struct store *s, int rc)
{
	(void)s;
	return sqlite_errno(rc);
}

sqlite3_stmt *
store_stmt(struct store *s, enum store_stmt id)
{
	sqlite3_stmt *st;

	if ((unsigned)id >= ST__MAX || sql_text[id] == NULL)
		return NULL;
	if (s->stmts[id] == NULL) {
		if (sqlite3_prepare_v3(s->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
		    &s->stmts[id], NULL) != SQLITE_OK)
			return NULL;
	}
	st = s->stmts[id];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Run a statement with no result rows. */
static int
exec_stmt(struct store *s, sqlite3_stmt *st)
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
	{
		struct stat sb;

		if (stat(path, &sb) == 0) {
			s->dev = sb.st_dev;
			s->ino = sb.st_ino;
		}
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

sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

const char *
store_path(const struct store *s)
{
	return s->path;
}

const char *
store_errmsg(struct store *s)
{
	return sqlite3_errmsg(s->db);
}

int
store_begin(struct store *s)
{
	return exec_stmt(s, store_stmt(s, ST_BEGIN));
}

/*
 * A query's read transaction: one consistent view of the history for the
 * whole query (the collector's commits and pruning do not show through
 * half-way), and one lock instead of one per statement.
 */
int
store_read_begin(struct store *s)
{
	return exec_stmt(s, store_stmt(s, ST_BEGIN_READ));
}

void
store_read_end(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)exec_stmt(s, store_stmt(s, ST_COMMIT));
}

int
store_commit(struct store *s)
{
	return exec_stmt(s, store_stmt(s, ST_COMMIT));
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)exec_stmt(s, store_stmt(s, ST_ROLLBACK));
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

int
store_boot(struct store *s, const char *boot_id, const char *kernel, int64_t *ret_id)
{
	sqlite3_stmt *st = store_stmt(s, ST_BOOT_FIND);
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_text(st, 1, boot_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sqlite_errno(rc);
	st = store_stmt(s, ST_BOOT_INSERT);
	if (st == NULL)
		return -EIO;
	sqlite3_bind_text(st, 1, boot_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kernel, -1, SQLITE_STATIC);
	rc = exec_stmt(s, st);
	if (rc == 0)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int
store_set_boot_range(struct store *s, int64_t boot, int64_t snapshot)
{
	sqlite3_stmt *st = store_stmt(s, ST_BOOT_RANGE);

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, boot);
	sqlite3_bind_int64(st, 2, snapshot);
	return exec_stmt(s, st);
}

int
store_insert_snapshot(struct store *s, struct snap_row *r)
{
	sqlite3_stmt *st = store_stmt(s, ST_SNAP_INSERT);
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, r->boot);
	sqlite3_bind_double(st, 2, r->time);
	sqlite3_bind_int64(st, 3, r->mono_ns);
	sqlite3_bind_int(st, 4, r->baseline);
	sqlite3_bind_int(st, 5, r->identities);
	sqlite3_bind_text(st, 6, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, r->format, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 9, r->duration);
	sqlite3_bind_double(st, 10, r->cpu_user);
	sqlite3_bind_double(st, 11, r->cpu_sys);
	sqlite3_bind_double(st, 12, r->parse_s);
	sqlite3_bind_double(st, 13, r->diff_s);
	sqlite3_bind_double(st, 14, r->store_s);
	sqlite3_bind_int64(st, 15, r->bytes);
	sqlite3_bind_int64(st, 16, r->records);
	sqlite3_bind_int64(st, 17, r->pages);
	sqlite3_bind_int64(st, 18, r->malformed);
	sqlite3_bind_int64(st, 19, r->unknown_lines);
	sqlite3_bind_int64(st, 20, r->stacks);
	sqlite3_bind_int64(st, 21, r->changed);
	rc = exec_stmt(s, st);
	if (rc == 0)
		r->id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

/* Fill a snap_row from a statement selecting SNAP_COLUMNS. */
void
store_read_snap(sqlite3_stmt *st, struct snap_row *r)
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
	int rc;

	if (st == NULL)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store_read_snap(st, ret);
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	(void)s;
	return rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
}

/* 1 and the newest snapshot, 0 when there is none. */
int
store_last_snapshot(struct store *s, struct snap_row *ret)
{
	return one_snap(s, store_stmt(s, ST_SNAP_FIELDS_LAST), ret);
}

int
store_snapshot(struct store *s, int64_t id, struct snap_row *ret)
{
	sqlite3_stmt *st = store_stmt(s, ST_SNAP_FIELDS_ID);

	if (st != NULL)
		sqlite3_bind_int64(st, 1, id);
	return one_snap(s, st, ret);
}

int
store_insert_series(struct store *s, enum series_kind kind, const char *key,
    const char *culprit, const char *module, int64_t first, int64_t *ret_id)
{
	sqlite3_stmt *st = store_stmt(s, ST_SERIES_INSERT);
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, culprit ? culprit : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, module ? module : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, first);
	rc = exec_stmt(s, st);
	if (rc == 0)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int
store_insert_stack(struct store *s, uint64_t hash, int64_t series,
    const char *frames, size_t frames_len, int64_t first, int64_t *ret_id)
{
	sqlite3_stmt *st = store_stmt(s, ST_STACK_INSERT);
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)hash);
	sqlite3_bind_int64(st, 2, series);
	sqlite3_bind_text(st, 3, frames, (int)frames_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, first);
	rc = exec_stmt(s, st);
	if (rc == 0)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int
store_put_blob(struct store *s, const char *table, int64_t snapshot,
    const void *blob, size_t len)
{
	enum store_stmt id;
	sqlite3_stmt *st;

	if (strcmp(table, "changes") == 0)
		id = ST_CHANGES_PUT;
	else if (strcmp(table, "checkpoints") == 0)
		id = ST_CHECKPOINT_PUT;
	else if (strcmp(table, "detail") == 0)
		id = ST_DETAIL_PUT;
	else
		return -EINVAL;
	st = store_stmt(s, id);
	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, snapshot);
	sqlite3_bind_blob(st, 2, blob, (int)len, SQLITE_STATIC);
	return exec_stmt(s, st);
}

int
store_put_totals(struct store *s, int64_t series, int64_t pages, int64_t blocks,
    int64_t snapshot, int64_t growing_since, int64_t ts_min)
{
	sqlite3_stmt *st = store_stmt(s, ST_TOTALS_PUT);

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, series);
	sqlite3_bind_int64(st, 2, pages);
	sqlite3_bind_int64(st, 3, blocks);
	sqlite3_bind_int64(st, 4, snapshot);
	sqlite3_bind_int64(st, 5, growing_since);
	sqlite3_bind_int64(st, 6, ts_min);
	return exec_stmt(s, st);
}

int
store_put_bucket(struct store *s, int level, int64_t start, int64_t first,
    int64_t last, int64_t n, const void *blob, size_t len)
{
	sqlite3_stmt *st = store_stmt(s, ST_BUCKET_PUT);

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int(st, 1, level);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, first);
	sqlite3_bind_int64(st, 4, last);
	sqlite3_bind_int64(st, 5, n);
	sqlite3_bind_blob(st, 6, blob, (int)len, SQLITE_STATIC);
	return exec_stmt(s, st);
}

int
store_drop_old_detail(struct store *s, int64_t keep)
{
	sqlite3_stmt *st = store_stmt(s, ST_DETAIL_DROP_OLD);

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, keep);
	return exec_stmt(s, st);
}

static int
exec_time(struct store *s, enum store_stmt id, double t, int64_t *deleted)
{
	sqlite3_stmt *st = store_stmt(s, id);
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_double(st, 1, t);
	r = exec_stmt(s, st);
	if (r == 0 && deleted != NULL)
		*deleted += sqlite3_changes(s->db);
	return r;
}

/*
 * Retention: full-resolution deltas for keep_full, hourly rollups for
 * keep_hourly, daily rollups and one checkpoint a day after that; then, over
 * max_size, whole days are dropped from the oldest.  Runs in its own
 * transaction; a running query keeps its snapshot of the data (WAL).
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
	    (r = exec_time(s, ST_PRUNE_SNAPSHOTS, now - keep_hourly, &deleted)) < 0) {
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
		sqlite3_stmt *st = store_stmt(s, ST_OLDEST_DAY);
		double oldest, cut;

		if (st == NULL || sqlite3_step(st) != SQLITE_ROW ||
		    sqlite3_column_type(st, 0) == SQLITE_NULL) {
			if (st)
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

int
store_meta_get(struct store *s, const char *key, char **ret)
{
	sqlite3_stmt *st = store_stmt(s, ST_META_GET);
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		*ret = po_xstrdup(t ? t : "");
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
}

int
store_meta_set(struct store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = store_stmt(s, ST_META_SET);

	if (st == NULL)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	return exec_stmt(s, st);
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

const char *
series_kind_name(enum series_kind k)
{
	switch (k) {
	case SERIES_STACK: return "stack";
	case SERIES_COMM: return "comm";
	case SERIES_MEMCG: return "memcg";
	case SERIES_MODULE: return "module";
	case SERIES_ORDER: return "order";
	case SERIES__KIND_MAX: break;
	}
	return "?";
}

int
series_kind_parse(const char *s, enum series_kind *ret)
{
	for (int k = SERIES_STACK; k < SERIES__KIND_MAX; k++)
		if (strcmp(s, series_kind_name((enum series_kind)k)) == 0) {
			*ret = (enum series_kind)k;
			return 0;
		}
	return -EINVAL;
}
