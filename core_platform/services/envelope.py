"""The core's envelope endpoint logic: authenticate the signed call, parse the
envelope, make ``msgid`` idempotent, dispatch by ``infno``, answer.

Always an answer (the view sends it with HTTP 200): refusals carry an
``InfCode``; an unexpected exception becomes ``InfCode.INTERNAL``, logged.

Authentication (common.signing): ``x-tif-paasid`` must be
``settings.CORE_API_CLIENT_ID``; the timestamp within
``settings.GATEWAY_CLOCK_SKEW_SECONDS``; the HMAC signature under
``settings.CORE_API_SECRET``; the nonce single use (a unique insert into
``CoreNonce`` — the core needs no Redis).

Idempotency, keyed on (client id, fixmedins_code, msgid):

1. a ``processing`` row is inserted in its own short transaction, the one
   that spends the nonce (``INSERT ... ON CONFLICT DO NOTHING``: the unique
   constraint decides who runs, and a duplicate still spends its nonce);
2. the handler runs and the answer is stored (``done``) in one transaction,
   so the handler's writes and the stored answer commit together;
3. a replay with the same request hash gets the stored answer byte for byte;
   a different hash → ``MSGID_CONFLICT``; still processing →
   ``MSGID_IN_PROGRESS``; an abandoned ``processing`` row (below) is taken
   over; the ``attempt`` counter fences the old owner out.

Abandoned claims (issue #21 item 8). A claim whose process died has nothing
committed but the claim itself (step 2 is one transaction). The owner's
transaction locks its claim row first (``_own``: SELECT ... FOR UPDATE of
the row at the attempt it claimed), so on PostgreSQL a claim is *abandoned*
when it is ``processing``, older than ``claims.ABANDONED_AFTER_SECONDS`` (the window
between the claim's commit and that lock) and nobody holds its row lock
(``FOR UPDATE SKIP LOCKED`` finds it). On SQLite every transaction is BEGIN
IMMEDIATE: whoever asks holds the one write lock, so no handler runs at that
moment and the age alone decides. ``claims.message_abandoned_void`` decides such a
row for good: a tombstone (nothing ran, nothing will: the late original gets
``ORIGINAL_REVERSED``), by compare-and-swap on the attempt, under the row's
lock. 9101 and 2601 (services/settle.py) call it, so the wallet's resolve
gets a final answer within seconds of the core's restart instead of
"processing" forever. An owner that was only slow finds its claim voided or
taken over when it locks it, and answers without running.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping

from django.conf import settings
from django.db import IntegrityError, connections
from django.db.models import F
from django.utils import timezone

from common import envelope as env_mod
from common import signing
from common.envelope import Envelope, EnvelopeError, InfCode
from common.errors import ApplicationError
from common.fields import is_ascii_digits

from ..db import CORE_DB, core_atomic
from ..enums import MessageStatus
from ..models import CoreNonce, EnvelopeMessage
from .ledger import shared_balances_at_end
from .claims import TOMBSTONE_HASH, claim_abandoned
from .transactions import HANDLERS

logger = logging.getLogger(__name__)

_MAX_NONCE = 64


class _Fenced(Exception):
    """Our claim on a msgid was taken over; roll back what we did."""


class _Answers:
    """Renders this request's answers: stamped with the core's receipt
    (inf_refmsgid, refmsg_time, respond_time) by the one renderer."""

    def __init__(self):
        self.receipt = env_mod.Receipt(settings.CORE_ADMDVS)

    def __call__(self, answer: dict) -> str:
        return env_mod.render_answer(self.receipt.stamp(answer)).decode("utf-8")


def request_authenticate(headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """Check the signed-call headers; returns (client id, nonce) or raises
    EnvelopeError(AUTH_FAILED). The nonce is not spent here: ``nonce_spend``,
    in the transaction that claims the msgid, only for a valid signature."""
    client_id = headers.get(signing.HEADER_ID, "")
    if not client_id or client_id != settings.CORE_API_CLIENT_ID:
        raise EnvelopeError(InfCode.AUTH_FAILED, "调用方未授权")
    stamp = headers.get(signing.HEADER_TIMESTAMP, "")
    if not is_ascii_digits(stamp, max_length=12):  # int() would also take " 17…", "１７…" or "1_7…"
        raise EnvelopeError(InfCode.AUTH_FAILED, "缺少或无效的请求时间戳")
    timestamp = int(stamp)
    if abs(time.time() - timestamp) > settings.GATEWAY_CLOCK_SKEW_SECONDS:
        raise EnvelopeError(InfCode.AUTH_FAILED, "请求时间戳超出允许范围")
    nonce = headers.get(signing.HEADER_NONCE, "")
    if not nonce or len(nonce) > _MAX_NONCE:
        raise EnvelopeError(InfCode.AUTH_FAILED, "缺少或无效的请求随机数")
    plain_headers = {
        signing.HEADER_TIMESTAMP: headers.get(signing.HEADER_TIMESTAMP, ""),
        signing.HEADER_NONCE: nonce,
        signing.HEADER_SIGNATURE: headers.get(signing.HEADER_SIGNATURE, ""),
    }
    if not signing.verify(settings.CORE_API_SECRET, plain_headers, body):
        raise EnvelopeError(InfCode.AUTH_FAILED, "签名校验失败")
    return client_id, nonce


def nonce_spend(client_id: str, nonce: str) -> None:
    """Inside the caller's transaction: a nonce already used is AUTH_FAILED
    (and the transaction is rolled back with it)."""
    try:
        with core_atomic(savepoint=False):
            CoreNonce.objects.create(client_id=client_id, nonce=nonce)
    except IntegrityError:
        raise EnvelopeError(InfCode.AUTH_FAILED, "请求重复（随机数已使用）") from None


def nonce_prune(now: dt.datetime | None = None) -> int:
    """Delete nonces older than twice the clock-skew window (such requests
    are refused by their timestamp anyway). Returns the number deleted."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=2 * settings.GATEWAY_CLOCK_SKEW_SECONDS)
    deleted, _ = CoreNonce.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _claim_insert(row: EnvelopeMessage) -> bool:
    """INSERT the claim unless (client, institution, msgid) exists: one
    statement (PostgreSQL and SQLite both have ON CONFLICT DO NOTHING and
    RETURNING), no savepoint; True when this request inserted it."""
    connection = connections[CORE_DB]
    fields = [f for f in EnvelopeMessage._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(EnvelopeMessage._meta.db_table)} ({columns}) "
                       f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING RETURNING id", values)
        inserted = cursor.fetchone()
    if inserted is None:
        return False
    row.pk = inserted[0]
    row._state.adding, row._state.db = False, CORE_DB
    return True


def message_claim(client_id: str, env: Envelope, nonce: str | None = None) -> tuple[EnvelopeMessage, str | None]:
    """Claim (client, institution, msgid), spending ``nonce`` in the same
    transaction. Returns (row, None) when we must process, (row, stored
    answer) for a replay; raises EnvelopeError for a conflicting or
    in-progress duplicate."""
    key = {"client_id": client_id, "fixmedins_code": env.fixmedins_code, "msgid": env.msgid}
    request_hash = env.body_hash()
    claim = EnvelopeMessage(**key, infno=env.infno, request_hash=request_hash)
    with core_atomic():
        if nonce is not None:
            nonce_spend(client_id, nonce)
        if _claim_insert(claim):
            return claim, None
    existing = EnvelopeMessage.objects.get(**key)
    if existing.request_hash == TOMBSTONE_HASH:
        raise EnvelopeError(InfCode.ORIGINAL_REVERSED, "该交易已被冲正（原交易未执行），请重新发起", msgid=env.msgid)
    if existing.request_hash != request_hash:
        raise EnvelopeError(InfCode.MSGID_CONFLICT, "该 msgid 已用于另一笔内容不同的请求", msgid=env.msgid)
    if existing.status == MessageStatus.DONE:
        return existing, existing.response
    with core_atomic():
        abandoned = claim_abandoned(existing)
        if abandoned is not None:
            EnvelopeMessage.objects.filter(pk=abandoned.pk).update(attempt=F("attempt") + 1, updated_at=timezone.now())
            abandoned.attempt += 1
            logger.warning("took over abandoned envelope message", extra={"msgid": env.msgid, "infno": env.infno})
            return abandoned, None
    raise EnvelopeError(InfCode.MSGID_IN_PROGRESS, "相同 msgid 的请求正在处理中，请稍后重试", msgid=env.msgid)


def _process(message: EnvelopeMessage, env: Envelope, render: _Answers) -> str:
    """The handler's writes, the stored answer and, last, the shared ledger
    accounts' balances (a city's pooled fund: locked for the commit alone,
    services/ledger.py) in one transaction. A refusal — from the handler or
    from those last balance moves — rolls the work back and stores the
    refusal instead."""
    handler = HANDLERS[env.infno]
    with core_atomic(), shared_balances_at_end() as shared:
        _own(message)
        try:
            with core_atomic():
                text = render(env_mod.answer(env.msgid, handler(env)))
                _finish(message, text)
                shared.apply()
        except EnvelopeError as exc:
            shared.discard()
            text = render(env_mod.error_answer(exc, env.msgid))
            _finish(message, text)
        except ApplicationError as exc:
            shared.discard()
            text = render(env_mod.answer(env.msgid, infcode=InfCode.INPUT_INVALID, err_msg=exc.message))
            _finish(message, text)
    return text


def _own(message: EnvelopeMessage) -> None:
    """First in the handler's transaction: lock our claim at the attempt we
    claimed. The lock is what tells a live owner from a dead one
    (``claims.claim_abandoned``); a claim voided or taken over meanwhile (we were slower
    than claims.ABANDONED_AFTER_SECONDS between the claim and here) is not ours any
    more: a tombstone answers ORIGINAL_REVERSED, a takeover MSGID_IN_PROGRESS."""
    mine = EnvelopeMessage.objects.select_for_update().filter(
        pk=message.pk, status=MessageStatus.PROCESSING, attempt=message.attempt).values_list("pk", flat=True)
    if list(mine):
        return
    if EnvelopeMessage.objects.filter(pk=message.pk, request_hash=TOMBSTONE_HASH).exists():
        raise EnvelopeError(InfCode.ORIGINAL_REVERSED, "该交易已被冲正（原交易未执行），请重新发起", msgid=message.msgid)
    raise _Fenced()


def _finish(message: EnvelopeMessage, text: str) -> None:
    """Store the answer, unless our claim was taken over (fenced)."""
    finished = EnvelopeMessage.objects.filter(
        pk=message.pk, status=MessageStatus.PROCESSING, attempt=message.attempt
    ).update(status=MessageStatus.DONE, response=text, updated_at=timezone.now())
    if finished != 1:
        raise _Fenced()


def _release(message: EnvelopeMessage) -> None:
    """Forget a claim whose processing failed unexpectedly, so a retry runs."""
    try:
        EnvelopeMessage.objects.filter(pk=message.pk, status=MessageStatus.PROCESSING, attempt=message.attempt).delete()
    except Exception:  # the database itself may be what failed
        logger.exception("could not release envelope message %s", message.pk)


def call_service(headers: Mapping[str, str], body: bytes) -> str:
    """Handle one envelope request; returns the answer's JSON text."""
    message: EnvelopeMessage | None = None
    msgid = ""
    render = _Answers()
    try:
        client_id, nonce = request_authenticate(headers, body)
        try:
            env = env_mod.parse(body)
        except EnvelopeError:
            with core_atomic():
                nonce_spend(client_id, nonce)  # a signed but malformed call still uses its nonce
            raise
        env.client_id = client_id
        msgid = env.msgid
        if env.infno not in HANDLERS:
            with core_atomic():
                nonce_spend(client_id, nonce)
            raise EnvelopeError(InfCode.UNKNOWN_INFNO, f"不支持的交易编号：{env.infno}", msgid=msgid)
        message, stored = message_claim(client_id, env, nonce)
        if stored is not None:
            return stored
        return _process(message, env, render)
    except EnvelopeError as exc:
        return render(env_mod.error_answer(exc, msgid))
    except _Fenced:
        return render(env_mod.answer(msgid, infcode=InfCode.MSGID_IN_PROGRESS,
                                     err_msg="相同 msgid 的请求正在处理中，请稍后重试"))
    except Exception:
        logger.exception("envelope request failed", extra={"msgid": msgid})
        if message is not None:
            _release(message)
        return render(env_mod.answer(msgid, infcode=InfCode.INTERNAL, err_msg="系统内部错误，请稍后重试"))
