/*
 * fuzz-frame.c: libFuzzer target for frame parsing, stack signatures and
 * culprits (lib/frame.c), and stack interning (lib/stacktab.c).
 *
 * The input is a stack span as the parser hands it over (frame lines with
 * their newlines); the first byte sizes the signature buffer.  Oracles:
 * every span a frame or a culprit names lies inside its line or stack; a
 * cut signature is a NUL-terminated prefix of the whole one; the
 * signature does not depend on offsets (a stack with its "+0x.../0x..."
 * rewritten has the same signature hash); interning is idempotent.
 */
// fuzz-sources: lib/*.c
// fuzz-pkgs: libxxhash
// fuzz-seeds: tests/fuzz/seeds/frame
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "po.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do {							\
		if (!(x)) {						\
			fprintf(stderr, "fuzz-frame: %s:%d: %s\n",	\
			    __FILE__, __LINE__, #x);			\
			abort();					\
		}							\
	} while (0)

static bool
inside(struct po_span s, struct po_span outer)
{
	return s.n == 0 || (s.p >= outer.p && s.p + s.n <= outer.p + outer.n);
}

/*
 * The same stack with every well-formed "+0xOFF/0xSIZE" made "+0x1/0x2":
 * a rebuilt kernel.  Frames whose offset part is not well-formed are
 * copied as they are.
 */
static char *
rebuilt(struct po_span stack, size_t *ret_len)
{
	char *out = malloc(2 * stack.n + 16), *o = out;	/* a space and a newline more per line */
	struct po_span it = stack, line;

	CHECK(out != NULL);
	while (po_frame_next(&it, &line)) {
		struct po_frame f;
		const char *e = line.p + line.n;

		po_frame_parse(line, &f);
		*o++ = ' ';
		if (f.has_off && (f.sym.p + f.sym.n)[0] == '+') {
			const char *tail = f.mod.n ? f.mod.p - 2 : e;

			/* keep "addr sym", swap the numbers, keep " [mod]" */
			memcpy(o, line.p, (size_t)(f.sym.p + f.sym.n - line.p));
			o += f.sym.p + f.sym.n - line.p;
			memcpy(o, "+0x1/0x2", 8);
			o += 8;
			memcpy(o, tail, (size_t)(e - tail));
			o += e - tail;
		} else {
			memcpy(o, line.p, line.n);
			o += line.n;
		}
		*o++ = '\n';
	}
	*ret_len = (size_t)(o - out);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct po_span stack, it, line;
	struct po_stack_info si, si2;
	char *whole, cut[256];
	size_t need, cutlen;

	if (size < 1 || size > 65536)
		return 0;
	cutlen = data[0];
	stack = (struct po_span){ (const char *)data + 1, size - 1 };

	it = stack;
	while (po_frame_next(&it, &line)) {
		struct po_frame f;

		CHECK(inside(line, stack));
		po_frame_parse(line, &f);
		CHECK(inside(f.sym, line));
		CHECK(inside(f.addr, line));
		CHECK(inside(f.mod, line));
		if (f.has_off)
			CHECK(memchr(f.sym.p, '+', f.sym.n) == NULL);
		(void)po_frame_is_allocator(f.sym);
	}

	need = po_stack_signature(stack, NULL, 0);
	whole = malloc(need + 1);
	CHECK(whole != NULL);
	CHECK(po_stack_signature(stack, whole, need + 1) == need);
	CHECK(strlen(whole) <= need);
	memset(cut, 'Z', sizeof(cut));
	CHECK(po_stack_signature(stack, cut, cutlen) == need);
	if (cutlen > 0) {
		size_t got = strnlen(cut, cutlen);

		CHECK(got < cutlen);
		CHECK(memcmp(cut, whole, got) == 0);
		CHECK(got == (need < cutlen ? need : cutlen - 1) ||
		    memchr(whole, '\0', need) != NULL);
	}
	if (cutlen < sizeof(cut))
		CHECK(cut[cutlen] == 'Z');

	po_stack_describe(stack, &si);
	CHECK(inside(si.culprit, stack));
	CHECK(inside(si.culprit_line, stack));
	CHECK(inside(si.module, stack));
	if (memchr(stack.p, '\0', stack.n) == NULL)
		CHECK(si.sig_hash == po_hash(whole, need));

	/* offsets do not change the signature */
	{
		size_t n2;
		char *r = rebuilt(stack, &n2);

		po_stack_describe((struct po_span){ r, n2 }, &si2);
		CHECK(si2.sig_hash == si.sig_hash ||
		    memchr(stack.p, '\0', stack.n) != NULL);
		free(r);
	}

	/* interning twice gives one stack, with the same derived facts */
	{
		struct po_strtab *names = NULL;
		struct po_stacktab *t = NULL;
		uint32_t a, b;

		CHECK(po_strtab_new(&names) == 0);
		CHECK(po_stacktab_new(&t, names) == 0);
		a = po_stacktab_intern(t, stack, 1);
		b = po_stacktab_intern(t, stack, 1);
		CHECK(a == b && po_stacktab_count(t) == 1);
		CHECK(po_stacktab_get(t, a)->sig_hash == si.sig_hash);
		CHECK(po_stacktab_text(t, a).n == stack.n);
		po_stacktab_free(t);
		po_strtab_free(names);
	}
	free(whole);
	return 0;
}
