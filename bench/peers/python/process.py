#!/usr/bin/python3
"""bench/peers/python/process.py: the asyncio peer of corio-bench's `process`.

Starts /bin/true with asyncio.create_subprocess_exec and awaits proc.wait(), one at a time
(seq) or from 16 tasks at once (par), after an untimed warm-up of N/10 (at least 16), for
each mode listed, and prints one line per mode:
    mode=<seq|par> per_sec=<float>
(processes started and waited for per second). With --uvloop the same on uvloop's loop
(prints `skipped=<reason>` alone when uvloop cannot be imported).
usage: process.py seq|par|seq,par N [--uvloop]
"""
import asyncio
import sys
import time

PAR = 16


async def one():
    proc = await asyncio.create_subprocess_exec("/bin/true")
    if await proc.wait() != 0:
        raise RuntimeError("/bin/true failed")


async def seq(n):
    for _ in range(n):
        await one()


async def par(n):
    async def worker(k):
        for _ in range(k):
            await one()
    await asyncio.gather(*[worker(n // PAR) for _ in range(PAR)])


async def measure(mode, n):
    fn = seq if mode == "seq" else par
    await fn(max(PAR, n // 10))
    t0 = time.perf_counter()
    await fn(n)
    done = n if mode == "seq" else n // PAR * PAR
    return done / (time.perf_counter() - t0)


async def main(modes, n):
    for mode in modes:
        print(f"mode={mode} per_sec={await measure(mode, n):.1f}", flush=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--uvloop"]
    if len(args) != 2 or not args[1].isdigit() or int(args[1]) < PAR:
        sys.exit(f"usage: process.py seq|par|seq,par N [--uvloop] (N >= {PAR})")
    modes = args[0].split(",")
    if any(m not in ("seq", "par") for m in modes):
        sys.exit("process.py: modes are seq and par")
    if "--uvloop" in sys.argv:
        try:
            import uvloop
        except ImportError as e:
            print(f"skipped=uvloop not importable ({e})")
            sys.exit(0)
        uvloop.install()
    asyncio.run(main(modes, int(args[1])))
