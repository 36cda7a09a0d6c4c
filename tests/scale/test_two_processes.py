"""Scale-out (issue 16, target 5): two wallet ASGI processes behind HAProxy
(the distribution's package, started here), two Celery workers, the core as
its own process, the real channel layer over Redis.

The phone's code page goes through the balancer and lands on process B (the
balancer's ``X-Served-By`` header on the WebSocket's 101 says which; the
wallet itself never names its process). The pharmacy's terminal talks to
process A directly: its 2102 needs the PIN, and the ``payment.confirm`` that A
publishes reaches the page held by B; the phone confirms with its PIN through
the balancer, the terminal's retry on A settles, the ``payment.completed``
from A reaches B's page, and the money moved once. Then the other channel
revokes the page's channel authorization on A, and the page on B is told and
closed at once. Both Celery workers answer, and the outbox the flow wrote
(activations, revoke) is delivered to the core by them."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from decimal import Decimal

import pytest
import websockets

from common import demodata
from common.envelope import InfCode
from common.money import yuan_to_fen
from settlement.enums import OutboxStatus
from settlement.models import OutboxMessage
from tests.conftest import live_database_env
from tests.support import processes
from tests.support.app import AppClient
from tests.support.http import LiveClient
from tests.support.pos import A_ITEMS, Pos, pharmacy_for

sys.path.insert(0, str(processes.ROOT / "scripts"))
from harness import SERVED_BY_HEADER, haproxy_start  # noqa: E402  (scripts/harness.py)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]
EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
LARGE = [(A_ITEMS[1].med_list_codg, "500.00", "2")]  # 1000.00: account part 350.00 > 200 → the PIN is asked
REVOKED = {"type": "session.ended", "code": "CHANNEL_NOT_AUTHORIZED", "message": "本渠道授权已撤销，如需使用请重新激活"}


@pytest.fixture
def cluster(start_wallet, core_live, outbox_ids_above_earlier_tests):
    """Wallet processes A and B, HAProxy in front of both, two Celery workers."""
    a, b = start_wallet(), start_wallet()
    env = dict(SETTLEMENT_CORE_URL=core_live.url, **live_database_env())
    workers = [processes.start_worker(name=f"scale-worker-{n}", **env) for n in ("1", "2")]
    proxy = haproxy_start({"a": a.port, "b": b.port}, name="scale-haproxy")
    try:
        yield a, b, proxy, workers
    finally:
        proxy.stop()
        for worker in workers:
            worker.stop()


async def _recv(ws, kind: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic())))
        if message["type"] == kind:
            return message


async def _until_closed(ws, timeout: float) -> tuple[list[dict], int | None]:
    messages: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            messages.append(json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))))
    except websockets.ConnectionClosed as closed:
        return messages, closed.rcvd.code if closed.rcvd else None
    except asyncio.TimeoutError:
        return messages, None


async def _open_on(proxy, app: AppClient, server: str):
    """Open the code page through the balancer until it lands on ``server``
    (round robin: the second try at the latest, nobody else connecting)."""
    landed = []
    for _ in range(4):
        ws = await websockets.connect(f"{proxy.ws_url}/ws/code/", subprotocols=["bearer", app.token],
                                      origin="http://127.0.0.1")
        landed.append(ws.response.headers.get(SERVED_BY_HEADER))
        if landed[-1] == server:
            return ws, landed
        await ws.close()
    raise AssertionError(f"the code page never landed on {server}: {landed}")


def test_confirmation_asked_on_a_reaches_the_phone_on_b_and_a_revoke_on_a_closes_it(cluster):
    a, b, proxy, workers = cluster
    phone = AppClient(LiveClient(proxy.url), channel="wechat").login()  # the phone only knows the balancer
    phone.activate(EMPLOYEE, pin="258036")
    other_channel = AppClient(LiveClient(a.url), channel="alipay").login()
    other_channel.activate(EMPLOYEE, pin="258036")
    pos = Pos(LiveClient(a.url), pharmacy_for(EMPLOYEE))  # the terminal talks to process A directly
    before = yuan_to_fen(phone.get("/api/account/balance?refresh=1").json()["balance"])
    bill_box: dict = {}

    async def scenario():
        ws, landed = await _open_on(proxy, phone, "b")
        try:
            shown = await _recv(ws, "code")
            decoded = await asyncio.to_thread(pos.decode, shown["code"])
            bill_box["bill"] = bill = pos.bill(LARGE)
            pending = await asyncio.to_thread(pos.settle, bill, msgid="SCALE-PAY-1")  # on A
            asked = await _recv(ws, "payment.confirm")  # published by A, delivered by B
            confirmed = await asyncio.to_thread(phone.post, f"/api/payments/{asked['id']}/confirm", {"pin": "258036"})
            settled = await asyncio.to_thread(pos.settle, bill, msgid="SCALE-PAY-1")  # the terminal's retry, on A
            completed = await _recv(ws, "payment.completed")
            await asyncio.to_thread(_revoke_wechat, other_channel)  # on A
            after_revoke, close_code = await _until_closed(ws, 15)
        finally:
            await ws.close()
        return landed, shown, decoded, pending, asked, confirmed, settled, completed, after_revoke, close_code

    landed, shown, decoded, pending, asked, confirmed, settled, completed, after_revoke, close_code = \
        asyncio.run(scenario())

    assert landed[-1] == "b" and set(landed) <= {"a", "b"}, landed
    assert shown["type"] == "code" and decoded["code"] == 0, decoded
    assert pending["infcode"] == InfCode.CONFIRMATION_PENDING, pending
    assert pending["output"]["acct_pay"] == Decimal("350.00")
    assert (asked["institution"], asked["medfee_sumamt"], asked["acct_pay"]) == \
        (pharmacy_for(EMPLOYEE).name, "1000.00", "350.00"), asked
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed", confirmed.content
    assert settled["infcode"] == 0, settled
    setl = settled["output"]["setlinfo"]
    assert setl["acct_pay"] == Decimal("350.00") and setl["setl_id"]
    assert (completed["id"], completed["acct_pay"], completed["medfee_sumamt"]) == (asked["id"], "350.00", "1000.00")
    assert yuan_to_fen(completed["balc"]) == before - 35000
    # Charged once, whichever process the phone asks.
    for server in (a, b):
        assert yuan_to_fen(AppClient(LiveClient(server.url), channel="alipay", openid=other_channel.openid)
                           .login().get("/api/account/balance?refresh=1").json()["balance"]) == before - 35000
    assert pos.settle(bill_box["bill"], msgid="SCALE-PAY-1") == settled  # a retry on A: the first answer
    # The revoke on A closed the page on B at once, with the reason, and no further code.
    assert after_revoke == [REVOKED] and close_code == 4403, (after_revoke, close_code)

    # Both workers are up and consuming; the outbox this flow wrote reached the core through them.
    from config.celery import app as celery_app

    def workers_answering() -> set[str] | None:
        """The workers that answer a broadcast ping (one ping may miss a worker busy on a loaded machine)."""
        names = {name.split("@")[0].rsplit("-", 1)[0] for reply in celery_app.control.ping(timeout=3) for name in reply}
        return names if {"scale-worker-1", "scale-worker-2"} <= names else None

    processes.wait_until(workers_answering, timeout=30, interval=0.1, message="both workers answering a ping")
    kinds = processes.wait_until(
        lambda: (not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists())
        and sorted(OutboxMessage.objects.filter(person_key=EMPLOYEE.psn_no).values_list("kind", flat=True)),
        timeout=60, message="the outbox delivered by the two workers")
    assert "authorization.revoked" in kinds and "voucher.activated" in kinds, kinds
    # Both wallet processes really served: the balancer sent requests to each.
    served = proxy.requests_per_server()
    assert served["a"] >= 1 and served["b"] >= 1, served


def _revoke_wechat(by: AppClient) -> None:
    items = by.get("/api/voucher/authorizations").json()
    wechat = next(item["id"] for item in items if item["channel"] == "wechat" and item["status"] == "active")
    response = by.post(f"/api/voucher/authorizations/{wechat}/revoke")
    assert response.status_code == 200, response.content
