/* http/server/access_log.c: the server's access log (corio_http_access_log): the Common and
 * Combined Log Format line of each answered request, appended to its loop's buffer
 * (corio__hserver_alog: no lock, no syscall per request), and the flush that writes a
 * loop's buffer with one write on the log's O_APPEND descriptor, or hands its lines to the
 * logger. Also the getters a log or a middleware needs (status, body bytes, peer).
 * Called by conn.c (a line per request) and server.c (the tick, the end of serving); it
 * calls nothing of the server's but the request's getters. Flushing parks. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corio/fs.h>

#include "http/server/server_internal.h"
#include "runtime/core/log.h" /* runtime/: the logger, for NULL paths and failures */

#define FLUSH_AT (64u << 10) /* a loop writes its lines once they pass this */
#define LOOP_MAX (8u << 20)  /* lines waiting in one loop beyond this are dropped */

struct corio_http_access_log {
	int fd;                  /* O_APPEND, -1: lines go to the logger */
	int format;
	atomic_bool reported;    /* a failure was reported (once per log) */
};

corio_http_access_log *corio_http_access_log_new(const char *path, int format)
{
	corio_http_access_log *l;

	if (format != CORIO_HTTP_LOG_COMMON && format != CORIO_HTTP_LOG_COMBINED) {
		errno = EINVAL;
		return NULL;
	}
	if (!(l = calloc(1, sizeof *l))) {
		errno = ENOMEM;
		return NULL;
	}
	l->format = format;
	l->fd = -1;
	if (path && (l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
		int e = errno;

		free(l);
		errno = e;
		return NULL;
	}
	return l;
}

void corio_http_access_log_free(corio_http_access_log *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

/* ---- getters ------------------------------------------------------------------------------ */

int corio_http_out_status_code(const corio_http_out *resp)
{
	return resp->status;
}

uint64_t corio_http_out_bytes(const corio_http_out *resp)
{
	return resp->head || resp->no_body ? 0 : resp->sent;
}

int corio_http_in_peer(const corio_http_in *req, struct sockaddr *addr, socklen_t *len)
{
	if (!addr || !len)
		return -EINVAL;
	return getpeername(req->c->fd, addr, len) == 0 ? 0 : -errno;
}

/* ---- formatting --------------------------------------------------------------------------- */

/* The client's numeric address, once per connection (one getpeername when logging). */
static const char *peer_of(corio__hserver_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	const void *a = NULL;

	if (c->peer[0])
		return c->peer;
	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			a = &((struct sockaddr_in *)&ss)->sin_addr;
		else if (ss.ss_family == AF_INET6)
			a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	}
	if (!a || !inet_ntop(ss.ss_family, a, c->peer, sizeof c->peer))
		strcpy(c->peer, "-");
	return c->peer;
}

/* "06/Dec/2026:13:45:09 +0000", formatted at most once a second per loop. */
static const char *date_of(corio__hserver_alog *a)
{
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	if (ts.tv_sec == a->date_sec)
		return a->date;
	a->date_sec = ts.tv_sec;
	gmtime_r(&ts.tv_sec, &tm);
	strftime(a->date, sizeof a->date, "%d/---/%Y:%H:%M:%S +0000", &tm); /* no locale: %b */
	memcpy(a->date + 3, mon[tm.tm_mon], 3);
	return a->date;
}

typedef struct line {
	char *p;
	size_t len, cap;
} line;

static void put(line *l, const char *s, size_t n)
{
	if (n > l->cap - l->len)
		n = l->cap - l->len; /* never: the caller reserved the worst case */
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void put_s(line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Bytes a client could forge a line or a field with become \xHH, \" or \\ (4x at most). */
static void put_escaped(line *l, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *u = (const unsigned char *)s; *u && l->cap - l->len >= 4; u++) {
		if (*u == '"' || *u == '\\') {
			l->p[l->len++] = '\\';
			l->p[l->len++] = (char)*u;
		} else if (*u < 0x20 || *u >= 0x7f) {
			l->p[l->len++] = '\\';
			l->p[l->len++] = 'x';
			l->p[l->len++] = hex[*u >> 4];
			l->p[l->len++] = hex[*u & 15];
		} else {
			l->p[l->len++] = (char)*u;
		}
	}
}

static void put_u64(line *l, uint64_t v)
{
	char tmp[24];
	int i = sizeof tmp;

	do
		tmp[--i] = (char)('0' + v % 10);
	while (v /= 10);
	put(l, tmp + i, sizeof tmp - (size_t)i);
}

/* A quoted header value, "-" when absent. */
static void put_quoted(line *l, const char *v)
{
	put_s(l, " \"");
	if (v)
		put_escaped(l, v);
	else
		put_s(l, "-");
	put_s(l, "\"");
}

/* "GET /x HTTP/1.1", or "-" when the request never got that far. */
static void put_request_line(line *l, const corio_http_in *r)
{
	char v[] = " HTTP/1.1";

	if (!r->method) {
		put_s(l, "-");
		return;
	}
	put_escaped(l, r->method);
	put_s(l, " ");
	put_escaped(l, r->target);
	v[6] = (char)('0' + r->version / 10 % 10);
	v[8] = (char)('0' + r->version % 10);
	put_s(l, v);
}

/* What a line shows of the request: Referer and User-Agent only once the head was complete
 * and only for the combined format, each looked up once. */
typedef struct fields {
	const char *referer, *ua;
} fields;

/* The worst case of one line: every escaped byte quadrupled, plus the fixed parts. */
static size_t line_max(const corio__hserver_conn *c, const fields *f)
{
	const corio_http_in *r = &c->req;
	size_t n = 160 + sizeof c->peer;

	if (r->method)
		n += 4 * (strlen(r->method) + strlen(r->target));
	if (f->referer)
		n += 4 * strlen(f->referer);
	if (f->ua)
		n += 4 * strlen(f->ua);
	return n;
}

static void format_line(corio__hserver_conn *c, line *l, const fields *f, bool combined)
{
	const corio_http_out *w = &c->resp;
	uint64_t bytes = corio_http_out_bytes(w);

	put_s(l, peer_of(c));
	put_s(l, " - - [");
	put_s(l, date_of(&c->hl->alog));
	put_s(l, "] \"");
	put_request_line(l, &c->req);
	put_s(l, "\" ");
	put_u64(l, (uint64_t)w->status);
	put_s(l, " ");
	if (bytes)
		put_u64(l, bytes);
	else
		put_s(l, "-");
	if (combined) {
		put_quoted(l, f->referer);
		put_quoted(l, f->ua);
	}
	put_s(l, "\n");
}

/* ---- buffering and writing ---------------------------------------------------------------- */

static void report(corio_http_access_log *log, int err)
{
	if (!atomic_exchange(&log->reported, true))
		corio__log(CORIO_LOG_ERROR, "access log: %s; lines are dropped, the server goes on",
			   strerror(-err));
}

/* Hands each line (without its newline) to the logger. */
static void to_logger(char *p, size_t len)
{
	char *end = p + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		*nl = 0; /* every line ends with one */
		corio__log_str(CORIO_LOG_INFO, p);
		p = nl + 1;
	}
}

static void *flush_shielded(void *arg)
{
	corio__hserver_loop *hl = arg;
	corio__hserver_alog *a = &hl->alog;
	corio_http_access_log *log = hl->srv->o.access_log;

	corio_mutex_lock(&a->mu); /* another flush of this loop may be writing */
	while (a->buf.len > 0) {
		corio__buf t = a->out;
		ssize_t n = 0;

		a->out = a->buf; /* new lines go to the other buffer meanwhile */
		a->buf = t;
		if (log->fd < 0)
			to_logger(a->out.p, a->out.len);
		else
			n = corio_write_all(log->fd, a->out.p, a->out.len, -1);
		if (n < 0)
			report(log, (int)n);
		a->out.len = 0;
	}
	corio_mutex_unlock(&a->mu);
	return NULL;
}

void corio__hserver_log_flush(corio__hserver_loop *hl)
{
	if (hl->srv->o.access_log && hl->alog.buf.len > 0)
		corio_shield(flush_shielded, hl); /* a cancelled connection loses no line */
}

void corio__hserver_log_request(corio__hserver_conn *c)
{
	corio__hserver_loop *hl = c->hl;
	corio_http_access_log *log = hl->srv->o.access_log;
	fields f = { NULL, NULL };
	bool combined;
	size_t max;
	line l;

	if (!log)
		return;
	combined = log->format == CORIO_HTTP_LOG_COMBINED;
	if (combined && c->req.method) {
		f.referer = corio_http_in_header(&c->req, "Referer");
		f.ua = corio_http_in_header(&c->req, "User-Agent");
	}
	max = line_max(c, &f);
	if (corio__buf_reserve_max(&hl->alog.buf, max, LOOP_MAX) != 0) {
		report(log, -ENOBUFS);
		return;
	}
	l = (line){ hl->alog.buf.p + hl->alog.buf.len, 0, max };
	format_line(c, &l, &f, combined);
	hl->alog.buf.len += l.len;
	if (hl->alog.buf.len >= FLUSH_AT && !corio_mutex_locked(&hl->alog.mu))
		corio__hserver_log_flush(hl);
}

void corio__hserver_log_init(corio__hserver_loop *hl)
{
	hl->alog = (corio__hserver_alog){ .date_sec = -1 };
	corio_mutex_init(&hl->alog.mu);
}

void corio__hserver_log_fini(corio__hserver_loop *hl)
{
	corio__buf_free(&hl->alog.buf);
	corio__buf_free(&hl->alog.out);
}
