/* tests/support/nginx.h: a throw-away nginx (part of corio_test_support), for
 * tests/http/test_client_peers.c, tests/http/test_https_peers.c (with `ssl`),
 * tests/bench/test_load.c and corio-bench's HTTP benchmarks (bench/http_common.c).
 *
 * One way to start it, the one that holds on a busy machine: a temporary directory for its
 * configuration, pid file, error log and temporary paths; a listening socket on 127.0.0.1
 * that this process binds and nginx inherits through its NGINX="fd;" variable (its binary
 * upgrade path), so that no other program can take the port; `master_process on`, since
 * nginx 1.22 crashes on an inherited socket with the master off; stopped by its pid.
 */
#ifndef CORIO_TESTS_SUPPORT_NGINX_H
#define CORIO_TESTS_SUPPORT_NGINX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/types.h>

/* Debian's nginx, the one the tests use (the benchmarks look it up in PATH). */
#define TH_NGINX "/usr/sbin/nginx"

typedef struct th_nginx {
	char dir[64];          /* the temporary directory ("" before th_nginx_dir) */
	char bin[PATH_MAX];    /* the nginx executable; "": TH_NGINX */
	int port;              /* where it listens, on 127.0.0.1 */
	pid_t pid;             /* the master process; 0: not running */
	int workers;           /* worker_processes (0: 1) */
	int connections;       /* worker_connections (0: 1024) */
	/* HTTPS: with ssl_cert set, nginx listens with `ssl` and serves this certificate chain
	 * and key (PEM files, absolute paths: nginx reads them before it drops privileges),
	 * with ssl_protocols (NULL: nginx's default) and a shared session cache besides the
	 * session tickets nginx sends by default, so that clients can resume. */
	const char *ssl_cert, *ssl_key, *ssl_protocols;
	/* With ssl_cert: no shared session cache, nginx's own default (session tickets only),
	 * as corio-bench's HTTPS benchmarks compare it. */
	bool ssl_no_cache;
	bool pinned;           /* run on cpus */
	cpu_set_t cpus;
	/* How it is forked and reaped (th_child's hooks; NULL: tied to this process). */
	pid_t (*fork)(void);
	void (*reaped)(pid_t);
} th_nginx;

/* Makes n->dir (/tmp/<prefix>-XXXXXX, readable by the workers, which may run as another
 * user), for the caller to put its document root in. NULL, or why not. */
const char *th_nginx_dir(th_nginx *n, const char *prefix);

/* Writes n->dir/nginx.conf and starts nginx on a socket it inherits. http_extra goes inside
 * http { } (directives such as gzip), server_extra inside server { } after `listen` (root,
 * locations). Returns NULL once nginx has answered a GET / (so a configuration it rejects is
 * reported here, with its error.log named), or why it could not start. Call th_nginx_stop in
 * both cases. The GET is plain HTTP even on an ssl port: nginx answers it there too (400,
 * "The plain HTTP request was sent to HTTPS port"), in plain text. */
const char *th_nginx_start(th_nginx *n, const char *http_extra, const char *server_extra);

/* Stops nginx (SIGTERM by pid, waited for) and removes n->dir with everything in it. */
void th_nginx_stop(th_nginx *n);

#endif
