"""The staff API holds to its OpenAPI schema (schemathesis against a LIVE
wallet): every /api/staff/ operation, anonymous and then with a verified
staff session (cookie + X-CSRFToken) of a supervisor and of an auditor. Every
answer below 500, with a declared status code, content type and body shape.
A staff-only run of tests/common/test_schema_conformance.py's checks, so the
staff endpoints are fuzzed with the session they need, not only refused."""

from __future__ import annotations

import base64
import binascii

import httpx
import pyotp
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode

from tests.common.test_schema_conformance import CHECKS

EXAMPLES = 8
NOT_WITH_SESSION = ("/api/staff/auth/logout",)  # would end the session the other operations use


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """Overrides tests/staff/conftest.py's: the live server checks passwords with the real hashers."""


def _session(base_url: str, username: str, key_hex: str) -> dict:
    totp = pyotp.TOTP(base64.b32encode(binascii.unhexlify(key_hex)).decode())
    with httpx.Client(base_url=base_url, timeout=30) as http:
        csrf = http.get("/api/staff/auth/csrf").json()["csrf_token"]
        login = http.post("/api/staff/auth/login", json={"username": username, "password": "pw-for-schema-test",
                                                          "otp": totp.now()}, headers={"X-CSRFToken": csrf})
        assert login.status_code == 200, login.text
        cookies = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        csrf = http.cookies.get("csrftoken")
    return {"Cookie": cookies, "X-CSRFToken": csrf}


def _fuzz(operation, base_url: str, headers: dict) -> None:
    modes = [GenerationMode.POSITIVE]
    if len(operation.path_parameters) + len(operation.query) + len(operation.body):
        modes.append(GenerationMode.NEGATIVE)
    for mode in modes:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck), print_blob=False)
        def run(case):
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=30)

        run()


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_staff_api_conforms_to_its_schema(wallet_live):
    from staff.services import staff_user_create

    users = {}
    for username, role in (("schema_super", "supervisor"), ("schema_audit", "auditor")):
        _, device = staff_user_create(username=username, password="pw-for-schema-test", role=role, team="一组")
        users[username] = device.key
    schema = schemathesis.openapi.from_url(f"{wallet_live.url}/api/schema/",
                                           headers={"Accept": "application/vnd.oai.openapi+json"})
    operations = [op.ok() for op in schema.get_all_operations() if op.ok().path.startswith("/api/staff/")]
    assert len(operations) >= 19, [op.label for op in operations]
    sessions = [("anonymous", {})] + [(u, _session(wallet_live.url, u, k)) for u, k in users.items()]
    failures = []
    for who, headers in sessions:
        for operation in operations:
            if headers and operation.path in NOT_WITH_SESSION:
                continue
            try:
                _fuzz(operation, wallet_live.url, headers)
            except (Exception, FailureGroup) as failure:  # noqa: BLE001 - every operation's first failure
                failures.append(f"{who}: {operation.label}: {failure}")
    for who, headers in sessions[1:]:  # the sessions were live all along: the fuzzing ran signed in
        me = httpx.get(f"{wallet_live.url}/api/staff/auth/me", headers=headers, timeout=30)
        assert me.status_code == 200 and me.json()["username"] == who, me.text
    assert not failures, f"{len(failures)} staff operation(s) do not conform:\n\n" + "\n\n".join(failures)
