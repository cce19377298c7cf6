-- 002-query-indexes.sql: indexes the queries need on a long history.
--
-- Baselines (first snapshot of a boot) are few; queries look them up in
-- a window to restart value walks there.  Rollups are found by level and
-- snapshot range without reading their blobs.
CREATE INDEX snapshots_baseline ON snapshots(id) WHERE baseline;
CREATE INDEX buckets_range ON buckets(level, first_snapshot, last_snapshot);
CREATE INDEX snapshots_kind ON snapshots(kind, id);
