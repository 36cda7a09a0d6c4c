"""The one way to tell a voucher's open pages something: a channel-layer
message to the group ``voucher.<pk>`` (codes/consumers.py joins it), sent
after the current transaction commits (immediately outside one).

Every message is ``{"type": <handler>, "body": {...}, "group": <its group>}``
(``group``: the code pages of a process share one channel and route by it,
codes/pages.py); the consumer names
its handlers after the types (``access.changed``, ``code.scanned``,
``payment.confirm``, ``payment.completed``, ``payment.reversed``,
``account.credited``). A push is a courtesy: the state it announces is
already committed and the pages also poll, so a failed send is logged, never
raised."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def voucher_group(voucher_id: int) -> str:
    return f"voucher.{voucher_id}"


def voucher_push(voucher_id: int, type: str, body: dict | None = None) -> None:
    """Send ``type`` with ``body`` to the voucher's pages once the current
    transaction has committed."""
    message = {"type": type, "body": body or {}, "group": voucher_group(voucher_id)}
    transaction.on_commit(lambda: _send(voucher_id, message))


def _send(voucher_id: int, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(voucher_group(voucher_id), message)
    except Exception:  # Redis down: the record stands; the pages poll and re-check at their next push
        logger.exception("could not push %s to voucher %s", message["type"], voucher_id)
