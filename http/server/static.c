/* http/server/static.c: static files: the URL path decoded and normalised ("." and empty
 * segments dropped, ".." refused), the file opened beneath the root with openat2
 * RESOLVE_BENEATH (symlinks cannot leave it either), directories as index.html; the
 * representation chosen (identity, the precompressed .gz sibling, or gzip on the fly
 * through compress.c) with its validators (ETag, Last-Modified) and Cache-Control / Vary;
 * the conditional and partial answers in RFC 9110 13.2.2's order: If-Match and
 * If-Unmodified-Since (412), If-None-Match and If-Modified-Since (304), If-Range and a
 * single Range (206, 416); sent with corio_http_out_file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <corio/fs.h>

#include "http/common/date.h"
#include "http/common/mime.h"
#include "http/common/token.h"
#include "http/server/server_internal.h"

#define PATH_MAX_BYTES 4096

struct corio_http_static {
	int dirfd;
	corio_http_static_opts o; /* o.cache_control points at our own copy */
};

/* upath ("/a/./b%20c/") -> out ("a/b c", relative, "" for the root). *dir_slash: upath names
 * a directory ("/", or a last segment "." or empty), so it must not resolve to a file.
 * 0, or the status to answer: 400 (bad escape, NUL), 403 (".."), 414. */
static int normalise(const char *upath, char *out, size_t cap, bool *dir_slash)
{
	char dec[PATH_MAX_BYTES];
	size_t n = 0, o = 0;

	if (upath[0] != '/')
		return 400;
	for (const char *s = upath; *s; s++) {
		char ch = *s;

		if (ch == '%') {
			int h = corio__hex_digit(s[1]), l = h < 0 ? -1 : corio__hex_digit(s[2]);

			if (l < 0)
				return 400;
			ch = (char)(h * 16 + l);
			s += 2;
			if (ch == '\0')
				return 400;
		}
		if (n + 1 >= sizeof dec)
			return 414;
		dec[n++] = ch;
	}
	dec[n] = '\0';
	/* "/a.txt/." is "/a.txt/" (the "." dropped below): not the file */
	*dir_slash = dec[n - 1] == '/' || (n >= 2 && dec[n - 1] == '.' && dec[n - 2] == '/');
	for (char *seg = dec, *end; *seg; seg = end) {
		size_t len;

		while (*seg == '/')
			seg++;
		end = seg + strcspn(seg, "/");
		len = (size_t)(end - seg);
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.')
			return 403;
		if (o + len + 2 >= cap)
			return 414;
		if (o)
			out[o++] = '/';
		memcpy(out + o, seg, len);
		o += len;
	}
	out[o] = '\0';
	return 0;
}

/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. It stays on the
 * regular file: corio_http_out_file reads cached pages with it (no fcntl per request) and
 * clears it only when io_uring answers -EAGAIN for pages not in the page cache. */
static int open_beneath(int dirfd, const char *rel)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};

	return corio_open2(dirfd, *rel ? rel : ".", &how);
}

static int open_status(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
	case -EXDEV:  /* RESOLVE_BENEATH: the path would leave the root */
	case -ELOOP:
	case -ENAMETOOLONG:
		return 404;
	case -EACCES:
	case -EPERM:
		return 403;
	default:
		return 500;
	}
}

/* A decimal number, saturated at UINT64_MAX: a position that large lies past the end of any
 * file (unsatisfiable as a first-pos, the whole rest as a last-pos or suffix-length). */
static bool digits(const char **s, uint64_t *v)
{
	const char *p = *s;

	*v = 0;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');

		*v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
	}
	*s = p;
	return true;
}

/* A single byte range against size: 1 (*start, *len set), 0 (ignore the header: invalid or
 * several ranges), -1 (unsatisfiable). */
static int parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *len)
{
	uint64_t a, b;

	if (strncasecmp(h, CORIO__LIT("bytes=")) != 0 || strchr(h, ','))
		return 0;
	h += CORIO__SLEN("bytes=");
	while (*h == ' ')
		h++;
	if (*h == '-') {
		h++;
		if (!digits(&h, &b) || *h)
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*len = b < size ? b : size;
		*start = size - *len;
		return 1;
	}
	if (!digits(&h, &a) || *h++ != '-')
		return 0;
	if (*h == '\0') {
		b = UINT64_MAX;
	} else if (!digits(&h, &b) || *h || b < a) {
		return 0;
	}
	if (a >= size)
		return -1;
	if (b >= size)
		b = size - 1;
	*start = a;
	*len = b - a + 1;
	return 1;
}

/* The request's path as a Location (it begins with '/'): runs of '/' merged, so that it never
 * begins with "//" (a scheme-relative reference: "//sub/" is the host "sub", an open
 * redirect), and a backslash as "%5C" (browsers read "/\host" as "//host"). out holds 3 bytes
 * per byte of path. Returns the length written. */
static size_t location_path(const char *path, char *out)
{
	size_t o = 0;

	for (const char *s = path; *s; s++) {
		if (*s == '/' && o && out[o - 1] == '/')
			continue;
		if (*s == '\\')
			memcpy(out + o, "%5C", 3), o += 3;
		else
			out[o++] = *s;
	}
	return o;
}

/* To the request's own path (upath may be a part of it) with a '/' added. */
static int redirect_slash(corio_http_in *req, corio_http_out *resp)
{
	size_t n = 3 * strlen(req->path) + strlen(req->query) + 3;
	char *loc = malloc(n);
	size_t o;
	int rc;

	if (!loc)
		return corio_http_out_error(resp, 500);
	o = location_path(req->path, loc);
	snprintf(loc + o, n - o, "/%s%s", *req->query ? "?" : "", req->query);
	corio_http_out_status(resp, 301);
	rc = corio_http_out_header(resp, "Location", loc);
	free(loc);
	if (rc < 0)
		return corio_http_out_error(resp, 400);
	return corio_http_out_send(resp, "", 0);
}

/* The value of the one field named name; NULL when there is none, or several: RFC 9110
 * 13.1.3 has an If-Modified-Since of more than one member ignored, and two Range lines
 * would combine into a list of ranges, which is ignored too (a range list is never served). */
static const char *single_field(const corio_http_in *req, const char *name)
{
	const char *v = NULL, *n, *val;

	for (size_t i = 0; corio_http_in_header_at(req, i, &n, &val) == 0; i++)
		if (strcasecmp(n, name) == 0) {
			if (v)
				return NULL;
			v = val;
		}
	return v;
}

/* ---- validators and preconditions (RFC 9110 8.8, 13) ----------------------------------- */

/* The strong ETag of a file: inode, size and mtime in nanoseconds, in hex ("-gz" added for
 * the gzip made on the fly from it). A file rewritten in place changes size or mtime;
 * one replaced by a rename changes inode. */
static void make_etag(char *out, size_t cap, const struct statx *st, const char *suffix)
{
	uint64_t ns = (uint64_t)st->stx_mtime.tv_sec * 1000000000u + st->stx_mtime.tv_nsec;

	snprintf(out, cap, "\"%llx-%llx-%llx%s\"", (unsigned long long)st->stx_ino,
		 (unsigned long long)st->stx_size, (unsigned long long)ns, suffix);
}

/* Whether the entity-tag list v (If-Match, If-None-Match) holds etag (a strong tag, with
 * its quotes). weak: the weak comparison (W/ ignored), else a weak tag never matches. "*"
 * matches (the file exists). A malformed list matches nothing from where it breaks. */
static bool etag_in_list(const char *v, const char *etag, bool weak)
{
	size_t el = strlen(etag);

	for (;;) {
		bool w = false;
		const char *q;

		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (*v == '*')
			return true;
		if (v[0] == 'W' && v[1] == '/')
			w = true, v += 2;
		if (*v != '"' || !(q = strchr(v + 1, '"')))
			return false;
		if ((size_t)(q + 1 - v) == el && memcmp(v, etag, el) == 0 && (weak || !w))
			return true;
		for (v = q + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (*v != ',')
			return false; /* the end, or garbage after a tag */
	}
}

/* Over every field named name (they make one list): -1 none, 1 etag listed, 0 not. */
static int etag_fields(const corio_http_in *req, const char *name, const char *etag, bool weak)
{
	const char *n, *v;
	int r = -1;

	for (size_t i = 0; corio_http_in_header_at(req, i, &n, &v) == 0; i++)
		if (strcasecmp(n, name) == 0) {
			if (etag_in_list(v, etag, weak))
				return 1;
			r = 0;
		}
	return r;
}

/* What a file is answered with, and what is known about it. */
enum { ENC_IDENTITY, ENC_GZ_FILE, ENC_GZ_FLY };
typedef struct rep {
	int fd;                    /* the bytes sent: the file, or its .gz sibling */
	const struct statx *st;    /* of fd */
	int enc;
	bool varies;               /* Vary: Accept-Encoding */
	char etag[96];
} rep;

/* RFC 9110 13.2.2, steps 1-4: 0 (go on), or the 412 / 304 sent. *done tells. */
static int preconditions(corio_http_in *req, corio_http_out *resp, const rep *r, bool *done)
{
	int64_t mtime = r->st->stx_mtime.tv_sec, t;
	const char *ims = single_field(req, "if-modified-since");
	const char *ius = single_field(req, "if-unmodified-since");
	int im = etag_fields(req, "if-match", r->etag, false);
	int inm = etag_fields(req, "if-none-match", r->etag, true);

	*done = true;
	if (im == 0 || (im < 0 && ius && (t = corio__http_parse_date(ius)) >= 0 && mtime > t))
		return corio_http_out_error(resp, 412);
	if (inm == 1 || (inm < 0 && ims && (t = corio__http_parse_date(ims)) >= 0 && mtime <= t)) {
		corio_http_out_status(resp, 304); /* GET and HEAD only come here */
		return corio_http_out_send(resp, "", 0);
	}
	*done = false;
	return 0;
}

/* Step 5: the Range is honoured without If-Range, or when If-Range (given once) is the
 * ETag (strong comparison: a W/ tag never is) or exactly the Last-Modified date. */
static bool if_range_holds(const corio_http_in *req, const rep *r)
{
	const char *ir = corio_http_in_header(req, "if-range");

	if (!ir)
		return true;
	if (!single_field(req, "if-range"))
		return false;
	if (ir[0] == '"' || (ir[0] == 'W' && ir[1] == '/'))
		return strcmp(ir, r->etag) == 0;
	return corio__http_parse_date(ir) == r->st->stx_mtime.tv_sec;
}

/* ---- choosing the representation ------------------------------------------------------- */

/* <leaf>.gz beside the file, if it is a regular file not older than it: its fd, else -1. */
static int open_gz(int dirfd, const char *leaf, const struct statx *st, struct statx *gst)
{
	char p[PATH_MAX_BYTES];
	int fd;

	if ((size_t)snprintf(p, sizeof p, "%s.gz", leaf) >= sizeof p)
		return -1;
	if ((fd = open_beneath(dirfd, p)) < 0)
		return -1;
	if (corio_fstat(fd, gst) == 0 && S_ISREG(gst->stx_mode) &&
	    (gst->stx_mtime.tv_sec > st->stx_mtime.tv_sec ||
	     (gst->stx_mtime.tv_sec == st->stx_mtime.tv_sec &&
	      gst->stx_mtime.tv_nsec >= st->stx_mtime.tv_nsec)))
		return fd;
	corio_close(fd);
	return -1;
}

/* Identity, the .gz sibling or gzip on the fly; a request with a Range gets identity. */
static void choose(const corio_http_static_opts *o, corio_http_in *req, int dirfd,
		   const char *leaf, rep *r, struct statx *gst, const char *ctype)
{
	r->varies = (o->gzip || o->precompressed) && corio__http_compressible(ctype);
	r->enc = ENC_IDENTITY;
	if (r->varies && !corio_http_in_header(req, "range") && corio__hserver_accepts_gzip(req)) {
		int gz = o->precompressed ? open_gz(dirfd, leaf, r->st, gst) : -1;

		if (gz >= 0) {
			r->fd = gz;
			r->st = gst;
			r->enc = ENC_GZ_FILE;
		} else if (o->gzip && req->version >= 11 &&
			   r->st->stx_size >= (o->gzip_min ? o->gzip_min : 1024)) {
			r->enc = ENC_GZ_FLY; /* chunked: not for HTTP/1.0 */
		}
	}
	make_etag(r->etag, sizeof r->etag, r->st, r->enc == ENC_GZ_FLY ? "-gz" : "");
}

/* ---- answering ---------------------------------------------------------------------------- */

/* The body: a range or the whole of r->fd, or the file through gzip. */
static int send_body(corio_http_in *req, corio_http_out *resp, const rep *r,
		     const corio_http_static_opts *o, const char *ctype)
{
	uint64_t size = r->st->stx_size, start = 0, len = size;
	const char *range = single_field(req, "range");
	char cr[80];
	int k = 0;

	if (r->enc == ENC_IDENTITY && range && if_range_holds(req, r))
		k = parse_range(range, size, &start, &len);
	if (k < 0) {
		snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
		corio_http_out_header(resp, "Content-Range", cr);
		return corio_http_out_error(resp, 416);
	}
	corio_http_out_header(resp, "Content-Type", ctype); /* not on the 416: it has its own */
	if (k > 0) {
		snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)start,
			 (unsigned long long)(start + len - 1), (unsigned long long)size);
		corio_http_out_header(resp, "Content-Range", cr);
		corio_http_out_status(resp, 206);
	}
	if (r->enc != ENC_IDENTITY)
		corio_http_out_header(resp, "Content-Encoding", "gzip");
	if (r->enc == ENC_GZ_FLY) {
		int rc = corio__hserver_gz_arm(resp, o->gzip_level, true, true);

		if (rc < 0)
			return rc;
	}
	return corio_http_out_file(resp, r->fd, (off_t)start, len);
}

/* The file is open and regular: answers 200, 206, 304, 412 or 416. */
static int send_file(corio_http_in *req, corio_http_out *resp, const corio_http_static_opts *o,
		     int dirfd, const char *leaf, int fd, const struct statx *st, const char *name)
{
	const char *ctype = corio_http_mime_type(name);
	rep r = { .fd = fd, .st = st };
	struct statx gst;
	char lm[32];
	bool done;
	int rc;

	choose(o, req, dirfd, leaf, &r, &gst, ctype);
	corio__http_date(lm, r.st->stx_mtime.tv_sec);
	corio_http_out_header(resp, "Last-Modified", lm);
	corio_http_out_header(resp, "ETag", r.etag);
	corio_http_out_header(resp, "Accept-Ranges", "bytes");
	if (o->cache_control)
		corio_http_out_header(resp, "Cache-Control", o->cache_control);
	if (r.varies)
		corio_http_out_header(resp, "Vary", "Accept-Encoding");
	rc = preconditions(req, resp, &r, &done);
	if (!done) {
		rc = send_body(req, resp, &r, o, ctype);
		if (rc < 0 && !corio_http_out_started(resp)) {
			corio__hserver_out_reset(resp->c); /* the headers above described the file */
			rc = corio_http_out_error(resp, 500);
		}
	}
	if (r.fd != fd)
		corio_close(r.fd);
	return rc;
}

/* A directory's index.html beneath dfd, with its statx: the fd, or -errno (-EIO, which
 * open_status answers with 500, when the statx failed). */
static int open_index(int dfd, struct statx *st)
{
	int fd = open_beneath(dfd, "index.html");

	if (fd >= 0 && corio_fstat(fd, st) < 0) {
		corio_close(fd);
		return -EIO;
	}
	return fd;
}

/* The directory (dfd) and the leaf name of the file to send, for its .gz sibling: fd is
 * closed and either the root's descendant opened by rel, or a directory's index.html. */
static int serve_at(const corio_http_static_opts *o, int dirfd, corio_http_in *req,
		    corio_http_out *resp, const char *upath)
{
	char rel[PATH_MAX_BYTES];
	struct statx st;
	bool slash;
	int fd, dfd = dirfd, rc;

	if (!upath)
		upath = corio_http_in_path(req);
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		corio_http_out_header(resp, "Allow", "GET, HEAD");
		return corio_http_out_error(resp, 405);
	}
	if ((rc = normalise(upath, rel, sizeof rel, &slash)) != 0)
		return corio_http_out_error(resp, rc);
	if ((fd = open_beneath(dirfd, rel)) < 0)
		return corio_http_out_error(resp, open_status(fd));
	if ((rc = corio_fstat(fd, &st)) < 0) {
		corio_close(fd);
		return corio_http_out_error(resp, 500);
	}
	if (slash && !S_ISDIR(st.stx_mode)) {
		corio_close(fd); /* "/a.txt/": a file is no directory (404, as nginx answers) */
		return corio_http_out_error(resp, 404);
	}
	if (S_ISDIR(st.stx_mode)) {
		if (!slash && *rel) {
			corio_close(fd);
			return redirect_slash(req, resp);
		}
		dfd = fd; /* kept open: index.html.gz is looked up in it */
		if ((fd = open_index(dfd, &st)) < 0) {
			corio_close(dfd);
			return corio_http_out_error(resp, open_status(fd));
		}
		strcpy(rel, "index.html");
	}
	rc = S_ISREG(st.stx_mode) ? send_file(req, resp, o, dfd, rel, fd, &st, rel)
				  : corio_http_out_error(resp, 404);
	corio_close(fd);
	if (dfd != dirfd)
		corio_close(dfd);
	return rc;
}

void corio_http_static_opts_init(corio_http_static_opts *o)
{
	memset(o, 0, sizeof *o);
}

corio_http_static *corio_http_static_new_opts(const char *root_dir, const corio_http_static_opts *o)
{
	corio_http_static *st;
	int fd;

	if (!root_dir || (o && (o->gzip_level < 0 || o->gzip_level > 9 ||
				(o->cache_control && !corio__http_valid_value(o->cache_control))))) {
		errno = EINVAL;
		return NULL;
	}
	fd = open(root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (!(st = calloc(1, sizeof *st)))
		goto nomem;
	if (o)
		st->o = *o;
	if (o && o->cache_control && !(st->o.cache_control = strdup(o->cache_control)))
		goto nomem;
	st->dirfd = fd;
	return st;
nomem:
	free(st);
	close(fd);
	errno = ENOMEM;
	return NULL;
}

corio_http_static *corio_http_static_new(const char *root_dir)
{
	return corio_http_static_new_opts(root_dir, NULL);
}

void corio_http_static_free(corio_http_static *st)
{
	if (st) {
		close(st->dirfd);
		free((char *)st->o.cache_control);
		free(st);
	}
}

int corio_http_static_serve(corio_http_static *st, corio_http_in *req, corio_http_out *resp,
			    const char *upath)
{
	return serve_at(&st->o, st->dirfd, req, resp, upath);
}

void corio_http_static_handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	corio_http_static_serve(ud, req, resp, NULL);
}

int corio_http_serve_file(corio_http_in *req, corio_http_out *resp, const char *root_dir,
			  const char *upath)
{
	static const corio_http_static_opts defaults;
	int dirfd, rc;

	if (!root_dir)
		return -EINVAL;
	dirfd = corio_open(root_dir, O_PATH | O_DIRECTORY, 0);
	if (dirfd < 0)
		return corio_http_out_error(resp, dirfd == -ENOENT ? 404 : 500);
	rc = serve_at(&defaults, dirfd, req, resp, upath);
	corio_close(dirfd);
	return rc;
}
