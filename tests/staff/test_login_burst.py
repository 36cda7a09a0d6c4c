"""Issue #20: the staff throttles hold under a real concurrent burst. Twenty
requests at once, released together by a barrier, spread over two wallet
ASGI servers (each its own uvicorn process running each request in its own
thread, as in production), with the real password hasher: at most the limit
is ever evaluated, the rest are refused without the password being checked.
Before issue #20 the first three tests saw 20 × 401 (every request read the
failure count before any had added to it)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pyotp
import pytest
from django.conf import global_settings

from accounts.models import AuditEvent
from staff.models import StaffAlert

from .conftest import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True)]

BURST, LIMIT, SERVERS = 20, 5, 2


@pytest.fixture
def servers(start_wallet, settings):
    # The real (slow) hasher, as in production, in the servers and for the users made here.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    env = {"STAFF_LOGIN_FAILURES_PER_USER": str(LIMIT), "STAFF_LOGIN_FAILURES_PER_IP": str(LIMIT),
           "STAFF_LOOKUPS_PER_HOUR": str(LIMIT)}
    return [start_wallet(**env).url for _ in range(SERVERS)]


def _browser(url: str, cookies: httpx.Cookies | None = None) -> tuple[httpx.Client, dict]:
    """A client with its CSRF cookie (and the given session), its connection already open."""
    client = httpx.Client(base_url=url, timeout=60, cookies=cookies)
    client.get("/api/staff/auth/csrf")
    return client, {"X-CSRFToken": client.cookies.get("csrftoken")}


def burst(servers: list[str], path: str, bodies: list[dict], cookies: httpx.Cookies | None = None) -> list[httpx.Response]:
    """POST every body at once, round-robin over the servers; the answers in order."""
    browsers = [_browser(servers[n % len(servers)], cookies) for n in range(len(bodies))]
    barrier = threading.Barrier(len(bodies))

    def post(n: int) -> httpx.Response:
        client, headers = browsers[n]
        barrier.wait()
        return client.post(path, json=bodies[n], headers=headers)

    try:
        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            return list(pool.map(post, range(len(bodies))))
    finally:
        for client, _ in browsers:
            client.close()


def codes(responses: list[httpx.Response]) -> dict[int, int]:
    found: dict[int, int] = {}
    for response in responses:
        found[response.status_code] = found.get(response.status_code, 0) + 1
    return found


def test_a_burst_of_wrong_codes_for_one_user_evaluates_five(servers, staff_factory):
    staff_factory("agent_burst", "agent", "一组")
    answers = burst(servers, "/api/staff/auth/login",
                    [{"username": "agent_burst", "password": PASSWORD, "otp": "000000"}] * BURST)
    assert codes(answers) == {401: LIMIT, 429: BURST - LIMIT}, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 429} == {"STAFF_LOGIN_THROTTLED"}
    logins = AuditEvent.objects.filter(action="staff.login", actor="staff:agent_burst")
    assert logins.filter(code="STAFF_LOGIN_FAILED").count() == LIMIT
    assert logins.filter(code="STAFF_LOGIN_THROTTLED").count() == BURST - LIMIT
    assert StaffAlert.objects.filter(kind="login_throttled", subject="agent_burst").count() == 1


def test_a_burst_with_the_right_code_among_wrong_ones_still_evaluates_five(servers, staff_factory):
    agent = staff_factory("agent_burst", "agent", "一组")
    bodies = [{"username": "agent_burst", "password": PASSWORD, "otp": "000000"}] * BURST
    bodies[0] = {"username": "agent_burst", "password": PASSWORD, "otp": agent.code()}
    answers = burst(servers, "/api/staff/auth/login", bodies)
    found = codes(answers)
    assert found.get(200, 0) + found.get(401, 0) == LIMIT and found[429] == BURST - LIMIT, found
    assert set(found) <= {200, 401, 429}, found


def test_a_burst_from_one_address_evaluates_five(servers, db):
    answers = burst(servers, "/api/staff/auth/login",
                    [{"username": f"nobody{n}", "password": PASSWORD, "otp": "000000"} for n in range(BURST)])
    assert codes(answers) == {401: LIMIT, 429: BURST - LIMIT}, [a.text for a in answers]
    assert AuditEvent.objects.filter(action="staff.login", code="STAFF_LOGIN_FAILED").count() == LIMIT


def test_a_burst_of_lookups_runs_five_and_alerts_once(servers, staff_factory, settings):
    key = staff_factory("agent_burst", "agent", "一组").totp.secret
    client, headers = _browser(servers[0])
    signed_in = client.post("/api/staff/auth/login", headers=headers, json={
        "username": "agent_burst", "password": PASSWORD, "otp": pyotp.TOTP(key).now()})
    client.close()
    assert signed_in.status_code == 200, signed_in.text
    name = settings.SESSION_COOKIE_NAME
    session = httpx.Cookies({name: signed_in.cookies.get(name)})
    answers = burst(servers, "/api/staff/lookup",
                    [{"by": "psn_no", "psn_no": f"P{n:06d}", "reason": "来电咨询支付失败"} for n in range(BURST)],
                    cookies=session)
    assert codes(answers) == {200: LIMIT, 429: BURST - LIMIT}, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 429} == {"STAFF_LOOKUP_LIMIT"}
    assert AuditEvent.objects.filter(action="staff.lookup", code="STAFF_LOOKUP_NO_MATCH").count() == LIMIT
    assert AuditEvent.objects.filter(action="staff.lookup", code="STAFF_LOOKUP_LIMIT").count() == BURST - LIMIT
    assert StaffAlert.objects.filter(kind="lookup_limit", subject="agent_burst").count() == 1

