/* bench/load/load.h: what corio-load's files share: the options from the command line, the
 * per-thread statistics the connection tasks fill, the response framing parser (parse.c)
 * and the entry points of the load loop (conn.c) and the report (report.c). */
#ifndef CORIO_LOAD_H
#define CORIO_LOAD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <llhttp.h>

#include "bench/load/hist.h"

/* ---- options ------------------------------------------------------------------------ */

typedef struct load_opts {
	unsigned conns, threads, pipeline;
	uint64_t duration_ns, timeout_ns;
	double rate;                 /* requests/s over all connections; 0: closed loop */
	bool json;
	const char *url;
	const char *method;          /* "GET" unless -m */
	char *host;                  /* from the URL, for Host: and the address */
	char *port;
	char *target;                /* path + "?" query */
	char *host_header;           /* "host[:port]" as it goes into Host: */
	const char **headers;        /* -H values, as given */
	size_t nheaders;
	char *body;                  /* --body FILE, read at start; NULL: none */
	size_t body_len;
	struct sockaddr_storage addr;/* resolved once before the threads start */
	socklen_t addrlen;
	char *req;                   /* one request, built once */
	size_t req_len;
	char *reqs;                  /* pipeline copies of it back to back */
	bool head;                   /* method HEAD: responses have no body */
	int recv_mode;               /* 0 plain recv (default), 1 multishot receiver (--recv ring) */
	int send_mode;               /* 0 park on each send, 1 queue it with the receive (default) */
	size_t rbuf;                 /* receive buffer per connection */
	uint64_t spin_ns;            /* --spin-us: each loop polls this long after a response
				      * before it sleeps (0: sleeps at once, the default) */
} load_opts;

/* ---- statistics --------------------------------------------------------------------- */

enum { ERR_CONNECT, ERR_READ, ERR_WRITE, ERR_TIMEOUT, ERR_STATUS, ERR_PROTOCOL, ERR_N };
extern const char *const load_err_names[ERR_N];

typedef struct load_thread {
	unsigned index;
	unsigned first_conn, nconns;
	uint64_t requests;           /* completed responses (status errors included) */
	uint64_t bytes;              /* bytes received */
	uint64_t errors[ERR_N];
	uint64_t connects;           /* connections opened (first ones and reconnects) */
	uint64_t late;               /* --rate: requests sent after their intended time
					* because the previous one had not finished */
	hist lat;                    /* ns: response end - request start (intended, with --rate) */
	hist lag;                    /* --rate: ns the generator woke after an intended start */
	double *rps;                 /* requests/s samples, every 100 ms */
	size_t nrps, rps_cap;
	uint64_t start, end;         /* the measured window of this thread */
	volatile bool stop;
} load_thread;

typedef struct load_run {
	const load_opts *o;
	load_thread *t;
	uint64_t start;              /* common start (CLOCK_MONOTONIC) */
	int setup_err;
} load_run;

/* ---- response framing (parse.c) ----------------------------------------------------- */

typedef struct resp_parser {
	llhttp_t p;
	bool head;                   /* requests are HEAD: no body whatever the headers say */
	bool done, keep_alive, started;
	int status;
} resp_parser;

void resp_parser_init(resp_parser *rp, bool head);
/* Parses data[0..len): bytes consumed (stops right after a complete response; rp->done is
 * then set and rp->status / rp->keep_alive describe it), or -1 on a protocol error
 * (sticky). Call resp_parser_next before feeding the next response. */
long resp_parser_feed(resp_parser *rp, const char *data, size_t len);
/* Prepares for the next response on the same connection. */
void resp_parser_next(resp_parser *rp);
/* The connection ended: 1 when that completed a close-delimited response, 0 when no byte
 * of a response had arrived, -1 when one was cut short. */
int resp_parser_eof(resp_parser *rp);

/* ---- the load (conn.c) and the report (report.c) ------------------------------------ */

/* corio_run_threads' function: arg is the load_run. */
void *load_thread_main(void *arg);
/* Builds o->req and o->reqs from the options. 0 or -1 (message on stderr). */
int load_build_request(load_opts *o);

void load_report_text(const load_opts *o, const load_thread *sum, double secs);
void load_report_json(const load_opts *o, const load_thread *sum, double secs);

#endif
