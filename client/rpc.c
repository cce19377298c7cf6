/*
 * rpc.c: talking to page-ownerd: one JSON-RPC request per line, one reply
 * per line.  Failures map to the exit statuses the man page lists: the
 * daemon's error replies are EXIT_REFUSED, a socket that cannot be reached
 * or that breaks is EXIT_NODAEMON.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pageownerctl.h"

#define RPC_MAX_REPLY ((size_t)64 << 20)

struct rpc {
	int		 fd;
	const char	*path;
	char		*buf;		/* bytes read and not yet consumed */
	size_t		 len, cap;
	long		 next_id;
};

int
rpc_connect(const struct ctl *ctl, struct rpc **ret)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct rpc *r;
	int fd;

	if (strlen(ctl->socket_path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "pageownerctl: socket path '%s' is too long\n",
		    ctl->socket_path);
		return EXIT_USAGE;
	}
	memcpy(sun.sun_path, ctl->socket_path, strlen(ctl->socket_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		fprintf(stderr, "pageownerctl: cannot reach page-ownerd at %s: %s%s\n",
		    ctl->socket_path, strerror(e),
		    e == EACCES ? " (join the page-ownerd group, or use sudo)" :
		    e == ENOENT || e == ECONNREFUSED ?
		    " (is it running? systemctl status page-ownerd)" : "");
		if (fd >= 0)
			close(fd);
		return EXIT_NODAEMON;
	}
	r = po_xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->path = ctl->socket_path;
	r->next_id = 1;
	*ret = r;
	return EXIT_OK;
}

void
rpc_close(struct rpc *r)
{
	if (r == NULL)
		return;
	close(r->fd);
	free(r->buf);
	free(r);
}

static int
write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Next line from the daemon as JSON: 1 with *ret, 0 on timeout,
 * -1 when the connection failed (message printed).
 */
int
rpc_read(struct rpc *r, int timeout_ms, json_t **ret)
{
	for (;;) {
		char *nl = r->len ? memchr(r->buf, '\n', r->len) : NULL;
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		ssize_t n;

		if (nl != NULL) {
			json_error_t err;
			size_t line = (size_t)(nl - r->buf);

			*ret = json_loadb(r->buf, line, 0, &err);
			memmove(r->buf, nl + 1, r->len - line - 1);
			r->len -= line + 1;
			if (*ret == NULL) {
				fprintf(stderr, "pageownerctl: the daemon sent bad JSON: %s\n",
				    err.text);
				return -1;
			}
			return 1;
		}
		if (timeout_ms >= 0) {
			int p = poll(&pfd, 1, timeout_ms);

			if (p == 0)
				return 0;
			if (p < 0 && errno == EINTR)
				return 0;
		}
		if (r->len + 65536 > r->cap) {
			if (r->cap >= RPC_MAX_REPLY) {
				fprintf(stderr, "pageownerctl: reply larger than %zu MiB\n",
				    RPC_MAX_REPLY >> 20);
				return -1;
			}
			r->cap = r->cap ? r->cap * 2 : 131072;
			r->buf = po_xrealloc(r->buf, r->cap, 1);
		}
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "pageownerctl: page-ownerd at %s closed the "
			    "connection%s%s\n", r->path, n < 0 ? ": " : "",
			    n < 0 ? strerror(errno) : "");
			return -1;
		}
		r->len += (size_t)n;
	}
}

int
rpc_send(struct rpc *r, const char *method, json_t *params)
{
	json_t *req = json_pack("{s:s, s:s, s:o, s:I}", "jsonrpc", "2.0",
	    "method", method, "params", params ? params : json_object(),
	    "id", (json_int_t)r->next_id++);
	char *s = json_dumps(req, JSON_COMPACT);
	int ret = 0;

	json_decref(req);
	if (s == NULL || write_all(r->fd, s, strlen(s)) < 0 ||
	    write_all(r->fd, "\n", 1) < 0) {
		fprintf(stderr, "pageownerctl: cannot send to page-ownerd at %s: %s\n",
		    r->path, strerror(errno));
		ret = -1;
	}
	free(s);
	return ret;
}

/*
 * One call: EXIT_OK and the result (caller frees), EXIT_REFUSED with the
 * daemon's message printed, EXIT_NODAEMON when the socket failed.
 */
int
rpc_call(struct rpc *r, const char *method, json_t *params, json_t **ret_result)
{
	json_t *reply, *err;

	if (rpc_send(r, method, params) < 0)
		return EXIT_NODAEMON;
	for (;;) {
		if (rpc_read(r, -1, &reply) <= 0)
			return EXIT_NODAEMON;
		if (json_object_get(reply, "id") != NULL)
			break;
		json_decref(reply);	/* a notification: not ours to answer */
	}
	err = json_object_get(reply, "error");
	if (err != NULL) {
		const char *msg = json_string_value(json_object_get(err, "message"));

		fprintf(stderr, "pageownerctl: %s\n", msg ? msg : "the daemon refused");
		json_decref(reply);
		return EXIT_REFUSED;
	}
	*ret_result = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	if (*ret_result == NULL)
		*ret_result = json_null();
	return EXIT_OK;
}

/* Connect, call, close: the usual one-shot command. */
int
rpc_oneshot(const struct ctl *ctl, const char *method, json_t *params,
    json_t **ret_result)
{
	struct rpc *r;
	int ret = rpc_connect(ctl, &r);

	if (ret != EXIT_OK) {
		json_decref(params);
		return ret;
	}
	ret = rpc_call(r, method, params, ret_result);
	rpc_close(r);
	return ret;
}
