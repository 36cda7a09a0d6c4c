"""The WebSocket accepts the app's token (as a subprotocol) or a single-use
ticket, through a real ASGI server process and the real channel layer."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

pytestmark = pytest.mark.django_db(transaction=True)


def _login(base: str) -> str:
    response = httpx.post(f"{base}/api/auth/login", json={"channel": "alipay", "openid": "ws-test-0001"})
    assert response.status_code == 200, response.text
    return response.json()["token"]


async def _first_message(url: str, **kwargs):
    async with websockets.connect(url, origin="http://127.0.0.1", **kwargs) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 10)), ws.subprotocol


def test_token_as_subprotocol(wallet_live):
    token = _login(wallet_live.url)
    message, subprotocol = asyncio.run(_first_message(f"{wallet_live.ws_url}/ws/session/",
                                                      subprotocols=["bearer", token]))
    assert message == {"type": "session", "channel": "alipay", "activated": False}
    assert subprotocol == "bearer"


def test_ticket_is_single_use(wallet_live):
    token = _login(wallet_live.url)
    ticket = httpx.post(f"{wallet_live.url}/api/ws-ticket", headers={"Authorization": f"Bearer {token}"}).json()
    assert ticket["expires_in"] == 60
    message, _ = asyncio.run(_first_message(f"{wallet_live.ws_url}/ws/session/?ticket={ticket['ticket']}"))
    assert message["channel"] == "alipay"
    with pytest.raises((ConnectionClosed, InvalidStatus)):
        asyncio.run(_first_message(f"{wallet_live.ws_url}/ws/session/?ticket={ticket['ticket']}"))


def test_no_credentials_no_socket(wallet_live):
    with pytest.raises((ConnectionClosed, InvalidStatus)):
        asyncio.run(_first_message(f"{wallet_live.ws_url}/ws/session/"))
    with pytest.raises((ConnectionClosed, InvalidStatus)):
        asyncio.run(_first_message(f"{wallet_live.ws_url}/ws/session/", subprotocols=["bearer", "forged-token"]))
