"""The open code pages of one ASGI process (the page is codes/consumers.py
``CodePage``; docs/subsystems/codes.md): everything a page needs that is
cheaper done once per process than once per page — the batched connect
lookup (``page_opens``), the batched per-push authorisation check
(``page_checks``), one listener for the channel-layer notices
(``page_notices``) and one rotator with early delivery (``rotator``).

Early delivery. One rotator per process (not one timer per page) wakes
``early_seconds()`` before each step boundary and sends every open page the
NEXT step's code, marked ``early`` with its ``valid_from`` (the boundary);
the page keeps it and switches at the boundary by its own clock, so what the
person sees changes at the boundary even with 10,000 pages on one process.
The sends are spread over the lead window in chunks (``CHUNK`` pages each),
so the CPU and the database see a steady trickle instead of one burst at the
boundary. A page that missed it (opened during the window, or its chunk
failed) gets the new step's code pushed just after the boundary, as before.
A code delivered early is refused by the terminal's decode until its own
step begins (codes/services/issue.py ``code_check``: a step after the
current one is EC_CODE_UNKNOWN), and stays single-use and unlinkable (the
same ``codes.format.issue``).

Batched check. Every push still re-checks the login session, the channel
authorization, the voucher and (``?person=``) the family binding — now
through ``page_checks``: the checks asked for in the same moment share one
database hop and one pair of queries (wallet/selectors.py
``code_pages_check``). Nothing is cached: an answer is at most one hop old,
so a revocation, logout, binding end or PIN event (each also sent to the
page as a notice) reaches the page as promptly as before.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Protocol

from channels.db import database_sync_to_async
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.conf import settings

from wallet.selectors import code_pages_check, code_pages_open
from codes.services.issue import early_seconds

logger = logging.getLogger(__name__)

CHUNK = 200  # pages per early-delivery slice (one batched check each)
BATCH_MAX = 500  # distinct (session, authorization, grant) keys per query
GATHER = 0.004  # seconds a batch waits for more keys (fewer, larger database hops)
AFTER_BOUNDARY = 0.005  # the catch-up push for pages that missed the early one


def spread_seconds(step_seconds: int) -> float:
    """Of the lead, how long the sends are spread over (the rest is margin
    for the last slice to arrive before the boundary)."""
    lead = early_seconds(step_seconds)
    return lead - min(1.0, lead / 4)


Key = tuple[int, int, "int | None"]  # (session id, channel authorization id, family code grant id)
Ended = "tuple[str, str] | None"


class Coalescer:
    """Coalesces the code pages' database work of the same moment: every key
    asked for while no batch is being collected joins the next one; one batch
    (up to ``BATCH_MAX`` distinct keys) is one ``database_sync_to_async`` hop
    running ``query(keys) -> {key: answer}``; a batch of fewer keys first
    waits ``gather`` seconds for more (fewer, larger hops: each hop is a
    thread hand-off whose Python competes with the event loop for the GIL).
    Used for the connects
    (``page_opens``: ``code_pages_open``) and the per-push checks
    (``page_checks``: ``code_pages_check``)."""

    def __init__(self, query, gather: float = 0.0) -> None:
        self.query = query
        self.gather = gather
        self.pending: dict = {}
        self.task: asyncio.Task | None = None

    async def ask(self, key):
        loop = asyncio.get_running_loop()
        if self.task is not None and self.task.get_loop() is not loop:  # a new event loop (tests)
            self.pending, self.task = {}, None
        future = loop.create_future()
        self.pending.setdefault(key, []).append(future)
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._run())
        return await future

    async def ask_many(self, keys: list) -> list:
        return await asyncio.gather(*(self.ask(k) for k in keys), return_exceptions=True)

    async def _run(self) -> None:
        while self.pending:
            if len(self.pending) < BATCH_MAX:
                await asyncio.sleep(self.gather)  # let the keys asked for in this moment join
            batch = dict(list(self.pending.items())[:BATCH_MAX])
            for key in batch:
                del self.pending[key]
            try:
                answers = await self.query(list(batch))
            except BaseException as exc:  # noqa: BLE001 - handed to every waiter
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
                if not isinstance(exc, Exception):
                    raise
                continue
            for key, futures in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(answers[key])


# Off Channels' single database thread: the connects' and the checks' batches run side by side.
page_opens = Coalescer(database_sync_to_async(code_pages_open, thread_sensitive=False), GATHER)
page_checks = Coalescer(database_sync_to_async(code_pages_check, thread_sensitive=False), GATHER)


class Page(Protocol):
    sent_step: int

    def check_key(self) -> Key: ...

    async def deliver(self, step: int, ended, *, early: bool) -> None: ...


class CodeRotator:
    """The process's open code pages, and the one task that rotates them."""

    def __init__(self, checks: Coalescer) -> None:
        self.checks = checks
        self.pages: dict[Page, None] = {}  # insertion-ordered set
        self.task: asyncio.Task | None = None

    def add(self, page: Page) -> None:
        loop = asyncio.get_running_loop()
        if self.task is not None and self.task.get_loop() is not loop:  # a new event loop (tests)
            self.pages, self.task = {}, None
        self.pages[page] = None
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._run())

    def discard(self, page: Page) -> None:
        self.pages.pop(page, None)

    async def _run(self) -> None:
        while self.pages:
            try:
                await self._one_step()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one bad step stop every page's rotation
                logger.exception("code rotation step failed")
                await asyncio.sleep(0.5)

    async def _one_step(self) -> None:
        page_notices.tick()
        step_seconds = settings.CODE_STEP_SECONDS
        now = time.time()
        step = int(now // step_seconds) + 1
        boundary = step * step_seconds
        start = boundary - early_seconds(step_seconds)
        if now < start:
            await asyncio.sleep(start - now)
        await self._deliver(step, early=True, until=start + spread_seconds(step_seconds))
        await asyncio.sleep(max(0.0, boundary + AFTER_BOUNDARY - time.time()))
        await self._deliver(step, early=False, until=time.time())  # the pages that missed it

    async def _deliver(self, step: int, *, early: bool, until: float) -> None:
        pages = [p for p in self.pages if p.sent_step < step]
        if not pages:
            return
        slices = math.ceil(len(pages) / CHUNK)
        t0 = time.time()
        interval = max(0.0, until - t0) / slices
        for i in range(slices):
            wait = t0 + i * interval - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            chunk = [p for p in pages[i * CHUNK:(i + 1) * CHUNK] if p in self.pages and p.sent_step < step]
            if not chunk:
                continue
            answers = await self.checks.ask_many([p.check_key() for p in chunk])
            for page, ended in zip(chunk, answers):
                if isinstance(ended, Exception):
                    logger.warning("code page check failed (%s); the page is retried after the boundary", ended)
                    continue
                try:
                    await page.deliver(step, ended, early=early)
                except Exception:  # the socket went away meanwhile
                    logger.debug("code push to a closing page failed", exc_info=True)


class PageNotices:
    """The channel-layer notices of the process's code pages
    (``voucher.<id>``: access.changed, pin.changed, code.scanned, payment.*,
    account.credited, mulaid.*; ``session.<id>``: session.ended,
    security.notice), received by ONE task per process instead of a Channels
    consumer per page.

    Public channel-layer API only (``new_channel``, ``group_add``,
    ``group_discard``, ``receive``: any Channels layer, no backend
    internals). The process has one channel of its own (``new_channel()``
    on a private instance of the layer, so its receive loop is not shared
    with the Channels consumers of ``/ws/session/`` and ``/ws/ping/``) and
    joins each group its pages need once with it; a ``group_send`` to the
    group reaches this process once, and the listener hands the message to
    every page of the process in the group the message names (``group``:
    every sender of these groups adds it, wallet/services/push.py,
    accounts/services/sessions.py and security.py) (``page.notify``).
    Membership is reconciled in batches: the groups that gained their first
    page or lost their last one in the same moment are added / discarded
    together (``group_add`` / ``group_discard`` run concurrently, at most
    ``CONCURRENT`` at a time), by one task at a time, so an add and a
    discard of the same group never race. A page waits for its groups' add
    before its first check, as a Channels consumer waited for
    ``group_add``. ``tick()`` (every step, from the rotator) re-adds groups
    whose add failed (Redis was down) and refreshes the ones joined more
    than half the layer's ``group_expiry`` ago, so a group that stays joined
    for days does not expire out of Redis."""

    CONCURRENT = 64  # group_add / group_discard calls in flight at once

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.layer = None
        self.channel: str | None = None  # this process's channel in the layer
        self.groups: dict[str, dict] = {}  # group -> its pages (insertion-ordered set)
        self.joined: dict[str, float] = {}  # group -> when it was (re-)added in the layer
        self.dirty: set[str] = set()
        self.waiters: dict[str, list[asyncio.Future]] = {}
        self.syncer: asyncio.Task | None = None
        self.listener: asyncio.Task | None = None

    async def _bind(self) -> bool:
        """The private layer, its channel and the listener, on the running
        loop; False without a channel layer."""
        loop = asyncio.get_running_loop()
        if self.loop is not loop:  # first use, or a new event loop (tests)
            self.__init__()
            self.loop = loop
            self.layer = (channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
                          if DEFAULT_CHANNEL_LAYER in channel_layers.configs else None)
        if self.layer is None:
            return False
        if self.channel is None:
            channel = await self.layer.new_channel()
            if self.channel is None:  # a concurrent first join may have set it meanwhile
                self.channel = channel
        if self.listener is None or self.listener.done():
            self.listener = loop.create_task(self._listen())
        return True

    async def join(self, page, groups: tuple[str, ...]) -> bool:
        """Add ``page`` to ``groups``; return once the process is in each of
        them in the layer. False when the layer did not answer (the page
        still rotates, checked at every push; ``tick`` retries the add)."""
        if not await self._bind():
            return False
        waiting = []
        for group in groups:
            self.groups.setdefault(group, {})[page] = None
            if group not in self.joined:
                future = self.loop.create_future()
                self.waiters.setdefault(group, []).append(future)
                waiting.append(future)
                self._mark(group)
        return all(await asyncio.gather(*waiting)) if waiting else True

    def leave(self, page, groups: tuple[str, ...]) -> None:
        for group in groups:
            pages = self.groups.get(group)
            if pages is None:
                continue
            pages.pop(page, None)
            if not pages:
                del self.groups[group]
                self._mark(group)

    def tick(self) -> None:
        """Retry failed adds; refresh old ones (see the class docstring)."""
        if self.layer is None or self.loop is not asyncio.get_running_loop():
            return
        stale = time.time() - getattr(self.layer, "group_expiry", 86400) / 2
        for group in self.groups:
            if self.joined.get(group, 0.0) < stale:
                self.joined.pop(group, None)
                self._mark(group)

    def _mark(self, group: str) -> None:
        self.dirty.add(group)
        if self.syncer is None or self.syncer.done():
            self.syncer = self.loop.create_task(self._sync())

    async def _sync(self) -> None:
        await asyncio.sleep(0)  # let the joins and leaves of this moment gather
        while self.dirty:
            batch = list(self.dirty)[:BATCH_MAX]
            self.dirty.difference_update(batch)
            add = [g for g in batch if g in self.groups and g not in self.joined]
            drop = [g for g in batch if g not in self.groups and g in self.joined]
            for group in drop:  # before the await: a page joining meanwhile waits for a fresh add
                self.joined.pop(group, None)
            failed = await self._apply(add, drop)
            now = time.time()
            for group in add:
                if group not in failed:
                    self.joined[group] = now
            for group in batch:
                for future in self.waiters.pop(group, ()):
                    if not future.done():
                        future.set_result(group not in failed)

    async def _apply(self, add: list[str], drop: list[str]) -> set[str]:
        """``group_add`` for ``add`` and ``group_discard`` for ``drop`` with
        the process's channel, concurrently; returns the groups whose add failed."""
        limit = asyncio.Semaphore(self.CONCURRENT)

        async def one(call, group: str):
            async with limit:
                await call(group, self.channel)

        results = await asyncio.gather(*(one(self.layer.group_add, g) for g in add),
                                       *(one(self.layer.group_discard, g) for g in drop),
                                       return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:  # Redis down: pages run without notices until tick() re-adds
            logger.warning("code page groups not updated in the channel layer (%s)", errors[0])
        return {g for g, r in zip(add, results) if isinstance(r, BaseException)}

    async def _listen(self) -> None:
        """Receive every notice for this process's groups and hand it to the
        pages of the group it names."""
        delay = 0.5
        while True:
            try:
                message = await self.layer.receive(self.channel)
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down: wait and retry (the pages re-check at every push anyway)
                logger.warning("code page notices: receive failed (%s); retrying in %.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            for page in list(self.groups.get(message.get("group", ""), ())):
                page.notify(message)


page_notices = PageNotices()
rotator = CodeRotator(page_checks)
