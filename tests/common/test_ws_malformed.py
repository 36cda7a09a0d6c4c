"""Issue #9 part 4 (WebSocket): a malformed frame on any of our sockets is
answered with ``error`` MALFORMED_MESSAGE and the socket stays open (it still
answers ping); the server logs no traceback. Real ASGI server process, real
channel layer (Redis)."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from common import demodata
from tests.support.app import AppClient
from tests.support.http import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)
EMPLOYEE = demodata.DEMO_PERSONAS["employee"]

MALFORMED_FRAMES = [
    "not json",
    b"\x00\x01binary",
    "[" * 5000 + "]" * 5000,
    '{"type": "ping", "echo": "\\ud800"}',
    '{"type": "ping", "type": "refresh"}',
    '{"type": "ping", "echo": NaN}',
    "",
]


async def _next(ws, kind: str) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message["type"] == kind:
            return message


async def _exercise(url: str, pong: dict, **kwargs) -> list[dict]:
    errors = []
    async with websockets.connect(url, origin="http://127.0.0.1", **kwargs) as ws:
        for frame in MALFORMED_FRAMES:
            await ws.send(frame)
            errors.append(await _next(ws, "error"))
        await ws.send(json.dumps({"type": "ping", **pong}))
        errors.append(await _next(ws, "pong"))
    return errors


def _check(answers: list[dict], server) -> None:
    *errors, pong = answers
    assert len(errors) == len(MALFORMED_FRAMES)
    for error in errors:
        assert error["code"] == "MALFORMED_MESSAGE", error
        assert error["message"].startswith("消息格式不正确"), error
    assert pong["type"] == "pong"
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def test_code_socket_answers_malformed_frames_and_stays_open(start_wallet):
    server = start_wallet()
    app = AppClient(LiveClient(server.url)).login()
    app.activate(EMPLOYEE)
    answers = asyncio.run(_exercise(f"{server.ws_url}/ws/code/", {}, subprotocols=["bearer", app.token]))
    _check(answers, server)


def test_session_socket_answers_malformed_frames_and_stays_open(start_wallet):
    server = start_wallet()
    app = AppClient(LiveClient(server.url)).login()
    answers = asyncio.run(_exercise(f"{server.ws_url}/ws/session/", {}, subprotocols=["bearer", app.token]))
    _check(answers, server)


def test_ping_socket_answers_malformed_frames_and_stays_open(start_wallet):
    server = start_wallet()
    answers = asyncio.run(_exercise(f"{server.ws_url}/ws/ping/", {"echo": "医保"}))
    _check(answers, server)
    assert answers[-1] == {"type": "pong", "echo": "医保", "via": "channel_layer"}
