# Makefile: a thin wrapper over CMake and ctest; every target installs what it needs first
# (scripts/deps.sh).
#
#   make test                  debug build (tests, examples, bench) + ctest, then an
#                              ASan/UBSan build of the library and tests + ctest
#   make bench [BENCH_ARGS=..] release build, then build/release/corio-bench run $(BENCH_ARGS)
#   make test-tsan             the cross-thread suites under ThreadSanitizer (not in make test)
#   make test-compat           debug build + ctest against liburing.h rewritten to liburing 2.6's
#                              SQE semantics (cmake/liburing_compat.cmake); .ci/run runs it too
#   make test-stress           make test from a clean copy of HEAD with two CPU hogs per CPU,
#                              then again pinned to one CPU (not in CI: it takes a while)
#   make fuzz [FUZZ_SECONDS=N] clang + libFuzzer build of tests/fuzz/fuzz_*.c in build/fuzz, each
#                              target run N seconds (default 60) over a scratch copy of its
#                              corpus (tests/fuzz/run.sh); fails on a crash, leak or timeout
#                              and prints the failing input's path. make test replays the
#                              corpora and tests/fuzz/regress/ (fuzz_replay_*) without clang
#   make test-faults [SEEDS=..] [SEED=S]
#                              the seeded fault campaigns (tests/faults/) over seeds 1-200 (or
#                              SEEDS, a CORIO_CAMPAIGN_SEEDS list; SEED=S one seed, verbose) in
#                              the debug and ASan builds, printing every failing seed and the
#                              command that replays it (not in CI: about 10 min; make test
#                              runs seeds 1-3)
#   make examples              builds examples/ in build/debug
#   make install [PREFIX=..]   release build installed to $(PREFIX) (default /usr/local)
#   make clean                 removes build/

SHELL := /bin/bash
CMAKE ?= cmake
CTEST ?= ctest
NPROC := $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
BENCH_ARGS ?=
FUZZ_SECONDS ?= 60

DEBUG_DIR := build/debug
ASAN_DIR := build/asan
RELEASE_DIR := build/release

SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
                 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

COMPAT_DIR := build/compat
TSAN_DIR := build/tsan
FUZZ_DIR := build/fuzz
# The suites where threads meet (ThreadSanitizer counts every coroutine as a thread and
# stops at 8128, so the suites with 10 000+ live tasks cannot run under it); test_sync_
# matches every tests/runtime/test_sync_*.c.
TSAN_SUITES := test_threads|test_blocking|test_xchan|test_sync_|test_signal|test_log

.PHONY: all test test-debug test-asan test-tsan test-compat test-stress test-faults debug-build bench release-build examples install \
        clean deps deps-bench fuzz deps-fuzz

all: debug-build

deps:
	scripts/deps.sh build

deps-bench:
	scripts/deps.sh bench

deps-fuzz:
	scripts/deps.sh fuzz

debug-build: deps
	$(CMAKE) -S . -B $(DEBUG_DIR) -DCMAKE_BUILD_TYPE=Debug -DCORIO_SANITIZE=OFF \
		-DCORIO_BUILD_TESTS=ON -DCORIO_BUILD_EXAMPLES=ON -DCORIO_BUILD_BENCH=ON
	$(CMAKE) --build $(DEBUG_DIR) -j$(NPROC)

test-debug: debug-build
	$(CTEST) --test-dir $(DEBUG_DIR) --output-on-failure -j2

test-asan: deps
	$(CMAKE) -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORIO_SANITIZE=ON \
		-DCORIO_BUILD_TESTS=ON -DCORIO_BUILD_EXAMPLES=OFF -DCORIO_BUILD_BENCH=OFF
	$(CMAKE) --build $(ASAN_DIR) -j$(NPROC)
	$(SANITIZER_ENV) $(CTEST) --test-dir $(ASAN_DIR) --output-on-failure -j2

# Not part of `make test`: the cross-thread suites under ThreadSanitizer.
test-tsan: deps
	$(CMAKE) -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORIO_SANITIZE_THREAD=ON \
		-DCORIO_BUILD_TESTS=ON -DCORIO_BUILD_EXAMPLES=OFF -DCORIO_BUILD_BENCH=OFF
	$(CMAKE) --build $(TSAN_DIR) -j$(NPROC)
	TSAN_OPTIONS=halt_on_error=1 $(CTEST) --test-dir $(TSAN_DIR) --output-on-failure -j2 \
		-R '$(TSAN_SUITES)'

# The library and tests against a liburing.h with the 2.6 semantics (prep helpers write five
# fields, io_uring_get_sqe clears the rest): catches an SQE prepared outside the ring and
# not cleared.
test-compat: deps
	$(CMAKE) -S . -B $(COMPAT_DIR) -DCMAKE_BUILD_TYPE=Debug -DCORIO_SANITIZE=OFF \
		-DCORIO_LIBURING_COMPAT=ON -DCORIO_BUILD_TESTS=ON -DCORIO_BUILD_EXAMPLES=ON \
		-DCORIO_BUILD_BENCH=ON
	$(CMAKE) --build $(COMPAT_DIR) -j$(NPROC)
	$(CTEST) --test-dir $(COMPAT_DIR) --output-on-failure -j2

# libFuzzer needs clang; warnings are not errors here (the gcc builds hold -Werror).
fuzz: deps-fuzz
	$(CMAKE) -S . -B $(FUZZ_DIR) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCORIO_BUILD_FUZZ=ON -DCORIO_WERROR=OFF -DCORIO_BUILD_TESTS=OFF \
		-DCORIO_BUILD_EXAMPLES=OFF -DCORIO_BUILD_BENCH=OFF
	$(CMAKE) --build $(FUZZ_DIR) --target fuzz_targets -j$(NPROC)
	tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

test-stress:
	scripts/test-stress.sh

test-faults: deps
	SEEDS='$(SEEDS)' SEED='$(SEED)' scripts/test-faults.sh

# Sequential on purpose: the sanitized run starts only when the debug run passed.
test:
	$(MAKE) --no-print-directory test-debug
	$(MAKE) --no-print-directory test-asan

release-build:
	$(CMAKE) -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DCORIO_SANITIZE=OFF \
		-DCORIO_BUILD_TESTS=OFF -DCORIO_BUILD_EXAMPLES=OFF -DCORIO_BUILD_BENCH=ON
	$(CMAKE) --build $(RELEASE_DIR) -j$(NPROC)

bench: deps-bench
	$(MAKE) --no-print-directory release-build
	@if [ ! -x $(RELEASE_DIR)/corio-bench ]; then \
		echo "make bench: $(RELEASE_DIR)/corio-bench was not built (no bench/*.c?)" >&2; \
		exit 1; \
	fi
	$(RELEASE_DIR)/corio-bench run $(BENCH_ARGS)

examples: deps
	$(CMAKE) -S . -B $(DEBUG_DIR) -DCMAKE_BUILD_TYPE=Debug -DCORIO_SANITIZE=OFF \
		-DCORIO_BUILD_EXAMPLES=ON
	$(CMAKE) --build $(DEBUG_DIR) --target examples -j$(NPROC)

install: deps
	$(MAKE) --no-print-directory release-build
	$(CMAKE) --install $(RELEASE_DIR) --prefix "$(PREFIX)"

clean:
	rm -rf build
