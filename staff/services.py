"""Every write of the support console (issue #15). Each action takes a
mandatory reason and records an audit event (``staff.*``, actor
``staff:<username>``) in its transaction; the effects on the voucher, the PIN
and the channel authorisations are the wallet's own services (they enqueue
the outbox messages for the core and tell open code pages), the reset ticket
is accounts' (the person completes it).

Rules enforced here, each with a stable code:
- a role permission per action (STAFF_FORBIDDEN, 403), auditors never write;
- person-scoped actions only through the caller's own, unexpired case (a
  lookup with a reason): CASE_NOT_FOUND (404) otherwise, the same answer for
  another member's case and an unknown id;
- requests and tickets are scoped to the caller's team: another team's is
  REQUEST_NOT_FOUND / RESET_TICKET_NOT_FOUND (404);
- four eyes: nobody decides a request they made (STAFF_SELF_APPROVAL, 403);
- lookups per agent per hour (STAFF_LOOKUP_LIMIT, 429, and an alert for the
  team's supervisors);
- login attempts per username and per address, counted before the password
  is checked (STAFF_LOGIN_THROTTLED, 429).
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.enums import AuditOutcome
from accounts.selectors import (
    person_by_id_number,
    person_by_psn_no,
    persons_by_name_birth,
    reset_ticket_get,
)
from accounts.services import audit_record
from accounts.services.reset_tickets import reset_ticket_cancel, reset_ticket_create
from accounts.services.staff_login import login_attempt_reserve, login_factors_check, login_session_start
from common import idnumber, ratelimit
from common.errors import ApplicationError
from common.idnumber import mask_in_text
from common.text import visible_length
from wallet.selectors import voucher_get
from wallet.services.pin import pin_unlock
from wallet.services.vouchers import authorization_revoke, voucher_status_change

from .enums import AlertKind, LookupBy, RequestKind, RequestStatus, Role
from .models import ApprovalRequest, Case, CaseNote, StaffAlert, StaffMember, Team
from .roles import GROUP_OF_ROLE, staff_roles_ensure

REASON_MIN, REASON_MAX = 4, 500


def actor_of(member: StaffMember) -> str:
    return f"staff:{member.user.username}"


def _forbidden(permission: str) -> ApplicationError:
    return ApplicationError("STAFF_FORBIDDEN", "您的角色无权执行此操作", status=403, detail={"permission": permission})


def staff_require(member: StaffMember, permission: str) -> None:
    if not member.user.is_active or not member.user.has_perm(f"staff.{permission}"):
        raise _forbidden(permission)


def reason_clean(reason) -> str:
    """The mandatory reason: at least 4 visible characters (spaces, zero-width
    and other invisible characters do not count: common.text.visible_length),
    at most 500 in all; ID numbers masked before it is stored anywhere."""
    if not isinstance(reason, str) or visible_length(reason) < REASON_MIN:
        raise ApplicationError("STAFF_REASON_REQUIRED", f"请填写操作原因（至少{REASON_MIN}个字）",
                               detail={"field": "reason"})
    reason = reason.strip()
    if len(reason) > REASON_MAX or "\x00" in reason:
        raise ApplicationError("STAFF_REASON_REQUIRED", f"操作原因不能超过{REASON_MAX}个字", detail={"field": "reason"})
    return mask_in_text(reason)


# --- accounts and login ---------------------------------------------------------------

@transaction.atomic
def staff_user_create(*, username: str, password: str, role: str, team: str, totp_key: str | None = None
                      ) -> tuple[StaffMember, TOTPDevice]:
    """Create (or update) a staff user with their role group, team and a
    confirmed TOTP device (``totp_key``: hex, 20 bytes by default)."""
    groups = staff_roles_ensure()
    role = Role(role)
    user, created = User.objects.get_or_create(username=username, defaults={"is_staff": False})
    user.set_password(password)
    user.is_active = True
    user.save()
    user.groups.remove(*[g for r, g in groups.items() if r != role])
    user.groups.add(groups[role])
    team_row, _ = Team.objects.get_or_create(name=team)
    member, _ = StaffMember.objects.update_or_create(user=user, defaults={"team": team_row, "role": role})
    device = TOTPDevice.objects.filter(user=user, name="staff").first()
    if device is None:
        device = TOTPDevice(user=user, name="staff", confirmed=True)
    if totp_key:
        device.key = totp_key
    device.confirmed = True
    device.save()
    return member, device


def staff_member_of(user) -> StaffMember | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return StaffMember.objects.select_related("user", "team").filter(user_id=user.pk).first()


def _login_audit(username: str, ip, outcome: str, code: str = "", member: StaffMember | None = None) -> None:
    audit_record(action="staff.login", outcome=outcome, actor=f"staff:{mask_in_text(username)[:90]}", ip=ip,
                 code=code, detail={"team": member.team.name if member else ""})


def staff_login(request, *, username: str, password: str, otp: str, ip: str | None) -> StaffMember:
    """Password and TOTP code together; one message for every wrong factor.
    The attempt is counted per username and per address before the password
    is checked (accounts.services.staff_login: at most 5 evaluated per
    username per window however many arrive at once; STAFF_LOGIN_THROTTLED
    past the limit); every attempt is audited, and the failure that uses a
    username's last attempt alerts its team's supervisors."""
    try:
        attempt = login_attempt_reserve(username, ip)
    except ApplicationError:  # STAFF_LOGIN_THROTTLED, nothing evaluated
        with transaction.atomic():
            _login_audit(username, ip, AuditOutcome.FAILURE, "STAFF_LOGIN_THROTTLED")
        raise
    user, device = login_factors_check(request, username=username, password=password, otp=otp)
    member = staff_member_of(user)
    if member is None or device is None:
        with transaction.atomic():
            if attempt.last:  # throttled from now on
                StaffAlert.objects.create(kind=AlertKind.LOGIN_THROTTLED, team=member.team if member else None,
                                          subject=mask_in_text(username)[:150], detail={"ip": ip or ""})
            _login_audit(username, ip, AuditOutcome.FAILURE, "STAFF_LOGIN_FAILED", member)
        raise ApplicationError("STAFF_LOGIN_FAILED", "用户名、密码或动态验证码不正确", status=401)
    login_session_start(request, attempt, user, device)
    request.session["staff_seen_at"] = timezone.now().timestamp()
    with transaction.atomic():
        _login_audit(username, ip, AuditOutcome.SUCCESS, member=member)
    return member


def staff_logout(request, member: StaffMember, ip: str | None) -> None:
    with transaction.atomic():
        audit_record(action="staff.logout", outcome=AuditOutcome.SUCCESS, actor=actor_of(member), ip=ip)
    auth.logout(request)


# --- lookup and cases ---------------------------------------------------------------

def _lookup_limit(member: StaffMember, ip) -> None:
    """Count the lookup before it runs (one atomic INCR: a burst gets exactly
    the limit through); the refusal numbered limit + 1 is the window's first."""
    limit = settings.STAFF_LOOKUPS_PER_HOUR
    number, wait = ratelimit.take(f"staff-lookup:{member.pk}", limit, 3600)
    if not wait:
        return
    with transaction.atomic():
        if number == limit + 1:  # the first refusal of this window alerts the supervisors
            StaffAlert.objects.create(kind=AlertKind.LOOKUP_LIMIT, team=member.team, subject=member.user.username,
                                      detail={"limit_per_hour": limit})
        audit_record(action="staff.lookup", outcome=AuditOutcome.FAILURE, actor=actor_of(member), ip=ip,
                     code="STAFF_LOOKUP_LIMIT", detail={"limit_per_hour": limit})
    raise ApplicationError("STAFF_LOOKUP_LIMIT", f"查询次数已达每小时{limit}次上限，已通知主管", status=429,
                           detail={"retry_after": wait})


def person_lookup(*, member: StaffMember, by: str, reason, id_number: str = "", psn_no: str = "", name: str = "",
                  birth_date: dt.date | None = None, ip: str | None = None) -> list[Case]:
    """Find a person and open a case for each match (at most 10). The reason
    and how they were found are audited with every lookup, a miss included;
    the ID number typed is never stored (the audit keeps its masked form)."""
    staff_require(member, "person_lookup")
    reason = reason_clean(reason)
    by = LookupBy(by)
    _lookup_limit(member, ip)
    if by == LookupBy.ID_NUMBER:
        if not idnumber.is_valid(id_number):
            raise ApplicationError("STAFF_LOOKUP_INVALID", "身份证号格式或校验位不正确", detail={"field": "id_number"})
        found = [p for p in [person_by_id_number(id_number)] if p is not None]
        query = {"id_number": idnumber.mask(idnumber.normalize(id_number))}
    elif by == LookupBy.PSN_NO:
        if not psn_no:
            raise ApplicationError("STAFF_LOOKUP_INVALID", "请填写人员编号", detail={"field": "psn_no"})
        found = [p for p in [person_by_psn_no(psn_no)] if p is not None]
        query = {"psn_no": psn_no}
    else:
        if not name or birth_date is None:
            raise ApplicationError("STAFF_LOOKUP_INVALID", "请填写姓名和出生日期", detail={"field": "name"})
        found = persons_by_name_birth(name, birth_date)
        query = {"name": name, "birth_date": birth_date.isoformat()}
    expires = timezone.now() + dt.timedelta(seconds=settings.STAFF_CASE_TTL_SECONDS)
    with transaction.atomic():
        cases = [Case.objects.create(public_id=secrets.token_hex(12), staff=member, person=person, looked_up_by=by,
                                     reason=reason, expires_at=expires) for person in found]
        for case in cases:
            audit_record(action="staff.lookup", outcome=AuditOutcome.SUCCESS, actor=actor_of(member),
                         person=case.person, ip=ip, detail={"by": by, "reason": reason, "case_id": case.public_id,
                                                            **query})
        if not cases:
            audit_record(action="staff.lookup", outcome=AuditOutcome.FAILURE, actor=actor_of(member), ip=ip,
                         code="STAFF_LOOKUP_NO_MATCH", detail={"by": by, "reason": reason, **query})
    return cases


def case_of(member: StaffMember, case_id) -> Case:
    """The caller's own unexpired case (CASE_NOT_FOUND otherwise: another
    member's case, an expired one and an unknown id answer alike)."""
    case = (Case.objects.select_related("person", "staff__user").filter(public_id=str(case_id or ""), staff=member,
                                                                        expires_at__gt=timezone.now()).first())
    if case is None:
        raise ApplicationError("CASE_NOT_FOUND", "未找到该案件或案件已过期，请重新查询", status=404)
    return case


# --- actions on a case -------------------------------------------------------------

def reset_ticket_start(*, member: StaffMember, case_id, reason, ip: str | None = None):
    staff_require(member, "reset_ticket_start")
    reason = reason_clean(reason)
    case = case_of(member, case_id)
    with transaction.atomic():
        ticket = reset_ticket_create(person=case.person, actor=actor_of(member), team=member.team.name, reason=reason,
                                     ip=ip)
    return ticket


def reset_ticket_withdraw(*, member: StaffMember, ticket_id, reason, ip: str | None = None):
    """Cancel an open ticket of the caller's team."""
    staff_require(member, "reset_ticket_start")
    reason = reason_clean(reason)
    ticket = reset_ticket_get(ticket_id)
    if ticket is None or ticket.team != member.team.name:
        raise ApplicationError("RESET_TICKET_NOT_FOUND", "未找到该密码重置工单", status=404)
    with transaction.atomic():
        return reset_ticket_cancel(ticket=ticket, actor=actor_of(member), reason=reason, ip=ip)


def voucher_freeze(*, member: StaffMember, case_id, reason, ip: str | None = None):
    """Freeze at once (a lost phone): codes and payments stop; unfreezing needs a supervisor."""
    staff_require(member, "voucher_freeze")
    reason = reason_clean(reason)
    case = case_of(member, case_id)
    with transaction.atomic():
        voucher = voucher_status_change(psn_no=case.person.psn_no, action="freeze", actor=actor_of(member),
                                        reason=reason)
        audit_record(action="staff.voucher_freeze", outcome=AuditOutcome.SUCCESS, actor=actor_of(member),
                     person=case.person, ip=ip, detail={"case_id": case.public_id, "reason": reason})
    return voucher


def channel_revoke(*, member: StaffMember, case_id, authorization_id, reason, ip: str | None = None):
    staff_require(member, "authorization_revoke")
    reason = reason_clean(reason)
    case = case_of(member, case_id)
    if not isinstance(authorization_id, int):
        raise ApplicationError("AUTHORIZATION_NOT_FOUND", "未找到该授权记录", status=404)
    with transaction.atomic():
        authorization = authorization_revoke(person=case.person, authorization_id=authorization_id,
                                             actor=actor_of(member), ip=ip)
        audit_record(action="staff.authorization_revoke", outcome=AuditOutcome.SUCCESS, actor=actor_of(member),
                     person=case.person, ip=ip, detail={"case_id": case.public_id, "reason": reason,
                                                        "authorization_id": authorization.pk,
                                                        "revoked_channel": authorization.channel})
    return authorization


def case_annotate(*, member: StaffMember, case_id, text, ip: str | None = None) -> CaseNote:
    """The note is its own reason (at least 4 visible characters, at most 1000;
    ID numbers masked before it is stored)."""
    staff_require(member, "case_annotate")
    if (not isinstance(text, str) or visible_length(text) < REASON_MIN or len(text.strip()) > 1000
            or "\x00" in text):
        raise ApplicationError("STAFF_NOTE_INVALID", "备注须为4至1000个字", detail={"field": "text"})
    case = case_of(member, case_id)
    text = mask_in_text(text.strip())
    with transaction.atomic():
        note = CaseNote.objects.create(person=case.person, author=member, case=case, text=text)
        audit_record(action="staff.case_note", outcome=AuditOutcome.SUCCESS, actor=actor_of(member),
                     person=case.person, ip=ip, detail={"case_id": case.public_id, "note_id": note.pk, "text": text})
    return note


def request_create(*, member: StaffMember, case_id, kind, reason, id_checked: bool = False,
                   ip: str | None = None) -> ApprovalRequest:
    """Ask the team's supervisors for an unlock (after the in-person ID check:
    ``id_checked`` must be true) or an unfreeze. One pending request per
    person and kind."""
    staff_require(member, "request_create")
    reason = reason_clean(reason)
    case = case_of(member, case_id)
    kind = RequestKind(kind)
    if kind == RequestKind.UNLOCK and id_checked is not True:
        raise ApplicationError("STAFF_ID_CHECK_REQUIRED", "解锁须先在柜台核验本人身份证件，请确认已核验",
                               detail={"field": "id_checked"})
    voucher = voucher_get(case.person)
    if voucher is None:
        raise ApplicationError("VOUCHER_NOT_FOUND", "该参保人尚未开通医保电子凭证", status=404)
    if kind == RequestKind.UNFREEZE and voucher.status != "frozen":
        raise ApplicationError("VOUCHER_STATUS_CONFLICT", "该凭证未被冻结，无需解冻", status=409)
    try:
        with transaction.atomic():
            request = ApprovalRequest.objects.create(public_id=secrets.token_hex(12), kind=kind, person=case.person,
                                                     team=member.team, requested_by=member, reason=reason,
                                                     id_checked=bool(id_checked))
            audit_record(action=f"staff.request.{kind}", outcome=AuditOutcome.SUCCESS, actor=actor_of(member),
                         person=case.person, ip=ip, detail={"case_id": case.public_id, "request_id": request.public_id,
                                                            "reason": reason, "id_checked": bool(id_checked)})
    except IntegrityError:
        raise ApplicationError("STAFF_REQUEST_PENDING", "该参保人已有同类待审批申请", status=409) from None
    return request


def _request_of_team(member: StaffMember, request_id) -> ApprovalRequest:
    request = (ApprovalRequest.objects.select_for_update()
               .filter(public_id=str(request_id or ""), team=member.team).first())
    if request is None:
        raise ApplicationError("REQUEST_NOT_FOUND", "未找到该申请", status=404)
    return request


def request_decide(*, member: StaffMember, request_id, approve: bool, reason, ip: str | None = None
                   ) -> ApprovalRequest:
    """A supervisor of the requester's team approves (the effect runs in the
    same transaction: the wallet's unlock or unfreeze) or denies. Never the
    requester themself."""
    staff_require(member, "request_decide")
    reason = reason_clean(reason)
    with transaction.atomic():
        request = _request_of_team(member, request_id)
        if request.requested_by_id == member.pk:
            audit_record(action=f"staff.request.{request.kind}.decide", outcome=AuditOutcome.FAILURE,
                         actor=actor_of(member), person=request.person, ip=ip, code="STAFF_SELF_APPROVAL",
                         detail={"request_id": request.public_id})
            raise_later = ApplicationError("STAFF_SELF_APPROVAL", "不能审批自己提交的申请，请由其他主管审批",
                                           status=403)
        elif request.status != RequestStatus.PENDING:
            raise ApplicationError("STAFF_REQUEST_DECIDED", "该申请已处理", status=409,
                                   detail={"status": request.status})
        else:
            raise_later = None
            target = RequestStatus.APPROVED if approve else RequestStatus.DENIED
            now = timezone.now()
            ApprovalRequest.objects.filter(pk=request.pk, status=RequestStatus.PENDING).update(
                status=target, decided_by=member, decided_at=now, decision_reason=reason)
            if approve:
                _request_effect(request, member)
            audit_record(action=f"staff.request.{request.kind}.{'approve' if approve else 'deny'}",
                         outcome=AuditOutcome.SUCCESS, actor=actor_of(member), person=request.person, ip=ip,
                         detail={"request_id": request.public_id, "reason": reason,
                                 "requested_by": request.requested_by.user.username})
    if raise_later is not None:  # the refusal is audited (committed above), then raised
        raise raise_later
    request.refresh_from_db()
    return request


def _request_effect(request: ApprovalRequest, member: StaffMember) -> None:
    person = request.person
    if request.kind == RequestKind.UNLOCK:
        if pin_unlock(psn_no=person.psn_no, operator=member.user.username, reason=request.reason,
                      actor=actor_of(member)) is None:
            raise ApplicationError("VOUCHER_NOT_FOUND", "该参保人尚未开通医保电子凭证", status=404)
    else:
        voucher_status_change(psn_no=person.psn_no, action="unfreeze", actor=actor_of(member), reason=request.reason)


def request_withdraw(*, member: StaffMember, request_id, reason, ip: str | None = None) -> ApprovalRequest:
    """The requester withdraws their own pending request."""
    staff_require(member, "request_create")
    reason = reason_clean(reason)
    with transaction.atomic():
        request = _request_of_team(member, request_id)
        if request.requested_by_id != member.pk:
            raise ApplicationError("REQUEST_NOT_FOUND", "未找到该申请", status=404)
        if not ApprovalRequest.objects.filter(pk=request.pk, status=RequestStatus.PENDING).update(
                status=RequestStatus.CANCELLED, decided_at=timezone.now(), decision_reason=reason):
            raise ApplicationError("STAFF_REQUEST_DECIDED", "该申请已处理", status=409)
        audit_record(action=f"staff.request.{request.kind}.withdraw", outcome=AuditOutcome.SUCCESS,
                     actor=actor_of(member), person=request.person, ip=ip,
                     detail={"request_id": request.public_id, "reason": reason})
    request.refresh_from_db()
    return request


def audit_export_record(*, member: StaffMember, filters: dict, rows: int, ip: str | None = None) -> None:
    staff_require(member, "audit_export")
    with transaction.atomic():
        audit_record(action="staff.audit_export", outcome=AuditOutcome.SUCCESS, actor=actor_of(member), ip=ip,
                     detail={"filters": {k: str(v) for k, v in filters.items() if v}, "rows": rows})


def group_name(role: str) -> str:
    return GROUP_OF_ROLE[Role(role)]
