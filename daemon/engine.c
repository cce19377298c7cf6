/*
 * engine.c: one snapshot, from page_owner text to stored deltas.
 *
 *   read + parse + aggregate: records are grouped into combos (stack x comm
 *     x memcg x order x gfp); each block's identity goes to a new identity
 *     file while being merged, in PFN order, against the previous
 *     snapshot's file, which tells the pages allocated and freed between
 *     the two without holding either dump in memory;
 *   resolve: combos map to series (stack signature, comm, memcg, module,
 *     order), created in the database when new;
 *   apply: per series, the new value against the last one gives the
 *     delta; deltas are packed into the snapshot's change blob, totals are
 *     updated, hourly and daily rollups accumulate and are written when
 *     their bucket closes (with a checkpoint of the full state), all in
 *     one transaction.  The identity file replaces the previous one only
 *     after the commit; its header names its snapshot, so a crash in
 *     between costs one snapshot's allocated/freed figures, nothing else.
 *
 * A new boot id starts a baseline: values are recorded, nothing is
 * diffed across the reboot, and a checkpoint holds the new state.
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
#define IDENT_MAGIC	"POID0001"
#define HOUR		3600
#define DAY		86400
#define NKINDS		(SERIES__KIND_MAX - 1)
#define TOP_GROWERS	5

/* The series one combo counts in, by kind - 1. */
struct combo_series {
	int64_t		 s[NKINDS];
};

/* A rollup being accumulated: level 1 = hour, 2 = day. */
struct bucket_acc {
	int64_t		 key;		/* floor(time / length); -1 = empty */
	int64_t		 boot;		/* a bucket never spans a reboot */
	int64_t		 start;		/* floor(time) of its first snapshot */
	int64_t		 first, last, n;	/* snapshots in it */
	int64_t		(*v)[BK__N];	/* by series id */
	int64_t		 cap;
};

struct ident_header {
	char		 magic[8];
	int64_t		 snapshot;	/* the snapshot these identities are of */
	int64_t		 boot;
	uint64_t	 count;
};

struct engine {
	struct store	*st;		/* write connection */
	struct registry	*reg;
	struct source	*src;
	char		*src_path;	/* the source src was made for */
	char		*db_path;
	dev_t		 db_dev;	/* to notice the file deleted or replaced */
	ino_t		 db_ino;
	char		*ident_path;	/* <db>.ident */
	char		*ident_tmp;	/* <db>.ident.new */
	struct combo_series *prev;	/* previous snapshot's combos */
	size_t		 nprev;
	int64_t		 prev_snapshot;	/* 0 = none */
	int64_t		 prev_boot;
	bool		 prev_ident_ok;	/* the identity file is of prev_snapshot */
	struct bucket_acc bk[2];
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
	struct handle_map *handles;	/* stackdepot handle -> series, this boot */
	int64_t		 handles_boot;
	char		 prev_boot_id[64]; /* boot_id of prev_snapshot */
	bool		 bulk;		/* totals written by engine_flush_totals */
	bool		 reopen;	/* opened read-only, writable now: reopen */
	uint8_t		*dirty;		/* bulk: series whose totals changed */
	int64_t		 dirty_cap;
};

struct handle_map;
static void handle_map_free(struct handle_map *m);
static const char *read_error(int err, const struct source *src, char *buf, size_t len);
static void note_full(struct engine *e);

/* ---- small helpers ------------------------------------------------------- */

void
snap_result_free(struct snap_result *r)
{
	free(r->cause);
	json_decref(r->top);
	memset(r, 0, sizeof(*r));
}

void
series_values_reserve(struct series_values *v, int64_t max_id)
{
	int64_t cap = v->cap ? v->cap : 1024;

	if (max_id < v->cap)
		return;
	while (cap <= max_id)
		cap *= 2;
#define GROW(f) do {							\
		v->f = po_xrealloc(v->f, (size_t)cap, sizeof(int64_t));	\
		memset(v->f + v->cap, 0, (size_t)(cap - v->cap) * sizeof(int64_t)); \
	} while (0)
	GROW(pages);
	GROW(blocks);
	GROW(ts_min);
	GROW(alloc);
	GROW(freed);
#undef GROW
	v->cap = cap;
}

void
series_values_free(struct series_values *v)
{
	free(v->pages);
	free(v->blocks);
	free(v->ts_min);
	free(v->alloc);
	free(v->freed);
	memset(v, 0, sizeof(*v));
}

static void
series_values_clear(struct series_values *v)
{
	size_t n = (size_t)v->cap * sizeof(int64_t);

	if (v->cap == 0)
		return;
	memset(v->pages, 0, n);
	memset(v->blocks, 0, n);
	memset(v->ts_min, 0, n);
	memset(v->alloc, 0, n);
	memset(v->freed, 0, n);
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
thread_cpu(double *ret_sys)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	*ret_sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

static double
children_cpu(double *ret_sys)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	*ret_sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

/* ---- bucket accumulators --------------------------------------------------- */

static void
bucket_reset(struct bucket_acc *b)
{
	if (b->cap > 0)
		memset(b->v, 0, (size_t)b->cap * sizeof(*b->v));
	b->key = -1;
	b->n = b->first = b->last = b->boot = b->start = 0;
}

static void
bucket_grow(struct bucket_acc *b, int64_t series)
{
	if (series >= b->cap) {
		int64_t cap = b->cap ? b->cap : 1024;

		while (cap <= series)
			cap *= 2;
		b->v = po_xrealloc(b->v, (size_t)cap, sizeof(*b->v));
		memset(b->v + b->cap, 0, (size_t)(cap - b->cap) * sizeof(*b->v));
		b->cap = cap;
	}
}

static void
bucket_add(struct bucket_acc *b, int64_t series, const int64_t *ch)
{
	bucket_grow(b, series);
	b->v[series][BK_D_PAGES] += ch[CH_D_PAGES];
	b->v[series][BK_D_BLOCKS] += ch[CH_D_BLOCKS];
	b->v[series][BK_ALLOC] += ch[CH_ALLOC];
	b->v[series][BK_FREED] += ch[CH_FREED];
	if (ch[CH_D_PAGES] > 0)
		b->v[series][BK_GREW]++;
	else if (ch[CH_D_PAGES] < 0)
		b->v[series][BK_SHRANK]++;
}

static int
bucket_write(struct engine *e, int level)
{
	struct bucket_acc *b = &e->bk[level - 1];
	struct pack_writer w;
	uint8_t *blob;
	size_t len;
	int r;

	pack_writer_init(&w, BK__N, BK_SIGNED);
	for (int64_t s = 1; s < b->cap; s++) {
		bool any = false;

		for (int f = 0; f < BK__N; f++)
			any |= b->v[s][f] != 0;
		if (any)
			pack_add(&w, (uint32_t)s, b->v[s]);
	}
	pack_finish(&w, &blob, &len);
	r = store_put_bucket(e->st, level, b->start, b->first, b->last, b->n, blob, len);
	free(blob);
	return r;
}

static int
checkpoint_write(struct engine *e, int64_t snapshot)
{
	struct pack_writer w;
	uint8_t *blob;
	size_t len;
	int r;

	pack_writer_init(&w, CP__N, CP_SIGNED);
	for (int64_t s = 1; s <= registry_max_series(e->reg); s++) {
		const struct series_info *si = registry_info(e->reg, s);
		int64_t f[CP__N];

		if (si == NULL || (si->pages == 0 && si->blocks == 0))
			continue;
		f[CP_PAGES] = si->pages;
		f[CP_BLOCKS] = si->blocks;
		pack_add(&w, (uint32_t)s, f);
	}
	pack_finish(&w, &blob, &len);
	r = store_put_blob(e->st, "checkpoints", snapshot, blob, len);
	free(blob);
	return r;
}

/*
 * The latest day rollup may be the open day, written at an hour's end:
 * the accumulator starts from it.  (If it was closed, the next snapshot
 * of another day resets the accumulator, or writes the same rollup again.)
 */
static int
bucket_load_latest(struct engine *e, struct bucket_acc *b, int level, int64_t *after)
{
	sqlite3_stmt *q = store_stmt(e->st, ST_BUCKET_LAST);
	int rc;

	*after = 0;
	if (q == NULL)
		return -EIO;
	sqlite3_bind_int(q, 1, level);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		struct pack_reader pr;
		int64_t f[BK__N];
		uint32_t s;

		*after = sqlite3_column_int64(q, 2);
		if (level == 2 && pack_reader_init(&pr, sqlite3_column_blob(q, 4),
		    (size_t)sqlite3_column_bytes(q, 4), BK__N) == 0) {
			b->start = sqlite3_column_int64(q, 0);
			b->first = sqlite3_column_int64(q, 1);
			b->last = *after;
			b->n = sqlite3_column_int64(q, 3);
			b->boot = sqlite3_column_int64(q, 5);
			b->key = (int64_t)(sqlite3_column_double(q, 6) / (double)DAY);
			while (pack_next(&pr, &s, f) > 0) {
				bucket_grow(b, s);
				for (int i = 0; i < BK__N; i++)
					b->v[s][i] += f[i];
			}
		}
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

/* Rebuild the open rollups from the change blobs not yet rolled up. */
static int
buckets_rebuild(struct engine *e)
{
	for (int level = 1; level <= 2; level++) {
		struct bucket_acc *b = &e->bk[level - 1];
		sqlite3_stmt *q;
		int64_t after, len = level == 1 ? HOUR : DAY, from;
		int rc;

		bucket_reset(b);
		if (bucket_load_latest(e, b, level, &after) < 0)
			return -EIO;
		from = after + 1;

		/* snapshots after the last rollup, with their change blobs */
		q = store_stmt(e->st, ST_SNAP_TIMES);
		if (q == NULL)
			return -EIO;
		sqlite3_bind_int64(q, 1, after + 1);
		sqlite3_bind_int64(q, 2, INT64_MAX);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(q, 0);
			double t = sqlite3_column_double(q, 1);
			int64_t boot = sqlite3_column_int64(q, 3);
			int64_t key = (int64_t)(t / (double)len);

			if (b->n > 0 && (b->key != key || b->boot != boot))
				bucket_reset(b);	/* its successor closed it: it is stored */
			if (b->n == 0) {
				b->key = key;
				b->boot = boot;
				b->start = (int64_t)t;
				b->first = id;
			}
			b->last = id;
			b->n++;
		}
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			return -EIO;
		if (b->n == 0 || b->last < from)
			continue;
		q = store_stmt(e->st, ST_CHANGES_RANGE);
		if (q == NULL)
			return -EIO;
		/* an open day loaded from its rollup has its changes to there */
		sqlite3_bind_int64(q, 1, b->first > from ? b->first : from);
		sqlite3_bind_int64(q, 2, b->last);
		while (sqlite3_step(q) == SQLITE_ROW) {
			struct pack_reader pr;
			int64_t f[CH__N];
			uint32_t s;

			if (pack_reader_init(&pr, sqlite3_column_blob(q, 1),
			    (size_t)sqlite3_column_bytes(q, 1), CH__N) < 0)
				continue;
			while (pack_next(&pr, &s, f) > 0)
				bucket_add(b, s, f);
		}
		sqlite3_reset(q);
	}
	return 0;
}

/* ---- previous snapshot's combos, from its detail blob ------------------- */

struct prev_load {
	struct engine	*e;
	struct combo_series *out;
	size_t		 n, cap;
	int64_t		*stack_series;	/* stacks.id -> series, built lazily */
};

static int64_t
find_series_noinsert(struct engine *e, enum series_kind kind, const char *key)
{
	sqlite3_stmt *q = store_stmt(e->st, ST_SERIES_FIND);
	int64_t id = 0;

	if (q == NULL)
		return 0;
	sqlite3_bind_int(q, 1, kind);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return id;
}

static int
prev_row(const struct detail_row *row, void *userdata)
{
	struct prev_load *pl = userdata;
	struct engine *e = pl->e;
	struct combo_series *c;
	char folded[64], order[16];
	const struct series_info *si;
	sqlite3_stmt *q;

	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 256;
		pl->out = po_xrealloc(pl->out, pl->cap, sizeof(*pl->out));
	}
	c = &pl->out[pl->n++];
	memset(c, 0, sizeof(*c));
	q = store_stmt(e->st, ST_STACK_GET);
	if (q != NULL) {
		sqlite3_bind_int64(q, 1, row->stack);
		if (sqlite3_step(q) == SQLITE_ROW)
			c->s[SERIES_STACK - 1] = sqlite3_column_int64(q, 2);
		sqlite3_reset(q);
	}
	registry_fold_comm(row->comm, folded, sizeof(folded));
	c->s[SERIES_COMM - 1] = find_series_noinsert(e, SERIES_COMM, folded);
	c->s[SERIES_MEMCG - 1] = find_series_noinsert(e, SERIES_MEMCG, row->memcg);
	si = registry_info(e->reg, c->s[SERIES_STACK - 1]);
	c->s[SERIES_MODULE - 1] = find_series_noinsert(e, SERIES_MODULE,
	    si && si->module[0] ? si->module : "kernel");
	snprintf(order, sizeof(order), "%u", row->order);
	c->s[SERIES_ORDER - 1] = find_series_noinsert(e, SERIES_ORDER, order);
	return 0;
}

static void
load_prev(struct engine *e)
{
	struct prev_load pl = { .e = e };
	struct ident_header h;
	int64_t full_snapshot = 0;	/* the last full read: it has the detail */
	sqlite3_stmt *q;
	FILE *f;

	free(e->prev);
	e->prev = NULL;
	e->nprev = 0;
	e->prev_ident_ok = false;
	if (e->prev_snapshot == 0)
		return;
	q = store_stmt(e->st, ST_DETAIL_LATEST);
	if (q == NULL)
		return;
	sqlite3_bind_int64(q, 1, e->prev_snapshot);
	if (sqlite3_step(q) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(q, 1);
		void *blob = po_xmalloc(len + 1);

		memcpy(blob, sqlite3_column_blob(q, 1), len);
		full_snapshot = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		if (detail_each(blob, len, prev_row, &pl) == 0) {
			e->prev = pl.out;
			e->nprev = pl.n;
			pl.out = NULL;
		}
		free(blob);
	} else {
		sqlite3_reset(q);
	}
	free(pl.out);
	f = fopen(e->ident_path, "re");
	if (f == NULL)
		return;
	if (fread(&h, sizeof(h), 1, f) == 1 && memcmp(h.magic, IDENT_MAGIC, 8) == 0 &&
	    h.snapshot == full_snapshot && h.boot == e->prev_boot && e->prev != NULL)
		e->prev_ident_ok = true;
	fclose(f);
}

/* ---- open / close ----------------------------------------------------------- */

static int
engine_load_state(struct engine *e, char **cause)
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
	load_prev(e);
	r = buckets_rebuild(e);
	if (r < 0) {
		po_asprintf(cause, "cannot rebuild the open rollups: %s",
		    store_errmsg(e->st));
		return r;
	}
	note_full(e);
	return 0;
}

static int
engine_open_store(struct engine *e, char **cause)
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
	return engine_load_state(e, cause);
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
	po_asprintf(&e->ident_path, "%s.ident", cfg->db);
	po_asprintf(&e->ident_tmp, "%s.ident.new", cfg->db);
	e->buf = po_xmalloc(READ_BUF);
	bucket_reset(&e->bk[0]);
	bucket_reset(&e->bk[1]);
	read_line_file("/proc/sys/kernel/random/boot_id", e->host_boot, sizeof(e->host_boot));
	if (e->host_boot[0] == '\0')
		snprintf(e->host_boot, sizeof(e->host_boot), "unknown");
	if (uname(&u) == 0)
		snprintf(e->host_kernel, sizeof(e->host_kernel), "%s", u.release);
	r = engine_open_store(e, cause);
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
	source_free(e->src);
	free(e->src_path);
	free(e->db_path);
	free(e->ident_path);
	free(e->ident_tmp);
	free(e->prev);
	free(e->bk[0].v);
	free(e->bk[1].v);
	series_values_free(&e->vals);
	free(e->buf);
	free(e->dirty);
	free(e->full_pages);
	handle_map_free(e->handles);
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

/* ---- apply: values to deltas, rollups, totals ------------------------------- */

struct grower {
	int64_t		 series;
	int64_t		 d;
	int64_t		 alloc, freed;
};

static void
top_note(struct grower *top, int64_t series, const int64_t *ch)
{
	int i;

	if (ch[CH_D_PAGES] <= top[TOP_GROWERS - 1].d)
		return;
	for (i = TOP_GROWERS - 1; i > 0 && top[i - 1].d < ch[CH_D_PAGES]; i--)
		top[i] = top[i - 1];
	top[i] = (struct grower){ series, ch[CH_D_PAGES], ch[CH_ALLOC], ch[CH_FREED] };
}

/*
 * Store one snapshot's values (row->boot and row->time set; row->id is
 * assigned here).  Runs inside the caller's transaction.  Returns the
 * number of changed series, or -errno.
 */
/* Before the row is inserted: is it a baseline (first, or a new boot)? */
static void
row_prepare(struct engine *e, struct snap_row *row)
{
	row->baseline = e->prev_snapshot == 0 || row->boot != e->prev_boot;
	if (row->baseline)
		row->identities = false;
}

static int
apply_values(struct engine *e, struct snap_row *row, struct series_values *v,
    struct grower *top)
{
	bool baseline = row->baseline;
	struct pack_writer w;
	int64_t max = registry_max_series(e->reg), changed = 0;
	uint8_t *blob;
	size_t len;
	int r;

	series_values_reserve(v, max);

	/* close the rollups this snapshot does not belong to */
	for (int level = 1; level <= 2; level++) {
		struct bucket_acc *b = &e->bk[level - 1];
		int64_t key = (int64_t)(row->time / (level == 1 ? HOUR : DAY));

		if (b->n > 0 && (b->key != key || b->boot != row->boot)) {
			r = bucket_write(e, level);
			/* an hour's end: the full state, so a value now is an hour
			 * of deltas away from one (thinned to one a day later) */
			if (r == 0 && level == 1)
				r = checkpoint_write(e, b->last);
			/*
			 * And the open day so far, rewritten at each hour's
			 * end: a month's window then reads 30 day rollups and
			 * an hour of snapshots, not 23 hours of rollups more.
			 */
			if (r == 0 && level == 1 && e->bk[1].n > 0 &&
			    e->bk[1].key == (int64_t)(row->time / DAY) &&
			    e->bk[1].boot == row->boot)
				r = bucket_write(e, 2);
			if (r < 0)
				return r;
			bucket_reset(b);
		}
		if (b->n == 0) {
			b->key = key;
			b->boot = row->boot;
			b->start = (int64_t)row->time;
			b->first = row->id;
		}
		b->last = row->id;
		b->n++;
	}

	pack_writer_init(&w, CH__N, CH_SIGNED);
	for (int64_t s = 1; s <= max; s++) {
		struct series_info *si = registry_info(e->reg, s);
		int64_t ch[CH__N];

		if (si == NULL)
			continue;
		ch[CH_D_PAGES] = v->pages[s] - si->pages;
		ch[CH_D_BLOCKS] = v->blocks[s] - si->blocks;
		ch[CH_ALLOC] = row->identities ? v->alloc[s] : 0;
		ch[CH_FREED] = row->identities ? v->freed[s] : 0;
		if (baseline)
			ch[CH_D_PAGES] = ch[CH_D_BLOCKS] = 0;
		if (ch[CH_D_PAGES] || ch[CH_D_BLOCKS] || ch[CH_ALLOC] || ch[CH_FREED]) {
			pack_add(&w, (uint32_t)s, ch);
			bucket_add(&e->bk[0], s, ch);
			bucket_add(&e->bk[1], s, ch);
			changed++;
			if (si->kind == SERIES_STACK && top != NULL)
				top_note(top, s, ch);
		}
		if (v->pages[s] != si->pages || v->blocks[s] != si->blocks ||
		    v->ts_min[s] != si->ts_min || (baseline && v->pages[s] != 0)) {
			if (baseline || v->pages[s] < si->pages || si->pages == 0)
				si->growing_since = row->id;
			si->pages = v->pages[s];
			si->blocks = v->blocks[s];
			si->ts_min = v->ts_min[s];
			si->last_change = row->id;
			if (e->bulk) {
				if (s >= e->dirty_cap) {
					int64_t cap = e->dirty_cap ? e->dirty_cap : 1024;

					while (cap <= s)
						cap *= 2;
					e->dirty = po_xrealloc(e->dirty, (size_t)cap, 1);
					memset(e->dirty + e->dirty_cap, 0,
					    (size_t)(cap - e->dirty_cap));
					e->dirty_cap = cap;
				}
				e->dirty[s] = 1;
				continue;
			}
			r = store_put_totals(e->st, s, si->pages, si->blocks, row->id,
			    si->growing_since, si->ts_min);
			if (r < 0) {
				pack_writer_free(&w);
				return r;
			}
		}
	}
	pack_finish(&w, &blob, &len);
	r = store_put_blob(e->st, "changes", row->id, blob, len);
	free(blob);
	if (r == 0 && baseline)
		r = checkpoint_write(e, row->id);
	if (r == 0)
		r = store_set_boot_range(e->st, row->boot, row->id);
	return r < 0 ? r : (int)(changed > INT32_MAX ? INT32_MAX : changed);
}

/*
 * Bulk loading (the bench generator): totals are kept in memory and
 * written once by engine_flush_totals, not at every snapshot.
 */
void
engine_set_bulk(struct engine *e, bool bulk)
{
	e->bulk = bulk;
}

int
engine_flush_totals(struct engine *e)
{
	int r;

	if ((r = store_begin(e->st)) < 0)
		return r;
	for (int64_t s = 1; s < e->dirty_cap; s++) {
		const struct series_info *si;

		if (!e->dirty[s] || (si = registry_info(e->reg, s)) == NULL)
			continue;
		r = store_put_totals(e->st, s, si->pages, si->blocks, si->last_change,
		    si->growing_since, si->ts_min);
		if (r < 0) {
			store_rollback(e->st);
			return r;
		}
		e->dirty[s] = 0;
	}
	return store_commit(e->st);
}

/* For callers that bring their own values (the bench generator). */
int
engine_apply(struct engine *e, struct snap_row *row, struct series_values *v,
    const void *detail, size_t detail_len, char **cause)
{
	int r;

	if ((r = store_begin(e->st)) < 0)
		goto fail;
	row_prepare(e, row);
	if ((r = store_insert_snapshot(e->st, row)) < 0)
		goto fail;
	if ((r = apply_values(e, row, v, NULL)) < 0)
		goto fail;
	row->changed = r;
	if (detail != NULL &&
	    ((r = store_put_blob(e->st, "detail", row->id, detail, detail_len)) < 0 ||
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
	{
		char *why = NULL;

		if (engine_load_state(e, &why) < 0)
			free(why);
	}
	return r < 0 ? r : -EIO;
}

/* ---- the cheap read: page_owner_stacks ---------------------------------- */

/* stackdepot handle -> stack series, valid for one boot. */
struct handle_map {
	uint32_t	*keys;		/* handle + 1; 0 = empty */
	int64_t		*series;
	uint32_t	 mask;
	uint32_t	 n;
};

static void
handle_map_free(struct handle_map *m)
{
	if (m == NULL)
		return;
	free(m->keys);
	free(m->series);
	free(m);
}

static struct handle_map *
handle_map_new(void)
{
	struct handle_map *m = po_xcalloc(1, sizeof(*m));

	m->mask = 1023;
	m->keys = po_xcalloc(m->mask + 1, sizeof(*m->keys));
	m->series = po_xcalloc(m->mask + 1, sizeof(*m->series));
	return m;
}

/* The slot of a handle: its own, or the empty one it would take. */
static uint32_t
handle_probe(const struct handle_map *m, uint32_t handle)
{
	uint32_t i = (handle * 2654435761u) & m->mask;

	while (m->keys[i] != 0 && m->keys[i] != handle + 1)
		i = (i + 1) & m->mask;
	return i;
}

static void
handle_map_grow(struct handle_map *m)
{
	uint32_t *keys = m->keys, oldmask = m->mask;
	int64_t *series = m->series;

	m->mask = m->mask * 2 + 1;
	m->keys = po_xcalloc(m->mask + 1, sizeof(*m->keys));
	m->series = po_xcalloc(m->mask + 1, sizeof(*m->series));
	for (uint32_t k = 0; k <= oldmask; k++) {
		uint32_t i;

		if (keys[k] == 0)
			continue;
		i = handle_probe(m, keys[k] - 1);
		m->keys[i] = keys[k];
		m->series[i] = series[k];
	}
	free(keys);
	free(series);
}

static int64_t *
handle_slot(struct handle_map *m, uint32_t handle, bool add)
{
	uint32_t i = handle_probe(m, handle);

	if (m->keys[i] != 0)
		return &m->series[i];
	if (!add)
		return NULL;
	if ((m->n + 1) * 2 > m->mask) {
		handle_map_grow(m);
		i = handle_probe(m, handle);
	}
	m->keys[i] = handle + 1;
	m->n++;
	return &m->series[i];
}

/* What a page_owner_stacks read gathers. */
struct stacks_frame {
	struct engine	*e;
	int64_t		 snapshot;	/* for new series and stacks */
	bool		 map_handles;	/* show_stacks_handles: fill the handle map */
	int64_t		*pages;		/* by series: nr_base_pages seen */
	uint8_t		*seen;		/* by series */
	int64_t		 cap;
	int64_t		 records, total;
	int		 error;		/* -errno that stopped the read */
	volatile int	*stop;
};

static void
stacks_grow(struct stacks_frame *f, int64_t series)
{
	int64_t cap = f->cap ? f->cap : 1024;

	if (series < f->cap)
		return;
	while (cap <= series)
		cap *= 2;
	f->pages = po_xrealloc(f->pages, (size_t)cap, sizeof(*f->pages));
	f->seen = po_xrealloc(f->seen, (size_t)cap, 1);
	memset(f->pages + f->cap, 0, (size_t)(cap - f->cap) * sizeof(*f->pages));
	memset(f->seen + f->cap, 0, (size_t)(cap - f->cap));
	f->cap = cap;
}

/* The stack series of a record's frames, registered when new. */
static int64_t
stacks_series_of(struct stacks_frame *f, const struct po_record *r)
{
	struct po_stack_info info;
	char *culprit, *module;
	int64_t series = 0, id;
	uint64_t hi;

	po_stack_describe(r->stack, &info);
	culprit = po_span_dup(info.culprit);
	module = po_span_dup(info.module);
	id = registry_stack(f->e->reg, f->e->st, po_stack_hash(r->stack, &hi),
	    r->stack, info.sig_hash, culprit, module, f->snapshot, &series);
	free(culprit);
	free(module);
	return id == 0 ? 0 : series;
}

static int
on_stack_record(const struct po_record *r, void *userdata)
{
	struct stacks_frame *f = userdata;
	int64_t series = 0, *slot;

	if (*f->stop) {
		f->error = -ECANCELED;
		return 1;
	}
	if (r->kind != PO_REC_STACK)
		return 0;
	if (f->map_handles) {
		/* show_stacks_handles: frames and a handle, no count */
		if (r->nframes == 0 || !r->has_handle)
			return 0;
		series = stacks_series_of(f, r);
		if (series == 0) {
			f->error = -EIO;
			return 1;
		}
		*handle_slot(f->e->handles, r->handle, true) = series;
		return 0;
	}
	if (!r->has_nr_pages)
		return 0;
	if (r->nframes > 0) {
		series = stacks_series_of(f, r);
		if (series == 0) {
			f->error = -EIO;
			return 1;
		}
	} else if (r->has_handle) {
		slot = handle_slot(f->e->handles, r->handle, false);
		if (slot == NULL) {
			f->error = -ENOKEY;	/* a handle not mapped yet */
			return 1;
		}
		series = *slot;
	}
	if (series <= 0)
		return 0;
	stacks_grow(f, series);
	f->pages[series] += r->nr_base_pages > 0 ? r->nr_base_pages : 0;
	f->seen[series] = 1;
	f->records++;
	f->total += r->nr_base_pages > 0 ? r->nr_base_pages : 0;
	return 0;
}

/* Read one page_owner_stacks file of this snapshot through the parser. */
static int
stacks_read_file(struct engine *e, enum source_file which, struct stacks_frame *f,
    struct snap_result *res, uint64_t *ret_bytes)
{
	struct po_parser *p = NULL;
	int r;

	if ((r = source_open(e->src, which, &res->cause)) < 0)
		return r;
	po_parser_new(&p);
	for (;;) {
		ssize_t n = source_read(e->src, e->buf, READ_BUF);

		if (n < 0) {
			char why[512];

			r = (int)n;
			res->cause = po_xstrdup(read_error(r, e->src, why, sizeof(why)));
			break;
		}
		if (n == 0)
			break;
		if (po_parser_feed(p, e->buf, (size_t)n, on_stack_record, f) != 0) {
			r = f->error ? f->error : -ECANCELED;
			break;
		}
	}
	source_end(e->src);
	if (r == 0)
		po_parser_finish(p, on_stack_record, f);
	*ret_bytes += po_parser_stats(p)->bytes;
	po_parser_free(p);
	return r;
}

/* Stacks the kernel's show_stacks never lists: their last full value holds. */
static bool
stack_not_listed(const struct series_info *si)
{
	return strcmp(si->culprit, "register_early_stack") == 0 ||
	    strcmp(si->culprit, "register_dummy_stack") == 0 ||
	    strcmp(si->culprit, "register_failure_stack") == 0;
}

/* count_threshold hides small stacks from show_stacks: read it, never write it. */
static uint64_t
count_threshold(struct engine *e)
{
	const char *path = source_path(e->src), *slash = strrchr(path, '/');
	char line[64], *p = NULL;

	if (source_get_kind(e->src) != SOURCE_DEBUGFS)
		return 0;
	po_asprintf(&p, "%.*s/page_owner_stacks/count_threshold",
	    slash ? (int)(slash - path) : 0, path);
	read_line_file(p, line, sizeof(line));
	free(p);
	return strtoull(line, NULL, 10);
}

/*
 * A snapshot from page_owner_stacks: per-stack page counts only.  Stack
 * and module series get new values; comm, memcg and order series, blocks
 * and ages carry over from the last full read; pages allocated and freed
 * are not known (identities false).  Runs its own transaction.
 */
static int
snapshot_stacks(struct engine *e, const struct config *cfg, volatile int *stop,
    struct snap_result *res)
{
	struct stacks_frame f = { .e = e, .stop = stop };
	struct snap_row *row = &res->row;
	uint64_t bytes = 0, threshold = count_threshold(e);
	bool handles = source_available(e->src, SRC_SHOW_HANDLES) &&
	    source_available(e->src, SRC_SHOW_STACKS_HANDLES);
	int64_t max;
	int r;

	snprintf(row->kind, sizeof(row->kind), "stacks");
	if ((r = store_boot(e->st, row->boot_id, row->kernel, &row->boot)) < 0 ||
	    (r = store_begin(e->st)) < 0) {
		po_asprintf(&res->cause, "cannot store the snapshot: %s", store_errmsg(e->st));
		return r;
	}
	row->identities = false;
	row_prepare(e, row);
	if ((r = store_insert_snapshot(e->st, row)) < 0)
		goto fail;
	f.snapshot = row->id;
	if (handles) {
		if (e->handles == NULL || e->handles_boot != row->boot) {
			handle_map_free(e->handles);
			e->handles = handle_map_new();
			e->handles_boot = row->boot;
		}
		r = stacks_read_file(e, SRC_SHOW_HANDLES, &f, res, &bytes);
		if (r == -ENOKEY) {
			/* new handles: map them all, then count again */
			free(f.pages);
			free(f.seen);
			memset(&f, 0, sizeof(f));
			f.e = e;
			f.stop = stop;
			f.snapshot = row->id;
			f.map_handles = true;
			r = stacks_read_file(e, SRC_SHOW_STACKS_HANDLES, &f, res, &bytes);
			f.map_handles = false;
			if (r == 0)
				r = stacks_read_file(e, SRC_SHOW_HANDLES, &f, res, &bytes);
			if (r == -ENOKEY)
				po_asprintf(&res->cause, "show_handles lists a handle that "
				    "show_stacks_handles does not");
		}
		snprintf(row->format, sizeof(row->format), "show_handles");
	} else {
		r = stacks_read_file(e, SRC_SHOW_STACKS, &f, res, &bytes);
		snprintf(row->format, sizeof(row->format), "show_stacks");
	}
	if (r < 0)
		goto fail;
	if (f.records == 0) {
		r = -ENODATA;
		po_asprintf(&res->cause, "page_owner_stacks listed no stack");
		goto fail;
	}

	max = registry_max_series(e->reg);
	series_values_reserve(&e->vals, max);
	series_values_clear(&e->vals);
	stacks_grow(&f, max);
	for (int64_t s = 1; s <= max; s++) {
		const struct series_info *si = registry_info(e->reg, s);

		if (si == NULL)
			continue;
		e->vals.blocks[s] = si->blocks;
		e->vals.ts_min[s] = si->ts_min;
		if (si->kind == SERIES_MODULE)
			continue;	/* summed from the stacks below */
		if (si->kind != SERIES_STACK || (!f.seen[s] && (stack_not_listed(si) ||
		    (threshold > 0 && (uint64_t)si->pages < threshold))))
			e->vals.pages[s] = si->pages;	/* carried over */
		else
			e->vals.pages[s] = f.pages[s];
	}
	for (int64_t s = 1; s <= max; s++) {
		const struct series_info *si = registry_info(e->reg, s);
		int64_t mod;

		if (si == NULL || si->kind != SERIES_STACK || e->vals.pages[s] == 0)
			continue;
		mod = registry_series(e->reg, e->st, SERIES_MODULE,
		    si->module[0] ? si->module : "kernel", NULL, NULL, row->id);
		if (mod == 0) {
			r = -EIO;
			goto fail;
		}
		series_values_reserve(&e->vals, mod);
		e->vals.pages[mod] += e->vals.pages[s];
	}
	row->records = f.records;
	row->pages = f.total;
	row->bytes = (int64_t)bytes;
	r = apply_values(e, row, &e->vals, NULL);
	if (r < 0)
		goto fail;
	row->changed = r;
	/* a stack that grew a lot since the last full read asks for one */
	for (int64_t s = 1; s <= max && s < e->full_cap; s++) {
		const struct series_info *si = registry_info(e->reg, s);

		if (si != NULL && si->kind == SERIES_STACK &&
		    si->pages - e->full_pages[s] > (int64_t)cfg->full_trigger)
			e->force_full = true;
	}
	free(f.pages);
	free(f.seen);
	return 0;
fail:
	if (res->cause == NULL)
		po_asprintf(&res->cause, "cannot store the snapshot in '%s': %s",
		    e->db_path, store_errmsg(e->st));
	store_rollback(e->st);
	{
		char *c2 = NULL;

		if (engine_load_state(e, &c2) < 0)
			free(c2);
	}
	free(f.pages);
	free(f.seen);
	return r < 0 ? r : -EIO;
}

/* Full read or stacks read?  (auto: stacks, and a full read every full_every.) */
static bool
want_full(struct engine *e, const struct config *cfg, const char *boot_id)
{
	bool stacks = source_available(e->src, SRC_SHOW_STACKS) ||
	    (source_available(e->src, SRC_SHOW_HANDLES) &&
	    source_available(e->src, SRC_SHOW_STACKS_HANDLES));

	if (cfg->mode == MODE_FULL || !stacks)
		return true;
	if (cfg->mode == MODE_STACKS)
		return false;
	/* no full read yet, or a new boot: its baseline needs the full text */
	if (e->prev_snapshot == 0 || strcmp(boot_id, e->prev_boot_id) != 0 ||
	    !e->prev_ident_ok)
		return true;
	return e->force_full || e->since_full + 1 >= cfg->full_every;
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

/* ---- read + parse --------------------------------------------------------- */

/* What the record callback fills. */
struct frame {
	struct engine	*e;
	struct combo_table *combos;
	FILE		*ident;		/* new identities */
	struct po_ident_merge merge;
	bool		 merging;
	int64_t		*combo_alloc;	/* by group id */
	size_t		 combo_cap;
	int64_t		*prev_freed;	/* by previous combo */
	uint64_t	 idents;
	int		 werr;		/* first identity write error */
	volatile int	*stop;
};

static void
on_freed(const struct po_ident *i, void *userdata)
{
	struct frame *f = userdata;

	if (i->ref < f->e->nprev)
		f->prev_freed[i->ref] += INT64_C(1) << i->order;
}

static void
on_allocated(const struct po_ident *i, void *userdata)
{
	struct frame *f = userdata;

	if (i->ref >= f->combo_cap) {
		size_t cap = f->combo_cap ? f->combo_cap : 1024;

		while (cap <= i->ref)
			cap *= 2;
		f->combo_alloc = po_xrealloc(f->combo_alloc, cap, sizeof(int64_t));
		memset(f->combo_alloc + f->combo_cap, 0,
		    (cap - f->combo_cap) * sizeof(int64_t));
		f->combo_cap = cap;
	}
	f->combo_alloc[i->ref] += INT64_C(1) << i->order;
}

static void
take_ident(struct frame *f, const struct po_record *r, uint32_t gid, uint64_t ih)
{
	struct po_ident id = { .pfn = r->pfn, .hash = (uint32_t)(ih ^ (ih >> 32)),
	    .ref = gid, .order = (uint8_t)r->order };

	if (po_ident_write(f->ident, &id) < 0 && f->werr == 0)
		f->werr = errno ? -errno : -EIO;
	f->idents++;
	if (f->merging)
		po_ident_merge_add(&f->merge, &id);
}

/* The parser's batch: page records into combos (show_stacks text is ignored). */
static int
on_records(const struct po_record *rs, size_t n, void *userdata)
{
	struct frame *f = userdata;
	uint32_t gid[PO_BATCH];
	uint64_t ih[PO_BATCH];
	int rets[PO_BATCH];

	if (*f->stop)
		return 1;
	if (n > PO_BATCH)
		n = PO_BATCH;
	combo_add_batch(f->combos, rs, n, gid, ih, rets);
	for (size_t i = 0; i < n; i++)
		if (rets[i] == 0)
			take_ident(f, &rs[i], gid[i], ih[i]);
	return 0;
}

static const char *
read_error(int err, const struct source *src, char *buf, size_t len)
{
	switch (-err) {
	case ECHILD:
		snprintf(buf, len, "the page_owner reader was killed while reading "
		    "'%s' (a kernel oops while formatting a record? see dmesg)",
		    source_path(src));
		break;
	case EINVAL:
		snprintf(buf, len, "reading '%s' failed with EINVAL: page_owner is "
		    "off (boot with page_owner=on; CONFIG_PAGE_OWNER=y)",
		    source_path(src));
		break;
	case ETIMEDOUT:
		snprintf(buf, len, "no data from '%s' for %g s (read_timeout): gave up",
		    source_path(src), source_timeout(src));
		break;
	default:
		snprintf(buf, len, "reading '%s' failed part-way: %s",
		    source_path(src), strerror(-err));
		break;
	}
	return buf;
}

static int
ident_header_write(FILE *f, int64_t snapshot, int64_t boot, uint64_t count)
{
	struct ident_header h;

	memcpy(h.magic, IDENT_MAGIC, 8);
	h.snapshot = snapshot;
	h.boot = boot;
	h.count = count;
	if (fseek(f, 0, SEEK_SET) < 0 || fwrite(&h, sizeof(h), 1, f) != 1)
		return errno ? -errno : -EIO;
	return 0;
}

/* Does the database file we hold still sit at its path? */
static bool
db_replaced(struct engine *e)
{
	struct stat sb;

	return stat(e->db_path, &sb) < 0 || sb.st_ino != e->db_ino ||
	    sb.st_dev != e->db_dev;
}

int
engine_snapshot(struct engine *e, const struct config *cfg, volatile int *stop,
    struct snap_result *res)
{
	struct frame fr = { .e = e, .stop = stop };
	struct po_parser *parser = NULL;
	struct source_meta meta;
	struct snap_row *row = &res->row;
	struct grower top[TOP_GROWERS];
	struct detail_writer *dw = NULL;
	struct combo_series *combos = NULL;
	const struct po_parse_stats *ps;
	FILE *prevf = NULL;
	double t0, u0, s0, cu0, cs0, u1, s1, cu1, cs1, t_parse, t_diff;
	uint64_t malformed_before;
	size_t ngroups = 0;
	char why[512];
	int r = 0;

	memset(res, 0, sizeof(*res));
	memset(top, 0, sizeof(top));
	if (e->src == NULL || strcmp(e->src_path, cfg->source) != 0) {
		source_free(e->src);
		e->src = NULL;
		free(e->src_path);
		e->src_path = po_xstrdup(cfg->source);
		r = source_new(&e->src, cfg->source, &res->cause);
		if (r < 0)
			goto fail;
	}
	if (e->reopen) {
		char *c2 = NULL;

		/* SQLite keeps one read-only -shm mapping per file and process:
		 * this works once the main loop has closed its connection too */
		e->reopen = false;
		r = engine_open_store(e, &c2);
		if (r < 0) {
			po_asprintf(&res->cause, "cannot open database '%s' again: %s",
			    e->db_path, c2 ? c2 : "?");
			free(c2);
			goto fail;
		}
	}
	if (e->st == NULL || db_replaced(e)) {
		char *c2 = NULL;

		r = engine_open_store(e, &c2);
		if (r < 0) {
			po_asprintf(&res->cause, "database '%s' vanished and cannot be "
			    "made again: %s", e->db_path, c2 ? c2 : "?");
			free(c2);
			goto fail;
		}
		log_errx("database '%s' was deleted or replaced under the daemon: "
		    "started a new one (the old history is gone with the file)",
		    e->db_path);
	}

	source_set_timeout(e->src, cfg->read_timeout);
	source_set_pace(e->src, cfg->read_pace);
	t0 = po_now_mono();
	u0 = thread_cpu(&s0);
	cu0 = children_cpu(&cs0);
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
		goto fail;
	}
	snprintf(row->boot_id, sizeof(row->boot_id), "%s",
	    meta.boot_id[0] ? meta.boot_id : e->host_boot);
	snprintf(row->kernel, sizeof(row->kernel), "%s",
	    meta.kernel[0] ? meta.kernel : e->host_kernel);
	snprintf(row->source, sizeof(row->source), "%s", meta.name);
	if (!want_full(e, cfg, row->boot_id)) {
		r = snapshot_stacks(e, cfg, stop, res);
		if (r < 0)
			goto fail;
		t_parse = po_now_mono() - t0;
		t_diff = 0;
		goto finish;	/* the transaction is open */
	}
	snprintf(row->kind, sizeof(row->kind), "full");
	r = source_open(e->src, SRC_PAGE_OWNER, &res->cause);
	if (r < 0) {
		res->page_owner_off = source_get_kind(e->src) == SOURCE_DEBUGFS &&
		    (r == -ENOENT || r == -EINVAL);
		goto fail;
	}

	po_parser_new(&parser);
	fr.combos = combo_table_new();
	fr.ident = fopen(e->ident_tmp, "we");
	if (fr.ident == NULL) {
		r = -errno;
		po_asprintf(&res->cause, "cannot write '%s': %s", e->ident_tmp,
		    strerror(errno));
		goto fail;
	}
	{
		static char ibuf[256 * 1024];

		setvbuf(fr.ident, ibuf, _IOFBF, sizeof(ibuf));
	}
	if ((r = ident_header_write(fr.ident, 0, 0, 0)) < 0) {
		po_asprintf(&res->cause, "cannot write '%s': %s", e->ident_tmp,
		    strerror(-r));
		goto fail;
	}
	fr.prev_freed = po_xcalloc(e->nprev + 1, sizeof(int64_t));
	if (e->prev_ident_ok) {
		prevf = fopen(e->ident_path, "re");
		if (prevf != NULL && fseek(prevf, sizeof(struct ident_header), SEEK_SET) == 0) {
			po_ident_merge_init(&fr.merge, prevf, on_freed, on_allocated, &fr);
			fr.merging = true;
		}
	}

	for (;;) {
		ssize_t n = source_read(e->src, e->buf, READ_BUF);

		if (n < 0) {
			r = (int)n;
			res->cause = po_xstrdup(read_error(r, e->src, why, sizeof(why)));
			res->page_owner_off = r == -EINVAL &&
			    source_get_kind(e->src) == SOURCE_DEBUGFS;
			goto fail;
		}
		if (n == 0)
			break;
		if (po_parser_feed_batch(parser, e->buf, (size_t)n, on_records, &fr) != 0 ||
		    *stop) {
			r = -ECANCELED;
			po_asprintf(&res->cause, "snapshot abandoned: the daemon is stopping");
			goto fail;
		}
	}
	source_end(e->src);
	malformed_before = po_parser_stats(parser)->malformed;
	po_parser_finish(parser, NULL, NULL);
	ps = po_parser_stats(parser);
	if (ps->malformed > malformed_before) {
		r = -EBADMSG;
		po_asprintf(&res->cause, "'%s' ends inside a record (at byte %llu of "
		    "%llu): the read was cut short; snapshot not stored", meta.name,
		    (unsigned long long)ps->first_bad_offset,
		    (unsigned long long)ps->bytes);
		goto fail;
	}
	if (ps->page_records == 0) {
		r = -ENODATA;
		if (ps->bytes == 0)
			po_asprintf(&res->cause, "'%s' gave no data", meta.name);
		else
			po_asprintf(&res->cause, "no page_owner record in %llu bytes "
			    "of '%s'%s%s", (unsigned long long)ps->bytes, meta.name,
			    ps->malformed ? ": first problem: " : "",
			    ps->malformed ? po_malformed_str(ps->first_bad) : "");
		goto fail;
	}
	if (fr.merging) {
		if (po_ident_merge_finish(&fr.merge) < 0 || fr.merge.unsorted)
			fr.merging = false;	/* no allocated/freed this time */
	}
	if (fr.werr == 0 && fflush(fr.ident) != 0)
		fr.werr = -errno;
	if (fr.werr < 0) {
		r = fr.werr;
		po_asprintf(&res->cause, "cannot write '%s': %s", e->ident_tmp,
		    strerror(-r));
		goto fail;
	}
	t_parse = po_now_mono() - t0;

	row->bytes = (int64_t)ps->bytes;
	row->records = (int64_t)ps->page_records;
	row->pages = (int64_t)ps->pages;
	row->malformed = (int64_t)ps->malformed;
	row->unknown_lines = (int64_t)ps->unknown_lines;
	snprintf(row->format, sizeof(row->format), "%s", po_era_str(ps->features));
	row->stacks = po_stacktab_count(combo_stacks(fr.combos));

	/* resolve combos to series, inside the snapshot's transaction */
	if ((r = store_boot(e->st, row->boot_id, row->kernel, &row->boot)) < 0 ||
	    (r = store_begin(e->st)) < 0) {
		po_asprintf(&res->cause, "cannot store the snapshot: %s",
		    store_errmsg(e->st));
		goto fail;
	}
	row->identities = fr.merging;
	row_prepare(e, row);
	if ((r = store_insert_snapshot(e->st, row)) < 0)
		goto fail_store;

	series_values_clear(&e->vals);
	ngroups = combo_count(fr.combos);
	combos = po_xcalloc(ngroups + 1, sizeof(*combos));
	dw = detail_writer_new();
	for (size_t g = 0; g < ngroups; g++) {
		const struct combo *cb = combo_get(fr.combos, (uint32_t)g);
		struct po_stacktab *stt = combo_stacks(fr.combos);
		const struct po_stack *sk = po_stacktab_get(stt, cb->k.stack);
		const char *culprit = combo_name(fr.combos, sk->culprit_id);
		const char *module = combo_name(fr.combos, sk->module_id);
		const char *comm = combo_name(fr.combos, cb->k.comm);
		const char *memcg = combo_name(fr.combos, cb->k.memcg);
		char folded[64], order[16];
		struct detail_row dr;
		int64_t stack_id, alloc;

		stack_id = registry_stack(e->reg, e->st, sk->hash,
		    po_stacktab_text(stt, cb->k.stack), sk->sig_hash, culprit,
		    module, row->id, &combos[g].s[SERIES_STACK - 1]);
		registry_fold_comm(comm, folded, sizeof(folded));
		snprintf(order, sizeof(order), "%u", cb->k.order);
		combos[g].s[SERIES_COMM - 1] = registry_series(e->reg, e->st,
		    SERIES_COMM, folded, NULL, NULL, row->id);
		combos[g].s[SERIES_MEMCG - 1] = registry_series(e->reg, e->st,
		    SERIES_MEMCG, memcg, NULL, NULL, row->id);
		combos[g].s[SERIES_MODULE - 1] = registry_series(e->reg, e->st,
		    SERIES_MODULE, module[0] ? module : "kernel", NULL, NULL, row->id);
		combos[g].s[SERIES_ORDER - 1] = registry_series(e->reg, e->st,
		    SERIES_ORDER, order, NULL, NULL, row->id);
		for (int k = 0; k < NKINDS; k++)
			if (combos[g].s[k] == 0 || stack_id == 0) {
				r = -EIO;
				goto fail_store;
			}
		series_values_reserve(&e->vals, registry_max_series(e->reg));
		alloc = g < fr.combo_cap ? fr.combo_alloc[g] : 0;
		for (int k = 0; k < NKINDS; k++) {
			int64_t s = combos[g].s[k];
			int64_t ts = (int64_t)cb->ts_min;

			e->vals.pages[s] += (int64_t)cb->pages;
			e->vals.blocks[s] += (int64_t)cb->blocks;
			e->vals.alloc[s] += alloc;
			if (ts > 0 && (e->vals.ts_min[s] == 0 || ts < e->vals.ts_min[s]))
				e->vals.ts_min[s] = ts;
		}
		dr = (struct detail_row){
			.stack = stack_id > 0 ? (uint32_t)stack_id : 0,
			.comm = comm, .memcg = memcg, .order = cb->k.order,
			.gfp = cb->k.gfp, .pages = cb->pages, .blocks = cb->blocks,
			.ts_min = cb->ts_min,
		};
		detail_add(dw, &dr);
	}
	if (row->identities)
		for (size_t i = 0; i < e->nprev; i++)
			for (int k = 0; k < NKINDS; k++)
				if (e->prev[i].s[k] > 0 &&
				    e->prev[i].s[k] < e->vals.cap)
					e->vals.freed[e->prev[i].s[k]] += fr.prev_freed[i];
	t_diff = po_now_mono() - t0 - t_parse;

	r = apply_values(e, row, &e->vals, top);
	if (r < 0)
		goto fail_store;
	row->changed = r;
	{
		uint8_t *blob;
		size_t len;

		detail_finish(dw, &blob, &len);
		r = store_put_blob(e->st, "detail", row->id, blob, len);
		free(blob);
		if (r == 0)
			r = store_drop_old_detail(e->st, row->id);
		if (r < 0)
			goto fail_store;
	}
finish:
	u1 = thread_cpu(&s1);
	cu1 = children_cpu(&cs1);
	row->parse_s = t_parse;
	row->diff_s = t_diff;
	row->cpu_user = (u1 - u0) + (cu1 - cu0);
	row->cpu_sys = (s1 - s0) + (cs1 - cs0);
	row->store_s = po_now_mono() - t0 - t_parse - t_diff;
	row->duration = po_now_mono() - t0;
	{
		sqlite3_stmt *q = store_stmt(e->st, ST_SNAP_UPDATE);

		if (q == NULL) {
			r = -EIO;
			goto fail_store;
		}
		sqlite3_bind_int64(q, 1, row->id);
		sqlite3_bind_double(q, 2, row->duration);
		sqlite3_bind_double(q, 3, row->cpu_user);
		sqlite3_bind_double(q, 4, row->cpu_sys);
		sqlite3_bind_double(q, 5, row->parse_s);
		sqlite3_bind_double(q, 6, row->diff_s);
		sqlite3_bind_double(q, 7, row->store_s);
		sqlite3_bind_int64(q, 8, row->changed);
		sqlite3_bind_int64(q, 9, row->bytes);
		sqlite3_bind_int64(q, 10, row->records);
		sqlite3_bind_int64(q, 11, row->pages);
		sqlite3_bind_text(q, 12, row->format, -1, SQLITE_STATIC);
		r = sqlite3_step(q) == SQLITE_DONE ? 0 : -EIO;
		sqlite3_reset(q);
		if (r < 0)
			goto fail_store;
	}
	if (fr.ident == NULL) {
		/* a stacks read: no identities to keep */
		if ((r = store_commit(e->st)) < 0)
			goto fail_store;
		e->since_full++;
		e->prev_snapshot = row->id;
		e->prev_boot = row->boot;
		po_strlcpy(e->prev_boot_id, row->boot_id, sizeof(e->prev_boot_id));
		res->top = json_array();
		r = 0;
		goto out;
	}
	if ((r = ident_header_write(fr.ident, row->id, row->boot, fr.idents)) < 0 ||
	    (fflush(fr.ident) != 0 && (r = -errno) < 0)) {
		po_asprintf(&res->cause, "cannot write '%s': %s", e->ident_tmp,
		    strerror(-r));
		store_rollback(e->st);
		goto fail_reload;
	}
	if (fclose(fr.ident) != 0) {
		fr.ident = NULL;
		r = -errno;
		po_asprintf(&res->cause, "cannot write '%s': %s", e->ident_tmp,
		    strerror(-r));
		store_rollback(e->st);
		goto fail_reload;
	}
	fr.ident = NULL;
	if ((r = store_commit(e->st)) < 0)
		goto fail_store;

	/* committed: the new identities and combos become the previous ones */
	if (rename(e->ident_tmp, e->ident_path) < 0)
		(void)unlink(e->ident_tmp);
	free(e->prev);
	e->prev = combos;
	e->nprev = ngroups;
	combos = NULL;
	e->prev_snapshot = row->id;
	e->prev_boot = row->boot;
	e->prev_ident_ok = true;
	po_strlcpy(e->prev_boot_id, row->boot_id, sizeof(e->prev_boot_id));
	note_full(e);

	if (registry_overflowed(e->reg) > e->overflow_noted) {
		e->overflow_noted = registry_overflowed(e->reg);
		res->overflowed = e->overflow_noted;
	}
	res->top = json_array();
	for (int i = 0; i < TOP_GROWERS && top[i].series != 0; i++) {
		const struct series_info *si = registry_info(e->reg, top[i].series);

		json_array_append_new(res->top, json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I}",
		    "series", (json_int_t)top[i].series,
		    "key", si ? si->key : "",
		    "culprit", si ? si->culprit : "",
		    "module", si && si->module[0] ? si->module : "kernel",
		    "delta_pages", (json_int_t)top[i].d,
		    "allocated_pages", (json_int_t)top[i].alloc,
		    "freed_pages", (json_int_t)top[i].freed));
	}
	if (row->time - e->last_prune > HOUR) {
		int64_t deleted = 0;

		e->last_prune = row->time;
		(void)store_prune(e->st, row->time, cfg->keep_full, cfg->keep_hourly,
		    cfg->max_db_size, &deleted);
	}
	r = 0;
	goto out;

fail_store:
	if (res->cause == NULL) {
		if (r == -ENOSPC)
			po_asprintf(&res->cause, "database '%s': disk full; snapshot "
			    "not stored, history kept", e->db_path);
		else
			po_asprintf(&res->cause, "cannot store the snapshot in '%s': %s",
			    e->db_path, store_errmsg(e->st));
	}
	store_rollback(e->st);
fail_reload:
	{
		char *c2 = NULL;

		if (engine_load_state(e, &c2) < 0)
			free(c2);
	}
fail:
	if (r == 0)
		r = -EIO;
	if (res->cause == NULL)
		po_asprintf(&res->cause, "snapshot failed: %s", strerror(-r));
out:
	if (fr.ident != NULL)
		fclose(fr.ident);
	if (r < 0)
		(void)unlink(e->ident_tmp);
	if (prevf != NULL)
		fclose(prevf);
	if (e->src != NULL)
		source_end(e->src);
	free(fr.combo_alloc);
	free(fr.prev_freed);
	free(combos);
	detail_writer_free(dw);
	combo_table_free(fr.combos);
	po_parser_free(parser);
	res->error = r;
	/* opened while its file system was read-only, writable now */
	if (r == -EROFS && access(e->db_path, W_OK) == 0)
		e->reopen = res->db_readonly = true;
	if (e->src != NULL && source_get_kind(e->src) == SOURCE_DIR)
		source_position(e->src, &res->replay_next, &res->replay_total);
	return r;
}
