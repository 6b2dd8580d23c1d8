/* http/ws/end.c: how a corio_ws's receiving ends, below the receive path (recv.c) and the
 * close handshake (close.c): the sticky end state, the end after both closes (the server
 * shuts the TCP connection first, the client waits for it), failing the connection on a
 * protocol error (the close with its code, then a drain to the peer's close, bounded in
 * time, so that the peer reads ours), and the getters of how it ended. Parks, except corio__ws_end and the getters. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "http/ws/ws_internal.h"

void corio__ws_end(corio_ws *ws, int err, int code)
{
	if (!ws->err) {
		ws->err = err;
		ws->close_code = code;
	}
	corio_event_set(&ws->ended);
}

/* Skips whole frames in the input, from where the failure interrupted one (*skip payload
 * bytes of it still to come), until the peer's close frame. 1: the close was seen, 0: more
 * input is needed, -1: the input is not frames any more (only EOF or the time ends it). */
static int skim(corio_ws *ws, uint64_t *skip)
{
	for (;;) {
		size_t avail = ws->in_len - ws->in_off, k;
		corio__ws_frame f;
		int h;

		if (*skip) {
			k = avail < *skip ? avail : (size_t)*skip;
			ws->in_off += k;
			*skip -= k;
			if (*skip)
				return 0;
			continue;
		}
		h = corio__ws_frame_decode(ws->in + ws->in_off, avail, &f);
		if (h <= 0)
			return h < 0 ? -1 : 0;
		ws->in_off += (size_t)h;
		if (f.opcode == CORIO_WS_CLOSE)
			return 1;
		*skip = f.len;
	}
}

/* Keeps the unparsed tail of the input (a header cut short) at its front. */
static void compact(corio_ws *ws, bool keep)
{
	size_t left = keep ? ws->in_len - ws->in_off : 0;

	memmove(ws->in, ws->in + ws->in_off, left);
	ws->in_len = left;
	ws->in_off = 0;
}

/* Reads and drops what the peer still sends, so that our close does not reset the
 * connection before the peer has read what we sent: until the peer's close frame (a
 * server then closes at once; RFC 6455 7.1.1), and after it until the peer closes the
 * connection (a client). Bounded by close_ns only: what is dropped costs no memory, and a
 * bound in bytes would reset a peer that was in the middle of a large message when we
 * failed (it reads our 1009 only after it sent the rest). */
static void drain(corio_ws *ws)
{
	uint64_t skip = ws->in_frame ? ws->fr.len - ws->fr_done : 0;
	int seen = ws->close_recvd ? 1 : 0;
	corio_timeout t;

	ws->in_frame = false;
	corio_timeout_enter(&t, ws->close_ns);
	for (;;) {
		ssize_t n;

		if (seen == 0)
			seen = skim(ws, &skip);
		if (seen == 1 && ws->server)
			break;
		compact(ws, seen == 0);
		n = corio__ws_io_recv(&ws->io, ws->in + ws->in_len, CORIO__WS_INBUF - ws->in_len);
		if (n <= 0)
			break;
		ws->in_len += (size_t)n;
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
