"""WebSocket authentication: a single-use ticket in the URL
(``/ws/...?ticket=`` from ``POST /api/ws-ticket``), or the app's bearer token
offered as subprotocols ``["bearer", <token>]`` (never in the URL, which ends
up in access logs). Sets ``scope["app_session"]`` (or None)."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from .services.sessions import session_get, ws_ticket_redeem

SUBPROTOCOL = "bearer"


@database_sync_to_async
def _resolve(ticket: str, token: str):
    if ticket:
        return ws_ticket_redeem(ticket)
    if token:
        return session_get(token)
    return None


class AppSessionAuthMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
        ticket = (query.get("ticket") or [""])[0]
        protocols = scope.get("subprotocols") or []
        token = ""
        if len(protocols) >= 2 and protocols[0] == SUBPROTOCOL:
            token = protocols[1]
        session = await _resolve(ticket, token)
        scope = dict(scope, app_session=session, auth_subprotocol=SUBPROTOCOL if token else None)
        return await self.inner(scope, receive, send)
