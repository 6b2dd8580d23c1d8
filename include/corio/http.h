/* corio/http.h: the HTTP/1.1 client (a ClientSession like aiohttp's: connection pool,
 * keep-alive, redirects, gzip/deflate) and the RFC 3986 URL parser with percent-encoding
 * helpers. The server API is in corio/http_server.h, included at the end.
 *
 *     corio_http_client *c = corio_http_client_new(NULL);
 *     corio_http_response *r;
 *     const char *text;
 *     size_t len;
 *     int rc = corio_http_get(c, "http://example.com/", &r);
 *     if (rc == 0 && (rc = corio_http_response_text(r, &text, &len)) == 0)
 *         printf("%d %.100s\n", corio_http_response_status(r), text);
 *     corio_http_response_free(r);     // NULL is fine
 *     corio_http_client_free(c);
 *
 * Rules for the whole client API:
 *   - Calls that send or receive park the calling coroutine: they must be called from a task
 *     of the loop that created the client (-EPERM elsewhere) and honour cancellation
 *     (-ECANCELED) and the caller's timeout scopes (-ETIMEDOUT), on top of the client's own
 *     timeouts (which also give -ETIMEDOUT).
 *   - A client belongs to one loop; its objects must only be used from that loop's thread.
 *   - Errors are negative errno values. The ones specific to HTTP:
 *       -EINVAL          bad URL, method or header (CR/LF/NUL, non-token name), bad option
 *       -EPROTONOSUPPORT a scheme other than http and https
 *       -EKEYREJECTED    https://: the server's certificate failed verification (untrusted,
 *                        expired, another name); corio_tls_error(NULL) says which (corio/tls.h)
 *       -EBADMSG         malformed response: llhttp rejected it, obs-fold, 101 not asked
 *                        for; a status line other than HTTP/1.x, one space, a status code
 *                        of exactly three digits in 100..599, one space and a reason without
 *                        control bytes (or no reason); a Transfer-Encoding other than a
 *                        lone chunked (at corio_http_get; "gzip, chunked" included: the
 *                        client decodes no transfer coding), Content-Length with
 *                        Transfer-Encoding, a Content-Length that is not plain digits or
 *                        appears twice (even "5,5"); when decompressing, reading a non-empty
 *                        body with a Content-Encoding it does not decode or more than 3
 *                        layers, or bad compressed data (never a half-decoded body)
 *       -EPROTO          truncated response: the connection ended inside the headers or
 *                        the body (a short Content-Length or chunked body, a cut gzip
 *                        stream); never reported as success. Over TLS also a handshake or
 *                        record failure, and a connection cut without close_notify where the
 *                        framing does not prove the body complete
 *       -ECONNRESET      the server closed the connection before any byte of a response
 *       -EMSGSIZE        response headers beyond max_header_bytes / max_headers, or a chunk
 *                        extension beyond max_chunk_ext
 *       -EFBIG           body beyond max_body_size (decoded bytes) or max_decoded_size
 *                        (checked on the decoded bytes as they come: a small compressed body
 *                        that inflates without end fails once past it)
 *       -ELOOP           more than max_redirects redirects, or a redirect loop
 *       -ETIMEDOUT       connect, total or idle-read timeout
 *       -ESHUTDOWN       corio_http_client_free ran while the request waited for a connection
 *       -EACCES          a proxy answered CONNECT with 407 (Proxy Authentication Required)
 *       -ECONNREFUSED    also: a proxy answered CONNECT with another non-2xx status (the
 *                        PROXY_CONNECT_DONE trace event carries it); a malformed answer
 *                        to CONNECT is -EBADMSG, a cut one -EPROTO (a proxy that closes
 *                        before any byte of an answer: -ECONNRESET; a head beyond
 *                        max_header_bytes: -EMSGSIZE)
 *       resolution errors of corio_tcp_connect (CORIO_EAI codes, see corio/net.h)
 *   - A connection that saw any error is closed, never reused; a connection goes back to the
 *     pool only after a complete response whose keep-alive holds and with nothing unread
 *     behind it. An HTTP/1.0 response with Transfer-Encoding is read as framed but its
 *     connection is always closed (RFC 9112 6.1: its framing is not to be trusted).
 *   - Heads are bounded: interim (1xx) responses, the final head and the trailers count
 *     against max_header_bytes together with their fields against max_headers (-EMSGSIZE).
 */
#ifndef CORIO_HTTP_H
#define CORIO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <corio/runtime.h>
#include <corio/tls.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- URLs (RFC 3986) -------------------------------------------------------------------- */

/* A parsed absolute URL. Every string points into storage owned by the struct (free it with
 * corio_url_free). Components are kept as written (still percent-encoded), except that the
 * scheme and a registered host name are lowercased and a host's percent-escapes decoded. */
typedef struct corio_url {
	const char *scheme;   /* lowercase, never NULL */
	const char *userinfo; /* before '@', NULL when absent */
	const char *host;     /* "" when absent; an IPv6 literal without its brackets */
	uint16_t port;        /* the explicit port, else the scheme's default (0: unknown) */
	bool has_port;        /* a port was written */
	bool has_authority;   /* "//" authority present */
	bool ipv6;            /* host is an IP-literal ([...]) */
	const char *path;     /* "" when empty (http/https: "/") */
	const char *query;    /* without '?'; NULL when absent, "" for a bare '?' */
	const char *fragment; /* without '#'; NULL when absent */
	char *storage_;       /* private */
} corio_url;

/* Parses the absolute URL s (scheme required) into *out. 0, -EINVAL (syntax: a space, a
 * control or non-ASCII byte, a bad percent-escape, a bad or out-of-range port (0 and
 * > 65535 included), a bad IPv6 literal, two '@', a missing host for http/https...),
 * -ENOMEM. On error *out is zeroed and needs no corio_url_free. Never parks. */
CORIO_API int corio_url_parse(const char *s, corio_url *out);
/* Resolves the reference ref (absolute, network-path "//h/p", absolute-path "/p",
 * relative "p", "?q", "#f", "") against base, RFC 3986 section 5.2 (dot segments removed).
 * 0, -EINVAL, -ENOMEM. */
CORIO_API int corio_url_resolve(const corio_url *base, const char *ref, corio_url *out);
/* The URL as a string (malloc'd; the caller frees it), NULL on ENOMEM. The port appears
 * only when it was written. */
CORIO_API char *corio_url_string(const corio_url *u);
/* Frees what corio_url_parse / _resolve stored and zeroes *u. NULL is a no-op. */
CORIO_API void corio_url_free(corio_url *u);
/* The default port of a scheme (http 80, https 443, ws 80, wss 443, ftp 21), 0 if unknown. */
CORIO_API uint16_t corio_url_default_port(const char *scheme);

/* Percent-encodes len bytes of src: unreserved characters (A-Z a-z 0-9 - . _ ~) and those
 * in safe (may be NULL; e.g. "/" for a path) stay, every other byte becomes %XX (uppercase
 * hex). *out gets a malloc'd NUL-terminated string. Its length, or -ENOMEM / -EINVAL. */
CORIO_API ssize_t corio_url_encode(const void *src, size_t len, const char *safe, char **out);
/* Decodes %XX escapes of src (len bytes); with CORIO_URL_DECODE_PLUS a '+' becomes a space
 * (application/x-www-form-urlencoded). *out gets a malloc'd buffer, NUL-terminated (the
 * decoded bytes may themselves contain NUL). Its length, or -EINVAL (a '%' not followed by
 * two hex digits), -ENOMEM. */
#define CORIO_URL_DECODE_PLUS 0x1u
CORIO_API ssize_t corio_url_decode(const char *src, size_t len, unsigned flags, char **out);

/* ---- client ------------------------------------------------------------------------------ */

typedef struct corio_http_client corio_http_client;
typedef struct corio_http_response corio_http_response;

/* A header (name and value as C strings). In a request, value NULL removes the header
 * (also one the client would add itself, e.g. User-Agent or Accept-Encoding). */
typedef struct corio_http_header {
	const char *name;
	const char *value;
} corio_http_header;

typedef struct corio_http_cookie_jar corio_http_cookie_jar;
typedef struct corio_http_form corio_http_form;

/* ---- tracing hooks (like aiohttp's TraceConfig and Go's httptrace) ------------------------
 * Called synchronously from the requesting task, in this order for one request (events
 * that do not apply are skipped): REQUEST_START, then for a pooled connection CONN_REUSED,
 * otherwise DNS_START/DNS_DONE (names only, cache hits included), CONNECT_START/
 * CONNECT_DONE (one pair per address tried; the attempts of a name with IPv6 and IPv4
 * addresses race as in corio_tcp_connect, each in a task of its own on the same loop, so
 * pairs may interleave and a loser ends with -ECANCELED), PROXY_CONNECT_DONE (a CONNECT
 * tunnel), TLS_START/TLS_DONE, CONN_NEW; then REQUEST_SENT (head and body written), FIRST_BYTE (the
 * first response byte), HEADERS (the final head parsed), and REDIRECT before each hop
 * (then the sequence starts over from CONN_REUSED / DNS_START), and REQUEST_END once
 * corio_http_request returns (err says how; a request refused before any connection, a
 * bad URL say, gives REQUEST_START then REQUEST_END). A retry on a fresh connection
 * repeats the connection's events. With Expect: 100-continue the interim answer is the
 * first byte: FIRST_BYTE then comes before REQUEST_SENT. A hook must not park and must not
 * call the client; the struct and its strings are valid only during the call. */
typedef enum corio_http_trace_event {
	CORIO_HTTP_TRACE_REQUEST_START = 1,
	CORIO_HTTP_TRACE_CONN_REUSED,
	CORIO_HTTP_TRACE_DNS_START,
	CORIO_HTTP_TRACE_DNS_DONE,        /* err: 0 or the resolution error */
	CORIO_HTTP_TRACE_CONNECT_START,   /* addr: the address tried */
	CORIO_HTTP_TRACE_CONNECT_DONE,    /* addr, err */
	CORIO_HTTP_TRACE_PROXY_CONNECT_DONE, /* status: the proxy's answer to CONNECT, err */
	CORIO_HTTP_TRACE_TLS_START,
	CORIO_HTTP_TRACE_TLS_DONE,        /* err, tls_resumed */
	CORIO_HTTP_TRACE_CONN_NEW,        /* a new connection is ready for the request */
	CORIO_HTTP_TRACE_REQUEST_SENT,
	CORIO_HTTP_TRACE_FIRST_BYTE,
	CORIO_HTTP_TRACE_HEADERS,         /* status */
	CORIO_HTTP_TRACE_REDIRECT,        /* status, url: the next URL (host, port: its) */
	CORIO_HTTP_TRACE_REQUEST_END,     /* err: what corio_http_request returns; status */
} corio_http_trace_event;

typedef struct corio_http_trace_info {
	corio_http_trace_event event;
	const char *method;
	const char *url;           /* the URL of this hop (REDIRECT: the next one) */
	const char *host;          /* the host connected to (the proxy's when proxied) */
	uint16_t port;
	const struct sockaddr *addr; /* CONNECT_*: the address; else NULL */
	socklen_t addrlen;
	int err;                   /* *_DONE, REQUEST_END: 0 or -errno */
	int status;                /* HEADERS, REDIRECT, PROXY_CONNECT_DONE, REQUEST_END */
	bool tls_resumed;          /* TLS_DONE */
	uint64_t at;               /* corio_now() at the event */
} corio_http_trace_info;

typedef void (*corio_http_trace_fn)(const corio_http_trace_info *ev, void *ud);

/* Options of a client. Zero means the default for every field, so a zeroed struct (or a
 * NULL pointer) gives the defaults; "no limit" is UINT64_MAX / SIZE_MAX. */
typedef struct corio_http_client_opts {
	size_t limit;              /* connections open at once, all origins (default 100) */
	size_t limit_per_host;     /* per origin scheme+host+port (default: limit) */
	uint64_t keepalive_ns;     /* an idle pooled connection expires after this (15 s) */
	uint64_t connect_ns;       /* waiting for a pool slot + connecting (30 s) */
	uint64_t total_ns;         /* one request: redirects, headers and reading the body (300 s) */
	uint64_t read_ns;          /* idle read/write: the longest wait for the next byte (30 s) */
	const corio_http_header *headers; /* default headers of every request (copied) */
	size_t nheaders;
	const char *user_agent;    /* default "corio/0.1" */
	unsigned max_redirects;    /* default 10; CORIO_HTTP_NO_REDIRECTS in flags: none */
	size_t max_header_bytes;   /* status line + headers (and trailers), default 64 KiB */
	size_t max_headers;        /* header fields (and trailer fields), default 100 */
	size_t max_chunk_ext;      /* chunk-extension bytes of one chunk, default 4 KiB */
	uint64_t max_body_size;    /* decoded body bytes of one response, default 1 GiB */
	uint64_t max_decoded_size; /* output of gzip/deflate decoding, default max_body_size.
				    * Content-Encoding: every field, all listed codings (gzip,
				    * x-gzip, deflate zlib-wrapped or raw; identity skipped) undone
				    * in reverse order, at most 3 layers */
	uint64_t expect_continue_min; /* Expect: 100-continue for bodies at least this large
				       * (default: never, unless the request asks for it) */
	uint64_t continue_ns;      /* wait for 100 Continue before sending the body anyway (1 s) */
	unsigned flags;            /* CORIO_HTTP_* below, applied to every request */
	/* TLS for https:// (a client config, corio/tls.h; the client takes a reference, so the
	 * caller may free its own at once). NULL: the system trust store, verification on.
	 * Either way the client offers ALPN "http/1.1" unless the config names its own list,
	 * and resumes TLS sessions per origin (scheme, host and port). */
	corio_tls_config *tls;
	/* Cookies (RFC 6265): NULL gives the client a jar of its own (see
	 * corio_http_client_cookie_jar); a jar given here is shared and not owned (it must
	 * outlive the client); CORIO_HTTP_NO_COOKIES in flags: no cookie is sent or stored. */
	corio_http_cookie_jar *cookie_jar;
	/* Proxies: "http://[user:password@]host[:port]" (userinfo becomes Basic
	 * Proxy-Authorization; the port defaults to 80; "host:port" without a scheme is read
	 * as http://). proxy_http serves http:// URLs (absolute-form requests through
	 * the proxy), proxy_https https:// ones (a CONNECT tunnel, then TLS end to end);
	 * corio_ws_connect tunnels ws:// and wss:// with CONNECT through them. no_proxy:
	 * comma-separated hosts and domains (".example.com" and "example.com" both match the
	 * domain and its subdomains; "*" matches everything; an IP literal or CIDR
	 * "10.0.0.0/8"; host:port entries match that port only; names are never resolved to
	 * match) that go direct. NULL or "":
	 * none, unless CORIO_HTTP_TRUST_ENV in flags reads http_proxy/HTTP_PROXY,
	 * https_proxy/HTTPS_PROXY and no_proxy/NO_PROXY (lowercase first, the first non-empty;
	 * HTTP_PROXY is ignored when REQUEST_METHOD is set, as in a CGI program) for the fields
	 * left NULL, once, when the client is made. A bad proxy option fails
	 * corio_http_client_new (EINVAL); a bad proxy in the environment fails the requests it
	 * would serve (-EINVAL, -EPROTONOSUPPORT for another scheme than http) rather than
	 * letting them go direct. */
	const char *proxy_http;
	const char *proxy_https;
	const char *no_proxy;
	/* Basic authentication (RFC 7617) sent with every request to its first origin (as
	 * userinfo in the URL is: never to another origin after a redirect). NULL: none.
	 * A ':' in auth_user, or a password without a user: -EINVAL (client_new: NULL with
	 * errno EINVAL). Precedence: the caller's own Authorization header, then the
	 * request's auth_user, then the URL's userinfo, then these. */
	const char *auth_user;
	const char *auth_password;
	/* Tracing: called for every request of the client (see corio_http_trace_event). */
	corio_http_trace_fn trace;
	void *trace_ud;
} corio_http_client_opts;

/* Request and client flags. */
#define CORIO_HTTP_NO_REDIRECTS 0x1u   /* return 3xx responses as they are */
#define CORIO_HTTP_NO_DECOMPRESS 0x2u  /* no Accept-Encoding, bodies returned as sent */
#define CORIO_HTTP_EXPECT_CONTINUE 0x4u /* send Expect: 100-continue before a body */
#define CORIO_HTTP_NO_RETRY 0x8u       /* never retry, even idempotent requests */
#define CORIO_HTTP_NO_COOKIES 0x10u    /* neither send nor store cookies */
#define CORIO_HTTP_TRUST_ENV 0x20u     /* proxies from the environment (client flag only) */

/* A streamed request body: fills buf with up to len bytes and returns how many (> 0), 0 at
 * the end, or -errno (the request fails with it). May park. */
typedef ssize_t (*corio_http_body_fn)(void *arg, void *buf, size_t len);
/* Starts a streamed body over again (for a retry or a 307/308 redirect): 0 or -errno. */
typedef int (*corio_http_rewind_fn)(void *arg);

typedef enum corio_http_body_kind {
	CORIO_HTTP_BODY_NONE = 0, /* no body (or body/body_len when body is not NULL) */
	CORIO_HTTP_BODY_MEM,      /* body, body_len */
	CORIO_HTTP_BODY_FD,       /* body_fd from body_offset (-1: its current position) */
	CORIO_HTTP_BODY_STREAM,   /* body_fn(body_arg, ...) */
	CORIO_HTTP_BODY_FORM,     /* form: urlencoded or multipart, with its Content-Type */
} corio_http_body_kind;

/* A request. Zero-initialise it and set what you need; only url is required.
 * It is a struct tag, not a typedef: the function corio_http_request (a name the API
 * keeps, as aiohttp's request()) takes the ordinary identifier, so write `struct corio_http_request req = {...}`
 * or use the short typedef corio_http_req. */
struct corio_http_request {
	const char *method;        /* default "GET" (any token: "PATCH", "PROPFIND"...) */
	const char *url;           /* absolute http:// URL */
	const corio_http_header *headers; /* added to / override the client's (case-insensitive) */
	size_t nheaders;
	corio_http_body_kind body_kind;
	const void *body;          /* BODY_MEM */
	size_t body_len;
	int body_fd;               /* BODY_FD: read with corio_read (never closed here) */
	off_t body_offset;         /* BODY_FD: -1 reads from the current position (no replay) */
	corio_http_body_fn body_fn; /* BODY_STREAM */
	corio_http_rewind_fn body_rewind; /* BODY_STREAM, optional: makes the body replayable */
	void *body_arg;
	int64_t body_length;       /* BODY_FD / BODY_STREAM: bytes, or -1 (or 0 with BODY_STREAM)
				    * when unknown: sent chunked. BODY_FD with 0 on a regular file:
				    * its size from body_offset. */
	uint64_t total_ns;         /* overrides the client's total timeout (0: the client's) */
	int max_redirects;         /* 0: the client's; < 0: no redirects */
	uint64_t max_body_size;    /* 0: the client's */
	unsigned flags;            /* CORIO_HTTP_*, added to the client's */
	const corio_http_form *form; /* BODY_FORM (the default method becomes POST) */
	const char *auth_user;     /* Basic auth for this request (overrides the URL's userinfo
				    * and the client's; ':' in it: -EINVAL) */
	const char *auth_password;
	const char *proxy;         /* this request's proxy URL (for http and https alike; no_proxy
				    * does not apply to it); "" goes direct; NULL: the client's */
	/* SameSite (RFC 6265bis 5.2): the URL of the site this request is made for; a request
	 * whose host is not same-site with it is cross-site: Strict cookies are not sent, Lax
	 * ones only with GET/HEAD. NULL: same-site (a client acting on its own behalf). */
	const char *site_for_cookies;
	corio_http_trace_fn trace; /* called besides the client's hook */
	void *trace_ud;
};
typedef struct corio_http_request corio_http_req;

/* The client's cookie jar (its own or the one given in opts), NULL when CORIO_HTTP_NO_COOKIES. */
CORIO_API corio_http_cookie_jar *corio_http_client_cookie_jar(corio_http_client *c);

/* ---- cookie jars (RFC 6265) --------------------------------------------------------------
 * Domain rules (host-only cookies, Domain= matching, no cookie for a public suffix in a
 * small built-in list nor for another domain than the request's), Path (default path and
 * path-match), Secure (sent over https only, and never set by an http:// response over an
 * existing Secure cookie), HttpOnly (kept, reported), Expires/Max-Age (Max-Age wins; 0 or
 * a past date deletes), SameSite (Strict/Lax/None; None without Secure is refused), the
 * __Secure- and __Host- prefixes, at most 50 cookies per domain and 3000 in all (the least
 * recently used go first), names + values up to 4096 bytes. Loop-local, like the client.
 * Details (RFC 6265bis where it changed the rules):
 *   - public suffixes: every single label ("com", "localhost") and a short built-in list
 *     of multi-label ones (co.uk, com.au, github.io...: http/client/cookie_domain.c); a
 *     Domain= that is a suffix is accepted only as the request's own host, host-only;
 *   - an IP host takes a Domain= only when it is that same IP (then host-only);
 *   - a line with a control byte (other than HTAB), without '=' or with an empty name is
 *     ignored; an attribute value over 1024 bytes is ignored (not the cookie);
 *   - expiry is capped at 400 days from the jar's clock;
 *   - no or an unknown SameSite: no restriction; a cross-site response (site_for_cookies)
 *     sets no Lax or Strict cookie; "same site" compares registrable domains (scheme and
 *     port do not count);
 *   - with a client, the jar is asked again for every hop of a redirect chain (each host
 *     gets its own cookies) and every response's Set-Cookie is stored, a 3xx's before the
 *     next hop; a caller's own Cookie header replaces the jar's where it is sent (on the
 *     first origin only, like Authorization); corio_ws_connect sends the jar's cookies
 *     and the client's credentials too, and stores the answer's Set-Cookie. */
CORIO_API corio_http_cookie_jar *corio_http_cookie_jar_new(void); /* NULL on ENOMEM */
CORIO_API void corio_http_cookie_jar_free(corio_http_cookie_jar *j);
/* Stores one Set-Cookie field value as if received in a response from url (a malformed or
 * refused cookie is ignored, as a browser does: 0 stored, 1 when stored or deleted). 1, 0,
 * -EINVAL (bad url), -ENOMEM. */
CORIO_API int corio_http_cookie_jar_store(corio_http_cookie_jar *j, const char *url,
					  const char *set_cookie);
/* The Cookie header for a request to url (longest paths first, then oldest): *out gets a
 * malloc'd string, or NULL when no cookie applies. site_for_cookies and method as in
 * struct corio_http_request (NULL: same-site, GET). 0, -EINVAL, -ENOMEM. */
CORIO_API int corio_http_cookie_jar_header(corio_http_cookie_jar *j, const char *url,
					   const char *method, const char *site_for_cookies,
					   char **out);
/* Cookies kept (expired ones dropped first); drops them all. */
CORIO_API size_t corio_http_cookie_jar_len(corio_http_cookie_jar *j);
CORIO_API void corio_http_cookie_jar_clear(corio_http_cookie_jar *j);
/* The clock for expiry, seconds since the epoch (default time(NULL)); for tests. */
CORIO_API void corio_http_cookie_jar_clock(corio_http_cookie_jar *j,
					   int64_t (*now)(void *ud), void *ud);

/* ---- form bodies -------------------------------------------------------------------------
 * application/x-www-form-urlencoded (multipart false) or multipart/form-data with a random
 * boundary (multipart true). Files are opened when a request using the form starts (each
 * request opens its own; before any connection is made) and kept open for its retries and
 * 307/308 hops, which read them again from the start; they are streamed, never loaded
 * whole. The Content-Length is known when every file is a regular file; otherwise the body
 * goes chunked and cannot be replayed (a 307/308 is then returned as it is). A file that
 * cannot be opened fails the request with its -errno (a directory: -EISDIR); one whose
 * size changes after it was opened fails it with -EIO (the body is never sent short nor
 * long: the connection is closed). urlencoded: WHATWG's serializer (alphanumerics and
 * "*-._" kept, space '+', the rest %XX); multipart: names and filenames quoted with '"',
 * CR and LF percent-encoded. A form without file parts is sent from memory. The form is
 * read-only while a request uses it, and may be used by several requests. */
CORIO_API corio_http_form *corio_http_form_new(bool multipart);  /* NULL on ENOMEM */
CORIO_API void corio_http_form_free(corio_http_form *f);
/* A text field (name and value copied). 0, -EINVAL, -ENOMEM. */
CORIO_API int corio_http_form_add(corio_http_form *f, const char *name, const char *value);
/* A file part (multipart only: -EINVAL otherwise): the file at path, sent with filename
 * (NULL: path's last component) and content_type (NULL: guessed from the extension,
 * application/octet-stream otherwise). 0, -EINVAL, -ENOMEM. */
CORIO_API int corio_http_form_add_file(corio_http_form *f, const char *name, const char *path,
				       const char *filename, const char *content_type);
/* An in-memory part with a filename (multipart only; data copied; filename NULL: "blob"). */
CORIO_API int corio_http_form_add_data(corio_http_form *f, const char *name, const void *data,
				       size_t len, const char *filename, const char *content_type);
/* "application/x-www-form-urlencoded" or "multipart/form-data; boundary=...". */
CORIO_API const char *corio_http_form_content_type(const corio_http_form *f);

/* A client with opts (copied; NULL = defaults). NULL with errno ENOMEM or EINVAL (a bad
 * default header or user_agent). Never parks. */
CORIO_API corio_http_client *corio_http_client_new(const corio_http_client_opts *opts);
/* Closes the idle connections and frees c. Responses still alive keep what they need: their
 * connections are closed when they are freed, and the client's memory is released with the
 * last of them. May park (closing sockets). NULL is a no-op. */
CORIO_API void corio_http_client_free(corio_http_client *c);

/* GET url. On success (0) *resp is a response whose status line and headers have been read
 * (any status: 404 is a success here, as in aiohttp); read its body, then free it. On error
 * *resp is NULL. May park. */
CORIO_API int corio_http_get(corio_http_client *c, const char *url, corio_http_response **resp);
/* Sends req (following redirects unless told not to) and reads the final response's status
 * line and headers. Same results as corio_http_get. May park.
 * Redirects: 301/302/303/307/308 with a Location (relative ones resolved); 303 turns any
 * method but HEAD into GET, 301/302 turn POST into GET (the body and its headers dropped);
 * 307/308 keep method and body, and when the body cannot be replayed (a descriptor read
 * from its current position, a stream without body_rewind) the 3xx itself is returned.
 * Authorization, Cookie and Proxy-Authorization are sent only to the first request's
 * origin (scheme, host and port: a redirect from https:// to http:// of the same host
 * drops them too). A URL requested twice in one chain, or more than max_redirects hops:
 * -ELOOP. A redirect to a scheme other than http/https: -EPROTONOSUPPORT. A Location that
 * is not a valid URI reference (spaces, control or non-ASCII bytes) or two Location fields
 * that differ: the 3xx itself is returned. Scheme-relative Locations ("//host/p") keep the
 * current scheme. Userinfo in the request's URL becomes Basic credentials, sent to that
 * URL's origin only (after redirects too); userinfo in a Location is never sent.
 * Retry: a GET, HEAD, PUT, DELETE, OPTIONS or TRACE whose body can be replayed is sent once
 * more, on a new connection, when a pooled connection failed before any response byte. */
CORIO_API int corio_http_request(corio_http_client *c, const struct corio_http_request *req,
				 corio_http_response **resp);

/* Pool counters, for tests and monitoring. */
typedef struct corio_http_client_stats {
	uint64_t connects;    /* connections opened */
	uint64_t reuses;      /* requests sent on a pooled connection */
	uint64_t retries;     /* requests retried after a reused connection failed */
	uint64_t tls_handshakes; /* TLS handshakes made (each new https:// connection) */
	uint64_t tls_resumed; /* of those, the ones that resumed an earlier session */
	uint64_t proxied;     /* requests sent through a proxy (tunnelled ones included; each
			       * hop and retry counts, as reuses does) */
	size_t open;          /* connections open now (idle + in use + connecting) */
	size_t idle;          /* idle in the pool now */
} corio_http_client_stats;
CORIO_API void corio_http_client_stats_get(const corio_http_client *c,
					   corio_http_client_stats *out);

/* ---- responses --------------------------------------------------------------------------- */

/* Status code (e.g. 200), reason phrase ("" when empty), version (10 or 11). */
CORIO_API int corio_http_response_status(const corio_http_response *r);
CORIO_API const char *corio_http_response_reason(const corio_http_response *r);
CORIO_API int corio_http_response_version(const corio_http_response *r);
/* The final URL (after redirects) and the number of redirects followed. */
CORIO_API const char *corio_http_response_url(const corio_http_response *r);
CORIO_API unsigned corio_http_response_redirects(const corio_http_response *r);
/* The first value of header name (case-insensitive), NULL when absent. */
CORIO_API const char *corio_http_response_header(const corio_http_response *r,
						 const char *name);
/* The i-th value (from 0) of header name, in the order received; NULL beyond the last. */
CORIO_API const char *corio_http_response_header_n(const corio_http_response *r,
						   const char *name, size_t i);
/* Number of header fields, and the i-th field (name and value as received): 0, or -ENOENT
 * beyond the last. */
CORIO_API size_t corio_http_response_header_count(const corio_http_response *r);
CORIO_API int corio_http_response_header_at(const corio_http_response *r, size_t i,
					    const char **name, const char **value);
/* A trailer field of a chunked response; available once the body has been read to its end. */
CORIO_API const char *corio_http_response_trailer(const corio_http_response *r,
						  const char *name);
/* Content-Length as sent (the encoded size when the body is compressed), -1 when absent.
 * (A length above INT64_MAX makes the response fail with -EBADMSG.) */
CORIO_API int64_t corio_http_response_content_length(const corio_http_response *r);

/* Reads up to len bytes of the (decoded) body into buf: bytes (> 0), 0 at the end of the
 * body, -errno (then sticky: every later read returns it). May park. */
CORIO_API ssize_t corio_http_response_read(corio_http_response *r, void *buf, size_t len);
/* Writes the rest of the body to fd (corio_write at its current position): the number of
 * bytes written, or -errno. May park. */
CORIO_API int64_t corio_http_response_read_to_fd(corio_http_response *r, int fd);
/* Reads the whole (rest of the) body into a buffer owned by r, NUL-terminated: *body and
 * *len (either may be NULL) stay valid until corio_http_response_free. Calling it again
 * returns the same buffer. 0 or -errno (-EFBIG beyond max_body_size). May park. */
CORIO_API int corio_http_response_text(corio_http_response *r, const char **body, size_t *len);
/* Releases r: its connection goes back to the pool when the response was read to its end
 * (or its end is already buffered) and keep-alive holds; otherwise it is closed. May park
 * (closing a socket). NULL is a no-op. */
CORIO_API void corio_http_response_free(corio_http_response *r);

#ifdef __cplusplus
}
#endif

/* The server half. */
#if defined(__has_include)
#if __has_include(<corio/http_server.h>)
#include <corio/http_server.h>
#endif
#else
#include <corio/http_server.h>
#endif

#endif
