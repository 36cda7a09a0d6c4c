"""A WebSocket round trip through a real ASGI server and the real channel
layer (channels_redis on the test Redis)."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.support.processes import Process, base_env, free_port, PYTHON


@pytest.fixture(scope="module")
def asgi_server():
    port = free_port()
    proc = Process("asgi", [PYTHON, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port",
                            str(port), "--log-level", "warning", "--timeout-graceful-shutdown", "2"], base_env(), port=port).start()
    yield f"ws://127.0.0.1:{port}"
    proc.stop()


def test_ping_travels_through_the_channel_layer(asgi_server):
    async def scenario():
        async with websockets.connect(f"{asgi_server}/ws/ping/", origin="http://127.0.0.1") as ws:
            await ws.send(json.dumps({"type": "ping", "echo": "医保"}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await ws.send(json.dumps({"type": "nonsense"}))
            error = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return reply, error

    reply, error = asyncio.run(scenario())
    assert reply == {"type": "pong", "echo": "医保", "via": "channel_layer"}
    assert error["code"] == "UNKNOWN_MESSAGE"


def test_ping_group_is_redis_backed(settings):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "common.channel_layer.ResilientRedisChannelLayer"
