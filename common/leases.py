"""Short leases renewed while their holder lives (issue #21 item 8).

A row claimed by this process for the length of a request (the gateway's
``GatewayMessage`` in ``processing``) carries the claim's time; another
process may take the row over once that time is older than the lease. With
a long lease a process killed mid-request fences its rows for the whole
lease; with a short one a slow request would be taken over while it runs.
So the lease is short and the holder renews it: a daemon thread of the
process sets the claim time of each row it holds, every ``renew_every``
seconds, by compare-and-swap on the time it last wrote (and the row's
``condition``, e.g. still ``processing``) — a row that was finished, handed
back or taken over meanwhile is dropped, never claimed back. A process that
dies stops renewing: its rows are free one lease later.

Only rows held longer than ``renew_every`` are touched, so a quick request
costs nothing; the thread opens its database connection for a round of
renewals and closes it after. It starts with the first ``hold``."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connections, router
from django.utils import timezone

logger = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews ``field`` (a DateTimeField) of the held rows of ``model``."""

    def __init__(self, model, field: str, *, condition: dict, renew_every: Callable[[], float],
                 background: bool = True):
        """``background=False``: no thread; the owner calls ``renew()`` (tests)."""
        self.model, self.field, self.condition, self.renew_every = model, field, condition, renew_every
        self.background = background
        self._held: dict[int, dt.datetime] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, pk: int, stamp: dt.datetime) -> None:
        """This process holds row ``pk``, claimed at ``stamp`` (committed)."""
        with self._lock:
            self._held[pk] = stamp
            if self.background and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name=f"lease-{self.model.__name__}", daemon=True)
                self._thread.start()

    def release(self, pk: int) -> None:
        with self._lock:
            self._held.pop(pk, None)

    def held(self) -> dict[int, dt.datetime]:
        with self._lock:
            return dict(self._held)

    def renew(self) -> int:
        """One round: renew every row held longer than ``renew_every``;
        returns how many were renewed."""
        now = timezone.now()
        due = {pk: stamp for pk, stamp in self.held().items()
               if stamp <= now - dt.timedelta(seconds=self.interval())}
        renewed = 0
        for pk, stamp in due.items():
            moved = self.model.objects.filter(pk=pk, **{self.field: stamp}, **self.condition).update(**{self.field: now})
            with self._lock:
                if pk not in self._held:
                    continue  # released meanwhile
                if moved:
                    self._held[pk] = now
                    renewed += 1
                else:
                    del self._held[pk]  # finished, handed back or taken over: not ours any more
        return renewed

    def interval(self) -> float:
        return max(0.2, self.renew_every())

    def _run(self) -> None:
        alias = router.db_for_write(self.model)
        while True:
            time.sleep(self.interval())
            if not self.held():
                continue
            try:
                self.renew()
            except Exception:  # a background loop must outlive a database hiccup; the next round retries
                logger.exception("lease renewal of %s failed", self.model.__name__)
            finally:
                connections[alias].close()
                close_old_connections()
