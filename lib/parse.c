/*
 * parse.c: the streaming parser for page_owner text.
 *
 * Input arrives as (buf, len) slices of any size; a record may straddle two
 * slices.  Complete records are parsed in place; only the unfinished tail of
 * a slice is copied into a bounded carry buffer.  Memory is constant: one
 * carry buffer of PO_MAX_RECORD bytes and one line table, allocated once.
 *
 * Here records are cut out of the stream (a blank line ends one; frame
 * runs are found 16 or 32 bytes at a time) and handed to parse-record.c.
 * One parser reads both the page_owner file and the page_owner_stacks/
 * files (show_stacks, show_handles, show_stacks_handles).
 */
#include <errno.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 5)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1	/* frames_end_avx2(), chosen at run time */
#endif

#include "parse-internal.h"

struct po_parser {
	char		*carry;		/* unfinished record from an earlier slice */
	size_t		 carry_len;	/* bytes in carry */
	uint64_t	 carry_off;	/* input offset of carry[0] */
	bool		 skipping;	/* inside an over-long record: drop to blank line */
	bool		 prev_nl;	/* last byte fed was '\n' */
	bool		 avx2;		/* frames scanned 32 bytes at a time */
	uint64_t	 offset;	/* input offset of the next slice */
	uint64_t	 last_pfn;	/* PFN of the previous page record */
	bool		 have_pfn;	/* last_pfn is set */
	struct po_parse_stats st;	/* running statistics */
	struct po_record rec;		/* the record handed to callbacks */
	struct po_record batch[PO_BATCH]; /* records for a batch callback */
	size_t		 nbatch;	/* records waiting in batch */
	struct po_line	 lines[PO_MAX_LINES]; /* lines of the current record */
};

/* ---- record splitting --------------------------------------------------- */

enum scan_result { SCAN_INCOMPLETE, SCAN_COMPLETE };

static inline unsigned
count_bits(unsigned v)
{
	v = v - ((v >> 1) & 0x55555555u);
	v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
	return (((v + (v >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24;
}

#ifdef __SSE2__
/* The sum of the 16 byte lanes of v. */
static inline unsigned
lane_sum(__m128i v)
{
	__m128i s = _mm_sad_epu8(v, _mm_setzero_si128());

	return (unsigned)(_mm_cvtsi128_si32(s) + _mm_extract_epi16(s, 4));
}
#endif

/*
 * q starts a frame line: find the end of its run of frame lines, the first
 * '\n' not followed by a space, and count the run's lines.  NULL when the
 * slice ends first (the byte after a '\n' decides).  Frames are most of a
 * dump's bytes: 16 at a time here, instead of a memchr() call per line.
 */
static const char *
frames_end(const char *q, const char *end, uint32_t lines, uint32_t *ret_lines)
{
#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n'), sp = _mm_set1_epi8(' ');
	__m128i acc = _mm_setzero_si128();	/* newlines per byte lane */
	unsigned rounds = 0;

	while (end - q >= 17) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)q);
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(q + 1));
		__m128i isnl = _mm_cmpeq_epi8(a, nl);
		unsigned mn = (unsigned)_mm_movemask_epi8(isnl);
		unsigned ms = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, sp));
		unsigned m = mn & ~ms;

		if (m != 0) {
			unsigned k = (unsigned)__builtin_ctz(m);

			*ret_lines = lines + lane_sum(acc) +
			    count_bits(mn & ((1u << k) - 1)) + 1;
			return q + k;
		}
		acc = _mm_sub_epi8(acc, isnl);	/* a match is -1 */
		if (++rounds == 255) {		/* before a lane can wrap */
			lines += lane_sum(acc);
			acc = _mm_setzero_si128();
			rounds = 0;
		}
		q += 16;
	}
	lines += lane_sum(acc);
#endif
	for (; q < end; q++) {
		if (*q != '\n')
			continue;
		lines++;
		if (q + 1 == end)
			return NULL;
		if (q[1] != ' ') {
			*ret_lines = lines;
			return q;
		}
	}
	return NULL;
}

#ifdef HAVE_AVX2_PATH

/* The sum of the 32 byte lanes of v. */
__attribute__((target("avx2")))
static inline uint32_t
lane_sum256(__m256i v)
{
	__m256i sad = _mm256_sad_epu8(v, _mm256_setzero_si256());

	return (uint32_t)(_mm256_extract_epi64(sad, 0) + _mm256_extract_epi64(sad, 1) +
	    _mm256_extract_epi64(sad, 2) + _mm256_extract_epi64(sad, 3));
}

/* frames_end() 32 bytes at a time, on CPUs that have AVX2 (most x86-64). */
__attribute__((target("avx2")))
static const char *
frames_end_avx2(const char *q, const char *end, uint32_t *ret_lines)
{
	const __m256i nl = _mm256_set1_epi8('\n'), sp = _mm256_set1_epi8(' ');
	__m256i acc = _mm256_setzero_si256();	/* newlines per byte lane */
	uint32_t lines = 0;
	unsigned rounds = 0;

	while (end - q >= 33) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)q);
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(q + 1));
		__m256i isnl = _mm256_cmpeq_epi8(a, nl);
		unsigned mn = (unsigned)_mm256_movemask_epi8(isnl);
		unsigned ms = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, sp));
		unsigned m = mn & ~ms;

		if (m != 0) {
			unsigned k = (unsigned)__builtin_ctz(m);

			/* the newlines before k, and the one at k */
			*ret_lines = lines + lane_sum256(acc) +
			    count_bits(mn & ((2u << k) - 1));
			return q + k;
		}
		acc = _mm256_sub_epi8(acc, isnl);	/* a match is -1 */
		if (++rounds == 255) {		/* before a lane can wrap */
			lines += lane_sum256(acc);
			acc = _mm256_setzero_si256();
			rounds = 0;
		}
		q += 32;
	}
	return frames_end(q, end, lines + lane_sum256(acc), ret_lines);
}

/* AVX2 unless the CPU lacks it or PO_PARSE_NO_AVX2 is set (for the tests). */
static bool
use_avx2(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && getenv("PO_PARSE_NO_AVX2") == NULL;
}
#else
static bool
use_avx2(void)
{
	return false;
}
#endif


/*
 * Collect the lines of the record starting at s (a non-empty line) up to
 * its blank line.  *ret_next is set past the blank line.  More lines than
 * the table holds, or more bytes than a record may have, mark it too long
 * (the scan still runs to the blank line so that parsing resynchronises).
 */
static enum scan_result
scan_record(struct po_line *L, const char *s, const char *end, bool avx2,
    size_t *ret_n, const char **ret_next, bool *ret_too_long)
{
	const char *q = s;
	size_t n = 0, lines = 0;

	*ret_too_long = false;
	for (;;) {
		const char *nl;
		uint32_t k = 1;

		if (q == end)
			return SCAN_INCOMPLETE;
		if (*q == ' ')
#ifdef HAVE_AVX2_PATH
			nl = avx2 ? frames_end_avx2(q, end, &k) :
			    frames_end(q, end, 0, &k);
#else
			(void)avx2;
			nl = frames_end(q, end, 0, &k);
#endif
		else
			nl = find_byte(q, end, '\n');
		if (nl == NULL)
			return SCAN_INCOMPLETE;
		if (nl == q) {
			*ret_n = n;
			*ret_next = nl + 1;
			return SCAN_COMPLETE;
		}
		lines += k;
		if (lines <= PO_MAX_LINES) {
			L[n].p = q;
			L[n].n = (uint32_t)(nl - q);
			L[n].lines = k;
			n++;
		} else {
			*ret_too_long = true;
		}
		q = nl + 1;
		/*
		 * With its blank line the record needs q - s + 1 bytes: the
		 * same limit the carry buffer puts on a record that straddles
		 * two slices, so that slicing never changes the verdict.
		 */
		if ((size_t)(q - s) >= PO_MAX_RECORD)
			*ret_too_long = true;
	}
}

static void
note_bad(struct po_parser *p, enum po_malformed why, uint64_t off)
{
	if (p->st.malformed++ == 0) {
		p->st.first_bad = why;
		p->st.first_bad_offset = off;
	}
}

/* Where good records go: one at a time, or in batches. */
struct sink {
	po_record_fn	 fn;
	po_batch_fn	 bfn;
	void		*userdata;
};

/* Hand the waiting batch over (its records point into the current slice). */
static int
flush(struct po_parser *p, const struct sink *k)
{
	size_t n = p->nbatch;

	p->nbatch = 0;
	return n > 0 ? k->bfn(p->batch, n, k->userdata) : 0;
}

static int
emit(struct po_parser *p, size_t n, uint64_t off, bool too_long,
    const struct sink *k)
{
	struct po_record *r = k->bfn != NULL ? &p->batch[p->nbatch] : &p->rec;
	enum po_malformed why;

	if (too_long) {
		note_bad(p, PO_BAD_TOO_LONG, off);
		return 0;
	}
	why = po_parse_lines(p->lines, n, r);
	if (why != PO_BAD_NONE) {
		note_bad(p, why, off);
		return 0;
	}
	r->offset = off;
	p->st.records++;
	p->st.unknown_lines += r->unknown_lines;
	p->st.features |= r->features;
	if (r->kind == PO_REC_PAGE) {
		p->st.page_records++;
		p->st.pages += UINT64_C(1) << r->order;
		if (p->have_pfn && r->pfn < p->last_pfn)
			p->st.pfn_unsorted++;
		p->last_pfn = r->pfn;
		p->have_pfn = true;
	} else {
		p->st.stack_records++;
		/* a stacks file's pages are its nr_base_pages */
		if (r->has_nr_pages && r->nr_base_pages > 0)
			p->st.pages += (uint64_t)r->nr_base_pages;
	}
	if (k->bfn != NULL)
		return ++p->nbatch == PO_BATCH ? flush(p, k) : 0;
	return k->fn != NULL ? k->fn(r, k->userdata) : 0;
}

/*
 * Find the end of a record that began in an earlier slice: the byte after
 * the '\n' of its blank line, or NULL.  prev_nl carries a "\n" that ended
 * the previous slice.
 */
static const char *
find_terminator(struct po_parser *p, const char *s, const char *end)
{
	if (s == end)
		return NULL;
	if (p->prev_nl && *s == '\n')
		return s + 1;
	for (;;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));

		if (nl == NULL) {
			p->prev_nl = false;
			return NULL;
		}
		if (nl + 1 == end) {
			p->prev_nl = true;
			return NULL;
		}
		if (nl[1] == '\n')
			return nl + 2;
		s = nl + 1;
	}
}

static void
carry_append(struct po_parser *p, const char *s, size_t n)
{
	if (p->skipping)
		return;
	if (n > PO_MAX_RECORD - p->carry_len) {
		note_bad(p, PO_BAD_TOO_LONG, p->carry_off);
		p->carry_len = 0;
		p->skipping = true;
		return;
	}
	memcpy(p->carry + p->carry_len, s, n);
	p->carry_len += n;
}

int
po_parser_new(struct po_parser **ret)
{
	struct po_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	p->carry = malloc(PO_MAX_RECORD);
	if (p->carry == NULL) {
		free(p);
		return -ENOMEM;
	}
	p->avx2 = use_avx2();
	*ret = p;
	return 0;
}

void
po_parser_free(struct po_parser *p)
{
	if (p == NULL)
		return;
	free(p->carry);
	free(p);
}

void
po_parser_reset(struct po_parser *p)
{
	char *carry = p->carry;
	bool avx2 = p->avx2;

	memset(p, 0, offsetof(struct po_parser, rec));
	p->carry = carry;
	p->avx2 = avx2;
}

/*
 * The input begins offset bytes into a file (a thread's part of it): record
 * and malformed offsets count from the file's start.  Before any feed.
 */
void
po_parser_start_at(struct po_parser *p, uint64_t offset)
{
	p->offset = offset;
}

/*
 * The slice's records are all handed over before it returns: a batch never
 * holds a record past the slice (or the carry buffer) it points into.
 */
static int
feed(struct po_parser *p, const char *buf, size_t len, const struct sink *k)
{
	const char *s = buf, *end = buf + len;
	uint64_t base = p->offset;
	int r = 0;

	p->st.bytes += len;
	p->offset += len;
	if (len == 0)
		return 0;

	if (p->skipping || p->carry_len > 0) {
		const char *t;

		if (!p->skipping)
			p->prev_nl = p->carry[p->carry_len - 1] == '\n';
		t = find_terminator(p, s, end);
		if (t == NULL) {
			carry_append(p, s, len);
			return 0;
		}
		carry_append(p, s, (size_t)(t - s));
		if (p->skipping) {
			p->skipping = false;
		} else {
			size_t n;
			const char *next;
			bool too_long;

			if (scan_record(p->lines, p->carry, p->carry + p->carry_len,
			    p->avx2, &n, &next, &too_long) == SCAN_COMPLETE)
				r = emit(p, n, p->carry_off, too_long, k);
			else
				note_bad(p, PO_BAD_TRUNCATED, p->carry_off);
		}
		p->carry_len = 0;
		s = t;
		if (r != 0)
			return r;
	}

	while (s < end) {
		const char *next;
		size_t n;
		bool too_long;

		if (*s == '\n') {
			s++;
			continue;
		}
		if (scan_record(p->lines, s, end, p->avx2, &n, &next, &too_long) ==
		    SCAN_INCOMPLETE) {
			if (k->bfn != NULL && (r = flush(p, k)) != 0)
				return r;	/* before the carry is overwritten */
			p->carry_off = base + (uint64_t)(s - buf);
			p->prev_nl = end[-1] == '\n';
			carry_append(p, s, (size_t)(end - s));
			break;
		}
		r = emit(p, n, base + (uint64_t)(s - buf), too_long, k);
		s = next;
		if (r != 0)
			return r;
	}
	return k->bfn != NULL ? flush(p, k) : 0;
}

int
po_parser_feed(struct po_parser *p, const char *buf, size_t len,
    po_record_fn fn, void *userdata)
{
	const struct sink k = { fn, NULL, userdata };

	return feed(p, buf, len, &k);
}

/*
 * As po_parser_feed(), with the records handed over up to PO_BATCH at a
 * time, in order: a consumer can then look up what it needs for several
 * records at once (the misses overlap) before it counts any of them.
 */
int
po_parser_feed_batch(struct po_parser *p, const char *buf, size_t len,
    po_batch_fn fn, void *userdata)
{
	const struct sink k = { NULL, fn, userdata };

	return feed(p, buf, len, &k);
}



/* End of input: a record without its blank line was cut short. */
int
po_parser_finish(struct po_parser *p, po_record_fn fn, void *userdata)
{
	(void)fn;
	(void)userdata;
	if (p->carry_len > 0 || p->skipping) {
		if (!p->skipping)
			note_bad(p, PO_BAD_TRUNCATED, p->carry_off);
		p->carry_len = 0;
		p->skipping = false;
	}
	return 0;
}

const struct po_parse_stats *
po_parser_stats(const struct po_parser *p)
{
	return &p->st;
}