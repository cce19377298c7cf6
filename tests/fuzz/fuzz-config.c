/*
 * fuzz-config.c: libFuzzer target for the daemon's config file parser,
 * config_parse(buf, len) in daemon/config.c, on arbitrary bytes.
 *
 * Oracles, each an abort():
 *  - it never crashes, and returns 0 or a negative errno; on failure the
 *    cause names the file ("fuzz.conf") and the settings can still be
 *    freed;
 *  - a successful parse leaves every value within its documented range
 *    (the ranges config_set enforces, repeated here on purpose: a change
 *    to one without the other is a finding) and every string non-empty,
 *    shorter than 4096 bytes, without NUL or newline;
 *  - parsing the same text twice gives the same settings.
 */
// fuzz-sources: lib/*.c daemon/config.c daemon/log.c
// fuzz-pkgs: libxxhash jansson sqlite3 libsystemd
// fuzz-seeds: tests/fuzz/seeds/config
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/page-ownerd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do {							\
		if (!(x)) {						\
			fprintf(stderr, "fuzz-config: %s:%d: %s\n",	\
			    __FILE__, __LINE__, #x);			\
			abort();					\
		}							\
	} while (0)

#define DAY	86400.0

static void
check_str(const char *s)
{
	size_t n;

	CHECK(s != NULL);
	n = strlen(s);
	CHECK(n > 0 && n < 4096);
	CHECK(memchr(s, '\n', n) == NULL);
}

static void
check_ranges(const struct config *c)
{
	check_str(c->source);
	check_str(c->db);
	check_str(c->socket);
	check_str(c->group);
	CHECK(c->interval >= 1 && c->interval <= DAY);
	CHECK(c->read_timeout >= 1 && c->read_timeout <= 3600);
	CHECK(c->keep_full >= 3600 && c->keep_full <= 3650 * DAY);
	CHECK(c->keep_hourly >= 3600 && c->keep_hourly <= 3650 * DAY);
	CHECK(c->log_level >= LOG_ERR && c->log_level <= LOG_DEBUG);
	CHECK(c->mode == MODE_FULL || c->mode == MODE_STACKS || c->mode == MODE_AUTO ||
	    c->mode == MODE_SWEEP);
	CHECK(c->window >= (UINT64_C(1) << 20) && c->window <= (UINT64_C(1) << 50));
	CHECK(c->sweep_windows <= 1000000);
	CHECK(c->readers >= 1 && c->readers <= 64);
	CHECK(c->max_combos >= 1000 && c->max_combos <= 100000000);
	CHECK(c->full_every >= 1 && c->full_every <= 100000);
	CHECK(c->max_stacks >= 100 && c->max_stacks <= 100000000);
	CHECK(c->max_series >= 100 && c->max_series <= 200000000);
	CHECK(isfinite(c->cpu_budget) && c->cpu_budget > 0 && c->cpu_budget <= 1);
	CHECK(isfinite(c->read_pace) && c->read_pace > 0 && c->read_pace <= 1);
	CHECK(isfinite(c->sample) && c->sample >= 0 && c->sample <= 1);
	CHECK(c->max_db_size == 0 || c->max_db_size >= (UINT64_C(1) << 20));
	CHECK(c->metrics_listen == NULL ||
	    (strchr(c->metrics_listen, ':') != NULL && strlen(c->metrics_listen) <= 100));
}

static bool
same(const struct config *a, const struct config *b)
{
	return strcmp(a->source, b->source) == 0 && strcmp(a->db, b->db) == 0 &&
	    strcmp(a->socket, b->socket) == 0 && strcmp(a->group, b->group) == 0 &&
	    a->interval == b->interval && a->read_timeout == b->read_timeout &&
	    a->keep_full == b->keep_full && a->keep_hourly == b->keep_hourly &&
	    a->log_level == b->log_level && a->mode == b->mode &&
	    a->full_every == b->full_every && a->max_stacks == b->max_stacks &&
	    a->max_series == b->max_series && a->cpu_budget == b->cpu_budget &&
	    a->read_pace == b->read_pace && a->sample == b->sample &&
	    a->max_db_size == b->max_db_size &&
	    (a->metrics_listen == NULL) == (b->metrics_listen == NULL) &&
	    (a->metrics_listen == NULL || strcmp(a->metrics_listen, b->metrics_listen) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config a, b;
	char *cause = NULL;
	int r, r2;

	config_defaults(&a);
	r = config_parse(&a, (const char *)data, size, "fuzz.conf", &cause);
	CHECK(r == 0 || r == -EINVAL || r == -EFBIG);
	if (r < 0) {
		CHECK(cause != NULL);
		CHECK(strncmp(cause, "fuzz.conf", 9) == 0);
		free(cause);
		config_free(&a);
		return 0;
	}
	CHECK(cause == NULL);
	check_ranges(&a);

	config_defaults(&b);
	r2 = config_parse(&b, (const char *)data, size, "fuzz.conf", &cause);
	CHECK(r2 == 0 && cause == NULL);
	CHECK(same(&a, &b));

	/* a copy is the same settings, and frees on its own */
	{
		struct config c;

		config_copy(&c, &a);
		CHECK(same(&a, &c));
		config_free(&c);
	}
	config_free(&a);
	config_free(&b);
	return 0;
}
