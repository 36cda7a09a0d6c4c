"""Channel login and app sessions (bearer tokens).

When a session ends (logout, or its token replaced by a refresh) the open
sockets authenticated with it are told at once through the channel-layer
group ``session.<pk>``; they re-check with ``session_live_query`` and close
(the code page also re-checks at every push, which is the guarantee)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.errors import ApplicationError
from common.redis import redis_client

from ..enums import AuditOutcome, Channel
from ..models import ChannelLogin, LoginSession
from . import audit_record


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def login_start(*, channel: str, openid: str, ip: str | None = None) -> tuple[LoginSession, str]:
    """Sign a channel identity in. In production ``openid`` comes from the
    channel's OAuth exchange (code2session); the demo page stands in for it."""
    if channel not in Channel.values:
        raise ApplicationError("CHANNEL_INVALID", "不支持的登录渠道")
    openid = (openid or "").strip()
    if not 4 <= len(openid) <= 64:
        raise ApplicationError("CHANNEL_INVALID", "渠道用户标识不正确")
    login, _ = ChannelLogin.objects.get_or_create(channel=channel, openid=openid)
    ChannelLogin.objects.filter(pk=login.pk).update(last_seen_at=timezone.now())
    session, token = _session_create(login)
    audit_record(action="login", outcome=AuditOutcome.SUCCESS, actor=f"{channel}:{openid}", person=login.person,
                 channel=channel, ip=ip)
    return session, token


def _session_create(login: ChannelLogin) -> tuple[LoginSession, str]:
    token = secrets.token_urlsafe(32)
    session = LoginSession.objects.create(
        token_hash=_hash(token), login=login,
        expires_at=timezone.now() + dt.timedelta(seconds=settings.LOGIN_SESSION_TTL_SECONDS),
    )
    return session, token


logger = logging.getLogger(__name__)


def session_group(session_id: int) -> str:
    """The channel-layer group of the sockets opened with this session."""
    return f"session.{session_id}"


def session_live_query(session_id: int):
    """The session, if it is neither revoked nor expired (a queryset, to be
    used as a subquery by the sockets' per-push checks)."""
    return LoginSession.objects.filter(pk=session_id, revoked_at__isnull=True, expires_at__gt=timezone.now())


def sessions_live_query(session_ids):
    """``session_live_query`` for many sessions at once (the code pages'
    batched per-push check, codes/pages.py)."""
    return LoginSession.objects.filter(pk__in=list(session_ids), revoked_at__isnull=True, expires_at__gt=timezone.now())


def _notify_ended(session_id: int) -> None:
    """Tell the open sockets of this session (after commit); a courtesy: they
    re-check at every push anyway."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(session_group(session_id), {"type": "session.ended",
                                                                     "group": session_group(session_id)})
    except Exception:  # Redis down: the sockets find out at their next push
        logger.exception("could not tell the sockets of session %s that it ended", session_id)


def session_get(token: str) -> LoginSession | None:
    if not token:
        return None
    session = (LoginSession.objects.select_related("login", "login__person")
               .filter(token_hash=_hash(token), revoked_at__isnull=True, expires_at__gt=timezone.now()).first())
    return session


def sessions_get_many(tokens) -> dict[str, LoginSession]:
    """``session_get`` for many tokens in one query (login loaded, not its
    person): the code pages' batched connect (codes/pages.py). Tokens
    with no live session are absent from the answer."""
    by_hash = {_hash(token): token for token in tokens if token}
    if not by_hash:
        return {}
    sessions = (LoginSession.objects.select_related("login")
                .filter(token_hash__in=list(by_hash), revoked_at__isnull=True, expires_at__gt=timezone.now()))
    return {by_hash[session.token_hash]: session for session in sessions}


@transaction.atomic
def session_refresh(session: LoginSession) -> tuple[LoginSession, str]:
    """A new token for the same login; the old one stops working at once."""
    revoked = LoginSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if not revoked:
        raise ApplicationError("UNAUTHENTICATED", "登录已失效，请重新登录", status=401)
    transaction.on_commit(lambda: _notify_ended(session.pk))
    return _session_create(session.login)


def session_end(session: LoginSession) -> None:
    """Logout: the token stops working, and its open sockets are told."""
    if LoginSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        transaction.on_commit(lambda: _notify_ended(session.pk))


def ws_ticket_issue(session: LoginSession) -> str:
    """A single-use ticket for the WebSocket URL (so the long-lived token
    never lands in access logs)."""
    ticket = secrets.token_urlsafe(24)
    redis_client().set(f"yibao:wsticket:{ticket}", str(session.pk), ex=settings.WS_TICKET_TTL_SECONDS)
    return ticket


def ws_ticket_redeem(ticket: str) -> LoginSession | None:
    if not ticket or len(ticket) > 64:
        return None
    raw = redis_client().getdel(f"yibao:wsticket:{ticket}")
    if raw is None:
        return None
    return (LoginSession.objects.select_related("login", "login__person")
            .filter(pk=int(raw), revoked_at__isnull=True, expires_at__gt=timezone.now()).first())
