/* http/server/static.c: static files: the URL path decoded and normalised ("." and empty
 * segments dropped, ".." refused), the file opened beneath the root with openat2
 * RESOLVE_BENEATH (symlinks cannot leave it either), directories as index.html, and the
 * conditional and partial answers: Last-Modified, If-Modified-Since (304), a single Range
 * (206, 416), sent with corio_http_out_file. */
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
#include "http/server/server_internal.h"

#define PATH_MAX_BYTES 4096

struct corio_http_static {
	int dirfd;
};

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

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
			int h = hexval(s[1]), l = h < 0 ? -1 : hexval(s[2]);

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

/* The file is open and regular: answers 200, 206, 304 or 416. */
static int send_file(corio_http_in *req, corio_http_out *resp, int fd, const struct statx *st,
		     const char *name)
{
	uint64_t size = st->stx_size, start = 0, len = size;
	int64_t mtime = st->stx_mtime.tv_sec;
	const char *ims = single_field(req, "if-modified-since");
	const char *range = single_field(req, "range");
	const char *if_range = corio_http_in_header(req, "if-range");
	char lm[32], cr[80];
	int r = 0;

	corio__http_date(lm, mtime);
	corio_http_out_header(resp, "Last-Modified", lm);
	corio_http_out_header(resp, "Accept-Ranges", "bytes");
	if (ims && !corio_http_in_header(req, "if-none-match")) {
		int64_t t = corio__http_parse_date(ims);

		if (t >= 0 && mtime <= t) {
			corio_http_out_status(resp, 304);
			return corio_http_out_send(resp, "", 0);
		}
	}
	/* An If-Range given twice, or with another date, or an entity-tag: the whole file. */
	if (range && (!if_range || (single_field(req, "if-range") &&
				    corio__http_parse_date(if_range) == mtime)))
		r = parse_range(range, size, &start, &len);
	if (r < 0) {
		snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
		corio_http_out_header(resp, "Content-Range", cr);
		return corio_http_out_error(resp, 416);
	}
	corio_http_out_header(resp, "Content-Type", corio_http_mime_type(name));
	if (r > 0) {
		snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)start,
			 (unsigned long long)(start + len - 1), (unsigned long long)size);
		corio_http_out_header(resp, "Content-Range", cr);
		corio_http_out_status(resp, 206);
	}
	r = corio_http_out_file(resp, fd, (off_t)start, len);
	if (r < 0 && !corio_http_out_started(resp)) {
		corio__hserver_out_reset(resp->c); /* the headers above described the file */
		return corio_http_out_error(resp, 500);
	}
	return r;
}

static int serve_at(int dirfd, corio_http_in *req, corio_http_out *resp, const char *upath)
{
	char rel[PATH_MAX_BYTES];
	struct statx st;
	bool slash;
	int fd, rc;

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
	if ((rc = corio_fstat(fd, &st)) < 0)
		goto fail;
	if (slash && !S_ISDIR(st.stx_mode)) {
		corio_close(fd); /* "/a.txt/": a file is no directory (404, as nginx answers) */
		return corio_http_out_error(resp, 404);
	}
	if (S_ISDIR(st.stx_mode)) {
		int idx;

		if (!slash && *rel) {
			corio_close(fd);
			return redirect_slash(req, resp);
		}
		idx = open_beneath(fd, "index.html");
		corio_close(fd);
		if ((fd = idx) < 0)
			return corio_http_out_error(resp, open_status(fd));
		if ((rc = corio_fstat(fd, &st)) < 0)
			goto fail;
		strcpy(rel, "index.html");
	}
	if (!S_ISREG(st.stx_mode)) {
		corio_close(fd);
		return corio_http_out_error(resp, 404);
	}
	rc = send_file(req, resp, fd, &st, rel);
	corio_close(fd);
	return rc;
fail:
	corio_close(fd);
	return corio_http_out_error(resp, 500);
}

corio_http_static *corio_http_static_new(const char *root_dir)
{
	corio_http_static *st;
	int fd;

	if (!root_dir) {
		errno = EINVAL;
		return NULL;
	}
	fd = open(root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (!(st = malloc(sizeof *st))) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	st->dirfd = fd;
	return st;
}

void corio_http_static_free(corio_http_static *st)
{
	if (st) {
		close(st->dirfd);
		free(st);
	}
}

int corio_http_static_serve(corio_http_static *st, corio_http_in *req, corio_http_out *resp,
			    const char *upath)
{
	return serve_at(st->dirfd, req, resp, upath);
}

void corio_http_static_handler(corio_http_in *req, corio_http_out *resp, void *ud)
{
	corio_http_static_serve(ud, req, resp, NULL);
}

int corio_http_serve_file(corio_http_in *req, corio_http_out *resp, const char *root_dir,
			  const char *upath)
{
	int dirfd, rc;

	if (!root_dir)
		return -EINVAL;
	dirfd = corio_open(root_dir, O_PATH | O_DIRECTORY, 0);
	if (dirfd < 0)
		return corio_http_out_error(resp, dirfd == -ENOENT ? 404 : 500);
	rc = serve_at(dirfd, req, resp, upath);
	corio_close(dirfd);
	return rc;
}
