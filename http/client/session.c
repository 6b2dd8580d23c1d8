/* http/client/session.c: owns what a client keeps for its requests besides the pool: the
 * cookie jar (its own, or the caller's shared one, none with CORIO_HTTP_NO_COOKIES) and the
 * default Basic credentials, checked and encoded once when the client is made. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/client/session.h"
#include "http/client/client_internal.h"

int corio__hclient_session_init(corio__hclient_session *s, const corio_http_client_opts *o)
{
	int rc;

	memset(s, 0, sizeof *s);
	if (o->auth_user) {
		rc = corio__hclient_basic(o->auth_user, o->auth_password, &s->auth);
		if (rc < 0)
			return rc;
	} else if (o->auth_password) {
		return -EINVAL; /* a password for nobody is a mistake, not "no auth" */
	}
	if (o->flags & CORIO_HTTP_NO_COOKIES)
		return 0;
	s->jar = o->cookie_jar;
	if (!s->jar) {
		s->jar = corio_http_cookie_jar_new();
		s->own_jar = true;
		if (!s->jar)
			return -ENOMEM;
	}
	return 0;
}

void corio__hclient_session_free(corio__hclient_session *s)
{
	if (s->own_jar)
		corio_http_cookie_jar_free(s->jar);
	if (s->auth) {
		explicit_bzero(s->auth, strlen(s->auth));
		free(s->auth);
	}
	memset(s, 0, sizeof *s);
}

corio_http_cookie_jar *corio_http_client_cookie_jar(corio_http_client *c)
{
	return c ? c->sess.jar : NULL;
}
