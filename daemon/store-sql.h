/*
 * store-sql.h: the text of every statement store.c prepares, by id.  Read
 * by store.c only (the schema itself is schema/NNN-*.sql).
 */
#ifndef STORE_SQL_H
#define STORE_SQL_H

/* Statements, by id. */
enum stmt {
	ST_BEGIN, ST_BEGIN_READ, ST_COMMIT, ST_ROLLBACK,
	ST_BOOT_FIND, ST_BOOT_INSERT, ST_BOOT_RANGE,
	ST_SNAP_INSERT, ST_SNAP_UPDATE, ST_SNAP_PIN, ST_SNAP_LAST, ST_SNAP_ID,
	ST_SNAP_WINDOW, ST_SNAP_COUNT, ST_SNAP_AT_OR_BEFORE, ST_SNAP_AT_OR_AFTER,
	ST_SNAP_TIMES, ST_SNAP_KINDS, ST_BASELINES, ST_SNAP_LAST_FULL,
	ST_SERIES_INSERT, ST_SERIES_SINCE, ST_SERIES_GET,
	ST_STACK_INSERT, ST_STACK_ALL, ST_STACKS_OF_SERIES, ST_STACK_GET,
	ST_TOTALS_PUT, ST_CHANGES_PUT, ST_CHANGES_RANGE,
	ST_CHECKPOINT_PUT, ST_CHECKPOINT_BEFORE, ST_CHECKPOINT_AT,
	ST_DETAIL_PUT, ST_DETAIL_DROP_OLD, ST_DETAIL_LATEST,
	ST_BUCKET_PUT, ST_BUCKET_LAST, ST_BUCKETS_META, ST_BUCKET_BLOB,
	ST_PRUNE_CHANGES, ST_PRUNE_HOURLY, ST_PRUNE_CHECKPOINTS, ST_PRUNE_SNAPSHOTS,
	ST_OLDEST_DAY, ST_CAP_BUCKETS, ST_CAP_CHANGES, ST_CAP_CHECKPOINTS,
	ST_CAP_SNAPSHOTS,
	ST_WINDOW_PUT, ST_WINDOW_DROP, ST_WINDOW_CLEAR, ST_WINDOWS_ALL, ST_WINDOWS_SUMMARY,
	ST_WINDOW_GET, ST_ESTIMATE_PUT, ST_ESTIMATE_FIRST, ST_ESTIMATE_LAST,
	ST_PRUNE_ESTIMATES, ST_CAP_ESTIMATES,
	ST__MAX,
};

/* The columns read_snap() expects, in order. */
#define SNAP_COLUMNS "s.id, s.boot, s.time, s.mono_ns, s.baseline, s.identities, " \
	"s.kind, s.source, s.format, s.duration, s.cpu_user, s.cpu_sys, s.parse_s, " \
	"s.diff_s, s.store_s, s.bytes, s.records, s.pages, s.malformed, " \
	"s.unknown_lines, s.stacks, s.changed, s.pinned, b.boot_id, b.kernel"
/* The columns bind_snap() binds, as ?1 to ?21. */
#define SNAP_BOUND "boot, time, mono_ns, baseline, identities, kind, source, format, " \
	"duration, cpu_user, cpu_sys, parse_s, diff_s, store_s, bytes, records, " \
	"pages, malformed, unknown_lines, stacks, changed"
#define SERIES_COLUMNS "s.id, s.kind, s.key, s.culprit, s.module, s.first_snapshot, " \
	"t.pages, t.blocks, t.snapshot, t.growing_since, t.ts_min " \
	"FROM series s LEFT JOIN totals t ON t.series = s.id"

static const char *const sql_text[ST__MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_BOOT_FIND] = "SELECT id FROM boots WHERE boot_id = ?1",
	[ST_BOOT_INSERT] = "INSERT INTO boots (boot_id, kernel) VALUES (?1, ?2)",
	[ST_BOOT_RANGE] =
	    "UPDATE boots SET first_snapshot = COALESCE(first_snapshot, ?2), "
	    "last_snapshot = ?2 WHERE id = ?1",
	[ST_SNAP_INSERT] =
	    "INSERT INTO snapshots (" SNAP_BOUND ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
	[ST_SNAP_UPDATE] =
	    "UPDATE snapshots SET (" SNAP_BOUND ") = (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	    "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21) "
	    "WHERE id = ?22",
	[ST_SNAP_PIN] = "UPDATE snapshots SET pinned = ?2 WHERE id = ?1",
	[ST_SNAP_LAST] =
	    "SELECT " SNAP_COLUMNS " FROM snapshots s JOIN boots b ON b.id = s.boot "
	    "ORDER BY s.id DESC LIMIT 1",
	[ST_SNAP_ID] =
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
	    "SELECT id, time, baseline, boot, kind = 'full', identities FROM snapshots "
	    "WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
	[ST_SNAP_KINDS] =
	    "SELECT 'full', COUNT(*) FROM snapshots WHERE kind = 'full' AND id BETWEEN ?1 AND ?2 "
	    "UNION ALL SELECT 'stacks', COUNT(*) FROM snapshots WHERE kind = 'stacks' AND "
	    "id BETWEEN ?1 AND ?2",
	[ST_SNAP_LAST_FULL] =
	    "SELECT id FROM snapshots WHERE kind = 'full' AND id <= ?1 ORDER BY id DESC "
	    "LIMIT 1",
	[ST_BASELINES] =
	    "SELECT id FROM snapshots WHERE baseline AND id BETWEEN ?1 AND ?2 ORDER BY id",
	[ST_SERIES_INSERT] =
	    "INSERT INTO series (kind, key, culprit, module, first_snapshot) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_SERIES_SINCE] = "SELECT " SERIES_COLUMNS " WHERE s.id > ?1 ORDER BY s.id",
	[ST_SERIES_GET] = "SELECT " SERIES_COLUMNS " WHERE s.id = ?1",
	[ST_STACK_INSERT] =
	    "INSERT INTO stacks (hash, series, frames, first_snapshot) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[ST_STACK_ALL] = "SELECT id, hash, series FROM stacks",
	[ST_STACKS_OF_SERIES] =
	    "SELECT id, hash, series, frames, first_snapshot FROM stacks "
	    "WHERE series = ?1 ORDER BY id",
	[ST_STACK_GET] = "SELECT series FROM stacks WHERE id = ?1",
	[ST_TOTALS_PUT] =
	    "INSERT OR REPLACE INTO totals (series, pages, blocks, snapshot, "
	    "growing_since, ts_min) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_CHANGES_PUT] = "INSERT OR REPLACE INTO changes (snapshot, data) VALUES (?1, ?2)",
	[ST_CHANGES_RANGE] =
	    "SELECT snapshot, data FROM changes WHERE snapshot BETWEEN ?1 AND ?2 "
	    "ORDER BY snapshot",
	[ST_CHECKPOINT_PUT] =
	    "INSERT OR REPLACE INTO checkpoints (snapshot, data) VALUES (?1, ?2)",
	[ST_CHECKPOINT_BEFORE] =
	    "SELECT snapshot, data FROM checkpoints WHERE snapshot <= ?1 "
	    "ORDER BY snapshot DESC LIMIT 1",
	[ST_CHECKPOINT_AT] = "SELECT 1 FROM checkpoints WHERE snapshot = ?1",
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
	[ST_BUCKET_LAST] =
	    "SELECT b.start, b.first_snapshot, b.last_snapshot, b.nsnapshots, "
	    "b.data, s.boot, s.time FROM buckets b "
	    "JOIN snapshots s ON s.id = b.first_snapshot WHERE b.level = ?1 "
	    "ORDER BY b.last_snapshot DESC LIMIT 1",
	[ST_BUCKETS_META] =
	    "SELECT b.start, b.first_snapshot, b.last_snapshot, COALESCE(s.time, 0), "
	    "b.nsnapshots FROM buckets b LEFT JOIN snapshots s ON s.id = b.last_snapshot "
	    "WHERE b.level = ?1 AND b.last_snapshot >= ?2 AND b.first_snapshot <= ?3 "
	    "ORDER BY b.first_snapshot",
	[ST_BUCKET_BLOB] = "SELECT data FROM buckets WHERE level = ?1 AND start = ?2",
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
	[ST_OLDEST_DAY] = "SELECT MIN(time) FROM snapshots WHERE NOT pinned",
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
	[ST_WINDOW_PUT] =
	    "INSERT OR REPLACE INTO windows (idx, lo, hi, snapshot, boot, time, data) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_WINDOW_DROP] = "DELETE FROM windows WHERE idx = ?1",
	[ST_WINDOW_CLEAR] = "DELETE FROM windows",
	[ST_WINDOWS_ALL] =
	    "SELECT idx, lo, hi, snapshot, boot, time, data FROM windows ORDER BY idx",
	[ST_WINDOWS_SUMMARY] = "SELECT COUNT(*), MIN(time), MIN(snapshot) FROM windows",
	[ST_WINDOW_GET] = "SELECT snapshot, data FROM windows WHERE idx = ?1",
	[ST_ESTIMATE_PUT] =
	    "INSERT OR REPLACE INTO estimates (snapshot, windows, sampled, strata, data) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_ESTIMATE_FIRST] =
	    "SELECT snapshot, windows, sampled, strata, data FROM estimates "
	    "WHERE snapshot BETWEEN ?1 AND ?2 ORDER BY snapshot LIMIT 1",
	[ST_ESTIMATE_LAST] =
	    "SELECT snapshot, windows, sampled, strata, data FROM estimates "
	    "WHERE snapshot BETWEEN ?1 AND ?2 ORDER BY snapshot DESC LIMIT 1",
	/* with their snapshots; older than ?1, the last of each hour */
	[ST_PRUNE_ESTIMATES] =
	    "DELETE FROM estimates WHERE snapshot NOT IN (SELECT id FROM snapshots) "
	    "OR (snapshot IN (SELECT id FROM snapshots WHERE time < ?1 AND NOT pinned) "
	    "AND snapshot NOT IN (SELECT MAX(e.snapshot) FROM estimates e JOIN "
	    "snapshots s ON s.id = e.snapshot GROUP BY CAST(s.time / 3600 AS INTEGER)))",
	[ST_CAP_ESTIMATES] =
	    "DELETE FROM estimates WHERE snapshot IN (SELECT id FROM snapshots "
	    "WHERE time < ?1 AND NOT pinned) OR snapshot NOT IN (SELECT id FROM snapshots)",
};

#endif
