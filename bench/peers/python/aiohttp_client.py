#!/usr/bin/python3
"""bench/peers/python/aiohttp_client.py: the aiohttp and uvloop peers of corio-bench's
http_client and https_client.

The seed's pattern: N tasks on one aiohttp.ClientSession, each fetching URL (and reading
the whole body) again and again until SECS have passed. For an https:// URL, CAFILE is the
CA to trust: an ssl.SSLContext (ssl.create_default_context(cafile=CAFILE): certificate and
name verified) given to the connector. Prints one line:
    requests=<completed with status 200> secs=<elapsed> errors=<failed requests>
With --uvloop, the same program on uvloop's event loop (libuv; Debian's python3-uvloop)
instead of asyncio's own: what a user would switch to for speed, aiohttp unchanged. Exits 1
with a message when uvloop cannot be imported.
usage: aiohttp_client.py [--uvloop] URL N SECS [CAFILE]
"""
import asyncio
import ssl
import sys
import time

import aiohttp


async def fetch_loop(session, url, end, counts):
    while time.monotonic() < end:
        try:
            async with session.get(url) as resp:
                body = await resp.read()
                if resp.status == 200 and body:
                    counts[0] += 1
                else:
                    counts[1] += 1
        except aiohttp.ClientError:
            counts[1] += 1


async def main(url, n, secs, cafile):
    counts = [0, 0]
    if cafile:
        connector = aiohttp.TCPConnector(limit=n, ssl=ssl.create_default_context(cafile=cafile))
    else:
        connector = aiohttp.TCPConnector(limit=n)
    async with aiohttp.ClientSession(connector=connector) as session:
        t0 = time.monotonic()
        end = t0 + secs
        await asyncio.gather(*(fetch_loop(session, url, end, counts) for _ in range(n)))
        elapsed = time.monotonic() - t0
    return counts, elapsed


def use_uvloop():
    """Installs uvloop's event loop policy: asyncio.run then runs on a uvloop loop."""
    try:
        import uvloop
    except ImportError as e:
        print(f"aiohttp_client.py: uvloop not importable: {e}", file=sys.stderr)
        sys.exit(1)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--uvloop"]:
        args = args[1:]
        use_uvloop()
    if len(args) not in (3, 4):
        print("usage: aiohttp_client.py [--uvloop] URL N SECS [CAFILE]", file=sys.stderr)
        sys.exit(2)
    (done, errors), wall = asyncio.run(main(args[0], int(args[1]), float(args[2]),
                                            args[3] if len(args) == 4 else None))
    print(f"requests={done} secs={wall:.6f} errors={errors}")
    sys.exit(0)
