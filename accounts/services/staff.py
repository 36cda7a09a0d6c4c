"""Staff roles. Support staff (客服) read the audit trail and masked person
data in the admin; they never see a PIN hash or a full ID number (the admin
shows only masked values and excludes the encrypted columns)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

SUPPORT_GROUP = "support"
SUPPORT_PERMISSIONS = [("accounts", "view_auditevent"), ("accounts", "view_person"), ("accounts", "view_channellogin")]


@transaction.atomic
def support_group_ensure() -> Group:
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    perms = [Permission.objects.get(content_type__app_label=app, codename=code) for app, code in SUPPORT_PERMISSIONS]
    group.permissions.set(perms)
    return group


@transaction.atomic
def support_user_ensure(username: str, password: str) -> User:
    user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
    if created:
        user.set_password(password)
        user.save()
    user.groups.add(support_group_ensure())
    return user


OPERATOR_GROUP = "operators"
OPERATOR_PERMISSIONS = [("settlement", "view_reconciliationrun"), ("settlement", "view_outboxmessage"),
                        ("settlement", "view_discrepancy"), ("accounts", "view_auditevent")]


@transaction.atomic
def operator_user_ensure(username: str, password: str) -> User:
    group, _ = Group.objects.get_or_create(name=OPERATOR_GROUP)
    group.permissions.set([Permission.objects.get(content_type__app_label=app, codename=code)
                           for app, code in OPERATOR_PERMISSIONS])
    user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
    if created:
        user.set_password(password)
        user.save()
    user.groups.add(group)
    return user
