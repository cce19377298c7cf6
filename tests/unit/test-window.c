/*
 * test-window.c: the window vocabulary every method shares
 * (daemon/window.c), on a database written through daemon/store.c.
 *
 * What is checked is what pageownerctl(1) and DESIGN.md promise: `since`
 * and `until` (and `at`) take a snapshot id (a number or "#N"), "now", a
 * relative time ("-2h") or an ISO-8601 time; a time means the first
 * snapshot at or after it (since) or the last at or before it (until,
 * at); `limit` is 1 to 10000; a window that holds no snapshot, an id that
 * is not stored and a value of the wrong type are errors with their codes
 * and a message that names the parameter.
 *
 * The database holds ten snapshots, ids 1 to 10, half an hour past each
 * of the last ten hours: snapshot i at now - (10.5 - i) hours.
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

#define NSNAP	10
#define HOUR	3600.0

struct fixture {
	char		 dir[64];
	char		*path;
	struct store	*st;		/* read-only, as the daemon answers */
	double		 base;		/* whole seconds, about now */
	double		 t[NSNAP + 1];	/* t[i]: time of snapshot i */
};

static void
fixture_write(struct fixture *fx, size_t n)
{
	struct store *w = NULL;
	char *cause = NULL;
	int64_t boot = 0;

	assert_int_equal(store_open(&w, fx->path, false, &cause), 0);
	assert_int_equal(store_begin(w), 0);
	assert_int_equal(store_boot(w, "11111111-2222-3333-4444-555555555555",
	    "6.12.0-test", &boot), 0);
	for (size_t i = 1; i <= n; i++) {
		struct snap_row r;

		memset(&r, 0, sizeof(r));
		r.boot = boot;
		r.time = fx->t[i];
		r.mono_ns = (int64_t)i * 3600000000000;
		r.baseline = i == 1;
		r.identities = true;
		snprintf(r.kind, sizeof(r.kind), "full");
		snprintf(r.source, sizeof(r.source), "test");
		snprintf(r.format, sizeof(r.format), "6.12");
		r.records = (int64_t)i;
		assert_int_equal(store_insert_snapshot(w, &r), 0);
		assert_int_equal(r.id, (int64_t)i);
	}
	assert_int_equal(store_commit(w), 0);
	store_close(w);
}

static int
setup_n(void **state, size_t n)
{
	struct fixture *fx = po_xcalloc(1, sizeof(*fx));
	char *cause = NULL;

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test-window-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	po_asprintf(&fx->path, "%s/w.db", fx->dir);
	fx->base = (double)(int64_t)po_now_wall();
	for (size_t i = 1; i <= NSNAP; i++)
		fx->t[i] = fx->base - (10.5 - (double)i) * HOUR;
	fixture_write(fx, n);
	if (store_open(&fx->st, fx->path, true, &cause) < 0) {
		fprintf(stderr, "# %s\n", cause);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
setup(void **state)
{
	return setup_n(state, NSNAP);
}

static int
setup_empty(void **state)
{
	return setup_n(state, 0);
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char *p = NULL;

	store_close(fx->st);
	unlink(fx->path);
	po_asprintf(&p, "%s-wal", fx->path);
	unlink(p);
	free(p);
	p = NULL;
	po_asprintf(&p, "%s-shm", fx->path);
	unlink(p);
	free(p);
	rmdir(fx->dir);
	free(fx->path);
	free(fx);
	return 0;
}

/* ---- helpers --------------------------------------------------------------- */

/* window_parse of a JSON text; the cause is checked, then freed. */
static int
wparse(struct fixture *fx, const char *params_json, int64_t dflt, struct window *w,
    const char *cause_has)
{
	json_error_t jerr;
	json_t *params = json_loads(params_json, 0, &jerr);
	char *cause = NULL;
	int code;

	if (params == NULL)
		fail_msg("bad test JSON '%s': %s", params_json, jerr.text);
	code = window_parse(fx->st, params, dflt, w, &cause);
	json_decref(params);
	if (code == 0 && cause != NULL)
		fail_msg("%s: success with a cause '%s'", params_json, cause);
	if (code != 0 && cause == NULL)
		fail_msg("%s: error %d without a cause", params_json, code);
	if (cause_has != NULL && (cause == NULL || strstr(cause, cause_has) == NULL))
		fail_msg("%s: cause '%s' does not say '%s'", params_json,
		    cause ? cause : "(none)", cause_has);
	free(cause);
	return code;
}

static void
expect_window(struct fixture *fx, const char *params_json, int64_t lo, int64_t hi)
{
	struct window w;
	int code = wparse(fx, params_json, 20, &w, NULL);

	if (code != 0)
		fail_msg("%s: error %d", params_json, code);
	if (w.lo != lo || w.hi != hi)
		fail_msg("%s: window %lld..%lld, want %lld..%lld", params_json,
		    (long long)w.lo, (long long)w.hi, (long long)lo, (long long)hi);
	assert_true(w.t_lo == fx->t[lo]);
	assert_true(w.t_hi == fx->t[hi]);
	assert_int_equal(w.first, 1);
	assert_int_equal(w.last, NSNAP);
}

static void
expect_error(struct fixture *fx, const char *params_json, int want_code,
    const char *cause_has)
{
	struct window w;
	int code = wparse(fx, params_json, 20, &w, cause_has);

	if (code != want_code)
		fail_msg("%s: code %d, want %d", params_json, code, want_code);
}

/* window_point of a JSON value (NULL: none given). */
static int
wpoint(struct fixture *fx, const char *value_json, int64_t *ret_id,
    const char *cause_has)
{
	json_error_t jerr;
	json_t *v = NULL;
	char *cause = NULL;
	int code;

	if (value_json != NULL) {
		v = json_loads(value_json, JSON_DECODE_ANY, &jerr);
		if (v == NULL)
			fail_msg("bad test JSON '%s': %s", value_json, jerr.text);
	}
	*ret_id = -1;
	code = window_point(fx->st, v, "at", ret_id, &cause);
	json_decref(v);
	if (code != 0 && cause == NULL)
		fail_msg("%s: error %d without a cause", value_json, code);
	if (cause_has != NULL && (cause == NULL || strstr(cause, cause_has) == NULL))
		fail_msg("%s: cause '%s' does not say '%s'", value_json,
		    cause ? cause : "(none)", cause_has);
	free(cause);
	return code;
}

static void
expect_point(struct fixture *fx, const char *value_json, int64_t want)
{
	int64_t id;
	int code = wpoint(fx, value_json, &id, NULL);

	if (code != 0 || id != want)
		fail_msg("at %s: code %d id %lld, want snapshot %lld",
		    value_json ? value_json : "(none)", code, (long long)id,
		    (long long)want);
}

/* A JSON string of time t: ISO-8601 UTC, or "@unix". */
static char *
iso(double t)
{
	char buf[64], *s = NULL;

	po_time_str(t, buf, sizeof(buf));
	po_asprintf(&s, "\"%s\"", buf);
	return s;
}

/* ---- window_parse ------------------------------------------------------------ */

static void
test_whole_history(void **state)
{
	struct fixture *fx = *state;
	struct window w;

	/* no window: every snapshot, the default limit */
	assert_int_equal(wparse(fx, "{}", 20, &w, NULL), 0);
	assert_int_equal(w.lo, 1);
	assert_int_equal(w.hi, NSNAP);
	assert_int_equal(w.limit, 20);
	assert_false(w.relative);
	assert_true(w.t_lo == fx->t[1]);
	assert_true(w.t_hi == fx->t[NSNAP]);
	assert_int_equal(wparse(fx, "{}", 100, &w, NULL), 0);
	assert_int_equal(w.limit, 100);
	/* other params are not the window's business */
	expect_window(fx, "{\"by\": \"comm\", \"match\": [\"x\"]}", 1, NSNAP);
}

static void
test_ids(void **state)
{
	struct fixture *fx = *state;

	expect_window(fx, "{\"since\": 3}", 3, NSNAP);
	expect_window(fx, "{\"since\": \"3\"}", 3, NSNAP);
	expect_window(fx, "{\"since\": \"#3\"}", 3, NSNAP);
	expect_window(fx, "{\"until\": 7}", 1, 7);
	expect_window(fx, "{\"until\": \"#7\"}", 1, 7);
	expect_window(fx, "{\"since\": 3, \"until\": 7}", 3, 7);
	expect_window(fx, "{\"since\": 5, \"until\": 5}", 5, 5);
	expect_window(fx, "{\"since\": 1, \"until\": 10}", 1, NSNAP);
	expect_window(fx, "{\"since\": 10}", NSNAP, NSNAP);
	expect_window(fx, "{\"until\": 1}", 1, 1);
	/* backwards: nothing in it */
	expect_error(fx, "{\"since\": 7, \"until\": 3}", PO_E_NO_DATA,
	    "no snapshot in that window (stored: 1 to 10)");
}

static void
test_ids_out_of_range(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "{\"since\": 11}", PO_E_NOT_FOUND,
	    "since: no snapshot 11 (stored: 1 to 10)");
	expect_error(fx, "{\"until\": \"#99\"}", PO_E_NOT_FOUND,
	    "until: no snapshot 99 (stored: 1 to 10)");
	expect_error(fx, "{\"since\": 9223372036854775807}", PO_E_NOT_FOUND,
	    "since: no snapshot 9223372036854775807");
	/* 0 is not an id */
	expect_error(fx, "{\"since\": 0}", PO_E_PARAMS, "since: ");
	expect_error(fx, "{\"until\": \"#0\"}", PO_E_PARAMS, "until: ");
	expect_error(fx, "{\"since\": \"#-1\"}", PO_E_PARAMS, "since: ");
	expect_error(fx, "{\"since\": \"#\"}", PO_E_PARAMS, "since: ");
	expect_error(fx, "{\"since\": \"18446744073709551616\"}", PO_E_PARAMS,
	    "since: ");
}

static void
test_relative(void **state)
{
	struct fixture *fx = *state;
	struct window w;

	/* -2h: the first snapshot after it is 9 (-1.5h), the last before 8 */
	expect_window(fx, "{\"since\": \"-2h\"}", 9, NSNAP);
	expect_window(fx, "{\"until\": \"-2h\"}", 1, 8);
	expect_window(fx, "{\"since\": \"-5h\", \"until\": \"-2h\"}", 6, 8);
	expect_window(fx, "{\"since\": \"-1h30m30s\"}", 9, NSNAP);
	expect_window(fx, "{\"since\": \"-1d\"}", 1, NSNAP);
	expect_window(fx, "{\"since\": \"-20h\", \"until\": \"-8h\"}", 1, 2);
	assert_int_equal(wparse(fx, "{\"since\": \"-2h\"}", 20, &w, NULL), 0);
	assert_true(w.relative);
	assert_int_equal(wparse(fx, "{\"since\": 3}", 20, &w, NULL), 0);
	assert_false(w.relative);
	assert_int_equal(wparse(fx, "{\"until\": \"-2h\"}", 20, &w, NULL), 0);
	assert_false(w.relative);
	/* after the last snapshot, or before the first: nothing */
	expect_error(fx, "{\"since\": \"-10m\"}", PO_E_NO_DATA,
	    "no snapshot in that window (stored: 1 to 10)");
	expect_error(fx, "{\"until\": \"-11h\"}", PO_E_NO_DATA,
	    "no snapshot in that window");
	expect_error(fx, "{\"since\": \"-3h\", \"until\": \"-4h\"}", PO_E_NO_DATA,
	    "no snapshot in that window");
}

static void
test_now(void **state)
{
	struct fixture *fx = *state;

	expect_window(fx, "{\"until\": \"now\"}", 1, NSNAP);
	expect_window(fx, "{\"since\": 4, \"until\": \"now\"}", 4, NSNAP);
	/* since now: nothing has been taken since */
	expect_error(fx, "{\"since\": \"now\"}", PO_E_NO_DATA, "no snapshot in that window");
}

static void
test_absolute(void **state)
{
	struct fixture *fx = *state;
	char *s5 = iso(fx->t[5]), *s5p = iso(fx->t[5] + 1), *s5m = iso(fx->t[5] - 1);
	char *p = NULL;

	/* exactly a snapshot's time: that snapshot, either way */
	po_asprintf(&p, "{\"since\": %s, \"until\": %s}", s5, s5);
	expect_window(fx, p, 5, 5);
	free(p);
	p = NULL;
	/* a second after: since moves on, until stays */
	po_asprintf(&p, "{\"since\": %s}", s5p);
	expect_window(fx, p, 6, NSNAP);
	free(p);
	p = NULL;
	po_asprintf(&p, "{\"until\": %s}", s5p);
	expect_window(fx, p, 1, 5);
	free(p);
	p = NULL;
	/* a second before: since takes it, until the one before */
	po_asprintf(&p, "{\"since\": %s, \"until\": %s}", s5m, s5m);
	expect_error(fx, p, PO_E_NO_DATA, "no snapshot in that window");
	free(p);
	p = NULL;
	po_asprintf(&p, "{\"since\": %s}", s5m);
	expect_window(fx, p, 5, NSNAP);
	free(p);
	p = NULL;
	/* Unix time */
	po_asprintf(&p, "{\"since\": \"@%lld\", \"until\": \"@%lld\"}",
	    (long long)fx->t[3], (long long)fx->t[6]);
	expect_window(fx, p, 3, 6);
	free(p);
	p = NULL;
	/* long ago and far ahead */
	expect_window(fx, "{\"since\": \"2000-01-01\"}", 1, NSNAP);
	expect_window(fx, "{\"since\": \"2000-01-01T00:00Z\", \"until\": \"2200-01-01\"}",
	    1, NSNAP);
	expect_error(fx, "{\"since\": \"2200-01-01\"}", PO_E_NO_DATA,
	    "no snapshot in that window");
	expect_error(fx, "{\"until\": \"2000-01-01T00:00:00Z\"}", PO_E_NO_DATA,
	    "no snapshot in that window");
	free(s5);
	free(s5p);
	free(s5m);
}

static void
test_limit(void **state)
{
	struct fixture *fx = *state;
	static const char *const bad[] = {
		"0", "-1", "10001", "\"5\"", "2.5", "true", "null", "[]", "{}",
		"9223372036854775807",
	};
	struct window w;

	assert_int_equal(wparse(fx, "{\"limit\": 1}", 20, &w, NULL), 0);
	assert_int_equal(w.limit, 1);
	assert_int_equal(wparse(fx, "{\"limit\": 10000}", 20, &w, NULL), 0);
	assert_int_equal(w.limit, PO_MAX_LIMIT);
	assert_int_equal(wparse(fx, "{\"limit\": 7, \"since\": 2}", 20, &w, NULL), 0);
	assert_int_equal(w.limit, 7);
	assert_int_equal(w.lo, 2);
	for (size_t i = 0; i < PO_ARRAY_SIZE(bad); i++) {
		char *p = NULL;

		po_asprintf(&p, "{\"limit\": %s}", bad[i]);
		expect_error(fx, p, PO_E_PARAMS, "limit must be an integer from 1 to 10000");
		free(p);
	}
}

static void
test_bad_types(void **state)
{
	struct fixture *fx = *state;
	static const char *const bad[] = { "true", "false", "1.5", "[]", "{}", "[3]" };
	static const char *const unreadable[] = {
		"\"\"", "\"yesterday\"", "\"-\"", "\"-2x\"", "\"--2h\"", "\"2026-13-45\"",
		"\"@\"", "\"@abc\"", "\"#abc\"", "\"3 \"", "\"1e3\"", "\"now!\"",
		"\"-1h30\"",
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
	};

	for (size_t i = 0; i < PO_ARRAY_SIZE(bad); i++) {
		char *p = NULL;

		po_asprintf(&p, "{\"since\": %s}", bad[i]);
		expect_error(fx, p, PO_E_PARAMS,
		    "since must be a snapshot id, a time or a relative time");
		free(p);
		p = NULL;
		po_asprintf(&p, "{\"until\": %s}", bad[i]);
		expect_error(fx, p, PO_E_PARAMS,
		    "until must be a snapshot id, a time or a relative time");
		free(p);
	}
	for (size_t i = 0; i < PO_ARRAY_SIZE(unreadable); i++) {
		char *p = NULL;

		po_asprintf(&p, "{\"since\": %s}", unreadable[i]);
		expect_error(fx, p, PO_E_PARAMS, "since: ");
		free(p);
		p = NULL;
		po_asprintf(&p, "{\"until\": %s, \"since\": 2}", unreadable[i]);
		expect_error(fx, p, PO_E_PARAMS, "until: ");
		free(p);
	}
}

/* ---- window_point ------------------------------------------------------------- */

static void
test_point(void **state)
{
	struct fixture *fx = *state;
	char *s = NULL;
	int64_t id;

	expect_point(fx, NULL, NSNAP);
	expect_point(fx, "4", 4);
	expect_point(fx, "\"4\"", 4);
	expect_point(fx, "\"#4\"", 4);
	expect_point(fx, "\"now\"", NSNAP);
	expect_point(fx, "\"-2h\"", 8);		/* the last at or before */
	expect_point(fx, "\"-1m\"", NSNAP);
	s = iso(fx->t[6]);
	expect_point(fx, s, 6);
	free(s);
	s = iso(fx->t[6] - 1);
	expect_point(fx, s, 5);
	free(s);
	s = NULL;
	po_asprintf(&s, "\"@%lld\"", (long long)fx->t[2] + 60);
	expect_point(fx, s, 2);
	free(s);

	assert_int_equal(wpoint(fx, "\"-11h\"", &id,
	    "at: no snapshot that early (the first is snapshot 1)"), PO_E_NO_DATA);
	assert_int_equal(wpoint(fx, "\"2000-01-01\"", &id, "at: no snapshot that early"),
	    PO_E_NO_DATA);
	assert_int_equal(wpoint(fx, "11", &id, "at: no snapshot 11 (stored: 1 to 10)"),
	    PO_E_NOT_FOUND);
	assert_int_equal(wpoint(fx, "0", &id, "at: "), PO_E_PARAMS);
	assert_int_equal(wpoint(fx, "true", &id,
	    "at must be a snapshot id, a time or a relative time"), PO_E_PARAMS);
	assert_int_equal(wpoint(fx, "2.5", &id, "at must be"), PO_E_PARAMS);
	assert_int_equal(wpoint(fx, "\"soon\"", &id, "at: cannot read time 'soon'"),
	    PO_E_PARAMS);
}

/* ---- an empty database --------------------------------------------------------- */

static void
test_empty(void **state)
{
	struct fixture *fx = *state;
	struct window w;
	int64_t id;

	assert_int_equal(wparse(fx, "{}", 20, &w, "no snapshot is stored yet"),
	    PO_E_NO_DATA);
	assert_int_equal(wparse(fx, "{\"since\": \"-1h\", \"until\": \"now\"}", 20, &w,
	    "no snapshot is stored yet"), PO_E_NO_DATA);
	assert_int_equal(wparse(fx, "{\"since\": 1}", 20, &w,
	    "since: no snapshot 1 (none is stored yet)"), PO_E_NOT_FOUND);
	/* a bad limit is a bad limit, data or not */
	assert_int_equal(wparse(fx, "{\"limit\": 0}", 20, &w, "limit"), PO_E_PARAMS);
	assert_int_equal(wparse(fx, "{\"since\": true}", 20, &w, "since must be"),
	    PO_E_PARAMS);
	assert_int_equal(wpoint(fx, NULL, &id, "no snapshot is stored yet"),
	    PO_E_NO_DATA);
	assert_int_equal(wpoint(fx, "3", &id, "no snapshot is stored yet"),
	    PO_E_NO_DATA);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_whole_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_now, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_point, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup_empty, teardown),
	};

	return cmocka_run_group_tests_name("window", tests, NULL, NULL);
}
