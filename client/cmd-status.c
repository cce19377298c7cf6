/*
 * cmd-status.c: `status`, what the daemon is doing and how it is doing.
 */
#include <string.h>

#include "pageownerctl.h"

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static double
jnum(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static json_int_t
jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static int
cmd_status_exec(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *res, *last, *err, *snaps, *db, *cpu, *cl, *src, *sw;
	char dur[32], size[32];
	int ret;

	ret = opts_parse_args(&cmd_status_entry, ctl, argc, argv, 0, NULL,
	    "no arguments expected", &params, NULL);
	if (ret != CMD_CONTINUE)
		return ret;
	ret = cmd_query(ctl, PO_M_STATUS, params, &res);
	if (ret != CMD_CONTINUE)
		return ret;
	src = json_object_get(res, "source");
	po_duration_str(jnum(res, "uptime_s"), dur, sizeof(dur));
	printf("page-ownerd %s (protocol %lld), pid %lld, up %s\n", jstr(res, "version"),
	    (long long)jint(res, "protocol"), (long long)jint(res, "pid"), dur);
	printf("source:     %s (%s), mode %s, ", jstr(src, "path"),
	    jstr(src, "kind"), jstr(res, "mode"));
	/* the configured interval, and the one kept when they differ (why) */
	if (strcmp(jstr(res, "interval_reason"), "cpu_budget") == 0) {
		json_t *b = json_object_get(res, "budget");

		printf("every %.0fs (configured every %gs; stretched to keep within the "
		    "CPU budget of %g%% of one CPU: a snapshot costs %.2fs of CPU on "
		    "average)", jnum(res, "effective_interval_s"), jnum(res, "interval_s"),
		    100 * jnum(b, "cpu_share"), jnum(b, "avg_snapshot_cpu_s"));
	} else {
		printf("every %gs (as configured)", jnum(res, "interval_s"));
	}
	if (json_object_get(src, "replay") != NULL) {
		json_t *rp = json_object_get(src, "replay");

		printf("; replay %lld of %lld files%s", (long long)jint(rp, "next"),
		    (long long)jint(rp, "total"),
		    json_is_true(json_object_get(rp, "done")) ? ", finished" : "");
	}
	printf("\nstatus:     %s\n", jstr(res, "status"));
	last = json_object_get(res, "last_snapshot");
	if (json_is_object(last)) {
		fmt_size((uint64_t)jint(last, "pages"), size, sizeof(size));
		printf("last:       snapshot %lld at %s: %lld records, %lld pages (%s), "
		    "%lld series changed, %.2fs (CPU %.2fs user, %.2fs system)\n",
		    (long long)jint(last, "id"), jstr(last, "time"),
		    (long long)jint(last, "records"), (long long)jint(last, "pages"),
		    size, (long long)jint(last, "changed"), jnum(last, "duration_s"),
		    jnum(last, "cpu_user_s"), jnum(last, "cpu_sys_s"));
	} else {
		printf("last:       no snapshot yet\n");
	}
	/* a line only while sampling: without it the output is as it was */
	sw = json_object_get(res, "sweep");
	if (jnum(sw, "sample_percent") > 0)
		printf("sweep:      %lld windows, sample %g%%, %lld strat%s; the latest "
		    "snapshot %s\n", (long long)jint(sw, "windows"),
		    jnum(sw, "sample_percent"), (long long)jint(sw, "strata"),
		    jint(sw, "strata") == 1 ? "um" : "a",
		    json_is_true(json_object_get(sw, "estimated")) ?
		    "carries an estimate" : "carries no estimate");
	printf("next:       %s%s\n", jstr(res, "next_snapshot"),
	    json_is_true(json_object_get(res, "snapshot_running")) ?
	    " (one is being taken now)" : "");
	err = json_object_get(res, "last_error");
	if (json_is_object(err))
		printf("last error: %s: %s\n", jstr(err, "time"), jstr(err, "message"));
	snaps = json_object_get(res, "snapshots");
	printf("snapshots:  %lld taken, %lld failed since start; %lld stored (%lld to %lld)\n",
	    (long long)jint(snaps, "taken"), (long long)jint(snaps, "failed"),
	    (long long)jint(snaps, "stored"), (long long)jint(snaps, "first"),
	    (long long)jint(snaps, "last"));
	db = json_object_get(res, "database");
	po_human_bytes((uint64_t)jint(db, "bytes"), size, sizeof(size));
	printf("database:   %s, %s\n", jstr(db, "path"), size);
	cpu = json_object_get(res, "cpu");
	printf("cpu:        daemon %.2fs user, %.2fs system; page_owner reader "
	    "%.2fs user, %.2fs system\n", jnum(cpu, "user_s"), jnum(cpu, "sys_s"),
	    jnum(cpu, "reader_user_s"), jnum(cpu, "reader_sys_s"));
	cl = json_object_get(res, "clients");
	printf("clients:    %lld connected (at most %lld)\n",
	    (long long)jint(cl, "connected"), (long long)jint(cl, "max"));
	json_decref(res);
	return EXIT_OK;
}

static const struct cmd_opt cmd_status_opts[] = {
	OPT_E_JSON("the daemon's reply as it is"),
	OPT_E_END,
};

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.summary = "What the daemon reads, its last snapshot and its health",
	.opts = cmd_status_opts,
	.exec = cmd_status_exec,
};
