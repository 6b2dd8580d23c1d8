/* bench/h2o.h: a throw-away h2o (Debian's h2o 2.2.5, /usr/bin/h2o) for corio-bench's HTTP
 * server benchmarks (b_http_server.c), serving what nginx serves there (http_common.h):
 *   /hello   "hello world\n", Content-Type text/plain: a hello.txt holding those 12 bytes,
 *            served by h2o's static handler (file.file; text/plain from the extension;
 *            `file.etag: OFF`; its open-file cache keeps the descriptor between requests).
 *            nginx answers from memory (`return 200`); h2o has no such directive, and
 *            its mruby handler (a Proc returning the body) made ~30% fewer requests per
 *            second than the static handler in our runs: h2o is compared at its fastest.
 *            What differs from nginx's answer: h2o adds last-modified and accept-ranges
 *            headers (~70 bytes more per response).
 *   /        the document root nginx serves (file.dir): /4k.html through h2o's static
 *            handler with its defaults (etag, last-modified, open-file cache).
 * One worker thread (`num-threads: 1`), no access log (none configured), the error log in
 * the temporary directory. With TLS: the given certificate and key, `minimum-version:
 * TLSv1.3` (as nginx's `ssl_protocols TLSv1.3`), OCSP stapling off (the run's certificate
 * has no responder, and h2o would otherwise run its fetch-ocsp-response script), h2o's
 * defaults for the rest (session tickets and its internal session cache). wrk sends no ALPN,
 * so both stay HTTP/1.1.
 *
 * h2o binds its listening socket itself (it cannot inherit one as nginx does), on a port
 * from th_free_port(). Started as root it switches to the user nobody after reading its
 * configuration and keys, so the document root must be readable by everyone (nginx's
 * directory is). It also starts its crash handler (a perl script reading a pipe) and, with
 * TLS, its neverbleed process (the private-key operations), both of which exit with it.
 * The configuration directory is registered with the runner (bench_cleanup_path), h2o with
 * its child registry; stopped by pid (SIGTERM).
 */
#ifndef CORIO_BENCH_H2O_H
#define CORIO_BENCH_H2O_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/types.h>

#include "tests/support/certs.h"

typedef struct hc_h2o {
	char dir[64];         /* the temporary directory ("" when none) */
	char bin[PATH_MAX];
	int port;             /* 127.0.0.1:port */
	pid_t pid;            /* 0: not running */
	char why[PATH_MAX + 96];
} hc_h2o;

/* Starts h2o on the document root root (an absolute path), pinned to cpus (NULL: not
 * pinned); tls NULL: plain HTTP, else HTTPS with tls's leaf (CERT_GOOD). Returns NULL once
 * h2o answered GET /hello with 200 (plain HTTP) or accepts connections (HTTPS), else why
 * not (a reason for bench_result_skip). Call hc_h2o_stop in both cases. */
const char *hc_h2o_start(hc_h2o *h, const char *root, const th_certs *tls,
			 const cpu_set_t *cpus);
/* Stops h2o (SIGTERM by pid, waited for) and removes its directory. */
void hc_h2o_stop(hc_h2o *h);

#endif
