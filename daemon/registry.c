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

#include "page-ownerd.h"

struct stack_slot {
	uint64_t	hash;		/* xxh3 of the frames; 0 = empty slot */
	int64_t		id;		/* stacks.id */
	int64_t		series;		/* series.id of its signature */
};

struct name_slot {
	uint64_t	hash;		/* of kind and key */
	int64_t		id;		/* series.id; 0 = empty slot */
};

struct registry {
	struct series_info *info;	/* by series id (1-based) */
	int64_t		 max_id;	/* largest series id */
	int64_t		 info_cap;
	struct name_slot *names;	/* (kind, key) -> series id */
	uint64_t	 names_mask;
	uint64_t	 nnames;
	struct stack_slot *stacks;	/* hash -> stack */
	uint64_t	 stacks_mask;
	uint64_t	 nstacks;
	uint32_t	 max_stacks;
	uint32_t	 max_series;
	uint64_t	 overflowed;	/* lookups folded into an overflow series */
};

static uint64_t
name_hash(enum series_kind kind, const char *key)
{
	return po_hash_seeded(key, strlen(key), (uint64_t)kind * 0x9E3779B97F4A7C15ULL);
}

static void
names_put(struct registry *r, uint64_t h, int64_t id)
{
	uint64_t i = h & r->names_mask;

	while (r->names[i].id != 0)
		i = (i + 1) & r->names_mask;
	r->names[i].hash = h;
	r->names[i].id = id;
	r->nnames++;
}

static void
names_grow(struct registry *r)
{
	struct name_slot *old = r->names;
	uint64_t oldn = r->names ? r->names_mask + 1 : 0;

	r->names_mask = oldn ? oldn * 2 - 1 : 1023;
	r->names = po_xcalloc(r->names_mask + 1, sizeof(*r->names));
	r->nnames = 0;
	for (uint64_t i = 0; i < oldn; i++)
		if (old[i].id != 0)
			names_put(r, old[i].hash, old[i].id);
	free(old);
}

static void
stacks_put(struct registry *r, uint64_t h, int64_t id, int64_t series)
{
	uint64_t i = h & r->stacks_mask;

	while (r->stacks[i].id != 0)
		i = (i + 1) & r->stacks_mask;
	r->stacks[i] = (struct stack_slot){ h, id, series };
	r->nstacks++;
}

static void
stacks_grow(struct registry *r)
{
	struct stack_slot *old = r->stacks;
	uint64_t oldn = r->stacks ? r->stacks_mask + 1 : 0;

	r->stacks_mask = oldn ? oldn * 2 - 1 : 4095;
	r->stacks = po_xcalloc(r->stacks_mask + 1, sizeof(*r->stacks));
	r->nstacks = 0;
	for (uint64_t i = 0; i < oldn; i++)
		if (old[i].id != 0)
			stacks_put(r, old[i].hash, old[i].id, old[i].series);
	free(old);
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
	if ((r->nnames + 1) * 2 > r->names_mask)
		names_grow(r);
	names_put(r, name_hash(kind, key), id);
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

	if ((r->nstacks + 1) * 2 > r->stacks_mask)
		stacks_grow(r);
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
	names_grow(r);
	stacks_grow(r);
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
	free(r->names);
	free(r->stacks);
	free(r);
}

/* The series (kind, key) if the registry has it, else 0. */
int64_t
registry_find(struct registry *r, enum series_kind kind, const char *key)
{
	uint64_t h = name_hash(kind, key), i = h & r->names_mask;

	while (r->names[i].id != 0) {
		const struct series_info *si = &r->info[r->names[i].id];

		if (r->names[i].hash == h && si->kind == kind &&
		    strcmp(si->key, key) == 0)
			return r->names[i].id;
		i = (i + 1) & r->names_mask;
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
	if (r->nnames >= r->max_series) {
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
	char key[24];
	int64_t series, id;
	uint64_t i;

	if (hash == 0)
		hash = 1;	/* 0 marks an empty slot */
	i = hash & r->stacks_mask;
	while (r->stacks[i].id != 0) {
		if (r->stacks[i].hash == hash) {
			*ret_series = r->stacks[i].series;
			return r->stacks[i].id;
		}
		i = (i + 1) & r->stacks_mask;
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
	if ((r->nstacks + 1) * 2 > r->stacks_mask)
		stacks_grow(r);
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
