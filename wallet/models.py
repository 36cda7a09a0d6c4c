"""The voucher, its channel authorizations and the cached balance."""

from __future__ import annotations

from django.db import models

from common import crypto
from wallet.enums import AuthorizationStatus, VoucherStatus


class Voucher(models.Model):
    """The medical-insurance e-voucher (医保电子凭证): one per person. The PIN
    is per voucher (Argon2id), the code secret is per voucher (encrypted)."""

    person = models.OneToOneField("accounts.Person", on_delete=models.PROTECT, related_name="voucher")
    status = models.CharField(max_length=10, choices=VoucherStatus.choices, default=VoucherStatus.INACTIVE)
    pin_hash = models.CharField(max_length=200, blank=True)
    pin_failures = models.PositiveSmallIntegerField(default=0)
    pin_locked_until = models.DateTimeField(null=True, blank=True)
    code_secret_encrypted = models.TextField()
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    @property
    def code_secret(self) -> str:
        return crypto.decrypt(self.code_secret_encrypted)


class ChannelAuthorization(models.Model):
    """A channel on which the voucher was activated. At most one active per
    (voucher, channel); the person can list and revoke them."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="authorizations")
    login = models.ForeignKey("accounts.ChannelLogin", on_delete=models.PROTECT, related_name="authorizations")
    channel = models.CharField(max_length=10)
    status = models.CharField(max_length=10, choices=AuthorizationStatus.choices, default=AuthorizationStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["voucher", "channel"], condition=models.Q(status="active"),
                                    name="uniq_active_authorization_per_channel"),
        ]


class BalanceSnapshot(models.Model):
    """The personal-account balance as last read from the core, with when."""

    person = models.OneToOneField("accounts.Person", on_delete=models.CASCADE, related_name="balance_snapshot")
    balance_fen = models.BigIntegerField()
    as_of = models.DateTimeField()
