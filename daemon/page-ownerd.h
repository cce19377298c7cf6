/*
 * page-ownerd.h: the daemon's private header, grouped by source file, so
 * it reads as a map of the program.
 *
 * Threads: the main thread runs one libevent loop (listener, clients,
 * timers, signals, watchdog) and answers queries from a read-only database
 * connection; the collector thread (collect.c) takes one snapshot at a
 * time with its own write connection and tells the main loop when done.
 */
#ifndef PAGE_OWNERD_H
#define PAGE_OWNERD_H

#include <pthread.h>
#include <stdarg.h>
#include <sys/types.h>
#include <syslog.h>

#include <jansson.h>
#include <sqlite3.h>

#include "po.h"
#include "proto.h"

struct event_base;

/* ---- log.c --------------------------------------------------------------- */

void	 log_init(bool journal, int level);
void	 log_set_level(int level);
int	 log_get_level(void);
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

/* ---- config.c ------------------------------------------------------------ */

enum collect_mode {
	MODE_FULL,	/* the page_owner file every time */
	MODE_STACKS,	/* page_owner_stacks/ only */
	MODE_AUTO,	/* stacks often, the full file now and then */
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

/* ---- notify.c: systemd -------------------------------------------------- */

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
int	 source_next(struct source *s, struct source_meta *meta, char **cause);
bool	 source_available(const struct source *s, enum source_file which);
int	 source_open(struct source *s, enum source_file which, char **cause);
void	 source_free(struct source *s);
enum source_kind source_get_kind(const struct source *s);
const char *source_kind_name(enum source_kind k);
const char *source_path(const struct source *s);
int	 source_begin(struct source *s, struct source_meta *meta, char **cause);
ssize_t	 source_read(struct source *s, char *buf, size_t len);
void	 source_end(struct source *s);
bool	 source_done(const struct source *s);
void	 source_set_timeout(struct source *s, double seconds);
void	 source_set_pace(struct source *s, double pace);
double	 source_timeout(const struct source *s);
void	 source_position(const struct source *s, size_t *ret_next, size_t *ret_total);

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

/* ---- store.c: all SQL lives here ---------------------------------------- */

enum series_kind {
	SERIES_STACK = 1,
	SERIES_COMM = 2,
	SERIES_MEMCG = 3,
	SERIES_MODULE = 4,
	SERIES_ORDER = 5,
	SERIES__KIND_MAX,
};
const char *series_kind_name(enum series_kind k);
int	 series_kind_parse(const char *s, enum series_kind *ret);

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

struct store;
int	 store_open(struct store **ret, const char *path, bool readonly, char **cause);
void	 store_close(struct store *s);
sqlite3	*store_db(struct store *s);
const char *store_path(const struct store *s);
bool	 store_replaced(const struct store *s);
int	 store_begin(struct store *s);
int	 store_read_begin(struct store *s);
void	 store_read_end(struct store *s);
int	 store_commit(struct store *s);
void	 store_rollback(struct store *s);
const char *store_errmsg(struct store *s);
int64_t	 store_size(struct store *s);
int	 store_boot(struct store *s, const char *boot_id, const char *kernel,
	    int64_t *ret_id);
int	 store_insert_snapshot(struct store *s, struct snap_row *row);
int	 store_set_boot_range(struct store *s, int64_t boot, int64_t snapshot);
int	 store_last_snapshot(struct store *s, struct snap_row *ret);
int	 store_snapshot(struct store *s, int64_t id, struct snap_row *ret);
int	 store_insert_series(struct store *s, enum series_kind kind, const char *key,
	    const char *culprit, const char *module, int64_t first, int64_t *ret_id);
int	 store_insert_stack(struct store *s, uint64_t hash, int64_t series,
	    const char *frames, size_t frames_len, int64_t first, int64_t *ret_id);
int	 store_put_blob(struct store *s, const char *table, int64_t snapshot,
	    const void *blob, size_t len);
int	 store_put_totals(struct store *s, int64_t series, int64_t pages,
	    int64_t blocks, int64_t snapshot, int64_t growing_since, int64_t ts_min);
int	 store_put_bucket(struct store *s, int level, int64_t start, int64_t first,
	    int64_t last, int64_t n, const void *blob, size_t len);
int	 store_drop_old_detail(struct store *s, int64_t keep);
int	 store_prune(struct store *s, double now, double keep_full,
	    double keep_hourly, uint64_t max_size, int64_t *ret_deleted);
int	 store_meta_get(struct store *s, const char *key, char **ret);
int	 store_meta_set(struct store *s, const char *key, const char *value);


/* Statements, by id (the SQL is in store.c's table). */
enum store_stmt {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_BOOT_FIND, ST_BOOT_INSERT, ST_BOOT_RANGE,
	ST_SNAP_INSERT, ST_SNAP_FIELDS_LAST, ST_SNAP_FIELDS_ID, ST_SNAP_WINDOW,
	ST_SNAP_COUNT, ST_SNAP_AT_OR_BEFORE, ST_SNAP_AT_OR_AFTER, ST_SNAP_TIMES,
	ST_SNAP_PIN, ST_SNAP_UPDATE,
	ST_SERIES_INSERT, ST_SERIES_ALL, ST_SERIES_GET, ST_SERIES_FIND,
	ST_SERIES_BY_KEY_PREFIX, ST_SERIES_MAX,
	ST_STACK_INSERT, ST_STACK_ALL, ST_STACKS_OF_SERIES, ST_STACK_GET,
	ST_STACK_BY_HASH_PREFIX,
	ST_TOTALS_PUT, ST_CHANGES_PUT, ST_CHECKPOINT_PUT, ST_DETAIL_PUT,
	ST_DETAIL_DROP_OLD, ST_DETAIL_LATEST,
	ST_BUCKET_PUT, ST_BUCKETS_OF_LEVEL, ST_BUCKET_LAST,
	ST_CHANGES_RANGE, ST_CHANGES_FIRST, ST_CHECKPOINT_BEFORE,
	ST_META_GET, ST_META_SET,
	ST_PRUNE_CHANGES, ST_PRUNE_HOURLY, ST_PRUNE_CHECKPOINTS, ST_PRUNE_SNAPSHOTS,
	ST_OLDEST_DAY, ST_CAP_BUCKETS, ST_CAP_CHANGES, ST_CAP_CHECKPOINTS,
	ST_CAP_SNAPSHOTS,
	ST_PAGE_COUNT, ST_PAGE_SIZE, ST_FREELIST,
	ST_SERIES_SINCE, ST_BUCKETS_META, ST_BUCKET_BLOB, ST_BASELINES,
	ST_BEGIN_READ, ST_SNAP_KINDS,
	ST__MAX,
};

/* The columns store_read_snap() expects, in order. */
#define SNAP_COLUMNS "s.id, s.boot, s.time, s.mono_ns, s.baseline, s.identities, " \
	"s.kind, s.source, s.format, s.duration, s.cpu_user, s.cpu_sys, s.parse_s, " \
	"s.diff_s, s.store_s, s.bytes, s.records, s.pages, s.malformed, " \
	"s.unknown_lines, s.stacks, s.changed, s.pinned, b.boot_id, b.kernel"

sqlite3_stmt *store_stmt(struct store *s, enum store_stmt id);
void	 store_read_snap(sqlite3_stmt *st, struct snap_row *r);
int	 store_errno(struct store *s, int rc);
int	 store_quarantine(const char *path, char **ret_moved);

/* ---- series.c: the collector's memory of stacks and series --------------- */

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
int64_t	 registry_stack(struct registry *r, struct store *st, uint64_t hash,
	    struct po_span frames, uint64_t sig_hash, const char *culprit,
	    const char *module, int64_t snapshot, int64_t *ret_series);
struct series_info *registry_info(struct registry *r, int64_t series);
int64_t	 registry_max_series(const struct registry *r);
uint64_t registry_overflowed(const struct registry *r);
void	 registry_fold_comm(const char *comm, char *buf, size_t len);

/* ---- combo.c: a snapshot's records by stack x comm x memcg x order x gfp -- */

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

struct combo_table;
struct combo_table *combo_table_new(void);
void	 combo_table_free(struct combo_table *t);
int	 combo_add(struct combo_table *t, const struct po_record *r,
	    uint32_t *ret_combo, uint64_t *ret_ident);
void	 combo_add_batch(struct combo_table *t, const struct po_record *rs,
	    size_t n, uint32_t *combos, uint64_t *idents, int *rets);
uint32_t combo_count(const struct combo_table *t);
const struct combo *combo_get(const struct combo_table *t, uint32_t i);
struct po_stacktab *combo_stacks(const struct combo_table *t);
const char *combo_name(const struct combo_table *t, uint32_t id);

/* ---- engine.c: one snapshot, from text to stored deltas ------------------ */

/* The outcome of one snapshot, handed to the main loop. */
struct snap_result {
	int		 error;		/* 0, or -errno */
	char		*cause;		/* what went wrong, for people */
	struct snap_row	 row;		/* the snapshot, when error == 0 */
	json_t		*top;		/* the interval's top growers */
	bool		 replay_done;	/* a capture replay ran out of files */
	bool		 page_owner_off; /* the kernel file is missing or off */
	bool		 db_readonly;	/* the database is writable, but was opened
					 * read-only: the main loop must close its
					 * connection for the collector to reopen */
	uint64_t	 overflowed;	/* new: lookups folded into (overflow) */
	size_t		 replay_next;	/* replay: files read so far */
	size_t		 replay_total;	/* replay: files in the capture */
};
void	 snap_result_free(struct snap_result *r);

/* Per-series input of the apply stage (also used by the bench generator). */
struct series_values {
	int64_t		*pages;		/* by series id */
	int64_t		*blocks;
	int64_t		*ts_min;
	int64_t		*alloc;		/* pages allocated since the last snapshot */
	int64_t		*freed;
	int64_t		 cap;		/* entries allocated */
};

struct engine;
int	 engine_open(struct engine **ret, const struct config *cfg, char **cause);
void	 engine_close(struct engine *e);
int	 engine_snapshot(struct engine *e, const struct config *cfg,
	    volatile int *stop, struct snap_result *res);
int	 engine_apply(struct engine *e, struct snap_row *row,
	    struct series_values *v, const void *detail, size_t detail_len,
	    char **cause);
struct store *engine_store(struct engine *e);
void	 engine_set_bulk(struct engine *e, bool bulk);
int	 engine_flush_totals(struct engine *e);
struct registry *engine_registry(struct engine *e);
void	 series_values_reserve(struct series_values *v, int64_t max_id);
void	 series_values_free(struct series_values *v);

/* ---- collect.c: the collector thread ------------------------------------ */

struct collector;
int	 collector_start(struct collector **ret, const struct config *cfg,
	    struct event_base *base, void (*done)(struct snap_result *res, void *ud),
	    void *userdata, char **cause);
void	 collector_stop(struct collector *c);
int	 collector_request(struct collector *c);
bool	 collector_busy(struct collector *c);
void	 collector_set_config(struct collector *c, const struct config *cfg);

/* ---- server.c: the socket and JSON-RPC framing -------------------------- */

struct server;
struct client;

/* A request as the dispatcher sees it. */
struct request {
	struct client	*client;
	json_t		*id;		/* NULL for notifications */
	const char	*method;
	json_t		*params;	/* an object, maybe empty */
	uid_t		 uid;		/* peer credentials */
	gid_t		 gid;
	pid_t		 pid;
};

int	 server_new(struct server **ret, struct event_base *base, const char *path,
	    const char *group, int (*on_line)(struct client *c, const char *line,
	    size_t n, void *ud), void *userdata, char **cause);
void	 client_creds(const struct client *c, uid_t *uid, gid_t *gid, pid_t *pid);
void	 server_free(struct server *s);
int	 server_listen_fd(const struct server *s);
bool	 server_activated(const struct server *s);
void	 server_reply(struct client *c, json_t *id, json_t *result);
void	 server_error(struct client *c, json_t *id, int code, const char *msg);
void	 server_subscribe(struct client *c);
void	 server_broadcast(struct server *s, const char *method, json_t *params);
size_t	 server_nclients(const struct server *s);
struct client *client_ref(struct client *c);
void	 client_unref(struct client *c);
bool	 client_alive(const struct client *c);
void	 server_stats(const struct server *s, json_t *into);

/* ---- methods.c: the dispatch table -------------------------------------- */

struct daemon;

/* A handler's error: a JSON-RPC code and a message for people. */
struct rpc_err {
	int		 code;
	char		*msg;		/* malloc'd */
};

/* Handlers return 0 (reply with *ret), 1 (they reply later), -1 (err set). */
typedef int (*method_fn)(struct daemon *d, struct request *req, json_t **ret,
    struct rpc_err *err);

void	 methods_dispatch(struct daemon *d, struct request *req);
int	 methods_handle_line(struct daemon *d, struct client *c, const char *line,
	    size_t n);
void	 methods_snapshot_done(struct daemon *d, const struct snap_result *res);
void	 methods_free_pending(struct daemon *d);
int	 rpc_fail(struct rpc_err *err, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
json_t	*snapshot_json(const struct snap_row *r);

/* ---- query.c: leak and hogger answers ----------------------------------- */

int	 query_top(struct daemon *d, struct request *req, json_t **ret,
	    struct rpc_err *err);
int	 query_growers(struct daemon *d, struct request *req, json_t **ret,
	    struct rpc_err *err);
int	 query_leaks(struct daemon *d, struct request *req, json_t **ret,
	    struct rpc_err *err);
int	 query_history(struct daemon *d, struct request *req, json_t **ret,
	    struct rpc_err *err);
int	 query_stack(struct daemon *d, struct request *req, json_t **ret,
	    struct rpc_err *err);
int	 query_diff(struct daemon *d, struct request *req, json_t **ret,
	    struct rpc_err *err);
int	 query_export(struct daemon *d, struct request *req, json_t **ret,
	    struct rpc_err *err);
void	 query_cache_free(void);
extern const char *const query_top_params[];
extern const char *const query_window_params[];
extern const char *const query_leaks_params[];
extern const char *const query_history_params[];
extern const char *const query_stack_params[];
extern const char *const query_diff_params[];
extern const char *const query_export_params[];

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

/* ---- main.c ------------------------------------------------------------- */

/* Everything the main thread owns. */
struct daemon {
	struct config	 cfg;		/* current settings */
	struct event_base *base;
	struct server	*server;
	struct collector *collector;
	struct store	*ro;		/* read-only connection for queries */
	struct event	*timer;		/* next snapshot */
	struct event	*watchdog;	/* WATCHDOG=1 pings */
	struct event	*sig_term, *sig_int, *sig_hup;
	double		 started;	/* wall time at start */
	double		 next_snapshot;	/* wall time the timer fires */
	double		 interval;	/* effective interval, seconds */
	const char	*source_kind;	/* "debugfs", "file", "replay" */
	struct snap_row	 last;		/* latest snapshot taken */
	bool		 have_last;
	char		*last_error;	/* why the latest attempt failed */
	double		 last_error_time;
	char		 status_line[512]; /* also sent as STATUS= */
	uint64_t	 snapshots_ok, snapshots_failed;
	uint64_t	 snapshots_issued;	/* requests the collector took */
	uint64_t	 snapshots_completed;	/* results back */
	bool		 snapshot_again;	/* one more after the running one */
	struct pending	*pending;	/* clients waiting for `snapshot` */
	size_t		 replay_next, replay_total;
	bool		 replay_done;	/* a capture replay has no more files */
	uint64_t	 overflowed;	/* stacks or series past the caps */
	struct cost {
		double	 time;		/* when the snapshot ended */
		double	 cpu;		/* its CPU seconds, the kernel's included */
		bool	 full;		/* a full read, or a stacks read */
	} costs[4096];			/* the last hour's snapshots (ring) */
	unsigned	 ncosts, cost_head;
	double		 last_request;	/* when the timer last asked for one */
	bool		 stopping;
	bool		 once;		/* --once: exit after one snapshot */
	int		 exit_code;
};

int	 daemon_request_snapshot(struct daemon *d);

/* The last hour's collection cost, for status. */
struct budget {
	double		 window;	/* seconds it covers */
	double		 cpu;		/* CPU seconds spent */
	double		 spent;		/* cpu / window: share of one CPU */
	double		 avg;		/* per snapshot */
	double		 full_cpu;	/* of which full reads */
	unsigned	 n, nfull;	/* snapshots, full reads */
};
void	 budget_stats(const struct daemon *d, double now, struct budget *ret);

#endif
