/* http/ws/accept.c: the server's side of the opening handshake (RFC 6455 4.2): the request's
 * checks (GET, HTTP/1.1, Upgrade, Connection, version 13 (426 otherwise), a key of 16 bytes
 * in base64), the subprotocol pick, and the 101 through http/server/hijack.h, after which
 * the corio_ws borrows the connection; permessage-deflate accepted when the options ask
 * for it (deflate.c picks the offer). Parks (the answers). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "http/server/hijack.h"
#include "http/ws/ws_internal.h"

/* Whether some field name of req holds the token tok (fields may repeat). */
static bool field_has(const corio_http_in *req, const char *name, const char *tok)
{
	size_t n = corio_http_in_header_count(req);

	for (size_t i = 0; i < n; i++) {
		const char *k, *v;

		if (corio_http_in_header_at(req, i, &k, &v) == 0 && strcasecmp(k, name) == 0 &&
		    corio__ws_list_has(v, tok, strlen(tok), true))
			return true;
	}
	return false;
}

/* 24 base64 characters that decode to 16 bytes (RFC 6455 4.1, item 7). */
static bool key_ok(const char *key)
{
	unsigned char raw[24];

	if (!key || strlen(key) != 24 || key[22] != '=' || key[23] != '=')
		return false;
	return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

/* 0 when the request asks for a WebSocket as it must, else the status to answer. */
static int check(const corio_http_in *req)
{
	const char *v = corio_http_in_header(req, "Sec-WebSocket-Version");

	if (strcmp(corio_http_in_method(req), "GET") != 0 || corio_http_in_version(req) < 11)
		return 400;
	if (!field_has(req, "Upgrade", "websocket") || !field_has(req, "Connection", "upgrade"))
		return 400;
	if (corio_http_in_content_length(req) != 0)
		return 400;
	if (!v || strcmp(v, "13") != 0)
		return 426;
	return key_ok(corio_http_in_header(req, "Sec-WebSocket-Key")) ? 0 : 400;
}

struct pick {
	const corio_http_in *req;
	char *out;
};

/* The server's token tok, when one of the client's Sec-WebSocket-Protocol fields offers
 * it (names are compared exactly). */
static bool offered(const char *tok, size_t n, void *arg)
{
	struct pick *p = arg;
	size_t count = corio_http_in_header_count(p->req);

	for (size_t i = 0; i < count; i++) {
		const char *k, *v;

		if (corio_http_in_header_at(p->req, i, &k, &v) == 0 &&
		    strcasecmp(k, "Sec-WebSocket-Protocol") == 0 &&
		    corio__ws_list_has(v, tok, n, false)) {
			p->out = strndup(tok, n);
			return true;
		}
	}
	return false;
}

/* The first acceptable permessage-deflate offer of the request's extension fields. */
static bool pick_deflate(const corio_http_in *req, corio__ws_pmd *pmd, char *answer, size_t cap)
{
	size_t n = corio_http_in_header_count(req);

	for (size_t i = 0; i < n; i++) {
		const char *k, *v;

		if (corio_http_in_header_at(req, i, &k, &v) == 0 &&
		    strcasecmp(k, "Sec-WebSocket-Extensions") == 0 &&
		    corio__ws_pmd_accept(v, pmd, answer, cap))
			return true;
	}
	return false;
}

static int refuse(corio_http_out *resp, int status)
{
	if (status == 426)
		corio_http_out_header(resp, "Sec-WebSocket-Version", "13");
	corio_http_out_error(resp, status);
	return -EPROTO;
}

static int answer(corio_http_in *req, corio_http_out *resp, const char *proto, const char *ext,
		  corio__hserver_hijacked *h)
{
	char acc[29];
	int rc;

	if ((rc = corio__ws_accept_key(corio_http_in_header(req, "Sec-WebSocket-Key"), acc)) < 0)
		return rc;
	if ((rc = corio_http_out_header(resp, "Upgrade", "websocket")) < 0 ||
	    (rc = corio_http_out_header(resp, "Sec-WebSocket-Accept", acc)) < 0 ||
	    (proto && (rc = corio_http_out_header(resp, "Sec-WebSocket-Protocol", proto)) < 0) ||
	    (ext && (rc = corio_http_out_header(resp, "Sec-WebSocket-Extensions", ext)) < 0))
		return rc;
	return corio__hserver_hijack(req, resp, h);
}

int corio_ws_accept_opts(corio_http_in *req, corio_http_out *resp, const corio_ws_opts *o,
			 corio_ws **out)
{
	struct pick pk = { req, NULL };
	corio__hserver_hijacked h = { .fd = -1 }; /* answer() may fail before the hijack */
	corio__ws_io io = { 0 };
	corio__ws_pmd pmd = { 0 };
	char ext[128];
	int rc;

	if (!out || (*out = NULL, !req || !resp))
		return -EINVAL;
	if (corio_http_out_started(resp))
		return -EALREADY;
	if ((rc = check(req)) != 0)
		return refuse(resp, rc);
	if (o && o->protocols)
		corio__ws_list_each(o->protocols, offered, &pk);
	if (o && o->deflate)
		pick_deflate(req, &pmd, ext, sizeof ext);
	rc = answer(req, resp, pk.out, pmd.on ? ext : NULL, &h);
	if (rc == 0) {
		io = (corio__ws_io){ .fd = h.fd, .tls = h.tls, .rx = h.rx };
		if (!(*out = corio__ws_new(&io, true, o, h.rest, h.rest_len, pk.out, &pmd)))
			rc = -ENOMEM; /* the 101 went out: the server closes the connection */
	}
	free(h.rest);
	free(pk.out);
	return rc;
}

int corio_ws_accept(corio_http_in *req, corio_http_out *resp, corio_ws **out)
{
	return corio_ws_accept_opts(req, resp, NULL, out);
}
