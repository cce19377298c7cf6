/*
 * po.h: the page_owner library shared by page-ownerd and pageownerctl.
 *
 * Prototypes are grouped by the file that defines them, so this header reads
 * as a map of lib/.  Rules kept by everything in lib/: no logging, no exit(),
 * functions return 0 (or a positive count) on success and -errno on failure;
 * where a person needs a reason, a `char **cause` is filled with a malloc'd
 * string the caller frees.
 */
#ifndef PO_H
#define PO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define PO_VERSION "0.1.0"

/* A slice of someone else's buffer: never NUL-terminated. */
struct po_span {
	const char	*p;	/* first byte, or NULL when absent */
	size_t		 n;	/* length in bytes */
};

/* ---- util.c ------------------------------------------------------------ */

#define PO_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void
po_freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(po_freep)))

static inline void *
po_take_ptr_(void **pp)
{
	void *p = *pp;

	*pp = NULL;
	return p;
}
#define TAKE_PTR(p) po_take_ptr_((void **)&(p))

void	*po_xmalloc(size_t n);
void	*po_xcalloc(size_t nmemb, size_t size);
void	*po_xrealloc(void *p, size_t nmemb, size_t size);
void	*po_xrealloc_aligned(void *p, size_t used, size_t nmemb, size_t size);
char	*po_xstrdup(const char *s);
char	*po_xstrndup(const char *s, size_t n);
int	 po_asprintf(char **ret, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
bool	 po_span_eq(struct po_span a, const char *s);
char	*po_span_dup(struct po_span a);
size_t	 po_strlcpy(char *dst, const char *src, size_t size);
uint64_t po_hash(const void *p, size_t n);
uint64_t po_hash_seeded(const void *p, size_t n, uint64_t seed);
uint64_t po_hash128(const void *p, size_t n, uint64_t *ret_high);
bool	 po_contains(struct po_span hay, const char *needle, size_t n);
bool	 po_utf8_valid(const char *s, size_t n);
void	 po_utf8_scrub(char *s, size_t n);
char	*po_utf8_dup(const char *s, size_t n);
uint64_t po_stack_hash(struct po_span stack, uint64_t *ret_high);
void	 po_human_bytes(uint64_t bytes, char *buf, size_t len);
int	 po_parse_u64(const char *s, uint64_t *ret);
double	 po_now_mono(void);
double	 po_now_wall(void);

/* ---- parse.c: the streaming record parser ------------------------------ */

/*
 * Longest record kept: the kernel formats one record into at most one page
 * (64 KiB pages on some architectures), so anything longer is not a record.
 */
#define PO_MAX_RECORD	((size_t)64 * 1024)
/* Lines per record before it is called over-long (kernels print <= ~24). */
#define PO_MAX_LINES	512

enum po_rec_kind {
	PO_REC_PAGE = 1,	/* a /sys/kernel/debug/page_owner record */
	PO_REC_STACK,		/* page_owner_stacks/show_stacks and friends */
};

/* Line shapes seen: together they say which kernel era printed a record. */
enum {
	PO_F_GFP_NAMES	 = 1u << 0,	/* mask %#x(%pGg): v4.6+ */
	PO_F_PID	 = 1u << 1,	/* , pid %d: v5.11+ */
	PO_F_TGID	 = 1u << 2,	/* , tgid %d (%s): v5.18+ */
	PO_F_TS		 = 1u << 3,	/* , ts %llu ns: v5.11+ */
	PO_F_FREE_TS	 = 1u << 4,	/* , free_ts %llu ns: v5.14-v6.6 */
	PO_F_HEX_PFN	 = 1u << 5,	/* PFN 0x%lx: v6.5+ */
	PO_F_LEGACY_PFN	 = 1u << 6,	/* PFN %lu Block %lu type %d: v3.19-v4.5 */
	PO_F_FLAG_FIELDS = 1u << 7,	/* node=/zone= inside Flags (): v5.13+ */
	PO_F_ADDR_FRAMES = 1u << 8,	/* " [<addr>] sym" frames: oldest kernels */
	PO_F_MIGRATE	 = 1u << 9,	/* last migrate reason line */
	PO_F_SLAB	 = 1u << 10,	/* Slab cache page */
	PO_F_MEMCG	 = 1u << 11,	/* Charged ... memcg */
	PO_F_HANDLE	 = 1u << 12,	/* handle: %u */
	PO_F_NR_PAGES	 = 1u << 13,	/* nr_base_pages: %d */
};

/* Why a record was rejected: kept for the first one, for the report. */
enum po_malformed {
	PO_BAD_NONE = 0,
	PO_BAD_START,		/* first line is not a record start */
	PO_BAD_ALLOC_LINE,	/* "Page allocated via order" line unparsable */
	PO_BAD_PFN_LINE,	/* second line is not a PFN line */
	PO_BAD_NO_STACK,	/* neither frames nor a handle */
	PO_BAD_TOO_LONG,	/* record longer than PO_MAX_RECORD or PO_MAX_LINES */
	PO_BAD_TRUNCATED,	/* input ended inside a record */
	PO_BAD_STACK_COUNT,	/* show_stacks nr_base_pages unparsable */
	PO_BAD_ORDER,		/* order out of range */
	PO_BAD_HANDLE,		/* handle: line not a u32 (nor a %d of one) */
	PO__BAD_MAX,
};

/*
 * One parsed record.  Spans point into the buffer given to the parser (or
 * the parser's own carry buffer) and are valid only inside the callback.
 */
struct po_record {
	enum po_rec_kind kind;		/* page record or stack record */
	unsigned	 features;	/* PO_F_* shapes seen in this record */
	unsigned	 order;		/* allocation order (pages = 1 << order) */
	uint64_t	 gfp;		/* gfp mask, numeric (the truth) */
	struct po_span	 gfp_names;	/* %pGg text inside (), may be empty */
	int32_t		 pid;		/* allocating pid, -1 when absent */
	int32_t		 tgid;		/* allocating tgid, -1 when absent */
	struct po_span	 comm;		/* task comm, may hold spaces and () */
	uint64_t	 ts;		/* allocation local_clock() ns */
	uint64_t	 free_ts;	/* last free ns (5.14-6.6) */
	uint64_t	 pfn;		/* head page frame number */
	uint64_t	 block;		/* pageblock number */
	struct po_span	 mt;		/* gfp's migratetype name (v4.6+) */
	struct po_span	 block_mt;	/* pageblock migratetype name or number */
	bool		 fallback;	/* v3.19 "Fallback" marker */
	uint64_t	 page_flags;	/* page->flags (v4.6+) */
	struct po_span	 flag_names;	/* text inside Flags (), or the letters */
	struct po_span	 stack;		/* all frame lines, with their '\n's */
	unsigned	 nframes;	/* frame lines in stack */
	struct po_span	 migrate_reason; /* last migrate reason, if any */
	bool		 slab;		/* "Slab cache page" seen */
	struct po_span	 memcg;		/* memcg leaf name, if charged */
	bool		 memcg_offline;	/* "offline memcg" */
	bool		 memcg_via_objcg; /* "(via objcg)" */
	bool		 has_handle;	/* a handle: line was seen */
	bool		 bad_handle;	/* a handle: line that is no u32 */
	uint32_t	 handle;	/* stackdepot handle (a %d of it read back) */
	bool		 has_nr_pages;	/* show_stacks count present */
	int64_t		 nr_base_pages;	/* show_stacks count */
	unsigned	 unknown_lines;	/* lines skipped inside this record */
	uint64_t	 offset;	/* byte offset of the record in the input */
};

/* What one parse saw; also the per-snapshot statistics. */
struct po_parse_stats {
	uint64_t	bytes;		/* bytes fed */
	uint64_t	records;	/* good records of any kind */
	uint64_t	page_records;	/* good page_owner records */
	uint64_t	stack_records;	/* good show_stacks-style records */
	uint64_t	pages;		/* sum of 1 << order over page records,
					   and of stack records' nr_base_pages */
	uint64_t	malformed;	/* records rejected (incl. truncated) */
	uint64_t	unknown_lines;	/* lines skipped inside good records */
	uint64_t	pfn_unsorted;	/* page records whose PFN went backwards */
	unsigned	features;	/* union of PO_F_* */
	enum po_malformed first_bad;	/* reason of the first rejected record */
	uint64_t	first_bad_offset; /* its byte offset */
};

/* Return non-zero from the callback to stop; feed returns that value. */
typedef int (*po_record_fn)(const struct po_record *r, void *userdata);

/* Records handed over together by po_parser_feed_batch(): at most PO_BATCH. */
#define PO_BATCH	((size_t)16)
typedef int (*po_batch_fn)(const struct po_record *rs, size_t n, void *userdata);

struct po_parser;

int	 po_parser_new(struct po_parser **ret);
void	 po_parser_free(struct po_parser *p);
void	 po_parser_reset(struct po_parser *p);
void	 po_parser_start_at(struct po_parser *p, uint64_t offset);
int	 po_parser_feed(struct po_parser *p, const char *buf, size_t len,
	    po_record_fn fn, void *userdata);
int	 po_parser_feed_batch(struct po_parser *p, const char *buf, size_t len,
	    po_batch_fn fn, void *userdata);
int	 po_parser_finish(struct po_parser *p, po_record_fn fn, void *userdata);
const struct po_parse_stats *po_parser_stats(const struct po_parser *p);
int	 po_parse_record(const char *buf, size_t len, struct po_record *r,
	    enum po_malformed *ret_why);
const char *po_malformed_str(enum po_malformed why);
void	 po_features_str(unsigned features, char *buf, size_t len);
const char *po_era_str(unsigned features);
void	 po_stats_add(struct po_parse_stats *to, const struct po_parse_stats *from);

/* ---- frame.c: frames, signatures, culprits ----------------------------- */

struct po_frame {
	struct po_span	addr;		/* "[<...>]" address prefix text, or raw */
	struct po_span	sym;		/* symbol name, or the raw address */
	uint64_t	off;		/* +0x offset */
	uint64_t	size;		/* /0x size */
	bool		has_off;	/* sym+off/size form */
	struct po_span	mod;		/* module name inside [ ], if any */
};

/* Iterate the frame lines of a stack span; the line has no ' ' nor '\n'. */
bool	 po_frame_next(struct po_span *stack, struct po_span *ret_line);
void	 po_frame_parse(struct po_span line, struct po_frame *ret);
bool	 po_frame_is_allocator(struct po_span sym);
size_t	 po_stack_signature(struct po_span stack, char *buf, size_t len);

/* Derived facts of a stack, computed once per distinct stack. */
struct po_stack_info {
	struct po_span	culprit;	/* symbol of the first non-allocator frame */
	struct po_span	culprit_line;	/* that frame line as printed */
	struct po_span	module;		/* module that owns it, empty = kernel */
	uint64_t	sig_hash;	/* hash of the offset-free signature */
};
void	 po_stack_describe(struct po_span stack, struct po_stack_info *ret);

/* ---- stacktab.c: interned stacks and strings --------------------------- */

/* An interned stack: its text lives in the table's arena. */
struct po_stack {
	uint64_t	hash;		/* low 64 bits of XXH3-128 of the frame lines */
	uint64_t	hash_hi;	/* its high 64 bits (0 when interned by hash) */
	uint64_t	sig_hash;	/* hash of the signature */
	uint32_t	text_off;	/* frame lines in the arena */
	uint32_t	text_len;
	uint32_t	culprit_id;	/* interned culprit symbol */
	uint32_t	module_id;	/* interned module name ("" = kernel) */
	uint32_t	nframes;	/* frame lines */
	uint32_t	handle;		/* stackdepot handle, if known */
};

/* A string interner: small dense ids for names (comm, memcg, culprit...). */
struct po_strtab;
int	 po_strtab_new(struct po_strtab **ret);
void	 po_strtab_free(struct po_strtab *t);
uint32_t po_strtab_intern(struct po_strtab *t, const char *s, size_t n);
const char *po_strtab_get(const struct po_strtab *t, uint32_t id, size_t *ret_len);
uint32_t po_strtab_count(const struct po_strtab *t);

struct po_stacktab;
int	 po_stacktab_new(struct po_stacktab **ret, struct po_strtab *names);
void	 po_stacktab_free(struct po_stacktab *t);
uint32_t po_stacktab_intern(struct po_stacktab *t, struct po_span stack,
	    unsigned nframes);
uint32_t po_stacktab_intern_hashed(struct po_stacktab *t, uint64_t hash,
	    struct po_span stack, unsigned nframes);
uint32_t po_stacktab_intern_hash128(struct po_stacktab *t, uint64_t h,
	    uint64_t hi, struct po_span stack, unsigned nframes);
void	 po_stacktab_prefetch(const struct po_stacktab *t, uint64_t h);
uint32_t po_stacktab_intern_record(struct po_stacktab *t,
	    const struct po_record *r);
const struct po_stack *po_stacktab_get(const struct po_stacktab *t, uint32_t id);
void	 po_stacktab_set_handle(struct po_stacktab *t, uint32_t id, uint32_t handle);
struct po_span po_stacktab_text(const struct po_stacktab *t, uint32_t id);
uint32_t po_stacktab_count(const struct po_stacktab *t);
uint32_t po_stacktab_find(const struct po_stacktab *t, uint64_t hash);
#define PO_NONE UINT32_MAX

/* ---- agg.c: grouping records ------------------------------------------- */

/* What records can be grouped (culled) and filtered by. */
enum po_key {
	PO_KEY_STACK,		/* exact frames */
	PO_KEY_SIGNATURE,	/* frames without offsets */
	PO_KEY_CULPRIT,		/* first frame outside the allocator */
	PO_KEY_MODULE,		/* module of the culprit (or above it) */
	PO_KEY_COMM,		/* task comm ("name" in page_owner_sort) */
	PO_KEY_PID,
	PO_KEY_TGID,
	PO_KEY_MEMCG,		/* memcg leaf name, "" when not charged */
	PO_KEY_ORDER,
	PO_KEY_GFP,		/* numeric gfp mask */
	PO_KEY_ALLOCATOR,	/* page_owner_sort's CMA/SLAB/VMALLOC/OTHERS */
	PO__KEY_MAX,
};
#define PO_MAX_KEYS 6

enum {
	PO_ATOR_CMA	= 1u << 0,
	PO_ATOR_SLAB	= 1u << 1,
	PO_ATOR_VMALLOC	= 1u << 2,
	PO_ATOR_OTHERS	= 1u << 3,
};

const char *po_key_name(enum po_key k);
int	 po_key_parse(const char *s, enum po_key *ret);
int	 po_keys_parse(const char *list, enum po_key *keys, unsigned *ret_n,
	    char **cause);
void	 po_allocator_str(unsigned ator, char *buf, size_t len);

/* Records must pass every filter that is set. */
struct po_filter {
	int32_t		*pids;		/* any of these pids */
	size_t		 npids;
	int32_t		*tgids;		/* any of these tgids */
	size_t		 ntgids;
	char		**names;	/* any of these comms, exactly */
	size_t		 nnames;
	const char	*module;	/* this module ("kernel" = none) */
	const char	*memcg;		/* this memcg leaf name */
	const char	*culprit;	/* culprit contains this */
	const char	*stack;		/* stack text contains this */
};

/* Two slots: the two dumps of a diff (slot 0 alone for one dump). */
/*
 * What po_agg_add updates for every record comes first and fills one
 * 64-byte line; the array of groups is 64-byte aligned (po_agg), so
 * counting a record touches one cache line of its group.
 */
struct po_group {
	uint64_t	blocks[2];	/* records */
	uint64_t	pages[2];	/* sum of 1 << order */
	uint64_t	ts_min;		/* oldest allocation ts (any slot) */
	uint64_t	ts_max;		/* newest allocation ts */
	uint64_t	free_ts_max;	/* newest free_ts */
	uint32_t	ator;		/* union of allocator bits */
	uint32_t	stack_id;	/* a stack of the group (its first) */
	/* second line on */
	uint64_t	key[PO_MAX_KEYS]; /* ids or values, per po_agg keys */
	uint64_t	anomalies;	/* blocks whose ts == free_ts */
	uint64_t	alloc_pages;	/* diff: pages in B not in A */
	uint64_t	alloc_blocks;
	uint64_t	freed_pages;	/* diff: pages in A not in B */
	uint64_t	freed_blocks;
	int32_t		pid;		/* first record's pid */
	int32_t		tgid;		/* first record's tgid */
	uint32_t	comm_id;	/* first record's comm */
} __attribute__((aligned(64)));

struct po_agg;
struct po_agg_stack_extra;

int	 po_agg_new(struct po_agg **ret, const enum po_key *keys, unsigned nkeys,
	    const struct po_filter *filter);
void	 po_agg_free(struct po_agg *a);
int	 po_agg_add(struct po_agg *a, const struct po_record *r, int slot,
	    uint32_t *ret_group, uint64_t *ret_ident);
void	 po_agg_add_batch(struct po_agg *a, const struct po_record *const *rs,
	    size_t n, int slot, uint32_t *gids, uint64_t *idents, int *rets);
size_t	 po_agg_ngroups(const struct po_agg *a);
struct po_group *po_agg_group(struct po_agg *a, size_t i);
uint64_t po_record_ident(const struct po_record *r, uint64_t stack_hash);
int	 po_agg_add_stack(struct po_agg *a, const struct po_record *r, int slot,
	    uint32_t *ret_group);
void	 po_agg_merge(struct po_agg *into, const struct po_agg *from,
	    uint32_t *ret_map);
unsigned po_agg_nkeys(const struct po_agg *a);
const enum po_key *po_agg_keys(const struct po_agg *a);
struct po_strtab *po_agg_names(const struct po_agg *a);
struct po_stacktab *po_agg_stacks(const struct po_agg *a);
uint64_t po_agg_filtered(const struct po_agg *a);
int	 po_agg_key_str(const struct po_agg *a, const struct po_group *g,
	    unsigned i, char *buf, size_t len);

/* ---- ident.c: block identities of a dump, for diffs -------------------- */

/*
 * A block's identity: where it is, how big, a hash of what allocated it and
 * when, and which group/series it counted in.  Written in PFN order to a
 * file, 16 bytes a block, and merged against the next dump's blocks.
 */
struct po_ident {
	uint64_t	pfn;	/* head PFN */
	uint32_t	hash;	/* low bits of the identity hash */
	uint32_t	ref;	/* the caller's group or series id */
	uint8_t		order;	/* pages = 1 << order */
};

int	 po_ident_write(FILE *f, const struct po_ident *e);
int	 po_ident_read(FILE *f, struct po_ident *ret);

/* Called for blocks of the old dump that are gone, and new blocks. */
typedef void (*po_ident_fn)(const struct po_ident *e, void *userdata);

struct po_ident_merge {
	FILE		*prev;		/* old identities, PFN order */
	struct po_ident	 cur;		/* next old identity */
	bool		 have;		/* cur is valid */
	int		 error;		/* -errno from reading prev */
	bool		 unsorted;	/* an input went backwards in PFN */
	bool		 match_ref;	/* the same block also needs the same ref */
	uint64_t	 last_new_pfn;	/* to check the new side's order */
	uint64_t	 last_old_pfn;	/* and the old side's */
	uint64_t	 matched;	/* blocks found in both */
	po_ident_fn	 freed;		/* old block not in the new dump */
	po_ident_fn	 allocated;	/* new block not in the old dump */
	void		*userdata;
};

void	 po_ident_merge_init(struct po_ident_merge *m, FILE *prev,
	    po_ident_fn freed, po_ident_fn allocated, void *userdata);
void	 po_ident_merge_add(struct po_ident_merge *m, const struct po_ident *e);
int	 po_ident_merge_finish(struct po_ident_merge *m);

/* ---- when.c: points in time and durations, as people write them -------- */

enum po_when_kind {
	PO_WHEN_NOW = 1,	/* "now" */
	PO_WHEN_SNAPSHOT,	/* "123" or "#123": a snapshot id */
	PO_WHEN_TIME,		/* ISO-8601, "@unix", or relative "-2h" */
};

struct po_when {
	enum po_when_kind kind;
	int64_t		 snapshot;	/* PO_WHEN_SNAPSHOT */
	double		 time;		/* PO_WHEN_TIME: Unix seconds */
};

int	 po_when_parse(const char *s, double now, struct po_when *ret, char **cause);
int	 po_duration_parse(const char *s, double *ret_seconds);
int	 po_size_parse(const char *s, uint64_t *ret_bytes);
void	 po_time_str(double t, char *buf, size_t len);
void	 po_duration_str(double seconds, char *buf, size_t len);

#endif
