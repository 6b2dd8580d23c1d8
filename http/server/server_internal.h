/* http/server/server_internal.h: what the server's files share, private to http/server/: the
 * server, its per-loop state, a connection with its input buffer, llhttp parser, request
 * (corio_http_in) and response writer (corio_http_out). Never installed.
 *
 * Names: internal names of http/server/ are corio__hserver_* (types, functions) and
 * CORIO__HSERVER_* (constants); http/client/ uses corio__hclient_*, http/common/
 * corio__http_*. Calls go one way: server.c -> conn.c -> writer.c -> body.c -> io.c and
 * parser.c (static.c -> writer.c, static.c -> compress.c, writer.c -> compress.c;
 * server.c and conn.c -> access_log.c); nothing calls back up: compress.c writes through
 * the writer's calls it is handed (out_ops). */
#ifndef CORIO_HTTP_SERVER_INTERNAL_H
#define CORIO_HTTP_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <corio/http_server.h>
#include <corio/net.h>
#include <corio/sync.h>

#include "runtime/net/tls_ext.h"    /* runtime/: gathered TLS writes, config checks */
#include "runtime/time/deadline.h" /* runtime/: I/O deadlines without linked timeouts */
#include "runtime/util/buf.h"
#include "runtime/util/list.h"
#include "runtime/util/str.h"
#include "llhttp.h"

typedef struct corio__hserver_conn corio__hserver_conn;

/* Where a connection's coroutine is, which is what a shutdown looks at to decide whom to
 * cancel. */
typedef enum corio__hserver_phase {
	CORIO__HSERVER_NEW = 0, /* spawned, not run yet: never cancelled (a task cancelled
				 * before it first ran would never run, nor close its fd) */
	CORIO__HSERVER_IDLE,    /* waiting for the first byte of the next request: a graceful
				 * shutdown cancels it */
	CORIO__HSERVER_BUSY,    /* reading a request, in the handler or writing the response:
				 * a graceful shutdown lets it finish */
} corio__hserver_phase;

/* What becomes of the connection once the response in progress is out. Kept apart from
 * the phase because the two change independently: a busy connection decides to close, or
 * breaks, long before its coroutine leaves; an idle one is always KEEP. BROKEN is final
 * (corio__hserver_set_keep leaves it). */
typedef enum corio__hserver_fate {
	CORIO__HSERVER_CLOSE = 0, /* close after this response (until a request asks for
				   * keep-alive) */
	CORIO__HSERVER_KEEP,      /* serve the next request */
	CORIO__HSERVER_BROKEN,    /* the socket failed: nothing more can be sent */
} corio__hserver_fate;

/* Where the request parser is in the header block (it stores fields as they come). */
typedef enum corio__hserver_field_state {
	CORIO__HSERVER_BETWEEN_FIELDS = 0,
	CORIO__HSERVER_IN_NAME,
	CORIO__HSERVER_IN_VALUE,
} corio__hserver_field_state;

/* The connections' input buffers of one server loop (bufs.c): fixed-size, carved from
 * mappings of their own, free ones newest last in free[0..nfree). */
typedef struct corio__hserver_slab corio__hserver_slab;
typedef struct corio__hserver_bufs {
	size_t size;               /* bytes per buffer (the read_buffer option, whole pages) */
	char **free;
	unsigned nfree, cap, total;
	unsigned ntrimmed;         /* free[0..ntrimmed) hold no resident page */
	unsigned low;              /* the fewest free since the last trim */
	corio__hserver_slab *slabs;
} corio__hserver_bufs;

void corio__hserver_bufs_init(corio__hserver_bufs *b, size_t size);
/* A buffer of b->size bytes, NULL without memory. */
char *corio__hserver_buf_get(corio__hserver_bufs *b);
void corio__hserver_buf_put(corio__hserver_bufs *b, char *p); /* NULL allowed */
/* Gives back the pages of the buffers nobody took since the previous call (beyond a few). */
void corio__hserver_bufs_trim(corio__hserver_bufs *b);
/* Unmaps every buffer: none may be in use. */
void corio__hserver_bufs_fini(corio__hserver_bufs *b);

/* One loop's access log lines (access_log.c): appended without a lock or a syscall, written
 * one buffer at a time (mu) by whoever flushes: the connection that crossed 64 KiB, the
 * loop's one-second tick, the end of serving. */
typedef struct corio__hserver_alog {
	corio__buf buf;            /* lines waiting */
	corio__buf out;            /* lines being written (swapped with buf) */
	corio_mutex mu;            /* one write at a time */
	int64_t date_sec;          /* the second date[] shows, -1: none yet */
	char date[32];             /* "06/Dec/2026:13:45:09 +0000" */
} corio__hserver_alog;

/* One loop's share of a server: its listener, its connections, its stop signal. Touched
 * only from that loop's thread (the loop pointer under srv->mu). */
typedef struct corio__hserver_loop {
	corio_http_server *srv;
	int lfd;                   /* listener, -1 once closed */
	corio_loop *loop;          /* while serving, under srv->mu */
	corio_event stop;          /* set when a shutdown reaches this loop */
	corio_event drained;       /* set when the last connection left after stopping */
	bool stopping;
	unsigned nconns;
	unsigned lean;             /* connections idle long enough to hold no buffer (conn.c) */
	unsigned released;         /* connections gone lean or closed since the last heap trim */
	corio__hserver_bufs bufs;  /* the connections' input buffers */
	corio__list conns;         /* of corio__hserver_conn, by link */
	corio__hserver_alog alog;  /* with opts.access_log */
	int result;
} corio__hserver_loop;

struct corio_http_server {
	corio_http_server_opts o;
	corio_http_handler handler;
	void *ud;
	unsigned nloops;
	corio__hserver_loop *loops;
	int port;
	bool listening, served;
	pthread_mutex_t mu;        /* stop_requested, grace and every loops[i].loop */
	bool stop_requested;
	uint64_t stop_deadline;    /* CLOCK_MONOTONIC */
};

/* A header as stored: offsets into the request's arena until the headers are complete. */
typedef struct corio__hserver_field {
	uint32_t name, name_len, value, value_len;
} corio__hserver_field;

struct corio_http_in {
	corio__hserver_conn *c;
	/* arena: request-target, then header names and values, NUL-terminated */
	corio__buf arena;            /* kept (emptied) from one request to the next */
	corio__hserver_field *hdrs;
	unsigned nhdrs, hcap;
	uint32_t url_off, url_len;
	/* after the headers are complete */
	const char *method, *target, *path, *query;
	int version;
	int64_t content_length;      /* -1 chunked */
	bool chunked, expect_continue, continue_sent, upgrade;
	bool headers_done, msg_done, in_trailers;
	uint64_t body_read;          /* de-chunked body bytes seen by the parser */
	size_t ext_bytes;            /* chunk extension and trailer bytes */
	int body_err;                /* sticky error of body reads */
	int err_status;              /* status a parse error asks for (431, 414, 413, ...) */
	size_t hdr_raw;              /* raw bytes of request line and headers parsed so far */
	bool keep_msg;               /* llhttp_should_keep_alive at the message's end */
	corio__hserver_field_state field_state;
	bool vsplit;                 /* the value's last span ended with the input */
	const char *xstart, *xend;   /* the input of the running llhttp_execute */
	unsigned hosts, tes;         /* Host and Transfer-Encoding fields seen */
	int te_idx, expect_idx;      /* first Transfer-Encoding / Expect header, -1: none */
	uint64_t deadline;           /* body deadline */
	/* decoded body bytes ready for the reader, inside the connection's buffer */
	char *bptr, *bwr;
	size_t blen;
	char *whole;                 /* corio_http_in_body's copy */
	size_t whole_len;
	void *route;                 /* router.c: the dispatch under way, NULL outside one */
};

struct corio_http_out {
	corio__hserver_conn *c;
	int status;
	corio__buf hdr;              /* user headers, "Name: value\r\n"... */
	bool user_date, user_server, user_close;
	bool started, finished, chunked, head, no_body, close_delimited;
	bool has_length;
	uint64_t length, sent;       /* announced body length, body bytes written */
	int err;                     /* sticky write error */
	struct corio__hserver_gz *gz; /* armed gzip compressor (compress.c), NULL: none */
};

struct corio__hserver_conn {
	corio__hserver_loop *hl;
	corio__lnode link;           /* on hl->conns while its task lives */
	corio_task *task;
	int fd;
	corio_tls *tls;              /* HTTPS: the TLS connection over fd (owned), else NULL */
	corio_receiver *rx;          /* multishot receiver, NULL: plain receives (always
				      * with TLS, which receives into its own record buffer) */
	corio__hserver_phase phase;
	corio__hserver_fate fate;
	char *buf;                   /* input: [rpos, wpos) not parsed yet */
	size_t cap, rpos, wpos;
	corio__buf obuf;             /* output waiting to be sent (corked pipelined responses) */
	int pipe[2];                 /* for splice, made on first use */
	llhttp_t parser;
	unsigned nreq;
	char peer[48];               /* the access log's host, "" until first needed */
	corio_http_in req;
	corio_http_out resp;
};

static inline bool corio__hserver_keeps(const corio__hserver_conn *c)
{
	return c->fate == CORIO__HSERVER_KEEP;
}

static inline bool corio__hserver_broken(const corio__hserver_conn *c)
{
	return c->fate == CORIO__HSERVER_BROKEN;
}

/* Keep or close after this response; a broken connection stays broken. */
static inline void corio__hserver_set_keep(corio__hserver_conn *c, bool keep)
{
	if (c->fate != CORIO__HSERVER_BROKEN)
		c->fate = keep ? CORIO__HSERVER_KEEP : CORIO__HSERVER_CLOSE;
}

/* parser.c: the llhttp glue. */
void corio__hserver_parser_init(corio__hserver_conn *c);
/* Starts the next request's parse (resumes a parser paused at the previous message end). */
void corio__hserver_parser_next(corio__hserver_conn *c);
/* Runs the parser over [rpos, wpos) and advances rpos. Returns HPE_OK (all consumed),
 * HPE_PAUSED (headers or message complete: see req.headers_done / req.msg_done), or the
 * llhttp error (sticky). */
llhttp_errno_t corio__hserver_parser_execute(corio__hserver_conn *c);
/* After the headers: fills the request's pointers, checks Host, Transfer-Encoding and the
 * body limit. 0 or the status to answer with. */
int corio__hserver_parser_finish_headers(corio__hserver_conn *c);
/* The request's idea of keep-alive (HTTP version and Connection). */
bool corio__hserver_parser_keep_alive(corio__hserver_conn *c);

/* io.c: the connection's socket. Opens a multishot receiver where the environment asks
 * for one (CORIO_HTTP_RECV=multishot) and the kernel has it; else receives are plain. */
void corio__hserver_rx_open(corio__hserver_conn *c);
/* Receives up to len bytes before deadline (absolute, the loop's clock): bytes, 0 at EOF,
 * -ETIMEDOUT, -errno. Parks. */
ssize_t corio__hserver_recv(corio__hserver_conn *c, void *buf, size_t len, uint64_t deadline);
/* Parks until the connection has input (or EOF, or an error the next receive reports),
 * holding no buffer meanwhile. 0, -ETIMEDOUT at deadline, -ECANCELED, -errno. */
int corio__hserver_wait_input(corio__hserver_conn *c, uint64_t deadline);
/* now + the server's write timeout. */
uint64_t corio__hserver_write_deadline(corio__hserver_conn *c);
/* A send failed: the connection is broken and not kept; err becomes the response's sticky
 * error (unless it has one). Returns err. */
int corio__hserver_broke(corio__hserver_conn *c, int err);
/* Sends every byte of iov[0..n) (modified in place) under the write deadline. 0 or -errno
 * (the connection is then broken). Parks. */
int corio__hserver_send_iov(corio__hserver_conn *c, struct iovec *iov, int n);
/* Sends whatever is corked in c->obuf. 0 or -errno. Parks. */
int corio__hserver_flush(corio__hserver_conn *c);

/* writer.c: the response writer. */
void corio__hserver_out_reset(corio__hserver_conn *c);
void corio__hserver_out_free(corio__hserver_conn *c);
/* A complete response with a text body, Connection: close when close is true. */
int corio__hserver_out_simple(corio__hserver_conn *c, int status, bool close);
/* After the handler: 500 (or the body error's status) when nothing was sent, the end of a
 * chunked response. Decides c->fate. */
void corio__hserver_out_complete(corio__hserver_conn *c);

/* access_log.c: with opts.access_log, the line for the request just answered (after
 * corio__hserver_out_complete or an answer of the server's own); writes the loop's lines
 * when they pass 64 KiB (parks then). Nothing without a log. */
void corio__hserver_log_request(corio__hserver_conn *c);
/* The loop's lines now (the tick, the end of serving; parks, cancellation-shielded). */
void corio__hserver_log_flush(corio__hserver_loop *hl);
void corio__hserver_log_init(corio__hserver_loop *hl);
/* After the last flush: frees the buffers. */
void corio__hserver_log_fini(corio__hserver_loop *hl);

/* compress.c: gzip of response bodies. While w->gz is set, writer.c hands send, write,
 * file and finish to the gz_ calls, which decide at the first of them (Content-Type known)
 * and free the compressor when they let go of it or when the response is complete. */
typedef struct corio__hserver_gz corio__hserver_gz;
/* The writer's calls a compressor writes through (with itself unhooked meanwhile). */
typedef struct corio__hserver_out_ops {
	int (*send)(corio_http_out *w, const void *body, size_t len);
	int (*write)(corio_http_out *w, const void *data, size_t len);
	int (*file)(corio_http_out *w, int fd, off_t off, uint64_t len);
	int (*finish)(corio_http_out *w);
	int (*header)(corio_http_out *w, const char *name, const char *value);
} corio__hserver_out_ops;
/* Arms a compressor (level -1..9; <= 0: zlib's default). accepts: the client takes gzip
 * in a chunked body. forced: the caller chose gzip and wrote Content-Encoding and Vary
 * itself (no decision). 0, -EALREADY (started), -EINVAL, -ENOMEM. Never parks. */
int corio__hserver_gz_arm(corio_http_out *w, int level, bool accepts, bool forced);
void corio__hserver_gz_free(corio_http_out *w);
/* Accept-Encoding of req (all its fields) accepts gzip. */
bool corio__hserver_accepts_gzip(const corio_http_in *req);
int corio__hserver_gz_send(corio_http_out *w, const corio__hserver_out_ops *ops,
			   const void *body, size_t len);
int corio__hserver_gz_write(corio_http_out *w, const corio__hserver_out_ops *ops,
			    const void *data, size_t len);
int corio__hserver_gz_file(corio_http_out *w, const corio__hserver_out_ops *ops, int fd,
			   off_t off, uint64_t len);
int corio__hserver_gz_finish(corio_http_out *w, const corio__hserver_out_ops *ops);

/* conn.c: a connection's coroutine (arg: the corio__hserver_conn, which it frees). */
void *corio__hserver_conn_main(void *arg);

#endif
