/* runtime/debug/faults.c: parsing CORIO_FAULTS specs and deciding, per operation, whether to
 * shorten or fail it. Pure functions; the loop's submit path calls corio__faults_apply. */
#include "runtime/core/inject.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/str.h"

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "ECONNRESET", ECONNRESET }, { "EAGAIN", EAGAIN },	  { "ENOSPC", ENOSPC },
	{ "EIO", EIO },		      { "EPIPE", EPIPE },	  { "EINTR", EINTR },
	{ "ENOMEM", ENOMEM },	      { "ECONNREFUSED", ECONNREFUSED }, { "ETIMEDOUT", ETIMEDOUT },
	{ "EMFILE", EMFILE },	      { "ENFILE", ENFILE },	  { "EBADF", EBADF },
	{ "EACCES", EACCES },	      { "ENOENT", ENOENT },	  { "EDQUOT", EDQUOT },
	{ "ECONNABORTED", ECONNABORTED }, { "ENETUNREACH", ENETUNREACH },
};

static const struct {
	const char *name;
	unsigned op;
} opnames[] = {
	{ "read", IORING_OP_READ },	  { "write", IORING_OP_WRITE },
	{ "readv", IORING_OP_READV },	  { "writev", IORING_OP_WRITEV },
	{ "recv", IORING_OP_RECV },	  { "send", IORING_OP_SEND },
	{ "recvmsg", IORING_OP_RECVMSG }, { "sendmsg", IORING_OP_SENDMSG },
	{ "accept", IORING_OP_ACCEPT },	  { "connect", IORING_OP_CONNECT },
	{ "openat", IORING_OP_OPENAT },	  { "statx", IORING_OP_STATX },
	{ "fsync", IORING_OP_FSYNC },	  { "timeout", IORING_OP_TIMEOUT },
	{ "nop", IORING_OP_NOP },	  { "socket", IORING_OP_SOCKET },
	{ "splice", IORING_OP_SPLICE },	  { "read_fixed", IORING_OP_READ_FIXED },
	{ "write_fixed", IORING_OP_WRITE_FIXED },
};

static void set_op(uint64_t *bm, unsigned op)
{
	bm[op / 64] |= 1ull << (op % 64);
}

static bool has_op(const uint64_t *bm, unsigned op)
{
	return op < 256 && (bm[op / 64] >> (op % 64)) & 1;
}

static int parse_kind(corio__fault_rule *r, const char *s, size_t n)
{
	if (n == CORIO__SLEN("short") && memcmp(s, "short", n) == 0) {
		r->err = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++) {
		if (strlen(errnos[i].name) == n && memcmp(errnos[i].name, s, n) == 0) {
			r->err = errnos[i].err;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_ops(corio__fault_rule *r, const char *s, size_t n)
{
	if (n == 0)
		return -EINVAL; /* "KIND/" names no operation */
	while (n > 0) {
		const char *plus = memchr(s, '+', n);
		size_t len = plus ? (size_t)(plus - s) : n;
		bool found = false;

		for (size_t i = 0; i < sizeof opnames / sizeof opnames[0]; i++) {
			if (strlen(opnames[i].name) == len && memcmp(opnames[i].name, s, len) == 0) {
				set_op(r->ops, opnames[i].op);
				found = true;
			}
		}
		if (!found)
			return -EINVAL;
		n -= plus ? len + 1 : len;
		s += plus ? len + 1 : len;
	}
	return 0;
}

static void default_ops(corio__fault_rule *r)
{
	if (r->err == 0) {
		set_op(r->ops, IORING_OP_READ);
		set_op(r->ops, IORING_OP_WRITE);
		set_op(r->ops, IORING_OP_RECV);
		set_op(r->ops, IORING_OP_SEND);
		return;
	}
	/* Sleeps and nops only when named: they have no I/O to fail. */
	for (size_t i = 0; i < sizeof opnames / sizeof opnames[0]; i++)
		if (opnames[i].op != IORING_OP_TIMEOUT && opnames[i].op != IORING_OP_NOP)
			set_op(r->ops, opnames[i].op);
}

/* One rule: KIND[@PROB][/OPS], n bytes at s. */
static int parse_rule(corio__fault_rule *r, const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	size_t head = slash ? (size_t)(slash - s) : n;
	const char *at = memchr(s, '@', head);
	size_t kind_len = at ? (size_t)(at - s) : head;
	double prob;

	memset(r, 0, sizeof *r);
	if (parse_kind(r, s, kind_len) != 0)
		return -EINVAL;
	prob = r->err ? 0.1 : 0.5;
	if (at) {
		char buf[32], *end;
		size_t plen = head - kind_len - 1;

		if (plen == 0 || plen >= sizeof buf)
			return -EINVAL;
		memcpy(buf, at + 1, plen);
		buf[plen] = 0;
		prob = strtod(buf, &end);
		if (*end || !(prob >= 0.0 && prob <= 1.0))
			return -EINVAL;
	}
	r->threshold = prob >= 1.0 ? UINT32_MAX : (uint32_t)(prob * 4294967296.0);
	if (slash)
		return parse_ops(r, slash + 1, n - head - 1);
	default_ops(r);
	return 0;
}

int corio__faults_parse(corio__faults *f, const char *spec)
{
	char *end;
	const char *p;

	memset(f, 0, sizeof *f);
	if (!spec || !*spec)
		return 0;
	f->seed = strtoull(spec, &end, 0);
	if (end == spec || *end != ':')
		return -EINVAL;
	p = end + 1;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (f->nrules == CORIO__FAULT_RULES_MAX || n == 0 ||
		    parse_rule(&f->rules[f->nrules], p, n) != 0) {
			memset(f, 0, sizeof *f);
			return -EINVAL;
		}
		f->nrules++;
		p += comma ? n + 1 : n;
	}
	return f->nrules ? 0 : -EINVAL;
}

/* splitmix64: a well-mixed hash of the decision's inputs. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static bool shortenable(unsigned op)
{
	return op == IORING_OP_READ || op == IORING_OP_WRITE || op == IORING_OP_RECV ||
	       op == IORING_OP_SEND || op == IORING_OP_READ_FIXED || op == IORING_OP_WRITE_FIXED;
}

int corio__faults_apply(const corio__faults *f, struct io_uring_sqe *sqe, uint64_t seq,
			bool *touched)
{
	for (unsigned i = 0; i < f->nrules; i++) {
		const corio__fault_rule *r = &f->rules[i];
		uint64_t h = mix(f->seed ^ mix(seq * 16 + i));

		if (!has_op(r->ops, sqe->opcode) || (uint32_t)h >= r->threshold)
			continue;
		if (r->err) {
			*touched = true;
			return -r->err;
		}
		if (shortenable(sqe->opcode) && sqe->len > 1) {
			sqe->len = 1 + (uint32_t)((h >> 32) % (sqe->len - 1));
			*touched = true;
		}
	}
	return 0;
}
