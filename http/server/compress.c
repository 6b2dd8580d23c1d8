/* http/server/compress.c: gzip of response bodies as they are written (opt-in:
 * corio_http_out_compress, corio_http_compress_middleware, and the static files' on-the-fly
 * gzip). A compressor hangs on the writer (corio_http_out.gz); writer.c hands send, write,
 * file and finish to it while it is there, with a table of its own calls to write through
 * (compress.c calls nothing in writer.c by name: calls between the files go one way).
 * The decision waits for the first of those calls, when the handler's headers are known: a
 * compressible Content-Type (mime.h), no Content-Encoding or Content-Range of the handler's
 * own, a status with a body, a client on HTTP/1.1 that accepts gzip, and a body not known
 * to be tiny. A compressible type gets "Vary: Accept-Encoding" whatever the answer; when
 * the answer is no, the compressor lets go and the writer goes on as if it was never there.
 *
 * Memory stays bounded: an output buffer of 64 KiB at most and zlib's own state (about
 * 256 KiB at the full window; a window and hash sized to the body when its length is
 * known), freed when the response finishes; file bodies are read 64 KiB at a time.
 * Streamed writes are flushed (Z_SYNC_FLUSH) at every corio_http_out_write, so a streaming
 * handler's pieces reach the client when written; file bodies and large sends flush only
 * when the output buffer is full. Parks where the writer parks (sends) and in corio_read. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include <corio/fs.h>

#include "http/common/coding.h"
#include "http/common/mime.h"
#include "http/server/server_internal.h"

#define GZ_BUF (64u << 10)      /* output buffer, and the file read size */
#define GZ_MIN 256u             /* bodies known to be shorter stay identity: gzip's
				 * 20-byte frame would eat most of what it saves */
#define SEND_WHOLE (256u << 10) /* send() bodies up to this are compressed in one go, with a
				 * Content-Length; larger ones are streamed (chunked) */

struct corio__hserver_gz {
	z_stream z;
	int level;
	bool accepts;  /* the client takes gzip (and can take a chunked body) */
	bool forced;   /* the caller (static.c) decided and wrote the headers itself */
	bool decided, zinit;
	const corio__hserver_out_ops *ops; /* the writer's own calls, from the hook running */
	unsigned char *out; /* cap bytes once streaming; [0, pend) not sent yet */
	size_t pend, cap;
};

void corio__hserver_gz_free(corio_http_out *w)
{
	corio__hserver_gz *g = w->gz;

	if (!g)
		return;
	if (g->zinit)
		deflateEnd(&g->z);
	free(g->out);
	free(g);
	w->gz = NULL;
}

int corio__hserver_gz_arm(corio_http_out *w, int level, bool accepts, bool forced)
{
	corio__hserver_gz *g;

	if (w->started || (w->gz && w->gz->decided && !w->gz->forced))
		return -EALREADY; /* bytes may already sit in the stream */
	if (level < -1 || level > 9)
		return -EINVAL;
	if (!w->gz && !(w->gz = calloc(1, sizeof *w->gz)))
		return -ENOMEM;
	g = w->gz;
	g->level = level <= 0 ? Z_DEFAULT_COMPRESSION : level;
	g->accepts = accepts;
	g->forced = g->decided = forced;
	return 0;
}

bool corio__hserver_accepts_gzip(const corio_http_in *req)
{
	corio__http_accept a;
	const char *n, *v;

	corio__http_accept_init(&a);
	for (size_t i = 0; corio_http_in_header_at(req, i, &n, &v) == 0; i++)
		if (strcasecmp(n, "accept-encoding") == 0)
			corio__http_accept_add(&a, v);
	return corio__http_accept_gzip(&a);
}

/* ---- the decision ----------------------------------------------------------------------- */

/* The value of the handler's header name in w->hdr ("Name: value\r\n" lines; values hold
 * no CR or LF, the writer checked), NULL when absent. It ends at the "\r". */
static const char *hdr_find(const corio_http_out *w, const char *name)
{
	size_t nl = strlen(name);
	const char *p = w->hdr.p, *end = p + w->hdr.len;

	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			break;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0)
			return p + nl + 2;
		p = eol + 1;
	}
	return NULL;
}

/* The handler's Vary already names Accept-Encoding (or "*"): no second one. */
static bool varies_already(const corio_http_out *w)
{
	const char *v = hdr_find(w, "vary");
	size_t n = v ? strcspn(v, "\r") : 0;

	for (size_t i = 0; i < n; i++)
		if (v[i] == '*' || (n - i >= 15 && strncasecmp(v + i, "accept-encoding", 15) == 0))
			return true;
	return false;
}

/* A strong ETag the handler set names its identity bytes; the gzip bytes are another
 * representation, so it is made weak (W/"x"): still good for If-None-Match, never
 * mistaken for the identity bytes by a Range request's If-Range. */
static int weaken_etag(corio_http_out *w)
{
	const char *v = hdr_find(w, "etag");
	size_t at;

	if (!v || *v != '"')
		return 0;
	at = (size_t)(v - w->hdr.p);
	if (corio__buf_reserve(&w->hdr, 2) != 0)
		return -ENOMEM;
	memmove(w->hdr.p + at + 2, w->hdr.p + at, w->hdr.len - at);
	memcpy(w->hdr.p + at, "W/", 2);
	w->hdr.len += 2;
	return 0;
}

/* Whether this response is compressed; len: the body's size, SIZE_MAX when unknown. Adds
 * Vary (and Content-Encoding) to the handler's headers. */
static bool decide(corio_http_out *w, corio__hserver_gz *g, size_t len)
{
	int st = w->status;

	if (g->decided)
		return true;
	g->decided = true;
	if (!corio__http_compressible(hdr_find(w, "content-type")) ||
	    hdr_find(w, "content-encoding") || hdr_find(w, "content-range") || st == 206)
		return false; /* not ours to code, or a part of the identity bytes */
	if (!varies_already(w) && g->ops->header(w, "Vary", "Accept-Encoding") < 0)
		return false;
	if (!g->accepts || st < 200 || st == 204 || st == 304 || len < GZ_MIN)
		return false;
	if (weaken_etag(w) < 0 || g->ops->header(w, "Content-Encoding", "gzip") < 0)
		return false;
	w->has_length = false; /* an announced length was the identity body's */
	return true;
}

/* zlib's stream, sized for a body of len bytes (SIZE_MAX: unknown): a window as large as
 * the body is enough, and a smaller hash with it (zlib's state is about 256 KiB at the
 * full window and memLevel 8, 10 KiB for a 4 KiB body: a per-request allocation that
 * decides the cost of small files). The gzip wrapper is asked for with windowBits + 16.
 * buffer: an output buffer too, up to GZ_BUF. */
static int stream_init(corio__hserver_gz *g, size_t len, bool buffer)
{
	int bits = 9;

	while (bits < 15 && ((size_t)1 << bits) < len)
		bits++;
	if (!g->zinit) {
		if (deflateInit2(&g->z, g->level, Z_DEFLATED, 16 + bits, bits - 7,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		g->zinit = true;
	}
	if (buffer && !g->out) {
		uLong bound = deflateBound(&g->z, len < GZ_BUF ? (uLong)len : GZ_BUF);

		g->cap = bound < GZ_BUF ? (size_t)bound : GZ_BUF;
		if (!(g->out = malloc(g->cap)))
			return -ENOMEM;
	}
	return 0;
}

/* ---- writing through the stream ---------------------------------------------------------- */

/* The writer's own calls, with the compressor out of their way (they would hand the call
 * back here). */
static int raw_write(corio_http_out *w, const void *data, size_t len)
{
	corio__hserver_gz *g = w->gz;
	int rc;

	w->gz = NULL;
	rc = g->ops->write(w, data, len);
	w->gz = g;
	return rc;
}

/* Deflates in[0..len) with flush, sending the output whenever the buffer fills (and what
 * is left when flush is not Z_NO_FLUSH). */
static int pump(corio_http_out *w, const void *in, size_t len, int flush)
{
	corio__hserver_gz *g = w->gz;
	int rc;

	do {
		uInt take = len > (1u << 30) ? 1u << 30 : (uInt)len;
		int f = take == len ? flush : Z_NO_FLUSH;
		int zr;

		g->z.next_in = (Bytef *)(uintptr_t)in;
		g->z.avail_in = take;
		do {
			g->z.next_out = g->out + g->pend;
			g->z.avail_out = (uInt)(g->cap - g->pend);
			zr = deflate(&g->z, f);
			g->pend = g->cap - g->z.avail_out;
			if (zr == Z_STREAM_ERROR)
				return -EIO;
			if (zr == Z_BUF_ERROR && g->z.avail_out)
				break; /* nothing in, nothing left to flush */
			if (g->pend == g->cap || (f != Z_NO_FLUSH && g->z.avail_out && g->pend)) {
				if ((rc = raw_write(w, g->out, g->pend)) < 0)
					return rc;
				g->pend = 0;
			}
		} while (g->z.avail_out == 0 || (f == Z_FINISH && zr != Z_STREAM_END));
		in = (const char *)in + take;
		len -= take;
	} while (len);
	return 0;
}

int corio__hserver_gz_write(corio_http_out *w, const corio__hserver_out_ops *ops,
			    const void *data, size_t len)
{
	int rc;

	if (!data && len)
		return -EINVAL;
	w->gz->ops = ops;
	if (!decide(w, w->gz, SIZE_MAX)) {
		corio__hserver_gz_free(w);
		return ops->write(w, data, len);
	}
	if (len == 0 || w->head)
		return raw_write(w, "", 0); /* starts the response; HEAD sends no body bytes */
	if ((rc = stream_init(w->gz, SIZE_MAX, true)) < 0)
		return rc;
	return pump(w, data, len, Z_SYNC_FLUSH);
}

int corio__hserver_gz_finish(corio_http_out *w, const corio__hserver_out_ops *ops)
{
	int rc = 0;

	w->gz->ops = ops;
	if (!decide(w, w->gz, w->started ? SIZE_MAX : 0)) {
		corio__hserver_gz_free(w);
		return ops->finish(w);
	}
	if (!w->head && (rc = stream_init(w->gz, SIZE_MAX, true)) == 0)
		rc = pump(w, NULL, 0, Z_FINISH);
	if (rc == 0 && !w->started)
		rc = raw_write(w, "", 0);
	corio__hserver_gz_free(w);
	return rc < 0 ? rc : ops->finish(w);
}

/* A body from memory compressed whole: its length is known, so it goes with a
 * Content-Length like any send. */
static int send_whole(corio_http_out *w, const void *body, size_t len)
{
	corio__hserver_gz *g = w->gz;
	const corio__hserver_out_ops *ops = g->ops;
	unsigned char *buf;
	uLong cap;
	int rc;

	if ((rc = stream_init(g, len, false)) < 0)
		return rc;
	cap = deflateBound(&g->z, (uLong)len);
	if (!(buf = malloc(cap)))
		return -ENOMEM;
	g->z.next_in = (Bytef *)(uintptr_t)body;
	g->z.avail_in = (uInt)len;
	g->z.next_out = buf;
	g->z.avail_out = (uInt)cap;
	rc = deflate(&g->z, Z_FINISH) == Z_STREAM_END ? 0 : -EIO;
	cap -= g->z.avail_out;
	corio__hserver_gz_free(w);
	if (rc == 0)
		rc = ops->send(w, buf, cap);
	free(buf);
	return rc;
}

int corio__hserver_gz_send(corio_http_out *w, const corio__hserver_out_ops *ops,
			   const void *body, size_t len)
{
	int rc;

	if (!body && len)
		return -EINVAL;
	w->gz->ops = ops;
	if (!decide(w, w->gz, len)) {
		corio__hserver_gz_free(w);
		return ops->send(w, body, len);
	}
	if (len <= SEND_WHOLE)
		return send_whole(w, body, len);
	if ((rc = stream_init(w->gz, len, true)) == 0 && !w->head)
		rc = pump(w, body, len, Z_NO_FLUSH);
	return rc < 0 ? rc : corio__hserver_gz_finish(w, ops);
}

/* Reads len bytes of fd from off through the stream, GZ_BUF at a time. */
static int pump_file(corio_http_out *w, int fd, off_t off, uint64_t len)
{
	char *in = malloc(len < GZ_BUF ? (size_t)len + 1 : GZ_BUF);
	int rc = in ? 0 : -ENOMEM;
	int fl = fcntl(fd, F_GETFL);

	/* O_NONBLOCK (static.c opens files so) would have io_uring answer -EAGAIN for pages
	 * not cached; compressing costs far more than this one fcntl. */
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	while (rc == 0 && len) {
		size_t want = len < GZ_BUF ? (size_t)len : GZ_BUF;
		ssize_t n = corio_read(fd, in, want, off);

		if (n <= 0) {
			rc = n < 0 ? (int)n : -EIO; /* the file shrank under us */
			break;
		}
		rc = pump(w, in, (size_t)n, Z_NO_FLUSH);
		off += n;
		len -= (uint64_t)n;
	}
	free(in);
	return rc;
}

int corio__hserver_gz_file(corio_http_out *w, const corio__hserver_out_ops *ops, int fd,
			   off_t off, uint64_t len)
{
	int rc = 0;

	if (fd < 0 || off < 0)
		return -EINVAL;
	w->gz->ops = ops;
	if (!decide(w, w->gz, len > SIZE_MAX ? SIZE_MAX : (size_t)len)) {
		corio__hserver_gz_free(w);
		return ops->file(w, fd, off, len);
	}
	if (!w->head && (rc = stream_init(w->gz, len > SIZE_MAX ? SIZE_MAX : (size_t)len, true)) == 0)
		rc = pump_file(w, fd, off, len);
	if (rc < 0) {
		corio__hserver_gz_free(w);
		/* Nothing went out yet: the caller may still answer (static.c sends a 500).
		 * Otherwise the body is cut short and the connection must go. */
		return w->started ? corio__hserver_broke(w->c, rc) : rc;
	}
	return corio__hserver_gz_finish(w, ops);
}

/* ---- the public calls ------------------------------------------------------------------- */

int corio_http_out_compress(corio_http_out *resp, const corio_http_in *req, int level)
{
	if (!resp || !req)
		return -EINVAL;
	return corio__hserver_gz_arm(resp, level, req->version >= 11 &&
					 corio__hserver_accepts_gzip(req), false);
}

void corio_http_compress_middleware(corio_http_in *req, corio_http_out *resp,
				    corio_http_handler next, void *next_ud, void *ud)
{
	/* Without memory for the compressor the answer simply goes out uncompressed. */
	(void)corio_http_out_compress(resp, req, ud ? *(const int *)ud : -1);
	next(req, resp, next_ud);
}
