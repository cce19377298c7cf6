/*
 * pageownerctl.h: the client's private header, grouped by source file.
 */
#ifndef PAGEOWNERCTL_H
#define PAGEOWNERCTL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "po.h"

/* Exit statuses, as the man page lists them. */
enum {
	EXIT_OK		= 0,
	EXIT_REFUSED	= 1,	/* the daemon said no, or a runtime failure */
	EXIT_USAGE	= 2,	/* bad command line */
	EXIT_NODAEMON	= 3,	/* cannot reach the daemon */
};

/* Settings that every command sees. */
struct ctl {
	const char	*socket_path;	/* daemon socket */
	bool		 json;		/* --json: print the daemon's JSON */
	bool		 no_headers;	/* --no-headers */
	bool		 color;		/* stdout is a terminal and NO_COLOR unset */
	const char	*argv0;		/* program name for messages */
};

/* One command: one const entry per cmd-*.c file, listed in cmd.c. */
struct cmd_entry {
	const char	*name;		/* full name */
	const char	*alias;		/* another accepted name, or NULL */
	const char	*usage;		/* arguments synopsis */
	const char	*summary;	/* one line for the command list */
	const char	*help;		/* options, one per line, for help CMD */
	const char	*options;	/* long options for completion, space-separated */
	int		(*exec)(struct ctl *ctl, int argc, char **argv);
};

/* cmd.c */
extern const struct cmd_entry *const cmd_table[];
const struct cmd_entry *cmd_find(const char *name, char **cause);
void	 cmd_usage(FILE *f, const struct cmd_entry *c);
int	 cmd_usage_error(const struct cmd_entry *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 cmd_list(FILE *f);

/* table.c */
enum table_align { TABLE_LEFT, TABLE_RIGHT };
struct table;
struct table *table_new(void);
void	 table_free(struct table *t);
void	 table_col(struct table *t, const char *name, enum table_align align);
void	 table_cell(struct table *t, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 table_note(struct table *t, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 table_print(struct table *t, FILE *f, bool headers);
void	 fmt_pages(uint64_t pages, char *buf, size_t len);
void	 fmt_signed_pages(int64_t pages, char *buf, size_t len);
void	 fmt_size(uint64_t pages, char *buf, size_t len);
void	 json_print(const struct ctl *ctl, json_t *j);
void	 fmt_signed_size(int64_t pages, char *buf, size_t len);
void	 fmt_age(double seconds, char *buf, size_t len);
bool	 locale_utf8(void);
void	 display_scrub(char *s);
void	 json_display_scrub(json_t *j);
void	 fmt_spark(const int64_t *v, size_t n, size_t max, char *buf, size_t len);
void	 fmt_spark_json(json_t *a, const char *field, size_t max, char *buf,
	    size_t len);
enum clr { CLR_OFF, CLR_BOLD, CLR_RED, CLR_GREEN };
const char *clr(const struct ctl *ctl, enum clr c);
const char *jv_str(json_t *o, const char *key);
long long jv_int(json_t *o, const char *key);
double	 jv_num(json_t *o, const char *key);
void	 group_cols(struct table *t, const char *by);
void	 group_cells(struct table *t, const char *by, json_t *g);
void	 window_note(const struct ctl *ctl, json_t *w);

/* options.c */
enum {
	OPT_SINCE = 1 << 0, OPT_UNTIL = 1 << 1, OPT_AT = 1 << 2, OPT_BY = 1 << 3,
	OPT_MATCH = 1 << 4, OPT_LIMIT = 1 << 5,
	OPT_WINDOW = OPT_SINCE | OPT_UNTIL | OPT_BY | OPT_MATCH | OPT_LIMIT,
};
enum opt_type { OPT_STR, OPT_INT, OPT_BOOL, OPT_LIST };
/* A command's own option, mapped to a request param. */
struct cmd_opt {
	const char	*name;		/* long option */
	const char	*param;		/* param it sets */
	enum opt_type	 type;
};
int	 opts_parse(const struct cmd_entry *c, int argc, char **argv,
	    unsigned shared, const struct cmd_opt *extra, json_t **ret_params,
	    int *ret_optind);
bool	 opts_take_json(json_t *params);
/* From opts_parse_args and cmd_query: go on; else the command's exit status. */
enum { CMD_CONTINUE = -2 };
int	 opts_parse_args(const struct cmd_entry *c, struct ctl *ctl, int argc,
	    char **argv, unsigned shared, const struct cmd_opt *extra, int nargs,
	    const char *few, const char *many, json_t **ret_params, int *ret_first);
int	 cmd_query(const struct ctl *ctl, const char *method, json_t *params,
	    json_t **ret_res);

/* rpc.c */
struct rpc;
int	 rpc_connect(const struct ctl *ctl, struct rpc **ret);
void	 rpc_close(struct rpc *r);
int	 rpc_send(struct rpc *r, const char *method, json_t *params);
int	 rpc_read(struct rpc *r, int timeout_ms, json_t **ret);
int	 rpc_call(struct rpc *r, const char *method, json_t *params,
	    json_t **ret_result);
int	 rpc_oneshot(const struct ctl *ctl, const char *method, json_t *params,
	    json_t **ret_result);

/* cmd-analyze.c */
extern const struct cmd_entry cmd_analyze_entry;

/* cmd-help.c */
extern const struct cmd_entry cmd_help_entry;

/* cmd-status.c, cmd-snapshots.c, cmd-snapshot.c */
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_snapshots_entry;
extern const struct cmd_entry cmd_snapshot_entry;

/* cmd-top.c, cmd-growers.c, cmd-leaks.c: who holds, who grows, who leaks */
extern const struct cmd_entry cmd_top_entry;
extern const struct cmd_entry cmd_growers_entry;
extern const struct cmd_entry cmd_leaks_entry;

/* cmd-history.c, cmd-stack.c, cmd-diff.c: one series, one stack, two points */
extern const struct cmd_entry cmd_history_entry;
extern const struct cmd_entry cmd_stack_entry;
extern const struct cmd_entry cmd_diff_entry;

/* cmd-watch.c, cmd-export.c */
extern const struct cmd_entry cmd_watch_entry;
extern const struct cmd_entry cmd_export_entry;
int	 export_write_atomic(const char *path, const char *data, size_t len,
	    char **cause);

/* cmd-export-pprof.c: export --format pprof */
int	 export_pprof_build(json_t *res, uint8_t **ret, size_t *ret_len, char **cause);
int	 cmd_export_pprof(struct ctl *ctl, json_t *params, const char *output);

/* pprof.c: a pprof profile (profile.proto), gzipped */
struct pprof;
struct pprof *pprof_new(void);
void	 pprof_free(struct pprof *p);
void	 pprof_set_time(struct pprof *p, int64_t time_nanos);
void	 pprof_drop_frames(struct pprof *p, const char *regexp);
int	 pprof_label(struct pprof *p, const char *key, const char *value);
int	 pprof_sample(struct pprof *p, const char *const *frames, size_t nframes,
	    int64_t pages, int64_t bytes);
int	 pprof_write(struct pprof *p, uint8_t **ret, size_t *ret_len, char **cause);

#endif
