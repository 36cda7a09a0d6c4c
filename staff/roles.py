"""The three staff roles as Django groups, and the permission each staff
action needs (docs/subsystems/staff.md has the matrix)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from .enums import Role
from .models import StaffMember

GROUP_OF_ROLE = {Role.AGENT: "staff_agent", Role.SUPERVISOR: "staff_supervisor", Role.AUDITOR: "staff_auditor"}

AGENT_PERMISSIONS = ["person_lookup", "reset_ticket_start", "voucher_freeze", "authorization_revoke",
                     "case_annotate", "request_create"]
PERMISSIONS_OF_ROLE = {
    Role.AGENT: AGENT_PERMISSIONS,
    # A supervisor can work a case too (never approving their own request) and decides the team's requests.
    Role.SUPERVISOR: [*AGENT_PERMISSIONS, "request_decide", "team_queue_view"],
    Role.AUDITOR: ["audit_read", "audit_export"],
}


def staff_roles_ensure(using: str = "default") -> dict[str, Group]:
    """Create or update the role groups with exactly their permissions. Idempotent."""
    with transaction.atomic(using=using):
        content_type = ContentType.objects.db_manager(using).get_for_model(StaffMember)
        wanted = {codename for perms in PERMISSIONS_OF_ROLE.values() for codename in perms}
        for codename, name in StaffMember._meta.permissions:
            if codename in wanted:
                Permission.objects.using(using).get_or_create(content_type=content_type, codename=codename,
                                                               defaults={"name": name})
        groups = {}
        for role, group_name in GROUP_OF_ROLE.items():
            group, _ = Group.objects.using(using).get_or_create(name=group_name)
            group.permissions.set(Permission.objects.using(using).filter(
                content_type=content_type, codename__in=PERMISSIONS_OF_ROLE[role]))
            groups[role] = group
    return groups


def roles_after_migrate(sender, using="default", **kwargs):
    if using != "default":
        return  # the staff tables live in the wallet's database only
    staff_roles_ensure(using=using)
