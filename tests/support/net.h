/* tests/support/net.h: loopback ports for the test programs and for corio-bench / corio-load
 * (part of corio_test_support): a socket bound to a port the kernel chose, whether a port
 * accepts, and a blocking HTTP/1.0 GET for asking a peer (nginx's stub_status) how it is.
 *
 * Plain C with no Check: bench/ links it too, so the functions report failures by their
 * result and the tests assert on it. helpers.h includes this header, so th_loopback_socket
 * keeps working in every test that includes helpers.h alone.
 */
#ifndef CORIO_TESTS_SUPPORT_NET_H
#define CORIO_TESTS_SUPPORT_NET_H

#include <stdbool.h>
#include <stddef.h>

/* A TCP socket bound to 127.0.0.1 at a port the kernel chose (*port), listening when listen
 * is true. For peers the test starts (nginx, python): the test binds and hands the socket over
 * (th_child.keep_fd), so the port is held from bind to the end and no other process can take
 * it between "found free" and "listening", the race of closing a probe socket and reusing its
 * number. Bound but not listening, it is a port where connects are refused.
 * Returns the fd (close-on-exec) or -1. */
int th_loopback_socket(int *port, bool listen_too);

/* A port on 127.0.0.1 that was free a moment ago (-1 if none), for a program that binds by
 * itself (corio-bench's servers take a port number): another process may take it first, so
 * the tests hand over a bound socket instead. */
int th_free_port(void);

/* A TCP connect to 127.0.0.1:port succeeds. */
bool th_port_accepts(int port);

/* GET path with HTTP/1.0 on a new blocking connection to 127.0.0.1:port, the response into
 * out (NUL-terminated, truncated to len - 1). A send or receive blocked for timeout_s seconds
 * fails. 0, or -1 when refused, reset or timed out. */
int th_http_get(int port, const char *path, char *out, size_t len, int timeout_s);

#endif
