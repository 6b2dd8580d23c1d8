/* examples/echo_server.c: a TCP echo server, one loop per core.
 *
 *     echo_server [PORT [THREADS [HOST]]]      defaults: 8888, one per CPU, 127.0.0.1
 *
 * Every loop (corio_run_threads) opens its own listener on the same port with
 * SO_REUSEPORT, so the kernel spreads connections over the cores and the loops share
 * nothing. Each connection is a task that echoes until the peer closes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <corio/corio.h>

typedef struct server_args {
	const char *host;
	const char *port;
} server_args;

static void *echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[16384];
	ssize_t n;

	while ((n = corio_recv(fd, buf, sizeof buf, 0)) > 0)
		if (corio_send_all(fd, buf, (size_t)n) < 0)
			break;
	corio_close(fd);
	return NULL;
}

/* The main task of each loop. */
static void *serve(void *arg)
{
	const server_args *a = arg;
	int lfd = corio_tcp_listen_flags(a->host, a->port, -1, CORIO_LISTEN_REUSEPORT);

	if (lfd < 0) {
		fprintf(stderr, "echo_server: listen on %s:%s: %s\n", a->host, a->port,
			corio_net_strerror(lfd));
		return (void *)1;
	}
	if (corio_thread_index() == 0)
		fprintf(stderr, "echo_server: listening on %s:%d\n", a->host, corio_sock_port(lfd));
	for (;;) {
		int fd = corio_accept(lfd, NULL, NULL);
		corio_task *t;

		if (fd < 0) {
			fprintf(stderr, "echo_server: accept: %s\n", corio_net_strerror(fd));
			break;
		}
		t = corio_spawn(echo_conn, (void *)(intptr_t)fd);
		if (!t) {
			corio_close(fd);
			continue;
		}
		corio_detach(t);
	}
	corio_listen_close(lfd);
	return NULL;
}

int main(int argc, char **argv)
{
	server_args a = { .host = argc > 3 ? argv[3] : "127.0.0.1",
			  .port = argc > 1 ? argv[1] : "8888" };
	long n = argc > 2 ? atol(argv[2]) : sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	if (n < 1)
		n = 1;
	rc = corio_run_threads((unsigned)n, serve, &a);
	if (rc != 0) {
		fprintf(stderr, "echo_server: %s\n", corio_net_strerror(rc));
		return 1;
	}
	return 0;
}
