"""Pulls from the core: personal-account credits (9301), enrolment changes
(9302), policy versions (9303). Each has a cursor (``SyncCursor``); a page
of items and the cursor's new position commit in one transaction, and every
item is applied idempotently (unique on the core's id), so nothing is
skipped and nothing is applied twice, whatever crashes when."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.money import yuan_to_fen
from settlement.client import core_client
from settlement.errors import CoreError

from ..hooks import hook, hooks
from ..models import AccountCredit, PolicyVersion, SyncCursor

logger = logging.getLogger(__name__)


def _pull(name: str, infno: str, apply_item, *, max_pages: int = 20) -> int:
    """Pull pages until the core has nothing newer (bounded); returns items applied."""
    SyncCursor.objects.get_or_create(name=name)
    applied = 0
    for _ in range(max_pages):
        cursor = SyncCursor.objects.get(name=name)
        try:
            output = core_client().call(infno, {"data": {"cursor": cursor.position, "limit": settings.PULL_BATCH_SIZE}})
        except CoreError as exc:
            SyncCursor.objects.filter(name=name).update(last_error=f"{type(exc).__name__}: {exc}"[:300])
            raise
        items = output.get("items", [])
        with transaction.atomic():
            locked = SyncCursor.objects.select_for_update().get(name=name)
            if locked.position != cursor.position:
                continue  # another worker moved it meanwhile: re-read
            for item in items:
                apply_item(item)
            locked.position = int(output.get("cursor", cursor.position))
            locked.last_success_at = timezone.now()
            locked.last_error = ""
            locked.save()
        applied += len(items)
        if len(items) < settings.PULL_BATCH_SIZE:
            break
    return applied


def _apply_credit(item: dict) -> None:
    person_id = hook("person_id_for")(item["psn_no"])
    credit, created = AccountCredit.objects.get_or_create(
        core_posting_id=int(item["posting_id"]),
        defaults={"person_id": person_id, "psn_no": item["psn_no"], "amount_fen": yuan_to_fen(item["amount"]),
                  "balance_fen": yuan_to_fen(item["balc"]) if item.get("balc") else None,
                  "credited_at": dt.datetime.fromisoformat(item["credited_at"])},
    )
    if created and person_id is not None:
        transaction.on_commit(lambda: _notify_credit(credit.pk))


def _notify_credit(credit_id: int) -> None:
    """Tell the person money arrived: a push to their open pages (the
    record also shows in GET /api/notifications). The push is the wallet's
    (hook ``credit_notify``); it never raises."""
    credit = AccountCredit.objects.get(pk=credit_id)
    if credit.person_id is not None:
        hook("credit_notify")(credit.person_id, credit.amount_fen, credit.credited_at)
    AccountCredit.objects.filter(pk=credit_id).update(notified=True)


def _apply_registry_change(item: dict) -> None:
    hook("registry_change_apply")(item["psn_no"], item["kind"], item.get("data") or {})
    for listener in hooks.registry_change_listeners:  # in this page's transaction, after accounts applied it
        listener(item["psn_no"], item["kind"], item.get("data") or {})


def _apply_policy(item: dict) -> None:
    PolicyVersion.objects.update_or_create(core_id=int(item["id"]), defaults={
        "region": item["region"], "insutype": item["insutype"], "version": int(item["version"]),
        "effective_from": dt.date.fromisoformat(item["effective_from"]), "params": item["params"]})


def pull_credits() -> int:
    return _pull("credits", "9301", _apply_credit)


def pull_registry() -> int:
    return _pull("registry", "9302", _apply_registry_change)


def pull_policies() -> int:
    return _pull("policies", "9303", _apply_policy)


def pull_all() -> dict:
    return {"credits": pull_credits(), "registry": pull_registry(), "policies": pull_policies()}
