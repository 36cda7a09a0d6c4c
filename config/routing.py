from django.urls import path

from common.consumers import PingConsumer, SessionConsumer
from wallet.consumers import CodeConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/session/", SessionConsumer.as_asgi()),
    path("ws/code/", CodeConsumer.as_asgi()),
]
