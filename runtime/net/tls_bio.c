/* runtime/net/tls_bio.c: the one BIO a TLS connection gives OpenSSL, for both directions.
 * Its read side hands OpenSSL the ciphertext corio_recv left in t->in[in_off..in_len), with
 * no copy in between, and says "retry" when that is empty (the pump then receives more).
 * Its write side appends the records OpenSSL produced to t->wq, the queue the pump sends
 * from; it never refuses (the queue grows), for the reason given in tls_internal.h. Nothing
 * here parks or touches the socket. The method is made once per process and never freed,
 * like OpenSSL's own. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/net/tls_internal.h"

static BIO_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static int bio_read(BIO *b, char *buf, int len)
{
	corio_tls *t = BIO_get_data(b);
	size_t n = t->in_len - t->in_off;

	BIO_clear_retry_flags(b);
	if (n == 0) {
		/* Not the end of the stream: corio_recv reports that, and the pump maps it. */
		BIO_set_retry_read(b);
		return -1;
	}
	if (len <= 0)
		return 0;
	if (n > (size_t)len)
		n = (size_t)len;
	memcpy(buf, t->in + t->in_off, n);
	t->in_off += n;
	return (int)n;
}

/* Room for need more bytes in q. Safe to move q->p: nothing in flight points into the
 * queue OpenSSL writes to (the pump sends from the other one, t->sq). */
static int reserve(corio__tls_buf *q, size_t need)
{
	size_t cap = q->cap ? q->cap : CORIO__TLS_OUTBUF;
	unsigned char *p;

	if (q->cap - q->len >= need)
		return 0;
	while (cap - q->len < need)
		cap *= 2;
	if (!(p = realloc(q->p, cap)))
		return -ENOMEM;
	q->p = p;
	q->cap = cap;
	return 0;
}

static int bio_write(BIO *b, const char *buf, int len)
{
	corio_tls *t = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if (reserve(&t->wq, (size_t)len) < 0) {
		/* No retry flag: OpenSSL fails the call; the pump reports bio_err. */
		t->bio_err = -ENOMEM;
		return -1;
	}
	memcpy(t->wq.p + t->wq.len, buf, (size_t)len);
	t->wq.len += (size_t)len;
	return len;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	corio_tls *t = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		/* OpenSSL flushes after each flight; the pump sends before it next receives,
		 * and writers flush themselves, so queued is as good as sent here. */
		return 1;
	case BIO_CTRL_PENDING:
		return (long)(t->in_len - t->in_off);
	case BIO_CTRL_WPENDING:
		return (long)(t->wq.len + t->sq.len);
	case BIO_CTRL_EOF:
		return t->eof && t->in_off == t->in_len;
	default:
		return 0; /* unknown, including the kTLS queries: none of that here */
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 0); /* until corio__tls_bio_new gives it its connection */
	return 1;
}

static void make_method(void)
{
	int type = BIO_get_new_index(); /* -1 when OpenSSL's index space ran out */
	BIO_METHOD *m = type < 0 ? NULL : BIO_meth_new(type | BIO_TYPE_SOURCE_SINK, "corio");

	if (m && BIO_meth_set_read(m, bio_read) && BIO_meth_set_write(m, bio_write) &&
	    BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create)) {
		method = m;
		return;
	}
	BIO_meth_free(m);
}

BIO *corio__tls_bio_new(corio_tls *t)
{
	BIO *b;

	pthread_once(&method_once, make_method);
	if (!method || !(b = BIO_new(method)))
		return NULL;
	BIO_set_data(b, t);
	BIO_set_init(b, 1);
	return b;
}
