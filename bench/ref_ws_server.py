"""Reference server for bench/code_pages.py: a bare ``websockets`` (asyncio)
server that does what the code page's consumer does per connection, and
nothing else — no Django, no Channels, no authentication, no channel layer.

Per connection, as in codes/consumers.py: on connect one ``code`` message;
a rotator task that sleeps until the next step boundary (+5 ms, as the
consumer does) and pushes the next code; a reader that answers ``ping`` and
``refresh``. Codes come from ``codes.format.issue`` (AES block + pyotp TOTP +
MOD 97-10), so the CPU work per message is the same; the JSON shape is the same
({"type": "code", code, step, expires_at, valid_until, step_seconds}).

    .venv/bin/python bench/ref_ws_server.py --port 8765 --step-seconds 30

Listens on 127.0.0.1 only; runs until SIGTERM/SIGINT (the benchmark stops it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyotp  # noqa: E402
from websockets.asyncio.server import serve  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from codes import format as codes  # noqa: E402  (pure: no Django import)

KEY = base64.urlsafe_b64encode(b"bench-only-field-key-32-bytes-ok").decode()
VOUCHER_ID = 1
SECRET = pyotp.random_base32()
ACCEPT_STEPS = 2  # as settings.CODE_ACCEPT_STEPS


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def code_message(step_seconds: int) -> str:
    step = codes.current_step(step_seconds)
    code = codes.issue(VOUCHER_ID, SECRET, key=KEY, step=step, step_seconds=step_seconds)
    return json.dumps({"type": "code", "code": code, "step": step, "expires_at": (step + 1) * step_seconds,
                       "valid_until": (step + ACCEPT_STEPS) * step_seconds, "step_seconds": step_seconds})


def make_handler(step_seconds: int):
    async def rotate(ws):
        try:
            while True:
                await asyncio.sleep(step_seconds - (time.time() % step_seconds) + 0.005)
                await ws.send(code_message(step_seconds))
        except (asyncio.CancelledError, ConnectionClosed):
            pass

    async def handler(ws):
        await ws.send(code_message(step_seconds))
        rotator = asyncio.create_task(rotate(ws))
        try:
            async for raw in ws:
                try:
                    kind = json.loads(raw).get("type")
                except (ValueError, AttributeError):
                    kind = None
                if kind == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif kind == "refresh":
                    await ws.send(code_message(step_seconds))
                else:
                    await ws.send(json.dumps({"type": "error", "code": "UNKNOWN_MESSAGE", "message": "不支持的消息类型"}))
        except ConnectionClosed:
            pass
        finally:
            rotator.cancel()

    return handler


async def main(port: int, step_seconds: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    # Same knobs as uvicorn's defaults where they matter: backlog 2048, ping every
    # 20 s with a 20 s timeout; the "bearer" subprotocol is selected like the wallet does.
    async with serve(make_handler(step_seconds), "127.0.0.1", port, subprotocols=["bearer"], backlog=2048,
                     ping_interval=20, ping_timeout=20, compression="deflate"):
        print(f"listening on 127.0.0.1:{port}", flush=True)
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--step-seconds", type=int, default=30)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop",
                        help="event loop (uvicorn's default 'auto' picks uvloop when installed)")
    args = parser.parse_args()
    raise_nofile()
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(main(args.port, args.step_seconds))
    else:
        asyncio.run(main(args.port, args.step_seconds))
