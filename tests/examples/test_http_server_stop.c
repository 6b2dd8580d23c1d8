/* tests/examples/test_http_server_stop.c: examples/http_server stops gracefully on SIGTERM
 * through corio_signal_wait: started as a child serving a directory, it answers a request,
 * then gets SIGTERM while a 16 MiB file is on its way to a client that reads slowly; it
 * must stop accepting, finish that response byte for byte, and exit 0. Uses plain blocking
 * sockets (the child is the program under test, not this process). Skipped when the
 * examples were not built beside this program (the ASan build). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/support/helpers.h"
#include "tests/support/proc.h"

#define BIG (16u << 20) /* more than loopback's socket buffers hold */
#define DEADLINE_NS (10ull * 1000000000ull)

static char program[PATH_MAX + 32];

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int rcvbuf = 64 << 10;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf); /* a slow reader */
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads until the end of a response head; returns its Content-Length and leaves in *extra
 * the body bytes that came with the head. */
static long long read_head(int fd, size_t *extra)
{
	static char buf[65536];
	size_t len = 0;
	char *end, *cl;

	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);

		ck_assert_int_gt(n, 0);
		len += (size_t)n;
		buf[len] = 0;
		if ((end = strstr(buf, "\r\n\r\n")))
			break;
	}
	ck_assert_msg(!strncmp(buf, "HTTP/1.1 200 ", 13), "%.40s", buf);
	cl = strcasestr(buf, "\r\ncontent-length:");
	ck_assert_ptr_nonnull(cl);
	*extra = len - (size_t)(end + 4 - buf);
	return atoll(cl + 17);
}

/* The port from "listening on http://127.0.0.1:PORT/" on the child's stdout (a memfd). */
static int wait_listening(int out, pid_t pid)
{
	uint64_t until = th_now() + DEADLINE_NS;
	char buf[512];

	for (;;) {
		ssize_t n = pread(out, buf, sizeof buf - 1, 0);
		const char *at;
		int port;

		buf[n > 0 ? n : 0] = 0;
		if ((at = strstr(buf, "127.0.0.1:")) && sscanf(at + 10, "%d", &port) == 1 &&
		    strchr(at, '\n'))
			return port;
		ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0, "http_server exited early");
		ck_assert_msg(th_now() < until, "http_server did not say where it listens");
		usleep(10000);
	}
}

START_TEST(sigterm_finishes_the_request_in_flight)
{
	char dir[] = "/tmp/corio-stop-XXXXXX", file[64], errbuf[4096];
	char *argv[] = { program, "--port", "0", "--root", dir, NULL };
	th_child c = th_child_of(argv);
	static char body[1 << 16];
	long long total, got;
	size_t extra;
	int port, fd, st, out, err;
	pid_t pid;
	uint64_t until;
	ssize_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof file, "%s/big.bin", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0644);
	ck_assert_int_eq(ftruncate(fd, BIG), 0);
	close(fd);
	out = memfd_create("out", MFD_CLOEXEC);
	err = memfd_create("err", MFD_CLOEXEC);
	c.std[1] = out;
	c.std[2] = err;
	ck_assert_int_gt(pid = th_spawn(&c), 0);
	port = wait_listening(out, pid);
	/* a request answered */
	ck_assert_int_ge(fd = connect_to(port), 0);
	ck_assert_int_eq(write(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 27), 27);
	ck_assert_int_eq(read_head(fd, &extra), 12);
	for (size_t left = 12 - extra; left > 0;) {
		ssize_t n = read(fd, body, left);

		ck_assert_int_gt(n, 0);
		left -= (size_t)n;
	}
	/* the next one in flight: its head read, its body mostly still to come */
	ck_assert_int_eq(write(fd, "GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n", 34), 34);
	ck_assert_int_eq(total = read_head(fd, &extra), BIG);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	/* the shutdown has begun once the listener refuses connections */
	until = th_now() + DEADLINE_NS;
	for (int probe; (probe = connect_to(port)) >= 0; usleep(10000)) {
		close(probe);
		ck_assert_msg(th_now() < until, "still accepting 10 s after SIGTERM");
	}
	for (got = (long long)extra; got < total;) {
		n = read(fd, body, sizeof body);

		ck_assert_msg(n > 0, "body cut at %lld of %lld", got, total);
		got += n;
	}
	ck_assert_int_eq(got, total);
	ck_assert_int_eq(read(fd, body, 1), 0); /* then the connection closes */
	close(fd);
	ck_assert_msg(th_wait_exit(pid, 10, &st), "http_server did not exit after SIGTERM");
	ck_assert_int_gt(n = pread(err, errbuf, sizeof errbuf - 1, 0), 0);
	errbuf[n] = 0;
	ck_assert_msg(strstr(errbuf, "signal 15: shutting down"), "stderr: %s", errbuf);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	unlink(file);
	rmdir(dir);
}
END_TEST

int main(void)
{
	char dir[PATH_MAX];
	Suite *s;
	TCase *tc;

	if (!th_exe_dir(dir, sizeof dir))
		return TH_SKIP;
	snprintf(program, sizeof program, "%s/http_server", dir);
	if (access(program, X_OK) != 0) {
		fprintf(stderr, "test_http_server_stop: %s not built: skipping\n", program);
		return TH_SKIP;
	}
	s = suite_create("http_server_stop");
	tc = tcase_create("stop");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sigterm_finishes_the_request_in_flight);
	suite_add_tcase(s, tc);
	return th_main(s);
}
