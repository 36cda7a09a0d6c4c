"""Diagnostic WebSocket: a ping travels client → consumer → channel layer →
consumer → client, so a pong proves the layer (Redis) works end to end."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PingConsumer(AsyncJsonWebsocketConsumer):
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


class SessionConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/session/``: tells an authenticated page who it is; refuses
    everyone else (close code 4401). The code page builds on the same auth."""

    async def connect(self):
        session = self.scope.get("app_session")
        if session is None:
            await self.close(code=4401)
            return
        await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
        await self.send_json({"type": "session", "channel": session.login.channel,
                              "activated": session.login.person_id is not None})
