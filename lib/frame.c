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
#define PREFIX(s)	{ s, sizeof(s) - 1 }
static const struct {
	const char	*s;
	size_t		 n;
} allocator_prefixes[] = {
	PREFIX("get_page_from_freelist"),
	PREFIX("__alloc_pages"),
	PREFIX("alloc_pages"),
	PREFIX("__alloc_frozen_pages"),
	PREFIX("alloc_frozen_pages"),
	PREFIX("alloc_page_interleave"),
	PREFIX("alloc_pages_bulk"),
	PREFIX("__folio_alloc"),
	PREFIX("folio_alloc"),
	PREFIX("vma_alloc_folio"),
	PREFIX("__get_free_pages"),
	PREFIX("get_zeroed_page"),
	PREFIX("post_alloc_hook"),
	PREFIX("prep_new_page"),
	PREFIX("prep_compound_page"),
	PREFIX("alloc_slab_page"),
	PREFIX("allocate_slab"),
	PREFIX("new_slab"),
	PREFIX("___slab_alloc"),
	PREFIX("__slab_alloc"),
	PREFIX("slab_alloc"),
	PREFIX("kmem_cache_alloc"),
	PREFIX("__kmem_cache_alloc"),
	PREFIX("kmalloc"),
	PREFIX("__kmalloc"),
	PREFIX("___kmalloc"),
	PREFIX("kmalloc_large"),
	PREFIX("__kmalloc_large"),
	PREFIX("kmalloc_order"),
	PREFIX("kmalloc_trace"),
	PREFIX("kzalloc"),
	PREFIX("kvmalloc"),
	PREFIX("__kvmalloc"),
	PREFIX("krealloc"),
	PREFIX("__vmalloc"),
	PREFIX("vmalloc"),
	PREFIX("vzalloc"),
	PREFIX("vm_area_alloc_pages"),
	PREFIX("__vmalloc_area_node"),
	PREFIX("mempool_alloc"),
	PREFIX("filemap_alloc_folio"),
	PREFIX("__filemap_alloc_folio"),
	PREFIX("__page_cache_alloc"),
	PREFIX("page_cache_alloc"),
	PREFIX("alloc_page_buffers"),
	PREFIX("alloc_contig_range"),
	PREFIX("__alloc_contig"),
	PREFIX("register_dummy_stack"),
};
#undef PREFIX

bool
po_frame_is_allocator(struct po_span sym)
{
	/* once for each of a stack's leading frames: lengths known, first byte first */
	if (sym.n == 0)
		return false;
	for (size_t i = 0; i < PO_ARRAY_SIZE(allocator_prefixes); i++) {
		const char *a = allocator_prefixes[i].s;
		size_t n = allocator_prefixes[i].n;

		if (a[0] == sym.p[0] && sym.n >= n && memcmp(sym.p, a, n) == 0)
			return true;
	}
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
 * Append n bytes at used to buf (len bytes), copying what fits before a
 * final NUL, so that a cut signature is a clean prefix; the new length.
 */
static inline size_t
sig_put(char *buf, size_t len, size_t used, const char *src, size_t n)
{
	if (used + 1 < len)
		memcpy(buf + used, src, n < len - 1 - used ? n : len - 1 - used);
	return used + n;
}

/* One frame's line of a signature: "sym [module]\n". */
static size_t
sig_put_frame(char *buf, size_t len, size_t used, const struct po_frame *f)
{
	used = sig_put(buf, len, used, f->sym.p, f->sym.n);
	if (f->mod.n > 0) {
		used = sig_put(buf, len, used, " [", 2);
		used = sig_put(buf, len, used, f->mod.p, f->mod.n);
		used = sig_put(buf, len, used, "]", 1);
	}
	return sig_put(buf, len, used, "\n", 1);
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

	while (po_frame_next(&stack, &line)) {
		struct po_frame f;

		po_frame_parse(line, &f);
		used = sig_put_frame(buf, len, used, &f);
	}
	if (len > 0)
		buf[used < len ? used : len - 1] = '\0';
	return used;
}

/*
 * Culprit, module and signature hash in one pass over the frames (the
 * signature as po_stack_signature() writes it; a signature longer than
 * the buffer is written again whole).
 */
void
po_stack_describe(struct po_span stack, struct po_stack_info *ret)
{
	struct po_span it = stack, line, last_sym = { NULL, 0 }, last_line = { NULL, 0 };
	bool found = false, have_mod = false;
	char sig[4096];
	size_t n = 0;

	memset(ret, 0, sizeof(*ret));
	while (po_frame_next(&it, &line)) {
		struct po_frame f;

		po_frame_parse(line, &f);
		n = sig_put_frame(sig, sizeof(sig), n, &f);
		if (have_mod)
			continue;
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
			have_mod = true;
		}
	}
	if (!found) {
		/* Nothing but allocator frames: name the outermost one. */
		ret->culprit = last_sym;
		ret->culprit_line = last_line;
	}

	/* whole when it fits with room for a NUL, as po_stack_signature has it */
	if (n < sizeof(sig)) {
		ret->sig_hash = po_hash(sig, n);
	} else {
		char *big = po_xmalloc(n + 1);

		po_stack_signature(stack, big, n + 1);
		ret->sig_hash = po_hash(big, n);
		free(big);
	}
}
