/*
 * parse-record.c: one page_owner record, its lines already cut, into a
 * struct po_record; and the names of what the parser finds.
 *
 * The era of each record is told by the shape of its lines, never by a
 * kernel version (the shapes, with an example of each, are the fixtures
 * under tests/fixtures/; tests/fixtures/README lists them).  The same
 * code reads page_owner records and page_owner_stacks/ entries.
 */
#include <errno.h>
#include <string.h>

#include "parse-internal.h"

/* ---- small cursor helpers: every read is bounds-checked ---------------- */

struct cur {
	const char	*p;	/* next byte */
	const char	*e;	/* one past the last byte */
};

static inline bool
eat(struct cur *c, const char *lit, size_t n)
{
	if ((size_t)(c->e - c->p) < n || memcmp(c->p, lit, n) != 0)
		return false;
	c->p += n;
	return true;
}
#define EAT(c, lit) eat((c), (lit), sizeof(lit) - 1)

/*
 * A decimal number.  Nineteen digits always fit in 64 bits, so only the
 * digits after those are checked for overflow (page_owner's numbers are
 * all shorter: this is the parser's hottest loop).
 */
static inline bool
eat_dec(struct cur *c, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = c->p;
	const char *fast = c->e - c->p > 19 ? c->p + 19 : c->e;

	while (c->p < fast && (unsigned)(*c->p - '0') < 10) {
		v = v * 10 + (unsigned)(*c->p - '0');
		c->p++;
	}
	while (c->p < c->e && (unsigned)(*c->p - '0') < 10) {
		unsigned d = (unsigned)(*c->p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		c->p++;
	}
	if (c->p == s)
		return false;
	*ret = v;
	return true;
}

/* A hex digit's value + 1, 0 for anything else: one load instead of three tests. */
static const uint8_t hexdig1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static inline bool
eat_hex(struct cur *c, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = c->p;
	const char *fast = c->e - c->p > 16 ? c->p + 16 : c->e;
	int d;

	while (c->p < fast && (d = hexdig1[(unsigned char)*c->p] - 1) >= 0) {
		v = (v << 4) | (uint64_t)d;
		c->p++;
	}
	/* none, or a 17th digit: more than 64 bits */
	if (c->p == s || (c->p < c->e && hexdig1[(unsigned char)*c->p] != 0))
		return false;
	*ret = v;
	return true;
}

static inline bool
eat_i32(struct cur *c, int32_t *ret)
{
	uint64_t v;
	bool neg = EAT(c, "-");

	if (!eat_dec(c, &v) || v > INT32_MAX)
		return false;
	*ret = neg ? -(int32_t)v : (int32_t)v;
	return true;
}

/*
 * A stack depot handle: a u32 that the 6.19 files print with %d, so one
 * with the top bit set reads as a negative number (two's complement);
 * anything outside [-2^31, 2^32) is not a handle.
 */
static inline bool
eat_handle(struct cur *c, uint32_t *ret)
{
	uint64_t v;
	bool neg = EAT(c, "-");

	if (!eat_dec(c, &v))
		return false;
	if (neg) {
		if (v > UINT64_C(0x80000000))
			return false;
		*ret = (uint32_t)(UINT64_C(0x100000000) - v);
		return true;
	}
	if (v > UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

static inline const char *
rfind_byte(const char *s, const char *end, char ch)
{
#ifdef __SSE2__
	const __m128i v = _mm_set1_epi8(ch);

	while (end - s >= 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_loadu_si128((const __m128i *)(const void *)(end - 16)), v));

		if (m != 0)
			return end - 16 + (31 - __builtin_clz(m));
		end -= 16;
	}
#endif
	while (end > s)
		if (*--end == ch)
			return end;
	return NULL;
}

/*
 * Find lit in [c->p, c->e); return its start or NULL.  The haystacks are
 * short (a migratetype name): search for lit's second byte, as the
 * literals here start with a space, which is everywhere.
 */
static inline __attribute__((always_inline)) const char *
find(const struct cur *c, const char *lit, size_t n)
{
	const char *q = c->p;

	if (n < 2)
		return n == 1 ? find_byte(q, c->e, lit[0]) : q;
	while ((size_t)(c->e - q) >= n) {
		const char *k = find_byte(q + 1, c->e - n + 2, lit[1]);

		if (k == NULL)
			return NULL;
		if (memcmp(k - 1, lit, n) == 0)
			return k - 1;
		q = k;
	}
	return NULL;
}

/* Find the last occurrence of lit in [c->p, c->e). */
static inline __attribute__((always_inline)) const char *
rfind(const struct cur *c, const char *lit, size_t n)
{
	size_t len;

	if (n == 0 || (size_t)(c->e - c->p) < n)
		return NULL;
	len = (size_t)(c->e - c->p) - n + 1;	/* where lit may start */
	while (len > 0) {
		const char *q = rfind_byte(c->p, c->p + len, lit[0]);

		if (q == NULL)
			return NULL;
		if (memcmp(q, lit, n) == 0)
			return q;
		len = (size_t)(q - c->p);
	}
	return NULL;
}

static inline struct po_span
span(const char *p, const char *e)
{
	return (struct po_span){ p, (size_t)(e - p) };
}

/* ---- line parsers ------------------------------------------------------ */

/*
 * "Page allocated via order %u, mask 0x%x" and every later extension:
 * "(%pGg)", ", pid %d", ", tgid %d (%s)", ", ts %llu ns", ", free_ts %llu ns".
 * The prefix is strict; fields a newer kernel may add at the end are
 * tolerated and counted as unknown.
 */
static enum po_malformed
parse_alloc_line(struct cur c, struct po_record *r)
{
	uint64_t v;

	if (!EAT(&c, "Page allocated via order "))
		return PO_BAD_START;
	if (!eat_dec(&c, &v))
		return PO_BAD_ALLOC_LINE;
	if (v > 30)
		return PO_BAD_ORDER;
	r->order = (unsigned)v;
	if (!EAT(&c, ", mask 0x") || !eat_hex(&c, &r->gfp))
		return PO_BAD_ALLOC_LINE;
	if (EAT(&c, "(")) {
		const char *close = find_byte(c.p, c.e, ')');

		if (close == NULL)
			return PO_BAD_ALLOC_LINE;
		r->gfp_names = span(c.p, close);
		r->features |= PO_F_GFP_NAMES;
		c.p = close + 1;
	}
	if (c.p == c.e)
		return PO_BAD_NONE;

	if (EAT(&c, ", pid ")) {
		if (!eat_i32(&c, &r->pid))
			return PO_BAD_ALLOC_LINE;
		r->features |= PO_F_PID;
	}
	if (EAT(&c, ", tgid ")) {
		const char *close;

		if (!eat_i32(&c, &r->tgid) || !EAT(&c, " ("))
			return PO_BAD_ALLOC_LINE;
		/* comm may hold ") " itself: anchor on the last "), ts ". */
		close = rfind(&c, "), ts ", 6);
		if (close == NULL) {
			close = rfind(&c, ")", 1);
			if (close == NULL)
				return PO_BAD_ALLOC_LINE;
		}
		r->comm = span(c.p, close);
		r->features |= PO_F_TGID;
		c.p = close + 1;
	}
	if (EAT(&c, ", ts ")) {
		if (!eat_dec(&c, &r->ts) || !EAT(&c, " ns"))
			return PO_BAD_ALLOC_LINE;
		r->features |= PO_F_TS;
		if (EAT(&c, ", free_ts ")) {
			if (!eat_dec(&c, &r->free_ts) || !EAT(&c, " ns"))
				return PO_BAD_ALLOC_LINE;
			r->features |= PO_F_FREE_TS;
		}
	}
	/*
	 * A field a newer kernel adds comes as ", name value"; anything else
	 * (a stray '\r' of a CRLF file, binary junk) means the line is not
	 * what it seems.
	 */
	if (c.p != c.e) {
		if (!EAT(&c, ", "))
			return PO_BAD_ALLOC_LINE;
		r->unknown_lines++;
	}
	return PO_BAD_NONE;
}

/*
 * v4.6+: "PFN %lu|0x%lx type %s Block %lu type %s Flags 0x%lx(%pGp)"
 * v3.19: "PFN %lu Block %lu type %d %s Flags <12 letter columns>"
 */
static enum po_malformed
parse_pfn_line(struct cur c, struct po_record *r)
{
	const char *q;

	if (!EAT(&c, "PFN "))
		return PO_BAD_PFN_LINE;
	if (EAT(&c, "0x")) {
		if (!eat_hex(&c, &r->pfn))
			return PO_BAD_PFN_LINE;
		r->features |= PO_F_HEX_PFN;
	} else if (!eat_dec(&c, &r->pfn)) {
		return PO_BAD_PFN_LINE;
	}

	if (EAT(&c, " type ")) {
		q = find(&c, " Block ", 7);
		if (q == NULL)
			return PO_BAD_PFN_LINE;
		r->mt = span(c.p, q);
		c.p = q + 7;
		if (!eat_dec(&c, &r->block) || !EAT(&c, " type "))
			return PO_BAD_PFN_LINE;
		q = find(&c, " Flags ", 7);
		if (q == NULL)
			return PO_BAD_PFN_LINE;
		r->block_mt = span(c.p, q);
		c.p = q + 7;
		if (EAT(&c, "0x") && !eat_hex(&c, &r->page_flags))
			return PO_BAD_PFN_LINE;
		if (EAT(&c, "(")) {
			q = rfind(&c, ")", 1);
			if (q == NULL)
				return PO_BAD_PFN_LINE;
			r->flag_names = span(c.p, q);
			/* node=, zone=, lastcpupid=: the only '=' in there */
			if (find_byte(c.p, q, '=') != NULL)
				r->features |= PO_F_FLAG_FIELDS;
		}
		return PO_BAD_NONE;
	}

	if (EAT(&c, " Block ")) {
		if (!eat_dec(&c, &r->block) || !EAT(&c, " type "))
			return PO_BAD_PFN_LINE;
		q = c.p;
		{
			int32_t mt;

			if (!eat_i32(&c, &mt))
				return PO_BAD_PFN_LINE;
		}
		r->block_mt = span(q, c.p);
		while (c.p < c.e && *c.p == ' ')
			c.p++;
		if (EAT(&c, "Fallback"))
			r->fallback = true;
		while (c.p < c.e && *c.p == ' ')
			c.p++;
		if (!EAT(&c, "Flags"))
			return PO_BAD_PFN_LINE;
		(void)EAT(&c, " ");
		r->flag_names = span(c.p, c.e);
		r->features |= PO_F_LEGACY_PFN;
		return PO_BAD_NONE;
	}
	return PO_BAD_PFN_LINE;
}

/*
 * Lines after the frames.  Returns false for a line it does not know, and
 * then leaves the record as it was: a line that only starts like a known
 * one must not set anything.  The exception is "handle: " and a decimal
 * number that is no u32 (nor a %d of one): the key of the record is
 * wrong, so the record is malformed (bad_handle).
 */
static bool
parse_trailer(struct cur c, struct po_record *r)
{
	if (EAT(&c, "Page has been migrated, last migrate reason: ")) {
		r->migrate_reason = span(c.p, c.e);
		r->features |= PO_F_MIGRATE;
		return true;
	}
	if (EAT(&c, "Slab cache page")) {
		if (c.p != c.e)
			return false;
		r->slab = true;
		r->features |= PO_F_SLAB;
		return true;
	}
	if (EAT(&c, "Charged ")) {
		bool objcg = EAT(&c, "(via objcg) "), offline;

		if (!EAT(&c, "to "))
			return false;
		offline = EAT(&c, "offline ");
		if (!EAT(&c, "memcg "))
			return false;
		r->memcg_via_objcg = objcg;
		r->memcg_offline = offline;
		r->memcg = span(c.p, c.e);
		r->features |= PO_F_MEMCG;
		return true;
	}
	if (EAT(&c, "handle: ")) {
		struct cur num = c;

		if (!eat_handle(&c, &r->handle) || c.p != c.e) {
			/* a number, but no u32: the record's key is wrong */
			(void)EAT(&num, "-");
			if (num.p == num.e)
				return false;
			while (num.p < num.e && (unsigned)(*num.p - '0') < 10)
				num.p++;
			if (num.p != num.e)
				return false;
			r->bad_handle = true;
			return true;
		}
		r->has_handle = true;
		r->features |= PO_F_HANDLE;
		return true;
	}
	return false;
}

/*
 * Frames: lines that start with a space.  They must be contiguous; the
 * stack span covers them all with their newlines, which is the exact text
 * that identifies the stack.
 */
static size_t
take_frames(const struct po_line *L, size_t i, size_t n, struct po_record *r)
{
	size_t first = i;

	unsigned nframes = 0;

	while (i < n && L[i].n > 0 && L[i].p[0] == ' ')
		nframes += L[i++].lines;
	if (i > first) {
		const struct po_line *last = &L[i - 1];

		r->stack = span(L[first].p, last->p + last->n + 1);
		r->nframes = nframes;
		if (L[first].n > 2 && L[first].p[1] == '[' && L[first].p[2] == '<')
			r->features |= PO_F_ADDR_FRAMES;
	}
	return i;
}

/*
 * A record before parsing: nothing seen, no pid or tgid.  With 16-byte
 * stores: gcc makes a memset of this size a "rep stos", whose start-up
 * cost was a sixth of parse_lines().
 */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static void
clear_record(struct po_record *r)
{
#ifdef __SSE2__
	char *p = (char *)r;
	size_t i;

	for (i = 0; i + 16 <= sizeof(*r); i += 16)
		_mm_storeu_si128((__m128i *)(void *)(p + i), _mm_setzero_si128());
	if (i < sizeof(*r))
		memset(p + i, 0, sizeof(*r) - i);
#else
	memset(r, 0, sizeof(*r));
#endif
	r->pid = -1;
	r->tgid = -1;
}

enum po_malformed
po_parse_lines(const struct po_line *L, size_t n, struct po_record *r)
{
	enum po_malformed why;
	size_t i;

	clear_record(r);

	if (n == 0)
		return PO_BAD_START;

	if (L[0].p[0] == ' ' || (L[0].n >= 8 && memcmp(L[0].p, "handle: ", 8) == 0)) {
		/* show_stacks, show_handles, show_stacks_handles */
		r->kind = PO_REC_STACK;
		i = take_frames(L, 0, n, r);
		for (; i < n; i++) {
			struct cur c = { L[i].p, L[i].p + L[i].n };
			uint64_t v;

			if (EAT(&c, "nr_base_pages: ")) {
				bool neg = EAT(&c, "-");

				if (!eat_dec(&c, &v) || c.p != c.e || v > INT64_MAX)
					return PO_BAD_STACK_COUNT;
				r->nr_base_pages = neg ? -(int64_t)v : (int64_t)v;
				r->has_nr_pages = true;
				r->features |= PO_F_NR_PAGES;
			} else if (!parse_trailer(c, r)) {
				r->unknown_lines += L[i].lines;	/* a later run of frames: each */
			}
		}
		if (r->bad_handle)
			return PO_BAD_HANDLE;
		if (r->nframes == 0 && !r->has_handle)
			return PO_BAD_NO_STACK;
		/*
		 * Every page_owner_stacks file prints a count or a handle
		 * (section 8); frames alone are the tail of a page record
		 * whose head was cut off.
		 */
		if (!r->has_nr_pages && !r->has_handle)
			return PO_BAD_START;
		return PO_BAD_NONE;
	}

	r->kind = PO_REC_PAGE;
	why = parse_alloc_line((struct cur){ L[0].p, L[0].p + L[0].n }, r);
	if (why != PO_BAD_NONE)
		return why;
	if (n < 2)
		return PO_BAD_PFN_LINE;
	why = parse_pfn_line((struct cur){ L[1].p, L[1].p + L[1].n }, r);
	if (why != PO_BAD_NONE)
		return why;
	i = take_frames(L, 2, n, r);
	for (; i < n; i++)
		if (!parse_trailer((struct cur){ L[i].p, L[i].p + L[i].n }, r))
			r->unknown_lines += L[i].lines;	/* a later run of frames: each */
	if (r->bad_handle)
		return PO_BAD_HANDLE;
	if (r->nframes == 0 && !r->has_handle)
		return PO_BAD_NO_STACK;
	return PO_BAD_NONE;
}


/*
 * Parse one record held whole in (buf, len); the blank line that ends it is
 * optional.  For tests, fuzzing and callers that already split records.
 */
int
po_parse_record(const char *buf, size_t len, struct po_record *r,
    enum po_malformed *ret_why)
{
	struct po_line L[PO_MAX_LINES];	/* the stream parser's limits */
	const char *q = buf, *end = buf + len;
	enum po_malformed why;
	size_t n = 0;

	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		const char *le = nl != NULL ? nl : end;

		if (le == q)
			break;
		if (n == PO_ARRAY_SIZE(L)) {
			why = PO_BAD_TOO_LONG;
			goto bad;
		}
		L[n].p = q;
		L[n].n = (uint32_t)(le - q);
		L[n].lines = 1;
		n++;
		q = nl != NULL ? nl + 1 : end;
		if ((size_t)(q - buf) >= PO_MAX_RECORD) {
			why = PO_BAD_TOO_LONG;
			goto bad;
		}
	}
	/* The stack span includes a '\n' after the last frame: require it. */
	if (n > 0 && L[n - 1].p + L[n - 1].n == end && L[n - 1].p[0] == ' ') {
		why = PO_BAD_TRUNCATED;
		goto bad;
	}
	why = po_parse_lines(L, n, r);
	if (why == PO_BAD_NONE)
		return 0;
bad:
	if (ret_why != NULL)
		*ret_why = why;
	return -EINVAL;
}

const char *
po_malformed_str(enum po_malformed why)
{
	static const char *const names[PO__BAD_MAX] = {
		[PO_BAD_NONE]		= "no error",
		[PO_BAD_START]		= "not the start of a record",
		[PO_BAD_ALLOC_LINE]	= "unparsable 'Page allocated via order' line",
		[PO_BAD_PFN_LINE]	= "missing or unparsable PFN line",
		[PO_BAD_NO_STACK]	= "record without stack frames or handle",
		[PO_BAD_TOO_LONG]	= "record longer than 64 KiB or 512 lines",
		[PO_BAD_TRUNCATED]	= "input ends inside a record",
		[PO_BAD_STACK_COUNT]	= "unparsable nr_base_pages line",
		[PO_BAD_ORDER]		= "allocation order out of range",
		[PO_BAD_HANDLE]		= "unparsable or out-of-range handle line",
	};

	if ((unsigned)why >= PO__BAD_MAX || names[why] == NULL)
		return "unknown error";
	return names[why];
}

void
po_features_str(unsigned features, char *buf, size_t len)
{
	static const char *const names[] = {
		"gfp_names", "pid", "tgid", "ts", "free_ts", "hex_pfn",
		"legacy_pfn", "flag_fields", "addr_frames", "migrate", "slab",
		"memcg", "handle", "nr_base_pages",
	};
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < PO_ARRAY_SIZE(names); i++) {
		int w;

		if (!(features & (1u << i)))
			continue;
		w = snprintf(buf + used, len - used, "%s%s", used ? "," : "",
		    names[i]);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
}

/* The kernel era that prints records of these shapes (section 1). */
const char *
po_era_str(unsigned f)
{
	if (f & PO_F_LEGACY_PFN)
		return "v3.19-v4.5";
	if ((f & (PO_F_NR_PAGES | PO_F_HANDLE)) && !(f & PO_F_GFP_NAMES))
		return "page_owner_stacks";
	if (f & PO_F_TGID) {
		if (f & PO_F_FREE_TS)
			return (f & PO_F_HEX_PFN) ? "v6.5-v6.6" : "v5.18-v6.4";
		return "v6.7+";
	}
	if (f & PO_F_FREE_TS)
		return "v5.14-v5.17";
	if (f & PO_F_TS)
		return "v5.11-v5.13";
	if (f & PO_F_GFP_NAMES)
		return "v4.6-v5.10";
	return "unknown";
}

void
po_stats_add(struct po_parse_stats *to, const struct po_parse_stats *from)
{
	if (to->malformed == 0 && from->malformed > 0) {
		to->first_bad = from->first_bad;
		to->first_bad_offset = from->first_bad_offset;
	}
	to->bytes += from->bytes;
	to->records += from->records;
	to->page_records += from->page_records;
	to->stack_records += from->stack_records;
	to->pages += from->pages;
	to->malformed += from->malformed;
	to->unknown_lines += from->unknown_lines;
	to->pfn_unsorted += from->pfn_unsorted;
	to->features |= from->features;
}
