"""Issue #20 item 3: the Django admin admitted the support user with a
password alone (the full audit trail, channel openids). It is gone: every
staff surface needs the second factor (the console's login, /staff/sync/login/)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User

pytestmark = [pytest.mark.django_db]


@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/admin/accounts/auditevent/",
                                  "/admin/accounts/channellogin/"])
def test_the_admin_admits_nobody(client, path):
    assert client.get(path).status_code == 404
    assert client.post("/admin/login/", {"username": "x", "password": "y"}).status_code == 404
    superuser = User.objects.create_superuser("root", password="root-password-2026")
    client.force_login(superuser)  # even a superuser with a password session
    assert client.get(path).status_code == 404


def test_the_admin_is_not_installed():
    assert "django.contrib.admin" not in settings.INSTALLED_APPS
