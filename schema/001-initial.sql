-- 001-initial.sql: the first schema of page-ownerd's database.
--
-- Migrations are applied in order and tracked by PRAGMA user_version; each
-- file runs in one transaction.  Never edit a released migration: add one.
--
-- Why blobs: 30 days of one-minute snapshots of a host with 20,000 stacks of
-- which 10% change each minute are 86 million per-series deltas; one row
-- each would take gigabytes.  Deltas are packed per snapshot (full
-- resolution) and rolled up per hour and per day, with periodic full-state
-- checkpoints; the daemon decodes them (daemon/pack.c documents the formats).

CREATE TABLE boots (
	id		INTEGER PRIMARY KEY,
	boot_id		TEXT NOT NULL UNIQUE,	-- /proc/sys/kernel/random/boot_id
	kernel		TEXT NOT NULL,		-- uname -r
	first_snapshot	INTEGER,
	last_snapshot	INTEGER
);

CREATE TABLE snapshots (
	id		INTEGER PRIMARY KEY,	-- increasing, never reused
	boot		INTEGER NOT NULL REFERENCES boots(id),
	time		REAL NOT NULL,		-- wall clock, Unix seconds
	mono_ns		INTEGER NOT NULL,	-- CLOCK_MONOTONIC then (page_owner ts scale)
	baseline	INTEGER NOT NULL,	-- 1: first of a boot (or after a gap): no deltas
	identities	INTEGER NOT NULL,	-- 1: allocated/freed are known
	kind		TEXT NOT NULL,		-- 'full' (page_owner) or 'stacks'
	source		TEXT NOT NULL,
	format		TEXT NOT NULL,		-- era the records' shapes tell
	duration	REAL NOT NULL,		-- seconds, read to commit
	cpu_user	REAL NOT NULL,		-- our CPU seconds for it
	cpu_sys		REAL NOT NULL,		-- includes the kernel's formatting
	parse_s		REAL NOT NULL,		-- read + parse + aggregate
	diff_s		REAL NOT NULL,		-- identity merge and series
	store_s		REAL NOT NULL,		-- SQLite transaction
	bytes		INTEGER NOT NULL,
	records		INTEGER NOT NULL,
	pages		INTEGER NOT NULL,
	malformed	INTEGER NOT NULL,
	unknown_lines	INTEGER NOT NULL,
	stacks		INTEGER NOT NULL,	-- distinct stacks in it
	changed		INTEGER NOT NULL,	-- series whose value changed
	pinned		INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX snapshots_time ON snapshots(time);

-- A series is what a history is kept of: kind 1 = stack (by signature, so it
-- continues across reboots and rebuilds), 2 = comm (kworkers folded),
-- 3 = memcg, 4 = module, 5 = order.
CREATE TABLE series (
	id		INTEGER PRIMARY KEY,
	kind		INTEGER NOT NULL,
	key		TEXT NOT NULL,		-- signature hash (hex) or the name
	culprit		TEXT NOT NULL DEFAULT '',
	module		TEXT NOT NULL DEFAULT '',
	first_snapshot	INTEGER NOT NULL,
	UNIQUE (kind, key)
);

-- Exact stacks (frames as printed); many may share one signature series.
CREATE TABLE stacks (
	id		INTEGER PRIMARY KEY,
	hash		INTEGER NOT NULL UNIQUE,	-- xxh3 of the frame lines
	series		INTEGER NOT NULL REFERENCES series(id),
	frames		TEXT NOT NULL,
	first_snapshot	INTEGER NOT NULL
);
CREATE INDEX stacks_series ON stacks(series);

-- The latest value of every series, updated with each snapshot.
CREATE TABLE totals (
	series		INTEGER PRIMARY KEY REFERENCES series(id),
	pages		INTEGER NOT NULL,
	blocks		INTEGER NOT NULL,
	snapshot	INTEGER NOT NULL,	-- last change
	growing_since	INTEGER NOT NULL,	-- snapshot after its last decrease
	ts_min		INTEGER NOT NULL	-- oldest live block's alloc ts (ns), 0 = unknown
);

-- Per snapshot: the packed deltas of the series that changed (pack.c).
CREATE TABLE changes (
	snapshot	INTEGER PRIMARY KEY REFERENCES snapshots(id),
	data		BLOB NOT NULL
);

-- Rollups: level 1 = hour, 2 = day; packed per-series sums over the bucket.
CREATE TABLE buckets (
	level		INTEGER NOT NULL,
	start		INTEGER NOT NULL,	-- Unix time of the bucket's start
	first_snapshot	INTEGER NOT NULL,
	last_snapshot	INTEGER NOT NULL,
	nsnapshots	INTEGER NOT NULL,
	data		BLOB NOT NULL,
	PRIMARY KEY (level, start)
) WITHOUT ROWID;

-- Full state (every series' value) at some snapshots.
CREATE TABLE checkpoints (
	snapshot	INTEGER PRIMARY KEY REFERENCES snapshots(id),
	data		BLOB NOT NULL
);

-- The full breakdown (stack x comm x memcg x order x gfp) of the latest
-- full snapshot and of pinned ones, packed.
CREATE TABLE detail (
	snapshot	INTEGER PRIMARY KEY REFERENCES snapshots(id),
	data		BLOB NOT NULL
);

CREATE TABLE meta (
	key		TEXT PRIMARY KEY,
	value		TEXT NOT NULL
);
