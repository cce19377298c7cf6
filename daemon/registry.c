/*
 * registry.c: the collector's memory of every series and stack it has
 * stored, so that a snapshot turns a stack hash or a name into a database
 * id without a query.  Loaded from the database at start (and again after
 * a failed transaction, which may have left ids the database never got).
 *
 * Caps: past max_stacks distinct stacks (or max_series series) new ones
 * are counted into one "(overflow)" series per kind, and the overflow is
 * reported in status; memory stays bounded.
 */
#include <errno.h>
#include <string.h>

#include "index.h"
#include "page-ownerd.h"

/* A stored stack, by its place in the registry's array. */
struct stack_entry {
	uint64_t	hash;		/* xxh3 of the frames (0 stored as 1) */
	int64_t		id;		/* stacks.id */
	int64_t		series;		/* series.id of its signature */
};

struct registry {
	struct series_info *info;	/* by series id (1-based) */
	int64_t		 max_id;	/* largest series id */
	int64_t		 info_cap;
	struct po_index	 names;		/* name_hash(kind, key) -> series id */
	struct stack_entry *stacks;	/* dense */
	uint32_t	 nstacks;
	uint32_t	 stacks_cap;
	struct po_index	 stack_ix;	/* hash -> index in stacks */
	uint32_t	 max_stacks;
	uint32_t	 max_series;
	uint64_t	 overflowed;	/* lookups folded into an overflow series */
};

static uint64_t
name_hash(enum series_kind kind, const char *key)
{
	return po_hash_seeded(key, strlen(key), (uint64_t)kind * 0x9E3779B97F4A7C15ULL);
}

/* Put a new stack in the array and the index. */
static void
stacks_put(struct registry *r, uint64_t h, int64_t id, int64_t series)
{
	if (r->nstacks == r->stacks_cap) {
		r->stacks_cap = r->stacks_cap ? r->stacks_cap * 2 : 4096;
		r->stacks = po_xrealloc(r->stacks, r->stacks_cap, sizeof(*r->stacks));
	}
	r->stacks[r->nstacks] = (struct stack_entry){ h, id, series };
	po_index_put(&r->stack_ix, h, r->nstacks++, 0);
}

static struct series_info *
info_slot(struct registry *r, int64_t id)
{
	if (id >= r->info_cap) {
		int64_t cap = r->info_cap ? r->info_cap : 1024;

		while (cap <= id)
			cap *= 2;
		r->info = po_xrealloc(r->info, (size_t)cap, sizeof(*r->info));
		memset(r->info + r->info_cap, 0,
		    (size_t)(cap - r->info_cap) * sizeof(*r->info));
		r->info_cap = cap;
	}
	if (id > r->max_id)
		r->max_id = id;
	return &r->info[id];
}

static void
add_series(struct registry *r, int64_t id, enum series_kind kind, const char *key,
    const char *culprit, const char *module)
{
	struct series_info *si = info_slot(r, id);

	free(si->key);
	free(si->culprit);
	free(si->module);
	memset(si, 0, sizeof(*si));
	si->kind = kind;
	si->key = po_xstrdup(key);
	si->culprit = po_xstrdup(culprit ? culprit : "");
	si->module = po_xstrdup(module ? module : "");
	/* ids index info[]: they are small */
	po_index_put(&r->names, name_hash(kind, key), (uint32_t)id, 0);
}

static int
load_series(const struct series_row *row, void *ud)
{
	struct registry *r = ud;
	struct series_info *si;

	add_series(r, row->id, (enum series_kind)row->kind, row->key, row->culprit,
	    row->module);
	si = &r->info[row->id];
	si->pages = row->pages;
	si->blocks = row->blocks;
	si->last_change = row->last_change;
	si->growing_since = row->growing_since;
	si->ts_min = row->ts_min;
	return 0;
}

static int
load_stack(const struct stack_row *row, void *ud)
{
	struct registry *r = ud;

	stacks_put(r, row->hash, row->id, row->series);
	return 0;
}

int
registry_load(struct registry **ret, struct store *st, uint32_t max_stacks,
    uint32_t max_series, char **cause)
{
	struct registry *r = po_xcalloc(1, sizeof(*r));

	r->max_stacks = max_stacks;
	r->max_series = max_series;
	po_index_init(&r->names, 1024, 50, false);
	po_index_init(&r->stack_ix, 4096, 50, false);
	if (store_each_series(st, 0, load_series, r) < 0 ||
	    store_each_stack(st, load_stack, r) < 0) {
		po_asprintf(cause, "cannot load series and stacks: %s", store_errmsg(st));
		registry_free(r);
		return -EIO;
	}
	*ret = r;
	return 0;
}

void
registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	for (int64_t i = 0; i <= r->max_id && i < r->info_cap; i++) {
		free(r->info[i].key);
		free(r->info[i].culprit);
		free(r->info[i].module);
	}
	free(r->info);
	po_index_free(&r->names);
	po_index_free(&r->stack_ix);
	free(r->stacks);
	free(r);
}

/* The series (kind, key) if the registry has it, else 0. */
int64_t
registry_find(struct registry *r, enum series_kind kind, const char *key)
{
	struct po_index_probe p;
	uint32_t id;

	for (id = po_index_first(&r->names, name_hash(kind, key), &p);
	    id != PO_NONE; id = po_index_next(&r->names, &p)) {
		const struct series_info *si = &r->info[id];

		if (si->kind == kind && strcmp(si->key, key) == 0)
			return id;
	}
	return 0;
}

/*
 * The series (kind, key), created in the database (inside the caller's
 * transaction) when new.  0 on a database error (the snapshot fails).
 */
int64_t
registry_series(struct registry *r, struct store *st, enum series_kind kind,
    const char *key, const char *culprit, const char *module, int64_t snapshot)
{
	_cleanup_free_ char *ckey = NULL, *cculprit = NULL, *cmodule = NULL;
	int64_t id;

	/* what is stored and shown is well-formed UTF-8 (see po_utf8_scrub) */
	if (!po_utf8_valid(key, strlen(key))) {
		ckey = po_utf8_dup(key, strlen(key));
		key = ckey;
	}
	if (culprit != NULL && !po_utf8_valid(culprit, strlen(culprit))) {
		cculprit = po_utf8_dup(culprit, strlen(culprit));
		culprit = cculprit;
	}
	if (module != NULL && !po_utf8_valid(module, strlen(module))) {
		cmodule = po_utf8_dup(module, strlen(module));
		module = cmodule;
	}
	id = registry_find(r, kind, key);
	if (id != 0)
		return id;
	if (po_index_count(&r->names) >= r->max_series) {
		r->overflowed++;
		id = registry_find(r, kind, "(overflow)");
		if (id != 0)
			return id;
		key = "(overflow)";
		culprit = "(overflow)";
		module = "";
	}
	if (store_insert_series(st, kind, key, culprit, module, snapshot, &id) < 0)
		return 0;
	add_series(r, id, kind, key, culprit, module);
	return id;
}

/* The stack with this hash: its id, and its series in *ret_series. */
int64_t
registry_stack(struct registry *r, struct store *st, uint64_t hash,
    struct po_span frames, uint64_t sig_hash, const char *culprit,
    const char *module, int64_t snapshot, int64_t *ret_series)
{
	struct po_index_probe p;
	char key[24];
	int64_t series, id;
	uint32_t at;

	if (hash == 0)
		hash = 1;	/* as stored since the registry began */
	for (at = po_index_first(&r->stack_ix, hash, &p); at != PO_NONE;
	    at = po_index_next(&r->stack_ix, &p))
		if (r->stacks[at].hash == hash) {
			*ret_series = r->stacks[at].series;
			return r->stacks[at].id;
		}
	snprintf(key, sizeof(key), "%016llx", (unsigned long long)sig_hash);
	if (r->nstacks >= r->max_stacks) {
		r->overflowed++;
		series = registry_series(r, st, SERIES_STACK, "(overflow)", "(overflow)",
		    "", snapshot);
		*ret_series = series;
		return series != 0 ? -1 : 0;	/* -1: counted, no stack row */
	}
	series = registry_series(r, st, SERIES_STACK, key, culprit, module, snapshot);
	if (series == 0)
		return 0;
	if (!po_utf8_valid(frames.p, frames.n)) {
		_cleanup_free_ char *clean = po_utf8_dup(frames.p, frames.n);
		int rc;

		rc = store_insert_stack(st, hash, series, clean, frames.n, snapshot, &id);
		if (rc < 0)
			return 0;
	} else if (store_insert_stack(st, hash, series, frames.p, frames.n,
	    snapshot, &id) < 0) {
		return 0;
	}
	stacks_put(r, hash, id, series);
	*ret_series = series;
	return id;
}

struct series_info *
registry_info(struct registry *r, int64_t series)
{
	if (series <= 0 || series > r->max_id)
		return NULL;
	return &r->info[series];
}

int64_t
registry_max_series(const struct registry *r)
{
	return r->max_id;
}

uint64_t
registry_overflowed(const struct registry *r)
{
	return r->overflowed;
}
