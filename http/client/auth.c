/* http/client/auth.c: owns Basic credentials (RFC 7617): the check on the user name and
 * the base64 of "user:password" that becomes an Authorization value. Never parks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/client/session.h"

int corio__hclient_basic_raw(const char *cred, size_t n, char **out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = (const unsigned char *)cred;
	char *o = malloc(6 + (n + 2) / 3 * 4 + 1);
	size_t k = 6;

	*out = NULL;
	if (!o)
		return -ENOMEM;
	memcpy(o, "Basic ", 6);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;

		v |= i + 1 < n ? (unsigned)s[i + 1] << 8 : 0;
		v |= i + 2 < n ? s[i + 2] : 0;
		o[k++] = tab[v >> 18 & 63];
		o[k++] = tab[v >> 12 & 63];
		o[k++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		o[k++] = i + 2 < n ? tab[v & 63] : '=';
	}
	o[k] = 0;
	*out = o;
	return 0;
}

int corio__hclient_basic(const char *user, const char *password, char **out)
{
	size_t un, pn;
	char *cred;
	int rc;

	*out = NULL;
	if (!user || strchr(user, ':'))
		return -EINVAL;
	password = password ? password : "";
	un = strlen(user);
	pn = strlen(password);
	cred = malloc(un + pn + 2);
	if (!cred)
		return -ENOMEM;
	memcpy(cred, user, un);
	cred[un] = ':';
	memcpy(cred + un + 1, password, pn + 1);
	rc = corio__hclient_basic_raw(cred, un + 1 + pn, out);
	/* The plain credentials do not linger in freed memory. */
	explicit_bzero(cred, un + pn + 2);
	free(cred);
	return rc;
}

int corio__hclient_auth_pick(const corio__hclient_session *s, const struct corio_http_request *q,
			     const corio_url *first, char **out)
{
	char *dec = NULL;
	ssize_t n;
	int rc;

	*out = NULL;
	if (q->auth_user)
		return corio__hclient_basic(q->auth_user, q->auth_password, out);
	if (q->auth_password)
		return -EINVAL;
	if (!first->userinfo) {
		*out = s->auth ? strdup(s->auth) : NULL;
		return s->auth && !*out ? -ENOMEM : 0;
	}
	/* Userinfo is sent as written, decoded once: "us%65r:pa%3Ass" is user "user" with
	 * password "pa:ss" (only the first ':' separates them, RFC 3986 3.2.1). */
	n = corio_url_decode(first->userinfo, strlen(first->userinfo), 0, &dec);
	if (n < 0)
		return n == -ENOMEM ? -ENOMEM : 0; /* not decodable: no credentials, as before */
	rc = corio__hclient_basic_raw(dec, (size_t)n, out);
	explicit_bzero(dec, (size_t)n);
	free(dec);
	return rc;
}
