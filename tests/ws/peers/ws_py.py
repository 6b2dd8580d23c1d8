#!/usr/bin/python3
# tests/ws/peers/ws_py.py: Python's `websockets` (Debian 12: python3-websockets 10.4, the
# asyncio API) as a WebSocket server and client for tests/ws/test_ws_interop_python.c.
#
#   ws_py.py server          listens on 127.0.0.1, a port the kernel picks, prints
#                            "listening PORT" and serves until killed: /echo echoes every
#                            message (text as text, bytes as bytes), /close closes at once
#                            with 4003 "py closes"; every connection prints
#                            "open PATH EXTENSIONS" and "close PATH CODE REASON" (the code and
#                            reason of the client's close frame; 1006 when none came)
#   ws_py.py client URL      echoes text and binary of 0, 125 and 65536 bytes through the
#                            server at URL (printing "echo ok"), then closes with 4000
#                            "py says bye" and prints "closed CODE REASON" (the server's)
#   ws_py.py client URL wait waits for the server's close and prints "closed CODE REASON"
#   ... --ca FILE            (client, last) trusts the PEM CA in FILE for a wss:// URL
#
# websockets offers permessage-deflate by default (client) and accepts it when offered
# (server): left so, corio's side must decline or accept it cleanly. A failed check prints
# "fail WHY" and exits 1.
import asyncio
import ssl
import sys

import websockets


def say(line):
    print(line, flush=True)


def fail(why):
    say("fail " + why)
    sys.exit(1)


def pattern(n, text):
    if text:
        return "".join(chr(0x20 + (i * 7) % 95) for i in range(n))
    return bytes((i * 31 + 7) & 0xFF for i in range(n))


def extensions(ws):
    names = [e.name for e in ws.extensions]
    return ",".join(names) if names else "-"


async def handler(ws):
    path = ws.path
    say(f"open {path} {extensions(ws)}")
    if path == "/close":
        await ws.close(4003, "py closes")
    else:
        try:
            async for msg in ws:
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass
    await ws.wait_closed()
    say(f"close {path} {ws.close_code} {ws.close_reason}")


async def server():
    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None) as srv:
        say(f"listening {srv.sockets[0].getsockname()[1]}")
        await asyncio.Future()


async def client(url, wait, ca):
    tls = ssl.create_default_context(cafile=ca) if ca else None
    async with websockets.connect(url, max_size=None, ssl=tls) as ws:
        say(f"extensions {extensions(ws)}")
        if wait:
            await ws.wait_closed()
            say(f"closed {ws.close_code} {ws.close_reason}")
            return
        for n in (0, 125, 65536):
            for text in (True, False):
                data = pattern(n, text)
                await ws.send(data)
                got = await ws.recv()
                if got != data:
                    kind = "text" if text else "binary"
                    fail(f"echo {n} {kind}: {len(got)} {type(got).__name__} came back")
        say("echo ok")
        await ws.close(4000, "py says bye")
        say(f"closed {ws.close_code} {ws.close_reason}")


def main():
    args = sys.argv[1:]
    ca = None
    if len(args) >= 2 and args[-2] == "--ca":
        ca = args[-1]
        args = args[:-2]
    if args == ["server"]:
        asyncio.run(server())
    elif len(args) in (2, 3) and args[0] == "client" and args[2:] in ([], ["wait"]):
        asyncio.run(client(args[1], args[2:] == ["wait"], ca))
    else:
        fail("usage: ws_py.py server | client URL [wait] [--ca FILE]")


if __name__ == "__main__":
    main()
