/*
 * util.c: allocation that cannot fail quietly, spans, hashing, numbers.
 *
 * The x-allocators abort on exhaustion: running out of memory for a few
 * bytes of bookkeeping is not a condition either program can report
 * usefully, and every large allocation is bounded elsewhere.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "po.h"

static void __attribute__((noreturn))
oom(size_t n)
{
	fprintf(stderr, "out of memory allocating %zu bytes\n", n);
	abort();
}

void *
po_xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		oom(n);
	return p;
}

void *
po_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
po_xrealloc(void *p, size_t nmemb, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n))
		oom(SIZE_MAX);
	p = realloc(p, n == 0 ? 1 : n);
	if (p == NULL)
		oom(n);
	return p;
}

/*
 * Grow an array of 64-byte aligned elements (realloc keeps only malloc's
 * alignment): a new block of nmemb, the first used ones copied over.
 */
void *
po_xrealloc_aligned(void *p, size_t used, size_t nmemb, size_t size)
{
	void *q;
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n))
		oom(SIZE_MAX);
	if (posix_memalign(&q, 64, n == 0 ? 64 : n) != 0)
		oom(n);
	if (used > 0)
		memcpy(q, p, used * size);
	free(p);
	return q;
}

char *
po_xstrdup(const char *s)
{
	return po_xstrndup(s, strlen(s));
}

char *
po_xstrndup(const char *s, size_t n)
{
	char *p = po_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int
po_asprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return n;
}

bool
po_span_eq(struct po_span a, const char *s)
{
	size_t n = strlen(s);

	return a.n == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

char *
po_span_dup(struct po_span a)
{
	return po_xstrndup(a.n ? a.p : "", a.n);
}

/* BSD strlcpy: always terminates, returns strlen(src). */
size_t
po_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

uint64_t
po_hash(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}

/* 128 bits: the low half is the id, the high half makes a match certain. */
uint64_t
po_hash128(const void *p, size_t n, uint64_t *ret_high)
{
	XXH128_hash_t h = XXH3_128bits(p, n);

	*ret_high = h.high64;
	return h.low64;
}

/* A stack's identity: the 128-bit hash of its frame lines as printed. */
uint64_t
po_stack_hash(struct po_span stack, uint64_t *ret_high)
{
	return po_hash128(stack.p, stack.n, ret_high);
}

/* needle in a short haystack: memchr on its first byte beats memmem here */
bool
po_contains(struct po_span hay, const char *needle, size_t n)
{
	const char *q = hay.p, *end = hay.p + hay.n;

	if (n == 0)
		return true;
	while ((size_t)(end - q) >= n) {
		q = memchr(q, needle[0], (size_t)(end - q) - n + 1);
		if (q == NULL)
			return false;
		if (memcmp(q, needle, n) == 0)
			return true;
		q++;
	}
	return false;
}

uint64_t
po_hash_seeded(const void *p, size_t n, uint64_t seed)
{
	return XXH3_64bits_withSeed(p, n, seed);
}

/* "12.3 MiB": binary units, at most one decimal, never "1024 KiB". */
void
po_human_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1023.95 && u + 1 < PO_ARRAY_SIZE(units)) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else if (v < 100.0)
		snprintf(buf, len, "%.1f %s", v, units[u]);
	else
		snprintf(buf, len, "%.0f %s", v, units[u]);
}

/* A whole string of decimal digits, no sign, no junk, no overflow. */
int
po_parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (d > 9)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

double
po_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
po_now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Text from a dump is bytes: a task can name itself anything but NUL, and
 * a damaged dump holds anything at all.  JSON needs well-formed UTF-8
 * (jansson refuses the rest, and a field or a whole reply would vanish)
 * and a terminal must not be sent control sequences.
 */

/* Length of the well-formed UTF-8 sequence at p (at most avail bytes), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 :
	    c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;

	if (n == 0 || n > avail)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, surrogates, and past U+10FFFF */
	if (n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f)))
		return 0;
	if (n == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f)))
		return 0;
	return n;
}

bool
po_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	while (p < e) {
		size_t k;

		if (*p < 0x80) {	/* the common case */
			p++;
			continue;
		}
		if ((k = utf8_seq(p, (size_t)(e - p))) == 0)
			return false;
		p += k;
	}
	return true;
}

/* Replace each byte of s[0, n) that is not part of well-formed UTF-8 with '?'. */
void
po_utf8_scrub(char *s, size_t n)
{
	unsigned char *p = (unsigned char *)s, *e = p + n;

	while (p < e) {
		size_t k = utf8_seq(p, (size_t)(e - p));

		if (k == 0) {
			*p++ = '?';
			continue;
		}
		p += k;
	}
}

/* A copy of [s, s+n) as well-formed UTF-8 (see po_utf8_scrub), NUL-terminated. */
char *
po_utf8_dup(const char *s, size_t n)
{
	char *d = po_xstrndup(s, n);	/* NUL bytes and all */

	po_utf8_scrub(d, n);
	return d;
}
