/* http/client/session.h: what a client keeps for its requests beyond the pool (session.c:
 * its cookie jar and default credentials), Basic credentials (auth.c, RFC 7617) and the
 * cookies of each hop (cookie_io.c), as request.c uses them. Private to http/client/;
 * never installed. */
#ifndef CORIO_HTTP_CLIENT_SESSION_H
#define CORIO_HTTP_CLIENT_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <corio/http.h>

/* "Basic " + base64(user ":" password) into *out (malloc'd); password NULL is "". 0,
 * -EINVAL (a ':' in user: the server could not tell where the user ends, RFC 7617 2),
 * -ENOMEM. */
int corio__hclient_basic(const char *user, const char *password, char **out);
/* The same from credentials already joined ("user:password", n bytes). 0 or -ENOMEM. */
int corio__hclient_basic_raw(const char *cred, size_t n, char **out);

typedef struct corio__hclient_session {
	corio_http_cookie_jar *jar; /* NULL with CORIO_HTTP_NO_COOKIES */
	bool own_jar;
	char *auth; /* the client's Authorization value ("Basic ..."), or NULL */
} corio__hclient_session;

/* From the client's options: 0, -EINVAL (a bad auth_user), -ENOMEM. Never parks. */
int corio__hclient_session_init(corio__hclient_session *s, const corio_http_client_opts *o);
void corio__hclient_session_free(corio__hclient_session *s);

/* auth.c: the Authorization value of a request (*out malloc'd, NULL for none): the
 * request's auth_user, else the userinfo of its URL, else the client's. 0, -EINVAL (a ':'
 * in a user name), -ENOMEM. */
int corio__hclient_auth_pick(const corio__hclient_session *s, const struct corio_http_request *q,
			     const corio_url *first, char **out);

/* cookie_io.c. The Cookie header for a hop to u (*out malloc'd, NULL for none) and the
 * Set-Cookie fields of a response from u into the jar (NULL jar: nothing). 0 or -ENOMEM.
 * Never park. */
int corio__hclient_cookies_out(corio_http_cookie_jar *jar, const corio_url *u,
			       const char *method, const char *site_for_cookies, char **out);
int corio__hclient_cookies_in(corio_http_cookie_jar *jar, const corio_url *u,
			      const corio_http_response *r, const char *site_for_cookies);

#endif
