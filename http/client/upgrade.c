/* http/client/upgrade.c: a client connection handed to another protocol (upgrade.h): a
 * fresh connection from the pool's connect path (so TLS config, session resumption,
 * proxies (a CONNECT tunnel) and the connect timeout are the client's), the request head
 * written here, the answer's head read with the response parser told that a 101 is the
 * answer, and the connection taken out of the pool's counts without being closed. The
 * client's cookies and credentials go with the request, and the answer's Set-Cookie
 * fields to the jar. Parks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/client/client_internal.h"
#include "http/client/cookie_internal.h"
#include "http/client/session.h"
#include "http/client/upgrade.h"
#include "runtime/util/buf.h"

static bool named_in(const char *name, const corio_http_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(name, h[i].name) == 0)
			return true;
	return false;
}

/* Names this request writes itself whatever the defaults say. */
static bool own_name(const char *name)
{
	return !strcasecmp(name, "Host") || !strcasecmp(name, "Content-Length") ||
	       !strcasecmp(name, "Transfer-Encoding") || !strcasecmp(name, "Expect") ||
	       !strcasecmp(name, "User-Agent");
}

static void add(corio__buf *b, const char *name, const char *value, int *err)
{
	if (*err)
		return;
	if (corio__buf_append(b, name, strlen(name)) || corio__buf_append(b, CORIO__LIT(": ")) ||
	    corio__buf_append(b, value, strlen(value)) || corio__buf_append(b, CORIO__LIT("\r\n")))
		*err = -ENOMEM;
}

/* The client's credentials and the jar's cookies for u, as a request carries them,
 * unless the caller's headers or the client's defaults name their own. */
static void add_session(const corio_http_client *c, const corio_url *u, const corio_http_header *extra,
			size_t nextra, corio__buf *b, int *err)
{
	char *v = NULL;

	if (c->sess.auth && !named_in("Authorization", extra, nextra) &&
	    !named_in("Authorization", c->o.headers, c->o.nheaders))
		add(b, "Authorization", c->sess.auth, err);
	if (named_in("Cookie", extra, nextra) || named_in("Cookie", c->o.headers, c->o.nheaders))
		return;
	if (corio__hclient_cookies_out(c->sess.jar, u, "GET", NULL, &v) < 0)
		*err = -ENOMEM;
	if (v)
		add(b, "Cookie", v, err);
	free(v);
}

/* The answer's Set-Cookie fields go to the jar, whatever its status. */
static void store_cookies(corio_http_client *c, const corio_url *u, const corio__hclient_parser *h)
{
	const char *v;

	for (size_t i = 0; c->sess.jar && h->headers_done &&
			   (v = corio__hclient_parser_get(h, false, "Set-Cookie", i));
	     i++)
		corio__hclient_jar_store(c->sess.jar, u, v, false);
}

static int build(const corio_http_client *c, const corio_url *u, const corio_http_header *extra,
		 size_t nextra, corio__buf *b)
{
	char host[300];
	int err = 0;

	for (size_t i = 0; i < nextra; i++)
		if (!corio__http_valid_token(extra[i].name, 256) ||
		    !corio__http_valid_value(extra[i].value))
			return -EINVAL;
	snprintf(host, sizeof host, "%s%s%s", u->ipv6 ? "[" : "", u->host, u->ipv6 ? "]" : "");
	if (u->has_port && u->port != corio_url_default_port(u->scheme))
		snprintf(host + strlen(host), sizeof host - strlen(host), ":%u", u->port);
	if (corio__buf_append(b, CORIO__LIT("GET ")) || corio__buf_append(b, u->path, strlen(u->path)))
		return -ENOMEM;
	if (u->query && (corio__buf_append(b, CORIO__LIT("?")) ||
			 corio__buf_append(b, u->query, strlen(u->query))))
		return -ENOMEM;
	if (corio__buf_append(b, CORIO__LIT(" HTTP/1.1\r\n")))
		return -ENOMEM;
	add(b, "Host", host, &err);
	add(b, "User-Agent", c->o.user_agent, &err);
	for (size_t i = 0; i < c->o.nheaders; i++)
		if (c->o.headers[i].value && !own_name(c->o.headers[i].name) &&
		    !named_in(c->o.headers[i].name, extra, nextra))
			add(b, c->o.headers[i].name, c->o.headers[i].value, &err);
	for (size_t i = 0; i < nextra; i++)
		add(b, extra[i].name, extra[i].value, &err);
	add_session(c, u, extra, nextra, b, &err);
	if (!err && corio__buf_append(b, CORIO__LIT("\r\n")))
		err = -ENOMEM;
	return err;
}

/* Reads until the answer's head is in; what follows it stays in k->buf[k->off..k->len). */
static int read_head(corio__hclient_conn *k, corio__hclient_parser *h)
{
	while (!h->headers_done) {
		ssize_t n;

		if (k->off < k->len) {
			n = corio__hclient_parser_feed(h, k->buf + k->off, k->len - k->off);
			if (n < 0)
				return (int)n;
			k->off += (size_t)n;
			continue;
		}
		n = corio__hclient_recv(k, k->buf, sizeof k->buf);
		if (n == 0)
			return corio__hclient_parser_eof(h) < 0 ? corio__hclient_parser_eof(h) : -EPROTO;
		if (n < 0)
			return (int)n;
		k->off = 0;
		k->len = (size_t)n;
	}
	return 0;
}

/* The exchange on the new connection k; on a 101 the connection moves to out. */
static int exchange(corio_http_client *c, corio__hclient_conn *k, const corio__buf *req,
		    corio__hclient_upgraded *out)
{
	ssize_t n = corio__hclient_send(k, req->p, req->len);
	int rc;

	if (n < 0)
		return (int)n;
	corio__hclient_parser_init(&out->h, false, c->o.max_header_bytes, c->o.max_headers,
				   c->o.max_chunk_ext);
	out->h.upgrade = true;
	if ((rc = read_head(k, &out->h)) < 0)
		return rc;
	out->status = out->h.status;
	if (out->status != 101)
		return -EPROTO;
	out->rest_len = k->len - k->off;
	if (out->rest_len && !(out->rest = malloc(out->rest_len)))
		return -ENOMEM;
	if (out->rest_len)
		memcpy(out->rest, k->buf + k->off, out->rest_len);
	out->fd = k->fd;
	out->tls = k->tls;
	k->fd = -1; /* the pool forgets the connection without closing it */
	k->tls = NULL;
	return 0;
}

int corio__hclient_upgrade(corio_http_client *c, const char *url, const corio_http_header *extra,
			   size_t nextra, uint64_t timeout_ns, corio__hclient_upgraded *out)
{
	corio__buf req = CORIO__BUF_INIT;
	corio__hclient_conn *k = NULL;
	corio__hclient_route rt = {0};
	corio_timeout t;
	corio_url u;
	int rc;

	memset(out, 0, sizeof *out);
	out->fd = -1;
	if (!c || !url || (nextra && !extra))
		return -EINVAL;
	if ((rc = corio_url_parse(url, &u)) < 0)
		return rc;
	if (strcmp(u.scheme, "http") != 0 && strcmp(u.scheme, "https") != 0)
		rc = -EPROTONOSUPPORT;
	else if ((rc = build(c, &u, extra, nextra, &req)) == 0 &&
		 (rc = corio__hclient_proxy_pick(&c->px, &u, &rt.proxy)) == 0) {
		/* Through a proxy always a tunnel, ws:// too (as browsers do): a forwarding
		 * proxy need not pass an upgrade on. */
		rt = (corio__hclient_route){.tls = u.scheme[4] == 's', .host = u.host,
					    .ipv6 = u.ipv6, .port = u.port, .proxy = rt.proxy,
					    .tunnel = true};
		rc = corio__hclient_acquire(c, &rt, true, corio__hclient_deadline(c->o.connect_ns),
					    NULL, &k);
	}
	if (rc == 0) {
		corio_timeout_enter(&t, timeout_ns ? timeout_ns : c->o.total_ns);
		rc = exchange(c, k, &req, out);
		corio_timeout_exit(&t);
		store_cookies(c, &u, &out->h);
		k->broken = rc != 0; /* a failed exchange: no close_notify, no session kept */
		corio__hclient_release(c, k, false);
	}
	corio__buf_free(&req);
	corio_url_free(&u);
	return rc;
}

const char *corio__hclient_upgraded_header(const corio__hclient_upgraded *u, const char *name,
					   size_t i)
{
	return u->h.headers_done ? corio__hclient_parser_get(&u->h, false, name, i) : NULL;
}

void corio__hclient_upgraded_free(corio__hclient_upgraded *u)
{
	corio__hclient_parser_free(&u->h);
	free(u->rest);
	u->rest = NULL;
	if (u->tls && corio_current())
		corio_tls_shutdown(u->tls);
	corio_tls_free(u->tls);
	u->tls = NULL;
	if (u->fd >= 0)
		corio_close(u->fd);
	u->fd = -1;
}
