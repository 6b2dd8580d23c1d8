/* bench/b_udp.c: UDP request/response over loopback: round trips per second of 64-byte
 * datagrams, ping-pong (each flow sends one and waits for its echo before the next), with
 * 1 and 32 flows at once. The echo servers: corio's with a corio_udp_receiver (multishot
 * recvmsg, "corio") and with plain corio_recvfrom ("corio-recvfrom"), each in a fresh
 * process (`corio-bench __child udp PORT ring|recvfrom K`), beside an edge-triggered epoll
 * server in plain C (bench/peers/c/udp_epoll.c, `peer-udp_epoll PORT`), all driven by the
 * same single-threaded epoll client in the same run, in rotating order.
 *
 * Two states, as every micro-benchmark (bench/inflight.h): corio's server loop idle, and
 * with 1000 receives and a timer in flight (bench_inflight_run in the child); the epoll
 * server has no such state and is measured again beside each. Each server is one thread on
 * one socket. The ratios against epoll are in the report's lines; the in-flight rows also
 * say what the in-flight state costs corio against idle. Lost datagrams (none expected on
 * loopback) are sent again after 20 ms of silence and counted in the log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corio/corio.h>

#include "bench/bench.h"
#include "bench/inflight.h"
#include "tests/support/net.h"

#define SIZE 64
#define MAX_FLOWS 32

/* ---- the corio server (child process) -------------------------------------------- */

typedef struct srv_args {
	const char *port;
	bool ring;
} srv_args;

static void serve_ring(int fd)
{
	corio_udp_receiver *r = corio_udp_receiver_new(fd, 0);
	char buf[2048];

	if (!r)
		return;
	for (;;) {
		struct sockaddr_storage src;
		socklen_t len = sizeof src;
		ssize_t n = corio_udp_receiver_recv(r, buf, sizeof buf, (struct sockaddr *)&src, &len);

		if (n >= 0)
			corio_sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&src, len);
		else if (n != -EMSGSIZE)
			break;
	}
	corio_udp_receiver_free(r);
}

static void serve_recvfrom(int fd)
{
	char buf[2048];

	for (;;) {
		struct sockaddr_storage src;
		socklen_t len = sizeof src;
		ssize_t n = corio_recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&src, &len);

		if (n < 0)
			break;
		corio_sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&src, len);
	}
}

static void *serve(void *arg)
{
	const srv_args *a = arg;
	int fd = corio_udp_bind("127.0.0.1", a->port);

	if (fd < 0) {
		fprintf(stderr, "udp server: bind: %s\n", corio_net_strerror(fd));
		exit(1);
	}
	if (a->ring)
		serve_ring(fd);
	else
		serve_recvfrom(fd);
	corio_close(fd);
	return NULL;
}

/* __child udp PORT ring|recvfrom K: runs until killed, with K receives in flight. */
static int child(int argc, char **argv)
{
	srv_args a;

	if (argc < 3)
		return 2;
	a = (srv_args){ .port = argv[0], .ring = strcmp(argv[1], "ring") == 0 };
	return bench_inflight_run((unsigned)atoi(argv[2]), serve, &a) == 0 ? 0 : 1;
}

/* ---- the client ------------------------------------------------------------------- */

static int flow_socket(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Echoes read on flow fd: each answered datagram counts (after warm) and sends the next. */
static uint64_t flow_drain(int fd, const char *msg, bool count)
{
	char buf[SIZE];
	uint64_t done = 0;

	while (recv(fd, buf, sizeof buf, 0) > 0) {
		done += count;
		(void)send(fd, msg, SIZE, 0);
	}
	return done;
}

typedef struct run_stats {
	uint64_t trips, resent;
} run_stats;

/* Ping-pong on flows sockets until end; trips counted from warm_end on. */
static void drive(const int *fds, int flows, int ep, uint64_t warm_end, uint64_t end,
		  run_stats *st)
{
	char msg[SIZE];
	struct epoll_event evs[MAX_FLOWS];

	memset(msg, 'u', sizeof msg);
	for (int i = 0; i < flows; i++)
		(void)send(fds[i], msg, SIZE, 0);
	for (uint64_t now = bench_now(); now < end; now = bench_now()) {
		int n = epoll_wait(ep, evs, MAX_FLOWS, 20);

		if (n == 0) { /* 20 ms of silence: something was lost, every flow sends again */
			for (int i = 0; i < flows; i++)
				(void)send(fds[i], msg, SIZE, 0);
			st->resent++;
		}
		for (int i = 0; i < n; i++)
			st->trips += flow_drain(fds[evs[i].data.u32], msg, bench_now() >= warm_end);
	}
}

/* Round trips per second against the server on port; false when it failed. */
static bool measure(int port, int flows, uint64_t dur, double *rts, uint64_t *resent)
{
	int fds[MAX_FLOWS], ep = epoll_create1(EPOLL_CLOEXEC), made = 0;
	run_stats st = { 0 };
	bool ok = ep >= 0;
	uint64_t t0;

	for (; ok && made < flows; made++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)made };

		fds[made] = flow_socket(port);
		ok = fds[made] >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fds[made], &ev) == 0;
	}
	if (ok) {
		t0 = bench_now();
		drive(fds, flows, ep, t0 + dur / 5, t0 + dur / 5 + dur, &st);
		*rts = (double)st.trips / ((double)dur / 1e9);
		*resent = st.resent;
		ok = st.trips > 0;
	}
	for (int i = 0; i < made; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (ep >= 0)
		close(ep);
	return ok;
}

/* ---- server processes ---------------------------------------------------------------- */

enum { RING, RECVFROM, EPOLL, RING_K, RECVFROM_K, NSERVERS };

typedef struct server {
	const char *name;
	pid_t pid;
	int port;
	const char *skipped;
} server;

/* Until a probe datagram comes back from port (10 s at most, or until the child exits). */
static bool wait_udp(server *s)
{
	int fd = flow_socket(s->port);
	char buf[8];
	bool up = false;

	for (int i = 0; fd >= 0 && i < 200 && !up; i++) {
		int status;

		(void)send(fd, "probe", 5, 0);
		usleep(50000);
		up = recv(fd, buf, sizeof buf, 0) == 5;
		if (!up && waitpid(s->pid, &status, WNOHANG) == s->pid) {
			bench_child_reaped(s->pid);
			s->pid = 0;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return up;
}

static void server_start(server *s, char *const argv[], const char *missing)
{
	th_child c = bench_child(argv); /* registered: stopped by the runner on Ctrl-C */

	if (missing) {
		s->skipped = missing;
		return;
	}
	s->pid = th_spawn(&c);
	if (s->pid < 0) {
		s->pid = 0;
		s->skipped = "fork failed";
	} else if (!wait_udp(s)) {
		s->skipped = s->pid ? "server did not answer" : "server exited at start";
	}
}

static void start_all(server *sv)
{
	char bin[PATH_MAX + 32], ports[NSERVERS][16], k[16];
	const char *self = bench_self_exe(), *why = NULL;

	snprintf(k, sizeof k, "%u", BENCH_INFLIGHT_K);
	for (int i = 0; i < NSERVERS; i++) {
		sv[i].port = th_free_port(); /* a free TCP port number: likely free for UDP too */
		snprintf(ports[i], sizeof ports[i], "%d", sv[i].port);
	}
	if (!bench_peer_bin("peer-udp_epoll", bin, sizeof bin))
		why = "peer-udp_epoll not built";
	for (int i = 0; i < NSERVERS; i++) {
		bool ring = i == RING || i == RING_K, kk = i == RING_K || i == RECVFROM_K;

		if (i == EPOLL)
			server_start(&sv[i], (char *[]){ bin, ports[i], NULL }, why);
		else
			server_start(&sv[i], (char *[]){ (char *)self, "__child", "udp", ports[i],
							 ring ? "ring" : "recvfrom", kk ? k : "0",
							 NULL }, NULL);
		if (sv[i].skipped)
			bench_log("udp: %s: %s\n", sv[i].name, sv[i].skipped);
	}
}

/* ---- the benchmark ---------------------------------------------------------------- */

/* One configuration: the three columns of a state, runs times each, rotating. */
static void one_config(server *sv, int state, int flows, uint64_t dur, const bench_opts *o,
		       bench_result *r)
{
	const int cols[3] = { state == BENCH_IDLE ? RING : RING_K,
			      state == BENCH_IDLE ? RECVFROM : RECVFROM_K, EPOLL };
	int pc[3];

	bench_result_init(r, "udp", "rt/s", true, "flows=%d size=%d %s", flows, SIZE,
			  bench_state_name[state]);
	for (int c = 0; c < 3; c++)
		pc[c] = bench_result_peer_skipped(r, c == 0 ? "corio" : sv[cols[c]].name,
						  sv[cols[c]].skipped);
	for (int run = 0; run < o->runs; run++) {
		for (int j = 0; j < 3; j++) {
			int c = (j + run) % 3;
			server *s = &sv[cols[c]];
			double rts;
			uint64_t resent;

			if (s->skipped)
				continue;
			if (!measure(s->port, flows, dur, &rts, &resent)) {
				bench_log("udp: %s failed (flows=%d)\n", s->name, flows);
				continue;
			}
			bench_log("  %s flows=%d %s: %.0f rt/s%s\n", s->name, flows,
				  bench_state_name[state], rts, resent ? " (resent after loss)" : "");
			bench_result_add(r, pc[c], rts);
		}
	}
}

static int run(const bench_opts *o)
{
	static const int flows[] = { 1, MAX_FLOWS };
	uint64_t dur = o->secs > 0 ? (uint64_t)(o->secs * 1e9) : o->quick ? 250000000ull
									 : 1000000000ull;
	server sv[NSERVERS] = { [RING] = { .name = "corio" },
				[RECVFROM] = { .name = "corio-recvfrom" },
				[EPOLL] = { .name = "epoll" },
				[RING_K] = { .name = "corio (in flight)" },
				[RECVFROM_K] = { .name = "corio-recvfrom" } };

	start_all(sv);
	for (size_t f = 0; f < 2 && !sv[RING].skipped; f++) {
		bench_result idle, busy;

		one_config(sv, BENCH_IDLE, flows[f], dur, o, &idle);
		bench_result_report(&idle, o);
		one_config(sv, BENCH_INFLIGHT, flows[f], dur, o, &busy);
		bench_inflight_note(&busy, &idle, false);
		bench_result_report(&busy, o);
	}
	for (int i = 0; i < NSERVERS; i++)
		th_stop(&sv[i].pid, SIGTERM, bench_child_reaped);
	return sv[RING].skipped ? 1 : 0;
}

const bench_def bench_udp = {
	.name = "udp",
	.desc = "UDP 64 B request/response rt/s (1/32 flows, idle and 1000 recvs in flight): "
		"corio receiver and recvfrom vs epoll",
	.run = run,
	.child = child,
};
