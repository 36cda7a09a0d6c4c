"""Family bindings (亲情账户): add a relative, their consent (liveness in front
of the binder's phone, an invitation accepted on their own phone, or a
guardian's commitment for a child under 16), proxy activation (the binder
sets the relative's PIN), ending from either side, and the hooks the wallet's
code page, decode and payer confirmation ask (wallet/hooks.py).

Rules, states and codes: docs/subsystems/family.md. Identity of the relative
is the activation's real-name check (accounts ``real_name_verify``: GB 11643,
the core's 1101, the same refusal codes); the claimed relation is checked
with the core's 9402 outside any transaction (a failure to check leaves
``relation_check`` pending, never verified). Limits are checked under the
two persons' row locks (accounts ``persons_lock``, pk order). Every write
records an audit event in its transaction; bindings the core must know of go
through the outbox (person_key: the binder's psn_no)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.enums import AuditOutcome, LivenessPurpose
from accounts.selectors import persons_lock
from accounts.services import audit_record
from accounts.services.activation import login_actor, real_name_verify
from accounts.services.liveness import liveness_consume, liveness_open
from common import idnumber, ratelimit
from common.errors import ApplicationError
from settlement.client import core_client
from settlement.errors import CoreError
from settlement.services.outbox import outbox_enqueue
from wallet.hooks import ProxyGrant
from wallet.selectors import voucher_get, voucher_proxy_states, voucher_usable_by
from wallet.services.pin import pin_check_strength, pin_hash
from wallet.services.push import voucher_push
from wallet.services.vouchers import voucher_proxy_pin_set

from family.enums import (
    EVENT_BINDING_ADDED,
    EVENT_BINDING_ENDED,
    BindingStatus,
    CodeViewKind,
    Consent,
    EndedBy,
    GuardianDocType,
    Relation,
    RelationCheck,
)
from family.models import Binding, CodeGrant, CodeView, Invitation

logger = logging.getLogger(__name__)
DAY = 86400
STANDING = (BindingStatus.PENDING, BindingStatus.ACTIVE)
# A REST client polling the relative's code records one "shown" per grant per this many seconds.
VIEW_DEDUPE_SECONDS = 300


def _err(code: str, message: str, status: int = 400, **detail) -> ApplicationError:
    return ApplicationError(code, message, status=status, detail=detail or None)


NOT_FOUND = ("FAMILY_NOT_FOUND", "未找到该亲属绑定记录")


def _not_found() -> ApplicationError:
    return _err(*NOT_FOUND, status=404)


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Completed years on ``day``: on the birthday itself the new age counts."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _today() -> dt.date:
    return timezone.localdate()


def _binder(login):
    """The login's person, with the voucher activated on this very login."""
    person = login.person
    if person is None or not voucher_usable_by(login, voucher_get(person)):
        raise _err("NOT_ACTIVATED", "请先在本渠道激活您本人的医保电子凭证，再添加亲属", status=403)
    return person


def _audit(action: str, login, person, ip, detail: dict, outcome=AuditOutcome.SUCCESS, code: str = ""):
    audit_record(action=action, outcome=outcome, actor=login_actor(login), person=person, channel=login.channel,
                 ip=ip, code=code, detail=detail)


@contextlib.contextmanager
def _failure_audited(action: str, login, ip, person=None, detail: dict | None = None):
    """Record a failure audit event for an ApplicationError raised inside,
    outside the (rolled back) transaction of the step."""
    try:
        yield
    except ApplicationError as error:
        _audit(action, login, person, ip, detail or {}, outcome=AuditOutcome.FAILURE, code=error.code)
        raise


# --- the relation check (9402) ---------------------------------------------------

def relation_check(binder_psn_no: str, relative_psn_no: str, relation: str) -> tuple[str, str]:
    """Ask the core (9402) whether the registry holds this relation. Returns
    (relation_check, basis). Any failure to check -- the core unreachable,
    9402 not served, an answer of the wrong shape -- is ``pending``."""
    try:
        output = core_client().call("9402", {"data": {"psn_no": binder_psn_no, "rel_psn_no": relative_psn_no,
                                                      "relation": relation}})
    except CoreError as exc:  # CoreRefused included: e.g. 1002 while the core does not serve 9402 yet
        logger.info("9402 relation check not done: %s", exc)
        return RelationCheck.PENDING, ""
    answer = output.get("relation") if isinstance(output, dict) else None
    if not isinstance(answer, dict) or answer.get("verified") not in ("1", "0"):
        logger.warning("9402 answered without relation.verified: %r", output)
        return RelationCheck.PENDING, ""
    basis = answer.get("basis") if isinstance(answer.get("basis"), str) else ""
    return (RelationCheck.VERIFIED if answer["verified"] == "1" else RelationCheck.REFUTED), basis[:20]


def _relation_recheck(binding: Binding) -> None:
    """Re-run 9402 for a binding whose check is pending (outside transactions)."""
    if binding.relation_check != RelationCheck.PENDING:
        return
    check, basis = relation_check(binding.binder.psn_no, binding.relative.psn_no, binding.relation)
    if check != RelationCheck.PENDING:
        Binding.objects.filter(pk=binding.pk, relation_check=RelationCheck.PENDING).update(
            relation_check=check, relation_basis=basis, relation_checked_at=timezone.now())
        binding.relation_check, binding.relation_basis = check, basis


# --- adding a relative -------------------------------------------------------------

def _request_hash(**fields) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _guardian_details(guardian) -> tuple[str, str]:
    missing = _err("FAMILY_GUARDIAN_DETAILS_REQUIRED",
                   "未满16周岁的亲属由监护人绑定：请同意《监护人承诺书》并填写户口簿或出生医学证明编号")
    if not isinstance(guardian, dict) or guardian.get("commitment_accepted") is not True:
        raise missing
    doc_type, doc_no = guardian.get("doc_type"), guardian.get("doc_no")
    if doc_type not in GuardianDocType.values or not isinstance(doc_no, str):
        raise missing
    if not (6 <= len(doc_no) <= 30 and doc_no.isascii() and doc_no.isalnum()):
        raise _err("FAMILY_GUARDIAN_DETAILS_REQUIRED", "户口簿或出生医学证明编号须为6-30位字母或数字，请核对后重新输入")
    return doc_type, doc_no.upper()


def binding_create(*, login, relation: str, name: str, id_number: str, consent: str, guardian: dict | None = None,
                   idempotency_key: str = "", ip: str | None = None, today: dt.date | None = None) -> Binding:
    """The binder adds a relative. Guardian consent (under 16) makes the
    binding active at once; liveness or invitation leaves it pending until
    the relative's face is checked. A replay with the same Idempotency-Key
    and body returns the first binding."""
    binder = _binder(login)
    today = today or _today()
    number = idnumber.normalize(id_number if isinstance(id_number, str) else "")
    digest = _request_hash(relation=relation, name=name, id_number=number, consent=consent, guardian=guardian)
    if idempotency_key:
        earlier = Binding.objects.select_related("binder", "relative").filter(
            binder=binder, idempotency_key=idempotency_key).first()
        if earlier is not None:
            if earlier.request_hash != digest:
                raise _err("IDEMPOTENCY_KEY_REUSED", "该请求标识已用于另一次添加，请刷新后重试", status=409)
            return earlier
    detail = {"relation": relation, "consent": consent, "id_number": idnumber.mask(number)}
    with _failure_audited("family.binding_create", login, ip, person=binder, detail=detail):
        if relation not in Relation.values:
            raise _err("FAMILY_RELATION_INVALID", "请选择与亲属的关系：配偶、父母、子女、兄弟姐妹、祖父母/外祖父母或孙子女/外孙子女")
        if consent not in Consent.values:
            raise _err("VALIDATION_ERROR", "请选择授权方式", fields={"consent": ["无效的选项"]})
        if idnumber.is_valid(number) and binder.id_number == number:
            raise _err("FAMILY_SELF_BINDING", "不能将本人添加为亲属")
        wait = ratelimit.attempt(f"family:bind:binder:{binder.pk}", settings.FAMILY_BIND_LIMIT_PER_BINDER_PER_DAY, DAY)
        if wait:
            raise _err("RATE_LIMITED", "今日添加亲属次数过多，请明天再试", status=429, retry_after=wait)
        if idnumber.is_valid(number):
            id_hash = hashlib.sha256(f"family:{number}".encode()).hexdigest()  # the bucket name never holds the ID
            wait = ratelimit.attempt(f"family:bind:id:{id_hash}", settings.FAMILY_BIND_LIMIT_PER_RELATIVE_ID_PER_DAY,
                                     DAY)
            if wait:
                raise _err("RATE_LIMITED", "该证件今日被添加为亲属的次数过多，请明天再试", status=429, retry_after=wait)
        # The activation's real-name check: format, registry match, enrolment, region -- the same codes.
        relative = real_name_verify(login=login, name=name, number=number, detail=detail, ip=ip)
        if relative.pk == binder.pk:
            raise _err("FAMILY_SELF_BINDING", "不能将本人添加为亲属")
        under_age = age_on(relative.birth_date, today) < settings.FAMILY_GUARDIAN_MAX_AGE
        doc_type = doc_no = ""
        if under_age:
            if consent != Consent.GUARDIAN:
                raise _err("FAMILY_GUARDIAN_DETAILS_REQUIRED",
                           "该亲属未满16周岁，须由监护人承诺绑定：请同意《监护人承诺书》并填写户口簿或出生医学证明编号")
            doc_type, doc_no = _guardian_details(guardian)
        elif consent == Consent.GUARDIAN:
            raise _err("FAMILY_GUARDIAN_NOT_ALLOWED", "该亲属已满16周岁，须由本人通过人脸识别确认授权")
        _limits_precheck(binder, relative)
        check, basis = relation_check(binder.psn_no, relative.psn_no, relation)  # network: outside the transaction
        if under_age and check == RelationCheck.REFUTED:
            raise _err("FAMILY_RELATION_REFUTED", "户籍信息显示您与该亲属不是所选关系，不能以监护人身份绑定；如有疑问请联系户籍所在地", status=409)
        try:
            with transaction.atomic():
                persons_lock(binder.pk, relative.pk)
                _limits_check(binder, relative)
                now = timezone.now()
                binding = Binding.objects.create(
                    public_id=f"fb{secrets.token_hex(11)}", binder=binder, relative=relative, relation=relation,
                    consent=consent, status=BindingStatus.ACTIVE if under_age else BindingStatus.PENDING,
                    relation_check=check, relation_basis=basis, relation_checked_at=None if check == "pending" else now,
                    guardian_doc_type=doc_type, guardian_doc_no=doc_no,
                    guardian_committed_at=now if under_age else None,
                    idempotency_key=idempotency_key, request_hash=digest if idempotency_key else "",
                    activated_at=now if under_age else None,
                )
                if under_age:
                    _core_told_added(binding)
                _audit("family.binding_create", login, binder, ip, {
                    **detail, "binding_id": binding.public_id, "relative_psn_no": relative.psn_no,
                    "relation_check": check, "status": binding.status,
                    # Guardian consent is the binder's own statement, not the relative's: audited as such.
                    "guardian_asserted": under_age, "guardian_doc_type": doc_type,
                    "guardian_doc_no": idnumber.mask(doc_no) if doc_no else ""})
        except IntegrityError:
            if idempotency_key and Binding.objects.filter(binder=binder, idempotency_key=idempotency_key).exists():
                raise _err("IDEMPOTENCY_IN_PROGRESS", "该请求正在处理，请稍后刷新", status=409)
            raise _err("FAMILY_ALREADY_BOUND", "该亲属已在您的亲情账户列表中", status=409)
    return binding


def _limits_precheck(binder, relative) -> None:
    """The limits before the (network) relation check; checked again under the lock."""
    _limits_check(binder, relative)


def _limits_check(binder, relative) -> None:
    standing = Binding.objects.filter(status__in=STANDING)
    if standing.filter(binder=binder, relative=relative).exists():
        raise _err("FAMILY_ALREADY_BOUND", "该亲属已在您的亲情账户列表中", status=409)
    if standing.filter(binder=binder).count() >= settings.FAMILY_MAX_RELATIVES:
        raise _err("FAMILY_TOO_MANY_RELATIVES", f"最多可添加{settings.FAMILY_MAX_RELATIVES}位亲属，请先解除不再需要的绑定",
                   status=409, limit=settings.FAMILY_MAX_RELATIVES)
    if standing.filter(relative=relative).count() >= settings.FAMILY_MAX_BINDERS:
        raise _err("FAMILY_TOO_MANY_BINDERS", f"该亲属已被{settings.FAMILY_MAX_BINDERS}位家人绑定，不能再添加",
                   status=409, limit=settings.FAMILY_MAX_BINDERS)


def _core_told_added(binding: Binding) -> None:
    """Inside the activating transaction: the core learns of the binding."""
    outbox_enqueue(kind=EVENT_BINDING_ADDED, person_key=binding.binder.psn_no, payload={
        "binding_id": binding.public_id, "binder_psn_no": binding.binder.psn_no,
        "rel_psn_no": binding.relative.psn_no, "relation": binding.relation,
        "relation_check": binding.relation_check})
    Binding.objects.filter(pk=binding.pk).update(core_notified=True)
    binding.core_notified = True


def _activate(binding: Binding, *, login, ip, action: str, detail: dict) -> Binding:
    """Pending -> active once consent was given (compare-and-swap), limits re-checked under the lock."""
    _relation_recheck(binding)
    with transaction.atomic():
        persons_lock(binding.binder_id, binding.relative_id)
        moved = Binding.objects.filter(pk=binding.pk, status=BindingStatus.PENDING).update(
            status=BindingStatus.ACTIVE, activated_at=timezone.now())
        if not moved:
            raise _err("FAMILY_NOT_ACTIVE", "该绑定已不在待确认状态", status=409)
        binding.refresh_from_db()
        _core_told_added(binding)
        _audit(action, login, binding.relative, ip, {**detail, "binding_id": binding.public_id,
                                                     "relation_check": binding.relation_check})
    return binding


# --- reads scoped to the caller (IDOR: someone else's id is "not found") ------------

def binding_of_binder(login, binding_id, *, standing: bool = True) -> Binding:
    person = login.person
    if person is None or not isinstance(binding_id, str):
        raise _not_found()
    rows = Binding.objects.select_related("binder", "relative").filter(public_id=binding_id, binder=person)
    if standing:
        rows = rows.filter(status__in=STANDING)
    binding = rows.first()
    if binding is None:
        raise _not_found()
    return binding


def binding_of_relative(login, binding_id) -> Binding:
    person = login.person
    if person is None or not isinstance(binding_id, str):
        raise _not_found()
    binding = (Binding.objects.select_related("binder", "relative")
               .filter(public_id=binding_id, relative=person, status__in=STANDING).first())
    if binding is None:
        raise _not_found()
    return binding


def binding_active_of_binder(login, binding_id) -> Binding:
    binding = binding_of_binder(login, binding_id)
    if binding.status != BindingStatus.ACTIVE:
        raise _err("FAMILY_NOT_ACTIVE", "该亲属尚未完成授权确认", status=409)
    return binding


# --- consent: liveness in front of the binder's phone -------------------------------

def _needs_face(binding: Binding) -> None:
    if binding.status != BindingStatus.PENDING:
        raise _err("FAMILY_NOT_ACTIVE", "该绑定已不在待确认状态", status=409)
    if binding.consent == Consent.GUARDIAN:
        raise _err("FAMILY_NOT_ACTIVE", "监护人绑定无需人脸识别", status=409)


def binding_liveness_start(*, login, binding_id: str, ip: str | None = None):
    binding = binding_of_binder(login, binding_id)
    _needs_face(binding)
    with transaction.atomic():
        session = liveness_open(login=login, subject=binding.relative.psn_no, purpose=LivenessPurpose.BINDING_CONSENT,
                                reference=binding.public_id)
        _audit("family.consent_liveness_start", login, binding.relative, ip, {"binding_id": binding.public_id})
    return session


def binding_liveness_verify(*, login, binding_id: str, result, signature, ip: str | None = None) -> Binding:
    binding = binding_of_binder(login, binding_id)
    with _failure_audited("family.consent_liveness", login, ip, person=binding.relative,
                          detail={"binding_id": binding.public_id}):
        _needs_face(binding)
        liveness_consume(login=login, subject=binding.relative.psn_no, purpose=LivenessPurpose.BINDING_CONSENT,
                         reference=binding.public_id, result=result, signature=signature)
        return _activate(binding, login=login, ip=ip, action="family.consent_liveness",
                         detail={"score": result["score"], "where": "binder_phone"})


# --- consent: an invitation accepted on the relative's own phone ---------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(f"family-invitation:{token}".encode()).hexdigest()


def invitation_create(*, login, binding_id: str, ip: str | None = None) -> tuple[Invitation, str]:
    """A one-time invitation (24 h); the previous open one of the binding is retired."""
    binding = binding_of_binder(login, binding_id)
    _needs_face(binding)
    token = secrets.token_urlsafe(24)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(binding=binding, used_at__isnull=True, retired_at__isnull=True).update(retired_at=now)
        Binding.objects.filter(pk=binding.pk, consent=Consent.LIVENESS).update(consent=Consent.INVITATION)
        invitation = Invitation.objects.create(
            binding=binding, token_hash=_token_hash(token),
            expires_at=now + dt.timedelta(hours=settings.FAMILY_INVITATION_TTL_HOURS))
        _audit("family.invitation_create", login, binding.binder, ip, {"binding_id": binding.public_id,
                                                                         "invitation_id": invitation.pk})
    return invitation, token


def invitation_get(token) -> Invitation:
    """The invitation for ``token`` (any state), or FAMILY_NOT_FOUND."""
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise _not_found()
    invitation = (Invitation.objects.select_related("binding__binder", "binding__relative")
                  .filter(token_hash=_token_hash(token)).first())
    if invitation is None:
        raise _not_found()
    return invitation


def invitation_status(invitation: Invitation, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    if invitation.used_at is not None:
        return "used"
    if invitation.retired_at is not None or invitation.binding.status != BindingStatus.PENDING:
        return "expired"
    if invitation.expires_at <= now:
        return "expired"
    return "open"


def _invitation_usable(login, invitation: Invitation) -> None:
    state = invitation_status(invitation)
    if state == "used":
        raise _err("FAMILY_INVITATION_USED", "该邀请已被使用，如需重新授权请让家人再次发送邀请", status=409)
    if state == "expired":
        raise _err("FAMILY_INVITATION_EXPIRED", "该邀请已过期或已失效，请让家人重新发送邀请", status=409)
    # The relative opens it logged in on their own channel: a login bound to another person is not them.
    if login.person_id is not None and login.person_id != invitation.binding.relative_id:
        raise _err("FAMILY_INVITATION_NOT_FOR_YOU", "该邀请不是发给您的，请使用被邀请人本人的账号打开", status=403)
    if login.person_id == invitation.binding.binder_id:
        raise _err("FAMILY_INVITATION_NOT_FOR_YOU", "该邀请须由被邀请的亲属本人确认", status=403)


def invitation_liveness_start(*, login, token: str, ip: str | None = None):
    invitation = invitation_get(token)
    _invitation_usable(login, invitation)
    binding = invitation.binding
    with transaction.atomic():
        session = liveness_open(login=login, subject=binding.relative.psn_no, purpose=LivenessPurpose.BINDING_CONSENT,
                                reference=f"inv{invitation.pk}")
        _audit("family.invitation_liveness_start", login, binding.relative, ip, {"binding_id": binding.public_id})
    return session


def invitation_accept(*, login, token: str, result, signature, ip: str | None = None) -> Binding:
    """The relative's own liveness on their own phone accepts the invitation (once)."""
    invitation = invitation_get(token)
    binding = invitation.binding
    with _failure_audited("family.invitation_accept", login, ip, person=binding.relative,
                          detail={"binding_id": binding.public_id}):
        _invitation_usable(login, invitation)
        liveness_consume(login=login, subject=binding.relative.psn_no, purpose=LivenessPurpose.BINDING_CONSENT,
                         reference=f"inv{invitation.pk}", result=result, signature=signature)
        spent = Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True, retired_at__isnull=True).update(
            used_at=timezone.now(), used_by_login=login)
        if not spent:
            raise _err("FAMILY_INVITATION_USED", "该邀请已被使用，如需重新授权请让家人再次发送邀请", status=409)
        return _activate(binding, login=login, ip=ip, action="family.invitation_accept",
                         detail={"score": result["score"], "where": "relative_phone", "invitation_id": invitation.pk})


# --- ending ---------------------------------------------------------------------------

# Called inside the ending transaction with the ended binding (mutual aid ends
# with it: family/services/mulaid.py, registered in family/apps.py).
binding_end_listeners: list = []


def _end(binding: Binding, *, login, ip, by: str) -> Binding:
    with transaction.atomic():
        moved = Binding.objects.filter(pk=binding.pk, status__in=STANDING).update(
            status=BindingStatus.ENDED, ended_at=timezone.now(), ended_by=by)
        if not moved:
            raise _not_found()
        Invitation.objects.filter(binding=binding, used_at__isnull=True, retired_at__isnull=True).update(
            retired_at=timezone.now())
        binding.refresh_from_db()
        if binding.core_notified:
            outbox_enqueue(kind=EVENT_BINDING_ENDED, person_key=binding.binder.psn_no,
                           payload={"binding_id": binding.public_id})
        for listener in binding_end_listeners:
            listener(binding)
        _audit("family.binding_end", login, binding.relative, ip, {"binding_id": binding.public_id, "ended_by": by})
        # Every page showing the relative's code re-checks now: the binder's closes (FAMILY_NOT_ACTIVE).
        voucher = voucher_get(binding.relative)
        if voucher is not None:
            voucher_push(voucher.pk, "access.changed")
    return binding


def binding_end_by_binder(*, login, binding_id: str, ip: str | None = None) -> Binding:
    return _end(binding_of_binder(login, binding_id), login=login, ip=ip, by=EndedBy.BINDER)


def binding_end_by_relative(*, login, binding_id: str, ip: str | None = None, today: dt.date | None = None) -> Binding:
    binding = binding_of_relative(login, binding_id)
    if age_on(binding.relative.birth_date, today or _today()) < settings.FAMILY_GUARDIAN_MAX_AGE:
        raise _err("FAMILY_END_NOT_ALLOWED", "未满16周岁的亲属不能自行解除绑定，请由监护人解除", status=403)
    return _end(binding, login=login, ip=ip, by=EndedBy.RELATIVE)


# --- proxy activation: the binder sets the relative's PIN ----------------------------

def binding_pin_set(*, login, binding_id: str, pin, pin_confirm, ip: str | None = None) -> Binding:
    """Set or change the PIN of a relative without a channel of their own
    (weak-PIN rules as activation). The relative's voucher becomes active."""
    binding = binding_active_of_binder(login, binding_id)
    with _failure_audited("family.proxy_pin_set", login, ip, person=binding.relative,
                          detail={"binding_id": binding.public_id}):
        if not isinstance(pin, str) or not isinstance(pin_confirm, str):
            raise _err("PIN_FORMAT", "支付密码须为6位数字")
        pin_check_strength(pin, id_number=binding.relative.id_number)
        if pin_confirm != pin:
            raise _err("PIN_CONFIRM_MISMATCH", "两次输入的支付密码不一致，请重新设置")
        new_hash = pin_hash(pin)
        with transaction.atomic():
            _, first = voucher_proxy_pin_set(person=binding.relative, new_pin_hash=new_hash)
            _audit("family.proxy_pin_set", login, binding.relative, ip,
                   {"binding_id": binding.public_id, "first": first})
    return binding


# --- the wallet's hooks (wallet/hooks.py), registered in family/apps.py ----------------

def _can_show(binding: Binding, states: dict | None = None) -> bool:
    if binding.status != BindingStatus.ACTIVE:
        return False
    state = (states or voucher_proxy_states([binding.relative_id])).get(binding.relative_id)
    return bool(state and state["status"] == "active")


def proxy_grant_open(*, login, binding_id, authorization_id: int) -> ProxyGrant:
    """The code page (or REST fallback) of ``login`` opens a bound relative's
    code under the binder's channel authorization ``authorization_id``."""
    binding = binding_active_of_binder(login, binding_id)
    if not _can_show(binding):
        raise _err("FAMILY_NOT_ACTIVE", "该亲属尚未开通医保电子凭证，请先为其设置支付密码", status=409)
    grant, _ = CodeGrant.objects.get_or_create(binding=binding, authorization_id=authorization_id,
                                               defaults={"channel": login.channel})
    recent = timezone.now() - dt.timedelta(seconds=VIEW_DEDUPE_SECONDS)
    if not CodeView.objects.filter(grant=grant, kind=CodeViewKind.SHOWN, at__gte=recent).exists():
        CodeView.objects.create(binding=binding, grant=grant, kind=CodeViewKind.SHOWN, channel=login.channel)
    return ProxyGrant(id=grant.pk, relative_person_id=binding.relative_id, authorization_id=authorization_id,
                      active=True, binding_id=binding.public_id)


def proxy_grant_get(grant_id: int) -> ProxyGrant | None:
    grant = CodeGrant.objects.select_related("binding").filter(pk=grant_id).first()
    if grant is None:
        return None
    binding = grant.binding
    return ProxyGrant(id=grant.pk, relative_person_id=binding.relative_id, authorization_id=grant.authorization_id,
                      active=_can_show(binding), binding_id=binding.public_id)


def proxy_code_scanned(grant_id: int, institution: str, fixmedins_code: str) -> None:
    grant = CodeGrant.objects.filter(pk=grant_id).first()
    if grant is not None:
        CodeView.objects.create(binding_id=grant.binding_id, grant=grant, kind=CodeViewKind.SCANNED,
                                channel=grant.channel, institution=institution[:100])


def proxy_may_act(binder_person_id: int, relative_person_id: int) -> bool:
    binding = Binding.objects.filter(binder_id=binder_person_id, relative_id=relative_person_id,
                                     status=BindingStatus.ACTIVE).first()
    return binding is not None and _can_show(binding)
