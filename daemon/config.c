/*
 * config.c: settings from /etc/page-ownerd/page-ownerd.conf ("key = value"
 * lines, '#' comments) and from the command line, which wins.  A bad line
 * is an error naming the file and line; nothing is half-applied: the caller
 * parses into a copy and keeps the old settings when parsing fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "page-ownerd.h"

#define CONFIG_MAX_SIZE ((size_t)256 << 10)

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->source = po_xstrdup(PO_DEFAULT_SOURCE);
	c->db = po_xstrdup(PO_DEFAULT_DB);
	c->socket = po_xstrdup(PO_DEFAULT_SOCKET);
	c->group = po_xstrdup("page-ownerd");
	c->interval = 60;
	c->log_level = LOG_INFO;
	c->mode = MODE_AUTO;
	c->full_every = 10;
	c->cpu_budget = 0.02;
	c->keep_full = 7 * 86400;
	c->keep_hourly = 90 * 86400;
	c->max_db_size = UINT64_C(1) << 30;
	c->max_stacks = 1000000;
	c->max_series = 2000000;
	c->read_timeout = 30;
	c->full_trigger = 2560;
	c->read_pace = 0.5;
	c->window = UINT64_C(1) << 30;
	c->sweep_windows = 0;
	c->readers = 1;
	c->max_combos = 200000;
}

void
config_free(struct config *c)
{
	free(c->path);
	free(c->source);
	free(c->db);
	free(c->socket);
	free(c->group);
	free(c->metrics_listen);
	memset(c, 0, sizeof(*c));
}

void
config_copy(struct config *dst, const struct config *src)
{
	*dst = *src;
	dst->path = src->path ? po_xstrdup(src->path) : NULL;
	dst->source = po_xstrdup(src->source);
	dst->db = po_xstrdup(src->db);
	dst->socket = po_xstrdup(src->socket);
	dst->group = po_xstrdup(src->group);
	dst->metrics_listen = src->metrics_listen ? po_xstrdup(src->metrics_listen) : NULL;
}

const char *
config_mode_name(enum collect_mode m)
{
	switch (m) {
	case MODE_FULL: return "full";
	case MODE_STACKS: return "stacks";
	case MODE_AUTO: return "auto";
	case MODE_SWEEP: return "sweep";
	}
	return "?";
}

static int
set_str(char **dst, const char *v, const char *key, char **cause)
{
	if (*v == '\0') {
		po_asprintf(cause, "%s needs a value", key);
		return -EINVAL;
	}
	if (strlen(v) >= 4096) {
		po_asprintf(cause, "%s is too long", key);
		return -EINVAL;
	}
	free(*dst);
	*dst = po_xstrdup(v);
	return 0;
}

static int
set_duration(double *dst, const char *v, double min, double max,
    const char *key, char **cause)
{
	double d;

	if (po_duration_parse(v, &d) < 0 || d < min || d > max) {
		po_asprintf(cause, "%s: '%s' is not a duration from %gs to %gs "
		    "(like 60, 90s, 5m, 7d)", key, v, min, max);
		return -EINVAL;
	}
	*dst = d;
	return 0;
}

static int
set_u32(uint32_t *dst, const char *v, uint64_t min, uint64_t max,
    const char *key, char **cause)
{
	uint64_t u;

	if (po_parse_u64(v, &u) < 0 || u < min || u > max) {
		po_asprintf(cause, "%s: '%s' is not a number from %llu to %llu",
		    key, v, (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*dst = (uint32_t)u;
	return 0;
}

/* ADDR:PORT ("127.0.0.1:9466", "[::1]:9466", "0.0.0.0:9466"), or none. */
static int
set_listen(char **dst, const char *v, char **cause)
{
	const char *colon = strrchr(v, ':');
	char host[64], *end;
	unsigned char addr[16];
	size_t hlen;
	unsigned long port;

	if (*v == '\0' || strcmp(v, "none") == 0) {
		free(*dst);
		*dst = NULL;
		return 0;
	}
	hlen = colon ? (size_t)(colon - v) : 0;
	port = colon ? strtoul(colon + 1, &end, 10) : 0;
	/* the port in digits only: strtoul would take leading blanks, "+", "-" */
	if (colon == NULL || hlen == 0 || hlen >= sizeof(host) ||
	    colon[1] < '0' || colon[1] > '9' || strlen(colon + 1) > 5 ||
	    *end != '\0' || port == 0 || port > 65535)
		goto bad;
	if (v[0] == '[') {
		if (hlen < 3 || v[hlen - 1] != ']')
			goto bad;
		memcpy(host, v + 1, hlen - 2);
		host[hlen - 2] = '\0';
		if (inet_pton(AF_INET6, host, addr) != 1)
			goto bad;
	} else {
		memcpy(host, v, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, addr) != 1)
			goto bad;
	}
	free(*dst);
	*dst = po_xstrdup(v);
	return 0;
bad:
	po_asprintf(cause, "metrics_listen: '%.100s' is not ADDR:PORT (like "
	    "127.0.0.1:9466 or [::1]:9466), or none", v);
	return -EINVAL;
}

int
config_set(struct config *c, const char *key, const char *v, char **cause)
{
	if (strcmp(key, "source") == 0)
		return set_str(&c->source, v, key, cause);
	if (strcmp(key, "database") == 0 || strcmp(key, "db") == 0)
		return set_str(&c->db, v, key, cause);
	if (strcmp(key, "socket") == 0)
		return set_str(&c->socket, v, key, cause);
	if (strcmp(key, "socket_group") == 0)
		return set_str(&c->group, v, key, cause);
	if (strcmp(key, "interval") == 0)
		return set_duration(&c->interval, v, 1, 86400, key, cause);
	if (strcmp(key, "read_timeout") == 0)
		return set_duration(&c->read_timeout, v, 1, 3600, key, cause);
	if (strcmp(key, "keep_full") == 0)
		return set_duration(&c->keep_full, v, 3600, 3650.0 * 86400, key, cause);
	if (strcmp(key, "keep_hourly") == 0)
		return set_duration(&c->keep_hourly, v, 3600, 3650.0 * 86400, key, cause);
	if (strcmp(key, "log_level") == 0) {
		if (log_level_parse(v, &c->log_level) < 0) {
			po_asprintf(cause, "log_level: '%s' is not one of error, "
			    "warning, notice, info, debug", v);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "mode") == 0) {
		if (strcmp(v, "full") == 0)
			c->mode = MODE_FULL;
		else if (strcmp(v, "stacks") == 0)
			c->mode = MODE_STACKS;
		else if (strcmp(v, "auto") == 0)
			c->mode = MODE_AUTO;
		else if (strcmp(v, "sweep") == 0)
			c->mode = MODE_SWEEP;
		else {
			po_asprintf(cause, "mode: '%s' is not one of full, stacks, auto, "
			    "sweep", v);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "full_every") == 0)
		return set_u32(&c->full_every, v, 1, 100000, key, cause);
	if (strcmp(key, "sample") == 0) {
		char *end;
		double pct = strtod(v, &end);

		/* 0 turns it off; otherwise as cpu_budget (a denormal is not > 0) */
		if (end == v || (*end != '\0' && strcmp(end, "%") != 0) ||
		    !(pct == 0 || (pct / 100.0 > 0 && pct <= 100))) {
			po_asprintf(cause, "sample: '%s' is not a percentage from 0 (off) "
			    "to 100 (like 10%%)", v);
			return -EINVAL;
		}
		c->sample = pct / 100.0;
		return 0;
	}
	if (strcmp(key, "read_pace") == 0 || strcmp(key, "cpu_budget") == 0) {
		char *end;
		double pct = strtod(v, &end);

		/* pct / 100 > 0, not pct > 0: a denormal like 5e-324 % is 0 */
		if (end == v || (*end != '\0' && strcmp(end, "%") != 0) ||
		    !(pct / 100.0 > 0 && pct <= 100)) {
			po_asprintf(cause, "%s: '%s' is not a percentage from 0 to 100 "
			    "(like %s)", key, v, key[0] == 'r' ? "50%" : "2%");
			return -EINVAL;
		}
		*(key[0] == 'r' ? &c->read_pace : &c->cpu_budget) = pct / 100.0;
		return 0;
	}
	if (strcmp(key, "full_trigger") == 0)
		return set_u32(&c->full_trigger, v, 1, UINT32_MAX, key, cause);
	if (strcmp(key, "max_stacks") == 0)
		return set_u32(&c->max_stacks, v, 100, 100000000, key, cause);
	if (strcmp(key, "max_series") == 0)
		return set_u32(&c->max_series, v, 100, 200000000, key, cause);
	if (strcmp(key, "max_db_size") == 0) {
		if (strcmp(v, "0") == 0 || strcmp(v, "none") == 0) {
			c->max_db_size = 0;
			return 0;
		}
		if (po_size_parse(v, &c->max_db_size) < 0 ||
		    c->max_db_size < (UINT64_C(1) << 20)) {
			po_asprintf(cause, "max_db_size: '%s' is not a size of at "
			    "least 1M (like 512M, 2G), or 0 for no cap", v);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "metrics_listen") == 0)
		return set_listen(&c->metrics_listen, v, cause);
	if (strcmp(key, "window") == 0) {
		/* whole pages, at least 1 MiB of memory: a window is a PFN range */
		uint64_t w;

		if (po_size_parse(v, &w) < 0 || w < (UINT64_C(1) << 20) ||
		    w > (UINT64_C(1) << 50)) {
			po_asprintf(cause, "window: '%s' is not a size from 1M to 1P "
			    "(like 256M, 1G)", v);
			return -EINVAL;
		}
		c->window = w;
		return 0;
	}
	if (strcmp(key, "sweep_windows") == 0)
		return set_u32(&c->sweep_windows, v, 0, 1000000, key, cause);
	if (strcmp(key, "max_combos") == 0)
		return set_u32(&c->max_combos, v, 1000, 100000000, key, cause);
	if (strcmp(key, "readers") == 0)
		return set_u32(&c->readers, v, 1, 64, key, cause);
	po_asprintf(cause, "unknown setting '%s'", key);
	return -EINVAL;
}

static char *
trim(char *s, char *e)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*e = '\0';
	return s;
}

/* Parse a whole file's text; on error nothing is promised about c. */
int
config_parse(struct config *c, const char *buf, size_t len, const char *name,
    char **cause)
{
	_cleanup_free_ char *text = NULL;
	char *line, *next;
	unsigned lineno = 0;

	if (len > CONFIG_MAX_SIZE) {
		po_asprintf(cause, "%s: larger than %zu KiB", name, CONFIG_MAX_SIZE >> 10);
		return -EFBIG;
	}
	if (memchr(buf, '\0', len) != NULL) {
		po_asprintf(cause, "%s: contains a NUL byte", name);
		return -EINVAL;
	}
	text = po_xstrndup(buf, len);
	for (line = text; line != NULL; line = next) {
		char *nl = strchr(line, '\n'), *eq, *key, *val, *end;
		_cleanup_free_ char *why = NULL;

		lineno++;
		next = nl ? nl + 1 : NULL;
		end = nl ? nl : line + strlen(line);
		line = trim(line, end);
		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL) {
			po_asprintf(cause, "%s:%u: expected 'key = value', got '%.60s'",
			    name, lineno, line);
			return -EINVAL;
		}
		key = trim(line, eq);
		val = trim(eq + 1, eq + 1 + strlen(eq + 1));
		if (strlen(val) >= 2 && val[0] == '"' && val[strlen(val) - 1] == '"') {
			val[strlen(val) - 1] = '\0';
			val++;
		}
		if (config_set(c, key, val, &why) < 0) {
			po_asprintf(cause, "%s:%u: %s", name, lineno, why);
			return -EINVAL;
		}
	}
	return 0;
}

int
config_load(struct config *c, const char *path, bool must_exist, char **cause)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		r = -errno;
		po_asprintf(cause, "cannot open config '%s': %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > CONFIG_MAX_SIZE) {
		po_asprintf(cause, "config '%s' is not a regular file under %zu KiB",
		    path, CONFIG_MAX_SIZE >> 10);
		close(fd);
		return -EINVAL;
	}
	buf = po_xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	r = config_parse(c, buf, got, path, cause);
	if (r == 0) {
		free(c->path);
		c->path = po_xstrdup(path);
	}
	return r;
}
