/* bench/b_http_client.c: corio's HTTP/1.1 client against one nginx, beside wrk, a libcurl
 * multi program (bench/peers/c/curl_multi.c), Python aiohttp (bench/peers/python/
 * aiohttp_client.py, the seed's pattern) on asyncio's loop and on uvloop's (the same
 * script with --uvloop), and the clients of the runtimes a user would pick instead: Go's
 * net/http (`go-httpc`, GOMAXPROCS=1) and hyper on a current_thread tokio runtime
 * (`hyper-httpc`), both `PROGRAM URL N SECS [CAFILE]` (bench/peers' contract). All in the
 * same run: 64 connections each, for the same duration, on "hello world\n" (nginx's
 * /hello, answered from memory); plain HTTP (`http_client`) and HTTPS (`https_client`).
 *
 * corio's side runs as `corio-bench __child http_client URL CONNS SECS [CAFILE]`: one loop,
 * one corio_http_client, CONNS tasks each calling corio_http_get + corio_http_response_text
 * + corio_http_response_free in a loop until the time is up (the full client API: URL
 * parsing, pool, llhttp, headers). Every client is a process of its own, pinned to one CPU
 * of the lower half (nginx, one worker, to one of the upper half), with one thread running
 * its requests as corio's one loop does (GOMAXPROCS=1 for Go, current_thread for hyper);
 * each run goes through all of them, the starting one rotating. A client that is missing is
 * reported as skipped with the reason; one whose every run failed, as "every run failed".
 *
 * HTTPS: nginx serves TLS 1.3 only (`ssl_protocols TLSv1.3`) with an ECDSA P-256 leaf for
 * 127.0.0.1 made at run time (http_common.h's hc_certs_make). corio's client
 * (corio_http_client_opts.tls), libcurl (CURLOPT_CAINFO), aiohttp and uvloop (an
 * ssl.SSLContext), Go and hyper (CAFILE) trust the run's CA and verify the certificate; wrk
 * verifies nothing. A Go or hyper client that exits 2 with a CAFILE does not support HTTPS
 * (the contract) and is skipped with "https not supported". Connections are kept alive,
 * so each client makes its 64 handshakes at the start and then measures TLS records.
 *
 * Results: requests per second (and requests per CPU-second of the client, from wait4).
 * Targets (reported, not asserted): plain >= 0.6x wrk, HTTPS >= 0.9x wrk; both >= 2x libcurl
 * multi, >= 20x aiohttp, >= 1.0x Go and hyper. */
#define _GNU_SOURCE
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corio/corio.h>
#include <corio/http.h>
#include <corio/tls.h>

#include "bench/bench.h"
#include "bench/http_common.h"

#define CONNS 64

/* ---- corio's client (child process) ---------------------------------------------------- */

typedef struct load {
	const char *url;
	corio_http_client *c;
	uint64_t end;
	unsigned long long done, errors;
	int first_error;
} load;

static void *worker(void *arg)
{
	load *l = arg;

	while (bench_now() < l->end) {
		corio_http_response *r = NULL;
		size_t len = 0;
		int rc = corio_http_get(l->c, l->url, &r);

		if (rc == 0)
			rc = corio_http_response_text(r, NULL, &len);
		if (rc == 0 && corio_http_response_status(r) == 200 && len > 0) {
			l->done++;
		} else {
			if (!l->first_error)
				l->first_error = rc ? rc : corio_http_response_status(r);
			l->errors++;
		}
		corio_http_response_free(r);
	}
	return NULL;
}

typedef struct cargs {
	const char *url;
	int conns;
	double secs;
	const char *ca;          /* CA file to trust for https://, NULL: the system store */
} cargs;

/* The client's TLS config: trusts only ca. NULL with *why set when it cannot. */
static corio_tls_config *tls_config(const char *ca, const char **why)
{
	corio_tls_config *t = corio_tls_config_new(false);

	*why = "out of memory";
	if (t && corio_tls_config_ca(t, ca, NULL) != 0) {
		*why = "cannot load the CA file";
		corio_tls_config_free(t);
		t = NULL;
	}
	return t;
}

static void *client_main(void *arg)
{
	cargs *a = arg;
	corio_http_client_opts co = { .limit = (size_t)a->conns };
	corio_task *ts[1024];
	load l = { .url = a->url };
	uint64_t t0;
	int n = a->conns < 1024 ? a->conns : 1024;
	const char *why;

	if (a->ca && !(co.tls = tls_config(a->ca, &why)))
		return (void *)why;
	l.c = corio_http_client_new(&co);
	corio_tls_config_free(co.tls); /* the client holds its own reference */
	if (!l.c)
		return (void *)"out of memory";
	t0 = bench_now();
	l.end = t0 + (uint64_t)(a->secs * 1e9);
	for (int i = 0; i < n; i++)
		ts[i] = corio_spawn(worker, &l);
	for (int i = 0; i < n; i++)
		if (ts[i])
			corio_join(ts[i], NULL);
	printf("requests=%llu secs=%.6f errors=%llu first_error=%d\n", l.done,
	       (double)(bench_now() - t0) / 1e9, l.errors, l.first_error);
	corio_http_client_free(l.c);
	return NULL;
}

/* __child http_client URL CONNS SECS [CAFILE] */
static int child(int argc, char **argv)
{
	cargs a;
	void *res = NULL;

	if (argc != 3 && argc != 4)
		return 2;
	a = (cargs){ .url = argv[0], .conns = atoi(argv[1]), .secs = atof(argv[2]),
		     .ca = argc == 4 ? argv[3] : NULL };
	if (a.conns < 1 || a.secs <= 0)
		return 2;
	if (corio_run(client_main, &a, &res) != 0 || res) {
		fprintf(stderr, "http_client: %s\n", res ? (const char *)res : "corio_run failed");
		return 1;
	}
	return 0;
}

/* ---- the benchmark -------------------------------------------------------------------- */

enum { P_CORIO, P_WRK, P_CURL, P_AIOHTTP, P_UVLOOP, P_GO, P_HYPER, NP };

typedef struct peer {
	const char *name;
	char path[PATH_MAX];
	const char *skipped;
} peer;

/* aiohttp_client.py, and whether python3 imports module ("aiohttp", "aiohttp, uvloop"):
 * NULL, or why the peer cannot run. */
static const char *find_python(peer *p, const char *module, const char *why_not)
{
	const char *pd = bench_peers_dir("python"), *py = bench_python();
	char code[64], out[512];
	char *const argv[] = { (char *)py, "-c", code, NULL };

	if (!py || !pd)
		return !py ? "/usr/bin/python3 missing" : "bench/peers/python not found";
	snprintf(p->path, sizeof p->path, "%s/aiohttp_client.py", pd);
	if (access(p->path, R_OK) != 0)
		return "aiohttp_client.py not found";
	snprintf(code, sizeof code, "import %s", module);
	return bench_capture(argv, out, sizeof out, 30) == 0 ? NULL : why_not;
}

static void find_peers(peer *p)
{
	static const char *const names[NP] = { "corio", "wrk", "libcurl multi", "aiohttp",
					       "uvloop", "go", "hyper" };

	for (int k = 0; k < NP; k++)
		p[k].name = names[k];
	snprintf(p[P_CORIO].path, sizeof p[P_CORIO].path, "%s",
		 bench_self_exe() ? bench_self_exe() : "");
	if (!bench_which("wrk", p[P_WRK].path, sizeof p[P_WRK].path))
		p[P_WRK].skipped = "wrk not installed";
	if (!bench_peer_bin("peer-curl_multi", p[P_CURL].path, sizeof p[P_CURL].path))
		p[P_CURL].skipped = "peer-curl_multi not built (libcurl missing)";
	p[P_AIOHTTP].skipped = find_python(&p[P_AIOHTTP], "aiohttp",
					   "aiohttp not installed (python3-aiohttp)");
	p[P_UVLOOP].skipped = find_python(&p[P_UVLOOP], "aiohttp, uvloop",
					  "uvloop or aiohttp not installed (python3-uvloop)");
	if (!bench_peer_bin("go-httpc", p[P_GO].path, sizeof p[P_GO].path))
		p[P_GO].skipped = "go-httpc not built";
	if (!bench_peer_bin("hyper-httpc", p[P_HYPER].path, sizeof p[P_HYPER].path))
		p[P_HYPER].skipped = "hyper-httpc not built";
}

/* Requests and seconds from one client's output. */
static bool parse(int k, const char *out, double *req, double *secs)
{
	if (k == P_WRK)
		return hc_parse_wrk(out, req, secs);
	*req = hc_num_after(out, "requests=");
	*secs = hc_num_after(out, "secs=");
	return *req > 0 && *secs > 0 && hc_num_after(out, "errors=") == 0;
}

/* "targets: >= 0.6x wrk, 2x curl, 20x aiohttp, 1x go, 1x hyper: met" (or ": missed wrk
 * go"): corio against each client that ran. */
static void notes(bench_result *r, const int *pi, double wrk_target)
{
	const struct {
		int k;
		double target;
		const char *label;
	} t[] = { { P_WRK, wrk_target, "wrk" }, { P_CURL, 2, "curl" }, { P_AIOHTTP, 20, "aiohttp" },
		  { P_GO, 1, "go" }, { P_HYPER, 1, "hyper" } };
	char missed[64] = "";
	size_t n = 0, m = 0;
	int listed = 0;

	n += (size_t)snprintf(r->note, sizeof r->note, "targets: >=");
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		double ratio = bench_result_ratio(r, pi[t[i].k]);

		if (ratio <= 0 || n >= sizeof r->note)
			continue;
		n += (size_t)snprintf(r->note + n, sizeof r->note - n, "%s %gx %s",
				      listed++ ? "," : "", t[i].target, t[i].label);
		if (ratio < t[i].target && m < sizeof missed)
			m += (size_t)snprintf(missed + m, sizeof missed - m, " %s", t[i].label);
	}
	if (!listed)
		r->note[0] = 0;
	else if (n < sizeof r->note)
		snprintf(r->note + n, sizeof r->note - n, ": %s%s", m ? "missed" : "met", missed);
}

/* The command line of client k for one run; ca: the CA file (HTTPS), or NULL. */
static void client_argv(int k, const peer *p, const char *url, const char *conns,
			const char *secstr, const char *dur, const char *ca, char **argv)
{
	int i = 0;

	switch (k) {
	case P_CORIO:
		argv[i++] = (char *)p[k].path;
		argv[i++] = "__child";
		argv[i++] = "http_client";
		break;
	case P_WRK:
		argv[i++] = (char *)p[k].path;
		argv[i++] = "-t1";
		argv[i++] = "-c";
		argv[i++] = (char *)conns;
		argv[i++] = "-d";
		argv[i++] = (char *)dur;
		argv[i++] = (char *)url;
		argv[i] = NULL;
		return;
	case P_CURL:
	case P_GO:
	case P_HYPER:
		argv[i++] = (char *)p[k].path;
		break;
	default: /* aiohttp and uvloop: the same script */
		argv[i++] = (char *)bench_python();
		argv[i++] = (char *)p[k].path;
		if (k == P_UVLOOP)
			argv[i++] = "--uvloop";
		break;
	}
	argv[i++] = (char *)url;
	argv[i++] = (char *)conns;
	argv[i++] = (char *)secstr;
	if (ca)
		argv[i++] = (char *)ca;
	argv[i] = NULL;
}

/* What every client run of a benchmark shares. */
typedef struct job {
	const char *bench, *url, *conns, *secstr, *dur;
	const char *ca;           /* CA file (HTTPS), NULL: plain HTTP */
	const cpu_set_t *cpu;     /* where the client runs, NULL: not pinned */
} job;

/* The environment of a Go client: this process's with GOMAXPROCS=1 (one thread runs Go
 * code, as corio's client has one loop). */
static char *const *go_env(void)
{
	static char *env[256];
	static bool made;
	int n = 0;

	if (made)
		return env;
	made = true;
	env[n++] = "GOMAXPROCS=1";
	for (char **e = environ; *e && n < 255; e++)
		if (strncmp(*e, "GOMAXPROCS=", 11) != 0)
			env[n++] = *e;
	env[n] = NULL;
	return env;
}

/* One run of client k into rps and eff. A Go or hyper client that exits 2 on an https://
 * URL with a CA file does not support HTTPS (the peers' contract): skipped from then on. */
static void run_one(const job *jb, int k, peer *p, int r, bench_result *rps, int pr,
		    bench_result *eff, int pe)
{
	char *argv[16], out[16384];
	double cpu = 0, req = 0, s = 0;
	int st;

	client_argv(k, p, jb->url, jb->conns, jb->secstr, jb->dur, jb->ca, argv);
	st = hc_run_gen_env(jb->cpu, argv, k == P_GO ? go_env() : NULL, out, sizeof out, &cpu);
	if (st == 2 && jb->ca && (k == P_GO || k == P_HYPER)) {
		p[k].skipped = "https not supported";
		bench_log("%s: %s: %s\n", jb->bench, p[k].name, p[k].skipped);
		bench_result_skip(rps, pr, p[k].skipped);
		bench_result_skip(eff, pe, p[k].skipped);
		return;
	}
	if (st != 0 || !parse(k, out, &req, &s)) {
		bench_log("%s: %s run %d failed (status %d):\n%s\n", jb->bench, p[k].name, r + 1,
			  st, out);
		return;
	}
	bench_result_add(rps, pr, req / s);
	if (cpu > 0)
		bench_result_add(eff, pe, req / cpu);
}

static int run_clients(const bench_opts *o, bool tls)
{
	const char *bench = tls ? "https_client" : "http_client";
	peer p[NP] = { 0 };
	hc_cpus cpus;
	cpu_set_t gen1, srv1;
	hc_nginx ng = { .workers = 1 };
	th_certs certs = { 0 };
	bench_result rps, eff;
	int pr[NP], pe[NP], rc = 0;
	int secs = o->secs > 0 ? (int)ceil(o->secs) : (o->quick ? 1 : 2);
	char url[96], dur[24], secstr[24], conns[16];
	const char *why, *ca = NULL;
	job jb = { .bench = bench, .url = url, .conns = conns, .secstr = secstr, .dur = dur };

	find_peers(p);
	if (tls) {
		if ((why = hc_certs_make(&certs))) {
			bench_log("%s: %s\n", bench, why);
			hc_certs_remove(&certs);
			return 1;
		}
		ca = certs.path[CERT_CA];
	}
	hc_plan_cpus(&cpus);
	hc_first_cpu(&cpus.gen, &gen1);
	hc_first_cpu(&cpus.srv, &srv1);
	ng.pinned = cpus.pinned;
	ng.cpus = srv1;
	why = hc_nginx_start(&ng, tls ? &certs : NULL);
	if (why) {
		bench_log("%s: nginx: %s\n", bench, why);
		hc_nginx_stop(&ng);
		hc_certs_remove(&certs);
		return 1;
	}
	if (tls) {
		char desc[160];
		bool ok = hc_tls_probe(ng.port, &certs, desc, sizeof desc);

		bench_log("%s: nginx: %s\n", bench, desc);
		if (!ok) {
			hc_nginx_stop(&ng);
			hc_certs_remove(&certs);
			return 1;
		}
	}
	snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", tls ? "https" : "http", ng.port,
		 HC_HELLO_PATH);
	snprintf(dur, sizeof dur, "%ds", secs);
	snprintf(secstr, sizeof secstr, "%d", secs);
	snprintf(conns, sizeof conns, "%d", CONNS);
	jb.ca = ca;
	jb.cpu = cpus.pinned ? &gen1 : NULL;

	bench_result_init(&rps, bench, "req/s", true,
			  "GET hello world from nginx (1 worker)%s, %d conns, %d s%s",
			  tls ? ", TLS 1.3" : "", CONNS, secs,
			  cpus.pinned ? ", client and nginx pinned" : "");
	bench_result_init(&eff, bench, "req/CPU-s", true,
			  "GET hello world from nginx (1 worker)%s, %d conns, %d s, client CPU%s",
			  tls ? ", TLS 1.3" : "", CONNS, secs, cpus.pinned ? ", pinned" : "");
	for (int k = 0; k < NP; k++) {
		pr[k] = bench_result_peer_skipped(&rps, p[k].name, p[k].skipped);
		pe[k] = bench_result_peer_skipped(&eff, p[k].name, p[k].skipped);
	}
	for (int r = 0; r < o->runs; r++) {
		for (int j = 0; j < NP; j++) {
			int k = (j + r) % NP; /* rotate which client goes first */

			if (!p[k].skipped)
				run_one(&jb, k, p, r, &rps, pr[k], &eff, pe[k]);
		}
	}
	hc_nginx_stop(&ng); /* the runs are over: the report needs no server */
	hc_certs_remove(&certs);
	for (int k = 0; k < NP; k++)
		bench_result_pair_failed(&rps, pr[k], &eff, pe[k]);
	if (rps.peers[pr[P_CORIO]].n == 0)
		rc = 1;
	notes(&rps, pr, tls ? 0.9 : 0.6);
	bench_result_report(&rps, o);
	bench_result_report(&eff, o);
	return rc;
}

static int run_http(const bench_opts *o)
{
	return run_clients(o, false);
}

static int run_https(const bench_opts *o)
{
	return run_clients(o, true);
}

const bench_def bench_http_client = {
	.name = "http_client",
	.desc = "HTTP/1.1 client on nginx, 64 conns: corio_http_get vs wrk, libcurl multi and "
		"aiohttp (req/s)",
	.run = run_http,
	.child = child,
};

const bench_def bench_https_client = {
	.name = "https_client",
	.desc = "HTTPS client on nginx (TLS 1.3), 64 conns: corio_http_get vs wrk, libcurl multi "
		"and aiohttp with ssl (req/s)",
	.run = run_https,
	.child = child,
};
