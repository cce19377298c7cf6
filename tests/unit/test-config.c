/*
 * test-config.c: the daemon's settings (daemon/config.c), checked against
 * page-ownerd.conf(5): the defaults, every key's accepted values, range and
 * refusal (an error naming the file, the line and the key), comments,
 * blanks, spaces and quotes, the last of a key given twice, the size cap,
 * and config_copy/config_free.  The shipped etc/page-ownerd.conf, with
 * every setting uncommented, must give the defaults: it says it shows them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tu.h"
#include "page-ownerd.h"

#define DAY 86400.0

/* The defaults as page-ownerd.conf(5) states them. */
static void
check_defaults(const struct config *c)
{
	assert_string_equal(c->source, "/sys/kernel/debug/page_owner");
	assert_string_equal(c->db, "/var/lib/page-ownerd/page-ownerd.db");
	assert_string_equal(c->socket, "/run/page-ownerd/page-ownerd.sock");
	assert_string_equal(c->group, "page-ownerd");
	assert_true(c->interval == 60);
	assert_int_equal(c->mode, MODE_AUTO);
	assert_int_equal(c->full_every, 10);
	assert_int_equal(c->full_trigger, 2560);
	assert_true(c->cpu_budget == 0.02);
	assert_true(c->read_pace == 0.5);
	assert_true(c->sample == 0);
	assert_true(c->read_timeout == 30);
	assert_true(c->keep_full == 7 * DAY);
	assert_true(c->keep_hourly == 90 * DAY);
	assert_true(c->max_db_size == UINT64_C(1) << 30);
	assert_int_equal(c->max_stacks, 1000000);
	assert_int_equal(c->max_series, 2000000);
	assert_int_equal(c->log_level, LOG_INFO);
}

static void
test_defaults(void **state)
{
	struct config c;

	(void)state;
	config_defaults(&c);
	check_defaults(&c);
	assert_null(c.path);
	assert_string_equal(config_mode_name(MODE_FULL), "full");
	assert_string_equal(config_mode_name(MODE_STACKS), "stacks");
	assert_string_equal(config_mode_name(MODE_AUTO), "auto");
	config_free(&c);
	config_free(&c);	/* a freed config is empty: twice is harmless */
}

/* Parse text; returns config_parse's result, the cause in *cause. */
static int
parse(struct config *c, const char *text, char **cause)
{
	*cause = NULL;
	return config_parse(c, text, strlen(text), "test.conf", cause);
}

/* One line that must be refused, naming the file, line and needle. */
static void
refused(const char *text, unsigned line, const char *needle)
{
	struct config c;
	char *cause = NULL, prefix[64];
	int r;

	config_defaults(&c);
	r = parse(&c, text, &cause);
	if (r != -EINVAL)
		fail_msg("'%s': config_parse gave %d, want -EINVAL", text, r);
	assert_non_null(cause);
	snprintf(prefix, sizeof(prefix), "test.conf:%u: ", line);
	if (strncmp(cause, prefix, strlen(prefix)) != 0)
		fail_msg("'%s': cause '%s' does not start with '%s'", text, cause,
		    prefix);
	if (needle != NULL && strstr(cause, needle) == NULL)
		fail_msg("'%s': cause '%s' does not say '%s'", text, cause, needle);
	free(cause);
	config_free(&c);
}

struct good {
	const char	*line;
	void		(*check)(const struct config *c, const void *want);
	const void	*want;
};

static void
want_source(const struct config *c, const void *w) { assert_string_equal(c->source, w); }
static void
want_db(const struct config *c, const void *w) { assert_string_equal(c->db, w); }
static void
want_socket(const struct config *c, const void *w) { assert_string_equal(c->socket, w); }
static void
want_group(const struct config *c, const void *w) { assert_string_equal(c->group, w); }
static void
want_interval(const struct config *c, const void *w) { assert_true(c->interval == *(const double *)w); }
static void
want_read_timeout(const struct config *c, const void *w) { assert_true(c->read_timeout == *(const double *)w); }
static void
want_keep_full(const struct config *c, const void *w) { assert_true(c->keep_full == *(const double *)w); }
static void
want_keep_hourly(const struct config *c, const void *w) { assert_true(c->keep_hourly == *(const double *)w); }
static void
want_cpu_budget(const struct config *c, const void *w) { assert_true(c->cpu_budget == *(const double *)w); }
static void
want_read_pace(const struct config *c, const void *w) { assert_true(c->read_pace == *(const double *)w); }
static void
want_mode(const struct config *c, const void *w) { assert_int_equal(c->mode, *(const int *)w); }
static void
want_level(const struct config *c, const void *w) { assert_int_equal(c->log_level, *(const int *)w); }
static void
want_full_every(const struct config *c, const void *w) { assert_int_equal(c->full_every, *(const uint32_t *)w); }
static void
want_full_trigger(const struct config *c, const void *w) { assert_int_equal(c->full_trigger, *(const uint32_t *)w); }
static void
want_max_stacks(const struct config *c, const void *w) { assert_int_equal(c->max_stacks, *(const uint32_t *)w); }
static void
want_max_series(const struct config *c, const void *w) { assert_int_equal(c->max_series, *(const uint32_t *)w); }
static void
want_listen(const struct config *c, const void *w)
{
	if (w == NULL)
		assert_null(c->metrics_listen);
	else
		assert_string_equal(c->metrics_listen, (const char *)w);
}
static void
want_window(const struct config *c, const void *w) { assert_true(c->window == *(const uint64_t *)w); }
static void
want_sweep_windows(const struct config *c, const void *w) { assert_int_equal(c->sweep_windows, *(const uint32_t *)w); }
static void
want_readers(const struct config *c, const void *w) { assert_int_equal(c->readers, *(const uint32_t *)w); }
static void
want_max_combos(const struct config *c, const void *w) { assert_int_equal(c->max_combos, *(const uint32_t *)w); }
static void
want_sample(const struct config *c, const void *w) { assert_true(c->sample == *(const double *)w); }
static void
want_max_db(const struct config *c, const void *w) { assert_true(c->max_db_size == *(const uint64_t *)w); }

static const double d1 = 1, d90 = 90, d5400 = 5400, dday = DAY, d3600 = 3600,
	d7d = 7 * DAY, d3650d = 3650 * DAY, d2w = 14 * DAY;
static const double p2 = 0.02, p100 = 1.0, p50 = 0.5, p_small = 0.001, p0 = 0, p25 = 0.25;
static const int m_full = MODE_FULL, m_stacks = MODE_STACKS, m_auto = MODE_AUTO, m_sweep = MODE_SWEEP;
static const int l_err = LOG_ERR, l_warn = LOG_WARNING, l_notice = LOG_NOTICE,
	l_info = LOG_INFO, l_debug = LOG_DEBUG;
static const uint32_t u1 = 1, u100 = 100, u100k = 100000, u_max = UINT32_MAX,
	u100m = 100000000, u200m = 200000000, u0 = 0, u2 = 2, u64 = 64,
	u1000 = 1000, u1m = 1000000;
static const uint64_t s0 = 0, s1m = UINT64_C(1) << 20, s4g = UINT64_C(4) << 30,
	s512m = UINT64_C(512) << 20, s1g = UINT64_C(1) << 30, s2t = UINT64_C(2) << 40;

static const struct good goods[] = {
	{ "source = /tmp/dump", want_source, "/tmp/dump" },
	{ "source=/a b c", want_source, "/a b c" },
	{ "database = /tmp/x.db", want_db, "/tmp/x.db" },
	{ "db = /tmp/y.db", want_db, "/tmp/y.db" },
	{ "socket = /run/x.sock", want_socket, "/run/x.sock" },
	{ "socket_group = wheel", want_group, "wheel" },
	{ "interval = 1", want_interval, &d1 },
	{ "interval = 90s", want_interval, &d90 },
	{ "interval = 1h30m", want_interval, &d5400 },
	{ "interval = 1d", want_interval, &dday },
	{ "read_timeout = 1", want_read_timeout, &d1 },
	{ "read_timeout = 1h", want_read_timeout, &d3600 },
	{ "keep_full = 1h", want_keep_full, &d3600 },
	{ "keep_full = 7d", want_keep_full, &d7d },
	{ "keep_full = 3650d", want_keep_full, &d3650d },
	{ "keep_hourly = 2w", want_keep_hourly, &d2w },
	{ "keep_hourly = 3650d", want_keep_hourly, &d3650d },
	{ "cpu_budget = 2%", want_cpu_budget, &p2 },
	{ "cpu_budget = 2", want_cpu_budget, &p2 },
	{ "cpu_budget = 100%", want_cpu_budget, &p100 },
	{ "cpu_budget = 0.1", want_cpu_budget, &p_small },
	{ "read_pace = 50%", want_read_pace, &p50 },
	{ "read_pace = 100", want_read_pace, &p100 },
	{ "mode = full", want_mode, &m_full },
	{ "mode = stacks", want_mode, &m_stacks },
	{ "mode = auto", want_mode, &m_auto },
	{ "mode = sweep", want_mode, &m_sweep },
	{ "window = 1G", want_window, &s1g },
	{ "window = 1M", want_window, &s1m },
	{ "sweep_windows = 0", want_sweep_windows, &u0 },
	{ "sweep_windows = 1000000", want_sweep_windows, &u1m },
	{ "readers = 1", want_readers, &u1 },
	{ "readers = 2", want_readers, &u2 },
	{ "readers = 64", want_readers, &u64 },
	{ "max_combos = 1000", want_max_combos, &u1000 },
	{ "sample = 0", want_sample, &p0 },
	{ "sample = 25%", want_sample, &p25 },
	{ "sample = 100", want_sample, &p100 },
	{ "max_combos = 100000000", want_max_combos, &u100m },
	{ "log_level = error", want_level, &l_err },
	{ "log_level = err", want_level, &l_err },
	{ "log_level = warning", want_level, &l_warn },
	{ "log_level = warn", want_level, &l_warn },
	{ "log_level = notice", want_level, &l_notice },
	{ "log_level = info", want_level, &l_info },
	{ "log_level = debug", want_level, &l_debug },
	{ "full_every = 1", want_full_every, &u1 },
	{ "full_every = 100000", want_full_every, &u100k },
	{ "full_trigger = 1", want_full_trigger, &u1 },
	{ "metrics_listen = 127.0.0.1:9466", want_listen, "127.0.0.1:9466" },
	{ "metrics_listen = [::1]:1", want_listen, "[::1]:1" },
	{ "metrics_listen = 0.0.0.0:65535", want_listen, "0.0.0.0:65535" },
	{ "metrics_listen = none", want_listen, NULL },
	{ "full_trigger = 4294967295", want_full_trigger, &u_max },
	{ "max_stacks = 100", want_max_stacks, &u100 },
	{ "max_stacks = 100000000", want_max_stacks, &u100m },
	{ "max_series = 100", want_max_series, &u100 },
	{ "max_series = 200000000", want_max_series, &u200m },
	{ "max_db_size = 0", want_max_db, &s0 },
	{ "max_db_size = none", want_max_db, &s0 },
	{ "max_db_size = 1M", want_max_db, &s1m },
	{ "max_db_size = 512M", want_max_db, &s512m },
	{ "max_db_size = 4G", want_max_db, &s4g },
	{ "max_db_size = 2T", want_max_db, &s2t },
	{ "max_db_size = 1048576", want_max_db, &s1m },
};

static void
test_every_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(goods); i++) {
		struct config c;
		char *cause = NULL;
		int r;

		config_defaults(&c);
		r = parse(&c, goods[i].line, &cause);
		if (r != 0)
			fail_msg("'%s' refused: %s", goods[i].line, cause ? cause : "?");
		assert_null(cause);
		goods[i].check(&c, goods[i].want);
		config_free(&c);

		/* config_set takes the same value directly */
		{
			char *key = po_xstrdup(goods[i].line), *eq = strchr(key, '=');
			char *k = key, *v = eq + 1, *e = eq;

			*eq = '\0';
			while (e > k && e[-1] == ' ')
				*--e = '\0';
			while (*v == ' ')
				v++;
			config_defaults(&c);
			assert_int_equal(config_set(&c, k, v, &cause), 0);
			goods[i].check(&c, goods[i].want);
			config_free(&c);
			free(key);
		}
	}
}

static void
test_bad_values(void **state)
{
	static const struct { const char *line, *needle; } bads[] = {
		{ "source =", "source needs a value" },
		{ "database = \"\"", "database needs a value" },
		{ "socket = ", "socket" },
		{ "socket_group =", "socket_group" },
		{ "interval = 0", "interval" },
		{ "interval = 0.5", "interval" },
		{ "interval = 1d1s", "interval" },
		{ "interval = 2d", "interval" },
		{ "interval = -5", "interval" },
		{ "interval = 5x", "interval" },
		{ "interval = 1h30", "interval" },
		{ "interval = s", "interval" },
		{ "interval = ", "interval" },
		{ "interval = 99999999999999999999", "interval" },
		{ "read_timeout = 0", "read_timeout" },
		{ "read_timeout = 2h", "read_timeout" },
		{ "keep_full = 59m", "keep_full" },
		{ "keep_full = 3651d", "keep_full" },
		{ "keep_hourly = 1m", "keep_hourly" },
		{ "keep_hourly = 10000d", "keep_hourly" },
		{ "cpu_budget = 0", "cpu_budget" },
		{ "cpu_budget = 0%", "cpu_budget" },
		{ "cpu_budget = -1%", "cpu_budget" },
		{ "cpu_budget = 101%", "cpu_budget" },
		{ "cpu_budget = 5e-324", "cpu_budget" },
		{ "cpu_budget = nan", "cpu_budget" },
		{ "cpu_budget = inf", "cpu_budget" },
		{ "cpu_budget = 2%%", "cpu_budget" },
		{ "cpu_budget = 2 %", "cpu_budget" },
		{ "cpu_budget = two", "cpu_budget" },
		{ "read_pace = 0", "read_pace" },
		{ "read_pace = 150%", "read_pace" },
		{ "mode = Full", "mode" },
		{ "mode = fast", "mode" },
		{ "mode =", "mode" },
		{ "log_level = verbose", "log_level" },
		{ "log_level = INFO", "log_level" },
		{ "log_level = 7", "log_level" },
		{ "full_every = 0", "full_every" },
		{ "full_every = 100001", "full_every" },
		{ "full_every = -1", "full_every" },
		{ "full_every = 1.5", "full_every" },
		{ "full_every = 99999999999999999999999", "full_every" },
		{ "full_trigger = 0", "full_trigger" },
		{ "metrics_listen = 127.0.0.1", "metrics_listen" },
		{ "metrics_listen = 127.0.0.1:0", "metrics_listen" },
		{ "metrics_listen = 127.0.0.1:65536", "metrics_listen" },
		{ "metrics_listen = localhost:9466", "metrics_listen" },
		{ "metrics_listen = [::1:9466", "metrics_listen" },
		{ "metrics_listen = 1.2.3.4:9466x", "metrics_listen" },
		{ "full_trigger = 4294967296", "full_trigger" },
		{ "full_trigger = 18446744073709551616", "full_trigger" },
		{ "max_stacks = 99", "max_stacks" },
		{ "window = 512K", "window" },
		{ "window = 2P", "window" },
		{ "window = big", "window" },
		{ "sweep_windows = 1000001", "sweep_windows" },
		{ "readers = 0", "readers" },
		{ "readers = 65", "readers" },
		{ "max_combos = 999", "max_combos" },
		{ "metrics_listen = 1.0.0.1:\v94", "metrics_listen" },
		{ "metrics_listen = 1.0.0.1: 94", "metrics_listen" },
		{ "metrics_listen = 1.0.0.1:+94", "metrics_listen" },
		{ "metrics_listen = 1.0.0.1:0000094", "metrics_listen" },
		{ "sample = -1%", "sample" },
		{ "sample = 101%", "sample" },
		{ "sample = 5e-324", "sample" },
		{ "sample = nan", "sample" },
		{ "sample = some", "sample" },
		{ "mode = sweeps", "mode" },
		{ "max_stacks = 100000001", "max_stacks" },
		{ "max_series = 99", "max_series" },
		{ "max_series = 200000001", "max_series" },
		{ "max_series = ten", "max_series" },
		{ "max_db_size = 1K", "max_db_size" },
		{ "max_db_size = 1048575", "max_db_size" },
		{ "max_db_size = 5Q", "max_db_size" },
		{ "max_db_size = -1G", "max_db_size" },
		{ "max_db_size = 99999999999999999999", "max_db_size" },
		{ "max_db_size = 99999999999T", "max_db_size" },
		{ "no_such_key = 1", "unknown setting 'no_such_key'" },
		{ "Interval = 60", "unknown setting 'Interval'" },
		{ "= 60", "unknown setting ''" },
		{ "interval 60", "expected 'key = value'" },
		{ "just words", "expected 'key = value'" },
	};

	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(bads); i++)
		refused(bads[i].line, 1, bads[i].needle);
	/* a value of 4096 bytes is too long; 4095 is fine */
	{
		char *line = NULL, *v = po_xmalloc(4097);
		struct config c;
		char *cause = NULL;

		memset(v, 'a', 4096);
		v[4096] = '\0';
		po_asprintf(&line, "source = %s", v);
		refused(line, 1, "too long");
		free(line);
		v[4095] = '\0';
		line = NULL;
		po_asprintf(&line, "source = %s", v);
		config_defaults(&c);
		assert_int_equal(parse(&c, line, &cause), 0);
		assert_int_equal(strlen(c.source), 4095);
		config_free(&c);
		free(line);
		free(v);
	}
}

/* The line number counts every line, blank and comment too. */
static void
test_line_numbers(void **state)
{
	(void)state;
	refused("# comment\n\ninterval = 60\nmode = nope\n", 4, "mode");
	refused("\n\n\n\n\nbogus\n", 6, "expected");
	refused("interval = 60\r\nmode = x\r\n", 2, "mode");
	refused("a = 1", 1, "unknown setting 'a'");
}

static void
test_syntax(void **state)
{
	static const char text[] =
	    "# a comment\n"
	    "; another comment\n"
	    "   # an indented comment\n"
	    "\n"
	    "   \t  \n"
	    "\tinterval\t=\t5m \t\n"
	    "mode=full\n"
	    "source = \"/path with spaces\"\n"
	    "database = \"unbalanced\n"
	    "socket = \"\"quoted twice\"\"\n"
	    "socket_group = a=b\n"
	    "keep_full = 30d\r\n"
	    "max_db_size = 4G\n"
	    "mode = stacks\n"	/* the last wins */
	    "full_every = 3";	/* no final newline */
	struct config c;
	char *cause = NULL;

	(void)state;
	config_defaults(&c);
	assert_int_equal(parse(&c, text, &cause), 0);
	assert_null(cause);
	assert_true(c.interval == 300);
	assert_int_equal(c.mode, MODE_STACKS);
	assert_string_equal(c.source, "/path with spaces");
	assert_string_equal(c.db, "\"unbalanced");
	assert_string_equal(c.socket, "\"quoted twice\"");
	assert_string_equal(c.group, "a=b");
	assert_true(c.keep_full == 30 * DAY);
	assert_true(c.max_db_size == UINT64_C(4) << 30);
	assert_int_equal(c.full_every, 3);
	/* what the text does not name keeps its default */
	assert_int_equal(c.full_trigger, 2560);
	assert_true(c.read_timeout == 30);
	config_free(&c);

	/* an empty file, and one of comments only, change nothing */
	config_defaults(&c);
	assert_int_equal(parse(&c, "", &cause), 0);
	assert_int_equal(parse(&c, "# nothing\n;\n\n", &cause), 0);
	check_defaults(&c);
	config_free(&c);
}

/* The size cap (256 KiB) and NUL bytes. */
static void
test_file_limits(void **state)
{
	struct config c;
	char *cause = NULL, *big;
	size_t n = (size_t)256 << 10;

	(void)state;
	big = po_xmalloc(n + 2);
	memset(big, '\n', n + 1);
	big[0] = '#';
	config_defaults(&c);
	assert_int_equal(config_parse(&c, big, n, "big.conf", &cause), 0);
	assert_null(cause);
	assert_int_equal(config_parse(&c, big, n + 1, "big.conf", &cause), -EFBIG);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "big.conf"));
	free(cause);
	cause = NULL;
	free(big);
	assert_int_equal(config_parse(&c, "interval = 5\0mode = full\n", 25,
	    "nul.conf", &cause), -EINVAL);
	assert_non_null(strstr(cause, "nul.conf"));
	assert_non_null(strstr(cause, "NUL"));
	free(cause);
	config_free(&c);
}

static void
test_copy(void **state)
{
	struct config a, b;
	char *cause = NULL;

	(void)state;
	config_defaults(&a);
	assert_int_equal(parse(&a, "source = /x\ninterval = 7\nmode = full\n"
	    "socket_group = g\n", &cause), 0);
	a.path = po_xstrdup("/etc/x.conf");
	config_copy(&b, &a);
	/* equal values, separate strings */
	assert_string_equal(b.source, "/x");
	assert_ptr_not_equal(b.source, a.source);
	assert_ptr_not_equal(b.db, a.db);
	assert_ptr_not_equal(b.socket, a.socket);
	assert_ptr_not_equal(b.group, a.group);
	assert_ptr_not_equal(b.path, a.path);
	assert_string_equal(b.path, "/etc/x.conf");
	assert_string_equal(b.group, "g");
	assert_true(b.interval == 7);
	assert_int_equal(b.mode, MODE_FULL);
	/* changing the copy leaves the original */
	assert_int_equal(parse(&b, "source = /y\n", &cause), 0);
	assert_string_equal(a.source, "/x");
	config_free(&a);
	assert_string_equal(b.source, "/y");
	assert_string_equal(b.db, "/var/lib/page-ownerd/page-ownerd.db");
	config_free(&b);

	/* without a path */
	config_defaults(&a);
	config_copy(&b, &a);
	assert_null(b.path);
	check_defaults(&b);
	config_free(&a);
	config_free(&b);
}

/* The shipped file, every setting uncommented, is the defaults. */
static void
test_shipped_file(void **state)
{
	struct config c;
	char *path = tu_path("etc/page-ownerd.conf"), *text, *cause = NULL;
	size_t len, nset = 0;
	struct tu_buf b = { 0 };

	(void)state;
	text = tu_read_file(path, &len);
	if (text == NULL)
		fail_msg("cannot read %s", path);
	for (char *line = text; line != NULL && *line != '\0';) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		/* "#key = value": a setting shown at its default */
		if (n > 1 && line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
		    memchr(line, '=', n) != NULL) {
			tu_buf_put(&b, line + 1, n - 1);
			tu_buf_put(&b, "\n", 1);
			nset++;
		}
		line = nl ? nl + 1 : NULL;
	}
	/* every key of page-ownerd.conf(5) */
	assert_int_equal(nset, 23);
	config_defaults(&c);
	if (config_parse(&c, b.p, b.n, path, &cause) != 0)
		fail_msg("%s", cause);
	check_defaults(&c);
	config_free(&c);

	/* config_load reads it as it is (all commented out) and notes the path */
	config_defaults(&c);
	assert_int_equal(config_load(&c, path, true, &cause), 0);
	check_defaults(&c);
	assert_string_equal(c.path, path);
	config_free(&c);
	free(b.p);
	free(text);
	free(path);
}

static void
test_load(void **state)
{
	struct config c;
	char dir[] = "/tmp/test-config-XXXXXX", *file = NULL, *cause = NULL;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	po_asprintf(&file, "%s/p.conf", dir);

	config_defaults(&c);
	/* missing: fine unless it must exist */
	assert_int_equal(config_load(&c, file, false, &cause), 0);
	assert_null(cause);
	assert_null(c.path);
	assert_int_equal(config_load(&c, file, true, &cause), -ENOENT);
	assert_non_null(strstr(cause, file));
	free(cause);
	cause = NULL;
	/* a directory is not a config file */
	assert_int_equal(config_load(&c, dir, true, &cause), -EINVAL);
	assert_non_null(cause);
	free(cause);
	cause = NULL;

	f = fopen(file, "w");
	assert_non_null(f);
	fputs("interval = 2m\nfull_every = 0\n", f);
	fclose(f);
	assert_int_equal(config_load(&c, file, true, &cause), -EINVAL);
	assert_non_null(strstr(cause, file));
	assert_non_null(strstr(cause, ":2: full_every"));
	free(cause);
	cause = NULL;
	assert_null(c.path);

	f = fopen(file, "w");
	assert_non_null(f);
	fputs("interval = 2m\nfull_every = 4\n", f);
	fclose(f);
	assert_int_equal(config_load(&c, file, true, &cause), 0);
	assert_true(c.interval == 120);
	assert_int_equal(c.full_every, 4);
	assert_string_equal(c.path, file);
	config_free(&c);

	unlink(file);
	rmdir(dir);
	free(file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_line_numbers),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_file_limits),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_shipped_file),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
