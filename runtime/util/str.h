/* runtime/util/str.h: string helpers shared by the HTTP layers and the runtime: the length
 * of a string literal computed by the compiler (never hand-typed), and ASCII-only case
 * folding (header names and tokens are ASCII; the C library's versions follow the locale),
 * and the value of a hex digit (percent-decoding in URLs, routes and static paths).
 * Header-only.
 */
#ifndef CORIO_UTIL_STR_H
#define CORIO_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Length of a string literal; does not compile with a pointer ("" s "" concatenation). */
#define CORIO__SLEN(lit) (sizeof("" lit "") - 1)
/* A literal and its length, for (const char *, size_t) parameter pairs. */
#define CORIO__LIT(lit) ("" lit ""), CORIO__SLEN(lit)

static inline char corio__ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* a[0..n) equals b[0..n) ignoring ASCII case. */
static inline bool corio__ascii_ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (corio__ascii_lower(a[i]) != corio__ascii_lower(b[i]))
			return false;
	return true;
}

/* The value of the hex digit c (either case), -1 when c is not one. */
static inline int corio__hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..n) equals the literal lit ignoring ASCII case (lengths compared first). */
#define CORIO__IEQ_LIT(s, n, lit) ((n) == CORIO__SLEN(lit) && corio__ascii_ieq((s), (lit), (n)))

#endif
