#!/usr/bin/python3
"""bench/peers/spawn.py: the asyncio peer of corio-bench's `spawn`.

Times asyncio.create_task + await for a coroutine that returns at once, either one at a
time (seq) or in batches of 1000 created then gathered (batch), and prints one line:
    ns_per_task=<float>
usage: spawn.py seq|batch N
"""
import asyncio
import sys
import time

BATCH = 1000


async def noop():
    return None


async def seq(n):
    for _ in range(n):
        await asyncio.create_task(noop())


async def batch(n):
    for _ in range(max(1, n // BATCH)):
        await asyncio.gather(*[asyncio.create_task(noop()) for _ in range(BATCH)])


async def main(mode, n):
    fn = seq if mode == "seq" else batch
    await fn(max(BATCH, n // 10))  # warm-up, like the C side
    t0 = time.perf_counter_ns()
    await fn(n)
    elapsed = time.perf_counter_ns() - t0
    tasks = n if mode == "seq" else max(1, n // BATCH) * BATCH
    return elapsed / tasks


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("seq", "batch"):
        print("usage: spawn.py seq|batch N", file=sys.stderr)
        sys.exit(2)
    ns = asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    print(f"ns_per_task={ns:.1f}")
