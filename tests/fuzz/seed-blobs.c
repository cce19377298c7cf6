/*
 * seed-blobs.c: writes the committed seeds of fuzz-pack and fuzz-detail
 * (tests/fuzz/seeds/pack, tests/fuzz/seeds/detail): small valid blobs made
 * by daemon/pack.c's own writers, one of each table kind and a few shapes.
 * Not a fuzz target (its name does not start with fuzz-).  To remake them:
 *
 *   make units && cc -std=gnu11 -D_GNU_SOURCE -Ilib -Idaemon \
 *     $(pkg-config --cflags jansson) -o build/seed-blobs tests/fuzz/seed-blobs.c \
 *     build/libpod.a build/libpo.a $(pkg-config --libs sqlite3 libsystemd \
 *     libevent libevent_pthreads jansson libxxhash) -lm -pthread
 *   build/seed-blobs tests/fuzz/seeds
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "page-ownerd.h"

static void
put(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
pack(const char *dir, const char *name, unsigned nf, unsigned smask, uint32_t n,
    uint32_t step, int64_t scale)
{
	struct pack_writer w;
	uint8_t *blob = NULL;
	size_t len = 0;

	pack_writer_init(&w, nf, smask);
	for (uint32_t i = 0; i < n; i++) {
		int64_t f[PACK_MAX_FIELDS];

		for (unsigned k = 0; k < nf; k++)
			f[k] = (int64_t)((i * 7 + k * 3) % 11) * scale -
			    ((smask >> k) & 1 ? 5 * scale : 0);
		if (i % 5 == 0)
			memset(f, 0, sizeof(f));
		pack_add(&w, 1 + i * step + (i % 3), f);
	}
	pack_finish(&w, &blob, &len);
	pack_writer_free(&w);
	put(dir, name, blob, len);
	free(blob);
}

int
main(int argc, char **argv)
{
	char p[512], d[512];
	struct detail_writer *w;
	uint8_t *blob = NULL;
	size_t len = 0;
	static const char *const comm[] = { "kworker/0:1", "systemd", "leaker", "" };

	if (argc != 2) {
		fprintf(stderr, "usage: seed-blobs DIR\n");
		return 2;
	}
	snprintf(p, sizeof(p), "%s/pack", argv[1]);
	snprintf(d, sizeof(d), "%s/detail", argv[1]);
	mkdir(p, 0755);
	mkdir(d, 0755);

	pack(p, "changes-empty", CH__N, CH_SIGNED, 0, 1, 1);
	pack(p, "changes-3", CH__N, CH_SIGNED, 3, 1, 1);
	pack(p, "changes-70", CH__N, CH_SIGNED, 70, 3, 100);
	pack(p, "buckets-20", BK__N, BK_SIGNED, 20, 1, 1000);
	pack(p, "buckets-130", BK__N, BK_SIGNED, 130, 2, 7);
	pack(p, "checkpoint-10", CP__N, CP_SIGNED, 10, 5, 1 << 20);
	pack(p, "checkpoint-66", CP__N, CP_SIGNED, 66, 1, 3);
	pack(p, "one-field", 1, 1, 9, 1000, 1);
	pack(p, "eight-fields", 8, 0xa5, 12, 2, 1 << 30);

	w = detail_writer_new();
	detail_finish(w, &blob, &len);
	put(d, "empty", blob, len);
	free(blob);
	detail_writer_free(w);
	w = detail_writer_new();
	for (uint32_t i = 0; i < 12; i++) {
		struct detail_row r = {
			.stack = i * 3 + 1, .comm = comm[i % 4],
			.memcg = i % 3 ? "" : "/system.slice/foo.service",
			.order = i % 4, .gfp = 0xcc0 + i, .pages = (uint64_t)1 << (i % 4),
			.blocks = 1 + i % 2, .ts_min = 1000000000ull * i,
		};

		detail_add(w, &r);
	}
	detail_finish(w, &blob, &len);
	put(d, "rows-12", blob, len);
	free(blob);
	detail_writer_free(w);
	return 0;
}
