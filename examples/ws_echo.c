/* examples/ws_echo.c: a WebSocket echo server, and a client for it.
 *
 *   ws_echo serve [PORT]            serves ws://127.0.0.1:PORT/ (default 8080; 0 picks one)
 *   ws_echo client URL MESSAGE...   sends each message, prints each echo, closes
 *
 *   ws_echo serve 8080 &
 *   ws_echo client ws://127.0.0.1:8080/ hello world   ->  hello
 *                                                         world
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>
#include <corio/http.h>
#include <corio/http_server.h>
#include <corio/ws.h>

/* One connection: every message goes back as it came (text or binary) until the client
 * closes. corio_ws_accept answered 400/426 itself when the request was no WebSocket. */
static void echo(corio_http_in *req, corio_http_out *resp, void *ud)
{
	corio_ws *ws;
	const void *msg;
	int op;
	ssize_t n;

	(void)ud;
	if (corio_ws_accept(req, resp, &ws) != 0)
		return;
	while ((n = corio_ws_recv_msg(ws, &op, &msg)) >= 0)
		if (corio_ws_send(ws, op, msg, (size_t)n) != 0)
			break;
	corio_ws_close(ws, CORIO_WS_NORMAL, NULL); /* 0 at once after the client's close */
	corio_ws_free(ws);                          /* before the handler returns */
}

static void *serve(void *arg)
{
	corio_http_server *srv = corio_http_server_new(NULL, echo, NULL);
	int rc;

	if (!srv)
		return "cannot create the server";
	if ((rc = corio_http_server_listen(srv, "127.0.0.1", atoi(arg))) < 0) {
		fprintf(stderr, "ws_echo: listen: %s\n", corio_net_strerror(rc));
		corio_http_server_free(srv);
		return "listen failed";
	}
	printf("ws_echo: listening on ws://127.0.0.1:%d/\n", corio_http_server_port(srv));
	fflush(stdout);
	rc = corio_http_server_serve(srv); /* until the process is stopped */
	corio_http_server_free(srv);
	return rc < 0 ? "serve failed" : NULL;
}

static void *client(void *arg)
{
	char **argv = arg; /* URL, messages..., NULL */
	corio_http_client *c = corio_http_client_new(NULL);
	corio_ws *ws;
	const void *echo;
	int rc = 0, op;

	if (!c)
		return "cannot create the client";
	if ((rc = corio_ws_connect(c, argv[0], &ws)) < 0) {
		fprintf(stderr, "ws_echo: %s: %s\n", argv[0], strerror(-rc));
		corio_http_client_free(c);
		return "connect failed";
	}
	for (char **m = argv + 1; *m; m++) {
		ssize_t n = 0;

		/* recv_msg: no copy, and no buffer on the task's small stack */
		if ((rc = corio_ws_send(ws, CORIO_WS_TEXT, *m, strlen(*m))) < 0 ||
		    (rc = (int)(n = corio_ws_recv_msg(ws, &op, &echo))) < 0)
			break;
		printf("%.*s\n", (int)n, (const char *)echo);
	}
	corio_ws_close(ws, CORIO_WS_NORMAL, "bye");
	corio_ws_free(ws); /* before the client */
	corio_http_client_free(c);
	return rc < 0 ? "the echo failed" : NULL;
}

int main(int argc, char **argv)
{
	void *err = NULL;
	int rc;

	if (argc >= 2 && !strcmp(argv[1], "serve"))
		rc = corio_run(serve, argc > 2 ? argv[2] : "8080", &err);
	else if (argc >= 3 && !strcmp(argv[1], "client"))
		rc = corio_run(client, argv + 2, &err);
	else {
		fprintf(stderr, "usage: ws_echo serve [PORT] | ws_echo client URL MESSAGE...\n");
		return 2;
	}
	if (rc < 0 || err) {
		fprintf(stderr, "ws_echo: %s\n", err ? (const char *)err : strerror(-rc));
		return 1;
	}
	return 0;
}
