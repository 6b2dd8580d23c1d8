/* tests/runtime/test_runtime.c: the runtime's Check suite (include/corio/runtime.h, runtime/).
 *
 * Switch correctness (locals, callee-saved registers, doubles and the FP control state
 * across yields, deep stacks), spawn/join/detach, sleep, cancellation (before the first
 * run, while parked, racing the completion, sticky, shields), timeout scopes, gather and
 * wait_any, ring pressure (SQ smaller than the parked tasks, CQ overflow, 100 000 tasks),
 * the ring-flag fallback, teardown with operations pending, deadlock detection, fairness,
 * idle CPU, syscall-free yields, misuse (-EPERM, -EBUSY), statistics, stack kinds, and
 * two loops on two threads.
 *
 * Every assertion about time is an ordering or a lower bound ("slept at least what it
 * asked"), or an upper bound far from anything a slow machine would reach that only a
 * functional failure can cross (a 10 s sleep that must end by cancellation within 5 s;
 * the idle-CPU bound).
 */
#define _GNU_SOURCE
#include "tests/support/helpers.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/utsname.h>

/* ==== switches: locals ================================================================ */

#define LOC_TASKS 1000
#define LOC_ROUNDS 40
#define LOC_WORDS 24

static uint64_t loc_out[LOC_TASKS];

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
	loc_out[id] = acc ^ a ^ (b << 1) ^ (c << 2) ^ (d << 3);
	return TH_OK;
}

static void *locals_main(void *arg)
{
	static corio_task *t[LOC_TASKS];
	static void *res[LOC_TASKS];

	for (uintptr_t i = 0; i < LOC_TASKS; i++)
		TH_CHECK((t[i] = corio_spawn(locals_task, (void *)i)) != NULL);
	TH_CHECK(corio_gather(t, LOC_TASKS, res) == 0);
	for (int i = 0; i < LOC_TASKS; i++) {
		if (res[i])
			return res[i];
		TH_CHECK(loc_out[i] == loc_ref((uint64_t)i));
	}
	return TH_OK;
}

START_TEST(test_switch_locals_1000_tasks)
{
	TH_RUN_EXPECT_OK(NULL, locals_main, NULL);
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
	corio_task *t[FIFO_TASKS];

	for (uintptr_t i = 0; i < FIFO_TASKS; i++)
		TH_CHECK((t[i] = corio_spawn(fifo_task, (void *)i)) != NULL);
	TH_CHECK(corio_gather(t, FIFO_TASKS, NULL) == 0);
	TH_CHECK(fifo_n == FIFO_TASKS * FIFO_ROUNDS);
	for (int k = 0; k < fifo_n; k++)
		TH_CHECK(fifo_log[k] == k % FIFO_TASKS);
	return TH_OK;
}

START_TEST(test_yield_round_robin)
{
	TH_RUN_EXPECT_OK(NULL, fifo_main, NULL);
}
END_TEST

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

static uint64_t heavy_out[REG_TASKS];

static void *regs_task(void *arg)
{
	uint64_t id = (uintptr_t)arg;

#ifdef HAVE_REGS_ASM
	for (uint64_t r = 0; r < REG_ROUNDS; r++) {
		uint64_t bad = th_regs_across_yield(id * 0x100000001ull + r);

		TH_CHECK(bad == 0);
	}
#endif
	heavy_out[id] = heavy(id + 1, true);
	return TH_OK;
}

static void *regs_main(void *arg)
{
	corio_task *t[REG_TASKS];
	void *res[REG_TASKS];

	for (uintptr_t i = 0; i < REG_TASKS; i++)
		TH_CHECK((t[i] = corio_spawn(regs_task, (void *)i)) != NULL);
	TH_CHECK(corio_gather(t, REG_TASKS, res) == 0);
	for (int i = 0; i < REG_TASKS; i++) {
		if (res[i])
			return res[i];
		TH_CHECK(heavy_out[i] == heavy((uint64_t)i + 1, false));
	}
	return TH_OK;
}

START_TEST(test_switch_callee_saved_registers)
{
	TH_RUN_EXPECT_OK(NULL, regs_main, NULL);
}
END_TEST

/* ==== switches: doubles and the FP control state ======================================= */

#define DBL_TASKS 16
#define DBL_ROUNDS 300
static double dbl_out[DBL_TASKS];

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

	dbl_out[id] = dbl_compute((double)id + 0.125, true);
	return NULL;
}

static void *dbl_main(void *arg)
{
	corio_task *t[DBL_TASKS];

	for (uintptr_t i = 0; i < DBL_TASKS; i++)
		TH_CHECK((t[i] = corio_spawn(dbl_task, (void *)i)) != NULL);
	TH_CHECK(corio_gather(t, DBL_TASKS, NULL) == 0);
	for (int i = 0; i < DBL_TASKS; i++) {
		double want = dbl_compute((double)i + 0.125, false);

		TH_CHECK(memcmp(&dbl_out[i], &want, sizeof want) == 0);
	}
	return TH_OK;
}

START_TEST(test_switch_doubles_across_yields)
{
	TH_RUN_EXPECT_OK(NULL, dbl_main, NULL);
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

static void *fp_main(void *arg)
{
	corio_task *t[4];
	void *res[4];

	/* Interleaved: default, up, default, up. */
	for (int i = 0; i < 4; i++)
		TH_CHECK((t[i] = corio_spawn(i % 2 ? fp_up_task : fp_default_task, NULL)) != NULL);
	TH_CHECK(corio_gather(t, 4, res) == 0);
	for (int i = 0; i < 4; i++)
		if (res[i])
			return res[i];
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

static void *deep_main(void *arg)
{
	corio_task *t[4];
	void *res[4];

	for (int i = 0; i < 4; i++)
		TH_CHECK((t[i] = corio_spawn(deep_task, NULL)) != NULL);
	TH_CHECK(corio_gather(t, 4, res) == 0);
	for (int i = 0; i < 4; i++)
		if (res[i])
			return res[i];
	return TH_OK;
}

START_TEST(test_deep_recursion_guarded_and_packed)
{
	static const corio_stack_kind kinds[] = { CORIO_STACK_GUARDED, CORIO_STACK_PACKED };

	for (size_t k = 0; k < 2; k++) {
		corio_config cfg = th_config();

		cfg.stack_size = 64 * 1024;
		cfg.stack_kind = kinds[k];
		TH_RUN_EXPECT_OK(&cfg, deep_main, NULL);
	}
}
END_TEST

/* ==== spawn, join, detach ============================================================== */

static void *plus_one(void *arg)
{
	corio_yield();
	return (void *)((uintptr_t)arg + 1);
}

static int detached_done;
static void *detached_sleeper(void *arg)
{
	if (corio_sleep(CORIO_MS(1)) == 0)
		detached_done++;
	return NULL;
}

static int quick_ran;
static void *quick(void *arg)
{
	quick_ran++;
	return (void *)(uintptr_t)7;
}

static void *spawn_join_main(void *arg)
{
	corio_statistics st;
	void *res;

	TH_CHECK(corio_current() != NULL);
	for (uintptr_t i = 0; i < 50; i++) {
		corio_task *t = corio_spawn(plus_one, (void *)i);

		TH_CHECK(t != NULL);
		res = NULL;
		TH_CHECK(corio_join(t, &res) == 0);
		TH_CHECK((uintptr_t)res == i + 1);
	}
	/* Join after the task finished; result NULL is allowed. */
	{
		corio_task *t = corio_spawn(quick, NULL);

		TH_CHECK(t != NULL);
		while (quick_ran == 0)
			corio_yield();
		TH_CHECK(corio_join(t, NULL) == 0);
	}
	/* Detached tasks run to completion and free themselves. */
	for (int i = 0; i < 20; i++) {
		corio_task *t = corio_spawn(detached_sleeper, NULL);

		TH_CHECK(t != NULL);
		corio_detach(t);
	}
	/* Detaching a finished task frees it at once. */
	{
		corio_task *t = corio_spawn(quick, NULL);

		TH_CHECK(t != NULL);
		while (quick_ran == 1)
			corio_yield();
		corio_detach(t);
	}
	for (int i = 0; i < 10000 && detached_done < 20; i++)
		TH_CHECK(corio_sleep(CORIO_MS(1)) == 0);
	TH_CHECK(detached_done == 20);
	TH_CHECK(corio_stats(&st) == 0);
	TH_CHECK(st.tasks_live == 1);
	TH_CHECK(st.tasks_spawned == 1 + 50 + 1 + 20 + 1);
	/* Misuse. */
	TH_CHECK(corio_join(corio_current(), NULL) == -EDEADLK);
	TH_CHECK(corio_join(NULL, NULL) == -EINVAL);
	errno = 0;
	TH_CHECK(corio_spawn(NULL, NULL) == NULL);
	TH_CHECK(errno == EINVAL);
	return (void *)(uintptr_t)99;
}

START_TEST(test_spawn_join_detach)
{
	void *res = TH_RUN(spawn_join_main, NULL);

	ck_assert_ptr_eq(res, (void *)(uintptr_t)99);
}
END_TEST

/* corio_run returns only when every non-detached task finished, joined or not. */
static int unjoined_done;
static void *unjoined_task(void *arg)
{
	if (corio_sleep(CORIO_MS(20)) == 0)
		unjoined_done = 1;
	return NULL;
}

static void *unjoined_main(void *arg)
{
	TH_CHECK(corio_spawn(unjoined_task, NULL) != NULL);
	return TH_OK;
}

START_TEST(test_run_waits_for_unjoined_tasks)
{
	TH_RUN_EXPECT_OK(NULL, unjoined_main, NULL);
	ck_assert_int_eq(unjoined_done, 1);
}
END_TEST

/* Regression: the main task (corio_current() in fn) is owned by corio_run. Joining it from
 * another task, or detaching it, freed it while corio_run still read it (heap use after
 * free in run.c main_done, caught by ASan). Either call must leave corio_run working. */
static corio_task *main_task;
static int main_join_rc = 1;

static void *join_main_task(void *arg)
{
	TH_CHECK(corio_sleep(CORIO_MS(5)) == 0); /* main has finished by now */
	main_join_rc = corio_join(main_task, NULL);
	return TH_OK;
}

static void *main_joined_main(void *arg)
{
	corio_task *t;

	main_task = corio_current();
	/* Not joined: corio_run waits for it after main returned. */
	TH_CHECK((t = corio_spawn(join_main_task, NULL)) != NULL);
	return (void *)(uintptr_t)11;
}

static void *main_detached_main(void *arg)
{
	corio_detach(corio_current());
	TH_CHECK(corio_sleep(CORIO_MS(1)) == 0);
	return (void *)(uintptr_t)12;
}

START_TEST(test_main_task_join_or_detach)
{
	ck_assert_ptr_eq(TH_RUN(main_joined_main, NULL), (void *)(uintptr_t)11);
	ck_assert_msg(main_join_rc == -EINVAL || main_join_rc == 0, "join(main) = %d",
		      main_join_rc);
	ck_assert_ptr_eq(TH_RUN(main_detached_main, NULL), (void *)(uintptr_t)12);
}
END_TEST

/* ==== cancellation ===================================================================== */

static void *sleep10s_rc(void *arg)
{
	*(int *)arg = corio_sleep(CORIO_SEC(10));
	return (void *)(uintptr_t)42;
}

static void *cancel_sleeping_main(void *arg)
{
	int rc = 1;
	void *res = NULL;
	corio_task *t = corio_spawn(sleep10s_rc, &rc);
	uint64_t t0;

	TH_CHECK(t != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(5)) == 0);
	TH_CHECK(rc == 1); /* still sleeping */
	t0 = corio_now();
	corio_cancel(t);
	TH_CHECK(corio_join(t, &res) == -ECANCELED);
	TH_CHECK(rc == -ECANCELED);
	TH_CHECK((uintptr_t)res == 42); /* the result fn returned, though cancelled */
	/* Ended by the cancellation, long before its own deadline. */
	TH_CHECK(corio_now() - t0 < CORIO_SEC(5));
	TH_CHECK(!corio_cancelled());
	return TH_OK;
}

START_TEST(test_cancel_sleeping_task)
{
	TH_RUN_EXPECT_OK(NULL, cancel_sleeping_main, NULL);
}
END_TEST

/* Regression: a "sleep forever" (the largest duration) must sleep, not wrap around. */
static void *sleep_forever(void *arg)
{
	*(int *)arg = corio_sleep(UINT64_MAX);
	return NULL;
}

static void *sleep_forever_main(void *arg)
{
	int rc = 1;
	corio_task *t = corio_spawn(sleep_forever, &rc);

	TH_CHECK(t != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(20)) == 0);
	TH_CHECK(rc == 1); /* still asleep after 20 ms */
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	TH_CHECK(rc == -ECANCELED);
	return TH_OK;
}

START_TEST(test_sleep_max_duration_does_not_wrap)
{
	TH_RUN_EXPECT_OK(NULL, sleep_forever_main, NULL);
}
END_TEST

static void *cancel_before_run_main(void *arg)
{
	void *res = (void *)1;
	corio_task *t = corio_spawn(quick, NULL);

	TH_CHECK(t != NULL);
	corio_cancel(t);
	corio_cancel(t); /* twice: no effect */
	TH_CHECK(corio_join(t, &res) == -ECANCELED);
	TH_CHECK(res == NULL);
	TH_CHECK(quick_ran == 0);
	/* Cancelling a finished task has no effect: the join reports its result. */
	t = corio_spawn(quick, NULL);
	TH_CHECK(t != NULL);
	while (quick_ran == 0)
		corio_yield();
	corio_cancel(t);
	TH_CHECK(corio_join(t, &res) == 0);
	TH_CHECK((uintptr_t)res == 7);
	/* Cancel of the detached, never-run kind. */
	t = corio_spawn(quick, NULL);
	TH_CHECK(t != NULL);
	corio_cancel(t);
	corio_detach(t);
	for (int i = 0; i < 10; i++)
		corio_yield();
	TH_CHECK(quick_ran == 1);
	return TH_OK;
}

START_TEST(test_cancel_before_first_run)
{
	TH_RUN_EXPECT_OK(NULL, cancel_before_run_main, NULL);
}
END_TEST

/* ---- cancel racing completion ---- */

#define RACE_ROUNDS 10000
enum { RACE_NOP, RACE_SLEEP, RACE_YIELD, RACE_JOIN, RACE_KINDS };

struct race {
	int kind;
	unsigned us;
	int phase; /* 1: in the first call, 2: in the second, 3: finished */
	int started, returned;
	int rc, rc2, rc_rejoin;
	bool cancelled_seen;
};

static void *race_helper(void *arg)
{
	corio_sleep(CORIO_US((uintptr_t)arg));
	return NULL;
}

static void *race_rejoin(void *arg)
{
	return (void *)(intptr_t)corio_join(arg, NULL);
}

static void *race_target(void *arg)
{
	struct race *r = arg;
	corio_task *helper = NULL;

	if (r->kind == RACE_JOIN) {
		/* Spawned before the call, so the call parks on a wait, not on a ring op. */
		helper = corio_spawn(race_helper, (void *)(uintptr_t)r->us);
		if (!helper)
			return NULL;
	}
	r->phase = 1;
	r->started++;
	switch (r->kind) {
	case RACE_NOP:
		r->rc = corio_nop();
		break;
	case RACE_SLEEP:
		r->rc = corio_sleep(CORIO_US(r->us));
		break;
	case RACE_YIELD:
		r->rc = corio_sleep(0);
		break;
	case RACE_JOIN:
		r->rc = corio_join(helper, NULL);
		break;
	}
	r->returned++;
	r->phase = 2;
	r->rc2 = corio_nop();
	if (r->kind == RACE_JOIN && r->rc != 0) /* interrupted: the helper is still ours */
		r->rc_rejoin = (int)(intptr_t)corio_shield(race_rejoin, helper);
	r->cancelled_seen = corio_cancelled();
	r->phase = 3;
	return r;
}

static void *race_main(void *arg)
{
	static struct race rs[RACE_ROUNDS];
	int seen_cancelled[RACE_KINDS] = { 0 }, seen_real_after_cancel[RACE_KINDS] = { 0 };
	int never_ran = 0;

	for (int i = 0; i < RACE_ROUNDS; i++) {
		struct race *r = &rs[i];
		corio_task *t;
		int k = (i / RACE_KINDS) % 7, jr, phase;
		void *res = NULL;

		r->kind = i % RACE_KINDS;
		r->us = 1 + (unsigned)(i * 7919u) % 40;
		TH_CHECK((t = corio_spawn(race_target, r)) != NULL);
		for (int j = 0; j < k; j++)
			corio_yield();
		phase = r->phase; /* where the cancellation finds the target */
		corio_cancel(t);
		jr = corio_join(t, &res);
		TH_CHECK(jr == (phase == 3 ? 0 : -ECANCELED));
		TH_CHECK(r->started <= 1);
		TH_CHECK(r->returned == r->started); /* the call returned exactly once */
		if (!r->started) {
			TH_CHECK(phase == 0);
			TH_CHECK(res == NULL);
			never_ran++;
			continue;
		}
		TH_CHECK(res == r);
		TH_CHECK(r->phase == 3);
		TH_CHECK(r->rc == 0 || r->rc == -ECANCELED);
		TH_CHECK(r->cancelled_seen == (phase != 3));
		if (phase == 1) /* sticky: the next blocking call fails */
			TH_CHECK(r->rc2 == -ECANCELED);
		else if (phase == 2) /* cancelled during the second call */
			TH_CHECK(r->rc2 == 0 || r->rc2 == -ECANCELED);
		else
			TH_CHECK(r->rc2 == 0);
		if (r->kind == RACE_JOIN && r->rc != 0)
			TH_CHECK(r->rc_rejoin == 0);
		if (phase != 1)
			continue;
		if (r->rc == -ECANCELED)
			seen_cancelled[r->kind]++;
		else
			seen_real_after_cancel[r->kind]++;
	}
	fprintf(stderr,
		"cancel race: never ran %d; interrupted nop/sleep/yield/join %d/%d/%d/%d; "
		"real result although cancelled %d/%d/%d/%d\n",
		never_ran, seen_cancelled[0], seen_cancelled[1], seen_cancelled[2],
		seen_cancelled[3], seen_real_after_cancel[0], seen_real_after_cancel[1],
		seen_real_after_cancel[2], seen_real_after_cancel[3]);
	/* The schedule covered: never ran, interrupted, completed although cancelled. */
	TH_CHECK(never_ran > 0);
	TH_CHECK(seen_cancelled[RACE_SLEEP] > 0);
	TH_CHECK(seen_cancelled[RACE_JOIN] > 0);
	TH_CHECK(seen_real_after_cancel[RACE_NOP] > 0);
	TH_CHECK(seen_real_after_cancel[RACE_YIELD] > 0);
	return TH_OK;
}

START_TEST(test_cancel_racing_completion)
{
	TH_RUN_EXPECT_OK(NULL, race_main, NULL);
}
END_TEST

/* ---- sticky cancellation and shields ---- */

struct sticky {
	int r[16];
};

static void *shield_body(void *arg)
{
	int *out = arg;

	out[0] = corio_nop();
	out[1] = corio_sleep(CORIO_MS(1));
	out[2] = corio_cancelled();
	return (void *)(uintptr_t)5;
}

/* Scopes entered inside a shield still apply. */
static void *scoped_sleep(void *arg)
{
	corio_timeout to;
	int rc;

	corio_timeout_enter(&to, CORIO_MS(5));
	rc = corio_sleep(CORIO_SEC(10));
	if (!corio_timeout_exit(&to))
		return (void *)(intptr_t)1;
	return (void *)(intptr_t)rc;
}

static void *sticky_task(void *arg)
{
	struct sticky *s = arg;
	int sh[3] = { 1, 1, 1 };
	corio_task *child;

	s->r[0] = corio_sleep(CORIO_SEC(10));
	s->r[1] = corio_nop();
	s->r[2] = corio_sleep(CORIO_MS(1));
	s->r[3] = corio_sleep(0);
	s->r[4] = corio_cancelled();
	s->r[5] = (int)(uintptr_t)corio_shield(shield_body, sh);
	s->r[6] = sh[0];
	s->r[7] = sh[1];
	s->r[8] = sh[2];
	s->r[9] = corio_nop();
	child = corio_spawn(quick, NULL);
	s->r[10] = child ? corio_join(child, NULL) : 1; /* -ECANCELED, child not freed */
	if (child)
		corio_detach(child);
	s->r[11] = corio_sleep_until(corio_now() + CORIO_MS(1));
	s->r[12] = (int)(intptr_t)corio_shield(scoped_sleep, NULL);
	return NULL;
}

static void *sticky_main(void *arg)
{
	struct sticky s;
	corio_task *t;

	memset(&s, 0x55, sizeof s);
	TH_CHECK((t = corio_spawn(sticky_task, &s)) != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(2)) == 0);
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	TH_CHECK(s.r[0] == -ECANCELED);
	TH_CHECK(s.r[1] == -ECANCELED);
	TH_CHECK(s.r[2] == -ECANCELED);
	TH_CHECK(s.r[3] == -ECANCELED);
	TH_CHECK(s.r[4] == 1);
	TH_CHECK(s.r[5] == 5);
	TH_CHECK(s.r[6] == 0);  /* nop inside the shield */
	TH_CHECK(s.r[7] == 0);  /* sleep inside the shield */
	TH_CHECK(s.r[8] == 1);  /* corio_cancelled() still says so */
	TH_CHECK(s.r[9] == -ECANCELED);
	TH_CHECK(s.r[10] == -ECANCELED);
	TH_CHECK(s.r[11] == -ECANCELED);
	TH_CHECK(s.r[12] == -ETIMEDOUT);
	return TH_OK;
}

START_TEST(test_cancel_sticky_and_shield)
{
	TH_RUN_EXPECT_OK(NULL, sticky_main, NULL);
}
END_TEST

/* A cancellation that arrives while the task sleeps inside a shield waits for the shield. */
static void *shielded_sleep(void *arg)
{
	*(int *)arg = corio_sleep(CORIO_MS(30));
	return NULL;
}

static void *shield_pending_task(void *arg)
{
	int *r = arg;
	uint64_t t0 = corio_now();

	corio_shield(shielded_sleep, &r[0]);
	r[1] = corio_now() - t0 >= CORIO_MS(30);
	r[2] = corio_nop();
	return NULL;
}

static void *shield_pending_main(void *arg)
{
	int r[3] = { 1, 0, 1 };
	corio_task *t = corio_spawn(shield_pending_task, r);

	TH_CHECK(t != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(5)) == 0);
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	TH_CHECK(r[0] == 0);
	TH_CHECK(r[1] == 1);
	TH_CHECK(r[2] == -ECANCELED);
	return TH_OK;
}

START_TEST(test_cancel_pending_during_shield)
{
	TH_RUN_EXPECT_OK(NULL, shield_pending_main, NULL);
}
END_TEST

/* ==== sleep ============================================================================ */

static int order_log[3], order_n;

/* Deadlines from one base, read once by main: relative sleeps started one after the other
 * would reorder whenever the process is preempted between two starts for longer than their
 * 10 ms gap, which a loaded machine does. Expired timers complete in deadline order. */
static uint64_t order_base;

static void *sleep_order_task(void *arg)
{
	unsigned ms = (unsigned)(uintptr_t)arg;

	TH_CHECK(corio_sleep_until(order_base + CORIO_MS(ms)) == 0);
	TH_CHECK(corio_now() >= order_base + CORIO_MS(ms));
	order_log[order_n++] = (int)ms;
	return TH_OK;
}

static void *sleep_order_main(void *arg)
{
	static const unsigned ms[3] = { 30, 10, 20 };
	corio_task *t[3];
	void *res[3];
	uint64_t t0 = corio_now(), deadline = t0 + CORIO_MS(15);

	order_base = t0;
	for (int i = 0; i < 3; i++)
		TH_CHECK((t[i] = corio_spawn(sleep_order_task, (void *)(uintptr_t)ms[i])) != NULL);
	TH_CHECK(corio_gather(t, 3, res) == 0);
	for (int i = 0; i < 3; i++)
		if (res[i])
			return res[i];
	TH_CHECK(order_n == 3);
	TH_CHECK(order_log[0] == 10 && order_log[1] == 20 && order_log[2] == 30);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(30));
	/* sleep_until an absolute deadline; a deadline in the past returns at once. */
	TH_CHECK(corio_sleep_until(deadline + CORIO_MS(20)) == 0);
	TH_CHECK(corio_now() >= deadline + CORIO_MS(20));
	TH_CHECK(corio_sleep_until(t0) == 0);
	TH_CHECK(corio_sleep(0) == 0);
	return TH_OK;
}

START_TEST(test_sleep_order_and_lower_bound)
{
	TH_RUN_EXPECT_OK(NULL, sleep_order_main, NULL);
}
END_TEST

/* ==== timeout scopes =================================================================== */

static void *scope_inner_shorter(void *arg)
{
	corio_timeout outer, inner;
	uint64_t t0 = corio_now();

	corio_timeout_enter(&outer, CORIO_SEC(5));
	corio_timeout_enter(&inner, CORIO_MS(10));
	TH_CHECK(corio_nop() == 0); /* unexpired scope: the call succeeds */
	TH_CHECK(corio_sleep(CORIO_SEC(10)) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(10));
	TH_CHECK(corio_nop() == -ETIMEDOUT); /* still inside the expired scope */
	TH_CHECK(corio_timeout_exit(&inner) == true);
	TH_CHECK(corio_nop() == 0); /* the outer scope has time left */
	TH_CHECK(corio_sleep(CORIO_MS(1)) == 0);
	TH_CHECK(corio_timeout_exit(&outer) == false);
	return TH_OK;
}

static void *scope_outer_shorter(void *arg)
{
	corio_timeout outer, inner;
	uint64_t t0 = corio_now();

	corio_timeout_enter(&outer, CORIO_MS(10));
	corio_timeout_enter(&inner, CORIO_SEC(5));
	TH_CHECK(corio_nop() == 0);
	TH_CHECK(corio_sleep(CORIO_SEC(10)) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(10));
	TH_CHECK(corio_timeout_exit(&inner) == false); /* not its deadline */
	TH_CHECK(corio_nop() == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&outer) == true);
	TH_CHECK(corio_nop() == 0); /* no scope left */
	return TH_OK;
}

static void *scope_unexpired(void *arg)
{
	corio_timeout to, zero;
	int n = 0, rc;

	corio_timeout_enter(&to, CORIO_SEC(5));
	for (int i = 0; i < 100; i++)
		TH_CHECK(corio_nop() == 0);
	TH_CHECK(corio_sleep(CORIO_MS(2)) == 0);
	TH_CHECK(corio_timeout_exit(&to) == false);
	/* A short scope around a stream of nops: they succeed until the deadline, then fail. */
	corio_timeout_enter(&to, CORIO_MS(5));
	while ((rc = corio_nop()) == 0)
		n++;
	TH_CHECK(rc == -ETIMEDOUT);
	TH_CHECK(n > 0);
	TH_CHECK(corio_timeout_exit(&to) == true);
	/* A zero scope fails the first call. */
	corio_timeout_enter(&zero, 0);
	TH_CHECK(corio_nop() == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&zero) == true);
	/* A shield hides the enclosing scope; the first call after it fails. */
	{
		int rc_sleep = 1;

		corio_timeout_enter(&to, CORIO_MS(5));
		corio_shield(shielded_sleep, &rc_sleep); /* 30 ms */
		TH_CHECK(rc_sleep == 0);
		TH_CHECK(corio_nop() == -ETIMEDOUT);
		TH_CHECK(corio_timeout_exit(&to) == true);
	}
	return TH_OK;
}

/* Regression: a loop of corio_sleep(0) inside a timeout scope ends with -ETIMEDOUT once the
 * deadline passed, as corio_sleep_until(past) does and as corio_sleep(0) already does for
 * cancellation; it returned 0 forever. */
static void *scope_sleep0(void *arg)
{
	corio_timeout to;
	uint64_t t0 = corio_now();
	int rc;

	corio_timeout_enter(&to, CORIO_MS(5));
	while ((rc = corio_sleep(0)) == 0)
		if (corio_now() - t0 > CORIO_MS(500)) /* hang guard */
			break;
	corio_timeout_exit(&to);
	TH_CHECK(rc == -ETIMEDOUT);
	/* The same loop with corio_sleep_until(now) does end. */
	corio_timeout_enter(&to, CORIO_MS(5));
	while ((rc = corio_sleep_until(corio_now())) == 0)
		if (corio_now() - t0 > CORIO_SEC(5))
			break;
	TH_CHECK(corio_timeout_exit(&to));
	TH_CHECK(rc == -ETIMEDOUT);
	return TH_OK;
}

START_TEST(test_sleep0_in_expired_scope_times_out)
{
	TH_RUN_EXPECT_OK(NULL, scope_sleep0, NULL);
}
END_TEST

START_TEST(test_timeout_scopes_nested)
{
	TH_RUN_EXPECT_OK(NULL, scope_inner_shorter, NULL);
	TH_RUN_EXPECT_OK(NULL, scope_outer_shorter, NULL);
	TH_RUN_EXPECT_OK(NULL, scope_unexpired, NULL);
}
END_TEST

static void *scope_join_main(void *arg)
{
	int rc1 = 1, rc2 = 1;
	corio_task *t1 = corio_spawn(sleep10s_rc, &rc1), *t2 = corio_spawn(sleep10s_rc, &rc2);
	corio_task *ts[2] = { t1, t2 };
	corio_timeout to;
	uint64_t t0;
	void *res = NULL;

	TH_CHECK(t1 && t2);
	t0 = corio_now();
	corio_timeout_enter(&to, CORIO_MS(10));
	TH_CHECK(corio_join(t1, &res) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(10));
	TH_CHECK(corio_timeout_exit(&to) == true);
	TH_CHECK(rc1 == 1); /* t1 is untouched and still ours */

	t0 = corio_now();
	corio_timeout_enter(&to, CORIO_MS(10));
	TH_CHECK(corio_wait_any(ts, 2) == -ETIMEDOUT);
	TH_CHECK(corio_now() - t0 >= CORIO_MS(10));
	TH_CHECK(corio_timeout_exit(&to) == true);

	/* An unexpired scope around a join that succeeds. */
	corio_timeout_enter(&to, CORIO_SEC(5));
	{
		corio_task *q = corio_spawn(plus_one, (void *)(uintptr_t)1);

		TH_CHECK(q != NULL);
		TH_CHECK(corio_join(q, &res) == 0);
		TH_CHECK((uintptr_t)res == 2);
	}
	TH_CHECK(corio_timeout_exit(&to) == false);

	corio_cancel(t1);
	corio_cancel(t2);
	TH_CHECK(corio_join(t1, &res) == -ECANCELED);
	TH_CHECK((uintptr_t)res == 42);
	TH_CHECK(corio_join(t2, NULL) == -ECANCELED);
	TH_CHECK(rc1 == -ECANCELED && rc2 == -ECANCELED);
	return TH_OK;
}

/* A scope's deadline racing the completion of what runs inside it, 5000 times: each call
 * returns its real result or -ETIMEDOUT; once one timed out, later calls in the scope do
 * too; corio_timeout_exit says "fired" exactly when a call inside timed out; -ETIMEDOUT
 * never comes before the deadline, and a sleep that succeeded slept its whole time. */
#define TRACE_ROUNDS 5000

static void *trace_helper(void *arg)
{
	corio_sleep(CORIO_US((uintptr_t)arg));
	return arg;
}

static void *timeout_race_main(void *arg)
{
	int timed_out = 0, completed = 0;

	for (int i = 0; i < TRACE_ROUNDS; i++) {
		unsigned scope_us = 1 + (unsigned)(i * 7) % 60, op_us = 1 + (unsigned)(i * 13) % 60;
		corio_task *helper = NULL;
		corio_timeout to;
		uint64_t start = corio_now(), deadline;
		int rc, rc2;
		bool fired;

		if (i % 2) /* a wait (join) instead of a ring op */
			TH_CHECK((helper = corio_spawn(trace_helper, (void *)(uintptr_t)op_us)) != NULL);
		corio_timeout_enter(&to, CORIO_US(scope_us));
		deadline = start + CORIO_US(scope_us);
		rc = helper ? corio_join(helper, NULL) : corio_sleep(CORIO_US(op_us));
		rc2 = corio_nop();
		fired = corio_timeout_exit(&to);
		TH_CHECK(rc == 0 || rc == -ETIMEDOUT);
		if (rc == -ETIMEDOUT) {
			TH_CHECK(corio_now() >= deadline);
			TH_CHECK(rc2 == -ETIMEDOUT);
			timed_out++;
		} else {
			TH_CHECK(helper || corio_now() - start >= CORIO_US(op_us));
			TH_CHECK(rc2 == 0 || rc2 == -ETIMEDOUT);
			completed++;
		}
		TH_CHECK(fired == (rc == -ETIMEDOUT || rc2 == -ETIMEDOUT));
		if (helper && rc != 0)
			TH_CHECK(corio_join(helper, NULL) == 0); /* still ours */
	}
	TH_CHECK(timed_out > 0);
	TH_CHECK(completed > 0);
	return TH_OK;
}

START_TEST(test_timeout_racing_completion)
{
	TH_RUN_EXPECT_OK(NULL, timeout_race_main, NULL);
}
END_TEST

START_TEST(test_timeout_scope_around_join_and_wait_any)
{
	TH_RUN_EXPECT_OK(NULL, scope_join_main, NULL);
}
END_TEST

/* ==== gather and wait_any ============================================================== */

static int finish_log[5], finish_n;
static corio_event finished[5];

/* Task i finishes after task i + 1 (each waits for the next one's event, and the last first
 * sleeps a little): the finishing order is the reverse of the task order by construction,
 * never by how timers a few ms apart happen to fire on a loaded machine. */
static void *wait_then_square(void *arg)
{
	uintptr_t i = (uintptr_t)arg;

	if (i < 4)
		corio_event_wait(&finished[i + 1]);
	else
		corio_sleep(CORIO_MS(3));
	finish_log[finish_n++] = (int)i;
	corio_event_set(&finished[i]);
	return (void *)(i * i + 1);
}

static void *gather_main(void *arg)
{
	corio_task *t[5];
	void *res[5];
	int rc = 1;

	for (uintptr_t i = 0; i < 5; i++) {
		TH_CHECK(corio_event_init(&finished[i]) == 0);
		TH_CHECK((t[i] = corio_spawn(wait_then_square, (void *)i)) != NULL);
	}
	TH_CHECK(corio_gather(t, 5, res) == 0);
	for (uintptr_t i = 0; i < 5; i++) {
		TH_CHECK((uintptr_t)res[i] == i * i + 1);
		TH_CHECK(finish_log[i] == 4 - (int)i); /* they finished in reverse order */
	}
	/* One cancelled task: -ECANCELED, the others' results still delivered. */
	TH_CHECK((t[0] = corio_spawn(plus_one, (void *)(uintptr_t)10)) != NULL);
	TH_CHECK((t[1] = corio_spawn(sleep10s_rc, &rc)) != NULL);
	TH_CHECK((t[2] = corio_spawn(plus_one, (void *)(uintptr_t)20)) != NULL);
	corio_yield();
	corio_cancel(t[1]);
	TH_CHECK(corio_gather(t, 3, res) == -ECANCELED);
	TH_CHECK((uintptr_t)res[0] == 11 && (uintptr_t)res[1] == 42 && (uintptr_t)res[2] == 21);
	TH_CHECK(rc == -ECANCELED);
	TH_CHECK(corio_gather(t, 0, NULL) == 0);
	return TH_OK;
}

START_TEST(test_gather_results_in_order)
{
	TH_RUN_EXPECT_OK(NULL, gather_main, NULL);
}
END_TEST

#define GW_N 3
static int gw_rc[GW_N], gw_done;

static void *gather_worker(void *arg)
{
	gw_rc[(uintptr_t)arg] = corio_sleep(CORIO_SEC(10));
	gw_done++;
	return NULL;
}

struct gatherer {
	int rc;
	int done_at_return;
	bool timeout;
};

static void *gatherer(void *arg)
{
	struct gatherer *g = arg;
	corio_task *t[GW_N];
	corio_timeout to;

	for (uintptr_t i = 0; i < GW_N; i++)
		if (!(t[i] = corio_spawn(gather_worker, (void *)i)))
			return NULL;
	if (g->timeout)
		corio_timeout_enter(&to, CORIO_MS(10));
	g->rc = corio_gather(t, GW_N, NULL);
	if (g->timeout)
		corio_timeout_exit(&to);
	g->done_at_return = gw_done; /* the workers were cancelled and awaited */
	return NULL;
}

static void *gather_cancelled_main(void *arg)
{
	struct gatherer g = { .rc = 1 };
	corio_task *t = corio_spawn(gatherer, &g);

	TH_CHECK(t != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(5)) == 0);
	corio_cancel(t);
	TH_CHECK(corio_join(t, NULL) == -ECANCELED);
	TH_CHECK(g.rc == -ECANCELED);
	TH_CHECK(g.done_at_return == GW_N);
	for (int i = 0; i < GW_N; i++)
		TH_CHECK(gw_rc[i] == -ECANCELED);

	/* Same with the gatherer's timeout scope expiring instead. */
	gw_done = 0;
	memset(gw_rc, 0, sizeof gw_rc);
	g = (struct gatherer){ .rc = 1, .timeout = true };
	TH_CHECK((t = corio_spawn(gatherer, &g)) != NULL);
	TH_CHECK(corio_join(t, NULL) == 0);
	TH_CHECK(g.rc == -ETIMEDOUT);
	TH_CHECK(g.done_at_return == GW_N);
	for (int i = 0; i < GW_N; i++)
		TH_CHECK(gw_rc[i] == -ECANCELED);
	return TH_OK;
}

START_TEST(test_gather_when_caller_cancelled)
{
	TH_RUN_EXPECT_OK(NULL, gather_cancelled_main, NULL);
}
END_TEST

/* The tasks finish when the test says so (their events), never by timers racing each other
 * on a loaded machine. */
static corio_event any_go[3];

static void *wait_event_task(void *arg)
{
	corio_event_wait(&any_go[(uintptr_t)arg]);
	return arg;
}

static void *wait_any_main(void *arg)
{
	corio_task *t[3], *rest[2];

	TH_CHECK(corio_wait_any(t, 0) == -EINVAL);
	for (uintptr_t i = 0; i < 3; i++) {
		TH_CHECK(corio_event_init(&any_go[i]) == 0);
		TH_CHECK((t[i] = corio_spawn(wait_event_task, (void *)i)) != NULL);
	}
	corio_event_set(&any_go[1]);
	TH_CHECK(corio_wait_any(t, 3) == 1);
	TH_CHECK(corio_wait_any(t, 3) == 1); /* joins nothing: still finished */
	TH_CHECK(corio_join(t[1], NULL) == 0);
	rest[0] = t[0];
	rest[1] = t[2];
	corio_event_set(&any_go[2]);
	TH_CHECK(corio_wait_any(rest, 2) == 1);
	TH_CHECK(corio_wait_any(rest, 2) == 1);
	corio_event_set(&any_go[0]);
	TH_CHECK(corio_wait_any(rest, 1) == 0);
	/* Both finished now: the lowest index. */
	TH_CHECK(corio_wait_any(rest, 2) == 0);
	TH_CHECK(corio_gather(rest, 2, NULL) == 0);
	return TH_OK;
}

START_TEST(test_wait_any_first_finished)
{
	TH_RUN_EXPECT_OK(NULL, wait_any_main, NULL);
}
END_TEST

/* ==== ring pressure ==================================================================== */

#define SQ_SLEEPERS 10000
static int sq_rc[SQ_SLEEPERS];

static void *sq_sleeper(void *arg)
{
	sq_rc[(uintptr_t)arg] = corio_sleep(CORIO_MS(10)) == 0 ? 1 : -1;
	return arg;
}

static void *sq_small_main(void *arg)
{
	static corio_task *t[SQ_SLEEPERS];
	static void *res[SQ_SLEEPERS];
	corio_statistics st;
	corio_capabilities caps;

	TH_CHECK(corio_caps(&caps) == 0);
	TH_CHECK(caps.sq_entries == 8);
	for (uintptr_t i = 0; i < SQ_SLEEPERS; i++)
		TH_CHECK((t[i] = corio_spawn(sq_sleeper, (void *)i)) != NULL);
	TH_CHECK(corio_gather(t, SQ_SLEEPERS, res) == 0);
	for (uintptr_t i = 0; i < SQ_SLEEPERS; i++) {
		TH_CHECK(sq_rc[i] == 1);
		TH_CHECK(res[i] == (void *)i);
	}
	TH_CHECK(corio_stats(&st) == 0);
	TH_CHECK(st.sq_full_flushes > 0);
	TH_CHECK(st.tasks_live == 1);
	return TH_OK;
}

START_TEST(test_sq_smaller_than_parked_tasks)
{
	corio_config cfg = th_config();

	cfg.sq_entries = 8;
	TH_RUN_EXPECT_OK(&cfg, sq_small_main, NULL);
}
END_TEST

/* Every SQE corio prepares outside the ring is cleared first (liburing 2.6 and later leave
 * clearing to io_uring_get_sqe, which only sees the ring's own SQEs). Each call below
 * starts on a stack just filled with 0xff: a field left uncleared would carry IOSQE flags,
 * a buffer index, a personality... and the kernel would refuse the operation. Only the
 * compatibility build (make test-compat) can fail here; liburing 2.3 clears in its helpers. */
static __attribute__((noinline)) void dirty_stack(void)
{
	volatile unsigned char junk[16384];

	memset((void *)junk, 0xff, sizeof junk);
}

static void *garbage_main(void *arg)
{
	int sv[2];
	char b[8] = "ping", r[8];
	int fd;

	dirty_stack();
	TH_CHECK(corio_nop() == 0);
	dirty_stack();
	TH_CHECK(corio_sleep(CORIO_US(10)) == 0);
	dirty_stack();
	TH_CHECK((fd = corio_open("/dev/zero", O_RDONLY, 0)) >= 0);
	dirty_stack();
	TH_CHECK(corio_read(fd, r, sizeof r, -1) == (ssize_t)sizeof r);
	dirty_stack();
	TH_CHECK(corio_close(fd) == 0);
	TH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	dirty_stack();
	TH_CHECK(corio_send(sv[0], b, 4, 0) == 4);
	dirty_stack();
	TH_CHECK(corio_recv(sv[1], r, sizeof r, 0) == 4 && !memcmp(r, "ping", 4));
	corio_close(sv[0]);
	corio_close(sv[1]);
	return TH_OK;
}

START_TEST(test_sqe_cleared_over_stack_garbage)
{
	TH_RUN_EXPECT_OK(NULL, garbage_main, NULL);
}
END_TEST

#define CQ_TASKS 4000
static int cq_ok, cq_timers;
static uint64_t cq_deadline;

static void *cq_task(void *arg)
{
	if ((uintptr_t)arg % 2) {
		corio_timeout to;
		uint64_t now = corio_now();

		/* One clock read decides: a sleep of a positive length always arms a timer (a
		 * task that runs after the deadline, on a loaded machine, arms none). */
		cq_timers += now < cq_deadline;
		/* Inside a scope a sleep keeps a kernel timer of its own (sleeps that end
		 * together otherwise share one): thousands of timer CQEs at one instant. */
		corio_timeout_enter(&to, CORIO_SEC(30));
		if (corio_sleep(now < cq_deadline ? cq_deadline - now : 0) == 0)
			cq_ok++;
		corio_timeout_exit(&to);
	} else {
		int bad = 0;

		for (int i = 0; i < 5; i++)
			bad += corio_nop() != 0;
		if (!bad)
			cq_ok++;
	}
	return NULL;
}

static void *cq_overflow_main(void *arg)
{
	static corio_task *t[CQ_TASKS];
	corio_statistics st;
	corio_capabilities caps;

	TH_CHECK(corio_caps(&caps) == 0);
	TH_CHECK(caps.cq_entries == 16);
	for (uintptr_t i = 0; i < CQ_TASKS; i++)
		TH_CHECK((t[i] = corio_spawn(cq_task, (void *)i)) != NULL);
	/* Every timer fires at the same instant: thousands of CQEs for a 16-entry CQ. */
	cq_deadline = corio_now() + CORIO_MS(50);
	TH_CHECK(corio_gather(t, CQ_TASKS, NULL) == 0);
	TH_CHECK(cq_ok == CQ_TASKS);
	TH_CHECK(corio_stats(&st) == 0);
	/* Every CQE was reaped: the nops' and the timers'. */
	TH_CHECK(st.cqes_reaped >= (uint64_t)CQ_TASKS / 2 * 5 + (uint64_t)cq_timers);
	fprintf(stderr, "cq overflow: %d timers at once, cq_overflows=%llu sq_full_flushes=%llu\n",
		cq_timers, (unsigned long long)st.cq_overflows,
		(unsigned long long)st.sq_full_flushes);
	return TH_OK;
}

START_TEST(test_cq_overflow)
{
	corio_config cfg = th_config();

	cfg.sq_entries = 8;
	cfg.cq_entries = 16;
	TH_RUN_EXPECT_OK(&cfg, cq_overflow_main, NULL);
}
END_TEST

#define MANY_TASKS 100000
static void *many_task(void *arg)
{
	return corio_sleep(CORIO_MS(1)) == 0 ? arg : NULL;
}

static void *many_main(void *arg)
{
	static corio_task *t[MANY_TASKS];
	static void *res[MANY_TASKS];
	corio_statistics st;

	for (uintptr_t i = 0; i < MANY_TASKS; i++)
		TH_CHECK((t[i] = corio_spawn(many_task, (void *)(i + 1))) != NULL);
	TH_CHECK(corio_stats(&st) == 0);
	TH_CHECK(st.tasks_live == MANY_TASKS + 1);
	TH_CHECK(st.stacks_guarded + st.stacks_packed == MANY_TASKS + 1);
	TH_CHECK(corio_gather(t, MANY_TASKS, res) == 0);
	for (uintptr_t i = 0; i < MANY_TASKS; i++)
		TH_CHECK(res[i] == (void *)(i + 1));
	TH_CHECK(corio_stats(&st) == 0);
	TH_CHECK(st.tasks_live == 1);
	return TH_OK;
}

START_TEST(test_100k_concurrent_tasks)
{
	TH_RUN_EXPECT_OK(NULL, many_main, NULL);
}
END_TEST

/* ==== ring sizes ======================================================================= */

static void *caps_main(void *arg)
{
	TH_CHECK(corio_caps(arg) == 0);
	TH_CHECK(corio_nop() == 0);
	return TH_OK;
}

START_TEST(test_ring_sizes)
{
	corio_capabilities caps;
	corio_config cfg = th_config();

	TH_RUN_EXPECT_OK(&cfg, caps_main, &caps); /* defaults: 256 / 4096 */
	ck_assert_uint_eq(caps.sq_entries, 256);
	ck_assert_uint_ge(caps.cq_entries, 4096);
	cfg.sq_entries = 8;
	cfg.cq_entries = 4; /* never below 2 * sq */
	TH_RUN_EXPECT_OK(&cfg, caps_main, &caps);
	ck_assert_uint_eq(caps.sq_entries, 8);
	ck_assert_uint_ge(caps.cq_entries, 16);
	cfg.sq_entries = 1u << 30; /* more than io_uring allows: a bad config */
	cfg.cq_entries = 0;
	TH_RUN_CFG_RC(&cfg, caps_main, &caps, -EINVAL);
}
END_TEST

/* ==== ring flags ======================================================================= */

struct flags_case {
	unsigned disabled;
	corio_capabilities caps;
};

static void *flags_worker(void *arg)
{
	return (void *)(intptr_t)corio_sleep(CORIO_SEC(10));
}

static void *flags_main(void *arg)
{
	struct flags_case *fc = arg;
	char buf[128];
	corio_task *t;
	corio_timeout to;
	void *res;

	TH_CHECK(corio_caps(&fc->caps) == 0);
	TH_CHECK((fc->caps.ring_flags & fc->disabled) == 0);
	TH_CHECK(corio_caps_flags_str(&fc->caps, buf, sizeof buf) >= 0);
	if (fc->disabled & IORING_SETUP_DEFER_TASKRUN)
		TH_CHECK(strstr(buf, "DEFER_TASKRUN") == NULL);
	TH_CHECK(fc->caps.cq_entries >= 2 * fc->caps.sq_entries);
	TH_CHECK(corio_caps_has_op(&fc->caps, IORING_OP_NOP));
	TH_CHECK(corio_caps_has_op(&fc->caps, IORING_OP_TIMEOUT));
	TH_CHECK(fc->caps.kernel[0] != 0);
	/* The runtime works the same on the fallback ring. */
	TH_CHECK(corio_nop() == 0);
	TH_CHECK(corio_sleep(CORIO_MS(2)) == 0);
	TH_CHECK((t = corio_spawn(flags_worker, NULL)) != NULL);
	TH_CHECK(corio_sleep(CORIO_MS(2)) == 0);
	corio_cancel(t);
	TH_CHECK(corio_join(t, &res) == -ECANCELED);
	TH_CHECK((intptr_t)res == -ECANCELED);
	corio_timeout_enter(&to, CORIO_MS(5));
	TH_CHECK(corio_sleep(CORIO_SEC(10)) == -ETIMEDOUT);
	TH_CHECK(corio_timeout_exit(&to));
	return TH_OK;
}

static bool kernel_at_least(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a > maj || (a == maj && b >= min);
}

START_TEST(test_ring_flag_fallback)
{
	static const unsigned cases[] = {
		0,
		IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER,
		IORING_SETUP_SINGLE_ISSUER, /* DEFER_TASKRUN alone is refused: must drop it too */
		IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
			IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		corio_config cfg = th_config();
		struct flags_case fc = { .disabled = cases[i] };

		cfg.ring_flags_disable = cases[i];
		TH_RUN_EXPECT_OK(&cfg, flags_main, &fc);
		if (i == 0 && kernel_at_least(6, 1))
			ck_assert_msg((fc.caps.ring_flags &
				       (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER)) ==
					      (IORING_SETUP_DEFER_TASKRUN |
					       IORING_SETUP_SINGLE_ISSUER),
				      "kernel %s >= 6.1 but flags 0x%x", fc.caps.kernel,
				      fc.caps.ring_flags);
		if (i == 2)
			ck_assert_uint_eq(fc.caps.ring_flags & IORING_SETUP_DEFER_TASKRUN, 0);
	}
}
END_TEST

/* ==== teardown with pending operations ================================================= */

#define TD_SLEEPERS 50
static int td_resumed, td_rc_ok, td_never_ran = 1;

static void *td_sleeper(void *arg)
{
	int rc = corio_sleep(CORIO_SEC(10));

	td_resumed++;
	td_rc_ok += rc == -ECANCELED;
	return NULL;
}

static void *td_not_run(void *arg)
{
	td_never_ran = 0;
	return NULL;
}

static void *td_main(void *arg)
{
	corio_task *t;

	for (int i = 0; i < TD_SLEEPERS; i++) {
		TH_CHECK((t = corio_spawn(td_sleeper, NULL)) != NULL);
		corio_detach(t);
	}
	TH_CHECK(corio_sleep(CORIO_MS(5)) == 0);
	TH_CHECK((t = corio_spawn(td_not_run, NULL)) != NULL);
	corio_detach(t);
	return TH_OK;
}

START_TEST(test_teardown_with_pending_sleeps)
{
	uint64_t t0 = th_now();

	TH_RUN_EXPECT_OK(NULL, td_main, NULL);
	/* The detached sleepers were cancelled and awaited, not left for their 10 s. */
	ck_assert_uint_lt(th_now() - t0, CORIO_SEC(5));
	ck_assert_int_eq(td_resumed, TD_SLEEPERS);
	ck_assert_int_eq(td_rc_ok, TD_SLEEPERS);
	ck_assert_int_eq(td_never_ran, 1);
}
END_TEST

/* ==== deadlock detection =============================================================== */

static corio_task *dl_a, *dl_b, *dl_c;
static int dl_rc_a = 1, dl_rc_b = 1, dl_rc_c = 1, dl_rc_main = 1, dl_sleep_rc = 1;

static void *dl_join_b(void *arg)
{
	corio_yield();
	dl_rc_a = corio_join(dl_b, NULL);
	return NULL;
}

static void *dl_join_a(void *arg)
{
	corio_yield();
	dl_rc_b = corio_join(dl_a, NULL);
	return NULL;
}

static void *dl_sleeper(void *arg)
{
	dl_sleep_rc = corio_sleep(CORIO_MS(20));
	return NULL;
}

static void *dl_pair_main(void *arg)
{
	corio_task *s = arg ? corio_spawn(dl_sleeper, NULL) : NULL;

	dl_a = corio_spawn(dl_join_b, NULL);
	dl_b = corio_spawn(dl_join_a, NULL);
	if (!dl_a || !dl_b || (arg && !s))
		return "spawn failed";
	if (s)
		corio_detach(s);
	dl_rc_main = corio_join(dl_a, NULL);
	return NULL;
}

START_TEST(test_deadlock_two_tasks_joining_each_other)
{
	TH_RUN_CFG_RC(NULL, dl_pair_main, NULL, -EDEADLK);
	ck_assert_int_eq(dl_rc_a, -ECANCELED);
	ck_assert_int_eq(dl_rc_b, -ECANCELED);
	ck_assert_int_eq(dl_rc_main, -ECANCELED);
}
END_TEST

/* Not reported while a sleeper could still wake somebody; reported after it finished. */
START_TEST(test_deadlock_not_before_timers_done)
{
	uint64_t t0 = th_now();

	TH_RUN_CFG_RC(NULL, dl_pair_main, (void *)1, -EDEADLK);
	ck_assert_int_eq(dl_sleep_rc, 0);
	ck_assert_uint_ge(th_now() - t0, CORIO_MS(20));
	ck_assert_int_eq(dl_rc_a, -ECANCELED);
	ck_assert_int_eq(dl_rc_b, -ECANCELED);
}
END_TEST

/* A cycle that a timeout scope can still break is no deadlock: A's join of B times out,
 * A finishes, and B's join of A succeeds. */
static int dlt_rc_a = 1, dlt_rc_b = 1;

static void *dlt_join_b(void *arg)
{
	corio_timeout to;

	corio_yield();
	corio_timeout_enter(&to, CORIO_MS(20));
	dlt_rc_a = corio_join(dl_b, NULL);
	corio_timeout_exit(&to);
	return NULL;
}

static void *dlt_join_a(void *arg)
{
	corio_yield();
	dlt_rc_b = corio_join(dl_a, NULL);
	return (void *)(uintptr_t)3;
}

static void *dlt_main(void *arg)
{
	void *res = NULL;

	TH_CHECK((dl_a = corio_spawn(dlt_join_b, NULL)) != NULL);
	TH_CHECK((dl_b = corio_spawn(dlt_join_a, NULL)) != NULL);
	TH_CHECK(corio_join(dl_b, &res) == 0);
	TH_CHECK((uintptr_t)res == 3);
	TH_CHECK(dlt_rc_a == -ETIMEDOUT);
	TH_CHECK(dlt_rc_b == 0);
	return TH_OK;
}

START_TEST(test_no_deadlock_while_a_scope_can_expire)
{
	uint64_t t0 = th_now();

	TH_RUN_EXPECT_OK(NULL, dlt_main, NULL);
	ck_assert_uint_ge(th_now() - t0, CORIO_MS(20));
}
END_TEST

/* A cycle of three through wait_any, one of them shielded. */
static void *shield_wait_any(void *arg)
{
	return (void *)(intptr_t)corio_wait_any(arg, 1);
}

static void *dl_cycle_a(void *arg)
{
	corio_yield();
	dl_rc_a = corio_wait_any(&dl_b, 1);
	return NULL;
}

static void *dl_cycle_b(void *arg)
{
	corio_yield();
	dl_rc_b = (int)(intptr_t)corio_shield(shield_wait_any, &dl_c);
	return NULL;
}

static void *dl_cycle_c(void *arg)
{
	corio_yield();
	dl_rc_c = corio_wait_any(&dl_a, 1);
	return NULL;
}

static void *dl_cycle_main(void *arg)
{
	dl_a = corio_spawn(dl_cycle_a, NULL);
	dl_b = corio_spawn(dl_cycle_b, NULL);
	dl_c = corio_spawn(dl_cycle_c, NULL);
	if (!dl_a || !dl_b || !dl_c)
		return "spawn failed";
	/* main finishes; corio_run still waits for the three, which wait for each other. */
	return NULL;
}

START_TEST(test_deadlock_cycle_with_shield)
{
	TH_RUN_CFG_RC(NULL, dl_cycle_main, NULL, -EDEADLK);
	ck_assert_int_eq(dl_rc_a, -ECANCELED);
	ck_assert_int_eq(dl_rc_b, -ECANCELED);
	ck_assert_int_eq(dl_rc_c, -ECANCELED);
}
END_TEST

/* ==== fairness, idle CPU, syscall-free yields ========================================== */

static volatile int starve_flag;

static void *starve_sleeper(void *arg)
{
	if (corio_sleep(CORIO_MS(5)) == 0)
		starve_flag = 1;
	return NULL;
}

static void *starve_yielder(void *arg)
{
	uint64_t t0 = corio_now();
	unsigned long n = 0;

	while (!starve_flag) {
		corio_yield();
		n++;
		/* A hang guard, not a speed assertion: the flag comes after 5 ms. */
		TH_CHECK(corio_now() - t0 < CORIO_SEC(20));
	}
	TH_CHECK(n > 0);
	return TH_OK;
}

static void *starve_main(void *arg)
{
	corio_task *y, *s;
	void *res;

	starve_flag = 0;
	TH_CHECK((y = corio_spawn(starve_yielder, NULL)) != NULL);
	TH_CHECK((s = corio_spawn(starve_sleeper, NULL)) != NULL);
	TH_CHECK(corio_join(y, &res) == 0);
	TH_CHECK(corio_join(s, NULL) == 0);
	return res;
}

START_TEST(test_yielder_does_not_starve_sleeper)
{
	corio_config cfg = th_config();

	TH_RUN_EXPECT_OK(NULL, starve_main, NULL);
	cfg.ring_flags_disable = IORING_SETUP_DEFER_TASKRUN;
	TH_RUN_EXPECT_OK(&cfg, starve_main, NULL);
}
END_TEST

static void *idle_sleeper(void *arg)
{
	return (void *)(intptr_t)corio_sleep(CORIO_MS(300));
}

static void *idle_cpu_main(void *arg)
{
	corio_task *t[100];
	void *res[100];
	struct rusage a, b;
	long used_us;

	for (int i = 0; i < 100; i++)
		TH_CHECK((t[i] = corio_spawn(idle_sleeper, NULL)) != NULL);
	/* Measured from the moment every sleeper is parked. */
	corio_yield();
	TH_CHECK(getrusage(RUSAGE_THREAD, &a) == 0);
	TH_CHECK(corio_gather(t, 100, res) == 0);
	TH_CHECK(getrusage(RUSAGE_THREAD, &b) == 0);
	for (int i = 0; i < 100; i++)
		TH_CHECK(res[i] == NULL);
	used_us = (b.ru_utime.tv_sec - a.ru_utime.tv_sec) * 1000000L +
		  (b.ru_utime.tv_usec - a.ru_utime.tv_usec) +
		  (b.ru_stime.tv_sec - a.ru_stime.tv_sec) * 1000000L +
		  (b.ru_stime.tv_usec - a.ru_stime.tv_usec);
	*(long *)arg = used_us;
	TH_CHECK(used_us < 50000);
	return TH_OK;
}

START_TEST(test_idle_loop_uses_no_cpu)
{
	long used = -1;

	TH_RUN_EXPECT_OK(NULL, idle_cpu_main, &used);
	ck_assert_int_ge(used, 0);
}
END_TEST

static void *yield_peer(void *arg)
{
	for (int i = 0; i < 1000; i++)
		corio_yield();
	return NULL;
}

static void *yield_syscall_main(void *arg)
{
	corio_statistics a, b;
	corio_task *peer;

	TH_CHECK(corio_stats(&a) == 0);
	for (int i = 0; i < 1000; i++)
		corio_yield();
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(b.submit_calls == a.submit_calls);
	/* With nothing in flight a lone yielder's next turn starts at once: at most a switch
	 * out and one back per yield (through the scheduler under ASan), none without it. */
	TH_CHECK(b.switches - a.switches <= 2000);
#if !TH_ASAN
	TH_CHECK(b.switches - a.switches == 0);
#endif
	/* After I/O completed, and with a second task yielding too. */
	TH_CHECK(corio_nop() == 0);
	TH_CHECK(corio_sleep(CORIO_MS(1)) == 0);
	TH_CHECK((peer = corio_spawn(yield_peer, NULL)) != NULL);
	TH_CHECK(corio_stats(&a) == 0);
	for (int i = 0; i < 1000; i++)
		corio_yield();
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(b.submit_calls == a.submit_calls);
	TH_CHECK(corio_join(peer, NULL) == 0);
	/* A blocking call does make one. */
	TH_CHECK(corio_stats(&a) == 0);
	TH_CHECK(corio_nop() == 0);
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(b.submit_calls > a.submit_calls);
	TH_CHECK(b.sqes_submitted == a.sqes_submitted + 1);
	TH_CHECK(b.cqes_reaped == a.cqes_reaped + 1);
	return TH_OK;
}

START_TEST(test_yield_without_io_makes_no_syscall)
{
	TH_RUN_EXPECT_OK(NULL, yield_syscall_main, NULL);
}
END_TEST

/* ==== misuse =========================================================================== */

static void *noop_fn(void *arg)
{
	return arg;
}

START_TEST(test_calls_outside_loop)
{
	corio_statistics st;
	corio_capabilities caps;
	corio_task *dummy[1] = { NULL };
	corio_timeout to;

	ck_assert_int_eq(corio_sleep(CORIO_MS(1)), -EPERM);
	ck_assert_int_eq(corio_sleep(0), -EPERM);
	ck_assert_int_eq(corio_sleep_until(th_now() + CORIO_MS(1)), -EPERM);
	ck_assert_int_eq(corio_nop(), -EPERM);
	ck_assert_int_eq(corio_join(NULL, NULL), -EPERM);
	ck_assert_int_eq(corio_gather(dummy, 1, NULL), -EPERM);
	ck_assert_int_eq(corio_wait_any(dummy, 1), -EPERM);
	errno = 0;
	ck_assert_ptr_null(corio_spawn(noop_fn, NULL));
	ck_assert_int_eq(errno, EPERM);
	ck_assert_ptr_null(corio_current());
	ck_assert(!corio_cancelled());
	ck_assert_int_eq(corio_stats(&st), -ESRCH);
	ck_assert_int_eq(corio_caps(&caps), -ESRCH);
	corio_yield(); /* no effect */
	corio_timeout_enter(&to, CORIO_MS(1));
	corio_timeout_exit(&to);
	ck_assert_int_eq(corio_run(NULL, NULL, NULL), -EINVAL);
}
END_TEST

static void *nested_run_main(void *arg)
{
	void *res = (void *)1;

	TH_CHECK(corio_run(noop_fn, NULL, &res) == -EBUSY);
	TH_CHECK(corio_run_config(NULL, noop_fn, NULL, NULL) == -EBUSY);
	TH_CHECK(res == (void *)1);
	return TH_OK;
}

START_TEST(test_run_inside_run_is_ebusy)
{
	corio_config cfg = th_config();

	TH_RUN_EXPECT_OK(NULL, nested_run_main, NULL);
	/* And the thread can run a loop again afterwards. */
	ck_assert_ptr_eq(TH_RUN(noop_fn, (void *)5), (void *)5);
	cfg.stack_kind = (corio_stack_kind)42;
	TH_RUN_CFG_RC(&cfg, noop_fn, NULL, -EINVAL);
}
END_TEST

/* ==== statistics and stack kinds ======================================================= */

static void *park_until_cancelled(void *arg)
{
	corio_sleep(CORIO_SEC(10));
	return NULL;
}

/* Parked on an operation of its own: a sleep inside a timeout scope has its own timer. */
static void *park_on_own_timer(void *arg)
{
	corio_timeout to;

	corio_timeout_enter(&to, CORIO_SEC(20));
	corio_sleep(CORIO_SEC(10));
	corio_timeout_exit(&to);
	return NULL;
}

struct kind_case {
	corio_statistics st;
};

static void *kinds_main(void *arg)
{
	struct kind_case *kc = arg;
	corio_task *t[10];

	for (int i = 0; i < 10; i++)
		TH_CHECK((t[i] = corio_spawn(park_until_cancelled, NULL)) != NULL);
	corio_yield();
	TH_CHECK(corio_stats(&kc->st) == 0);
	for (int i = 0; i < 10; i++)
		corio_cancel(t[i]);
	TH_CHECK(corio_gather(t, 10, NULL) == -ECANCELED);
	return TH_OK;
}

START_TEST(test_stats_stack_kinds)
{
	static const corio_stack_kind kinds[] = { CORIO_STACK_AUTO, CORIO_STACK_GUARDED,
						  CORIO_STACK_PACKED };

	for (size_t i = 0; i < 3; i++) {
		corio_config cfg = th_config();
		struct kind_case kc;

		cfg.stack_kind = kinds[i];
		TH_RUN_EXPECT_OK(&cfg, kinds_main, &kc);
		ck_assert_uint_eq(kc.st.tasks_live, 11);
		ck_assert_uint_eq(kc.st.stacks_guarded + kc.st.stacks_packed, 11);
		if (kinds[i] == CORIO_STACK_PACKED)
			ck_assert_uint_eq(kc.st.stacks_guarded, 0);
		else /* AUTO: below guarded_max, all guarded */
			ck_assert_uint_eq(kc.st.stacks_packed, 0);
	}
}
END_TEST

static void *stats_main(void *arg)
{
	corio_statistics a, b;
	corio_task *t[5];

	TH_CHECK(corio_stats(&a) == 0);
	TH_CHECK(a.tasks_live == 1);
	TH_CHECK(a.tasks_spawned == 1);
	for (int i = 0; i < 5; i++)
		TH_CHECK((t[i] = corio_spawn(plus_one, NULL)) != NULL);
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(b.tasks_live == 6);
	TH_CHECK(b.tasks_spawned == 6);
	TH_CHECK(corio_gather(t, 5, NULL) == 0);
	TH_CHECK(corio_stats(&b) == 0);
	TH_CHECK(b.tasks_live == 1);
	TH_CHECK(b.tasks_spawned == 6);
	/* Each task runs twice (start, after its yield) and every run begins with a switch
	 * (tasks may hand over to each other directly, so a switch can end one run and
	 * begin the next); main parks once in gather. */
	TH_CHECK(b.switches - a.switches >= 5 * 2 + 1);
	TH_CHECK(b.faults_injected == 0);
	/* Link timeouts and cancel requests are SQEs too, and each brings its CQE. */
	{
		corio_timeout to;
		corio_task *sl;

		TH_CHECK(corio_stats(&a) == 0);
		corio_timeout_enter(&to, CORIO_SEC(5));
		TH_CHECK(corio_nop() == 0);
		TH_CHECK(!corio_timeout_exit(&to));
		TH_CHECK(corio_stats(&b) == 0);
		TH_CHECK(b.sqes_submitted - a.sqes_submitted == 2); /* nop + LINK_TIMEOUT */
		TH_CHECK(b.cqes_reaped - a.cqes_reaped == 2);
		TH_CHECK((sl = corio_spawn(park_on_own_timer, NULL)) != NULL);
		corio_yield(); /* it parks on its timeout */
		TH_CHECK(corio_stats(&a) == 0);
		corio_cancel(sl);
		TH_CHECK(corio_join(sl, NULL) == -ECANCELED);
		TH_CHECK(corio_stats(&b) == 0);
		TH_CHECK(b.sqes_submitted - a.sqes_submitted == 1); /* the ASYNC_CANCEL */
		/* A plain sleep shares its bucket's timer: leaving it submits nothing. */
		TH_CHECK((sl = corio_spawn(park_until_cancelled, NULL)) != NULL);
		corio_yield();
		TH_CHECK(corio_stats(&a) == 0);
		corio_cancel(sl);
		TH_CHECK(corio_join(sl, NULL) == -ECANCELED);
		TH_CHECK(corio_stats(&b) == 0);
		TH_CHECK(b.sqes_submitted - a.sqes_submitted == 0);
	}
	return TH_OK;
}

START_TEST(test_stats_counts)
{
	TH_RUN_EXPECT_OK(NULL, stats_main, NULL);
}
END_TEST

/* ==== two loops on two threads ========================================================= */

struct thr {
	uintptr_t base;
	int rc;
	void *res;
	uint64_t spawned;
};

static void *thr_task(void *arg)
{
	for (int i = 0; i < 20; i++) {
		if (corio_sleep(CORIO_US(200)) != 0)
			return NULL;
		corio_yield();
	}
	return (void *)((uintptr_t)arg * 2);
}

static void *thr_loop_main(void *arg)
{
	struct thr *th = arg;
	corio_task *t[200];
	void *res[200];
	uintptr_t sum = 0;
	corio_statistics st;

	for (uintptr_t i = 0; i < 200; i++)
		if (!(t[i] = corio_spawn(thr_task, (void *)(th->base + i))))
			return NULL;
	if (corio_gather(t, 200, res) != 0)
		return NULL;
	for (int i = 0; i < 200; i++)
		sum += (uintptr_t)res[i];
	corio_stats(&st);
	th->spawned = st.tasks_spawned;
	return (void *)sum;
}

static void *thr_fn(void *arg)
{
	struct thr *th = arg;

	th->rc = corio_run(thr_loop_main, th, &th->res);
	return NULL;
}

START_TEST(test_two_threads_two_loops)
{
	struct thr th[2] = { { .base = 1000 }, { .base = 5000 } };
	pthread_t pt[2];

	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&pt[i], NULL, thr_fn, &th[i]), 0);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(pt[i], NULL), 0);
	for (int i = 0; i < 2; i++) {
		uintptr_t want = 0;

		for (uintptr_t k = 0; k < 200; k++)
			want += (th[i].base + k) * 2;
		ck_assert_int_eq(th[i].rc, 0);
		ck_assert_uint_eq((uintptr_t)th[i].res, want);
		ck_assert_uint_eq(th[i].spawned, 201); /* each loop counts only its own */
	}
	ck_assert_ptr_null(corio_current());
}
END_TEST

/* ======================================================================================= */

static Suite *runtime_suite(void)
{
	Suite *s = suite_create("runtime");
	TCase *tc;

#define TC(name, ...)                                                                        \
	do {                                                                                 \
		tc = tcase_create(name);                                                     \
		tcase_set_timeout(tc, TH_TIMEOUT);                                           \
		__VA_ARGS__;                                                                 \
		suite_add_tcase(s, tc);                                                      \
	} while (0)

	TC("switch", tcase_add_test(tc, test_switch_locals_1000_tasks);
	   tcase_add_test(tc, test_yield_round_robin);
	   tcase_add_test(tc, test_switch_callee_saved_registers);
	   tcase_add_test(tc, test_switch_doubles_across_yields);
	   tcase_add_test(tc, test_switch_fp_control_state);
	   tcase_add_test(tc, test_deep_recursion_guarded_and_packed));
	TC("tasks", tcase_add_test(tc, test_spawn_join_detach);
	   tcase_add_test(tc, test_run_waits_for_unjoined_tasks);
	   tcase_add_test(tc, test_main_task_join_or_detach);
	   tcase_add_test(tc, test_gather_results_in_order);
	   tcase_add_test(tc, test_gather_when_caller_cancelled);
	   tcase_add_test(tc, test_wait_any_first_finished));
	TC("cancel", tcase_add_test(tc, test_cancel_sleeping_task);
	   tcase_add_test(tc, test_cancel_before_first_run);
	   tcase_add_test(tc, test_cancel_racing_completion);
	   tcase_add_test(tc, test_cancel_sticky_and_shield);
	   tcase_add_test(tc, test_cancel_pending_during_shield));
	TC("time", tcase_add_test(tc, test_sleep_order_and_lower_bound);
	   tcase_add_test(tc, test_sleep_max_duration_does_not_wrap);
	   tcase_add_test(tc, test_timeout_scopes_nested);
	   tcase_add_test(tc, test_sleep0_in_expired_scope_times_out);
	   tcase_add_test(tc, test_timeout_racing_completion);
	   tcase_add_test(tc, test_timeout_scope_around_join_and_wait_any));
	TC("ring", tcase_add_test(tc, test_sqe_cleared_over_stack_garbage);
	   tcase_add_test(tc, test_sq_smaller_than_parked_tasks);
	   tcase_add_test(tc, test_cq_overflow);
	   tcase_add_test(tc, test_100k_concurrent_tasks);
	   tcase_add_test(tc, test_ring_flag_fallback);
	   tcase_add_test(tc, test_ring_sizes));
	TC("lifecycle", tcase_add_test(tc, test_teardown_with_pending_sleeps);
	   tcase_add_test(tc, test_deadlock_two_tasks_joining_each_other);
	   tcase_add_test(tc, test_deadlock_not_before_timers_done);
	   tcase_add_test(tc, test_deadlock_cycle_with_shield);
	   tcase_add_test(tc, test_no_deadlock_while_a_scope_can_expire);
	   tcase_add_test(tc, test_calls_outside_loop);
	   tcase_add_test(tc, test_run_inside_run_is_ebusy);
	   tcase_add_test(tc, test_two_threads_two_loops));
	TC("scheduling", tcase_add_test(tc, test_yielder_does_not_starve_sleeper);
	   tcase_add_test(tc, test_idle_loop_uses_no_cpu);
	   tcase_add_test(tc, test_yield_without_io_makes_no_syscall));
	TC("stats", tcase_add_test(tc, test_stats_counts);
	   tcase_add_test(tc, test_stats_stack_kinds));
#undef TC
	return s;
}

int main(void)
{
	return th_main(runtime_suite());
}
