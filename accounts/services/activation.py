"""Activation steps owned by accounts: real-name verification against the
registry, liveness, and the ``Activation`` record that carries a login from
one step to the next.

The orchestration that touches the voucher (first step's voucher checks, the
PIN, the channel authorization) is the wallet's: wallet/services/activation.py
calls the services here. Each step records an audit event (success in the
step's transaction, failure after it rolled back). Steps move an
``Activation`` forward by compare-and-swap, so a replayed or out-of-order call
cannot skip a check. The settlement core is asked through settlement/'s client
only."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from common import crypto, idnumber, ratelimit
from common.envelope import InfCode
from common.errors import ApplicationError
from settlement.client import core_client
from settlement.errors import CoreError, CoreRefused
from settlement.services.housekeeping import batch_delete

from ..enums import ActivationStep, AuditOutcome, LivenessPurpose
from ..models import Activation, ChannelLogin, LivenessSession, Person
from . import audit_record
from .liveness import liveness_consume, liveness_open

logger = logging.getLogger(__name__)

HOUR, DAY = 3600, 86400


def login_actor(login: ChannelLogin) -> str:
    """The audit actor for a channel login."""
    return f"{login.channel}:{login.openid}"


@contextlib.contextmanager
def activation_audited(action: str, login: ChannelLogin, ip: str | None, person: Person | None = None,
                       detail: dict | None = None):
    """Record a failure audit event for an ApplicationError raised inside,
    outside the (rolled back) transaction of the step."""
    try:
        yield
    except ApplicationError as error:
        audit_record(action=action, outcome=AuditOutcome.FAILURE, actor=login_actor(login), person=person,
                     channel=login.channel, ip=ip, code=error.code, detail=detail)
        raise


# --- step 1: real name --------------------------------------------------------

def _too_many(message: str, retry_after: int) -> ApplicationError:
    return ApplicationError("TOO_MANY_ATTEMPTS", message, status=429, detail={"retry_after": retry_after})


# NOT_ENROLLED and NAME_MISMATCH tell whether an ID number is enrolled at all.
# Only a login's (and its address's) first such refusal gets the precise
# answer; after that both get this one answer, so a free login cannot walk a
# list of ID numbers sorting "enrolled" from "not enrolled".
REAL_NAME_NOT_VERIFIED = ("REAL_NAME_NOT_VERIFIED",
                          "姓名与身份证号码未能通过核验，请核对后重新输入；如确认无误，请联系参保地医保经办机构或拨打医保服务热线12393")


def real_name_verify(*, login: ChannelLogin, name: str, number: str, detail: dict, ip: str | None = None) -> Person:
    """Check ``name`` and the normalized ID ``number`` against the registry
    and upsert the person. Call inside ``activation_audited`` with the same
    ``detail`` (the precise registry code and the psn_no are added to it).

    Limits (docs/subsystems/activation.md): attempts per login per hour,
    failures per client address per hour, attempts per (ID number, login) per
    day. None is counted per ID number alone, so a stranger typing someone's
    number spends only the stranger's own allowance."""
    name = (name or "").strip()
    wait = ratelimit.attempt(f"realname:login:{login.pk}", settings.REALNAME_LIMIT_PER_LOGIN, HOUR)
    if wait:
        raise _too_many("实名认证尝试次数过多，请1小时后再试", wait)
    # The address's failure allowance is reserved before the registry is asked (one atomic INCR), and
    # given back unless the answer is a counted refusal: however many arrive at once from one address,
    # at most REALNAME_FAILURES_PER_IP lookups that could fail are evaluated in a window (issue #20).
    ip_bucket = f"realname:fail:ip:{ip}" if ip else ""
    ip_number = 0
    if ip_bucket:
        ip_number, wait = ratelimit.take(ip_bucket, settings.REALNAME_FAILURES_PER_IP, HOUR)
        if wait:
            ratelimit.give_back(ip_bucket)
            raise _too_many("当前网络实名认证失败次数过多，请1小时后再试", wait)
    counted = False
    try:
        if not idnumber.is_valid(number):
            raise ApplicationError("ID_NUMBER_INVALID", "身份证号码格式不正确，请核对后重新输入")
        if not name or len(name) > 50:
            raise ApplicationError("VALIDATION_ERROR", "请输入与身份证一致的姓名")
        id_hash = Person.hash_id_number(number)
        wait = ratelimit.attempt(f"realname:id:{id_hash}:login:{login.pk}", settings.REALNAME_LIMIT_PER_ID, DAY)
        if wait:
            raise _too_many("该证件今日实名认证尝试次数过多，请明天再试", wait)
        registry = _registry_lookup(number, name)
    except ApplicationError as error:
        counted = isinstance(error, _IdentityRefusal)
        refusal = _real_name_failed(error, login, earlier_at_address=max(ip_number - 1, 0))
        if refusal is not error:
            detail["registry_code"] = error.code  # the audit trail keeps the precise reason
        raise refusal from None
    finally:
        if ip_bucket and not counted:
            ratelimit.give_back(ip_bucket)  # not a counted refusal: the reservation is returned
    person = _person_upsert(registry, number)
    detail["psn_no"] = person.psn_no
    return person


def activation_login_check(login: ChannelLogin, person: Person) -> None:
    """A login activates for one person only."""
    if login.person_id and login.person_id != person.pk:
        raise ApplicationError("LOGIN_BOUND_TO_OTHER_PERSON", "该账号已绑定其他参保人的医保电子凭证", status=409)


def activation_create(*, login: ChannelLogin, person: Person, pin_mode: str, detail: dict,
                      ip: str | None = None) -> Activation:
    """Inside the caller's transaction: the real-name step passed."""
    activation = Activation.objects.create(
        public_id=secrets.token_hex(16), login=login, person=person,
        step=ActivationStep.REAL_NAME_PASSED, pin_mode=pin_mode,
        expires_at=timezone.now() + dt.timedelta(seconds=settings.ACTIVATION_TTL_SECONDS),
    )
    audit_record(action="activation.real_name", outcome=AuditOutcome.SUCCESS, actor=login_actor(login),
                 person=person, channel=login.channel, ip=ip, detail=detail)
    return activation


class _IdentityRefusal(ApplicationError):
    """The registry has no such ID number, or another name for it: the two
    answers that sort enrolled ID numbers from the rest."""


def _real_name_failed(error: ApplicationError, login: ChannelLogin, *, earlier_at_address: int) -> ApplicationError:
    """Count a registry refusal (no such ID / another name) against the login
    (the address's count was reserved before the lookup); after the first,
    both become one answer. Format errors and answers reached only with a
    matching name are not counted."""
    if not isinstance(error, _IdentityRefusal):
        return error
    number, _ = ratelimit.take(f"realname:fail:login:{login.pk}", 1, DAY)
    earlier = (number - 1) + earlier_at_address
    if earlier:
        return ApplicationError(*REAL_NAME_NOT_VERIFIED)
    return error


def _registry_lookup(number: str, name: str) -> dict:
    """Ask the core (1101) who this is; map its refusals to our codes."""
    input = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": number, "psn_cert_type": "01",
                      "certno": number, "psn_name": name}}
    try:
        output = core_client().call("1101", input)
    except CoreRefused as refused:
        if refused.infcode == InfCode.PERSON_NOT_FOUND:
            raise _IdentityRefusal("NOT_ENROLLED", "未查询到您的参保信息，请确认已参保或联系参保地医保经办机构")
        if refused.infcode == InfCode.PERSON_NAME_MISMATCH:
            raise _IdentityRefusal("NAME_MISMATCH", "姓名与身份证号码不一致，请核对后重新输入")
        logger.warning("1101 refused during real-name: %s %s", refused.infcode, refused.err_msg)
        raise ApplicationError("CORE_UNAVAILABLE", "医保信息平台暂时无法完成核验，请稍后再试", status=503)
    except CoreError as exc:
        logger.warning("settlement core unavailable during real-name: %s", exc)
        raise ApplicationError("CORE_UNAVAILABLE", "医保信息平台暂时无法访问，请稍后再试", status=503)
    insu = (output.get("insuinfo") or [{}])[0]
    status = insu.get("psn_insu_stas")
    if status == "2":
        raise ApplicationError("ENROLMENT_SUSPENDED", "您的参保状态为暂停参保，暂不能激活，请联系参保地医保经办机构")
    if status != "1":
        raise ApplicationError("NOT_ENROLLED", "您当前不在参保状态，请联系参保地医保经办机构")
    if not (output.get("evoucher") or {}).get("region_open", False):
        raise ApplicationError("REGION_NOT_OPEN", "您的参保地暂未开通医保电子凭证服务，请关注当地医保部门通知")
    return output


def _person_upsert(registry: dict, number: str) -> Person:
    base = registry["baseinfo"]
    insu = (registry.get("insuinfo") or [{}])[0]
    fields = {
        "name": base["psn_name"],
        "gender": base.get("gend") or idnumber.gender(number),
        "birth_date": dt.date.fromisoformat(base["brdy"]),
        "insutype": insu.get("insutype", ""),
        "insured_region": insu.get("insuplc_admdvs", ""),
    }
    id_hash = Person.hash_id_number(number)
    person = Person.objects.filter(psn_no=base["psn_no"]).first()
    if person is None:
        try:
            with transaction.atomic():
                return Person.objects.create(psn_no=base["psn_no"], id_number_encrypted=crypto.encrypt(number),
                                             id_number_hash=id_hash, **fields)
        except IntegrityError:  # a concurrent first activation created it
            person = Person.objects.get(psn_no=base["psn_no"])
    changed = [k for k, v in fields.items() if getattr(person, k) != v]
    if changed:
        for key in changed:
            setattr(person, key, fields[key])
        person.save(update_fields=changed + ["updated_at"])
    return person


def activation_get(login: ChannelLogin, public_id: str) -> Activation:
    activation = (Activation.objects.select_related("person")
                  .filter(public_id=str(public_id or ""), login=login, expires_at__gt=timezone.now()).first())
    if activation is None:
        raise ApplicationError("ACTIVATION_NOT_FOUND", "激活流程已过期，请重新开始", status=404)
    return activation


# --- step 2: liveness ---------------------------------------------------------

def activation_liveness_start(*, login: ChannelLogin, activation_id: str, ip: str | None = None) -> LivenessSession:
    activation = activation_get(login, activation_id)
    with activation_audited("activation.liveness_start", login, ip, person=activation.person):
        if activation.step != ActivationStep.REAL_NAME_PASSED:
            raise ApplicationError("ACTIVATION_STEP_ORDER", "请按步骤完成激活", status=409)
        with transaction.atomic():
            session = liveness_open(login=login, subject=activation.person.psn_no,
                                    purpose=LivenessPurpose.ACTIVATION, activation=activation)
            audit_record(action="activation.liveness_start", outcome=AuditOutcome.SUCCESS, actor=login_actor(login),
                         person=activation.person, channel=login.channel, ip=ip, detail={"actions": session.actions})
    return session


def activation_liveness_verify(*, login: ChannelLogin, activation_id: str, result, signature, ip: str | None = None,
                               now: dt.datetime | None = None) -> Activation:
    activation = activation_get(login, activation_id)
    with activation_audited("activation.liveness_verify", login, ip, person=activation.person):
        if activation.step != ActivationStep.REAL_NAME_PASSED:
            raise ApplicationError("ACTIVATION_STEP_ORDER", "请按步骤完成激活", status=409)
        liveness_consume(login=login, subject=activation.person.psn_no, purpose=LivenessPurpose.ACTIVATION,
                         activation=activation, result=result, signature=signature, now=now)
        with transaction.atomic():
            moved = Activation.objects.filter(pk=activation.pk, step=ActivationStep.REAL_NAME_PASSED).update(
                step=ActivationStep.LIVENESS_PASSED)
            if not moved:
                raise ApplicationError("ACTIVATION_STEP_ORDER", "请按步骤完成激活", status=409)
            audit_record(action="activation.liveness_verify", outcome=AuditOutcome.SUCCESS, actor=login_actor(login),
                         person=activation.person, channel=login.channel, ip=ip, detail={"score": result["score"]})
    activation.refresh_from_db()
    return activation


# --- step 3 (the wallet sets or checks the PIN, then completes) ---------------

def activation_complete(*, activation: Activation, login: ChannelLogin, person: Person) -> None:
    """Inside the caller's transaction: the activation is completed (once)
    and the login is bound to the person."""
    moved = Activation.objects.filter(pk=activation.pk, step=ActivationStep.LIVENESS_PASSED).update(
        step=ActivationStep.COMPLETED, completed_at=timezone.now())
    if not moved:
        raise ApplicationError("ACTIVATION_STEP_ORDER", "该激活流程已完成", status=409)
    bound = ChannelLogin.objects.filter(pk=login.pk, person__isnull=True).update(person=person)
    if not bound and ChannelLogin.objects.filter(pk=login.pk).exclude(person=person).exists():
        raise ApplicationError("LOGIN_BOUND_TO_OTHER_PERSON", "该账号已绑定其他参保人的医保电子凭证", status=409)


# --- housekeeping (registered with settlement's sweep hook in accounts/apps.py) ---

def liveness_session_expired_delete(before: dt.datetime, batch: int) -> int:
    """Delete up to ``batch`` liveness sessions that expired before ``before``."""
    return batch_delete(LivenessSession.objects.filter(expires_at__lt=before), batch)


def activation_expired_delete(before: dt.datetime, batch: int) -> int:
    """Delete up to ``batch`` abandoned activations (expired before ``before``,
    never completed, no liveness session left)."""
    return batch_delete(Activation.objects.filter(expires_at__lt=before, completed_at__isnull=True,
                                                  liveness_sessions__isnull=True), batch)
