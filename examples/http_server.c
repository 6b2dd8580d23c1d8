/* examples/http_server.c: a small HTTP server: "/" answers "hello world\n", every other path
 * is a file under --root DIR (Range, If-Modified-Since, Content-Type by extension).
 * With --tls-cert and --tls-key it serves HTTPS instead (a PEM certificate chain, leaf
 * first, and its PEM private key). Ctrl-C (SIGINT) or SIGTERM shuts it down gracefully
 * (5 s for requests in flight): a task waits for them with corio_signal_wait.
 *
 *   http_server [--host 127.0.0.1] [--port 8080] [--threads 1] [--root DIR]
 *               [--tls-cert FILE --tls-key FILE]
 *   curl http://127.0.0.1:8080/   ->  hello world
 *   curl --cacert cert.pem https://127.0.0.1:8080/   (with --tls-cert cert.pem ...)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corio/corio.h>
#include <corio/http_server.h>

struct app {
	const char *host;
	int port;
	unsigned threads;
	corio_http_static *files;
	corio_tls_config *tls; /* NULL: plain HTTP */
	corio_http_server *srv;
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

/* Waits for SIGINT/SIGTERM and starts a graceful shutdown (5 s for requests in flight). */
static void *signals(void *arg)
{
	struct app *app = arg;
	sigset_t set;
	int signo;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (corio_signal_wait(&set, &signo) == 0) {
		fprintf(stderr, "signal %d: shutting down\n", signo);
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
	o.tls = app->tls; /* the server takes its own reference */
	app->srv = corio_http_server_new(&o, handler, app);
	if (!app->srv) {
		fprintf(stderr, "http_server: corio_http_server_new: %s\n", strerror(errno));
		return (void *)"cannot create the server";
	}
	rc = corio_http_server_listen(app->srv, app->host, app->port);
	if (rc < 0) {
		fprintf(stderr, "listen %s:%d: %s\n", app->host, app->port, corio_net_strerror(rc));
		corio_http_server_free(app->srv);
		return (void *)"listen failed";
	}
	printf("listening on %s://%s:%d/ (%u thread%s)\n", app->tls ? "https" : "http", app->host,
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

/* Why a certificate file or key file was refused, on stderr. */
static void tls_file_error(const char *cert, const char *key, int rc)
{
	const char *files[2] = { cert, key };

	if (rc == -EKEYREJECTED) {
		fprintf(stderr, "http_server: %s: the key does not match the certificate in %s\n",
			key, cert);
		return;
	}
	if (rc != -ENOENT) {
		fprintf(stderr, "http_server: %s, %s: %s\n", cert, key, strerror(-rc));
		return;
	}
	/* -ENOENT: one of them is unreadable, or holds no PEM certificate / key. */
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "r");

		if (!f) {
			fprintf(stderr, "http_server: %s: %s\n", files[i], strerror(errno));
			return;
		}
		fclose(f);
	}
	fprintf(stderr, "http_server: %s, %s: no PEM certificate chain or private key in them\n",
		cert, key);
}

/* A server TLS config holding the certificate chain and key, or NULL (said why). Never
 * parks: it may run before the loop does. */
static corio_tls_config *tls_config(const char *cert, const char *key)
{
	corio_tls_config *c = corio_tls_config_new(true);
	int rc;

	if (!c) {
		fprintf(stderr, "http_server: out of memory\n");
		return NULL;
	}
	rc = corio_tls_config_cert(c, cert, key);
	if (rc < 0) {
		tls_file_error(cert, key, rc);
		corio_tls_config_free(c);
		return NULL;
	}
	return c;
}

static int usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--host H] [--port N] [--threads N] [--root DIR]"
		" [--tls-cert FILE --tls-key FILE]\n",
		argv0);
	return 2;
}

int main(int argc, char **argv)
{
	struct app app = { .host = "127.0.0.1", .port = 8080, .threads = 1 };
	const char *root = NULL, *err = NULL, *cert = NULL, *key = NULL;
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
		else if (!strcmp(argv[i], "--tls-cert") && v)
			cert = v, i++;
		else if (!strcmp(argv[i], "--tls-key") && v)
			key = v, i++;
		else
			return usage(argv[0]);
	}
	if (!cert != !key) /* one without the other */
		return usage(argv[0]);
	if (cert && !(app.tls = tls_config(cert, key)))
		return 1;
	if (root && !(app.files = corio_http_static_new(root))) {
		perror(root);
		corio_tls_config_free(app.tls);
		return 1;
	}
	/* Blocked before the loop starts: a signal that comes before the signal task waits
	 * stays pending for it instead of killing the process (corio_signal_wait blocks the
	 * set too, and the library's own threads start with it blocked). */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	rc = corio_run(main_task, &app, (void **)&err);
	corio_http_static_free(app.files);
	corio_tls_config_free(app.tls);
	if (rc < 0 || err) {
		fprintf(stderr, "http_server: %s\n", err ? err : corio_net_strerror(rc));
		return 1;
	}
	return 0;
}
