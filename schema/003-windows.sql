-- 003-windows.sql: PFN windows of a sweep (mode = sweep).
--
-- A sweep reads some PFN windows of page_owner per snapshot; the picture
-- is the sum of each window's latest read.  One row per window holds that
-- read's per-series values, written in the snapshot's transaction, so the
-- picture always agrees with the stored deltas; the window's identities
-- live in a file beside the database whose header must name the same
-- snapshot before it is merged against.
CREATE TABLE windows (
	idx		INTEGER PRIMARY KEY,	-- first PFN / window size
	lo		INTEGER NOT NULL,	-- PFN range [lo, hi)
	hi		INTEGER NOT NULL,
	snapshot	INTEGER NOT NULL,	-- the snapshot that read it last
	boot		INTEGER NOT NULL,
	time		REAL NOT NULL,		-- wall clock of that read
	data		BLOB NOT NULL		-- packed: series -> pages, blocks,
						-- allocated, freed, oldest ts
);
