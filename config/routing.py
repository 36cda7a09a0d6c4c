from django.urls import path

from accounts.consumers import SessionConsumer
from common.consumers import PingConsumer
from wallet.consumers import CodeConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/session/", SessionConsumer.as_asgi()),
    path("ws/code/", CodeConsumer.as_asgi()),
]
