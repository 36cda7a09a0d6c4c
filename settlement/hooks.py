"""How settlement's sync jobs reach the apps above it without importing them.

settlement sits low in the dependency order (docs/architecture.md, "Dependency
order"): it may not import accounts or wallet. Where a sync job must act on
their data — a pulled enrolment change updates a person, a pulled credit is
pushed to the person's open pages, reconciliation reads the wallet's journal,
housekeeping deletes expired rows — the owning app registers a function here
in its ``AppConfig.ready()`` (plain assignment, no database access), and the
job calls it. Each hook has one owner; a missing hook is a start-up mistake,
reported when the job runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SyncHooks:
    person_id_for: Callable[[str], int | None] | None = None
    """accounts: the wallet user's person id for a psn_no, or None."""

    registry_change_apply: Callable[[str, str, dict], None] | None = None
    """accounts: apply a 9302 change (psn_no, kind, data) to the person."""

    registry_change_listeners: list[Callable[[str, str, dict], None]] = field(default_factory=list)
    """Apps above accounts that must react to a 9302 change once accounts has
    applied it, in the same transaction (family: a mutual-aid authorisation
    ends when either person's enrolment changes). Registered with
    ``registry_change_listen``."""

    credit_notify: Callable[[int, int, dt.datetime], None] | None = None
    """wallet: tell the person's open pages money arrived (person_id, amount_fen, at)."""

    payments_settled: Callable[[dt.date, list[str] | None], dict[str, dict]] | None = None
    """wallet: the day's settled (or since reversed) payments by setl_id, for reconciliation."""

    sweeps: dict[str, Callable[[dt.datetime, int], int]] = field(default_factory=dict)
    """Housekeeping: name -> delete up to ``batch`` rows expired before the
    given time, return how many (registered by the app owning the rows)."""


hooks = SyncHooks()


def hook(name: str) -> Callable:
    """The registered function, or a clear error naming the missing owner."""
    fn = getattr(hooks, name)
    if fn is None:
        raise RuntimeError(f"settlement hook {name!r} is not registered (its owning app's ready() did not run)")
    return fn


def registry_change_listen(fn: Callable[[str, str, dict], None]) -> None:
    if fn not in hooks.registry_change_listeners:
        hooks.registry_change_listeners.append(fn)


def sweep_register(name: str, fn: Callable[[dt.datetime, int], int]) -> None:
    hooks.sweeps[name] = fn
