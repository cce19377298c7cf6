/*
 * gen-history.c: write a long history straight through the daemon's own
 * storage engine, for the query benchmarks: N days of snapshots every
 * INTERVAL seconds of a host with S stack series, a share of which change
 * at each snapshot, ending now.  Retention runs as the daemon runs it
 * (hourly, with the simulated clock), so the database has the shape a
 * daemon would leave after that many days.
 *
 *   gen-history --db PATH [--days 30] [--interval 60] [--stacks 20000]
 *               [--change 0.10] [--seed N] [--end UNIXTIME] [--reopen-every K]
 *
 * --reopen-every closes and reopens the engine every K snapshots, as a
 * daemon restarted that often would (the rollup tests compare the result
 * with an uninterrupted run).
 */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "page-ownerd.h"

static uint64_t rng = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "days", required_argument, NULL, 'D' },
		{ "interval", required_argument, NULL, 'i' },
		{ "stacks", required_argument, NULL, 's' },
		{ "change", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 'S' },
		{ "end", required_argument, NULL, 'e' },
		{ "reopen-every", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct config cfg;
	struct engine *e = NULL;
	struct series_values v = { 0 };
	const char *db = NULL;
	double days = 30, interval = 60, change = 0.10, now = 0, t0, last_prune;
	long nstacks = 20000, reopen = 0;
	int64_t *stack_ids, *comm_ids, nsnap, boot;
	char *cause = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'D': days = strtod(optarg, NULL); break;
		case 'i': interval = strtod(optarg, NULL); break;
		case 's': nstacks = strtol(optarg, NULL, 10); break;
		case 'c': change = strtod(optarg, NULL); break;
		case 'S': rng ^= strtoull(optarg, NULL, 10) * 0x9E3779B97F4A7C15ULL; break;
		case 'e': now = strtod(optarg, NULL); break;
		case 'r': reopen = strtol(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: gen-history --db PATH [--days N] "
			    "[--interval S] [--stacks N] [--change F] [--seed N] "
			    "[--end T] [--reopen-every K]\n");
			return 2;
		}
	}
	if (db == NULL || nstacks < 1 || interval < 1 || days <= 0) {
		fprintf(stderr, "gen-history: --db is required\n");
		return 2;
	}
	log_init(false, LOG_WARNING);
	config_defaults(&cfg);
	free(cfg.db);
	cfg.db = po_xstrdup(db);
	unlink(db);
	if (engine_open(&e, &cfg, &cause) < 0) {
		fprintf(stderr, "gen-history: %s\n", cause);
		return 1;
	}
	if (store_boot(engine_store(e), "bench-boot", "bench", &boot) < 0) {
		fprintf(stderr, "gen-history: cannot store the boot\n");
		return 1;
	}

	/* the series: stacks with made-up culprits, and a few comms */
	stack_ids = po_xcalloc((size_t)nstacks, sizeof(*stack_ids));
	comm_ids = po_xcalloc(64, sizeof(*comm_ids));
	if (store_begin(engine_store(e)) < 0)
		return 1;
	for (long i = 0; i < nstacks; i++) {
		char key[24], culprit[64], module[32], frames[128];
		int64_t series;

		snprintf(key, sizeof(key), "%016llx", (unsigned long long)rnd());
		snprintf(culprit, sizeof(culprit), "bench_alloc_%ld", i);
		if (i % 50 == 0)
			snprintf(module, sizeof(module), "mod%ld", i % 7);
		else
			module[0] = '\0';
		snprintf(frames, sizeof(frames), " get_page_from_freelist+0x1/0x2\n "
		    "%s+0x10/0x40\n", culprit);
		stack_ids[i] = registry_stack(engine_registry(e), engine_store(e), rnd(),
		    (struct po_span){ frames, strlen(frames) }, rnd(), culprit, module,
		    1, &series);
		stack_ids[i] = series;
	}
	for (int i = 0; i < 64; i++) {
		char comm[32];

		snprintf(comm, sizeof(comm), "task%d", i);
		comm_ids[i] = registry_series(engine_registry(e), engine_store(e),
		    SERIES_COMM, comm, NULL, NULL, 1);
	}
	if (store_commit(engine_store(e)) < 0)
		return 1;

	engine_set_bulk(e, true);
	series_values_reserve(&v, registry_max_series(engine_registry(e)));
	for (long i = 0; i < nstacks; i++)
		v.pages[stack_ids[i]] = v.blocks[stack_ids[i]] = 1 + (int64_t)(rnd() % 2000);
	if (now <= 0)
		now = po_now_wall();
	nsnap = (int64_t)(days * 86400 / interval);
	t0 = now - (double)nsnap * interval;
	last_prune = t0;
	for (int64_t k = 0; k < nsnap; k++) {
		struct snap_row row;
		long nchange = (long)((double)nstacks * change);

		memset(&row, 0, sizeof(row));
		row.boot = boot;
		row.time = t0 + (double)k * interval;
		row.mono_ns = (int64_t)((row.time - t0) * 1e9);
		row.identities = true;
		snprintf(row.kind, sizeof(row.kind), "full");
		snprintf(row.source, sizeof(row.source), "gen-history");
		snprintf(row.format, sizeof(row.format), "v6.7+");
		memset(v.alloc, 0, (size_t)v.cap * sizeof(int64_t));
		memset(v.freed, 0, (size_t)v.cap * sizeof(int64_t));
		for (long c = 0; c < nchange; c++) {
			long i = (long)(rnd() % (uint64_t)nstacks);
			int64_t s = stack_ids[i], up = (int64_t)(rnd() % 8);
			int64_t down = (int64_t)(rnd() % 8);
			int64_t comm = comm_ids[rnd() % 64];

			if (i < 5)
				down = 0;	/* a few steady leaks */
			if (down > v.pages[s])
				down = v.pages[s];
			v.pages[s] += up - down;
			v.blocks[s] += up - down;
			v.alloc[s] += up;
			v.freed[s] += down;
			v.pages[comm] += up - down;
			v.alloc[comm] += up;
			v.freed[comm] += down;
			if (v.pages[comm] < 0) {
				v.alloc[comm] -= v.pages[comm];
				v.pages[comm] = 0;
			}
			v.blocks[comm] = v.pages[comm];
		}
		if (engine_apply(e, &row, &v, NULL, 0, &cause) < 0) {
			fprintf(stderr, "gen-history: snapshot %lld: %s\n", (long long)k, cause);
			return 1;
		}
		if (row.time - last_prune >= 3600) {
			last_prune = row.time;
			(void)store_prune(engine_store(e), row.time, cfg.keep_full,
			    cfg.keep_hourly, cfg.max_db_size, NULL);
		}
		if (reopen > 0 && k % reopen == reopen - 1) {
			if (engine_flush_totals(e) < 0)
				return 1;
			engine_close(e);
			if (engine_open(&e, &cfg, &cause) < 0) {
				fprintf(stderr, "gen-history: reopen: %s\n", cause);
				return 1;
			}
			engine_set_bulk(e, true);
		}
		if (k % 1440 == 0)
			fprintf(stderr, "gen-history: day %lld of %.0f\n",
			    (long long)(k / 1440), days);
	}
	if (engine_flush_totals(e) < 0) {
		fprintf(stderr, "gen-history: cannot write the totals\n");
		return 1;
	}
	series_values_free(&v);
	free(stack_ids);
	free(comm_ids);
	engine_close(e);
	config_free(&cfg);
	return 0;
}
