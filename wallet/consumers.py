"""The code page's WebSocket: ``/ws/code/``.

On connect the current code is sent at once (so a page that reconnects after
a network drop has a fresh code immediately). A little before every step
boundary the next step's code is sent without being asked, marked ``early``
with its ``valid_from``; the page switches to it at the boundary; a page that
missed it gets the new code pushed just after the boundary
(wallet/code_pages.py: one rotator per process, the sends spread over the
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
MALFORMED_MESSAGE and the socket stays open (common.consumers.JsonConsumer).

Authorisation is checked where it is used, every time: before every push
(rotation tick, refresh, scan notice, payment events) and for every message
the socket handles, a check (``code_pages_check``, batched with the other
pages' checks of the same moment: wallet/code_pages.py) confirms the login
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

import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings

from accounts.services.sessions import session_group
from accounts.ws_auth import app_session_resolve
from common.consumers import JsonConsumer
from common.errors import ApplicationError

from .selectors import SESSION_ENDED, authorization_for_code_page, proxy_code_page_open
from .code_pages import page_checks, rotator
from .services.codes import code_issue
from .services.push import voucher_group

logger = logging.getLogger(__name__)
CLOSE_UNAUTHENTICATED = 4401  # no credentials, or the login session ended
CLOSE_FORBIDDEN = 4403  # not activated, channel authorization revoked, voucher unavailable


def _open(scope, person: str | None):
    """One database hop for the whole connect: the login session (resolved
    here: the auth middleware defers /ws/code/, accounts/ws_auth.py), then
    (session, voucher shown, id its codes name, its secret, the login's
    channel authorization id, family code grant id or None); session None
    when the credentials are not a live login."""
    session = (app_session_resolve(*scope["app_credentials"]) if "app_credentials" in scope
               else scope.get("app_session"))
    if session is None:
        return (None,) * 6
    return (session, *_load(session.login, person))


# Off Channels' single database thread: connects and batched checks run side by side.
_open_async = database_sync_to_async(_open, thread_sensitive=False)


def _load(login, person: str | None):
    if person is None:
        authorization = authorization_for_code_page(login)
        return authorization.voucher, authorization.pk, authorization.voucher.code_secret, authorization.pk, None
    voucher, owner_id, grant = proxy_code_page_open(login, person)
    return voucher, owner_id, voucher.code_secret, grant.authorization_id, grant.id


def _person_param(scope) -> str | None:
    """``?person=<binding id>``: show that bound relative's code (None: one's own)."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("person")
    return values[0] if values else None


class CodeConsumer(JsonConsumer):
    groups_joined: tuple[str, ...] = ()
    ended = False
    sent_step = -1  # the newest step whose code this page holds (wallet/code_pages.py)

    async def connect(self):
        try:
            (session, self.voucher, self.code_owner_id, self.secret, self.authorization_id,
             self.grant_id) = await _open_async(self.scope, _person_param(self.scope))
        except ApplicationError as refused:
            await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
            await self.send_json({"type": "error", "code": refused.code, "message": refused.message})
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if session is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.session_id = session.pk
        self.login_person_id = session.login.person_id  # mutual-aid notices are the payer's only
        joined = []
        try:
            for group in (voucher_group(self.voucher.pk), session_group(session.pk)):
                await self.channel_layer.group_add(group, self.channel_name)
                joined.append(group)
        except Exception:  # Redis down: codes still rotate (checked at every push); notices resume on reconnect
            logger.warning("channel layer unavailable; code page %s runs without notifications", self.channel_name)
        self.groups_joined = tuple(joined)
        await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
        if await self.still_allowed():
            await self.push_code(checked=True)
            rotator.add(self)

    async def disconnect(self, code):
        self.ended = True
        try:
            rotator.discard(self)
        finally:
            for group in self.groups_joined:
                try:
                    await self.channel_layer.group_discard(group, self.channel_name)
                except Exception:  # Redis down: the group entry expires on its own
                    logger.info("group_discard failed for %s", self.channel_name)

    async def still_allowed(self) -> bool:
        """Re-check the login session and the channel authorization (one
        query). When either has ended: tell the page, close, stop rotating."""
        if self.ended:
            return False
        return await self.allowed(await page_checks.check(self.check_key()))

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
        await self.close(code=CLOSE_UNAUTHENTICATED if (code, message) == SESSION_ENDED else CLOSE_FORBIDDEN)
        return False

    async def deliver(self, step: int, ended: tuple[str, str] | None, *, early: bool) -> None:
        """The rotator's push (wallet/code_pages.py), with the answer of the
        batched check: the code of ``step``, sent before it begins when ``early``."""
        if await self.allowed(ended):
            await self.push_code(checked=True, step=step, early=early)

    async def push_code(self, *, checked: bool = False, step: int | None = None, early: bool = False):
        if not checked and not await self.still_allowed():
            return
        now = None if step is None else step * settings.CODE_STEP_SECONDS
        issued = code_issue(self.voucher, authorization_id=self.code_owner_id, secret=self.secret, now=now)
        self.sent_step = max(self.sent_step, issued.step)
        message = {"type": "code", **issued.as_message(), "valid_from": issued.step * settings.CODE_STEP_SECONDS}
        if early:
            message["early"] = True
        await self.send_json(message)

    async def receive_json(self, content, **kwargs):
        if not await self.still_allowed():
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "refresh":
            await self.push_code(checked=True)
        else:
            await self.send_json({"type": "error", "code": "UNKNOWN_MESSAGE", "message": "不支持的消息类型"})

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
        await self.push_code(checked=True)

    async def security_notice(self, event):
        """Sent to the person's other sessions; a code page already got
        ``pin.changed`` (or ``access.changed``) on its voucher group."""

    async def code_scanned(self, event):
        """A terminal redeemed one of this voucher's codes: say so, then show the next one."""
        if not await self.still_allowed():
            return
        await self.send_json({"type": "scanned", "institution": event["body"]["institution"], "at": event["body"]["at"]})
        await self.push_code(checked=True)

    async def payment_confirm(self, event):
        """A terminal asks this payer to confirm an amount with the PIN."""
        if await self.still_allowed():
            await self.send_json({"type": "payment.confirm", **event["body"]})

    async def payment_completed(self, event):
        if await self.still_allowed():
            await self.send_json({"type": "payment.completed", **event["body"]})

    async def payment_reversed(self, event):
        if await self.still_allowed():
            await self.send_json({"type": "payment.reversed", **event["body"]})

    async def account_credited(self, event):
        """Money arrived in the personal account (pulled from the core)."""
        if await self.still_allowed():
            await self.send_json({"type": "account.credited", **event["body"]})

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
