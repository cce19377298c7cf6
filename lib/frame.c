/*
 * frame.c: what a stack says: its frames, its signature, its culprit.
 *
 * The list of the allocator's own functions lives here and only here: the
 * culprit of a stack is its first frame outside that list.
 */
#include <string.h>

#include "po.h"

/*
 * Functions that belong to the allocators rather than to whoever asked for
 * memory: the page allocator, its folio and gfp wrappers, slab and kmalloc,
 * vmalloc and mempool internals.  Matched as prefixes, so `_noprof`,
 * `_nodemask`, `.isra.0` and similar suffixes follow along.
 */
static const char *const allocator_prefixes[] = {
	"get_page_from_freelist",
	"__alloc_pages",
	"alloc_pages",
	"__alloc_frozen_pages",
	"alloc_frozen_pages",
	"alloc_page_interleave",
	"alloc_pages_bulk",
	"__folio_alloc",
	"folio_alloc",
	"vma_alloc_folio",
	"__get_free_pages",
	"get_zeroed_page",
	"post_alloc_hook",
	"prep_new_page",
	"prep_compound_page",
	"alloc_slab_page",
	"allocate_slab",
	"new_slab",
	"___slab_alloc",
	"__slab_alloc",
	"slab_alloc",
	"kmem_cache_alloc",
	"__kmem_cache_alloc",
	"kmalloc",
	"__kmalloc",
	"___kmalloc",
	"kmalloc_large",
	"__kmalloc_large",
	"kmalloc_order",
	"kmalloc_trace",
	"kzalloc",
	"kvmalloc",
	"__kvmalloc",
	"krealloc",
	"__vmalloc",
	"vmalloc",
	"vzalloc",
	"vm_area_alloc_pages",
	"__vmalloc_area_node",
	"mempool_alloc",
	"filemap_alloc_folio",
	"__filemap_alloc_folio",
	"__page_cache_alloc",
	"page_cache_alloc",
	"alloc_page_buffers",
	"alloc_contig_range",
	"__alloc_contig",
	"register_dummy_stack",
};

bool
po_frame_is_allocator(struct po_span sym)
{
	for (size_t i = 0; i < PO_ARRAY_SIZE(allocator_prefixes); i++)
		if (po_span_startswith(sym, allocator_prefixes[i]))
			return true;
	return false;
}

/* Step through the frame lines of a stack span (lines starting with ' '). */
bool
po_frame_next(struct po_span *stack, struct po_span *ret_line)
{
	const char *p = stack->p, *e, *nl;

	if (stack->n == 0)
		return false;
	e = p + stack->n;
	nl = memchr(p, '\n', stack->n);
	if (nl == NULL)
		nl = e;
	if (*p == ' ')
		p++;
	*ret_line = (struct po_span){ p, (size_t)(nl - p) };
	if (nl < e)
		nl++;
	stack->n -= (size_t)(nl - stack->p);
	stack->p = nl;
	return true;
}

static bool
parse_hex_span(const char *p, const char *e, uint64_t *ret)
{
	uint64_t v = 0;

	if (e - p < 3 || p[0] != '0' || p[1] != 'x' || e - p > 18)
		return false;
	for (p += 2; p < e; p++) {
		unsigned d;

		if ((unsigned)(*p - '0') < 10)
			d = (unsigned)(*p - '0');
		else if ((unsigned)((*p | 0x20) - 'a') < 6)
			d = (unsigned)((*p | 0x20) - 'a') + 10;
		else
			return false;
		v = (v << 4) | d;
	}
	*ret = v;
	return true;
}

/*
 * One frame line: optional "[<addr>] " prefix (oldest kernels), then
 * "sym+0xoff/0xsize", optional " [module]".  Without KALLSYMS it is a raw
 * address; whatever does not fit is kept whole as the symbol.
 */
void
po_frame_parse(struct po_span line, struct po_frame *ret)
{
	const char *p = line.p, *e = line.p + line.n, *q, *plus, *slash;

	memset(ret, 0, sizeof(*ret));
	if (e - p >= 2 && p[0] == '[' && p[1] == '<') {
		q = memchr(p, ']', (size_t)(e - p));
		if (q != NULL) {
			ret->addr = (struct po_span){ p, (size_t)(q + 1 - p) };
			p = q + 1;
			while (p < e && *p == ' ')
				p++;
		}
	}
	/* " [module]" suffix */
	if (e - p >= 4 && e[-1] == ']') {
		for (q = e - 2; q > p; q--) {
			if (*q == '[') {
				if (q[-1] == ' ') {
					ret->mod = (struct po_span){ q + 1,
					    (size_t)(e - 1 - (q + 1)) };
					e = q - 1;
				}
				break;
			}
		}
	}
	ret->sym = (struct po_span){ p, (size_t)(e - p) };
	plus = memchr(p, '+', (size_t)(e - p));
	if (plus == NULL)
		return;
	slash = memchr(plus, '/', (size_t)(e - plus));
	if (slash == NULL)
		return;
	if (!parse_hex_span(plus + 1, slash, &ret->off) ||
	    !parse_hex_span(slash + 1, e, &ret->size))
		return;
	ret->has_off = true;
	ret->sym.n = (size_t)(plus - p);
}

/*
 * The signature of a stack: "sym [module]" per frame, one per line, with
 * offsets, sizes and addresses dropped.  It follows one code path across
 * reboots and rebuilds.  Returns the length it needed (like snprintf).
 */
size_t
po_stack_signature(struct po_span stack, char *buf, size_t len)
{
	struct po_span line;
	size_t used = 0;

	/* copy what fits, so that a cut signature is a clean prefix */
#define PUT(src, n) do {						\
		if (used + 1 < len)					\
			memcpy(buf + used, (src), (n) < len - 1 - used ?	\
			    (n) : len - 1 - used);			\
		used += (n);						\
	} while (0)

	while (po_frame_next(&stack, &line)) {
		struct po_frame f;

		po_frame_parse(line, &f);
		PUT(f.sym.p, f.sym.n);
		if (f.mod.n > 0) {
			PUT(" [", 2);
			PUT(f.mod.p, f.mod.n);
			PUT("]", 1);
		}
		PUT("\n", 1);
	}
#undef PUT
	if (len > 0)
		buf[used < len ? used : len - 1] = '\0';
	return used;
}

void
po_stack_describe(struct po_span stack, struct po_stack_info *ret)
{
	struct po_span it = stack, line, last_sym = { NULL, 0 }, last_line = { NULL, 0 };
	bool found = false;
	char sig[4096];
	size_t n;

	memset(ret, 0, sizeof(*ret));
	while (po_frame_next(&it, &line)) {
		struct po_frame f;

		po_frame_parse(line, &f);
		if (!found && f.mod.n == 0 && po_frame_is_allocator(f.sym)) {
			last_sym = f.sym;
			last_line = line;
			continue;
		}
		if (!found) {
			found = true;
			ret->culprit = f.sym;
			ret->culprit_line = line;
		}
		if (f.mod.n > 0) {
			ret->module = f.mod;
			break;
		}
	}
	if (!found) {
		/* Nothing but allocator frames: name the outermost one. */
		ret->culprit = last_sym;
		ret->culprit_line = last_line;
	}

	n = po_stack_signature(stack, sig, sizeof(sig));
	if (n < sizeof(sig)) {
		ret->sig_hash = po_hash(sig, n);
	} else {
		char *big = po_xmalloc(n + 1);

		po_stack_signature(stack, big, n + 1);
		ret->sig_hash = po_hash(big, n);
		free(big);
	}
}
