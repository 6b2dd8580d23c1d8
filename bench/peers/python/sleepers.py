#!/usr/bin/python3
"""bench/peers/python/sleepers.py: the asyncio and uvloop peer of corio-bench's `sleepers`.

The seed tutorial's fetch_data pattern at scale: N coroutines each `await asyncio.sleep(1)`,
run together with asyncio.gather. With --uvloop the same code runs on uvloop's event loop
(Debian's python3-uvloop, libuv underneath). Prints one line:
    wall_s=<seconds for asyncio.run> maxrss_kib=<peak RSS> done=<coroutines finished>
(corio-bench takes the peak RSS from wait4 instead; both should agree.)
usage: sleepers.py [--uvloop] N
"""
import asyncio
import resource
import sys
import time


async def fetch_data():
    await asyncio.sleep(1)  # 1초 동안 대기, as in the seed
    return "Data"


async def main(n):
    results = await asyncio.gather(*(fetch_data() for _ in range(n)))
    return sum(1 for r in results if r == "Data")


if __name__ == "__main__":
    args = sys.argv[1:]
    use_uvloop = args[:1] == ["--uvloop"]
    if use_uvloop:
        args = args[1:]
    if len(args) != 1 or not args[0].isdigit():
        print("usage: sleepers.py [--uvloop] N", file=sys.stderr)
        sys.exit(2)
    if use_uvloop:
        try:
            import uvloop
        except ImportError as e:
            print(f"sleepers.py: uvloop not importable: {e}", file=sys.stderr)
            sys.exit(1)
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    n = int(args[0])
    t0 = time.perf_counter()
    done = asyncio.run(main(n))
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"wall_s={wall:.6f} maxrss_kib={rss} done={done}")
    sys.exit(0 if done == n else 1)
