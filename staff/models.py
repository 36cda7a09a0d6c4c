"""Support staff: teams, members, cases (one audited lookup of one person by
one staff member), approval requests (four eyes), case notes and alerts.

The staff user is a Django user; the role is a Django group (staff/roles.py);
the second factor is a django-otp TOTPDevice."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .enums import AlertKind, LookupBy, RequestKind, RequestStatus, Role


class Team(models.Model):
    name = models.CharField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


class StaffMember(models.Model):
    """A Django user who works the console: their team and role. The
    permissions below are what the role groups hold."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_member")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="members")
    role = models.CharField(max_length=12, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        permissions = [
            ("person_lookup", "查询参保人（脱敏）"),
            ("reset_ticket_start", "发起支付密码重置工单"),
            ("voucher_freeze", "冻结医保电子凭证"),
            ("authorization_revoke", "解除渠道授权"),
            ("case_annotate", "添加案件备注"),
            ("request_create", "申请解锁或解冻"),
            ("request_decide", "审批解锁或解冻"),
            ("team_queue_view", "查看本组待审批事项与告警"),
            ("audit_read", "查看审计记录"),
            ("audit_export", "导出审计记录"),
        ]

    def __str__(self) -> str:
        return f"{self.user.username} ({self.role}, {self.team})"


class Case(models.Model):
    """One staff member's lookup of one person, with the reason they typed.
    Every person-scoped staff API goes through a case of the caller's own
    (another member's case id is CASE_NOT_FOUND), until it expires."""

    public_id = models.CharField(max_length=32, unique=True)
    staff = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="cases")
    person = models.ForeignKey("accounts.Person", on_delete=models.PROTECT, related_name="staff_cases")
    looked_up_by = models.CharField(max_length=12, choices=LookupBy.choices)
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()


class ApprovalRequest(models.Model):
    """An agent asks, a supervisor of the same team decides; never the same person."""

    public_id = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=10, choices=RequestKind.choices)
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    person = models.ForeignKey("accounts.Person", on_delete=models.PROTECT, related_name="staff_requests")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="requests")
    requested_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="requests_made")
    reason = models.CharField(max_length=500)
    id_checked = models.BooleanField(default=False, help_text="unlock: the agent checked the ID document in person")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="requests_decided")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "kind"], condition=models.Q(status="pending"),
                                               name="staff_one_pending_request_per_person_kind")]


class CaseNote(models.Model):
    """An annotation on a person's case file, visible to every staff member who looks them up."""

    person = models.ForeignKey("accounts.Person", on_delete=models.PROTECT, related_name="staff_notes")
    author = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="notes")
    case = models.ForeignKey(Case, null=True, on_delete=models.SET_NULL, related_name="notes")
    text = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)


class StaffAlert(models.Model):
    """For the team's supervisors: an agent past a limit, a throttled login."""

    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts")
    subject = models.CharField(max_length=150, help_text="the staff member (or username) it is about")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
