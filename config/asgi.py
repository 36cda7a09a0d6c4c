"""ASGI entry point: HTTP through Django, WebSocket through Channels.

One process type serves both; scale out by running more of them behind a load
balancer (the channel layer in Redis joins them)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from accounts.ws_auth import AppSessionAuthMiddleware  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The code page resolves its credentials in its own first database hop (wallet/consumers.py).
        "websocket": AllowedHostsOriginValidator(AppSessionAuthMiddleware(URLRouter(websocket_urlpatterns),
                                                                          deferred=("/ws/code/",))),
    }
)
