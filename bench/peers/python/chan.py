#!/usr/bin/python3
"""bench/peers/python/chan.py: the asyncio peer of corio-bench's `chan`.

A producer task puts the integers 1..N into an asyncio.Queue(maxsize=CAP), then a None
sentinel (asyncio.Queue has no close before 3.13); a consumer task gets them and sums them.
Both are created with asyncio.create_task and awaited, as corio-bench spawns and joins its
two tasks. After a warm-up run of N/10 items on the same loop, times one run of N items
(from creating the tasks until both are done), for each capacity listed and in each state
of --inflight (inflight.py), and prints one line per measurement:
    cap=<CAP> inflight=<K> items_per_s=<float>
and exits 1 if a sum is not N(N+1)/2.
maxsize=0 is an unbounded queue in asyncio, not a rendezvous, so CAP must be >= 1.
usage: chan.py CAP[,CAP...] N [--inflight K[,K...]] [--uvloop]
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


async def measure(cap, n):
    w = max(1, n // 10)
    _, s = await once(cap, w)  # warm-up, like the C side
    check(w, s)
    ns, s = await once(cap, n)
    check(n, s)
    return n * 1e9 / max(ns, 1)


async def main(caps, n, ks):
    for k in ks:
        async with inflight.InFlight(k):
            for cap in caps:
                inflight.report("cap", cap, k, "items_per_s", await measure(cap, n))


if __name__ == "__main__":
    p = inflight.parser("chan.py", "asyncio.Queue between two tasks")
    p.add_argument("caps", type=inflight.int_list, metavar="CAP[,CAP...]",
                   help="queue capacities, each >= 1")
    p.add_argument("n", type=int, metavar="N", help="items, >= 1")
    args = p.parse_args()
    if min(args.caps) < 1 or args.n < 1:
        p.error("every CAP and N must be >= 1")
    inflight.run(lambda: main(args.caps, args.n, args.inflight), args)
