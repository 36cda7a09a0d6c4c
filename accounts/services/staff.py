"""Operators: the users of /staff/sync/ (outbox, dead letters, pulls,
reconciliation). Like the support console's staff, an operator signs in with
the password AND a TOTP code (accounts.services.staff_login.operator_login),
so each has a confirmed django-otp device. (The read-only ``support`` group of
the Django admin is gone with the admin, issue #20: the audit trail is read in
the console by the auditor role.)"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

OPERATOR_GROUP = "operators"
OPERATOR_PERMISSIONS = [("settlement", "view_reconciliationrun"), ("settlement", "view_outboxmessage"),
                        ("settlement", "view_discrepancy"), ("accounts", "view_auditevent")]


@transaction.atomic
def operator_user_ensure(username: str, password: str, totp_key: str | None = None) -> tuple[User, TOTPDevice]:
    """Create (or complete) an operator with the operators' group and a
    confirmed TOTP device (``totp_key``: hex; random when not given). An
    existing user's password is kept."""
    group, _ = Group.objects.get_or_create(name=OPERATOR_GROUP)
    group.permissions.set([Permission.objects.get(content_type__app_label=app, codename=code)
                           for app, code in OPERATOR_PERMISSIONS])
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_password(password)
        user.save()
    user.groups.add(group)
    device = TOTPDevice.objects.filter(user=user, name="ops").first() or TOTPDevice(user=user, name="ops")
    if totp_key:
        device.key = totp_key
    device.confirmed = True
    device.save()
    return user, device
