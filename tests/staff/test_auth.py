"""Staff login: password AND TOTP, throttled and audited failures, no staff
API without the second factor, inactivity expiry, CSRF."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import get_resolver

from accounts.models import AuditEvent

pytestmark = [pytest.mark.django_db]


def staff_endpoints() -> list[tuple[str, str]]:
    """(method, path) of every /api/staff/ view but csrf and login, path parameters filled."""
    resolver = get_resolver()
    found = []
    for pattern in resolver.url_patterns:
        if str(pattern.pattern) != "api/staff/":
            continue
        for sub in pattern.url_patterns:
            route = str(sub.pattern)
            if route in ("auth/csrf", "auth/login"):
                continue
            path = "/api/staff/" + route.replace("<str:case_id>", "c1").replace("<int:authorization_id>", "1") \
                .replace("<str:ticket_id>", "t1").replace("<str:request_id>", "r1")
            view = sub.callback.view_class
            for method in ("get", "post"):
                if hasattr(view, method):
                    found.append((method, path))
    assert len(found) >= 17, found
    return found


def test_login_needs_password_and_code(staff_factory, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's own back-off after a wrong code (1 s, 2 s, ...) aside
    agent = staff_factory("agent_x", "agent", "一组")
    wrong_code = agent.login(otp="000000")
    assert wrong_code.status_code == 401 and wrong_code.json()["code"] == "STAFF_LOGIN_FAILED"
    wrong_password = agent.login(password="nope-nope-nope")
    assert wrong_password.json()["code"] == "STAFF_LOGIN_FAILED"
    assert agent.get("/api/staff/auth/me").json()["code"] == "UNAUTHENTICATED"
    ok = agent.login()
    assert ok.status_code == 200, ok.content
    assert ok.json()["role"] == "agent" and ok.json()["team"] == "一组" and "person_lookup" in ok.json()["permissions"]
    assert agent.get("/api/staff/auth/me").json()["username"] == "agent_x"
    events = list(AuditEvent.objects.filter(action="staff.login").order_by("id").values_list("outcome", "code", "actor"))
    assert events == [("failure", "STAFF_LOGIN_FAILED", "staff:agent_x"), ("failure", "STAFF_LOGIN_FAILED", "staff:agent_x"),
                      ("success", "", "staff:agent_x")]


def test_a_code_is_used_once(staff_factory):
    agent = staff_factory("agent_x", "agent", "一组")
    code = agent.code()
    assert agent.login(otp=code).status_code == 200
    other = staff_factory("agent_x", "agent", "一组")  # same user, another browser, the same code replayed
    other.totp = agent.totp
    assert other.login(otp=code).json()["code"] == "STAFF_LOGIN_FAILED"


def test_failed_logins_are_throttled_per_username(staff_factory, settings):
    settings.STAFF_LOGIN_FAILURES_PER_USER = 3
    agent = staff_factory("agent_x", "agent", "一组")
    for _ in range(3):
        assert agent.login(otp="000000").json()["code"] == "STAFF_LOGIN_FAILED"
    throttled = agent.login()  # the right password and code: refused while throttled
    assert throttled.status_code == 429 and throttled.json()["code"] == "STAFF_LOGIN_THROTTLED"
    assert throttled.json()["detail"]["retry_after"] > 0
    assert AuditEvent.objects.filter(action="staff.login", code="STAFF_LOGIN_THROTTLED").count() == 1
    from staff.models import StaffAlert

    assert StaffAlert.objects.filter(kind="login_throttled", subject="agent_x", team__name="一组").count() == 1


def test_failed_logins_are_throttled_per_address(staff_factory, settings):
    settings.STAFF_LOGIN_FAILURES_PER_IP = 4
    for n in range(4):  # four different usernames from one address
        assert staff_factory(f"user{n}", "agent", "一组").login(otp="000000").status_code == 401
    fresh = staff_factory("agent_y", "agent", "一组")
    assert fresh.login().json()["code"] == "STAFF_LOGIN_THROTTLED"


def test_no_staff_api_without_a_session(staff_factory):
    anonymous = staff_factory("nobody", "agent", "一组")  # never logs in
    for method, path in staff_endpoints():
        response = getattr(anonymous, method)(path)
        assert response.status_code == 401, (method, path, response.content)
        assert response.json()["code"] == "UNAUTHENTICATED", (method, path)


def test_no_staff_api_with_the_password_only(staff_factory):
    """A session with the password alone (what the removed Django admin gave) is not a staff session."""
    agent = staff_factory("agent_x", "agent", "一组")
    from django.contrib.auth.models import User

    agent.client.force_login(User.objects.get(username="agent_x"))
    for method, path in staff_endpoints():
        response = getattr(agent, method)(path)
        assert response.status_code == 401, (method, path, response.content)
        assert response.json()["code"] == "STAFF_OTP_REQUIRED", (method, path)


def test_idle_session_expires(staff_factory, settings):
    agent = staff_factory("agent_x", "agent", "一组").logged_in()
    assert agent.get("/api/staff/auth/me").status_code == 200
    session = agent.client.session
    session["staff_seen_at"] -= settings.STAFF_SESSION_IDLE_SECONDS + 1
    session.save()
    expired = agent.get("/api/staff/auth/me")
    assert expired.status_code == 401 and expired.json()["code"] == "STAFF_SESSION_EXPIRED"
    assert agent.get("/api/staff/auth/me").json()["code"] == "UNAUTHENTICATED"  # the session was ended


def test_activity_keeps_the_session(staff_factory, settings):
    agent = staff_factory("agent_x", "agent", "一组").logged_in()
    session = agent.client.session
    session["staff_seen_at"] -= settings.STAFF_SESSION_IDLE_SECONDS - 5
    session.save()
    assert agent.get("/api/staff/auth/me").status_code == 200  # within the window: refreshed
    assert agent.get("/api/staff/auth/me").status_code == 200


def test_csrf_is_required_for_login_and_writes(staff_factory):
    agent = staff_factory("agent_x", "agent", "一组")
    no_token = agent.post("/api/staff/auth/login", {"username": "agent_x", "password": "x", "otp": "1"}, csrf=False)
    assert no_token.status_code == 403 and no_token.json()["code"] == "CSRF_FAILED"
    agent.logged_in()
    refused = agent.post("/api/staff/lookup", {"by": "psn_no", "psn_no": "x", "reason": "测试原因"}, csrf=False)
    assert refused.status_code == 403 and refused.json()["code"] == "CSRF_FAILED"


def test_logout_ends_the_session(staff_factory):
    agent = staff_factory("agent_x", "agent", "一组").logged_in()
    assert agent.post("/api/staff/auth/logout").status_code == 204
    assert agent.get("/api/staff/auth/me").json()["code"] == "UNAUTHENTICATED"
    assert AuditEvent.objects.filter(action="staff.logout", actor="staff:agent_x").count() == 1


def test_app_bearer_token_is_not_a_staff_session(person_app):
    response = Client().get("/api/staff/auth/me", headers={"Authorization": f"Bearer {person_app.token}"})
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


def test_a_wrong_code_backs_off_the_device(staff_factory):
    """django-otp's own throttle: right after a wrong code even the right one is refused (same answer)."""
    agent = staff_factory("agent_x", "agent", "一组")
    assert agent.login(otp="000000").json()["code"] == "STAFF_LOGIN_FAILED"
    assert agent.login().json()["code"] == "STAFF_LOGIN_FAILED"
