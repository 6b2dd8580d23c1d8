/* tests/http/test_server_memory.c: the HTTP server holding many connections and running out
 * of descriptors. 10 000 keep-alive connections on one server loop, each served once, left
 * idle until they went lean (conn.c: no buffer, the stack trimmed), then each served again
 * and a new connection served; the resident memory they cost (unsanitized builds only:
 * ASan's shadow and quarantine are not the library's). A server whose descriptor limit
 * stops it accepting (EMFILE) serves every queued connection once others close.
 *
 * The server runs in a forked child (its own descriptor table: the clients' 10 000 and the
 * server's 10 000 would not fit one process's limit), on 127.0.0.1 and a port it bound; the
 * test ends it by its pid. Clients are plain blocking sockets with receive timeouts, so a
 * hang fails instead of waiting forever. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <corio/http_server.h>

#include "tests/support/helpers.h"

#define MANY 10000
#define BODY_LEN 4096
/* Resident memory an idle connection may cost (server side, after going lean): measured
 * 4.8 KiB in a release build (its stack's top page, the connection's and task's structs)
 * and 6-8 KiB in a debug one; the bound catches a connection that keeps its input buffer's
 * pages (+12 KiB: the requests below fill it) or its handler's stack pages (27 KiB before
 * lean connections). */
#define IDLE_KIB_MAX 10
#define LEAN_WAIT_NS CORIO_SEC(60)

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static char body[BODY_LEN];

static void handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	(void)req;
	(void)ud;
	corio_http_out_header(resp, "Content-Type", "text/plain");
	corio_http_out_send(resp, body, sizeof body);
}

static void *serve_main(void *arg)
{
	int *pipefd = arg;
	corio_http_server *srv = corio_http_server_new(NULL, handler, NULL);
	int port = -1;

	if (srv && corio_http_server_listen(srv, "127.0.0.1", 0) == 0)
		port = corio_http_server_port(srv);
	if (write(pipefd[1], &port, sizeof port) != (ssize_t)sizeof port || port < 0)
		return NULL;
	corio_http_server_serve(srv); /* until the test kills this process */
	return NULL;
}

typedef struct child {
	pid_t pid;
	int port;
} child;

/* Forks the server, with nofile as its descriptor limit (0: inherited). */
static int server_fork(child *ch, rlim_t nofile)
{
	int pipefd[2];

	memset(body, 'm', sizeof body);
	if (pipe(pipefd) != 0)
		return -1;
	ch->pid = fork();
	if (ch->pid == 0) {
		struct rlimit rl = { nofile, nofile };

		close(pipefd[0]);
		if (nofile && setrlimit(RLIMIT_NOFILE, &rl) != 0)
			_exit(3);
		corio_run(serve_main, pipefd, NULL);
		_exit(0);
	}
	close(pipefd[1]);
	ch->port = -1;
	if (ch->pid < 0 || read(pipefd[0], &ch->port, sizeof ch->port) != sizeof ch->port)
		ch->port = -1;
	close(pipefd[0]);
	return ch->port > 0 ? 0 : -1;
}

static void server_end(child *ch)
{
	if (ch->pid > 0) {
		kill(ch->pid, SIGKILL);
		waitpid(ch->pid, NULL, 0);
	}
}

/* The child's resident memory in KiB, -1 when unreadable. */
static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* ---- plain clients ------------------------------------------------------------------------ */

static int client_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 20 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	/* a server that never answers fails the test after 20 s instead of hanging it */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A request with a 12 KiB header: it fills most of the connection's input buffer and its
 * arena, which a lean connection must give back (its own RSS cost is what is measured). */
#define PAD_LEN 12000

static int client_send(int fd)
{
	static char req[PAD_LEN + 128];
	static size_t len;

	if (!len) {
		len = (size_t)snprintf(req, sizeof req, "GET /m HTTP/1.1\r\nHost: t\r\nX-Pad: ");
		memset(req + len, 'p', PAD_LEN);
		len += PAD_LEN;
		len += (size_t)snprintf(req + len, sizeof req - len, "\r\n\r\n");
	}
	return send(fd, req, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* Reads one response: 0 when it is a 200 with the whole body (Content-Length framing). */
static int client_read(int fd)
{
	char buf[BODY_LEN + 1024];
	size_t len = 0, need = 0;
	char *end;

	for (;;) {
		ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);

		if (n <= 0)
			return -1;
		len += (size_t)n;
		if (!need && (end = memmem(buf, len, "\r\n\r\n", 4))) {
			if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0)
				return -1;
			need = (size_t)(end - buf) + 4 + BODY_LEN;
		}
		if (need && len >= need)
			return len == need ? 0 : -1;
		if (len == sizeof buf)
			return -1;
	}
}

static int client_request(int fd)
{
	return client_send(fd) == 0 ? client_read(fd) : -1;
}

/* ---- 10 000 idle connections ---------------------------------------------------------------- */

/* As many connections as the descriptor limit allows, up to MANY. */
static int many_count(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl); /* the forked server inherits it */
	if (rl.rlim_cur >= MANY + 256)
		return MANY;
	fprintf(stderr, "test_server_memory: descriptor limit %llu: %llu connections\n",
		(unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_cur - 256);
	return rl.rlim_cur > 1256 ? (int)(rl.rlim_cur - 256) : 0;
}

/* Polls the server's memory (a condition, not a fixed sleep) until the n connections cost
 * at most IDLE_KIB_MAX each above base, or LEAN_WAIT_NS passed. The cost last seen. */
static long wait_lean(pid_t pid, long base, int n)
{
	uint64_t end = corio_now() + LEAN_WAIT_NS;
	long per, settled;

	for (;;) {
		per = (rss_kib(pid) - base) / n;
		if (per <= IDLE_KIB_MAX || corio_now() > end)
			break;
		usleep(100 * 1000);
	}
	/* reported once it stopped falling (the trims run once a second) */
	do {
		settled = per;
		sleep(1);
		per = (rss_kib(pid) - base) / n;
	} while (per < settled && corio_now() < end);
	return per;
}

START_TEST(idle_many)
{
	int n = many_count(), *fds, bad = 0;
	long base, per = 0;
	child ch;

	ck_assert_msg(n > 0, "descriptor limit too low for the test");
	fds = calloc((size_t)n, sizeof *fds);
	ck_assert_int_eq(server_fork(&ch, 0), 0);
	base = rss_kib(ch.pid);
	for (int i = 0; i < n; i++)
		if ((fds[i] = client_open(ch.port)) < 0 || client_request(fds[i]) != 0)
			bad++;
	if (!SANITIZED && !bad) {
		per = wait_lean(ch.pid, base, n);
		printf("idle connections: %d, %ld KiB each (server RSS above its start)\n", n, per);
	}
	/* every lean connection takes its buffer again for the next request */
	for (int i = 0; i < n && !bad; i++)
		bad += fds[i] >= 0 && client_request(fds[i]) != 0;
	{
		int fd = client_open(ch.port);

		bad += fd < 0 || client_request(fd) != 0;
		if (fd >= 0)
			close(fd);
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	server_end(&ch);
	ck_assert_msg(bad == 0, "%d of %d requests failed", bad, n);
	ck_assert_msg(SANITIZED || per <= IDLE_KIB_MAX, "idle connections cost %ld KiB each (max %d)",
		      per, IDLE_KIB_MAX);
}
END_TEST

/* ---- EMFILE ----------------------------------------------------------------------------------- */

#define EMFILE_CONNS 100
#define EMFILE_LIMIT 48 /* the server's descriptors: its own ~10 and some connections */

/* 100 connections to a server that can hold a few dozen: those it could not accept wait in
 * the backlog with their request, and each is served once earlier ones closed. */
START_TEST(emfile_recovers)
{
	int fds[EMFILE_CONNS], bad = 0;
	child ch;

	ck_assert_int_eq(server_fork(&ch, EMFILE_LIMIT), 0);
	for (int i = 0; i < EMFILE_CONNS; i++)
		if ((fds[i] = client_open(ch.port)) < 0 || client_send(fds[i]) != 0)
			bad++;
	/* in order: the first ones were accepted; closing each frees a descriptor for the
	 * server to accept one more (its accept backs off while it has none) */
	for (int i = 0; i < EMFILE_CONNS; i++) {
		bad += fds[i] < 0 || client_read(fds[i]) != 0;
		if (fds[i] >= 0)
			close(fds[i]);
	}
	/* and after: a new connection is served at once */
	{
		int fd = client_open(ch.port);

		bad += fd < 0 || client_request(fd) != 0;
		if (fd >= 0)
			close(fd);
	}
	server_end(&ch);
	ck_assert_msg(bad == 0, "%d of %d connections not served", bad, EMFILE_CONNS + 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_server_memory");

	TH_TCASE(s, "memory", TH_TIMEOUT, idle_many, emfile_recovers);
	return th_main(s);
}
