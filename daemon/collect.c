/*
 * collect.c: the collector thread.  It sleeps until the main loop asks for
 * a snapshot, takes it with the engine (its own database connection), and
 * hands the result back through an eventfd that the main loop watches.
 * One snapshot at a time; a request while one runs is remembered, not
 * queued twice.  Stopping sets a flag the parser checks between records,
 * so a snapshot is finished or abandoned, never half-written.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "page-ownerd.h"

struct result_node {
	struct snap_result	 res;
	struct result_node	*next;
};

struct collector {
	pthread_t	 thread;
	pthread_mutex_t	 lock;		/* guards everything below it */
	pthread_cond_t	 cond;
	bool		 want;		/* a snapshot is asked for */
	bool		 running;	/* one is being taken */
	struct config	 cfg;		/* settings for the next snapshot */
	struct result_node *results;	/* finished, for the main loop (FIFO) */
	struct result_node **tail;
	volatile int	 stop;		/* read by the parser callback */
	struct engine	*engine;	/* used by the thread only */
	int		 efd;		/* wakes the main loop */
	struct event	*ev;
	void		(*done)(struct snap_result *res, void *userdata);
	void		*userdata;
};

static void *
collector_main(void *arg)
{
	struct collector *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct result_node *n;
		struct config cfg;
		uint64_t one = 1;

		while (!c->want && !c->stop)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->stop)
			break;
		c->want = false;
		c->running = true;
		config_copy(&cfg, &c->cfg);
		pthread_mutex_unlock(&c->lock);

		n = po_xcalloc(1, sizeof(*n));
		engine_snapshot(c->engine, &cfg, &c->stop, &n->res);
		config_free(&cfg);

		pthread_mutex_lock(&c->lock);
		c->running = false;
		*c->tail = n;
		c->tail = &n->next;
		if (write(c->efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice; the main loop
			 * drains results on its next wakeup anyway */
		}
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Main loop side: deliver finished results. */
static void
collector_wakeup(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;
	struct result_node *list, *n;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("collector eventfd");
	pthread_mutex_lock(&c->lock);
	list = c->results;
	c->results = NULL;
	c->tail = &c->results;
	pthread_mutex_unlock(&c->lock);
	while ((n = list) != NULL) {
		list = n->next;
		c->done(&n->res, c->userdata);
		snap_result_free(&n->res);
		free(n);
	}
}

int
collector_start(struct collector **ret, const struct config *cfg,
    struct event_base *base, void (*done)(struct snap_result *res, void *ud),
    void *userdata, char **cause)
{
	struct collector *c = po_xcalloc(1, sizeof(*c));
	int r;

	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->tail = &c->results;
	c->done = done;
	c->userdata = userdata;
	config_copy(&c->cfg, cfg);
	r = engine_open(&c->engine, cfg, cause);
	if (r < 0)
		goto fail;
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->efd < 0) {
		r = -errno;
		po_asprintf(cause, "eventfd: %s", strerror(errno));
		goto fail;
	}
	c->ev = event_new(base, c->efd, EV_READ | EV_PERSIST, collector_wakeup, c);
	if (c->ev == NULL || event_add(c->ev, NULL) < 0) {
		r = -ENOMEM;
		po_asprintf(cause, "cannot watch the collector's eventfd");
		goto fail;
	}
	r = pthread_create(&c->thread, NULL, collector_main, c);
	if (r != 0) {
		po_asprintf(cause, "cannot start the collector thread: %s", strerror(r));
		r = -r;
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->efd > 0)
		close(c->efd);
	engine_close(c->engine);
	config_free(&c->cfg);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
	return r;
}

/* Finish or abandon the running snapshot, then join and free. */
void
collector_stop(struct collector *c)
{
	struct result_node *n;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	while ((n = c->results) != NULL) {
		c->results = n->next;
		snap_result_free(&n->res);
		free(n);
	}
	event_free(c->ev);
	close(c->efd);
	engine_close(c->engine);
	config_free(&c->cfg);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

/* Ask for a snapshot: 0 when accepted, -EBUSY when one is running already. */
int
collector_request(struct collector *c)
{
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (c->running || c->want)
		r = -EBUSY;
	else {
		c->want = true;
		pthread_cond_signal(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

bool
collector_busy(struct collector *c)
{
	bool busy;

	pthread_mutex_lock(&c->lock);
	busy = c->running || c->want;
	pthread_mutex_unlock(&c->lock);
	return busy;
}

void
collector_set_config(struct collector *c, const struct config *cfg)
{
	pthread_mutex_lock(&c->lock);
	config_free(&c->cfg);
	config_copy(&c->cfg, cfg);
	pthread_mutex_unlock(&c->lock);
}
