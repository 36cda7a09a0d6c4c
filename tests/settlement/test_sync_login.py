"""Issue #20 item 3: /staff/sync/ needs the second factor. The operator signs
in at /staff/sync/login/ with username + password + TOTP code (throttled and
audited like the console's login); a password-only session is sent there."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from accounts.models import AuditEvent

from .conftest import OPS_PASSWORD

pytestmark = [pytest.mark.django_db]


def test_no_session_is_sent_to_sign_in(client):
    page = client.get("/staff/sync/")
    assert page.status_code == 302 and page["Location"] == "/staff/sync/login/?next=/staff/sync/"
    form = client.get(page["Location"])
    assert form.status_code == 200 and 'name="otp"' in form.content.decode()


def test_a_password_only_session_is_refused(operator):
    client = operator.client
    assert client.login(username="ops", password=OPS_PASSWORD)  # what /admin/login/ used to give
    page = client.get("/staff/sync/")
    assert page.status_code == 302 and page["Location"].startswith("/staff/sync/login/")
    client.force_login(User.objects.get(username="ops"))
    assert client.get("/staff/sync/").status_code == 302


def test_password_and_code_open_the_page(operator):
    signed_in = operator.login()
    assert signed_in.status_code == 302 and signed_in["Location"] == "/staff/sync/"
    page = operator.client.get("/staff/sync/")
    assert page.status_code == 200 and "发件箱" in page.content.decode()
    assert list(AuditEvent.objects.filter(action="ops.login").values_list("outcome", "actor")) == [("success", "ops:ops")]
    operator.client.post("/staff/sync/logout/")
    assert operator.client.get("/staff/sync/").status_code == 302


@pytest.mark.parametrize("wrong", [{"otp": "000000"}, {"password": "not-the-password"}, {"otp": ""},
                                   {"username": "nobody"}])
def test_a_wrong_factor_is_refused_alike(operator, wrong):
    refused = operator.login(**wrong)
    assert refused.status_code == 200  # the form again, with the refusal's code and message
    body = refused.content.decode()
    assert 'data-code="STAFF_LOGIN_FAILED"' in body and "用户名、密码或动态验证码不正确" in body
    assert operator.client.get("/staff/sync/").status_code == 302
    assert AuditEvent.objects.filter(action="ops.login", outcome="failure", code="STAFF_LOGIN_FAILED").count() == 1


def test_a_console_staff_member_is_not_an_operator(operator, db):
    from staff.services import staff_user_create

    member, device = staff_user_create(username="agent_x", password=OPS_PASSWORD, role="agent", team="一组")
    import base64

    import pyotp

    code = pyotp.TOTP(base64.b32encode(bytes(device.bin_key)).decode()).now()
    refused = operator.login(username="agent_x", otp=code)
    assert refused.status_code == 200 and 'data-code="STAFF_LOGIN_FAILED"' in refused.content.decode()


def test_sign_ins_are_throttled_like_the_console(operator, settings):
    settings.STAFF_LOGIN_FAILURES_PER_USER = 3
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    for _ in range(3):
        assert 'data-code="STAFF_LOGIN_FAILED"' in operator.login(otp="000000").content.decode()
    throttled = operator.login()  # the right code: not even checked
    assert 'data-code="STAFF_LOGIN_THROTTLED"' in throttled.content.decode()
    assert operator.client.get("/staff/sync/").status_code == 302


def test_no_open_redirect_after_sign_in(operator):
    signed_in = operator.login(next="https://evil.example/")
    assert signed_in.status_code == 302 and signed_in["Location"] == "/staff/sync/"
