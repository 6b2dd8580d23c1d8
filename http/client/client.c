/* http/client/client.c: owns the client object (options and their defaults, default headers) and
 * its connection pool: origins (scheme + host + port, with the TLS session to resume for
 * https; through a proxy, the proxy too: a tunnel's origin is proxy + target, a forwarding
 * proxy's connections are keyed by the proxy alone, and neither is shared with direct
 * connections), a total and a per-origin limit on open connections, idle connections kept
 * most recently used first and expired lazily after keepalive_ns, a liveness check before
 * reuse, making a connection (dial.c, then CONNECT through tunnel.c, then TLS) with its
 * trace events, and a connection's I/O (plain or TLS).
 * Tasks over a limit wait on one condition variable, broadcast whenever a slot or an idle
 * connection frees up. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <corio/net.h>

#include "http/client/client_internal.h"

uint64_t corio__hclient_deadline(uint64_t ns)
{
	uint64_t now = corio_now();

	return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}

/* Closing parks (IORING_OP_CLOSE); outside a task (a response freed after its loop ended)
 * a plain close is all that is possible. */
static void close_fd(int fd)
{
	if (corio_current())
		corio_close(fd);
	else
		close(fd);
}

static int copy_headers(corio_http_client *c, const corio_http_client_opts *o)
{
	size_t need = 0, off = 0;

	if (o->nheaders && !o->headers)
		return -EINVAL;
	for (size_t i = 0; i < o->nheaders; i++) {
		if (!corio__http_valid_token(o->headers[i].name, 256) ||
		    !corio__http_valid_value(o->headers[i].value))
			return -EINVAL;
		need += strlen(o->headers[i].name) + 2 +
			(o->headers[i].value ? strlen(o->headers[i].value) : 0);
	}
	if (!o->nheaders)
		return 0;
	c->headers = calloc(o->nheaders, sizeof *c->headers);
	c->hstore = malloc(need);
	if (!c->headers || !c->hstore)
		return -ENOMEM;
	for (size_t i = 0; i < o->nheaders; i++) {
		size_t n = strlen(o->headers[i].name) + 1;

		memcpy(c->hstore + off, o->headers[i].name, n);
		c->headers[i].name = c->hstore + off;
		off += n;
		if (o->headers[i].value) {
			n = strlen(o->headers[i].value) + 1;
			memcpy(c->hstore + off, o->headers[i].value, n);
			c->headers[i].value = c->hstore + off;
			off += n;
		}
	}
	c->o.headers = c->headers;
	return 0;
}

static void free_client(corio_http_client *c)
{
	corio__hclient_proxies_free(&c->px);
	corio_tls_config_free(c->tls);
	corio__hclient_session_free(&c->sess);
	free(c->headers);
	free(c->hstore);
	free(c->ua);
	free(c);
}

/* Defaults of the size limits a zero option leaves open. Response heads are allowed more
 * than the server allows requests (servers send long Set-Cookie and CSP headers); a chunk
 * extension is rare and short; a body held in memory (corio_http_response_text) should not
 * exceed 1 GiB unless asked. */
#define DEF_MAX_HEADER_BYTES 65536
#define DEF_MAX_HEADERS 100
#define DEF_MAX_CHUNK_EXT 4096
#define DEF_MAX_BODY_SIZE ((uint64_t)1 << 30)

#define DEF(field, v)                                                                        \
	do {                                                                                 \
		if (!c->o.field)                                                             \
			c->o.field = (v);                                                    \
	} while (0)

corio_http_client *corio_http_client_new(const corio_http_client_opts *opts)
{
	corio_http_client *c = calloc(1, sizeof *c);
	int rc;

	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	if (opts)
		c->o = *opts;
	c->o.headers = NULL;
	DEF(limit, 100);
	DEF(limit_per_host, c->o.limit);
	DEF(keepalive_ns, CORIO_SEC(15));
	DEF(connect_ns, CORIO_SEC(30));
	DEF(total_ns, CORIO_SEC(300));
	DEF(read_ns, CORIO_SEC(30));
	DEF(max_redirects, 10);
	DEF(max_header_bytes, DEF_MAX_HEADER_BYTES);
	DEF(max_headers, DEF_MAX_HEADERS);
	DEF(max_chunk_ext, DEF_MAX_CHUNK_EXT);
	DEF(max_body_size, DEF_MAX_BODY_SIZE);
	DEF(max_decoded_size, c->o.max_body_size);
	DEF(expect_continue_min, UINT64_MAX);
	DEF(continue_ns, CORIO_SEC(1));
	rc = opts ? copy_headers(c, opts) : 0;
	if (rc == 0 && c->o.tls) {
		rc = corio__tls_config_is_client(c->o.tls) ? 0 : -EINVAL;
		if (rc == 0)
			c->tls = corio__tls_config_hold(c->o.tls);
	}
	c->o.tls = NULL; /* c->tls is the client's own reference */
	if (rc == 0 && (rc = corio__hclient_proxies_init(&c->px, &c->o)) != 0 && rc != -ENOMEM)
		rc = -EINVAL; /* a bad proxy option */
	c->o.proxy_http = c->o.proxy_https = c->o.no_proxy = NULL; /* the caller's strings */
	if (rc == 0)
		rc = corio__hclient_session_init(&c->sess, &c->o);
	c->o.cookie_jar = NULL; /* c->sess.jar says which jar */
	c->o.auth_user = c->o.auth_password = NULL; /* c->sess.auth holds them encoded */
	if (rc == 0) {
		const char *ua = c->o.user_agent ? c->o.user_agent : CORIO__HCLIENT_UA;

		c->ua = corio__http_valid_value(ua) ? strdup(ua) : NULL;
		rc = c->ua ? 0 : (corio__http_valid_value(ua) ? -ENOMEM : -EINVAL);
		c->o.user_agent = c->ua;
	}
	if (rc != 0) {
		free_client(c);
		errno = -rc;
		return NULL;
	}
	corio_mutex_init(&c->mu);
	corio_cond_init(&c->cv);
	c->refs = 1;
	return c;
}

/* Closes k's socket; a TLS connection that ended cleanly first says close_notify (a
 * pooled connection's socket has room for it, so this does not wait on the peer). A
 * broken one (a body left unread, a failed request) is just closed: the peer sees a cut. */
static void conn_close(corio__hclient_conn *k)
{
	if (k->tls && !k->broken && corio_current())
		corio_tls_shutdown(k->tls);
	corio_tls_free(k->tls);
	k->tls = NULL;
	if (k->fd >= 0)
		close_fd(k->fd);
}

/* Takes conn out of the counts and puts it on *dead; bury() closes it later. Closing parks,
 * and nothing may park while a list of the pool is being walked. */
static void drop_conn(corio_http_client *c, corio__hclient_conn *conn, corio__hclient_conn **dead)
{
	conn->origin->nconns--;
	c->nconns--;
	conn->next = *dead;
	*dead = conn;
	corio_cond_broadcast(&c->cv);
}

static void bury(corio__hclient_conn *dead)
{
	while (dead) {
		corio__hclient_conn *k = dead;

		dead = k->next;
		conn_close(k);
		free(k);
	}
}

/* Unused https origins kept for the TLS session they hold (newest first in the list): a
 * client that comes back to a server it closed a moment ago resumes instead of making a
 * full handshake, and a client that visits many hosts keeps at most this many spare. */
#define SPARE_SESSIONS 32

/* Frees origins nobody uses any more, except up to SPARE_SESSIONS holding a session when
 * keep_sessions is true. */
static void prune_origins(corio_http_client *c, bool keep_sessions)
{
	unsigned spare = 0;

	for (corio__hclient_origin **pp = &c->origins; *pp;) {
		corio__hclient_origin *o = *pp;

		if (o->nconns == 0 && o->users == 0 &&
		    !(keep_sessions && o->session && spare++ < SPARE_SESSIONS)) {
			*pp = o->next;
			corio__tls_session_free(o->session);
			corio__hclient_proxy_free(o->proxy);
			free(o->host);
			free(o);
		} else {
			pp = &o->next;
		}
	}
}

void corio__hclient_unref(corio_http_client *c)
{
	if (--c->refs == 0) {
		prune_origins(c, false);
		free_client(c);
	}
}

static void close_idle(corio_http_client *c, bool expired_only, corio__hclient_conn **dead)
{
	uint64_t now = corio_now();

	for (corio__hclient_origin *o = c->origins; o; o = o->next) {
		for (corio__hclient_conn **pp = &o->idle; *pp;) {
			corio__hclient_conn *k = *pp;

			if (expired_only && now - k->idle_since < c->o.keepalive_ns) {
				pp = &k->next;
				continue;
			}
			*pp = k->next;
			c->st.idle--;
			drop_conn(c, k, dead);
		}
	}
}

void corio_http_client_free(corio_http_client *c)
{
	if (!c)
		return;
	corio__hclient_conn *dead = NULL;

	c->closing = true;
	corio_cond_broadcast(&c->cv); /* waiters for a connection give up (-ESHUTDOWN) */
	close_idle(c, false, &dead);
	bury(dead);
	corio__hclient_unref(c);
}

void corio_http_client_stats_get(const corio_http_client *c, corio_http_client_stats *out)
{
	if (!c || !out)
		return;
	*out = c->st;
	out->open = c->nconns;
}

/* The pool's key of rt: forwarding (plain http through a proxy) goes to the proxy itself. */
static bool same_key(const corio__hclient_origin *o, const corio__hclient_route *rt, bool fwd,
		     const char *host, const char *ps)
{
	return o->tls == rt->tls && strcmp(o->host, host) == 0 && strcmp(o->port, ps) == 0 &&
	       corio__hclient_proxy_same(o->proxy, rt->proxy) && (!o->proxy || o->tunnel == !fwd);
}

static corio__hclient_origin *find_origin(corio_http_client *c, const corio__hclient_route *rt)
{
	bool fwd = rt->proxy && !rt->tunnel;
	const char *host = fwd ? rt->proxy->host : rt->host;
	corio__hclient_origin *o;
	char ps[8];

	snprintf(ps, sizeof ps, "%u", rt->port);
	if (fwd)
		memcpy(ps, rt->proxy->port, sizeof ps);
	for (o = c->origins; o; o = o->next)
		if (same_key(o, rt, fwd, host, ps))
			return o;
	o = calloc(1, sizeof *o);
	if (!o || !(o->host = strdup(host)) ||
	    (rt->proxy && !(o->proxy = corio__hclient_proxy_dup(rt->proxy)))) {
		if (o)
			free(o->host);
		free(o);
		return NULL;
	}
	memcpy(o->port, ps, sizeof ps);
	o->ipv6 = fwd ? rt->proxy->ipv6 : rt->ipv6;
	o->tls = rt->tls;
	o->tunnel = rt->proxy && rt->tunnel;
	o->next = c->origins;
	c->origins = o;
	return o;
}

/* A pooled connection is reused only when the peer has neither closed it nor sent anything
 * while it sat idle. Bytes that come before a request are no answer to it (a late body to
 * HEAD, a stray or hostile response): read as the next response, they would shift every
 * response after them onto the wrong request. So the check is made at every reuse, however
 * short the idle time: a non-blocking peek, one plain syscall that never waits (~1.3 us on
 * this project's 2-core VM measured alone; within the noise of the http_client bench). A
 * close that races it is still caught by the retry rule. */
static bool conn_alive(corio__hclient_conn *k)
{
	char b;
	ssize_t n;

	if (corio__tls_buffered(k->tls)) /* TLS bytes past the last response, already read */
		return false;
	n = recv(k->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Takes a live idle connection of o, closing the dead and expired ones met on the way. */
static corio__hclient_conn *take_idle(corio_http_client *c, corio__hclient_origin *o,
				      corio__hclient_conn **dead)
{
	uint64_t now = corio_now();

	while (o->idle) {
		corio__hclient_conn *k = o->idle;

		o->idle = k->next;
		c->st.idle--;
		if (now - k->idle_since < c->o.keepalive_ns && conn_alive(k)) {
			k->next = NULL;
			return k;
		}
		drop_conn(c, k, dead);
	}
	return NULL;
}

/* Over the total limit: closes the least recently used idle connection of any origin. */
static bool evict_one(corio_http_client *c, corio__hclient_conn **dead)
{
	corio__hclient_conn *victim = NULL, **vpp = NULL;

	for (corio__hclient_origin *o = c->origins; o; o = o->next)
		for (corio__hclient_conn **pp = &o->idle; *pp; pp = &(*pp)->next)
			if (!victim || (*pp)->idle_since < victim->idle_since) {
				victim = *pp;
				vpp = pp;
			}
	if (!victim)
		return false;
	*vpp = victim->next;
	c->st.idle--;
	drop_conn(c, victim, dead);
	return true;
}

/* Keeps t's session for the origin's next connection when it is resumable (with TLS 1.3
 * the tickets come after the handshake, so a connection is asked again on release). */
static void keep_session(corio__hclient_origin *o, corio_tls *t)
{
	corio__tls_session *s = corio__tls_session_get(t);

	if (s) {
		corio__tls_session_free(o->session);
		o->session = s;
	}
}

/* The TLS handshake of a new https:// connection, resuming the origin's session if it has
 * one, under the caller's deadline scope. The client's config is made on first use when
 * the options gave none (the system trust store, verification on). */
static int start_tls(corio_http_client *c, corio__hclient_origin *o, corio__hclient_conn *k,
		     const corio__hclient_trace *t)
{
	corio_http_trace_info ev = {.event = CORIO_HTTP_TRACE_TLS_DONE};
	int rc;

	if (!c->tls && !(c->tls = corio_tls_config_new(false)))
		return -ENOMEM;
	corio__hclient_trace_ev(t, CORIO_HTTP_TRACE_TLS_START, 0, 0);
	/* Through a tunnel too, the name sent and verified is the origin's. */
	rc = corio__tls_connect_ex(k->fd, c->tls, o->host, "http/1.1", o->session, &k->tls);
	ev.err = rc < 0 ? rc : 0;
	ev.tls_resumed = rc >= 0 && corio__tls_resumed(k->tls);
	corio__hclient_trace_emit(t, &ev);
	if (rc < 0)
		return rc;
	c->st.tls_handshakes++;
	if (ev.tls_resumed)
		c->st.tls_resumed++;
	keep_session(o, k->tls);
	return 0;
}

/* CONNECT through the origin's proxy on k's fresh connection to it. */
static int open_tunnel(corio_http_client *c, corio__hclient_origin *o, corio__hclient_conn *k,
		       const corio__hclient_trace *t)
{
	corio__hclient_route rt = {.tls = o->tls, .host = o->host, .ipv6 = o->ipv6,
				   .proxy = o->proxy, .tunnel = true};
	corio_http_trace_info ev = {.event = CORIO_HTTP_TRACE_PROXY_CONNECT_DONE};

	ev.err = corio__hclient_tunnel(k->fd, &rt, o->port, &c->o, &ev.status);
	corio__hclient_trace_emit(t, &ev);
	return ev.err;
}

/* The TCP connection (to the proxy when there is one), the tunnel, the TLS handshake. */
static int open_conn(corio_http_client *c, corio__hclient_origin *o, corio__hclient_conn *k,
		     const corio__hclient_trace *t)
{
	bool via = o->proxy && o->tunnel;
	int rc;

	k->fd = rc = corio__hclient_dial(via ? o->proxy->host : o->host,
					 via ? o->proxy->port : o->port, t);
	if (rc < 0)
		return rc;
	c->st.connects++;
	rc = via ? open_tunnel(c, o, k, t) : 0;
	if (rc == 0 && o->tls)
		rc = start_tls(c, o, k, t);
	return rc;
}

static int connect_new(corio_http_client *c, corio__hclient_origin *o, uint64_t deadline,
		       const corio__hclient_trace *t, corio__hclient_conn **out)
{
	corio__hclient_conn *k = malloc(sizeof *k);
	corio_timeout to;
	int rc;

	if (!k) { /* give the slot reserved by make_room back */
		o->nconns--;
		c->nconns--;
		corio_cond_broadcast(&c->cv);
		return -ENOMEM;
	}
	memset(k, 0, offsetof(corio__hclient_conn, buf));
	k->origin = o;
	corio_timeout_enter_at(&to, deadline);
	rc = open_conn(c, o, k, t);
	corio_timeout_exit(&to);
	if (rc < 0) {
		corio__hclient_conn *dead = NULL;

		k->broken = true; /* no close_notify for a handshake that never finished */
		drop_conn(c, k, &dead);
		bury(dead);
		return rc;
	}
	corio__hclient_trace_ev(t, CORIO_HTTP_TRACE_CONN_NEW, 0, 0);
	*out = k;
	return 0;
}

/* Reserves room for one more connection of o, if there is any. Closes expired idle
 * connections, then the least recently used idle one of another origin, when only the
 * total limit is in the way.
 * Never parks: what it closes goes to *dead. */
static bool make_room(corio_http_client *c, corio__hclient_origin *o, bool fresh,
		      corio__hclient_conn **dead)
{
	if (fresh && o->nconns >= c->o.limit_per_host && o->idle) {
		corio__hclient_conn *k = o->idle; /* a retry wants a new connection: drop an idle one */

		o->idle = k->next;
		c->st.idle--;
		drop_conn(c, k, dead);
	}
	if (o->nconns >= c->o.limit_per_host)
		return false;
	if (c->nconns >= c->o.limit) {
		close_idle(c, true, dead);
		if (c->nconns >= c->o.limit && !evict_one(c, dead))
			return false;
	}
	/* Reserved now: connect_new parks, and others must see the slot taken. */
	o->nconns++;
	c->nconns++;
	return true;
}

int corio__hclient_acquire(corio_http_client *c, const corio__hclient_route *rt, bool fresh,
			   uint64_t deadline, const corio__hclient_trace *tr,
			   corio__hclient_conn **conn)
{
	corio__hclient_origin *o = find_origin(c, rt);
	corio__hclient_conn *dead = NULL;
	corio_timeout t;
	int rc;

	*conn = NULL;
	if (!o)
		return -ENOMEM;
	o->users++;
	corio_timeout_enter_at(&t, deadline);
	rc = corio_mutex_lock(&c->mu);
	if (rc != 0)
		goto out;
	/* The lock is held from each check to the wait: no wakeup can slip in between
	 * (releases broadcast without taking it, and nothing parks in between). */
	for (;;) {
		corio__hclient_conn *k;

		if (c->closing) { /* corio_http_client_free ran while this task waited */
			rc = -ESHUTDOWN;
			break;
		}
		k = fresh ? NULL : take_idle(c, o, &dead);
		if (k) {
			k->reused = true;
			c->st.reuses++;
			c->st.proxied += rt->proxy != NULL;
			*conn = k;
			corio__hclient_trace_ev(tr, CORIO_HTTP_TRACE_CONN_REUSED, 0, 0);
			break;
		}
		if (make_room(c, o, fresh, &dead)) {
			corio_mutex_unlock(&c->mu);
			corio_timeout_exit(&t);
			bury(dead);
			rc = connect_new(c, o, deadline, tr, conn);
			c->st.proxied += rc == 0 && rt->proxy != NULL;
			o->users--;
			return rc;
		}
		rc = corio_cond_wait(&c->cv, &c->mu);
		if (rc == -EDEADLK)
			goto out; /* returned without the mutex */
		if (rc != 0)
			break;
	}
	corio_mutex_unlock(&c->mu);
out:
	corio_timeout_exit(&t);
	bury(dead);
	o->users--;
	return rc;
}

void corio__hclient_release(corio_http_client *c, corio__hclient_conn *conn, bool keep)
{
	corio__hclient_origin *o = conn->origin;
	corio__hclient_conn *dead = NULL;

	if (conn->tls && !conn->broken)
		keep_session(o, conn->tls);
	/* Bytes already buffered beyond the response are nobody's answer: never pooled. */
	if (keep && !conn->broken && !c->closing && conn->off == conn->len) {
		conn->idle_since = corio_now();
		conn->requests++;
		conn->off = conn->len = 0;
		conn->next = o->idle;
		o->idle = conn;
		c->st.idle++;
		corio_cond_broadcast(&c->cv);
		return;
	}
	conn->next = NULL;
	drop_conn(c, conn, &dead);
	bury(dead);
	if (o->nconns == 0)
		prune_origins(c, true);
}

ssize_t corio__hclient_send(corio__hclient_conn *k, const void *p, size_t n)
{
	return k->tls ? corio_tls_write(k->tls, p, n) : corio_send_all(k->fd, p, n);
}

ssize_t corio__hclient_recv(corio__hclient_conn *k, void *buf, size_t len)
{
	return k->tls ? corio_tls_read(k->tls, buf, len) : corio_recv(k->fd, buf, len, 0);
}
