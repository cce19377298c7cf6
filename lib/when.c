/*
 * when.c: parse the points in time and durations that people type:
 * "now", a snapshot id ("123", "#123"), Unix time ("@1700000000"),
 * relative time ("-2h", "-1h30m", "-7d"), and ISO-8601 ("2026-11-25",
 * "2026-11-25T10:00", "2026-11-25 10:00:00.5Z", "...+01:00"; no zone means
 * local time).  Also durations ("90s", "7d") and sizes ("512M", "2G").
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "po.h"

#define MAX_WHEN_LEN 64

static int
unit_seconds(char u, double *ret)
{
	switch (u) {
	case 's': *ret = 1; return 0;
	case 'm': *ret = 60; return 0;
	case 'h': *ret = 3600; return 0;
	case 'd': *ret = 86400; return 0;
	case 'w': *ret = 7 * 86400; return 0;
	default: return -EINVAL;
	}
}

/* "90s", "1h30m", "7d", "2w"; a bare number is seconds. */
int
po_duration_parse(const char *s, double *ret_seconds)
{
	double total = 0;
	bool any = false;

	if (s == NULL || *s == '\0' || strlen(s) > MAX_WHEN_LEN)
		return -EINVAL;
	while (*s) {
		uint64_t v = 0;
		const char *d = s;
		double mult;

		while (*s >= '0' && *s <= '9') {
			if (v > 1000000000)
				return -ERANGE;
			v = v * 10 + (uint64_t)(*s - '0');
			s++;
		}
		if (s == d)
			return -EINVAL;
		if (*s == '\0') {
			if (any)
				return -EINVAL;	/* "1h30": a unit is missing */
			mult = 1;
		} else if (unit_seconds(*s++, &mult) < 0) {
			return -EINVAL;
		}
		total += (double)v * mult;
		any = true;
	}
	if (total > 100.0 * 365 * 86400)
		return -ERANGE;
	*ret_seconds = total;
	return 0;
}

/* "4096", "64K", "512M", "2G", "1T" (binary multiples), optional "iB"/"B". */
int
po_size_parse(const char *s, uint64_t *ret_bytes)
{
	uint64_t v = 0, mult = 1;
	const char *d = s;

	if (s == NULL || *s == '\0' || strlen(s) > MAX_WHEN_LEN)
		return -EINVAL;
	while (*s >= '0' && *s <= '9') {
		if (v > UINT64_MAX / 10 - 9)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
	}
	if (s == d)
		return -EINVAL;
	switch (toupper((unsigned char)*s)) {
	case '\0': break;
	case 'K': mult = UINT64_C(1) << 10; s++; break;
	case 'M': mult = UINT64_C(1) << 20; s++; break;
	case 'G': mult = UINT64_C(1) << 30; s++; break;
	case 'T': mult = UINT64_C(1) << 40; s++; break;
	case 'B': break;
	default: return -EINVAL;
	}
	if (strcmp(s, "iB") == 0 || strcmp(s, "B") == 0)
		s += strlen(s);
	if (*s != '\0')
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*ret_bytes = v * mult;
	return 0;
}

static bool
digits(const char **s, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*ret = v;
	return true;
}

static int
parse_iso(const char *s, double *ret)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
	double frac = 0;
	bool zone = false;
	time_t t;

	if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) ||
	    *s++ != '-' || !digits(&s, 2, &d))
		return -EINVAL;
	if (*s == 'T' || *s == ' ') {
		s++;
		if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi))
			return -EINVAL;
		if (*s == ':') {
			s++;
			if (!digits(&s, 2, &sec))
				return -EINVAL;
			if (*s == '.') {
				double scale = 0.1;

				s++;
				if (*s < '0' || *s > '9')
					return -EINVAL;
				while (*s >= '0' && *s <= '9') {
					frac += (*s++ - '0') * scale;
					scale /= 10;
				}
			}
		}
	}
	if (*s == 'Z') {
		zone = true;
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1, oh, om = 0;

		if (!digits(&s, 2, &oh))
			return -EINVAL;
		if (*s == ':')
			s++;
		if (*s != '\0' && !digits(&s, 2, &om))
			return -EINVAL;
		if (oh > 23 || om > 59)
			return -EINVAL;
		off = sign * (oh * 3600 + om * 60);
		zone = true;
	}
	if (*s != '\0')
		return -EINVAL;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = zone ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret = (double)t - off + frac;
	return 0;
}

int
po_when_parse(const char *s, double now, struct po_when *ret, char **cause)
{
	size_t n;
	double v;

	if (s == NULL || (n = strlen(s)) == 0) {
		po_asprintf(cause, "empty time");
		return -EINVAL;
	}
	if (n > MAX_WHEN_LEN) {
		po_asprintf(cause, "time expression longer than %d characters",
		    MAX_WHEN_LEN);
		return -EINVAL;
	}
	memset(ret, 0, sizeof(*ret));
	if (strcmp(s, "now") == 0) {
		ret->kind = PO_WHEN_NOW;
		ret->time = now;
		return 0;
	}
	if (s[0] == '-' || s[0] == '+') {
		if (po_duration_parse(s + 1, &v) < 0)
			goto bad;
		ret->kind = PO_WHEN_TIME;
		ret->time = s[0] == '-' ? now - v : now + v;
		return 0;
	}
	if (s[0] == '@') {
		uint64_t u;

		if (po_parse_u64(s + 1, &u) < 0 || u > (uint64_t)1 << 40)
			goto bad;
		ret->kind = PO_WHEN_TIME;
		ret->time = (double)u;
		return 0;
	}
	if (s[0] == '#' || (strchr(s, '-') == NULL && strchr(s, ':') == NULL)) {
		uint64_t id;

		if (po_parse_u64(s[0] == '#' ? s + 1 : s, &id) < 0 || id == 0 ||
		    id > INT64_MAX)
			goto bad;
		ret->kind = PO_WHEN_SNAPSHOT;
		ret->snapshot = (int64_t)id;
		return 0;
	}
	if (parse_iso(s, &v) == 0) {
		ret->kind = PO_WHEN_TIME;
		ret->time = v;
		return 0;
	}
bad:
	po_asprintf(cause, "cannot read time '%s' (want a snapshot id, 'now', "
	    "-2h / -7d, @UNIX, or ISO-8601 like 2026-11-25T10:00Z)", s);
	return -EINVAL;
}

/* "2026-11-25T10:00:00Z" (UTC, what machines and people both read). */
void
po_time_str(double t, char *buf, size_t len)
{
	time_t tt = (time_t)floor(t);
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)tt);
}

/* "45s", "12m", "3.5h", "6.2d": one unit, people-sized. */
void
po_duration_str(double s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, len, "%.0fs", s);
	else if (s < 7200)
		snprintf(buf, len, "%.0fm", s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, len, "%.1fh", s / 3600);
	else
		snprintf(buf, len, "%.1fd", s / 86400);
}
