#!/usr/bin/python3
"""bench/peers/python/chan.py: the asyncio peer of corio-bench's `chan`.

A producer task puts the integers 1..N into an asyncio.Queue(maxsize=CAP), then a None
sentinel (asyncio.Queue has no close before 3.13); a consumer task gets them and sums them.
A CAP of prio<CAP> or lifo<CAP> uses an asyncio.PriorityQueue or asyncio.LifoQueue of that
size instead, and no sentinel (None does not sort among ints, and a LIFO would hand it out
first): the consumer stops after N items.
Both are created with asyncio.create_task and awaited, as corio-bench spawns and joins its
two tasks. After a warm-up run of N/10 items on the same loop, times one run of N items
(from creating the tasks until both are done), for each capacity listed and in each state
of --inflight (inflight.py), and prints one line per measurement:
    cap=<CAP> inflight=<K> items_per_s=<float>
and exits 1 if a sum is not N(N+1)/2.
maxsize=0 is an unbounded queue in asyncio, not a rendezvous, so CAP must be >= 1.
usage: chan.py [prio|lifo]CAP[,...] N [--inflight K[,K...]] [--uvloop]
"""

import argparse
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


async def producer_counted(q, n):
    put = q.put
    for i in range(1, n + 1):
        await put(i)


async def consumer_counted(q, n):
    get = q.get
    s = 0
    for _ in range(n):
        s += await get()
    return s


KINDS = {"": asyncio.Queue, "prio": asyncio.PriorityQueue, "lifo": asyncio.LifoQueue}


def shape_list(text):
    """"1,prio64" -> [("", 1), ("prio", 64)]: a queue kind and a capacity >= 1 each."""
    out = []
    for x in text.split(","):
        kind = x.rstrip("0123456789")
        if kind not in KINDS or kind == x or int(x[len(kind):]) < 1:
            raise argparse.ArgumentTypeError(f"not [prio|lifo]CAP with CAP >= 1: {x!r}")
        out.append((kind, int(x[len(kind):])))
    return out


async def once(shape, n):
    kind, cap = shape
    q = KINDS[kind](maxsize=cap)
    t0 = time.perf_counter_ns()
    if kind:
        p = asyncio.create_task(producer_counted(q, n))
        c = asyncio.create_task(consumer_counted(q, n))
    else:
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


async def measure(shape, n):
    w = max(1, n // 10)
    _, s = await once(shape, w)  # warm-up, like the C side
    check(w, s)
    ns, s = await once(shape, n)
    check(n, s)
    return n * 1e9 / max(ns, 1)


async def main(shapes, n, ks):
    for k in ks:
        async with inflight.InFlight(k):
            for shape in shapes:
                name = f"{shape[0]}{shape[1]}"  # as given: 64, prio64, lifo64
                inflight.report("cap", name, k, "items_per_s", await measure(shape, n))


if __name__ == "__main__":
    p = inflight.parser("chan.py", "asyncio.Queue (PriorityQueue, LifoQueue) between two tasks")
    p.add_argument("caps", type=shape_list, metavar="[prio|lifo]CAP[,...]",
                   help="queue kinds and capacities, each capacity >= 1")
    p.add_argument("n", type=int, metavar="N", help="items, >= 1")
    args = p.parse_args()
    if args.n < 1:
        p.error("N must be >= 1")
    inflight.run(lambda: main(args.caps, args.n, args.inflight), args)
