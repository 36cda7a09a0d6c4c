"""Bearer-token authentication for the app's REST API."""

from __future__ import annotations

from rest_framework import authentication, permissions
from rest_framework.exceptions import AuthenticationFailed

from .services.sessions import session_get


class AppUser:
    """The person behind a request: a channel login with a live session."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, session):
        self.session = session
        self.login = session.login

    @property
    def person(self):
        return self.login.person


class BearerAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0] != self.keyword:
            return None
        session = session_get(parts[1])
        if session is None:
            raise AuthenticationFailed()
        return AppUser(session), session

    def authenticate_header(self, request):
        return self.keyword


class IsAppUser(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.user, AppUser)
