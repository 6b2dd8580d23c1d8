/* http/ws/recv.c: receiving on a corio_ws: frame headers checked against the rules of RFC
 * 6455 (masking by direction, reserved bits, opcodes, control frames, continuation,
 * lengths), messages assembled from fragments with their UTF-8 checked as they come and
 * their size counted before any byte is stored, control frames handled in place (pong to
 * a ping, the close handshake). Receives are resumable: a call interrupted by a timeout
 * scope or a cancellation leaves the frame where it was for the next one. Parks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws/ws_internal.h"

/* A receive from the transport; the end of the connection and its errors are final,
 * except the caller's own deadline or cancellation. */
static ssize_t pull(corio_ws *ws, void *buf, size_t len)
{
	ssize_t n = corio__ws_io_recv(&ws->io, buf, len);

	if (n > 0 || n == -ECANCELED || n == -ETIMEDOUT || n == -EINTR)
		return n;
	corio__ws_end(ws, n == 0 ? -ECONNRESET : (int)n, CORIO_WS_ABNORMAL);
	return ws->err;
}

/* Up to max payload bytes into dst: from the input buffer, else straight from the
 * transport for large reads (no second copy), else through the input buffer. */
static ssize_t read_some(corio_ws *ws, uint8_t *dst, size_t max)
{
	size_t k;
	ssize_t n;

	if (ws->in_off == ws->in_len) {
		if (max >= CORIO__WS_INBUF / 2)
			return pull(ws, dst, max);
		if ((n = pull(ws, ws->in, CORIO__WS_INBUF)) < 0)
			return n;
		ws->in_off = 0;
		ws->in_len = (size_t)n;
	}
	k = ws->in_len - ws->in_off;
	k = k < max ? k : max;
	memcpy(dst, ws->in + ws->in_off, k);
	ws->in_off += k;
	return (ssize_t)k;
}

/* The rules a header must follow before any of its payload is read. */
static int check_header(corio_ws *ws, const corio__ws_frame *f)
{
	bool control = f->opcode & 0x8;
	/* RSV1 only with permessage-deflate, on a message's first frame */
	bool zipped = f->rsv == 0x40 && ws->zip &&
		      (f->opcode == CORIO_WS_TEXT || f->opcode == CORIO_WS_BINARY);

	if (f->masked != ws->server || (f->rsv && !zipped))
		return corio__ws_fail(ws, CORIO_WS_PROTOCOL_ERROR, -EPROTO);
	if (control) {
		if (f->opcode > CORIO_WS_PONG || !f->fin || f->len > CORIO__WS_MAX_CONTROL)
			return corio__ws_fail(ws, CORIO_WS_PROTOCOL_ERROR, -EPROTO);
		return 0;
	}
	if (f->opcode > CORIO_WS_BINARY || (f->opcode == CORIO_WS_CONT) != (ws->msg_op != 0))
		return corio__ws_fail(ws, CORIO_WS_PROTOCOL_ERROR, -EPROTO);
	/* Counted against the limit from the declared length, before a byte is stored:
	 * a 2^62 length fails here, it never allocates. */
	if (f->len > ws->max_message - (f->opcode ? 0 : ws->msg_len))
		return corio__ws_fail(ws, CORIO_WS_TOO_BIG, -EMSGSIZE);
	if (f->opcode) {
		ws->msg_op = f->opcode;
		ws->msg_len = 0;
		ws->msg_zipped = zipped;
		corio__ws_utf8_init(&ws->utf8);
	}
	return 0;
}

static int read_header(corio_ws *ws)
{
	for (;;) {
		int h = corio__ws_frame_decode(ws->in + ws->in_off, ws->in_len - ws->in_off, &ws->fr);
		ssize_t n;

		if (h < 0)
			return corio__ws_fail(ws, CORIO_WS_PROTOCOL_ERROR, -EPROTO);
		if (h > 0) {
			ws->in_off += (size_t)h;
			ws->in_frame = true;
			ws->fr_done = 0;
			return check_header(ws, &ws->fr);
		}
		if (ws->in_off > 0) { /* a header is at most 14 bytes: room at the front */
			memmove(ws->in, ws->in + ws->in_off, ws->in_len - ws->in_off);
			ws->in_len -= ws->in_off;
			ws->in_off = 0;
		}
		if ((n = pull(ws, ws->in + ws->in_len, CORIO__WS_INBUF - ws->in_len)) < 0)
			return (int)n;
		ws->in_len += (size_t)n;
	}
}

/* Room for n more bytes of the current frame after those read: grown as the bytes
 * arrive, so a peer announcing a large frame and sending little costs little. */
static int msg_room(corio_ws *ws, size_t n)
{
	size_t want = ws->msg_len + (size_t)ws->fr_done + n;
	size_t cap = ws->msg_cap ? ws->msg_cap : 4096;
	uint8_t *p;

	if (want <= ws->msg_cap)
		return 0;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if (cap > ws->max_message && want <= ws->max_message)
		cap = ws->max_message;
	if (!(p = realloc(ws->msg, cap)))
		return -ENOMEM;
	ws->msg = p;
	ws->msg_cap = cap;
	return 0;
}

#define CHUNK (1u << 20) /* a large frame's payload is read (and stored) this much at a time */

/* Reads the rest of the current frame's payload: a control frame's into ws->ctl, a data
 * frame's after the message so far. Unmasked, and text checked, as it comes. */
static int read_payload(corio_ws *ws)
{
	bool control = ws->fr.opcode & 0x8;
	corio__ws_utf8 *utf8 = !control && ws->msg_op == CORIO_WS_TEXT && !ws->msg_zipped
				       ? &ws->utf8 : NULL;

	while (ws->fr_done < ws->fr.len) {
		uint64_t left = ws->fr.len - ws->fr_done;
		size_t chunk = left < CHUNK ? (size_t)left : CHUNK;
		uint8_t *at;
		ssize_t n;

		if (!control && msg_room(ws, chunk) != 0)
			return corio__ws_fail(ws, CORIO_WS_INTERNAL_ERROR, -ENOMEM);
		at = (control ? ws->ctl : ws->msg + ws->msg_len) + ws->fr_done;
		if ((n = read_some(ws, at, chunk)) < 0)
			return (int)n;
		if (ws->fr.masked)
			corio__ws_mask(at, (size_t)n, ws->fr.mask, ws->fr_done);
		ws->fr_done += (uint64_t)n;
		if (utf8 && !corio__ws_utf8_feed(utf8, at, (size_t)n))
			return corio__ws_fail(ws, CORIO_WS_INVALID_DATA, -EPROTO);
	}
	return 0;
}

static int on_close(corio_ws *ws, const uint8_t *p, size_t n)
{
	int code = CORIO_WS_NO_STATUS;
	corio_timeout t;

	if (n == 1)
		return corio__ws_fail(ws, CORIO_WS_PROTOCOL_ERROR, -EPROTO);
	if (n >= 2) {
		code = p[0] << 8 | p[1];
		if (!corio__ws_close_code_ok((unsigned)code))
			return corio__ws_fail(ws, CORIO_WS_PROTOCOL_ERROR, -EPROTO);
		if (!corio__ws_utf8_valid(p + 2, n - 2))
			return corio__ws_fail(ws, CORIO_WS_INVALID_DATA, -EPROTO);
		memcpy(ws->reason, p + 2, n - 2);
		ws->reason[n - 2] = '\0';
	}
	ws->close_recvd = true;
	/* The answer echoes the code (RFC 6455 5.5.1), none when the peer gave none; a peer
	 * gone already makes it fail, and the handshake is over either way. Bounded: the
	 * peer may read nothing more. */
	corio_timeout_enter(&t, ws->close_ns);
	(void)corio__ws_send_close(ws, code == CORIO_WS_NO_STATUS ? 0 : code, NULL, 0);
	corio__ws_finish(ws);
	corio_timeout_exit(&t);
	corio__ws_end(ws, -EPIPE, code); /* wakes a corio_ws_close waiting in another task */
	return -EPIPE;
}

/* A complete control frame, payload in ws->ctl. 0 to go on, or the call's result. */
static int on_control(corio_ws *ws)
{
	size_t n = (size_t)ws->fr.len;

	if (ws->fr.opcode == CORIO_WS_CLOSE)
		return on_close(ws, ws->ctl, n);
	if (ws->fr.opcode == CORIO_WS_PING && !ws->close_sent) {
		int rc = corio__ws_send_frame(ws, CORIO_WS_PONG, ws->ctl, n);

		if (rc == -ECANCELED || rc == -ETIMEDOUT)
			return rc;
	}
	return 0; /* a pong, or a ping after our close: dropped */
}

/* A compressed message's payload inflated (at most max_message bytes) and, for text,
 * checked; the message to return is then the inflated one. */
static int inflate_msg(corio_ws *ws)
{
	size_t n;
	int rc = corio__ws_zip_inflate(ws->zip, ws->msg, ws->msg_len, &ws->zbuf, &ws->zcap,
				       ws->max_message, &n);

	if (rc == -EMSGSIZE)
		return corio__ws_fail(ws, CORIO_WS_TOO_BIG, -EMSGSIZE);
	if (rc == -ENOMEM)
		return corio__ws_fail(ws, CORIO_WS_INTERNAL_ERROR, -ENOMEM);
	if (rc < 0)
		return corio__ws_fail(ws, CORIO_WS_INVALID_DATA, -EPROTO);
	if (ws->msg_op == CORIO_WS_TEXT && !corio__ws_utf8_valid(ws->zbuf, n))
		return corio__ws_fail(ws, CORIO_WS_INVALID_DATA, -EPROTO);
	ws->out = ws->zbuf;
	ws->out_len = n;
	return 1;
}

/* A message of one frame already whole in the input buffer is unmasked there and
 * returned from there: no copy (the usual case for small messages). 1, 0 when it does
 * not apply, or -errno. */
static int in_place(corio_ws *ws)
{
	uint8_t *p = ws->in + ws->in_off;
	size_t n = (size_t)ws->fr.len;

	if (!ws->fr.fin || ws->fr.opcode & 0x8 || ws->fr.opcode == CORIO_WS_CONT ||
	    ws->msg_zipped || ws->fr.len > ws->in_len - ws->in_off)
		return 0;
	if (ws->fr.masked)
		corio__ws_mask(p, n, ws->fr.mask, 0);
	if (ws->msg_op == CORIO_WS_TEXT && !corio__ws_utf8_valid(p, n))
		return corio__ws_fail(ws, CORIO_WS_INVALID_DATA, -EPROTO);
	ws->in_off += n;
	ws->in_frame = false;
	ws->out = p;
	ws->out_len = n;
	return 1;
}

/* One frame to its end. 1 when it completed a message, 0 otherwise, or -errno. */
static int step(corio_ws *ws)
{
	int rc;

	if (!ws->in_frame) {
		if ((rc = read_header(ws)) < 0 || (rc = in_place(ws)) != 0)
			return rc;
	}
	if ((rc = read_payload(ws)) < 0)
		return rc;
	ws->in_frame = false;
	if (ws->fr.opcode & 0x8)
		return on_control(ws);
	ws->msg_len += (size_t)ws->fr.len;
	if (!ws->fr.fin)
		return 0;
	if (ws->msg_zipped)
		return inflate_msg(ws);
	if (ws->msg_op == CORIO_WS_TEXT && !corio__ws_utf8_done(&ws->utf8))
		return corio__ws_fail(ws, CORIO_WS_INVALID_DATA, -EPROTO);
	ws->out = ws->msg;
	ws->out_len = ws->msg_len;
	return 1;
}

/* Big buffers of a past message are not kept for the next one. */
static void forget_message(corio_ws *ws)
{
	ws->msg_ready = false;
	ws->msg_len = 0;
	if (ws->msg_cap > CHUNK) {
		free(ws->msg);
		ws->msg = NULL;
		ws->msg_cap = 0;
	}
	if (ws->zcap > CHUNK) {
		free(ws->zbuf);
		ws->zbuf = NULL;
		ws->zcap = 0;
	}
}

ssize_t corio_ws_recv_msg(corio_ws *ws, int *opcode, const void **data)
{
	int rc = 0;

	if (!ws || !opcode || !data)
		return -EINVAL;
	if (ws->reader)
		return -EBUSY;
	if (ws->msg_ready)
		forget_message(ws);
	if (ws->err)
		return ws->err;
	ws->reader = corio_current();
	while (rc == 0)
		rc = step(ws);
	ws->reader = NULL;
	if (rc < 0)
		return rc;
	*opcode = ws->msg_op;
	*data = ws->out ? ws->out : (const uint8_t *)"";
	ws->msg_op = 0;
	ws->msg_ready = true;
	return (ssize_t)ws->out_len;
}

ssize_t corio_ws_recv(corio_ws *ws, int *opcode, void *buf, size_t len)
{
	const void *p;
	ssize_t n;

	if (!buf && len)
		return -EINVAL;
	n = corio_ws_recv_msg(ws, opcode, &p);
	if (n < 0)
		return n;
	if ((size_t)n > len)
		return -EMSGSIZE; /* dropped; the connection goes on */
	if (n)
		memcpy(buf, p, (size_t)n);
	return n;
}
