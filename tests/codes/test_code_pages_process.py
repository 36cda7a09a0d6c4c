"""Issue #16 target 3: what one process does once for all its code pages
(codes/pages.py) must not blur one page into another.

- The connects of the same moment are looked up in one batch; a single-use
  ``?ticket=`` offered by two sockets at once still opens one page only.
- The process joins a channel-layer group once for all its pages in it; a
  page that leaves does not take the group away from the pages still open,
  and a notice to the group reaches every one of them.

Real ASGI server processes, the real channel layer (Redis) and the live core."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets

from common import demodata
from tests.support.app import AppClient
from tests.support.http import LiveClient
from tests.codes.test_code_authorization import REVOKED, _open, _revoke, _shown, _until_closed
from tests.codes.test_code_decode import PHARMACIES, decode
from tests.codes.test_code_live import _recv, _terminal

pytestmark = pytest.mark.django_db(transaction=True)
EMPLOYEE = demodata.DEMO_PERSONAS["employee"]


def test_one_ticket_offered_by_two_sockets_at_once_opens_one_page(start_wallet):
    server = start_wallet()
    app = AppClient(LiveClient(server.url)).login()
    app.activate(EMPLOYEE)
    issued = app.post("/api/ws-ticket")
    assert issued.status_code == 200, issued.content
    ticket = issued.json()["ticket"]

    async def attempt():
        try:
            ws = await websockets.connect(f"{server.ws_url}/ws/code/?ticket={ticket}", origin="http://127.0.0.1")
        except websockets.InvalidStatus as refused:
            return ("refused", refused.response.status_code)
        try:
            return ("shown", json.loads(await asyncio.wait_for(ws.recv(), 10)))
        finally:
            await ws.close()

    async def both():
        return await asyncio.gather(attempt(), attempt())

    outcomes = asyncio.run(both())
    shown = [body for kind, body in outcomes if kind == "shown"]
    refused = [status for kind, status in outcomes if kind == "refused"]
    assert len(shown) == 1 and shown[0]["type"] == "code" and len(shown[0]["code"]) == 49, outcomes
    assert refused == [403], outcomes  # the handshake refused with 4401 (uvicorn answers HTTP 403)


def test_a_page_leaving_keeps_the_group_for_the_pages_still_open(start_wallet):
    server = start_wallet()
    wechat = AppClient(LiveClient(server.url), channel="wechat").login()
    wechat.activate(EMPLOYEE)
    alipay = AppClient(LiveClient(server.url), channel="alipay").login()
    alipay.activate(EMPLOYEE)
    pharmacy = _terminal(server, PHARMACIES[0])

    async def scenario():
        first = await _open(server, wechat)
        await _shown(first)
        others = [await _open(server, wechat) for _ in range(2)]
        shown = [await _shown(ws) for ws in others]
        await first.close()  # the process's first page of voucher.<id> and session.<id> leaves
        await asyncio.sleep(0.5)
        answer = await asyncio.to_thread(decode, pharmacy, shown[0]["code"])  # code.scanned to voucher.<id>
        scanned = [await _recv(ws, "scanned", 5) for ws in others]  # only the notice sends it
        await asyncio.to_thread(_revoke, alipay, "wechat")  # access.changed to voucher.<id>
        try:
            closed = await asyncio.gather(*(_until_closed(ws, 10) for ws in others))
        finally:
            for ws in others:
                await ws.close()
        return answer, scanned, closed

    answer, scanned, closed = asyncio.run(scenario())
    assert answer["code"] == 0, answer
    assert [s["institution"] for s in scanned] == [PHARMACIES[0].name] * 2
    for messages, code, _ in closed:  # a fresh code after the scan (maybe an early one too), then the revoke
        assert messages[-1] == REVOKED and code == 4403, (messages, code)
        assert all(m["type"] == "code" for m in messages[:-1]), messages


def test_a_revoke_between_the_connect_lookup_and_the_group_join_still_closes_the_page(start_wallet, monkeypatch):
    """The connect's lookup is the first push's check (one database hop per
    connect, issue #16). A revoke committed after the lookup read its rows
    but announced before the process was in the page's groups in Redis
    reaches no page through the channel layer: the check after the join must
    close the page. The page runs in this test process (the real
    ``code_page_app``, its real batched lookup and the real channel layer);
    the revoke is made through the live server right after the lookup
    returned and before the page joins its groups."""
    from codes import pages as code_pages
    from codes.consumers import code_page_app
    from tests.codes.test_code_authorization import _two_channels

    server = start_wallet()
    wechat, alipay = _two_channels(server)
    pharmacy = _terminal(server, PHARMACIES[0])
    lookup = code_pages.page_opens.query

    async def lookup_then_revoke(keys):
        answers = await lookup(keys)
        await asyncio.to_thread(_revoke, alipay, "wechat")  # its access.changed reaches no one yet
        return answers

    monkeypatch.setattr(code_pages.page_opens, "query", lookup_then_revoke)

    async def scenario():
        # Clear of the early-delivery window, so that only the check after the join can close the page in time.
        while time.time() % 30 > 18:
            await asyncio.sleep(0.5)
        inbox: asyncio.Queue = asyncio.Queue()
        sent: list[dict] = []
        closed = asyncio.Event()

        async def send(message):
            sent.append(message)
            if message["type"] == "websocket.close":
                closed.set()

        await inbox.put({"type": "websocket.connect"})
        scope = {"type": "websocket", "path": "/ws/code/", "query_string": b"", "headers": [],
                 "subprotocols": ["bearer", wechat.token]}
        page = asyncio.create_task(code_page_app(scope, inbox.get, send))
        try:
            await asyncio.wait_for(closed.wait(), 5)
        except asyncio.TimeoutError:
            pass
        finally:
            await inbox.put({"type": "websocket.disconnect", "code": 1000})
            await asyncio.wait_for(page, 5)
        return sent

    sent = asyncio.run(scenario())
    assert sent[0] == {"type": "websocket.accept", "subprotocol": "bearer"}, sent
    texts = [json.loads(m["text"]) for m in sent if m["type"] == "websocket.send"]
    assert [t["type"] for t in texts] == ["code", "session.ended"], texts  # the lookup's code, then the revoke
    assert texts[-1] == REVOKED
    assert sent[-1] == {"type": "websocket.close", "code": 4403}, sent
    answer = decode(pharmacy, texts[0]["code"])  # the code shown names the revoked authorization
    assert answer["errorCode"] == "EC_VOUCHER_UNAVAILABLE", answer
