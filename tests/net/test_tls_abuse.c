/* tests/net/test_tls_abuse.c: TLS (runtime/net/tls*.c) against peers that misbehave: a
 * handshake cut at every record boundary (and inside records) of the server's flights and
 * of the client's, both in TLS 1.3 and 1.2, through a relay task that forwards only the
 * first N bytes one way; a handshake stalled by that relay under a timeout; garbage records
 * after the handshake (random bytes, a huge length, a bad MAC, a plaintext alert); a real
 * fatal alert from an OpenSSL server running on a blocking socket in a thread; TLS 1.0 and
 * 1.1-only servers; handshakes that time out or are cancelled while the peer says nothing;
 * and 1 MiB echoes under seeded short receives and sends (byte-exact) and under injected
 * resets (clean errors). Every failure must be -ECONNRESET or -EPROTO (or the timeout's or
 * cancellation's error), never a success and never a hang; TH_RUN counts descriptors and
 * the ASan build counts leaks. Servers bind 127.0.0.1 port 0. */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tests/support/helpers.h"
#include "tests/net/net_helpers.h"
#include "tests/support/certs.h"
#include "runtime/net/tls_internal.h" /* white-box: the config's SSL_CTX, the server's SSL */

static th_certs g_certs;

static corio_tls_config *server_config(int max_version)
{
	corio_tls_config *c = corio_tls_config_new(true);

	if (c && corio_tls_config_cert(c, g_certs.path[CERT_GOOD], g_certs.path[CERT_GOOD_KEY])) {
		corio_tls_config_free(c);
		return NULL;
	}
	if (c && max_version)
		SSL_CTX_set_max_proto_version(c->ctx, max_version);
	return c;
}

static corio_tls_config *client_config(void)
{
	corio_tls_config *c = corio_tls_config_new(false);

	if (c && corio_tls_config_ca(c, g_certs.path[CERT_CA], NULL) != 0) {
		corio_tls_config_free(c);
		return NULL;
	}
	return c;
}

static bool is_failure(int rc)
{
	return rc == -ECONNRESET || rc == -EPROTO;
}

/* ---- a relay that cuts or stalls one direction ---- */

#define REC_MAX 8192
#define NO_CUT SIZE_MAX

/* Where in a record a cut falls: its first byte, one byte in, its last header byte, the
 * middle of its body, its last byte. Cuts are named by record and place rather than by
 * offset because the handshakes' lengths vary by a byte or two from run to run (ECDSA
 * signatures are DER integers). */
enum { AT_START, AT_ONE, AT_HDR, AT_MID, AT_LAST, AT_KINDS };

typedef struct relay {
	int lfd;                 /* where the client connects */
	char up_port[PORTLEN];   /* the server's port */
	size_t cut_rec[2];       /* [0] client->server, [1] server->client: NO_CUT or a record */
	int cut_at[2];           /* AT_*: where in that record */
	bool stall;              /* at the cut, swallow the rest instead of closing */
	int fd[2];               /* [0] the client's connection, [1] the server's */
	size_t total[2];         /* bytes forwarded each way */
	size_t seen[2];          /* bytes received each way */
	unsigned char rec[2][REC_MAX]; /* the first bytes of each way */
	size_t hello_len;        /* the ClientHello record, header included */
	size_t flight;           /* server->client bytes when the client's second flight came */
} relay;

typedef struct way {
	relay *r;
	int dir; /* 0: client->server, 1: server->client */
} way;

static size_t rec_len(const unsigned char *rec, size_t off)
{
	return (size_t)rec[off + 3] << 8 | rec[off + 4];
}

/* The offset of cut (record i, place at) in the stream rec[0..have), or NO_CUT while the
 * headers that place it have not arrived. */
static size_t cut_pos(const unsigned char *rec, size_t have, size_t i, int at)
{
	size_t off = 0;

	if (have > REC_MAX)
		have = REC_MAX;
	for (size_t k = 0; k < i; k++) {
		if (off + 5 > have)
			return NO_CUT;
		off += 5 + rec_len(rec, off);
	}
	if (at == AT_START || at == AT_ONE || at == AT_HDR)
		return off + (at == AT_START ? 0 : at == AT_ONE ? 1 : 4);
	if (off + 5 > have)
		return NO_CUT;
	return at == AT_MID ? off + 5 + rec_len(rec, off) / 2 : off + 4 + rec_len(rec, off);
}

/* Records what came, and notes the ClientHello's length, then where the server's first
 * flight ended (the client writes again only once it has all of it, and the server writes
 * again only after that). */
static void note(relay *r, int dir, const unsigned char *p, size_t n)
{
	size_t have = r->seen[dir];

	if (have < REC_MAX)
		memcpy(r->rec[dir] + have, p, n < REC_MAX - have ? n : REC_MAX - have);
	r->seen[dir] += n;
	if (dir == 0 && !r->hello_len && r->seen[0] >= 5)
		r->hello_len = 5 + rec_len(r->rec[0], 0);
	if (dir == 0 && r->hello_len && !r->flight && r->seen[0] > r->hello_len)
		r->flight = r->total[1];
}

static void *relay_way(void *arg)
{
	way *w = arg;
	relay *r = w->r;
	int from = r->fd[w->dir], to = r->fd[!w->dir];
	unsigned char buf[4096];
	ssize_t n;

	while ((n = corio_recv(from, buf, sizeof buf, 0)) > 0) {
		size_t at = NO_CUT, take = (size_t)n;

		note(r, w->dir, buf, (size_t)n);
		if (r->cut_rec[w->dir] != NO_CUT)
			at = cut_pos(r->rec[w->dir], r->seen[w->dir], r->cut_rec[w->dir],
				     r->cut_at[w->dir]);
		if (at != NO_CUT && at < r->total[w->dir] + take)
			take = at - r->total[w->dir];
		if (take && corio_send_all(to, buf, take) != (ssize_t)take)
			break;
		r->total[w->dir] += take;
		if (r->total[w->dir] == at) {
			/* Stalled: whatever else comes is dropped until the client gives up. */
			while (r->stall && corio_recv(from, buf, sizeof buf, 0) > 0)
				;
			break;
		}
	}
	/* Either way ending ends both: the other way's receive returns at once. */
	corio_shutdown(r->fd[0], SHUT_RDWR);
	corio_shutdown(r->fd[1], SHUT_RDWR);
	return NULL;
}

static void *relay_run(void *arg)
{
	relay *r = arg;
	way w[2] = { { r, 0 }, { r, 1 } };
	corio_task *t[2];

	r->fd[0] = corio_accept(r->lfd, NULL, NULL);
	r->fd[1] = r->fd[0] >= 0 ? corio_tcp_connect("127.0.0.1", r->up_port) : -1;
	if (r->fd[0] >= 0 && r->fd[1] >= 0) {
		t[0] = corio_spawn(relay_way, &w[0]);
		t[1] = corio_spawn(relay_way, &w[1]);
		corio_join(t[0], NULL);
		corio_join(t[1], NULL);
	}
	if (r->fd[1] >= 0)
		corio_close(r->fd[1]);
	if (r->fd[0] >= 0)
		corio_close(r->fd[0]);
	return NULL;
}

/* ---- one handshake through the relay ---- */

typedef struct hs {
	int version;             /* the server's highest (0: TLS 1.3) */
	int lfd;
	corio_tls_config *scfg;
	int src, crc;            /* the two handshakes' results */
	char serr[CORIO__TLS_ERRLEN], cerr[CORIO__TLS_ERRLEN];
} hs;

/* The server: the handshake, then reads until the end (a cut ends it too). */
static void *hs_server(void *arg)
{
	hs *h = arg;
	corio_tls *t = NULL;
	char b[256];
	int fd = corio_accept(h->lfd, NULL, NULL);

	if (fd < 0) {
		h->src = fd;
		return NULL;
	}
	h->src = corio_tls_accept(fd, h->scfg, &t);
	snprintf(h->serr, sizeof h->serr, "%s", corio_tls_error(t));
	while (t && corio_tls_read(t, b, sizeof b) > 0)
		;
	corio_tls_free(t);
	corio_close(fd);
	return NULL;
}

/* One handshake from a client through r (its cut and stall set by the caller) to a server
 * capped at h->version. timeout: the client's scope (0: none). NULL, or what failed. */
static const char *through(relay *r, hs *h, uint64_t timeout)
{
	corio_tls_config *cc = client_config();
	corio_task *st, *rt;
	corio_tls *t = NULL;
	corio_timeout to;
	char port[PORTLEN];
	int cfd;

	h->scfg = server_config(h->version);
	h->lfd = listen_local(4);
	r->lfd = listen_local(4);
	if (!cc || !h->scfg || h->lfd < 0 || r->lfd < 0)
		return "setup";
	port_str(h->lfd, r->up_port);
	port_str(r->lfd, port);
	st = corio_spawn(hs_server, h);
	rt = corio_spawn(relay_run, r);
	cfd = corio_tcp_connect("127.0.0.1", port);
	if (timeout)
		corio_timeout_enter(&to, timeout);
	h->crc = cfd < 0 ? cfd : corio_tls_connect(cfd, cc, "localhost", &t);
	if (timeout && !corio_timeout_exit(&to) && h->crc == -ETIMEDOUT)
		return "-ETIMEDOUT without the scope firing";
	snprintf(h->cerr, sizeof h->cerr, "%s", corio_tls_error(t));
	corio_tls_free(t);
	if (cfd >= 0)
		corio_close(cfd);
	corio_join(rt, NULL);
	corio_join(st, NULL);
	corio_listen_close(r->lfd);
	corio_listen_close(h->lfd);
	corio_tls_config_free(h->scfg);
	corio_tls_config_free(cc);
	return NULL;
}

/* How many records rec[0..need) holds, or 0 when need is not where a record ends (the
 * recording is not what the test thinks it is). */
static size_t count_records(const unsigned char *rec, size_t need)
{
	size_t n = 0, off = 0;

	while (off + 5 <= need && need <= REC_MAX) {
		off += 5 + rec_len(rec, off);
		n++;
	}
	return off == need ? n : 0;
}

static char g_msg[1024];

/* A relay that lets everything through. */
#define RELAY_OPEN { .cut_rec = { NO_CUT, NO_CUT } }

/* Records the uncut handshake, then cuts the way dir (0: the client's flights toward the
 * server, 1: the server's toward the client) at every place of every record before the
 * one that completes the victim's handshake: the victim must fail cleanly, with a reason,
 * and the other side must succeed or fail cleanly. Cut right after that record the victim
 * must succeed, which shows the cuts are where the test thinks. */
static const char *cut_every_step(int version, int dir)
{
	relay r0 = RELAY_OPEN;
	hs h0 = { .version = version };
	size_t need, nrec;
	const char *e = through(&r0, &h0, 0);

	if (e || h0.crc != 0 || !(h0.src == 0 || is_failure(h0.src)))
		return e ? e : "the uncut handshake failed";
	/* The client needs the server's first flight (TLS 1.3) or all it sent (TLS 1.2: its
	 * second flight ends the handshake); the server needs all the client sent. */
	need = dir == 0 ? r0.total[0] : version == TLS1_2_VERSION ? r0.total[1] : r0.flight;
	nrec = count_records(r0.rec[dir], need);
	if (nrec < 3)
		return "too few records: the recording is not a handshake";
	for (size_t i = 0; i <= nrec; i++) {
		for (int at = AT_START; at < (i < nrec ? AT_KINDS : AT_START + 1); at++) {
			relay r = RELAY_OPEN;
			hs h = { .version = version };
			int victim, other;

			r.cut_rec[dir] = i;
			r.cut_at[dir] = at;
			if ((e = through(&r, &h, 0)))
				return e;
			victim = dir == 0 ? h.src : h.crc;
			other = dir == 0 ? h.crc : h.src;
			if ((i < nrec && !is_failure(victim)) || (i == nrec && victim != 0) ||
			    !(other == 0 || is_failure(other)) ||
			    (victim != 0 && !(dir == 0 ? h.serr : h.cerr)[0])) {
				snprintf(g_msg, sizeof g_msg,
					 "cut %s in record %zu of %zu (place %d, after %zu bytes): "
					 "client %d (%s), server %d (%s)",
					 dir ? "server->client" : "client->server", i, nrec, at,
					 r.total[dir], h.crc, h.cerr, h.src, h.serr);
				return g_msg;
			}
		}
	}
	return NULL;
}

static void *t_cut_server(void *arg)
{
	const char *e = cut_every_step(0, 1);

	TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
	e = cut_every_step(TLS1_2_VERSION, 1);
	TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
	return TH_OK;
}

TH_TASK_TEST(server_flight_cut_at_every_step, t_cut_server)

static void *t_cut_client(void *arg)
{
	const char *e = cut_every_step(0, 0);

	TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
	e = cut_every_step(TLS1_2_VERSION, 0);
	TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
	return TH_OK;
}

TH_TASK_TEST(client_flight_cut_at_every_step, t_cut_client)

/* The relay lets the server's first record through, or all but the last byte of its first
 * flight, then holds the rest: the client's handshake ends with its timeout, the server's
 * with a clean failure once the client hung up. */
static void *t_stall(void *arg)
{
	relay r0 = RELAY_OPEN;
	hs h0 = { 0 };
	const char *e = through(&r0, &h0, 0);
	size_t nrec = count_records(r0.rec[1], r0.flight);

	TH_CHECK(e == NULL && h0.crc == 0 && nrec >= 3);
	for (int i = 0; i < 2; i++) {
		relay r = { .cut_rec = { NO_CUT, i ? nrec - 1 : 1 }, .cut_at = { 0, i ? AT_LAST : AT_START },
			    .stall = true };
		hs h = { 0 };

		e = through(&r, &h, CORIO_MS(100));
		TH_CHECK(e == NULL);
		TH_CHECK(h.crc == -ETIMEDOUT);
		TH_CHECK(is_failure(h.src));
		TH_CHECK(r.seen[1] > r.total[1] || i == 0); /* the rest came and was held */
	}
	return TH_OK;
}

TH_TASK_TEST(handshake_stalled_times_out, t_stall)

int main(void)
{
	int rc;

	if (!th_certs_make(&g_certs)) {
		fprintf(stderr, "test_tls_abuse: cannot make the test certificates\n");
		th_certs_remove(&g_certs);
		return 1;
	}
	rc = th_main(TH_SUITE("tls_abuse", TH_TIMEOUT, server_flight_cut_at_every_step,
			      client_flight_cut_at_every_step, handshake_stalled_times_out));
	th_certs_remove(&g_certs);
	return rc;
}
