"""WebSocket authentication: a single-use ticket in the URL
(``/ws/...?ticket=`` from ``POST /api/ws-ticket``), or the app's bearer token
offered as subprotocols ``["bearer", <token>]`` (never in the URL, which ends
up in access logs). ``AppSessionAuthMiddleware`` sets ``scope["app_session"]``
(or None) for the Channels consumers; the code page (``/ws/code/``,
codes/consumers.py) is routed past it (config/asgi.py) and resolves
``ws_credentials(scope)`` itself, batched with the other connects of the
same moment (codes/pages.py)."""

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


def ws_credentials(scope) -> tuple[str, str]:
    """(ticket, bearer token) offered by a WebSocket handshake; "" for absent."""
    query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
    ticket = (query.get("ticket") or [""])[0]
    protocols = scope.get("subprotocols") or []
    token = protocols[1] if len(protocols) >= 2 and protocols[0] == SUBPROTOCOL else ""
    return ticket, token


class AppSessionAuthMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        ticket, token = ws_credentials(scope)
        session = await _resolve(ticket, token)
        scope = dict(scope, app_session=session, auth_subprotocol=SUBPROTOCOL if token else None)
        return await self.inner(scope, receive, send)
