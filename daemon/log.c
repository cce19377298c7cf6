/*
 * log.c: one place where the daemon speaks.  Under systemd (JOURNAL_STREAM
 * or INVOCATION_ID set) messages go to the journal with structured fields;
 * otherwise to stderr with a timestamp.  log_warn appends strerror(errno),
 * log_warnx does not (OpenBSD's convention).  fatal/fatalx are for start-up.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "page-ownerd.h"

static bool log_journal;
static int log_level = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void
log_init(bool journal, int level)
{
	log_journal = journal;
	log_level = level;
}

void
log_set_level(int level)
{
	log_level = level;
}

static const struct {
	const char	*name;
	int		 level;
} levels[] = {
	{ "error", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
	{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

int
log_level_parse(const char *s, int *ret)
{
	for (size_t i = 0; i < PO_ARRAY_SIZE(levels); i++)
		if (strcmp(s, levels[i].name) == 0) {
			*ret = levels[i].level;
			return 0;
		}
	if (strcmp(s, "warn") == 0 || strcmp(s, "err") == 0) {
		*ret = s[0] == 'w' ? LOG_WARNING : LOG_ERR;
		return 0;
	}
	return -EINVAL;
}

const char *
log_level_name(int level)
{
	for (size_t i = 0; i < PO_ARRAY_SIZE(levels); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "info";
}

static void
log_vemit(int prio, const char *const *fields, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
log_vemit(int prio, const char *const *fields, const char *fmt, va_list ap)
{
	char msg[4096];

	if (prio > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal) {
		struct iovec iov[24];
		char mbuf[4200], pbuf[32], ident[] = "SYSLOG_IDENTIFIER=page-ownerd";
		char fbuf[20][256];
		int n = 0;

		snprintf(mbuf, sizeof(mbuf), "MESSAGE=%s", msg);
		snprintf(pbuf, sizeof(pbuf), "PRIORITY=%d", prio);
		iov[n++] = (struct iovec){ mbuf, strlen(mbuf) };
		iov[n++] = (struct iovec){ pbuf, strlen(pbuf) };
		iov[n++] = (struct iovec){ ident, strlen(ident) };
		for (int i = 0; fields != NULL && fields[i] != NULL && i < 20; i++) {
			snprintf(fbuf[i], sizeof(fbuf[i]), "%s", fields[i]);
			iov[n++] = (struct iovec){ fbuf[i], strlen(fbuf[i]) };
		}
		if (sd_journal_sendv(iov, n) >= 0)
			return;
	}
	{
		char ts[32];
		struct timespec now;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &now);
		localtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		pthread_mutex_lock(&log_lock);
		fprintf(stderr, "%s.%03ld page-ownerd[%d]: %s%s\n", ts,
		    now.tv_nsec / 1000000, (int)getpid(),
		    prio <= LOG_ERR ? "error: " : prio == LOG_WARNING ? "warning: " : "",
		    msg);
		pthread_mutex_unlock(&log_lock);
	}
}

void
log_fields(int prio, const char *const *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(prio, fields, fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, prio)						\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	log_vemit(prio, NULL, fmt, ap);					\
	va_end(ap);							\
}
LOG_FN(log_debug, LOG_DEBUG)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_notice, LOG_NOTICE)
LOG_FN(log_warnx, LOG_WARNING)
LOG_FN(log_errx, LOG_ERR)

static void
log_verrno(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
log_verrno(int prio, const char *fmt, va_list ap)
{
	char msg[4096];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_fields(prio, NULL, "%s: %s", msg, strerror(saved));
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verrno(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verrno(LOG_ERR, fmt, ap);
	va_end(ap);
	_exit(1);	/* start-up only: nothing to flush, nothing worth freeing */
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_ERR, NULL, fmt, ap);
	va_end(ap);
	_exit(1);	/* start-up only: nothing to flush, nothing worth freeing */
}
