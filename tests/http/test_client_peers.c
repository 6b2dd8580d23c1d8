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

/* ---- nginx ----------------------------------------------------------------------------------- */

#define NGINX "/usr/sbin/nginx"

typedef struct nginx {
	char dir[64];
	int port;
	pid_t pid;
	char *file;
	size_t file_len;
	char *text;
	size_t text_len;
} nginx;

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Runs argv with the listening socket lfd kept open (and closes the parent's copy): a peer
 * that serves on a port this test bound, so no other process can hold that port. Clients may
 * connect at once: the kernel queues them until the peer accepts, and resets them if it dies. */
static pid_t peer_spawn(const char *const argv[], char *const envp[], int lfd)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
		th_keep_across_exec(lfd);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	close(lfd);
	return pid;
}

/* The files both peers serve, in a new directory n->dir. */
static void peer_files(nginx *n)
{
	char path[128];

	snprintf(n->dir, sizeof n->dir, "/tmp/corio-nginx-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(n->dir));
	chmod(n->dir, 0755); /* the worker may run as another user */
	snprintf(path, sizeof path, "%s/www", n->dir);
	mkdir(path, 0755);
	n->file_len = 2u << 20;
	n->file = malloc(n->file_len);
	for (size_t i = 0; i < n->file_len; i++)
		n->file[i] = (char)big_at(i * 3 + 1);
	snprintf(path, sizeof path, "%s/www/big.bin", n->dir);
	write_file(path, n->file, n->file_len);
	n->text_len = 100000;
	n->text = malloc(n->text_len);
	for (size_t i = 0; i < n->text_len; i++)
		n->text[i] = "lorem ipsum dolor sit amet\n"[i % 27];
	snprintf(path, sizeof path, "%s/www/t.txt", n->dir);
	write_file(path, n->text, n->text_len);
}

static void nginx_start(nginx *n)
{
	char path[128], conf[2048], inherit[32];
	char *const envp[] = { inherit, NULL };
	const char *const argv[] = { NGINX, "-p", n->dir, "-c", path, "-e", "/dev/null", NULL };
	int lfd;

	peer_files(n);
	/* nginx inherits the socket through its NGINX variable (its binary-upgrade path; only
	 * with a master process: 1.22 crashes on inherited sockets with master_process off) */
	lfd = th_loopback_socket(&n->port, true);
	ck_assert_int_ge(lfd, 0);
	snprintf(inherit, sizeof inherit, "NGINX=%d;", lfd);
	snprintf(conf, sizeof conf,
		 "daemon off; master_process on; worker_processes 1;\n"
		 "pid %s/nginx.pid; error_log %s/error.log;\n"
		 "events { worker_connections 256; }\n"
		 "http {\n access_log off;\n"
		 " client_body_temp_path %s/body; proxy_temp_path %s/proxy;\n"
		 " fastcgi_temp_path %s/fcgi; uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;\n"
		 " types { text/plain txt; application/octet-stream bin; }\n"
		 " gzip on; gzip_types text/plain; gzip_min_length 1;\n"
		 " server {\n  listen 127.0.0.1:%d;\n  root %s/www;\n"
		 "  add_header X-Conn $connection always;\n"
		 "  add_header X-Conn-Requests $connection_requests always;\n"
		 "  location = /moved { return 302 /t.txt; }\n"
		 " }\n}\n",
		 n->dir, n->dir, n->dir, n->dir, n->dir, n->dir, n->dir, n->port, n->dir);
	snprintf(path, sizeof path, "%s/nginx.conf", n->dir);
	write_file(path, conf, strlen(conf));
	n->pid = peer_spawn(argv, envp, lfd);
}

static void nginx_stop(nginx *n)
{
	char cmd[128];

	kill(n->pid, SIGTERM);
	waitpid(n->pid, NULL, 0);
	snprintf(cmd, sizeof cmd, "rm -rf %s", n->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", n->dir);
	free(n->file);
	free(n->text);
}

static void *t_nginx(void *arg)
{
	nginx *n = arg;
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

		snprintf(url, sizeof url, "http://127.0.0.1:%d/big.bin", n->port);
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
	snprintf(url, sizeof url, "http://127.0.0.1:%d/moved", n->port);
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

		snprintf(url, sizeof url, "http://127.0.0.1:%d/big.bin", n->port);
		TH_CHECK(corio_http_request(c, &q, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 200);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0 && len == 0);
		corio_http_response_free(r);
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%d/nope", n->port);
	TH_CHECK(corio_http_get(c, url, &r) == 0);
	TH_CHECK(corio_http_response_status(r) == 404);
	corio_http_response_free(r);
	corio_http_client_free(c);
	return TH_OK;
}

START_TEST(against_nginx)
{
	nginx n = {0};

	if (access(NGINX, X_OK) != 0) {
		fprintf(stderr, "%s not installed: skipped\n", NGINX);
		return;
	}
	nginx_start(&n);
	{
		const char *msg = TH_RUN(t_nginx, &n);

		nginx_stop(&n);
		ck_assert_msg(msg == NULL, "task failed: %s", msg);
	}
}
END_TEST

/* ---- Python's http.server (HTTP/1.0, one request per connection) ------------------------ */

#define PYTHON "/usr/bin/python3"

static void *t_python(void *arg)
{
	nginx *n = arg; /* same files, another server */
	corio_http_client *c = corio_http_client_new(NULL);
	corio_http_response *r;
	char url[128];
	const char *t;
	size_t len;
	corio_http_client_stats st;

	TH_CHECK(c);
	for (int i = 0; i < 2; i++) {
		snprintf(url, sizeof url, "http://127.0.0.1:%d/www/big.bin", n->port);
		TH_CHECK(corio_http_get(c, url, &r) == 0);
		TH_CHECK(corio_http_response_status(r) == 200);
		TH_CHECK(corio_http_response_version(r) == 10);
		TH_CHECK(corio_http_response_text(r, &t, &len) == 0);
		TH_CHECK(len == n->file_len && memcmp(t, n->file, len) == 0);
		corio_http_response_free(r);
	}
	corio_http_client_stats_get(c, &st);
	TH_CHECK(st.connects == 2 && st.idle == 0); /* HTTP/1.0 without keep-alive */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/missing", n->port);
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
	nginx n = {0};
	char fdarg[16];
	const char *const argv[] = { PYTHON, "-c", script, fdarg, n.dir, NULL };
	char *const envp[] = { NULL };
	int lfd;

	if (access(PYTHON, X_OK) != 0) {
		fprintf(stderr, "%s not installed: skipped\n", PYTHON);
		return;
	}
	peer_files(&n);
	lfd = th_loopback_socket(&n.port, true);
	ck_assert_int_ge(lfd, 0);
	snprintf(fdarg, sizeof fdarg, "%d", lfd);
	n.pid = peer_spawn(argv, envp, lfd);
	{
		const char *msg = TH_RUN(t_python, &n);

		nginx_stop(&n);
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
