/*
 * analyze.h: the parts of `analyze` (cmd-analyze.c): reading dumps
 * (analyze-read.c), sorting groups (analyze-sort.c) and writing them as
 * JSON (analyze-json.c).
 */
#ifndef ANALYZE_H
#define ANALYZE_H

#include <stdio.h>
#include <sys/types.h>

#include "pageownerctl.h"

/* Sort keys: page_owner_sort's and ours. */
enum sort_key {
	SORT_PAGES, SORT_BLOCKS, SORT_PID, SORT_TGID, SORT_NAME, SORT_STACK,
	SORT_ALLOC_TS, SORT_FREE_TS, SORT_ALLOCATOR, SORT_NET, SORT_KEY,
};

struct sort_spec {
	enum sort_key	key;
	bool		desc;
};

struct analyze_opts {
	enum po_key	 keys[PO_MAX_KEYS];	/* --by */
	unsigned	 nkeys;
	struct sort_spec sort[8];		/* --sort */
	unsigned	 nsort;
	struct po_filter filter;
	size_t		 top;			/* --top, 0 = all */
	bool		 stacks;		/* --stacks */
	bool		 anomalies;		/* --migration-anomalies */
	unsigned	 threads;		/* --threads */
};

/* One range of one file, parsed by one thread. */
struct scan {
	const char	*path;
	int		 fd;
	off_t		 start;			/* first byte */
	off_t		 end;			/* one past the last, -1 = EOF */
	bool		 stream;		/* read(), not pread() */
	char		*map;			/* the whole file mapped, or NULL */
	struct po_parser *parser;
	struct po_agg	*agg;
	int		 slot;			/* 0 = first dump, 1 = second */
	bool		 anomalies;		/* keep only ts == free_ts blocks */
	FILE		*ident_out;		/* first dump of a diff */
	struct po_ident_merge *merge;		/* second dump of a diff */
	uint64_t	 first_pfn;		/* PFN range seen, for ordering */
	uint64_t	 last_pfn;
	bool		 any_pfn;
	int		 error;			/* -errno of a read */
	bool		 shrank;		/* the file was cut short while mapped */
	int		 werror;		/* -errno of an identity write */
};

/* The result of reading one file. */
struct dump {
	const char	*path;
	struct po_parse_stats st;
	bool		 unsorted;		/* PFNs not ascending */
};


#define MAX_THREADS	8		/* --threads at most */

/* analyze-read.c */
int	 read_dump(const struct analyze_opts *o, struct dump *d, struct po_agg *agg,
	    int slot, FILE *ident_out, struct po_ident_merge *merge, char **cause);
void	 diff_freed(const struct po_ident *e, void *userdata);
void	 diff_allocated(const struct po_ident *e, void *userdata);
unsigned default_threads(void);

/* analyze-sort.c */
int	 parse_sort(struct analyze_opts *o, const char *list, char **cause);
void	 sort_groups(const struct analyze_opts *o, struct po_agg *agg, bool diff,
	    struct po_group **gs, size_t n);
int	 parse_id_list(const char *list, int32_t **ret, size_t *ret_n);
void	 parse_name_list(const char *list, char ***ret, size_t *ret_n);

/* analyze-json.c */
bool	 has_key(const struct analyze_opts *o, enum po_key k);
json_t	*jtext(const char *p, size_t n);
json_t	*stats_json(const struct dump *d);
void	 print_groups_json(const struct analyze_opts *o, struct po_agg *agg,
	    json_t *head, struct po_group **gs, size_t n);
void	 json_stream_end(void);
void	 print_diff_json(const struct analyze_opts *o, struct po_agg *agg,
	    json_t *head, struct po_group **gs, size_t n, bool idents);

#endif
