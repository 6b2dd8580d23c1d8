/* tests/http/test_client_redirects.c: the HTTP/1.1 client's redirects: methods per status,
 * loops, the maximum, credentials dropped across origins, and hostile Locations (userinfo,
 * scheme-relative, other schemes, bytes no URI has, two that disagree). */
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

/* ---- redirects -------------------------------------------------------------------------- */

/* 302s whose Location is hostile as written (the server's bytes after "Location: "). */
static const struct {
	const char *path, *loc;
} fixed_locs[] = {
	{"/space", "/a b"},
	{"/tab", "/a\tb"},
	{"/utf8", "/caf\xc3\xa9"},
	{"/two-differ", "/final\r\nLocation: /elsewhere"},
	{"/two-same", "/final\r\nLocation: /final"},
	{"/to-js", "javascript:alert(1)"},
};

static const char *fixed_location(const char *path)
{
	for (size_t i = 0; i < sizeof fixed_locs / sizeof fixed_locs[0]; i++)
		if (!strncmp(path, fixed_locs[i].path, strlen(fixed_locs[i].path)))
			return fixed_locs[i].loc;
	return NULL;
}

static int r_redirects(srv *s, const rq *q, const char **out, size_t *len)
{
	static char buf[512];
	const char *path = strchr(q->head, ' ') + 1, *fixed;
	int code;
	char loc[256] = "";

	if (sscanf(path, "/r%d", &code) == 1) {
		snprintf(loc, sizeof loc, "/final");
	} else if (!strncmp(path, "/loop-a", 7)) {
		code = 302;
		snprintf(loc, sizeof loc, "/loop-b");
	} else if (!strncmp(path, "/loop-b", 7)) {
		code = 302;
		snprintf(loc, sizeof loc, "%s/loop-a", s->url);
	} else if (!strncmp(path, "/chain/", 7) && strncmp(path, "/chain/final", 12)) {
		int k = atoi(path + 7);

		code = 301;
		if (k > 0)
			snprintf(loc, sizeof loc, "../chain/%d", k - 1);
		else
			snprintf(loc, sizeof loc, "final");
	} else if (!strncmp(path, "/cross", 6)) {
		code = 302;
		snprintf(loc, sizeof loc, "%s/landed", (const char *)s->ud);
	} else if (!strncmp(path, "/to-userinfo", 12)) { /* same origin, the server's credentials */
		code = 302;
		snprintf(loc, sizeof loc, "http://evil:pw@127.0.0.1:%d/landed", s->port);
	} else if (!strncmp(path, "/netpath", 8)) { /* scheme-relative: the other server */
		code = 302;
		snprintf(loc, sizeof loc, "//%s/landed", (const char *)s->ud + 7);
	} else if ((fixed = fixed_location(path))) {
		code = 302;
		snprintf(loc, sizeof loc, "%s", fixed);
	} else if (!strncmp(path, "/to-ftp", 7)) {
		code = 302;
		snprintf(loc, sizeof loc, "ftp://127.0.0.1/"); /* no client for it */
	} else {
		*len = (size_t)snprintf(buf, sizeof buf,
					"HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%.*s",
					q->body_len, (int)q->body_len, q->body);
		*out = buf;
		return KEEP;
	}
	*len = (size_t)snprintf(buf, sizeof buf,
				"HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 4\r\n\r\n%s",
				code, loc, strncmp(q->head, "HEAD ", 5) ? "move" : "");
	*out = buf;
	return KEEP;
}

static void *t_redirects(ctx *x)
{
	static const int codes[] = {301, 302, 303, 307, 308};
	corio_http_response *r;
	const char *t;
	size_t len;

	for (int i = 0; i < 5; i++) {
		char path[32];
		struct corio_http_request req = {.method = "POST", .body = "payload", .body_len = 7};
		int n0 = x->s[0].requests;
		const char *h;

		snprintf(path, sizeof path, "/r%d", codes[i]);
		req.url = u(x, 0, path);
		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 200);
		TH_CHECK(corio_http_response_redirects(r) == 1);
		TH_CHECK(strstr(corio_http_response_url(r), "/final"));
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
		h = head_of(&x->s[0], n0 + 2);
		if (codes[i] >= 307) { /* method and body kept */
			TH_CHECK(strncmp(h, "POST /final ", 12) == 0);
			TH_CHECK(strcmp(t, "payload") == 0);
		} else { /* POST becomes GET, body and its headers dropped */
			TH_CHECK(strncmp(h, "GET /final ", 11) == 0);
			TH_CHECK(len == 0);
			TH_CHECK(!strcasestr(h, "Content-Length"));
		}
		corio_http_response_free(r);
	}
	/* 303 keeps HEAD */
	{
		struct corio_http_request req = {.method = "HEAD", .url = u(x, 0, "/r303")};
		int n0 = x->s[0].requests;

		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		TH_CHECK(strncmp(head_of(&x->s[0], n0 + 2), "HEAD /final ", 12) == 0);
		corio_http_response_free(r);
	}
	/* loops and the maximum */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/loop-a"), &r) == -ELOOP);
	TH_CHECK(r == NULL);
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/chain/3"), &r) == 0); /* relative Locations */
	TH_CHECK(corio_http_response_redirects(r) == 4);
	TH_CHECK(strstr(corio_http_response_url(r), "/chain/final"));
	corio_http_response_free(r);
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/chain/10"), &r) == -ELOOP); /* 11 > 10 */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/chain/9"), &r) == 0);       /* exactly 10 */
	corio_http_response_free(r);
	{
		struct corio_http_request req = {.url = u(x, 0, "/chain/1"), .max_redirects = 1};

		TH_CHECK(corio_http_request(x->c, &req, &r) == -ELOOP);
		req.flags = CORIO_HTTP_NO_REDIRECTS;
		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 301);
		TH_CHECK(strcmp(corio_http_response_header(r, "Location"), "../chain/0") == 0);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0 && strcmp(t, "move") == 0);
		corio_http_response_free(r);
	}
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/to-ftp"), &r) == -EPROTONOSUPPORT);
	TH_CHECK(x->s[0].accepts == 1); /* 3xx bodies drained: one connection throughout */
	return TH_OK;
}

START_TEST(redirects_methods_loops_maximum)
{
	ctx x = {.nsrv = 1, .body = t_redirects};

	x.s[0].respond = r_redirects;
	RUN_CTX(x);
}
END_TEST

static void *t_cross(ctx *x)
{
	static const corio_http_header hs[] = {
		{"Authorization", "Bearer secret"}, {"Cookie", "a=b"},
		{"Proxy-Authorization", "Basic eA=="}, {"X-Keep", "kept"}};
	struct corio_http_request req = {.url = u(x, 0, "/cross"), .headers = hs, .nheaders = 4};
	corio_http_response *r;
	const char *h1, *h2;

	x->s[0].ud = x->s[1].url;
	TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 200);
	corio_http_response_free(r);
	h1 = head_of(&x->s[0], 1);
	h2 = head_of(&x->s[1], 1);
	TH_CHECK(strstr(h1, "\r\nAuthorization: Bearer secret\r\n"));
	TH_CHECK(strstr(h1, "\r\nCookie: a=b\r\n"));
	TH_CHECK(strstr(h2, "\r\nX-Keep: kept\r\n"));
	TH_CHECK(!strcasestr(h2, "Authorization"));
	TH_CHECK(!strcasestr(h2, "Cookie"));
	TH_CHECK(strstr(h2, "GET /landed HTTP/1.1\r\n"));
	/* Same host, another port: another origin too (h2 above); userinfo becomes Basic */
	{
		char url[128];

		snprintf(url, sizeof url, "http://us%%65r:pa%%3Ass@127.0.0.1:%d/ui", x->s[1].port);
		req = (struct corio_http_request){.url = url};
		TH_CHECK(corio_http_request(x->c, &req, &r) == 0);
		corio_http_response_free(r);
		/* base64("user:pa:ss") */
		TH_CHECK(strstr(head_of(&x->s[1], 2), "\r\nAuthorization: Basic dXNlcjpwYTpzcw==\r\n"));
	}
	return TH_OK;
}

START_TEST(cross_origin_redirect_drops_credentials)
{
	ctx x = {.nsrv = 2, .body = t_cross};

	x.s[0].respond = x.s[1].respond = r_redirects;
	RUN_CTX(x);
}
END_TEST

/* Where a hostile Location leads. */
static void *t_hostile(ctx *x)
{
	static const char *const unusable[] = {"/space", "/tab", "/utf8", "/two-differ"};
	corio_http_response *r;
	char url[128];
	int n;

	x->s[0].ud = x->s[1].url;
	/* A Location's userinfo is never sent: the server cannot pick the credentials... */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/to-userinfo"), &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 200 && corio_http_response_redirects(r) == 1);
	corio_http_response_free(r);
	n = x->s[0].requests;
	TH_CHECK(strncmp(head_of(&x->s[0], n), "GET /landed ", 12) == 0);
	TH_CHECK(!strcasestr(head_of(&x->s[0], n), "Authorization"));
	/* ...nor swap the caller's for its own: the caller's go on to the same origin */
	snprintf(url, sizeof url, "http://alice:secret@127.0.0.1:%d/to-userinfo", x->s[0].port);
	TH_CHECK(corio_http_get(x->c, url, &r) == 0);
	corio_http_response_free(r);
	n = x->s[0].requests;
	/* base64("alice:secret"); base64("evil:pw") would be ZXZpbDpwdw== */
	TH_CHECK(strstr(head_of(&x->s[0], n), "\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n"));
	/* scheme-relative: the base's scheme, the Location's authority */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/netpath"), &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 200);
	corio_http_response_free(r);
	TH_CHECK(strncmp(head_of(&x->s[1], x->s[1].requests), "GET /landed HTTP/1.1\r\n", 22) == 0);
	/* bytes no URI reference has, or two Locations that disagree: the 3xx is the answer,
	 * and nothing reached the request line */
	for (size_t i = 0; i < sizeof unusable / sizeof unusable[0]; i++) {
		int before = x->s[0].requests;

		TH_CHECK(corio_http_get(x->c, u(x, 0, unusable[i]), &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 302 && corio_http_response_redirects(r) == 0);
		corio_http_response_free(r);
		TH_CHECK(x->s[0].requests == before + 1);
	}
	/* the same Location twice is one Location */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/two-same"), &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 200 && corio_http_response_redirects(r) == 1);
	corio_http_response_free(r);
	/* a scheme the client has no business following */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/to-js"), &r) == -EPROTONOSUPPORT);
	TH_CHECK(r == NULL);
	return TH_OK;
}

START_TEST(hostile_locations)
{
	ctx x = {.nsrv = 2, .body = t_hostile};

	x.s[0].respond = x.s[1].respond = r_redirects;
	RUN_CTX(x);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_client");

	TH_TCASE(s, "scripted", TH_TIMEOUT, redirects_methods_loops_maximum, cross_origin_redirect_drops_credentials, hostile_locations);
	return th_main(s);
}
