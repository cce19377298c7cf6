/*
 * fuzz-when.c: libFuzzer target for the time, duration and size parsers
 * of lib/when.c (po_when_parse, po_duration_parse, po_size_parse): what
 * people type after --since, --until, interval = and max_db_size =.
 *
 * The input, up to its first NUL, is one expression given to all three.
 * Oracles, each an abort():
 *  - each returns 0 or a negative errno; po_when_parse fills *cause
 *    exactly when it fails;
 *  - a time is finite; a snapshot id is positive; "now" is the given now;
 *  - a duration is finite, at least 0 and at most 100 years, and "-D"
 *    (when it fits) is now minus that duration, "+D" now plus it;
 *  - a size of plain digits is their decimal value;
 *  - an ISO-8601 time printed back by po_time_str reads as the same
 *    second (when the year printed is one the parser takes).
 */
// fuzz-sources: lib/*.c
// fuzz-pkgs: libxxhash
// fuzz-seeds: tests/fuzz/seeds/when
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "po.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do {							\
		if (!(x)) {						\
			fprintf(stderr, "fuzz-when: %s:%d: %s\n",	\
			    __FILE__, __LINE__, #x);			\
			abort();					\
		}							\
	} while (0)

#define NOW		1764000000.25	/* a fixed "now", with a fraction */
#define MAX_SECONDS	(100.0 * 365 * 86400)

static void
check_when(const char *s)
{
	struct po_when w;
	char *cause = NULL;
	int r;

	memset(&w, 0x5a, sizeof(w));
	r = po_when_parse(s, NOW, &w, &cause);
	CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		CHECK(cause != NULL && strlen(cause) > 0);
		free(cause);
		return;
	}
	CHECK(cause == NULL);
	switch (w.kind) {
	case PO_WHEN_NOW:
		CHECK(strcmp(s, "now") == 0 && w.time == NOW);
		break;
	case PO_WHEN_SNAPSHOT:
		CHECK(w.snapshot > 0);
		break;
	case PO_WHEN_TIME:
		CHECK(isfinite(w.time));
		break;
	default:
		CHECK(!"unknown kind");
	}
	/* ISO-8601 with a zone: printed back, it reads as the same second */
	if (w.kind == PO_WHEN_TIME && s[0] >= '0' && s[0] <= '9' && w.time >= 0) {
		char back[64];
		struct po_when w2;

		po_time_str(w.time, back, sizeof(back));
		/* "YYYY-...Z": a year the parser takes (not "@-123", "10000-") */
		if (strlen(back) == 20 && strspn(back, "0123456789") == 4 &&
		    strncmp(back, "1970", 4) >= 0) {
			CHECK(po_when_parse(back, NOW, &w2, &cause) == 0);
			CHECK(w2.kind == PO_WHEN_TIME);
			CHECK(w2.time == floor(w.time));
		}
	}
}

static void
check_duration(const char *s)
{
	double d = -1;
	int r = po_duration_parse(s, &d);

	CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r < 0)
		return;
	CHECK(isfinite(d) && d >= 0 && d <= MAX_SECONDS);
	/* "-D" and "+D" are relative times, when short enough */
	if (strlen(s) < 64) {
		char rel[80];
		struct po_when w;
		char *cause = NULL;

		snprintf(rel, sizeof(rel), "-%s", s);
		CHECK(po_when_parse(rel, NOW, &w, &cause) == 0);
		CHECK(w.kind == PO_WHEN_TIME && w.time == NOW - d);
		snprintf(rel, sizeof(rel), "+%s", s);
		CHECK(po_when_parse(rel, NOW, &w, &cause) == 0);
		CHECK(w.kind == PO_WHEN_TIME && w.time == NOW + d);
	}
}

static void
check_size(const char *s)
{
	uint64_t v = 0;
	int r = po_size_parse(s, &v);
	size_t n = strlen(s);

	CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (n > 0 && n <= 19 && strspn(s, "0123456789") == n) {
		/* at most 19 digits always fit in 64 bits */
		CHECK(r == 0);
		CHECK(v == strtoull(s, NULL, 10));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > 256)
		return 0;
	s = malloc(size + 1);
	CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	check_when(s);
	check_duration(s);
	check_size(s);
	free(s);
	return 0;
}
