/* examples/udp_dns.c: request and response over UDP, in real DNS wire format (RFC 1035).
 * A tiny server answers A queries from a table of names; a client asks for each name given
 * on the command line, checks that the answer carries its query's id and question, and
 * sends the query again when no answer came in time (200 ms, then twice as long at each
 * try, as DNS clients back off). Both are tasks of one process
 * on 127.0.0.1, the server on a port the kernel picks. To show the retry, the server
 * ignores the first query it gets (as if the datagram had been lost).
 *
 *     server: corio_udp_bind + corio_udp_receiver (one multishot recvmsg for every query,
 *             each with its source address) + corio_sendto back to that source
 *     client: corio_udp_connect + corio_send + corio_recv inside a timeout scope
 *
 * Usage: udp_dns [NAME...]   (default: www.example.test mail.example.test
 *                             missing.example.test)
 * Prints one line per name: "NAME A ADDRESS", "NAME: NXDOMAIN", or the error. Exit status 0
 * when every name got an answer (NXDOMAIN counts), 1 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <corio/corio.h>

#define DNS_MAX 512                 /* a classic DNS message over UDP */
#define TYPE_A 1
#define CLASS_IN 1
#define RCODE_NXDOMAIN 3
#define FIRST_WAIT_MS 200u
#define TRIES 5

static const struct {
	const char *name, *addr;
} zone[] = {
	{ "www.example.test", "192.0.2.10" },
	{ "mail.example.test", "192.0.2.25" },
	{ "ns.example.test", "192.0.2.53" },
};

/* ---- wire format ---- */

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* "www.example.test" -> 3www7example4test0 at p. Its length, or 0 when name is not a
 * valid host name for the wire (empty label, label over 63, name over 255). */
static size_t name_encode(const char *name, unsigned char *p)
{
	size_t n = 0;

	for (const char *s = name; *s;) {
		size_t len = strcspn(s, ".");

		if (len == 0 || len > 63 || n + len + 2 > 255)
			return 0;
		p[n++] = (unsigned char)len;
		memcpy(p + n, s, len);
		n += len;
		s += len + (s[len] == '.');
	}
	p[n++] = 0;
	return n;
}

/* The question's name at msg+off as dotted text into out (NUL-terminated); the offset
 * after it, or 0 when malformed (queries carry no compression pointers). */
static size_t name_decode(const unsigned char *msg, size_t len, size_t off, char *out)
{
	size_t o = 0;

	while (off < len && msg[off]) {
		size_t l = msg[off++];

		if (l > 63 || off + l > len || o + l + 2 > 256)
			return 0;
		if (o)
			out[o++] = '.';
		memcpy(out + o, msg + off, l);
		o += l;
		off += l;
	}
	out[o] = 0;
	return off < len ? off + 1 : 0;
}

/* A query for name (type A): its length, or 0 for a name that does not encode. */
static size_t query_build(unsigned char *q, unsigned id, const char *name)
{
	size_t n = name_encode(name, q + 12);

	if (!n)
		return 0;
	memset(q, 0, 12);
	put16(q, id);
	put16(q + 2, 0x0100); /* a standard query, recursion desired */
	put16(q + 4, 1);      /* one question */
	put16(q + 12 + n, TYPE_A);
	put16(q + 14 + n, CLASS_IN);
	return 12 + n + 4;
}

/* ---- the server ---- */

/* The reply to query q (len bytes) into r: the question echoed, and an A record when the
 * name is in the zone (NXDOMAIN otherwise). Its length, or 0 to ignore a malformed one. */
static size_t answer(const unsigned char *q, size_t len, unsigned char *r)
{
	char name[256];
	size_t end = len >= 12 ? name_decode(q, len, 12, name) : 0;
	struct in_addr a = { 0 };
	bool found = false;

	if (!end || end + 4 > len || (q[2] & 0x80) || get16(q + 4) != 1)
		return 0;
	for (size_t i = 0; i < sizeof zone / sizeof zone[0] && !found; i++)
		found = strcasecmp(name, zone[i].name) == 0 && inet_pton(AF_INET, zone[i].addr, &a);
	end += 4;
	memcpy(r, q, end); /* id, flags, counts and the question */
	r[2] = (unsigned char)(0x84 | (q[2] & 0x01)); /* response, authoritative, RD copied */
	r[3] = found ? 0 : RCODE_NXDOMAIN;
	put16(r + 6, found && get16(q + end - 4) == TYPE_A); /* answers */
	memset(r + 8, 0, 4);
	if (!found || get16(q + end - 4) != TYPE_A)
		return end;
	put16(r + end, 0xc00c); /* the name: a pointer to the question's */
	put16(r + end + 2, TYPE_A);
	put16(r + end + 4, CLASS_IN);
	put16(r + end + 6, 0);
	put16(r + end + 8, 300); /* TTL */
	put16(r + end + 10, 4);
	memcpy(r + end + 12, &a, 4);
	return end + 16;
}

static void *server(void *arg)
{
	int fd = *(int *)arg;
	corio_udp_receiver *rx = corio_udp_receiver_new(fd, DNS_MAX);
	unsigned char q[DNS_MAX], r[DNS_MAX];
	unsigned seen = 0;

	if (!rx) {
		fprintf(stderr, "udp_dns: receiver: %s\n", strerror(errno));
		return NULL;
	}
	for (;;) {
		struct sockaddr_storage src;
		socklen_t srclen = sizeof src;
		ssize_t n = corio_udp_receiver_recv(rx, q, sizeof q, (struct sockaddr *)&src, &srclen);
		size_t rlen;

		if (n == -EMSGSIZE)
			continue; /* longer than any query of ours: dropped */
		if (n < 0)
			break; /* cancelled: the demo is over */
		if (++seen == 1)
			continue; /* "lost": the client's retry gets the answer */
		rlen = answer(q, (size_t)n, r);
		if (rlen)
			corio_sendto(fd, r, rlen, 0, (struct sockaddr *)&src, srclen);
	}
	corio_udp_receiver_free(rx);
	return NULL;
}

/* ---- the client ---- */

/* Skips a (possibly compressed) name in msg from off: the offset after it, or 0. */
static size_t name_skip(const unsigned char *msg, size_t len, size_t off)
{
	while (off < len) {
		if ((msg[off] & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (!msg[off])
			return off + 1;
		off += 1u + msg[off];
	}
	return 0;
}

/* Checks that reply r answers query q (same id, a response, the same question) and finds
 * its first A record. 1 with *a set, 0 for NXDOMAIN or no A record, -1 when r is not the
 * answer to q (a stale or foreign datagram: keep waiting). */
static int reply_parse(const unsigned char *r, size_t len, const unsigned char *q, size_t qlen,
		       struct in_addr *a, int *rcode)
{
	size_t off = qlen;

	if (len < qlen || get16(r) != get16(q) || !(r[2] & 0x80) ||
	    memcmp(r + 12, q + 12, qlen - 12) != 0)
		return -1;
	*rcode = r[3] & 0x0f;
	for (unsigned i = 0, an = get16(r + 6); i < an; i++) {
		off = name_skip(r, len, off);
		if (!off || off + 10 > len || off + 10 + get16(r + off + 8) > len)
			return -1;
		if (get16(r + off) == TYPE_A && get16(r + off + 2) == CLASS_IN &&
		    get16(r + off + 8) == 4) {
			memcpy(a, r + off + 10, 4);
			return 1;
		}
		off += 10 + get16(r + off + 8);
	}
	return 0;
}

/* Waits for the answer to q until the retry deadline: 1/0 as reply_parse, -ETIMEDOUT, or
 * another error. Datagrams that do not answer q are ignored. */
static int await_reply(int fd, const unsigned char *q, size_t qlen, struct in_addr *a,
		       int *rcode, unsigned wait_ms)
{
	unsigned char r[DNS_MAX];
	corio_timeout to;
	int rc = -ETIMEDOUT;

	corio_timeout_enter(&to, CORIO_MS(wait_ms));
	for (;;) {
		ssize_t n = corio_recv(fd, r, sizeof r, 0);

		if (n < 0) {
			rc = (int)n;
			break;
		}
		rc = reply_parse(r, (size_t)n, q, qlen, a, rcode);
		if (rc >= 0)
			break;
	}
	corio_timeout_exit(&to);
	return rc;
}

/* Asks for name: prints the result line; true when an answer came. */
static bool ask(int fd, const char *name, unsigned id)
{
	unsigned char q[DNS_MAX];
	size_t qlen = query_build(q, id, name);
	struct in_addr a;
	char text[INET_ADDRSTRLEN];
	int rc = -ETIMEDOUT, rcode = 0;
	unsigned wait_ms = FIRST_WAIT_MS;

	if (!qlen) {
		printf("%s: not a valid name\n", name);
		return false;
	}
	for (int try = 1; try <= TRIES && rc == -ETIMEDOUT; try++) {
		if (try > 1) {
			printf("%s: no answer in %u ms, asking again (try %d of %d)\n", name,
			       wait_ms, try, TRIES);
			wait_ms *= 2;
		}
		rc = (int)corio_send(fd, q, qlen, 0);
		if (rc >= 0)
			rc = await_reply(fd, q, qlen, &a, &rcode, wait_ms);
	}
	if (rc == 1)
		printf("%s A %s\n", name, inet_ntop(AF_INET, &a, text, sizeof text));
	else if (rc == 0)
		printf("%s: %s\n", name, rcode == RCODE_NXDOMAIN ? "NXDOMAIN" : "no A record");
	else
		printf("%s: %s\n", name, strerror(-rc));
	return rc >= 0;
}

struct demo {
	int argc;
	char **argv;
	bool ok;
};

static void *main_task(void *arg)
{
	static char *defaults[] = { "www.example.test", "mail.example.test",
				    "missing.example.test" };
	struct demo *d = arg;
	char **names = d->argc > 1 ? d->argv + 1 : defaults;
	int n = d->argc > 1 ? d->argc - 1 : 3, sfd = corio_udp_bind("127.0.0.1", "0"), cfd;
	char port[16];
	corio_task *srv;

	if (sfd < 0) {
		fprintf(stderr, "udp_dns: bind: %s\n", corio_net_strerror(sfd));
		return NULL;
	}
	snprintf(port, sizeof port, "%d", corio_sock_port(sfd));
	srv = corio_spawn(server, &sfd);
	cfd = corio_udp_connect("127.0.0.1", port);
	d->ok = srv && cfd >= 0;
	for (int i = 0; d->ok && i < n; i++)
		d->ok = ask(cfd, names[i], 0x1234u + (unsigned)i * 0x3c1du) && d->ok;
	if (cfd >= 0)
		corio_close(cfd);
	if (srv) {
		corio_cancel(srv); /* the server runs until told to stop */
		corio_join(srv, NULL);
	}
	corio_close(sfd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct demo d = { .argc = argc, .argv = argv };
	int rc = corio_run(main_task, &d, NULL);

	if (rc != 0) {
		fprintf(stderr, "udp_dns: %s\n", strerror(-rc));
		return 1;
	}
	return d.ok ? 0 : 1;
}
