"""Issue #16: the wallet's side of a 2102 in few transactions. The journal
row and the payment commit together (one opening transaction, the payment
already ``submitted``), the settled row and the stored answer together; no
request seals the audit chain; the reads are folded."""

from __future__ import annotations

import pytest
from django.db import connection

from common.envelope import InfCode
from terminal.models import GatewayMessage
from payments.models import Payment
from payments.services import counter as settle

from .test_payment_journal import PIN, core_calls, person, pos  # noqa: F401 (fixtures)
from .test_payments import SMALL

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]


class TransactionCounter:
    """Counts the wallet database's transactions of the code under test
    (inside the test's own transaction: ``base`` blocks deep). A statement
    outside any block of the code is one autocommit transaction; a
    top-level block of the code is one transaction, however many
    statements or savepoints it holds (in production it issues BEGIN and
    COMMIT; in the test's transaction, a savepoint)."""

    def __init__(self):
        self.base = len(connection.atomic_blocks)
        self.transactions = 0
        self.statements: list[tuple[int, str]] = []
        self._in_block = None

    def __call__(self, execute, sql, params, many, context):
        blocks = connection.atomic_blocks[self.base:]
        if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            pass  # a block's own control statements (here, inside the test's transaction, even the outermost's)
        elif not blocks:
            self.transactions += 1
            self._in_block = None
        elif blocks[0] is not self._in_block:
            self.transactions += 1
            self._in_block = blocks[0]
        self.statements.append((self.transactions, sql[:80]))
        return execute(sql, params, many, context)


def test_a_first_2102_takes_three_wallet_transactions(person, pos):
    """Opening (institution + sign-in, journal row, ecToken, payment
    submitted, payment.open audit), the mutual-aid read, settling (payment,
    audit, balance, the stored answer). It took 14: every read its own
    transaction, the journal row, the payment and its moves one each, and
    the audit chain sealed after each commit under a global lock."""
    bill = pos.bill(SMALL)
    counter = TransactionCounter()
    with connection.execute_wrapper(counter):
        settled = pos.settle(bill, msgid="PAY-TX-1")
    assert settled["infcode"] == 0, settled
    assert counter.transactions == 3, counter.statements
    assert not any("auditchainhead" in sql.lower() for _, sql in counter.statements)  # beat seals
    message = GatewayMessage.objects.get(msgid="PAY-TX-1")
    assert message.status == "done" and Payment.objects.get(message=message).status == "settled"
    replay = pos.settle(bill, msgid="PAY-TX-1")
    assert replay == settled  # the answer stored in the settling transaction is the replay


def test_a_failure_while_opening_leaves_no_journal_row_and_the_retry_settles(person, pos, monkeypatch):
    """The journal row and the payment commit together: a failure between
    them leaves neither (it left the journal row alone, 'retryable'); the
    terminal's retry of the msgid starts afresh and is charged once."""
    real = settle.payment_open
    calls = []

    def failing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(settle, "payment_open", failing_once)
    bill = pos.bill(SMALL)
    failed = pos.settle(bill, msgid="PAY-TX-2")
    assert failed["infcode"] == InfCode.INTERNAL and "系统内部错误" in failed["err_msg"]
    assert not GatewayMessage.objects.filter(msgid="PAY-TX-2").exists()
    assert not Payment.objects.exists()
    settled = pos.settle(bill, msgid="PAY-TX-2")
    assert settled["infcode"] == 0, settled
    assert list(Payment.objects.values_list("message__msgid", "status")) == [("PAY-TX-2", "settled")]


def test_a_refusal_before_sending_is_stored_in_the_opening_transaction(person, pos, core_calls):
    """An unknown ecToken: one transaction, the refusal stored for the msgid
    (a replay gets the same bytes), nothing sent to the core."""
    bill = pos.bill(SMALL)
    bill["druginfo"]["mdtrt_cert_no"] = "EC" + "X" * 38
    counter = TransactionCounter()
    with connection.execute_wrapper(counter):
        refused = pos.settle(bill, msgid="PAY-TX-3")
    assert refused["infcode"] == InfCode.ECTOKEN_INVALID and "令牌无效" in refused["err_msg"], refused
    first_bytes = pos.last_raw
    assert counter.transactions == 1, counter.statements
    assert core_calls == []
    assert pos.settle(bill, msgid="PAY-TX-3") == refused and pos.last_raw == first_bytes
    assert GatewayMessage.objects.get(msgid="PAY-TX-3").status == "done"
