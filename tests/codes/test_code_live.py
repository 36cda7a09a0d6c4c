"""Codes with real processes: two wallet ASGI processes racing to redeem one
code, and the code page's WebSocket (rotation, scan notice, reconnect)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
import websockets

from common import demodata
from tests.support.app import AppClient
from tests.support.http import LiveClient
from tests.support.terminal import Terminal
from tests.codes.test_code_decode import DECODE, PHARMACIES, decode
from terminal.services.institutions import institution_register

pytestmark = pytest.mark.django_db(transaction=True)
EMPLOYEE = demodata.DEMO_PERSONAS["employee"]


def _terminal(server, inst) -> Terminal:
    institution_register(fixmedins_code=inst.fixmedins_code, name=inst.name, kind=inst.kind, level=inst.level,
                         region=inst.region, designated=inst.designated, secret=inst.secret)
    terminal = Terminal(LiveClient(server.url), inst.fixmedins_code, inst.secret)
    terminal.sign_in()
    return terminal


def test_two_processes_race_for_one_code_and_exactly_one_wins(start_wallet):
    first, second = start_wallet(), start_wallet()
    app = AppClient(LiveClient(first.url)).login()
    app.activate(EMPLOYEE)
    terminals = [_terminal(first, PHARMACIES[0]), _terminal(second, PHARMACIES[1])]
    for _ in range(8):
        code = app.get("/api/voucher/code").json()["code"]
        answers: list = [None, None]
        barrier = threading.Barrier(2)

        def scan(i):
            barrier.wait()
            answers[i] = decode(terminals[i], code)

        threads = [threading.Thread(target=scan, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes = sorted(a["errorCode"] for a in answers)
        assert outcomes == ["", "EC_CODE_USED"], answers


async def _recv(ws, kind: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic())))
        if message["type"] == kind:
            return message


def test_code_page_rotates_hears_the_scan_and_reconnects(start_wallet):
    server = start_wallet(CODE_STEP_SECONDS="2")
    app = AppClient(LiveClient(server.url)).login()
    app.activate(EMPLOYEE)
    pharmacy = _terminal(server, PHARMACIES[0])
    url = f"{server.ws_url}/ws/code/"

    async def scenario():
        async with websockets.connect(url, subprotocols=["bearer", app.token], origin="http://127.0.0.1") as ws:
            first = await _recv(ws, "code", 5)  # sent on connect, unasked
            second = await _recv(ws, "code", 5)  # the next step, pushed
            third = await _recv(ws, "code", 5)
            await ws.send(json.dumps({"type": "ping"}))
            await _recv(ws, "pong", 5)
            await asyncio.sleep(max(0.0, third["valid_from"] - time.time()) + 0.05)  # sent early: wait for its step
            answer = await asyncio.to_thread(decode, pharmacy, third["code"])
            scanned = await _recv(ws, "scanned", 5)
            after_scan = await _recv(ws, "code", 5)
            await ws.send(json.dumps({"type": "refresh"}))
            refreshed = await _recv(ws, "code", 5)
        # A page that reconnects after a drop gets a fresh code at once.
        started = time.monotonic()
        async with websockets.connect(url, subprotocols=["bearer", app.token], origin="http://127.0.0.1") as ws:
            reconnected = await _recv(ws, "code", 5)
            reconnect_delay = time.monotonic() - started
        return first, second, third, answer, scanned, after_scan, refreshed, reconnected, reconnect_delay

    first, second, third, answer, scanned, after_scan, refreshed, reconnected, delay = asyncio.run(scenario())
    assert second["step"] == first["step"] + 1 and third["step"] == second["step"] + 1
    assert second["expires_at"] - first["expires_at"] == 2 and first["step_seconds"] == 2
    assert len({first["code"], second["code"], third["code"]}) == 3
    assert answer["code"] == 0
    assert scanned["institution"] == PHARMACIES[0].name and scanned["at"]
    assert after_scan["code"] != third["code"]  # the scanned code is retired, a new one shown
    assert refreshed["code"] not in {after_scan["code"], third["code"]}
    assert reconnected["code"] not in {first["code"], second["code"], third["code"], after_scan["code"]}
    assert delay < 5


def test_code_socket_refuses_strangers_and_unactivated(start_wallet):
    server = start_wallet()
    app = AppClient(LiveClient(server.url)).login()  # logged in, never activated

    async def scenario():
        async with websockets.connect(f"{server.ws_url}/ws/code/", subprotocols=["bearer", app.token],
                                      origin="http://127.0.0.1") as ws:
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed as closed:
                return message, closed.rcvd.code
        return message, None

    message, close_code = asyncio.run(scenario())
    assert message == {"type": "error", "code": "NOT_ACTIVATED", "message": "您尚未激活医保电子凭证"}
    assert close_code == 4403


def test_the_next_code_arrives_before_its_step_and_decodes_only_from_it(start_wallet):
    """Early delivery (issue #16): a little before each boundary the page gets
    the next step's code, marked early, with valid_from = the boundary (the
    page switches then). A terminal that scans it before its step is refused
    (EC_CODE_UNKNOWN, nothing redeemed); from its step on it decodes once.
    The page's own image endpoint may render it ahead, so the QR is ready."""
    server = start_wallet(CODE_STEP_SECONDS="4")
    app = AppClient(LiveClient(server.url)).login()
    app.activate(EMPLOYEE)
    pharmacy, other = _terminal(server, PHARMACIES[0]), _terminal(server, PHARMACIES[1])

    async def scenario():
        async with websockets.connect(f"{server.ws_url}/ws/code/", subprotocols=["bearer", app.token],
                                      origin="http://127.0.0.1") as ws:
            first = await _recv(ws, "code", 5)
            early = await _recv(ws, "code", 8)
            received_at = time.time()
            too_soon = await asyncio.to_thread(decode, pharmacy, early["code"])
            image = await asyncio.to_thread(app.get, f"/api/voucher/code/qr?code={early['code']}")
            checked_at = time.time()
            await asyncio.sleep(max(0.0, early["valid_from"] - time.time()) + 0.05)
            on_time = await asyncio.to_thread(decode, pharmacy, early["code"])
            again = await asyncio.to_thread(decode, other, early["code"])
        return first, early, received_at, too_soon, image, checked_at, on_time, again

    first, early, received_at, too_soon, image, checked_at, on_time, again = asyncio.run(scenario())
    assert "early" not in first and first["valid_from"] == first["step"] * 4
    assert early["early"] is True and early["step"] == first["step"] + 1
    assert early["valid_from"] == early["step"] * 4 == first["expires_at"]
    assert early["expires_at"] == early["valid_from"] + 4 and early["valid_until"] == early["valid_from"] + 8
    assert received_at < early["valid_from"], (received_at, early)  # it arrived before its step began
    assert checked_at < early["valid_from"], "the machine was too slow for this check"
    assert too_soon["errorCode"] == "EC_CODE_UNKNOWN", too_soon  # not valid before its own step
    assert image.status_code == 200 and b"<svg" in image.content, image.content[:200]
    assert on_time["code"] == 0 and on_time["errorCode"] == "", on_time  # the refusal did not use it up
    assert again["errorCode"] == "EC_CODE_USED", again
