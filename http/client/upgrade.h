/* http/client/upgrade.h: a connection of the HTTP client handed to another protocol (the
 * WebSocket client, http/ws/): a fresh connection (never from the pool, never back to it)
 * opened with the client's TLS config, proxies (a CONNECT tunnel) and timeouts, a GET
 * with the client's default headers and the caller's, and the answer's head read with the
 * client's response parser.
 * Not installed; not internal to http/client/ (http/ws/ includes it). */
#ifndef CORIO_HTTP_CLIENT_UPGRADE_H
#define CORIO_HTTP_CLIENT_UPGRADE_H

#include <stddef.h>
#include <stdint.h>

#include <corio/http.h>
#include <corio/tls.h>

#include "http/client/parser.h"

typedef struct corio__hclient_upgraded {
	int fd;                  /* the socket (the caller's after a 0 return), -1 when none */
	corio_tls *tls;          /* its TLS connection (https), else NULL */
	int status;              /* of the answer, 0 when none came */
	char *rest;              /* bytes received past the answer's head (malloc'd), or NULL */
	size_t rest_len;
	corio__hclient_parser h; /* the answer's head */
} corio__hclient_upgraded;

/* Sends "GET <path>?<query> HTTP/1.1" to url (http:// or https://) with Host, User-Agent,
 * c's default headers (minus those named in extra) and extra[0..nextra), on a new
 * connection made under c's connect timeout, then reads the answer's head within
 * timeout_ns (0: c's total timeout). 0 on a 101: *out holds the connection. Another
 * status: -EPROTO (out->status says which; the connection is closed). Else the errors of
 * corio_http_request (-EKEYREJECTED, -ECONNREFUSED, -EACCES (a proxy's 407), -ETIMEDOUT,
 * -EINVAL for a bad URL or header, -EPROTONOSUPPORT for another scheme, -EBADMSG for a
 * broken head). Free *out with
 * corio__hclient_upgraded_free whatever the result. Parks. */
int corio__hclient_upgrade(corio_http_client *c, const char *url, const corio_http_header *extra,
			   size_t nextra, uint64_t timeout_ns, corio__hclient_upgraded *out);
/* The i-th value of the answer's header name, NULL beyond. Never parks. */
const char *corio__hclient_upgraded_header(const corio__hclient_upgraded *u, const char *name,
					   size_t i);
/* Frees the head and the rest, and closes the connection unless the caller took fd and tls
 * (set them to -1 and NULL). Parks (closing). */
void corio__hclient_upgraded_free(corio__hclient_upgraded *u);

#endif
