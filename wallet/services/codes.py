"""Issuing and redeeming rotating voucher codes (format in wallet/codes.py).

Single use holds across processes: the first redeemer of a block wins a Redis
``SET NX`` on ``yibao:code:used:<block>``, kept for longer than the window."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.conf import settings

from common.errors import ApplicationError
from common.redis import redis_client

from .. import codes
from ..enums import VoucherStatus
from ..models import Voucher


@dataclass(frozen=True)
class IssuedCode:
    code: str
    step: int
    expires_at: float  # when the page should show the next code (end of the step)
    valid_until: float  # after this the code is refused (end of the next step)

    def as_message(self) -> dict:
        return {"code": self.code, "step": self.step, "expires_at": int(self.expires_at),
                "valid_until": int(self.valid_until), "step_seconds": settings.CODE_STEP_SECONDS}


def code_issue(voucher: Voucher, *, secret: str | None = None, now: float | None = None) -> IssuedCode:
    step_seconds = settings.CODE_STEP_SECONDS
    step = codes.current_step(step_seconds, now)
    code = codes.issue(voucher.pk, secret or voucher.code_secret, key=settings.FIELD_ENCRYPTION_KEY, step=step,
                       step_seconds=step_seconds)
    return IssuedCode(code=code, step=step, expires_at=(step + 1) * step_seconds,
                      valid_until=(step + settings.CODE_ACCEPT_STEPS) * step_seconds)


class CodeRefused(ApplicationError):
    pass


def code_check(raw: str, *, now: float | None = None) -> tuple[Voucher, codes.ParsedCode]:
    """Everything but single use: shape, voucher, TOTP, window, voucher state."""
    step_seconds = settings.CODE_STEP_SECONDS
    try:
        parsed = codes.parse(raw, key=settings.FIELD_ENCRYPTION_KEY)
    except codes.CodeFormatError:
        raise CodeRefused("EC_CODE_CORRUPTED", "二维码内容不完整或已损坏，请重新扫码")
    voucher = Voucher.objects.select_related("person").filter(pk=parsed.voucher_id).first()
    if voucher is None or not voucher.code_secret_encrypted or not codes.totp_matches(parsed, voucher.code_secret,
                                                                                         step_seconds):
        raise CodeRefused("EC_CODE_UNKNOWN", "无法识别的医保码，请让参保人刷新后重新扫码")
    now_step = codes.current_step(step_seconds, now)
    if parsed.step > now_step:
        raise CodeRefused("EC_CODE_UNKNOWN", "无法识别的医保码（生成时间异常），请让参保人刷新后重新扫码")
    if parsed.step < now_step - (settings.CODE_ACCEPT_STEPS - 1):
        raise CodeRefused("EC_CODE_EXPIRED", "医保码已过期，请让参保人刷新后重新扫码")
    if voucher.status != VoucherStatus.ACTIVE or not voucher.authorizations.filter(status="active").exists():
        raise CodeRefused("EC_VOUCHER_UNAVAILABLE", "该医保电子凭证当前不可用，请参保人在“医保支付为何不可用”中查看原因")
    return voucher, parsed


def code_redeem(raw: str, *, now: float | None = None) -> Voucher:
    """Accept a scanned code once. Raises CodeRefused with a stable code."""
    voucher, parsed = code_check(raw, now=now)
    ttl = settings.CODE_STEP_SECONDS * (settings.CODE_ACCEPT_STEPS + 2)
    if not redis_client().set(f"yibao:code:used:{parsed.block}", b"1", nx=True, ex=ttl):
        raise CodeRefused("EC_CODE_USED", "该医保码已被使用，请让参保人刷新后重新扫码")
    return voucher


def seconds_to_next_step(now: float | None = None) -> float:
    step_seconds = settings.CODE_STEP_SECONDS
    now = time.time() if now is None else now
    return step_seconds - (now % step_seconds)


def as_datetime(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc)
