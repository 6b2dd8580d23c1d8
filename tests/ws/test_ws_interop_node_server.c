/* tests/ws/test_ws_interop_node_server.c: corio's WebSocket client against a server nobody
 * here wrote, Node's `ws` package (from the npm registry, installed by scripts/deps.sh into
 * build/npm; skipped with 77 and the reason when Node or ws is missing, never faked).
 *
 * Node (tests/ws/peers/ws_server.js, listening on a port the kernel picks and printing it)
 * serves corio_ws_connect: the echo matrix of 0 B .. 1 MiB, four tasks sending at once on
 * one connection (whole frames, each sender's messages in order), fragmented messages with
 * a ping between fragments (corio's automatic pong seen by Node), 1 MiB in 64 fragments, a
 * ping while corio waits in a receive, a subprotocol Node picks from corio's offer, Node
 * closing with 4001, without a code (1005) and by destroying the connection (1006), corio
 * closing with 4002 as Node sees it, wss:// with the test certificate, permessage-deflate
 * (not offered: none; offered: agreed, with and without context takeover; a compressed
 * message in fragments), and frames a server must never send, written on Node's raw socket:
 * invalid UTF-8 (-EPROTO, Node sees 1007), a masked frame, RSV1 without an extension, a
 * reserved opcode, a 126-byte ping and a close with code 1005 (-EPROTO, Node sees 1002),
 * and a 17 MiB message over the 16 MiB limit (-EMSGSIZE, Node sees 1009).
 * The other direction is tests/ws/test_ws_interop_node_client.c. */
#include "tests/ws/interop.h"

static const size_t sizes[] = { 0, 1, 125, 126, 65535, 65536, 1u << 20 };
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* ---- Node as the server ------------------------------------------------------------------ */

/* A Node server (wss:// when tls) for the checks of fn: started, its port read, stopped by
 * its pid whatever fn found. */
typedef struct senv {
	ix_peer p;
	int port;
	bool tls;
	corio_http_client *c;
} senv;
typedef const char *(*server_fn)(senv *e);

typedef struct sjob {
	bool tls;
	server_fn fn;
} sjob;

static void *t_server_case(void *arg)
{
	const sjob *j = arg;
	senv e = { .p = { .fd = -1 }, .tls = j->tls };
	char script[PATH_MAX];
	char *argv[5] = { ix_node, script, NULL, NULL, NULL };
	const char *res;
	int rc;

	snprintf(script, sizeof script, "%s/ws_server.js", IX_PEERS);
	if (j->tls) {
		argv[2] = ix_certs.path[CERT_GOOD];
		argv[3] = ix_certs.path[CERT_GOOD_KEY];
	}
	if ((rc = ix_start(&e.p, argv)) < 0)
		res = ix_fail("cannot start node: %s", strerror(-rc));
	else if ((e.port = ix_listening(&e.p)) <= 0)
		res = ix_fail("node server did not listen: %s; last line '%s'", strerror(-e.port),
			      e.p.last);
	else if (!(e.c = ix_client(j->tls ? &ix_certs : NULL)))
		res = "no client";
	else
		res = j->fn(&e);
	corio_http_client_free(e.c);
	ix_stop(&e.p);
	return (void *)res;
}

static void run_sjob(bool tls, server_fn fn)
{
	sjob j = { tls, fn };

	TH_RUN_EXPECT_OK(NULL, t_server_case, &j);
}

/* corio's client connected to path (with o; NULL: defaults) into *ws: NULL or why not. */
static const char *connect_to(senv *e, const char *path, const corio_ws_opts *o, corio_ws **ws)
{
	char url[128];
	int rc;

	snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", e->tls ? "wss" : "ws", e->port, path);
	*ws = NULL;
	rc = o ? corio_ws_connect_opts(e->c, url, o, ws) : corio_ws_connect(e->c, url, ws);
	if (rc != 0)
		return ix_fail("corio_ws_connect %s: %s", url, strerror(-rc));
	return ix_expect(&e->p, "open ") == 0 ? NULL : ix_fail("Node saw no connection");
}

/* Closes ws with 4002 "corio bye", which Node must see, and frees it. */
static const char *close_4002(senv *e, corio_ws *ws, const char *path)
{
	char want[96];
	int rc = corio_ws_close(ws, 4002, "corio bye");

	corio_ws_free(ws);
	if (rc != 0)
		return ix_fail("corio_ws_close(4002): %s", strerror(-rc));
	snprintf(want, sizeof want, "close %s 4002 corio bye", path);
	return ix_expect_line(&e->p, "close ", want) ? NULL
						    : ix_fail("Node saw '%s', not '%s'", e->p.last, want);
}

static const char *s_echo(senv *e)
{
	corio_ws *ws;
	const char *why = connect_to(e, "/echo", NULL, &ws);

	if (why)
		return why;
	if (strcmp(e->p.last, "open /echo -") != 0)
		why = ix_fail("Node's open line: '%s'", e->p.last);
	for (size_t i = 0; !why && i < NSIZES; i++) {
		if (!(why = ix_echo_one(ws, sizes[i], true)))
			why = ix_echo_one(ws, sizes[i], false);
	}
	if (why) {
		corio_ws_free(ws);
		return why;
	}
	return close_4002(e, ws, "/echo");
}

START_TEST(node_server_echo)
{
	run_sjob(false, s_echo);
}
END_TEST

START_TEST(node_server_wss_echo)
{
	run_sjob(true, s_echo);
}
END_TEST

/* One message of corio_ws_recv equal to (op, want): NULL or why not. */
static const char *recv_is(corio_ws *ws, int want_op, const void *want, size_t len)
{
	char buf[256];
	int op = 0;
	ssize_t n = corio_ws_recv(ws, &op, buf, sizeof buf);

	if (n < 0)
		return ix_fail("recv: %s (close code %d)", strerror((int)-n), corio_ws_close_code(ws));
	if (op != want_op || (size_t)n != len || memcmp(buf, want, len) != 0)
		return ix_fail("recv: opcode %d, %zd bytes '%.*s'", op, n, (int)(n < 64 ? n : 64), buf);
	return NULL;
}

/* Node sends a text message in three fragments with a ping between them, then a binary one
 * in two: whole messages come out, and Node gets the pong. */
static const char *s_fragments(senv *e)
{
	static const unsigned char bin[] = { 1, 2, 3, 4, 5 };
	corio_ws *ws;
	const char *why = connect_to(e, "/fragments", NULL, &ws);

	if (why)
		return why;
	if (!(why = recv_is(ws, CORIO_WS_TEXT, "first second third", 18)) &&
	    !(why = recv_is(ws, CORIO_WS_BINARY, bin, sizeof bin)) &&
	    !(why = recv_is(ws, CORIO_WS_TEXT, "done", 4)) &&
	    !ix_expect_line(&e->p, "pong ", "pong in the middle"))
		why = ix_fail("Node's pong line: '%s'", e->p.last);
	if (why) {
		corio_ws_free(ws);
		return why;
	}
	return close_4002(e, ws, "/fragments");
}

START_TEST(node_server_fragments)
{
	run_sjob(false, s_fragments);
}
END_TEST

/* Node pings while corio waits in a receive: the automatic pong reaches Node, which then
 * sends "pong seen". */
static const char *s_ping(senv *e)
{
	corio_ws *ws;
	const char *why = connect_to(e, "/ping", NULL, &ws);

	if (why)
		return why;
	if (!(why = recv_is(ws, CORIO_WS_TEXT, "pong seen", 9)) &&
	    !ix_expect_line(&e->p, "pong ", "pong node-ping"))
		why = ix_fail("Node's pong line: '%s'", e->p.last);
	if (why) {
		corio_ws_free(ws);
		return why;
	}
	return close_4002(e, ws, "/ping");
}

START_TEST(node_server_ping)
{
	run_sjob(false, s_ping);
}
END_TEST

/* Node closes with 4001 "node closes": the receive returns -EPIPE with that code, and
 * corio's answer completes Node's close handshake. */
static const char *s_close(senv *e)
{
	char buf[16];
	corio_ws *ws;
	int op, rc;
	ssize_t n;
	const char *why = connect_to(e, "/close", NULL, &ws);

	if (why)
		return why;
	n = corio_ws_recv(ws, &op, buf, sizeof buf);
	if (n != -EPIPE)
		why = ix_fail("recv after Node's close: %zd, not -EPIPE", n);
	else if (corio_ws_close_code(ws) != 4001 || strcmp(corio_ws_close_reason(ws), "node closes"))
		why = ix_fail("close code %d '%s', Node sent 4001 'node closes'",
			      corio_ws_close_code(ws), corio_ws_close_reason(ws));
	else if ((rc = corio_ws_close(ws, 1000, NULL)) != 0)
		why = ix_fail("corio_ws_close after the peer's close: %s", strerror(-rc));
	else if (ix_expect(&e->p, "close /close ") != 0)
		why = ix_fail("Node did not finish its close: '%s'", e->p.last);
	corio_ws_free(ws);
	return why;
}

START_TEST(node_server_close_4001)
{
	run_sjob(false, s_close);
}
END_TEST

START_TEST(node_server_wss_close_4001)
{
	run_sjob(true, s_close);
}
END_TEST

/* Bad input written by Node on its raw socket: the receive fails with -EPROTO (-EMSGSIZE
 * for 1009), corio sent the close code want, and Node saw it. */
static const char *bad_input(senv *e, const char *path, int want)
{
	char buf[16], line[64];
	corio_ws *ws;
	int op, code;
	ssize_t n;
	const char *why = connect_to(e, path, NULL, &ws);

	if (why)
		return why;
	n = corio_ws_recv(ws, &op, buf, sizeof buf);
	code = corio_ws_close_code(ws);
	/* Freed before Node is asked: its close event waits for the TCP connection's end,
	 * which a peer still sending (the 17 MiB) cannot reach while nobody reads. */
	corio_ws_free(ws);
	snprintf(line, sizeof line, "close %s %d", path, want);
	if (n != (want == CORIO_WS_TOO_BIG ? -EMSGSIZE : -EPROTO))
		why = ix_fail("%s: recv returned %zd (%s)", path, n, strerror((int)-n));
	else if (code != want)
		why = ix_fail("%s: corio_ws_close_code %d, want %d", path, code, want);
	else if (ix_expect(&e->p, "close ") != 0 || strncmp(e->p.last, line, strlen(line)) != 0)
		why = ix_fail("%s: Node saw '%s', want '%s'", path, e->p.last, line);
	return why;
}

static const char *s_badutf8(senv *e)
{
	return bad_input(e, "/badutf8", CORIO_WS_INVALID_DATA);
}

START_TEST(node_server_invalid_utf8_1007)
{
	run_sjob(false, s_badutf8);
}
END_TEST

static const char *s_masked(senv *e)
{
	return bad_input(e, "/masked", CORIO_WS_PROTOCOL_ERROR);
}

START_TEST(node_server_masked_frame_1002)
{
	run_sjob(false, s_masked);
}
END_TEST

/* A 17 MiB message over the 16 MiB default: -EMSGSIZE, and Node sees 1009. */
static const char *s_toobig(senv *e)
{
	return bad_input(e, "/toobig", CORIO_WS_TOO_BIG);
}

START_TEST(node_server_too_big_1009)
{
	run_sjob(false, s_toobig);
}
END_TEST

/* The other frames a server must never send, one connection each: RSV1 without an
 * extension, a reserved opcode, a 126-byte ping, a close with code 1005. */
static const char *s_bad_frames(senv *e)
{
	static const char *const paths[] = { "/rsv1", "/opcode3", "/bigping", "/badclose" };
	const char *why = NULL;

	for (size_t i = 0; !why && i < sizeof paths / sizeof paths[0]; i++)
		why = bad_input(e, paths[i], CORIO_WS_PROTOCOL_ERROR);
	return why;
}

START_TEST(node_server_bad_frames_1002)
{
	run_sjob(false, s_bad_frames);
}
END_TEST

/* 1 MiB in 64 fragments comes out as one message, byte-exact. */
static const char *s_manyfrags(senv *e)
{
	corio_ws *ws;
	const void *data;
	unsigned char *want = malloc(1u << 20);
	int op = 0;
	ssize_t n;
	const char *why = want ? connect_to(e, "/manyfrags", NULL, &ws) : "out of memory";

	if (why) {
		free(want);
		return why;
	}
	ix_pattern(want, 1u << 20, false);
	n = corio_ws_recv_msg(ws, &op, &data);
	if (n != 1 << 20 || op != CORIO_WS_BINARY || memcmp(data, want, 1u << 20) != 0)
		why = ix_fail("64 fragments: %zd bytes, opcode %d, or other bytes", n, op);
	free(want);
	if (!why)
		why = recv_is(ws, CORIO_WS_TEXT, "done", 4);
	if (why) {
		corio_ws_free(ws);
		return why;
	}
	return close_4002(e, ws, "/manyfrags");
}

START_TEST(node_server_many_fragments)
{
	run_sjob(false, s_manyfrags);
}
END_TEST

/* corio offers "chat, superchat"; ws picks the client's first: both sides say chat. */
static const char *s_proto(senv *e)
{
	corio_ws_opts o;
	corio_ws *ws;
	const char *why, *p;

	corio_ws_opts_init(&o);
	o.protocols = "chat, superchat";
	if ((why = connect_to(e, "/proto", &o, &ws)))
		return why;
	p = corio_ws_protocol(ws);
	if (!p || strcmp(p, "chat") != 0)
		why = ix_fail("corio_ws_protocol: %s, want chat", p ? p : "NULL");
	else if (!ix_expect_line(&e->p, "protocol ", "protocol chat"))
		why = ix_fail("Node's protocol line: '%s'", e->p.last);
	if (why) {
		corio_ws_free(ws);
		return why;
	}
	return close_4002(e, ws, "/proto");
}

START_TEST(node_server_subprotocol)
{
	run_sjob(false, s_proto);
}
END_TEST

/* Four tasks send at once on one connection while this one receives: Node's parser sees
 * whole frames (it would fail the connection on an interleaved one), and every message
 * comes back intact, each sender's in its order. */
#define SENDERS 4
#define PER_SENDER 40
#define BIG_MSG (65536 + 100)

typedef struct sender {
	corio_ws *ws;
	int id;
	int rc;
} sender;

/* Message seq of sender id: its id and seq, then pattern bytes shifted by both. */
static void tagged(unsigned char *b, size_t n, int id, int seq)
{
	ix_pattern(b, n, false);
	b[0] = (unsigned char)id;
	b[1] = (unsigned char)seq;
	for (size_t i = 2; i < n; i++)
		b[i] = (unsigned char)(b[i] + id * 7 + seq);
}

static void *send_task(void *arg)
{
	sender *sd = arg;
	unsigned char *b = malloc(BIG_MSG);

	sd->rc = b ? 0 : -ENOMEM;
	for (int seq = 0; b && seq < PER_SENDER && sd->rc == 0; seq++) {
		tagged(b, BIG_MSG - (size_t)seq, sd->id, seq);
		sd->rc = corio_ws_send(sd->ws, CORIO_WS_BINARY, b, BIG_MSG - (size_t)seq);
	}
	free(b);
	return NULL;
}

/* Receives every echo and checks it against what its sender sent, in order per sender. */
static const char *receive_all(corio_ws *ws, unsigned char *want)
{
	int next[SENDERS] = { 0 };

	for (int i = 0; i < SENDERS * PER_SENDER; i++) {
		const void *data;
		const unsigned char *m;
		int op = 0, id, seq;
		ssize_t n = corio_ws_recv_msg(ws, &op, &data);

		if (n < 2)
			return ix_fail("echo %d: %zd (close code %d)", i, n, corio_ws_close_code(ws));
		m = data;
		id = m[0];
		seq = m[1];
		if (id >= SENDERS || seq != next[id]++)
			return ix_fail("echo %d: sender %d message %d out of order", i, id, seq);
		tagged(want, BIG_MSG - (size_t)seq, id, seq);
		if ((size_t)n != BIG_MSG - (size_t)seq || memcmp(m, want, (size_t)n) != 0)
			return ix_fail("echo %d (sender %d, message %d): %zd bytes or other bytes", i,
				       id, seq, n);
	}
	return NULL;
}

static const char *s_concurrent(senv *e)
{
	sender sd[SENDERS];
	corio_task *t[SENDERS];
	unsigned char *want = malloc(BIG_MSG);
	corio_ws *ws;
	const char *why = want ? connect_to(e, "/echo", NULL, &ws) : "out of memory";
	int n = 0;

	if (why) {
		free(want);
		return why;
	}
	for (; n < SENDERS; n++) {
		sd[n] = (sender){ ws, n, 0 };
		if (!(t[n] = corio_spawn(send_task, &sd[n])))
			break;
	}
	why = n < SENDERS ? "spawn failed" : receive_all(ws, want);
	for (int i = 0; i < n; i++) {
		corio_cancel(t[i]); /* after a failure, a sender may wait on a full socket */
		corio_join(t[i], NULL);
		if (!why && sd[i].rc != 0)
			why = ix_fail("sender %d: %s", i, strerror(-sd[i].rc));
	}
	free(want);
	if (why) {
		corio_ws_free(ws);
		return why;
	}
	return close_4002(e, ws, "/echo");
}

START_TEST(node_server_concurrent_senders)
{
	run_sjob(false, s_concurrent);
}
END_TEST

/* How the connection ended, as the receive and corio_ws_close_code say: a close without a
 * code (-EPIPE, 1005), the TCP connection destroyed without a close (-ECONNRESET, 1006). */
static const char *ended(senv *e, const char *path, ssize_t want_rc, int want_code)
{
	char buf[16];
	corio_ws *ws;
	int op = 0;
	ssize_t n;
	const char *why = connect_to(e, path, NULL, &ws);

	if (why)
		return why;
	n = corio_ws_recv(ws, &op, buf, sizeof buf);
	if (n != want_rc || corio_ws_close_code(ws) != want_code)
		why = ix_fail("%s: recv %zd, close code %d; want %zd, %d", path, n,
			      corio_ws_close_code(ws), want_rc, want_code);
	corio_ws_free(ws);
	return why;
}

static const char *s_nocode(senv *e)
{
	return ended(e, "/nocode", -EPIPE, CORIO_WS_NO_STATUS);
}

START_TEST(node_server_close_without_code_1005)
{
	run_sjob(false, s_nocode);
}
END_TEST

static const char *s_terminate(senv *e)
{
	return ended(e, "/terminate", -ECONNRESET, CORIO_WS_ABNORMAL);
}

START_TEST(node_server_terminated_1006)
{
	run_sjob(false, s_terminate);
}
END_TEST

/* Echoes through a connection with permessage-deflate agreed: 1 MiB of text twice (the
 * second as back-references when the context is kept), 64 KiB of binary, an empty one. */
static const char *deflate_echoes(corio_ws *ws)
{
	const char *why = NULL;

	for (int round = 0; !why && round < 2; round++)
		why = ix_echo_one(ws, 1u << 20, true);
	if (!why && !(why = ix_echo_one(ws, 65536, false)))
		why = ix_echo_one(ws, 0, false);
	return why;
}

/* corio's client offering permessage-deflate (or not) to Node's path: Node's open line
 * must say want, then the echoes. */
static const char *deflate_case(senv *e, const char *path, bool offer, const char *want)
{
	corio_ws_opts o;
	corio_ws *ws;
	const char *why;

	corio_ws_opts_init(&o);
	o.deflate = offer;
	if ((why = connect_to(e, path, &o, &ws)))
		return why;
	if (strcmp(e->p.last, want) != 0)
		why = ix_fail("Node opened with '%s', want '%s'", e->p.last, want);
	if (!why)
		why = deflate_echoes(ws);
	if (why) {
		corio_ws_free(ws);
		return why;
	}
	return close_4002(e, ws, path);
}

/* Not offered: none, even from a server that would accept it; offered: agreed. */
static const char *s_deflate(senv *e)
{
	const char *why = deflate_case(e, "/deflate", false, "open /deflate -");

	return why ? why : deflate_case(e, "/deflate", true, "open /deflate permessage-deflate");
}

START_TEST(node_server_deflate)
{
	run_sjob(false, s_deflate);
}
END_TEST

/* Node's server answers with no context takeover both ways and 10-bit windows. */
static const char *s_deflate_tight(senv *e)
{
	return deflate_case(e, "/deflate-tight", true, "open /deflate-tight permessage-deflate");
}

START_TEST(node_server_deflate_no_context_takeover)
{
	run_sjob(false, s_deflate_tight);
}
END_TEST

/* Node sends a compressed text message in three fragments (RSV1 on the first only). */
static const char *s_deflate_frags(senv *e)
{
	static const char unit[] = "compressed fragments, compressed fragments. ";
	const size_t ulen = sizeof unit - 1, len = ulen * 2000;
	corio_ws_opts o;
	corio_ws *ws;
	const void *data;
	const char *m, *why;
	int op = 0;
	ssize_t n;

	corio_ws_opts_init(&o);
	o.deflate = true;
	if ((why = connect_to(e, "/deflate-frags", &o, &ws)))
		return why;
	if (strcmp(e->p.last, "open /deflate-frags permessage-deflate") != 0)
		why = ix_fail("Node opened with '%s'", e->p.last);
	n = why ? 0 : corio_ws_recv_msg(ws, &op, &data);
	m = data;
	if (!why && (n != (ssize_t)len || op != CORIO_WS_TEXT))
		why = ix_fail("fragments: %zd bytes, opcode %d (close code %d)", n, op,
			      corio_ws_close_code(ws));
	for (size_t i = 0; !why && i < len; i += ulen)
		if (memcmp(m + i, unit, ulen) != 0)
			why = ix_fail("fragments: other bytes at %zu", i);
	if (!why)
		why = recv_is(ws, CORIO_WS_TEXT, "done", 4);
	if (why) {
		corio_ws_free(ws);
		return why;
	}
	return close_4002(e, ws, "/deflate-frags");
}

START_TEST(node_server_deflate_fragments)
{
	run_sjob(false, s_deflate_frags);
}
END_TEST

/* ---- main -------------------------------------------------------------------------------- */

int main(void)
{
	char why[1024];
	Suite *s = suite_create("ws_interop_node_server");
	TCase *tc;

	if (!ix_node_ready(why, sizeof why)) {
		fprintf(stderr, "skipped: %s\n", why);
		return TH_SKIP;
	}
	tc = TH_TCASE(s, "node_server", TH_TIMEOUT, node_server_echo, node_server_wss_echo,
		      node_server_fragments, node_server_ping, node_server_close_4001,
		      node_server_wss_close_4001, node_server_invalid_utf8_1007,
		      node_server_masked_frame_1002, node_server_bad_frames_1002,
		      node_server_too_big_1009,
		      node_server_many_fragments, node_server_concurrent_senders,
		      node_server_subprotocol,
		      node_server_close_without_code_1005, node_server_terminated_1006,
		      node_server_deflate, node_server_deflate_no_context_takeover,
		      node_server_deflate_fragments);
	tcase_add_checked_fixture(tc, ix_certs_setup, ix_certs_teardown);
	return th_main(s);
}
