/* http/common/date.c: owns HTTP dates (RFC 9110 5.6.7): formatting a time as an
 * IMF-fixdate and parsing the three forms a peer may send. Pure functions, never park. */
#define _GNU_SOURCE
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

int64_t corio__http_parse_date(const char *s)
{
	/* IMF-fixdate, RFC 850, asctime (RFC 9110 5.6.7). */
	static const char *const fmts[] = { "%a, %d %b %Y %H:%M:%S GMT",
					    "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y" };
	struct tm tm;

	if (!s)
		return -1;
	for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
		const char *end;

		memset(&tm, 0, sizeof tm);
		end = strptime(s, fmts[i], &tm);
		if (end && *end == '\0')
			return (int64_t)timegm(&tm);
	}
	return -1;
}
