/* tests/net/test_tls_many.c: 1000 TLS connections at once on one loop (runtime/net/tls*.c):
 * 1000 client tasks connect, shake hands, send a message of their own and check every byte
 * of the echo, while 1000 server tasks accept on one listener and echo; no client sends
 * before all the handshakes are over, so the 1000 connections are open at once. Needs two descriptors per connection: the soft RLIMIT_NOFILE is
 * raised to the hard one, and the program is skipped (77) when even that is too low. */
#include <sys/resource.h>

#include "tests/support/helpers.h"
#include "tests/net/net_helpers.h"
#include "tests/support/certs.h"

#define CONNS 1000
#define MSG 300
/* Both ends of every connection, the listener, the ring and what the test harness holds. */
#define FDS_NEEDED (2 * CONNS + 64)

static th_certs g_certs;

typedef struct many {
	int lfd;
	char port[PORTLEN];
	corio_tls_config *scfg, *ccfg;
	int ok_clients, ok_servers;
	int arrived;              /* clients past their handshake (or its failure) */
	corio_event all_arrived;  /* every client is: all connections are open at once */
	int first_err;            /* the first failure seen, for the message */
	char first_what[64];
} many;

static void failed(many *m, const char *what, int rc)
{
	if (m->first_err == 0) {
		m->first_err = rc ? rc : -1;
		snprintf(m->first_what, sizeof m->first_what, "%s", what);
	}
}

/* Accepts one connection, echoes one message, answers close_notify with its own. */
static void *server(void *arg)
{
	many *m = arg;
	unsigned char buf[MSG];
	corio_tls *t = NULL;
	int fd = corio_accept(m->lfd, NULL, NULL), rc;
	ssize_t n;

	if (fd < 0) {
		failed(m, "accept", fd);
		return NULL;
	}
	if ((rc = corio_tls_accept(fd, m->scfg, &t)) != 0)
		failed(m, "server handshake", rc);
	else if ((n = th_tls_read_exact(t, buf, MSG)) != MSG)
		failed(m, "server read", (int)n);
	else if ((n = corio_tls_write(t, buf, MSG)) != MSG)
		failed(m, "server write", (int)n);
	else if ((n = corio_tls_read(t, buf, 1)) != 0)
		failed(m, "server: no close_notify", (int)n);
	else if ((rc = corio_tls_shutdown(t)) != 0)
		failed(m, "server shutdown", rc);
	else
		m->ok_servers++;
	corio_tls_free(t);
	corio_close(fd);
	return NULL;
}

typedef struct cjob {
	many *m;
	unsigned id;
} cjob;

/* Sends a message made from its id and checks the echo byte for byte. */
static void *client(void *arg)
{
	cjob *c = arg;
	many *m = c->m;
	unsigned char out[MSG], in[MSG];
	corio_tls *t = NULL;
	int fd = corio_tcp_connect("127.0.0.1", m->port), rc;
	ssize_t n;

	fill(out, MSG, c->id + 1);
	if (fd < 0) {
		failed(m, "connect", fd);
		return NULL;
	}
	rc = corio_tls_connect(fd, m->ccfg, "localhost", &t);
	/* Nobody sends before every handshake is over, so all the connections are up at
	 * the same time; a failed one counts too, or the others would wait forever. */
	if (++m->arrived == CONNS)
		corio_event_set(&m->all_arrived);
	else
		corio_event_wait(&m->all_arrived);
	if (rc != 0)
		failed(m, "client handshake", rc);
	else if ((n = corio_tls_write(t, out, MSG)) != MSG)
		failed(m, "client write", (int)n);
	else if ((n = th_tls_read_exact(t, in, MSG)) != MSG)
		failed(m, "client read", (int)n);
	else if (memcmp(in, out, MSG) != 0)
		failed(m, "echoed bytes differ", 0);
	else if ((rc = corio_tls_shutdown(t)) != 0)
		failed(m, "client shutdown", rc);
	else if ((n = corio_tls_read(t, in, 1)) != 0)
		failed(m, "client: no close_notify", (int)n);
	else
		m->ok_clients++;
	corio_tls_free(t);
	corio_close(fd);
	return NULL;
}

static void *t_many(void *arg)
{
	static many m;
	static cjob jobs[CONNS];
	static corio_task *tasks[2 * CONNS];

	memset(&m, 0, sizeof m);
	corio_event_init(&m.all_arrived);
	m.scfg = th_tls_server(&g_certs, CERT_GOOD);
	m.ccfg = th_tls_client(&g_certs, CERT_CA);
	TH_CHECK(m.scfg && m.ccfg);
	TH_CHECK((m.lfd = listen_local(CONNS)) >= 0);
	port_str(m.lfd, m.port);
	for (unsigned i = 0; i < CONNS; i++) {
		jobs[i] = (cjob){ &m, i };
		TH_CHECK((tasks[i] = corio_spawn(server, &m)) != NULL);
		TH_CHECK((tasks[CONNS + i] = corio_spawn(client, &jobs[i])) != NULL);
	}
	for (unsigned i = 0; i < 2 * CONNS; i++)
		corio_join(tasks[i], NULL);
	corio_listen_close(m.lfd);
	corio_tls_config_free(m.scfg);
	corio_tls_config_free(m.ccfg);
	if (m.first_err)
		fprintf(stderr, "first failure: %s: %d (%s)\n", m.first_what, m.first_err,
			strerror(m.first_err < 0 ? -m.first_err : 0));
	TH_CHECK(m.ok_clients == CONNS);
	TH_CHECK(m.ok_servers == CONNS);
	return TH_OK;
}

TH_TASK_TEST(thousand_connections_one_loop, t_many)

/* Raises the soft descriptor limit to the hard one; whether that is enough. */
static bool enough_fds(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return false;
	if (rl.rlim_cur < FDS_NEEDED && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			return false;
	}
	return rl.rlim_cur >= FDS_NEEDED;
}

int main(void)
{
	int rc;

	if (!enough_fds()) {
		fprintf(stderr, "test_tls_many: RLIMIT_NOFILE below %d even raised: skipping\n",
			FDS_NEEDED);
		return TH_SKIP;
	}
	if (!th_certs_make(&g_certs)) {
		fprintf(stderr, "test_tls_many: cannot make the test certificates\n");
		th_certs_remove(&g_certs);
		return 1;
	}
	rc = th_main(TH_SUITE("tls_many", TH_TIMEOUT, thousand_connections_one_loop));
	th_certs_remove(&g_certs);
	return rc;
}
