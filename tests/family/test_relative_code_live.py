"""The binder's code page for a relative (/ws/code/?person=<binding id>) with
real processes: the relative's code is pushed, a scan is heard, and the page
closes the moment the binding ends (its codes stop decoding)."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.family.helpers import EMPLOYEE, GUARDIAN, SMALL_CHILD, bind
from tests.family.test_relative_code import pharmacy_for, strong_pin
from tests.support.app import AppClient
from tests.support.http import LiveClient
from tests.codes.test_code_live import _recv, _terminal
from tests.codes.test_code_decode import decode

pytestmark = pytest.mark.django_db(transaction=True)


def test_relatives_code_page_hears_the_scan_and_closes_when_the_binding_ends(start_wallet, core_url):
    server = start_wallet()
    binder = AppClient(LiveClient(server.url)).login()
    binder.activate(EMPLOYEE)
    binding_id = bind(binder, SMALL_CHILD, "child", "guardian", GUARDIAN).json()["id"]
    pin = strong_pin(SMALL_CHILD)
    assert binder.post(f"/api/family/relatives/{binding_id}/pin", {"pin": pin, "pin_confirm": pin}).status_code == 200
    pharmacy = _terminal(server, pharmacy_for(SMALL_CHILD))

    async def scenario():
        url = f"{server.ws_url}/ws/code/?person={binding_id}"
        async with websockets.connect(url, subprotocols=["bearer", binder.token], origin="http://127.0.0.1") as ws:
            first = await _recv(ws, "code", 5)
            answer = await asyncio.to_thread(decode, pharmacy, first["code"])
            scanned = await _recv(ws, "scanned", 5)
            second = await _recv(ws, "code", 5)
            ended = await asyncio.to_thread(binder.post, f"/api/family/relatives/{binding_id}/end")
            notice = await _recv(ws, "session.ended", 5)
            try:
                await asyncio.wait_for(ws.recv(), 5)
                close_code = None
            except websockets.ConnectionClosed as closed:
                close_code = closed.rcvd.code
        late = await asyncio.to_thread(decode, pharmacy, second["code"])
        # Opening the page again for the ended binding is refused at once.
        async with websockets.connect(url, subprotocols=["bearer", binder.token], origin="http://127.0.0.1") as ws:
            refused = json.loads(await asyncio.wait_for(ws.recv(), 5))
        return answer, scanned, ended, notice, close_code, late, refused

    answer, scanned, ended, notice, close_code, late, refused = asyncio.run(scenario())
    assert answer["code"] == 0 and answer["data"]["userName"] == SMALL_CHILD.name
    assert scanned["institution"] == pharmacy_for(SMALL_CHILD).name
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert notice["code"] == "FAMILY_NOT_ACTIVE" and not notice["message"].isascii()
    assert close_code == 4403
    assert late["errorCode"] == "EC_VOUCHER_UNAVAILABLE"  # shown before the end, scanned after: refused
    assert refused["type"] == "error" and refused["code"] == "FAMILY_NOT_FOUND"
