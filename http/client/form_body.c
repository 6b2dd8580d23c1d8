/* http/client/form_body.c: owns a form as the bytes of one request's body: the urlencoded
 * text (WHATWG application/x-www-form-urlencoded), or the multipart/form-data parts with
 * their heads (names and filenames quoted, '"' CR LF percent-encoded as WHATWG does) and
 * the files streamed with corio_read piece by piece, never loaded whole. The files are
 * opened and measured when the request starts; a file whose size changes after that fails
 * the body with -EIO, whichever way it changed, so that a body is never sent short nor
 * long for the Content-Length it announced. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <corio/fs.h>
#include <corio/net.h>

#include "http/client/form.h"
#include "runtime/util/buf.h"
#include "runtime/util/str.h"

/* A piece of the body: bytes in memory (the body's own text from `at`, or a part's data)
 * or a file. */
typedef struct seg {
	const char *mem;
	size_t at, len;  /* own text: mem is NULL until the text is complete */
	int fd;          /* a file: >= 0 */
	int64_t size;    /* the file's size when opened, -1 when not a regular file */
} seg;

struct corio__hclient_form_body {
	corio__buf text; /* heads and separators, or the whole urlencoded body */
	seg *s;
	size_t n, cap;
	size_t cur;      /* position: segment and offset in it */
	int64_t off;
	int64_t length;  /* -1: unknown */
	bool replayable;
	bool oom;
};

static void text(corio__hclient_form_body *b, const char *p, size_t n)
{
	if (!b->oom && corio__buf_append(&b->text, p, n) != 0)
		b->oom = true;
}

static void text_s(corio__hclient_form_body *b, const char *p)
{
	text(b, p, strlen(p));
}

static seg *seg_add(corio__hclient_form_body *b)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		seg *ns = realloc(b->s, cap * sizeof *ns);

		if (!ns)
			return NULL;
		b->s = ns;
		b->cap = cap;
	}
	b->s[b->n] = (seg){.fd = -1};
	return &b->s[b->n++];
}

/* Ends the text gathered since the last segment as a segment of its own. */
static int text_cut(corio__hclient_form_body *b, size_t *mark)
{
	seg *s;

	if (b->oom)
		return -ENOMEM;
	if (b->text.len == *mark)
		return 0;
	s = seg_add(b);
	if (!s)
		return -ENOMEM;
	s->at = *mark;
	s->len = b->text.len - *mark;
	*mark = b->text.len;
	return 0;
}

/* ---- urlencoded ------------------------------------------------------------------------ */

/* WHATWG's application/x-www-form-urlencoded byte serializer: alphanumerics and "*-._"
 * stay, a space becomes '+', every other byte %XX. */
static void urlencode(corio__hclient_form_body *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[3] = {'%', hex[c >> 4], hex[c & 15]};

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("*-._", c))
			text(b, (const char *)&s[i], 1);
		else if (c == ' ')
			text(b, "+", 1);
		else
			text(b, e, 3);
	}
}

static int build_urlencoded(corio__hclient_form_body *b, const corio_http_form *f)
{
	size_t mark = 0;

	for (size_t i = 0; i < f->n; i++) {
		if (i)
			text(b, "&", 1);
		urlencode(b, f->parts[i].name, strlen(f->parts[i].name));
		text(b, "=", 1);
		urlencode(b, f->parts[i].data, f->parts[i].len);
	}
	return text_cut(b, &mark);
}

/* ---- multipart ------------------------------------------------------------------------- */

/* A name or filename inside quotes: '"', CR and LF percent-encoded (WHATWG's multipart
 * encoding), so that no value can end the quoted string or the header line. */
static void quoted(corio__hclient_form_body *b, const char *s)
{
	text(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"')
			text_s(b, "%22");
		else if (*s == '\r')
			text_s(b, "%0D");
		else if (*s == '\n')
			text_s(b, "%0A");
		else
			text(b, s, 1);
	}
	text(b, "\"", 1);
}

static void part_head(corio__hclient_form_body *b, const corio_http_form *f,
		      const corio__hclient_part *p)
{
	text_s(b, "--");
	text_s(b, f->boundary);
	text_s(b, "\r\nContent-Disposition: form-data; name=");
	quoted(b, p->name);
	if (p->filename) {
		text_s(b, "; filename=");
		quoted(b, p->filename);
	}
	text_s(b, "\r\n");
	if (p->ctype) {
		text_s(b, "Content-Type: ");
		text_s(b, p->ctype);
		text_s(b, "\r\n");
	}
	text_s(b, "\r\n");
}

static int open_file(corio__hclient_form_body *b, const char *path, seg *s)
{
	struct stat st;
	int fd = corio_open(path, O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return fd;
	s->fd = fd;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	s->size = S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
	if (s->size < 0)
		b->replayable = false; /* a pipe or a device reads once */
	return 0;
}

/* The content of part p: its data in the text (no file in the form: the body is one
 * block), a segment over its data, or its file. */
static int part_content(corio__hclient_form_body *b, const corio__hclient_part *p, bool inline_data,
			size_t *mark)
{
	seg *s;
	int rc;

	if (!p->path && inline_data) {
		text(b, p->data, p->len);
		return 0;
	}
	rc = text_cut(b, mark);
	if (rc < 0 || !(s = seg_add(b)))
		return rc < 0 ? rc : -ENOMEM;
	if (!p->path) {
		s->mem = p->data;
		s->len = p->len;
		return 0;
	}
	return open_file(b, p->path, s);
}

static int build_multipart(corio__hclient_form_body *b, const corio_http_form *f)
{
	bool files = false;
	size_t mark = 0;
	int rc;

	for (size_t i = 0; i < f->n; i++)
		files = files || f->parts[i].path;
	for (size_t i = 0; i < f->n; i++) {
		part_head(b, f, &f->parts[i]);
		rc = part_content(b, &f->parts[i], !files, &mark);
		if (rc < 0)
			return rc;
		text_s(b, "\r\n");
	}
	text_s(b, "--");
	text_s(b, f->boundary);
	text_s(b, "--\r\n");
	return text_cut(b, &mark);
}

/* ---- the body ----------------------------------------------------------------------- */

static void measure(corio__hclient_form_body *b)
{
	b->length = 0;
	for (size_t i = 0; i < b->n; i++) {
		seg *s = &b->s[i];

		if (s->fd < 0 && !s->mem)
			s->mem = b->text.p + s->at; /* the text no longer moves */
		if (s->fd >= 0 && s->size < 0)
			b->length = -1;
		if (b->length >= 0)
			b->length += s->fd >= 0 ? s->size : (int64_t)s->len;
	}
}

int corio__hclient_form_open(const corio_http_form *f, corio__hclient_form_body **out)
{
	corio__hclient_form_body *b;
	int rc;

	*out = NULL;
	if (!f)
		return -EINVAL;
	b = calloc(1, sizeof *b);
	if (!b)
		return -ENOMEM;
	b->replayable = true;
	rc = f->multipart ? build_multipart(b, f) : build_urlencoded(b, f);
	if (rc < 0) {
		corio__hclient_form_close(b);
		return rc;
	}
	measure(b);
	*out = b;
	return 0;
}

int64_t corio__hclient_form_length(const corio__hclient_form_body *b)
{
	return b->length;
}

bool corio__hclient_form_mem(const corio__hclient_form_body *b, const void **p, size_t *n)
{
	if (b->n > 1 || (b->n == 1 && b->s[0].fd >= 0))
		return false;
	*p = b->n ? b->s[0].mem : "";
	*n = b->n ? b->s[0].len : 0;
	return true;
}

bool corio__hclient_form_replayable(const corio__hclient_form_body *b)
{
	return b->replayable;
}

/* The next bytes of the file segment s: > 0, 0 at its end (its size checked), -errno. */
static ssize_t file_piece(corio__hclient_form_body *b, const seg *s, char *buf, size_t len)
{
	struct stat st;
	int64_t left = s->size - b->off;
	ssize_t n;

	if (s->size < 0)
		return corio_read(s->fd, buf, len, -1);
	if (left == 0) /* grown since it was measured: the rest would not fit the length */
		return fstat(s->fd, &st) != 0 ? -errno : (st.st_size != s->size ? -EIO : 0);
	n = corio_read(s->fd, buf, (int64_t)len < left ? len : (size_t)left, b->off);
	if (n == 0)
		return -EIO; /* shrunk: the body would fall short of its length */
	if (n > 0)
		b->off += n;
	return n;
}

ssize_t corio__hclient_form_read(void *arg, void *buf, size_t len)
{
	corio__hclient_form_body *b = arg;
	size_t got = 0;

	while (got < len && b->cur < b->n) {
		const seg *s = &b->s[b->cur];

		if (s->fd >= 0) {
			ssize_t n = file_piece(b, s, (char *)buf + got, len - got);

			if (n < 0)
				return n;
			if (n > 0) { /* one read per call: the caller sends what it has */
				got += (size_t)n;
				break;
			}
		} else {
			size_t k = s->len - (size_t)b->off;

			k = k < len - got ? k : len - got;
			memcpy((char *)buf + got, s->mem + b->off, k);
			got += k;
			b->off += (int64_t)k;
			if ((size_t)b->off < s->len)
				continue; /* buf is full */
		}
		b->cur++;
		b->off = 0;
	}
	return (ssize_t)got;
}

int corio__hclient_form_rewind(void *arg)
{
	corio__hclient_form_body *b = arg;

	if (!b->replayable)
		return -ESPIPE;
	b->cur = 0;
	b->off = 0;
	return 0;
}

void corio__hclient_form_close(corio__hclient_form_body *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		if (b->s[i].fd >= 0)
			corio_close(b->s[i].fd);
	free(b->s);
	corio__buf_free(&b->text);
	free(b);
}
