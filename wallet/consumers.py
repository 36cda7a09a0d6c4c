"""The code page's WebSocket: ``/ws/code/``.

On connect the current code is sent at once (so a page that reconnects after
a network drop has a fresh code immediately); at every step boundary the
next code is pushed without being asked. The timer belongs to the connection:
if the process dies the socket dies with it and the page reconnects to any
other process, which sends a fresh code on connect — rotation never depends
on one process's timers surviving. Codes are computed from the voucher's
secret without I/O, so a process can hold many pages.

Messages out: ``code`` {code, step, expires_at, valid_until, step_seconds},
``scanned`` {institution, at}, ``payment.confirm`` {id, institution,
medfee_sumamt, acct_pay, psn_cash_pay, fund_pay_sumamt, expires_at},
``payment.completed`` / ``payment.reversed``, ``pong``, ``error`` {code, message}.
Messages in: ``ping``, ``refresh``.
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from common.errors import ApplicationError

from .selectors import voucher_for_code_page
from .services.codes import code_issue, seconds_to_next_step

logger = logging.getLogger(__name__)
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _load(login):
    voucher = voucher_for_code_page(login)
    return voucher, voucher.code_secret


class CodeConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    rotator: asyncio.Task | None = None

    async def connect(self):
        session = self.scope.get("app_session")
        if session is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            self.voucher, self.secret = await _load(session.login)
        except ApplicationError as refused:
            await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
            await self.send_json({"type": "error", "code": refused.code, "message": refused.message})
            await self.close(code=CLOSE_FORBIDDEN)
            return
        try:
            await self.channel_layer.group_add(f"voucher.{self.voucher.pk}", self.channel_name)
            self.group = f"voucher.{self.voucher.pk}"
        except Exception:  # Redis down: codes still rotate (no I/O); scan notices resume on reconnect
            logger.warning("channel layer unavailable; code page %s runs without notifications", self.channel_name)
        await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
        await self.push_code()
        self.rotator = asyncio.create_task(self.rotate())

    async def disconnect(self, code):
        try:
            if self.rotator:
                self.rotator.cancel()
        finally:
            if self.group:
                try:
                    await self.channel_layer.group_discard(self.group, self.channel_name)
                except Exception:  # Redis down: the group entry expires on its own
                    logger.info("group_discard failed for %s", self.channel_name)

    async def rotate(self):
        try:
            while True:
                await asyncio.sleep(seconds_to_next_step() + 0.005)
                await self.push_code()
        except asyncio.CancelledError:
            pass

    async def push_code(self):
        issued = code_issue(self.voucher, secret=self.secret)
        await self.send_json({"type": "code", **issued.as_message()})

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "refresh":
            await self.push_code()
        else:
            await self.send_json({"type": "error", "code": "UNKNOWN_MESSAGE", "message": "不支持的消息类型"})

    async def code_scanned(self, event):
        """A terminal redeemed one of this voucher's codes: say so, then show the next one."""
        await self.send_json({"type": "scanned", "institution": event["institution"], "at": event["at"]})
        await self.push_code()

    async def payment_confirm(self, event):
        """A terminal asks this payer to confirm an amount with the PIN."""
        await self.send_json({"type": "payment.confirm", **event["body"]})

    async def payment_completed(self, event):
        await self.send_json({"type": "payment.completed", **event["body"]})

    async def payment_reversed(self, event):
        await self.send_json({"type": "payment.reversed", **event["body"]})

    async def account_credited(self, event):
        """Money arrived in the personal account (pulled from the core)."""
        await self.send_json({"type": "account.credited", **event["body"]})
