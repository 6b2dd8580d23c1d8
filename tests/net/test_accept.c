/* tests/net/test_accept.c: the multishot accept (runtime/net/accept.c): queued connections,
 * several acceptors, timeouts, listen_close; SO_REUSEPORT with one loop per thread; EMFILE on
 * accept and the recovery; the bound on accepted connections nobody takes; 10 000 connections
 * at once. Every loop run checks that no descriptor leaked (TH_RUN). Servers bind 127.0.0.1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "tests/support/helpers.h"
#include "tests/net/net_helpers.h"

/* ---- multishot accept ---- */

static void *accept_once(void *arg)
{
	return (void *)(intptr_t)corio_accept((int)(intptr_t)arg, NULL, NULL);
}

static void *t_accept_queue(void *arg)
{
	int lfd = listen_local(64), c[6], s[6];
	char port[PORTLEN];
	corio_task *acc[3];
	void *r;

	TH_CHECK(lfd >= 0);
	port_str(lfd, port);
	/* Three acceptors parked at once, then six connections: three go straight to the
	 * waiters, three wait in the listener's queue for the next calls. */
	for (int i = 0; i < 3; i++)
		acc[i] = corio_spawn(accept_once, (void *)(intptr_t)lfd);
	corio_yield();
	for (int i = 0; i < 6; i++) {
		c[i] = corio_tcp_connect("127.0.0.1", port);
		TH_CHECK(c[i] >= 0);
	}
	for (int i = 0; i < 3; i++) {
		corio_join(acc[i], &r);
		s[i] = (int)(intptr_t)r;
		TH_CHECK(s[i] >= 0);
	}
	corio_sleep(CORIO_MS(20));
	for (int i = 3; i < 6; i++) {
		s[i] = corio_accept(lfd, NULL, NULL);
		TH_CHECK(s[i] >= 0);
	}
	/* Each server end talks to its own client: the server end whose peer address is the
	 * client's own gets its byte (found by address, not by polling with no timeout right
	 * after the send, which misses a byte still on its way under load). */
	for (int i = 0, used = 0; i < 6; i++) {
		struct sockaddr_in me, peer;
		socklen_t len = sizeof me;
		char b = (char)('a' + i), got = 0;
		int j;

		TH_CHECK(getsockname(c[i], (struct sockaddr *)&me, &len) == 0);
		for (j = 0; j < 6; j++) {
			len = sizeof peer;
			TH_CHECK(getpeername(s[j], (struct sockaddr *)&peer, &len) == 0);
			if (peer.sin_port == me.sin_port && peer.sin_addr.s_addr == me.sin_addr.s_addr)
				break;
		}
		TH_CHECK(j < 6 && !(used & (1 << j)));
		used |= 1 << j;
		TH_CHECK(corio_send_all(c[i], &b, 1) == 1);
		TH_CHECK(corio_recv(s[j], &got, 1, 0) == 1);
		TH_CHECK(got == b);
	}
	for (int i = 0; i < 6; i++) {
		corio_close(c[i]);
		corio_close(s[i]);
	}
	/* A timed-out accept leaves the listener usable. */
	corio_timeout t;
	corio_timeout_enter(&t, CORIO_MS(30));
	TH_CHECK(corio_accept(lfd, NULL, NULL) == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&t));
	corio_listen_close(lfd);
	return TH_OK;
}

/* The inode of a socket (0 if fd is none). */
static unsigned long socket_inode(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? (unsigned long)st.st_ino : 0;
}

/* True when a TCP socket of that inode is in /proc/net/tcp: it exists in the kernel,
 * whatever holds it (a descriptor or a request in flight). */
static bool socket_listed(unsigned long ino)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long i;

		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %lu", &i) == 1 && i == ino)
			found = true;
	}
	fclose(f);
	return found;
}

/* A queued connection, then listen_close with one acceptor parked. */
static void *t_accept_close(void *arg)
{
	int lfd = listen_local(64), c;
	unsigned long ino;
	char port[PORTLEN];
	corio_task *acc[2];
	void *r;

	TH_CHECK(lfd >= 0);
	port_str(lfd, port);
	TH_CHECK((ino = socket_inode(lfd)) != 0);
	TH_CHECK(socket_listed(ino));
	/* Arm the listener, let a connection be queued with nobody waiting. */
	corio_timeout t;
	corio_timeout_enter(&t, CORIO_MS(20));
	TH_CHECK(corio_accept(lfd, NULL, NULL) == -ETIMEDOUT);
	corio_timeout_exit(&t);
	c = corio_tcp_connect("127.0.0.1", port);
	TH_CHECK(c >= 0);
	corio_sleep(CORIO_MS(20));
	acc[0] = corio_spawn(accept_once, (void *)(intptr_t)lfd);
	acc[1] = corio_spawn(accept_once, (void *)(intptr_t)lfd);
	corio_yield();
	corio_yield();
	/* One of them took the queued connection, the other is parked. */
	TH_CHECK(corio_listen_close(lfd) == 0);
	int got = 0, ebadf = 0;
	for (int i = 0; i < 2; i++) {
		corio_join(acc[i], &r);
		if ((intptr_t)r >= 0) {
			got++;
			corio_close((int)(intptr_t)r);
		} else {
			ebadf += (intptr_t)r == -EBADF;
		}
	}
	TH_CHECK(got == 1 && ebadf == 1);
	corio_close(c);
	/* Nothing holds the listening socket (no request left in the ring keeps it alive):
	 * the kernel lists no socket of its inode. Not a connect to the released port, which
	 * any other process may have taken meanwhile. */
	TH_CHECK(!socket_listed(ino));
	return TH_OK;
}

static void *t_accept_all(void *arg)
{
	const char *e = t_accept_queue(arg);

	if (e)
		return (void *)e;
	return t_accept_close(arg);
}

/* Every accept fails with a transient error: the caller's deadline ends the wait, and
 * the listener backs off instead of spinning. */
static void *t_accept_failing(void *arg)
{
	int lfd = listen_local(4), cfd;
	char port[PORTLEN];
	corio_statistics st0, st1;
	corio_timeout t;

	TH_CHECK(lfd >= 0);
	port_str(lfd, port);
	cfd = corio_tcp_connect("127.0.0.1", port);
	TH_CHECK(cfd >= 0);
	corio_stats(&st0);
	corio_timeout_enter(&t, CORIO_MS(200));
	TH_CHECK(corio_accept(lfd, NULL, NULL) == -ETIMEDOUT);
	corio_timeout_exit(&t);
	corio_stats(&st1);
	TH_CHECK(st1.faults_injected - st0.faults_injected < 100);
	corio_close(cfd);
	corio_listen_close(lfd);
	return TH_OK;
}

START_TEST(accept_multishot_queue)
{
	corio_config cfg = th_config();

	TH_RUN_EXPECT_OK(NULL, t_accept_all, NULL);
	/* Injected transient failures end the multishot request: it is re-armed, no
	 * connection is lost, the callers never see the error. */
	cfg.faults = "9:ECONNABORTED@0.5/accept";
	TH_RUN_EXPECT_OK(&cfg, t_accept_all, NULL);
	cfg.faults = "4:EAGAIN@1.0/accept";
	TH_RUN_EXPECT_OK(&cfg, t_accept_failing, NULL);
}
END_TEST

/* ---- SO_REUSEPORT, one loop per thread ---- */

typedef struct rp_shared {
	atomic_int port;
	atomic_int stop;
	atomic_int served[2];
	atomic_int ready;
} rp_shared;

static void *rp_loop(void *arg)
{
	rp_shared *sh = arg;
	unsigned me = corio_thread_index();
	char port[PORTLEN] = "0";
	int lfd;

	if (me == 1) {
		while (atomic_load(&sh->port) == 0)
			corio_sleep(CORIO_MS(1));
		snprintf(port, sizeof port, "%d", atomic_load(&sh->port));
	}
	lfd = corio_tcp_listen_flags("127.0.0.1", port, 64, CORIO_LISTEN_REUSEPORT);
	if (lfd < 0)
		return (void *)"listen";
	if (me == 0)
		atomic_store(&sh->port, corio_sock_port(lfd));
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load(&sh->stop)) {
		corio_timeout t;
		int fd;

		corio_timeout_enter(&t, CORIO_MS(20));
		fd = corio_accept(lfd, NULL, NULL);
		corio_timeout_exit(&t);
		if (fd >= 0) {
			atomic_fetch_add(&sh->served[me], 1);
			corio_detach(corio_spawn(echo_conn, (void *)(intptr_t)fd));
		}
	}
	corio_sleep(CORIO_MS(20));
	corio_listen_close(lfd);
	return NULL;
}

static void *rp_client_thread(void *arg)
{
	rp_shared *sh = arg;

	while (atomic_load(&sh->ready) < 2)
		usleep(1000);
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons((uint16_t)atomic_load(&sh->port)),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		char b = (char)i, got = 0;

		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
		    write(fd, &b, 1) != 1 || read(fd, &got, 1) != 1 || got != b) {
			atomic_store(&sh->stop, 1);
			return (void *)"client";
		}
		close(fd);
	}
	atomic_store(&sh->stop, 1);
	return NULL;
}

START_TEST(reuseport_one_loop_per_thread)
{
	static rp_shared sh;
	pthread_t cl;
	void *r;
	int fds = th_count_fds();

	ck_assert_int_eq(pthread_create(&cl, NULL, rp_client_thread, &sh), 0);
	ck_assert_int_eq(corio_run_threads(2, rp_loop, &sh), 0);
	pthread_join(cl, &r);
	ck_assert_msg(r == NULL, "%s", (char *)r);
	ck_assert_int_eq(atomic_load(&sh.served[0]) + atomic_load(&sh.served[1]), 64);
	ck_assert_int_eq(th_count_fds(), fds);
}
END_TEST

/* ---- EMFILE on accept ---- */

typedef struct emfile_srv {
	int lfd;
	int accepted;
	bool stop;
} emfile_srv;

static void *emfile_server(void *p)
{
	emfile_srv *s = p;

	for (;;) {
		int fd = corio_accept(s->lfd, NULL, NULL);

		if (fd < 0)
			return (void *)(intptr_t)fd;
		s->accepted++;
		corio_detach(corio_spawn(echo_conn, (void *)(intptr_t)fd));
	}
}

static int highest_fd(void)
{
	int hi = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			hi = fd;
	return hi;
}

static bool echoes(int fd, char b)
{
	char got = 0;
	corio_timeout t;
	bool ok;

	corio_timeout_enter(&t, CORIO_SEC(5));
	ok = corio_send_all(fd, &b, 1) == 1 && corio_recv_exact(fd, &got, 1) == 1 && got == b;
	corio_timeout_exit(&t);
	return ok;
}

typedef struct emfile_ctx {
	emfile_srv s;
	int c[8];
	int fill_fds[1024];
	int nfill;
	struct rlimit old;
} emfile_ctx;

static void *emfile_body(emfile_ctx *x)
{
	emfile_srv *s = &x->s;
	char port[PORTLEN];
	struct rlimit rl;
	corio_statistics st0, st1;
	uint64_t t0, slices;

	port_str(s->lfd, port);
	for (int i = 0; i < 8; i++) {
		x->c[i] = corio_tcp_connect("127.0.0.1", port);
		TH_CHECK(x->c[i] >= 0);
	}
	/* Room for exactly 3 more descriptors: 3 accepts work, the 4th gets EMFILE. The
	 * limit leaves 3 numbers above the highest open descriptor, and every free number
	 * below it is filled with a placeholder; the last 3 placeholders are then closed.
	 * (The limit must not be highest + 1: without gaps below it, as on a process that
	 * inherited no stray descriptors, nothing would be left to free.) */
	rl = x->old;
	rl.rlim_cur = (rlim_t)highest_fd() + 4;
	TH_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	while (x->nfill < 1024 &&
	       (x->fill_fds[x->nfill] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		x->nfill++;
	TH_CHECK(errno == EMFILE);
	TH_CHECK(x->nfill >= 3);
	for (int i = 0; i < 3; i++)
		close(x->fill_fds[--x->nfill]);
	corio_detach(corio_spawn(emfile_server, s));
	/* Waits for the three accepts, however long a loaded machine takes (no fixed delay,
	 * no give-up bound: a server that never accepts ends in the tcase's timeout). */
	while (s->accepted < 3)
		corio_sleep(CORIO_MS(10));
	TH_CHECK(s->accepted == 3);
	/* Starved: the accept is retried every 10 ms, never spun. The allowance scales with
	 * the time that really passed (a 200 ms sleep can last much longer under load, and
	 * the retries go on meanwhile): at most 200 SQEs per 200 ms, where a spin makes
	 * thousands. */
	corio_stats(&st0);
	t0 = corio_now();
	corio_sleep(CORIO_MS(200));
	corio_stats(&st1);
	slices = (corio_now() - t0) / CORIO_MS(200) + 1;
	TH_CHECK(st1.sqes_submitted - st0.sqes_submitted < 200 * slices);
	TH_CHECK(s->accepted == 3);
	/* Existing connections keep working. */
	for (int i = 0; i < 3; i++)
		TH_CHECK(echoes(x->c[i], (char)('A' + i)));
	/* Freeing descriptors lets accepting resume: three clients go, their server ends see
	 * EOF and close too, which leaves six slots for the five waiting connections. */
	for (int i = 0; i < 3; i++) {
		corio_close(x->c[i]);
		x->c[i] = -1;
	}
	for (int i = 3; i < 8; i++)
		TH_CHECK(echoes(x->c[i], (char)('a' + i)));
	TH_CHECK(s->accepted == 8);
	return TH_OK;
}

static void *t_emfile(void *arg)
{
	emfile_ctx *x = calloc(1, sizeof *x);
	void *r;

	TH_CHECK(x);
	x->s.lfd = listen_local(64);
	TH_CHECK(x->s.lfd >= 0);
	for (int i = 0; i < 8; i++)
		x->c[i] = -1;
	TH_CHECK(getrlimit(RLIMIT_NOFILE, &x->old) == 0);
	r = emfile_body(x);
	/* Whatever happened: free everything, stop the server, let the handlers end. */
	while (x->nfill > 0)
		close(x->fill_fds[--x->nfill]);
	setrlimit(RLIMIT_NOFILE, &x->old);
	for (int i = 0; i < 8; i++)
		if (x->c[i] >= 0)
			corio_close(x->c[i]);
	corio_listen_close(x->s.lfd);
	corio_sleep(CORIO_MS(50));
	free(x);
	return r;
}

TH_TASK_TEST(accept_emfile_recovers, t_emfile)

/* ---- accepted connections nobody takes are bounded ---- */

#define FLOOD 400

typedef struct flood {
	int lfd;
	int cfd[FLOOD];
	int sfd[FLOOD];
	int nc, ns;
} flood;

static int flood_connect(flood *f, const struct sockaddr_in *a, int upto)
{
	while (f->nc < upto) {
		if ((f->cfd[f->nc] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return -1;
		if (connect(f->cfd[f->nc++], (const struct sockaddr *)a, sizeof *a) != 0)
			return -1;
	}
	return 0;
}

static void *flood_body(flood *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int base = th_count_fds(), queued1, queued2;

	a.sin_port = htons((uint16_t)corio_sock_port(f->lfd));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* One accept arms the multishot request, then nobody accepts for a while. */
	TH_CHECK(flood_connect(f, &a, 1) == 0);
	TH_CHECK((f->sfd[f->ns++] = corio_accept(f->lfd, NULL, NULL)) >= 0);
	/* 299 arrive at once: the kernel hands out at least up to the bound (this one, all
	 * of them in one pass). */
	TH_CHECK(flood_connect(f, &a, 300) == 0);
	corio_sleep(CORIO_MS(100));
	queued1 = th_count_fds() - base - f->nc - f->ns;
	TH_CHECK(queued1 >= 256 && queued1 <= 299);
	/* Past the bound the request is cancelled: later arrivals wait in the backlog. */
	TH_CHECK(flood_connect(f, &a, FLOOD) == 0);
	corio_sleep(CORIO_MS(100));
	queued2 = th_count_fds() - base - f->nc - f->ns;
	TH_CHECK(queued2 == queued1);
	/* Every connection is still there to be accepted, the rest from the backlog. */
	while (f->ns < FLOOD) {
		corio_timeout t;

		corio_timeout_enter(&t, CORIO_SEC(5));
		f->sfd[f->ns] = corio_accept(f->lfd, NULL, NULL);
		corio_timeout_exit(&t);
		TH_CHECK(f->sfd[f->ns] >= 0);
		f->ns++;
	}
	return TH_OK;
}

static void *t_flood(void *arg)
{
	flood *f = calloc(1, sizeof *f);
	void *r;

	TH_CHECK(f);
	TH_CHECK((f->lfd = listen_local(1024)) >= 0);
	r = flood_body(f);
	for (int i = 0; i < f->nc; i++)
		close(f->cfd[i]);
	for (int i = 0; i < f->ns; i++)
		corio_close(f->sfd[i]);
	corio_listen_close(f->lfd);
	free(f);
	return r;
}

TH_TASK_TEST(accept_queue_bounded, t_flood)

/* ---- 10 000 connections ---- */

#define MANY 10000

typedef struct many {
	int lfd;
	int accepted, done;
} many;

static void *many_conn(void *p)
{
	int fd = (int)(intptr_t)p;
	char b;

	/* One byte in, one byte out, then hold the connection until the client closes. */
	if (corio_recv_exact(fd, &b, 1) == 1 && corio_send_all(fd, &b, 1) == 1)
		corio_recv(fd, &b, 1, 0);
	corio_close(fd);
	return NULL;
}

static void *many_server(void *p)
{
	many *m = p;
	corio_task **ts = calloc(MANY, sizeof *ts);

	if (!ts)
		return (void *)"oom";
	while (m->accepted < MANY) {
		int fd = corio_accept(m->lfd, NULL, NULL);

		if (fd < 0)
			break;
		ts[m->accepted++] = corio_spawn(many_conn, (void *)(intptr_t)fd);
	}
	for (int i = 0; i < m->accepted; i++)
		corio_join(ts[i], NULL);
	free(ts);
	return NULL;
}

/* The client side, in a child process (each side needs its own 10 000 descriptors):
 * blocking sockets, plain syscalls. */
static int many_client(int port)
{
	static int fds[MANY];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char b;

	for (int i = 0; i < MANY; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof a) != 0)
			return 1;
	}
	for (int i = 0; i < MANY; i++) {
		b = (char)i;
		if (write(fds[i], &b, 1) != 1)
			return 2;
	}
	for (int i = 0; i < MANY; i++)
		if (read(fds[i], &b, 1) != 1 || b != (char)i)
			return 3;
	for (int i = 0; i < MANY; i++)
		close(fds[i]);
	return 0;
}

static void *t_many(void *arg)
{
	many m = { .lfd = corio_tcp_listen("127.0.0.1", "0", 4096) };
	corio_task *srv;
	pid_t pid;
	int st;

	TH_CHECK(m.lfd >= 0);
	srv = corio_spawn(many_server, &m);
	pid = fork();
	if (pid == 0)
		_exit(many_client(corio_sock_port(m.lfd)));
	TH_CHECK(pid > 0);
	corio_join(srv, NULL);
	TH_CHECK(m.accepted == MANY);
	/* waitpid blocks the loop, but the server is done by now. */
	TH_CHECK(waitpid(pid, &st, 0) == pid);
	TH_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	corio_listen_close(m.lfd);
	return TH_OK;
}

START_TEST(ten_thousand_connections)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < MANY + 200) {
		fprintf(stderr, "RLIMIT_NOFILE hard limit %lu < %d: skipping\n",
			(unsigned long)rl.rlim_max, MANY + 200);
		exit(TH_SKIP);
	}
	rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	TH_RUN_EXPECT_OK(NULL, t_many, NULL);
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("accept", TH_TIMEOUT, accept_multishot_queue, reuseport_one_loop_per_thread, accept_emfile_recovers, accept_queue_bounded, ten_thousand_connections));
}
