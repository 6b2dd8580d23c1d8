#!/usr/bin/python3
"""bench/peers/to_thread.py: the asyncio peer of corio-bench's `blocking`.

Times round trips through asyncio.to_thread for a function that returns at once, from one
task at a time (seq) or from 32 tasks at once (par), and prints one line:
    per_sec=<float>
With --inflight K the warm-up and the timed run happen with K receives and a timer parked
on the loop (inflight.py); --uvloop runs it all on uvloop's loop.
usage: to_thread.py seq|par N [--inflight K] [--uvloop]
"""
import asyncio
import time

import inflight

TASKS = 32


def work(x):
    return x + 1


async def seq(n):
    total = 0
    for i in range(n):
        total += await asyncio.to_thread(work, i)
    return total


async def par(n):
    async def one(k):
        s = 0
        for i in range(k):
            s += await asyncio.to_thread(work, i)
        return s
    return sum(await asyncio.gather(*[one(n // TASKS) for _ in range(TASKS)]))


async def main(mode, n, k):
    fn = seq if mode == "seq" else par
    async with inflight.InFlight(k):
        await fn(max(TASKS, n // 10))  # warm-up: the executor's threads start here
        t0 = time.perf_counter()
        await fn(n)
        elapsed = time.perf_counter() - t0
    done = n if mode == "seq" else (n // TASKS) * TASKS
    return done / elapsed


if __name__ == "__main__":
    p = inflight.parser("to_thread.py", "asyncio.to_thread round trips")
    p.add_argument("mode", choices=("seq", "par"))
    p.add_argument("n", type=int, metavar="N", help="round trips, >= 32")
    args = p.parse_args()
    if args.n < TASKS:
        p.error(f"N must be >= {TASKS}")
    print(f"per_sec={inflight.run(lambda: main(args.mode, args.n, args.inflight), args):.1f}")
