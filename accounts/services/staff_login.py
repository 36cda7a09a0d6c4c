"""Signing staff in: the password AND a TOTP code in one step, for every staff
surface (the support console's /api/staff/auth/login through
staff.services.staff_login, the operators' /staff/sync/login/ through
``operator_login``), throttled before anything is checked. There is no other
way in: the Django admin is not installed (issue #20).

The throttle reserves the attempt first (``ratelimit.take``, one atomic
INCR) and only then checks the password, so however many requests arrive at
once:

- at most ``STAFF_LOGIN_FAILURES_PER_USER`` attempts per username per
  ``STAFF_LOGIN_WINDOW_SECONDS`` are ever evaluated, a success included: a
  success does not reset the count (a reset would give a burst still in flight
  fresh evaluations);
- at most ``STAFF_LOGIN_FAILURES_PER_IP`` failed attempts per client address
  per window are evaluated (a success gives its own reservation back, so an
  office behind one address is not locked out by its own sign-ins; earlier
  failures stay counted).

Past either, STAFF_LOGIN_THROTTLED (429) without checking the password; the
refused attempt is not counted in the other bucket."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import User
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from common import ratelimit
from common.errors import ApplicationError
from common.idnumber import mask_in_text

from ..enums import AuditOutcome
from . import audit_record


@dataclass(frozen=True)
class LoginAttempt:
    """A reserved attempt. ``last``: it used the username's last allowance of
    the window (a failure now throttles the username: the caller alerts)."""

    user_bucket: str
    ip_bucket: str
    last: bool


def login_attempt_reserve(username: str, ip: str | None) -> LoginAttempt:
    """Count this attempt per address, then per username; refused by either:
    STAFF_LOGIN_THROTTLED (429, ``detail.retry_after``), nothing evaluated."""
    window = settings.STAFF_LOGIN_WINDOW_SECONDS
    ip_bucket, user_bucket = f"staff-login:ip:{ip or '-'}", f"staff-login:user:{username.lower()}"
    _, wait = ratelimit.take(ip_bucket, settings.STAFF_LOGIN_FAILURES_PER_IP, window)
    if wait:
        ratelimit.give_back(ip_bucket)
        raise _throttled(wait)
    number, wait = ratelimit.take(user_bucket, settings.STAFF_LOGIN_FAILURES_PER_USER, window)
    if wait:
        ratelimit.give_back(user_bucket)
        ratelimit.give_back(ip_bucket)
        raise _throttled(wait)
    return LoginAttempt(user_bucket, ip_bucket, last=number == settings.STAFF_LOGIN_FAILURES_PER_USER)


def _throttled(wait: int) -> ApplicationError:
    return ApplicationError("STAFF_LOGIN_THROTTLED", f"登录尝试次数过多，请{(wait + 59) // 60}分钟后再试", status=429,
                            detail={"retry_after": wait})


def login_factors_check(request, *, username: str, password: str, otp) -> tuple[User | None, TOTPDevice | None]:
    """``(user, device)``: the user when the password is right (and the
    account active), the confirmed TOTP device when the code is right too
    (django-otp accepts a code once and backs off after a wrong one)."""
    user = auth.authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        return None, None
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None or not (isinstance(otp, str) and otp.isascii() and otp.isdigit() and device.verify_token(otp)):
        return user, None
    return user, device


def login_session_start(request, attempt: LoginAttempt, user: User, device: TOTPDevice) -> None:
    """Log the session in and mark it verified (``user.is_verified()``);
    the address gets this attempt back (failures only count there)."""
    auth.login(request, user)
    otp_login(request, device)
    ratelimit.give_back(attempt.ip_bucket)


# --- operators (/staff/sync/) ------------------------------------------------------------

OPERATOR_PERMISSION = "settlement.view_reconciliationrun"


def operator_login(request, *, username: str, password: str, otp, ip: str | None) -> User:
    """The operators' sign-in to /staff/sync/: the same two factors and
    throttle as the console's; one answer for every wrong factor (and for a
    user without the operators' permission). Audited as ``ops.login``."""
    actor = f"ops:{mask_in_text(username)[:90]}"
    try:
        attempt = login_attempt_reserve(username, ip)
    except ApplicationError as refused:
        with transaction.atomic():
            audit_record(action="ops.login", outcome=AuditOutcome.FAILURE, actor=actor, ip=ip, code=refused.code)
        raise
    user, device = login_factors_check(request, username=username, password=password, otp=otp)
    if user is None or device is None or not user.has_perm(OPERATOR_PERMISSION):
        with transaction.atomic():
            audit_record(action="ops.login", outcome=AuditOutcome.FAILURE, actor=actor, ip=ip, code="STAFF_LOGIN_FAILED")
        raise ApplicationError("STAFF_LOGIN_FAILED", "用户名、密码或动态验证码不正确", status=401)
    login_session_start(request, attempt, user, device)
    with transaction.atomic():
        audit_record(action="ops.login", outcome=AuditOutcome.SUCCESS, actor=actor, ip=ip)
    return user
