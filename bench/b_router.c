/* bench/b_router.c: the router's cost per request (http/server/router.c, route_trie.c),
 * in-process, without sockets: the same REST-shaped requests against 1 000 routes and
 * against 10, to show that the cost does not grow with the number of routes.
 *
 * Routes: /api/v1/resource<i>/{id} for even i, /api/v1/r<i> for odd i (half with a
 * parameter, half static), GET. Requests cycle over every route.
 *   match:    corio__hserver_router_match alone (http/server/router.h): the trie walk;
 *   dispatch: corio_http_router_handler on a request built here (white-box: the fields of
 *             http/server/server_internal.h the router reads), through one middleware to
 *             a handler that reads its {id}: the match, the decoding of the parameter, the
 *             chain.
 * Peer: Go's http.ServeMux has {name} patterns from Go 1.22 on; with an older Go (Debian
 * 12 has 1.19) the row says so instead of comparing with a mux that cannot route these.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/http_server.h>

#include "bench/bench.h"
#include "http/server/router.h"
#include "http/server/server_internal.h"

#define MAX_ROUTES 1000
#define NPATHS 1000 /* requests cycled over */

static volatile size_t sink; /* what the handler read: keeps the work from being dropped */

static void handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	const char *id = corio_http_in_param(req, "id");

	(void)resp;
	(void)ud;
	sink += id ? strlen(id) : 1;
}

static void pass(corio_http_in *req, corio_http_out *resp, corio_http_handler next,
		 void *next_ud, void *ud)
{
	(void)ud;
	next(req, resp, next_ud);
}

static corio_http_router *make(int nroutes)
{
	corio_http_router *r = corio_http_router_new();
	char pat[64];

	if (r && corio_http_router_use(r, pass, NULL) != 0)
		nroutes = -1;
	for (int i = 0; r && i < nroutes; i++) {
		if (i % 2 == 0)
			snprintf(pat, sizeof pat, "/api/v1/resource%d/{id}", i);
		else
			snprintf(pat, sizeof pat, "/api/v1/r%d", i);
		if (corio_http_route(r, "GET", pat, handler, NULL) != 0)
			nroutes = -1;
	}
	if (r && nroutes < 0) {
		corio_http_router_free(r);
		r = NULL;
	}
	return r;
}

/* NPATHS request paths cycling over nroutes routes. */
static char (*paths(int nroutes))[48]
{
	char(*p)[48] = calloc(NPATHS, sizeof *p);

	for (int k = 0; p && k < NPATHS; k++) {
		int i = k % nroutes;

		if (i % 2 == 0)
			snprintf(p[k], sizeof p[k], "/api/v1/resource%d/%d", i, 1000 + k);
		else
			snprintf(p[k], sizeof p[k], "/api/v1/r%d", i);
	}
	return p;
}

/* ns per match, or -1 when a request did not match. */
static double time_match(const corio_http_router *r, char (*p)[48], uint64_t n)
{
	corio__hserver_match m;
	uint64_t t0 = bench_now();

	for (uint64_t i = 0; i < n; i++)
		if (!corio__hserver_router_match(r, "GET", p[i % NPATHS], &m))
			return -1;
	return (double)(bench_now() - t0) / (double)n;
}

/* ns per dispatch through corio_http_router_handler. */
static double time_dispatch(corio_http_router *r, char (*p)[48], uint64_t n)
{
	corio_http_in req;
	corio_http_out resp;
	uint64_t t0, before = sink;

	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	req.method = "GET";
	t0 = bench_now();
	for (uint64_t i = 0; i < n; i++) {
		req.path = p[i % NPATHS];
		corio_http_router_handler(&req, &resp, r);
	}
	t0 = bench_now() - t0;
	return sink - before >= n ? (double)t0 / (double)n : -1; /* every request handled */
}

/* Why the Go row is skipped, from `go version`. */
static const char *go_why(char *buf, size_t len)
{
	char out[256] = "", which[256];
	int major = 0, minor = 0;

	if (!bench_which("go", which, sizeof which))
		return "go not installed";
	if (bench_capture((char *const[]){ which, "version", NULL }, out, sizeof out, 20) != 0 ||
	    sscanf(strstr(out, "go1") ? strstr(out, "go1") : "", "go%d.%d", &major, &minor) != 2)
		return "go version failed";
	out[strcspn(out, "\n")] = '\0';
	snprintf(buf, len, "%s: ServeMux {name} patterns need Go 1.22; no peer for it yet",
		 strstr(out, "go1"));
	return buf;
}

/* Runs o->runs rounds of both measurements with nroutes routes into res[0] (match) and
 * res[1] (dispatch). 0, or 1 when something failed. */
static int measure(const bench_opts *o, int nroutes, uint64_t n, bench_result res[2])
{
	corio_http_router *r = make(nroutes);
	char(*p)[48] = paths(nroutes);
	int rc = !r || !p;

	if (rc == 0)
		time_match(r, p, n / 10); /* warm-up */
	for (int i = 0; i < o->runs && rc == 0; i++) {
		double m = time_match(r, p, n), d = time_dispatch(r, p, n);

		if (m < 0 || d < 0) {
			bench_log("router: a request was not routed\n");
			rc = 1;
		}
		bench_result_add(&res[0], 0, m);
		bench_result_add(&res[1], 0, d);
	}
	corio_http_router_free(r);
	free(p);
	return rc;
}

static int run(const bench_opts *o)
{
	static const int sizes[2] = { MAX_ROUTES, 10 };
	uint64_t n = o->quick ? 300000 : 1000000;
	bench_result res[2][2];
	char why[160];
	const char *go = go_why(why, sizeof why);

	for (int s = 0; s < 2; s++) {
		bench_result_init(&res[s][0], "router", "ns/match", false,
				  "trie match, %d REST routes (half {id})", sizes[s]);
		bench_result_init(&res[s][1], "router", "ns/dispatch", false,
				  "router handler + 1 middleware + param, %d routes", sizes[s]);
		for (int k = 0; k < 2; k++) {
			bench_result_peer(&res[s][k], "corio");
			bench_result_peer_skipped(&res[s][k], "go ServeMux", go);
		}
	}
	for (int s = 0; s < 2; s++)
		if (measure(o, sizes[s], n, res[s]) != 0)
			return 1;
	for (int k = 0; k < 2; k++) {
		double a = bench_median(&res[0][k].peers[0]), b = bench_median(&res[1][k].peers[0]);

		snprintf(res[0][k].note, sizeof res[0][k].note, "[1000 vs 10 routes: %.2fx]", a / b);
	}
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < 2; k++)
			bench_result_report(&res[s][k], o);
	return 0;
}

const bench_def bench_router = {
	.name = "router",
	.desc = "ns per router match and dispatch, 1 000 REST routes vs 10 (in-process)",
	.run = run,
};
