"""A claim whose process died (issue #21 item 8): the core's msgid journal row
of a 2102 left ``processing`` by a core killed mid-request (nothing of the
handler committed) is decided by the core within a bounded time — by 9101
and 2601, which void it (a tombstone: the late original is refused), and by
a retry of the same msgid, which takes it over at once — never left
``processing``. A live owner (its transaction holds the claim's row lock) is
never decided for; an owner that was only slow is fenced out when it locks
its claim. services/claims.py, services/envelope.py."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.conf import settings
from django.db import connections

from common import envelope as env_mod
from common.envelope import InfCode
from core_platform.db import CORE_DB, core_atomic
from core_platform.enums import MessageStatus
from core_platform.models import EnvelopeMessage, Settlement
from core_platform.selectors import ledger_discrepancies, personal_balance_fen
from core_platform.services import claims
from core_platform.services.envelope import _Answers, _process, message_claim
from tests.core_platform.signing import envelope
from tests.core_platform.test_settle import PHARMACY, THREE_ITEMS, bill, send, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(databases=["default", "core"])


def _claimed(psn_no: str, msgid: str, age_seconds: float):
    """A 2102 claimed by a process that then died ``age_seconds`` ago:
    the claim committed, nothing else."""
    body = json.dumps(envelope("2102", bill(psn_no, THREE_ITEMS), msgid=msgid, fixmedins_code=PHARMACY),
                      ensure_ascii=False).encode()
    env = env_mod.parse(body)
    env.client_id = settings.CORE_API_CLIENT_ID
    row, stored = message_claim(env.client_id, env)
    assert stored is None
    EnvelopeMessage.objects.filter(pk=row.pk).update(
        updated_at=row.updated_at - dt.timedelta(seconds=age_seconds))
    return row, env


def _status(client, msgid: str) -> str:
    return send(client, "9101", {"data": {"omsgid": msgid, "oinfno": "2102"}})["output"]["msg"]["status"]


def _fence(client, psn_no: str, msgid: str) -> dict:
    return send(client, "2601", {"data": {"psn_no": psn_no, "omsgid": msgid, "oinfno": "2102"}})


def test_9101_voids_an_abandoned_2102_and_the_late_original_is_refused(client, world):
    _claimed(world.psn_no, "DEAD-0001", age_seconds=claims.ABANDONED_AFTER_SECONDS + 1)
    assert _status(client, "DEAD-0001") == "reversed_before_run"
    row = EnvelopeMessage.objects.get(msgid="DEAD-0001")
    assert (row.status, row.request_hash) == (MessageStatus.DONE, claims.TOMBSTONE_HASH)
    # The wallet's resolve then fences it (2601): nothing ran, nothing was charged.
    assert _fence(client, world.psn_no, "DEAD-0001")["output"]["result"] == "original_absent"
    late = send(client, "2102", bill(world.psn_no, THREE_ITEMS), msgid="DEAD-0001")
    assert late["infcode"] == InfCode.ORIGINAL_REVERSED, late
    assert not Settlement.objects.exists() and personal_balance_fen(world.psn_no) == 10_000
    assert ledger_discrepancies() == []


def test_2601_fences_an_abandoned_2102_instead_of_1006(client, world):
    _claimed(world.psn_no, "DEAD-0002", age_seconds=claims.ABANDONED_AFTER_SECONDS + 1)
    answer = _fence(client, world.psn_no, "DEAD-0002")
    assert answer["infcode"] == 0 and answer["output"]["result"] == "original_absent", answer
    assert _status(client, "DEAD-0002") == "reversed_before_run"
    assert send(client, "2102", bill(world.psn_no, THREE_ITEMS), msgid="DEAD-0002")["infcode"] == \
        InfCode.ORIGINAL_REVERSED
    assert personal_balance_fen(world.psn_no) == 10_000


def test_a_claim_younger_than_the_window_is_still_processing(client, world):
    """Between a claim's commit and its owner's lock, the owner may be alive:
    neither 9101 nor 2601 decides a claim younger than the window."""
    _claimed(world.psn_no, "YOUNG-0001", age_seconds=0)
    assert _status(client, "YOUNG-0001") == "processing"
    assert _fence(client, world.psn_no, "YOUNG-0001")["infcode"] == InfCode.MSGID_IN_PROGRESS
    assert EnvelopeMessage.objects.get(msgid="YOUNG-0001").status == MessageStatus.PROCESSING


def test_the_same_msgid_takes_an_abandoned_claim_over_at_once_and_runs_it_once(client, world):
    _claimed(world.psn_no, "DEAD-0003", age_seconds=claims.ABANDONED_AFTER_SECONDS + 1)
    first = send(client, "2102", bill(world.psn_no, THREE_ITEMS), msgid="DEAD-0003")
    assert first["infcode"] == 0, first
    assert Settlement.objects.filter(msgid="DEAD-0003").count() == 1
    assert EnvelopeMessage.objects.get(msgid="DEAD-0003").attempt == 2
    assert send(client, "2102", bill(world.psn_no, THREE_ITEMS), msgid="DEAD-0003") == first


def test_an_owner_slower_than_the_window_is_fenced_out_when_it_locks_its_claim(world):
    """The owner claimed, stalled past the window, and 9101 voided its claim;
    when it finally runs its handler it finds the tombstone: it answers
    ORIGINAL_REVERSED (call_service renders it) and posts nothing."""
    row, env = _claimed(world.psn_no, "SLOW-0002", age_seconds=claims.ABANDONED_AFTER_SECONDS + 1)
    with core_atomic():
        assert claims.message_abandoned_void(row)
    with pytest.raises(env_mod.EnvelopeError) as refused:
        _process(row, env, _Answers())
    assert refused.value.infcode == InfCode.ORIGINAL_REVERSED
    assert not Settlement.objects.exists() and personal_balance_fen(world.psn_no) == 10_000


@pytest.mark.django_db(databases=["default", "core"], transaction=True)
def test_a_live_owner_holding_its_claims_lock_is_never_decided_for(client, world):
    """PostgreSQL: however old the claim, while its owner's transaction holds
    the row lock, 9101 says "processing" and 2601 1006; once that transaction
    is gone (the process died: the server rolls it back), 9101 decides it."""
    if connections[CORE_DB].vendor != "postgresql":
        pytest.skip("SQLite has no row locks: a handler holds the one write lock, so no 9101 runs beside it")
    row, _ = _claimed(world.psn_no, "LIVE-0001", age_seconds=claims.ABANDONED_AFTER_SECONDS + 60)
    locked, release = threading.Event(), threading.Event()

    def owner():
        try:
            with core_atomic():
                list(EnvelopeMessage.objects.select_for_update().filter(pk=row.pk).values_list("pk"))
                locked.set()
                release.wait(30)
        finally:
            connections[CORE_DB].close()

    thread = threading.Thread(target=owner)
    thread.start()
    try:
        assert locked.wait(10)
        assert _status(client, "LIVE-0001") == "processing"
        assert _fence(client, world.psn_no, "LIVE-0001")["infcode"] == InfCode.MSGID_IN_PROGRESS
    finally:
        release.set()
        thread.join(10)
    assert _status(client, "LIVE-0001") == "reversed_before_run"
