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
	corio_tls_config *c = th_tls_server(&g_certs, CERT_GOOD);

	if (c && max_version)
		SSL_CTX_set_max_proto_version(c->ctx, max_version);
	return c;
}

static corio_tls_config *client_config(void)
{
	return th_tls_client(&g_certs, CERT_CA);
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

/* ---- garbage after the handshake ---- */

typedef struct junk {
	int lfd, version;
	const unsigned char *bytes;
	size_t len;
	int rc;
} junk;

/* Completes the handshake, sends "hello" as a record, then the junk as it is, then its
 * FIN (so a record the junk only begins ends in an EOF, not a wait), and waits for the
 * client to hang up. */
static void *junk_server(void *arg)
{
	junk *j = arg;
	corio_tls_config *cfg = server_config(j->version);
	corio_tls *t = NULL;
	char b[256];
	int fd = corio_accept(j->lfd, NULL, NULL);

	if (fd < 0 || !cfg) {
		j->rc = -ENOMEM;
	} else if ((j->rc = corio_tls_accept(fd, cfg, &t)) == 0) {
		if (corio_tls_write(t, "hello", 5) != 5 ||
		    corio_send_all(fd, j->bytes, j->len) != (ssize_t)j->len)
			j->rc = -EIO;
		corio_shutdown(fd, SHUT_WR);
		while (corio_recv(fd, b, sizeof b, 0) > 0)
			;
	}
	corio_tls_free(t);
	corio_tls_config_free(cfg);
	if (fd >= 0)
		corio_close(fd);
	return NULL;
}

/* Whether text holds one of the '|'-separated words of want (NULL: anything). */
static bool says(const char *text, const char *want)
{
	char w[128], *save = NULL;

	if (!want)
		return true;
	snprintf(w, sizeof w, "%s", want);
	for (char *p = strtok_r(w, "|", &save); p; p = strtok_r(NULL, "|", &save))
		if (strstr(text, p))
			return true;
	return false;
}

/* The client reads "hello", then its next read must fail with -EPROTO and a reason holding
 * one of want's words (NULL: any reason). */
static const char *junk_round(int version, const unsigned char *bytes, size_t len,
			      const char *want)
{
	junk j = { .version = version, .bytes = bytes, .len = len };
	corio_tls_config *cc = client_config();
	const char *err = NULL;
	corio_task *task;
	corio_tls *t = NULL;
	char port[PORTLEN], buf[64];
	ssize_t n;
	int cfd;

	j.lfd = listen_local(4);
	if (!cc || j.lfd < 0)
		return "setup";
	port_str(j.lfd, port);
	task = corio_spawn(junk_server, &j);
	cfd = corio_tcp_connect("127.0.0.1", port);
	if (cfd < 0 || corio_tls_connect(cfd, cc, "localhost", &t) != 0)
		err = "handshake";
	else if ((n = corio_tls_read(t, buf, 5)) != 5 || memcmp(buf, "hello", 5) != 0)
		err = "the record before the junk";
	else if ((n = corio_tls_read(t, buf, sizeof buf)) != -EPROTO ||
		 !corio_tls_error(t)[0] || !says(corio_tls_error(t), want)) {
		snprintf(g_msg, sizeof g_msg, "junk of %zu bytes (TLS %x): read %zd, \"%s\"", len,
			 version, n, corio_tls_error(t));
		err = g_msg;
	}
	corio_tls_free(t);
	if (cfd >= 0)
		corio_close(cfd);
	corio_join(task, NULL);
	corio_listen_close(j.lfd);
	corio_tls_config_free(cc);
	return err ? err : j.rc == 0 ? NULL : "server";
}

static void *t_junk(void *arg)
{
	static const unsigned char huge[] = { 0x17, 0x03, 0x03, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7 };
	static const unsigned char alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50 };
	unsigned char random[300], badmac[5 + 64];
	const int versions[2] = { 0, TLS1_2_VERSION };
	const char *e;

	badmac[0] = 0x17, badmac[1] = 0x03, badmac[2] = 0x03, badmac[3] = 0, badmac[4] = 64;
	fill(badmac + 5, 64, 99);
	for (int v = 0; v < 2; v++) {
		for (unsigned seed = 1; seed <= 8; seed++) {
			fill(random, sizeof random, seed);
			e = junk_round(versions[v], random, sizeof random, NULL);
			TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
		}
		e = junk_round(versions[v], huge, sizeof huge, "length");
		TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
		/* TLS 1.2's AES-GCM reports the failed tag as a failed decryption. */
		e = junk_round(versions[v], badmac, sizeof badmac,
			       "bad record mac|cipher operation failed");
		TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
		/* A plaintext alert after the keys changed: not a record this side can read. */
		e = junk_round(versions[v], alert, sizeof alert, NULL);
		TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
	}
	return TH_OK;
}

TH_TASK_TEST(garbage_records_after_handshake, t_junk)

/* ---- an OpenSSL server on a blocking socket in a thread ---- */

typedef struct osrv {
	int lfd, port;
	SSL_CTX *ctx;
	bool provoke;   /* after the handshake, read once (the client sends a bad record) */
	int accept_rc, read_rc;
	pthread_t th;
} osrv;

/* Accepts one connection, runs the handshake, maybe one read, then waits for the client
 * to hang up. Every blocking call is bounded by a receive/send timeout, so a client that
 * never comes cannot keep the thread (or the test) forever. */
static void *osrv_run(void *arg)
{
	struct timeval tv = { .tv_sec = 30 };
	osrv *o = arg;
	char b[256];
	SSL *ssl;
	int fd;

	setsockopt(o->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if ((fd = accept(o->lfd, NULL, NULL)) < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if ((ssl = SSL_new(o->ctx)) && SSL_set_fd(ssl, fd) == 1) {
		o->accept_rc = SSL_accept(ssl);
		if (o->accept_rc == 1 && o->provoke)
			o->read_rc = SSL_read(ssl, b, sizeof b);
	}
	while (recv(fd, b, sizeof b, 0) > 0)
		;
	SSL_free(ssl);
	close(fd);
	ERR_clear_error();
	return NULL;
}

/* An OpenSSL server context for the good certificate, versions min..max. */
static SSL_CTX *osrv_ctx(int min, int max)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx && SSL_CTX_set_min_proto_version(ctx, min) == 1 &&
	    SSL_CTX_set_max_proto_version(ctx, max) == 1 &&
	    /* TLS 1.0 and 1.1 need SHA-1 in their handshake: security level 0 allows it. */
	    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") == 1 &&
	    SSL_CTX_use_certificate_chain_file(ctx, g_certs.path[CERT_GOOD]) == 1 &&
	    SSL_CTX_use_PrivateKey_file(ctx, g_certs.path[CERT_GOOD_KEY], SSL_FILETYPE_PEM) == 1)
		return ctx;
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

static bool osrv_start(osrv *o, int min, int max)
{
	o->ctx = osrv_ctx(min, max);
	o->lfd = th_loopback_socket(&o->port, true);
	if (!o->ctx || o->lfd < 0 || pthread_create(&o->th, NULL, osrv_run, o) != 0) {
		SSL_CTX_free(o->ctx);
		if (o->lfd >= 0)
			close(o->lfd);
		return false;
	}
	return true;
}

/* After the client hung up, the thread ends at once. */
static void osrv_stop(osrv *o)
{
	pthread_join(o->th, NULL);
	close(o->lfd);
	SSL_CTX_free(o->ctx);
}

static int connect_port(int port)
{
	char p[PORTLEN];

	snprintf(p, sizeof p, "%d", port);
	return corio_tcp_connect("127.0.0.1", p);
}

/* The client sends a record with a bad MAC after the handshake; the OpenSSL server answers
 * with a fatal alert (encrypted, TLS 1.3 or 1.2), which the client's next read reports. */
static const char *alert_round(int version)
{
	osrv o = { .provoke = true };
	corio_tls_config *cc = client_config();
	unsigned char bad[5 + 48] = { 0x17, 0x03, 0x03, 0x00, 48 };
	const char *err = NULL;
	corio_tls *t = NULL;
	char buf[16];
	int cfd;

	if (!cc || !osrv_start(&o, TLS1_2_VERSION, version))
		return "setup";
	fill(bad + 5, 48, 5);
	cfd = connect_port(o.port);
	if (cfd < 0 || corio_tls_connect(cfd, cc, "localhost", &t) != 0)
		err = "handshake";
	else if (corio_send_all(cfd, bad, sizeof bad) != (ssize_t)sizeof bad)
		err = "send the bad record";
	else if (corio_tls_read(t, buf, sizeof buf) != -EPROTO ||
		 !says(corio_tls_error(t), "alert bad record mac|alert decryption failed")) {
		snprintf(g_msg, sizeof g_msg, "TLS %x: \"%s\"", version, corio_tls_error(t));
		err = g_msg;
	}
	corio_tls_free(t);
	if (cfd >= 0)
		corio_close(cfd);
	osrv_stop(&o);
	corio_tls_config_free(cc);
	if (!err && (o.accept_rc != 1 || o.read_rc > 0))
		err = "the OpenSSL server did not fail the bad record";
	return err;
}

static void *t_alert(void *arg)
{
	const char *e = alert_round(TLS1_3_VERSION);

	TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
	e = alert_round(TLS1_2_VERSION);
	TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
	return TH_OK;
}

TH_TASK_TEST(fatal_alert_mid_stream, t_alert)

/* A server speaking only TLS 1.0 (or 1.1): corio's client (1.2 at least) refuses it with
 * a reason naming the protocol; the same client allowed down to that version gets through,
 * which shows the server does speak it. */
static const char *old_round(int version, bool allow)
{
	osrv o = { 0 };
	corio_tls_config *cc = client_config();
	const char *err = NULL;
	corio_tls *t = NULL;
	int cfd, rc;

	if (!cc || !osrv_start(&o, version, version))
		return "setup";
	if (allow && (SSL_CTX_set_min_proto_version(cc->ctx, version) != 1 ||
		      SSL_CTX_set_cipher_list(cc->ctx, "DEFAULT:@SECLEVEL=0") != 1))
		err = "client setup";
	cfd = connect_port(o.port);
	rc = cfd < 0 ? cfd : corio_tls_connect(cfd, cc, "localhost", &t);
	if (!err && allow && rc != 0)
		err = "the server does not speak the version";
	if (!err && !allow && (rc != -EPROTO || !says(corio_tls_error(NULL), "protocol|version"))) {
		snprintf(g_msg, sizeof g_msg, "TLS %x only: %d \"%s\"", version, rc,
			 corio_tls_error(NULL));
		err = g_msg;
	}
	if (!err && !allow && t)
		err = "a connection came back with the failure";
	corio_tls_free(t);
	if (cfd >= 0)
		corio_close(cfd);
	osrv_stop(&o);
	corio_tls_config_free(cc);
	return err;
}

static void *t_old(void *arg)
{
	const int versions[2] = { TLS1_VERSION, TLS1_1_VERSION };

	for (int i = 0; i < 2; i++) {
		const char *e = old_round(versions[i], false);

		TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
		e = old_round(versions[i], true);
		TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
	}
	return TH_OK;
}

TH_TASK_TEST(old_protocol_servers_refused, t_old)

/* ---- handshakes timed out or cancelled while the peer says nothing ---- */

typedef struct quiet {
	int lfd, fd;
	corio_event ready;  /* the server has the ClientHello / is inside its handshake */
	corio_tls_config *scfg; /* NULL: a server that answers nothing */
	uint64_t timeout;   /* the server's handshake scope (0: none) */
	int rc;
	bool fired;
} quiet;

/* Accepts, then either never answers (reads the ClientHello and waits for the client to
 * hang up) or runs a server handshake against a client that never speaks. */
static void *quiet_server(void *arg)
{
	quiet *q = arg;
	corio_tls *t = NULL;
	corio_timeout to;
	char b[2048];

	if ((q->fd = corio_accept(q->lfd, NULL, NULL)) < 0)
		return NULL;
	if (!q->scfg) {
		if (corio_recv(q->fd, b, sizeof b, 0) > 0)
			corio_event_set(&q->ready);
		while (corio_recv(q->fd, b, sizeof b, 0) > 0)
			;
	} else {
		/* Set before the handshake parks: whoever waits runs once it has. */
		corio_event_set(&q->ready);
		if (q->timeout)
			corio_timeout_enter(&to, q->timeout);
		q->rc = corio_tls_accept(q->fd, q->scfg, &t);
		if (q->timeout)
			q->fired = corio_timeout_exit(&to);
		corio_tls_free(t);
	}
	corio_close(q->fd);
	return NULL;
}

typedef struct hjob {
	int fd;
	corio_tls_config *cc;
	int rc;
} hjob;

static void *connector(void *arg)
{
	hjob *h = arg;
	corio_tls *t = NULL;

	h->rc = corio_tls_connect(h->fd, h->cc, "localhost", &t);
	corio_tls_free(t); /* NULL unless the handshake wrongly succeeded */
	return NULL;
}

/* The client's handshake against a server that never answers: mode 0 under a timeout
 * scope (-ETIMEDOUT), mode 1 cancelled while parked (-ECANCELED). */
static const char *client_waits(int mode)
{
	quiet q = { .fd = -1 };
	hjob h = { .cc = client_config() };
	corio_timeout to;
	corio_task *st, *ct;
	char port[PORTLEN];
	const char *err = NULL;

	corio_event_init(&q.ready);
	if (!h.cc || (q.lfd = listen_local(4)) < 0)
		return "setup";
	port_str(q.lfd, port);
	st = corio_spawn(quiet_server, &q);
	if ((h.fd = corio_tcp_connect("127.0.0.1", port)) < 0)
		return "connect";
	if (mode == 0) {
		corio_timeout_enter(&to, CORIO_MS(50));
		connector(&h);
		if (!corio_timeout_exit(&to) || h.rc != -ETIMEDOUT)
			err = "no -ETIMEDOUT";
		else if (!corio_tls_error(NULL)[0])
			err = "no reason";
	} else {
		ct = corio_spawn(connector, &h);
		corio_event_wait(&q.ready); /* the ClientHello came: the client waits for the answer */
		corio_cancel(ct);
		corio_join(ct, NULL);
		if (h.rc != -ECANCELED)
			err = "no -ECANCELED";
	}
	corio_close(h.fd);
	corio_join(st, NULL);
	corio_listen_close(q.lfd);
	corio_tls_config_free(h.cc);
	return err;
}

/* The server's handshake against a client that connects and never speaks. */
static const char *server_waits(int mode)
{
	quiet q = { .fd = -1, .scfg = server_config(0), .timeout = mode == 0 ? CORIO_MS(50) : 0 };
	char port[PORTLEN];
	const char *err = NULL;
	corio_task *st;
	int cfd;

	corio_event_init(&q.ready);
	if (!q.scfg || (q.lfd = listen_local(4)) < 0)
		return "setup";
	port_str(q.lfd, port);
	st = corio_spawn(quiet_server, &q);
	if ((cfd = corio_tcp_connect("127.0.0.1", port)) < 0)
		return "connect";
	corio_event_wait(&q.ready);
	if (mode == 1)
		corio_cancel(st);
	corio_join(st, NULL);
	if (mode == 0 && (q.rc != -ETIMEDOUT || !q.fired))
		err = "server: no -ETIMEDOUT";
	if (mode == 1 && q.rc != -ECANCELED)
		err = "server: no -ECANCELED";
	corio_close(cfd);
	corio_listen_close(q.lfd);
	corio_tls_config_free(q.scfg);
	return err;
}

static void *t_quiet(void *arg)
{
	for (int mode = 0; mode < 2; mode++) {
		const char *e = client_waits(mode);

		TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
		e = server_waits(mode);
		TH_CHECK(e == NULL || (fprintf(stderr, "%s\n", e), 0));
	}
	return TH_OK;
}

TH_TASK_TEST(handshake_timeouts_and_cancels, t_quiet)

/* ---- a 1 MiB echo under injected faults ---- */

#define FAULT_LEN (1u << 20)

typedef struct fjob {
	int fd, rc;
	corio_tls *t;
	unsigned char *out, *in;
	size_t got;
} fjob;

/* Echoes until close_notify (answered with its own) or a failure (then both ways of the
 * socket are shut, so the client's parked calls end). */
static void *fault_server(void *arg)
{
	quiet *q = arg;
	static unsigned char buf[20000];
	corio_tls *t = NULL;
	ssize_t n = 0;

	if ((q->fd = corio_accept(q->lfd, NULL, NULL)) < 0)
		return NULL;
	if ((q->rc = corio_tls_accept(q->fd, q->scfg, &t)) == 0) {
		while ((n = corio_tls_read(t, buf, sizeof buf)) > 0)
			if ((q->rc = (int)corio_tls_write(t, buf, (size_t)n)) != n)
				break;
		q->rc = n == 0 ? corio_tls_shutdown(t) : n < 0 ? (int)n : q->rc;
	}
	if (q->rc != 0)
		corio_shutdown(q->fd, SHUT_RDWR);
	corio_tls_free(t);
	corio_close(q->fd);
	return NULL;
}

/* The client's writing half: everything, then close_notify; on a failure the socket is
 * shut both ways so the reading half stops waiting. */
static void *fault_writer(void *arg)
{
	fjob *w = arg;
	ssize_t n = corio_tls_write(w->t, w->out, FAULT_LEN);

	w->rc = n == FAULT_LEN ? corio_tls_shutdown(w->t) : (int)n;
	if (w->rc != 0)
		corio_shutdown(w->fd, SHUT_RDWR);
	return NULL;
}

/* Reads the echo; 0 once all of it and then close_notify came. */
static int fault_read(fjob *r)
{
	ssize_t n = 0;

	while (r->got < FAULT_LEN && (n = corio_tls_read(r->t, r->in + r->got, FAULT_LEN - r->got)) > 0)
		r->got += (size_t)n;
	if (r->got == FAULT_LEN)
		n = corio_tls_read(r->t, r->in, 1);
	if (n != 0)
		corio_shutdown(r->fd, SHUT_RDWR);
	/* 0 before the end would be a truncation passed off as a clean close. */
	return n < 0 ? (int)n : r->got == FAULT_LEN ? 0 : -EILSEQ;
}

typedef struct fres {
	int hs, rd, wr, srv; /* client handshake, reader, writer, server */
	bool exact;          /* every byte came back as sent */
	uint64_t faults;     /* how many the loop injected */
} fres;

static void *fault_echo(void *arg)
{
	fres *res = arg;
	quiet q = { .fd = -1, .scfg = server_config(0) };
	corio_tls_config *cc = client_config();
	fjob j = { .out = malloc(FAULT_LEN), .in = malloc(FAULT_LEN) }, w;
	corio_statistics stats;
	char port[PORTLEN];
	corio_task *st, *wt;

	TH_CHECK(q.scfg && cc && j.out && j.in && (q.lfd = listen_local(4)) >= 0);
	fill(j.out, FAULT_LEN, 77);
	port_str(q.lfd, port);
	st = corio_spawn(fault_server, &q);
	TH_CHECK((j.fd = corio_tcp_connect("127.0.0.1", port)) >= 0);
	if ((res->hs = corio_tls_connect(j.fd, cc, "localhost", &j.t)) == 0) {
		w = j;
		wt = corio_spawn(fault_writer, &w);
		res->rd = fault_read(&j);
		corio_join(wt, NULL);
		res->wr = w.rc;
		res->exact = j.got == FAULT_LEN && memcmp(j.in, j.out, FAULT_LEN) == 0;
	}
	corio_tls_free(j.t);
	corio_close(j.fd);
	corio_join(st, NULL);
	res->srv = q.rc;
	corio_listen_close(q.lfd);
	corio_tls_config_free(q.scfg);
	corio_tls_config_free(cc);
	free(j.out);
	free(j.in);
	TH_CHECK(corio_stats(&stats) == 0);
	res->faults = stats.faults_injected;
	return TH_OK;
}

/* Short receives and sends everywhere: nothing may fail and every byte must come back. */
START_TEST(echo_under_short_io)
{
	for (unsigned seed = 1; seed <= 6; seed++) {
		corio_config cfg = th_config();
		char spec[64];
		fres r = { 0 };

		snprintf(spec, sizeof spec, "%u:short@0.5/recv+send", seed);
		cfg.faults = spec;
		TH_RUN_EXPECT_OK(&cfg, fault_echo, &r);
		ck_assert_msg(r.hs == 0 && r.rd == 0 && r.wr == 0 && r.srv == 0 && r.exact,
			      "seed %u: handshake %d, read %d, write %d, server %d, exact %d", seed,
			      r.hs, r.rd, r.wr, r.srv, r.exact);
		ck_assert_uint_gt(r.faults, 50); /* the spec took: many operations were shortened */
	}
}
END_TEST

static bool clean(int rc)
{
	return rc == 0 || is_failure(rc);
}

/* Resets injected into receives and sends: every side ends, with success or a clean
 * -ECONNRESET / -EPROTO, and a reader that got everything got it exact. */
START_TEST(echo_under_resets)
{
	int failed = 0;

	for (unsigned seed = 1; seed <= 16; seed++) {
		corio_config cfg = th_config();
		char spec[64];
		fres r = { 0 };

		snprintf(spec, sizeof spec, "%u:ECONNRESET@0.004/recv+send,short@0.3", seed);
		cfg.faults = spec;
		TH_RUN_EXPECT_OK(&cfg, fault_echo, &r);
		ck_assert_msg(clean(r.hs) && clean(r.rd) && clean(r.wr) && clean(r.srv) &&
				      (r.hs != 0 || r.rd != 0 || r.exact),
			      "seed %u: handshake %d, read %d, write %d, server %d, exact %d", seed,
			      r.hs, r.rd, r.wr, r.srv, r.exact);
		failed += r.hs != 0 || r.rd != 0;
	}
	/* About 1000 operations a run: at this rate most runs meet a reset, some none. */
	ck_assert_int_ge(failed, 4);
}
END_TEST

int main(void)
{
	int rc;

	if (!th_certs_make(&g_certs)) {
		fprintf(stderr, "test_tls_abuse: cannot make the test certificates\n");
		th_certs_remove(&g_certs);
		return 1;
	}
	rc = th_main(TH_SUITE("tls_abuse", TH_TIMEOUT, server_flight_cut_at_every_step,
			      client_flight_cut_at_every_step, handshake_stalled_times_out,
			      garbage_records_after_handshake, fatal_alert_mid_stream,
			      old_protocol_servers_refused, handshake_timeouts_and_cancels,
			      echo_under_short_io, echo_under_resets));
	th_certs_remove(&g_certs);
	return rc;
}
