/* http/ws/connect.c: the client's side of the opening handshake (RFC 6455 4.1): the URL's
 * scheme (ws:// and wss:// are http:// and https:// to the connection), a fresh key of 16
 * random bytes, the request through http/client/upgrade.h, and the answer's checks (101,
 * Upgrade, Connection, Sec-WebSocket-Accept, a protocol we offered, no extension but
 * permessage-deflate when we offered it). Parks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "http/client/upgrade.h"
#include "http/ws/ws_internal.h"

/* The URL with ws:// or wss:// written as http:// or https:// (malloc'd), NULL on ENOMEM. */
static char *http_url(const char *url)
{
	size_t n = strlen(url);
	char *s;

	if (n >= 5 && !strncasecmp(url, "ws://", 5)) {
		if ((s = malloc(n + 3)))
			memcpy(s, "http", 4), memcpy(s + 4, url + 2, n - 1);
	} else if (n >= 6 && !strncasecmp(url, "wss://", 6)) {
		if ((s = malloc(n + 3)))
			memcpy(s, "https", 5), memcpy(s + 5, url + 3, n - 2);
	} else {
		s = strdup(url);
	}
	return s;
}

static int make_key(char key[25])
{
	unsigned char raw[16];

	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -EIO;
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
	return 0;
}

/* Whether some field name of the answer holds the token. */
static bool has_token(const corio__hclient_upgraded *u, const char *name, const char *tok)
{
	const char *v;

	for (size_t i = 0; (v = corio__hclient_upgraded_header(u, name, i)); i++)
		if (corio__ws_list_has(v, tok, strlen(tok), true))
			return true;
	return false;
}

/* The answer's checks; *proto: the protocol the server picked, NULL when none. */
/* The extension the server picked: none, or permessage-deflate when we offered it. */
static int check_ext(const corio__hclient_upgraded *u, bool offered, corio__ws_pmd *pmd)
{
	const char *ext = corio__hclient_upgraded_header(u, "Sec-WebSocket-Extensions", 0);

	if (!ext)
		return 0;
	if (!offered || corio__hclient_upgraded_header(u, "Sec-WebSocket-Extensions", 1))
		return -EPROTO;
	return corio__ws_pmd_check(ext, pmd);
}

static int check(const corio__hclient_upgraded *u, const char *key, const corio_ws_opts *o,
		 const char **proto, corio__ws_pmd *pmd)
{
	const char *acc = corio__hclient_upgraded_header(u, "Sec-WebSocket-Accept", 0);
	const char *offered = o ? o->protocols : NULL;
	char want[29];
	int rc;

	*proto = corio__hclient_upgraded_header(u, "Sec-WebSocket-Protocol", 0);
	if ((rc = corio__ws_accept_key(key, want)) < 0)
		return rc;
	if (!has_token(u, "Upgrade", "websocket") || !has_token(u, "Connection", "upgrade"))
		return -EPROTO;
	if (!acc || strcmp(acc, want) != 0)
		return -EPROTO;
	if ((rc = check_ext(u, o && o->deflate, pmd)) < 0)
		return rc;
	if (*proto && (!offered || strchr(*proto, ',') ||
		       corio__hclient_upgraded_header(u, "Sec-WebSocket-Protocol", 1) ||
		       !corio__ws_list_has(offered, *proto, strlen(*proto), false)))
		return -EPROTO;
	return 0;
}

static int handshake(corio_http_client *c, const char *url, const corio_ws_opts *o,
		     corio__hclient_upgraded *u, char key[25])
{
	corio_http_header h[6] = {
		{ "Upgrade", "websocket" },
		{ "Connection", "Upgrade" },
		{ "Sec-WebSocket-Key", key },
		{ "Sec-WebSocket-Version", "13" },
	};
	size_t n = 4;
	char *hu;
	int rc;

	if (o && o->protocols)
		h[n++] = (corio_http_header){ "Sec-WebSocket-Protocol", o->protocols };
	if (o && o->deflate) /* any window from the server; ours as the server likes */
		h[n++] = (corio_http_header){ "Sec-WebSocket-Extensions",
					      "permessage-deflate; client_max_window_bits" };
	if ((rc = make_key(key)) < 0)
		return rc;
	if (!(hu = http_url(url)))
		return -ENOMEM;
	rc = corio__hclient_upgrade(c, hu, h, n, o ? o->handshake_ns : 0, u);
	free(hu);
	return rc;
}

int corio_ws_connect_opts(corio_http_client *c, const char *url, const corio_ws_opts *o,
			  corio_ws **out)
{
	corio__hclient_upgraded u = { .fd = -1 }; /* freed even when never filled */
	corio__ws_pmd pmd = { 0 };
	char key[25];
	const char *proto = NULL;
	int rc;

	if (!out || (*out = NULL, !c || !url))
		return -EINVAL;
	rc = handshake(c, url, o, &u, key);
	if (rc == 0)
		rc = check(&u, key, o, &proto, &pmd);
	if (rc == 0) {
		corio__ws_io io = { .fd = u.fd, .tls = u.tls, .owned = true };

		if ((*out = corio__ws_new(&io, false, o, u.rest, u.rest_len, proto, &pmd))) {
			u.fd = -1; /* the corio_ws owns them now */
			u.tls = NULL;
		} else {
			rc = -ENOMEM;
		}
	}
	corio__hclient_upgraded_free(&u);
	return rc;
}

int corio_ws_connect(corio_http_client *c, const char *url, corio_ws **out)
{
	return corio_ws_connect_opts(c, url, NULL, out);
}
