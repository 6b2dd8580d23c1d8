/* http/server/server.c: the server object: options and their defaults, listeners (one, or
 * one SO_REUSEPORT listener per loop), serving on the caller's loop or on N loops started
 * through corio_blocking + corio_run_threads, the accept loop that spawns one coroutine per
 * connection (conn.c) and keeps the loop's connection list, and the graceful shutdown
 * (listeners closed, idle connections cancelled, in-flight requests finished, everything
 * cancelled at the deadline). Serving and shutting down park. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corio/fs.h>

#include "http/server/server_internal.h"

void corio_http_server_opts_init(corio_http_server_opts *o)
{
	if (o)
		memset(o, 0, sizeof *o);
}

/* Defaults for the limits a zero option leaves open.
 * DEF_MAX_HEADER_BYTES: request line and headers; 16 KiB holds any ordinary request with
 * its cookies, and bounds what a client that never ends its head can make us store.
 * DEF_MAX_HEADERS: header fields per request, well above what browsers send.
 * DEF_MAX_BODY_BYTES: a request body; forms and JSON fit, an upload must ask for more.
 * DEF_READ_BUFFER: a connection's receive buffer; the head of a request arrives in one
 * receive. MIN_READ_BUFFER: below it a request line and a few headers would not fit. */
#define DEF_MAX_HEADER_BYTES 16384
#define DEF_MAX_HEADERS 100
#define DEF_MAX_BODY_BYTES (16u << 20)
#define DEF_READ_BUFFER 16384
#define MIN_READ_BUFFER 1024

static void defaults(corio_http_server_opts *o)
{
	if (!o->threads)
		o->threads = 1;
	if (!o->max_header_bytes)
		o->max_header_bytes = DEF_MAX_HEADER_BYTES;
	if (!o->max_headers)
		o->max_headers = DEF_MAX_HEADERS;
	if (!o->max_body_bytes)
		o->max_body_bytes = DEF_MAX_BODY_BYTES;
	if (!o->header_timeout_ns)
		o->header_timeout_ns = CORIO_SEC(10);
	if (!o->body_timeout_ns)
		o->body_timeout_ns = CORIO_SEC(60);
	if (!o->idle_timeout_ns)
		o->idle_timeout_ns = CORIO_SEC(60);
	if (!o->write_timeout_ns)
		o->write_timeout_ns = CORIO_SEC(60);
	if (!o->server_name)
		o->server_name = "corio";
	if (!o->read_buffer)
		o->read_buffer = DEF_READ_BUFFER;
	if (o->read_buffer < MIN_READ_BUFFER)
		o->read_buffer = MIN_READ_BUFFER;
}

corio_http_server *corio_http_server_new(const corio_http_server_opts *o, corio_http_handler h,
					 void *ud)
{
	corio_http_server *srv;

	if (!h || (o && o->tls && !corio__tls_config_serves(o->tls))) {
		errno = EINVAL;
		return NULL;
	}
	if (!(srv = calloc(1, sizeof *srv))) {
		errno = ENOMEM;
		return NULL;
	}
	if (o)
		srv->o = *o;
	if (srv->o.tls) {
		/* ALPN: a client offering "h2,http/1.1" is told http/1.1 rather than left to
		 * guess. A config already in use keeps what it has (-EBUSY: not changed). */
		if (!corio__tls_config_has_alpn(srv->o.tls))
			corio_tls_config_alpn(srv->o.tls, "http/1.1");
		/* The server's own reference: the caller may free its config. */
		srv->o.tls = corio__tls_config_hold(srv->o.tls);
	}
	defaults(&srv->o);
	srv->handler = h;
	srv->ud = ud;
	srv->nloops = srv->o.threads;
	srv->port = -ENOTCONN;
	if (!(srv->loops = calloc(srv->nloops, sizeof *srv->loops))) {
		corio_tls_config_free(srv->o.tls);
		free(srv);
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned i = 0; i < srv->nloops; i++) {
		srv->loops[i].srv = srv;
		srv->loops[i].lfd = -1;
	}
	pthread_mutex_init(&srv->mu, NULL);
	return srv;
}

int corio_http_server_listen(corio_http_server *srv, const char *host, int port)
{
	unsigned flags;
	char ps[16];
	int backlog;

	if (!srv || port < 0 || port > 65535)
		return -EINVAL;
	flags = srv->nloops > 1 ? CORIO_LISTEN_REUSEPORT : 0;
	backlog = srv->o.backlog > 0 ? srv->o.backlog : -1;
	if (srv->listening)
		return -EALREADY;
	snprintf(ps, sizeof ps, "%d", port);
	for (unsigned i = 0; i < srv->nloops; i++) {
		int fd = corio_tcp_listen_flags(host, ps, backlog, flags);

		if (fd < 0) {
			while (i > 0)
				corio_close(srv->loops[--i].lfd), srv->loops[i].lfd = -1;
			return fd;
		}
		srv->loops[i].lfd = fd;
		if (i == 0) {
			/* Port 0 picked a free port: the other listeners share it. */
			srv->port = corio_sock_port(fd);
			snprintf(ps, sizeof ps, "%d", srv->port);
		}
	}
	srv->listening = true;
	return 0;
}

int corio_http_server_port(const corio_http_server *srv)
{
	return srv && srv->listening ? srv->port : -ENOTCONN;
}

/* ---- one loop's share ------------------------------------------------------------------ */

static void *accept_main(void *arg)
{
	corio__hserver_loop *hl = arg;

	for (;;) {
		int fd = corio_accept(hl->lfd, NULL, NULL);
		corio__hserver_conn *c;

		if (fd < 0) {
			/* corio_accept handles transient errors and running out of descriptors
			 * itself: what it returns ends accepting (-EBADF after listen_close). */
			if (!hl->stopping && fd != -EBADF && fd != -ECANCELED)
				hl->result = fd;
			break;
		}
		if (hl->stopping || !(c = calloc(1, sizeof *c))) {
			corio_close(fd);
			continue;
		}
		c->hl = hl;
		c->fd = fd;
		c->pipe[0] = c->pipe[1] = -1;
		if (!(c->task = corio_spawn(corio__hserver_conn_main, c))) {
			free(c);
			corio_close(fd);
			continue;
		}
		/* Detached: the connection unlinks itself as the last thing it does, so a task in
		 * the list is always alive and may be cancelled. */
		corio_detach(c->task);
		corio__list_push_front(&hl->conns, &c->link);
		hl->nconns++;
	}
	return NULL;
}

/* Only started connections are cancelled: a task cancelled before it first ran would
 * never run, and never close its descriptor. Those not started (CORIO__HSERVER_NEW) see
 * `stopping` and go. */
static void cancel_conns(corio__hserver_loop *hl, bool idle_only)
{
	for (corio__lnode *n = hl->conns.head; n; n = n->next) {
		corio__hserver_conn *c = CORIO__CONTAINER_OF(n, corio__hserver_conn, link);

		if (c->phase != CORIO__HSERVER_NEW &&
		    (!idle_only || c->phase == CORIO__HSERVER_IDLE))
			corio_cancel(c->task);
	}
}

static void *stop_loop(void *arg)
{
	corio__hserver_loop *hl = arg;
	corio_http_server *srv = hl->srv;
	uint64_t deadline;

	pthread_mutex_lock(&srv->mu);
	deadline = srv->stop_deadline;
	pthread_mutex_unlock(&srv->mu);
	hl->stopping = true;
	if (hl->lfd >= 0) {
		corio_listen_close(hl->lfd); /* wakes the acceptor with -EBADF */
		hl->lfd = -1;
	}
	cancel_conns(hl, true);
	if (hl->nconns > 0) {
		corio_timeout t;

		corio_timeout_enter_at(&t, deadline);
		corio_event_wait(&hl->drained);
		corio_timeout_exit(&t);
	}
	if (hl->nconns > 0) {
		cancel_conns(hl, false);
		corio_event_wait(&hl->drained);
	}
	return NULL;
}

/* Once a second: the input buffers nobody took give their pages back (bufs.c); and what
 * connections gone lean (conn.c) or closed freed stays resident in the allocator's
 * free chunks, between the structs of live connections, where glibc's free() never returns
 * it to the system: malloc_trim does, page by page. It walks the whole heap, so it runs
 * here, at most once a second and only after connections went lean or closed (what one
 * busy connection frees the next request takes again). */
#define HEAP_TRIM_NS CORIO_SEC(1)

static void trim_heap(corio__hserver_loop *hl)
{
	corio__hserver_bufs_trim(&hl->bufs);
	if (!hl->released)
		return;
	hl->released = 0;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* Waits for the stop signal, trimming the heap and writing the access log's lines once a
 * second meanwhile. 0 when stopped, -ECANCELED when serve was cancelled. */
static int wait_stop(corio__hserver_loop *hl)
{
	for (;;) {
		corio_timeout t;
		int rc;

		corio_timeout_enter(&t, HEAP_TRIM_NS);
		rc = corio_event_wait(&hl->stop);
		if (corio_timeout_exit(&t) && rc == -ETIMEDOUT) {
			trim_heap(hl);
			corio__hserver_log_flush(hl);
			continue;
		}
		if (rc == -ENOMEM) /* no timer for the scope: wait without trimming */
			rc = corio_event_wait(&hl->stop);
		return rc < 0 ? -ECANCELED : 0;
	}
}

static int serve_loop(corio__hserver_loop *hl)
{
	corio_http_server *srv = hl->srv;
	corio_loop *loop = corio_loop_current(); /* posts may wake us from now on */
	corio_task *acc;
	bool stop;

	corio_event_init(&hl->stop);
	corio_event_init(&hl->drained);
	corio__hserver_bufs_init(&hl->bufs, srv->o.read_buffer);
	corio__hserver_log_init(hl);
	pthread_mutex_lock(&srv->mu);
	hl->loop = loop;
	stop = srv->stop_requested;
	pthread_mutex_unlock(&srv->mu);
	acc = stop ? NULL : corio_spawn(accept_main, hl);
	if (!stop && !acc)
		hl->result = -ENOMEM;
	if (acc && wait_stop(hl) < 0) {
		/* serve was cancelled: stop at once, as a shutdown with no grace would. */
		pthread_mutex_lock(&srv->mu);
		if (!srv->stop_requested) {
			srv->stop_requested = true;
			srv->stop_deadline = corio_now();
		}
		pthread_mutex_unlock(&srv->mu);
	}
	/* From here on nothing interrupts the stop: it has its own deadline. */
	corio_shield(stop_loop, hl);
	if (acc) {
		corio_cancel(acc); /* normally gone already, woken by listen_close */
		corio_join(acc, NULL);
	}
	pthread_mutex_lock(&srv->mu);
	hl->loop = NULL;
	pthread_mutex_unlock(&srv->mu);
	corio__hserver_bufs_fini(&hl->bufs); /* every connection is gone (stop_loop) */
	corio__hserver_log_flush(hl);        /* the last lines, before serve returns */
	corio__hserver_log_fini(hl);
	return hl->result;
}

static void *worker_main(void *arg)
{
	corio_http_server *srv = arg;

	return (void *)(intptr_t)serve_loop(&srv->loops[corio_thread_index()]);
}

static void *threads_main(void *arg)
{
	corio_http_server *srv = arg;

	return (void *)(intptr_t)corio_run_threads(srv->nloops, worker_main, srv);
}

int corio_http_server_serve(corio_http_server *srv)
{
	void *res = NULL;
	int rc;

	if (!srv)
		return -EINVAL;
	if (!corio_current())
		return -EPERM;
	if (!srv->listening)
		return -ENOTCONN;
	if (srv->served)
		return -EALREADY;
	srv->served = true;
	if (srv->nloops == 1)
		return serve_loop(&srv->loops[0]);
	rc = corio_blocking(threads_main, srv, &res);
	if (rc == 0)
		rc = (int)(intptr_t)res;
	for (unsigned i = 0; rc == 0 && i < srv->nloops; i++)
		rc = srv->loops[i].result;
	return rc;
}

/* ---- shutdown -------------------------------------------------------------------------- */

static void *stop_post(void *arg)
{
	corio_event_set(&((corio__hserver_loop *)arg)->stop);
	return NULL;
}

int corio_http_server_shutdown(corio_http_server *srv, uint64_t grace_ns)
{
	corio_loop *cur = corio_current() ? corio_loop_current() : NULL;
	uint64_t now = corio_now();

	if (!srv)
		return -EINVAL;
	pthread_mutex_lock(&srv->mu);
	if (srv->stop_requested) {
		pthread_mutex_unlock(&srv->mu);
		return -EALREADY;
	}
	srv->stop_requested = true;
	srv->stop_deadline = grace_ns > UINT64_MAX - now ? UINT64_MAX : now + grace_ns;
	for (unsigned i = 0; i < srv->nloops; i++) {
		corio__hserver_loop *hl = &srv->loops[i];

		if (!hl->loop)
			continue; /* not serving (yet, or any more): it checks stop_requested */
		if (hl->loop == cur)
			corio_event_set(&hl->stop);
		else
			corio_loop_post(hl->loop, stop_post, hl);
	}
	pthread_mutex_unlock(&srv->mu);
	return 0;
}

void corio_http_server_free(corio_http_server *srv)
{
	if (!srv)
		return;
	for (unsigned i = 0; i < srv->nloops; i++)
		if (srv->loops[i].lfd >= 0)
			corio_close(srv->loops[i].lfd);
	pthread_mutex_destroy(&srv->mu);
	corio_tls_config_free(srv->o.tls);
	free(srv->loops);
	free(srv);
}
