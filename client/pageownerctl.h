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
#include "proto.h"

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

/*
 * A command's option.  The command's table of them drives parsing
 * (opts_parse), its usage line and help, and shell completion.  Daemon
 * commands map options to request params; others have them call fn.
 */
enum opt_type {
	OPT_STR,		/* params[param] = the argument */
	OPT_INT,		/* params[param] = the argument, a number */
	OPT_BOOL,		/* params[param] = true */
	OPT_LIST,		/* params[param][] += the argument, KEY=VALUE */
	OPT_JSON,		/* --json after the command */
	OPT_FN,			/* fn(ud, the argument or NULL) */
};
struct cmd_opt {
	const char	*name;		/* long option, or NULL with a short one */
	int		 short_name;	/* or 0 */
	enum opt_type	 type;
	const char	*param;		/* the request param it sets */
	const char	*arg;		/* its argument, for usage and help; NULL: none */
	const char	*help;		/* for help CMD (lines); NULL: not shown */
	int		(*fn)(void *ud, const struct cmd_opt *o, const char *arg,
			    char **cause);
};

/* The options most daemon commands share, with their usual help. */
#define OPT_E_SINCE { "since", 0, OPT_STR, "since", "WHEN",			\
	"from this snapshot id, ISO-8601 time or relative\n"			\
	"time (-2h, -7d); default the first snapshot", NULL }
#define OPT_E_UNTIL { "until", 0, OPT_STR, "until", "WHEN",			\
	"up to this one; default the latest", NULL }
#define OPT_E_BY { "by", 0, OPT_STR, "by", "KEY",				\
	"group by stack (default), culprit, module, comm,\n"			\
	"memcg or order", NULL }
#define OPT_E_MATCH { "match", 0, OPT_LIST, "match", "KEY=GLOB",		\
	"keep groups whose KEY matches (repeatable): stack\n"			\
	"(id prefix), culprit or module when grouping by\n"			\
	"stack or culprit, else the grouped dimension", NULL }
#define OPT_E_LIMIT { "limit", 0, OPT_INT, "limit", "N",			\
	"at most N rows (default 20, at most 10000)", NULL }
#define OPT_E_JSON(help) { "json", 0, OPT_JSON, NULL, NULL, help, NULL }
#define OPT_E_END { NULL, 0, 0, NULL, NULL, NULL, NULL }

/* One command: one const entry per cmd-*.c file, listed in cmd.c. */
struct cmd_entry {
	const char	*name;		/* full name */
	const char	*alias;		/* another accepted name, or NULL */
	const char	*args;		/* positional arguments, for usage */
	const char	*summary;	/* one line for the command list */
	const char	*about;		/* help CMD's text before the options */
	const struct cmd_opt *opts;	/* ended by a NULL name and short name */
	int		(*exec)(struct ctl *ctl, int argc, char **argv);
};

/* cmd.c */
extern const struct cmd_entry *const cmd_table[];
const struct cmd_entry *cmd_find(const char *name, char **cause);
void	 cmd_usage(FILE *f, const struct cmd_entry *c);
void	 cmd_help(FILE *f, const struct cmd_entry *c);
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
bool	 fmt_estimate(json_t *e, bool growth, char *buf, size_t len);
void	 estimate_note(const struct ctl *ctl, json_t *est);

/* options.c */
int	 opts_parse(const struct cmd_entry *c, int argc, char **argv, void *ud,
	    json_t **ret_params, int *ret_optind);
bool	 opts_take_json(json_t *params);
/* From opts_parse_args and cmd_query: go on; else the command's exit status. */
enum { CMD_CONTINUE = -2 };
int	 opts_parse_args(const struct cmd_entry *c, struct ctl *ctl, int argc,
	    char **argv, int nargs, const char *few, const char *many,
	    json_t **ret_params, int *ret_first);
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
extern const struct cmd_entry cmd_pin_entry;
extern const struct cmd_entry cmd_prune_entry;
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
