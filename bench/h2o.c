/* bench/h2o.c: the throw-away h2o of the HTTP server benchmarks (see h2o.h). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/h2o.h"
#include "bench/http_common.h"
#include "tests/support/net.h"

/* How long h2o may take to accept its first connection on a loaded machine: a bound on a
 * wait, not a sleep. */
#define START_TIMEOUT_S 10

/* The files of the directory, in the order they are registered (after the directory). */
static const char *const files[] = { "h2o.conf", "error.log", "hello.txt" };

static void file_path(const hc_h2o *h, int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", h->dir, files[i]);
}

/* The `listen:` block: the port, and with tls the certificate, TLS 1.3 only, no OCSP. */
static void listen_block(FILE *f, const hc_h2o *h, const th_certs *tls)
{
	fprintf(f, "listen:\n  host: 127.0.0.1\n  port: %d\n", h->port);
	if (!tls)
		return;
	fprintf(f,
		"  ssl:\n"
		"    certificate-file: \"%s\"\n"
		"    key-file: \"%s\"\n"
		"    minimum-version: TLSv1.3\n"
		"    ocsp-update-interval: 0\n",
		tls->path[CERT_GOOD], tls->path[CERT_GOOD_KEY]);
}

/* The /hello path: the static hello.txt, without an etag (nginx's `return 200` sends
 * none). */
static void hello_block(FILE *f, const hc_h2o *h)
{
	char hello[PATH_MAX];

	file_path(h, 2, hello, sizeof hello);
	fprintf(f,
		"      \"" HC_HELLO_PATH "\":\n"
		"        file.file: \"%s\"\n"
		"        file.etag: OFF\n",
		hello);
}

static int write_conf(const hc_h2o *h, const char *root, const th_certs *tls)
{
	char path[PATH_MAX], elog[PATH_MAX];
	FILE *f;
	int ok;

	file_path(h, 0, path, sizeof path);
	file_path(h, 1, elog, sizeof elog);
	f = fopen(path, "w");
	if (!f)
		return -1;
	listen_block(f, h, tls);
	/* No access-log directive: h2o then logs no requests (nginx: access_log off). */
	fprintf(f, "num-threads: 1\nerror-log: \"%s\"\nhosts:\n  default:\n    paths:\n", elog);
	hello_block(f, h);
	fprintf(f, "      \"/\":\n        file.dir: \"%s\"\n", root);
	ok = !ferror(f);
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* The directory (0755: h2o reads hello.txt as nobody), registered before its files. */
static const char *make_dir(hc_h2o *h)
{
	char path[PATH_MAX];

	snprintf(h->dir, sizeof h->dir, "/tmp/corio-bench-h2o-XXXXXX");
	if (!mkdtemp(h->dir)) {
		h->dir[0] = 0;
		return "mkdtemp failed";
	}
	chmod(h->dir, 0755);
	bench_cleanup_path(h->dir);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		file_path(h, (int)i, path, sizeof path);
		bench_cleanup_path(path);
	}
	file_path(h, 2, path, sizeof path);
	if (hc_write_file(path, HC_HELLO_BODY, sizeof HC_HELLO_BODY - 1) != 0)
		return "cannot write hello.txt";
	chmod(path, 0644);
	return NULL;
}

/* Why h2o did not come up: the last line of its error log, when it wrote one. */
static const char *start_failed(hc_h2o *h, const char *what)
{
	char path[PATH_MAX], line[256], last[256] = "";
	FILE *f;

	file_path(h, 1, path, sizeof path);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (line[0] != '\n')
			snprintf(last, sizeof last, "%s", line);
	if (f)
		fclose(f);
	last[strcspn(last, "\n")] = 0;
	snprintf(h->why, sizeof h->why, "%s%s%s", what, last[0] ? ": " : "", last);
	return h->why;
}

/* Plain HTTP: GET /hello answers 200 with the body. */
static bool answers_hello(int port)
{
	char reply[1024];

	return th_http_get(port, HC_HELLO_PATH, reply, sizeof reply, START_TIMEOUT_S) == 0 &&
	       strncmp(reply, "HTTP/1.", 7) == 0 && strncmp(reply + 8, " 200", 4) == 0 &&
	       strstr(reply, "\r\n\r\n" HC_HELLO_BODY) != NULL;
}

const char *hc_h2o_start(hc_h2o *h, const char *root, const th_certs *tls,
			 const cpu_set_t *cpus)
{
	char conf[PATH_MAX];
	const char *why;

	h->dir[0] = 0;
	h->pid = 0;
	if (!bench_which("h2o", h->bin, sizeof h->bin))
		return "h2o not installed";
	if ((why = make_dir(h)))
		return why;
	h->port = th_free_port();
	if (write_conf(h, root, tls) != 0)
		return "cannot write the h2o config";
	file_path(h, 0, conf, sizeof conf);
	h->pid = hc_spawn(cpus, (char *const[]){ h->bin, "-c", conf, NULL });
	if (h->pid < 0) {
		h->pid = 0;
		return "fork failed";
	}
	if (!th_wait_port(h->port, &h->pid, START_TIMEOUT_S, bench_child_reaped))
		return start_failed(h, h->pid ? "h2o did not start" : "h2o exited at start");
	if (!tls && !answers_hello(h->port))
		return start_failed(h, "h2o did not answer GET " HC_HELLO_PATH " with hello world");
	return NULL;
}

void hc_h2o_stop(hc_h2o *h)
{
	char path[PATH_MAX];

	th_stop(&h->pid, SIGTERM, bench_child_reaped);
	if (!h->dir[0])
		return;
	for (int i = (int)(sizeof files / sizeof files[0]) - 1; i >= 0; i--) {
		file_path(h, i, path, sizeof path);
		unlink(path);
		bench_cleanup_forget(path);
	}
	if (rmdir(h->dir) != 0)
		bench_log("h2o: could not remove %s\n", h->dir);
	bench_cleanup_forget(h->dir);
	h->dir[0] = 0;
}
