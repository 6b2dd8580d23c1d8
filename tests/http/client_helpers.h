/* tests/http/client_helpers.h: what the HTTP client suites (tests/http/test_client_*.c)
 * share: the scripted server (raw corio sockets in the same process answering each request
 * with exact bytes, logging what it received), the test frame that runs servers and a client
 * body in one loop, and the byte pattern of the big bodies. Every loop run checks that no
 * descriptor leaked (TH_RUN). */
#ifndef CORIO_TESTS_HTTP_CLIENT_HELPERS_H
#define CORIO_TESTS_HTTP_CLIENT_HELPERS_H

#include <sys/socket.h>

#include "tests/support/helpers.h"

/* ---- scripted server ------------------------------------------------------------------- */

/* SEND_LATE: the answer, then (once the test sets srv.go) srv.late, bytes nobody asked for. */
enum action { KEEP, CLOSE, NOANSWER, HANG, SEND_HANG, SEND_LATE };

typedef struct srv srv;
typedef struct rq {
	int conn;     /* connection number, from 1 */
	int conn_req; /* request number on that connection, from 1 */
	int n;        /* request number on the server, from 1 */
	const char *head;
	const char *body;
	size_t body_len;
} rq;
typedef int (*respond_fn)(srv *s, const rq *q, const char **out, size_t *len);

#define MAXLOG 64
#define MAXTASKS 256

struct srv {
	int lfd, port;
	char url[64]; /* http://127.0.0.1:port */
	respond_fn respond;
	void *ud;
	int accepts, requests, active, max_active;
	char *heads[MAXLOG];
	char *bodies[MAXLOG];
	size_t blen[MAXLOG];
	corio_task *tasks[MAXTASKS];
	size_t ntasks;
	corio_task *acceptor;
	uint64_t delay;
	bool expect_reject;
	const char *late;       /* SEND_LATE's bytes */
	corio_event go, sent;   /* the test says when; the server says they are in */
};

/* Requests being answered right now, over every server (pool limit tests). */
static int g_inflight, g_max_inflight;

typedef struct conn_arg {
	srv *s;
	int fd, no;
} conn_arg;

/* Decodes a complete chunked body at p[0..n): 1 with *consumed and the data appended to
 * out, 0 when incomplete. */
static inline int dechunk(const char *p, size_t n, char *out, size_t *olen, size_t *consumed)
{
	size_t i = 0;

	*olen = 0;
	for (;;) {
		const char *eol = memmem(p + i, n - i, "\r\n", 2);
		size_t sz;

		if (!eol)
			return 0;
		sz = strtoul(p + i, NULL, 16);
		i = (size_t)(eol - p) + 2;
		if (sz == 0) {
			const char *end = memmem(p + i - 2, n - i + 2, "\r\n\r\n", 4);

			if (!end)
				return 0;
			*consumed = (size_t)(end - p) + 4;
			return 1;
		}
		if (n - i < sz + 2)
			return 0;
		memcpy(out + *olen, p + i, sz);
		*olen += sz;
		i += sz + 2;
	}
}

#define SRVBUF (4u << 20)

/* SEND_LATE: once the test has pooled the connection (s->go), s->late. s->sent is set when
 * the peer acknowledged every byte (SIOCOUTQ 0: they are in the client's receive queue), so
 * that the client's next request is sure to find them waiting. */
static inline int send_late(srv *s, int fd)
{
	int unacked = 1;

	if (corio_event_wait(&s->go) != 0 || corio_send_all(fd, s->late, strlen(s->late)) < 0)
		return -1;
	for (int i = 0; i < 10000 && unacked > 0; i++) {
		if (ioctl(fd, SIOCOUTQ, &unacked) != 0)
			return -1;
		if (unacked > 0)
			corio_sleep(CORIO_MS(1));
	}
	corio_event_set(&s->sent);
	return unacked > 0 ? -1 : 0;
}

static inline void *srv_conn(void *arg)
{
	conn_arg *a = arg;
	srv *s = a->s;
	int fd = a->fd, no = a->no, conn_req = 0;
	char *buf = malloc(SRVBUF), *body = malloc(SRVBUF);
	size_t have = 0;

	free(a);
	for (;;) {
		char *end, *head;
		size_t hlen, blen = 0, used;
		const char *out = NULL, *te, *cl;
		size_t outlen = 0;
		rq q;
		int act;

		while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
			ssize_t n = corio_recv(fd, buf + have, SRVBUF - have, 0);

			if (n <= 0)
				goto out;
			have += (size_t)n;
		}
		hlen = (size_t)(end - buf) + 4;
		head = strndup(buf, hlen);
		if (strcasestr(head, "\r\nExpect: 100-continue")) {
			if (s->expect_reject) {
				static const char r417[] = "HTTP/1.1 417 Expectation Failed\r\n"
							   "Content-Length: 0\r\nConnection: close\r\n\r\n";
				corio_send_all(fd, r417, sizeof r417 - 1);
				s->heads[s->requests < MAXLOG ? s->requests : MAXLOG - 1] = head;
				s->requests++;
				goto out;
			}
			corio_send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		}
		te = strcasestr(head, "\r\nTransfer-Encoding: chunked");
		cl = strcasestr(head, "\r\nContent-Length:");
		used = hlen;
		for (;;) {
			size_t consumed;

			if (te && dechunk(buf + hlen, have - hlen, body, &blen, &consumed)) {
				used = hlen + consumed;
				break;
			}
			if (!te && cl) {
				blen = strtoul(cl + 17, NULL, 10);
				if (have >= hlen + blen) {
					memcpy(body, buf + hlen, blen);
					used = hlen + blen;
					break;
				}
			}
			if (!te && !cl)
				break;
			ssize_t n = corio_recv(fd, buf + have, SRVBUF - have, 0);

			if (n <= 0) {
				free(head);
				goto out;
			}
			have += (size_t)n;
		}
		memmove(buf, buf + used, have - used);
		have -= used;
		conn_req++;
		s->requests++;
		q = (rq){no, conn_req, s->requests, head, body, blen};
		act = s->respond(s, &q, &out, &outlen);
		if (s->requests <= MAXLOG) {
			s->heads[s->requests - 1] = head;
			s->bodies[s->requests - 1] = malloc(blen + 1);
			memcpy(s->bodies[s->requests - 1], body, blen);
			s->bodies[s->requests - 1][blen] = 0;
			s->blen[s->requests - 1] = blen;
		} else {
			free(head);
		}
		if (++g_inflight > g_max_inflight)
			g_max_inflight = g_inflight;
		if (s->delay)
			corio_sleep(s->delay);
		g_inflight--;
		if (act == NOANSWER)
			goto out;
		if (act == HANG) {
			corio_sleep(CORIO_SEC(60));
			goto out;
		}
		if (out && corio_send_all(fd, out, outlen) < 0)
			goto out;
		if (act == SEND_HANG) {
			corio_sleep(CORIO_SEC(60));
			goto out;
		}
		if (act == SEND_LATE && send_late(s, fd) < 0)
			goto out;
		if (act == CLOSE)
			goto out;
	}
out:
	corio_close(fd);
	s->active--;
	free(buf);
	free(body);
	return NULL;
}

static inline void *srv_accept(void *arg)
{
	srv *s = arg;

	for (;;) {
		int fd = corio_accept(s->lfd, NULL, NULL);
		conn_arg *a;

		if (fd < 0)
			return NULL;
		s->accepts++;
		if (++s->active > s->max_active)
			s->max_active = s->active;
		a = malloc(sizeof *a);
		*a = (conn_arg){s, fd, s->accepts};
		if (s->ntasks < MAXTASKS)
			s->tasks[s->ntasks++] = corio_spawn(srv_conn, a);
	}
}

static inline int srv_start(srv *s)
{
	s->lfd = corio_tcp_listen("127.0.0.1", "0", 128);
	if (s->lfd < 0)
		return s->lfd;
	s->port = corio_sock_port(s->lfd);
	snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
	s->acceptor = corio_spawn(srv_accept, s);
	return 0;
}

static inline void srv_stop(srv *s)
{
	if (!s->acceptor)
		return;
	corio_listen_close(s->lfd);
	corio_join(s->acceptor, NULL);
	for (size_t i = 0; i < s->ntasks; i++) {
		corio_cancel(s->tasks[i]);
		corio_join(s->tasks[i], NULL);
	}
	for (int i = 0; i < MAXLOG; i++) {
		free(s->heads[i]);
		free(s->bodies[i]);
	}
}

/* Head of request n (from 1) as the server saw it. */
static inline const char *head_of(srv *s, int n)
{
	return n >= 1 && n <= MAXLOG && s->heads[n - 1] ? s->heads[n - 1] : "";
}

/* ---- test frame --------------------------------------------------------------------------- */

typedef struct ctx ctx;
typedef void *(*body_fn)(ctx *x);
struct ctx {
	srv s[2];
	int nsrv;
	corio_http_client_opts o;
	corio_http_client *c;
	body_fn body;
	char url[256];
	void *ud;
};

static inline void *run_ctx(void *arg)
{
	ctx *x = arg;
	void *msg;

	for (int i = 0; i < x->nsrv; i++)
		if (srv_start(&x->s[i]) != 0)
			return "srv_start failed";
	x->c = corio_http_client_new(&x->o);
	if (!x->c)
		return "corio_http_client_new failed";
	msg = x->body(x);
	corio_http_client_free(x->c);
	for (int i = 0; i < x->nsrv; i++)
		srv_stop(&x->s[i]);
	return msg;
}

static inline const char *u(ctx *x, int i, const char *path)
{
	snprintf(x->url, sizeof x->url, "%s%s", x->s[i].url, path);
	return x->url;
}

#define RUN_CTX(x) TH_RUN_EXPECT_OK(NULL, run_ctx, &(x))

/* A fixed response string for every request. */
#define FIXED(name, text, act)                                                               \
	static int name(srv *s, const rq *q, const char **out, size_t *len)                  \
	{                                                                                    \
		static const char t_[] = text;                                               \
		*out = t_;                                                                   \
		*len = sizeof t_ - 1;                                                        \
		return (act);                                                                \
	}

/* GET url; the body as text into *text (malloc'd copy). Status or -errno. */
static inline int get_text(corio_http_client *c, const char *url, char **text, size_t *len)
{
	corio_http_response *r;
	const char *t;
	int rc = corio_http_get(c, url, &r);

	if (rc < 0)
		return rc;
	rc = corio_http_response_text(r, &t, len);
	if (rc == 0) {
		*text = strdup(t);
		rc = corio_http_response_status(r);
	}
	corio_http_response_free(r);
	return rc;
}

static inline unsigned char big_at(size_t i)
{
	return (unsigned char)(i * 2654435761u >> 13);
}

#endif
