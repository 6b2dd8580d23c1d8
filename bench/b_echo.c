/* bench/b_echo.c: TCP echo over loopback. corio's echo server (plain corio_recv, and the
 * multishot-recv + provided-buffer-ring path, corio_receiver) beside an edge-triggered
 * epoll server in plain C (bench/peers/c/echo_epoll.c) and the echo servers of the runtimes
 * a user would pick instead: Go (`go-echo`, a goroutine per connection on the netpoller),
 * tokio (`tokio-echo`) and Node.js (bench/peers/node/echo.js on libuv), all driven by the
 * same client in the same run: messages of 64 B and 4 KiB, 1, 64 and 1000 connections,
 * each connection sending one message and waiting for its echo before the next
 * (ping-pong). Reports messages per second and the p99 round trip. Every server takes part
 * in every configuration: with 0.5 s per measurement (the runner's default) the six
 * servers' full grid takes about two minutes.
 *
 * Servers run as separate processes on 127.0.0.1 (corio's as `corio-bench __child echo`,
 * the peers as `PROGRAM PORT THREADS`, bench/peers' contract), with half the CPUs each way:
 * server threads = client threads = max(1, ncpu / 2); Go sets GOMAXPROCS and tokio its
 * workers from THREADS (current_thread for 1), Node runs one event loop per thread. A peer
 * that is not built or does not start is reported as skipped with the reason; one whose
 * every run failed, as "every run failed". Targets (noted, not asserted): corio >= 1.0x
 * every peer's msg/s (the epoll server's from 64 connections up).
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

/* Starts argv (argv[0] a path) and waits until port accepts; missing: the reason when
 * argv[0] is not there (NULL: it is there). */
static void server_start(server *s, char *const argv[], const char *missing)
{
	th_child c = bench_child(argv); /* registered: stopped by the runner on Ctrl-C */

	if (missing || access(argv[0], X_OK) != 0) {
		s->skipped = missing ? missing : "not found";
		return;
	}
	s->pid = th_spawn(&c);
	if (s->pid < 0) {
		s->pid = 0;
		s->skipped = "fork failed";
		return;
	}
	if (!th_wait_port(s->port, &s->pid, 10, bench_child_reaped))
		s->skipped = s->pid ? "server did not start" : "server exited at start";
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

enum { CORIO, EPOLL, RING, GO, TOKIO, NODE, NSERVERS };

/* The program of compiled peer name into buf, or why it is missing. */
static const char *peer_bin(const char *name, char *buf, size_t len)
{
	static char why[4][64];
	static int next;
	char *w = why[next++ % 4];

	snprintf(w, sizeof why[0], "%s not built", name);
	if (bench_peer_bin(name, buf, len))
		return NULL;
	snprintf(buf, len, "%s", name);
	return w;
}

/* Node's echo.js into script (run by /usr/bin/node), or why it cannot run. */
static const char *node_script(char *script, size_t len)
{
	const char *dir = bench_peers_dir("node");

	if (access("/usr/bin/node", X_OK) != 0)
		return "node not installed";
	snprintf(script, len, "%s/echo.js", dir ? dir : "");
	return dir && access(script, R_OK) == 0 ? NULL : "bench/peers/node/echo.js not found";
}

/* Every server, `PROGRAM PORT THREADS` (the peers' contract; corio's through __child),
 * each on a port of its own; a peer that is missing or does not start is skipped. */
static void start_all(server *sv, int threads)
{
	char bins[4][PATH_MAX + 32], script[PATH_MAX], ports[NSERVERS][16], th[16];
	const char *why[4], *self = bench_self_exe();

	snprintf(th, sizeof th, "%d", threads);
	for (int i = 0; i < NSERVERS; i++) {
		sv[i].port = th_free_port();
		snprintf(ports[i], sizeof ports[i], "%d", sv[i].port);
	}
	why[0] = peer_bin("peer-echo_epoll", bins[0], sizeof bins[0]);
	why[1] = peer_bin("go-echo", bins[1], sizeof bins[1]);
	why[2] = peer_bin("tokio-echo", bins[2], sizeof bins[2]);
	why[3] = node_script(script, sizeof script);
	server_start(&sv[CORIO], (char *[]){ (char *)self, "__child", "echo", ports[CORIO], th,
					     "recv", NULL }, NULL);
	server_start(&sv[EPOLL], (char *[]){ bins[0], ports[EPOLL], th, NULL }, why[0]);
	server_start(&sv[RING], (char *[]){ (char *)self, "__child", "echo", ports[RING], th,
					    "ring", NULL }, NULL);
	server_start(&sv[GO], (char *[]){ bins[1], ports[GO], th, NULL }, why[1]);
	server_start(&sv[TOKIO], (char *[]){ bins[2], ports[TOKIO], th, NULL }, why[2]);
	server_start(&sv[NODE], (char *[]){ "/usr/bin/node", script, ports[NODE], th, NULL },
		     why[3]);
	for (int i = 1; i < NSERVERS; i++)
		if (sv[i].skipped)
			bench_log("echo: %s: %s\n", sv[i].name, sv[i].skipped);
}

/* "target: >= 1.0x epoll (met), go (met), ...": corio against every peer that ran (epoll
 * only with 64 connections or more, where the server's loop is what is measured). */
static void note_targets(bench_result *r, const int *pm, int conns)
{
	size_t n = (size_t)snprintf(r->note, sizeof r->note, "target: >= 1.0x");
	int k0 = conns >= 64 ? EPOLL : GO, listed = 0;

	for (int k = k0; k < NSERVERS && n < sizeof r->note; k++) {
		double ratio = k == RING ? 0 : bench_result_ratio(r, pm[k]);

		if (ratio <= 0)
			continue;
		n += (size_t)snprintf(r->note + n, sizeof r->note - n, "%s %s (%s)",
				      listed++ ? "," : "", r->peers[pm[k]].name,
				      ratio >= 1.0 ? "met" : "missed");
	}
	if (!listed)
		r->note[0] = 0;
}

/* One configuration: every server that runs, runs times each, in rotating order. */
static void one_config(server *sv, int conns, int size, int threads, uint64_t dur,
		       const bench_opts *o)
{
	bench_result mps, lat;
	int pm[NSERVERS], pl[NSERVERS];

	bench_result_init(&mps, "echo", "msg/s", true, "conns=%d size=%d", conns, size);
	bench_result_init(&lat, "echo", "us p99", false, "conns=%d size=%d", conns, size);
	for (int k = 0; k < NSERVERS; k++) {
		pm[k] = bench_result_peer_skipped(&mps, sv[k].name, sv[k].skipped);
		pl[k] = bench_result_peer_skipped(&lat, sv[k].name, sv[k].skipped);
	}
	for (int r = 0; r < o->runs; r++) {
		/* Rotate the order so that no server always runs first. */
		for (int j = 0; j < NSERVERS; j++) {
			int k = (j + r) % NSERVERS;
			double m, p;

			if (sv[k].skipped)
				continue;
			if (!measure(sv[k].port, conns, size, threads, dur, &m, &p)) {
				bench_log("echo: %s failed (conns=%d size=%d)\n", sv[k].name, conns,
					  size);
				continue;
			}
			bench_log("  %s conns=%d size=%d: %.0f msg/s, p99 %.0f us\n", sv[k].name,
				  conns, size, m, p);
			bench_result_add(&mps, pm[k], m);
			bench_result_add(&lat, pl[k], p);
		}
	}
	for (int k = 0; k < NSERVERS; k++)
		bench_result_pair_failed(&mps, pm[k], &lat, pl[k]);
	note_targets(&mps, pm, conns);
	bench_result_report(&mps, o);
	bench_result_report(&lat, o);
}

static int run(const bench_opts *o)
{
	static const int sizes[] = { 64, 4096 }, conns[] = { 1, 64, 1000 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int half = ncpu > 1 ? (int)(ncpu / 2) : 1;
	uint64_t dur = o->secs > 0 ? (uint64_t)(o->secs * 1e9) /* the runner's --secs */
		       : o->quick  ? 500000000ull
				   : 2000000000ull;
	server sv[NSERVERS] = { [CORIO] = { .name = "corio" },     [EPOLL] = { .name = "epoll" },
				[RING] = { .name = "corio-ring" }, [GO] = { .name = "go" },
				[TOKIO] = { .name = "tokio" },     [NODE] = { .name = "node" } };
	struct rlimit rl;

	/* 1000 client sockets here (and as many in the servers). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	start_all(sv, half);
	if (sv[CORIO].skipped) {
		bench_log("echo: corio server: %s\n", sv[CORIO].skipped);
		for (int i = 0; i < NSERVERS; i++)
			server_stop(&sv[i]);
		return 1;
	}
	for (size_t si = 0; si < 2; si++)
		for (size_t ci = 0; ci < 3; ci++)
			one_config(sv, conns[ci], sizes[si], half, dur, o);
	for (int i = 0; i < NSERVERS; i++)
		server_stop(&sv[i]);
	return 0;
}

const bench_def bench_echo = {
	.name = "echo",
	.desc = "TCP echo msg/s and p99 (64 B / 4 KiB, 1/64/1000 conns): corio vs epoll, Go, "
		"tokio, Node",
	.run = run,
	.child = child,
};
