#!/usr/bin/python3
"""bench/peers/spawn.py: the asyncio peer of corio-bench's `spawn`.

Times asyncio.create_task + await for a coroutine that returns at once, either one at a
time (seq) or in batches of 1000 created then gathered (batch), and prints one line:
    ns_per_task=<float>
With --inflight K the warm-up and the timed run happen with K receives and a timer parked
on the loop (inflight.py); --uvloop runs it all on uvloop's loop.
usage: spawn.py seq|batch N [--inflight K] [--uvloop]
"""
import asyncio
import time

import inflight

BATCH = 1000


async def noop():
    return None


async def seq(n):
    for _ in range(n):
        await asyncio.create_task(noop())


async def batch(n):
    for _ in range(max(1, n // BATCH)):
        await asyncio.gather(*[asyncio.create_task(noop()) for _ in range(BATCH)])


async def main(mode, n, k):
    fn = seq if mode == "seq" else batch
    async with inflight.InFlight(k):
        await fn(max(BATCH, n // 10))  # warm-up, like the C side
        t0 = time.perf_counter_ns()
        await fn(n)
        elapsed = time.perf_counter_ns() - t0
    tasks = n if mode == "seq" else max(1, n // BATCH) * BATCH
    return elapsed / tasks


if __name__ == "__main__":
    p = inflight.parser("spawn.py", "asyncio.create_task + await of a task that returns")
    p.add_argument("mode", choices=("seq", "batch"))
    p.add_argument("n", type=int, metavar="N", help="tasks, >= 1")
    args = p.parse_args()
    if args.n < 1:
        p.error("N must be >= 1")
    ns = inflight.run(lambda: main(args.mode, args.n, args.inflight), args)
    print(f"ns_per_task={ns:.1f}")
