/* runtime/core/inject.h: the fault-injection hook of the submit choke point (CORIO_FAULTS): the
 * rule table every loop carries and the two calls the loop makes. The parser and the decision
 * live in runtime/debug/faults.c: the core declares the hook, the debug layer implements it.
 *
 * Spec: SEED:RULE[,RULE...] with RULE = KIND[@PROB][/OP[+OP...]]
 *   KIND  "short" (shorten the length of a read/write/recv/send, never to 0; a multishot
 *         receiver's reads count as recv), or an errno
 *         name (ECONNRESET, EAGAIN, ENOSPC, EIO, EPIPE, EINTR, ...): fail the operation with
 *         it before it reaches the kernel
 *   PROB  probability in [0, 1], default 0.5 for short and 0.1 for errnos
 *   OP    read write readv writev recv send recvmsg sendmsg accept connect openat statx
 *         fsync timeout nop socket splice read_fixed write_fixed; default:
 *         read+write+recv+send for short (read_fixed/write_fixed only when named), every
 *         listed operation but timeout and nop for errnos. close and the runtime's own requests (cancels,
 *         timer removals) are never touched, so no fault loses data or leaks a descriptor.
 * Decisions come from a hash of (seed, operation sequence number, rule index), so a seed
 * replays the same faults for the same sequence of operations.
 */
#ifndef CORIO_CORE_INJECT_H
#define CORIO_CORE_INJECT_H

#include <stdbool.h>
#include <stdint.h>

struct io_uring_sqe;

#define CORIO__FAULT_RULES_MAX 8

typedef struct corio__fault_rule {
	int err;            /* positive errno, or 0 for "short" */
	uint32_t threshold; /* fire when hash32 < threshold */
	uint64_t ops[4];    /* bitmap of IORING_OP_* codes it applies to */
} corio__fault_rule;

typedef struct corio__faults {
	uint64_t seed;
	unsigned nrules;
	corio__fault_rule rules[CORIO__FAULT_RULES_MAX];
} corio__faults;

/* Parses spec (NULL or "" disables). 0 or -EINVAL. */
int corio__faults_parse(corio__faults *f, const char *spec);

/* Applies the rules to a prepared SQE numbered seq. May shorten sqe->len; returns 0 to
 * submit it, or a negative errno to fail it without submitting. */
int corio__faults_apply(const corio__faults *f, struct io_uring_sqe *sqe, uint64_t seq,
			bool *touched);

#endif
