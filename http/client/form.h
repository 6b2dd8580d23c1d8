/* http/client/form.h: a form as the client sends it (form.c builds it, form_body.c turns it
 * into a request body): the parts in order and, for one request, the body being sent with
 * the form's files open. Private to http/client/; tests include it for the boundary hook.
 * Never installed. */
#ifndef CORIO_HTTP_CLIENT_FORM_H
#define CORIO_HTTP_CLIENT_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <corio/http.h>

typedef struct corio__hclient_part {
	char *name;
	char *data;       /* a text field's value or a data part's bytes (malloc'd) */
	size_t len;
	char *path;       /* a file part: the file, opened when the body is sent */
	char *filename;   /* file and data parts; NULL for a text field */
	char *ctype;      /* file and data parts */
} corio__hclient_part;

struct corio_http_form {
	bool multipart;
	corio__hclient_part *parts;
	size_t n, cap;
	char ctype[112];  /* "multipart/form-data; boundary=..." */
	char boundary[72];
};

/* Tests: a known boundary instead of the random one (1 to 70 bchars, RFC 2046 5.1.1).
 * 0 or -EINVAL. */
int corio__hclient_form_boundary(corio_http_form *f, const char *boundary);

/* The body of one request. */
typedef struct corio__hclient_form_body corio__hclient_form_body;

/* Opens f's files and measures the body (parks: corio_open). *out gets the body; 0, or the
 * -errno of a file that cannot be opened (-ENOENT...), -ENOMEM. */
int corio__hclient_form_open(const corio_http_form *f, corio__hclient_form_body **out);
/* Bytes of the body, -1 when unknown (a file that is not a regular file). */
int64_t corio__hclient_form_length(const corio__hclient_form_body *b);
/* A body held whole in memory (no file part): true with *p and *n. */
bool corio__hclient_form_mem(const corio__hclient_form_body *b, const void **p, size_t *n);
/* Whether the body can be sent again (every file a regular file). */
bool corio__hclient_form_replayable(const corio__hclient_form_body *b);
/* corio_http_body_fn and corio_http_rewind_fn over b (arg). read fails with -EIO when a
 * file's size changed since it was opened. Park (corio_read). */
ssize_t corio__hclient_form_read(void *arg, void *buf, size_t len);
int corio__hclient_form_rewind(void *arg);
/* Closes the files (parks) and frees b. NULL is a no-op. */
void corio__hclient_form_close(corio__hclient_form_body *b);

#endif
