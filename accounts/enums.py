from django.db import models


class Channel(models.TextChoices):
    """Where a login comes from: the mini-program host or the national app."""

    WECHAT = "wechat", "微信"
    ALIPAY = "alipay", "支付宝"
    NHSA = "nhsa", "国家医保APP"


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", "成功"
    FAILURE = "failure", "失败"


class ActivationStep(models.TextChoices):
    """Where an activation stands. Moves forward only, by compare-and-swap."""

    REAL_NAME_PASSED = "real_name_passed", "实名认证通过"  # identity matched the registry
    LIVENESS_PASSED = "liveness_passed", "实人认证通过"  # a signed liveness result was accepted
    COMPLETED = "completed", "已完成"  # PIN set/verified, channel authorized


class PinMode(models.TextChoices):
    NEW = "new", "设置支付密码"  # first channel: the voucher has no PIN yet
    EXISTING = "existing", "验证已有支付密码"  # later channels: the PIN is per voucher


class LivenessPurpose(models.TextChoices):
    """What a liveness session proves a face for."""

    ACTIVATION = "activation", "激活医保电子凭证"  # the person's own activation (``activation`` set)
    BINDING_CONSENT = "binding_consent", "亲情账户授权"  # a relative consents to a family binding (``reference``)
    PIN_RESET = "pin_reset", "重置支付密码"  # forgot-PIN (issue #15)
    VOUCHER_UNFREEZE = "voucher_unfreeze", "解冻医保电子凭证"  # the person unfreezes their own voucher (issue #15)


class ResetTicketStatus(models.TextChoices):
    """A staff-started PIN reset ticket (``PinResetTicket``)."""

    OPEN = "open", "待本人完成"  # waiting for the person (liveness + new PIN on their own phone)
    COMPLETED = "completed", "已完成"  # the person set a new PIN through it; never usable again
    CANCELLED = "cancelled", "已撤销"  # staff withdrew it
    EXPIRED = "expired", "已过期"  # not completed in time (also: open past expires_at counts as expired)
