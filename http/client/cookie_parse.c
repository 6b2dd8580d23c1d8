/* http/client/cookie_parse.c: owns reading a Set-Cookie field value (RFC 6265 5.2, with the
 * 6265bis refusals: control bytes, name + value over 4096 bytes, oversized attribute
 * values) and the cookie-date algorithm (5.1.1), which is far looser than HTTP-date:
 * servers write dates in every shape, and the algorithm picks tokens out of any order.
 * Pure functions over the caller's string, never park, never allocate. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "http/client/cookie_internal.h"
#include "runtime/util/str.h"

/* ---- the date ------------------------------------------------------------------------ */

/* delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E */
static bool date_delim(unsigned char c)
{
	return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) ||
	       (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* 1*max DIGIT at t[0..n), followed by nothing or a non-digit: the value, else -1. */
static int digits(const char *t, size_t n, size_t min, size_t max, size_t *used)
{
	size_t i = 0;
	int v = 0;

	while (i < n && i < max && is_digit((unsigned char)t[i]))
		v = v * 10 + (t[i++] - '0');
	if (i < min || (i < n && is_digit((unsigned char)t[i])))
		return -1;
	*used = i;
	return v;
}

typedef struct cdate {
	int h, mi, s, day, mon, year;
	bool has_time, has_day, has_mon, has_year;
} cdate;

/* hms-time = 1*2DIGIT ":" 1*2DIGIT ":" 1*2DIGIT ( non-digit *OCTET ) */
static bool date_time(const char *t, size_t n, cdate *d)
{
	size_t u, o = 0;
	int v[3];

	for (int k = 0; k < 3; k++) {
		v[k] = digits(t + o, n - o, 1, 2, &u);
		if (v[k] < 0)
			return false;
		o += u;
		if (k < 2) {
			if (o >= n || t[o] != ':')
				return false;
			o++;
		}
	}
	d->h = v[0], d->mi = v[1], d->s = v[2], d->has_time = true;
	return true;
}

static int month_of(const char *t, size_t n)
{
	static const char m[] = "janfebmaraprmayjunjulaugsepoctnovdec";

	if (n < 3)
		return -1;
	for (int i = 0; i < 12; i++)
		if (corio__ascii_ieq(t, m + 3 * i, 3))
			return i + 1;
	return -1;
}

/* One date-token, tried as time, day of month, month and year, in that order (5.1.1). */
static void date_token(const char *t, size_t n, cdate *d)
{
	size_t u;
	int v;

	if (!d->has_time && date_time(t, n, d))
		return;
	if (!d->has_day && (v = digits(t, n, 1, 2, &u)) >= 0) {
		d->day = v, d->has_day = true;
		return;
	}
	if (!d->has_mon && (v = month_of(t, n)) > 0) {
		d->mon = v, d->has_mon = true;
		return;
	}
	if (!d->has_year && (v = digits(t, n, 2, 4, &u)) >= 0)
		d->year = v, d->has_year = true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
	static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : len[m - 1];
}

bool corio__hclient_cookie_date(const char *s, size_t n, int64_t *out)
{
	cdate d = {0};
	size_t i = 0;

	while (i < n) {
		size_t start;

		while (i < n && date_delim((unsigned char)s[i]))
			i++;
		start = i;
		while (i < n && !date_delim((unsigned char)s[i]))
			i++;
		if (i > start)
			date_token(s + start, i - start, &d);
	}
	if (!d.has_time || !d.has_day || !d.has_mon || !d.has_year)
		return false;
	if (d.year >= 70 && d.year <= 99)
		d.year += 1900;
	else if (d.year <= 69)
		d.year += 2000;
	if (d.day < 1 || d.year < 1601 || d.h > 23 || d.mi > 59 || d.s > 59 ||
	    d.day > month_days(d.year, d.mon))
		return false; /* "if the date does not exist, abort" (Feb 30, ...) */
	*out = days_from_civil(d.year, d.mon, d.day) * 86400 + d.h * 3600 + d.mi * 60 + d.s;
	return true;
}

/* ---- the line ------------------------------------------------------------------------ */

static bool wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims SP and HTAB on both sides of p[0..*n). */
static const char *trim(const char *p, size_t *n)
{
	while (*n && wsp(*p))
		p++, (*n)--;
	while (*n && wsp(p[*n - 1]))
		(*n)--;
	return p;
}

/* 6265bis 5.6 step 1: a control byte other than HTAB makes the whole line ignored (a NUL
 * or CR in a cookie has tricked servers that parse more leniently than the client). */
static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return true;
	return false;
}

/* Max-Age: an optional '-' then digits; anything else ignores the attribute. */
static void max_age(const char *v, size_t n, corio__hclient_setcookie *c)
{
	bool neg = n && v[0] == '-';
	int64_t x = 0;

	if (n == (size_t)neg)
		return;
	for (size_t i = neg; i < n; i++) {
		if (!is_digit((unsigned char)v[i]))
			return;
		if (x < INT64_MAX / 10)
			x = x * 10 + (v[i] - '0'); /* saturates well past the 400-day cap */
	}
	c->has_max_age = true;
	c->max_age = neg ? -x : x;
}

static int same_site_of(const char *v, size_t n)
{
	if (CORIO__IEQ_LIT(v, n, "strict"))
		return CORIO__HCLIENT_SS_STRICT;
	if (CORIO__IEQ_LIT(v, n, "lax"))
		return CORIO__HCLIENT_SS_LAX;
	if (CORIO__IEQ_LIT(v, n, "none"))
		return CORIO__HCLIENT_SS_NONE;
	return CORIO__HCLIENT_SS_DEFAULT;
}

/* One cookie-av (5.2 steps for each attribute name; the last one of a name wins). */
static void attribute(const char *a, size_t n, corio__hclient_setcookie *c)
{
	const char *eq = memchr(a, '=', n), *v = "";
	size_t an = eq ? (size_t)(eq - a) : n, vn = 0;

	if (eq) {
		vn = n - an - 1;
		v = trim(eq + 1, &vn);
	}
	a = trim(a, &an);
	if (vn > CORIO__HCLIENT_COOKIE_AV_MAX)
		return;
	if (CORIO__IEQ_LIT(a, an, "expires")) {
		int64_t t;

		if (corio__hclient_cookie_date(v, vn, &t))
			c->has_expires = true, c->expires = t;
	} else if (CORIO__IEQ_LIT(a, an, "max-age")) {
		max_age(v, vn, c);
	} else if (CORIO__IEQ_LIT(a, an, "domain")) {
		if (vn && v[0] == '.')
			v++, vn--;
		/* An empty Domain is ignored (5.2.3 SHOULD), and so clears an earlier one. */
		c->domain = vn ? v : NULL;
		c->domain_len = vn;
	} else if (CORIO__IEQ_LIT(a, an, "path")) {
		/* Not starting with '/': the default path (5.2.4), as if absent. */
		c->path = vn && v[0] == '/' ? v : NULL;
		c->path_len = c->path ? vn : 0;
	} else if (CORIO__IEQ_LIT(a, an, "secure")) {
		c->secure = true;
	} else if (CORIO__IEQ_LIT(a, an, "httponly")) {
		c->http_only = true;
	} else if (CORIO__IEQ_LIT(a, an, "samesite")) {
		c->same_site = same_site_of(v, vn);
	}
}

bool corio__hclient_cookie_parse(const char *line, corio__hclient_setcookie *c)
{
	const char *semi, *eq, *p;
	size_t pair;

	memset(c, 0, sizeof *c);
	if (!line || has_ctl(line))
		return false;
	semi = strchr(line, ';');
	pair = semi ? (size_t)(semi - line) : strlen(line);
	eq = memchr(line, '=', pair);
	if (!eq)
		return false; /* 5.2 step 2: no '=' */
	c->name_len = (size_t)(eq - line);
	c->name = trim(line, &c->name_len);
	c->value_len = pair - (size_t)(eq + 1 - line);
	c->value = trim(eq + 1, &c->value_len);
	if (c->name_len == 0 || c->name_len + c->value_len > CORIO__HCLIENT_COOKIE_MAX)
		return false;
	for (p = semi; p;) {
		const char *next = strchr(p + 1, ';');
		size_t n = next ? (size_t)(next - p - 1) : strlen(p + 1);

		attribute(p + 1, n, c);
		p = next;
	}
	return true;
}
