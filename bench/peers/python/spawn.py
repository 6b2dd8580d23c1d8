#!/usr/bin/python3
"""bench/peers/python/spawn.py: the asyncio peer of corio-bench's `spawn`.

Times asyncio.create_task + await for a coroutine that returns at once, either one at a
time (seq) or in batches of 1000 created then gathered (batch), after a warm-up of N/10 (at
least 1000), for each mode listed and in each state of --inflight (inflight.py), and prints
one line per measurement:
    mode=<seq|batch> inflight=<K> ns_per_task=<float>
usage: spawn.py seq|batch|seq,batch N [--inflight K[,K...]] [--uvloop]
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


async def measure(mode, n):
    fn = seq if mode == "seq" else batch
    await fn(max(BATCH, n // 10))  # warm-up, like the C side
    t0 = time.perf_counter_ns()
    await fn(n)
    elapsed = time.perf_counter_ns() - t0
    return elapsed / (n if mode == "seq" else max(1, n // BATCH) * BATCH)


async def main(modes, n, ks):
    for k in ks:
        async with inflight.InFlight(k):
            for mode in modes:
                inflight.report("mode", mode, k, "ns_per_task", await measure(mode, n))


if __name__ == "__main__":
    p = inflight.parser("spawn.py", "asyncio.create_task + await of a task that returns")
    p.add_argument("modes", metavar="MODES", help="seq, batch or both: seq,batch")
    p.add_argument("n", type=int, metavar="N", help="tasks, >= 1")
    args = p.parse_args()
    modes = args.modes.split(",")
    if args.n < 1 or any(m not in ("seq", "batch") for m in modes):
        p.error("MODES must list seq and/or batch, N must be >= 1")
    inflight.run(lambda: main(modes, args.n, args.inflight), args)
