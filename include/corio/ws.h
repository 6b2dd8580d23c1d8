/* corio/ws.h: WebSocket (RFC 6455), server and client, over http:// and https:// alike.
 *
 * A server handler upgrades its request with corio_ws_accept and then talks on the
 * connection until it frees the corio_ws; a client opens one with corio_ws_connect (ws://
 * and wss:// URLs, through a corio_http_client's options, TLS config and default headers).
 *
 *   static void chat(corio_http_in *req, corio_http_out *resp, void *ud)
 *   {
 *           corio_ws *ws;
 *           char buf[4096];
 *           int op;
 *           ssize_t n;
 *
 *           if (corio_ws_accept(req, resp, &ws) != 0)
 *                   return;                  // the 400/426 answer was sent for us
 *           while ((n = corio_ws_recv(ws, &op, buf, sizeof buf)) >= 0)
 *                   corio_ws_send(ws, op, buf, (size_t)n);
 *           corio_ws_close(ws, CORIO_WS_NORMAL, "bye");
 *           corio_ws_free(ws);               // before the handler returns
 *   }
 *
 * Rules:
 *   - Every call but corio_ws_opts_init and the getters (close code, reason, protocol)
 *     may park and must be called from a task on the loop that made the corio_ws.
 *   - One task may receive while others send: sends are serialized (a message's frames are
 *     never interleaved with another's, nor with the automatic pong or the close).
 *   - Pings are answered with a pong automatically; pongs are consumed. Neither is returned
 *     by corio_ws_recv. Control frames between a message's fragments are handled in place.
 *   - A protocol violation by the peer (a frame masked the wrong way, reserved bits without
 *     an extension, an unknown opcode, a control frame over 125 bytes or fragmented, a bad
 *     continuation, invalid UTF-8 in a text message or a close reason, a close code that is
 *     not allowed on the wire, a length with its top bit set) makes the receiving call send
 *     the matching close (1002, 1007, 1009) and fail with -EPROTO (-EMSGSIZE for 1009).
 *   - Errors are negative errno values:
 *       -EPIPE        the connection is closed (the close handshake finished, or this side
 *                     closed): corio_ws_close_code says with which code.
 *       -EPROTO       the peer broke the protocol (see above), or the handshake failed.
 *       -EMSGSIZE     a message over max_message (close 1009 sent), or a receive buffer
 *                     too small for the message (the message is then dropped, the
 *                     connection stays usable).
 *       -ECONNRESET   the transport ended without a close frame.
 *       -EINVAL       a bad argument (opcode, code, a reason over 123 bytes, a text
 *                     message that is not UTF-8 when sending).
 *       -EBUSY        a receive while another task receives on the same corio_ws
 *                     (corio_ws_close receives itself while it waits for the peer's
 *                     close, when no other task does).
 *       -ECANCELED, -ETIMEDOUT (timeout scopes), -ENOMEM, and -errno from the transport.
 *
 * Ownership: the corio_ws owns its copy of whatever bytes arrived after the handshake. A
 * server-side corio_ws borrows the HTTP connection (fd, TLS) of the handler's request: free
 * it before the handler returns; the server then closes the connection (a WebSocket
 * connection is never reused for HTTP). A client-side corio_ws owns its socket and TLS
 * connection and closes them in corio_ws_free; it does not keep the client alive: free it
 * before freeing the client.
 */
#ifndef CORIO_WS_H
#define CORIO_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <corio/http.h>
#include <corio/http_server.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_ws corio_ws;

/* Opcodes (RFC 6455 5.2). corio_ws_send takes TEXT, BINARY, PING and PONG; corio_ws_recv
 * returns TEXT or BINARY. */
enum {
	CORIO_WS_CONT = 0x0,
	CORIO_WS_TEXT = 0x1,
	CORIO_WS_BINARY = 0x2,
	CORIO_WS_CLOSE = 0x8,
	CORIO_WS_PING = 0x9,
	CORIO_WS_PONG = 0xA,
};

/* Close codes (RFC 6455 7.4.1). 1005 and 1006 are never sent: corio_ws_close_code reports
 * them for a close without a code and for a connection cut without a close. */
enum {
	CORIO_WS_NORMAL = 1000,
	CORIO_WS_GOING_AWAY = 1001,
	CORIO_WS_PROTOCOL_ERROR = 1002,
	CORIO_WS_UNSUPPORTED_DATA = 1003,
	CORIO_WS_NO_STATUS = 1005,
	CORIO_WS_ABNORMAL = 1006,
	CORIO_WS_INVALID_DATA = 1007,
	CORIO_WS_POLICY = 1008,
	CORIO_WS_TOO_BIG = 1009,
	CORIO_WS_EXTENSION = 1010,
	CORIO_WS_INTERNAL_ERROR = 1011,
};

/* Options; a zeroed struct (or NULL) gives the defaults. */
typedef struct corio_ws_opts {
	size_t max_message;        /* whole message, after inflating; 0: 16 MiB -> 1009 */
	uint64_t close_timeout_ns; /* how long close waits for the peer's close; 0: 5 s */
	uint64_t handshake_ns;     /* client: the opening handshake; 0: the client's timeouts */
	bool deflate;              /* offer (client) / accept (server) permessage-deflate */
	const char *protocols;     /* Sec-WebSocket-Protocol: the client offers this
				    * comma-separated list; the server picks the first of its own
				    * list that the client offered. NULL: none */
} corio_ws_opts;

CORIO_API void corio_ws_opts_init(corio_ws_opts *o);

/* Server: checks the request's handshake (GET, HTTP/1.1, Upgrade: websocket, Connection:
 * upgrade, Sec-WebSocket-Version: 13, a Sec-WebSocket-Key of 16 bytes in base64) and sends
 * 101 Switching Protocols. A bad handshake gets 400 (426 with Sec-WebSocket-Version: 13 for
 * another version) and -EPROTO; a response already started: -EALREADY. Parks. */
CORIO_API int corio_ws_accept(corio_http_in *req, corio_http_out *resp, corio_ws **out);
CORIO_API int corio_ws_accept_opts(corio_http_in *req, corio_http_out *resp,
				   const corio_ws_opts *o, corio_ws **out);

/* Client: connects to a ws:// or wss:// URL (http:// and https:// accepted as the same) with
 * c's timeouts, TLS config and default headers, and checks the 101 answer
 * (Sec-WebSocket-Accept, the extension and protocol it picked). -EPROTO when the server
 * answered anything else (corio_http_response status in the handshake is lost; a 4xx is
 * -EPROTO too), -EKEYREJECTED / -ECONNREFUSED / -ETIMEDOUT as corio_http_request. Parks. */
CORIO_API int corio_ws_connect(corio_http_client *c, const char *url, corio_ws **out);
CORIO_API int corio_ws_connect_opts(corio_http_client *c, const char *url,
				    const corio_ws_opts *o, corio_ws **out);

/* Sends one message of len bytes as a single frame (TEXT must be UTF-8: -EINVAL), or a
 * ping/pong with up to 125 bytes. Parks until the bytes are handed to the kernel. 0 or -errno. */
CORIO_API int corio_ws_send(corio_ws *ws, int opcode, const void *data, size_t len);
/* Receives one whole message (fragments joined, inflated, UTF-8 checked) into buf and
 * sets *opcode (TEXT or BINARY). Returns its length, or -errno (above). A close from the
 * peer is answered, and the call returns -EPIPE. Parks. */
CORIO_API ssize_t corio_ws_recv(corio_ws *ws, int *opcode, void *buf, size_t len);
/* The same without a copy: *data points into the corio_ws's buffer, valid until the next
 * receive or corio_ws_free. */
CORIO_API ssize_t corio_ws_recv_msg(corio_ws *ws, int *opcode, const void **data);
/* The close handshake: sends a close with code (1000..4999 that may be sent; 0: no code)
 * and reason (UTF-8, up to 123 bytes; NULL: none), then reads (and drops) until the peer's
 * close or close_timeout_ns; a client then waits for the server to close the TCP
 * connection, a server closes it. 0, or -errno (-ETIMEDOUT: the peer never answered;
 * the connection is closed anyway). Calling it after the peer's close: 0. Parks. */
CORIO_API int corio_ws_close(corio_ws *ws, int code, const char *reason);
/* After -EPIPE / -EPROTO / -ECONNRESET: the code of the peer's close (or the one this side
 * sent for a protocol error), CORIO_WS_NO_STATUS, or CORIO_WS_ABNORMAL; 0 while open. */
CORIO_API int corio_ws_close_code(const corio_ws *ws);
CORIO_API const char *corio_ws_close_reason(const corio_ws *ws); /* "" when none */
/* The subprotocol both sides agreed on, NULL when none. */
CORIO_API const char *corio_ws_protocol(const corio_ws *ws);
/* Frees ws; a client's closes its socket (which may park, like corio_close). Does not send
 * a close frame: call corio_ws_close first for a clean end. NULL allowed. */
CORIO_API void corio_ws_free(corio_ws *ws);

#ifdef __cplusplus
}
#endif

#endif
