/* http/ws/ws_internal.h: what the WebSocket files share, private to http/ws/: frame headers
 * and masking (frame.c), the incremental UTF-8 validator (utf8.c), permessage-deflate
 * (deflate.c), the transport over a socket or a TLS connection (io.c), the corio_ws object
 * (conn.c: sending; recv.c: receiving; end.c, close.c: ending) and the opening handshakes
 * (handshake.c, accept.c, connect.c). Never installed.
 *
 * Names: internal names of http/ws/ are corio__ws_* (types, functions) and CORIO__WS_*
 * (constants). Calls go one way: accept.c, connect.c -> handshake.c, close.c -> recv.c ->
 * end.c -> conn.c -> io.c, frame.c, utf8.c, deflate.c; the handshakes reach the HTTP
 * server and client through http/server/hijack.h and http/client/upgrade.h only. */
#ifndef CORIO_HTTP_WS_INTERNAL_H
#define CORIO_HTTP_WS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <corio/net.h>
#include <corio/sync.h>
#include <corio/tls.h>
#include <corio/ws.h>

#define CORIO__WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define CORIO__WS_MAX_HEADER 14     /* 2 + 8 (64-bit length) + 4 (mask) */
#define CORIO__WS_MAX_CONTROL 125
#define CORIO__WS_DEFAULT_MAX (16u << 20)
#define CORIO__WS_DEFAULT_CLOSE_NS CORIO_SEC(5)

/* ---- frame.c ------------------------------------------------------------------------- */

typedef struct corio__ws_frame {
	bool fin;
	uint8_t rsv;       /* the three reserved bits, as in the first byte (0x70 mask) */
	uint8_t opcode;
	bool masked;
	uint8_t mask[4];
	uint64_t len;      /* payload length */
} corio__ws_frame;

/* Decodes a frame header from p[0..n). Returns the header's length (2..14), 0 when more
 * bytes are needed, -EPROTO for a 64-bit length with its top bit set. Never parks. */
int corio__ws_frame_decode(const uint8_t *p, size_t n, corio__ws_frame *f);
/* Encodes a header into out (CORIO__WS_MAX_HEADER bytes); mask NULL: unmasked. Returns its
 * length. The shortest length form is used. */
size_t corio__ws_frame_encode(uint8_t *out, bool fin, uint8_t opcode, uint8_t rsv,
			      const uint8_t *mask, uint64_t len);
/* XORs p[0..n) with the mask, starting at byte off of the payload (off % 4 picks the
 * mask byte), 8 bytes at a time where it can. */
void corio__ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off);
/* Whether code may appear in a close frame on the wire (RFC 6455 7.4). */
bool corio__ws_close_code_ok(unsigned code);

/* ---- utf8.c --------------------------------------------------------------------------- */

/* An incremental UTF-8 check: a sequence may be split between two feeds. */
typedef struct corio__ws_utf8 {
	uint8_t need;      /* continuation bytes still expected */
	uint8_t lo, hi;    /* the range of the next continuation byte */
} corio__ws_utf8;

static inline void corio__ws_utf8_init(corio__ws_utf8 *u)
{
	u->need = 0;
	u->lo = 0x80;
	u->hi = 0xBF;
}
/* Checks p[0..n) following what was fed before: false at the first invalid byte (an
 * overlong form, a surrogate, a code point over U+10FFFF, a stray continuation byte). */
bool corio__ws_utf8_feed(corio__ws_utf8 *u, const uint8_t *p, size_t n);
/* At the message's end: false when a sequence is cut short. */
static inline bool corio__ws_utf8_done(const corio__ws_utf8 *u)
{
	return u->need == 0;
}
/* The whole of p[0..n) in one go. */
bool corio__ws_utf8_valid(const void *p, size_t n);

/* ---- deflate.c ------------------------------------------------------------------------ */

/* What permessage-deflate's negotiation settled. */
typedef struct corio__ws_pmd {
	bool on;
	bool server_no_ctx, client_no_ctx; /* that side resets its compressor per message */
	int server_bits, client_bits;      /* the windows each side compresses with (9..15) */
} corio__ws_pmd;

typedef struct corio__ws_zip corio__ws_zip;

/* Server: the first acceptable permessage-deflate offer among the client's (a
 * comma-separated list) into *p, and the answer to send. false: none (*p zeroed). */
bool corio__ws_pmd_accept(const char *offers, corio__ws_pmd *p, char *answer, size_t cap);
/* Client: the server's Sec-WebSocket-Extensions answer to our offer. 0 or -EPROTO. */
int corio__ws_pmd_check(const char *answer, corio__ws_pmd *p);
/* Compressor and decompressor for one side of a connection. NULL on ENOMEM. */
corio__ws_zip *corio__ws_zip_new(const corio__ws_pmd *p, bool server);
void corio__ws_zip_free(corio__ws_zip *z); /* NULL allowed */
/* A message compressed into *buf (grown as needed, capacity *cap), the sync flush's tail
 * stripped. 0, -ENOMEM, -EIO. */
int corio__ws_zip_deflate(corio__ws_zip *z, const void *in, size_t n, uint8_t **buf, size_t *cap,
			  size_t *out_len);
/* A message's payload inflated into *buf, at most max bytes. 0, -EMSGSIZE, -EBADMSG,
 * -ENOMEM. */
int corio__ws_zip_inflate(corio__ws_zip *z, const uint8_t *in, size_t n, uint8_t **buf,
			  size_t *cap, size_t max, size_t *out_len);

/* ---- io.c ----------------------------------------------------------------------------- */

/* The transport: a socket, or a TLS connection over it, or (server, multishot receive
 * mode) a receiver feeding from the socket. */
typedef struct corio__ws_io {
	int fd;
	corio_tls *tls;       /* NULL: plain */
	corio_receiver *rx;   /* borrowed from the HTTP server; NULL: plain receives */
	bool owned;           /* client: fd and tls are closed by corio__ws_io_close */
	bool shut;            /* our sending side is shut */
} corio__ws_io;

/* Up to len bytes: > 0, 0 at EOF (or close_notify), -errno. Parks. */
ssize_t corio__ws_io_recv(corio__ws_io *io, void *buf, size_t len);
/* Sends all of iov[0..n) (modified in place), in one system call (one TLS flush) when it
 * fits. 0 or -errno. Parks. */
int corio__ws_io_sendv(corio__ws_io *io, struct iovec *iov, int n);
/* Ends our side: close_notify (TLS) then a TCP half-close. Once. Parks. */
void corio__ws_io_shutdown(corio__ws_io *io);
/* Frees what io owns (client: TLS and the socket). Parks (closing). */
void corio__ws_io_close(corio__ws_io *io);

/* ---- conn.c, recv.c ------------------------------------------------------------------- */

#define CORIO__WS_INBUF 16384       /* raw input buffer; payloads this large bypass it */
#define CORIO__WS_SCRATCH 65536     /* client: masked copies of a payload, per send */

struct corio_ws {
	corio__ws_io io;
	bool server;                 /* receives masked frames, sends unmasked ones */
	size_t max_message;
	uint64_t close_ns;
	char *protocol;              /* agreed subprotocol (owned), NULL: none */
	/* raw input: in[in_off..in_len) not parsed yet */
	uint8_t *in;
	size_t in_off, in_len;
	/* the frame being read (resumable: a receive interrupted by a timeout scope or a
	 * cancellation goes on where it stopped) */
	bool in_frame;
	corio__ws_frame fr;
	uint64_t fr_done;            /* payload bytes of fr read so far */
	uint8_t ctl[CORIO__WS_MAX_CONTROL];
	/* the message being assembled: msg[0..msg_len); msg_op 0 when none is open */
	uint8_t *msg;
	size_t msg_len, msg_cap;
	uint8_t msg_op;
	bool msg_ready;              /* the last receive returned out[0..out_len) */
	bool msg_zipped;             /* the message open is compressed (RSV1 on its first frame) */
	corio__ws_utf8 utf8;
	const uint8_t *out;          /* the message returned: msg, or zbuf when inflated */
	size_t out_len;
	corio__ws_zip *zip;          /* permessage-deflate, NULL when not negotiated */
	uint8_t *zbuf, *dbuf;        /* inflated message; deflated message (under send_mu) */
	size_t zcap, dcap;
	/* state */
	corio_task *reader;          /* the task inside a receive, NULL */
	bool close_sent, close_recvd;
	int err;                     /* sticky error of receives (-EPIPE once closed) */
	int send_err;                /* sticky error of sends (a frame cut short) */
	int close_code;
	char reason[CORIO__WS_MAX_CONTROL - 1];
	corio_event ended;           /* set once receiving is over (close seen, failure) */
	corio_mutex send_mu;         /* one frame at a time on the wire */
	uint8_t rnd[256];            /* client: mask keys, refilled from getrandom */
	size_t rnd_off;
	uint8_t *scratch;            /* client: made on the first masked payload */
};

/* conn.c: sends one frame under the send lock (masked on the client side). 0 or -errno. */
int corio__ws_send_frame(corio_ws *ws, uint8_t opcode, const void *p, size_t len);
/* Sends a close with code (0: none) and reason, once. 0 or -errno. */
int corio__ws_send_close(corio_ws *ws, int code, const char *reason, size_t rlen);
/* The end of receiving: err becomes sticky, the close code is set, waiters are woken. */
void corio__ws_end(corio_ws *ws, int err, int code);
/* After our close and the peer's: the server shuts its side (and the connection closes
 * when the handler returns); the client waits (bounded) for the server to close first. */
void corio__ws_finish(corio_ws *ws);
/* A protocol failure: sends the close with code, shuts our side, drains (bounded) so
 * that the peer reads the close before the connection goes. Returns err. */
int corio__ws_fail(corio_ws *ws, int code, int err);

/* A corio_ws over io (taken: the corio_ws owns or borrows it as io->owned says), with
 * rest[0..rest_len) the bytes that came after the handshake (copied), the agreed protocol
 * (copied, NULL: none) and permessage-deflate as negotiated (NULL or !pmd->on: none).
 * NULL on ENOMEM (io is then left to the caller). Never parks. */
corio_ws *corio__ws_new(const corio__ws_io *io, bool server, const corio_ws_opts *o,
			const void *rest, size_t rest_len, const char *protocol,
			const corio__ws_pmd *pmd);

/* ---- handshake.c, accept.c, connect.c ---------------------------------------------------------------------- */

/* base64(SHA-1(key + GUID)) into out (29 bytes with the NUL). 0 or -EINVAL (a key over
 * 64 bytes), -ENOMEM. Never parks. */
int corio__ws_accept_key(const char *key, char out[29]);
/* Whether the comma-separated list has the token tok of length n (ASCII case ignored when
 * icase). Never parks. */
bool corio__ws_list_has(const char *list, const char *tok, size_t n, bool icase);
/* Calls fn(tok, n, arg) for each token of the comma-separated list, until it returns true;
 * returns that. */
bool corio__ws_list_each(const char *list, bool (*fn)(const char *tok, size_t n, void *arg),
			 void *arg);

#endif
