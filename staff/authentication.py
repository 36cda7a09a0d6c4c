"""The staff API's authentication: a Django session verified by django-otp
(password AND TOTP at /api/staff/auth/login), alive (not idle longer than
STAFF_SESSION_IDLE_SECONDS), CSRF-checked on every unsafe method.

A session with the password only (never issued by a staff surface) is refused with
STAFF_OTP_REQUIRED; an idle one is ended and refused with
STAFF_SESSION_EXPIRED; no session at all is UNAUTHENTICATED. ``request.auth``
is the ``StaffMember``."""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import SessionAuthentication

from common.errors import ApplicationError

from .models import StaffMember
from .services import staff_member_of

SEEN_KEY = "staff_seen_at"


def csrf_check(request) -> None:
    """DRF's CSRF check of a session-authenticated request, as the one error shape."""
    try:
        SessionAuthentication().enforce_csrf(request)
    except exceptions.PermissionDenied:
        raise ApplicationError("CSRF_FAILED", "页面已过期或来源不可信，请刷新页面后重试", status=403) from None


class StaffSessionAuthentication(SessionAuthentication):
    def authenticate(self, request):
        django_request = request._request
        user = getattr(django_request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        member = staff_member_of(user)
        if member is None:
            return None
        if not (hasattr(user, "is_verified") and user.is_verified()):
            raise ApplicationError("STAFF_OTP_REQUIRED", "请使用密码和动态验证码登录客服系统", status=401)
        now = timezone.now().timestamp()
        seen = django_request.session.get(SEEN_KEY)
        if not isinstance(seen, (int, float)) or now - seen > settings.STAFF_SESSION_IDLE_SECONDS:
            auth.logout(django_request)
            raise ApplicationError("STAFF_SESSION_EXPIRED", "长时间未操作，登录已失效，请重新登录", status=401)
        csrf_check(request)
        django_request.session[SEEN_KEY] = now
        return member.user, member

    def authenticate_header(self, request):
        return "Session"


class IsStaff(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, StaffMember)


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "staff.authentication.StaffSessionAuthentication"
    name = "staffSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME,
                "description": "Staff session from POST /api/staff/auth/login (password + TOTP); "
                               "unsafe methods also need the X-CSRFToken header (GET /api/staff/auth/csrf)."}
