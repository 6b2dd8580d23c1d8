/* http/common/date.c: owns HTTP dates (RFC 9110 5.6.7): formatting a time as an
 * IMF-fixdate and parsing the three forms a peer may send, exactly as the grammar has them
 * and only when the date exists. Never park (the RFC 850 form reads the clock for its
 * century). */
#define _GNU_SOURCE
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "http/common/date.h"

static const char wdays[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static char *two(char *p, int v)
{
	*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

void corio__http_date(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char *p = out;

	gmtime_r(&tt, &tm);
	memcpy(p, wdays[tm.tm_wday], 3), p += 3;
	*p++ = ',', *p++ = ' ';
	p = two(p, tm.tm_mday);
	*p++ = ' ';
	memcpy(p, months[tm.tm_mon], 3), p += 3;
	*p++ = ' ';
	p = two(p, (tm.tm_year + 1900) / 100);
	p = two(p, (tm.tm_year + 1900) % 100);
	*p++ = ' ';
	p = two(p, tm.tm_hour);
	*p++ = ':';
	p = two(p, tm.tm_min);
	*p++ = ':';
	p = two(p, tm.tm_sec);
	memcpy(p, " GMT", sizeof " GMT"); /* with its NUL */
}

/* The parts of an HTTP-date as read, before they are checked against each other. */
typedef struct hdate {
	int wday, mday, mon, year, hour, min, sec; /* mon 0-11, wday 0 = Sunday */
} hdate;

/* Exactly n digits. */
static bool num(const char **s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, ++*s) {
		if (**s < '0' || **s > '9')
			return false;
		*v = *v * 10 + (**s - '0');
	}
	return true;
}

static bool lit(const char **s, const char *l)
{
	size_t n = strlen(l);

	if (strncmp(*s, l, n) != 0)
		return false;
	*s += n;
	return true;
}

/* The index of the name at *s among names (3 letters each, HTTP-date is case-sensitive). */
static int name3(const char **s, const char (*names)[4], int n)
{
	for (int i = 0; i < n; i++)
		if (lit(s, names[i]))
			return i;
	return -1;
}

/* "08:49:37" */
static bool hms(const char **s, hdate *d)
{
	return num(s, 2, &d->hour) && lit(s, ":") && num(s, 2, &d->min) && lit(s, ":") &&
	       num(s, 2, &d->sec);
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool imf_fixdate(const char *s, hdate *d)
{
	return (d->wday = name3(&s, wdays, 7)) >= 0 && lit(&s, ", ") && num(&s, 2, &d->mday) &&
	       lit(&s, " ") && (d->mon = name3(&s, months, 12)) >= 0 && lit(&s, " ") &&
	       num(&s, 4, &d->year) && lit(&s, " ") && hms(&s, d) && lit(&s, " GMT") && !*s;
}

/* The century of a two-digit year (RFC 9110 5.6.7): the year with those digits that is not
 * more than 50 years in the future. */
static int rfc850_year(int yy)
{
	time_t now = time(NULL);
	struct tm tm;
	int cur, y;

	gmtime_r(&now, &tm);
	cur = tm.tm_year + 1900;
	y = cur - cur % 100 + yy;
	return y > cur + 50 ? y - 100 : y;
}

/* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT" */
static bool rfc850_date(const char *s, hdate *d)
{
	static const char *const full[7] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
					     "Thursday", "Friday", "Saturday" };
	int yy;

	d->wday = -1;
	for (int i = 0; i < 7 && d->wday < 0; i++)
		if (lit(&s, full[i]))
			d->wday = i;
	if (!(d->wday >= 0 && lit(&s, ", ") && num(&s, 2, &d->mday) && lit(&s, "-") &&
	      (d->mon = name3(&s, months, 12)) >= 0 && lit(&s, "-") && num(&s, 2, &yy) &&
	      lit(&s, " ") && hms(&s, d) && lit(&s, " GMT") && !*s))
		return false;
	d->year = rfc850_year(yy);
	return true;
}

/* asctime-date: "Sun Nov  6 08:49:37 1994" (a one-digit day after a space) */
static bool asctime_date(const char *s, hdate *d)
{
	if ((d->wday = name3(&s, wdays, 7)) < 0 || !lit(&s, " ") ||
	    (d->mon = name3(&s, months, 12)) < 0 || !lit(&s, " "))
		return false;
	if (!(lit(&s, " ") ? num(&s, 1, &d->mday) : num(&s, 2, &d->mday)))
		return false;
	return lit(&s, " ") && hms(&s, d) && lit(&s, " ") && num(&s, 4, &d->year) && !*s;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to the date (year >= 1970): whole years, then whole months. */
static int64_t epoch_days(const hdate *d)
{
	static const short before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	int64_t py = d->year - 1;
	int64_t leaps = (py / 4 - py / 100 + py / 400) - (1969 / 4 - 1969 / 100 + 1969 / 400);

	return 365 * (int64_t)(d->year - 1970) + leaps + before[d->mon] +
	       (d->mon >= 2 && leap(d->year)) + d->mday - 1;
}

/* The date exists (day of the month, leap years), the time too (second 60: a leap second),
 * and the weekday is the date's: RFC 9110 13.1.3 has an invalid date ignored, never
 * normalised ("Feb 29 2099" is no "Mar 1"). */
static int64_t checked(const hdate *d)
{
	static const char mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int64_t days;

	if (d->year < 1970 || d->mday < 1 ||
	    d->mday > mdays[d->mon] + (d->mon == 1 && leap(d->year)) || d->hour > 23 ||
	    d->min > 59 || d->sec > 60)
		return -1;
	days = epoch_days(d);
	if ((days + 4) % 7 != d->wday) /* 1970-01-01 was a Thursday */
		return -1;
	return days * 86400 + d->hour * 3600 + d->min * 60 + d->sec;
}

int64_t corio__http_parse_date(const char *s)
{
	hdate d;

	if (!s)
		return -1;
	if (imf_fixdate(s, &d) || rfc850_date(s, &d) || asctime_date(s, &d))
		return checked(&d);
	return -1;
}
