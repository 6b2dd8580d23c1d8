/* http/common/token.c: owns the header checks (token.h) client and server share, so that a
 * header name or value is judged the same way on both sides. Pure functions, never park. */
#include <string.h>

#include "http/common/token.h"

static bool is_token_char(int c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

bool corio__http_valid_token(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++)
		if (!is_token_char((unsigned char)*s) || n >= max)
			return false;
	return true;
}

bool corio__http_valid_value(const char *s)
{
	for (; s && *s; s++)
		if (*s == '\r' || *s == '\n')
			return false;
	return true;
}

bool corio__http_framing_safe_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s == '\r' || *s == '\n' || *s == ':' || *s == ' ' || *s == '\t')
			return false;
	return true;
}
