"""Staff personas (healthchecks-style): agent A and supervisor A (team 一组),
a second supervisor A2, agent B (team 二组), an auditor; each a real staff
user made by ``staff_user_create`` with a TOTP device, logging in through
/api/staff/auth/login with password + code."""

from __future__ import annotations

import base64
import binascii
import time

import pyotp
import pytest
from django.test import Client

from common import demodata
from tests.support.app import AppClient

EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
PASSWORD = "correct-horse-battery"


class StaffClient:
    """A browser of the console: its own cookie jar, the CSRF token sent on every POST."""

    def __init__(self, username: str, key_hex: str, *, enforce_csrf: bool = True):
        self.username = username
        self.totp = pyotp.TOTP(_b32(key_hex))
        self.client = Client(enforce_csrf_checks=enforce_csrf)
        self.bodies: list[bytes] = []
        self._step = 0

    def _csrf(self) -> dict:
        token = self.client.cookies.get("csrftoken")
        if token is None:
            self.client.get("/api/staff/auth/csrf")
            token = self.client.cookies.get("csrftoken")
        return {"X-CSRFToken": token.value}

    def code(self) -> str:
        """A fresh code each call (django-otp refuses a code twice): now, then the next step (drift tolerance 1)."""
        at = time.time() + 30 * self._step
        self._step = min(self._step + 1, 1)
        return self.totp.at(at)

    def login(self, password: str = PASSWORD, otp: str | None = None):
        response = self.post("/api/staff/auth/login", {"username": self.username, "password": password,
                                                        "otp": otp if otp is not None else self.code()})
        return response

    def logged_in(self) -> "StaffClient":
        response = self.login()
        assert response.status_code == 200, response.content
        return self

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True):
        response = self.client.post(path, data=data or {}, content_type="application/json",
                                    headers=self._csrf() if csrf else {})
        self.bodies.append(response.content)
        return response

    def get(self, path: str, **params):
        response = self.client.get(path, params)
        self.bodies.append(response.content)
        return response

    def lookup(self, person=EMPLOYEE, reason: str = "来电咨询支付失败") -> str:
        response = self.post("/api/staff/lookup", {"by": "psn_no", "psn_no": person.psn_no, "reason": reason})
        assert response.status_code == 200, response.content
        return response.json()["results"][0]["case_id"]


def _b32(key_hex: str) -> str:
    return base64.b32encode(binascii.unhexlify(key_hex)).decode()


@pytest.fixture
def staff_factory(db):
    from staff.services import staff_user_create

    made = {}

    def make(username: str, role: str, team: str) -> StaffClient:
        member, device = staff_user_create(username=username, password=PASSWORD, role=role, team=team)
        made[username] = member
        return StaffClient(username, device.key)

    return make


@pytest.fixture
def staff(staff_factory):
    """agent_a, agent_b (other team), supervisor_a, supervisor_a2, auditor — logged in."""
    class Team:
        pass

    team = Team()
    team.agent_a = staff_factory("agent_a", "agent", "一组").logged_in()
    team.agent_b = staff_factory("agent_b", "agent", "二组").logged_in()
    team.supervisor_a = staff_factory("supervisor_a", "supervisor", "一组").logged_in()
    team.supervisor_a2 = staff_factory("supervisor_a2", "supervisor", "一组").logged_in()
    team.supervisor_b = staff_factory("supervisor_b", "supervisor", "二组").logged_in()
    team.auditor = staff_factory("auditor", "auditor", "审计").logged_in()
    return team


@pytest.fixture
def person_app(client, core_url):
    """The employee persona, activated on a WeChat login (PIN 258036)."""
    app = AppClient(client).login()
    app.activate(EMPLOYEE)
    return app


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Staff passwords are not what these tests are about: a fast hasher keeps six logins per test cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
