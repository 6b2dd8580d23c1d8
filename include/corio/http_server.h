/* corio/http_server.h: an HTTP/1.1 server (the aiohttp.web part of corio): listeners on one
 * loop or on N loops with SO_REUSEPORT, one coroutine per connection, keep-alive and
 * pipelining, limits and deadlines against slow or hostile clients, graceful shutdown,
 * routing with middleware, static files (Range, ETag and the conditional requests,
 * Cache-Control, gzip on the fly or precompressed, Content-Type by extension), and gzip of
 * handlers' bodies.
 *
 * The names: a corio_http_server calls a corio_http_handler once per request with the
 * request as received (corio_http_in: method, target, headers, a streamed body) and a
 * response writer (corio_http_out: status, headers, a body from memory, from a file, or
 * streamed). "in"/"out" keep these apart from the client's request and response types in
 * corio/http.h.
 *
 * Threads: with opts.threads > 1 the handler runs on several loops at once; anything it
 * shares through ud must be thread-safe. Within one loop, handlers of different
 * connections interleave only where they park.
 *
 * Every call that "parks" must be called from a task. Errors are negative errno values.
 */
#ifndef CORIO_HTTP_SERVER_H
#define CORIO_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <corio/runtime.h>
#include <corio/tls.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corio_http_server corio_http_server;
typedef struct corio_http_in corio_http_in;   /* a request, as the server received it */
typedef struct corio_http_out corio_http_out; /* the response writer for that request */

/* Called once per request, in the connection's coroutine (it may park). The request and
 * the writer are valid until it returns. A handler that returns without starting a
 * response gets a 500 sent for it (413/408 when reading the body failed for that reason);
 * a started chunked response is finished for it. */
typedef void (*corio_http_handler)(corio_http_in *req, corio_http_out *resp, void *ud);

typedef struct corio_http_server_opts {
	unsigned threads;           /* 0/1: serve on the caller's loop; N: N loops (SO_REUSEPORT) */
	int backlog;                /* <= 0: SOMAXCONN */
	size_t max_header_bytes;    /* request line + headers, raw bytes; 0: 16 KiB -> 431 (414) */
	unsigned max_headers;       /* header fields; 0: 100 -> 431 */
	uint64_t max_body_bytes;    /* 0: 16 MiB; UINT64_MAX: no limit -> 413 (and always
				     * for a Content-Length above INT64_MAX) */
	uint64_t header_timeout_ns; /* first byte of a request to its last header; 0: 10 s -> 408 */
	uint64_t body_timeout_ns;   /* first wait for body bytes to its end; 0: 60 s -> 408 */
	uint64_t idle_timeout_ns;   /* keep-alive wait for a next request; 0: 60 s -> close */
	uint64_t write_timeout_ns;  /* each response write; 0: 60 s -> close */
	unsigned max_requests;      /* per connection; 0: unlimited */
	const char *server_name;    /* Server header; NULL: "corio"; "": none */
	size_t read_buffer;         /* per connection; 0: 16 KiB; at least 1 KiB */
	/* HTTPS: a server config (corio/tls.h) with its certificate; NULL: plain HTTP. The
	 * server takes a reference (the caller may free its own after corio_http_server_new).
	 * The handshake counts against header_timeout_ns; a failed one (plain HTTP on the
	 * TLS port included) closes the connection. Session tickets and resumption are
	 * on (OpenSSL's defaults, one ticket key per config). A config without an ALPN
	 * list gets "http/1.1" here (unless a connection already uses it). */
	corio_tls_config *tls;
	/* An access log (see "access log" below; not owned: it must outlive the server);
	 * NULL: none. */
	struct corio_http_access_log *access_log;
} corio_http_server_opts;

/* Fills o with the defaults (all zero). */
CORIO_API void corio_http_server_opts_init(corio_http_server_opts *o);

/* ---- the server ---------------------------------------------------------------------- */

/* A server that calls h(req, resp, ud) for each request. o NULL: defaults (copied; the
 * server_name string must outlive the server). NULL on ENOMEM, or EINVAL for a NULL h or a
 * tls config that is not a server config with a certificate. Never parks. */
CORIO_API corio_http_server *corio_http_server_new(const corio_http_server_opts *o,
						   corio_http_handler h, void *ud);
/* Listens on host:port (host as in corio_tcp_listen: NULL/"*" for all addresses, a name,
 * or a numeric address; port 0 picks a free one). With threads > 1 opens one SO_REUSEPORT
 * listener per loop on the same port. Parks (name resolution). 0 or -errno; -EALREADY
 * when already listening. */
CORIO_API int corio_http_server_listen(corio_http_server *srv, const char *host, int port);
/* The port listened on, or -ENOTCONN before listen. Never parks. */
CORIO_API int corio_http_server_port(const corio_http_server *srv);
/* Serves until corio_http_server_shutdown has finished: every connection closed. With
 * threads > 1 the loops run on their own threads (started through corio_blocking) and the
 * caller parks meanwhile. Cancelling the task parked in serve stops a one-loop server at
 * once (a shutdown without grace); with threads > 1 only shutdown stops the loops.
 * 0, -ENOTCONN (not listening), -EALREADY (served already), -EPERM (not in a task), or the
 * error that ended accepting on a loop. */
CORIO_API int corio_http_server_serve(corio_http_server *srv);
/* Starts a graceful shutdown and returns at once (never parks; any thread, a handler
 * included): listeners close (new connections are refused), idle keep-alive connections
 * close, requests in flight finish and their connections close after the response; grace_ns
 * after the call whatever is left is cancelled (handlers see -ECANCELED from blocking
 * calls) and closed. serve returns when the last connection has closed. Calling it before
 * serve makes serve return at once. 0, -EALREADY when already shutting down. */
CORIO_API int corio_http_server_shutdown(corio_http_server *srv, uint64_t grace_ns);
/* Frees the server (after serve returned, or when it never ran); closes the listeners. */
CORIO_API void corio_http_server_free(corio_http_server *srv);

/* ---- the request --------------------------------------------------------------------- */

/* "GET", "POST", ... */
CORIO_API const char *corio_http_in_method(const corio_http_in *req);
/* 10 for HTTP/1.0, 11 for HTTP/1.1. */
CORIO_API int corio_http_in_version(const corio_http_in *req);
/* The request-target as sent ("/a%20b?x=1"), its path ("/a%20b", still percent-encoded)
 * and its query ("x=1"; "" when none). */
CORIO_API const char *corio_http_in_target(const corio_http_in *req);
CORIO_API const char *corio_http_in_path(const corio_http_in *req);
CORIO_API const char *corio_http_in_query(const corio_http_in *req);
/* The first value of header name (case-insensitive), NULL when absent. Values have their
 * surrounding whitespace removed. */
CORIO_API const char *corio_http_in_header(const corio_http_in *req, const char *name);
/* Headers in arrival order: 0 and *name, *value for i < count, -ENOENT beyond. */
CORIO_API size_t corio_http_in_header_count(const corio_http_in *req);
CORIO_API int corio_http_in_header_at(const corio_http_in *req, size_t i, const char **name,
				      const char **value);
/* The body's length from Content-Length, 0 without a body, -1 when chunked. */
CORIO_API int64_t corio_http_in_content_length(const corio_http_in *req);
/* Reads body bytes (de-chunked) into buf. Parks. Returns > 0, 0 at the end of the body, or
 * -errno: -EMSGSIZE (longer than max_body_bytes: the server answers 413 if the handler
 * does not answer), -ETIMEDOUT (body_timeout: 408), -ECONNRESET (the client went away or
 * the body was truncated), -EBADMSG (malformed chunked framing), -ECANCELED. The first
 * read of a request with "Expect: 100-continue" sends "100 Continue". */
CORIO_API ssize_t corio_http_in_read(corio_http_in *req, void *buf, size_t len);
/* Reads the whole body into memory owned by the request (valid until the handler returns,
 * NUL-terminated). 0 or what corio_http_in_read returned, or -ENOMEM. Parks. */
CORIO_API int corio_http_in_body(corio_http_in *req, const char **body, size_t *len);

/* ---- the response -------------------------------------------------------------------- */

/* Sets the status (default 200) before the response started. 0, -EINVAL (outside
 * 200..999: interim answers are the server's), -EALREADY (headers already sent). */
CORIO_API int corio_http_out_status(corio_http_out *resp, int status);
/* Adds a header before the response started. Content-Length, Transfer-Encoding are the
 * server's (-EINVAL); "Connection: close" closes the connection after this response; Date
 * and Server set here replace the server's own. CR, LF or NUL in either: -EINVAL. */
CORIO_API int corio_http_out_header(corio_http_out *resp, const char *name, const char *value);
/* The whole response with a body from memory (Content-Length). Parks. 0 or -errno. A
 * HEAD request gets the headers only. */
CORIO_API int corio_http_out_send(corio_http_out *resp, const void *body, size_t len);
/* The whole response with len bytes of the open file fd from offset as its body (up to
 * 64 KiB sent with the headers in one send; larger bodies in 256 KiB read + send steps, or
 * spliced through a pipe with CORIO_HTTP_FILE=splice). fd stays the caller's; if it is
 * O_NONBLOCK (meaningless to read(2) on a regular file, but io_uring answers -EAGAIN for
 * pages not in the page cache) the flag is cleared when a read would have to wait.
 * Parks. 0, -errno; -EIO when the file ended early (the connection is then closed). */
CORIO_API int corio_http_out_file(corio_http_out *resp, int fd, off_t offset, uint64_t len);
/* Streaming: announce the body length first with corio_http_out_length (otherwise the body
 * is chunked; for HTTP/1.0 clients it is delimited by closing the connection), then write
 * pieces and finish. Parks. 0 or -errno (-EMSGSIZE: more than the announced length). */
CORIO_API int corio_http_out_length(corio_http_out *resp, uint64_t len);
CORIO_API int corio_http_out_write(corio_http_out *resp, const void *data, size_t len);
CORIO_API int corio_http_out_finish(corio_http_out *resp);
/* A short text/plain response: "<status> <reason>\n". Parks. */
CORIO_API int corio_http_out_error(corio_http_out *resp, int status);
/* True once the status line went out (or is buffered to go out). */
CORIO_API bool corio_http_out_started(const corio_http_out *resp);

/* The reason phrase for status ("Not Found"), "" when unknown. */
CORIO_API const char *corio_http_reason(int status);
/* Content-Type for a file name by its extension (case-insensitive), e.g. "text/html;
 * charset=utf-8"; "application/octet-stream" when unknown. */
CORIO_API const char *corio_http_mime_type(const char *path);

/* ---- routing and middleware ----------------------------------------------------------- */

/* A router, like aiohttp.web's or Go's ServeMux: method + path patterns to handlers, with a
 * chain of middleware around every request. Serve it with corio_http_router_handler as the
 * server's handler and the router as its ud.
 *
 * Patterns start with '/' and are matched segment by segment on the raw (percent-encoded)
 * path: a literal segment ("users"; written encoded or not, "%"-escapes in the request are
 * decoded before comparing), "{name}" (one non-empty segment), "{name*}" (the rest of the
 * path, last only: "/static/{path*}" matches "/static/" with path "" and "/static/a/b" with
 * "a/b", not "/static"). Names are [A-Za-z0-9_], at most 16 per pattern. At every segment
 * a literal wins over {name}, which wins over {name*}; when the preferred branch has no
 * route for the method further down, the next is tried ("/users/new" GET and
 * "/users/{id}" POST: POST /users/new gets the second).
 *
 * Paths: "/users" and "/users/" are different routes (register both if both should
 * answer; "/users/" never matches "/users/{id}", whose segment is empty); an empty segment
 * ("//") matches only a tail. A request path with a "." or ".." segment (also as "%2e")
 * gets 400: clients remove them before sending (RFC 3986 5.2.4), so only crafted requests
 * have them.
 *
 * Answers of the router itself (they go through the middleware too): 404 when no pattern
 * matches the path; 405 with "Allow" (sorted, HEAD with GET, OPTIONS) when patterns match
 * but none has the method; OPTIONS without an OPTIONS (or "*") route: 204 with that Allow
 * ("OPTIONS *": every method of the router); 400 for a bad %-escape or a %00 in a parameter,
 * or a dot segment. HEAD is served by the GET route when there is no HEAD route (the server
 * sends no body for HEAD).
 *
 * Threads: add every route and middleware before serving; while serving the router is only
 * read (each request's match lives on its own stack), so one router serves every loop of a
 * threads > 1 server. */
typedef struct corio_http_router corio_http_router;

/* An empty router; NULL on ENOMEM. */
CORIO_API corio_http_router *corio_http_router_new(void);
/* Routes method ("GET", ...: a token, compared case-sensitively; "*": any method, below
 * the route of the method itself) and pattern to h(req, resp, ud). 0; -EINVAL for a NULL
 * argument, a bad method, a pattern that does not start with '/', has an unclosed or stray
 * brace, a brace in the middle of a segment, an empty or duplicate name, a tail that is not
 * last, an empty segment before the end, a "." or ".." segment, more than 16 names, or the
 * same method and pattern (names aside) twice; -ENOMEM. Never parks. */
CORIO_API int corio_http_route(corio_http_router *r, const char *method, const char *pattern,
			       corio_http_handler h, void *ud);
/* The decoded value of the matched pattern's {name} in a request the router dispatched
 * (valid until the handler returns; a decoded '/' stays inside the value, so treat it as
 * data, not as a file name); NULL when there is no such name or outside a router. Works in
 * middleware too (the route is chosen before the chain runs). */
CORIO_API const char *corio_http_in_param(const corio_http_in *req, const char *name);
/* Middleware: runs around everything the router answers (routes and its own 404, 405,
 * OPTIONS, 400). Call next(req, resp, next_ud) to run the rest of the chain (it may be
 * called at most once per request in practice: a response can start only once) or answer
 * yourself instead. Headers can be added only before the response starts: one that adds a
 * header "after" the handler must add it before calling next (the handler starts the
 * response); what it can do after next is look (corio_http_out_started) and log. */
typedef void (*corio_http_middleware)(corio_http_in *req, corio_http_out *resp,
				      corio_http_handler next, void *next_ud, void *ud);
/* Appends mw to the chain: the first added runs outermost. 0, -EINVAL, -ENOMEM. */
CORIO_API int corio_http_router_use(corio_http_router *r, corio_http_middleware mw, void *ud);
/* The server's handler for a router (ud: the corio_http_router *). Allocates nothing per
 * request unless the parameter values exceed 512 bytes. Parks where handlers park. */
CORIO_API void corio_http_router_handler(corio_http_in *req, corio_http_out *resp,
					 void *router);
/* Frees r (after every server using it has stopped); NULL is allowed. */
CORIO_API void corio_http_router_free(corio_http_router *r);

/* ---- static files -------------------------------------------------------------------- */

/* Serves the file for the URL path upath (percent-encoded; NULL: the request's path) from
 * under root_dir: GET and HEAD only (405 otherwise), ".." segments refused (403), symlinks
 * leaving root_dir refused (openat2 RESOLVE_BENEATH: 404), directories served as their
 * index.html (a path without the trailing '/' is redirected, 301), Content-Type by
 * extension, Last-Modified, If-Modified-Since (304), a single Range (206, or 416 when
 * unsatisfiable; multiple ranges get the whole file). Always answers; returns 0, or -errno
 * when sending failed. Parks. */
CORIO_API int corio_http_serve_file(corio_http_in *req, corio_http_out *resp,
				    const char *root_dir, const char *upath);

/* The same with the root directory opened once (cheaper per request). */
typedef struct corio_http_static corio_http_static;
/* Opens root_dir (O_PATH). NULL with errno set. Never parks. */
CORIO_API corio_http_static *corio_http_static_new(const char *root_dir);
CORIO_API void corio_http_static_free(corio_http_static *st);
CORIO_API int corio_http_static_serve(corio_http_static *st, corio_http_in *req,
				      corio_http_out *resp, const char *upath);
/* A ready-made handler: ud is a corio_http_static *. */
CORIO_API void corio_http_static_handler(corio_http_in *req, corio_http_out *resp, void *ud);

/* Caching and compression of static files. Every answer about a file (200, 206, 304) has
 * a strong ETag made of the file's inode, size and mtime in nanoseconds
 * ("<ino>-<size>-<mtime ns>" in hex, in quotes), and the conditional requests of RFC 9110
 * 13.2.2 are evaluated in its order: If-Match (strong; 412), else If-Unmodified-Since
 * (412), then If-None-Match (weak; 304), else If-Modified-Since (304), then If-Range
 * (an ETag compared strongly, or a date equal to Last-Modified) before Range.
 *
 * With gzip or precompressed, a file of a compressible type (text/<any>, JSON, JavaScript,
 * XML, SVG, wasm, ttf/otf, bmp, ico: see http/common/mime.h) varies with Accept-Encoding:
 * every answer about it carries "Vary: Accept-Encoding". A client that accepts gzip
 * (Accept-Encoding with q > 0 for gzip or "*") then gets <file>.gz when precompressed is
 * set and that sibling is a regular file not older than the file (its own ETag and
 * Last-Modified, a Content-Length, any HTTP version), else with gzip set and a file of at
 * least gzip_min bytes, the file compressed as it is read (ETag with "-gz" inside the
 * quotes, chunked, no Content-Length; HTTP/1.1 only: HTTP/1.0 clients get identity). A
 * request with a Range always gets the identity bytes (ranges of a gzip stream made on the
 * fly would not be stable). HEAD answers the headers GET would. */
typedef struct corio_http_static_opts {
	const char *cache_control; /* Cache-Control of 200/206/304 answers (copied), e.g.
				    * "public, max-age=3600"; NULL: none */
	bool gzip;                 /* compress compressible files on the fly */
	bool precompressed;        /* serve <file>.gz for compressible files */
	size_t gzip_min;           /* smaller files are sent as they are; 0: 1 KiB */
	int gzip_level;            /* 1..9; 0: zlib's default (6) */
} corio_http_static_opts;

/* Fills o with the defaults (all zero: no Cache-Control, no compression). */
CORIO_API void corio_http_static_opts_init(corio_http_static_opts *o);
/* corio_http_static_new with options (o NULL: the defaults). NULL with errno set (EINVAL
 * for a cache_control with CR, LF or NUL, or a gzip_level outside 0..9). Never parks. */
CORIO_API corio_http_static *corio_http_static_new_opts(const char *root_dir,
						       const corio_http_static_opts *o);

/* ---- access log ---------------------------------------------------------------------- */

/* One line per request in the Common or Combined Log Format (Apache, nginx), as log
 * analyzers read it:
 *   host - - [06/Dec/2026:13:45:09 +0000] "GET /a?b=1 HTTP/1.1" 200 13
 *   ... 200 13 "referer" "user-agent"                          (combined)
 * host is the client's numeric address; ident and authuser are always "-"; the date is UTC;
 * bytes are the body bytes sent ("-" for none). Bytes a client could use to forge a line
 * (control bytes, bytes >= 0x7f, '"' and '\\') in the request line, Referer and User-Agent
 * are written as \xHH, \" and \\ (as nginx does). A request the server answered itself
 * (400, 408, 413, 414, 431, 501, 505) is logged too: its request line is "-" when the
 * request-target was never complete. A response cut short (the client went away) logs the
 * bytes handed to the socket before the failing send.
 *
 * Off the request's path: each server loop appends its lines to a buffer of its own (no
 * lock, no syscall per request) and writes whole buffers with one corio_write on an
 * O_APPEND descriptor, so lines of several loops never mix mid-line. A loop writes when
 * its buffer passes 64 KiB (from the connection that crossed the mark, after its response
 * went out), once a second, and when serving ends: every line is in the file when
 * corio_http_server_serve returns. A write that fails (ENOSPC, EIO, EBADF) is reported once
 * per log through the logger (corio_set_logger, CORIO_LOG_ERROR), its lines are dropped and
 * the server keeps serving; so are lines beyond 8 MiB waiting in one loop. */
typedef struct corio_http_access_log corio_http_access_log;
enum {
	CORIO_HTTP_LOG_COMMON = 0,
	CORIO_HTTP_LOG_COMBINED = 1,
};
/* Opens path for appending (created 0644 when missing); path NULL: each line goes to the
 * logger at CORIO_LOG_INFO instead (without the newline). NULL with errno (open's, EINVAL
 * for an unknown format, ENOMEM). Never parks (a plain open(2)). Give it to any number of
 * servers through corio_http_server_opts.access_log; free it after the last of them was
 * freed. */
CORIO_API corio_http_access_log *corio_http_access_log_new(const char *path, int format);
CORIO_API void corio_http_access_log_free(corio_http_access_log *log);

/* What a log or a middleware asks of a request once answered. The status of the response
 * (200 until set); the body bytes sent so far (0 for HEAD, 204, 304 and for a send that
 * failed); the client's address (getpeername(2): 0 or -errno, *len in/out as there). */
CORIO_API int corio_http_out_status_code(const corio_http_out *resp);
CORIO_API uint64_t corio_http_out_bytes(const corio_http_out *resp);
CORIO_API int corio_http_in_peer(const corio_http_in *req, struct sockaddr *addr,
				 socklen_t *len);

/* ---- response compression ---------------------------------------------------------------- */

/* Compresses this response's body with gzip when it is worth it, decided at the first
 * send, write, file or finish, when the handler's headers are known: a compressible
 * Content-Type (as above), no Content-Encoding or Content-Range set by the handler, a
 * status with a body, an HTTP/1.1 client whose Accept-Encoding takes gzip, and for send a
 * body of at least 256 bytes. A compressible type gets "Vary: Accept-Encoding" in any case.
 * Compressed: "Content-Encoding: gzip", a strong ETag the handler set made weak, and the
 * body chunked (an announced corio_http_out_length is dropped), except a send of up to
 * 256 KiB, compressed in one go with its Content-Length. Every corio_http_out_write is
 * flushed through to the client (Z_SYNC_FLUSH). level: 1..9, 0 or -1 for zlib's default.
 * Call before the response started. 0, -EALREADY (started), -EINVAL, -ENOMEM. Never parks. */
CORIO_API int corio_http_out_compress(corio_http_out *resp, const corio_http_in *req, int level);
/* Middleware (the shape of corio_http_middleware): corio_http_out_compress, then next.
 * ud: NULL for the default level, or a const int * to a level. */
CORIO_API void corio_http_compress_middleware(corio_http_in *req, corio_http_out *resp,
					      corio_http_handler next, void *next_ud, void *ud);

#ifdef __cplusplus
}
#endif

#endif
