/* bench/abuse.h: the clients of the soak benchmark (b_soak.c): well-behaved load and
 * hostile clients against an HTTP/1.1 server on 127.0.0.1, each a corio task on the
 * caller's loop, each kind bounded in number, all stopped at one deadline:
 *   keep-alive load      ABUSE_KEEPALIVE connections, /hello and the 4 KiB file in turn
 *   close per request    one client, a new connection for every /hello (Connection: close),
 *                        200 a second at most
 *   big downloads        one keep-alive connection fetching the 1 MiB file again and again
 *   idle keep-alive      ABUSE_IDLE connections: one request, then held open and silent
 *                        (reopened when the server closes them)
 *   slowloris            ABUSE_SLOW connections sending a header a byte every 300 ms
 *   half-sent            a request cut mid-header, then closed (every other one with RST)
 *   open and drop        bursts of `burst` connections (ABUSE_BURST by default) opened
 *                        and held, then all closed at once, every ABUSE_BURST_EVERY
 *   pipelined floods     ABUSE_FLOODERS clients pipelining requests and never reading, until
 *                        the socket blocks (or ABUSE_FLOOD_CAP bytes), held 2 s, closed
 *   TLS on the plain port  a real ClientHello (OpenSSL's), then whatever the server answers
 * Only the first three make requests that count; their failures are the errors. */
#ifndef CORIO_BENCH_ABUSE_H
#define CORIO_BENCH_ABUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/corio.h>

#define ABUSE_KEEPALIVE 4
#define ABUSE_IDLE 300
#define ABUSE_SLOW 64
#define ABUSE_BURST 1000
#define ABUSE_BURST_EVERY CORIO_SEC(5)
#define ABUSE_FLOODERS 8
#define ABUSE_FLOOD_CAP (32u << 20)

/* What the clients did so far (one loop writes them; read them from the same loop). */
typedef struct abuse_stats {
	uint64_t requests;        /* 200 answers to the well-behaved clients */
	uint64_t errors;          /* their requests (or connects) that failed before the end */
	int last_error;           /* the last of those: -errno, or the HTTP status */
	uint64_t connections;     /* connections opened, every client */
	uint64_t dropped;         /* opened in a burst and closed at once */
	uint64_t half_sent;       /* requests cut mid-header */
	uint64_t slow_cut;        /* slowloris connections the server ended */
	uint64_t floods;          /* pipelined floods that made the socket block */
	uint64_t floods_capped;   /* floods that reached ABUSE_FLOOD_CAP without blocking */
	uint64_t tls_hellos;      /* ClientHellos sent to the plain port */
	uint64_t idle_closed;     /* idle connections the server closed */
	unsigned idle_open, slow_open; /* held open now */
} abuse_stats;

typedef struct abuse {
	/* Set by the caller. */
	int port;
	uint64_t end;             /* corio_now() at which every client stops */
	const char *paths[3];     /* small, small, big (the 1 MiB file) */
	unsigned burst;           /* connections of a drop burst: keep it below the
				   * descriptor limit (RLIMIT_NOFILE) with room for the rest */
	abuse_stats st;
	/* The run's own. */
	bool stopped;
	char portstr[8];
	corio_task **tasks;
	size_t ntasks;
	unsigned char hello[2048]; /* the ClientHello */
	size_t hello_len;
	char flood[8192];          /* pipelined requests */
	size_t flood_len;
} abuse;

/* Runs every client until a->end (or abuse_stop) and returns when all have finished: 0, or
 * -ENOMEM when the tasks could not be made. Parks; call it from a task of its own. */
int abuse_run(abuse *a);
/* Stops every client now (cancels them): for a server that died. Never parks. */
void abuse_stop(abuse *a);
/* One GET path on a new connection to 127.0.0.1:port within timeout_ns: the status, or
 * -errno. Parks. */
int abuse_get_once(int port, const char *path, uint64_t timeout_ns);

#endif
