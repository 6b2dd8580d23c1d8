/* http/server/hijack.h: a handler's connection taken over by another protocol (the
 * WebSocket upgrade, http/ws/): the 101 answer, then the socket, its TLS connection, its
 * receiver and the bytes the server read past the request's head, for the taker to use
 * until the handler returns. Not installed; not internal to http/server/ (http/ws/
 * includes it), so it names no type of server_internal.h. */
#ifndef CORIO_HTTP_SERVER_HIJACK_H
#define CORIO_HTTP_SERVER_HIJACK_H

#include <stddef.h>

#include <corio/http_server.h>
#include <corio/net.h>
#include <corio/tls.h>

typedef struct corio__hserver_hijacked {
	int fd;                /* the connection's socket (the server's: never close it) */
	corio_tls *tls;        /* its TLS connection (https), else NULL; the server's too */
	corio_receiver *rx;    /* its multishot receiver when it has one (then receive through
				* it, not from fd); the server's */
	char *rest;            /* bytes received past the request's head (malloc'd: the
				* caller frees it), NULL when none */
	size_t rest_len;
} corio__hserver_hijacked;

/* Sends "101 Switching Protocols" with Connection: Upgrade, the handler's headers set so
 * far (corio_http_out_header: Upgrade, Sec-WebSocket-Accept, ...) and no body, and hands
 * the connection out. The server then sends nothing more on it, reads no further request,
 * and closes it when the handler returns. 0, -EALREADY (a response already started),
 * -EINVAL (the request has a body, or is not complete), -ENOMEM, or the send's -errno.
 * Parks. */
int corio__hserver_hijack(corio_http_in *req, corio_http_out *resp, corio__hserver_hijacked *out);

#endif
