"""A PIN change on one channel, seen on the other, with real processes: a
wallet ASGI server, real WebSockets. The other channel's open code page is
told (``pin.changed``, naming the channel) and gets a fresh code at once; its
session socket gets ``security.notice``; its old PIN is refused there. A
forgot-PIN reset and a freeze reach the other channel the same way."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets

from tests.security.helpers import ALICE, NEW_PIN, OTHER_PIN, PIN, change, error, forgot_complete, forgot_verified
from tests.support.app import AppClient
from tests.support.http import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)


async def _recv(ws, kind: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic())))
        if message["type"] == kind:
            return message


def _connect(server, path: str, app: AppClient):
    return websockets.connect(f"{server.ws_url}{path}", subprotocols=["bearer", app.token], origin="http://127.0.0.1")


def test_a_pin_change_on_wechat_reaches_the_alipay_code_page_and_session(start_wallet):
    server = start_wallet(CODE_STEP_SECONDS="30")  # no rotation during the test: every code seen is pushed by an event
    wechat = AppClient(LiveClient(server.url), "wechat").login()
    wechat.activate(ALICE, pin=PIN)
    alipay = AppClient(LiveClient(server.url), "alipay").login()
    alipay.activate(ALICE, pin=PIN)

    async def scenario():
        async with _connect(server, "/ws/code/", alipay) as code_page, \
                _connect(server, "/ws/session/", alipay) as session_page, \
                _connect(server, "/ws/session/", wechat) as own_session:
            first = await _recv(code_page, "code", 5)
            await _recv(session_page, "session", 5)
            await _recv(own_session, "session", 5)
            changed = await asyncio.to_thread(change, wechat, PIN, NEW_PIN)
            told = await _recv(code_page, "pin.changed", 10)
            fresh = await _recv(code_page, "code", 10)
            notice = await _recv(session_page, "security.notice", 10)
            # The session that made the change is not told about itself.
            try:
                own = await asyncio.wait_for(own_session.recv(), 1.5)
            except asyncio.TimeoutError:
                own = None
            # A forgot-PIN reset on wechat reaches the alipay page the same way.
            reset_id = await asyncio.to_thread(forgot_verified, wechat)
            reset = await asyncio.to_thread(forgot_complete, wechat, reset_id, OTHER_PIN)
            told_reset = await _recv(code_page, "pin.changed", 10)
            fresh_after_reset = await _recv(code_page, "code", 10)
            reset_notice = await _recv(session_page, "security.notice", 10)
            assert reset_notice["kind"] == "pin.reset" and "刷脸重设了支付密码" in reset_notice["message"]
            # A freeze closes the alipay code page at once.
            await asyncio.to_thread(wechat.post, "/api/voucher/freeze")
            ended = await _recv(code_page, "session.ended", 10)
            frozen_notice = await _recv(session_page, "security.notice", 10)
            try:
                await asyncio.wait_for(code_page.recv(), 5)
                close_code = None
            except websockets.ConnectionClosed as closed:
                close_code = closed.rcvd.code
        return (first, changed, told, fresh, notice, own, reset, told_reset, fresh_after_reset, ended, frozen_notice,
                close_code)

    (first, changed, told, fresh, notice, own, reset, told_reset, fresh_after_reset, ended, frozen_notice,
     close_code) = asyncio.run(scenario())
    assert changed.status_code == 200, changed.content
    assert told["kind"] == "pin.changed" and told["channel"] == "wechat" and told["channel_name"] == "微信"
    assert "通过微信修改了支付密码" in told["message"] and told["at"]
    assert fresh["code"] != first["code"]  # a fresh code, pushed without waiting for the next step
    assert notice["kind"] == "pin.changed" and "微信" in notice["message"] and notice["at"] == told["at"]
    assert own is None
    assert reset.status_code == 200 and told_reset["kind"] == "pin.reset"
    assert fresh_after_reset["code"] not in {first["code"], fresh["code"]}
    assert ended["code"] == "VOUCHER_UNAVAILABLE" and close_code == 4403
    assert frozen_notice["kind"] == "voucher.frozen"
    # On alipay the old PINs are refused (the voucher is frozen now: unfreeze first to check).
    alipay_error = alipay.post("/api/pin/change", {"old_pin": PIN, "new_pin": "582963", "new_pin_confirm": "582963"})
    error(alipay_error, 403, "VOUCHER_FROZEN")


def test_after_a_change_the_other_channel_refuses_the_old_pin(start_wallet):
    server = start_wallet()
    wechat = AppClient(LiveClient(server.url), "wechat").login()
    wechat.activate(ALICE, pin=PIN)
    alipay = AppClient(LiveClient(server.url), "alipay").login()
    alipay.activate(ALICE, pin=PIN)
    assert change(wechat, PIN, NEW_PIN).status_code == 200
    body = error(change(alipay, PIN, OTHER_PIN), 400, "PIN_INCORRECT")
    assert body["detail"] == {"tries_left": 4}
    assert change(alipay, NEW_PIN, OTHER_PIN).status_code == 200
    error(change(wechat, NEW_PIN, "582963"), 400, "PIN_INCORRECT")
    notes = wechat.get("/api/security/notifications").json()
    assert [n["channel_name"] for n in notes] == ["支付宝", "微信"]
