/* tests/http/test_router.c: the HTTP router and middleware (http/server/router.c,
 * http/server/route_trie.c): patterns (literals, {params}, {tails*}), precedence and
 * backtracking, percent-decoding of parameters (bad escapes and %00: 400), dot segments,
 * 404, 405 with its exact Allow, HEAD through GET, OPTIONS (automatic and routed), the "*"
 * method, the middleware chain (order, early answers, added headers, the router's own
 * answers seen by it), bad patterns, 1000 routes, and a router serving a threads = 2
 * server. Matching alone is tested through http/server/router.h; the rest over HTTP on
 * 127.0.0.1. */
#define _GNU_SOURCE
#include <corio/http_server.h>

#include "tests/support/helpers.h"
#include "tests/http/server_helpers.h"
#include "http/server/router.h"

/* ---- handlers ---------------------------------------------------------------------------- */

static const char *const pnames[] = { "id", "name", "path", "a", "b", "rest", "x", NULL };

/* Answers "<tag>" then " name=value" for every parameter the request has (ud: the tag). */
static void echo(corio_http_in *req, corio_http_out *resp, void *ud)
{
	char body[4096];
	size_t n = (size_t)snprintf(body, sizeof body, "%s", (const char *)ud);

	for (int i = 0; pnames[i]; i++) {
		const char *v = corio_http_in_param(req, pnames[i]);

		if (v && n < sizeof body)
			n += (size_t)snprintf(body + n, sizeof body - n, " %s=%s", pnames[i], v);
	}
	corio_http_out_header(resp, "Content-Type", "text/plain");
	corio_http_out_send(resp, body, strlen(body));
}

/* ---- matching alone (http/server/router.h) ----------------------------------------------- */

/* The tag of the route matching method + path ("" when none; "405" when the path matched
 * with other methods), with its raw parameter spans as " a|b". */
static const char *match_str(const corio_http_router *r, const char *method, const char *path,
			     char *out, size_t cap)
{
	corio__hserver_match m;
	size_t n;

	if (!corio__hserver_router_match(r, method, path, &m)) {
		snprintf(out, cap, "%s", m.path_hit ? "405" : "");
		return out;
	}
	n = (size_t)snprintf(out, cap, "%s", (const char *)m.route->ud);
	for (unsigned i = 0; i < m.nspans && n < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s%.*s", i ? "|" : " ",
				      (int)m.spans[i].len, path + m.spans[i].off);
	return out;
}

START_TEST(match_precedence)
{
	corio_http_router *r = corio_http_router_new();
	char b[256];

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(corio_http_route(r, "GET", "/users/new", echo, "new"), 0);
	ck_assert_int_eq(corio_http_route(r, "GET", "/users/{id}", echo, "id"), 0);
	ck_assert_int_eq(corio_http_route(r, "GET", "/users/{rest*}", echo, "tail"), 0);
	ck_assert_int_eq(corio_http_route(r, "GET", "/users/{id}/posts/{b}", echo, "post"), 0);
	ck_assert_int_eq(corio_http_route(r, "GET", "/users/new/edit", echo, "newedit"), 0);
	ck_assert_int_eq(corio_http_route(r, "POST", "/users/{name}", echo, "create"), 0);
	ck_assert_int_eq(corio_http_route(r, "GET", "/", echo, "root"), 0);
	ck_assert_int_eq(corio_http_route(r, "GET", "/dir/", echo, "dirslash"), 0);
	/* static > param > tail */
	ck_assert_str_eq(match_str(r, "GET", "/users/new", b, sizeof b), "new");
	ck_assert_str_eq(match_str(r, "GET", "/users/7", b, sizeof b), "id 7");
	ck_assert_str_eq(match_str(r, "GET", "/users/7/x", b, sizeof b), "tail 7/x");
	ck_assert_str_eq(match_str(r, "GET", "/users/", b, sizeof b), "tail ");
	ck_assert_str_eq(match_str(r, "GET", "/users/7/posts/9", b, sizeof b), "post 7|9");
	/* backtracking: the literal branch has nothing further down, the param has */
	ck_assert_str_eq(match_str(r, "GET", "/users/new/posts/3", b, sizeof b), "post new|3");
	ck_assert_str_eq(match_str(r, "GET", "/users/new/edit", b, sizeof b), "newedit");
	/* ... and for the method: POST /users/new is POST /users/{name} */
	ck_assert_str_eq(match_str(r, "POST", "/users/new", b, sizeof b), "create new");
	ck_assert_str_eq(match_str(r, "PUT", "/users/new", b, sizeof b), "405");
	/* trailing slashes and empty segments */
	ck_assert_str_eq(match_str(r, "GET", "/", b, sizeof b), "root");
	ck_assert_str_eq(match_str(r, "GET", "/users", b, sizeof b), "");
	ck_assert_str_eq(match_str(r, "GET", "/dir/", b, sizeof b), "dirslash");
	ck_assert_str_eq(match_str(r, "GET", "/dir", b, sizeof b), "");
	ck_assert_str_eq(match_str(r, "GET", "/users//posts/1", b, sizeof b), "tail /posts/1");
	ck_assert_str_eq(match_str(r, "GET", "//users/1", b, sizeof b), "");
	/* methods are case-sensitive tokens; "*" takes any method, below the method's own */
	ck_assert_str_eq(match_str(r, "get", "/users/7", b, sizeof b), "405");
	ck_assert_int_eq(corio_http_route(r, "*", "/users/{id}", echo, "anyid"), 0);
	ck_assert_str_eq(match_str(r, "get", "/users/7", b, sizeof b), "anyid 7");
	ck_assert_str_eq(match_str(r, "GET", "/users/7", b, sizeof b), "id 7");
	ck_assert_str_eq(match_str(r, "HEAD", "/users/7", b, sizeof b), "id 7"); /* GET's */
	/* literals compare decoded: %6E is 'n' */
	ck_assert_str_eq(match_str(r, "GET", "/users/%6Eew", b, sizeof b), "new");
	ck_assert_str_eq(match_str(r, "GET", "/%75sers/%6eew", b, sizeof b), "new");
	corio_http_router_free(r);
}
END_TEST

START_TEST(bad_patterns)
{
	corio_http_router *r = corio_http_router_new();
	static const char *const bad[] = {
		"",            "users",        "/users/{id",     "/users/{id}x",  "/users/x{id}",
		"/users/{}",   "/users/{*}",   "/a/{id}/b/{id}", "/{p*}/x",       "/a//b",
		"/a/{i d}",    "/a/}",         "/a/{",           "/a/./b",        "/a/..",
		"/a/%zz",      "/a/%00",       "/a/%2",          "/{a}/{b}/{a*}", "/a/{x}{y}",
	};

	ck_assert_ptr_nonnull(r);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(corio_http_route(r, "GET", bad[i], echo, "x") == -EINVAL,
			      "pattern \"%s\" accepted", bad[i]);
	/* methods: tokens only */
	ck_assert_int_eq(corio_http_route(r, "", "/a", echo, "x"), -EINVAL);
	ck_assert_int_eq(corio_http_route(r, "GE T", "/a", echo, "x"), -EINVAL);
	ck_assert_int_eq(corio_http_route(r, "GET\r\n", "/a", echo, "x"), -EINVAL);
	/* NULLs */
	ck_assert_int_eq(corio_http_route(NULL, "GET", "/a", echo, "x"), -EINVAL);
	ck_assert_int_eq(corio_http_route(r, NULL, "/a", echo, "x"), -EINVAL);
	ck_assert_int_eq(corio_http_route(r, "GET", NULL, echo, "x"), -EINVAL);
	ck_assert_int_eq(corio_http_route(r, "GET", "/a", NULL, "x"), -EINVAL);
	ck_assert_int_eq(corio_http_router_use(r, NULL, NULL), -EINVAL);
	ck_assert_int_eq(corio_http_router_use(NULL, NULL, NULL), -EINVAL);
	/* the same method and pattern twice, names aside; other methods are fine */
	ck_assert_int_eq(corio_http_route(r, "GET", "/u/{id}", echo, "x"), 0);
	ck_assert_int_eq(corio_http_route(r, "GET", "/u/{id}", echo, "x"), -EINVAL);
	ck_assert_int_eq(corio_http_route(r, "GET", "/u/{name}", echo, "x"), -EINVAL);
	ck_assert_int_eq(corio_http_route(r, "POST", "/u/{name}", echo, "x"), 0);
	ck_assert_int_eq(corio_http_route(r, "*", "/u/{id}", echo, "x"), 0);
	ck_assert_int_eq(corio_http_route(r, "*", "/u/{x}", echo, "x"), -EINVAL);
	/* good ones beside them: the trie holds both */
	ck_assert_int_eq(corio_http_route(r, "GET", "/a/{b}/{rest*}", echo, "x"), 0);
	ck_assert_int_eq(corio_http_route(r, "GET", "/%7Bx%7D", echo, "x"), 0);
	ck_assert_ptr_null(corio_http_in_param(NULL, "id"));
	corio_http_router_free(r);
	corio_http_router_free(NULL);
}
END_TEST

/* ---- over HTTP ---------------------------------------------------------------------------- */

/* One request on c; the status, and the body into body (when not NULL). */
static int get(cli *c, const char *method, const char *target, const char *extra, resp *r)
{
	char req[2048];

	snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n", method, target,
		 extra ? extra : "");
	if (getenv("RT_DEBUG"))
		fprintf(stderr, "> %s %s\n", method, target);
	if (cli_send(c, req) != 0 || cli_read(c, r, !strcmp(method, "HEAD")) != 0)
		return -1;
	if (getenv("RT_DEBUG"))
		fprintf(stderr, "< %d %s\n", r->status, r->body);
	return r->status;
}

/* Sends method target and checks status and, when want_body is not NULL, the body. */
static bool expect(cli *c, const char *method, const char *target, int status,
		   const char *want_body)
{
	resp r;
	int st = get(c, method, target, NULL, &r);
	bool ok = st == status && (!want_body || (r.body && !strcmp(r.body, want_body)));

	if (!ok)
		fprintf(stderr, "%s %s: status %d body \"%s\", want %d \"%s\"\n", method, target,
			st, r.body ? r.body : "", status, want_body ? want_body : "(any)");
	resp_free(&r);
	return ok;
}

static corio_http_router *rest_router(void)
{
	corio_http_router *r = corio_http_router_new();
	int rc = 0;

	rc |= corio_http_route(r, "GET", "/", echo, "root");
	rc |= corio_http_route(r, "GET", "/users", echo, "list");
	rc |= corio_http_route(r, "POST", "/users", echo, "create");
	rc |= corio_http_route(r, "GET", "/users/me", echo, "me");
	rc |= corio_http_route(r, "GET", "/users/{id}", echo, "show");
	rc |= corio_http_route(r, "PUT", "/users/{id}", echo, "update");
	rc |= corio_http_route(r, "DELETE", "/users/{id}", echo, "delete");
	rc |= corio_http_route(r, "GET", "/users/{id}/posts/{b}", echo, "post");
	rc |= corio_http_route(r, "GET", "/static/{path*}", echo, "static");
	rc |= corio_http_route(r, "*", "/any", echo, "any");
	rc |= corio_http_route(r, "POST", "/any", echo, "any-post");
	rc |= corio_http_route(r, "OPTIONS", "/opt", echo, "opt-options");
	rc |= corio_http_route(r, "GET", "/opt", echo, "opt-get");
	rc |= corio_http_route(r, "HEAD", "/head", echo, "head-own");
	rc |= corio_http_route(r, "GET", "/head", echo, "head-get");
	rc |= corio_http_route(r, "PATCH", "/caf%C3%A9", echo, "cafe");
	if (rc != 0) {
		corio_http_router_free(r);
		return NULL;
	}
	return r;
}

static void *t_routes(void *arg)
{
	corio_http_router *rt = rest_router();
	srvctx x;
	cli c;
	bool ok = true;
	int stopped;

	(void)arg;
	TH_CHECK(rt != NULL);
	TH_CHECK(srv_start_with(&x, NULL, corio_http_router_handler, rt) == 0);
	ok = cli_open(&c, x.port) >= 0;
	ok = ok && expect(&c, "GET", "/", 200, "root");
	ok = ok && expect(&c, "GET", "/users", 200, "list");
	ok = ok && expect(&c, "GET", "/users?page=2", 200, "list");
	ok = ok && expect(&c, "POST", "/users", 200, "create");
	ok = ok && expect(&c, "GET", "/users/me", 200, "me");
	ok = ok && expect(&c, "GET", "/users/42", 200, "show id=42");
	ok = ok && expect(&c, "PUT", "/users/42", 200, "update id=42");
	ok = ok && expect(&c, "DELETE", "/users/42", 200, "delete id=42");
	ok = ok && expect(&c, "GET", "/users/42/posts/7", 200, "post id=42 b=7");
	ok = ok && expect(&c, "GET", "/static/", 200, "static path=");
	ok = ok && expect(&c, "GET", "/static/css/site.css", 200, "static path=css/site.css");
	ok = ok && expect(&c, "GET", "/static", 404, NULL);
	/* trailing slash: "/users/" is neither "/users" nor "/users/{id}" */
	ok = ok && expect(&c, "GET", "/users/", 404, NULL);
	ok = ok && expect(&c, "GET", "/nope", 404, "404 Not Found\n");
	ok = ok && expect(&c, "GET", "/users/42/posts", 404, NULL);
	/* percent-decoding: values decoded, a decoded '/' stays inside its value */
	ok = ok && expect(&c, "GET", "/users/a%20b", 200, "show id=a b");
	ok = ok && expect(&c, "GET", "/users/a%2Fb", 200, "show id=a/b");
	ok = ok && expect(&c, "GET", "/users/%E2%9C%93", 200, "show id=\xe2\x9c\x93");
	ok = ok && expect(&c, "GET", "/users/a+b", 200, "show id=a+b");
	ok = ok && expect(&c, "GET", "/static/a%2Fb/c%3F", 200, "static path=a/b/c?");
	ok = ok && expect(&c, "GET", "/users/%6De", 200, "me"); /* a literal, encoded */
	ok = ok && expect(&c, "PATCH", "/caf%c3%a9", 200, "cafe");
	/* bad escapes and NUL: 400 */
	ok = ok && expect(&c, "GET", "/users/%zz", 400, NULL);
	ok = ok && expect(&c, "GET", "/users/ab%2", 400, NULL);
	ok = ok && expect(&c, "GET", "/users/%00", 400, NULL);
	ok = ok && expect(&c, "GET", "/static/a%00b", 400, NULL);
	ok = ok && expect(&c, "GET", "/users/%4", 400, NULL);
	/* dot segments: 400, encoded or not */
	ok = ok && expect(&c, "GET", "/users/..", 400, NULL);
	ok = ok && expect(&c, "GET", "/static/../etc/passwd", 400, NULL);
	ok = ok && expect(&c, "GET", "/static/%2e%2E/x", 400, NULL);
	ok = ok && expect(&c, "GET", "/users/.", 400, NULL);
	ok = ok && expect(&c, "GET", "/users/...", 200, "show id=...");
	ok = ok && expect(&c, "GET", "/users/.hidden", 200, "show id=.hidden");
	/* values beyond the router's inline buffer (decoded into one allocation) */
	{
		char target[2100], want[2100];

		memcpy(target, "/static/", 8);
		memcpy(want, "static path=", 12);
		for (int i = 0; i < 600; i++) {
			memcpy(target + 8 + 3 * i, "%41", 3);
			want[12 + i] = 'A';
		}
		target[8 + 1800] = want[12 + 600] = '\0';
		ok = ok && expect(&c, "GET", target, 200, want);
		target[8 + 1799] = '0'; /* the last escape becomes "%%0": a bad one */
		target[8 + 1798] = '%';
		ok = ok && expect(&c, "GET", target, 400, NULL);
	}
	/* still the same connection after all of these */
	ok = ok && expect(&c, "GET", "/users/1", 200, "show id=1");
	cli_close(&c);
	stopped = srv_stop(&x, CORIO_SEC(1)); /* whatever failed: the server must stop */
	corio_http_router_free(rt);
	TH_CHECK(ok);
	TH_CHECK(stopped == 0);
	return TH_OK;
}

START_TEST(routes)
{
	RUN_OK(t_routes, NULL);
}
END_TEST

/* Checks method target's status, Allow header and body length. */
static bool expect_allow(cli *c, const char *method, const char *target, int status,
			 const char *allow)
{
	resp r;
	char v[256];
	int st = get(c, method, target, NULL, &r);
	const char *a = st > 0 ? hval(&r, "allow", v, sizeof v) : NULL;
	bool ok = st == status && a && !strcmp(a, allow) && hcount(&r, "allow") == 1 &&
		  (status != 204 || r.blen == 0);

	if (!ok)
		fprintf(stderr, "%s %s: status %d Allow \"%s\", want %d \"%s\"\n", method, target,
			st, a ? a : "(none)", status, allow);
	resp_free(&r);
	return ok;
}

static void *t_methods(void *arg)
{
	corio_http_router *rt = rest_router();
	srvctx x;
	cli c;
	resp r;
	char v[64];
	bool ok = true;
	int stopped;

	(void)arg;
	TH_CHECK(rt != NULL);
	TH_CHECK(srv_start_with(&x, NULL, corio_http_router_handler, rt) == 0);
	ok = cli_open(&c, x.port) >= 0;
	/* 405 with the exact Allow: sorted, deduplicated, HEAD with GET, OPTIONS */
	ok = ok && expect_allow(&c, "POST", "/users/7", 405, "DELETE, GET, HEAD, OPTIONS, PUT");
	ok = ok && expect_allow(&c, "DELETE", "/users", 405, "GET, HEAD, OPTIONS, POST");
	/* "/users/me" (GET) and "/users/{id}" (GET, PUT, DELETE) both match: PUT goes to the
	 * second, POST gets the union */
	ok = ok && expect(&c, "PUT", "/users/me", 200, "update id=me");
	ok = ok && expect_allow(&c, "POST", "/users/me", 405, "DELETE, GET, HEAD, OPTIONS, PUT");
	/* OPTIONS: automatic (204 + Allow), or the route's own */
	ok = ok && expect_allow(&c, "OPTIONS", "/users/7", 204, "DELETE, GET, HEAD, OPTIONS, PUT");
	ok = ok && expect_allow(&c, "OPTIONS", "/static/x", 204, "GET, HEAD, OPTIONS");
	ok = ok && expect(&c, "OPTIONS", "/opt", 200, "opt-options");
	ok = ok && expect(&c, "OPTIONS", "/nope", 404, NULL);
	ok = ok && expect_allow(&c, "OPTIONS", "*", 204,
				"DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
	/* "*": any method, below the method's own route */
	ok = ok && expect(&c, "GET", "/any", 200, "any");
	ok = ok && expect(&c, "PURGE", "/any", 200, "any");
	ok = ok && expect(&c, "OPTIONS", "/any", 200, "any");
	ok = ok && expect(&c, "POST", "/any", 200, "any-post");
	/* HEAD: the GET route without a body, or its own route */
	ok = ok && get(&c, "HEAD", "/users/42", NULL, &r) == 200 && r.blen == 0 &&
	     hval(&r, "content-length", v, sizeof v) && !strcmp(v, "10"); /* "show id=42" */
	resp_free(&r);
	ok = ok && get(&c, "HEAD", "/head", NULL, &r) == 200 &&
	     hval(&r, "content-length", v, sizeof v) && !strcmp(v, "8"); /* "head-own" */
	resp_free(&r);
	ok = ok && expect(&c, "GET", "/head", 200, "head-get");
	ok = ok && expect(&c, "GET", "/users/7", 200, "show id=7"); /* in step after HEAD */
	cli_close(&c);
	stopped = srv_stop(&x, CORIO_SEC(1)); /* whatever failed: the server must stop */
	corio_http_router_free(rt);
	TH_CHECK(ok);
	TH_CHECK(stopped == 0);
	return TH_OK;
}

START_TEST(methods)
{
	RUN_OK(t_methods, NULL);
}
END_TEST

/* ---- middleware ----------------------------------------------------------------------------- */

static char trace[512]; /* what the chain did for the last request (one loop, one at a time) */

static void traced(corio_http_in *req, corio_http_out *resp, void *ud)
{
	strcat(trace, "H");
	echo(req, resp, ud);
}

/* Appends "<tag>>" before next and "<<tag>" after; adds "X-Mw-<tag>: seen" before next. */
static void mw_trace(corio_http_in *req, corio_http_out *resp, corio_http_handler next,
		     void *next_ud, void *ud)
{
	char name[32];

	snprintf(name, sizeof name, "X-Mw-%s", (const char *)ud);
	corio_http_out_header(resp, name, "seen");
	strcat(trace, ud);
	strcat(trace, ">");
	next(req, resp, next_ud);
	strcat(trace, "<");
	strcat(trace, ud);
	/* after next the response has started: too late for headers */
	if (corio_http_out_started(resp) && corio_http_out_header(resp, "X-Late", "1") == 0)
		strcat(trace, "!late-header-accepted");
}

/* Answers 403 itself (never calls next) for requests with X-Deny; sees the params. */
static void mw_deny(corio_http_in *req, corio_http_out *resp, corio_http_handler next,
		    void *next_ud, void *ud)
{
	const char *id = corio_http_in_param(req, "id");

	(void)ud;
	if (id) {
		strcat(trace, "id:");
		strcat(trace, id);
	}
	if (corio_http_in_header(req, "X-Deny")) {
		strcat(trace, "deny");
		corio_http_out_error(resp, 403);
		return;
	}
	next(req, resp, next_ud);
}

/* One request; checks status, trace and that both middlewares added their header. */
static bool chain_ok(cli *c, const char *method, const char *target, const char *extra,
		     int status, const char *want_trace)
{
	resp r;
	char v[64];
	int st;
	bool ok;

	trace[0] = '\0';
	st = get(c, method, target, extra, &r);
	ok = st == status && !strcmp(trace, want_trace) && hval(&r, "x-mw-A", v, sizeof v) &&
	     hval(&r, "x-mw-B", v, sizeof v) && !hval(&r, "x-late", v, sizeof v);
	if (!ok)
		fprintf(stderr, "%s %s: status %d trace \"%s\", want %d \"%s\"\n", method, target,
			st, trace, status, want_trace);
	resp_free(&r);
	return ok;
}

static void *t_middleware(void *arg)
{
	corio_http_router *rt = corio_http_router_new();
	srvctx x;
	cli c;
	bool ok = true;
	int stopped;

	(void)arg;
	TH_CHECK(rt != NULL);
	TH_CHECK(corio_http_route(rt, "GET", "/users/{id}", traced, "show") == 0);
	TH_CHECK(corio_http_router_use(rt, mw_trace, "A") == 0);
	TH_CHECK(corio_http_router_use(rt, mw_trace, "B") == 0);
	TH_CHECK(corio_http_router_use(rt, mw_deny, NULL) == 0);
	TH_CHECK(srv_start_with(&x, NULL, corio_http_router_handler, rt) == 0);
	ok = cli_open(&c, x.port) >= 0;
	ok = ok && chain_ok(&c, "GET", "/users/5", NULL, 200, "A>B>id:5H<B<A");
	ok = ok && chain_ok(&c, "GET", "/users/5", "X-Deny: 1\r\n", 403, "A>B>id:5deny<B<A");
	/* the router's own answers go through the chain too */
	ok = ok && chain_ok(&c, "GET", "/nope", NULL, 404, "A>B><B<A");
	ok = ok && chain_ok(&c, "POST", "/users/5", NULL, 405, "A>B><B<A");
	ok = ok && chain_ok(&c, "OPTIONS", "/users/5", NULL, 204, "A>B><B<A");
	ok = ok && chain_ok(&c, "GET", "/users/%zz", NULL, 400, "A>B><B<A");
	ok = ok && chain_ok(&c, "GET", "/nope", "X-Deny: 1\r\n", 403, "A>B>deny<B<A");
	cli_close(&c);
	stopped = srv_stop(&x, CORIO_SEC(1)); /* whatever failed: the server must stop */
	corio_http_router_free(rt);
	TH_CHECK(ok);
	TH_CHECK(stopped == 0);
	return TH_OK;
}

START_TEST(middleware)
{
	RUN_OK(t_middleware, NULL);
}
END_TEST

/* A router routing to another: the inner one's params while it runs, the outer's after. */
static void after_inner(corio_http_in *req, corio_http_out *resp, corio_http_handler next,
			void *next_ud, void *ud)
{
	const char *rest = corio_http_in_param(req, "rest");

	(void)ud;
	next(req, resp, next_ud);
	/* the outer route's value again, once the inner router returned */
	if (!rest || corio_http_in_param(req, "rest") != rest)
		strcat(trace, "outer-param-lost");
}

static void *t_nested(void *arg)
{
	corio_http_router *outer = corio_http_router_new(), *inner = corio_http_router_new();
	srvctx x;
	cli c;
	bool ok = outer && inner;
	int stopped;

	(void)arg;
	ok = ok && corio_http_route(inner, "GET", "/api/users/{id}", echo, "inner") == 0;
	ok = ok && corio_http_route(outer, "GET", "/api/{rest*}", corio_http_router_handler,
				    inner) == 0;
	ok = ok && corio_http_router_use(outer, after_inner, NULL) == 0;
	TH_CHECK(ok);
	TH_CHECK(srv_start_with(&x, NULL, corio_http_router_handler, outer) == 0);
	trace[0] = '\0';
	ok = cli_open(&c, x.port) >= 0;
	ok = ok && expect(&c, "GET", "/api/users/9", 200, "inner id=9");
	ok = ok && expect(&c, "GET", "/api/other", 404, NULL);
	ok = ok && trace[0] == '\0';
	cli_close(&c);
	stopped = srv_stop(&x, CORIO_SEC(1));
	corio_http_router_free(outer);
	corio_http_router_free(inner);
	TH_CHECK(ok);
	TH_CHECK(stopped == 0);
	return TH_OK;
}

START_TEST(nested)
{
	RUN_OK(t_nested, NULL);
}
END_TEST

/* ---- many routes, many threads ----------------------------------------------------------- */

#define NROUTES 1000

/* 1000 routes of a REST shape: even i "/api/v1/resource<i>/{id}", odd i "/api/v1/r<i>". */
static corio_http_router *many_router(char (*tags)[16])
{
	corio_http_router *r = corio_http_router_new();
	char pat[64];

	for (int i = 0; r && i < NROUTES; i++) {
		snprintf(tags[i], sizeof tags[i], "r%d", i);
		if (i % 2 == 0)
			snprintf(pat, sizeof pat, "/api/v1/resource%d/{id}", i);
		else
			snprintf(pat, sizeof pat, "/api/v1/r%d", i);
		if (corio_http_route(r, i % 3 ? "GET" : "*", pat, echo, tags[i]) != 0) {
			corio_http_router_free(r);
			return NULL;
		}
	}
	return r;
}

static void *t_many(void *arg)
{
	static char tags[NROUTES][16];
	corio_http_router *rt = many_router(tags);
	char target[64], want[64];
	srvctx x;
	cli c;
	bool ok = true;
	int stopped;

	(void)arg;
	TH_CHECK(rt != NULL);
	TH_CHECK(srv_start_with(&x, NULL, corio_http_router_handler, rt) == 0);
	ok = cli_open(&c, x.port) >= 0;
	for (int i = 0; ok && i < NROUTES; i++) {
		if (i % 2 == 0) {
			snprintf(target, sizeof target, "/api/v1/resource%d/%d", i, i * 7);
			snprintf(want, sizeof want, "r%d id=%d", i, i * 7);
		} else {
			snprintf(target, sizeof target, "/api/v1/r%d", i);
			snprintf(want, sizeof want, "r%d", i);
		}
		ok = expect(&c, "GET", target, 200, want);
	}
	ok = ok && expect(&c, "GET", "/api/v1/resource1/2", 404, NULL);
	ok = ok && expect(&c, "GET", "/api/v1/r1000", 404, NULL);
	ok = ok && expect(&c, "GET", "/api/v1/r0", 404, NULL);
	ok = ok && expect(&c, "PUT", "/api/v1/r1", 405, NULL);
	ok = ok && expect(&c, "PUT", "/api/v1/r3", 200, "r3"); /* "*" */
	/* a literal among 1000 siblings (the hash index), written encoded */
	ok = ok && expect(&c, "GET", "/api/v1/%72%31", 200, "r1");
	ok = ok && expect(&c, "GET", "/api/v1/resource%32/x%2Fy", 200, "r2 id=x/y");
	cli_close(&c);
	stopped = srv_stop(&x, CORIO_SEC(1)); /* whatever failed: the server must stop */
	corio_http_router_free(rt);
	TH_CHECK(ok);
	TH_CHECK(stopped == 0);
	return TH_OK;
}

START_TEST(many_routes)
{
	RUN_OK(t_many, NULL);
}
END_TEST

#define TCLIENTS 8
#define TREQS 50

typedef struct tclient {
	int port, id, ok;
} tclient;

static void *threaded_client(void *arg)
{
	tclient *t = arg;
	char target[64], want[64];
	cli c;

	if (cli_open(&c, t->port) < 0) {
		free(c.buf);
		return NULL;
	}
	for (int i = 0; i < TREQS; i++) {
		snprintf(target, sizeof target, "/users/%d-%d%%20x/posts/p%d", t->id, i, i);
		snprintf(want, sizeof want, "post id=%d-%d x b=p%d", t->id, i, i);
		if (!expect(&c, "GET", target, 200, want))
			break;
		t->ok++;
	}
	cli_close(&c);
	return NULL;
}

static void *t_threads(void *arg)
{
	corio_http_router *rt = rest_router();
	corio_http_server_opts o;
	tclient tc[TCLIENTS];
	corio_task *t[TCLIENTS];
	srvctx x;
	int gathered, stopped;

	(void)arg;
	TH_CHECK(rt != NULL);
	corio_http_server_opts_init(&o);
	o.threads = 2;
	TH_CHECK(srv_start_with(&x, &o, corio_http_router_handler, rt) == 0);
	for (int i = 0; i < TCLIENTS; i++) {
		tc[i] = (tclient){ .port = x.port, .id = i };
		t[i] = corio_spawn(threaded_client, &tc[i]);
	}
	gathered = corio_gather(t, TCLIENTS, NULL);
	stopped = srv_stop(&x, CORIO_SEC(1));
	corio_http_router_free(rt);
	TH_CHECK(gathered == 0 && stopped == 0);
	for (int i = 0; i < TCLIENTS; i++)
		TH_CHECK(tc[i].ok == TREQS);
	return TH_OK;
}

START_TEST(threads)
{
	RUN_OK(t_threads, NULL);
}
END_TEST

/* The same exchanges with reads and writes shortened at random (requests reach the server
 * in pieces). */
START_TEST(faults_routes)
{
	g_faults = FAULTS;
	RUN_OK(t_routes, NULL);
}
END_TEST

START_TEST(faults_middleware)
{
	g_faults = FAULTS;
	RUN_OK(t_middleware, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_router");

	(void)handler_started;
	TH_TCASE(s, "match", TH_TIMEOUT, match_precedence, bad_patterns);
	TH_TCASE(s, "http", TH_TIMEOUT, routes, methods, middleware, nested, many_routes,
		 threads);
	TH_TCASE(s, "faults", TH_TIMEOUT, faults_routes, faults_middleware);
	return th_main(s);
}
