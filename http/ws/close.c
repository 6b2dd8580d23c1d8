/* http/ws/close.c: the close handshake started by this side (corio_ws_close): our close
 * frame, then the peer's within close_timeout_ns, read by the task already receiving when
 * there is one, else by receives made here; a peer that never answers loses the
 * connection. The top of http/ws/'s receive side: it calls recv.c and end.c, and neither
 * calls back. Parks. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "http/ws/ws_internal.h"

/* After our close: the peer's, through the task already receiving when there is one
 * (it sees the close and wakes us), else through receives made here that drop messages.
 * Under the caller's close_timeout_ns scope. */
static int await_close(corio_ws *ws)
{
	const void *p;
	int op, rc;
	ssize_t n;

	if (ws->reader) {
		rc = corio_event_wait(&ws->ended);
		return rc ? rc : ws->err;
	}
	while ((n = corio_ws_recv_msg(ws, &op, &p)) >= 0)
		; /* messages the peer sent before it saw our close */
	return (int)n;
}

int corio_ws_close(corio_ws *ws, int code, const char *reason)
{
	size_t rlen = reason ? strlen(reason) : 0;
	corio_timeout t;
	int rc;

	if (!ws || (code ? !corio__ws_close_code_ok((unsigned)code) : rlen > 0))
		return -EINVAL;
	if (rlen > CORIO__WS_MAX_CONTROL - 2 || !corio__ws_utf8_valid(reason, rlen))
		return -EINVAL;
	if (ws->close_recvd || ws->close_sent)
		return 0; /* the handshake is over (or was started by a failure) */
	if (ws->err)
		return ws->err;
	corio_timeout_enter(&t, ws->close_ns);
	rc = corio__ws_send_close(ws, code, reason, rlen);
	if (rc == 0)
		rc = await_close(ws);
	corio_timeout_exit(&t);
	if (ws->close_recvd)
		return 0;
	/* No close came back in time (or ours could not be sent, perhaps cut halfway through
	 * a frame): the connection goes now, and a task still receiving sees its end. Not
	 * through corio__ws_io_shutdown: a close_notify could wait for a peer that reads
	 * nothing. */
	corio__ws_end(ws, -EPIPE, CORIO_WS_ABNORMAL);
	ws->io.shut = true;
	corio_shutdown(ws->io.fd, SHUT_RDWR);
	return rc < 0 ? rc : -ETIMEDOUT;
}
