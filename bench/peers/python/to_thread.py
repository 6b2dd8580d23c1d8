#!/usr/bin/python3
"""bench/peers/to_thread.py: the asyncio peer of corio-bench's `blocking`.

Times round trips through asyncio.to_thread for a function that returns at once, from one
task at a time (seq) or from 32 tasks at once (par), and prints one line:
    per_sec=<float>
usage: to_thread.py seq|par N
"""
import asyncio
import sys
import time

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


async def main(mode, n):
    fn = seq if mode == "seq" else par
    await fn(max(TASKS, n // 10))  # warm-up: the executor's threads start here
    t0 = time.perf_counter()
    await fn(n)
    done = n if mode == "seq" else (n // TASKS) * TASKS
    return done / (time.perf_counter() - t0)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("seq", "par"):
        print("usage: to_thread.py seq|par N", file=sys.stderr)
        sys.exit(2)
    print(f"per_sec={asyncio.run(main(sys.argv[1], int(sys.argv[2]))):.1f}")
