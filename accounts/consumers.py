"""The session WebSocket ``/ws/session/`` (moved here from common/: it is
the accounts app's)."""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async

from common.consumers import JsonConsumer

from .services.sessions import session_group, session_live_query

logger = logging.getLogger(__name__)
CLOSE_SESSION_ENDED = 4401


@database_sync_to_async
def _session_live(session_id: int) -> bool:
    return session_live_query(session_id).exists()


class SessionConsumer(JsonConsumer):
    """``/ws/session/``: tells an authenticated page who it is; refuses
    everyone else (close code 4401). Answers ``ping`` with ``pong`` after
    re-checking the session; when the session ends (logout) the page gets
    ``session.ended`` and close code 4401."""

    group: str | None = None

    async def connect(self):
        session = self.scope.get("app_session")
        if session is None:
            await self.close(code=CLOSE_SESSION_ENDED)
            return
        self.session_id = session.pk
        await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
        try:
            self.group = session_group(session.pk)
            await self.channel_layer.group_add(self.group, self.channel_name)
        except Exception:  # Redis down: logout is noticed at the next message
            self.group = None
            logger.warning("channel layer unavailable; session socket %s runs without notifications",
                           self.channel_name)
        await self.send_json({"type": "session", "channel": session.login.channel,
                              "activated": session.login.person_id is not None})

    async def disconnect(self, code):
        if self.group:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception:  # the group entry expires on its own
                logger.info("group_discard failed for %s", self.channel_name)

    async def still_live(self) -> bool:
        if await _session_live(self.session_id):
            return True
        await self.send_json({"type": "session.ended", "code": "SESSION_ENDED", "message": "登录已失效，请重新登录"})
        await self.close(code=CLOSE_SESSION_ENDED)
        return False

    async def receive_json(self, content, **kwargs):
        if not await self.still_live():
            return
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "UNKNOWN_MESSAGE", "message": "不支持的消息类型"})

    async def session_ended(self, event):
        await self.still_live()

    async def security_notice(self, event):
        """The person's PIN was changed or reset, or the voucher frozen or
        unfrozen, on another session (wallet/services/security.py): say what,
        where and when."""
        if await self.still_live():
            await self.send_json({"type": "security.notice", **event["body"]})
