/* tests/http/test_client_auth.c: Basic authentication (RFC 7617) through the HTTP client,
 * against corio servers in the test: the header exact, the request's credentials over the
 * URL's over the client's, the caller's own Authorization header, kept on a same-origin
 * redirect and dropped on a cross-origin one, and the user names refused (':'). */
#define _GNU_SOURCE
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "tests/support/helpers.h"
#include "tests/http/client_helpers.h"

#include "http/client/session.h"

/* /same: 302 to /landed on this server; /cross: 302 to the other server (s->ud); else 200. */
static int r_auth(srv *s, const rq *q, const char **out, size_t *len)
{
	static char buf[512];
	const char *path = strchr(q->head, ' ') + 1;

	if (!strncmp(path, "/same ", 6))
		*len = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 302 Found\r\nLocation: /landed\r\n"
				       "Content-Length: 0\r\n\r\n");
	else if (!strncmp(path, "/cross ", 7))
		*len = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 302 Found\r\nLocation: %s/landed\r\n"
				       "Content-Length: 0\r\n\r\n", (const char *)s->ud);
	else
		*len = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	*out = buf;
	return KEEP;
}

static int send_req(corio_http_client *c, struct corio_http_request *req)
{
	corio_http_response *r;
	int rc = corio_http_request(c, req, &r);

	if (rc == 0) {
		rc = corio_http_response_status(r);
		corio_http_response_free(r);
	}
	return rc;
}

/* The Authorization line of the last request server i saw, "" when none. */
static const char *auth_of(srv *s)
{
	static char out[256];
	const char *a = strcasestr(head_of(s, s->requests), "\r\nAuthorization: ");

	snprintf(out, sizeof out, "%.*s", a ? (int)strcspn(a + 17, "\r") : 0, a ? a + 17 : "");
	return out;
}

static void *t_client_auth(ctx *x)
{
	struct corio_http_request req = {.url = u(x, 0, "/x")};
	static const corio_http_header own[] = {{"Authorization", "Bearer tok"}};
	char url[128];

	/* the client's: "user:pass" */
	TH_CHECK(send_req(x->c, &req) == 200);
	TH_CHECK(strcmp(auth_of(&x->s[0]), "Basic dXNlcjpwYXNz") == 0);
	/* the request's win: "alice:" (no password), "bob:p:w" (':' in a password is fine) */
	req.auth_user = "alice";
	TH_CHECK(send_req(x->c, &req) == 200);
	TH_CHECK(strcmp(auth_of(&x->s[0]), "Basic YWxpY2U6") == 0);
	req.auth_user = "bob";
	req.auth_password = "p:w";
	TH_CHECK(send_req(x->c, &req) == 200);
	TH_CHECK(strcmp(auth_of(&x->s[0]), "Basic Ym9iOnA6dw==") == 0);
	/* the URL's userinfo over the client's, the request's over the URL's */
	snprintf(url, sizeof url, "http://carol:c@127.0.0.1:%d/x", x->s[0].port);
	req = (struct corio_http_request){.url = url};
	TH_CHECK(send_req(x->c, &req) == 200);
	TH_CHECK(strcmp(auth_of(&x->s[0]), "Basic Y2Fyb2w6Yw==") == 0);
	req.auth_user = "alice";
	TH_CHECK(send_req(x->c, &req) == 200);
	TH_CHECK(strcmp(auth_of(&x->s[0]), "Basic YWxpY2U6") == 0);
	/* the caller's own header wins over all of them */
	req.headers = own;
	req.nheaders = 1;
	TH_CHECK(send_req(x->c, &req) == 200);
	TH_CHECK(strcmp(auth_of(&x->s[0]), "Bearer tok") == 0);
	TH_CHECK(strstr(head_of(&x->s[0], x->s[0].requests), "Basic") == NULL);
	/* bad names: nothing is sent */
	req = (struct corio_http_request){.url = u(x, 0, "/x"), .auth_user = "a:b"};
	TH_CHECK(send_req(x->c, &req) == -EINVAL);
	req.auth_user = NULL;
	req.auth_password = "orphan";
	TH_CHECK(send_req(x->c, &req) == -EINVAL);
	TH_CHECK(x->s[0].requests == 6);
	return TH_OK;
}

START_TEST(basic_auth_header_exact)
{
	ctx x = {.nsrv = 1, .body = t_client_auth};

	x.o.auth_user = "user";
	x.o.auth_password = "pass";
	x.s[0].respond = r_auth;
	RUN_CTX(x);
}
END_TEST

static void *t_redirects(ctx *x)
{
	struct corio_http_request req = {.url = u(x, 0, "/same")};
	corio_http_response *r;

	x->s[0].ud = x->s[1].url;
	/* same origin: on every hop */
	TH_CHECK(send_req(x->c, &req) == 200);
	TH_CHECK(x->s[0].requests == 2);
	TH_CHECK(strcmp(auth_of(&x->s[0]), "Basic dXNlcjpwYXNz") == 0);
	TH_CHECK(strstr(head_of(&x->s[0], 1), "\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"));
	/* another origin (the same host, another port): the first hop only */
	req.url = u(x, 0, "/cross");
	req.auth_user = "req";
	TH_CHECK(send_req(x->c, &req) == 200);
	TH_CHECK(strcmp(auth_of(&x->s[0]), "Basic cmVxOg==") == 0);
	TH_CHECK(x->s[1].requests == 1 && strcmp(auth_of(&x->s[1]), "") == 0);
	/* the client's default credentials likewise */
	TH_CHECK(corio_http_get(x->c, u(x, 0, "/cross"), &r) == 0);
	corio_http_response_free(r);
	TH_CHECK(x->s[1].requests == 2 && strcmp(auth_of(&x->s[1]), "") == 0);
	/* a request straight to the other origin gets them: they are the client's */
	TH_CHECK(corio_http_get(x->c, u(x, 1, "/x"), &r) == 0);
	corio_http_response_free(r);
	TH_CHECK(strcmp(auth_of(&x->s[1]), "Basic dXNlcjpwYXNz") == 0);
	return TH_OK;
}

START_TEST(auth_dropped_on_cross_origin_redirect)
{
	ctx x = {.nsrv = 2, .body = t_redirects};

	x.o.auth_user = "user";
	x.o.auth_password = "pass";
	x.s[0].respond = x.s[1].respond = r_auth;
	RUN_CTX(x);
}
END_TEST

START_TEST(client_options_checked)
{
	corio_http_client_opts o = {.auth_user = "a:b", .auth_password = "x"};
	char *v = NULL;

	errno = 0;
	ck_assert_ptr_null(corio_http_client_new(&o));
	ck_assert_int_eq(errno, EINVAL);
	o = (corio_http_client_opts){.auth_password = "x"};
	ck_assert_ptr_null(corio_http_client_new(&o));
	ck_assert_int_eq(errno, EINVAL);
	/* RFC 7617's example */
	ck_assert_int_eq(corio__hclient_basic("Aladdin", "open sesame", &v), 0);
	ck_assert_str_eq(v, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	free(v);
	ck_assert_int_eq(corio__hclient_basic("", NULL, &v), 0);
	ck_assert_str_eq(v, "Basic Og==");
	free(v);
	ck_assert_int_eq(corio__hclient_basic(NULL, "x", &v), -EINVAL);
	ck_assert_ptr_null(v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_client_auth");

	TH_TCASE(s, "auth", TH_TIMEOUT, basic_auth_header_exact, auth_dropped_on_cross_origin_redirect,
		 client_options_checked);
	return th_main(s);
}
