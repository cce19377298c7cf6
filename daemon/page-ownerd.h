/*
 * page-ownerd.h: the daemon's private header, grouped by source file, so
 * it reads as a map of the program.  Modules are listed bottom-up: each
 * uses only those above it (no module calls one below it).
 *
 *   base        log.c config.c notify.c
 *   storage     source.c pack.c store.c series.c registry.c combo.c
 *   the past    history.c (the stored history as answers read it)
 *   collection  identfile.c rollup.c full.c stacks.c engine.c collect.c
 *   scheduling  budget.c sched.c
 *   protocol    rpc.c (errors, envelopes, the peer)
 *   answers     window.c leakscore.c query.c export.c export-stacks.c
 *   methods     method-*.c methods.c server.c metrics.c
 *   the process main.c
 *
 * Threads: the main thread runs one libevent loop (listener, clients,
 * timers, signals, watchdog) and answers queries from a read-only database
 * connection (history.c); the collector thread (collect.c) runs one job at
 * a time (a snapshot, a pin, a prune) with its own write connection and
 * hands the result back to the main loop (sched.c).
 *
 * Only store.c speaks SQL; only rpc.c builds the protocol's envelopes.
 */
#ifndef PAGE_OWNERD_H
#define PAGE_OWNERD_H

#include <pthread.h>
#include <stdarg.h>
#include <sys/types.h>
#include <syslog.h>

#include <jansson.h>

#include "po.h"
#include "proto.h"

struct event_base;

/* ---- log.c: the journal or stderr ---------------------------------------- */

void	 log_init(bool journal, int level);
void	 log_set_level(int level);
int	 log_level_parse(const char *s, int *ret);
const char *log_level_name(int level);
/* fields: NULL or "KEY=value" strings, NULL-terminated (journal only) */
void	 log_fields(int prio, const char *const *fields, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- config.c: settings ---------------------------------------------------- */

enum collect_mode {
	MODE_FULL,	/* the page_owner file every time */
	MODE_STACKS,	/* page_owner_stacks/ only */
	MODE_AUTO,	/* stacks often, the full file now and then */
	MODE_SWEEP,	/* PFN windows of the full file, in rotation (sweep.c) */
};

struct config {
	char		*path;		/* config file it came from, if any */
	char		*source;	/* page_owner file, dump file or capture dir */
	char		*db;		/* SQLite database */
	char		*socket;	/* Unix socket to bind (without activation) */
	double		 interval;	/* seconds between snapshots */
	int		 log_level;	/* LOG_ERR .. LOG_DEBUG */
	enum collect_mode mode;
	unsigned	 full_every;	/* auto mode: a full read every N snapshots */
	double		 cpu_budget;	/* share of one CPU, e.g. 0.02 */
	double		 keep_full;	/* seconds of full-resolution deltas */
	double		 keep_hourly;	/* seconds of hourly rollups */
	uint64_t	 max_db_size;	/* bytes; 0 = no cap */
	uint32_t	 max_stacks;	/* distinct stacks kept */
	uint32_t	 max_series;	/* series kept */
	double		 read_timeout;	/* seconds without data: the read fails */
	uint32_t	 full_trigger;	/* auto: a stack grown this many pages
					   since the last full read forces one */
	double		 read_pace;	/* share of time a big full read may read */
	char		*group;		/* group owning the socket */
	char		*metrics_listen; /* ADDR:PORT of GET /metrics, or NULL */
	uint64_t	 window;	/* sweep: bytes of memory a PFN window spans */
	uint32_t	 sweep_windows;	/* sweep: windows per snapshot; 0 = budget */
	uint32_t	 readers;	/* full reads: reader processes */
	uint32_t	 max_combos;	/* full reads: (stack, comm, memcg, order,
					   gfp) kept apart before folding */
	double		 sample;	/* sweep: share of windows drawn at random
					   a snapshot, estimates kept; 0 = off */
};

void	 config_defaults(struct config *c);
void	 config_free(struct config *c);
void	 config_copy(struct config *dst, const struct config *src);
int	 config_set(struct config *c, const char *key, const char *value,
	    char **cause);
int	 config_parse(struct config *c, const char *buf, size_t len,
	    const char *name, char **cause);
int	 config_load(struct config *c, const char *path, bool must_exist,
	    char **cause);
const char *config_mode_name(enum collect_mode m);

/* ---- notify.c: systemd's notification socket ----------------------------- */

void	 notify_ready(void);
void	 notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 notify_stopping(void);
void	 notify_reloading(void);
void	 notify_watchdog(void);
uint64_t notify_watchdog_usec(void);
bool	 notify_under_systemd(void);

/* ---- source.c: where page_owner text comes from ------------------------- */

enum source_kind {
	SOURCE_DEBUGFS,		/* the kernel's file: one record per read() */
	SOURCE_FILE,		/* a regular file, read afresh each snapshot */
	SOURCE_DIR,		/* a recorded capture, one file per snapshot */
};

/* What a replayed capture says of itself (NNN.meta next to NNN.page_owner). */
struct source_meta {
	char		 name[256];	/* file read, for the record */
	char		 boot_id[64];	/* "" = this host's */
	char		 kernel[128];	/* "" = this host's */
};

/* The files of one snapshot. */
enum source_file {
	SRC_PAGE_OWNER,			/* the full dump */
	SRC_SHOW_STACKS,		/* page_owner_stacks/show_stacks (6.9+) */
	SRC_SHOW_HANDLES,		/* page_owner_stacks/show_handles (6.19+) */
	SRC_SHOW_STACKS_HANDLES,	/* page_owner_stacks/show_stacks_handles */
};

struct source;
int	 source_new(struct source **ret, const char *path, char **cause);
void	 source_free(struct source *s);
int	 source_next(struct source *s, struct source_meta *meta, char **cause);
bool	 source_available(const struct source *s, enum source_file which);
int	 source_open(struct source *s, enum source_file which, char **cause);
ssize_t	 source_read(struct source *s, char *buf, size_t len);
void	 source_end(struct source *s);
enum source_kind source_get_kind(const struct source *s);
const char *source_kind_name(enum source_kind k);
const char *source_path(const struct source *s);
void	 source_set_timeout(struct source *s, double seconds);
void	 source_set_pace(struct source *s, double pace);
double	 source_timeout(const struct source *s);
void	 source_position(const struct source *s, size_t *ret_next, size_t *ret_total);
/* The message for a failed read (-errno from source_read), into buf. */
const char *source_strerror(const struct source *s, int err, char *buf, size_t len);
uint64_t source_count_threshold(const struct source *s);
/* PFN windows [lo, hi) of the full dump (hi = UINT64_MAX: to the end) */
enum source_seek {
	PFNSEEK_UNKNOWN,		/* the kernel was not asked yet */
	PFNSEEK_KERNEL,		/* the kernel takes a PFN as the file offset */
	PFNSEEK_NONE,		/* it does not: whole reads, filtered by PFN */
	PFNSEEK_FILE,		/* a regular file: a binary search by PFN */
};
int	 source_open_range(struct source *s, uint64_t lo, uint64_t hi, char **cause);
int	 source_pfn_span(struct source *s, uint64_t *ret_lo, uint64_t *ret_hi,
	    char **cause);
enum source_seek source_seek(const struct source *s, const char **ret_why);
const char *source_seek_name(enum source_seek k);
/* Full reads by n processes on disjoint PFN ranges (spooling beside dir). */
void	 source_set_readers(struct source *s, unsigned n, const char *spool_dir);
unsigned source_parts(const struct source *s);
/* The per-open filter full reads write to page_owner: state 1 taken, 0 not
 * tried yet, -1 not taken (why says why). */
void	 source_filter(const struct source *s, const char **ret_filter,
	    int *ret_state, const char **ret_why);

/* ---- pack.c: packed per-series tables (the blobs in the database) ------- */

#define PACK_MAX_FIELDS 8

/* Fields of each blob kind. */
enum { CH_D_PAGES, CH_D_BLOCKS, CH_ALLOC, CH_FREED, CH__N };		/* changes */
enum { BK_D_PAGES, BK_D_BLOCKS, BK_ALLOC, BK_FREED, BK_GREW, BK_SHRANK, BK__N };	/* buckets */
enum { CP_PAGES, CP_BLOCKS, CP__N };					/* checkpoints */
#define CH_SIGNED ((1u << CH_D_PAGES) | (1u << CH_D_BLOCKS))
#define BK_SIGNED ((1u << BK_D_PAGES) | (1u << BK_D_BLOCKS))
#define CP_SIGNED 0u

struct pack_writer {
	uint8_t		*buf;		/* entries */
	size_t		 len, cap;
	uint8_t		*idx;		/* sparse index */
	size_t		 idx_len, idx_cap;
	unsigned	 nfields;
	unsigned	 smask;		/* fields stored zigzag (signed) */
	unsigned	 xform;		/* how stored fields derive (pack.c) */
	uint32_t	 n;		/* entries */
	uint32_t	 last;		/* previous series id */
	uint32_t	 block_first;	/* previous block's first series */
	size_t		 block_off;	/* previous block's offset */
};

struct pack_reader {
	const uint8_t	*p, *end;	/* next entry, end of entries */
	const uint8_t	*entries;	/* start of entries */
	const uint8_t	*idx, *idx_end;	/* sparse index */
	unsigned	 nfields;
	unsigned	 smask;
	unsigned	 version;	/* of the blob */
	unsigned	 xform;		/* how stored fields derive (pack.c) */
	uint32_t	 n, left;	/* entries, entries not yet read */
	uint32_t	 nblocks;
	uint32_t	 series;	/* last series read */
	uint32_t	 in_block;	/* entries read in the current block */
	uint32_t	*ix_first;	/* decoded index (pack_find), or NULL */
	uint64_t	*ix_off;
	bool		 ix_ready;
};

void	 pack_writer_init(struct pack_writer *w, unsigned nfields, unsigned smask);
void	 pack_writer_free(struct pack_writer *w);
void	 pack_add(struct pack_writer *w, uint32_t series, const int64_t *fields);
void	 pack_finish(struct pack_writer *w, uint8_t **ret, size_t *ret_len);
int	 pack_reader_init(struct pack_reader *r, const void *blob, size_t len,
	    unsigned want_nfields);
int	 pack_next(struct pack_reader *r, uint32_t *ret_series, int64_t *fields);
int	 pack_find(struct pack_reader *r, uint32_t series, int64_t *fields);
void	 pack_reader_free(struct pack_reader *r);
int	 pack_sum(struct pack_reader *r, int64_t *dst, uint32_t max_series);

/* The detail blob: the latest full breakdown. */
struct detail_row {
	uint32_t	 stack;		/* stacks.id */
	const char	*comm;		/* real comm, not folded */
	const char	*memcg;		/* "" = not charged */
	uint32_t	 order;
	uint64_t	 gfp;
	uint64_t	 pages;
	uint64_t	 blocks;
	uint64_t	 ts_min;	/* oldest block's alloc ts, ns */
};
struct detail_writer;
struct detail_writer *detail_writer_new(void);
void	 detail_writer_free(struct detail_writer *w);
void	 detail_add(struct detail_writer *w, const struct detail_row *row);
void	 detail_finish(struct detail_writer *w, uint8_t **ret, size_t *ret_len);
/* Calls fn per row; strings valid during the call.  -EBADMSG if corrupt. */
int	 detail_each(const void *blob, size_t len,
	    int (*fn)(const struct detail_row *row, void *userdata), void *userdata);

/* ---- store.c: the database; all SQL lives here --------------------------- */

/* One snapshot row. */
struct snap_row {
	int64_t		 id;
	int64_t		 boot;		/* boots.id */
	char		 boot_id[64];
	char		 kernel[128];
	double		 time;
	int64_t		 mono_ns;
	bool		 baseline;
	bool		 identities;
	char		 kind[16];	/* "full" or "stacks" */
	char		 source[512];
	char		 format[32];
	double		 duration, cpu_user, cpu_sys, parse_s, diff_s, store_s;
	int64_t		 bytes, records, pages, malformed, unknown_lines;
	int64_t		 stacks, changed;
	bool		 pinned;
};

/* A snapshot's place, without its figures. */
struct snap_ref {
	int64_t		 id;
	double		 time;
	bool		 baseline;
	int64_t		 boot;		/* boots.id */
	bool		 full;		/* a full read (else a stacks read) */
	bool		 identities;	/* allocated/freed since the previous full read */
};

/* A series and its latest value (strings valid during the callback). */
struct series_row {
	int64_t		 id;
	int		 kind;		/* enum series_kind */
	const char	*key;
	const char	*culprit;
	const char	*module;
	int64_t		 first;		/* first snapshot */
	int64_t		 pages, blocks;	/* totals: the latest value */
	int64_t		 last_change;	/* snapshot of the last change */
	int64_t		 growing_since;	/* snapshot after its last decrease */
	int64_t		 ts_min;	/* oldest live block's alloc ts, ns */
};

/* An exact stack. */
struct stack_row {
	int64_t		 id;		/* stacks.id */
	uint64_t	 hash;		/* of its frame lines */
	int64_t		 series;	/* its signature's series */
	char		*frames;	/* malloc'd (store_stacks_of_series), or NULL */
	int64_t		 first;		/* first snapshot */
};

/* A rollup (level 1 = hour, 2 = day), without its blob. */
struct bucket_meta {
	int		 level;
	int64_t		 start;		/* its key: Unix time of the bucket's start */
	int64_t		 first, last;	/* snapshots in it */
	double		 t_last;	/* time of last (0 if pruned) */
	int64_t		 n;		/* snapshots */
	int64_t		 boot;		/* boots.id of first (store_bucket_last) */
	double		 t_first;	/* time of first (store_bucket_last) */
};

/* A blob read out of the database: malloc'd, never NULL once read. */
struct store_blob {
	uint8_t		*p;
	size_t		 len;
};
void	 store_blob_free(struct store_blob *b);

struct store;
int	 store_open(struct store **ret, const char *path, bool readonly, char **cause);
void	 store_close(struct store *s);
bool	 store_replaced(const struct store *s);
const char *store_errmsg(struct store *s);
int64_t	 store_size(struct store *s);
int	 store_quarantine(const char *path, char **ret_moved);
int	 store_begin(struct store *s);
int	 store_commit(struct store *s);
void	 store_rollback(struct store *s);
int	 store_read_begin(struct store *s);
void	 store_read_end(struct store *s);
/* writes (the collector) */
int	 store_boot(struct store *s, const char *boot_id, const char *kernel,
	    int64_t *ret_id);
int	 store_set_boot_range(struct store *s, int64_t boot, int64_t snapshot);
int	 store_insert_snapshot(struct store *s, struct snap_row *row);
int	 store_update_snapshot(struct store *s, const struct snap_row *row);
int	 store_pin(struct store *s, int64_t snapshot, bool pinned);
int	 store_insert_series(struct store *s, int kind, const char *key,
	    const char *culprit, const char *module, int64_t first, int64_t *ret_id);
int	 store_insert_stack(struct store *s, uint64_t hash, int64_t series,
	    const char *frames, size_t frames_len, int64_t first, int64_t *ret_id);
int	 store_put_totals(struct store *s, const struct series_row *t);
int	 store_put_changes(struct store *s, int64_t snapshot, const void *blob, size_t len);
int	 store_put_checkpoint(struct store *s, int64_t snapshot, const void *blob,
	    size_t len);
int	 store_put_detail(struct store *s, int64_t snapshot, const void *blob, size_t len);
int	 store_drop_old_detail(struct store *s, int64_t keep);
int	 store_put_bucket(struct store *s, const struct bucket_meta *m,
	    const void *blob, size_t len);
int	 store_prune(struct store *s, double now, double keep_full,
	    double keep_hourly, uint64_t max_size, int64_t *ret_deleted);
/* reads: 1 found, 0 not, or -errno (single rows); 0 or -errno (lists) */
int	 store_last_snapshot(struct store *s, struct snap_row *ret);
int	 store_snapshot(struct store *s, int64_t id, struct snap_row *ret);
int	 store_snapshot_span(struct store *s, int64_t *ret_count, int64_t *ret_first,
	    int64_t *ret_last);
int	 store_snapshot_near(struct store *s, double t, bool after, int64_t *ret_id);
int	 store_snapshots(struct store *s, int64_t lo, int64_t hi, int64_t limit,
	    struct snap_row **ret, size_t *ret_n);
int	 store_snapshot_refs(struct store *s, int64_t lo, int64_t hi,
	    struct snap_ref **ret, size_t *ret_n);
int	 store_snapshot_kinds(struct store *s, int64_t lo, int64_t hi,
	    int64_t *ret_full, int64_t *ret_stacks);
int	 store_last_full(struct store *s, int64_t at_most, int64_t *ret_id);
int	 store_baselines(struct store *s, int64_t lo, int64_t hi, int64_t **ret,
	    size_t *ret_n);
int	 store_each_series(struct store *s, int64_t after,
	    int (*fn)(const struct series_row *row, void *ud), void *ud);
int	 store_series_totals(struct store *s, int64_t id, struct series_row *ret);
int	 store_each_stack(struct store *s,
	    int (*fn)(const struct stack_row *row, void *ud), void *ud);
int	 store_stack_series(struct store *s, int64_t stack, int64_t *ret_series);
int	 store_stacks_of_series(struct store *s, int64_t series,
	    struct stack_row **ret, size_t *ret_n);
void	 store_stack_rows_free(struct stack_row *v, size_t n);
int	 store_detail_latest(struct store *s, int64_t at_most, int64_t *ret_snapshot,
	    struct store_blob *ret);
int	 store_checkpoint_before(struct store *s, int64_t at_most,
	    int64_t *ret_snapshot, struct store_blob *ret);
int	 store_checkpoint_exists(struct store *s, int64_t snapshot);
int	 store_bucket_last(struct store *s, int level, struct bucket_meta *ret,
	    struct store_blob *ret_blob);
int	 store_buckets(struct store *s, int level, int64_t lo, int64_t hi,
	    struct bucket_meta **ret, size_t *ret_n);
int	 store_bucket_blob(struct store *s, int level, int64_t start,
	    struct store_blob *ret);
/* fn per change blob (borrowed for the call) of snapshots lo..hi, in order */
int	 store_each_change(struct store *s, int64_t lo, int64_t hi,
	    int (*fn)(int64_t snapshot, const void *blob, size_t len, void *ud),
	    void *ud);

/* A sweep's PFN window (store_each_window). */
struct window_row {
	int64_t		 idx;		/* first PFN / window size */
	uint64_t	 lo, hi;	/* PFN range [lo, hi) */
	int64_t		 snapshot;	/* the snapshot that read it last */
	int64_t		 boot;
	double		 time;		/* of that read */
};
/* A window row's data packs per series: pages, blocks, allocated, freed,
 * oldest ts. */
#define WIN_FIELDS	5
int	 store_window_put(struct store *s, const struct window_row *w,
	    const void *blob, size_t len);
int	 store_window_drop(struct store *s, int64_t idx);
int	 store_windows_clear(struct store *s);
int	 store_each_window(struct store *s,
	    int (*fn)(const struct window_row *w, const void *blob, size_t len,
	    void *ud), void *ud);
int	 store_window_get(struct store *s, int64_t idx, int64_t *ret_snapshot,
	    struct store_blob *ret);
/* A sampling sweep's estimate (sweep.c): data packs series -> pages, SE,
 * in 1/16 pages (EST_FIELDS). */
#define EST_FIELDS	2
#define EST_SCALE	16.0
struct estimate_row {
	int64_t		 snapshot;
	int64_t		 windows, sampled, strata;
};
int	 store_estimate_put(struct store *s, const struct estimate_row *e,
	    const void *blob, size_t len);
int	 store_estimate_in(struct store *s, int64_t lo, int64_t hi, bool last,
	    struct estimate_row *ret, struct store_blob *blob);
int	 store_windows_summary(struct store *s, int64_t *ret_n, double *ret_oldest,
	    int64_t *ret_oldest_snapshot);

/* ---- series.c: what a history is kept of --------------------------------- */

enum series_kind {
	SERIES_STACK = 1,
	SERIES_COMM = 2,
	SERIES_MEMCG = 3,
	SERIES_MODULE = 4,
	SERIES_ORDER = 5,
	SERIES__KIND_MAX,
};
#define SERIES_NKINDS	(SERIES__KIND_MAX - 1)

const char *series_kind_name(enum series_kind k);
int	 series_kind_parse(const char *s, enum series_kind *ret);
void	 series_fold_comm(const char *comm, char *buf, size_t len);

/* Per-series values of one snapshot, indexed by series id. */
struct series_values {
	int64_t		*pages;
	int64_t		*blocks;
	int64_t		*ts_min;
	int64_t		*alloc;		/* pages allocated since the last snapshot */
	int64_t		*freed;
	int64_t		 cap;		/* entries allocated */
};
void	 series_values_reserve(struct series_values *v, int64_t max_id);
void	 series_values_clear(struct series_values *v);
void	 series_values_free(struct series_values *v);

/* ---- registry.c: the collector's memory of stacks and series ------------ */

struct series_info {
	enum series_kind kind;
	char		*key;
	char		*culprit;
	char		*module;
	int64_t		 pages;		/* latest value */
	int64_t		 blocks;
	int64_t		 growing_since;
	int64_t		 ts_min;
	int64_t		 last_change;
};

struct registry;
int	 registry_load(struct registry **ret, struct store *st, uint32_t max_stacks,
	    uint32_t max_series, char **cause);
void	 registry_free(struct registry *r);
int64_t	 registry_series(struct registry *r, struct store *st, enum series_kind kind,
	    const char *key, const char *culprit, const char *module, int64_t snapshot);
int64_t	 registry_find(struct registry *r, enum series_kind kind, const char *key);
int64_t	 registry_stack(struct registry *r, struct store *st, uint64_t hash,
	    struct po_span frames, uint64_t sig_hash, const char *culprit,
	    const char *module, int64_t snapshot, int64_t *ret_series);
struct series_info *registry_info(struct registry *r, int64_t series);
int64_t	 registry_max_series(const struct registry *r);
uint64_t registry_overflowed(const struct registry *r);

/* ---- combo.c: a full read's records by stack x comm x memcg x order x gfp - */

struct combo_key {
	uint32_t	 stack;		/* po_stacktab id */
	uint32_t	 comm;		/* name id */
	uint32_t	 memcg;		/* name id ("" = not charged) */
	uint32_t	 order;
	uint64_t	 gfp;
};

struct combo {
	struct combo_key k;
	uint64_t	 pages;
	uint64_t	 blocks;
	uint64_t	 ts_min;	/* oldest allocation, ns; 0 = unknown */
};

/* Past a read's max_combos, a stack's further (comm, memcg, gfp) combos
 * are counted as one, named this, per order. */
#define COMBO_OTHER	"(other)"

struct combo_table;
struct combo_table *combo_table_new(void);
void	 combo_set_fold(struct combo_table *t, uint32_t n);
uint64_t combo_folded(const struct combo_table *t);
void	 combo_table_free(struct combo_table *t);
int	 combo_add(struct combo_table *t, const struct po_record *r,
	    uint32_t *ret_combo, uint64_t *ret_ident);
void	 combo_add_batch(struct combo_table *t, const struct po_record *rs,
	    size_t n, uint32_t *combos, uint64_t *idents, int *rets);
uint32_t combo_count(const struct combo_table *t);
const struct combo *combo_get(const struct combo_table *t, uint32_t i);
struct po_stacktab *combo_stacks(const struct combo_table *t);
const char *combo_name(const struct combo_table *t, uint32_t id);

/* ---- history.c: the read-only history and its series cache --------------- */

#define LEVEL_SNAPSHOT	0
#define LEVEL_HOUR	1
#define LEVEL_DAY	2

/* A series as the history names it (rows are never changed once written). */
struct sinfo {
	int		 kind;		/* enum series_kind, 0 = no such id */
	char		*key;
	char		*culprit;
	char		*module;
	int64_t		 first;		/* first snapshot */
};

/* Pages and blocks of every series after a snapshot, by series id. */
struct state {
	int64_t		*pages;
	int64_t		*blocks;
	int64_t		 n;
	bool		 approx;	/* pruned deltas were replaced by an hour */
};

struct history;
int	 history_open(struct history **ret, const char *path, char **cause);
int	 history_borrow(struct history **ret, struct store *st);
void	 history_free(struct history *h);
/* The connection (NULL while closed for a reopen by the collector). */
struct store *history_store(struct history *h);
int	 history_reopen(struct history *h, char **cause);
void	 history_close_store(struct history *h);
int	 history_refresh(struct history *h);
const struct sinfo *history_series(const struct history *h, int64_t id);
int64_t	 history_max_series(const struct history *h);
double	 history_snap_time(struct history *h, int64_t id);
int	 history_state_at(struct history *h, int64_t snapshot, struct state *ret);
void	 state_free(struct state *s);
int64_t	 state_sum(const struct state *s, const int64_t *series, size_t n, bool blocks);

/* ---- history.c, the cover: the stored pieces that make up a window ------ */

struct segment {
	int		 level;		/* LEVEL_* */
	int64_t		 first, last;	/* snapshot ids */
	double		 t_last;	/* time of last */
	bool		 reset;		/* holds a baseline (new boot): values restart */
	struct store_blob blob;
	struct pack_reader rd;		/* for segment_find, once ready */
	bool		 rd_ready;
};

struct cover {
	struct segment	*v;
	size_t		 n, cap;
	bool		 approx;	/* pruned deltas were replaced by an hour */
	int		 finest;	/* finest level used */
};

/* Per series: what happened in a window. */
struct acc {
	int64_t		 d_pages, d_blocks, alloc, freed, grew, shrank;
};

struct vec {
	struct acc	*a;		/* by series id */
	int64_t		 n;		/* entries (max id + 1) */
};

int	 cover_build(struct history *h, int64_t lo, int64_t hi, int max_level,
	    struct cover *c);
void	 cover_free(struct cover *c);
int	 cover_sum(const struct cover *c, int64_t max_series, struct vec *ret,
	    int64_t *ret_intervals);
void	 vec_free(struct vec *v);
int	 segment_find(struct segment *seg, const int64_t *ids, size_t n, int64_t *sum);
int	 cover_reset_states(struct history *h, const struct cover *c, int64_t lo,
	    bool before, struct state **ret);
void	 cover_reset_states_free(struct state *v, size_t n);
int	 cover_buckets_at(struct history *h, int level, int64_t snapshot,
	    struct bucket_meta *ret);

/* ---- identfile.c: the previous full read's block identities ------------- */

/*
 * <db>.ident holds the identities (PFN, ts hash, combo, order) of the last
 * full read, in PFN order, behind a header naming its snapshot; a full read
 * writes the next one beside it and merges against it, which tells the
 * pages allocated and freed in between.  It replaces the old file only
 * after the snapshot's commit; until it does, the file is of no use.
 */
struct identfile;
struct identfile *identfile_new(const char *db_path);
void	 identfile_free(struct identfile *f);
/* The file at the path is of this snapshot and boot (checks its header). */
bool	 identfile_matches(struct identfile *f, int64_t snapshot, int64_t boot);
const char *identfile_tmp(const struct identfile *f);
/* Writing the next one: begin, write (po_ident_write), commit or abort. */
int	 identfile_begin(struct identfile *f, FILE **ret, char **cause);
int	 identfile_finish(struct identfile *f, int64_t snapshot, int64_t boot,
	    uint64_t count, char **cause);
int	 identfile_commit(struct identfile *f, char **cause);
void	 identfile_abort(struct identfile *f);
/* The previous identities for a merge, positioned after the header. */
FILE	*identfile_open_prev(struct identfile *f, int64_t snapshot, int64_t boot);
FILE	*identfile_out(struct identfile *f);
FILE	*identfile_open_prev_count(struct identfile *f, int64_t snapshot,
	    int64_t boot, uint64_t *ret_count);
#define IDENTFILE_RECORD 16	/* bytes per identity on disk (lib/ident.c) */

/* ---- rollup.c: values to deltas, totals, hourly and daily rollups -------- */

#define ROLLUP_TOP	5	/* top growers a snapshot reports */

/* One of a snapshot's top growing stack series. */
struct grower {
	int64_t		 series;
	int64_t		 d;		/* net pages */
	int64_t		 alloc, freed;
};

struct rollup;
struct rollup *rollup_new(void);
void	 rollup_free(struct rollup *r);
int	 rollup_rebuild(struct rollup *r, struct store *st);
/* Store one snapshot's values (inside the caller's transaction); the
 * number of changed series, or -errno.  top: NULL or ROLLUP_TOP entries. */
int	 rollup_apply(struct rollup *r, struct store *st, struct registry *reg,
	    const struct snap_row *row, struct series_values *v, struct grower *top);
int	 rollup_checkpoint(struct store *st, struct registry *reg, int64_t snapshot);
void	 rollup_set_bulk(struct rollup *r, bool bulk);
int	 rollup_flush_totals(struct rollup *r, struct store *st, struct registry *reg);

/* ---- full.c and stacks.c: the two kinds of read ------------------------- */

/* What a read stage needs from the engine. */
struct read_ctx {
	struct source	*src;
	struct store	*st;		/* write connection, transaction open
					   (stacks reads) */
	struct registry	*reg;
	char		*buf;		/* READ_BUF bytes */
	size_t		 buflen;
	volatile int	*stop;		/* the daemon is stopping */
	char		**cause;	/* why it failed, for people */
	uint64_t	 pfn_lo, pfn_hi; /* full reads: the PFN window; hi 0 = all */
	uint32_t	 max_combos;	/* full reads: then fold (0 = never) */
	struct stacks	*stacks;	/* full reads: handles they print go to
					   the stacks reads' handle map */
	int64_t		 boot;		/* boots.id of the snapshot (full_resolve) */
};

/* The series one combo counts in, by kind - 1. */
struct combo_series {
	int64_t		 s[SERIES_NKINDS];
};

/* A full read, parsed: the combos and the identity merge's results. */
struct full_read {
	struct combo_table *combos;
	int64_t		*combo_alloc;	/* by combo: pages allocated since prev */
	size_t		 combo_cap;
	int64_t		*prev_freed;	/* by previous combo: pages freed */
	bool		 merged;	/* allocated/freed are known */
	bool		 page_owner_off; /* the kernel has no page_owner (failed) */
	uint64_t	 idents;	/* identities written */
	uint64_t	 records, pages; /* page records and pages in the window */
	struct po_parse_stats stats;
};
int	 full_read(struct read_ctx *rc, struct identfile *idf, FILE *prev,
	    size_t nprev, const char *name, struct full_read *ret);
void	 full_read_free(struct full_read *f);
/* Combos to series values and the detail blob (inside the transaction). */
int	 full_resolve(struct read_ctx *rc, const struct full_read *f,
	    const struct combo_series *prev, size_t nprev, int64_t snapshot,
	    bool identities, struct series_values *v, struct combo_series **ret_combos,
	    uint8_t **ret_detail, size_t *ret_detail_len);
/* A previous full read's combos, from its detail blob. */
int	 full_prev_combos(struct store *st, struct registry *reg, int64_t snapshot,
	    int64_t *ret_snapshot, struct combo_series **ret, size_t *ret_n);

/* What the stacks reads of the current boot did, for status. */
struct stacks_stats {
	char		 file[32];	/* last stacks read: show_handles or
					   show_stacks; "" = none yet */
	int64_t		 handles_boot;	/* boots.id the handle map is of */
	uint64_t	 handles_known;	/* handles mapped to a stack this boot */
	uint64_t	 reads;		/* show_handles reads this boot */
	uint64_t	 resolve_reads;	/* show_stacks_handles reads this boot */
	uint64_t	 new_handles;	/* last read: handles met first, resolved */
	uint64_t	 unresolved;	/* last read: handles show_stacks_handles
					   did not list */
	int64_t		 unresolved_pages; /* their pages */
	uint64_t	 unresolved_total; /* this boot */
	uint64_t	 from_full;	/* handles mapped by full reads (records
					   with a handle line) this boot */
	int		 filter_state;	/* page_owner's per-open filter (source.c) */
	char		 filter[32];
	char		 filter_why[128];
};

struct stacks;
struct stacks *stacks_new(void);
void	 stacks_stats(const struct stacks *s, struct stacks_stats *ret);
void	 stacks_note_handle(struct stacks *s, int64_t boot, uint32_t handle,
	    int64_t series);
void	 stacks_free(struct stacks *s);
bool	 stacks_available(const struct source *src);
/* A page_owner_stacks read into v (stack and module series); row gets its
 * records, pages, bytes and format. */
int	 stacks_read(struct stacks *s, struct read_ctx *rc, struct snap_row *row,
	    struct series_values *v);

/* ---- sweep.c: PFN windows of the full dump, in rotation ------------------ */

struct sweep_status {
	bool		 active;	/* the latest snapshot was a sweep */
	uint32_t	 windows;	/* windows of the PFN span */
	uint32_t	 per_snapshot;	/* windows a snapshot reads */
	uint32_t	 k;		/* every window is read within k snapshots */
	uint32_t	 read;		/* windows the latest snapshot read */
	uint32_t	 stale;		/* windows whose latest read failed */
	uint32_t	 unmerged;	/* read without identities to diff against */
	uint32_t	 unread;	/* never read yet: the picture is partial */
	double		 oldest;	/* wall time of the oldest window's read */
	uint64_t	 window_pages;	/* PFNs a window spans */
	uint64_t	 span_lo, span_hi; /* the PFN span */
	double		 cost;		/* CPU seconds a window costs (estimate) */
	char		 seek[32];	/* how a window is found in the source */
	double		 sample;	/* percent of the windows drawn (0 = off) */
	uint32_t	 strata;	/* strata they were drawn from */
	bool		 estimated;	/* the latest snapshot has an estimate */
};

/* ---- sample.c: a sampling sweep's draws and estimates ------------------- */

/* A stratum: windows [lo, hi) of those drawn from, the ones drawn in it. */
struct sample_stratum {
	size_t		 lo, hi;
	unsigned	 n;		/* drawn */
	unsigned	 read;		/* of those, read */
	size_t		 pick[3];
};

struct sampler;
struct sampler *sampler_new(void);
void	 sampler_free(struct sampler *sw);
void	 sampler_reset(struct sampler *sw, int64_t max);
size_t	 sampler_pick_sure(struct sampler *sw, int64_t first, size_t nwin, size_t *ridx,
	    size_t nr, size_t cap);
struct sample_stratum *sampler_draw(struct sampler *sw, size_t n, size_t nwin,
	    size_t *ret_h);
int	 sampler_window(struct sampler *sw, const struct store_blob *xb,
	    const struct series_values *y, int64_t max, bool tally, double *ret_grew);
void	 sampler_stratum(struct sampler *sw, const struct sample_stratum *x);
void	 sampler_activity(struct sampler *sw, int64_t idx, double rate);
double	 sampler_largest(const struct series_values *v, int64_t max);
int	 sampler_store(struct sampler *sw, struct store *st, const struct series_values *v,
	    int64_t max, size_t n, size_t nr, const struct estimate_row *e);

struct sweep;
struct sweep *sweep_new(const char *db_path);
void	 sweep_free(struct sweep *sw);
int	 sweep_run(struct sweep *sw, struct read_ctx *rc, const struct config *cfg,
	    struct snap_row *row, struct series_values *v);
void	 sweep_commit(struct sweep *sw);
void	 sweep_abort(struct sweep *sw);
const struct sweep_status *sweep_status(const struct sweep *sw);
/* The source's PFN span [lo, hi) and the windows it is cut into (pages a
 * window, first and last index). */
int	 sweep_span(struct source *src, const struct config *cfg, uint64_t span[2],
	    uint64_t *ret_wpfns, int64_t *ret_first, int64_t *ret_last, char **cause);

/* ---- engine.c: one job at a time on the write connection ----------------- */

/* The outcome of one snapshot, handed to the main loop. */
struct snap_result {
	int		 error;		/* 0, or -errno */
	char		*cause;		/* what went wrong, for people */
	struct snap_row	 row;		/* the snapshot, when error == 0 */
	struct stacks_stats stacks;	/* the stacks reads so far */
	struct grower	 top[ROLLUP_TOP]; /* its top growers (series 0 = none) */
	char		*top_names[ROLLUP_TOP][3]; /* key, culprit, module */
	bool		 replay_done;	/* a capture replay ran out of files */
	bool		 page_owner_off; /* the kernel file is missing or off */
	bool		 db_readonly;	/* the database is writable, but was opened
					 * read-only: the main loop must close its
					 * connection for the collector to reopen */
	uint64_t	 overflowed;	/* new: lookups folded into (overflow) */
	size_t		 replay_next;	/* replay: files read so far */
	size_t		 replay_total;	/* replay: files in the capture */
	struct sweep_status sweep;	/* a sweep's windows (sweep.active) */
};
void	 snap_result_free(struct snap_result *r);

struct engine;
int	 engine_open(struct engine **ret, const struct config *cfg, char **cause);
void	 engine_close(struct engine *e);
int	 engine_snapshot(struct engine *e, const struct config *cfg,
	    volatile int *stop, struct snap_result *res);
int	 engine_pin(struct engine *e, int64_t snapshot, bool pinned, char **cause);
int	 engine_prune(struct engine *e, const struct config *cfg,
	    int64_t *ret_deleted, char **cause);
/* For callers that bring their own values (the bench generator). */
int	 engine_apply(struct engine *e, struct snap_row *row,
	    struct series_values *v, const void *detail, size_t detail_len,
	    char **cause);
struct store *engine_store(struct engine *e);
struct registry *engine_registry(struct engine *e);
void	 engine_set_bulk(struct engine *e, bool bulk);
int	 engine_flush_totals(struct engine *e);

/* ---- collect.c: the collector thread ------------------------------------ */

enum job_kind {
	JOB_SNAPSHOT,
	JOB_PIN,		/* pin or unpin a snapshot */
	JOB_PRUNE,		/* retention, now */
};

struct job {
	enum job_kind	 kind;
	uint64_t	 seq;		/* set by collector_submit */
	int64_t		 snapshot;	/* JOB_PIN */
	bool		 pinned;	/* JOB_PIN */
};

struct job_result {
	struct job	 job;
	struct snap_result snap;	/* JOB_SNAPSHOT */
	int		 error;		/* JOB_PIN, JOB_PRUNE: 0 or -errno */
	char		*cause;
	int64_t		 count;		/* JOB_PRUNE: rows deleted */
};

struct collector;
int	 collector_start(struct collector **ret, const struct config *cfg,
	    struct event_base *base, void (*done)(struct job_result *res, void *ud),
	    void *userdata, char **cause);
void	 collector_stop(struct collector *c);
/* Queue a job: its seq, or -EBUSY (a snapshot while one is queued or running,
 * unless after_running: then one more after it, or that one's seq). */
int64_t	 collector_submit(struct collector *c, struct job *job, bool after_running);
bool	 collector_busy(struct collector *c);
/* Any job queued, running, or done but not yet handed to the main loop. */
bool	 collector_pending(struct collector *c);
void	 collector_set_config(struct collector *c, const struct config *cfg);

/* ---- budget.c: the collection's CPU budget ------------------------------- */

struct budget_stats {
	double		 window;	/* seconds it covers */
	double		 cpu;		/* CPU seconds spent */
	double		 spent;		/* cpu / window: share of one CPU */
	double		 avg;		/* per snapshot */
	double		 full_cpu;	/* of which full reads */
	unsigned	 n, nfull;	/* snapshots, full reads */
};

struct budget;
struct budget *budget_new(double started);
void	 budget_free(struct budget *b);
void	 budget_note(struct budget *b, double now, double cpu, bool full);
void	 budget_stats(const struct budget *b, double now, double interval,
	    struct budget_stats *ret);
/* The interval that keeps the average snapshot within cpu_budget. */
double	 budget_interval(const struct budget *b, double now, const struct config *cfg);

/* ---- sched.c: when snapshots are taken, and what came of them ------------ */

struct sched_state {
	uint64_t	 snapshots_ok, snapshots_failed;
	struct snap_row	 last;		/* latest snapshot taken */
	bool		 have_last;
	struct stacks_stats stacks;	/* the stacks reads, as of the latest */
	char		*last_error;	/* why the latest attempt failed */
	double		 last_error_time;
	double		 interval;	/* effective interval, seconds */
	double		 next_snapshot;	/* wall time the timer fires */
	size_t		 replay_next, replay_total;
	bool		 replay_done;	/* a capture replay has no more files */
	uint64_t	 overflowed;	/* stacks or series past the caps */
	char		 status_line[512]; /* also sent as STATUS= */
	bool		 stopping;
	int		 exit_code;	/* --once */
	struct sweep_status sweep;	/* the latest sweep's windows */
};

struct sched;
struct sched_hooks {
	/* after each successful snapshot (subscribers' notification) */
	void		(*snapshot)(const struct snap_result *res, void *ud);
	void		*ud;
};
int	 sched_new(struct sched **ret, struct event_base *base, const struct config *cfg,
	    struct history *hist, const struct sched_hooks *hooks, bool once,
	    char **cause);
void	 sched_free(struct sched *s);
void	 sched_start(struct sched *s);
void	 sched_stop(struct sched *s);
void	 sched_set_config(struct sched *s, const struct config *cfg);
const struct sched_state *sched_state(const struct sched *s);
const struct budget *sched_budget(const struct sched *s);
bool	 sched_busy(struct sched *s);
bool	 sched_idle(struct sched *s);
/* Submit a job now (a snapshot runs after the current one); fn, if given, is
 * called with its result (NULL: the daemon stopped first). */
int	 sched_submit(struct sched *s, struct job *job,
	    void (*fn)(const struct job_result *res, void *ud), void *ud);

/* ---- rpc.c: the protocol's envelopes and errors -------------------------- */

/* Who sent a request, and where its replies go (server.c, or a test's). */
struct rpc_peer;
struct rpc_peer_ops {
	void		(*write)(struct rpc_peer *p, const char *line, size_t n);
	void		(*close)(struct rpc_peer *p, const char *why);
	void		(*ref)(struct rpc_peer *p);
	void		(*unref)(struct rpc_peer *p);
	bool		(*alive)(const struct rpc_peer *p);
	void		(*subscribe)(struct rpc_peer *p);
};
struct rpc_peer {
	const struct rpc_peer_ops *ops;
	uid_t		 uid;		/* credentials, from SO_PEERCRED */
	gid_t		 gid;
	pid_t		 pid;
};

/* A request as the methods see it. */
struct request {
	struct rpc_peer	*peer;
	json_t		*id;		/* NULL for notifications */
	const char	*method;
	json_t		*params;	/* an object, maybe empty */
};

/* A handler's error: a JSON-RPC code and a message for people. */
struct rpc_err {
	int		 code;
	char		*msg;		/* malloc'd */
};

/* A reply owed after the handler returned (a job's result): holds the peer. */
struct rpc_pending {
	struct rpc_peer	*peer;
	json_t		*id;		/* NULL: a notification, nothing to send */
};
struct rpc_pending *rpc_pending_new(const struct request *req);
/* Whether the reply can still be sent (the peer is there, it wants one). */
bool	 rpc_pending_wanted(const struct rpc_pending *p);
void	 rpc_pending_free(struct rpc_pending *p);

int	 rpc_fail(struct rpc_err *err, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	 rpc_parse(const char *line, size_t n, json_t **ret_doc, struct request *ret,
	    struct rpc_err *err, json_t **ret_err_id);
void	 rpc_reply(struct rpc_peer *p, json_t *id, json_t *result);
void	 rpc_error(struct rpc_peer *p, json_t *id, int code, const char *msg);
char	*rpc_error_line(json_t *id, int code, const char *msg, size_t *ret_len);
char	*rpc_notification_line(const char *method, json_t *params, size_t *ret_len);
json_t	*rpc_snapshot_json(const struct snap_row *r);
json_t	*rpc_growers_json(const struct snap_result *res);
int	 rpc_param_str(json_t *params, const char *name, const char **ret,
	    struct rpc_err *err);
int	 rpc_param_limit(json_t *params, int64_t *ret, struct rpc_err *err);

/* ---- window.c: since / until / at / limit, resolved to snapshot ids ------- */

struct window {
	int64_t		 lo, hi;	/* snapshot ids, inclusive */
	double		 t_lo, t_hi;	/* their times */
	int64_t		 limit;		/* rows wanted */
	int64_t		 first, last;	/* every stored snapshot */
	bool		 relative;	/* since was relative ("-7d"): may be aligned */
};

int	 window_parse(struct store *st, json_t *params, int64_t default_limit,
	    struct window *ret, char **cause);
int	 window_point(struct store *st, json_t *value, const char *what,
	    int64_t *ret_id, char **cause);

/* ---- leakscore.c: the leak score and its guards (pure: no SQL, no I/O) -- */

#define LEAK_MIN_STEADINESS	0.75
#define LEAK_MIN_RETENTION	0.5
#define LEAK_MIN_SIGNIFICANCE	4.0
#define LEAK_MAX_ORDER		10	/* largest block a stack is assumed to take */

enum leak_read { LEAK_READ_STACKS, LEAK_READ_FULL };

/* One measured point of a stack (or a group of stacks). */
struct leak_point {
	enum leak_read	 read;		/* what measured it */
	int64_t		 pages;		/* pages at this read */
	int64_t		 blocks;	/* full reads: blocks (stacks reads: ignored) */
	bool		 merged;	/* full reads: alloc/freed measured, since the
					   previous full read */
	int64_t		 alloc, freed;	/* pages, when merged */
	bool		 reset;		/* a new boot: values restart here */
};

/* The evidence so far (a stacks point equal to the last one may be left out). */
struct leak_acc {
	bool		 started;
	bool		 in_window;	/* else the context before it */
	int64_t		 pages, blocks;	/* now (blocks: of the last full read) */
	int64_t		 net;		/* pages, over the window */
	int64_t		 grew, shrank;	/* intervals */
	int64_t		 rose, fell;	/* pages seen rising, falling */
	int64_t		 ctx_rose, ctx_fell; /* the same, in the context */
	int64_t		 alloc, freed;	/* measured by merged full reads */
	int64_t		 merges;	/* full reads merged with one in the window */
	bool		 full_in_window; /* a full read seen so far in the window */
	int64_t		 full_pages;	/* the last full read's pages and blocks */
	int64_t		 full_blocks;
	int64_t		 sizes;		/* gcd of page counts and changes seen */
};

struct leak_evidence {
	int64_t		 net_pages;
	int64_t		 grew, shrank;	/* intervals */
	double		 steadiness;
	bool		 freed_known;	/* two full reads in the window */
	int64_t		 alloc, freed;	/* pages, when known */
	double		 freed_ratio;	/* NAN when unknown */
	int64_t		 rose, fell;	/* pages seen rising, falling between reads */
	int64_t		 ctx_rose, ctx_fell; /* the same, before the window */
	double		 visible_retention; /* 1 - fell / rose (with the context's
					   where frees are unknown) */
	double		 retention;	/* used: 1 - freed_ratio, else visible */
	bool		 order_known;	/* pages per block from a full read */
	double		 pages_per_block;
	double		 net_blocks;
	double		 significance;
	double		 score;
	bool		 suspect;
	const char	*why_not;	/* the first guard failed; NULL for a suspect */
};

/* The context (the last full read before the window and the points up to
 * it), then the window's first point; or both at once (no points between). */
void	 leak_acc_context(struct leak_acc *a, const struct leak_point *prior_full);
void	 leak_acc_open(struct leak_acc *a, const struct leak_point *start);
void	 leak_acc_start(struct leak_acc *a, const struct leak_point *start,
	    const struct leak_point *prior_full);
void	 leak_acc_add(struct leak_acc *a, const struct leak_point *p);
/* A rollup: summed changes, interval counts, and how many full reads. */
void	 leak_acc_add_span(struct leak_acc *a, int64_t d_pages, int64_t grew,
	    int64_t shrank, int64_t alloc, int64_t freed, int64_t full_reads);
void	 leak_judge(const struct leak_acc *a, struct leak_evidence *ret);
void	 leak_score_points(const struct leak_point *v, size_t n,
	    const struct leak_point *prior_full, struct leak_evidence *ret);

/* ---- query.c: grouping series for an answer ------------------------------ */

enum by { BY_STACK, BY_CULPRIT, BY_MODULE, BY_COMM, BY_MEMCG, BY_ORDER };

struct match {
	char		*key;		/* stack, culprit, module, comm, memcg, order */
	char		*pattern;	/* fnmatch pattern (stack: id prefix) */
};

struct query {
	enum by		 by;
	int		 aligned;	/* LEVEL_* the window start was moved to, or 0 */
	struct match	 m[16];
	size_t		 nm;
	struct window	 w;
	int64_t		 page_size;
	bool		 no_leak_evidence; /* query_window_sums: skip the leak walk */
};

/* A group: one series, or (by culprit) the stack series sharing a culprit. */
struct qgroup {
	int64_t		 first_series;	/* its first series: names it */
	int64_t		*series;
	size_t		 nseries;
	struct acc	 sum;		/* over the window */
	int64_t		 pages, blocks;	/* at the window's end (or `at`) */
	int64_t		 pages_a, blocks_a; /* at the window's start (diff) */
	double		 score;		/* leaks */
	struct leak_acc	 leak;		/* leaks: the window's evidence, by read */
	int64_t		*spark;		/* SPARK_POINTS values, for the chosen */
	int		 nspark;
	/* a sampling sweep's estimates (query_estimates), when est_meta.n > 0 */
	double		 est_pages, est_var;	/* at the last estimate */
	double		 est_growth, est_gvar;	/* since the first (est_meta.n == 2) */
};

/* The estimates a window holds: none, one, or a first and a last. */
struct est_meta {
	int		 n;
	struct estimate_row first, last;
};

struct groups {
	struct qgroup	*v;
	size_t		 n;
	int64_t		*pool;		/* every group's series ids */
	int64_t		*of_series;	/* series id -> group index + 1 */
};

extern const char *const query_by_names[];
/* by, match; with window since/until/limit (window.c), else only limit. */
int	 query_parse(struct history *h, json_t *params, bool window, struct query *q,
	    struct rpc_err *err);
void	 query_free(struct query *q);
enum series_kind query_by_kind(enum by b);
void	 query_align(struct history *h, struct query *q);
json_t	*query_window_json(struct history *h, const struct query *q,
	    const struct cover *c, int64_t nsnap);
void	 query_sweep_json(struct history *h, double t, json_t *into);
int	 query_window_sums(struct history *h, struct query *q, struct groups *g,
	    struct cover *c, int64_t *ret_intervals, struct rpc_err *err);
void	 groups_build(struct history *h, const struct query *q, struct groups *g);
void	 groups_free(struct groups *g);
void	 groups_add_acc(struct groups *g, const struct vec *v);
void	 groups_set_state(struct groups *g, const struct state *st, bool start);
void	 groups_order(struct groups *g, size_t k, int (*cmp)(const void *, const void *));
json_t	*group_json(struct history *h, const struct query *q, const struct qgroup *gr);
int	 groups_sparklines(struct history *h, int64_t lo, struct cover *c,
	    struct qgroup **sel, size_t nsel);
json_t	*group_spark_json(const struct qgroup *g);
int	 query_estimates(struct history *h, int64_t lo, int64_t hi, struct groups *g,
	    struct est_meta *ret);
json_t	*est_meta_json(const struct est_meta *m, bool growth);
json_t	*group_est_json(const struct est_meta *m, const struct qgroup *gr);
bool	 group_est_growing(const struct est_meta *m, const struct qgroup *gr);
int	 group_cmp_pages(const void *a, const void *b);
int	 group_cmp_net(const void *a, const void *b);
int	 query_resolve_series(struct history *h, const char *spec, int64_t **ret,
	    size_t *ret_n, char **cause);

/* ---- export.c: the history in other tools' formats ----------------------- */

int	 export_prometheus(struct history *h, const struct sched_state *ss,
	    const struct query *q, json_t **ret, struct rpc_err *err);
int	 export_folded(struct history *h, json_t *params, json_t **ret,
	    struct rpc_err *err);
int	 export_json(struct history *h, struct query *q, json_t **ret,
	    struct rpc_err *err);
void	 export_prom_label(char *buf, size_t len, const char *v);

/* ---- export-stacks.c: every stack at a point, for profiles (pprof) -------- */

int	 export_stacks(struct history *h, json_t *params, json_t **ret,
	    struct rpc_err *err);

/* ---- method-*.c and methods.c: the dispatch table ------------------------ */

struct server;

/* What a method may use: the daemon's parts, never the daemon itself. */
struct method_ctx {
	const struct config *cfg;
	struct history	*hist;		/* the read-only history */
	struct sched	*sched;
	struct server	*server;	/* NULL without a socket (tests) */
	double		 started;	/* wall time the daemon started */
	const char	*source_kind;	/* "debugfs", "file", "replay" */
};

enum {
	M_ROOT = 1 << 0,	/* changes state: uid 0 only */
	M_DB = 1 << 1,		/* reads the history: refused while it reopens */
};

/* Handlers return 0 (reply with *ret), 1 (they reply later), -1 (err set). */
struct method {
	const char	*name;
	unsigned	 flags;		/* M_* */
	const char *const *params;	/* allowed param names */
	int		(*fn)(struct method_ctx *ctx, struct request *req, json_t **ret,
			    struct rpc_err *err);
};

extern const struct method method_status, method_snapshots, method_snapshot,
	method_subscribe, method_top, method_growers, method_leaks, method_history,
	method_stack, method_diff, method_export, method_pin, method_prune;

/* method-leaks.c: a group's score and verdict, after query_window_sums */
void	 leak_score(struct qgroup *g, double *ret_s, double *ret_r, double *ret_z,
	    bool *ret_suspect);

const struct method *methods_find(const char *name);
void	 methods_dispatch(struct method_ctx *ctx, struct request *req);
int	 methods_handle_line(struct method_ctx *ctx, struct rpc_peer *peer,
	    const char *line, size_t n);

/* ---- server.c: the control socket ---------------------------------------- */

int	 server_new(struct server **ret, struct event_base *base, const char *path,
	    const char *group, int (*on_line)(struct rpc_peer *p, const char *line,
	    size_t n, void *ud), void *userdata, char **cause);
void	 server_free(struct server *s);
bool	 server_activated(const struct server *s);
/* A notification line to every subscribed client. */
void	 server_broadcast(struct server *s, const char *line, size_t n);
void	 server_stats(const struct server *s, json_t *into);

/* ---- metrics.c: the Prometheus scrape endpoint (GET /metrics) ------------ */

struct metrics;
/* listen_on: metrics_listen (NULL: only a socket systemd passes); *ret
 * stays NULL when there is neither. */
int	 metrics_new(struct metrics **ret, struct event_base *base,
	    struct method_ctx *ctx, const char *listen_on, char **cause);
void	 metrics_free(struct metrics *m);
const char *metrics_where(const struct metrics *m);
int	 metrics_text(struct metrics *m, bool openmetrics, char **ret,
	    size_t *ret_len, char **cause);

#endif
