/* http/ws/end.c: how a corio_ws's receiving ends, below the receive path (recv.c) and the
 * close handshake (close.c): the sticky end state, the end after both closes (the server
 * shuts the TCP connection first, the client waits for it), failing the connection on a
 * protocol error (the close with its code, then a bounded drain so the peer reads it), and
 * the getters of how it ended. Parks, except corio__ws_end and the getters. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "http/ws/ws_internal.h"

#define DRAIN_MAX (1u << 20) /* bytes read and dropped while waiting for the peer to go */

void corio__ws_end(corio_ws *ws, int err, int code)
{
	if (!ws->err) {
		ws->err = err;
		ws->close_code = code;
	}
	corio_event_set(&ws->ended);
}

/* Reads and drops until the peer closes the connection, DRAIN_MAX bytes or close_ns: the
 * bytes still coming must not make our close reset the connection before the peer has
 * read what we sent. */
static void drain(corio_ws *ws)
{
	corio_timeout t;
	size_t total = 0;

	corio_timeout_enter(&t, ws->close_ns);
	while (total < DRAIN_MAX) {
		ssize_t n = corio__ws_io_recv(&ws->io, ws->in, CORIO__WS_INBUF);

		if (n <= 0)
			break;
		total += (size_t)n;
	}
	corio_timeout_exit(&t);
	ws->in_off = ws->in_len = 0;
}

void corio__ws_finish(corio_ws *ws)
{
	if (!ws->server)
		drain(ws); /* RFC 6455 7.1.1: the server closes the TCP connection first */
	corio__ws_io_shutdown(&ws->io);
}

/* Bounded by close_ns as a whole: the send lock, our close, close_notify and the drain
 * may each wait for a peer that reads nothing. */
int corio__ws_fail(corio_ws *ws, int code, int err)
{
	corio_timeout t;

	corio__ws_end(ws, err, code);
	corio_timeout_enter(&t, ws->close_ns);
	(void)corio__ws_send_close(ws, code, NULL, 0); /* best effort: the peer broke the rules */
	corio__ws_io_shutdown(&ws->io);
	drain(ws);
	corio_timeout_exit(&t);
	return err;
}

int corio_ws_close_code(const corio_ws *ws)
{
	return ws ? ws->close_code : 0;
}

const char *corio_ws_close_reason(const corio_ws *ws)
{
	return ws ? ws->reason : "";
}

const char *corio_ws_protocol(const corio_ws *ws)
{
	return ws ? ws->protocol : NULL;
}
