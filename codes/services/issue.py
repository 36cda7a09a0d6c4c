"""Issuing and redeeming rotating voucher codes (format in codes/format.py).

Every code is issued under one channel authorization and names it; a code is
accepted only while that very authorization is active (not merely some
authorization of the voucher), so revoking a channel kills the codes it has
already shown. A relative's code shown by a binder names a family code grant
(codes/format.py ``PROXY_FLAG``): it is accepted only while the binding is
active (asked of family through wallet/hooks.py) and the binder's channel
authorization it was shown under is active, so ending the binding kills the
codes already shown.

Single use holds across processes: the first redeemer of a block wins a Redis
``SET NX`` on ``yibao:code:used:<block>``, kept for longer than the window."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.conf import settings

from common.errors import ApplicationError
from common.redis import redis_client

from codes import format as codes
from wallet.hooks import ProxyGrant, hook
from wallet.enums import AuthorizationStatus
from wallet.selectors import authorization_with_voucher, proxy_code_rows
from wallet.services.chain import chain_refusal


@dataclass(frozen=True)
class IssuedCode:
    code: str
    step: int
    expires_at: float  # when the page should show the next code (end of the step)
    valid_until: float  # after this the code is refused (end of the next step)

    def as_message(self) -> dict:
        return {"code": self.code, "step": self.step, "expires_at": int(self.expires_at),
                "valid_until": int(self.valid_until), "step_seconds": settings.CODE_STEP_SECONDS}


def code_issue(voucher: Voucher, *, authorization_id: int | None = None, secret: str | None = None,
               now: float | None = None) -> IssuedCode:
    """A fresh code for ``voucher``, bound to the channel authorization it is
    shown under. The code page and the REST fallback pass their own login's
    authorization; without one the voucher's newest active authorization is
    used (one query; CHANNEL_NOT_AUTHORIZED when there is none). No I/O when
    both ``authorization_id`` and ``secret`` are given."""
    if authorization_id is None:
        authorization_id = (voucher.authorizations.filter(status=AuthorizationStatus.ACTIVE)
                            .order_by("-created_at", "-id").values_list("pk", flat=True).first())
        if authorization_id is None:
            raise ApplicationError("CHANNEL_NOT_AUTHORIZED", "本渠道授权已撤销，如需使用请重新激活", status=403)
    step_seconds = settings.CODE_STEP_SECONDS
    step = codes.current_step(step_seconds, now)
    code = codes.issue(authorization_id, secret or voucher.code_secret, key=settings.FIELD_ENCRYPTION_KEY, step=step,
                       step_seconds=step_seconds)
    return IssuedCode(code=code, step=step, expires_at=(step + 1) * step_seconds,
                      valid_until=(step + settings.CODE_ACCEPT_STEPS) * step_seconds)


class CodeRefused(ApplicationError):
    pass


@dataclass(frozen=True)
class CheckedCode:
    """A code that passed ``code_check``, with the chain it was checked with
    (an ecToken issued for it carries that chain: terminal/services/ectokens.py)."""

    voucher: Voucher  # whose code it is (the relative's, for a code a binder showed)
    parsed: codes.ParsedCode
    authorization_id: int  # the channel authorization it was shown under (the binder's, for a relative's code)
    grant_id: int | None  # the family code grant, for a relative's code shown by a binder


def code_check(raw: str, *, now: float | None = None, ahead: float = 0.0) -> CheckedCode:
    """Everything but single use: shape, voucher, TOTP, window, and the chain
    the code was shown under (``chain_refusal``: voucher, the authorization
    it was issued under, the binding for a relative's code). A code of
    a step that has not begun is refused (the code page gets the next code
    early, and the counter may not accept it before its step); only the code
    page's own image rendering looks ``ahead`` (``code_check_own``)."""
    step_seconds = settings.CODE_STEP_SECONDS
    try:
        parsed = codes.parse(raw, key=settings.FIELD_ENCRYPTION_KEY)
    except codes.CodeFormatError:
        raise CodeRefused("EC_CODE_CORRUPTED", "二维码内容不完整或已损坏，请重新扫码")
    grant_id = codes.proxy_grant_id(parsed.authorization_id)
    grant = None
    if grant_id is None:
        authorization = authorization_with_voucher(parsed.authorization_id)
        voucher = authorization.voucher if authorization is not None else None
    else:  # a relative's code shown by a binder: the binding must still stand
        voucher, authorization, grant = _proxy_code_owner(grant_id)
    if voucher is None or not voucher.code_secret_encrypted or not codes.totp_matches(parsed, voucher.code_secret,
                                                                                         step_seconds):
        raise CodeRefused("EC_CODE_UNKNOWN", "无法识别的医保码，请让参保人刷新后重新扫码")
    now_step = codes.current_step(step_seconds, now)
    if parsed.step > codes.current_step(step_seconds, (time.time() if now is None else now) + ahead):
        raise CodeRefused("EC_CODE_UNKNOWN", "无法识别的医保码（生成时间异常），请让参保人刷新后重新扫码")
    if parsed.step < now_step - (settings.CODE_ACCEPT_STEPS - 1):
        raise CodeRefused("EC_CODE_EXPIRED", "医保码已过期，请让参保人刷新后重新扫码")
    refusal = chain_refusal(voucher=voucher, authorization=authorization, grant_id=grant_id, grant=grant)
    if refusal is not None:  # the decode's contract keeps one errorCode (3005) for every broken link
        raise CodeRefused("EC_VOUCHER_UNAVAILABLE", refusal.message)
    return CheckedCode(voucher=voucher, parsed=parsed, authorization_id=authorization.pk, grant_id=grant_id)


def _proxy_code_owner(grant_id: int) -> tuple[Voucher | None, ChannelAuthorization | None, ProxyGrant | None]:
    """For a code naming family code grant ``grant_id``: the relative's
    voucher, the binder's channel authorization it was shown under (with the
    binder's voucher), and the grant with its binding's current state (asked
    of family, wallet/hooks.py)."""
    get = hook("proxy_grant_get")
    grant = get(grant_id) if get else None
    if grant is None:
        return None, None, None
    voucher, authorization = proxy_code_rows(grant)
    return voucher, authorization, grant


def code_check_own(raw: str, *, authorization_id: int, now: float | None = None) -> Voucher:
    """``code_check`` plus ownership: a code page renders only the codes
    issued under its own channel authorization (a code of another login, or
    of another person, is refused as unknown). The next step's code, which
    the page gets ``early_seconds`` ahead, may be rendered that early (plus a
    second for the request), so its images are ready at the boundary; it
    still cannot be redeemed before its step (``code_redeem``)."""
    checked = code_check(raw, now=now, ahead=early_seconds(settings.CODE_STEP_SECONDS) + 1.0)
    if checked.parsed.authorization_id != authorization_id:
        raise CodeRefused("EC_CODE_UNKNOWN", "无法识别的医保码")
    return checked.voucher


def code_redeem(raw: str, *, now: float | None = None) -> Voucher:
    """Accept a scanned code once. Raises CodeRefused with a stable code."""
    checked = code_check(raw, now=now)
    ttl = settings.CODE_STEP_SECONDS * (settings.CODE_ACCEPT_STEPS + 2)
    if not redis_client().set(f"yibao:code:used:{checked.parsed.block}", b"1", nx=True, ex=ttl):
        raise CodeRefused("EC_CODE_USED", "该医保码已被使用，请让参保人刷新后重新扫码")
    return checked.voucher


def early_seconds(step_seconds: int) -> float:
    """How long before a step boundary the code page gets the next step's
    code (codes/pages.py): a quarter of a step, at most 8 s."""
    return min(8.0, step_seconds / 4)


def seconds_to_next_step(now: float | None = None) -> float:
    step_seconds = settings.CODE_STEP_SECONDS
    now = time.time() if now is None else now
    return step_seconds - (now % step_seconds)


def as_datetime(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc)
