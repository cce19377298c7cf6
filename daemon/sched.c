/*
 * sched.c: when snapshots are taken, and what came of them.
 *
 * A timer submits a snapshot every interval (skipping a turn while one
 * runs); the interval stretches when the CPU budget (budget.c) says so.
 * Methods submit jobs too and wait for their results.  Each result updates
 * what status reports (counts, the last snapshot, the last error, the
 * STATUS= line), reopens the queries' connection when the collector found
 * the database replaced or writable again, and is handed to the hooks
 * (subscribers) and to whoever waits for it.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <event2/event.h>

#include "page-ownerd.h"

/* Someone waiting for a job's result. */
struct waiter {
	uint64_t	 seq;
	void		(*fn)(const struct job_result *res, void *ud);
	void		*ud;
	struct waiter	*next;
};

struct sched {
	struct event_base *base;
	struct config	 cfg;		/* current settings (a copy) */
	struct history	*hist;		/* the queries' history: reopened here */
	struct collector *collector;
	struct budget	*budget;
	struct event	*timer;		/* next snapshot */
	struct sched_hooks hooks;
	struct sched_state st;
	double		 last_request;	/* when the timer last asked for one */
	bool		 once;		/* --once: exit after one snapshot */
	struct waiter	*waiters;
};

static void
set_status(struct sched *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_status(struct sched *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->st.status_line, sizeof(s->st.status_line), fmt, ap);
	va_end(ap);
	notify_status("%s", s->st.status_line);
}

static void
arm_timer(struct sched *s, double delay)
{
	struct timeval tv;

	if (delay < 0)
		delay = 0;
	tv.tv_sec = (time_t)delay;
	tv.tv_usec = (suseconds_t)((delay - (double)tv.tv_sec) * 1e6);
	evtimer_add(s->timer, &tv);
	s->st.next_snapshot = po_now_wall() + delay;
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched *s = arg;
	struct job job = { .kind = JOB_SNAPSHOT };

	(void)fd;
	(void)what;
	if (s->st.replay_done || s->st.stopping)
		return;
	s->last_request = po_now_wall();
	if (collector_submit(s->collector, &job, false) < 0)
		log_debug("the previous snapshot is still running: skipping this turn");
	arm_timer(s, s->st.interval);
}

/* A snapshot's cost: the interval the budget allows from now on. */
static void
budget_update(struct sched *s, const struct snap_row *row)
{
	double want;

	budget_note(s->budget, po_now_wall(), row->cpu_user + row->cpu_sys,
	    strcmp(row->kind, "full") == 0);
	want = budget_interval(s->budget, po_now_wall(), &s->cfg);
	/* a sweep fits its windows to the budget: the interval stretches only
	 * when one window alone costs more than the budget allows */
	if (strcmp(row->kind, "sweep") == 0) {
		double one = s->st.sweep.cost;

		want = s->cfg.interval;
		if (s->cfg.sweep_windows == 0 && one > s->cfg.cpu_budget * s->cfg.interval)
			want = one / s->cfg.cpu_budget;
	}
	if (fabs(want - s->st.interval) > 0.5) {
		struct budget_stats b;

		budget_stats(s->budget, po_now_wall(), s->cfg.interval, &b);
		log_info("CPU budget %.2g%% of one CPU: a snapshot costs %.3fs, so the "
		    "interval is now %.0fs (configured %.0fs)", s->cfg.cpu_budget * 100,
		    b.avg, want, s->cfg.interval);
		s->st.interval = want;
		if (!s->st.replay_done && !s->st.stopping) {
			evtimer_del(s->timer);
			arm_timer(s, s->last_request + want - po_now_wall());
		}
	}
}

/*
 * The collector found the database deleted or replaced and started a new
 * one (the queries' connection still reads the old file, and the series
 * cache holds its ids), or it reopened a database opened read-only: open
 * the file at the path for queries.
 */
static void
reopen_history(struct sched *s, const struct snap_result *res)
{
	struct store *ro = history_store(s->hist);
	char *cause = NULL;

	if (res->db_readonly && ro != NULL) {
		/* the collector reopens its connection at its next snapshot,
		 * which works only once this one is closed (store.c) */
		log_notice("database '%s' is writable again: reopening it", s->cfg.db);
		history_close_store(s->hist);
		return;
	}
	if (ro == NULL ? res->db_readonly : !store_replaced(ro))
		return;
	if (history_reopen(s->hist, &cause) < 0) {
		log_warnx("cannot open database '%s' for queries: %s; %s", s->cfg.db,
		    cause, ro ? "answering from the old file" :
		    "queries fail until it opens");
		free(cause);
		return;
	}
	s->st.have_last = store_last_snapshot(history_store(s->hist), &s->st.last) > 0;
	log_notice("queries read database '%s' afresh", s->cfg.db);
}

static void
snapshot_failed(struct sched *s, const struct snap_result *res)
{
	if (!res->replay_done)
		s->st.snapshots_failed++;	/* the end of a replay is no failure */
	free(s->st.last_error);
	s->st.last_error = po_xstrdup(res->cause ? res->cause : "snapshot failed");
	s->st.last_error_time = po_now_wall();
	if (res->replay_done) {
		s->st.replay_done = true;
		log_notice("%s; serving the history", s->st.last_error);
		set_status(s, "replay finished after %llu snapshots; serving the "
		    "history", (unsigned long long)s->st.snapshots_ok);
	} else if (res->page_owner_off) {
		log_fields(LOG_WARNING, (const char *const[]){ "PAGE_OWNER=off", NULL },
		    "%s", s->st.last_error);
		set_status(s, "page_owner is not available: boot with page_owner=on "
		    "(CONFIG_PAGE_OWNER=y); serving %llu stored snapshots",
		    (unsigned long long)s->st.snapshots_ok);
	} else if (res->error != -ECANCELED) {
		log_warnx("snapshot failed: %s", s->st.last_error);
		set_status(s, "last snapshot failed: %.300s", s->st.last_error);
	}
}

static void
snapshot_taken(struct sched *s, const struct snap_result *res)
{
	const struct snap_row *row = &res->row;
	char id[32], pages[32], recs[32], dur[32], t[40];
	const char *fields[] = { id, pages, recs, dur, NULL };

	s->st.snapshots_ok++;
	s->st.last = *row;
	s->st.have_last = true;
	s->st.stacks = res->stacks;
	budget_update(s, row);
	free(s->st.last_error);
	s->st.last_error = NULL;
	snprintf(id, sizeof(id), "SNAPSHOT_ID=%lld", (long long)row->id);
	snprintf(pages, sizeof(pages), "PAGES=%lld", (long long)row->pages);
	snprintf(recs, sizeof(recs), "RECORDS=%lld", (long long)row->records);
	snprintf(dur, sizeof(dur), "DURATION_S=%.3f", row->duration);
	log_fields(LOG_INFO, fields, "snapshot %lld: %lld records, %lld pages, "
	    "%lld series changed, %lld malformed, %.2fs%s", (long long)row->id,
	    (long long)row->records, (long long)row->pages, (long long)row->changed,
	    (long long)row->malformed, row->duration,
	    row->baseline ? " (baseline)" : "");
	po_time_str(row->time, t, sizeof(t));
	set_status(s, "snapshot %lld at %s: %lld pages in %lld records, %lld "
	    "series changed", (long long)row->id, t, (long long)row->pages,
	    (long long)row->records, (long long)row->changed);
	if (s->hooks.snapshot != NULL)
		s->hooks.snapshot(res, s->hooks.ud);
}

static void
job_done(struct job_result *res, void *ud)
{
	struct sched *s = ud;
	struct waiter **wp = &s->waiters, *w;

	if (res->job.kind == JOB_SNAPSHOT) {
		const struct snap_result *sr = &res->snap;

		reopen_history(s, sr);
		s->st.replay_next = sr->replay_next;
		s->st.replay_total = sr->replay_total;
		if (sr->error == 0)
			s->st.sweep = sr->sweep;
		if (sr->error < 0)
			snapshot_failed(s, sr);
		else
			snapshot_taken(s, sr);
		if (sr->overflowed > s->st.overflowed) {
			if (s->st.overflowed == 0)
				log_fields(LOG_WARNING, (const char *const[]){
				    "CAP=reached", NULL }, "more distinct stacks or "
				    "series than max_stacks=%u / max_series=%u: new ones "
				    "are counted under '(overflow)' (raise the caps in "
				    "the config to keep them apart)", s->cfg.max_stacks,
				    s->cfg.max_series);
			s->st.overflowed = sr->overflowed;
		}
	} else if (res->error < 0) {
		log_warnx("%s", res->cause ? res->cause : "a job failed");
	}
	while ((w = *wp) != NULL) {
		if (w->seq != res->job.seq) {
			wp = &w->next;
			continue;
		}
		*wp = w->next;
		w->fn(res, w->ud);
		free(w);
	}
	if (s->once && res->job.kind == JOB_SNAPSHOT) {
		s->st.exit_code = res->error < 0 ? 1 : 0;
		event_base_loopexit(s->base, NULL);
	}
}

int
sched_new(struct sched **ret, struct event_base *base, const struct config *cfg,
    struct history *hist, const struct sched_hooks *hooks, bool once, char **cause)
{
	struct sched *s = po_xcalloc(1, sizeof(*s));
	int r;

	s->base = base;
	s->hist = hist;
	s->once = once;
	if (hooks != NULL)
		s->hooks = *hooks;
	config_copy(&s->cfg, cfg);
	s->st.interval = cfg->interval;
	s->budget = budget_new(po_now_wall());
	s->timer = evtimer_new(base, timer_cb, s);
	r = collector_start(&s->collector, cfg, base, job_done, s, cause);
	if (r < 0) {
		event_free(s->timer);
		budget_free(s->budget);
		config_free(&s->cfg);
		free(s);
		return r;
	}
	if (store_last_snapshot(history_store(hist), &s->st.last) > 0)
		s->st.have_last = true;
	*ret = s;
	return 0;
}

/* The first snapshot: now (--once: the only one). */
void
sched_start(struct sched *s)
{
	struct job job = { .kind = JOB_SNAPSHOT };

	if (s->once) {
		if (collector_submit(s->collector, &job, true) < 0)
			fatalx("cannot start the snapshot");
		return;
	}
	arm_timer(s, 0);
	set_status(s, "started; first snapshot under way");
}

/* Finish or abandon the running job; waiters hear NULL. */
void
sched_stop(struct sched *s)
{
	struct waiter *w;

	if (s->st.stopping && s->collector == NULL)
		return;
	s->st.stopping = true;
	collector_stop(s->collector);
	s->collector = NULL;
	while ((w = s->waiters) != NULL) {
		s->waiters = w->next;
		w->fn(NULL, w->ud);
		free(w);
	}
}

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	sched_stop(s);
	event_free(s->timer);
	budget_free(s->budget);
	free(s->st.last_error);
	config_free(&s->cfg);
	free(s);
}

void
sched_set_config(struct sched *s, const struct config *cfg)
{
	bool interval = cfg->interval != s->cfg.interval;

	config_free(&s->cfg);
	config_copy(&s->cfg, cfg);
	if (interval) {
		s->st.interval = cfg->interval;
		evtimer_del(s->timer);
		arm_timer(s, cfg->interval);
	}
	collector_set_config(s->collector, cfg);
}

const struct sched_state *
sched_state(const struct sched *s)
{
	return &s->st;
}

const struct budget *
sched_budget(const struct sched *s)
{
	return s->budget;
}

/* A snapshot is queued or running. */
bool
sched_busy(struct sched *s)
{
	return s->collector != NULL && collector_busy(s->collector);
}

/* No job queued or running, and no one waiting for a result. */
bool
sched_idle(struct sched *s)
{
	return s->waiters == NULL && (s->collector == NULL ||
	    !collector_pending(s->collector));
}

int
sched_submit(struct sched *s, struct job *job,
    void (*fn)(const struct job_result *res, void *ud), void *ud)
{
	struct waiter *w;
	int64_t seq;

	if (s->collector == NULL || s->st.stopping)
		return -ESHUTDOWN;
	seq = collector_submit(s->collector, job, true);
	if (seq < 0)
		return (int)seq;
	if (fn != NULL) {
		w = po_xcalloc(1, sizeof(*w));
		w->seq = (uint64_t)seq;
		w->fn = fn;
		w->ud = ud;
		w->next = s->waiters;
		s->waiters = w;
	}
	return 0;
}
