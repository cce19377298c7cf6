/*
 * gen-dump.c: a synthetic but realistic page_owner dump generator, for the
 * benchmarks.  Many stacks with a skewed (Zipf) size distribution, frames
 * that look like a 6.12 kernel's, comms, gfp masks, memcgs, orders, and
 * PFNs in ascending order as the kernel prints them.
 *
 *   gen-dump [--records N | --bytes N] [--stacks N] [--seed S] [-o FILE]
 *   gen-dump --snapshots K --outdir DIR [--records N] [--churn PCT]
 *            [--leak PAGES] [--stacks N] [--seed S]
 *
 * The second form writes K dumps of one host whose blocks churn (PCT % of
 * them freed and allocated again between dumps) while one stack,
 * leaky_alloc_buffer [leaky], leaks PAGES pages per dump and never frees.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SLOT_PAGES	16		/* every block sits in its own 16-page slot */
#define MAX_FRAMES	16

struct gstack {
	char	*text;		/* frame lines, each " sym+0x../0x..\n" */
	double	 weight;	/* Zipf weight */
	unsigned order;		/* typical order of its blocks */
	unsigned gfp;		/* index into gfps[] */
	int	 memcg;		/* index into memcgs[], -1 = none */
	bool	 movable;
};

struct block {
	uint32_t stack;		/* index into stacks */
	uint8_t	 order;
	uint8_t	 comm;		/* index into comms[] */
	int32_t	 pid;
	uint64_t ts;
	bool	 leak;		/* never churned */
};

static const char *const comms[] = {
	"swapper/0", "systemd", "kworker/u8:3", "kworker/1:2", "postgres",
	"java", "nginx", "sshd", "bash", "kswapd0", "jbd2/vda1-8", "(sd-pam)",
	"containerd", "python3", "Web Content", "rcu_sched",
};

static const struct { unsigned mask; const char *names; } gfps[] = {
	{ 0x2cc0, "GFP_KERNEL|__GFP_NOWARN" },
	{ 0x140cca, "GFP_HIGHUSER_MOVABLE|__GFP_COMP" },
	{ 0x152800, "GFP_NOWAIT|__GFP_NORETRY|__GFP_COMP|__GFP_HARDWALL" },
	{ 0xcc0, "GFP_KERNEL" },
	{ 0x400dc0, "GFP_KERNEL_ACCOUNT|__GFP_ZERO" },
	{ 0x52cc0, "GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP" },
	{ 0x0, "" },
};

static const char *const memcgs[] = {
	"system.slice", "user-1000.slice", "docker-4f2a.scope", "init.scope",
};

static const char *const top_frames[] = {
	"get_page_from_freelist+0xf62/0x1150",
	"__alloc_pages_noprof+0x196/0xe80",
	"alloc_pages_mpol_noprof+0x47/0xf0",
};

static const char *const mid_words[] = {
	"ext4", "xfs", "btrfs", "shmem", "filemap", "tcp", "skb", "netif",
	"blk_mq", "bio", "vma", "anon", "page_cache", "kmem", "slab", "sock",
	"nvme", "virtio", "dma", "iommu", "cgroup", "proc", "seq", "pipe",
	"epoll", "futex", "mmap", "mremap", "madvise", "userfaultfd", "zswap",
	"kvm", "bpf", "perf", "ftrace", "kernfs", "sysfs", "dentry", "inode",
};

static const char *const verbs[] = {
	"alloc", "get", "fill", "read", "write", "prepare", "create", "grow",
	"expand", "refill", "submit", "map", "fault", "insert", "clone",
};

static const char *const bottom_frames[] = {
	"vfs_write+0xf6/0x480", "ksys_write+0x6a/0xf0", "vfs_read+0x9c/0x360",
	"ksys_read+0x6a/0xf0", "__x64_sys_mmap+0x2d/0x40",
	"do_syscall_64+0x9e/0x1c0", "entry_SYSCALL_64_after_hwframe+0x77/0x7f",
	"kthread+0xd2/0x100", "ret_from_fork+0x34/0x50",
	"ret_from_fork_asm+0x1a/0x30", "worker_thread+0x1a7/0x350",
	"process_one_work+0x175/0x340",
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	/* xorshift64*: plenty for test data */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned
rndn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static void
make_stacks(struct gstack *st, unsigned n)
{
	double zipf_s = 1.1;

	for (unsigned i = 0; i < n; i++) {
		char buf[4096];
		size_t used = 0;
		unsigned depth = 4 + rndn(MAX_FRAMES - 6), d;

		for (d = 0; d < 3; d++)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used,
			    " %s\n", top_frames[d]);
		for (; d < depth; d++)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used,
			    " %s_%s_%u+0x%x/0x%x%s\n",
			    mid_words[rndn(sizeof(mid_words) / sizeof(*mid_words))],
			    verbs[rndn(sizeof(verbs) / sizeof(*verbs))], i % 97,
			    16 + rndn(800), 900 + rndn(3000),
			    (i % 41 == 7 && d == 3) ? " [nf_tables]" : "");
		for (unsigned b = 0; b < 2; b++)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, " %s\n",
			    bottom_frames[(i + b * 5) % (sizeof(bottom_frames) /
			    sizeof(*bottom_frames))]);
		st[i].text = strdup(buf);
		st[i].weight = 1.0 / pow((double)(i + 1), zipf_s);
		st[i].order = rndn(20) == 0 ? 1 + rndn(3) : 0;
		st[i].gfp = rndn(sizeof(gfps) / sizeof(*gfps) - 1);
		st[i].memcg = rndn(4) == 0 ? (int)rndn(4) : -1;
		st[i].movable = gfps[st[i].gfp].mask & 0x8;
	}
}

/* Pick a stack by weight: binary search over the cumulative weights. */
static unsigned
pick_stack(const double *cum, unsigned n)
{
	double x = (double)(rnd() >> 11) / (double)(1ULL << 53) * cum[n - 1];
	unsigned lo = 0, hi = n - 1;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (cum[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
new_block(struct block *b, const struct gstack *st, unsigned sid, uint64_t *clock)
{
	b->stack = sid;
	b->order = (uint8_t)st[sid].order;
	b->comm = (uint8_t)rndn(sizeof(comms) / sizeof(*comms));
	b->pid = 1 + (int32_t)rndn(40000);
	*clock += 1000 + rndn(50000);
	b->ts = *clock;
	b->leak = false;
}

static size_t
write_block(FILE *f, uint64_t pfn, const struct block *b, const struct gstack *st,
    const char *leak_text)
{
	const struct gstack *s = &st[b->stack];
	const char *text = b->leak ? leak_text : s->text;
	int n;

	n = fprintf(f, "Page allocated via order %u, mask %#x(%s), pid %d, tgid %d "
	    "(%s), ts %llu ns\nPFN 0x%llx type %s Block %llu type %s Flags "
	    "0x%llx(%s)\n%s%s%s%s\n",
	    b->order, gfps[s->gfp].mask, gfps[s->gfp].names, b->pid, b->pid,
	    comms[b->comm], (unsigned long long)b->ts, (unsigned long long)pfn,
	    s->movable ? "Movable" : "Unmovable",
	    (unsigned long long)(pfn >> 9), s->movable ? "Movable" : "Unmovable",
	    0x4000000000000ULL | (s->movable ? 0x2c : 0x0),
	    s->movable ? "referenced|uptodate|lru|node=0|zone=2" : "node=0|zone=1",
	    text, s->memcg >= 0 && !b->leak ? "Charged to memcg " : "",
	    s->memcg >= 0 && !b->leak ? memcgs[s->memcg] : "",
	    s->memcg >= 0 && !b->leak ? "\n" : "");
	return n > 0 ? (size_t)n : 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: gen-dump [--records N | --bytes N] [--stacks N] "
	    "[--seed S] [-o FILE]\n"
	    "       gen-dump --snapshots K --outdir DIR [--records N] "
	    "[--churn PCT] [--leak PAGES] [--stacks N] [--seed S]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "records", required_argument, NULL, 'r' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "stacks", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "snapshots", required_argument, NULL, 'k' },
		{ "outdir", required_argument, NULL, 'd' },
		{ "churn", required_argument, NULL, 'c' },
		{ "leak", required_argument, NULL, 'l' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long records = 100000, bytes = 0, nstacks = 5000;
	unsigned long long snapshots = 0, leak = 0;
	double churn = 5.0;
	const char *outdir = NULL, *output = NULL;
	const char *leak_text =
	    " get_page_from_freelist+0xf62/0x1150\n"
	    " __alloc_pages_noprof+0x196/0xe80\n"
	    " alloc_pages_mpol_noprof+0x47/0xf0\n"
	    " leaky_alloc_buffer+0x48/0x70 [leaky]\n"
	    " leaky_ioctl+0x6b/0xb0 [leaky]\n"
	    " __x64_sys_ioctl+0x94/0xd0\n"
	    " do_syscall_64+0x9e/0x1c0\n"
	    " entry_SYSCALL_64_after_hwframe+0x77/0x7f\n";
	struct gstack *st;
	struct block *blocks;
	int32_t *slot_block;
	double *cum;
	uint64_t clock = 1000000000ULL;
	size_t nblocks = 0, nslots;
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': records = strtoull(optarg, NULL, 10); break;
		case 'b': bytes = strtoull(optarg, NULL, 10); break;
		case 's': nstacks = strtoull(optarg, NULL, 10); break;
		case 'S': rng_state ^= strtoull(optarg, NULL, 10) * 0x9E3779B97F4A7C15ULL; break;
		case 'k': snapshots = strtoull(optarg, NULL, 10); break;
		case 'd': outdir = optarg; break;
		case 'c': churn = strtod(optarg, NULL); break;
		case 'l': leak = strtoull(optarg, NULL, 10); break;
		case 'o': output = optarg; break;
		default: usage();
		}
	}
	if (nstacks == 0 || (snapshots > 0 && outdir == NULL))
		usage();
	if (bytes > 0)
		records = bytes / 420 + 1;	/* about 420 bytes a record */

	st = calloc(nstacks, sizeof(*st));
	cum = calloc(nstacks, sizeof(*cum));
	make_stacks(st, (unsigned)nstacks);
	for (unsigned i = 0; i < nstacks; i++)
		cum[i] = (i ? cum[i - 1] : 0) + st[i].weight;

	nslots = records * 2 + snapshots * leak + 16;
	blocks = calloc(nslots, sizeof(*blocks));
	slot_block = malloc(nslots * sizeof(*slot_block));
	for (size_t i = 0; i < nslots; i++)
		slot_block[i] = -1;

	/* the first dump: records blocks spread over the slots */
	for (size_t i = 0; i < records; i++) {
		size_t slot;

		do
			slot = rnd() % nslots;
		while (slot_block[slot] >= 0);
		new_block(&blocks[nblocks], st, pick_stack(cum, (unsigned)nstacks), &clock);
		slot_block[slot] = (int32_t)nblocks++;
	}

	if (snapshots == 0) {
		FILE *f = output ? fopen(output, "w") : stdout;
		static char obuf[1 << 20];

		if (f == NULL) {
			perror(output);
			rc = 1;
			goto out;
		}
		setvbuf(f, obuf, _IOFBF, sizeof(obuf));
		for (size_t s = 0; s < nslots; s++)
			if (slot_block[s] >= 0)
				write_block(f, (uint64_t)s * SLOT_PAGES + 0x1000,
				    &blocks[slot_block[s]], st, leak_text);
		rc = fclose(f) == 0 ? 0 : 1;
		goto out;
	}

	mkdir(outdir, 0755);
	for (unsigned long long k = 0; k < snapshots; k++) {
		char path[4096];
		static char obuf[1 << 20];
		FILE *f;

		if (k > 0) {
			size_t nchurn = (size_t)((double)records * churn / 100.0);

			/* free some blocks, allocate as many elsewhere */
			for (size_t i = 0; i < nchurn; i++) {
				size_t slot = rnd() % nslots;
				int32_t b = slot_block[slot];

				if (b >= 0 && !blocks[b].leak) {
					size_t to;

					do
						to = rnd() % nslots;
					while (slot_block[to] >= 0 && to != slot);
					slot_block[slot] = -1;
					new_block(&blocks[b], st,
					    pick_stack(cum, (unsigned)nstacks), &clock);
					slot_block[to] = b;
				}
			}
			for (unsigned long long i = 0; i < leak; i++) {
				size_t slot;

				do
					slot = rnd() % nslots;
				while (slot_block[slot] >= 0);
				new_block(&blocks[nblocks], st, 0, &clock);
				blocks[nblocks].order = 0;
				blocks[nblocks].leak = true;
				slot_block[slot] = (int32_t)nblocks++;
			}
		}
		snprintf(path, sizeof(path), "%s/%04llu.page_owner", outdir, k + 1);
		f = fopen(path, "w");
		if (f == NULL) {
			fprintf(stderr, "gen-dump: %s: %s\n", path, strerror(errno));
			rc = 1;
			goto out;
		}
		setvbuf(f, obuf, _IOFBF, sizeof(obuf));
		for (size_t s = 0; s < nslots; s++)
			if (slot_block[s] >= 0)
				write_block(f, (uint64_t)s * SLOT_PAGES + 0x1000,
				    &blocks[slot_block[s]], st, leak_text);
		if (fclose(f) != 0) {
			fprintf(stderr, "gen-dump: %s: write failed\n", path);
			rc = 1;
			goto out;
		}
	}
out:
	free(blocks);
	free(slot_block);
	free(cum);
	return rc;
}
