from django.db import models


class OutboxStatus(models.TextChoices):
    """Life of one wallet change on its way to the core."""

    PENDING = "pending", "待发送"  # written with the change; a worker will relay it
    SENDING = "sending", "发送中"  # claimed by a worker until ``lease_until``; a dead worker's claim expires
    SENT = "sent", "已送达"  # the core acknowledged it (applied now, or already before)
    DEAD = "dead", "死信"  # gave up after OUTBOX_MAX_ATTEMPTS; an operator replays it


class OutboxKind(models.TextChoices):
    VOUCHER_ACTIVATED = "voucher.activated", "凭证激活"
    VOUCHER_FROZEN = "voucher.frozen", "凭证冻结"
    VOUCHER_UNFROZEN = "voucher.unfrozen", "凭证解冻"
    VOUCHER_REVOKED = "voucher.revoked", "凭证注销"
    AUTHORIZATION_ADDED = "authorization.added", "渠道授权"
    AUTHORIZATION_REVOKED = "authorization.revoked", "解除渠道授权"
    PIN_LOCKED = "pin.locked", "支付密码锁定"
    PIN_UNLOCKED = "pin.unlocked", "支付密码解锁"


class DiscrepancyKind(models.TextChoices):
    MISSING_IN_WALLET = "missing_in_wallet", "钱包缺少记录"
    MISSING_IN_CORE = "missing_in_core", "结算核心缺少记录"
    AMOUNT_MISMATCH = "amount_mismatch", "金额不一致"
    STATUS_MISMATCH = "status_mismatch", "状态不一致"
    TOTALS_MISMATCH = "totals_mismatch", "总账不一致"
