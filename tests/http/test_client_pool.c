/* tests/http/test_client_pool.c: the HTTP/1.1 client's connection pool: keep-alive reuse,
 * unsolicited bytes that prevent reuse, per-host and total limits, idle expiry, a client
 * freed with a live response, faulty framing that is never pooled (HTTP/1.0 with
 * Transfer-Encoding), the retry rule (idempotent requests on reused connections
 * only), connections closed while idle, and the connect, request and idle-read timeouts. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>

#include "tests/support/helpers.h"
#include "tests/http/client_helpers.h"

/* ---- keep-alive, pool, idle expiry, retry ---------------------------------------------- */

FIXED(r_ok, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", KEEP)
FIXED(r_ok_close, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", KEEP)
FIXED(r_extra, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokUNSOLICITED", KEEP)

static void *t_keepalive(ctx *x)
{
	corio_http_client_stats st;
	char *t = NULL;
	size_t len;

	for (int i = 0; i < 5; i++) {
		TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200);
		free(t);
	}
	TH_CHECK(x->s[0].accepts == 1);
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.connects == 1 && st.reuses == 4 && st.idle == 1 && st.open == 1);
	/* Connection: close is honoured. */
	for (int i = 0; i < 2; i++) {
		TH_CHECK(get_text(x->c, u(x, 1, "/"), &t, &len) == 200);
		free(t);
	}
	TH_CHECK(x->s[1].accepts == 2);
	/* A response freed unread still gives its connection back when it is all buffered. */
	{
		corio_http_response *r;

		TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0);
		corio_http_response_free(r);
		TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0);
		corio_http_response_free(r);
		TH_CHECK(x->s[0].accepts == 1);
	}
	return TH_OK;
}

START_TEST(keepalive_reuse)
{
	ctx x = {.nsrv = 2, .body = t_keepalive};

	x.s[0].respond = r_ok;
	x.s[1].respond = r_ok_close;
	RUN_CTX(x);
}
END_TEST

static void *t_extra(ctx *x)
{
	char *t = NULL;
	size_t len;

	for (int i = 0; i < 3; i++) {
		TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200);
		TH_CHECK(strcmp(t, "ok") == 0);
		free(t);
	}
	TH_CHECK(x->s[0].accepts == 3); /* bytes after a response: never reused */
	return TH_OK;
}

START_TEST(unsolicited_bytes_prevent_reuse)
{
	ctx x = {.nsrv = 1, .body = t_extra};

	x.s[0].respond = r_extra;
	RUN_CTX(x);
}
END_TEST

/* RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 response means faulty framing: the body
 * is read as chunked, then the connection is closed whatever keep-alive says. The same
 * response framed by Content-Length is pooled (the control: reuse is observable here). */
FIXED(r_10_chunked, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
		    "3\r\nabc\r\n0\r\n\r\n", KEEP)
FIXED(r_10_length, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc",
      KEEP)

static void *t_10_chunked(ctx *x)
{
	corio_http_client_stats st;
	char *t = NULL;
	size_t len;

	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 2; k++) {
			TH_CHECK(get_text(x->c, u(x, k, "/"), &t, &len) == 200);
			TH_CHECK(len == 3 && strcmp(t, "abc") == 0);
			free(t);
		}
	}
	TH_CHECK(x->s[0].accepts == 3); /* a new connection every time */
	TH_CHECK(x->s[1].accepts == 1);
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.idle == 1); /* s[1]'s only */
	return TH_OK;
}

START_TEST(http10_transfer_encoding_never_pooled)
{
	ctx x = {.nsrv = 2, .body = t_10_chunked};

	x.s[0].respond = r_10_chunked;
	x.s[1].respond = r_10_length;
	RUN_CTX(x);
}
END_TEST

/* A HEAD answered with Content-Length and no body; then the server sends what it should not
 * (variants below). Any other request gets "REAL". */
static const char *const late_bytes[] = {
	/* 0 a whole response nobody asked for */
	"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL",
	/* 1 a body for the HEAD, late */
	"EVIL",
	/* 2 a body for the HEAD in the same segment as its head (no late bytes) */
	NULL,
	/* 3 an interim answer and a response */
	"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL",
};

static int r_late(srv *s, const rq *q, const char **out, size_t *len)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n";
	static const char head_body[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL";
	static const char real[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nREAL";

	if (strncmp(q->head, "HEAD ", 5) != 0) {
		*out = real, *len = sizeof real - 1;
		return KEEP;
	}
	if (!s->late) {
		*out = head_body, *len = sizeof head_body - 1;
		return KEEP;
	}
	*out = head, *len = sizeof head - 1;
	return SEND_LATE;
}

/* Regression: a GET within a second of the HEAD skipped the pool's liveness check (it would
 * be retried should the connection be dead) and took the unsolicited bytes for its answer.
 * The next requests must get the real answer, from a new connection. */
static void *t_late(ctx *x)
{
	struct corio_http_request head = {.method = "HEAD", .url = u(x, 0, "/")};
	corio_http_client_stats st;
	corio_http_response *r;
	char *t = NULL;
	size_t len;

	TH_CHECK(corio_http_request(x->c, &head, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 200);
	TH_CHECK(corio_http_response_content_length(r) == 4);
	corio_http_response_free(r);
	if (x->s[0].late) {
		corio_http_client_stats_get(x->c, &st);
		TH_CHECK(st.idle == 1); /* pooled, as nothing followed the answer yet */
		corio_event_set(&x->s[0].go);
		TH_CHECK(corio_event_wait(&x->s[0].sent) == 0);
	}
	for (int i = 0; i < 2; i++) {
		int rc = get_text(x->c, u(x, 0, "/"), &t, &len);

		TH_CHECK(rc == 200);
		if (strcmp(t, "REAL") != 0)
			fprintf(stderr, "unsolicited bytes variant %d: got %s\n", *(int *)x->ud, t);
		TH_CHECK(strcmp(t, "REAL") == 0);
		free(t);
	}
	TH_CHECK(x->s[0].accepts == 2); /* the HEAD's connection dropped, the new one reused */
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.retries == 0);
	return TH_OK;
}

START_TEST(unsolicited_bytes_on_idle_connection)
{
	ctx x = {.nsrv = 1, .body = t_late};
	int i = _i;

	x.s[0].respond = r_late;
	x.s[0].late = late_bytes[i];
	corio_event_init(&x.s[0].go);
	corio_event_init(&x.s[0].sent);
	x.ud = &i;
	RUN_CTX(x);
}
END_TEST

typedef struct fetch_arg {
	ctx *x;
	int srv;
	int rc;
} fetch_arg;

static void *fetch_task(void *arg)
{
	fetch_arg *a = arg;
	char *t = NULL;
	size_t len;
	char url[128];

	snprintf(url, sizeof url, "%s/", a->x->s[a->srv].url);
	a->rc = get_text(a->x->c, url, &t, &len);
	free(t);
	return NULL;
}

static void *t_pool(ctx *x)
{
	fetch_arg args[12];
	corio_task *tasks[12];
	corio_http_client_stats st;

	for (int i = 0; i < 12; i++) {
		args[i] = (fetch_arg){x, i % 2, 0};
		tasks[i] = corio_spawn(fetch_task, &args[i]);
	}
	TH_CHECK(corio_gather(tasks, 12, NULL) == 0);
	for (int i = 0; i < 12; i++)
		TH_CHECK(args[i].rc == 200);
	/* per host 2, total 3: six tasks per host pile up, three requests at a time */
	if (g_max_inflight != 3)
		fprintf(stderr, "pool_limits: max in flight %d\n", g_max_inflight);
	TH_CHECK(g_max_inflight == 3);
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.open <= 3);
	TH_CHECK(x->s[0].requests == 6 && x->s[1].requests == 6);
	return TH_OK;
}

START_TEST(pool_limits)
{
	ctx x = {.nsrv = 2, .body = t_pool};

	x.o.limit = 3;
	x.o.limit_per_host = 2;
	x.s[0].respond = x.s[1].respond = r_ok;
	x.s[0].delay = x.s[1].delay = CORIO_MS(30);
	RUN_CTX(x);
}
END_TEST

static void *t_pool_total(ctx *x)
{
	fetch_arg args[8];
	corio_task *tasks[8];
	for (int i = 0; i < 8; i++) {
		args[i] = (fetch_arg){x, i % 2, 0};
		tasks[i] = corio_spawn(fetch_task, &args[i]);
	}
	TH_CHECK(corio_gather(tasks, 8, NULL) == 0);
	for (int i = 0; i < 8; i++)
		TH_CHECK(args[i].rc == 200);
	/* total limit 1 across both origins: idle connections of the other origin are
	 * evicted, so requests are served one at a time */
	if (g_max_inflight != 1)
		fprintf(stderr, "pool_total: max in flight %d\n", g_max_inflight);
	TH_CHECK(g_max_inflight == 1);
	TH_CHECK(x->s[0].requests == 4 && x->s[1].requests == 4);
	return TH_OK;
}

START_TEST(pool_total_limit_evicts_idle)
{
	ctx x = {.nsrv = 2, .body = t_pool_total};

	x.o.limit = 1;
	x.s[0].respond = x.s[1].respond = r_ok;
	x.s[0].delay = x.s[1].delay = CORIO_MS(5);
	RUN_CTX(x);
}
END_TEST

static void *t_idle(ctx *x)
{
	char *t = NULL;
	size_t len;

	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200);
	free(t);
	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200);
	free(t);
	TH_CHECK(x->s[0].accepts == 1);
	corio_sleep(CORIO_MS(150));
	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200);
	free(t);
	TH_CHECK(x->s[0].accepts == 2); /* expired after keepalive_ns */
	return TH_OK;
}

START_TEST(idle_expiry)
{
	ctx x = {.nsrv = 1, .body = t_idle};

	x.o.keepalive_ns = CORIO_MS(100);
	x.s[0].respond = r_ok;
	RUN_CTX(x);
}
END_TEST

/* The second request on every connection is read and dropped without an answer. */
static int r_drop_second(srv *s, const rq *q, const char **out, size_t *len)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

	if (q->conn_req == 2)
		return NOANSWER;
	*out = ok;
	*len = sizeof ok - 1;
	return KEEP;
}

static void *t_retry(ctx *x)
{
	corio_http_client_stats st;
	struct corio_http_request post = {.method = "POST", .url = u(x, 0, "/p"), .body = "x",
					  .body_len = 1};
	corio_http_response *r;
	char *t = NULL;
	size_t len;

	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200); /* conn 1, request 1 */
	free(t);
	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200); /* conn 1 drops it: retried */
	free(t);
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.retries == 1);
	TH_CHECK(x->s[0].accepts == 2 && x->s[0].requests == 3);
	/* conn 2 served one request; a POST on it is dropped and must not be retried */
	TH_CHECK(corio_http_request(x->c, &post, &r) == -ECONNRESET);
	TH_CHECK(r == NULL);
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.retries == 1);
	TH_CHECK(x->s[0].requests == 4 && x->s[0].accepts == 2);
	/* a failure on a fresh connection is never retried either */
	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200); /* conn 3, request 1 */
	free(t);
	{
		struct corio_http_request g = {.url = u(x, 0, "/"), .flags = CORIO_HTTP_NO_RETRY};

		TH_CHECK(corio_http_request(x->c, &g, &r) == -ECONNRESET);
	}
	return TH_OK;
}

START_TEST(retry_only_idempotent_on_reused)
{
	ctx x = {.nsrv = 1, .body = t_retry};

	x.s[0].respond = r_drop_second;
	RUN_CTX(x);
}
END_TEST

/* The server answers without "Connection: close" and closes anyway. Every reuse peeks first,
 * however short the idle time: neither a POST (never retried) nor a GET is sent on the dead
 * connection, and nothing needs a retry. */
FIXED(r_ok_then_close, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", CLOSE)

/* Until the server's side of every connection is closed (its FIN sent). */
static bool server_closed_all(srv *s)
{
	for (int i = 0; i < 10000 && s->active > 0; i++)
		corio_sleep(CORIO_MS(1));
	return s->active == 0;
}

static void *t_closed_while_idle(ctx *x)
{
	corio_http_client_stats st;
	struct corio_http_request post = {.method = "POST", .url = u(x, 0, "/p"), .body = "x",
					  .body_len = 1};
	corio_http_response *r;
	char *t = NULL;
	size_t len;

	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200); /* conn 1, then closed */
	free(t);
	TH_CHECK(server_closed_all(&x->s[0]));
	TH_CHECK(corio_http_request(x->c, &post, &r) == 0); /* peeked: conn 2 */
	TH_CHECK(corio_http_response_status(r) == 200);
	corio_http_response_free(r);
	TH_CHECK(x->s[0].accepts == 2);
	TH_CHECK(server_closed_all(&x->s[0]));
	TH_CHECK(get_text(x->c, u(x, 0, "/"), &t, &len) == 200); /* peeked too: conn 3 */
	free(t);
	corio_http_client_stats_get(x->c, &st);
	TH_CHECK(st.retries == 0 && st.reuses == 0);
	TH_CHECK(x->s[0].accepts == 3);
	return TH_OK;
}

START_TEST(closed_while_idle_detected_before_reuse)
{
	ctx x = {.nsrv = 1, .body = t_closed_while_idle};

	x.s[0].respond = r_ok_then_close;
	RUN_CTX(x);
}
END_TEST

static void *t_outlive(ctx *x)
{
	corio_http_response *r;
	fetch_arg waiter = {x, 0, 0};
	corio_task *t;
	const char *text;
	size_t len;

	TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0); /* holds the only slot */
	t = corio_spawn(fetch_task, &waiter);
	corio_sleep(CORIO_MS(20)); /* the waiter parks on the pool */
	corio_http_client_free(x->c);
	x->c = corio_http_client_new(NULL); /* run_ctx frees this one */
	TH_CHECK(corio_join(t, NULL) == 0);
	TH_CHECK(waiter.rc == -ESHUTDOWN);
	/* the response outlives its client */
	TH_CHECK(corio_http_response_text(r, &text, &len) == 0 && strcmp(text, "ok") == 0);
	corio_http_response_free(r);
	return TH_OK;
}

START_TEST(client_freed_with_live_response_and_waiter)
{
	ctx x = {.nsrv = 1, .body = t_outlive};

	x.o.limit = 1;
	x.s[0].respond = r_ok;
	RUN_CTX(x);
}
END_TEST

/* ---- timeouts ------------------------------------------------------------------------- */

FIXED(r_hang, "", HANG)
FIXED(r_send_hang, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", SEND_HANG)

static void *t_timeouts(ctx *x)
{
	corio_http_response *r;
	uint64_t t0 = corio_now(), dt;
	corio_timeout to;

	/* total timeout of the client */
	/* Timers far apart (total 1 s, read 3 s, the scopes below 50 and 30 ms), so which one
	 * fired shows even on a machine busy enough to make each of them late by 800 ms. */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == -ETIMEDOUT);
	dt = corio_now() - t0;
	TH_CHECK(dt >= CORIO_MS(950) && dt < CORIO_MS(2800));
	TH_CHECK(r == NULL);
	/* the caller's own scope is honoured as well */
	t0 = corio_now();
	corio_timeout_enter(&to, CORIO_MS(50));
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&to));
	TH_CHECK(corio_now() - t0 < CORIO_MS(900));
	/* a per-request total */
	{
		struct corio_http_request q = {.url = u(x, 0, "/"), .total_ns = CORIO_MS(30)};

		t0 = corio_now();
		TH_CHECK(corio_http_request(x->c, &q, &r) == -ETIMEDOUT);
		TH_CHECK(corio_now() - t0 < CORIO_MS(900));
	}
	return TH_OK;
}

START_TEST(timeouts)
{
	ctx x = {.nsrv = 1, .body = t_timeouts};

	/* read_ns above total_ns: the total is what fires */
	x.o.total_ns = CORIO_SEC(1);
	x.o.read_ns = CORIO_SEC(3);
	x.s[0].respond = r_hang;
	RUN_CTX(x);
}
END_TEST

static void *t_read_timeout(ctx *x)
{
	corio_http_response *r;
	char buf[256];
	uint64_t t0;

	TH_CHECK(corio_http_get(x->c, u(x, 0, "/"), &r) == 0);
	TH_CHECK(corio_http_response_read(r, buf, sizeof buf) == 7);
	t0 = corio_now();
	TH_CHECK(corio_http_response_read(r, buf, sizeof buf) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(50) && corio_now() - t0 < CORIO_MS(1000));
	corio_http_response_free(r);
	return TH_OK;
}

START_TEST(idle_read_timeout)
{
	ctx x = {.nsrv = 1, .body = t_read_timeout};

	x.o.read_ns = CORIO_MS(60);
	x.s[0].respond = r_send_hang;
	RUN_CTX(x);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_client");
	TCase *tc = TH_TCASE(s, "scripted", TH_TIMEOUT, keepalive_reuse, unsolicited_bytes_prevent_reuse, http10_transfer_encoding_never_pooled, pool_limits, pool_total_limit_evicts_idle, idle_expiry, client_freed_with_live_response_and_waiter, retry_only_idempotent_on_reused, closed_while_idle_detected_before_reuse, timeouts, idle_read_timeout);

	tcase_add_loop_test(tc, unsolicited_bytes_on_idle_connection, 0, (int)(sizeof late_bytes / sizeof late_bytes[0]));
	return th_main(s);
}
