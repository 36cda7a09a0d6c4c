from django.urls import path

from common.consumers import PingConsumer, SessionConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/session/", SessionConsumer.as_asgi()),
]
