/* examples/http_server.c: a small HTTP server: "/" answers "hello world\n", every other path
 * is a file under --root DIR (Range, If-Modified-Since, Content-Type by extension).
 * Ctrl-C (SIGINT) or SIGTERM shuts it down gracefully (5 s for requests in flight).
 *
 *   http_server [--host 127.0.0.1] [--port 8080] [--threads 1] [--root DIR]
 *   curl http://127.0.0.1:8080/   ->  hello world
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <corio/corio.h>
#include <corio/http_server.h>

struct app {
	const char *host;
	int port;
	unsigned threads;
	corio_http_static *files;
	corio_http_server *srv;
	int sigfd;
};

static void handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	struct app *app = ud;

	if (strcmp(corio_http_in_path(req), "/") == 0) {
		corio_http_out_header(resp, "Content-Type", "text/plain");
		corio_http_out_send(resp, "hello world\n", 12);
	} else if (app->files) {
		corio_http_static_serve(app->files, req, resp, NULL);
	} else {
		corio_http_out_error(resp, 404);
	}
}

/* Waits for SIGINT/SIGTERM (blocked in every thread, read from a signalfd). */
static void *signals(void *arg)
{
	struct app *app = arg;
	struct signalfd_siginfo si;

	if (corio_read(app->sigfd, &si, sizeof si, -1) == (ssize_t)sizeof si) {
		fprintf(stderr, "signal %u: shutting down\n", si.ssi_signo);
		corio_http_server_shutdown(app->srv, CORIO_SEC(5));
	}
	return NULL;
}

static void *main_task(void *arg)
{
	struct app *app = arg;
	corio_http_server_opts o;
	corio_task *sig;
	int rc;

	corio_http_server_opts_init(&o);
	o.threads = app->threads;
	app->srv = corio_http_server_new(&o, handler, app);
	if (!app->srv)
		return (void *)"out of memory";
	rc = corio_http_server_listen(app->srv, app->host, app->port);
	if (rc < 0) {
		fprintf(stderr, "listen %s:%d: %s\n", app->host, app->port, corio_net_strerror(rc));
		corio_http_server_free(app->srv);
		return (void *)"listen failed";
	}
	printf("listening on http://%s:%d/ (%u thread%s)\n", app->host,
	       corio_http_server_port(app->srv), app->threads, app->threads == 1 ? "" : "s");
	fflush(stdout);
	sig = corio_spawn(signals, app);
	rc = corio_http_server_serve(app->srv);
	if (sig) {
		corio_cancel(sig);
		corio_join(sig, NULL);
	}
	corio_http_server_free(app->srv);
	return rc < 0 ? (void *)"serve failed" : NULL;
}

int main(int argc, char **argv)
{
	struct app app = { .host = "127.0.0.1", .port = 8080, .threads = 1, .sigfd = -1 };
	const char *root = NULL, *err = NULL;
	sigset_t set;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--port") && v)
			app.port = atoi(v), i++;
		else if (!strcmp(argv[i], "--threads") && v)
			app.threads = (unsigned)atoi(v), i++;
		else if (!strcmp(argv[i], "--root") && v)
			root = v, i++;
		else if (!strcmp(argv[i], "--host") && v)
			app.host = v, i++;
		else {
			fprintf(stderr,
				"usage: %s [--host H] [--port N] [--threads N] [--root DIR]\n",
				argv[0]);
			return 2;
		}
	}
	if (root && !(app.files = corio_http_static_new(root))) {
		perror(root);
		return 1;
	}
	/* Blocked before any thread starts, so every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	app.sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	rc = corio_run(main_task, &app, (void **)&err);
	close(app.sigfd);
	corio_http_static_free(app.files);
	if (rc < 0 || err) {
		fprintf(stderr, "http_server: %s\n", err ? err : corio_net_strerror(rc));
		return 1;
	}
	return 0;
}
