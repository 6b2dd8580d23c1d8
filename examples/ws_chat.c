/* examples/ws_chat.c: a WebSocket chat server: every text message a client sends goes to
 * every other client connected.
 *
 *   ws_chat [PORT]     serves ws://127.0.0.1:PORT/ (default 8080; 0 picks one)
 *
 * Each client has a bounded queue and a writer task of its own, so that one slow client
 * never holds the others up: a client whose queue is full, or whose send does not finish
 * within 5 s, is disconnected (close 1008 "too slow"). The server runs on one loop, so the
 * list of members needs no lock. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>
#include <corio/http_server.h>
#include <corio/ws.h>

#define QUEUE 64                    /* messages waiting for one client, at most */
#define SEND_TIMEOUT CORIO_SEC(5)

/* A message shared by the queues it is in; freed by the last one to let go. */
typedef struct msg {
	unsigned refs;
	size_t len;
	char text[];
} msg;

typedef struct member {
	struct member *next;
	corio_ws *ws;
	corio_chan *queue; /* of msg *, written by broadcast, read by the member's writer */
	bool slow;         /* dropped: its queue was full or a send timed out */
} member;

static member *members;

static void unref(msg *m)
{
	if (--m->refs == 0)
		free(m);
}

static void drop(member *x)
{
	x->slow = true;
	corio_chan_close(x->queue); /* its writer drains the queue, then says goodbye */
}

/* Never parks: a full queue drops its member instead of waiting for it. */
static void broadcast(const member *from, const void *text, size_t len)
{
	msg *m = malloc(sizeof *m + len);

	if (!m)
		return;
	m->refs = 1;
	m->len = len;
	memcpy(m->text, text, len);
	for (member *x = members; x; x = x->next) {
		if (x == from || x->slow)
			continue;
		m->refs++;
		if (corio_chan_try_send(x->queue, &m) != 0) {
			m->refs--;
			drop(x);
		}
	}
	unref(m);
}

/* Sends what the member's queue holds, one message at a time, each within SEND_TIMEOUT. */
static void *writer(void *arg)
{
	member *me = arg;
	msg *m;
	int rc = 0;

	while (corio_chan_recv(me->queue, &m) == 0) {
		if (rc == 0) {
			corio_timeout t;

			corio_timeout_enter(&t, SEND_TIMEOUT);
			rc = corio_ws_send(me->ws, CORIO_WS_TEXT, m->text, m->len);
			corio_timeout_exit(&t);
			if (rc != 0)
				drop(me);
		}
		unref(m);
	}
	if (me->slow) /* the member's reader, in the handler, then sees the end */
		corio_ws_close(me->ws, CORIO_WS_POLICY, "too slow");
	return NULL;
}

static void unlink_member(member *me)
{
	for (member **pp = &members; *pp; pp = &(*pp)->next)
		if (*pp == me) {
			*pp = me->next;
			return;
		}
}

static void chat(corio_http_in *req, corio_http_out *resp, void *ud)
{
	member me = { 0 };
	corio_task *w = NULL;
	const void *p;
	int op;
	ssize_t n;

	(void)ud;
	if (corio_ws_accept(req, resp, &me.ws) != 0)
		return;
	if ((me.queue = corio_chan_new(QUEUE, sizeof(msg *))) && (w = corio_spawn(writer, &me))) {
		me.next = members;
		members = &me;
		while ((n = corio_ws_recv_msg(me.ws, &op, &p)) >= 0)
			if (op == CORIO_WS_TEXT)
				broadcast(&me, p, (size_t)n);
		unlink_member(&me);
		corio_chan_close(me.queue);
		corio_join(w, NULL);
	}
	corio_ws_close(me.ws, CORIO_WS_NORMAL, NULL); /* 0 at once when it is over already */
	corio_chan_free(me.queue);
	corio_ws_free(me.ws);
}

static void *serve(void *arg)
{
	corio_http_server *srv = corio_http_server_new(NULL, chat, NULL);
	int rc;

	if (!srv)
		return "cannot create the server";
	if ((rc = corio_http_server_listen(srv, "127.0.0.1", atoi(arg))) < 0) {
		fprintf(stderr, "ws_chat: listen: %s\n", corio_net_strerror(rc));
		corio_http_server_free(srv);
		return "listen failed";
	}
	printf("ws_chat: listening on ws://127.0.0.1:%d/\n", corio_http_server_port(srv));
	fflush(stdout);
	rc = corio_http_server_serve(srv);
	corio_http_server_free(srv);
	return rc < 0 ? "serve failed" : NULL;
}

int main(int argc, char **argv)
{
	void *err = NULL;
	int rc = corio_run(serve, argc > 1 ? argv[1] : "8080", &err);

	if (rc < 0 || err) {
		fprintf(stderr, "ws_chat: %s\n", err ? (const char *)err : strerror(-rc));
		return 1;
	}
	return 0;
}
