/* tests/http/test_https_peers.c: HTTPS between corio and TLS implementations written
 * elsewhere, everything on 127.0.0.1.
 *
 * corio's client (corio_http_client_opts.tls trusting the test CA) against
 *   - nginx with `listen ... ssl` (tests/support/nginx.h: a socket this test bound, handed
 *     over): a GET with the exact body, keep-alive reuse, a 16 MiB file byte for byte,
 *     session resumption on a second connection (TLS 1.3, and TLS 1.2 alone), a certificate
 *     for another name (-EKEYREJECTED);
 *   - `openssl s_server -HTTP` (a port it picked and printed: "ACCEPT 127.0.0.1:PORT"),
 *     which answers one request per connection with a file holding a whole response;
 *   - Python's http.server wrapped in ssl.SSLContext (on a socket this test bound).
 * corio's server (corio_http_server with opts.tls, port 0) against
 *   - curl --cacert (TLS 1.2 alone, TLS 1.3, keep-alive, an untrusted server refused);
 *   - `openssl s_client` sending a raw GET ("Verify return code: 0 (ok)");
 *   - Python's urllib with a context trusting the CA (a 1 MiB body checked by Python);
 *   - plain HTTP bytes sent to the TLS port (closed at once, never left hanging);
 * and a TLS client meeting a plain corio server (-EPROTO, not a hang).
 *
 * A peer whose program is missing is skipped with a line saying so (scripts/deps.sh
 * installs them all). Peers are started by the test, waited for by reading what they print
 * or through the socket they inherit, and stopped by pid; they die with the test process.
 * The certificates are made once in main (tests/support/certs.h) and shared by the forked
 * tests. Child programs run through corio_blocking, so that the loop keeps serving, each
 * with an alarm that ends it if it hangs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <corio/http_server.h>

#include "tests/support/certs.h"
#include "tests/support/helpers.h"
#include "tests/support/nginx.h"
#include "tests/support/proc.h"

#define PYTHON "/usr/bin/python3"
#define OPENSSL "/usr/bin/openssl"
#define CURL "/usr/bin/curl"

/* Bounds, in seconds, never waits: a peer printing its port, a child program's whole run
 * (SIGALRM ends it), a connection that must be closed by the other side. */
#define START_S 30
#define CHILD_S 30
#define CLOSE_S 20

static th_certs g_certs;

static const char hello[] = "hello over TLS\n";

/* The byte at offset i of the big bodies: no short period, so a lost, repeated or moved
 * block shows. */
static unsigned char pattern_at(size_t i)
{
	uint32_t x = (uint32_t)i * 2654435761u;

	return (unsigned char)((x >> 24) ^ (i >> 12));
}

static bool have(const char *prog)
{
	if (access(prog, X_OK) == 0)
		return true;
	fprintf(stderr, "%s not installed: this check is skipped\n", prog);
	return false;
}

/* ---- peers: child processes and their directories ----------------------------------------- */

typedef struct peer {
	th_nginx ng; /* nginx; for the others only dir, port and pid are used */
	int out;     /* s_server: the read end of its stdout, else -1 */
} peer;

/* The peer of the running test, stopped by P_ASSERT before a setup assertion fails. */
static peer *g_peer;

static void peer_stop(peer *p)
{
	if (p->out >= 0)
		close(p->out);
	p->out = -1;
	th_nginx_stop(&p->ng); /* SIGTERM by pid, waited for; removes the directory */
	g_peer = NULL;
}

#define P_ASSERT(cond, ...)                                                                  \
	do {                                                                                 \
		bool p_ok_ = (cond);                                                         \
		if (!p_ok_ && g_peer)                                                        \
			peer_stop(g_peer);                                                   \
		ck_assert_msg(p_ok_, __VA_ARGS__);                                           \
	} while (0)

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	P_ASSERT(f && fwrite(data, 1, len, f) == len && fclose(f) == 0, "writing %s failed", path);
}

/* A new peer with a directory of its own (readable by nginx's workers). */
static void peer_init(peer *p, const char *prefix)
{
	memset(p, 0, sizeof *p);
	p->out = -1;
	ck_assert_ptr_null(th_nginx_dir(&p->ng, prefix));
	g_peer = p;
}

/* nginx serving www/ (hello.txt, big.bin of big bytes when big > 0) over TLS with the
 * certificate crt (its key follows it), TLS versions `protocols` (NULL: nginx's default). */
static void nginx_start(peer *p, int crt, const char *protocols, size_t big)
{
	char www[PATH_MAX];
	const char *why;

	peer_init(p, "corio-nginx-tls");
	snprintf(www, sizeof www, "%s/www", p->ng.dir);
	P_ASSERT(mkdir(www, 0755) == 0, "mkdir %s: %s", www, strerror(errno));
	write_file(www, "hello.txt", hello, strlen(hello));
	if (big) {
		unsigned char *b = malloc(big);

		P_ASSERT(b != NULL, "malloc");
		for (size_t i = 0; i < big; i++)
			b[i] = pattern_at(i);
		write_file(www, "big.bin", b, big);
		free(b);
	}
	p->ng.ssl_cert = g_certs.path[crt];
	p->ng.ssl_key = g_certs.path[crt + 1];
	p->ng.ssl_protocols = protocols;
	why = th_nginx_start(&p->ng, "  types { text/plain txt; application/octet-stream bin; }\n",
			     "    root www;\n");
	P_ASSERT(why == NULL, "nginx: %s", why);
}

/* Python's http.server, HTTP/1.1 with keep-alive, on a listening socket this test bound,
 * wrapped in an ssl.SSLContext with the certificate crt; serves the peer's directory. */
static void python_start(peer *p, int crt)
{
	static const char script[] =
		"import functools, http.server, socket, ssl, sys\n"
		"class H(http.server.SimpleHTTPRequestHandler):\n"
		"    protocol_version = 'HTTP/1.1'\n"
		"    def log_message(self, *a): pass\n"
		"ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
		"ctx.load_cert_chain(sys.argv[2], sys.argv[3])\n"
		"h = functools.partial(H, directory=sys.argv[4])\n"
		"s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h, bind_and_activate=False)\n"
		"s.socket.close()\n"
		"s.socket = ctx.wrap_socket(socket.socket(fileno=int(sys.argv[1])), server_side=True)\n"
		"s.serve_forever()\n";
	char fdarg[16];
	char *const argv[] = { PYTHON, "-c", (char *)script, fdarg, g_certs.path[crt],
			       g_certs.path[crt + 1], p->ng.dir, NULL };
	char *const envp[] = { NULL };
	th_child c = th_child_of(argv);
	int lfd;

	peer_init(p, "corio-python-tls");
	write_file(p->ng.dir, "hello.txt", hello, strlen(hello));
	lfd = th_loopback_socket(&p->ng.port, true);
	P_ASSERT(lfd >= 0, "th_loopback_socket: %s", strerror(errno));
	snprintf(fdarg, sizeof fdarg, "%d", lfd);
	/* Connections made before Python accepts wait in the socket's queue; should Python die,
	 * its end closes and they are reset. */
	c.envp = envp;
	c.keep_fd = lfd;
	c.std[0] = c.std[1] = TH_FD_NULL;
	p->ng.pid = th_spawn(&c);
	close(lfd);
	P_ASSERT(p->ng.pid > 0, "fork: %s", strerror(errno));
}

/* Reads the peer's stdout until a line "<prefix>PORT" (at most START_S seconds, or until
 * the peer exits); the port. */
static int read_port(peer *p, const char *prefix)
{
	char buf[4096];
	size_t used = 0;
	uint64_t until = th_now() + START_S * 1000000000ull;

	for (;;) {
		struct pollfd pfd = { .fd = p->out, .events = POLLIN };
		const char *at;
		int left = (int)((until - th_now()) / 1000000), port;
		ssize_t n;

		buf[used] = 0;
		if ((at = strstr(buf, prefix)) && strchr(at, '\n') &&
		    sscanf(at + strlen(prefix), "%d", &port) == 1)
			return port;
		P_ASSERT(th_now() < until && used < sizeof buf - 1,
			 "no \"%sPORT\" line within %d s; output: %s", prefix, START_S, buf);
		if (poll(&pfd, 1, left > 0 ? left : 1) < 0) {
			P_ASSERT(errno == EINTR, "poll: %s", strerror(errno));
			continue;
		}
		if (!pfd.revents)
			continue;
		n = read(p->out, buf + used, sizeof buf - 1 - used);
		P_ASSERT(n > 0 || (n < 0 && errno == EINTR),
			 "the peer closed its output before listening; output: %s", buf);
		if (n > 0)
			used += (size_t)n;
	}
}

/* `openssl s_server -HTTP` with the certificate crt, on a port it picks and prints. -HTTP
 * answers "GET /NAME" with the file NAME of its working directory, which must hold a whole
 * response (status line and headers with CRLF); one connection at a time, each closed after
 * its response (with close_notify). */
static void s_server_start(peer *p, int crt)
{
	char *const argv[] = { OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-cert",
			       g_certs.path[crt], "-key", g_certs.path[crt + 1], "-HTTP", NULL };
	char response[256];
	th_child c = th_child_of(argv);
	int fds[2], cwd;

	peer_init(p, "corio-s_server");
	snprintf(response, sizeof response,
		 "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(hello), hello);
	write_file(p->ng.dir, "hello.txt", response, strlen(response));
	P_ASSERT(pipe2(fds, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
	p->out = fds[0];
	c.std[0] = TH_FD_NULL;
	c.std[1] = fds[1];
	c.std[2] = TH_FD_NULL;
	/* Its working directory is the one the files are in: this test process (forked for
	 * this test alone) goes there for the spawn and comes back. */
	cwd = open(".", O_PATH | O_CLOEXEC);
	P_ASSERT(cwd >= 0 && chdir(p->ng.dir) == 0, "chdir %s: %s", p->ng.dir, strerror(errno));
	p->ng.pid = th_spawn(&c);
	P_ASSERT(fchdir(cwd) == 0, "fchdir: %s", strerror(errno));
	close(cwd);
	close(fds[1]);
	P_ASSERT(p->ng.pid > 0, "fork: %s", strerror(errno));
	/* Later output (a line per connection) stays in the pipe: far below its 64 KiB. */
	p->ng.port = read_port(p, "ACCEPT 127.0.0.1:");
}

/* ---- corio's client against a peer ----------------------------------------------------- */

typedef struct cl {
	peer *p;
	bool keepalive;  /* the peer keeps connections open (s_server does not) */
	bool resumes;    /* check resumption on a second connection */
	size_t big;      /* the size of big.bin, 0: none */
} cl;

static corio_tls_config *trust(int ca)
{
	return th_tls_client(&g_certs, ca);
}

/* A client trusting the test CA (its config reference dropped at once: the client holds
 * one), NULL on failure. */
static corio_http_client *tls_client(void)
{
	corio_tls_config *t = trust(CERT_CA);
	corio_http_client_opts o = { .tls = t };
	corio_http_client *c = t ? corio_http_client_new(&o) : NULL;

	corio_tls_config_free(t);
	return c;
}

/* GET url with extra headers (may be NULL); 200 with exactly `want`. NULL or what failed. */
static const char *get_exact(corio_http_client *c, const char *url, const corio_http_header *h,
			     size_t nh, const char *want)
{
	struct corio_http_request q = { .url = url, .headers = h, .nheaders = nh };
	corio_http_response *r = NULL;
	const char *body, *err = NULL;
	size_t len;
	int rc = corio_http_request(c, &q, &r);

	if (rc < 0) {
		static char why[512]; /* one task per test asks at a time */

		snprintf(why, sizeof why, "%s (TLS: \"%s\")", strerror(-rc), corio_tls_error(NULL));
		return why;
	}
	if (corio_http_response_status(r) != 200)
		err = "status is not 200";
	else if (corio_http_response_text(r, &body, &len) < 0)
		err = "reading the body failed";
	else if (len != strlen(want) || memcmp(body, want, len) != 0)
		err = "the body differs";
	corio_http_response_free(r);
	return err;
}

/* Streams url (16 MiB) and compares every byte with pattern_at. */
static const char *get_big(corio_http_client *c, const char *url, size_t want)
{
	corio_http_response *r = NULL;
	unsigned char *buf = malloc(1u << 16); /* coroutine stacks are small */
	const char *err = NULL;
	size_t got = 0;
	ssize_t n = 0;

	if (!buf)
		return "malloc";
	if (corio_http_get(c, url, &r) < 0 || corio_http_response_status(r) != 200 ||
	    corio_http_response_content_length(r) != (int64_t)want)
		err = "GET big.bin: no 200 with its length";
	while (!err && (n = corio_http_response_read(r, buf, 1u << 16)) > 0) {
		for (ssize_t i = 0; i < n && !err; i++)
			if (buf[i] != pattern_at(got + (size_t)i))
				err = "big.bin differs";
		got += (size_t)n;
	}
	if (!err && (n < 0 || got != want))
		err = n < 0 ? "reading big.bin failed" : "big.bin has the wrong length";
	corio_http_response_free(r);
	free(buf);
	return err;
}

/* The client's counters, on stderr before a check on them fails. */
#define STATS_CHECK(st, cond)                                                                \
	do {                                                                                 \
		if (!(cond))                                                                 \
			fprintf(stderr,                                                      \
				"stats: connects %llu reuses %llu tls_handshakes %llu "      \
				"tls_resumed %llu\n",                                        \
				(unsigned long long)(st).connects,                           \
				(unsigned long long)(st).reuses,                             \
				(unsigned long long)(st).tls_handshakes,                     \
				(unsigned long long)(st).tls_resumed);                       \
		TH_CHECK(cond);                                                              \
	} while (0)

static void *client_checks(corio_http_client *c, cl *x)
{
	corio_http_client_stats st;
	char url[128];
	const char *e;
	uint64_t conns;

	/* Three GETs: one connection and one handshake when the peer keeps it open. */
	snprintf(url, sizeof url, "https://127.0.0.1:%d/hello.txt", x->p->ng.port);
	for (int i = 0; i < 3; i++) {
		e = get_exact(c, url, NULL, 0, hello);
		if (e)
			fprintf(stderr, "GET %s: %s\n", url, e);
		TH_CHECK(e == NULL);
	}
	corio_http_client_stats_get(c, &st);
	conns = x->keepalive ? 1 : 3;
	STATS_CHECK(st, st.connects == conns && st.tls_handshakes == conns);
	STATS_CHECK(st, st.reuses == 3 - conns);
	/* By name: "localhost" is a DNS name in the certificate, sent as SNI. */
	snprintf(url, sizeof url, "https://localhost:%d/hello.txt", x->p->ng.port);
	TH_CHECK(get_exact(c, url, NULL, 0, hello) == NULL);
	if (x->big) {
		snprintf(url, sizeof url, "https://127.0.0.1:%d/big.bin", x->p->ng.port);
		e = get_big(c, url, x->big);
		if (e)
			fprintf(stderr, "GET %s: %s\n", url, e);
		TH_CHECK(e == NULL);
	}
	if (x->resumes) {
		/* "Connection: close" ends the pooled connection after this response; the next
		 * request needs a new one, which resumes the session of the first. */
		static const corio_http_header close_hdr[] = { { "Connection", "close" } };
		corio_http_client_stats before;

		snprintf(url, sizeof url, "https://127.0.0.1:%d/hello.txt", x->p->ng.port);
		TH_CHECK(get_exact(c, url, close_hdr, 1, hello) == NULL);
		corio_http_client_stats_get(c, &before);
		TH_CHECK(get_exact(c, url, NULL, 0, hello) == NULL);
		corio_http_client_stats_get(c, &st);
		STATS_CHECK(st, st.connects == before.connects + 1);
		STATS_CHECK(st, st.tls_handshakes == before.tls_handshakes + 1);
		STATS_CHECK(st, st.tls_resumed > before.tls_resumed);
	}
	return TH_OK;
}

/* A peer presenting a certificate for elsewhere.example, asked for 127.0.0.1. */
static void *wrong_name_checks(corio_http_client *c, cl *x)
{
	corio_http_response *r = (corio_http_response *)&r; /* must come back NULL */
	peer *p = x->p;
	char url[128];
	int rc;

	snprintf(url, sizeof url, "https://127.0.0.1:%d/hello.txt", p->ng.port);
	rc = corio_http_get(c, url, &r);
	if (rc != -EKEYREJECTED)
		fprintf(stderr, "GET %s: %d (%s), want -EKEYREJECTED\n", url, rc, strerror(-rc));
	TH_CHECK(rc == -EKEYREJECTED && r == NULL);
	if (!strstr(corio_tls_error(NULL), "mismatch"))
		fprintf(stderr, "corio_tls_error: \"%s\"\n", corio_tls_error(NULL));
	TH_CHECK(strstr(corio_tls_error(NULL), "mismatch") != NULL);
	return TH_OK;
}

/* Runs checks with a client trusting the test CA, freed whatever they found (so that a
 * failure is reported as itself, not as the descriptors it left open). */
typedef struct client_run {
	void *(*checks)(corio_http_client *c, cl *x);
	cl *x;
} client_run;

static void *t_with_client(void *arg)
{
	client_run *run = arg;
	corio_http_client *c = tls_client();
	void *res;

	TH_CHECK(c);
	res = run->checks(c, run->x);
	corio_http_client_free(c);
	return res;
}

/* Runs checks(x) in a loop, stops the peer, then fails if they did. */
static void run_then_stop(void *(*checks)(corio_http_client *, cl *), cl *x)
{
	client_run run = { checks, x };
	const char *msg = TH_RUN(t_with_client, &run);

	peer_stop(x->p);
	ck_assert_msg(msg == NULL, "task failed: %s", msg);
}

#define BIG (16u << 20)

START_TEST(client_against_nginx)
{
	peer p;
	cl x = { .p = &p, .keepalive = true, .resumes = true, .big = BIG };

	if (!have(TH_NGINX))
		return;
	nginx_start(&p, CERT_GOOD, NULL, BIG);
	run_then_stop(client_checks, &x);
}
END_TEST

START_TEST(client_against_nginx_tls12)
{
	peer p;
	cl x = { .p = &p, .keepalive = true, .resumes = true };

	if (!have(TH_NGINX))
		return;
	nginx_start(&p, CERT_GOOD, "TLSv1.2", 0);
	run_then_stop(client_checks, &x);
}
END_TEST

START_TEST(client_against_nginx_wrong_name)
{
	peer p;
	cl x = { .p = &p };

	if (!have(TH_NGINX))
		return;
	nginx_start(&p, CERT_WRONG, NULL, 0);
	run_then_stop(wrong_name_checks, &x);
}
END_TEST

START_TEST(client_against_openssl_s_server)
{
	peer p;
	cl x = { .p = &p, .keepalive = false, .resumes = false };

	if (!have(OPENSSL))
		return;
	s_server_start(&p, CERT_GOOD);
	run_then_stop(client_checks, &x);
	s_server_start(&p, CERT_WRONG);
	run_then_stop(wrong_name_checks, &x);
}
END_TEST

START_TEST(client_against_python_ssl)
{
	peer p;
	cl x = { .p = &p, .keepalive = true, .resumes = false };

	if (!have(PYTHON))
		return;
	python_start(&p, CERT_GOOD);
	run_then_stop(client_checks, &x);
	python_start(&p, CERT_WRONG);
	run_then_stop(wrong_name_checks, &x);
}
END_TEST

/* ---- corio's server against peers -------------------------------------------------------- */

#define BIG_SERVED (1u << 20)

static void handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	const char *path = corio_http_in_path(req);

	(void)ud;
	if (!strcmp(path, "/")) {
		corio_http_out_header(resp, "Content-Type", "text/plain");
		corio_http_out_send(resp, hello, strlen(hello));
	} else if (!strcmp(path, "/big")) {
		unsigned char *b = malloc(BIG_SERVED);

		if (!b) {
			corio_http_out_error(resp, 500);
			return;
		}
		for (size_t i = 0; i < BIG_SERVED; i++)
			b[i] = pattern_at(i);
		corio_http_out_send(resp, b, BIG_SERVED);
		free(b);
	} else {
		corio_http_out_error(resp, 404);
	}
}

typedef struct tsrv {
	corio_http_server *srv;
	corio_task *task;
	int port;
	int serve_rc;
} tsrv;

static void *serve(void *arg)
{
	tsrv *s = arg;

	s->serve_rc = corio_http_server_serve(s->srv);
	return NULL;
}

/* corio's server on 127.0.0.1, port 0, HTTPS with the good certificate when tls, else
 * plain. A long header timeout (it bounds the handshake): a connection closed before it
 * was closed for its bytes, not for its silence. 0 or -errno. */
static int srv_start(tsrv *s, bool tls)
{
	corio_http_server_opts o;
	corio_tls_config *cfg = NULL;
	int rc;

	memset(s, 0, sizeof *s);
	corio_http_server_opts_init(&o);
	o.header_timeout_ns = CORIO_SEC(60);
	if (tls) {
		cfg = corio_tls_config_new(true);
		if (!cfg)
			return -ENOMEM;
		rc = corio_tls_config_cert(cfg, g_certs.path[CERT_GOOD], g_certs.path[CERT_GOOD_KEY]);
		if (rc < 0) {
			corio_tls_config_free(cfg);
			return rc;
		}
		o.tls = cfg;
	}
	s->srv = corio_http_server_new(&o, handler, NULL);
	corio_tls_config_free(cfg); /* the server holds its own reference */
	if (!s->srv)
		return -errno;
	rc = corio_http_server_listen(s->srv, "127.0.0.1", 0);
	if (rc == 0)
		s->port = corio_http_server_port(s->srv);
	if (rc == 0 && !(s->task = corio_spawn(serve, s)))
		rc = -ENOMEM;
	if (rc < 0)
		corio_http_server_free(s->srv);
	return rc;
}

static int srv_stop(tsrv *s)
{
	corio_http_server_shutdown(s->srv, CORIO_SEC(1));
	corio_join(s->task, NULL);
	corio_http_server_free(s->srv);
	return s->serve_rc;
}

/* A program run to completion on the thread pool (the loop serves meanwhile), stdout and
 * stderr into out, stdin from `in` (may be NULL: /dev/null), ended by SIGALRM after
 * CHILD_S seconds. */
typedef struct prog {
	char *const *argv;
	const char *in;
	char out[1u << 16];
	int status;
} prog;

static void *run_prog(void *arg)
{
	prog *pr = arg;
	char *const envp[] = { NULL };
	th_child c = th_child_of(pr->argv);
	int in = -1;

	c.envp = envp;
	c.std[0] = TH_FD_NULL;
	c.std[2] = TH_FD_STDOUT;
	c.alarm_s = CHILD_S;
	if (pr->in) {
		size_t len = strlen(pr->in);

		in = memfd_create("stdin", MFD_CLOEXEC);
		if (in < 0 || write(in, pr->in, len) != (ssize_t)len || lseek(in, 0, SEEK_SET) != 0) {
			pr->status = -1;
			if (in >= 0)
				close(in);
			return NULL;
		}
		c.std[0] = in;
	}
	pr->status = th_run(&c, pr->out, sizeof pr->out, NULL);
	if (in >= 0)
		close(in);
	return NULL;
}

/* Runs argv; its exit status (128 + signal, or -errno when it could not run). */
static int run(prog *pr, char *const *argv, const char *in)
{
	pr->argv = argv;
	pr->in = in;
	pr->status = -1;
	if (corio_blocking(run_prog, pr, NULL) != 0)
		return -1;
	return pr->status;
}

/* Fails the task with the program's output on stderr first. */
#define PROG_CHECK(pr, cond)                                                                 \
	do {                                                                                 \
		if (!(cond))                                                                 \
			fprintf(stderr, "%s exited with %d:\n%s\n", (pr)->argv[0], (pr)->status,   \
				(pr)->out);                                                  \
		TH_CHECK(cond);                                                              \
	} while (0)

/* A server test: checks run against a server started for them, stopped whatever they found
 * (a server left serving would keep the loop, and the test, from ending). */
typedef struct srv_test {
	bool tls;
	void *(*checks)(tsrv *s, prog *pr); /* TH_OK or what failed */
} srv_test;

static void *t_with_server(void *arg)
{
	srv_test *t = arg;
	prog *pr = malloc(sizeof *pr);
	void *res;
	tsrv s;

	TH_CHECK(pr);
	if (srv_start(&s, t->tls) != 0) {
		free(pr);
		return (void *)"the server did not start";
	}
	res = t->checks(&s, pr);
	if (srv_stop(&s) != 0 && res == TH_OK)
		res = (void *)"serve failed";
	free(pr);
	return res;
}

/* The test `name`: fn against a server (tls_: HTTPS), skipped when the program `need`
 * (NULL: none) is not installed. */
#define SERVER_TEST(name, tls_, fn, need)                                                    \
	START_TEST(name)                                                                     \
	{                                                                                    \
		srv_test t_ = { .tls = (tls_), .checks = (fn) };                             \
		if ((need) == NULL || have(need))                                            \
			TH_RUN_EXPECT_OK(NULL, t_with_server, &t_);                          \
	}                                                                                    \
	END_TEST

static void *curl_checks(tsrv *sv, prog *pr)
{
	tsrv s = *sv;
	char url[64], want[256];

	snprintf(url, sizeof url, "https://127.0.0.1:%d/", s.port);
	/* Twice over one connection: the second transfer makes no new connect. */
	{
		char *const argv[] = { CURL, "-sS", "--noproxy", "*", "--cacert",
				       g_certs.path[CERT_CA], "-w",
				       "|%{http_code} %{num_connects} %{ssl_verify_result}\n", url,
				       url, NULL };

		TH_CHECK(run(pr, argv, NULL) >= 0);
		snprintf(want, sizeof want, "%s|200 1 0\n%s|200 0 0\n", hello, hello);
		PROG_CHECK(pr, pr->status == 0 && strcmp(pr->out, want) == 0);
	}
	/* TLS 1.2 alone, then 1.3: the version curl reports, and the body. */
	for (int v = 2; v <= 3; v++) {
		char *const argv12[] = { CURL, "-sS", "-v", "--noproxy", "*", "--cacert",
					 g_certs.path[CERT_CA], "--tlsv1.2", "--tls-max", "1.2",
					 url, NULL };
		char *const argv13[] = { CURL, "-sS", "-v", "--noproxy", "*", "--cacert",
					 g_certs.path[CERT_CA], "--tlsv1.3", url, NULL };
		char used[64];

		TH_CHECK(run(pr, v == 2 ? argv12 : argv13, NULL) >= 0);
		snprintf(used, sizeof used, "SSL connection using TLSv1.%d /", v);
		PROG_CHECK(pr, pr->status == 0 && strstr(pr->out, used) &&
				       strstr(pr->out, "< HTTP/1.1 200") && strstr(pr->out, hello));
	}
	/* A CA that did not sign the server's certificate: curl refuses (60). */
	{
		char *const argv[] = { CURL, "-sS", "--noproxy", "*", "--cacert",
				       g_certs.path[CERT_OTHER_CA], url, NULL };

		TH_CHECK(run(pr, argv, NULL) >= 0);
		PROG_CHECK(pr, pr->status == 60);
	}
	return TH_OK;
}

static void *s_client_checks(tsrv *sv, prog *pr)
{
	tsrv s = *sv;
	char connect[32];

	snprintf(connect, sizeof connect, "127.0.0.1:%d", s.port);
	{
		/* -ign_eof: read until the server closes, after its "Connection: close" answer. */
		char *const argv[] = { OPENSSL, "s_client", "-connect", connect, "-servername",
				       "localhost", "-verify_hostname", "localhost", "-CAfile",
				       g_certs.path[CERT_CA], "-verify_return_error", "-ign_eof",
				       NULL };

		TH_CHECK(run(pr, argv,
			     "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n") >= 0);
		PROG_CHECK(pr, pr->status == 0 && strstr(pr->out, "Verify return code: 0 (ok)") &&
				       strstr(pr->out, "HTTP/1.1 200 OK\r\n") &&
				       strstr(pr->out, "\r\n\r\nhello over TLS\n"));
	}
	{
		/* TLS 1.2 too, with a raw request line of its own */
		char *const argv[] = { OPENSSL, "s_client", "-connect", connect, "-tls1_2",
				       "-servername", "localhost", "-CAfile", g_certs.path[CERT_CA],
				       "-verify_return_error", "-ign_eof", NULL };

		TH_CHECK(run(pr, argv, "GET /nope HTTP/1.0\r\n\r\n") >= 0);
		PROG_CHECK(pr, pr->status == 0 && strstr(pr->out, "Protocol  : TLSv1.2") &&
				       strstr(pr->out, "Verify return code: 0 (ok)") &&
				       strstr(pr->out, "HTTP/1.1 404 Not Found\r\n"));
	}
	return TH_OK;
}

static void *python_client_checks(tsrv *sv, prog *pr)
{
	/* "/" and a 1 MiB body checked against the pattern, then the same with a CA that
	 * did not sign the server's certificate. */
	static const char script[] =
		"import ssl, sys, urllib.request, urllib.error\n"
		"ctx = ssl.create_default_context(cafile=sys.argv[1])\n"
		"try:\n"
		"    with urllib.request.urlopen(sys.argv[2], context=ctx, timeout=30) as r:\n"
		"        print(r.status, r.read().decode(), end='')\n"
		"    with urllib.request.urlopen(sys.argv[2] + 'big', context=ctx, timeout=30) as r:\n"
		"        b = r.read()\n"
		"    want = bytes((((i * 2654435761) & 0xffffffff) >> 24 ^ (i >> 12)) & 0xff\n"
		"                 for i in range(len(b)))\n"
		"    print('big', len(b), 'same' if b == want else 'differs')\n"
		"except urllib.error.URLError as e:\n"
		"    print('refused:', e.reason)\n"
		"    sys.exit(3)\n";
	tsrv s = *sv;
	char url[64], want[128];

	snprintf(url, sizeof url, "https://127.0.0.1:%d/", s.port);
	{
		char *const argv[] = { PYTHON, "-c", (char *)script, g_certs.path[CERT_CA], url,
				       NULL };

		TH_CHECK(run(pr, argv, NULL) >= 0);
		snprintf(want, sizeof want, "200 %sbig %u same\n", hello, BIG_SERVED);
		PROG_CHECK(pr, pr->status == 0 && strcmp(pr->out, want) == 0);
	}
	{
		char *const argv[] = { PYTHON, "-c", (char *)script, g_certs.path[CERT_OTHER_CA],
				       url, NULL };

		TH_CHECK(run(pr, argv, NULL) >= 0);
		PROG_CHECK(pr, pr->status == 3 && strstr(pr->out, "CERTIFICATE_VERIFY_FAILED"));
	}
	return TH_OK;
}

/* Plain HTTP to the TLS port: the server closes the connection (a TLS alert first is
 * allowed), long before its 60 s header timeout; CLOSE_S bounds the wait. */
static void *plain_to_tls_checks(tsrv *sv, prog *pr)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	tsrv s = *sv;
	char port[16], buf[512];
	size_t got = 0;
	corio_timeout to;
	ssize_t n = 0;
	bool hung;
	int fd;

	snprintf(port, sizeof port, "%d", s.port);
	fd = corio_tcp_connect("127.0.0.1", port);
	TH_CHECK(fd >= 0);
	TH_CHECK(corio_send_all(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1));
	corio_timeout_enter(&to, CORIO_SEC(CLOSE_S));
	while (got < sizeof buf && (n = corio_recv(fd, buf + got, sizeof buf - got, 0)) > 0)
		got += (size_t)n;
	hung = corio_timeout_exit(&to); /* the server kept the connection */
	corio_close(fd);
	TH_CHECK(!hung);
	TH_CHECK(n == 0 || n == -ECONNRESET);
	/* Nothing but TLS records (an alert, content type 21) may have come back: no HTTP. */
	TH_CHECK(got == 0 || (unsigned char)buf[0] == 21);
	TH_CHECK(got < sizeof buf);
	/* It still serves HTTPS. */
	{
		corio_http_client *c = tls_client();
		char url[64];

		TH_CHECK(c);
		snprintf(url, sizeof url, "https://127.0.0.1:%d/", s.port);
		const char *e = get_exact(c, url, NULL, 0, hello);

		corio_http_client_free(c);
		TH_CHECK(e == NULL);
	}
	return TH_OK;
}

/* A TLS client meeting a plain server: -EPROTO (the server's plain 400 is no TLS record),
 * never a hang; the plain server goes on serving http://. */
static void *tls_to_plain_checks(tsrv *sv, prog *pr)
{
	corio_http_client *c = tls_client();
	corio_http_response *r = NULL;
	corio_timeout to;
	const char *e;
	char url[64];
	bool hung;
	int rc;

	TH_CHECK(c);
	snprintf(url, sizeof url, "https://127.0.0.1:%d/", sv->port);
	corio_timeout_enter(&to, CORIO_SEC(CLOSE_S));
	rc = corio_http_get(c, url, &r);
	hung = corio_timeout_exit(&to);
	if (rc != -EPROTO)
		fprintf(stderr, "GET %s from a plain server: %d (%s)\n", url, rc, strerror(-rc));
	else if (!corio_tls_error(NULL)[0])
		fprintf(stderr, "GET %s from a plain server: -EPROTO without a TLS reason\n", url);
	rc = rc == -EPROTO && r == NULL && corio_tls_error(NULL)[0] ? 0 : -1;
	corio_http_response_free(r);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", sv->port);
	e = get_exact(c, url, NULL, 0, hello);
	corio_http_client_free(c);
	TH_CHECK(!hung);
	TH_CHECK(rc == 0);
	TH_CHECK(e == NULL); /* the plain server goes on serving */
	return TH_OK;
}

SERVER_TEST(server_against_curl, true, curl_checks, CURL)
SERVER_TEST(server_against_openssl_s_client, true, s_client_checks, OPENSSL)
SERVER_TEST(server_against_python_urllib, true, python_client_checks, PYTHON)
SERVER_TEST(plain_http_to_the_tls_port_is_closed, true, plain_to_tls_checks, NULL)
SERVER_TEST(tls_to_a_plain_port_fails_with_eproto, false, tls_to_plain_checks, NULL)


int main(void)
{
	Suite *s = suite_create("https_peers");
	int rc;

	if (!th_certs_make(&g_certs)) {
		fprintf(stderr, "test_https_peers: cannot make the test certificates\n");
		th_certs_remove(&g_certs);
		return 1;
	}
	TH_TCASE(s, "client", TH_TIMEOUT, client_against_nginx, client_against_nginx_tls12,
		 client_against_nginx_wrong_name, client_against_openssl_s_server,
		 client_against_python_ssl);
	TH_TCASE(s, "server", TH_TIMEOUT, server_against_curl, server_against_openssl_s_client,
		 server_against_python_urllib, plain_http_to_the_tls_port_is_closed,
		 tls_to_a_plain_port_fails_with_eproto);
	rc = th_main(s);
	th_certs_remove(&g_certs);
	return rc;
}
