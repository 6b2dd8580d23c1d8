/* http/server/hijack.c: taking a connection over from a handler (hijack.h): the 101 head,
 * written here rather than through corio_http_out_status (interim statuses are the
 * server's own, and this one ends HTTP on the connection), and the connection marked so
 * that the server neither answers nor reads again. No change to conn.c is needed: a
 * response marked started and finished gets nothing more from corio__hserver_out_complete,
 * a connection not kept alive leaves serve() after the handler (and never goes lean, which
 * happens only between requests), and nothing left unparsed means no lingering read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/server/hijack.h"
#include "http/server/server_internal.h"

static const char HEAD_101[] = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n";

int corio__hserver_hijack(corio_http_in *req, corio_http_out *resp, corio__hserver_hijacked *out)
{
	corio__hserver_conn *c = resp->c;
	size_t rest = c->wpos - c->rpos;
	struct iovec iov[4];
	int rc;

	memset(out, 0, sizeof *out);
	out->fd = -1;
	if (resp->started)
		return -EALREADY;
	if (req != &c->req || !req->msg_done || req->content_length != 0 || req->chunked)
		return -EINVAL;
	if (rest && !(out->rest = malloc(rest)))
		return -ENOMEM;
	if (rest)
		memcpy(out->rest, c->buf + c->rpos, rest);
	out->rest_len = rest;
	c->rpos = c->wpos;
	resp->started = resp->finished = true;
	resp->status = 101;
	corio__hserver_set_keep(c, false);
	/* Responses to pipelined requests before this one may still be corked: first. */
	iov[0] = (struct iovec){ c->obuf.p, c->obuf.len };
	iov[1] = (struct iovec){ (void *)HEAD_101, sizeof HEAD_101 - 1 };
	iov[2] = (struct iovec){ resp->hdr.p, resp->hdr.len };
	iov[3] = (struct iovec){ "\r\n", 2 };
	c->obuf.len = 0;
	if ((rc = corio__hserver_send_iov(c, iov, 4)) < 0) {
		free(out->rest);
		out->rest = NULL;
		return rc;
	}
	out->fd = c->fd;
	out->tls = c->tls;
	out->rx = c->rx;
	return 0;
}
