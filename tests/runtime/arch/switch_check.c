/* tests/runtime/arch/switch_check.c: the context switch alone (runtime/core/coro.h and
 * runtime/core/arch/<cpu>/), without the rest of the runtime, so that it can be built for
 * another CPU and run under an emulator (tests/runtime/arch/run_aarch64.sh runs it under
 * qemu-aarch64). Checks: a ping-pong of 100 000 switches with values carried across,
 * callee-saved integer and floating-point registers kept by both sides (many values live
 * across each switch), the floating-point control state kept per context (rounding mode),
 * and 16-byte stack alignment in a new context. Exit 0 when all hold, 1 with a message. */
#include <fenv.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/core/coro.h"

#define ROUNDS 100000

static corio__ctx main_ctx, co_ctx;
static volatile uint64_t shared;
static volatile double two_and_half = 2.5;
static int failures;

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "switch_check: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			failures++;                                                       \
		}                                                                         \
	} while (0)

/* One step of the values kept across a switch: not linear, so the compiler cannot fold a
 * loop of them into a closed form computed after it; they stay live in registers. */
#define STEP_I(x, k) ((x) * 6364136223846793005ull + (k))
#define STEP_F(x, k) ((x) * 0.75 + (k))

/* The same steps without switches, in memory: what busy_side must end with. */
static __attribute__((noinline)) void expected(uint64_t seed, int rounds, uint64_t v[10],
					       double f[8])
{
	for (int k = 0; k < 10; k++)
		v[k] = seed * (uint64_t)(k + 1);
	for (int k = 0; k < 8; k++)
		f[k] = (double)seed / (k + 1);
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < 10; k++)
			v[k] = STEP_I(v[k], 2 * k + 1);
		for (int k = 0; k < 8; k++)
			f[k] = STEP_F(f[k], k + 1);
	}
}

/* Ten integers and eight doubles live across every switch: the compiler keeps them in
 * callee-saved registers (x19-x28 and d8-d15 on AArch64; rbx, rbp, r12-r15 and the stack
 * on x86-64, which has no callee-saved vector registers), which the switch must give back
 * intact. */
static __attribute__((noinline)) void busy_side(uint64_t seed, int rounds, bool coroutine)
{
	uint64_t a = seed, b = seed * 2, c = seed * 3, d = seed * 4, e = seed * 5;
	uint64_t f = seed * 6, g = seed * 7, h = seed * 8, i = seed * 9, j = seed * 10;
	double fa = (double)seed, fb = (double)seed / 2, fc = (double)seed / 3;
	double fd = (double)seed / 4, fe = (double)seed / 5, ff = (double)seed / 6;
	double fg = (double)seed / 7, fh = (double)seed / 8;
	uint64_t v[10];
	double x[8];

	for (int r = 0; r < rounds; r++) {
		shared = a ^ j;
		if (coroutine)
			corio__ctx_switch(&co_ctx, &main_ctx);
		else
			corio__ctx_switch(&main_ctx, &co_ctx);
		a = STEP_I(a, 1), b = STEP_I(b, 3), c = STEP_I(c, 5), d = STEP_I(d, 7);
		e = STEP_I(e, 9), f = STEP_I(f, 11), g = STEP_I(g, 13), h = STEP_I(h, 15);
		i = STEP_I(i, 17), j = STEP_I(j, 19);
		fa = STEP_F(fa, 1), fb = STEP_F(fb, 2), fc = STEP_F(fc, 3), fd = STEP_F(fd, 4);
		fe = STEP_F(fe, 5), ff = STEP_F(ff, 6), fg = STEP_F(fg, 7), fh = STEP_F(fh, 8);
	}
	expected(seed, rounds, v, x);
	CHECK(a == v[0] && b == v[1] && c == v[2] && d == v[3] && e == v[4]);
	CHECK(f == v[5] && g == v[6] && h == v[7] && i == v[8] && j == v[9]);
	CHECK(fa == x[0] && fb == x[1] && fc == x[2] && fd == x[3]);
	CHECK(fe == x[4] && ff == x[5] && fg == x[6] && fh == x[7]);
}

static void co_main(void *arg)
{
	char probe[16] __attribute__((aligned(16)));

	CHECK(arg == &co_ctx);
	CHECK(((uintptr_t)__builtin_frame_address(0) & 15) == 0);
	CHECK(((uintptr_t)probe & 15) == 0);
	/* Rounding toward +inf here only: main must keep rounding to nearest. */
	CHECK(fesetround(FE_UPWARD) == 0);
	busy_side(1000, ROUNDS, true);
	CHECK(fegetround() == FE_UPWARD && nearbyint(two_and_half) == 3.0);
	corio__ctx_switch(&co_ctx, &main_ctx); /* for good */
	abort();
}

int main(void)
{
	static char stack[256 * 1024] __attribute__((aligned(16)));

	corio__ctx_make(&co_ctx, stack + 8, sizeof stack - 8, co_main, &co_ctx); /* odd base */
	CHECK(fegetround() == FE_TONEAREST);
	busy_side(77, ROUNDS, false);
	corio__ctx_switch(&main_ctx, &co_ctx); /* the coroutine's last round and its end */
	CHECK(fegetround() == FE_TONEAREST && nearbyint(two_and_half) == 2.0);
	if (failures) {
		fprintf(stderr, "switch_check: %d failures\n", failures);
		return 1;
	}
	printf("switch_check: %d switches, registers and rounding mode kept\n", 2 * ROUNDS + 2);
	return 0;
}
