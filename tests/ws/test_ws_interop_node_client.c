/* tests/ws/test_ws_interop_node_client.c: corio's WebSocket server against a client nobody here
 * wrote, Node's `ws` package (from the npm registry, installed by scripts/deps.sh into
 * build/npm; skipped with 77 and the reason when Node or ws is missing, never faked).
 *
 * Node (tests/ws/peers/ws_client.js) connects to corio's server (corio_ws_accept in a handler,
 * tests/ws/interop.h): text and binary echo of 0 B .. 1 MiB, multi-byte UTF-8, fragments with a
 * ping between them, a text message fragmented inside a character, ping -> pong (125 bytes, the
 * most a control frame holds), a subprotocol chosen by the server, 16 connections echoing at
 * once, a close without a code (1005), Node closing with 4000 + reason as corio sees it, corio
 * closing with 1001 as Node sees it, the same over wss:// with Node trusting the test CA, and
 * permessage-deflate offered by Node: declined cleanly by a server that does not accept it,
 * agreed by one that does (every message compressed, one in fragments, with and without
 * context takeover), declined when Node asks for an 8-bit window; and what corio must
 * refuse, with the close code Node sees: an unmasked client frame (1002) and invalid UTF-8
 * (1007) written on Node's raw socket, a 17 MiB message over the 16 MiB limit (1009). The other
 * direction, Node's server and corio's client, is tests/ws/test_ws_interop_node_server.c. */
#include "tests/ws/interop.h"

static const size_t sizes[] = { 0, 1, 125, 126, 65535, 65536, 1u << 20 };
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* ---- Node as the client ------------------------------------------------------------------ */

/* Node's client: `node ws_client.js URL SCENARIO [CA]`. */
static void client_argv(const ix_ccase *k, char *url, char **argv)
{
	static char script[PATH_MAX];

	snprintf(script, sizeof script, "%s/ws_client.js", IX_PEERS);
	argv[0] = ix_node;
	argv[1] = script;
	argv[2] = url;
	argv[3] = (char *)k->scenario;
	argv[4] = k->tls ? ix_certs.path[CERT_CA] : NULL;
	argv[5] = NULL;
}

static void run_cjob(ix_ccase k)
{
	k.argv = client_argv;
	TH_RUN_EXPECT_OK(NULL, ix_client_case, &k);
}

/* 7 sizes, text and binary; multi-byte text; 2 fragmented messages. */
#define ECHO_MSGS ((int)NSIZES * 2 + 3)
/* What the echo scenario prints, in order. */
#define ECHO_LINES { "echo ok", "utf8 ok", "fragments ok", "pong ok", "closed 1000" }

START_TEST(node_client_echo)
{
	run_cjob((ix_ccase){ .path = "/echo", .scenario = "echo",
			     .lines = ECHO_LINES,
			     .check = ix_seen_peer_closed, .echoed = ECHO_MSGS, .code = 1000,
			     .reason = "done" });
}
END_TEST

START_TEST(node_client_close_4000)
{
	run_cjob((ix_ccase){ .path = "/echo", .scenario = "close4000", .lines = { "closed " },
			     .check = ix_seen_peer_closed, .echoed = 0, .code = 4000,
			     .reason = "node says bye" });
}
END_TEST

/* corio closed with 1001: Node saw it, and corio's close returned 0 (Node answered). */
START_TEST(node_client_sees_close_1001)
{
	run_cjob((ix_ccase){ .path = "/close", .scenario = "wait-close",
			     .lines = { "closed 1001 corio going away" },
			     .check = ix_seen_closed_here });
}
END_TEST

START_TEST(node_client_wss_echo)
{
	run_cjob((ix_ccase){ .path = "/echo", .scenario = "echo", .tls = true,
			     .lines = ECHO_LINES,
			     .check = ix_seen_peer_closed, .echoed = ECHO_MSGS, .code = 1000,
			     .reason = "done" });
}
END_TEST

START_TEST(node_client_wss_close_1001)
{
	run_cjob((ix_ccase){ .path = "/close", .scenario = "wait-close", .tls = true,
			     .lines = { "closed 1001 corio going away" },
			     .check = ix_seen_closed_here });
}
END_TEST

/* The deflate scenarios' echoes: 5 messages twice, one fragmented. */
#define DEFLATE_MSGS 11

/* Node offered permessage-deflate to a server that does not accept it: declined, and the
 * echoes (1 MiB of compressible text among them) work uncompressed. */
START_TEST(node_client_deflate_declined)
{
	run_cjob((ix_ccase){ .path = "/echo", .scenario = "deflate",
			     .lines = { "extensions -", "echo ok", "closed 1000" },
			     .check = ix_seen_peer_closed, .echoed = DEFLATE_MSGS, .code = 1000,
			     .reason = "done" });
}
END_TEST

/* A server that accepts permessage-deflate: agreed, and every message (Node compresses
 * them all, the empty one too; one in three fragments) echoes compressed both ways, with
 * the context kept across messages. */
START_TEST(node_client_deflate_accepted)
{
	run_cjob((ix_ccase){ .path = "/deflate", .scenario = "deflate",
			     .lines = { "extensions permessage-deflate", "echo ok", "closed 1000" },
			     .check = ix_seen_peer_closed, .echoed = DEFLATE_MSGS, .code = 1000,
			     .reason = "done" });
}
END_TEST

/* Node asks for no context takeover both ways and 10-bit windows: agreed and honoured. */
START_TEST(node_client_deflate_no_context_takeover)
{
	run_cjob((ix_ccase){ .path = "/deflate", .scenario = "deflate-tight",
			     .lines = { "extensions permessage-deflate", "echo ok", "closed 1000" },
			     .check = ix_seen_peer_closed, .echoed = DEFLATE_MSGS, .code = 1000,
			     .reason = "done" });
}
END_TEST

/* Node asks for a server window of 8 bits, which zlib cannot deflate with: declined, and
 * the echoes work uncompressed. */
START_TEST(node_client_deflate_window_8_declined)
{
	run_cjob((ix_ccase){ .path = "/deflate", .scenario = "deflate-8",
			     .lines = { "extensions -", "echo ok", "closed 1000" },
			     .check = ix_seen_peer_closed, .echoed = DEFLATE_MSGS, .code = 1000,
			     .reason = "done" });
}
END_TEST

/* Node offers "chat, superchat"; corio's server prefers superchat: both sides agree. */
static const char *seen_superchat(const ix_ccase *k, const ix_seen *s, const ix_peer *p)
{
	const char *why = ix_seen_peer_closed(k, s, p);

	if (!why && strcmp(s->protocol, "superchat") != 0)
		why = ix_fail("corio_ws_protocol '%s', want superchat", s->protocol);
	return why;
}

START_TEST(node_client_subprotocol)
{
	run_cjob((ix_ccase){ .path = "/proto", .scenario = "proto",
			     .lines = { "protocol superchat", "closed 1000" },
			     .check = seen_superchat, .echoed = 0, .code = 1000, .reason = "done" });
}
END_TEST

/* A close without a code: corio reports 1005 (never sent on the wire) and no reason. */
START_TEST(node_client_close_without_code_1005)
{
	run_cjob((ix_ccase){ .path = "/echo", .scenario = "nocode", .lines = { "closed " },
			     .check = ix_seen_peer_closed, .echoed = 0, .code = 1005,
			     .reason = "" });
}
END_TEST

/* 16 more connections echoing at once (each handler records over the others: only the last
 * connection, the first one Node opened, is checked on corio's side). */
START_TEST(node_client_many_connections)
{
	run_cjob((ix_ccase){ .path = "/echo", .scenario = "many",
			     .lines = { "many ok", "closed 1000" }, .check = ix_seen_closed_any });
}
END_TEST

/* Bad input from Node's raw socket, or a message over corio's limit: corio's receive fails
 * and Node's close event carries the code corio sent. (.echoed holds the receive's result.) */
START_TEST(node_client_unmasked_frame_1002)
{
	run_cjob((ix_ccase){ .path = "/echo", .scenario = "unmasked", .lines = { "closed 1002" },
			     .check = ix_seen_failed, .echoed = -EPROTO, .code = 1002 });
}
END_TEST

START_TEST(node_client_invalid_utf8_1007)
{
	run_cjob((ix_ccase){ .path = "/echo", .scenario = "badutf8", .lines = { "closed 1007" },
			     .check = ix_seen_failed, .echoed = -EPROTO, .code = 1007 });
}
END_TEST

START_TEST(node_client_too_big_1009)
{
	run_cjob((ix_ccase){ .path = "/echo", .scenario = "too-big", .lines = { "closed 1009" },
			     .check = ix_seen_failed, .echoed = -EMSGSIZE, .code = 1009 });
}
END_TEST

/* ---- main -------------------------------------------------------------------------------- */

int main(void)
{
	char why[1024];
	Suite *s = suite_create("ws_interop_node_client");
	TCase *tc;

	if (!ix_node_ready(why, sizeof why)) {
		fprintf(stderr, "skipped: %s\n", why);
		return TH_SKIP;
	}
	tc = TH_TCASE(s, "node_client", TH_TIMEOUT, node_client_echo, node_client_close_4000,
		      node_client_sees_close_1001, node_client_wss_echo,
		      node_client_wss_close_1001, node_client_deflate_declined,
		      node_client_deflate_accepted, node_client_deflate_no_context_takeover,
		      node_client_deflate_window_8_declined, node_client_subprotocol,
		      node_client_close_without_code_1005, node_client_many_connections,
		      node_client_unmasked_frame_1002,
		      node_client_invalid_utf8_1007, node_client_too_big_1009);
	tcase_add_checked_fixture(tc, ix_certs_setup, ix_certs_teardown);
	return th_main(s);
}
