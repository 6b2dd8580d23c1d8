/* bench/load/parse.c: response framing for corio-load on llhttp 8.1.0 (compiled into
 * libcorio, strict mode). Only what a load generator needs: where each response ends
 * (Content-Length, chunked, close-delimited; HEAD, 1xx, 204 and 304 without a body), its
 * status and whether the connection may be reused. No header is stored and no body byte
 * copied: llhttp skips bodies without callbacks. Never parks, never does I/O. */
#include <stddef.h>

#include "bench/load/load.h"

#define RP(p) ((resp_parser *)(p)->data)

static int on_message_begin(llhttp_t *p)
{
	RP(p)->started = true;
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	resp_parser *rp = RP(p);
	int st = p->status_code;

	if (st == 101)
		return -1; /* never asked for an upgrade */
	if (st >= 100 && st < 200)
		return 1; /* interim (100 Continue): no body, the final response follows */
	rp->status = st;
	/* RFC 9112 6.3: no body for HEAD, 204 and 304 whatever the headers say. */
	return (rp->head || st == 204 || st == 304) ? 1 : 0;
}

static int on_message_complete(llhttp_t *p)
{
	resp_parser *rp = RP(p);

	if (p->status_code >= 100 && p->status_code < 200) {
		rp->started = false; /* the end of an interim response: keep going */
		return 0;
	}
	rp->done = true;
	/* Asked here: llhttp clears the flags it depends on right after this callback. */
	rp->keep_alive = llhttp_should_keep_alive(p) != 0;
	return HPE_PAUSED; /* stop at the response's last byte: what follows is the next one */
}

static const llhttp_settings_t settings = {
	.on_message_begin = on_message_begin,
	.on_headers_complete = on_headers_complete,
	.on_message_complete = on_message_complete,
};

void resp_parser_init(resp_parser *rp, bool head)
{
	llhttp_init(&rp->p, HTTP_RESPONSE, &settings);
	rp->p.data = rp;
	rp->head = head;
	rp->done = rp->keep_alive = rp->started = false;
	rp->status = 0;
}

void resp_parser_next(resp_parser *rp)
{
	if (llhttp_get_errno(&rp->p) == HPE_PAUSED)
		llhttp_resume(&rp->p);
	rp->done = rp->started = false;
	rp->status = 0;
}

long resp_parser_feed(resp_parser *rp, const char *data, size_t len)
{
	llhttp_errno_t e;

	if (rp->done)
		return 0;
	e = llhttp_execute(&rp->p, data, len);
	if (e == HPE_OK)
		return (long)len;
	if (e == HPE_PAUSED && rp->done)
		return (long)(llhttp_get_error_pos(&rp->p) - data);
	return -1;
}

int resp_parser_eof(resp_parser *rp)
{
	llhttp_errno_t e;

	if (!rp->started)
		return 0;
	e = llhttp_finish(&rp->p);
	if ((e == HPE_OK || e == HPE_PAUSED) && rp->done)
		return 1;
	return -1;
}
