/*
 * engine.c: one snapshot, as a staged pipeline, on the collector's write
 * connection.
 *
 *   prepare   the source (again, if the configured path changed) and the
 *             database (again, if it was replaced or became writable);
 *   read      full.c (the whole page_owner text: every series, allocated
 *             and freed) or stacks.c (page_owner_stacks: stack series only),
 *             as auto mode, the mode and the kernel decide;
 *   store     rollup.c turns the values into deltas, totals and rollups,
 *             with the snapshot row, in one transaction;
 *   commit    then the new identity file replaces the old one (identfile.c).
 *
 * Errors: every stage returns 0 or -errno and fills res->cause for people;
 * a failed transaction is rolled back and the in-memory state (series,
 * open rollups, previous combos) reloaded from the database, so the next
 * snapshot starts from what is stored.  A new boot id starts a baseline:
 * values are recorded, nothing is diffed across the reboot.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "page-ownerd.h"

#define READ_BUF	((size_t)1 << 20)
#define HOUR		3600

struct engine {
	struct store	*st;		/* write connection */
	struct registry	*reg;
	struct rollup	*rollup;
	struct identfile *ident;
	struct stacks	*stacks;
	struct source	*src;
	char		*src_path;	/* the source src was made for */
	char		*db_path;
	dev_t		 db_dev;	/* to notice the file deleted or replaced */
	ino_t		 db_ino;
	struct combo_series *prev;	/* the last full read's combos */
	size_t		 nprev;
	int64_t		 full_snapshot;	/* that read's snapshot, and boot */
	int64_t		 full_boot;
	bool		 prev_ident_ok;	/* the identity file is of full_snapshot */
	int64_t		 prev_snapshot;	/* the latest snapshot; 0 = none */
	int64_t		 prev_boot;
	char		 prev_boot_id[64];
	double		 last_prune;	/* wall time */
	struct series_values vals;
	char		*buf;		/* READ_BUF bytes */
	char		 host_boot[64];
	char		 host_kernel[128];
	uint32_t	 max_stacks;	/* caps handed to the registry */
	uint32_t	 max_series;
	uint64_t	 overflow_noted; /* overflow count last reported */
	unsigned	 since_full;	/* snapshots since the last full read */
	bool		 force_full;	/* a stack grew past full_trigger */
	int64_t		*full_pages;	/* stack series' pages at the last full read */
	int64_t		 full_cap;
	bool		 reopen;	/* opened read-only, writable now: reopen */
	struct sweep	*sweep;		/* PFN windows in rotation (sweep.c) */
	double		 full_cpu;	/* CPU seconds of the last whole full read */
};

void
snap_result_free(struct snap_result *r)
{
	free(r->cause);
	for (int i = 0; i < ROLLUP_TOP; i++)
		for (int k = 0; k < 3; k++)
			free(r->top_names[i][k]);
	memset(r, 0, sizeof(*r));
}

static void
read_line_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static double
seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* CPU of this thread and of the reader processes: user, system. */
static void
cpu_now(double *ret_user, double *ret_sys)
{
	struct rusage self, kids;

	getrusage(RUSAGE_THREAD, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	*ret_user = seconds(self.ru_utime) + seconds(kids.ru_utime);
	*ret_sys = seconds(self.ru_stime) + seconds(kids.ru_stime);
}

/* After a full read: remember the stack series' values for full_trigger. */
static void
note_full(struct engine *e)
{
	int64_t max = registry_max_series(e->reg);

	if (max >= e->full_cap) {
		e->full_cap = max + 1024;
		e->full_pages = po_xrealloc(e->full_pages, (size_t)e->full_cap,
		    sizeof(*e->full_pages));
	}
	memset(e->full_pages, 0, (size_t)e->full_cap * sizeof(*e->full_pages));
	for (int64_t s = 1; s <= max; s++) {
		const struct series_info *si = registry_info(e->reg, s);

		if (si != NULL)
			e->full_pages[s] = si->pages;
	}
	e->since_full = 0;
	e->force_full = false;
}

/* ---- state: what the database says, loaded at open and after a failure --- */

static int
load_state(struct engine *e, char **cause)
{
	struct snap_row last;
	int r;

	registry_free(e->reg);
	e->reg = NULL;
	r = registry_load(&e->reg, e->st, e->max_stacks, e->max_series, cause);
	if (r < 0)
		return r;
	r = store_last_snapshot(e->st, &last);
	if (r < 0) {
		po_asprintf(cause, "cannot read the last snapshot: %s", store_errmsg(e->st));
		return r;
	}
	e->prev_snapshot = r > 0 ? last.id : 0;
	e->prev_boot = r > 0 ? last.boot : 0;
	po_strlcpy(e->prev_boot_id, r > 0 ? last.boot_id : "", sizeof(e->prev_boot_id));
	free(e->prev);
	e->prev = NULL;
	e->nprev = 0;
	e->full_snapshot = 0;
	e->prev_ident_ok = false;
	if (e->prev_snapshot != 0 && full_prev_combos(e->st, e->reg, e->prev_snapshot,
	    &e->full_snapshot, &e->prev, &e->nprev) > 0 && e->prev != NULL) {
		e->full_boot = e->prev_boot;
		e->prev_ident_ok = identfile_matches(e->ident, e->full_snapshot,
		    e->full_boot);
	}
	r = rollup_rebuild(e->rollup, e->st);
	if (r < 0) {
		po_asprintf(cause, "cannot rebuild the open rollups: %s",
		    store_errmsg(e->st));
		return r;
	}
	note_full(e);
	return 0;
}

static void
reload_state(struct engine *e)
{
	char *why = NULL;

	if (load_state(e, &why) < 0)
		free(why);
}

static int
open_store(struct engine *e, char **cause)
{
	struct stat sb;
	int r;

	store_close(e->st);
	e->st = NULL;
	r = store_open(&e->st, e->db_path, false, cause);
	if (r < 0)
		return r;
	if (stat(e->db_path, &sb) == 0) {
		e->db_dev = sb.st_dev;
		e->db_ino = sb.st_ino;
	}
	return load_state(e, cause);
}

int
engine_open(struct engine **ret, const struct config *cfg, char **cause)
{
	struct engine *e = po_xcalloc(1, sizeof(*e));
	struct utsname u;
	int r;

	e->db_path = po_xstrdup(cfg->db);
	e->max_stacks = cfg->max_stacks ? cfg->max_stacks : UINT32_MAX;
	e->max_series = cfg->max_series ? cfg->max_series : UINT32_MAX;
	e->ident = identfile_new(cfg->db);
	e->rollup = rollup_new();
	e->stacks = stacks_new();
	e->sweep = sweep_new(cfg->db);
	e->buf = po_xmalloc(READ_BUF);
	read_line_file("/proc/sys/kernel/random/boot_id", e->host_boot, sizeof(e->host_boot));
	if (e->host_boot[0] == '\0')
		snprintf(e->host_boot, sizeof(e->host_boot), "unknown");
	if (uname(&u) == 0)
		snprintf(e->host_kernel, sizeof(e->host_kernel), "%s", u.release);
	r = open_store(e, cause);
	if (r < 0) {
		engine_close(e);
		return r;
	}
	e->last_prune = po_now_wall();
	*ret = e;
	return 0;
}

void
engine_close(struct engine *e)
{
	if (e == NULL)
		return;
	store_close(e->st);
	registry_free(e->reg);
	rollup_free(e->rollup);
	identfile_free(e->ident);
	stacks_free(e->stacks);
	sweep_free(e->sweep);
	source_free(e->src);
	free(e->src_path);
	free(e->db_path);
	free(e->prev);
	series_values_free(&e->vals);
	free(e->buf);
	free(e->full_pages);
	free(e);
}

struct store *
engine_store(struct engine *e)
{
	return e->st;
}

struct registry *
engine_registry(struct engine *e)
{
	return e->reg;
}

/* ---- the stages ---------------------------------------------------------------- */

/* The source for the configured path, and a database we can write. */
static int
prepare(struct engine *e, const struct config *cfg, struct snap_result *res)
{
	struct stat sb;
	char *why = NULL;
	int r;

	if (e->src == NULL || strcmp(e->src_path, cfg->source) != 0) {
		source_free(e->src);
		e->src = NULL;
		free(e->src_path);
		e->src_path = po_xstrdup(cfg->source);
		if ((r = source_new(&e->src, cfg->source, &res->cause)) < 0)
			return r;
	}
	if (e->reopen) {
		/* SQLite keeps one read-only -shm mapping per file and process:
		 * this works once the main loop has closed its connection too */
		e->reopen = false;
		if ((r = open_store(e, &why)) < 0) {
			po_asprintf(&res->cause, "cannot open database '%s' again: %s",
			    e->db_path, why ? why : "?");
			free(why);
			return r;
		}
	}
	if (e->st == NULL || stat(e->db_path, &sb) < 0 || sb.st_ino != e->db_ino ||
	    sb.st_dev != e->db_dev) {
		if ((r = open_store(e, &why)) < 0) {
			po_asprintf(&res->cause, "database '%s' vanished and cannot be "
			    "made again: %s", e->db_path, why ? why : "?");
			free(why);
			return r;
		}
		log_errx("database '%s' was deleted or replaced under the daemon: "
		    "started a new one (the old history is gone with the file)",
		    e->db_path);
	}
	source_set_timeout(e->src, cfg->read_timeout);
	source_set_pace(e->src, cfg->read_pace);
	{
		/* readers after the first spool their ranges beside the database */
		char *dir = po_xstrdup(e->db_path), *slash = strrchr(dir, '/');

		if (slash != NULL)
			*slash = '\0';
		source_set_readers(e->src, cfg->readers, slash != NULL ? dir : ".");
		free(dir);
	}
	return 0;
}

/* Full read or stacks read?  (auto: stacks, and a full read every full_every.) */
static bool
want_full(struct engine *e, const struct config *cfg, const char *boot_id)
{
	if (cfg->mode == MODE_FULL || !stacks_available(e->src))
		return true;
	if (cfg->mode == MODE_STACKS)
		return false;
	/* no full read yet, or a new boot: its baseline needs the full text */
	if (e->prev_snapshot == 0 || strcmp(boot_id, e->prev_boot_id) != 0 ||
	    !e->prev_ident_ok)
		return true;
	return e->force_full || e->since_full + 1 >= cfg->full_every;
}

/*
 * A sweep of PFN windows instead of a whole read?  Asked for (mode =
 * sweep), or auto on a kernel without page_owner_stacks whose last whole
 * read cost so much CPU that the budget would stretch the interval past
 * AUTO_SWEEP_STRETCH (and past the interval itself), on a host of two
 * windows or more (with one, a sweep is a whole read that costs more).
 * Below that, whole reads at a stretched interval keep every figure
 * exact and the picture whole.
 */
#define AUTO_SWEEP_STRETCH	600.0	/* seconds */

static bool
want_sweep(struct engine *e, const struct config *cfg)
{
	uint64_t span[2], wpfns;
	int64_t first, last;
	char *cause = NULL;
	bool r;

	if (cfg->mode == MODE_SWEEP)
		return true;
	if (cfg->mode != MODE_AUTO || stacks_available(e->src) || cfg->cpu_budget <= 0 ||
	    e->full_cpu <= cfg->cpu_budget * cfg->interval ||
	    e->full_cpu <= cfg->cpu_budget * AUTO_SWEEP_STRETCH)
		return false;
	r = sweep_span(e->src, cfg, span, &wpfns, &first, &last, &cause) == 0 &&
	    last > first;
	free(cause);
	return r;
}

/* The snapshot's row in its transaction: a baseline if first or a new boot. */
static int
begin_row(struct engine *e, struct snap_row *row, bool identities, bool *ret_open,
    char **cause)
{
	int r;

	*ret_open = false;
	if ((r = store_boot(e->st, row->boot_id, row->kernel, &row->boot)) < 0 ||
	    (r = store_begin(e->st)) < 0) {
		po_asprintf(cause, "cannot store the snapshot: %s", store_errmsg(e->st));
		return r;
	}
	*ret_open = true;
	row->baseline = e->prev_snapshot == 0 || row->boot != e->prev_boot;
	row->identities = identities && !row->baseline;
	return store_insert_snapshot(e->st, row);
}

/* A stacks read: stack and module series, inside its transaction. */
static int
read_stacks(struct engine *e, const struct config *cfg, struct read_ctx *rc,
    struct snap_row *row)
{
	int r;

	snprintf(row->kind, sizeof(row->kind), "stacks");
	if ((r = stacks_read(e->stacks, rc, row, &e->vals)) < 0)
		return r;
	if ((r = rollup_apply(e->rollup, e->st, e->reg, row, &e->vals, NULL)) < 0)
		return r;
	row->changed = r;
	/* a stack that grew a lot since the last full read asks for one */
	for (int64_t s = 1; s <= registry_max_series(e->reg) && s < e->full_cap; s++) {
		const struct series_info *si = registry_info(e->reg, s);

		if (si != NULL && si->kind == SERIES_STACK &&
		    si->pages - e->full_pages[s] > (int64_t)cfg->full_trigger)
			e->force_full = true;
	}
	return 0;
}

/* After a full read: its values, deltas and detail, inside the transaction. */
static int
store_full(struct engine *e, struct read_ctx *rc, const struct full_read *fr,
    struct snap_row *row, struct grower *top, struct combo_series **ret_combos)
{
	uint8_t *detail = NULL;
	size_t dlen = 0;
	int r;

	r = full_resolve(rc, fr, e->prev, e->nprev, row->id, row->identities,
	    &e->vals, ret_combos, &detail, &dlen);
	if (r < 0)
		return r;
	/* a whole read: a sweep starts afresh after it */
	if ((r = store_windows_clear(e->st)) < 0) {
		free(detail);
		return r;
	}
	row->diff_s = po_now_mono();	/* made a duration by the caller */
	r = rollup_apply(e->rollup, e->st, e->reg, row, &e->vals, top);
	if (r >= 0) {
		row->changed = r;
		r = store_put_detail(e->st, row->id, detail, dlen);
	}
	if (r == 0)
		r = store_drop_old_detail(e->st, row->id);
	free(detail);
	return r;
}

/* A sweep: the due windows, the picture, its deltas; inside the transaction. */
static int
store_sweep(struct engine *e, const struct config *cfg, struct read_ctx *rc,
    struct snap_row *row, struct snap_result *res)
{
	double t0 = po_now_mono();
	int r;

	snprintf(row->kind, sizeof(row->kind), "sweep");
	if ((r = sweep_run(e->sweep, rc, cfg, row, &e->vals)) < 0)
		return r;
	row->parse_s = po_now_mono() - t0;
	/* the windows' identity files are of this snapshot, not the whole
	 * read's: a later whole read must not merge against an older one */
	e->prev_ident_ok = false;
	r = rollup_apply(e->rollup, e->st, e->reg, row, &e->vals, res->top);
	if (r < 0)
		return r;
	row->changed = r;
	return 0;
}

/* The snapshot's top growers, named, for the main loop (full reads only). */
static void
name_growers(struct engine *e, struct snap_result *res)
{
	for (int i = 0; i < ROLLUP_TOP && res->top[i].series != 0; i++) {
		const struct series_info *si = registry_info(e->reg, res->top[i].series);

		res->top_names[i][0] = po_xstrdup(si ? si->key : "");
		res->top_names[i][1] = po_xstrdup(si ? si->culprit : "");
		res->top_names[i][2] = po_xstrdup(si && si->module[0] ? si->module :
		    "kernel");
	}
}

/* The committed snapshot becomes the previous one. */
static void
advance(struct engine *e, const struct snap_row *row)
{
	e->prev_snapshot = row->id;
	e->prev_boot = row->boot;
	po_strlcpy(e->prev_boot_id, row->boot_id, sizeof(e->prev_boot_id));
}

int
engine_snapshot(struct engine *e, const struct config *cfg, volatile int *stop,
    struct snap_result *res)
{
	struct snap_row *row = &res->row;
	struct source_meta meta;
	struct read_ctx rc;
	struct full_read fr = { 0 };
	struct combo_series *combos = NULL;
	double t0, u0, s0, u1, s1, t_read;
	bool full, sweep, open = false;
	char *why = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = prepare(e, cfg, res)) < 0)
		goto out;
	t0 = po_now_mono();
	cpu_now(&u0, &s0);
	memset(row, 0, sizeof(*row));
	row->time = po_now_wall();
	{
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		row->mono_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	}
	r = source_next(e->src, &meta, &res->cause);
	if (r < 0) {
		res->replay_done = r == -ENODATA;
		res->page_owner_off = source_get_kind(e->src) == SOURCE_DEBUGFS &&
		    (r == -ENOENT || r == -EINVAL);
		goto out;
	}
	snprintf(row->boot_id, sizeof(row->boot_id), "%s",
	    meta.boot_id[0] ? meta.boot_id : e->host_boot);
	snprintf(row->kernel, sizeof(row->kernel), "%s",
	    meta.kernel[0] ? meta.kernel : e->host_kernel);
	snprintf(row->source, sizeof(row->source), "%s", meta.name);
	rc = (struct read_ctx){ .src = e->src, .st = e->st, .reg = e->reg, .buf = e->buf,
	    .buflen = READ_BUF, .stop = stop, .cause = &res->cause,
	    .max_combos = cfg->max_combos, .stacks = e->stacks };

	sweep = want_sweep(e, cfg);
	full = !sweep && want_full(e, cfg, row->boot_id);
	if (full) {
		FILE *prev = e->prev_ident_ok ? identfile_open_prev(e->ident,
		    e->full_snapshot, e->full_boot) : NULL;

		snprintf(row->kind, sizeof(row->kind), "full");
		r = full_read(&rc, e->ident, prev, e->nprev, meta.name, &fr);
		if (prev != NULL)
			fclose(prev);
		if (r < 0) {
			res->page_owner_off = fr.page_owner_off;
			goto out;
		}
		row->bytes = (int64_t)fr.stats.bytes;
		row->records = (int64_t)fr.stats.page_records;
		row->pages = (int64_t)fr.stats.pages;
		row->malformed = (int64_t)fr.stats.malformed;
		row->unknown_lines = (int64_t)fr.stats.unknown_lines;
		snprintf(row->format, sizeof(row->format), "%s",
		    po_era_str(fr.stats.features));
		row->stacks = po_stacktab_count(combo_stacks(fr.combos));
	}
	t_read = po_now_mono() - t0;
	r = begin_row(e, row, (full && fr.merged) || sweep, &open, &res->cause);
	rc.boot = row->boot;
	if (r == 0 && sweep)
		r = store_sweep(e, cfg, &rc, row, res);
	else if (r == 0)
		r = full ? store_full(e, &rc, &fr, row, res->top, &combos) :
		    read_stacks(e, cfg, &rc, row);
	if (r < 0)
		goto out;

	cpu_now(&u1, &s1);
	row->parse_s = full ? t_read : sweep ? row->parse_s : po_now_mono() - t0;
	row->diff_s = full ? row->diff_s - t0 - t_read : 0;
	row->cpu_user = u1 - u0;
	row->cpu_sys = s1 - s0;
	row->store_s = po_now_mono() - t0 - row->parse_s - row->diff_s;
	row->duration = po_now_mono() - t0;
	if ((r = store_update_snapshot(e->st, row)) < 0 ||
	    (full && (r = identfile_finish(e->ident, row->id, row->boot, fr.idents,
	    &res->cause)) < 0) ||
	    (r = store_commit(e->st)) < 0)
		goto out;
	open = false;
	advance(e, row);
	if (sweep) {
		sweep_commit(e->sweep);
		res->sweep = *sweep_status(e->sweep);
		name_growers(e, res);
		goto out;
	}
	if (!full) {
		e->since_full++;
		goto out;
	}
	e->full_cpu = row->cpu_user + row->cpu_sys;

	/* committed: the new identities and combos become the previous ones */
	e->prev_ident_ok = identfile_commit(e->ident, &why) == 0;
	if (!e->prev_ident_ok) {
		log_warnx("%s: the next full read has no allocated and freed figures",
		    why);
		free(why);
	}
	free(e->prev);
	e->prev = combos;
	e->nprev = combo_count(fr.combos);
	combos = NULL;
	e->full_snapshot = row->id;
	e->full_boot = row->boot;
	note_full(e);
	if (registry_overflowed(e->reg) > e->overflow_noted) {
		e->overflow_noted = registry_overflowed(e->reg);
		res->overflowed = e->overflow_noted;
	}
	name_growers(e, res);
	if (row->time - e->last_prune > HOUR) {
		int64_t deleted = 0;

		e->last_prune = row->time;
		(void)store_prune(e->st, row->time, cfg->keep_full, cfg->keep_hourly,
		    cfg->max_db_size, &deleted);
	}
out:
	stacks_stats(e->stacks, &res->stacks);
	{
		const char *flt, *flt_why;

		source_filter(e->src, &flt, &res->stacks.filter_state, &flt_why);
		po_strlcpy(res->stacks.filter, flt, sizeof(res->stacks.filter));
		po_strlcpy(res->stacks.filter_why, flt_why,
		    sizeof(res->stacks.filter_why));
	}
	if (r < 0) {
		if (open) {
			if (res->cause == NULL && r == -ENOSPC)
				po_asprintf(&res->cause, "database '%s': disk full; "
				    "snapshot not stored, history kept", e->db_path);
			else if (res->cause == NULL)
				po_asprintf(&res->cause, "cannot store the snapshot in "
				    "'%s': %s", e->db_path, store_errmsg(e->st));
			store_rollback(e->st);
			reload_state(e);
		}
		identfile_abort(e->ident);
		sweep_abort(e->sweep);
		if (res->cause == NULL)
			po_asprintf(&res->cause, "snapshot failed: %s", strerror(-r));
		memset(res->top, 0, sizeof(res->top));
	}
	free(combos);
	full_read_free(&fr);
	if (e->src != NULL)
		source_end(e->src);
	res->error = r;
	/* opened while its file system was read-only, writable now */
	if (r == -EROFS && access(e->db_path, W_OK) == 0)
		e->reopen = res->db_readonly = true;
	if (e->src != NULL && source_get_kind(e->src) == SOURCE_DIR)
		source_position(e->src, &res->replay_next, &res->replay_total);
	return r;
}

/* ---- other jobs ------------------------------------------------------------------ */

/*
 * Pin (or unpin) a snapshot: retention keeps a pinned one's row, deltas,
 * checkpoint and detail, so that a leak hunt's baseline stays exact.  A
 * pinned snapshot without a checkpoint gets one, from the exact history.
 */
int
engine_pin(struct engine *e, int64_t snapshot, bool pinned, char **cause)
{
	struct history *h = NULL;
	struct state st = { 0 };
	int r;

	if ((r = store_begin(e->st)) < 0)
		goto fail;
	if ((r = store_pin(e->st, snapshot, pinned)) < 0) {
		if (r == -ENOENT)
			po_asprintf(cause, "no snapshot %lld", (long long)snapshot);
		goto fail;
	}
	if (pinned && store_checkpoint_exists(e->st, snapshot) == 0) {
		struct pack_writer w;
		uint8_t *blob;
		size_t len;

		history_borrow(&h, e->st);
		if ((r = history_refresh(h)) < 0 ||
		    (r = history_state_at(h, snapshot, &st)) < 0)
			goto fail;
		if (!st.approx) {
			pack_writer_init(&w, CP__N, CP_SIGNED);
			for (int64_t s = 1; s < st.n; s++) {
				int64_t f[CP__N] = { st.pages[s], st.blocks[s] };

				if (f[CP_PAGES] != 0 || f[CP_BLOCKS] != 0)
					pack_add(&w, (uint32_t)s, f);
			}
			pack_finish(&w, &blob, &len);
			r = store_put_checkpoint(e->st, snapshot, blob, len);
			free(blob);
			if (r < 0)
				goto fail;
		}
	}
	if ((r = store_commit(e->st)) < 0)
		goto fail;
	state_free(&st);
	history_free(h);
	return 0;
fail:
	if (*cause == NULL)
		po_asprintf(cause, "cannot %s snapshot %lld: %s", pinned ? "pin" : "unpin",
		    (long long)snapshot, store_errmsg(e->st));
	store_rollback(e->st);
	state_free(&st);
	history_free(h);
	return r < 0 ? r : -EIO;
}

/* Retention, now (it also runs after a full read once an hour). */
int
engine_prune(struct engine *e, const struct config *cfg, int64_t *ret_deleted,
    char **cause)
{
	int r;

	*ret_deleted = 0;
	r = store_prune(e->st, po_now_wall(), cfg->keep_full, cfg->keep_hourly,
	    cfg->max_db_size, ret_deleted);
	if (r < 0) {
		po_asprintf(cause, "cannot prune '%s': %s", e->db_path, store_errmsg(e->st));
		return r;
	}
	e->last_prune = po_now_wall();
	return 0;
}

/* ---- the bench generator's way in ---------------------------------------------- */

/* Store values the caller brings (row->boot and row->time set). */
int
engine_apply(struct engine *e, struct snap_row *row, struct series_values *v,
    const void *detail, size_t detail_len, char **cause)
{
	int r;

	if ((r = store_begin(e->st)) < 0)
		goto fail;
	row->baseline = e->prev_snapshot == 0 || row->boot != e->prev_boot;
	if (row->baseline)
		row->identities = false;
	if ((r = store_insert_snapshot(e->st, row)) < 0 ||
	    (r = rollup_apply(e->rollup, e->st, e->reg, row, v, NULL)) < 0)
		goto fail;
	row->changed = r;
	if (detail != NULL &&
	    ((r = store_put_detail(e->st, row->id, detail, detail_len)) < 0 ||
	    (r = store_drop_old_detail(e->st, row->id)) < 0))
		goto fail;
	if ((r = store_commit(e->st)) < 0)
		goto fail;
	e->prev_snapshot = row->id;
	e->prev_boot = row->boot;
	e->prev_ident_ok = false;
	return 0;
fail:
	po_asprintf(cause, "cannot store the snapshot: %s", store_errmsg(e->st));
	store_rollback(e->st);
	reload_state(e);
	return r < 0 ? r : -EIO;
}

void
engine_set_bulk(struct engine *e, bool bulk)
{
	rollup_set_bulk(e->rollup, bulk);
}

int
engine_flush_totals(struct engine *e)
{
	return rollup_flush_totals(e->rollup, e->st, e->reg);
}
