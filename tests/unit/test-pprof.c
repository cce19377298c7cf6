/*
 * test-pprof.c: the pprof encoder (client/pprof.c) and the profile of a
 * daemon's "stacks" reply (client/cmd-export-pprof.c).
 *
 * Every profile is read back the way a reader would: gunzipped with zlib,
 * unpacked with the code protoc-c generated from client/pprof.proto, and
 * every field checked against what was put in, by name, through the
 * string table: never by comparing the encoder's output with itself.
 */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define ZLIB_CONST
#include <zlib.h>

#include "tu.h"
#include "pageownerctl.h"
#include "pprof.pb-c.h"

typedef Perftools__Profiles__Profile Profile;

/* gunzip: the bytes, or a test failure (not gzip, or corrupt). */
static uint8_t *
gunzip(const uint8_t *gz, size_t len, size_t *ret_len)
{
	z_stream z;
	size_t cap = 4096, n = 0;
	uint8_t *out = po_xcalloc(cap, 1);
	int r;

	assert_true(len >= 18);
	assert_int_equal(gz[0], 0x1f);		/* the gzip magic, not zlib's */
	assert_int_equal(gz[1], 0x8b);
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = gz;
	z.avail_in = (uInt)len;
	do {
		if (n == cap) {
			cap *= 2;
			out = po_xrealloc(out, cap, 1);
		}
		z.next_out = out + n;
		z.avail_out = (uInt)(cap - n);
		r = inflate(&z, Z_NO_FLUSH);
		n = cap - z.avail_out;
		assert_true(r == Z_OK || r == Z_STREAM_END);
	} while (r != Z_STREAM_END);
	assert_int_equal(z.avail_in, 0);	/* nothing after the gzip member */
	inflateEnd(&z);
	*ret_len = n;
	return out;
}

static Profile *
decode(const uint8_t *gz, size_t len)
{
	size_t rawlen;
	uint8_t *raw = gunzip(gz, len, &rawlen);
	Profile *p = perftools__profiles__profile__unpack(NULL, rawlen, raw);

	free(raw);
	assert_non_null(p);
	return p;
}

/* string_table[i], checked in range. */
static const char *
S(const Profile *p, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < p->n_string_table);
	return p->string_table[i];
}

/* The string table: "" first, no string twice. */
static void
check_strings(const Profile *p)
{
	assert_true(p->n_string_table >= 1);
	assert_string_equal(p->string_table[0], "");
	for (size_t i = 0; i < p->n_string_table; i++)
		for (size_t j = i + 1; j < p->n_string_table; j++)
			if (strcmp(p->string_table[i], p->string_table[j]) == 0)
				fail_msg("string '%s' is in the table twice (%zu, %zu)",
				    p->string_table[i], i, j);
}

static const Perftools__Profiles__Function *
function_by_id(const Profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_function; i++)
		if (p->function[i]->id == id)
			return p->function[i];
	fail_msg("no function %llu", (unsigned long long)id);
	abort();
}

/* The function name of location id, through its one line. */
static const char *
location_name(const Profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];

		if (l->id != id)
			continue;
		assert_int_equal(l->n_line, 1);
		return S(p, function_by_id(p, l->line[0]->function_id)->name);
	}
	fail_msg("no location %llu", (unsigned long long)id);
	abort();
}

/* Functions and locations: ids unique and nonzero, one per distinct name,
 * every location in mapping 1 with one line, and exactly nframes of them. */
static void
check_functions(const Profile *p, size_t nframes)
{
	assert_int_equal(p->n_function, nframes);
	assert_int_equal(p->n_location, nframes);
	for (size_t i = 0; i < p->n_function; i++) {
		const Perftools__Profiles__Function *f = p->function[i];

		assert_true(f->id != 0);
		assert_string_equal(S(p, f->system_name), S(p, f->name));
		assert_string_equal(S(p, f->filename), "");
		assert_int_equal(f->start_line, 0);
		for (size_t j = i + 1; j < p->n_function; j++) {
			assert_true(p->function[j]->id != f->id);
			assert_true(p->function[j]->name != f->name);
		}
	}
	for (size_t i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];

		assert_true(l->id != 0);
		assert_int_equal(l->mapping_id, 1);
		assert_int_equal(l->address, 0);
		assert_false(l->is_folded);
		assert_int_equal(l->n_line, 1);
		assert_int_equal(l->line[0]->line, 0);
		(void)function_by_id(p, l->line[0]->function_id);
		for (size_t j = i + 1; j < p->n_location; j++)
			assert_true(p->location[j]->id != l->id);
	}
	assert_int_equal(p->n_mapping, 1);
	assert_int_equal(p->mapping[0]->id, 1);
	assert_string_equal(S(p, p->mapping[0]->filename), "[kernel.kallsyms]");
	assert_true(p->mapping[0]->has_functions);
	assert_false(p->mapping[0]->has_filenames);
	assert_int_equal(p->mapping[0]->memory_start, 0);
	assert_int_equal(p->mapping[0]->memory_limit, 0);
}

static void
check_sample_types(const Profile *p)
{
	assert_int_equal(p->n_sample_type, 2);
	assert_string_equal(S(p, p->sample_type[0]->type), "inuse_pages");
	assert_string_equal(S(p, p->sample_type[0]->unit), "count");
	assert_string_equal(S(p, p->sample_type[1]->type), "inuse_space");
	assert_string_equal(S(p, p->sample_type[1]->unit), "bytes");
	assert_string_equal(S(p, p->default_sample_type), "inuse_space");
	assert_null(p->period_type);
	assert_int_equal(p->period, 0);
	assert_int_equal(p->duration_nanos, 0);
	assert_int_equal(p->keep_frames, 0);
}

/* A sample's frames (leaf first), values and labels. */
static void
check_sample(const Profile *p, size_t i, const char *const *frames, size_t nframes,
    int64_t pages, int64_t bytes, const char *const labels[][2], size_t nlabels)
{
	const Perftools__Profiles__Sample *s;

	assert_true(i < p->n_sample);
	s = p->sample[i];
	assert_int_equal(s->n_location_id, nframes);
	for (size_t k = 0; k < nframes; k++)
		assert_string_equal(location_name(p, s->location_id[k]), frames[k]);
	assert_int_equal(s->n_value, 2);
	assert_int_equal(s->value[0], pages);
	assert_int_equal(s->value[1], bytes);
	assert_int_equal(s->n_label, nlabels);
	for (size_t k = 0; k < nlabels; k++) {
		assert_string_equal(S(p, s->label[k]->key), labels[k][0]);
		assert_string_equal(S(p, s->label[k]->str), labels[k][1]);
		assert_int_equal(s->label[k]->num, 0);
		assert_int_equal(s->label[k]->num_unit, 0);
	}
}

/* ---- the encoder --------------------------------------------------------- */

static const char *const LEAK[] = {
	"get_page_from_freelist", "__alloc_pages_noprof",
	"leaker_leak_pages [leaker]", "leaker_write [leaker]", "vfs_write",
};
static const char *const CACHE[] = {
	"get_page_from_freelist", "__alloc_pages_noprof", "filemap_alloc_folio_noprof",
	"page_cache_ra_unbounded", "vfs_write",
};
static const char *const BOOT[] = { "register_early_stack", "init_page_owner" };
static const char *const LABELS[][2] = {
	{ "host", "web-17" }, { "kernel", "6.12.117" },
	{ "boot_id", "a0a59f1b-381e-4461-84e1-beb0e567c1a9" },
};

static void
test_encode_every_field(void **state)
{
	struct pprof *pp = pprof_new();
	uint8_t *gz = NULL;
	size_t len = 0;
	char *cause = NULL;
	Profile *p;

	(void)state;
	pprof_set_time(pp, INT64_C(1796457203997205504));
	for (size_t i = 0; i < PO_ARRAY_SIZE(LABELS); i++)
		assert_int_equal(pprof_label(pp, LABELS[i][0], LABELS[i][1]), 0);
	pprof_drop_frames(pp, "get_page_from_freelist|__alloc_pages_noprof");
	assert_int_equal(pprof_sample(pp, LEAK, PO_ARRAY_SIZE(LEAK), 9000, 9000 * INT64_C(4096)), 0);
	assert_int_equal(pprof_sample(pp, CACHE, PO_ARRAY_SIZE(CACHE), 512, 512 * INT64_C(4096)), 0);
	assert_int_equal(pprof_sample(pp, BOOT, PO_ARRAY_SIZE(BOOT), 4692, 4692 * INT64_C(4096)), 0);
	assert_int_equal(pprof_write(pp, &gz, &len, &cause), 0);
	assert_null(cause);
	pprof_free(pp);

	p = decode(gz, len);
	check_strings(p);
	check_sample_types(p);
	/* 5 in LEAK, 2 new in CACHE, 2 in BOOT: shared frames are one function */
	check_functions(p, 9);
	assert_int_equal(p->time_nanos, INT64_C(1796457203997205504));
	assert_int_equal(p->n_sample, 3);
	check_sample(p, 0, LEAK, PO_ARRAY_SIZE(LEAK), 9000, 9000 * INT64_C(4096), LABELS, 3);
	check_sample(p, 1, CACHE, PO_ARRAY_SIZE(CACHE), 512, 512 * INT64_C(4096), LABELS, 3);
	check_sample(p, 2, BOOT, PO_ARRAY_SIZE(BOOT), 4692, 4692 * INT64_C(4096), LABELS, 3);
	/* shared frames: the same location in both samples */
	assert_int_equal(p->sample[0]->location_id[0], p->sample[1]->location_id[0]);
	assert_int_equal(p->sample[0]->location_id[4], p->sample[1]->location_id[4]);
	assert_true(p->sample[0]->location_id[2] != p->sample[1]->location_id[2]);
	assert_int_equal(p->n_comment, 3);
	assert_string_equal(S(p, p->comment[0]), "host=web-17");
	assert_string_equal(S(p, p->comment[1]), "kernel=6.12.117");
	assert_string_equal(S(p, p->comment[2]), "boot_id=a0a59f1b-381e-4461-84e1-beb0e567c1a9");
	assert_string_equal(S(p, p->drop_frames), "get_page_from_freelist|__alloc_pages_noprof");
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(gz);
}

static void
test_encode_empty(void **state)
{
	struct pprof *pp = pprof_new();
	uint8_t *gz = NULL;
	size_t len = 0;
	char *cause = NULL;
	Profile *p;

	(void)state;
	assert_int_equal(pprof_write(pp, &gz, &len, &cause), 0);
	pprof_free(pp);
	p = decode(gz, len);
	check_strings(p);
	check_sample_types(p);
	check_functions(p, 0);
	assert_int_equal(p->n_sample, 0);
	assert_int_equal(p->n_comment, 0);
	assert_int_equal(p->drop_frames, 0);
	assert_int_equal(p->time_nanos, 0);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(gz);
	pprof_free(NULL);
}

static void
test_bad_samples(void **state)
{
	struct pprof *pp = pprof_new();
	const char *const empty[] = { "vfs_write", "" };
	const char *const null[] = { NULL };

	(void)state;
	assert_int_equal(pprof_sample(pp, LEAK, 0, 1, 4096), -EINVAL);
	assert_int_equal(pprof_sample(pp, empty, 2, 1, 4096), -EINVAL);
	assert_int_equal(pprof_sample(pp, null, 1, 1, 4096), -EINVAL);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pprof_label(pp, "k", "v"), 0);
	assert_int_equal(pprof_label(pp, "k", "v"), -E2BIG);
	pprof_free(pp);
}

/* Many stacks and frames: the string table's hash grows, ids stay right. */
static void
test_many_frames(void **state)
{
	enum { NS = 3000, DEPTH = 12 };
	struct pprof *pp = pprof_new();
	static char names[NS][DEPTH][32];
	const char *fr[DEPTH];
	uint8_t *gz = NULL;
	size_t len = 0;
	char *cause = NULL;
	Profile *p;

	(void)state;
	for (int s = 0; s < NS; s++) {
		for (int k = 0; k < DEPTH; k++) {
			/* half the frames are shared by every stack */
			if (k % 2)
				snprintf(names[s][k], sizeof(names[s][k]), "shared_%d", k);
			else
				snprintf(names[s][k], sizeof(names[s][k]), "fn_%d_%d [m%d]", s, k, s % 7);
			fr[k] = names[s][k];
		}
		assert_int_equal(pprof_sample(pp, fr, DEPTH, s + 1, (s + 1) * INT64_C(4096)), 0);
	}
	assert_int_equal(pprof_write(pp, &gz, &len, &cause), 0);
	pprof_free(pp);
	p = decode(gz, len);
	check_strings(p);
	check_functions(p, NS * DEPTH / 2 + DEPTH / 2);
	assert_int_equal(p->n_sample, NS);
	for (int s = 0; s < NS; s += 97) {
		for (int k = 0; k < DEPTH; k++)
			fr[k] = names[s][k];
		check_sample(p, (size_t)s, fr, DEPTH, s + 1, (s + 1) * INT64_C(4096), NULL, 0);
	}
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(gz);
}

/* ---- a daemon's "stacks" reply ------------------------------------------- */

static void
test_from_reply(void **state)
{
	const char *reply =
	    "{\"format\": \"stacks\", \"snapshot\": 4, \"time\": \"2026-12-05T07:53:19Z\","
	    " \"unix_time\": 1796457199.25, \"boot_id\": \"b00t\", \"kernel\": \"6.12.117\","
	    " \"host\": \"web-17\", \"page_size\": 16384, \"stacks\": ["
	    " {\"stack_id\": \"0123456789abcdef\", \"series\": 7, \"culprit\": \"leaker_leak_pages\","
	    "  \"module\": \"leaker\", \"pages\": 7000, \"blocks\": 7000, \"frames\": ["
	    "   \"get_page_from_freelist\", \"__alloc_pages_noprof\", \"leaker_leak_pages [leaker]\","
	    "   \"vfs_write\"]},"
	    " {\"stack_id\": \"fedcba9876543210\", \"series\": 3, \"culprit\": \"__alloc_skb\","
	    "  \"module\": \"kernel\", \"pages\": 12, \"blocks\": 3, \"frames\": ["
	    "   \"___slab_alloc.isra.0\", \"kmalloc_reserve\", \"__alloc_skb\"]},"
	    " {\"stack_id\": \"00000000000000aa\", \"series\": 9, \"culprit\": \"register_early_stack\","
	    "  \"module\": \"kernel\", \"pages\": 5, \"blocks\": 5, \"frames\": ["
	    "   \"register_early_stack\", \"get_page_from_freelist\"]}]}";
	static const char *const f0[] = { "get_page_from_freelist", "__alloc_pages_noprof",
		"leaker_leak_pages [leaker]", "vfs_write" };
	static const char *const f1[] = { "___slab_alloc.isra.0", "kmalloc_reserve",
		"__alloc_skb" };
	static const char *const f2[] = { "register_early_stack", "get_page_from_freelist" };
	static const char *const labels[][2] = {
		{ "host", "web-17" }, { "kernel", "6.12.117" }, { "boot_id", "b00t" },
	};
	json_t *res = json_loads(reply, 0, NULL);
	uint8_t *gz = NULL;
	size_t len = 0;
	char *cause = NULL;
	regex_t re;
	char *anchored = NULL;
	Profile *p;

	(void)state;
	assert_non_null(res);
	assert_int_equal(export_pprof_build(res, &gz, &len, &cause), 0);
	json_decref(res);
	p = decode(gz, len);
	check_strings(p);
	check_sample_types(p);
	check_functions(p, 8);
	assert_int_equal(p->time_nanos, INT64_C(1796457199250000000));
	assert_int_equal(p->n_sample, 3);
	check_sample(p, 0, f0, 4, 7000, 7000 * INT64_C(16384), labels, 3);
	check_sample(p, 1, f1, 3, 12, 12 * INT64_C(16384), labels, 3);
	check_sample(p, 2, f2, 2, 5, 5 * INT64_C(16384), labels, 3);
	/*
	 * drop_frames names the allocator's frames at a leaf end, escaped,
	 * and nothing else: pprof matches it against whole names.
	 */
	po_asprintf(&anchored, "^(%s)$", S(p, p->drop_frames));
	assert_int_equal(regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&re, "get_page_from_freelist", 0, NULL, 0), 0);
	assert_int_equal(regexec(&re, "__alloc_pages_noprof", 0, NULL, 0), 0);
	assert_int_equal(regexec(&re, "___slab_alloc.isra.0", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&re, "___slab_alloc_isra_0", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&re, "leaker_leak_pages [leaker]", 0, NULL, 0), 0);
	/* kmalloc* is the allocator's (lib/frame.c), __alloc_skb is not */
	assert_int_equal(regexec(&re, "kmalloc_reserve", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&re, "__alloc_skb", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&re, "register_early_stack", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&re, "get_page_from_freelist_x", 0, NULL, 0), 0);
	regfree(&re);
	free(anchored);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(gz);
}

static void
test_bad_replies(void **state)
{
	static const char *const bad[] = {
		"{\"format\": \"prometheus\", \"text\": \"\"}",
		"{\"stacks\": [], \"page_size\": 0, \"unix_time\": 1}",
		"{\"stacks\": [], \"page_size\": 4096}",
		"{\"stacks\": [{\"pages\": 1}], \"page_size\": 4096, \"unix_time\": 1}",
		"{\"stacks\": [{\"pages\": 1, \"frames\": []}], \"page_size\": 4096, \"unix_time\": 1}",
		"{\"stacks\": [{\"pages\": 1, \"frames\": [3]}], \"page_size\": 4096, \"unix_time\": 1}",
		"{\"stacks\": [{\"pages\": \"1\", \"frames\": [\"a\"]}], \"page_size\": 4096, \"unix_time\": 1}",
	};

	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(bad); i++) {
		json_t *res = json_loads(bad[i], 0, NULL);
		uint8_t *gz = NULL;
		size_t len = 0;
		char *cause = NULL;

		assert_non_null(res);
		if (export_pprof_build(res, &gz, &len, &cause) >= 0)
			fail_msg("reply %zu was taken: %s", i, bad[i]);
		assert_non_null(cause);
		assert_null(gz);
		free(cause);
		json_decref(res);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_every_field),
		cmocka_unit_test(test_encode_empty),
		cmocka_unit_test(test_bad_samples),
		cmocka_unit_test(test_many_frames),
		cmocka_unit_test(test_from_reply),
		cmocka_unit_test(test_bad_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
