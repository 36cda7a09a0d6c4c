"""Issue #20: the per-address real-name failure limit holds under a real
concurrent burst. Fresh logins (the address is what is counted) send wrong
names at once, released together by a barrier, over two wallet ASGI servers:
at most the limit reach the registry, the rest are refused before it is
asked. Before issue #20 the limit was read before the lookup and counted
after it, so every request of a burst read the old count and all of them
were evaluated."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from accounts.models import AuditEvent
from common import demodata

pytestmark = [pytest.mark.django_db(transaction=True)]

BURST, LIMIT, SERVERS = 12, 3, 2
EMPLOYEE = demodata.DEMO_PERSONAS["employee"]


def _logged_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    answer = client.post("/api/auth/login", json={"channel": "wechat", "openid": f"burst-{uuid.uuid4().hex[:16]}"})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return client


def test_a_burst_of_wrong_names_from_one_address_evaluates_the_limit(start_wallet):
    servers = [start_wallet(REALNAME_FAILURES_PER_IP=str(LIMIT)).url for _ in range(SERVERS)]
    clients = [_logged_in(servers[n % SERVERS]) for n in range(BURST)]
    barrier = threading.Barrier(BURST)

    def attempt(n: int) -> httpx.Response:
        barrier.wait()
        return clients[n].post("/api/activation/real-name", json={"name": "错误", "id_number": EMPLOYEE.id_number})

    try:
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            answers = list(pool.map(attempt, range(BURST)))
    finally:
        for client in clients:
            client.close()
    codes = sorted(a.json()["code"] for a in answers)
    assert [a.status_code for a in answers].count(429) == BURST - LIMIT, [a.text for a in answers]
    assert codes.count("TOO_MANY_ATTEMPTS") == BURST - LIMIT
    # Exactly the limit reached the registry: one precise refusal, then the one blurred answer.
    evaluated = [c for c in codes if c != "TOO_MANY_ATTEMPTS"]
    assert len(evaluated) == LIMIT and set(evaluated) <= {"NAME_MISMATCH", "REAL_NAME_NOT_VERIFIED"}, codes
    asked = AuditEvent.objects.filter(action="activation.real_name", outcome="failure").exclude(code="TOO_MANY_ATTEMPTS")
    assert asked.count() == LIMIT
    # The address stays over its limit for the window: even a right name is refused before the registry.
    late = _logged_in(servers[0])
    try:
        answer = late.post("/api/activation/real-name", json={"name": EMPLOYEE.name, "id_number": EMPLOYEE.id_number})
    finally:
        late.close()
    assert answer.status_code == 429 and answer.json()["code"] == "TOO_MANY_ATTEMPTS", answer.text
