"""Issue #9 part 2: an open code page stops the moment its login session or
its channel authorization ends, and a code issued under a revoked channel
authorization no longer decodes, while the voucher's other channels still work.

The person activates on WeChat and on Alipay; one channel's login revokes
the other's authorization (or the page's own login logs out). Real ASGI
server processes, the real channel layer (Redis) and the live core."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets

from common import demodata
from tests.support.app import AppClient
from tests.support.http import LiveClient
from tests.codes.test_code_decode import PHARMACIES, decode
from tests.codes.test_code_live import _terminal

pytestmark = pytest.mark.django_db(transaction=True)
EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
REVOKED = {"type": "session.ended", "code": "CHANNEL_NOT_AUTHORIZED", "message": "本渠道授权已撤销，如需使用请重新激活"}
LOGGED_OUT = {"type": "session.ended", "code": "SESSION_ENDED", "message": "登录已失效，请重新登录"}


def _two_channels(server) -> tuple[AppClient, AppClient]:
    wechat = AppClient(LiveClient(server.url), channel="wechat").login()
    wechat.activate(EMPLOYEE)
    alipay = AppClient(LiveClient(server.url), channel="alipay").login()
    alipay.activate(EMPLOYEE)
    return wechat, alipay


def _authorization_id(app: AppClient, channel: str) -> int:
    items = app.get("/api/voucher/authorizations").json()
    return next(a["id"] for a in items if a["channel"] == channel and a["status"] == "active")


def _revoke(by: AppClient, channel: str) -> dict:
    response = by.post(f"/api/voucher/authorizations/{_authorization_id(by, channel)}/revoke")
    assert response.status_code == 200, response.content
    return response.json()


async def _open(server, app: AppClient):
    return await websockets.connect(f"{server.ws_url}/ws/code/", subprotocols=["bearer", app.token],
                                    origin="http://127.0.0.1")


async def _shown(ws) -> dict:
    """The code sent on connect. A page opened in the last seconds before a
    step boundary also gets the next step's code at once (sent early, issue
    #16); take it too, so that what the test collects afterwards is only what
    its own act provokes."""
    first = json.loads(await asyncio.wait_for(ws.recv(), 10))
    try:
        while True:
            following = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            assert following["type"] == "code" and following["step"] == first["step"] + 1, following
    except asyncio.TimeoutError:
        pass
    return first


async def _until_closed(ws, timeout: float) -> tuple[list[dict], int | None, str]:
    """Every message until the server closes the socket, and its close code."""
    messages: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            messages.append(json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))))
    except websockets.ConnectionClosed as closed:
        return messages, closed.rcvd.code if closed.rcvd else None, closed.rcvd.reason if closed.rcvd else ""
    except asyncio.TimeoutError:
        return messages, None, "still open"


def _ending(after: list[dict], ending: dict) -> list[dict]:
    """``after`` ends with ``ending`` and holds nothing else but at most one
    code: a push checks, then sends, so a push whose check read the rows just
    before a change behind the service's back committed still arrives (the
    early delivery of the next step's code, issue #16). Returns that code, if any."""
    assert after and after[-1] == ending, after
    in_flight = after[:-1]
    assert len(in_flight) <= 1 and all(m["type"] == "code" for m in in_flight), after
    return in_flight


def test_revoking_the_channel_from_another_channel_closes_the_open_page_and_kills_its_code(start_wallet):
    """Default 30 s steps: the page must be told at once (the revoke's notice),
    not at the next rotation; the code it showed must stop decoding although
    the voucher keeps an active Alipay authorization."""
    server = start_wallet()
    wechat, alipay = _two_channels(server)
    pharmacy = _terminal(server, PHARMACIES[0])

    async def scenario():
        ws = await _open(server, wechat)
        try:
            shown = await _shown(ws)
            await asyncio.to_thread(_revoke, alipay, "wechat")
            after, close_code, _ = await _until_closed(ws, 10)
        finally:
            await ws.close()
        return shown, after, close_code

    shown, after, close_code = asyncio.run(scenario())
    assert shown["type"] == "code"
    in_flight = _ending(after, REVOKED)  # told why, and no code checked after the revoke
    assert close_code == 4403
    answer = decode(pharmacy, shown["code"])
    assert (answer["code"], answer["errorCode"]) != (0, "")
    assert answer["errorCode"] == "EC_VOUCHER_UNAVAILABLE", answer
    for message in in_flight:
        time.sleep(max(0.0, message["valid_from"] - time.time()) + 0.1)
        assert decode(pharmacy, message["code"])["errorCode"] == "EC_VOUCHER_UNAVAILABLE"
    # The other channel's codes still work: only the revoked channel's are dead.
    assert decode(pharmacy, alipay.get("/api/voucher/code").json()["code"])["code"] == 0

    # The REST fallback and the image endpoint refuse the revoked channel too.
    fallback = wechat.get("/api/voucher/code")
    assert fallback.status_code == 403
    assert fallback.json()["code"] == "CHANNEL_NOT_AUTHORIZED", fallback.content
    image = wechat.get(f"/api/voucher/code/qr?code={shown['code']}")
    assert image.status_code == 403 and image.json()["code"] == "CHANNEL_NOT_AUTHORIZED", image.content
    # …and a live login may not render a code issued under another channel's (revoked) authorization.
    foreign = alipay.get(f"/api/voucher/code/qr?code={shown['code']}")
    assert foreign.status_code in (400, 403) and foreign.json()["code"] in {"EC_VOUCHER_UNAVAILABLE", "EC_CODE_UNKNOWN"}, \
        foreign.content
    assert b"<svg" not in foreign.content

    # A new socket on the revoked channel is refused with the same message.
    async def reopen():
        ws = await _open(server, wechat)
        return await _until_closed(ws, 10)

    messages, close_code, _ = asyncio.run(reopen())
    assert close_code == 4403 and messages[0]["code"] == "CHANNEL_NOT_AUTHORIZED"


def test_reactivating_the_channel_does_not_revive_codes_of_the_revoked_authorization(start_wallet):
    server = start_wallet()
    wechat, alipay = _two_channels(server)
    pharmacy = _terminal(server, PHARMACIES[0])
    old_code = wechat.get("/api/voucher/code").json()["code"]
    _revoke(alipay, "wechat")
    wechat.activate(EMPLOYEE)  # the same login, a new authorization
    assert decode(pharmacy, old_code)["errorCode"] == "EC_VOUCHER_UNAVAILABLE"
    assert decode(pharmacy, wechat.get("/api/voucher/code").json()["code"])["code"] == 0


def test_each_push_rechecks_even_without_the_notice(start_wallet):
    """The per-push check is the guarantee: an authorization revoked behind
    the service's back (so no notice is sent) stops the page at its next
    rotation tick, and a ping after a session expired is answered with the
    ending, not a pong."""
    from accounts.models import LoginSession
    from wallet.models import ChannelAuthorization

    server = start_wallet(CODE_STEP_SECONDS="2")
    wechat, alipay = _two_channels(server)
    pharmacy = _terminal(server, PHARMACIES[0])

    async def revoked_silently():
        ws = await _open(server, wechat)
        try:
            first = await _shown(ws)
            await asyncio.to_thread(lambda: ChannelAuthorization.objects.filter(
                channel="wechat", status="active").update(status="revoked"))
            after, close_code, _ = await _until_closed(ws, 6)
        finally:
            await ws.close()
        return first, after, close_code

    first, after, close_code = asyncio.run(revoked_silently())
    assert first["type"] == "code"
    in_flight = _ending(after, REVOKED)
    assert close_code == 4403
    # A code in flight was checked before the revoke committed; it names the
    # revoked authorization, so it does not decode, even inside its own step.
    for message in in_flight:
        time.sleep(max(0.0, message["valid_from"] - time.time()) + 0.1)
        assert decode(pharmacy, message["code"])["errorCode"] == "EC_VOUCHER_UNAVAILABLE"

    async def expired_then_ping():
        ws = await _open(server, alipay)
        try:
            first = await _shown(ws)
            await asyncio.to_thread(lambda: LoginSession.objects.filter(login__channel="alipay").update(
                expires_at="2000-01-01T00:00:00Z"))
            await ws.send(json.dumps({"type": "ping"}))
            after, close_code, _ = await _until_closed(ws, 6)
        finally:
            await ws.close()
        return first, after, close_code

    first, after, close_code = asyncio.run(expired_then_ping())
    assert first["type"] == "code"
    _ending(after, LOGGED_OUT)
    assert close_code == 4401


def test_logout_closes_the_open_page_at_once(start_wallet):
    server = start_wallet()
    wechat = AppClient(LiveClient(server.url), channel="wechat").login()
    wechat.activate(EMPLOYEE)

    async def scenario():
        ws = await _open(server, wechat)
        try:
            shown = await _shown(ws)
            response = await asyncio.to_thread(wechat.post, "/api/auth/logout")
            assert response.status_code in (200, 204), response.content
            after, close_code, _ = await _until_closed(ws, 10)
        finally:
            await ws.close()
        return shown, after, close_code

    shown, after, close_code = asyncio.run(scenario())
    assert shown["type"] == "code"
    _ending(after, LOGGED_OUT)
    assert close_code == 4401
    fallback = wechat.get("/api/voucher/code")
    assert fallback.status_code == 401 and b'"code"' in fallback.content
    assert wechat.get(f"/api/voucher/code/qr?code={shown['code']}").status_code == 401
