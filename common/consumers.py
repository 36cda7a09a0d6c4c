"""WebSocket consumers shared by the apps, and ``JsonConsumer``, the base of
every JSON consumer: a frame from outside is read with the strict JSON reader
(common/jsonbody.py). A frame that is not a JSON text (binary, not JSON, too
deep, lone surrogates, NaN, duplicate keys) is answered with
``{"type": "error", "code": "MALFORMED_MESSAGE", "message": "消息格式不正确…"}``
and the socket stays open: no traceback, no dropped connection.

The diagnostic WebSocket ``/ws/ping/``: a ping travels client → consumer →
channel layer → consumer → client, so a pong proves the layer (Redis) works
end to end."""

from __future__ import annotations

import logging

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from common.jsonbody import JsonBodyError, loads

logger = logging.getLogger(__name__)
MALFORMED = "MALFORMED_MESSAGE"
MALFORMED_MESSAGE = "消息格式不正确"


class JsonConsumer(AsyncJsonWebsocketConsumer):
    """Strict JSON in; a malformed frame gets an ``error`` message, never a
    traceback or a dropped socket."""

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            await self.malformed("只接受文本消息")
            return
        try:
            content = loads(text_data)
        except JsonBodyError as refused:
            await self.malformed(refused.message)
            return
        await self.receive_json(content, **kwargs)

    async def malformed(self, detail: str) -> None:
        logger.info("malformed WebSocket frame on %s: %s", self.scope.get("path"), detail)
        await self.send_json({"type": "error", "code": MALFORMED, "message": f"{MALFORMED_MESSAGE}：{detail}"})

    @classmethod
    async def decode_json(cls, text_data):
        return loads(text_data)


class PingConsumer(JsonConsumer):
    async def connect(self):
        self.group = f"ping.{self.channel_name.replace('!', '_')}"[:90]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("type") != "ping":
            await self.send_json({"type": "error", "code": "UNKNOWN_MESSAGE", "message": "不支持的消息类型"})
            return
        await self.channel_layer.group_send(self.group, {"type": "pong.message", "echo": content.get("echo")})

    async def pong_message(self, event):
        await self.send_json({"type": "pong", "echo": event.get("echo"), "via": "channel_layer"})
