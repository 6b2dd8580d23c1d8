/* http/client/cookie_io.c: owns the cookies of the client's hops: the Cookie header sent
 * with each hop (the jar asked again for every URL of a redirect chain, so that each
 * origin gets only its own cookies) and the Set-Cookie fields of every response, the
 * 3xx of a chain included, stored before the next hop is made. Never parks. */
#include <errno.h>
#include <stdlib.h>

#include "http/client/cookie_internal.h"
#include "http/client/session.h"

int corio__hclient_cookies_out(corio_http_cookie_jar *jar, const corio_url *u,
			       const char *method, const char *site_for_cookies, char **out)
{
	*out = NULL;
	if (!jar)
		return 0;
	return corio__hclient_jar_header(jar, u, method,
					 corio__hclient_cross_site(u, site_for_cookies), out);
}

int corio__hclient_cookies_in(corio_http_cookie_jar *jar, const corio_url *u,
			      const corio_http_response *r, const char *site_for_cookies)
{
	bool cross;
	const char *v;

	if (!jar || !corio_http_response_header(r, "Set-Cookie"))
		return 0;
	cross = corio__hclient_cross_site(u, site_for_cookies);
	for (size_t i = 0; (v = corio_http_response_header_n(r, "Set-Cookie", i)); i++)
		if (corio__hclient_jar_store(jar, u, v, cross) == -ENOMEM)
			return -ENOMEM;
	return 0;
}
