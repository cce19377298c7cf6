-- 004-estimates.sql: sampled estimates of a sweep (sample = P%).
--
-- A sampling sweep reads a stratified random sample of the PFN windows
-- each snapshot and estimates every stack's pages over the whole span,
-- with a standard error (sweep.c has the estimator; page-ownerd(8)
-- documents it).  One row per sampled snapshot; it goes with its snapshot,
-- and beyond a day one an hour is kept.
CREATE TABLE estimates (
	snapshot	INTEGER PRIMARY KEY,	-- snapshots.id
	windows		INTEGER NOT NULL,	-- windows of the span (N)
	sampled		INTEGER NOT NULL,	-- windows read (n)
	strata		INTEGER NOT NULL,	-- strata drawn from (H)
	data		BLOB NOT NULL		-- packed: series -> estimated
						-- pages, standard error, both
						-- in 1/16 pages
);
