/*
 * rpc-stubs.c: what fuzz-rpc.c puts in place of server.c, collect.c and
 * main.c, so that the real dispatch table (methods.c, query.c, window.c)
 * runs without a socket, a thread or an event loop.  Linked into
 * fuzz-rpc (it is not a fuzz target of its own).
 *
 * The fake client records every message the daemon would have written to
 * the socket, encoded exactly as server.c encodes it; a message that
 * cannot be built or encoded (server.c would close the connection
 * instead of answering) is a finding, an abort().
 *
 * It also holds the schema migrations: store.c wants the array that
 * tests/tools/embed-sql.sh generates into the build tree, which a fuzz
 * build (compiled from the sources alone) does not have.  They are read
 * from schema/NNN-*.sql at start instead, into writable storage: this file
 * deliberately does not include store-migrations.h, whose declaration says
 * const.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/page-ownerd.h"

#define STUB_CHECK(x) do {						\
		if (!(x)) {						\
			fprintf(stderr, "rpc-stubs: %s:%d: %s\n",	\
			    __FILE__, __LINE__, #x);			\
			abort();					\
		}							\
	} while (0)

/* ---- the client -------------------------------------------------------- */

struct client {
	int		 refs;
	bool		 subscribed;
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	json_t		*sent;		/* messages, as the JSON text written */
};

struct client *stub_client_new(uid_t uid);
void	 stub_client_free(struct client *c);
json_t	*stub_client_sent(struct client *c);
int	 stub_load_migrations(const char *top, char **cause);

struct client *
stub_client_new(uid_t uid)
{
	struct client *c = calloc(1, sizeof(*c));

	STUB_CHECK(c != NULL);
	c->refs = 1;
	c->uid = uid;
	c->gid = uid;
	c->pid = 4242;
	c->sent = json_array();
	return c;
}

void
stub_client_free(struct client *c)
{
	/* every reference a pending reply took must be back by now */
	STUB_CHECK(c->refs == 1);
	json_decref(c->sent);
	free(c);
}

json_t *
stub_client_sent(struct client *c)
{
	return c->sent;
}

/* As server.c's client_send: one compact line; never NULL. */
static void
stub_send(struct client *c, json_t *msg)
{
	char *s;

	STUB_CHECK(msg != NULL);	/* json_pack failed: the reply is lost */
	s = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
	STUB_CHECK(s != NULL);		/* server.c would close the connection */
	STUB_CHECK(strchr(s, '\n') == NULL);
	json_array_append_new(c->sent, json_string(s));
	free(s);
}

struct client *
client_ref(struct client *c)
{
	c->refs++;
	return c;
}

void
client_unref(struct client *c)
{
	STUB_CHECK(c->refs > 1);	/* the harness holds the last one */
	c->refs--;
}

bool
client_alive(const struct client *c)
{
	(void)c;
	return true;
}

void
client_creds(const struct client *c, uid_t *uid, gid_t *gid, pid_t *pid)
{
	*uid = c->uid;
	*gid = c->gid;
	*pid = c->pid;
}

/* ---- the server: the same messages as server.c ---------------------------- */

void
server_reply(struct client *c, json_t *id, json_t *result)
{
	json_t *msg;

	if (id == NULL) {
		json_decref(result);
		return;
	}
	msg = json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "result",
	    result ? result : json_null(), "id", id);
	stub_send(c, msg);
	json_decref(msg);
}

void
server_error(struct client *c, json_t *id, int code, const char *message)
{
	json_t *msg;

	msg = json_pack("{s:s, s:{s:i, s:s}, s:O}", "jsonrpc", "2.0", "error",
	    "code", code, "message", message, "id", id ? id : json_null());
	stub_send(c, msg);
	json_decref(msg);
}

void
server_subscribe(struct client *c)
{
	c->subscribed = true;
}

void
server_stats(const struct server *s, json_t *into)
{
	(void)s;
	json_object_set_new(into, "clients", json_pack("{s:i, s:i}",
	    "connected", 1, "max", PO_MAX_CLIENTS));
}

/* ---- the collector and main.c ------------------------------------------------ */

bool
collector_busy(struct collector *c)
{
	(void)c;
	return false;
}

int
daemon_request_snapshot(struct daemon *d)
{
	d->snapshots_issued++;
	return 0;
}

/* main.c's CPU budget figures, for status: none spent here */
void
budget_stats(const struct daemon *d, double now, struct budget *ret)
{
	(void)now;
	memset(ret, 0, sizeof(*ret));
	ret->window = d->cfg.interval;
}

/* ---- migrations, read from schema/ ------------------------------------------- */

struct migration {
	int		 version;
	const char	*name;
	const char	*sql;
};

#define STUB_MAX_MIGRATIONS 256

struct migration migrations[STUB_MAX_MIGRATIONS];
size_t nmigrations;

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
stub_load_migrations(const char *top, char **cause)
{
	char dir[4096], *names[STUB_MAX_MIGRATIONS];
	size_t n = 0;
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/schema", top);
	d = opendir(dir);
	if (d == NULL) {
		po_asprintf(cause, "cannot open '%s': %s", dir, strerror(errno));
		return -errno;
	}
	while ((e = readdir(d)) != NULL && n < STUB_MAX_MIGRATIONS) {
		size_t len = strlen(e->d_name);

		if (len > 8 && e->d_name[3] == '-' &&
		    strspn(e->d_name, "0123456789") == 3 &&
		    strcmp(e->d_name + len - 4, ".sql") == 0)
			names[n++] = po_xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		char path[4200];
		FILE *f;
		char *sql;
		long len;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		f = fopen(path, "re");
		STUB_CHECK(f != NULL);
		STUB_CHECK(fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0);
		rewind(f);
		sql = po_xmalloc((size_t)len + 1);
		STUB_CHECK(fread(sql, 1, (size_t)len, f) == (size_t)len);
		sql[len] = '\0';
		fclose(f);
		names[i][strlen(names[i]) - 4] = '\0';
		migrations[i].version = (int)strtol(names[i], NULL, 10);
		migrations[i].name = names[i];
		migrations[i].sql = sql;
	}
	nmigrations = n;
	if (n == 0) {
		po_asprintf(cause, "no schema/NNN-*.sql under '%s'", top);
		return -ENOENT;
	}
	return 0;
}
