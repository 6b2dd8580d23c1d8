/* http/ws/conn.c: the corio_ws object: its making and freeing, sending frames under the
 * send lock (masked with fresh keys on the client side), the close handshake (codes and
 * reason, the wait for the peer's close bounded by close_timeout_ns, who closes the TCP
 * connection first), failing the connection on a protocol error, and the getters.
 * Receiving is in recv.c. Everything but the getters parks. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "http/ws/ws_internal.h"


void corio_ws_opts_init(corio_ws_opts *o)
{
	if (o)
		memset(o, 0, sizeof *o);
}

corio_ws *corio__ws_new(const corio__ws_io *io, bool server, const corio_ws_opts *o,
			const void *rest, size_t rest_len, const char *protocol,
			const corio__ws_pmd *pmd)
{
	corio_ws *ws = calloc(1, sizeof *ws);

	if (!ws)
		return NULL;
	ws->in = malloc(CORIO__WS_INBUF > rest_len ? CORIO__WS_INBUF : rest_len);
	ws->protocol = protocol ? strdup(protocol) : NULL;
	ws->zip = pmd && pmd->on ? corio__ws_zip_new(pmd, server) : NULL;
	if (!ws->in || (protocol && !ws->protocol) || (pmd && pmd->on && !ws->zip)) {
		free(ws->in);
		free(ws->protocol);
		corio__ws_zip_free(ws->zip);
		free(ws);
		return NULL;
	}
	/* Bytes that came behind the handshake are the first frames' (a client may send them
	 * before it has read our 101). More than the buffer holds: it was made larger. */
	if (rest_len)
		memcpy(ws->in, rest, rest_len);
	ws->in_len = rest_len;
	ws->io = *io;
	ws->server = server;
	ws->max_message = o && o->max_message ? o->max_message : CORIO__WS_DEFAULT_MAX;
	ws->close_ns = o && o->close_timeout_ns ? o->close_timeout_ns : CORIO__WS_DEFAULT_CLOSE_NS;
	ws->rnd_off = sizeof ws->rnd;
	corio_mutex_init(&ws->send_mu);
	corio_event_init(&ws->ended);
	return ws;
}

void corio_ws_free(corio_ws *ws)
{
	if (!ws)
		return;
	corio__ws_io_close(&ws->io);
	free(ws->in);
	free(ws->msg);
	free(ws->scratch);
	free(ws->protocol);
	corio__ws_zip_free(ws->zip);
	free(ws->zbuf);
	free(ws->dbuf);
	free(ws);
}

/* ---- sending ------------------------------------------------------------------------------ */

/* A client's mask key: unpredictable (RFC 6455 5.3), from the kernel's generator, 64 keys
 * per system call. */
static int mask_key(corio_ws *ws, uint8_t key[4])
{
	if (ws->rnd_off + 4 > sizeof ws->rnd) {
		if (getrandom(ws->rnd, sizeof ws->rnd, 0) != (ssize_t)sizeof ws->rnd)
			return -EIO;
		ws->rnd_off = 0;
	}
	memcpy(key, ws->rnd + ws->rnd_off, 4);
	ws->rnd_off += 4;
	return 0;
}

/* The client masks a copy (the caller's data is const), a scratch buffer at a time; the
 * header leaves with the first piece. */
static int send_masked(corio_ws *ws, uint8_t *hdr, size_t hlen, const uint8_t *key,
		       const uint8_t *p, size_t len)
{
	size_t off = 0;

	if (len && !ws->scratch && !(ws->scratch = malloc(CORIO__WS_SCRATCH)))
		return -ENOMEM;
	do {
		size_t k = len - off < CORIO__WS_SCRATCH ? len - off : CORIO__WS_SCRATCH;
		struct iovec iov[2] = { { hdr, off ? 0 : hlen }, { ws->scratch, k } };
		int rc;

		if (k) {
			memcpy(ws->scratch, p + off, k);
			corio__ws_mask(ws->scratch, k, key, off);
		}
		if ((rc = corio__ws_io_sendv(&ws->io, iov, 2)) < 0)
			return rc;
		off += k;
	} while (off < len);
	return 0;
}

static int send_raw(corio_ws *ws, uint8_t opcode, uint8_t rsv, const void *p, size_t len)
{
	uint8_t hdr[CORIO__WS_MAX_HEADER], key[4];
	size_t hlen;
	int rc;

	if (ws->server) {
		struct iovec iov[2] = { { hdr, 0 }, { (void *)p, len } };

		iov[0].iov_len = corio__ws_frame_encode(hdr, true, opcode, rsv, NULL, len);
		return corio__ws_io_sendv(&ws->io, iov, 2);
	}
	if ((rc = mask_key(ws, key)) < 0)
		return rc;
	hlen = corio__ws_frame_encode(hdr, true, opcode, rsv, key, len);
	return send_masked(ws, hdr, hlen, key, p, len);
}

/* With permessage-deflate a data message goes compressed (RSV1): compressed under the
 * lock, since the compressor's context follows the order of the messages on the wire. */
static int send_locked(corio_ws *ws, uint8_t opcode, const void *p, size_t len)
{
	size_t zlen;
	int rc;

	if (!ws->zip || (opcode != CORIO_WS_TEXT && opcode != CORIO_WS_BINARY) || len > UINT32_MAX)
		return send_raw(ws, opcode, 0, p, len);
	rc = corio__ws_zip_deflate(ws->zip, p, len, &ws->dbuf, &ws->dcap, &zlen);
	if (rc == 0)
		rc = send_raw(ws, opcode, 0x40, ws->dbuf, zlen);
	if (ws->dcap > CORIO__WS_SCRATCH * 16) { /* a large message's buffer is not kept */
		free(ws->dbuf);
		ws->dbuf = NULL;
		ws->dcap = 0;
	}
	return rc;
}

/* A send that fails may have left part of a frame on the wire: nothing can follow it. */
int corio__ws_send_frame(corio_ws *ws, uint8_t opcode, const void *p, size_t len)
{
	int rc;

	if (ws->send_err)
		return ws->send_err;
	if ((rc = corio_mutex_lock(&ws->send_mu)) != 0)
		return rc;
	if (ws->send_err)
		rc = ws->send_err;
	else if (ws->close_sent)
		rc = -EPIPE;
	else if ((rc = send_locked(ws, opcode, p, len)) < 0)
		ws->send_err = rc;
	if (opcode == CORIO_WS_CLOSE && rc == 0)
		ws->close_sent = true;
	corio_mutex_unlock(&ws->send_mu);
	return rc;
}

int corio__ws_send_close(corio_ws *ws, int code, const char *reason, size_t rlen)
{
	uint8_t p[CORIO__WS_MAX_CONTROL] = { 0 };

	if (ws->close_sent)
		return 0;
	if (!code)
		return corio__ws_send_frame(ws, CORIO_WS_CLOSE, p, 0);
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	if (rlen)
		memcpy(p + 2, reason, rlen);
	return corio__ws_send_frame(ws, CORIO_WS_CLOSE, p, 2 + rlen);
}

int corio_ws_send(corio_ws *ws, int opcode, const void *data, size_t len)
{
	if (!ws || (!data && len))
		return -EINVAL;
	switch (opcode) {
	case CORIO_WS_TEXT:
		if (!corio__ws_utf8_valid(data, len))
			return -EINVAL;
		break;
	case CORIO_WS_BINARY:
		break;
	case CORIO_WS_PING:
	case CORIO_WS_PONG:
		if (len > CORIO__WS_MAX_CONTROL)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (ws->close_sent || ws->close_recvd)
		return -EPIPE;
	return corio__ws_send_frame(ws, (uint8_t)opcode, data ? data : "", len);
}
