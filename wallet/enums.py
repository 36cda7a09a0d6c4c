from django.db import models


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
