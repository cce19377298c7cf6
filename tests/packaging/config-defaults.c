/*
 * config-defaults.c: does etc/page-ownerd.conf show the real defaults?
 * tests/packaging/run.sh builds this against the daemon's own config.c and
 * runs it on the shipped file with every "#key = value" line uncommented:
 * parsing it over config_defaults() must change nothing.  Prints one line
 * per setting that differs and exits 1 if any does (2 if the file does not
 * parse).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page-ownerd.h"

static int bad;

static void
str(const char *key, const char *def, const char *got)
{
	if (strcmp(def, got) != 0) {
		printf("%s: default '%s', the file says '%s'\n", key, def, got);
		bad = 1;
	}
}

static void
num(const char *key, double def, double got)
{
	if (fabs(def - got) > 1e-9 * fabs(def)) {
		printf("%s: default %.9g, the file says %.9g\n", key, def, got);
		bad = 1;
	}
}

int
main(int argc, char **argv)
{
	struct config def, got;
	char *cause = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: config-defaults FILE\n");
		return 2;
	}
	config_defaults(&def);
	config_defaults(&got);
	if (config_load(&got, argv[1], true, &cause) < 0) {
		printf("the file does not parse: %s\n", cause);
		return 2;
	}
	str("source", def.source, got.source);
	str("database", def.db, got.db);
	str("socket", def.socket, got.socket);
	str("socket_group", def.group, got.group);
	str("metrics_listen", def.metrics_listen ? def.metrics_listen : "none",
	    got.metrics_listen ? got.metrics_listen : "none");
	num("interval", def.interval, got.interval);
	num("log_level", def.log_level, got.log_level);
	num("mode", def.mode, got.mode);
	num("full_every", def.full_every, got.full_every);
	num("full_trigger", def.full_trigger, got.full_trigger);
	num("cpu_budget", def.cpu_budget, got.cpu_budget);
	num("read_pace", def.read_pace, got.read_pace);
	num("read_timeout", def.read_timeout, got.read_timeout);
	num("keep_full", def.keep_full, got.keep_full);
	num("keep_hourly", def.keep_hourly, got.keep_hourly);
	num("max_db_size", (double)def.max_db_size, (double)got.max_db_size);
	num("max_stacks", def.max_stacks, got.max_stacks);
	num("max_series", def.max_series, got.max_series);
	num("window", (double)def.window, (double)got.window);
	num("sweep_windows", def.sweep_windows, got.sweep_windows);
	num("readers", def.readers, got.readers);
	num("max_combos", def.max_combos, got.max_combos);
	config_free(&def);
	config_free(&got);
	return bad;
}
