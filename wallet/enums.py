from django.db import models


class GatewayMessageStatus(models.TextChoices):
    """Life of one terminal request, keyed by (fixmedins_code, msgid)."""

    PROCESSING = "processing", "处理中"  # first request still running; duplicates are told to retry
    DONE = "done", "已完成"  # answer stored; a replay returns it verbatim


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
    """A settlement the wallet brokered for a terminal (its journal)."""

    AWAITING_CONFIRMATION = "awaiting_confirmation", "待确认"  # the phone is asked for the PIN
    CONFIRMED = "confirmed", "已确认"  # PIN verified (or no confirmation needed); not yet sent
    SUBMITTED = "submitted", "提交中"  # 2102 written down, being sent to the core
    UNKNOWN = "unknown", "结果待确认"  # sent, no answer: resolved by query (9101) then confirm or 2601
    SETTLED = "settled", "已结算"  # the core posted it
    FAILED = "failed", "失败"  # the core refused it, or it was reversed before it ran: nothing charged
    DECLINED = "declined", "已拒绝"  # the payer declined on the phone
    EXPIRED = "expired", "已超时"  # the payer did not confirm in time
    REVERSED = "reversed", "已撤销"  # settled, then reversed (2103/2601)
