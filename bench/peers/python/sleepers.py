#!/usr/bin/python3
"""bench/peers/sleepers.py: the asyncio peer of corio-bench's `sleepers`.

The seed tutorial's fetch_data pattern at scale: N coroutines each `await asyncio.sleep(1)`,
run together with asyncio.gather. Prints one line:
    wall_s=<seconds for asyncio.run> maxrss_kib=<peak RSS> done=<coroutines finished>
(corio-bench takes the peak RSS from wait4 instead; both should agree.)
usage: sleepers.py N
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
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: sleepers.py N", file=sys.stderr)
        sys.exit(2)
    n = int(sys.argv[1])
    t0 = time.perf_counter()
    done = asyncio.run(main(n))
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"wall_s={wall:.6f} maxrss_kib={rss} done={done}")
    sys.exit(0 if done == n else 1)
