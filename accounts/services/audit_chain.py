"""The audit trail's tamper evidence (issue #15).

Two layers, so that business transactions never queue behind one global lock:

1. At insert (inside the caller's transaction, no lock): ``row_mac`` =
   HMAC-SHA256 over the event's canonical serialisation, under a key derived
   from the field key. Nobody with only database access can forge or alter an
   event without the MAC no longer matching.
2. Off the request path, in batches: Celery beat runs ``audit_chain_seal``
   every AUDIT_CHAIN_SEAL_INTERVAL_SECONDS (5 s; accounts/tasks.py), and
   ``audit_verify`` seals what is pending before it verifies. The sealer
   takes the chain head's lock, gives every committed, unsealed event
   the next ``seq`` in id order, ``prev_hash`` = the previous event's
   ``chain_hash`` and ``chain_hash`` = HMAC(prev_hash | seq | row_mac). A
   deleted, inserted or reordered event breaks the links after it. The head
   is locked with an UPDATE as the first statement (a row lock on PostgreSQL;
   SQLite runs IMMEDIATE transactions: the database's write lock), and
   ``seq`` is unique, so two sealers can never fork the chain. A request
   never seals: the head's lock was one global serialisation point of every
   transaction that wrote an audit row (issue #16); an event is sealed within
   seconds of its commit, and until then its ``row_mac`` already protects it.

The canonical serialisation is JSON with sorted keys, compact separators and
UTF-8 (``ensure_ascii=False``) of: action, outcome, actor, person_id,
channel, ip, code, detail and occurred_at (UTC, ISO 8601, microseconds).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import AuditChainHead, AuditEvent

logger = logging.getLogger(__name__)
SEAL_BATCH = 500
GENESIS = "0" * 64


def _key() -> bytes:
    return _derived_key(getattr(settings, "AUDIT_CHAIN_KEY", "") or settings.FIELD_ENCRYPTION_KEY)


@lru_cache(maxsize=4)
def _derived_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"yibao/audit-chain/v1", hashlib.sha256).digest()


def _mac(message: str) -> str:
    return hmac.new(_key(), message.encode(), hashlib.sha256).hexdigest()


def _when(value: dt.datetime) -> str:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def canonical(*, action, outcome, actor, person_id, channel, ip, code, detail, occurred_at) -> str:
    return json.dumps({"action": action, "outcome": outcome, "actor": actor, "person_id": person_id,
                       "channel": channel or "", "ip": ip or None, "code": code or "", "detail": detail or {},
                       "occurred_at": _when(occurred_at)},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_mac_of(event: AuditEvent) -> str:
    return _mac(canonical(action=event.action, outcome=event.outcome, actor=event.actor, person_id=event.person_id,
                          channel=event.channel, ip=event.ip, code=event.code, detail=event.detail,
                          occurred_at=event.occurred_at))


def chain_hash_of(prev_hash: str, seq: int, row_mac: str) -> str:
    return _mac(f"{prev_hash}|{seq}|{row_mac}")


def normalise_detail(detail: dict) -> dict:
    """What the database gives back: JSON-native values only (tuples become
    lists, keys strings), so the MAC computed at insert matches the row read later."""
    return json.loads(json.dumps(detail or {}, ensure_ascii=False))


def normalise_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    return AuditEvent._meta.get_field("ip").get_prep_value(ip)


def _head_lock() -> AuditChainHead:
    """Inside a transaction: take the head's lock (creating the row once)."""
    if not AuditChainHead.objects.filter(pk=1).update(sealed_at=timezone.now()):
        try:
            with transaction.atomic():
                AuditChainHead.objects.create(pk=1, seq=0, last_hash=GENESIS, sealed_at=timezone.now())
        except IntegrityError:
            AuditChainHead.objects.filter(pk=1).update(sealed_at=timezone.now())
    return AuditChainHead.objects.select_for_update().get(pk=1)


def audit_chain_seal(*, limit: int | None = None) -> int:
    """Seal every committed, unsealed event into the chain, in id order, in
    batches of SEAL_BATCH (one transaction each). Returns how many were
    sealed. Safe to run from several processes at once (they queue on the
    head)."""
    sealed = 0
    while True:
        with transaction.atomic():
            head = _head_lock()
            batch = list(AuditEvent.objects.filter(seq__isnull=True).order_by("id")
                         .values_list("id", "row_mac")[:SEAL_BATCH])
            seq, prev = head.seq, head.last_hash or GENESIS
            links = []
            for event_id, mac in batch:
                seq += 1
                link = chain_hash_of(prev, seq, mac)
                links.append(AuditEvent(pk=event_id, seq=seq, prev_hash=prev, chain_hash=link))
                prev = link
            if links:  # one statement per batch; only the head's holder writes seq (never save(): append-only)
                AuditEvent.objects.bulk_update(links, ["seq", "prev_hash", "chain_hash"], batch_size=SEAL_BATCH)
                AuditChainHead.objects.filter(pk=1).update(seq=seq, last_hash=prev)
            sealed += len(batch)
        if len(batch) < SEAL_BATCH or (limit is not None and sealed >= limit):
            return sealed


@dataclasses.dataclass
class ChainReport:
    ok: bool
    checked: int
    unsealed: int
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str = ""

    def as_text(self) -> str:
        if self.ok:
            return f"OK: {self.checked} events sealed and verified, {self.unsealed} not yet sealed"
        return (f"BROKEN at audit event id={self.broken_id} (seq={self.broken_seq}): {self.reason}; "
                f"{self.checked} events verified before it")


def audit_chain_verify(*, seal_first: bool = True) -> ChainReport:
    """Walk the chain in ``seq`` order, recomputing each event's MAC and link.
    Reports the first broken link: an altered event (its content no longer
    matches its MAC), a link that does not follow from the previous one, or a
    gap in ``seq`` (an event deleted). Unsealed events must match their MAC too."""
    if seal_first:
        audit_chain_seal()
    checked, expected_seq, prev = 0, 1, GENESIS
    events = AuditEvent.objects.filter(seq__isnull=False).order_by("seq")
    for event in events.iterator(chunk_size=1000):
        if event.seq != expected_seq:
            return ChainReport(False, checked, 0, event.pk, event.seq,
                               f"seq {expected_seq} is missing (an event was deleted)")
        if event.prev_hash != prev:
            return ChainReport(False, checked, 0, event.pk, event.seq, "prev_hash does not match the previous event")
        if not hmac.compare_digest(event.row_mac, row_mac_of(event)):
            return ChainReport(False, checked, 0, event.pk, event.seq, "content altered (MAC mismatch)")
        if not hmac.compare_digest(event.chain_hash, chain_hash_of(prev, event.seq, event.row_mac)):
            return ChainReport(False, checked, 0, event.pk, event.seq, "chain hash mismatch")
        prev, expected_seq, checked = event.chain_hash, expected_seq + 1, checked + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != checked or (checked and head.last_hash != prev)):
        return ChainReport(False, checked, 0, None, head.seq,
                           f"the chain head names seq {head.seq} but the chain ends at {checked} "
                           "(events after it were deleted)")
    unsealed = 0
    for event in AuditEvent.objects.filter(seq__isnull=True).order_by("id").iterator(chunk_size=1000):
        if not hmac.compare_digest(event.row_mac, row_mac_of(event)):
            return ChainReport(False, checked, unsealed, event.pk, None, "unsealed event altered (MAC mismatch)")
        unsealed += 1
    return ChainReport(True, checked, unsealed)
