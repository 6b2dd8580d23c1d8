/* http/client/form.c: owns the form object of the public API: text fields, file parts (a
 * path, opened only when a request sends the form) and in-memory parts, their checks, and
 * the multipart boundary (random, from getrandom: a boundary a sender can predict lets
 * file contents forge parts). Turning a form into bytes is form_body.c. Never parks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <corio/http_server.h> /* corio_http_mime_type */

#include "http/client/form.h"

static void set_ctype(corio_http_form *f)
{
	snprintf(f->ctype, sizeof f->ctype, "multipart/form-data; boundary=%s", f->boundary);
}

/* 16 random bytes in hex. Should getrandom fail (it does not once the pool is seeded),
 * the clock and the form's address still make a collision with file contents unlikely. */
static void random_boundary(corio_http_form *f)
{
	unsigned char r[16];
	char *p = f->boundary + sprintf(f->boundary, "corio-form-");

	if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)f;
		for (size_t i = 0; i < sizeof r; i++, x = x * 6364136223846793005ull + 1)
			r[i] = (unsigned char)(x >> 56);
	}
	for (size_t i = 0; i < sizeof r; i++)
		p += sprintf(p, "%02x", r[i]);
}

corio_http_form *corio_http_form_new(bool multipart)
{
	corio_http_form *f = calloc(1, sizeof *f);

	if (!f)
		return NULL;
	f->multipart = multipart;
	if (multipart) {
		random_boundary(f);
		set_ctype(f);
	} else {
		snprintf(f->ctype, sizeof f->ctype, "application/x-www-form-urlencoded");
	}
	return f;
}

static void part_free(corio__hclient_part *p)
{
	free(p->name);
	free(p->data);
	free(p->path);
	free(p->filename);
	free(p->ctype);
}

void corio_http_form_free(corio_http_form *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		part_free(&f->parts[i]);
	free(f->parts);
	free(f);
}

const char *corio_http_form_content_type(const corio_http_form *f)
{
	return f ? f->ctype : NULL;
}

int corio__hclient_form_boundary(corio_http_form *f, const char *b)
{
	size_t n = b ? strlen(b) : 0;

	if (!f || !f->multipart || n < 1 || n > 70 || strspn(b, "0123456789abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?") != n)
		return -EINVAL;
	memcpy(f->boundary, b, n + 1);
	set_ctype(f);
	return 0;
}

/* ---- parts ------------------------------------------------------------------------ */

static int push(corio_http_form *f, corio__hclient_part *p)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		corio__hclient_part *np = realloc(f->parts, cap * sizeof *np);

		if (!np)
			return -ENOMEM;
		f->parts = np;
		f->cap = cap;
	}
	f->parts[f->n++] = *p;
	return 0;
}

static char *dup_n(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

/* A content type goes into a part's head as written: no line breaks in it. */
static bool one_line(const char *s)
{
	return !s || !strpbrk(s, "\r\n");
}

/* Adds a part with copies of what is given; p's pointers are the caller's until then. */
static int add(corio_http_form *f, const char *name, const void *data, size_t len,
	       const char *path, const char *filename, const char *ctype)
{
	corio__hclient_part p = {0};
	int rc = -ENOMEM;

	p.name = strdup(name);
	p.data = data ? dup_n(data, len) : NULL;
	p.len = len;
	p.path = path ? strdup(path) : NULL;
	p.filename = filename ? strdup(filename) : NULL;
	p.ctype = ctype ? strdup(ctype) : NULL;
	if (p.name && (!data || p.data) && (!path || p.path) && (!filename || p.filename) &&
	    (!ctype || p.ctype))
		rc = push(f, &p);
	if (rc < 0)
		part_free(&p);
	return rc;
}

int corio_http_form_add(corio_http_form *f, const char *name, const char *value)
{
	if (!f || !name || !value)
		return -EINVAL;
	return add(f, name, value, strlen(value), NULL, NULL, NULL);
}

int corio_http_form_add_file(corio_http_form *f, const char *name, const char *path,
			     const char *filename, const char *content_type)
{
	const char *slash;

	if (!f || !f->multipart || !name || !path || !*path || !one_line(content_type))
		return -EINVAL;
	slash = strrchr(path, '/');
	if (!filename)
		filename = slash ? slash + 1 : path;
	if (!content_type)
		content_type = corio_http_mime_type(filename);
	return add(f, name, NULL, 0, path, filename, content_type);
}

int corio_http_form_add_data(corio_http_form *f, const char *name, const void *data, size_t len,
			     const char *filename, const char *content_type)
{
	if (!f || !f->multipart || !name || (!data && len) || !one_line(content_type))
		return -EINVAL;
	if (!filename)
		filename = "blob";
	if (!content_type)
		content_type = corio_http_mime_type(filename);
	return add(f, name, data ? data : "", len, NULL, filename, content_type);
}
