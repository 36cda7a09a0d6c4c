"""The open code pages of one ASGI process: early delivery of the next code
and the batched per-push authorisation check (the consumer is
wallet/consumers.py ``CodeConsumer``; docs/subsystems/realtime.md).

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
step begins (wallet/services/codes.py ``code_check``: a step after the
current one is EC_CODE_UNKNOWN), and stays single-use and unlinkable (the
same ``wallet.codes.issue``).

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
from django.conf import settings

from .selectors import code_pages_check
from .services.codes import early_seconds

logger = logging.getLogger(__name__)

CHUNK = 200  # pages per early-delivery slice (one batched check each)
BATCH_MAX = 500  # distinct (session, authorization, grant) keys per query
AFTER_BOUNDARY = 0.005  # the catch-up push for pages that missed the early one


def spread_seconds(step_seconds: int) -> float:
    """Of the lead, how long the sends are spread over (the rest is margin
    for the last slice to arrive before the boundary)."""
    lead = early_seconds(step_seconds)
    return lead - min(1.0, lead / 4)


Key = tuple[int, int, "int | None"]  # (session id, channel authorization id, family code grant id)
Ended = "tuple[str, str] | None"


class PageChecks:
    """Coalesces the code pages' per-push checks: every check asked for
    while no batch is being collected joins the next one; one batch is one
    ``database_sync_to_async`` hop running ``code_pages_check``."""

    def __init__(self) -> None:
        self.pending: dict[Key, list[asyncio.Future]] = {}
        self.task: asyncio.Task | None = None

    async def check(self, key: Key):
        loop = asyncio.get_running_loop()
        if self.task is not None and self.task.get_loop() is not loop:  # a new event loop (tests)
            self.pending, self.task = {}, None
        future = loop.create_future()
        self.pending.setdefault(key, []).append(future)
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._run())
        return await future

    async def check_many(self, keys: list[Key]) -> list:
        return await asyncio.gather(*(self.check(k) for k in keys), return_exceptions=True)

    async def _run(self) -> None:
        await asyncio.sleep(0)  # let the checks asked for in this moment join
        while self.pending:
            batch = dict(list(self.pending.items())[:BATCH_MAX])
            for key in batch:
                del self.pending[key]
            try:
                answers = await _checks_query(list(batch))
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


_checks_query = database_sync_to_async(code_pages_check, thread_sensitive=False)  # beside the connects' hops


class Page(Protocol):
    sent_step: int

    def check_key(self) -> Key: ...

    async def deliver(self, step: int, ended, *, early: bool) -> None: ...


class CodeRotator:
    """The process's open code pages, and the one task that rotates them."""

    def __init__(self, checks: PageChecks) -> None:
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
            answers = await self.checks.check_many([p.check_key() for p in chunk])
            for page, ended in zip(chunk, answers):
                if isinstance(ended, Exception):
                    logger.warning("code page check failed (%s); the page is retried after the boundary", ended)
                    continue
                try:
                    await page.deliver(step, ended, early=early)
                except Exception:  # the socket went away meanwhile
                    logger.debug("code push to a closing page failed", exc_info=True)


page_checks = PageChecks()
rotator = CodeRotator(page_checks)
