"""The operator persona: ``ops`` with the operators' group and a TOTP device,
signed in at /staff/sync/login/ with password + code (the only way in)."""

from __future__ import annotations

import base64

import pyotp
import pytest

OPS_PASSWORD = "ops-demo-2026"


class Operator:
    def __init__(self, client, device):
        self.client = client
        self.totp = pyotp.TOTP(base64.b32encode(bytes(device.bin_key)).decode())

    def login(self, password: str = OPS_PASSWORD, otp: str | None = None, username: str = "ops", **extra):
        return self.client.post("/staff/sync/login/", {"username": username, "password": password,
                                                       "otp": otp if otp is not None else self.totp.now(), **extra})


@pytest.fixture
def operator(client, db):
    from accounts.services.staff import operator_user_ensure

    _, device = operator_user_ensure("ops", OPS_PASSWORD)
    return Operator(client, device)


@pytest.fixture
def ops_client(operator):
    """A client signed in as ``ops`` with both factors."""
    response = operator.login()
    assert response.status_code == 302 and response["Location"] == "/staff/sync/", response.content
    return operator.client
