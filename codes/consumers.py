"""The code page's WebSocket: ``/ws/code/``.

Not a Channels consumer: a plain ASGI app (``code_page_app``, routed in
config/asgi.py) whose ``CodePage`` keeps only ids, the code secret and the
``send`` callable, so one process holds 10,000 pages cheaply. What a
Channels consumer did per page is done per process (codes/pages.py):
the connect's lookups are batched with the other connects of the moment
(``page_opens``), the channel-layer groups are joined once per process and
one listener hands their notices to the pages (``page_notices``), and one
rotator pushes the codes (``rotator``). docs/subsystems/codes.md.

On connect the current code is sent at once (so a page that reconnects after
a network drop has a fresh code immediately). A little before every step
boundary the next step's code is sent without being asked, marked ``early``
with its ``valid_from``; the page switches to it at the boundary; a page that
missed it gets the new code pushed just after the boundary
(codes/pages.py: one rotator per process, the sends spread over the
lead window). If the process dies its sockets die with it and the page
reconnects to any other process, which sends a fresh code on connect —
rotation never depends on one process's timers surviving. Codes are computed
from the voucher's secret without I/O, so a process can hold many pages.

Messages out: ``code`` {code, step, valid_from, expires_at, valid_until,
step_seconds[, early: true]},
``scanned`` {institution, at}, ``payment.confirm`` {id, institution,
medfee_sumamt, acct_pay, psn_cash_pay, fund_pay_sumamt, expires_at},
``payment.completed`` / ``payment.reversed``, ``pong``, ``error`` {code, message},
``session.ended`` {code, message}.
Messages in: ``ping``, ``refresh``. A frame that is not JSON gets ``error``
MALFORMED_MESSAGE and the socket stays open (the same strict reader and
answer as common.consumers.JsonConsumer).

Authorisation is checked where it is used, every time: on connect (the
batched lookup, whose answer is the first push's check; the page is checked
once more after it joined its groups, so a revoke announced before the join
is not missed), before every push
(rotation tick, refresh, scan notice, payment events) and for every message
the socket handles, a check (``code_pages_check``, batched with the other
pages' checks of the same moment: codes/pages.py) confirms the login
session is live, the channel authorization the page opened under is still
active and the voucher is active. When one has ended the page gets
``session.ended`` {code, message} and the socket closes with 4401 (login
ended) or 4403 (authorization revoked / voucher unavailable); no further code
is issued. Revoke, voucher status changes and logout also tell the page at
once (``access.changed`` on ``voucher.<pk>``, ``session.ended`` on
``session.<pk>``), which triggers the same check. Every code names the
authorization it was issued under, so one shown just before a revoke no
longer decodes. See docs/subsystems/realtime.md.

``/ws/code/?person=<binding id>``: a binder shows a bound relative's own code
(family bindings, docs/subsystems/family.md). The page joins the relative's
``voucher.<pk>`` group (scan notices and payment confirmations for the
relative reach every phone showing the relative's code); every push also
re-checks the binding (active, may show the code; asked of family through
wallet/hooks.py) and the relative's voucher. Its codes name the family code
grant, so a code shown just before the binding ends no longer decodes. When
the binding ends the page gets ``session.ended`` FAMILY_NOT_ACTIVE and closes
with 4403.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from urllib.parse import parse_qs

from django.conf import settings

from accounts.services.sessions import session_group
from accounts.ws_auth import SUBPROTOCOL, ws_credentials
from common.consumers import MALFORMED, MALFORMED_MESSAGE
from common.errors import ApplicationError
from common.jsonbody import JsonBodyError, loads

from codes.pages import page_checks, page_notices, page_opens, rotator
from wallet.selectors import SESSION_ENDED
from codes.services.issue import code_issue
from wallet.services.push import voucher_group

logger = logging.getLogger(__name__)
CLOSE_UNAUTHENTICATED = 4401  # no credentials, or the login session ended
CLOSE_FORBIDDEN = 4403  # not activated, channel authorization revoked, voucher unavailable


def _person_param(scope) -> str | None:
    """``?person=<binding id>``: show that bound relative's code (None: one's own)."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("person")
    return values[0] if values else None


async def code_page_app(scope, receive, send) -> None:
    """ASGI app of ``/ws/code/`` (one call per socket, for its whole life)."""
    await CodePage(send).run(scope, receive)


class CodePage:
    """One open code page: what it shows and the checks it re-runs, nothing else."""

    __slots__ = ("send", "session_id", "login_person_id", "voucher_id", "code_owner_id", "secret",
                 "authorization_id", "grant_id", "groups", "sent_step", "ended", "inbox", "__weakref__")

    def __init__(self, send) -> None:
        self.send = send
        self.groups: tuple[str, ...] = ()
        self.sent_step = -1  # the newest step whose code this page holds (codes/pages.py)
        self.ended = False
        self.inbox: deque | None = None  # notices waiting for this page; a drain task runs while it exists

    # --- the socket's life -------------------------------------------------

    async def run(self, scope, receive) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        try:
            await self.open(scope)
            while True:
                message = await receive()
                if message["type"] == "websocket.receive":
                    await self.receive_frame(message.get("text"))
                elif message["type"] == "websocket.disconnect":
                    return
        finally:
            self.leave()

    async def open(self, scope) -> None:
        ticket, token = ws_credentials(scope)
        nonce = object() if ticket else None  # a single-use ticket is never shared between two sockets
        opened = await page_opens.ask((ticket, token, _person_param(scope), nonce))
        subprotocol = SUBPROTOCOL if token else None
        if opened is None:
            self.ended = True
            await self.send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})  # handshake refused
            return
        if isinstance(opened, ApplicationError):
            self.ended = True
            await self.send({"type": "websocket.accept", "subprotocol": subprotocol})
            await self.send_json({"type": "error", "code": opened.code, "message": opened.message})
            await self.send({"type": "websocket.close", "code": CLOSE_FORBIDDEN})
            return
        (self.session_id, self.login_person_id, self.voucher_id, self.code_owner_id, self.secret,
         self.authorization_id, self.grant_id) = opened
        # The lookup has just read the rows a check reads (live session, active
        # authorization and voucher, the binding): it is the first push's
        # check, as fresh as any batched check's answer. The first code goes
        # out without a second database hop.
        await self.send({"type": "websocket.accept", "subprotocol": subprotocol})
        await self.push_code()
        rotator.add(self)
        # A revoke, logout or binding end committed after the lookup read its
        # rows but announced before the process was in the page's groups in
        # Redis reached no one; the check after the join catches it (the code
        # already shown names the revoked authorization or grant, so it no
        # longer decodes). From here on every notice reaches the page.
        self.groups = (voucher_group(self.voucher_id), session_group(self.session_id))
        if not await page_notices.join(self, self.groups):
            logger.warning("channel layer unavailable; a code page runs without notifications for now")
        await self.still_allowed()

    def leave(self) -> None:
        self.ended = True
        rotator.discard(self)
        page_notices.leave(self, self.groups)

    async def send_json(self, content) -> None:
        await self.send({"type": "websocket.send", "text": json.dumps(content)})

    async def close(self, code: int) -> None:
        await self.send({"type": "websocket.close", "code": code})

    # --- authorisation, re-checked at every push and every message ---------

    async def still_allowed(self) -> bool:
        """Re-check the login session and the channel authorization (batched
        with the other pages' checks of the moment). When either has ended:
        tell the page, close, stop rotating."""
        if self.ended:
            return False
        return await self.allowed(await page_checks.ask(self.check_key()))

    def check_key(self) -> tuple[int, int, int | None]:
        return self.session_id, self.authorization_id, self.grant_id

    async def allowed(self, ended: tuple[str, str] | None) -> bool:
        """Act on a check's answer: ``None`` — go on; else tell the page, close, stop rotating."""
        if ended is None:
            return not self.ended
        if self.ended:  # another handler closed it meanwhile
            return False
        self.ended = True
        rotator.discard(self)
        code, message = ended
        await self.send_json({"type": "session.ended", "code": code, "message": message})
        await self.close(CLOSE_UNAUTHENTICATED if (code, message) == SESSION_ENDED else CLOSE_FORBIDDEN)
        return False

    # --- codes ---------------------------------------------------------------

    async def deliver(self, step: int, ended: tuple[str, str] | None, *, early: bool) -> None:
        """The rotator's push (codes/pages.py), with the answer of the
        batched check: the code of ``step``, sent before it begins when ``early``."""
        if await self.allowed(ended):
            await self.push_code(step=step, early=early)

    async def push_code(self, *, step: int | None = None, early: bool = False) -> None:
        """Send a code (the caller has just checked)."""
        now = None if step is None else step * settings.CODE_STEP_SECONDS
        issued = code_issue(None, authorization_id=self.code_owner_id, secret=self.secret, now=now)
        self.sent_step = max(self.sent_step, issued.step)
        message = {"type": "code", **issued.as_message(), "valid_from": issued.step * settings.CODE_STEP_SECONDS}
        if early:
            message["early"] = True
        await self.send_json(message)

    # --- frames from the page ------------------------------------------------

    async def receive_frame(self, text: str | None) -> None:
        if text is None:
            await self.malformed("只接受文本消息")
            return
        try:
            content = loads(text)
        except JsonBodyError as refused:
            await self.malformed(refused.message)
            return
        if not await self.still_allowed():
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "refresh":
            await self.push_code()
        else:
            await self.send_json({"type": "error", "code": "UNKNOWN_MESSAGE", "message": "不支持的消息类型"})

    async def malformed(self, detail: str) -> None:
        logger.info("malformed WebSocket frame on /ws/code/: %s", detail)
        await self.send_json({"type": "error", "code": MALFORMED, "message": f"{MALFORMED_MESSAGE}：{detail}"})

    # --- notices from the channel layer (codes/pages.py PageNotices) ----

    def notify(self, event: dict) -> None:
        """Queue a notice; this page's notices are handled one at a time, in order."""
        if self.ended:
            return
        if self.inbox is None:
            self.inbox = deque([event])
            asyncio.get_running_loop().create_task(self._drain())
        else:
            self.inbox.append(event)

    async def _drain(self) -> None:
        try:
            while self.inbox:
                event = self.inbox.popleft()
                handler = self.HANDLERS.get(event.get("type"))
                if handler is None:  # e.g. security.notice, meant for /ws/session/
                    continue
                try:
                    await handler(self, event)
                except Exception:  # the socket went away meanwhile
                    logger.debug("code page notice %s not delivered", event.get("type"), exc_info=True)
        finally:
            self.inbox = None

    async def access_changed(self, event):
        """A channel authorization of this voucher was revoked, or the voucher's status changed."""
        await self.still_allowed()

    async def session_ended(self, event):
        """A login session was ended (logout or token refresh)."""
        await self.still_allowed()

    async def pin_changed(self, event):
        """The voucher's PIN was changed or reset (wallet/services/security.py):
        say so (channel and time), then show a fresh code at once."""
        if not await self.still_allowed():
            return
        await self.send_json({"type": "pin.changed", **event["body"]})
        await self.push_code()

    async def code_scanned(self, event):
        """A terminal redeemed one of this voucher's codes: say so, then show the next one."""
        if not await self.still_allowed():
            return
        await self.send_json({"type": "scanned", "institution": event["body"]["institution"], "at": event["body"]["at"]})
        await self.push_code()

    async def _forward(self, kind: str, event):
        if await self.still_allowed():
            await self.send_json({"type": kind, **event["body"]})

    async def payment_confirm(self, event):
        """A terminal asks this payer to confirm an amount with the PIN."""
        await self._forward("payment.confirm", event)

    async def payment_completed(self, event):
        await self._forward("payment.completed", event)

    async def payment_reversed(self, event):
        await self._forward("payment.reversed", event)

    async def account_credited(self, event):
        """Money arrived in the personal account (pulled from the core)."""
        await self._forward("account.credited", event)

    async def _payer_notice(self, kind: str, event):
        """Family mutual aid: pushed to the payer's own voucher and to the
        relative's (a payer may be showing the relative's code); only a page
        whose login is the payer's shows it."""
        body = dict(event["body"])
        if body.pop("payer_person_id", None) != self.login_person_id:
            return
        if await self.still_allowed():
            await self.send_json({"type": kind, **body})

    async def mulaid_used(self, event):
        """A bound relative's bill was paid from this payer's account (who, where, how much, cap left)."""
        await self._payer_notice("mulaid.used", event)

    async def mulaid_confirm(self, event):
        """The payer is asked to confirm a mutual-aid part with their own PIN."""
        await self._payer_notice("mulaid.confirm", event)

    HANDLERS = {}  # message type -> handler, filled below


CodePage.HANDLERS.update({
    "access.changed": CodePage.access_changed, "session.ended": CodePage.session_ended,
    "pin.changed": CodePage.pin_changed, "code.scanned": CodePage.code_scanned,
    "payment.confirm": CodePage.payment_confirm, "payment.completed": CodePage.payment_completed,
    "payment.reversed": CodePage.payment_reversed, "account.credited": CodePage.account_credited,
    "mulaid.used": CodePage.mulaid_used, "mulaid.confirm": CodePage.mulaid_confirm,
})
