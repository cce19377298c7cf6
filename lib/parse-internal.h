/*
 * parse-internal.h: what the two halves of the parser share: the stream
 * (parse.c: records cut out of slices) and the records (parse-record.c:
 * the lines of one record into a struct po_record).  Not installed.
 */
#ifndef PO_PARSE_INTERNAL_H
#define PO_PARSE_INTERNAL_H

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "po.h"

/*
 * A line of a record, or a run of frame lines (lines that start with a
 * space) held as one entry: p is its first byte, p + n its last '\n'.
 */
struct po_line {
	const char	*p;	/* first byte of the line */
	uint32_t	 n;	/* length without the (last) '\n' */
	uint32_t	 lines;	/* lines it holds: 1, or a run's frame lines */
};

/*
 * The first (last) byte ch in [q, end), or NULL: inline, 16 bytes at a
 * time, for haystacks of tens of bytes, where a call to memchr (memrchr)
 * costs more than the search.
 */
static inline const char *
find_byte(const char *q, const char *end, char ch)
{
#ifdef __SSE2__
	const __m128i v = _mm_set1_epi8(ch);

	while (end - q >= 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_loadu_si128((const __m128i *)(const void *)q), v));

		if (m != 0)
			return q + __builtin_ctz(m);
		q += 16;
	}
#endif
	for (; q < end; q++)
		if (*q == ch)
			return q;
	return NULL;
}


/* The record's lines (a run of frames as one entry) into r. */
enum po_malformed po_parse_lines(const struct po_line *L, size_t n, struct po_record *r);

#endif
