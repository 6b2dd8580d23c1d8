/* bench/http_common.h: what the HTTP benchmarks (b_http.c, b_http_server.c,
 * b_http_client.c, and their HTTPS variants https_server and https_client) share: planning
 * which CPUs the load generator and the server get, a throw-away nginx (tests/support/
 * nginx.h's, with unlimited keep-alive and the document root below, plain or HTTPS), the
 * certificates of the HTTPS runs, starting a server process pinned to its CPUs, running a
 * generator pinned to its CPUs with its CPU time from wait4, and the CPU time of a running
 * process tree from /proc.
 *
 * The nginx document root holds:
 *   /index.html  612 bytes (the size of nginx's own welcome page)
 *   /4k.html     4096 bytes
 * and nginx answers /hello with "hello world\n" (text/plain) from memory.
 */
#ifndef CORIO_BENCH_HTTP_COMMON_H
#define CORIO_BENCH_HTTP_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tests/support/certs.h"
#include "tests/support/nginx.h"

typedef struct corio_http_server corio_http_server;

#define HC_HELLO_PATH "/hello"
#define HC_HELLO_BODY "hello world\n"
#define HC_FILE_PATH "/4k.html"
#define HC_FILE_SIZE 4096

/* Which CPUs the generator and the server run on: with 2 CPUs or more, the generator gets
 * the lower half and the server the upper half (pinned true); with one CPU nothing is
 * pinned, one of each. gen_n / srv_n: how many CPUs each half has. */
typedef struct hc_cpus {
	cpu_set_t gen, srv;
	bool pinned;
	int gen_n, srv_n;
} hc_cpus;
void hc_plan_cpus(hc_cpus *c);
/* The first CPU of set, alone, into one (for a single-threaded server or generator). */
void hc_first_cpu(const cpu_set_t *set, cpu_set_t *one);

/* Writes a file of the document root: 0 or -1. */
int hc_write_file(const char *path, const void *data, size_t len);
/* Creates DIR/root with the files above. 0 or -1. */
int hc_make_root(const char *dir);

/* The certificates of the HTTPS benchmarks, made at run time (tests/support/certs.h): an
 * ECDSA P-256 CA (certs.path[CERT_CA], what the clients trust) and a leaf for localhost and
 * 127.0.0.1 signed by it (CERT_GOOD, key CERT_GOOD_KEY), the one nginx and corio's server
 * both serve. Registered with the runner, so an interrupted run removes them. NULL, or why
 * not (call hc_certs_remove in both cases). */
const char *hc_certs_make(th_certs *certs);
void hc_certs_remove(th_certs *certs);

/* One TLS handshake with the HTTPS server on 127.0.0.1:port, verified against certs' CA and
 * the name 127.0.0.1 (OpenSSL, a blocking socket, 10 s at most), to check what a benchmark
 * measures: true when the server negotiated TLS 1.3 and presented certs' leaf (CERT_GOOD).
 * desc gets what was negotiated ("TLSv1.3 TLS_AES_256_GCM_SHA384, X25519, ECDSA P-256
 * leaf") or why the check failed. */
bool hc_tls_probe(int port, const th_certs *certs, char *desc, size_t len);

/* tests/support/nginx.h's nginx, set up for the benchmarks (hc_nginx_start). */
typedef th_nginx hc_nginx;

/* Starts nginx (NULL) or says why not (a reason for bench_result_skip): the directory with
 * the document root above, nginx from PATH, forked with bench_fork. tls NULL: plain HTTP;
 * else HTTPS only, with tls's leaf (CERT_GOOD), `ssl_protocols TLSv1.3` and nginx's
 * defaults for everything else (session tickets on, no shared session cache). Call
 * hc_nginx_stop in both cases. */
const char *hc_nginx_start(hc_nginx *s, const th_certs *tls);
/* Stops nginx (SIGTERM by pid, waited for) and removes its directory. */
void hc_nginx_stop(hc_nginx *s);

/* Starts argv (argv[0] a path) as a registered child pinned to cpus (NULL: not pinned),
 * stdin and stdout on /dev/null. Returns the pid or -1. */
/* In a server child's task: listens on 127.0.0.1:port and serves until SIGTERM, then frees
 * srv (NULL: out of memory). NULL, or what failed, said on stderr with who (the child's
 * result). */
void *hc_serve(corio_http_server *srv, const char *who, int port);
pid_t hc_spawn(const cpu_set_t *cpus, char *const argv[]);

/* Runs argv pinned to cpus (NULL: not pinned), stdout into out (NUL-terminated); *cpu_s
 * gets its user + system CPU time (wait4). Returns the exit status, 128 + signal, or -1
 * when it could not start. */
int hc_run_gen(const cpu_set_t *cpus, char *const argv[], char *out, size_t outlen,
	       double *cpu_s);
/* hc_run_gen with the environment envp (NULL: this process's), e.g. GOMAXPROCS for a Go
 * client. */
int hc_run_gen_env(const cpu_set_t *cpus, char *const argv[], char *const envp[], char *out,
		   size_t outlen, double *cpu_s);

/* User + system CPU seconds of pid and its direct children (nginx's master and workers),
 * from /proc/PID/stat; -1 when pid is gone. */
double hc_proc_cpu(pid_t pid);

/* The number right after key in s, -1 when key is absent. */
double hc_num_after(const char *s, const char *key);
/* wrk's output: requests and seconds ("N requests in S s"); false when missing, or when wrk
 * reported socket errors or non-2xx answers. */
bool hc_parse_wrk(const char *out, double *requests, double *secs);

#endif
