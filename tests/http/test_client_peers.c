/* tests/http/test_client_peers.c: the HTTP/1.1 client against real servers the test starts
 * on a listening socket it bound: nginx with its own configuration (skipped when
 * /usr/sbin/nginx is missing) and Python's http.server (HTTP/1.0 bodies on one-shot
 * connections). */
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
#include "tests/support/nginx.h"
#include "tests/support/proc.h"

/* ---- nginx ----------------------------------------------------------------------------------- */

/* A peer (nginx or Python's), the directory it serves and the files in it. */
typedef struct peer {
	th_nginx ng; /* the directory, the port, the pid */
	char *file;
	size_t file_len;
	char *text;
	size_t text_len;
} peer;

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* The files both peers serve, in a new directory n->ng.dir. */
static void peer_files(peer *n)
{
	char path[128];

	ck_assert_ptr_null(th_nginx_dir(&n->ng, "corio-nginx"));
	snprintf(path, sizeof path, "%s/www", n->ng.dir);
	mkdir(path, 0755);
	n->file_len = 2u << 20;
	n->file = malloc(n->file_len);
	for (size_t i = 0; i < n->file_len; i++)
		n->file[i] = (char)big_at(i * 3 + 1);
	snprintf(path, sizeof path, "%s/www/big.bin", n->ng.dir);
	write_file(path, n->file, n->file_len);
	n->text_len = 100000;
	n->text = malloc(n->text_len);
	for (size_t i = 0; i < n->text_len; i++)
		n->text[i] = "lorem ipsum dolor sit amet\n"[i % 27];
	snprintf(path, sizeof path, "%s/www/t.txt", n->ng.dir);
	write_file(path, n->text, n->text_len);
}

static void nginx_start(peer *n)
{
	const char *why;

	peer_files(n);
	n->ng.connections = 256;
	why = th_nginx_start(&n->ng,
			     "  types { text/plain txt; application/octet-stream bin; }\n"
			     "  gzip on; gzip_types text/plain; gzip_min_length 1;\n",
			     "    root www;\n" /* relative to the prefix, the directory */
			     "    add_header X-Conn $connection always;\n"
			     "    add_header X-Conn-Requests $connection_requests always;\n"
			     "    location = /moved { return 302 /t.txt; }");
	ck_assert_msg(why == NULL, "nginx: %s", why);
}

/* Stops the peer (by its pid) and removes its directory. */
static void peer_stop(peer *n)
{
	th_nginx_stop(&n->ng);
	free(n->file);
	free(n->text);
}

static void *t_nginx(void *arg)
{
	peer *n = arg;
	corio_http_client *c = corio_http_client_new(NULL);
	corio_http_response *r;
	char url[128];
	const char *t, *conn0 = NULL;
	size_t len;
	char conn[32] = "";

	TH_CHECK(c);
	/* a static file, compared byte for byte, three times on one connection */
	for (int i = 0; i < 3; i++) {
		char want[8];

		snprintf(url, sizeof url, "http://127.0.0.1:%d/big.bin", n->ng.port);
		TH_CHECK(corio_http_get(c, url, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 200);
		TH_CHECK(corio_http_response_content_length(r) == (int64_t)n->file_len);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
		TH_CHECK(len == n->file_len && memcmp(t, n->file, len) == 0);
		conn0 = corio_http_response_header(r, "X-Conn");
		TH_CHECK(conn0);
		if (i == 0)
			snprintf(conn, sizeof conn, "%s", conn0);
		TH_CHECK(strcmp(conn, conn0) == 0); /* the same connection */
		snprintf(want, sizeof want, "%d", i + 1);
		TH_CHECK(strcmp(corio_http_response_header(r, "X-Conn-Requests"), want) == 0);
		corio_http_response_free(r);
	}
	/* gzip from nginx, through a redirect */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/moved", n->ng.port);
	TH_CHECK(corio_http_get(c, url, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 200);
	TH_CHECK(corio_http_response_redirects(r) == 1);
	TH_CHECK(strcmp(corio_http_response_header(r, "Content-Encoding"), "gzip") == 0);
	TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
	TH_CHECK(len == n->text_len && memcmp(t, n->text, len) == 0);
	corio_http_response_free(r);
	/* HEAD, 404 */
	{
		struct corio_http_request q = {.method = "HEAD", .url = url};

		snprintf(url, sizeof url, "http://127.0.0.1:%d/big.bin", n->ng.port);
		TH_CHECK(corio_http_request(c, &q, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 200);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0 && len == 0);
		corio_http_response_free(r);
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%d/nope", n->ng.port);
	TH_CHECK(corio_http_get(c, url, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 404);
	corio_http_response_free(r);
	corio_http_client_free(c);
	return TH_OK;
}

START_TEST(against_nginx)
{
	peer n = {0};

	if (access(TH_NGINX, X_OK) != 0) {
		fprintf(stderr, "%s not installed: skipped\n", TH_NGINX);
		return;
	}
	nginx_start(&n);
	{
		const char *msg = TH_RUN(t_nginx, &n);

		peer_stop(&n);
		ck_assert_msg(msg == NULL, "task failed: %s", msg);
	}
}
END_TEST

/* ---- Python's http.server (HTTP/1.0, one request per connection) ------------------------ */

#define PYTHON "/usr/bin/python3"

static void *t_python(void *arg)
{
	peer *n = arg; /* same files, another server */
	corio_http_client *c = corio_http_client_new(NULL);
	corio_http_response *r;
	char url[128];
	const char *t;
	size_t len;
	corio_http_client_stats st;

	TH_CHECK(c);
	for (int i = 0; i < 2; i++) {
		snprintf(url, sizeof url, "http://127.0.0.1:%d/www/big.bin", n->ng.port);
		TH_CHECK(corio_http_get(c, url, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 200);
		TH_CHECK(corio_http_response_version(r) == 10);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
		TH_CHECK(len == n->file_len && memcmp(t, n->file, len) == 0);
		corio_http_response_free(r);
	}
	corio_http_client_stats_get(c, &st);
	TH_CHECK(st.connects == 2 && st.idle == 0); /* HTTP/1.0 without keep-alive */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/missing", n->ng.port);
	TH_CHECK(corio_http_get(c, url, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 404);
	TH_CHECK(corio_http_response_text(r, &t, &len) == 0 && len > 0);
	corio_http_response_free(r);
	corio_http_client_free(c);
	return TH_OK;
}

START_TEST(against_python_http_server)
{
	/* http.server's own CLI can only bind; this serves the same way on the inherited socket */
	static const char script[] =
		"import functools, http.server, socket, sys\n"
		"h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])\n"
		"s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h, bind_and_activate=False)\n"
		"s.socket.close()\n"
		"s.socket = socket.socket(fileno=int(sys.argv[1]))\n"
		"s.serve_forever()\n";
	peer n = {0};
	char fdarg[16];
	char *const argv[] = { PYTHON, "-c", (char *)script, fdarg, n.ng.dir, NULL };
	char *const envp[] = { NULL };
	th_child c = th_child_of(argv);
	int lfd;

	if (access(PYTHON, X_OK) != 0) {
		fprintf(stderr, "%s not installed: skipped\n", PYTHON);
		return;
	}
	peer_files(&n);
	lfd = th_loopback_socket(&n.ng.port, true);
	ck_assert_int_ge(lfd, 0);
	snprintf(fdarg, sizeof fdarg, "%d", lfd);
	/* http.server serves on the socket this test bound; clients may connect at once: the
	 * kernel queues them until it accepts, and resets them if it dies. */
	c.envp = envp;
	c.keep_fd = lfd;
	c.std[1] = c.std[2] = TH_FD_NULL;
	n.ng.pid = th_spawn(&c);
	ck_assert_int_gt(n.ng.pid, 0);
	close(lfd);
	{
		const char *msg = TH_RUN(t_python, &n);

		peer_stop(&n);
		ck_assert_msg(msg == NULL, "task failed: %s", msg);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_client");

	TH_TCASE(s, "peers", TH_TIMEOUT, against_nginx, against_python_http_server);
	return th_main(s);
}
