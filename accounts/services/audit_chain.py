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

3. Outside the database (issue #20): every AUDIT_CHECKPOINT_INTERVAL_SECONDS
   beat runs ``audit_checkpoint_create``, which checks that the chain since
   the last checkpoint is its extension and appends a signed checkpoint of
   the head to the append-only store (audit_checkpoint.py). Deleting the
   newest events and moving the head back leaves every link intact, but the
   chain is then shorter than a checkpoint, or not its extension, and
   ``audit_chain_verify`` says so.

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

from common.errors import ApplicationError

from ..models import AuditChainHead, AuditEvent
from .audit_checkpoint import (BadLine, Checkpoint, checkpoint_append, checkpoint_last, checkpoint_read_all,
                               checkpoint_sign, checkpoint_store_locked, store_path)

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
class _Walk:
    checked: int
    prev: str
    broken: tuple[int, int, str] | None = None  # event id, seq, why


def _walk(events, *, after_seq: int, prev: str, marks: dict[int, tuple[int, str] | None] | None = None) -> _Walk:
    """Follow ``events`` (sealed, in seq order, the first one after
    ``after_seq`` whose chain_hash is ``prev``), recomputing each MAC and link;
    stop at the first broken one. ``marks``: seq -> (id, chain_hash) filled in
    for the seqs it names."""
    checked, expected_seq = 0, after_seq + 1
    for event in events.iterator(chunk_size=1000):
        if event.seq != expected_seq:
            return _Walk(checked, prev, (event.pk, event.seq, f"seq {expected_seq} is missing (an event was deleted)"))
        if event.prev_hash != prev:
            return _Walk(checked, prev, (event.pk, event.seq, "prev_hash does not match the previous event"))
        if not hmac.compare_digest(event.row_mac, row_mac_of(event)):
            return _Walk(checked, prev, (event.pk, event.seq, "content altered (MAC mismatch)"))
        if not hmac.compare_digest(event.chain_hash, chain_hash_of(prev, event.seq, event.row_mac)):
            return _Walk(checked, prev, (event.pk, event.seq, "chain hash mismatch"))
        if marks is not None and event.seq in marks:
            marks[event.seq] = (event.pk, event.chain_hash)
        prev, expected_seq, checked = event.chain_hash, expected_seq + 1, checked + 1
    return _Walk(checked, prev)


def _when_text(value: dt.datetime) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


@dataclasses.dataclass
class ChainReport:
    ok: bool
    checked: int
    unsealed: int
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str = ""
    checkpoints: int = 0  # validly signed checkpoints the chain was checked against
    checkpoint: Checkpoint | None = None  # the store's last validly signed one
    note: str = ""

    def as_text(self) -> str:
        if self.ok:
            text = f"OK: {self.checked} events sealed and verified, {self.unsealed} not yet sealed"
            if self.checkpoint is not None:
                return (f"{text}; an extension of all {self.checkpoints} checkpoints, the latest "
                        f"{self.checkpoint.seq} events at {_when_text(self.checkpoint.at)}")
            return f"{text}; {self.note}" if self.note else text
        where = "" if self.broken_id is None else f" audit event id={self.broken_id}"
        return (f"BROKEN at{where} (seq={self.broken_seq}): {self.reason}; "
                f"{self.checked} events verified before it")


def audit_chain_verify(*, seal_first: bool = True, allow_no_checkpoint: bool = False) -> ChainReport:
    """Walk the chain in ``seq`` order, recomputing each event's MAC and link.
    Reports the first broken link: an altered event (its content no longer
    matches its MAC), a link that does not follow from the previous one, or a
    gap in ``seq`` (an event deleted). Then the chain against every checkpoint
    in the store: it must have at least the checkpoint's seq events and the
    event at that seq its chain_hash (else its newest events were deleted, or
    the chain replaced); a line of the store that is not a validly signed
    checkpoint is reported too, and so is an empty store once the chain is
    older than a few checkpoint intervals (unless ``allow_no_checkpoint``:
    about to take the first). Unsealed events must match their MAC too."""
    if seal_first:
        audit_chain_seal()
    checkpoints: list[Checkpoint] = []
    bad: list[BadLine] = []
    for entry in checkpoint_read_all():
        (checkpoints if isinstance(entry, Checkpoint) else bad).append(entry)
    marks: dict[int, tuple[int, str] | None] = {c.seq: None for c in checkpoints if c.seq}
    walk = _walk(AuditEvent.objects.filter(seq__isnull=False).order_by("seq"), after_seq=0, prev=GENESIS, marks=marks)
    checked = walk.checked
    if walk.broken:
        return ChainReport(False, checked, 0, *walk.broken)
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != checked or (checked and head.last_hash != walk.prev)):
        return ChainReport(False, checked, 0, None, head.seq,
                           f"the chain head names seq {head.seq} but the chain ends at {checked} "
                           "(events after it were deleted)")
    broken = _checkpoint_problem(checkpoints, bad, marks, checked)
    if broken is not None:
        return broken
    note = ""
    if not checkpoints and checked:
        first = AuditEvent.objects.get(seq=1).occurred_at
        grace = dt.timedelta(seconds=5 * settings.AUDIT_CHECKPOINT_INTERVAL_SECONDS)
        if timezone.now() - first > grace and not allow_no_checkpoint:
            return ChainReport(False, checked, 0, None, None,
                               f"no checkpoint in {store_path()} although the chain began at {_when_text(first)}: "
                               "the store was removed or emptied, or checkpoints were never taken "
                               "(a new installation: `manage.py audit_verify --checkpoint` takes the first)")
        note = "no checkpoint yet"
    unsealed = 0
    for event in AuditEvent.objects.filter(seq__isnull=True).order_by("id").iterator(chunk_size=1000):
        if not hmac.compare_digest(event.row_mac, row_mac_of(event)):
            return ChainReport(False, checked, unsealed, event.pk, None, "unsealed event altered (MAC mismatch)")
        unsealed += 1
    return ChainReport(True, checked, unsealed, checkpoints=len(checkpoints),
                       checkpoint=checkpoints[-1] if checkpoints else None, note=note)


def _checkpoint_problem(checkpoints: list[Checkpoint], bad: list[BadLine],
                        marks: dict[int, tuple[int, str] | None], length: int) -> ChainReport | None:
    for checkpoint in checkpoints:
        taken = f"the checkpoint of {_when_text(checkpoint.at)} (line {checkpoint.line} of {store_path()})"
        if checkpoint.seq > length:
            return ChainReport(False, length, 0, None, checkpoint.seq,
                               f"the chain ends at seq {length} but {taken} names {checkpoint.seq} events "
                               f"(events after seq {length} were deleted)")
        found = marks.get(checkpoint.seq) if checkpoint.seq else (None, GENESIS)
        if found is None or not hmac.compare_digest(found[1], checkpoint.chain_hash):
            return ChainReport(False, length, 0, found[0] if found else None, checkpoint.seq,
                               f"the chain is not an extension of {taken}: the event at seq {checkpoint.seq} "
                               "has another chain_hash")
    if bad:
        return ChainReport(False, length, 0, None, None,
                           f"line {bad[0].line} of the checkpoint store {store_path()}: {bad[0].reason}"
                           + (f" (and {len(bad) - 1} more such lines)" if len(bad) > 1 else ""))
    return None


def _refused(message: str) -> ApplicationError:
    logger.error("audit checkpoint refused: %s", message)
    return ApplicationError("AUDIT_CHECKPOINT_REFUSED", f"审计链与上一个检查点不一致，未写入新检查点：{message}")


def audit_checkpoint_create(*, now: dt.datetime | None = None) -> Checkpoint | None:
    """Seal what is pending, then append a signed checkpoint of the chain's
    head to the store — after checking that the chain since the store's last
    valid checkpoint is its extension (links and MACs of the new events), so
    a checkpoint never vouches for a chain that was cut back. None when the
    head has not moved since the last checkpoint. Raises
    ``AUDIT_CHECKPOINT_REFUSED`` (and logs an error) instead of writing one
    that contradicts an earlier checkpoint. Writers on one host take turns
    (flock); the first call on an empty store writes (0 events, genesis)."""
    audit_chain_seal()
    with checkpoint_store_locked() as fd:
        last = checkpoint_last(valid_only=True)
        head = AuditChainHead.objects.filter(pk=1).values_list("seq", "last_hash").first() or (0, GENESIS)
        seq, head_hash = head[0], head[1] or GENESIS
        if last is not None and last.seq == seq and last.chain_hash == head_hash:
            return None
        start, prev = (last.seq, last.chain_hash) if last is not None else (0, GENESIS)
        if seq < start:
            raise _refused(f"the chain head names {seq} events, the last checkpoint {start}")
        if start and AuditEvent.objects.filter(seq=start).values_list("chain_hash", flat=True).first() != prev:
            raise _refused(f"the event at seq {start} no longer has the last checkpoint's chain_hash")
        walk = _walk(AuditEvent.objects.filter(seq__gt=start, seq__lte=seq).order_by("seq"), after_seq=start, prev=prev)
        if walk.broken:
            raise _refused(f"event id={walk.broken[0]} (seq={walk.broken[1]}): {walk.broken[2]}")
        if walk.checked != seq - start or walk.prev != head_hash:
            raise _refused(f"the chain head (seq {seq}) is not where the events since seq {start} end")
        checkpoint = checkpoint_sign(seq=seq, chain_hash=head_hash, at=now or timezone.now())
        checkpoint_append(fd, checkpoint)
        return checkpoint
