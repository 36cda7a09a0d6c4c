from django.urls import path

from accounts.consumers import SessionConsumer
from common.consumers import PingConsumer

# The code page is not a Channels consumer: config/asgi.py routes this path to codes.consumers.code_page_app.
CODE_PAGE_PATH = "/ws/code/"

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/session/", SessionConsumer.as_asgi()),
]
