/*
 * series.c: what a history is kept of.  A series is (kind, key): a stack
 * signature, or a comm, memcg, module or order; its values of one snapshot
 * live in arrays indexed by series id.
 */
#include <errno.h>
#include <string.h>

#include "page-ownerd.h"

const char *
series_kind_name(enum series_kind k)
{
	switch (k) {
	case SERIES_STACK: return "stack";
	case SERIES_COMM: return "comm";
	case SERIES_MEMCG: return "memcg";
	case SERIES_MODULE: return "module";
	case SERIES_ORDER: return "order";
	case SERIES__KIND_MAX: break;
	}
	return "?";
}

int
series_kind_parse(const char *s, enum series_kind *ret)
{
	for (int k = SERIES_STACK; k < SERIES__KIND_MAX; k++)
		if (strcmp(s, series_kind_name((enum series_kind)k)) == 0) {
			*ret = (enum series_kind)k;
			return 0;
		}
	return -EINVAL;
}

/*
 * Series keys fold per-CPU and per-pool kernel threads: "kworker/u8:3"
 * becomes "kworker/u8:*", "ksoftirqd/3" becomes "ksoftirqd/" plus a star.
 * The detail keeps the real name.
 */
void
series_fold_comm(const char *comm, char *buf, size_t len)
{
	const char *slash = strchr(comm, '/'), *colon;
	bool digits = slash != NULL && slash[1] != '\0';

	if (strncmp(comm, "kworker/", 8) == 0 && (colon = strrchr(comm, ':')) != NULL) {
		snprintf(buf, len, "%.*s:*", (int)(colon - comm), comm);
		return;
	}
	for (const char *p = slash ? slash + 1 : ""; digits && *p; p++)
		if (*p < '0' || *p > '9')
			digits = false;
	if (digits) {
		snprintf(buf, len, "%.*s/*", (int)(slash - comm), comm);
		return;
	}
	snprintf(buf, len, "%s", comm);
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
