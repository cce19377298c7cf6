/*
 * notify.c: what the daemon tells systemd.  Every call is harmless when
 * not started by systemd (no NOTIFY_SOCKET).
 */
#include <stdlib.h>

#include <systemd/sd-daemon.h>

#include "page-ownerd.h"

void
notify_ready(void)
{
	sd_notify(0, "READY=1");
}

void
notify_status(const char *fmt, ...)
{
	char buf[512], msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "STATUS=%s", buf);
	sd_notify(0, msg);
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void
notify_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

void
notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

/* 0 when no watchdog is asked for. */
uint64_t
notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

bool
notify_under_systemd(void)
{
	return getenv("JOURNAL_STREAM") != NULL || getenv("INVOCATION_ID") != NULL;
}
