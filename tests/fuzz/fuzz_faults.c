/* tests/fuzz/fuzz_faults.c: libFuzzer target for the CORIO_FAULTS parser and decision
 * (runtime/debug/faults.c, the hook declared in runtime/core/inject.h): a spec is read from
 * the environment, so any string may reach it.
 *
 * Input: SPEC '\n' OPS. SPEC goes to corio__faults_parse; if it is accepted, each byte of
 * OPS is the opcode of a zeroed SQE (length taken from the byte after it) that goes
 * through corio__faults_apply with its index as the sequence number.
 *
 * Checked: a refused spec leaves no rule behind, an accepted one has 1 to
 * CORIO__FAULT_RULES_MAX rules; a decision is an errno or a shortening of a read or
 * write's length (never to 0, never longer), touches no other field of the SQE, says so
 * through *touched, and is the same when made twice (a seed replays). */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <string.h>

#include "runtime/core/inject.h"
#include "tests/fuzz/fuzz.h"

#define MAX_OPS 256

static bool shortenable(unsigned op)
{
	return op == IORING_OP_READ || op == IORING_OP_WRITE || op == IORING_OP_RECV ||
	       op == IORING_OP_SEND || op == IORING_OP_READ_FIXED || op == IORING_OP_WRITE_FIXED;
}

static void check_parse(const corio__faults *f, int rc, const char *spec)
{
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc != 0 || !*spec)
		FUZZ_CHECK(f->nrules == 0); /* what the loop looks at (the seed may be set) */
	else
		FUZZ_CHECK(f->nrules >= 1 && f->nrules <= CORIO__FAULT_RULES_MAX);
	for (unsigned i = 0; i < f->nrules; i++)
		FUZZ_CHECK(f->rules[i].err >= 0 && f->rules[i].err < 4096);
}

/* One decision on an SQE with opcode op and length len, made twice. */
static void check_apply(const corio__faults *f, uint8_t op, uint32_t len, uint64_t seq)
{
	struct io_uring_sqe sqe, before, again;
	bool touched = false, touched2 = false;
	int rc, rc2;

	memset(&sqe, 0, sizeof sqe);
	sqe.opcode = op;
	sqe.len = len;
	before = again = sqe;
	rc = corio__faults_apply(f, &sqe, seq, &touched);
	rc2 = corio__faults_apply(f, &again, seq, &touched2);
	FUZZ_CHECK(rc == rc2 && touched == touched2 && memcmp(&sqe, &again, sizeof sqe) == 0);
	FUZZ_CHECK(rc <= 0 && rc > -4096);
	if (rc < 0)
		FUZZ_CHECK(touched);
	if (sqe.len != len) {
		FUZZ_CHECK(touched && shortenable(op));
		FUZZ_CHECK(sqe.len >= 1 && sqe.len < len);
	}
	before.len = sqe.len; /* the one field a decision may change */
	FUZZ_CHECK(memcmp(&sqe, &before, sizeof sqe) == 0);
	if (!touched)
		FUZZ_CHECK(rc == 0 && sqe.len == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t slen = nl ? (size_t)(nl - data) : size;
	char *spec = malloc(slen + 1);
	corio__faults f;
	int rc;

	FUZZ_CHECK(spec != NULL);
	memcpy(spec, data, slen);
	spec[slen] = '\0';
	rc = corio__faults_parse(&f, spec);
	check_parse(&f, rc, spec);
	if (rc == 0 && nl) {
		const uint8_t *ops = nl + 1;
		size_t nops = size - slen - 1;

		for (size_t i = 0; i < nops && i < MAX_OPS; i++) {
			uint32_t len = i + 1 < nops ? (uint32_t)ops[i + 1] << (ops[i] & 15) : 4096;

			check_apply(&f, ops[i], len, i);
		}
	}
	free(spec);
	return 0;
}
