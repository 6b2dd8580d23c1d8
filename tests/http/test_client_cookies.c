/* tests/http/test_client_cookies.c: the HTTP client's cookie jar at work against corio
 * servers in the test (127.0.0.1 and "localhost" on the same port are two hosts): cookies
 * sent back, a Set-Cookie on a 302 hop applied before the next hop, no cookie for another
 * host, CORIO_HTTP_NO_COOKIES (client and request), a jar shared by two clients, the
 * caller's own Cookie header, SameSite through site_for_cookies, and a WebSocket
 * connect carrying the client's cookies and credentials. */
#define _GNU_SOURCE
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "tests/support/helpers.h"
#include "tests/http/client_helpers.h"

/* The Cookie header a request carried ("-" when none), copied into out. */
static void cookie_of(const char *head, char *out, size_t n)
{
	const char *c = strcasestr(head, "\r\nCookie: ");
	size_t len;

	if (!c) {
		snprintf(out, n, "-");
		return;
	}
	c += 10;
	len = strcspn(c, "\r");
	snprintf(out, n, "%.*s", (int)len, c);
}

/* /set/<name=value...>: 200 with that Set-Cookie; /redir-set: 302 to /echo setting r=1;
 * /to-host/<url>: 302 to http://<url>; anything else echoes the Cookie header. */
static int r_cookies(srv *s, const rq *q, const char **out, size_t *len)
{
	static char buf[2048];
	const char *path = strchr(q->head, ' ') + 1;
	char cookie[512], arg[256];

	(void)s;
	if (sscanf(path, "/set/%255[^ ]", arg) == 1) {
		for (char *p = arg; *p; p++)
			if (*p == '~')
				*p = ' '; /* no spaces in a request line: '~' stands for them */
		*len = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nSet-Cookie: %s\r\n"
				       "Content-Length: 2\r\n\r\nok", arg);
	} else if (!strncmp(path, "/ws ", 4)) { /* an upgrade refused, with a cookie */
		*len = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 403 Forbidden\r\nSet-Cookie: w=1\r\n"
				       "Content-Length: 0\r\n\r\n");
	} else if (!strncmp(path, "/redir-set ", 11)) {
		*len = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 302 Found\r\nSet-Cookie: r=1\r\n"
				       "Set-Cookie: bad\r\nSet-Cookie: r2=2; Path=/echo\r\n"
				       "Location: /echo\r\nContent-Length: 0\r\n\r\n");
	} else if (sscanf(path, "/to-host/%255[^ ]", arg) == 1) {
		*len = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 302 Found\r\nLocation: http://%s\r\n"
				       "Content-Length: 0\r\n\r\n", arg);
	} else {
		cookie_of(q->head, cookie, sizeof cookie);
		*len = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
				       strlen(cookie), cookie);
	}
	*out = buf;
	return KEEP;
}

/* GET url with req's flags, headers and site; the body into out. Status or -errno. */
static int fetch(corio_http_client *c, struct corio_http_request *req, const char *url,
		 char *out, size_t n)
{
	corio_http_response *r;
	const char *t;
	int rc;

	req->url = url;
	rc = corio_http_request(c, req, &r);
	if (rc < 0)
		return rc;
	rc = corio_http_response_text(r, &t, NULL);
	if (rc == 0) {
		snprintf(out, n, "%s", t);
		rc = corio_http_response_status(r);
	}
	corio_http_response_free(r);
	return rc;
}

static int get(corio_http_client *c, const char *url, char *out, size_t n)
{
	struct corio_http_request req = {0};

	return fetch(c, &req, url, out, n);
}

static char g_url[256];

/* http://<host>:<port of server i><path> */
static const char *at(ctx *x, int i, const char *host, const char *path)
{
	snprintf(g_url, sizeof g_url, "http://%s:%d%s", host, x->s[i].port, path);
	return g_url;
}

/* Runs body against nsrv servers answering r_cookies; with_auth: the client has Basic
 * credentials "user:pass". */
static void run_cookies(body_fn body, int nsrv, bool with_auth)
{
	ctx x = {.nsrv = nsrv, .body = body};

	if (with_auth) {
		x.o.auth_user = "user";
		x.o.auth_password = "pass";
	}
	x.s[0].respond = x.s[1].respond = r_cookies;
	RUN_CTX(x);
}

static void *t_sent_back(ctx *x)
{
	char body[512];
	corio_http_cookie_jar *j = corio_http_client_cookie_jar(x->c);

	TH_CHECK(j != NULL);
	TH_CHECK(get(x->c, u(x, 0, "/echo"), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "-") == 0);
	TH_CHECK(get(x->c, u(x, 0, "/set/a=1;~Path=/"), body, sizeof body) == 200);
	TH_CHECK(get(x->c, u(x, 0, "/set/b=2;~Max-Age=3600"), body, sizeof body) == 200);
	TH_CHECK(corio_http_cookie_jar_len(j) == 2);
	TH_CHECK(get(x->c, u(x, 0, "/echo"), body, sizeof body) == 200);
	/* b's default path is "/set": only a */
	TH_CHECK(strcmp(body, "a=1") == 0);
	TH_CHECK(get(x->c, u(x, 0, "/set/x"), body, sizeof body) == 200);
	TH_CHECK(strstr(head_of(&x->s[0], x->s[0].requests), "\r\nCookie: b=2; a=1\r\n"));
	/* a Secure cookie cannot come from http:// */
	TH_CHECK(get(x->c, u(x, 0, "/set/s=1;~Secure"), body, sizeof body) == 200);
	TH_CHECK(corio_http_cookie_jar_len(j) == 2);
	/* deleted by the server */
	TH_CHECK(get(x->c, u(x, 0, "/set/a=;~Path=/;~Max-Age=0"), body, sizeof body) == 200);
	TH_CHECK(get(x->c, u(x, 0, "/echo"), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "-") == 0);
	return TH_OK;
}

START_TEST(cookie_sent_back)
{
	run_cookies(t_sent_back, 1, false);
}
END_TEST

static void *t_redirect_hop(ctx *x)
{
	char body[512];
	int n;

	TH_CHECK(get(x->c, u(x, 0, "/redir-set"), body, sizeof body) == 200);
	/* the 302 set r and r2 (its malformed third field ignored); the hop carried them */
	TH_CHECK(strcmp(body, "r2=2; r=1") == 0);
	n = x->s[0].requests;
	TH_CHECK(strncmp(head_of(&x->s[0], n), "GET /echo ", 10) == 0);
	TH_CHECK(corio_http_cookie_jar_len(corio_http_client_cookie_jar(x->c)) == 2);
	return TH_OK;
}

START_TEST(set_cookie_on_302_applied_before_following)
{
	run_cookies(t_redirect_hop, 1, false);
}
END_TEST

static void *t_other_host(ctx *x)
{
	char body[512], target[128];
	static const corio_http_header mine[] = {{"Cookie", "mine=1"}};
	struct corio_http_request req = {.headers = mine, .nheaders = 1};

	TH_CHECK(get(x->c, at(x, 0, "127.0.0.1", "/set/ip=1;~Path=/"), body, sizeof body) == 200);
	TH_CHECK(get(x->c, at(x, 0, "localhost", "/set/lh=1;~Path=/"), body, sizeof body) == 200);
	TH_CHECK(get(x->c, at(x, 0, "localhost", "/echo"), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "lh=1") == 0);
	TH_CHECK(get(x->c, at(x, 0, "127.0.0.1", "/echo"), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "ip=1") == 0);
	/* the other server (another port of the same host) gets the host's cookies: a
	 * cookie's scope has no port (RFC 6265 8.5) */
	TH_CHECK(get(x->c, at(x, 1, "127.0.0.1", "/echo"), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "ip=1") == 0);
	/* a redirect to another host: that host's cookies only, from the jar */
	snprintf(target, sizeof target, "/to-host/localhost:%d/echo", x->s[0].port);
	TH_CHECK(get(x->c, at(x, 0, "127.0.0.1", target), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "lh=1") == 0);
	TH_CHECK(strstr(head_of(&x->s[0], x->s[0].requests - 1), "\r\nCookie: ip=1\r\n"));
	/* the caller's own Cookie header wins on the first origin and is dropped after it;
	 * the jar still speaks for the next host */
	TH_CHECK(fetch(x->c, &req, at(x, 0, "127.0.0.1", target), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "lh=1") == 0);
	TH_CHECK(strstr(head_of(&x->s[0], x->s[0].requests - 1), "\r\nCookie: mine=1\r\n"));
	TH_CHECK(!strstr(head_of(&x->s[0], x->s[0].requests - 1), "ip=1"));
	return TH_OK;
}

START_TEST(cookie_not_sent_to_another_host)
{
	run_cookies(t_other_host, 2, false);
}
END_TEST

static void *t_no_cookies(ctx *x)
{
	char body[512];
	struct corio_http_request req = {.flags = CORIO_HTTP_NO_COOKIES};
	corio_http_client_opts o = {.flags = CORIO_HTTP_NO_COOKIES};
	corio_http_client *c = corio_http_client_new(&o);

	/* the client flag: no jar at all */
	TH_CHECK(c && corio_http_client_cookie_jar(c) == NULL);
	TH_CHECK(get(c, u(x, 0, "/set/a=1;~Path=/"), body, sizeof body) == 200);
	TH_CHECK(get(c, u(x, 0, "/echo"), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "-") == 0);
	corio_http_client_free(c);
	/* the request flag: this request neither stores nor sends */
	TH_CHECK(fetch(x->c, &req, u(x, 0, "/set/a=1;~Path=/"), body, sizeof body) == 200);
	TH_CHECK(corio_http_cookie_jar_len(corio_http_client_cookie_jar(x->c)) == 0);
	TH_CHECK(get(x->c, u(x, 0, "/set/b=1;~Path=/"), body, sizeof body) == 200);
	TH_CHECK(fetch(x->c, &req, u(x, 0, "/echo"), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "-") == 0);
	TH_CHECK(get(x->c, u(x, 0, "/echo"), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "b=1") == 0);
	return TH_OK;
}

START_TEST(no_cookies_flag)
{
	run_cookies(t_no_cookies, 1, false);
}
END_TEST

static void *t_shared(ctx *x)
{
	char body[512];
	corio_http_cookie_jar *j = x->ud;
	corio_http_client_opts o = {.cookie_jar = j};
	corio_http_client *c2 = corio_http_client_new(&o);

	TH_CHECK(c2 && corio_http_client_cookie_jar(c2) == j);
	TH_CHECK(corio_http_client_cookie_jar(x->c) == j);
	TH_CHECK(get(x->c, u(x, 0, "/set/s=1;~Path=/"), body, sizeof body) == 200);
	TH_CHECK(get(c2, u(x, 0, "/echo"), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "s=1") == 0);
	corio_http_client_free(c2);
	/* the jar is not the client's: it outlives both */
	TH_CHECK(corio_http_cookie_jar_len(j) == 1);
	return TH_OK;
}

START_TEST(jar_shared_by_two_clients)
{
	corio_http_cookie_jar *j = corio_http_cookie_jar_new();
	ctx x = {.nsrv = 1, .body = t_shared, .ud = j};

	x.o.cookie_jar = j;
	x.s[0].respond = r_cookies;
	RUN_CTX(x);
	ck_assert_uint_eq(corio_http_cookie_jar_len(j), 1);
	corio_http_cookie_jar_free(j);
}
END_TEST

static void *t_same_site(ctx *x)
{
	char body[512];
	struct corio_http_request req = {.site_for_cookies = "https://elsewhere.test/"};

	TH_CHECK(get(x->c, at(x, 0, "localhost", "/set/st=1;~SameSite=Strict;~Path=/"), body, sizeof body) == 200);
	TH_CHECK(get(x->c, at(x, 0, "localhost", "/set/lx=1;~SameSite=Lax;~Path=/"), body, sizeof body) == 200);
	TH_CHECK(fetch(x->c, &req, at(x, 0, "localhost", "/echo"), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "lx=1") == 0);
	req.method = "POST";
	TH_CHECK(fetch(x->c, &req, at(x, 0, "localhost", "/echo"), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "-") == 0);
	req.site_for_cookies = "http://localhost/";
	TH_CHECK(fetch(x->c, &req, at(x, 0, "localhost", "/echo"), body, sizeof body) == 200);
	TH_CHECK(strcmp(body, "st=1; lx=1") == 0);
	/* a cross-site response sets no Lax or Strict cookie */
	req = (struct corio_http_request){.site_for_cookies = "https://elsewhere.test/"};
	TH_CHECK(fetch(x->c, &req, at(x, 0, "localhost", "/set/x=1;~SameSite=Lax"), body, sizeof body) == 200);
	TH_CHECK(corio_http_cookie_jar_len(corio_http_client_cookie_jar(x->c)) == 2);
	return TH_OK;
}

START_TEST(same_site_for_cookies)
{
	run_cookies(t_same_site, 1, false);
}
END_TEST

static void *t_ws(ctx *x)
{
	char body[512], url[128];
	corio_ws *ws = NULL;
	const char *h;

	TH_CHECK(get(x->c, u(x, 0, "/set/a=1;~Path=/"), body, sizeof body) == 200);
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", x->s[0].port);
	TH_CHECK(corio_ws_connect(x->c, url, &ws) < 0 && ws == NULL);
	h = head_of(&x->s[0], x->s[0].requests);
	TH_CHECK(strncmp(h, "GET /ws HTTP/1.1\r\n", 18) == 0);
	TH_CHECK(strstr(h, "\r\nCookie: a=1\r\n"));
	TH_CHECK(strstr(h, "\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"));
	/* the refusal's cookie was kept */
	TH_CHECK(corio_http_cookie_jar_len(corio_http_client_cookie_jar(x->c)) == 2);
	return TH_OK;
}

START_TEST(websocket_connect_carries_cookies_and_auth)
{
	run_cookies(t_ws, 1, true);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_client_cookies");

	TH_TCASE(s, "cookies", TH_TIMEOUT, cookie_sent_back, set_cookie_on_302_applied_before_following,
		 cookie_not_sent_to_another_host, no_cookies_flag, jar_shared_by_two_clients,
		 same_site_for_cookies, websocket_connect_carries_cookies_and_auth);
	return th_main(s);
}
