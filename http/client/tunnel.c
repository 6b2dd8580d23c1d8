/* http/client/tunnel.c: owns the CONNECT exchange that opens a tunnel through an HTTP
 * proxy (RFC 9110 9.3.6): the request (authority-form target, Host, User-Agent, the
 * proxy's Basic credentials) and the proxy's answer, parsed with the client's response
 * parser under the client's head limits. The answer is read with MSG_PEEK and only the
 * bytes the parser took are then consumed, so the tunnel's first bytes (a server that
 * speaks first, or a proxy that sends its 200 and the server's bytes in one segment) stay
 * in the socket for whoever reads next (TLS included). Parks, under the caller's deadline. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/net.h>

#include "http/client/client_internal.h"
#include "runtime/util/buf.h"

/* The most bytes one peek looks at: small, on the coroutine's stack. */
#define PEEK 2048

static int send_connect(int fd, const corio__hclient_route *rt, const char *port,
			const corio_http_client_opts *o)
{
	const char *auth = rt->proxy->auth;
	char *req = NULL;
	ssize_t sent;
	int n;

	n = asprintf(&req,
		     "CONNECT %s%s%s:%s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: %s\r\n%s%s%s\r\n",
		     rt->ipv6 ? "[" : "", rt->host, rt->ipv6 ? "]" : "", port, rt->ipv6 ? "[" : "",
		     rt->host, rt->ipv6 ? "]" : "", port, o->user_agent,
		     auth ? "Proxy-Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "");
	if (n < 0)
		return -ENOMEM;
	sent = corio_send_all(fd, req, (size_t)n);
	free(req);
	return sent < 0 ? (int)sent : 0;
}

/* Feeds the head to h, consuming from the socket exactly what h took. */
static int read_answer(int fd, corio__hclient_parser *h)
{
	char buf[PEEK];

	while (!h->headers_done) {
		ssize_t n = corio_recv(fd, buf, sizeof buf, MSG_PEEK), used;

		if (n == 0) { /* -EPROTO inside the head, -ECONNRESET before its first byte */
			int e = corio__hclient_parser_eof(h);

			return e ? e : -EPROTO;
		}
		if (n < 0)
			return (int)n;
		used = corio__hclient_parser_feed(h, buf, (size_t)n);
		if (used < 0)
			return (int)used;
		/* The peeked bytes are still queued: this receive returns at once. */
		if (used > 0 && corio_recv_exact(fd, buf, (size_t)used) != used)
			return -EPROTO;
	}
	return 0;
}

int corio__hclient_tunnel(int fd, const corio__hclient_route *rt, const char *port,
			  const corio_http_client_opts *o, int *status)
{
	corio__hclient_parser h;
	int rc;

	*status = 0;
	rc = send_connect(fd, rt, port, o);
	if (rc < 0)
		return rc;
	corio__hclient_parser_init(&h, false, o->max_header_bytes, o->max_headers,
				   o->max_chunk_ext);
	rc = read_answer(fd, &h);
	if (rc == 0) {
		*status = h.status;
		if (h.status == 407)
			rc = -EACCES;
		else if (h.status < 200 || h.status > 299)
			rc = -ECONNREFUSED;
	}
	corio__hclient_parser_free(&h);
	return rc;
}
