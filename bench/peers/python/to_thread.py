#!/usr/bin/python3
"""bench/peers/python/to_thread.py: the asyncio peer of corio-bench's `blocking`.

Times round trips through asyncio.to_thread for a function that returns at once, from one
task at a time (seq) or from 32 tasks at once (par), after a warm-up of N/10 (the executor's
threads start there), for each mode listed and in each state of --inflight (inflight.py),
and prints one line per measurement:
    mode=<seq|par> inflight=<K> per_sec=<float>
usage: to_thread.py seq|par|seq,par N [--inflight K[,K...]] [--uvloop]
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


async def measure(mode, n):
    fn = seq if mode == "seq" else par
    await fn(max(TASKS, n // 10))
    t0 = time.perf_counter()
    await fn(n)
    elapsed = time.perf_counter() - t0
    return (n if mode == "seq" else (n // TASKS) * TASKS) / elapsed


async def main(modes, n, ks):
    for k in ks:
        async with inflight.InFlight(k):
            for mode in modes:
                inflight.report("mode", mode, k, "per_sec", await measure(mode, n))


if __name__ == "__main__":
    p = inflight.parser("to_thread.py", "asyncio.to_thread round trips")
    p.add_argument("modes", metavar="MODES", help="seq, par or both: seq,par")
    p.add_argument("n", type=int, metavar="N", help=f"round trips, >= {TASKS}")
    args = p.parse_args()
    modes = args.modes.split(",")
    if args.n < TASKS or any(m not in ("seq", "par") for m in modes):
        p.error(f"MODES must list seq and/or par, N must be >= {TASKS}")
    inflight.run(lambda: main(modes, args.n, args.inflight), args)
