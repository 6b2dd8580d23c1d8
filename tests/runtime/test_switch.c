/* tests/runtime/test_switch.c: the context switch as tasks see it (runtime/core/): locals of
 * 1 000 tasks, round-robin yields, callee-saved registers, doubles and the FP control state
 * across yields, and deep recursion within the stack's limits (guarded and packed stacks).
 */
#define _GNU_SOURCE
#include "tests/support/helpers.h"
#include "tests/runtime/runtime_helpers.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/utsname.h>

/* ==== switches: locals ================================================================ */

#define LOC_TASKS 1000
#define LOC_ROUNDS 40
#define LOC_WORDS 24

static uint64_t loc_step(uint64_t x, uint64_t id)
{
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return x + id;
}

/* The same arithmetic as locals_task, without yields. */
static uint64_t loc_ref(uint64_t id)
{
	uint64_t acc = id * 0x9e3779b97f4a7c15ull + 1, a = id, b = ~id, c = id << 17, d = id * 3;

	for (int r = 0; r < LOC_ROUNDS; r++) {
		acc = loc_step(acc, id);
		a += acc;
		b ^= acc;
		c = c * 31 + a;
		d -= b;
	}
	return acc ^ a ^ (b << 1) ^ (c << 2) ^ (d << 3);
}

static void *locals_task(void *arg)
{
	uint64_t id = (uintptr_t)arg;
	volatile uint64_t words[LOC_WORDS];
	uint64_t acc = id * 0x9e3779b97f4a7c15ull + 1, a = id, b = ~id, c = id << 17, d = id * 3;

	for (int i = 0; i < LOC_WORDS; i++)
		words[i] = id * 1000003u + (uint64_t)i;
	for (int r = 0; r < LOC_ROUNDS; r++) {
		corio_yield();
		for (int i = 0; i < LOC_WORDS; i++)
			TH_CHECK(words[i] == id * 1000003u + (uint64_t)i);
		acc = loc_step(acc, id);
		a += acc;
		b ^= acc;
		c = c * 31 + a;
		d -= b;
	}
	TH_CHECK((acc ^ a ^ (b << 1) ^ (c << 2) ^ (d << 3)) == loc_ref(id));
	return TH_OK;
}

START_TEST(test_switch_locals_1000_tasks)
{
	run_batch_ok(NULL, locals_task, LOC_TASKS);
}
END_TEST

/* Yield order: every other ready task runs once, in FIFO order, before a yielder resumes. */
#define FIFO_TASKS 5
#define FIFO_ROUNDS 20
static int fifo_log[FIFO_TASKS * FIFO_ROUNDS];
static int fifo_n;

static void *fifo_task(void *arg)
{
	for (int r = 0; r < FIFO_ROUNDS; r++) {
		fifo_log[fifo_n++] = (int)(uintptr_t)arg;
		corio_yield();
	}
	return NULL;
}

static void *fifo_main(void *arg)
{
	TH_CHECK(spawn_gather(fifo_task, FIFO_TASKS, NULL) == 0);
	TH_CHECK(fifo_n == FIFO_TASKS * FIFO_ROUNDS);
	for (int k = 0; k < fifo_n; k++)
		TH_CHECK(fifo_log[k] == k % FIFO_TASKS);
	return TH_OK;
}

TH_TASK_TEST(test_yield_round_robin, fifo_main)

/* ==== switches: callee-saved registers ==================================================
 * th_regs_across_yield(seed) loads every callee-saved general register with a value derived
 * from seed, calls corio_yield, and returns how many of them changed. Written in assembly
 * so the compiler cannot keep the values anywhere else. */
#if defined(__x86_64__)
uint64_t th_regs_across_yield(uint64_t seed);
#define REG_LOAD(k, reg)                                                                     \
	"movabsq $0x" k k k k k k k k k k k k k k k k ", %rax\n\t"                            \
	"xorq %rdi, %rax\n\t"                                                                \
	"movq %rax, %" reg "\n\t"
#define REG_CHECK(k, reg)                                                                    \
	"movabsq $0x" k k k k k k k k k k k k k k k k ", %rcx\n\t"                            \
	"xorq %rdi, %rcx\n\t"                                                                \
	"xorl %edx, %edx\n\t"                                                                \
	"cmpq %rcx, %" reg "\n\t"                                                            \
	"setne %dl\n\t"                                                                      \
	"addq %rdx, %rax\n\t"
__asm__(".text\n\t"
	".globl th_regs_across_yield\n\t"
	".type th_regs_across_yield, @function\n"
	"th_regs_across_yield:\n\t"
	".cfi_startproc\n\t"
	"pushq %rbx\n\t.cfi_adjust_cfa_offset 8\n\t"
	"pushq %rbp\n\t.cfi_adjust_cfa_offset 8\n\t"
	"pushq %r12\n\t.cfi_adjust_cfa_offset 8\n\t"
	"pushq %r13\n\t.cfi_adjust_cfa_offset 8\n\t"
	"pushq %r14\n\t.cfi_adjust_cfa_offset 8\n\t"
	"pushq %r15\n\t.cfi_adjust_cfa_offset 8\n\t"
	"subq $8, %rsp\n\t.cfi_adjust_cfa_offset 8\n\t" /* rsp % 16 == 0 at the call */
	"movq %rdi, (%rsp)\n\t"
	REG_LOAD("1", "rbx") REG_LOAD("2", "rbp") REG_LOAD("3", "r12")
	REG_LOAD("4", "r13") REG_LOAD("5", "r14") REG_LOAD("6", "r15")
	"call corio_yield@PLT\n\t"
	"movq (%rsp), %rdi\n\t"
	"xorl %eax, %eax\n\t"
	REG_CHECK("1", "rbx") REG_CHECK("2", "rbp") REG_CHECK("3", "r12")
	REG_CHECK("4", "r13") REG_CHECK("5", "r14") REG_CHECK("6", "r15")
	"addq $8, %rsp\n\t.cfi_adjust_cfa_offset -8\n\t"
	"popq %r15\n\t.cfi_adjust_cfa_offset -8\n\t"
	"popq %r14\n\t.cfi_adjust_cfa_offset -8\n\t"
	"popq %r13\n\t.cfi_adjust_cfa_offset -8\n\t"
	"popq %r12\n\t.cfi_adjust_cfa_offset -8\n\t"
	"popq %rbp\n\t.cfi_adjust_cfa_offset -8\n\t"
	"popq %rbx\n\t.cfi_adjust_cfa_offset -8\n\t"
	"ret\n\t"
	".cfi_endproc\n\t"
	".size th_regs_across_yield, .-th_regs_across_yield\n\t");
#define HAVE_REGS_ASM 1
#endif

#define REG_TASKS 64
#define REG_ROUNDS 200

/* Register-heavy C: 12 accumulators live across every yield (the compiler keeps what it
 * can in callee-saved registers and spills the rest). */
static uint64_t heavy(uint64_t seed, bool yield)
{
	uint64_t a = seed, b = seed * 3, c = seed * 5, d = seed * 7, e = seed * 11, f = seed * 13;
	uint64_t g = seed * 17, h = seed * 19, i = seed * 23, j = seed * 29, k = seed * 31;
	uint64_t m = seed * 37;

	for (int r = 0; r < REG_ROUNDS; r++) {
		a += b ^ m;
		b += c ^ a;
		c += d ^ b;
		d += e ^ c;
		e += f ^ d;
		f += g ^ e;
		g += h ^ f;
		h += i ^ g;
		i += j ^ h;
		j += k ^ i;
		k += m ^ j;
		m += a ^ k;
		if (yield)
			corio_yield();
	}
	return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ i ^ j ^ k ^ m;
}

static void *regs_task(void *arg)
{
	uint64_t id = (uintptr_t)arg;

#ifdef HAVE_REGS_ASM
	for (uint64_t r = 0; r < REG_ROUNDS; r++) {
		uint64_t bad = th_regs_across_yield(id * 0x100000001ull + r);

		TH_CHECK(bad == 0);
	}
#endif
	TH_CHECK(heavy(id + 1, true) == heavy(id + 1, false));
	return TH_OK;
}

START_TEST(test_switch_callee_saved_registers)
{
	run_batch_ok(NULL, regs_task, REG_TASKS);
}
END_TEST

/* ==== switches: doubles and the FP control state ======================================= */

#define DBL_TASKS 16
#define DBL_ROUNDS 300

static __attribute__((noinline)) double dbl_compute(double seed, bool yield)
{
	double x = seed, y = 1.0 / (seed + 1.0), z = seed * 0.5;

	for (int i = 0; i < DBL_ROUNDS; i++) {
		x = x * 1.0000001 + y / (double)(i + 1);
		y = y * 0.999 + z * 1e-3;
		z = sqrt(x * x + y * y) - z * 0.25;
		if (yield)
			corio_yield();
	}
	return x + y * 3.0 + z * 7.0;
}

static void *dbl_task(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	double got = dbl_compute((double)id + 0.125, true);
	double want = dbl_compute((double)id + 0.125, false);

	TH_CHECK(memcmp(&got, &want, sizeof want) == 0);
	return TH_OK;
}

START_TEST(test_switch_doubles_across_yields)
{
	run_batch_ok(NULL, dbl_task, DBL_TASKS);
}
END_TEST

/* The FP control state is per coroutine: one task switches to "round upward" (MXCSR and the
 * x87 control word on x86-64, FPCR on AArch64); another keeps round-to-nearest; the
 * scheduler's (the thread's) state is untouched after corio_run. */
#if defined(__x86_64__)
#define FP_DEFAULT_MXCSR 0x1f80u
#define FP_UP_MXCSR (0x1f80u | 0x4000u) /* RC = 10: toward +inf */
#define FP_DEFAULT_CW 0x037fu
#define FP_UP_CW (0x037fu | 0x0800u)
static unsigned get_mxcsr(void)
{
	unsigned v;

	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}
static void set_mxcsr(unsigned v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}
static unsigned get_x87cw(void)
{
	unsigned short v;

	__asm__ volatile("fnstcw %0" : "=m"(v));
	return v;
}
static void set_x87cw(unsigned v)
{
	unsigned short s = (unsigned short)v;

	__asm__ volatile("fldcw %0" : : "m"(s));
}
#elif defined(__aarch64__)
#define FPCR_RMODE_MASK (3ull << 22)
#define FPCR_RP (1ull << 22) /* RMode = 01: toward +inf */
static uint64_t get_fpcr(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, fpcr" : "=r"(v));
	return v;
}
static void set_fpcr(uint64_t v)
{
	__asm__ volatile("msr fpcr, %0" : : "r"(v));
}
#endif

static volatile double fp_two_and_half = 2.5;
static volatile long double fp_two_and_half_l = 2.5L;

static void *fp_up_task(void *arg)
{
#if defined(__x86_64__)
	set_mxcsr(FP_UP_MXCSR);
	set_x87cw(FP_UP_CW);
#elif defined(__aarch64__)
	set_fpcr((get_fpcr() & ~FPCR_RMODE_MASK) | FPCR_RP);
#endif
	for (int i = 0; i < 100; i++) {
		corio_yield();
#if defined(__x86_64__)
		TH_CHECK(get_mxcsr() == FP_UP_MXCSR);
		TH_CHECK(get_x87cw() == FP_UP_CW);
		TH_CHECK(nearbyintl(fp_two_and_half_l) == 3.0L); /* x87 frndint */
#elif defined(__aarch64__)
		TH_CHECK((get_fpcr() & FPCR_RMODE_MASK) == FPCR_RP);
#endif
		TH_CHECK(nearbyint(fp_two_and_half) == 3.0);
	}
	return TH_OK;
}

static void *fp_default_task(void *arg)
{
	for (int i = 0; i < 100; i++) {
		corio_yield();
#if defined(__x86_64__)
		TH_CHECK(get_mxcsr() == FP_DEFAULT_MXCSR);
		TH_CHECK(get_x87cw() == FP_DEFAULT_CW);
		TH_CHECK(nearbyintl(fp_two_and_half_l) == 2.0L);
#elif defined(__aarch64__)
		TH_CHECK((get_fpcr() & FPCR_RMODE_MASK) == 0);
#endif
		TH_CHECK(nearbyint(fp_two_and_half) == 2.0);
	}
	return TH_OK;
}

/* Task i: the odd ones round upward, so the four interleave default, up, default, up. */
static void *fp_task(void *arg)
{
	return (uintptr_t)arg % 2 ? fp_up_task(arg) : fp_default_task(arg);
}

static void *fp_main(void *arg)
{
	void *res[4], *failed;

	TH_CHECK(spawn_gather(fp_task, 4, res) == 0);
	if ((failed = first_failure(res, 4)))
		return failed;
	/* The main task never changed its own state. */
	TH_CHECK(nearbyint(fp_two_and_half) == 2.0);
	return TH_OK;
}

START_TEST(test_switch_fp_control_state)
{
#if defined(__x86_64__)
	unsigned mx = get_mxcsr(), cw = get_x87cw();
#elif defined(__aarch64__)
	uint64_t fpcr = get_fpcr();
#endif

	TH_RUN_EXPECT_OK(NULL, fp_main, NULL);
#if defined(__x86_64__)
	ck_assert_uint_eq(get_mxcsr(), mx);
	ck_assert_uint_eq(get_x87cw(), cw);
#elif defined(__aarch64__)
	ck_assert_uint_eq(get_fpcr(), fpcr);
#endif
}
END_TEST

/* ==== deep recursion within the stack's limits ======================================== */

#define DEEP_BYTES (40u * 1024u)

static __attribute__((noinline)) uint64_t deep_rec(uintptr_t top, unsigned level, size_t *used)
{
	volatile uint8_t buf[200];
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uint64_t sum = 0;

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(level * 7 + i);
	if (top - here < DEEP_BYTES) {
		sum = deep_rec(top, level + 1, used);
	} else {
		*used = top - here;
		/* Switch away and back with 40 KiB of frames below us. */
		corio_yield();
		corio_yield();
	}
	for (size_t i = 0; i < sizeof buf; i++)
		if (buf[i] != (uint8_t)(level * 7 + i))
			return UINT64_MAX;
	return sum == UINT64_MAX ? sum : sum + 1;
}

static void *deep_task(void *arg)
{
	uintptr_t top = (uintptr_t)__builtin_frame_address(0);
	size_t used = 0;
	uint64_t levels = deep_rec(top, 0, &used);

	TH_CHECK(levels != UINT64_MAX);
	TH_CHECK(used >= DEEP_BYTES);
	TH_CHECK(levels > 10);
	return TH_OK;
}

START_TEST(test_deep_recursion_guarded_and_packed)
{
	static const corio_stack_kind kinds[] = { CORIO_STACK_GUARDED, CORIO_STACK_PACKED };

	for (size_t k = 0; k < 2; k++) {
		corio_config cfg = th_config();

		cfg.stack_size = 64 * 1024;
		cfg.stack_kind = kinds[k];
		run_batch_ok(&cfg, deep_task, 4);
	}
}
END_TEST

int main(void)
{
	return th_main(TH_SUITE("switch", TH_TIMEOUT, test_switch_locals_1000_tasks, test_yield_round_robin, test_switch_callee_saved_registers, test_switch_doubles_across_yields, test_switch_fp_control_state, test_deep_recursion_guarded_and_packed));
}
