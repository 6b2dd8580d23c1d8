/* examples/echo_client.c: sends lines to an echo server and prints what comes back.
 *
 *     echo_client HOST PORT [LINE...]      without LINEs, the lines of stdin
 *
 * Both the socket and stdin are read through buffered streams (corio_stream), the
 * asyncio StreamReader/StreamWriter pair. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <corio/corio.h>

typedef struct client_args {
	const char *host, *port;
	int nlines;
	char **lines;
} client_args;

#define MAX_LINE 65536

/* Sends one line (adding the newline), waits for its echo, prints it. 0 or -errno. */
static int roundtrip(corio_stream *s, const char *line, size_t len, char *buf)
{
	ssize_t n;

	if (corio_stream_write(s, line, len) < 0 || corio_stream_write(s, "\n", 1) < 0)
		return -EPIPE;
	if (corio_stream_flush(s) < 0)
		return -EPIPE;
	n = corio_stream_read_until(s, "\n", 1, buf, MAX_LINE + 1);
	if (n <= 0)
		return n == 0 ? -ECONNRESET : (int)n;
	fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
	return 0;
}

static void *client(void *arg)
{
	const client_args *a = arg;
	static char line[MAX_LINE + 1], buf[MAX_LINE + 1];
	int fd = corio_tcp_connect(a->host, a->port), rc = 0;
	corio_stream *s, *in = NULL;

	if (fd < 0) {
		fprintf(stderr, "echo_client: connect %s:%s: %s\n", a->host, a->port,
			corio_net_strerror(fd));
		return (void *)1;
	}
	s = corio_stream_new(fd);
	if (!s) {
		corio_close(fd);
		return (void *)1;
	}
	for (int i = 0; i < a->nlines && rc == 0; i++)
		rc = roundtrip(s, a->lines[i], strlen(a->lines[i]), buf);
	if (a->nlines == 0 && (in = corio_stream_new(0))) {
		ssize_t n;

		while (rc == 0 && (n = corio_stream_read_until(in, "\n", 1, line, MAX_LINE)) > 0)
			rc = roundtrip(s, line, (size_t)n - (line[n - 1] == '\n'), buf);
	}
	if (in) {
		/* The stream owns fd 0 now; closing it is fine at exit. */
		corio_stream_close(in);
	}
	if (rc != 0)
		fprintf(stderr, "echo_client: %s\n", corio_net_strerror(rc));
	corio_stream_close(s);
	return rc ? (void *)1 : NULL;
}

int main(int argc, char **argv)
{
	client_args a;
	void *res = NULL;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: %s HOST PORT [LINE...]\n", argv[0]);
		return 2;
	}
	a = (client_args){ .host = argv[1], .port = argv[2], .nlines = argc - 3,
			   .lines = argv + 3 };
	rc = corio_run(client, &a, &res);
	if (rc != 0) {
		fprintf(stderr, "echo_client: %s\n", corio_net_strerror(rc));
		return 1;
	}
	return res ? 1 : 0;
}
