from django.db import models


class GatewayMessageStatus(models.TextChoices):
    """Life of one terminal request, keyed by (fixmedins_code, msgid): the
    wallet's one idempotency record per terminal msgid (a 2102's ``Payment``
    hangs off it)."""

    PROCESSING = "processing", "处理中"
    """A request with this msgid is running now; a concurrent duplicate is
    told ``MSGID_IN_PROGRESS`` and retries. A row left here by a process that
    died mid-request is taken over by the retry once its lease has run out."""

    RETRYABLE = "retryable", "待重试"
    """The last answer was not final and was not stored (payer asked to
    confirm, outcome unknown, core unreachable, internal error): the same
    body runs again when the terminal retries; another body is refused."""

    DONE = "done", "已完成"
    """The answer is stored; a replay gets it byte for byte."""


class VoucherStatus(models.TextChoices):
    """Life of a person's e-voucher (one per person)."""

    INACTIVE = "inactive", "未激活"  # created, no channel has completed activation
    ACTIVE = "active", "已激活"  # usable for payment through an authorized channel
    FROZEN = "frozen", "已冻结"  # stopped by an operator; can be unfrozen
    REVOKED = "revoked", "已注销"  # ended for good


class AuthorizationStatus(models.TextChoices):
    """A channel's right to show this voucher's code and pay with it."""

    ACTIVE = "active", "有效"
    REVOKED = "revoked", "已解除"  # the person (or staff) withdrew it; the channel must activate again


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

