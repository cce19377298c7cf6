/*
 * test-frame.c: frames, signatures and culprits (lib/frame.c).
 *
 * Frame lines are taken from the format notes (section 4.3 and 5: " %pS"
 * with an optional " [module]", " [<addr>] " on the oldest kernels, raw
 * addresses without KALLSYMS) and from the real 6.12 capture; the culprit
 * rule is DESIGN.md section 4: the first frame outside the allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tu.h"

static struct po_span
S(const char *s)
{
	return (struct po_span){ s, strlen(s) };
}

static void
assert_span(struct po_span got, const char *want)
{
	if (got.n != strlen(want) || (got.n > 0 && memcmp(got.p, want, got.n) != 0))
		fail_msg("span '%.*s', want '%s'", (int)got.n,
		    got.p != NULL ? got.p : "", want);
}

/* ---- po_frame_next ------------------------------------------------------ */

static void
test_frame_next(void **state)
{
	static const char stack[] =
	    " get_page_from_freelist+0xf62/0x1150\n"
	    " leaker_leak_pages+0x48/0x70 [leaker]\n"
	    "no_leading_space+0x1/0x2\n"
	    " last_without_newline+0x1/0x2";
	struct po_span it = S(stack), line;

	(void)state;
	assert_true(po_frame_next(&it, &line));
	assert_span(line, "get_page_from_freelist+0xf62/0x1150");
	assert_true(po_frame_next(&it, &line));
	assert_span(line, "leaker_leak_pages+0x48/0x70 [leaker]");
	assert_true(po_frame_next(&it, &line));
	assert_span(line, "no_leading_space+0x1/0x2");
	assert_true(po_frame_next(&it, &line));
	assert_span(line, "last_without_newline+0x1/0x2");
	assert_false(po_frame_next(&it, &line));
	assert_int_equal(it.n, 0);

	it = (struct po_span){ NULL, 0 };
	assert_false(po_frame_next(&it, &line));
	it = S(" \n");
	assert_true(po_frame_next(&it, &line));
	assert_int_equal(line.n, 0);
	assert_false(po_frame_next(&it, &line));
}

/* ---- po_frame_parse ----------------------------------------------------- */

struct frame_case {
	const char	*line;
	const char	*addr;
	const char	*sym;
	bool		 has_off;
	uint64_t	 off;
	uint64_t	 size;
	const char	*mod;
};

static const struct frame_case frame_cases[] = {
	/* v5.2+ and the page_owner_stacks files: " %pS" */
	{ "get_page_from_freelist+0xf62/0x1150", "", "get_page_from_freelist",
	  true, 0xf62, 0x1150, "" },
	{ "leaker_leak_pages+0x48/0x70 [leaker]", "", "leaker_leak_pages",
	  true, 0x48, 0x70, "leaker" },
	/* Documentation/mm/page_owner.rst's module example */
	{ "xfs_file_buffered_read+0xe6/0x1d0 [xfs]", "", "xfs_file_buffered_read",
	  true, 0xe6, 0x1d0, "xfs" },
	{ "virtblk_prep_rq.isra.0+0xe7/0x3d0", "", "virtblk_prep_rq.isra.0",
	  true, 0xe7, 0x3d0, "" },
	{ "blk_mq_flush_plug_list.part.0+0x3d9/0x4e0", "",
	  "blk_mq_flush_plug_list.part.0", true, 0x3d9, 0x4e0, "" },
	{ "ret_from_intr+0x0/0x1d", "", "ret_from_intr", true, 0, 0x1d, "" },
	{ "mlx5e_napi_poll+0x11a/0x630 [mlx5_core]", "", "mlx5e_napi_poll",
	  true, 0x11a, 0x630, "mlx5_core" },
	/* v3.19-v4.x: " [<%p>] %pS" (the v4.6 patch example) */
	{ "[<ffffffff811682c4>] __alloc_pages_nodemask+0x134/0x230",
	  "[<ffffffff811682c4>]", "__alloc_pages_nodemask", true, 0x134, 0x230, "" },
	{ "[<ffffffffa01b2c41>] ext4_alloc_inode+0x21/0x140 [ext4]",
	  "[<ffffffffa01b2c41>]", "ext4_alloc_inode", true, 0x21, 0x140, "ext4" },
	/* no KALLSYMS: the raw address is all there is */
	{ "0xffffffff812a4b6c", "", "0xffffffff812a4b6c", false, 0, 0, "" },
	{ "[<ffffffff8118e1d5>] 0xffffffff8118e1d5", "[<ffffffff8118e1d5>]",
	  "0xffffffff8118e1d5", false, 0, 0, "" },
	/* 16 hex digits fit, 17 do not */
	{ "f+0xffffffffffffffff/0x1", "", "f", true, UINT64_MAX, 1, "" },
	{ "f+0x1ffffffffffffffff/0x1", "", "f+0x1ffffffffffffffff/0x1", false,
	  0, 0, "" },
	/* shapes that are not sym+off/size stay whole */
	{ "sym+0x10", "", "sym+0x10", false, 0, 0, "" },
	{ "sym+0xzz/0x10", "", "sym+0xzz/0x10", false, 0, 0, "" },
	{ "sym+0x/0x10", "", "sym+0x/0x10", false, 0, 0, "" },
	{ "sym+10/20", "", "sym+10/20", false, 0, 0, "" },
	{ "sym+0x10/0x20 [mod", "", "sym+0x10/0x20 [mod", false, 0, 0, "" },
	{ "sym+0x10/0x20[mod]", "", "sym+0x10/0x20[mod]", false, 0, 0, "" },
	{ "[mod]", "", "[mod]", false, 0, 0, "" },
	{ "[<ffffffff", "", "[<ffffffff", false, 0, 0, "" },
	{ "", "", "", false, 0, 0, "" },
};

static void
test_frame_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(frame_cases); i++) {
		const struct frame_case *c = &frame_cases[i];
		struct po_frame f;

		memset(&f, 0x5a, sizeof(f));
		po_frame_parse(S(c->line), &f);
		assert_span(f.addr, c->addr);
		assert_span(f.sym, c->sym);
		assert_span(f.mod, c->mod);
		if (f.has_off != c->has_off)
			fail_msg("'%s': has_off %d", c->line, f.has_off);
		if (c->has_off) {
			assert_true(f.off == c->off);
			assert_true(f.size == c->size);
		}
	}
}

/* A frame line is not NUL-terminated: nothing past its end is read. */
static void
test_frame_parse_bounds(void **state)
{
	static const char text[] = "alloc_pages+0x1/0x2 [m]XYZ";
	struct po_frame f;
	char *exact;

	(void)state;
	/* cut before the module: the "[m" is no module */
	po_frame_parse((struct po_span){ text, 22 }, &f);
	assert_span(f.sym, "alloc_pages+0x1/0x2 [m");
	assert_int_equal(f.mod.n, 0);
	/* a heap copy of exactly the line, so ASan sees any overread */
	exact = po_xmalloc(23);
	memcpy(exact, text, 23);
	po_frame_parse((struct po_span){ exact, 23 }, &f);
	assert_span(f.sym, "alloc_pages");
	assert_span(f.mod, "m");
	free(exact);
}

/* ---- po_frame_is_allocator ---------------------------------------------- */

static void
test_is_allocator(void **state)
{
	/* DESIGN.md 4 names these, with the *-suffixes of newer kernels */
	static const char *const yes[] = {
		"get_page_from_freelist", "__alloc_pages", "__alloc_pages_noprof",
		"__alloc_pages_nodemask", "alloc_pages", "alloc_pages_mpol_noprof",
		"alloc_pages_current", "alloc_pages_vma", "__folio_alloc",
		"__folio_alloc_noprof", "folio_alloc", "folio_alloc_noprof",
		"post_alloc_hook", "prep_new_page",
		/* the slab, kmalloc and vmalloc layers above them */
		"new_slab", "___slab_alloc", "__slab_alloc", "allocate_slab",
		"kmem_cache_alloc", "kmem_cache_alloc_noprof", "kmem_cache_alloc_lru",
		"__kmalloc_node_track_caller", "__kmalloc_reserve.isra.0",
		"kmalloc_large", "__kmalloc_large_node", "kvmalloc_node",
		"__vmalloc_node_range", "vma_alloc_folio_noprof", "__get_free_pages",
		"__page_cache_alloc", "mempool_alloc_noprof",
	};
	static const char *const no[] = {
		"leaker_leak_pages", "handle_mm_fault", "__handle_mm_fault",
		"do_anonymous_page", "vm_area_alloc", "__alloc_skb", "alloc_inode",
		"register_early_stack", "pgd_alloc", "module_alloc", "__d_alloc",
		"page_cache_ra_unbounded", "do_syscall_64", "0xffffffff812a4b6c",
		"", "alloc_", "__alloc_page", "kmem_cache", "folio_allo",
	};

	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(yes); i++)
		if (!po_frame_is_allocator(S(yes[i])))
			fail_msg("'%s' should be an allocator frame", yes[i]);
	for (size_t i = 0; i < PO_ARRAY_SIZE(no); i++)
		if (po_frame_is_allocator(S(no[i])))
			fail_msg("'%s' should not be an allocator frame", no[i]);
}

/* ---- po_stack_signature ------------------------------------------------- */

static const char leak_stack[] =
	" get_page_from_freelist+0xf62/0x1150\n"
	" __alloc_pages_noprof+0x196/0xe80\n"
	" alloc_pages_mpol_noprof+0x47/0xf0\n"
	" leaker_leak_pages+0x48/0x70 [leaker]\n"
	" leak_write+0x6b/0xb0 [leaker]\n"
	" full_proxy_write+0x52/0x80\n";

/* The same path in a rebuilt kernel: every offset and size moved. */
static const char leak_stack_rebuilt[] =
	" get_page_from_freelist+0x1f62/0x2150\n"
	" __alloc_pages_noprof+0x19/0xe8\n"
	" alloc_pages_mpol_noprof+0x4/0xf\n"
	" leaker_leak_pages+0x8/0x7c [leaker]\n"
	" leak_write+0xb/0xb8 [leaker]\n"
	" full_proxy_write+0x2/0x81\n";

static const char leak_sig[] =
	"get_page_from_freelist\n"
	"__alloc_pages_noprof\n"
	"alloc_pages_mpol_noprof\n"
	"leaker_leak_pages [leaker]\n"
	"leak_write [leaker]\n"
	"full_proxy_write\n";

static void
test_signature(void **state)
{
	static const char old_stack[] =
	    " [<ffffffff811682c4>] __alloc_pages_nodemask+0x134/0x230\n"
	    " [<ffffffffa01b2c41>] ext4_alloc_inode+0x21/0x140 [ext4]\n"
	    " [<ffffffff8118e1d5>] 0xffffffff8118e1d5\n";
	char buf[512];
	size_t n;

	(void)state;
	n = po_stack_signature(S(leak_stack), buf, sizeof(buf));
	assert_string_equal(buf, leak_sig);
	assert_int_equal(n, strlen(leak_sig));
	n = po_stack_signature(S(leak_stack_rebuilt), buf, sizeof(buf));
	assert_string_equal(buf, leak_sig);
	assert_int_equal(n, strlen(leak_sig));

	/* addresses go, raw addresses (the only name there is) stay */
	po_stack_signature(S(old_stack), buf, sizeof(buf));
	assert_string_equal(buf, "__alloc_pages_nodemask\next4_alloc_inode [ext4]\n"
	    "0xffffffff8118e1d5\n");

	n = po_stack_signature((struct po_span){ NULL, 0 }, buf, sizeof(buf));
	assert_int_equal(n, 0);
	assert_string_equal(buf, "");
}

/* Like snprintf: the length needed, and a cut but clean string. */
static void
test_signature_truncation(void **state)
{
	size_t full = strlen(leak_sig);

	(void)state;
	for (size_t len = 0; len <= full + 2; len++) {
		char buf[256];
		size_t n;

		memset(buf, '#', sizeof(buf));
		n = po_stack_signature(S(leak_stack), buf, len);
		assert_int_equal(n, full);
		if (len == 0) {
			assert_int_equal(buf[0], '#');
			continue;
		}
		if (strlen(buf) != (len - 1 < full ? len - 1 : full) ||
		    strncmp(buf, leak_sig, strlen(buf)) != 0)
			fail_msg("len %zu: '%s' is not the start of the signature",
			    len, buf);
		assert_int_equal(buf[len], '#');
	}
}

/* ---- po_stack_describe -------------------------------------------------- */

struct describe_case {
	const char	*stack;
	const char	*culprit;
	const char	*culprit_line;
	const char	*module;
};

static const struct describe_case describe_cases[] = {
	{ leak_stack, "leaker_leak_pages", "leaker_leak_pages+0x48/0x70 [leaker]",
	  "leaker" },
	/* culprit in the kernel, a module above it: the module is named */
	{ " __alloc_pages_nodemask+0x19c/0x340\n"
	  " __kmalloc_reserve.isra.0+0x31/0x90\n"
	  " __alloc_skb+0x87/0x1d0\n"
	  " mlx5e_alloc_rx_wqes+0x8a/0x1f0 [mlx5_core]\n"
	  " net_rx_action+0x14b/0x3f0\n",
	  "__alloc_skb", "__alloc_skb+0x87/0x1d0", "mlx5_core" },
	/* the first module frame at or above the culprit wins */
	{ " alloc_pages+0x1/0x2\n a+0x1/0x2 [one]\n b+0x1/0x2 [two]\n",
	  "a", "a+0x1/0x2 [one]", "one" },
	/* a module's own function is never the allocator's */
	{ " get_page_from_freelist+0x1/0x2\n kmalloc_hook+0x1/0x2 [mydrv]\n",
	  "kmalloc_hook", "kmalloc_hook+0x1/0x2 [mydrv]", "mydrv" },
	/* old frames with addresses */
	{ " [<ffffffff8118e1d5>] __alloc_pages_nodemask+0x1a5/0x990\n"
	  " [<ffffffff811e2a9b>] kmem_cache_alloc+0x15b/0x1c0\n"
	  " [<ffffffffa01b2c41>] ext4_alloc_inode+0x21/0x140 [ext4]\n",
	  "ext4_alloc_inode",
	  "[<ffffffffa01b2c41>] ext4_alloc_inode+0x21/0x140 [ext4]", "ext4" },
	/* no KALLSYMS */
	{ " 0xffffffff812a4b6c\n 0xffffffff812a7d11\n", "0xffffffff812a4b6c",
	  "0xffffffff812a4b6c", "" },
	/* nothing but the allocator: the outermost allocator frame */
	{ " get_page_from_freelist+0x1/0x2\n __alloc_pages+0x1/0x2\n"
	  " alloc_pages+0x3/0x4\n", "alloc_pages", "alloc_pages+0x3/0x4", "" },
	/* the early-boot stack (section 3) */
	{ " register_early_stack+0x46/0x80\n init_page_owner+0x2f/0x290\n",
	  "register_early_stack", "register_early_stack+0x46/0x80", "" },
	{ "", "", "", "" },
};

static void
test_describe(void **state)
{
	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(describe_cases); i++) {
		const struct describe_case *c = &describe_cases[i];
		struct po_stack_info si;

		po_stack_describe(S(c->stack), &si);
		assert_span(si.culprit, c->culprit);
		assert_span(si.culprit_line, c->culprit_line);
		assert_span(si.module, c->module);
	}
}

/* The signature hash follows the path, not the build. */
static void
test_describe_sig_hash(void **state)
{
	struct po_stack_info a, b, c, d;

	(void)state;
	po_stack_describe(S(leak_stack), &a);
	po_stack_describe(S(leak_stack_rebuilt), &b);
	assert_true(a.sig_hash == b.sig_hash);
	assert_true(a.sig_hash == po_hash(leak_sig, strlen(leak_sig)));
	/* another module name is another path */
	po_stack_describe(S(" leaker_leak_pages+0x48/0x70 [leaker2]\n"), &c);
	po_stack_describe(S(" leaker_leak_pages+0x48/0x70 [leaker]\n"), &d);
	assert_true(c.sig_hash != d.sig_hash);
	/* so is one more frame */
	po_stack_describe(S(" a+0x1/0x2\n"), &c);
	po_stack_describe(S(" a+0x1/0x2\n a+0x1/0x2\n"), &d);
	assert_true(c.sig_hash != d.sig_hash);
}

/* A stack whose signature does not fit the 4 KiB scratch buffer. */
static void
test_describe_big_stack(void **state)
{
	struct tu_buf s1 = { 0 }, s2 = { 0 }, sig = { 0 };
	struct po_stack_info a, b;
	char *buf;
	size_t n;

	(void)state;
	for (int i = 0; i < 300; i++) {
		tu_buf_printf(&s1, " some_rather_long_function_name_%d+0x%x/0x400\n",
		    i, i);
		tu_buf_printf(&s2, " some_rather_long_function_name_%d+0x%x/0x800\n",
		    i, i + 7);
		tu_buf_printf(&sig, "some_rather_long_function_name_%d\n", i);
	}
	assert_true(sig.n > 4096);
	po_stack_describe((struct po_span){ s1.p, s1.n }, &a);
	po_stack_describe((struct po_span){ s2.p, s2.n }, &b);
	assert_true(a.sig_hash == b.sig_hash);
	assert_true(a.sig_hash == po_hash(sig.p, sig.n));
	assert_span(a.culprit, "some_rather_long_function_name_0");
	buf = po_xmalloc(sig.n + 1);
	n = po_stack_signature((struct po_span){ s1.p, s1.n }, buf, sig.n + 1);
	assert_int_equal(n, sig.n);
	assert_string_equal(buf, sig.p);
	free(buf);
	free(s1.p);
	free(s2.p);
	free(sig.p);
}

/* Every stack of the real capture has a culprit; the leaker's is right. */
static void
test_real_stacks(void **state)
{
	char *cmd = NULL, *path, line[4096];
	struct tu_buf stack = { 0 };
	unsigned stacks = 0, leaker = 0;
	FILE *f;

	(void)state;
	path = tu_data_path("real-6.12.117-leak2000.show_stacks.xz");
	po_asprintf(&cmd, "xz -dc '%s'", path);
	free(path);
	f = popen(cmd, "r");
	if (f == NULL)
		fail_msg("cannot run '%s'", cmd);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == ' ') {
			tu_buf_put(&stack, line, strlen(line));
			continue;
		}
		if (strncmp(line, "nr_base_pages:", 14) == 0 && stack.n > 0) {
			struct po_stack_info si;

			po_stack_describe((struct po_span){ stack.p, stack.n }, &si);
			assert_true(si.culprit.n > 0);
			/* frames above the culprit are all the allocator's */
			{
				struct po_span it = { stack.p, stack.n }, fl;

				while (po_frame_next(&it, &fl) && fl.p != si.culprit_line.p) {
					struct po_frame fr;

					po_frame_parse(fl, &fr);
					assert_true(po_frame_is_allocator(fr.sym));
				}
			}
			/* the signature hash is that of po_stack_signature's text */
			{
				char sig[8192];
				size_t n = po_stack_signature((struct po_span){ stack.p, stack.n },
				    sig, sizeof(sig));

				assert_true(n < sizeof(sig));
				assert_true(si.sig_hash == po_hash(sig, n));
			}
			if (po_span_eq(si.culprit, "leaker_leak_pages")) {
				assert_span(si.module, "leaker");
				leaker++;
			}
			stacks++;
			stack.n = 0;
		}
	}
	if (pclose(f) != 0 || stacks == 0)
		fail_msg("'%s' failed or gave no stack: is xz-utils installed?", cmd);
	free(cmd);
	assert_int_equal(stacks, 411);
	assert_int_equal(leaker, 1);
	free(stack.p);
}

/* Text that is not UTF-8: told apart exactly, and scrubbed byte by byte. */
static void
test_utf8(void **state)
{
	static const struct {
		const char	*in;
		size_t		 n;
		bool		 valid;
		const char	*scrubbed;
	} cases[] = {
		{ "plain ascii", 11, true, "plain ascii" },
		{ "", 0, true, "" },
		{ "caf\xc3\xa9", 5, true, "caf\xc3\xa9" },
		{ "\xe2\x82\xac \xf0\x9f\x98\x80", 8, true, "\xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "ctl \x1b]0;x\x07", 10, true, "ctl \x1b]0;x\x07" },	/* valid, if unwise */
		{ "a\xff" "b", 3, false, "a?b" },
		{ "\xc3", 1, false, "?" },			/* cut short */
		{ "\xe2\x82", 2, false, "??" },
		{ "\xc0\xaf", 2, false, "??" },			/* overlong '/' */
		{ "\xe0\x80\xaf", 3, false, "???" },		/* overlong */
		{ "\xed\xa0\x80", 3, false, "???" },		/* a surrogate */
		{ "\xf4\x90\x80\x80", 4, false, "????" },	/* past U+10FFFF */
		{ "\xf5\x80\x80\x80", 4, false, "????" },
		{ "x\x80y", 3, false, "x?y" },			/* a lone continuation */
		{ "nul\0\xff", 5, false, "nul\0?" },		/* NUL is text; 0xff is not */
	};

	(void)state;
	for (size_t i = 0; i < PO_ARRAY_SIZE(cases); i++) {
		char buf[16];
		char *d;

		assert_int_equal(po_utf8_valid(cases[i].in, cases[i].n), cases[i].valid);
		memcpy(buf, cases[i].in, cases[i].n);
		po_utf8_scrub(buf, cases[i].n);
		assert_memory_equal(buf, cases[i].scrubbed, cases[i].n);
		assert_true(po_utf8_valid(buf, cases[i].n));
		d = po_utf8_dup(cases[i].in, cases[i].n);
		assert_string_equal(d, cases[i].scrubbed);	/* up to a NUL */
		free(d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_next),
		cmocka_unit_test(test_frame_parse),
		cmocka_unit_test(test_frame_parse_bounds),
		cmocka_unit_test(test_is_allocator),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_signature_truncation),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_describe_sig_hash),
		cmocka_unit_test(test_describe_big_stack),
		cmocka_unit_test(test_real_stacks),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
