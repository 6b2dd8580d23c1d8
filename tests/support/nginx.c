/* tests/support/nginx.c: the throw-away nginx of the tests and benchmarks (see nginx.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/net.h"
#include "tests/support/nginx.h"
#include "tests/support/proc.h"

/* How long nginx may take to answer its first request (a loaded machine, a sanitized
 * build around it): a bound on a blocking read, not a sleep. */
#define START_TIMEOUT_S 30

const char *th_nginx_dir(th_nginx *n, const char *prefix)
{
	snprintf(n->dir, sizeof n->dir, "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(n->dir)) {
		n->dir[0] = 0;
		return "mkdtemp failed";
	}
	chmod(n->dir, 0755); /* nginx's workers may run as another user */
	return NULL;
}

static const char *bin(const th_nginx *n)
{
	return n->bin[0] ? n->bin : TH_NGINX;
}

/* The *_temp_path lines of the modules compiled in (nginx-light lacks some, and a path
 * directive of a missing module is a configuration error): nginx -V lists the missing ones
 * as --without-http_<name>_module. */
static void temp_paths(const th_nginx *n, char *buf, size_t len)
{
	static const char *const mods[] = { "proxy", "fastcgi", "uwsgi", "scgi" };
	char v[4096];
	th_child c = th_child_of((char *const[]){ (char *)bin(n), "-V", NULL });
	size_t k;

	c.std[2] = TH_FD_STDOUT; /* nginx -V prints to stderr */
	c.alarm_s = 10;
	c.fork = n->fork;
	c.reaped = n->reaped;
	if (th_run(&c, v, sizeof v, NULL) < 0)
		v[0] = 0;
	k = (size_t)snprintf(buf, len, "  client_body_temp_path %s/tmp_body;\n", n->dir);
	for (size_t i = 0; i < sizeof mods / sizeof mods[0] && k < len; i++) {
		char without[64];

		snprintf(without, sizeof without, "without-http_%s_module", mods[i]);
		if (!strstr(v, without))
			k += (size_t)snprintf(buf + k, len - k, "  %s_temp_path %s/tmp_%s;\n",
					      mods[i], n->dir, mods[i]);
	}
}

/* The ssl_* lines of the server block (empty without a certificate). */
static void ssl_lines(const th_nginx *n, char *buf, size_t len)
{
	buf[0] = 0;
	if (!n->ssl_cert)
		return;
	snprintf(buf, len,
		 "    ssl_certificate %s;\n"
		 "    ssl_certificate_key %s;\n"
		 "%s"
		 "%s%s%s",
		 n->ssl_cert, n->ssl_key ? n->ssl_key : n->ssl_cert,
		 n->ssl_no_cache ? "" : "    ssl_session_cache shared:corio_test:1m;\n",
		 n->ssl_protocols ? "    ssl_protocols " : "",
		 n->ssl_protocols ? n->ssl_protocols : "", n->ssl_protocols ? ";\n" : "");
}

static int write_conf(const th_nginx *n, const char *http_extra, const char *server_extra)
{
	char path[PATH_MAX], temps[1024], ssl[3 * PATH_MAX];
	FILE *f;
	int ok;

	temp_paths(n, temps, sizeof temps);
	ssl_lines(n, ssl, sizeof ssl);
	snprintf(path, sizeof path, "%s/nginx.conf", n->dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f,
		"worker_processes %d;\n"
		"daemon off;\n"
		"master_process on;\n"
		"pid %s/nginx.pid;\n"
		"error_log %s/error.log error;\n"
		"events { worker_connections %d; }\n"
		"http {\n"
		"  access_log off;\n"
		"%s"
		"%s\n"
		"  server {\n"
		"    listen 127.0.0.1:%d%s;\n"
		"%s"
		"%s\n"
		"  }\n"
		"}\n",
		n->workers > 0 ? n->workers : 1, n->dir, n->dir,
		n->connections > 0 ? n->connections : 1024, temps, http_extra ? http_extra : "",
		n->port, n->ssl_cert ? " ssl" : "", ssl, server_extra ? server_extra : "");
	ok = !ferror(f);
	return fclose(f) == 0 && ok ? 0 : -1;
}

const char *th_nginx_start(th_nginx *n, const char *http_extra, const char *server_extra)
{
	static char why[PATH_MAX + 64];
	char conf[PATH_MAX], elog[PATH_MAX], inherit[32], reply[64];
	char *const argv[] = { (char *)bin(n), "-e", elog, "-p", n->dir, "-c", conf, NULL };
	char *const envp[] = { inherit, NULL };
	th_child c = th_child_of(argv);
	int lfd;

	n->pid = 0;
	if (!n->dir[0] && th_nginx_dir(n, "corio-nginx"))
		return "mkdtemp failed";
	if (access(bin(n), X_OK) != 0)
		return "nginx not installed";
	lfd = th_loopback_socket(&n->port, true);
	if (lfd < 0)
		return "cannot bind a listening socket on 127.0.0.1";
	if (write_conf(n, http_extra, server_extra) != 0) {
		close(lfd);
		return "cannot write the nginx config";
	}
	snprintf(conf, sizeof conf, "%s/nginx.conf", n->dir);
	snprintf(elog, sizeof elog, "%s/error.log", n->dir);
	snprintf(inherit, sizeof inherit, "NGINX=%d;", lfd);
	c.envp = envp;
	c.keep_fd = lfd;
	c.std[0] = c.std[1] = c.std[2] = TH_FD_NULL;
	c.cpus = n->pinned ? &n->cpus : NULL;
	c.fork = n->fork;
	c.reaped = n->reaped;
	n->pid = th_spawn(&c);
	close(lfd); /* nginx holds it now: should nginx die, connects are refused */
	if (n->pid < 0) {
		n->pid = 0;
		return "fork failed";
	}
	/* The kernel queues this connection until nginx accepts it; an nginx that exits at
	 * start (its configuration rejected) closes the socket and resets it. */
	if (th_http_get(n->port, "/", reply, sizeof reply, START_TIMEOUT_S) == 0 &&
	    strncmp(reply, "HTTP/1.", 7) == 0)
		return NULL;
	if (waitpid(n->pid, NULL, WNOHANG) == n->pid) {
		if (n->reaped)
			n->reaped(n->pid);
		n->pid = 0;
		snprintf(why, sizeof why, "nginx exited at start (see %s/error.log)", n->dir);
		return why;
	}
	return "nginx did not answer";
}

void th_nginx_stop(th_nginx *n)
{
	th_stop(&n->pid, SIGTERM, n->reaped);
	if (n->dir[0] && th_remove_tree(n->dir) != 0)
		fprintf(stderr, "could not remove %s: %s\n", n->dir, strerror(errno));
	n->dir[0] = 0;
}
