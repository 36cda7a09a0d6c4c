"""ASGI entry point: HTTP through Django, WebSocket through Channels — except
the code page.

One process type serves both; scale out by running more of them behind a load
balancer (the channel layer in Redis joins them).

``/ws/code/`` (codes/consumers.py ``code_page_app``) is routed straight to
its own slim ASGI app, past the session middleware and the URL router: it
resolves its credentials in its connect's batched lookup and needs no copied
scope, so one process holds many pages (docs/subsystems/codes.md). The other
sockets (``/ws/session/``, ``/ws/ping/``) are Channels consumers behind
``AppSessionAuthMiddleware``. Every socket passes the origin check first."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from accounts.ws_auth import AppSessionAuthMiddleware  # noqa: E402
from config.routing import CODE_PAGE_PATH, websocket_urlpatterns  # noqa: E402
from codes.consumers import code_page_app  # noqa: E402

channels_sockets = AppSessionAuthMiddleware(URLRouter(websocket_urlpatterns))


async def websocket_app(scope, receive, send):
    if scope["path"] == CODE_PAGE_PATH:
        return await code_page_app(scope, receive, send)
    return await channels_sockets(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(websocket_app),
    }
)
