/*
 * budget.c: the collection's CPU budget.  The last hour's snapshots (their
 * CPU, the kernel's formatting in the reader included) may use at most
 * cpu_budget of one CPU.  When the average snapshot costs more than
 * budget x interval, the interval stretches to cost / budget.
 */
#include <string.h>

#include "page-ownerd.h"

#define WINDOW		3600.0		/* seconds of history the budget looks at */
#define MAX_INTERVAL	86400.0

struct cost {
	double		 time;		/* when the snapshot ended */
	double		 cpu;		/* its CPU seconds, the kernel's included */
	bool		 full;		/* a full read, or a stacks read */
};

struct budget {
	double		 started;	/* wall time the daemon started */
	struct cost	 costs[4096];	/* the last hour's snapshots (ring) */
	unsigned	 n, head;
};

struct budget *
budget_new(double started)
{
	struct budget *b = po_xcalloc(1, sizeof(*b));

	b->started = started;
	return b;
}

void
budget_free(struct budget *b)
{
	free(b);
}

void
budget_note(struct budget *b, double now, double cpu, bool full)
{
	b->costs[b->head] = (struct cost){ now, cpu, full };
	b->head = (b->head + 1) % PO_ARRAY_SIZE(b->costs);
	if (b->n < PO_ARRAY_SIZE(b->costs))
		b->n++;
}

/* The last hour's cost; interval: the configured one (the shortest window). */
void
budget_stats(const struct budget *b, double now, double interval,
    struct budget_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (unsigned i = 0; i < b->n; i++) {
		const struct cost *c = &b->costs[(b->head + PO_ARRAY_SIZE(b->costs) -
		    1 - i) % PO_ARRAY_SIZE(b->costs)];

		if (now - c->time > WINDOW)
			break;
		ret->cpu += c->cpu;
		ret->n++;
		if (c->full) {
			ret->full_cpu += c->cpu;
			ret->nfull++;
		}
	}
	ret->window = now - b->started < WINDOW ? now - b->started : WINDOW;
	if (ret->window < interval)
		ret->window = interval;
	ret->spent = ret->cpu / ret->window;
	ret->avg = ret->n ? ret->cpu / ret->n : 0;
}

double
budget_interval(const struct budget *b, double now, const struct config *cfg)
{
	struct budget_stats st;
	double want = cfg->interval;

	budget_stats(b, now, cfg->interval, &st);
	if (cfg->cpu_budget > 0 && st.avg / cfg->cpu_budget > want)
		want = st.avg / cfg->cpu_budget;
	return want > MAX_INTERVAL ? MAX_INTERVAL : want;
}
