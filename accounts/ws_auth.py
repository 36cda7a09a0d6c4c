"""WebSocket authentication: a single-use ticket in the URL
(``/ws/...?ticket=`` from ``POST /api/ws-ticket``), or the app's bearer token
offered as subprotocols ``["bearer", <token>]`` (never in the URL, which ends
up in access logs). Sets ``scope["app_session"]`` (or None) — except on the
``deferred`` paths, whose consumer resolves the credentials itself, inside
its own first database hop (``app_session_resolve(*scope["app_credentials"])``):
the code page (wallet/consumers.py) opens with one hop instead of two."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from .services.sessions import session_get, ws_ticket_redeem

SUBPROTOCOL = "bearer"


def app_session_resolve(ticket: str, token: str):
    """The live LoginSession of a WebSocket's credentials (login and person loaded), or None."""
    if ticket:
        return ws_ticket_redeem(ticket)
    if token:
        return session_get(token)
    return None


_resolve = database_sync_to_async(app_session_resolve)


class AppSessionAuthMiddleware:
    def __init__(self, inner, *, deferred: tuple[str, ...] = ()):
        self.inner = inner
        self.deferred = frozenset(deferred)

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
        ticket = (query.get("ticket") or [""])[0]
        protocols = scope.get("subprotocols") or []
        token = ""
        if len(protocols) >= 2 and protocols[0] == SUBPROTOCOL:
            token = protocols[1]
        if scope.get("path") in self.deferred:
            scope = dict(scope, app_credentials=(ticket, token), auth_subprotocol=SUBPROTOCOL if token else None)
            return await self.inner(scope, receive, send)
        session = await _resolve(ticket, token)
        scope = dict(scope, app_session=session, auth_subprotocol=SUBPROTOCOL if token else None)
        return await self.inner(scope, receive, send)
