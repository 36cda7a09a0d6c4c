"""Activation of the e-voucher: real name → liveness → PIN → channel authorized.

The wallet orchestrates the steps that touch the voucher; the person's side
(real-name verification against the registry, liveness, the ``Activation``
record and the login binding) is accounts' (accounts/services/activation.py),
called from here. Liveness has no voucher side: its APIs call accounts
directly. ``login`` is an accounts ChannelLogin, the returned activation an
accounts Activation (not imported here: wallet reaches accounts' models only
through accounts' services)."""

from __future__ import annotations

from django.db import transaction

from accounts.enums import ActivationStep, AuditOutcome, PinMode
from accounts.services import audit_record
from accounts.services.activation import (
    activation_audited,
    activation_complete,
    activation_create,
    activation_get,
    activation_login_check,
    login_actor,
    real_name_verify,
)
from common import idnumber
from common.errors import ApplicationError
from common.fields import is_ascii_digits

from wallet.enums import AuthorizationStatus, VoucherStatus
from wallet.models import ChannelAuthorization
from wallet.services.pin import pin_check_strength, pin_hash, pin_verify
from wallet.services.vouchers import voucher_authorize_channel, voucher_get_or_create, voucher_is_proxy


def activation_real_name(*, login, name: str, id_number: str, ip: str | None = None):
    """Step 1: verify the name against the registry (accounts), then check
    that this person's voucher can be activated on this channel."""
    number = idnumber.normalize(id_number)
    detail = {"id_number": idnumber.mask(number)}
    with activation_audited("activation.real_name", login, ip, detail=detail):
        person = real_name_verify(login=login, name=name, number=number, detail=detail, ip=ip)
        with transaction.atomic():
            activation_login_check(login, person)
            voucher = voucher_get_or_create(person)
            if voucher.status in (VoucherStatus.FROZEN, VoucherStatus.REVOKED):
                raise ApplicationError("VOUCHER_UNAVAILABLE", "您的医保电子凭证已被冻结或注销，请联系参保地医保经办机构",
                                       status=403)
            if voucher.authorizations.filter(channel=login.channel, status=AuthorizationStatus.ACTIVE).exists():
                raise ApplicationError("ALREADY_ACTIVATED", "您已在本渠道激活医保电子凭证，无需重复激活", status=409)
            activation = activation_create(login=login, person=person, ip=ip, detail=detail,
                                           pin_mode=PinMode.EXISTING if voucher.pin_hash and not voucher_is_proxy(voucher)
                                           else PinMode.NEW)
    return activation


def activation_pin(*, login, activation_id: str, pin, pin_confirm=None,
                   ip: str | None = None) -> ChannelAuthorization:
    """Step 3 (after liveness): set the PIN (first channel) or check it
    (another channel), complete the activation and authorize the channel."""
    activation = activation_get(login, activation_id)
    person = activation.person
    with activation_audited("activation.pin", login, ip, person=person):
        if activation.step != ActivationStep.LIVENESS_PASSED:
            raise ApplicationError("ACTIVATION_STEP_ORDER", "请先完成人脸识别", status=409)
        voucher = voucher_get_or_create(person)
        if not is_ascii_digits(pin, 6):  # ASCII 0-9 only: isdigit() also takes "１" and "²"
            raise ApplicationError("PIN_FORMAT", "支付密码须为6位数字")
        new_hash = None
        if voucher.pin_hash and not voucher_is_proxy(voucher):
            pin_verify(voucher_id=voucher.pk, pin=pin, actor=login_actor(login), channel=login.channel, ip=ip,
                       purpose="activation")
        else:
            if pin_confirm != pin:
                raise ApplicationError("PIN_CONFIRM_MISMATCH", "两次输入的支付密码不一致，请重新设置")
            pin_check_strength(pin, id_number=person.id_number)
            new_hash = pin_hash(pin)
        with transaction.atomic():
            activation_complete(activation=activation, login=login, person=person)
            authorization = voucher_authorize_channel(voucher_id=voucher.pk, login=login, new_pin_hash=new_hash)
            audit_record(action="activation.complete", outcome=AuditOutcome.SUCCESS, actor=login_actor(login),
                         person=person, channel=login.channel, ip=ip,
                         detail={"authorization_id": authorization.pk, "pin_mode": activation.pin_mode})
    login.refresh_from_db()
    return authorization
