/*
 * collect.c: the collector thread.  It owns the engine (and so the only
 * write connection to the database) and runs one job at a time: a
 * snapshot, a pin, a prune.  The main loop submits jobs; results come back
 * through an eventfd that the main loop watches, in the order the jobs
 * ran.  Snapshots do not pile up: while one is queued, asking for another
 * gives the queued one.  Stopping sets a flag the parser checks between
 * records, so a snapshot is finished or abandoned, never half-written.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "page-ownerd.h"

#define MAX_QUEUED	64	/* pins and prunes waiting; more are refused */

struct result_node {
	struct job_result res;
	struct result_node *next;
};

struct collector {
	pthread_t	 thread;
	pthread_mutex_t	 lock;		/* guards everything below it */
	pthread_cond_t	 cond;
	struct job	 queue[MAX_QUEUED]; /* jobs not started, oldest first */
	size_t		 nqueue;
	bool		 running;	/* a job is being run */
	enum job_kind	 running_kind;
	uint64_t	 seq;		/* of the last job submitted */
	struct config	 cfg;		/* settings for the next job */
	struct result_node *results;	/* finished, for the main loop (FIFO) */
	struct result_node **tail;
	volatile int	 stop;		/* read by the parser callback */
	struct engine	*engine;	/* used by the thread only */
	int		 efd;		/* wakes the main loop */
	struct event	*ev;
	void		(*done)(struct job_result *res, void *userdata);
	void		*userdata;
};

static void
run_job(struct engine *e, const struct config *cfg, volatile int *stop,
    struct job_result *res)
{
	switch (res->job.kind) {
	case JOB_SNAPSHOT:
		engine_snapshot(e, cfg, stop, &res->snap);
		res->error = res->snap.error;
		break;
	case JOB_PIN:
		res->error = engine_pin(e, res->job.snapshot, res->job.pinned, &res->cause);
		break;
	case JOB_PRUNE:
		res->error = engine_prune(e, cfg, &res->count, &res->cause);
		break;
	}
}

static void *
collector_main(void *arg)
{
	struct collector *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct result_node *n;
		struct config cfg;
		uint64_t one = 1;

		while (c->nqueue == 0 && !c->stop)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->stop)
			break;
		n = po_xcalloc(1, sizeof(*n));
		n->res.job = c->queue[0];
		memmove(c->queue, c->queue + 1, --c->nqueue * sizeof(c->queue[0]));
		c->running = true;
		c->running_kind = n->res.job.kind;
		config_copy(&cfg, &c->cfg);
		pthread_mutex_unlock(&c->lock);

		run_job(c->engine, &cfg, &c->stop, &n->res);
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

static void
result_free(struct result_node *n)
{
	snap_result_free(&n->res.snap);
	free(n->res.cause);
	free(n);
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
		result_free(n);
	}
}

int
collector_start(struct collector **ret, const struct config *cfg,
    struct event_base *base, void (*done)(struct job_result *res, void *ud),
    void *userdata, char **cause)
{
	struct collector *c = po_xcalloc(1, sizeof(*c));
	int r;

	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->tail = &c->results;
	c->done = done;
	c->userdata = userdata;
	c->efd = -1;
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
	if (c->efd >= 0)
		close(c->efd);
	engine_close(c->engine);
	config_free(&c->cfg);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
	return r;
}

/* Finish or abandon the running job, drop the queued ones, join and free. */
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
		result_free(n);
	}
	event_free(c->ev);
	close(c->efd);
	engine_close(c->engine);
	config_free(&c->cfg);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

/* The queued snapshot's seq, or 0. */
static uint64_t
queued_snapshot(const struct collector *c)
{
	for (size_t i = 0; i < c->nqueue; i++)
		if (c->queue[i].kind == JOB_SNAPSHOT)
			return c->queue[i].seq;
	return 0;
}

int64_t
collector_submit(struct collector *c, struct job *job, bool after_running)
{
	int64_t r;

	pthread_mutex_lock(&c->lock);
	if (job->kind == JOB_SNAPSHOT && (r = (int64_t)queued_snapshot(c)) > 0) {
		if (!after_running)
			r = -EBUSY;
	} else if (job->kind == JOB_SNAPSHOT && !after_running && c->running &&
	    c->running_kind == JOB_SNAPSHOT) {
		r = -EBUSY;
	} else if (c->nqueue == MAX_QUEUED) {
		r = -EAGAIN;
	} else {
		job->seq = ++c->seq;
		c->queue[c->nqueue++] = *job;
		pthread_cond_signal(&c->cond);
		r = (int64_t)job->seq;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* Any job (any = true), or a snapshot, queued, running or (any) unreported. */
static bool
has_work(struct collector *c, bool any)
{
	bool r;

	pthread_mutex_lock(&c->lock);
	if (any)
		r = c->running || c->nqueue > 0 || c->results != NULL;
	else
		r = (c->running && c->running_kind == JOB_SNAPSHOT) ||
		    queued_snapshot(c) > 0;
	pthread_mutex_unlock(&c->lock);
	return r;
}

bool
collector_busy(struct collector *c)
{
	return has_work(c, false);
}

bool
collector_pending(struct collector *c)
{
	return has_work(c, true);
}

void
collector_set_config(struct collector *c, const struct config *cfg)
{
	pthread_mutex_lock(&c->lock);
	config_free(&c->cfg);
	config_copy(&c->cfg, cfg);
	pthread_mutex_unlock(&c->lock);
}
