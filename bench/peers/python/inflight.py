"""bench/peers/python/inflight.py: what the asyncio peers of corio-bench's micro-benchmarks
(chan.py, spawn.py, to_thread.py) share: their common options, the "I/O in flight" state
and the output lines.

The state is the one corio-bench gives its own loop (bench/inflight.c): K socket pairs, one
task parked in loop.sock_recv on one end of each (nothing is ever written), and one task in
a 60 s asyncio.sleep (an armed timer). A server's loop is always in that state; the idle loop
is K = 0.

Each script measures a comma-separated list of shapes (its first argument: modes or
capacities) in each state of --inflight, in one process (an interpreter's start costs more
than a measurement), and prints one line per measurement:
    <name>=<shape> inflight=<K> <figure>=<float>
Options every script takes after its own arguments:
    --inflight K[,K...]  the states, in order: that many parked receives (and the timer)
                         while timing; default 0 (idle only)
    --uvloop             run on uvloop's loop (Debian python3-uvloop) instead of asyncio's;
                         when it cannot be imported the script prints `skipped=<reason>` and
                         exits 0
"""
import argparse
import asyncio
import resource
import socket
import sys


def int_list(text):
    """"0,1000" -> [0, 1000]: non-negative integers."""
    try:
        v = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}")
    if any(x < 0 for x in v):
        raise argparse.ArgumentTypeError(f"negative: {text!r}")
    return v


def parser(prog, description):
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--inflight", type=int_list, default=[0], metavar="K[,K...]",
                   help="the states: parked receives on socket pairs (plus a 60 s timer) "
                        "while timing")
    p.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    return p


def report(name, shape, k, figure, value):
    print(f"{name}={shape} inflight={k} {figure}={value:.1f}", flush=True)


def run(main, args):
    """asyncio.run(main()) on the loop args ask for (main: a coroutine function taking no
    argument); exits 0 with a skipped= line when that loop is uvloop and it cannot be
    imported."""
    if args.uvloop:
        try:
            import uvloop
        except ImportError as e:
            print(f"skipped=uvloop not importable ({e})")
            sys.exit(0)
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return asyncio.run(main())


class InFlight:
    """async with InFlight(k): the body runs with k receives and a timer parked."""

    def __init__(self, k):
        self.k = k
        self.pairs = []
        self.tasks = []
        self.parked = 0

    async def _receive(self, loop, sock):
        self.parked += 1
        await loop.sock_recv(sock, 1)
        raise RuntimeError("a parked receive completed: nothing was ever sent")

    async def _sleep(self):
        self.parked += 1
        await asyncio.sleep(60)
        raise RuntimeError("the 60 s sleep ended during the benchmark")

    async def __aenter__(self):
        if self.k == 0:
            return self
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = 2 * self.k + 256
        if soft != resource.RLIM_INFINITY and soft < need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        loop = asyncio.get_running_loop()
        for _ in range(self.k):
            a, b = socket.socketpair()
            a.setblocking(False)
            self.pairs.append((a, b))
            self.tasks.append(asyncio.create_task(self._receive(loop, a)))
        self.tasks.append(asyncio.create_task(self._sleep()))
        # Each task registers its reader (or timer) in its first step; one more turn after
        # the last has, so that the selector holds all of them before the timing starts.
        for _ in range(1000):
            if self.parked == len(self.tasks):
                break
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        if self.parked != len(self.tasks) or any(t.done() for t in self.tasks):
            raise RuntimeError(f"only {self.parked} of {len(self.tasks)} tasks parked")
        return self

    async def __aexit__(self, *exc):
        if self.k == 0:
            return False
        ended = [t for t in self.tasks if t.done()]
        for t in self.tasks:
            t.cancel()
        results = await asyncio.gather(*self.tasks, return_exceptions=True)
        for a, b in self.pairs:
            a.close()
            b.close()
        if ended and exc[0] is None:
            raise RuntimeError(f"{len(ended)} parked tasks ended during the benchmark")
        for r in results:
            if not isinstance(r, asyncio.CancelledError) and exc[0] is None:
                raise RuntimeError(f"a parked task ended with {r!r}")
        return False
