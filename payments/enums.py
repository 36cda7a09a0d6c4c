from django.db import models


class PaymentStatus(models.TextChoices):
    """A settlement the wallet brokered for a terminal's 2102 (its journal).

    received → submitted → settled, or → awaiting_confirmation → confirmed →
    submitted → settled; submitted → unknown while the core's answer is
    missing; failed / declined / expired / reversed are final for the msgid."""

    RECEIVED = "received", "已受理"
    """The terminal's 2102 is written down and not yet sent to the core;
    nobody has asked the payer anything (the core decides, by the
    confirmation threshold, whether the payer must confirm)."""

    AWAITING_CONFIRMATION = "awaiting_confirmation", "待确认"
    """The core answered that the payer must confirm (4008, nothing posted):
    the phone is asked for the PIN until ``confirm_deadline``."""

    CONFIRMED = "confirmed", "已确认"
    """The payer confirmed with the PIN; the settle with the confirmed split
    is not yet sent (it goes under ``core_msgid``, never the terminal's)."""

    SUBMITTED = "submitted", "提交中"
    """The settle is being sent to the core (the row was committed first)."""

    UNKNOWN = "unknown", "结果待确认"
    """Sent, no answer: resolved by asking the core (9101), then recorded or
    fenced out with 2601, before anyone is told "paid"."""

    SETTLED = "settled", "已结算"
    """The core posted it."""

    FAILED = "failed", "失败"
    """The core refused it, it was reversed before it ran, or the PIN locked
    while the payer was asked: nothing charged."""

    DECLINED = "declined", "已拒绝"
    """The payer declined on the phone: nothing charged."""

    EXPIRED = "expired", "已超时"
    """The payer did not confirm in time: nothing charged."""

    REVERSED = "reversed", "已撤销"
    """Settled, then reversed by the institution (2103/2601)."""


# The payment's declared transitions: every status move goes through
# payments/services/journal.py ``payment_move`` (a compare-and-swap), which
# refuses a move not listed here. Final statuses have none.
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentStatus.RECEIVED: frozenset({PaymentStatus.SUBMITTED, PaymentStatus.AWAITING_CONFIRMATION,
                                       PaymentStatus.FAILED}),
    PaymentStatus.AWAITING_CONFIRMATION: frozenset({PaymentStatus.CONFIRMED, PaymentStatus.SUBMITTED,
                                                    PaymentStatus.DECLINED, PaymentStatus.EXPIRED,
                                                    PaymentStatus.FAILED}),
    PaymentStatus.CONFIRMED: frozenset({PaymentStatus.SUBMITTED, PaymentStatus.FAILED}),
    PaymentStatus.SUBMITTED: frozenset({PaymentStatus.RECEIVED, PaymentStatus.CONFIRMED,
                                        PaymentStatus.AWAITING_CONFIRMATION, PaymentStatus.UNKNOWN,
                                        PaymentStatus.SETTLED, PaymentStatus.FAILED}),
    PaymentStatus.UNKNOWN: frozenset({PaymentStatus.SUBMITTED, PaymentStatus.AWAITING_CONFIRMATION,
                                      PaymentStatus.SETTLED, PaymentStatus.FAILED}),
    PaymentStatus.SETTLED: frozenset({PaymentStatus.REVERSED}),
    PaymentStatus.FAILED: frozenset(),
    PaymentStatus.DECLINED: frozenset(),
    PaymentStatus.EXPIRED: frozenset(),
    PaymentStatus.REVERSED: frozenset(),
}
