#!/usr/bin/python3
"""bench/peers/chan.py: the asyncio peer of corio-bench's `chan`.

A producer task puts the integers 1..N into an asyncio.Queue(maxsize=CAP), then a None
sentinel (asyncio.Queue has no close before 3.13); a consumer task gets them and sums them.
Both are created with asyncio.create_task and awaited, as corio-bench spawns and joins its
two tasks. After a warm-up run of N/10 items on the same loop, times one run of N items
(from creating the tasks until both are done) and prints one line:
    items_per_s=<float> sum=<int>
and exits 1 if the sum is not N(N+1)/2.
maxsize=0 is an unbounded queue in asyncio, not a rendezvous, so CAP must be >= 1.
With --inflight K the warm-up and the timed run happen with K receives and a timer parked
on the loop (inflight.py); --uvloop runs it all on uvloop's loop.
usage: chan.py CAP N [--inflight K] [--uvloop]
"""
import asyncio
import sys
import time

import inflight


async def producer(q, n):
    put = q.put
    for i in range(1, n + 1):
        await put(i)
    await put(None)


async def consumer(q):
    get = q.get
    s = 0
    while True:
        x = await get()
        if x is None:
            return s
        s += x


async def once(cap, n):
    q = asyncio.Queue(maxsize=cap)
    t0 = time.perf_counter_ns()
    p = asyncio.create_task(producer(q, n))
    c = asyncio.create_task(consumer(q))
    await p
    s = await c
    return time.perf_counter_ns() - t0, s


def check(n, s):
    if s != n * (n + 1) // 2:
        print(f"chan.py: {n} items summed to {s}, expected {n * (n + 1) // 2}",
              file=sys.stderr)
        sys.exit(1)


async def main(cap, n, k):
    async with inflight.InFlight(k):
        w = max(1, n // 10)
        _, s = await once(cap, w)  # warm-up, like the C side
        check(w, s)
        ns, s = await once(cap, n)
        check(n, s)
    return ns


if __name__ == "__main__":
    p = inflight.parser("chan.py", "asyncio.Queue between two tasks")
    p.add_argument("cap", type=int, metavar="CAP", help="queue capacity, >= 1")
    p.add_argument("n", type=int, metavar="N", help="items, >= 1")
    args = p.parse_args()
    if args.cap < 1 or args.n < 1:
        p.error("CAP and N must be >= 1")
    ns = inflight.run(lambda: main(args.cap, args.n, args.inflight), args)
    print(f"items_per_s={args.n * 1e9 / max(ns, 1):.1f} sum={args.n * (args.n + 1) // 2}")
