/*
 * fuzz-stacks.c: libFuzzer target for the page_owner_stacks path:
 * show_stacks, show_handles and show_stacks_handles records parsed and
 * aggregated as the daemon's cheap sample does, with the handles of one
 * file joined to the frames of another.
 *
 * The input is two files separated by the first NUL byte (the second may
 * be empty).  Oracles: the pages of every grouping add up to the counts
 * the parser delivered, and nothing the aggregation keeps points outside
 * its own tables.
 */
// fuzz-sources: lib/*.c
// fuzz-pkgs: libxxhash
// fuzz-seeds: tests/fuzz/seeds/stacks tests/fixtures
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "po.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do {							\
		if (!(x)) {						\
			fprintf(stderr, "fuzz-stacks: %s:%d: %s\n",	\
			    __FILE__, __LINE__, #x);			\
			abort();					\
		}							\
	} while (0)

#define NAGG 4
#define MAXH 64

struct ctx {
	struct po_agg	*agg[NAGG];
	uint64_t	 pages;		/* positive counts added */
	uint32_t	 handles[MAXH];	/* show_handles: handle -> count */
	int64_t		 counts[MAXH];
	size_t		 nh;
	int		 file;		/* 0 or 1 */
};

static int
on_record(const struct po_record *r, void *userdata)
{
	struct ctx *c = userdata;

	if (r->kind != PO_REC_STACK) {
		CHECK(r->kind == PO_REC_PAGE);
		return 0;
	}
	CHECK(r->nframes > 0 || r->has_handle);
	if (r->has_nr_pages) {
		for (int i = 0; i < NAGG; i++)
			CHECK(po_agg_add_stack(c->agg[i], r, c->file, NULL) == 0);
		if (r->nr_base_pages > 0)
			c->pages += (uint64_t)r->nr_base_pages;
		if (r->has_handle && r->nframes == 0 && c->nh < MAXH) {
			c->handles[c->nh] = r->handle;
			c->counts[c->nh++] = r->nr_base_pages;
		}
	} else {
		CHECK(po_agg_add_stack(c->agg[0], r, 0, NULL) == -EINVAL);
		/* show_stacks_handles: join the count by handle */
		for (size_t i = 0; i < c->nh && r->has_handle; i++) {
			struct po_record j;

			if (c->handles[i] != r->handle)
				continue;
			j = *r;
			j.has_nr_pages = true;
			j.nr_base_pages = c->counts[i];
			CHECK(po_agg_add_stack(c->agg[1], &j, 1, NULL) == 0);
			break;
		}
	}
	return 0;
}

static void
feed(struct ctx *c, const char *buf, size_t len)
{
	struct po_parser *p = NULL;

	CHECK(po_parser_new(&p) == 0);
	CHECK(po_parser_feed(p, buf, len, on_record, c) == 0);
	CHECK(po_parser_finish(p, on_record, c) == 0);
	po_parser_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum po_key keys[NAGG][2] = {
		{ PO_KEY_STACK, PO_KEY_COMM }, { PO_KEY_CULPRIT, PO_KEY_MODULE },
		{ PO_KEY_SIGNATURE, PO_KEY_ORDER }, { PO_KEY_MODULE, PO_KEY_PID },
	};
	const char *buf = (const char *)data;
	const char *nul = memchr(buf, '\0', size);
	size_t len1 = nul != NULL ? (size_t)(nul - buf) : size;
	struct ctx c;
	uint64_t sum0[NAGG] = { 0 };

	memset(&c, 0, sizeof(c));
	for (int i = 0; i < NAGG; i++)
		CHECK(po_agg_new(&c.agg[i], keys[i], 2, NULL) == 0);
	feed(&c, buf, len1);
	c.file = 1;
	if (nul != NULL)
		feed(&c, nul + 1, size - len1 - 1);

	for (int i = 0; i < NAGG; i++) {
		struct po_stacktab *st = po_agg_stacks(c.agg[i]);

		for (size_t g = 0; g < po_agg_ngroups(c.agg[i]); g++) {
			struct po_group *gr = po_agg_group(c.agg[i], g);
			char ks[256];

			CHECK(gr->blocks[0] == 0 && gr->blocks[1] == 0);
			CHECK(po_stacktab_get(st, gr->stack_id) != NULL);
			for (unsigned k = 0; k < 2; k++)
				CHECK(po_agg_key_str(c.agg[i], gr, k, ks, sizeof(ks)) == 0);
			sum0[i] += gr->pages[0] + (i == 1 ? 0 : gr->pages[1]);
		}
	}
	/* every grouping holds every page once (agg 1 also got the join) */
	for (int i = 0; i < NAGG; i++)
		if (i != 1)
			CHECK(sum0[i] == c.pages);
	/* one merge of two groupings holds the sum of both */
	{
		struct po_agg *m = NULL;
		uint64_t sum = 0;

		CHECK(po_agg_new(&m, keys[0], 2, NULL) == 0);
		po_agg_merge(m, c.agg[0], NULL);
		po_agg_merge(m, c.agg[0], NULL);
		for (size_t g = 0; g < po_agg_ngroups(m); g++)
			sum += po_agg_group(m, g)->pages[0] + po_agg_group(m, g)->pages[1];
		CHECK(sum == 2 * c.pages);
		CHECK(po_agg_ngroups(m) == po_agg_ngroups(c.agg[0]));
		po_agg_free(m);
	}
	for (int i = 0; i < NAGG; i++)
		po_agg_free(c.agg[i]);
	return 0;
}
