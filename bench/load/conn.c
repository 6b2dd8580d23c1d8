/* bench/load/conn.c: the load itself. Each thread of corio_run_threads runs one loop with
 * one task per connection plus its main task, which samples requests/s every 100 ms,
 * enforces --timeout (a connection whose oldest request waits too long is shut down under
 * its task) and at the end stops and joins the connection tasks.
 *
 * A connection task keeps one keep-alive connection busy: it sends up to --pipeline
 * requests (the prebuilt bytes, never formatted again), parses the responses' framing,
 * records each latency into the thread's histogram, and reconnects when the server closes
 * or anything fails (each failure counted by class). Closed loop: a request goes out as
 * soon as a response frees its slot. With --rate: each connection follows a fixed schedule
 * of intended start times, latency is measured from the intended start (coordinated
 * omission corrected, as wrk2 does), and the time the generator itself woke late is
 * recorded separately (the lag histogram) so that a saturated generator shows. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <corio/corio.h>

#include "bench/load/load.h"
#include "runtime/core/loop.h" /* corio__submit: the request send nobody parks on (read-only use) */

const char *const load_err_names[ERR_N] = { "connect", "read", "write", "timeout", "status",
					    "protocol" };

typedef struct conn {
	load_thread *t;
	const load_opts *o;
	uint64_t start;          /* the run's common start */
	int fd;
	unsigned gidx;           /* index among all connections */
	char *buf;
	corio_receiver *rcv;
	uint64_t *intended;      /* ring of pipeline slots: intended start of each request */
	uint64_t *sent;          /* ...and when it actually went out (for --timeout) */
	unsigned head, inflight;
	uint64_t next;           /* --rate: the next intended start */
	uint64_t interval;       /* --rate: ns between this connection's requests */
	uint64_t freed_at;       /* when a response last freed a pipeline slot */
	volatile bool timed_out; /* set by the thread's main task before shutting fd down */
	corio_task *task;
	resp_parser rp;
	/* --send async: the send in flight nobody parks on. Its CQE always comes before the
	 * response it asked for is reaped (CQEs are delivered in order, and the send
	 * completes before the server can answer), so at most one is in flight. */
	corio__completion send_c;
	bool send_pending, send_failed;
	unsigned gen, send_gen;  /* connection generation: a late CQE of a closed one */
	uint32_t send_len;
} conn;

/* ---- request building --------------------------------------------------------------- */

static bool has_header(const load_opts *o, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < o->nheaders; i++)
		if (strncasecmp(o->headers[i], name, n) == 0 && o->headers[i][n] == ':')
			return true;
	return false;
}

int load_build_request(load_opts *o)
{
	size_t cap = 256 + strlen(o->target) + strlen(o->host_header) + o->body_len, len;
	char *r;

	for (size_t i = 0; i < o->nheaders; i++)
		cap += strlen(o->headers[i]) + 2;
	r = malloc(cap);
	if (!r)
		return -1;
	len = (size_t)snprintf(r, cap, "%s %s HTTP/1.1\r\n", o->method, o->target);
	if (!has_header(o, "Host"))
		len += (size_t)snprintf(r + len, cap - len, "Host: %s\r\n", o->host_header);
	for (size_t i = 0; i < o->nheaders; i++)
		len += (size_t)snprintf(r + len, cap - len, "%s\r\n", o->headers[i]);
	if (o->body && !has_header(o, "Content-Length"))
		len += (size_t)snprintf(r + len, cap - len, "Content-Length: %zu\r\n", o->body_len);
	len += (size_t)snprintf(r + len, cap - len, "\r\n");
	if (o->body) {
		memcpy(r + len, o->body, o->body_len);
		len += o->body_len;
	}
	o->req = r;
	o->req_len = len;
	o->reqs = malloc(len * o->pipeline);
	if (!o->reqs)
		return -1;
	for (unsigned i = 0; i < o->pipeline; i++)
		memcpy(o->reqs + (size_t)i * len, r, len);
	return 0;
}

/* ---- one connection ----------------------------------------------------------------- */

static void conn_close(conn *c)
{
	if (c->rcv) {
		corio_receiver_free(c->rcv);
		c->rcv = NULL;
	}
	if (c->fd >= 0) {
		int fd = c->fd;

		c->fd = -1; /* first: the main task must not shut down a reused number */
		corio_close(fd);
	}
	c->inflight = 0;
	c->head = 0;
}

static void count_err(conn *c, int cls)
{
	if (!c->t->stop)
		c->t->errors[cls]++;
}

static int conn_open(conn *c)
{
	const load_opts *o = c->o;
	corio_timeout to;
	int fd, rc, one = 1;

	fd = corio_socket(o->addr.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	corio_timeout_enter(&to, o->timeout_ns);
	rc = corio_connect(fd, (const struct sockaddr *)&o->addr, o->addrlen);
	corio_timeout_exit(&to);
	if (rc < 0) {
		corio_close(fd);
		return rc;
	}
	if (o->recv_mode == 1 && !(c->rcv = corio_receiver_new(fd))) {
		corio_close(fd);
		return -errno;
	}
	c->fd = fd;
	c->gen++;
	c->send_failed = false;
	c->timed_out = false;
	c->inflight = c->head = 0;
	resp_parser_init(&c->rp, o->head);
	c->t->connects++;
	return 0;
}

/* The CQE of an async send (runs in the loop's reap, never parks). A failure shuts the
 * socket down so that the task's receive ends at once and counts a write error. */
static void send_done(corio__completion *cc, int32_t res, uint32_t flags)
{
	conn *c = (conn *)((char *)cc - offsetof(conn, send_c));

	(void)flags;
	c->send_pending = false;
	if (c->send_gen != c->gen || res == (int32_t)c->send_len)
		return;
	c->send_failed = true;
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
}

/* Queues the send without parking: it goes to the kernel with the receive that follows,
 * in the same io_uring_enter. MSG_WAITALL: io_uring retries a short send itself, so the
 * result is all of len or an error. */
static int send_async(conn *c, const void *buf, size_t len)
{
	corio__loop *l = corio__loop_get();
	struct io_uring_sqe sqe;

	if (c->send_pending || len > UINT32_MAX || !l)
		return (int)corio_send_all(c->fd, buf, len); /* never two in flight */
	memset(&sqe, 0, sizeof sqe);
	io_uring_prep_send(&sqe, c->fd, buf, len, MSG_NOSIGNAL | MSG_WAITALL);
	c->send_c = (corio__completion){ .fn = send_done };
	c->send_pending = true;
	c->send_gen = c->gen;
	c->send_len = (uint32_t)len;
	corio__submit(l, &sqe, &c->send_c, NULL, false);
	return 0;
}

static ssize_t conn_recv(conn *c)
{
	if (c->rcv)
		return corio_receiver_recv(c->rcv, c->buf, c->o->rbuf);
	return corio_recv(c->fd, c->buf, c->o->rbuf, 0);
}

/* Sends k more requests whose intended starts are given by the caller's schedule: closed
 * loop (rate == 0) starts them now. */
static int send_reqs(conn *c, unsigned k, uint64_t now)
{
	const load_opts *o = c->o;
	unsigned n = o->pipeline;
	ssize_t w;

	for (unsigned j = 0; j < k; j++) {
		unsigned slot = (c->head + c->inflight + j) % n;

		c->sent[slot] = now;
		if (o->rate <= 0) {
			c->intended[slot] = now;
		} else {
			c->intended[slot] = c->next;
			/* Late because of the server (no free slot at the intended time), or
			 * because the generator itself ran late. */
			if (c->freed_at > c->next)
				c->t->late++;
			else if (!c->t->stop)
				hist_record(&c->t->lag, now - c->next);
			c->next += c->interval;
		}
	}
	c->inflight += k;
	if (o->send_mode == 1)
		return send_async(c, o->reqs, (size_t)k * o->req_len);
	w = corio_send_all(c->fd, o->reqs, (size_t)k * o->req_len);
	return w < 0 ? (int)w : 0;
}

/* One response finished at now. Returns false when the connection must be closed. */
static bool response_done(conn *c, uint64_t now)
{
	load_thread *t = c->t;
	resp_parser *rp = &c->rp;

	if (c->inflight == 0) {
		count_err(c, ERR_PROTOCOL); /* a response nobody asked for */
		return false;
	}
	if (!t->stop) {
		hist_record(&t->lat, now - c->intended[c->head]);
		t->requests++;
		if (rp->status >= 400)
			t->errors[ERR_STATUS]++;
	}
	c->head = (c->head + 1) % c->o->pipeline;
	c->inflight--;
	c->freed_at = now;
	if (!rp->keep_alive)
		return false;
	resp_parser_next(rp);
	return true;
}

/* Feeds n received bytes. false: close the connection. */
static bool consume(conn *c, const char *p, size_t n, uint64_t now)
{
	while (n > 0) {
		long used = resp_parser_feed(&c->rp, p, n);

		if (used < 0) {
			count_err(c, ERR_PROTOCOL);
			return false;
		}
		p += used;
		n -= (size_t)used;
		if (c->rp.done && !response_done(c, now))
			return false;
	}
	return true;
}

/* The server closed (recv gave 0) or the main task shut us down for a timeout. */
static void on_eof(conn *c)
{
	int r;

	if (c->timed_out) {
		count_err(c, ERR_TIMEOUT);
		return;
	}
	if (c->send_failed) {
		count_err(c, ERR_WRITE);
		return;
	}
	r = resp_parser_eof(&c->rp);
	if (r == 1) {
		response_done(c, corio_now());
		return;
	}
	if (r < 0 || c->inflight > 0)
		count_err(c, ERR_READ);
}

/* Waits for bytes; with --rate and a free pipeline slot only until the next intended
 * start (-ETIMEDOUT then). */
static ssize_t wait_bytes(conn *c)
{
	corio_timeout to;
	ssize_t n;

	if (c->o->rate <= 0 || c->inflight >= c->o->pipeline)
		return conn_recv(c);
	corio_timeout_enter_at(&to, c->next);
	n = conn_recv(c);
	corio_timeout_exit(&to);
	return n;
}

/* Drives one open connection until it has to be closed. */
static void conn_serve(conn *c)
{
	const load_opts *o = c->o;
	load_thread *t = c->t;
	uint64_t now = corio_now(); /* kept from the last receive: one clock read a turn */

	while (!t->stop) {
		unsigned k = o->pipeline - c->inflight;
		ssize_t n;

		if (o->rate > 0) {
			unsigned due = 0;

			/* Every request whose intended start has come, up to the free slots. */
			while (due < k && c->next + (uint64_t)due * c->interval <= now)
				due++;
			k = due;
			if (k == 0 && c->inflight == 0) {
				if (corio_sleep_until(c->next) != 0)
					return;
				now = corio_now();
				continue;
			}
		}
		if (k > 0 && send_reqs(c, k, now) != 0) {
			count_err(c, ERR_WRITE);
			return;
		}
		n = wait_bytes(c);
		now = corio_now();
		if (n == -ETIMEDOUT && o->rate > 0)
			continue; /* the next intended start has come */
		if (n == 0) {
			on_eof(c);
			return;
		}
		if (n < 0) {
			if (c->timed_out)
				count_err(c, ERR_TIMEOUT);
			else if (c->send_failed)
				count_err(c, ERR_WRITE);
			else if (n != -ECANCELED)
				count_err(c, ERR_READ);
			return;
		}
		if (!t->stop)
			t->bytes += (uint64_t)n;
		if (!consume(c, c->buf, (size_t)n, now))
			return;
	}
}

static void *conn_main(void *arg)
{
	conn *c = arg;
	load_thread *t = c->t;

	while (!t->stop) {
		int rc = conn_open(c);

		if (rc < 0) {
			if (rc == -ECANCELED || t->stop)
				break;
			count_err(c, rc == -ETIMEDOUT ? ERR_TIMEOUT : ERR_CONNECT);
			if (corio_sleep(CORIO_MS(10)) != 0) /* do not spin on a refused port */
				break;
			continue;
		}
		conn_serve(c);
		conn_close(c);
	}
	conn_close(c);
	return NULL;
}

/* ---- the thread --------------------------------------------------------------------- */

static void check_timeouts(conn *cs, unsigned n, uint64_t now, uint64_t timeout)
{
	for (unsigned i = 0; i < n; i++) {
		conn *c = &cs[i];

		if (c->fd >= 0 && c->inflight > 0 && !c->timed_out &&
		    now - c->sent[c->head] > timeout) {
			c->timed_out = true;
			/* The task's recv returns 0 at once; the task counts the timeout. */
			shutdown(c->fd, SHUT_RDWR);
		}
	}
}

static int rps_push(load_thread *t, double v)
{
	if (t->nrps == t->rps_cap) {
		size_t nc = t->rps_cap ? t->rps_cap * 2 : 256;
		double *nr = realloc(t->rps, nc * sizeof *nr);

		if (!nr)
			return -1;
		t->rps = nr;
		t->rps_cap = nc;
	}
	t->rps[t->nrps++] = v;
	return 0;
}

static int conns_init(conn *cs, load_thread *t, const load_opts *o, uint64_t start)
{
	double per_req = 1e9 / (o->rate > 0 ? o->rate : 1);

	for (unsigned i = 0; i < t->nconns; i++) {
		conn *c = &cs[i];

		c->t = t;
		c->o = o;
		c->fd = -1;
		c->start = start;
		c->gidx = t->first_conn + i;
		c->buf = malloc(o->rbuf);
		c->intended = calloc(o->pipeline, sizeof *c->intended);
		c->sent = calloc(o->pipeline, sizeof *c->sent);
		if (!c->buf || !c->intended || !c->sent)
			return -1;
		if (o->rate > 0) {
			/* Connections take turns: connection g starts g requests' worth later. */
			c->interval = (uint64_t)(per_req * o->conns);
			if (c->interval == 0)
				c->interval = 1;
			c->next = start + (uint64_t)(per_req * c->gidx);
		}
	}
	return 0;
}

/* Keeps the loop polling the ring while responses flow: a task that yields. A turn with
 * only yields makes no syscall (the kernel flags completions in the SQ ring's flags,
 * TASKRUN_FLAG, 5.19), so a response due in microseconds is taken without a sleep and a
 * wake-up in the kernel. After spin_ns without a response it naps 1 ms (the loop sleeps). */
static void *spin_main(void *arg)
{
	const load_run *run = arg;
	load_thread *t = &run->t[corio_thread_index()];
	uint64_t spin_ns = run->o->spin_ns, last_n = t->requests, last_at = corio_now(), now;

	while (!t->stop) {
		for (int i = 0; i < 64; i++)
			corio_yield();
		now = corio_now();
		if (t->requests != last_n) {
			last_n = t->requests;
			last_at = now;
		} else if (now - last_at > spin_ns && corio_sleep(CORIO_MS(1)) != 0) {
			break;
		}
	}
	return NULL;
}

void *load_thread_main(void *arg)
{
	load_run *run = arg;
	const load_opts *o = run->o;
	load_thread *t = &run->t[corio_thread_index()];
	conn *cs = calloc(t->nconns ? t->nconns : 1, sizeof *cs);
	corio_task *spinner = NULL;
	uint64_t tick = CORIO_MS(100), end, now, last_at, last_n = 0;

	if (!cs || conns_init(cs, t, o, run->start) != 0) {
		run->setup_err = -ENOMEM;
		t->stop = true;
		goto out;
	}
	/* Threads may start a little after the common start: everything counts from it. */
	t->start = run->start;
	end = run->start + o->duration_ns;
	for (unsigned i = 0; i < t->nconns; i++) {
		cs[i].task = corio_spawn(conn_main, &cs[i]);
		if (!cs[i].task) {
			run->setup_err = -ENOMEM;
			end = 0;
			break;
		}
	}
	if (o->spin_ns && !(spinner = corio_spawn(spin_main, run)))
		end = 0;
	last_at = run->start;
	while ((now = corio_now()) < end) {
		uint64_t next = last_at + tick;

		if (next > end)
			next = end;
		if (o->timeout_ns < CORIO_MS(200) && next > now + o->timeout_ns / 2)
			next = now + o->timeout_ns / 2;
		corio_sleep_until(next);
		now = corio_now();
		check_timeouts(cs, t->nconns, now, o->timeout_ns);
		if (now - last_at >= tick || now >= end) {
			if (now - last_at >= tick / 2)
				rps_push(t, (double)(t->requests - last_n) * 1e9 /
						    (double)(now - last_at));
			last_n = t->requests;
			last_at = now;
		}
	}
	t->stop = true;
	t->end = corio_now();
	if (spinner) {
		corio_cancel(spinner);
		corio_join(spinner, NULL);
	}
	for (unsigned i = 0; i < t->nconns; i++)
		if (cs[i].task)
			corio_cancel(cs[i].task);
	for (unsigned i = 0; i < t->nconns; i++)
		if (cs[i].task)
			corio_join(cs[i].task, NULL);
	/* An async send still owed its CQE would write into cs after the free. */
	for (unsigned i = 0; i < t->nconns; i++)
		if (cs[i].send_pending)
			corio__submit_cancel(corio__loop_get(), &cs[i].send_c);
	for (bool pending = true; pending;) {
		pending = false;
		for (unsigned i = 0; i < t->nconns; i++)
			pending |= cs[i].send_pending;
		if (pending)
			corio_sleep(CORIO_MS(1));
	}
out:
	if (!t->end)
		t->end = corio_now();
	if (cs)
		for (unsigned i = 0; i < t->nconns; i++) {
			free(cs[i].buf);
			free(cs[i].intended);
			free(cs[i].sent);
		}
	free(cs);
	return NULL;
}
