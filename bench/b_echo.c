/* bench/b_echo.c: TCP echo over loopback. corio's echo server (plain corio_recv, and the
 * multishot-recv + provided-buffer-ring path, corio_receiver) beside an edge-triggered
 * epoll server in plain C (bench/peers/c/echo_epoll.c), all driven by the same client in the
 * same run: messages of 64 B and 4 KiB, 1, 64 and 1000 connections, each connection
 * sending one message and waiting for its echo before the next (ping-pong). Reports
 * messages per second and the p99 round trip.
 *
 * Servers run as separate processes on 127.0.0.1 (corio's as `corio-bench __child echo`),
 * with half the CPUs each way: server threads = client threads = max(1, ncpu / 2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corio/corio.h>

#include "bench/bench.h"
#include "tests/support/net.h"

#define HBUCKETS 200000 /* 1 µs buckets up to 200 ms */
#define MAXSIZE 4096

/* ---- the corio server (child process) -------------------------------------------- */

typedef struct srv_args {
	const char *port;
	bool ring;
} srv_args;

static void *conn_recv(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[16384];
	ssize_t n;

	while ((n = corio_recv(fd, buf, sizeof buf, 0)) > 0)
		if (corio_send_all(fd, buf, (size_t)n) < 0)
			break;
	corio_close(fd);
	return NULL;
}

static void *conn_ring(void *arg)
{
	int fd = (int)(intptr_t)arg;
	corio_receiver *r = corio_receiver_new(fd);
	char buf[16384];
	ssize_t n;

	if (!r) {
		corio_close(fd);
		return NULL;
	}
	while ((n = corio_receiver_recv(r, buf, sizeof buf)) > 0)
		if (corio_send_all(fd, buf, (size_t)n) < 0)
			break;
	corio_receiver_free(r);
	corio_close(fd);
	return NULL;
}

static void *serve(void *arg)
{
	const srv_args *a = arg;
	int lfd = corio_tcp_listen_flags("127.0.0.1", a->port, -1, CORIO_LISTEN_REUSEPORT);

	if (lfd < 0) {
		fprintf(stderr, "echo server: listen: %s\n", corio_net_strerror(lfd));
		exit(1);
	}
	for (;;) {
		int fd = corio_accept(lfd, NULL, NULL);
		corio_task *t;

		if (fd < 0)
			break;
		t = corio_spawn(a->ring ? conn_ring : conn_recv, (void *)(intptr_t)fd);
		if (t)
			corio_detach(t);
		else
			corio_close(fd);
	}
	return NULL;
}

/* __child echo PORT THREADS recv|ring: runs until killed. */
static int child(int argc, char **argv)
{
	srv_args a;

	if (argc < 3)
		return 2;
	a = (srv_args){ .port = argv[0], .ring = strcmp(argv[2], "ring") == 0 };
	return corio_run_threads((unsigned)atoi(argv[1]), serve, &a) == 0 ? 0 : 1;
}

/* ---- server processes ---------------------------------------------------------------- */

typedef struct server {
	const char *name;
	pid_t pid;
	int port;
	const char *skipped;
} server;

static int connect_port(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Starts argv (argv[0] a path) and waits until port accepts. */
static void server_start(server *s, char *const argv[])
{
	th_child c = bench_child(argv); /* registered: stopped by the runner on Ctrl-C */

	if (access(argv[0], X_OK) != 0) {
		s->skipped = "peer-echo_epoll not built";
		return;
	}
	s->pid = th_spawn(&c);
	if (s->pid < 0) {
		s->pid = 0;
		s->skipped = "fork failed";
		return;
	}
	if (!th_wait_port(s->port, &s->pid, 5, bench_child_reaped))
		s->skipped = "server did not start";
}

static void server_stop(server *s)
{
	th_stop(&s->pid, SIGTERM, bench_child_reaped);
}

/* ---- the client ------------------------------------------------------------------- */

typedef struct lconn {
	int fd;
	size_t got;
	uint64_t sent_at;
} lconn;

typedef struct load {
	int port, conns, size, threads;
	uint64_t warm_end, end;
	atomic_int failed;
	uint64_t msgs;                 /* summed by the threads under lock */
	uint32_t *hist;
	pthread_mutex_t lock;
} load;

typedef struct lthread {
	load *ld;
	int first, count;
	lconn *c;
} lthread;

static bool send_msg(lconn *c, const char *msg, int size)
{
	ssize_t w = 0;

	c->sent_at = bench_now();
	c->got = 0;
	/* A message never exceeds the socket buffer: it goes out in one write. */
	while (w < size) {
		ssize_t k = write(c->fd, msg + w, (size_t)(size - w));

		if (k < 0 && errno != EINTR && errno != EAGAIN)
			return false;
		if (k > 0)
			w += k;
	}
	return true;
}

static void *load_thread(void *p)
{
	lthread *t = p;
	load *ld = t->ld;
	char msg[MAXSIZE], buf[MAXSIZE];
	struct epoll_event evs[256];
	uint32_t *hist = calloc(HBUCKETS, sizeof *hist);
	uint64_t msgs = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	memset(msg, 'x', sizeof msg);
	if (!hist || ep < 0) {
		ld->failed = 1;
		free(hist);
		return NULL;
	}
	for (int i = 0; i < t->count; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &t->c[i] };

		epoll_ctl(ep, EPOLL_CTL_ADD, t->c[i].fd, &ev);
		if (!send_msg(&t->c[i], msg, ld->size))
			ld->failed = 1;
	}
	while (!ld->failed) {
		int n = epoll_wait(ep, evs, 256, 100);
		uint64_t now = bench_now();

		if (now >= ld->end)
			break;
		for (int i = 0; i < n; i++) {
			lconn *c = evs[i].data.ptr;
			ssize_t k = read(c->fd, buf, (size_t)ld->size - c->got);

			if (k <= 0) {
				if (k < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				ld->failed = 1;
				break;
			}
			c->got += (size_t)k;
			if (c->got < (size_t)ld->size)
				continue;
			now = bench_now();
			if (c->sent_at >= ld->warm_end && now < ld->end) {
				uint64_t us = (now - c->sent_at) / 1000;

				hist[us < HBUCKETS ? us : HBUCKETS - 1]++;
				msgs++;
			}
			if (!send_msg(c, msg, ld->size))
				ld->failed = 1;
		}
	}
	close(ep);
	pthread_mutex_lock(&ld->lock);
	ld->msgs += msgs;
	for (int i = 0; i < HBUCKETS; i++)
		ld->hist[i] += hist[i];
	pthread_mutex_unlock(&ld->lock);
	free(hist);
	return NULL;
}

/* Drives one server: messages per second and p99 (µs); false when it failed. */
static bool measure(int port, int conns, int size, int threads, uint64_t dur, double *mps,
		    double *p99)
{
	load ld = { .port = port, .conns = conns, .size = size, .threads = threads };
	lconn *c = calloc((size_t)conns, sizeof *c);
	lthread *ts = calloc((size_t)threads, sizeof *ts);
	pthread_t *tid = calloc((size_t)threads, sizeof *tid);
	uint64_t seen = 0, want;
	bool ok = c && ts && tid;
	int made = 0;

	ld.hist = calloc(HBUCKETS, sizeof *ld.hist);
	pthread_mutex_init(&ld.lock, NULL);
	ok = ok && ld.hist;
	for (; ok && made < conns; made++)
		if ((c[made].fd = connect_port(port)) < 0)
			ok = false;
	if (ok) {
		uint64_t now = bench_now();

		ld.warm_end = now + dur / 5;
		ld.end = ld.warm_end + dur;
		for (int i = 0; i < threads; i++) {
			ts[i] = (lthread){ .ld = &ld, .first = i * conns / threads,
					   .count = (i + 1) * conns / threads - i * conns / threads };
			ts[i].c = c + ts[i].first;
			pthread_create(&tid[i], NULL, load_thread, &ts[i]);
		}
		for (int i = 0; i < threads; i++)
			pthread_join(tid[i], NULL);
		ok = !ld.failed && ld.msgs > 0;
	}
	for (int i = 0; i < made; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	if (ok) {
		*mps = (double)ld.msgs / ((double)dur / 1e9);
		want = (ld.msgs * 99 + 99) / 100;
		*p99 = HBUCKETS;
		for (int i = 0; i < HBUCKETS; i++) {
			seen += ld.hist[i];
			if (seen >= want) {
				*p99 = i + 1; /* upper edge of the bucket */
				break;
			}
		}
	}
	free(ld.hist);
	free(c);
	free(ts);
	free(tid);
	pthread_mutex_destroy(&ld.lock);
	usleep(50000); /* let the server close the old connections */
	return ok;
}

/* ---- the benchmark ---------------------------------------------------------------- */

#define NSERVERS 3

static int run(const bench_opts *o)
{
	static const int sizes[] = { 64, 4096 }, conns[] = { 1, 64, 1000 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int half = ncpu > 1 ? (int)(ncpu / 2) : 1;
	uint64_t dur = o->secs > 0 ? (uint64_t)(o->secs * 1e9) /* the runner's --secs */
		       : o->quick  ? 500000000ull
				   : 2000000000ull;
	char peer[PATH_MAX + 32], ports[NSERVERS][16], threads[16];
	server sv[NSERVERS] = { { .name = "corio" }, { .name = "epoll" }, { .name = "corio-ring" } };
	struct rlimit rl;

	/* 1000 client sockets here (and as many in the servers). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!bench_peer_bin("peer-echo_epoll", peer, sizeof peer))
		snprintf(peer, sizeof peer, "peer-echo_epoll"); /* server_start: not built */
	snprintf(threads, sizeof threads, "%d", half);
	for (int i = 0; i < NSERVERS; i++) {
		sv[i].port = th_free_port();
		snprintf(ports[i], sizeof ports[i], "%d", sv[i].port);
	}
	server_start(&sv[0], (char *[]){ (char *)bench_self_exe(), "__child", "echo", ports[0],
					 threads, "recv", NULL });
	server_start(&sv[1], (char *[]){ peer, ports[1], threads, NULL });
	server_start(&sv[2], (char *[]){ (char *)bench_self_exe(), "__child", "echo", ports[2],
					 threads, "ring", NULL });
	if (sv[0].skipped) {
		bench_log("echo: corio server: %s\n", sv[0].skipped);
		for (int i = 0; i < NSERVERS; i++)
			server_stop(&sv[i]);
		return 1;
	}
	for (size_t si = 0; si < 2; si++) {
		for (size_t ci = 0; ci < 3; ci++) {
			bench_result mps, lat;
			int pm[NSERVERS], pl[NSERVERS];

			bench_result_init(&mps, "echo", "msg/s", true, "conns=%d size=%d", conns[ci],
					  sizes[si]);
			bench_result_init(&lat, "echo", "us p99", false, "conns=%d size=%d",
					  conns[ci], sizes[si]);
			if (conns[ci] >= 64)
				snprintf(mps.note, sizeof mps.note, "target: corio >= 1.0x epoll");
			for (int k = 0; k < NSERVERS; k++) {
				pm[k] = bench_result_peer_skipped(&mps, sv[k].name, sv[k].skipped);
				pl[k] = bench_result_peer_skipped(&lat, sv[k].name, sv[k].skipped);
			}
			for (int r = 0; r < o->runs; r++) {
				/* Alternate the order so that neither side always runs first. */
				for (int j = 0; j < NSERVERS; j++) {
					int k = (j + r) % NSERVERS;
					double m, p;

					if (sv[k].skipped)
						continue;
					if (!measure(sv[k].port, conns[ci], sizes[si], half, dur, &m, &p)) {
						bench_log("echo: %s failed (conns=%d size=%d)\n",
							  sv[k].name, conns[ci], sizes[si]);
						continue;
					}
					bench_log("  %s conns=%d size=%d: %.0f msg/s, p99 %.0f us\n",
						  sv[k].name, conns[ci], sizes[si], m, p);
					bench_result_add(&mps, pm[k], m);
					bench_result_add(&lat, pl[k], p);
				}
			}
			bench_result_report(&mps, o);
			bench_result_report(&lat, o);
		}
	}
	for (int i = 0; i < NSERVERS; i++)
		server_stop(&sv[i]);
	return 0;
}

const bench_def bench_echo = {
	.name = "echo",
	.desc = "TCP echo msg/s and p99 (64 B / 4 KiB, 1/64/1000 conns): corio vs epoll peer",
	.run = run,
	.child = child,
};
