/*
 * server.c: the control socket.  JSON-RPC 2.0, one JSON object per line.
 *
 * Hygiene (OpenBSD daemons' habits): sockets non-blocking and close-on-
 * exec; peer credentials from SO_PEERCRED at accept; at most PO_MAX_CLIENTS
 * connections (one more is told why and closed); accept pauses on EMFILE;
 * a request line is read only up to PO_MAX_REQUEST bytes (the input
 * buffer's high-water mark stops reading there); a line started but not
 * finished within PO_REQUEST_TIMEOUT seconds closes the connection
 * (slowloris); an idle one closes after PO_IDLE_TIMEOUT; a reader that
 * lets PO_MAX_OUTPUT bytes of replies pile up, or leaves its replies unread
 * for WRITE_STALL seconds, is disconnected, and reading its requests
 * pauses while its replies back up.  A bad request gets an
 * error reply and the connection stays usable.
 */
#include <errno.h>
#include <stddef.h>
#include <grp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <systemd/sd-daemon.h>

#include "page-ownerd.h"

#define BACKPRESSURE	((size_t)1 << 20)	/* stop reading requests above this */
/*
 * Seconds a reply may wait without a byte of it read.  Without it, a
 * client that never reads keeps its slot and up to PO_MAX_OUTPUT bytes
 * for ever: reading its requests pauses at BACKPRESSURE, so the cap is
 * never reached, and the idle timeout does not run while reading pauses.
 */
#define WRITE_STALL	30
/*
 * Request lines one client gets answered per turn of the event loop; the
 * rest wait for the next turn (and none while its replies back up), so
 * that a client pipelining expensive queries cannot hold the main loop,
 * and every other client, for the length of its whole pipeline: clients
 * take turns, one request each.
 */
#define LINES_PER_TURN	1

struct client {
	struct rpc_peer	 peer;		/* first: the methods see this */
	struct server	*server;
	struct bufferevent *bev;	/* NULL once closed */
	struct event	*deadline;	/* a started line must end in time */
	int		 refs;		/* the server's, plus pending replies' */
	bool		 subscribed;
	bool		 closing;	/* close once the output is flushed */
	struct client	*prev, *next;	/* the server's list of open clients */
};

struct server {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event	*resume;	/* re-enables accept after EMFILE */
	char		*path;		/* unlinked at exit when we bound it */
	bool		 activated;	/* the socket came from systemd */
	int		 fd;
	struct client	*clients;	/* open ones */
	size_t		 nclients;
	bool		 freeing;	/* server_free: release clients at once */
	int		(*on_line)(struct rpc_peer *p, const char *line, size_t n,
			    void *userdata);
	void		*userdata;
	/* counters for status */
	uint64_t	 accepted, refused_full, requests, parse_errors;
	uint64_t	 too_large, slow_readers, timeouts;
};

#define LISTEN_BACKLOG	128	/* connections the kernel holds before accept */

static void client_close(struct client *c, const char *why);

static struct client *
client_of(struct rpc_peer *p)
{
	/* the peer is the client's first member */
	return (struct client *)((char *)p - offsetof(struct client, peer));
}

static void
client_ref(struct rpc_peer *p)
{
	client_of(p)->refs++;
}

static void
client_unref(struct client *c)
{
	if (--c->refs > 0)
		return;
	free(c);
}

static void
peer_unref(struct rpc_peer *p)
{
	client_unref(client_of(p));
}

static bool
client_alive(const struct rpc_peer *p)
{
	const struct client *c = (const struct client *)
	    ((const char *)p - offsetof(struct client, peer));

	return c->bev != NULL && !c->closing;
}

/* Queue one encoded message and a newline; enforce the output cap. */
static void
client_write(struct rpc_peer *p, const char *line, size_t n)
{
	struct client *c = client_of(p);
	struct evbuffer *out;

	if (c->bev == NULL)
		return;
	/*
	 * The event loop's clock was read before this request ran: a long
	 * query would otherwise start the reply's WRITE_STALL timer in the
	 * past, and its client would be dropped before it could read.
	 */
	event_base_update_cache_time(bufferevent_get_base(c->bev));
	out = bufferevent_get_output(c->bev);
	evbuffer_add(out, line, n);
	evbuffer_add(out, "\n", 1);
	if (evbuffer_get_length(out) > PO_MAX_OUTPUT) {
		c->server->slow_readers++;
		log_warnx("client uid %u pid %d does not read its replies (%zu bytes "
		    "queued): disconnected", (unsigned)p->uid, (int)p->pid,
		    evbuffer_get_length(out));
		client_close(c, NULL);
		return;
	}
	if (evbuffer_get_length(out) > BACKPRESSURE)
		bufferevent_disable(c->bev, EV_READ);
}

static void
peer_close(struct rpc_peer *p, const char *why)
{
	client_close(client_of(p), why);
}

static void
client_subscribe(struct rpc_peer *p)
{
	struct client *c = client_of(p);
	struct timeval stall = { WRITE_STALL, 0 };

	c->subscribed = true;
	if (c->bev != NULL)	/* quiet is fine now; not reading is not */
		bufferevent_set_timeouts(c->bev, NULL, &stall);
}

static const struct rpc_peer_ops client_ops = {
	.write = client_write,
	.close = peer_close,
	.ref = client_ref,
	.unref = peer_unref,
	.alive = client_alive,
	.subscribe = client_subscribe,
};

void
server_broadcast(struct server *s, const char *line, size_t n)
{
	struct client *c, *next;

	for (c = s->clients; c != NULL; c = next) {
		next = c->next;	/* client_write may close c */
		if (c->subscribed)
			client_write(&c->peer, line, n);
	}
}

void
server_stats(const struct server *s, json_t *into)
{
	json_object_set_new(into, "clients", json_pack("{s:I, s:i, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I}",
	    "connected", (json_int_t)s->nclients,
	    "max", PO_MAX_CLIENTS,
	    "accepted", (json_int_t)s->accepted,
	    "refused_full", (json_int_t)s->refused_full,
	    "requests", (json_int_t)s->requests,
	    "parse_errors", (json_int_t)s->parse_errors,
	    "too_large", (json_int_t)s->too_large,
	    "slow_readers", (json_int_t)s->slow_readers,
	    "timeouts", (json_int_t)s->timeouts));
}

static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_unref(arg);
}

/*
 * Close the connection now; the struct goes when its last reference does,
 * which is never inside one of its own callbacks: the server's reference
 * is dropped from the event loop.
 */
static void
client_close(struct client *c, const char *why)
{
	struct server *s = c->server;
	struct timeval now = { 0, 0 };

	if (c->bev == NULL)
		return;
	if (why != NULL)
		log_debug("closing client uid %u pid %d: %s", (unsigned)c->peer.uid,
		    (int)c->peer.pid, why);
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->deadline != NULL) {
		event_free(c->deadline);
		c->deadline = NULL;
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	s->nclients--;
	if (s->freeing || event_base_once(s->base, -1, EV_TIMEOUT, reap_cb, c, &now) < 0)
		client_unref(c);
}

static void
handle_line(struct client *c, const char *line, size_t n)
{
	struct server *s = c->server;
	int code;

	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
		n--;
	if (n == 0)
		return;
	s->requests++;
	code = s->on_line(&c->peer, line, n, s->userdata);
	if (code == PO_E_PARSE)
		s->parse_errors++;
}

static void
too_large(struct client *c)
{
	char msg[80];

	snprintf(msg, sizeof(msg), "request line longer than %zu bytes",
	    PO_MAX_REQUEST);
	rpc_error(&c->peer, NULL, PO_E_TOO_LARGE, msg);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	(void)fd;
	(void)what;
	c->server->timeouts++;
	log_warnx("client uid %u pid %d took over %d s to send one request line: "
	    "disconnected", (unsigned)c->peer.uid, (int)c->peer.pid, PO_REQUEST_TIMEOUT);
	client_close(c, NULL);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int handled = 0;

	while (c->bev != NULL && !c->closing) {
		size_t n;
		char *line;

		/* replies backed up: write_cb goes on once they drain */
		if (evbuffer_get_length(bufferevent_get_output(bev)) > BACKPRESSURE)
			break;
		if (handled++ == LINES_PER_TURN) {
			bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
			break;
		}
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
		if (line == NULL) {
			size_t pending = evbuffer_get_length(in);

			if (pending > PO_MAX_REQUEST) {
				c->server->too_large++;
				too_large(c);
				c->closing = true;
				bufferevent_disable(bev, EV_READ);
			} else if (pending > 0 && c->deadline != NULL &&
			    !evtimer_pending(c->deadline, NULL)) {
				struct timeval tv = { PO_REQUEST_TIMEOUT, 0 };

				evtimer_add(c->deadline, &tv);
			}
			break;
		}
		if (c->deadline != NULL)
			evtimer_del(c->deadline);
		if (n > PO_MAX_REQUEST) {
			c->server->too_large++;
			too_large(c);
		} else {
			handle_line(c, line, n);
		}
		free(line);
	}
	/* close after the last reply is flushed */
	if (c->bev != NULL && c->closing &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		client_close(c, "closing");
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	if (c->closing) {
		client_close(c, "closing");
		return;
	}
	/* the output drained below the low-water mark: read requests again,
	 * and answer those that waited while the replies backed up */
	bufferevent_enable(bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		read_cb(bev, c);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	(void)bev;
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING)) {
		c->server->slow_readers++;
		log_warnx("client uid %u pid %d left its replies unread for %d s "
		    "(%zu bytes queued): disconnected", (unsigned)c->peer.uid, (int)c->peer.pid,
		    WRITE_STALL, evbuffer_get_length(bufferevent_get_output(c->bev)));
		client_close(c, NULL);
	} else if (what & BEV_EVENT_TIMEOUT) {
		c->server->timeouts++;
		client_close(c, "idle");
	} else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		client_close(c, (what & BEV_EVENT_EOF) ? "end of file" : "error");
	}
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, void *arg)
{
	struct server *s = arg;
	struct client *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct timeval idle = { PO_IDLE_TIMEOUT, 0 }, stall = { WRITE_STALL, 0 };

	(void)l;
	(void)sa;
	(void)socklen;
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	if (s->nclients >= PO_MAX_CLIENTS) {
		char msg[80], *line;
		size_t n = 0;

		snprintf(msg, sizeof(msg), "too many clients (%d): try again later",
		    PO_MAX_CLIENTS);
		line = rpc_error_line(NULL, PO_E_OVERLOAD, msg, &n);
		s->refused_full++;
		if (line != NULL) {
			static char nl[] = "\n";
			struct iovec iov[2] = { { line, n }, { nl, 1 } };

			if (writev(fd, iov, 2) < 0) {
				/* best effort: the client may already be gone */
			}
		}
		free(line);
		close(fd);
		return;
	}
	c = po_xcalloc(1, sizeof(*c));
	c->peer.ops = &client_ops;
	c->server = s;
	c->refs = 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->peer.uid = cred.uid;
		c->peer.gid = cred.gid;
		c->peer.pid = cred.pid;
	} else {
		c->peer.uid = (uid_t)-1;
		c->peer.gid = (gid_t)-1;
		c->peer.pid = -1;
	}
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	c->deadline = evtimer_new(s->base, deadline_cb, c);
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, PO_MAX_REQUEST + 2);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(c->bev, &idle, &stall);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = s->clients;
	if (s->clients != NULL)
		s->clients->prev = c;
	s->clients = c;
	s->nclients++;
	s->accepted++;
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	event_free(s->resume);
	s->resume = NULL;
	evconnlistener_enable(s->listener);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct server *s = arg;
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 1, 0 };

	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		log_warnx("accept: %s; pausing new connections for a second",
		    strerror(e));
		evconnlistener_disable(l);
		if (s->resume == NULL) {
			s->resume = evtimer_new(s->base, resume_cb, s);
			evtimer_add(s->resume, &tv);
		}
		return;
	}
	log_warnx("accept: %s", strerror(e));
}

/* Bind our own socket: refuse to steal one a live daemon listens on. */
static int
bind_socket(const char *path, const char *group, char **cause)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	struct group *gr;
	int fd, r;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		po_asprintf(cause, "socket path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		po_asprintf(cause, "socket: %s", strerror(errno));
		return r;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			po_asprintf(cause, "'%s' exists and is not a socket", path);
			close(fd);
			return -EEXIST;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
		    errno == EAGAIN) {
			po_asprintf(cause, "another page-ownerd is listening on '%s'", path);
			close(fd);
			return -EADDRINUSE;
		}
		close(fd);
		(void)unlink(path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			r = -errno;
			po_asprintf(cause, "socket: %s", strerror(errno));
			return r;
		}
	}
	{
		/* the directory, e.g. /run/page-ownerd when not made by systemd */
		char *dir = po_xstrdup(path), *slash = strrchr(dir, '/');

		if (slash != NULL && slash != dir) {
			*slash = '\0';
			(void)mkdir(dir, 0755);
		}
		free(dir);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		po_asprintf(cause, "cannot bind '%s': %s", path, strerror(errno));
		close(fd);
		return r;
	}
	(void)chmod(path, 0660);
	gr = getgrnam(group);
	if (gr != NULL && chown(path, (uid_t)-1, gr->gr_gid) < 0) {
		/* not fatal: root can still use it */
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		r = -errno;
		po_asprintf(cause, "cannot listen on '%s': %s", path, strerror(errno));
		close(fd);
		(void)unlink(path);
		return r;
	}
	return fd;
}

/*
 * The control socket systemd passed: the first listening Unix stream
 * socket not named "metrics" (page-ownerd-metrics.socket's, metrics.c).
 * The environment is left for metrics.c to read too.
 */
static int
activated_fd(int *ret_n)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(0, &names), fd = -1;

	for (int i = 0; i < n; i++) {
		if (fd < 0 && (names == NULL || strcmp(names[i], "metrics") != 0) &&
		    sd_is_socket_unix(SD_LISTEN_FDS_START + i, SOCK_STREAM, 1, NULL, 0) > 0)
			fd = SD_LISTEN_FDS_START + i;
		if (names != NULL)
			free(names[i]);
	}
	free(names);
	*ret_n = n;
	return fd;
}

int
server_new(struct server **ret, struct event_base *base, const char *path,
    const char *group, int (*on_line)(struct rpc_peer *p, const char *line,
    size_t n, void *ud), void *userdata, char **cause)
{
	struct server *s = po_xcalloc(1, sizeof(*s));
	int n, fd;

	s->base = base;
	s->on_line = on_line;
	s->userdata = userdata;
	fd = activated_fd(&n);
	if (fd >= 0) {
		evutil_make_socket_nonblocking(fd);
		evutil_make_socket_closeonexec(fd);
		s->activated = true;
	} else {
		if (n > 0)
			log_warnx("systemd passed %d sockets but none is a listening Unix "
			    "stream socket; binding '%s' instead", n, path);
		fd = bind_socket(path, group, cause);
		if (fd < 0) {
			free(s);
			return fd;
		}
		s->path = po_xstrdup(path);
	}
	s->fd = fd;
	s->listener = evconnlistener_new(base, accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (s->listener == NULL) {
		po_asprintf(cause, "cannot listen with libevent");
		close(fd);
		free(s->path);
		free(s);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(s->listener, accept_error_cb);
	*ret = s;
	return 0;
}

void
server_free(struct server *s)
{
	struct client *c, *next;

	if (s == NULL)
		return;
	s->freeing = true;
	for (c = s->clients; c != NULL; c = next) {
		next = c->next;
		client_close(c, "shutting down");
	}
	if (s->resume != NULL)
		event_free(s->resume);
	evconnlistener_free(s->listener);
	if (s->path != NULL)
		(void)unlink(s->path);
	free(s->path);
	free(s);
}

bool
server_activated(const struct server *s)
{
	return s->activated;
}
