"""Wallet-side terminal gateway state: institution credentials, sign-ins and
the msgid journal that makes every terminal request idempotent."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from common import crypto
from common.encrypted_fields import EncryptedExactJSONField, EncryptedJSONField, EncryptedTextField

from .enums import AuthorizationStatus, GatewayMessageStatus, PaymentStatus, VoucherStatus


class Institution(models.Model):
    """A designated medical institution (定点医药机构) as the gateway knows it:
    its credentials for signed requests and whether it may see full data."""

    fixmedins_code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, help_text="pharmacy / hospital")
    level = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=6)
    designated = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    secret_encrypted = models.TextField(help_text="HMAC secret for x-tif-signature, encrypted at rest")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.fixmedins_code} {self.name}"

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)


class TerminalSignIn(models.Model):
    """A 9001 sign-in: the ``sign_no`` every later transaction carries."""

    sign_no = models.CharField(max_length=40, unique=True)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="sign_ins")
    opter_no = models.CharField(max_length=30)
    mac = models.CharField(max_length=40, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    signed_in_at = models.DateTimeField(auto_now_add=True)
    signed_out_at = models.DateTimeField(null=True, blank=True)


class GatewayMessage(models.Model):
    """One terminal request by (fixmedins_code, msgid). The unique constraint
    makes a concurrent duplicate fail at the database; a replay with the same
    body gets ``response`` verbatim, a different body is refused. The answer
    may carry a full ID number (1101 ``certno``), so it is stored encrypted.
    ``response`` is the exact rendered answer text (common.envelope.
    render_answer): a replay gets it byte for byte, inf_refmsgid and times
    included."""

    fixmedins_code = models.CharField(max_length=30)
    msgid = models.CharField(max_length=40)
    infno = models.CharField(max_length=5)
    request_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=GatewayMessageStatus.choices,
                              default=GatewayMessageStatus.PROCESSING)
    response = EncryptedTextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a request took this row to ``processing``, renewed while it runs
    # (common/leases.py): a row still ``processing`` that long after
    # GATEWAY_PROCESSING_LEASE_SECONDS belongs to a process that died
    # mid-request, and the terminal's retry takes it over.
    claimed_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fixmedins_code", "msgid"], name="uniq_gateway_msgid")]


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


class EcToken(models.Model):
    """A settlement token (ecToken) issued when an institution decodes a
    voucher code: bound to the voucher, that institution and a short expiry;
    used as ``mdtrt_cert_no`` with ``mdtrt_cert_type`` "01". Only its SHA-256
    is stored.

    It carries the chain that let its code be shown: the channel
    authorization the code was shown under (it names the login; for a
    relative's code shown by a binder, the binder's) and, for such a code, the
    family code grant (family sits above the wallet: a plain id, asked of
    family through wallet/hooks.py). Every use re-checks the whole chain
    (wallet/services/ectokens.py ``ectoken_resolve``)."""

    token_hash = models.CharField(max_length=64, unique=True)
    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="ec_tokens")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="ec_tokens")
    authorization = models.ForeignKey(
        ChannelAuthorization, null=True, on_delete=models.PROTECT, related_name="ec_tokens",
        help_text="the channel authorization the decoded code was shown under; null only on tokens issued "
                  "before the chain was recorded, which are refused")
    proxy_grant_id = models.BigIntegerField(
        null=True, blank=True, help_text="family code grant id, when a binder showed a relative's code")
    business_type = models.CharField(max_length=5, blank=True)
    operator_id = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)


class Payment(models.Model):
    """The wallet's journal of settlements it brokered: one per terminal 2102,
    hanging off that request's ``GatewayMessage`` (the one idempotency record
    per msgid: the gateway checks the body digest and refuses concurrent
    duplicates; this row holds the payment's state). What was asked, whether
    the payer confirmed, what the core answered. The person's records and
    reconciliation read it."""

    public_id = models.CharField(max_length=32, unique=True)
    message = models.OneToOneField(GatewayMessage, on_delete=models.PROTECT, related_name="payment",
                                   help_text="the terminal's 2102 request (fixmedins_code, msgid, body digest)")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="payments")
    # The msgid the settle was sent to the core with: the terminal's msgid, or
    # for the settle after the payer confirmed (the first attempt under the
    # terminal's msgid was the core's "confirmation required" answer) a digest
    # of (fixmedins_code, msgid): see payments.journal.confirmed_core_msgid.
    core_msgid = models.CharField(max_length=40)
    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="payments")
    status = models.CharField(max_length=24, choices=PaymentStatus.choices)
    # Encrypted at rest: the input may name the person by ID number, the
    # core's setlinfo carries certno.
    request = EncryptedJSONField(help_text="the 2102 input as the terminal sent it")
    confirmation_required = models.BooleanField(default=False)
    confirm_deadline = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    medfee_fen = models.BigIntegerField()
    fund_fen = models.BigIntegerField(default=0)
    acct_fen = models.BigIntegerField(default=0)
    mulaid_fen = models.BigIntegerField(default=0)
    cash_fen = models.BigIntegerField(default=0)
    setl_id = models.CharField(max_length=40, blank=True, db_index=True)
    mdtrt_id = models.CharField(max_length=40, blank=True)
    core_output = EncryptedExactJSONField(null=True, blank=True, help_text="setlinfo, setldetail, explanation")
    infcode = models.IntegerField(null=True, blank=True)
    err_msg = models.CharField(max_length=200, blank=True)
    resolve_attempts = models.PositiveSmallIntegerField(default=0)
    reversal_msgid = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "updated_at"])]

    @property
    def msgid(self) -> str:
        """The terminal's msgid (from the gateway journal; load ``message``
        with select_related where many rows are read)."""
        return self.message.msgid


class BalanceSnapshot(models.Model):
    """The personal-account balance as last read from the core, with when."""

    person = models.OneToOneField("accounts.Person", on_delete=models.CASCADE, related_name="balance_snapshot")
    balance_fen = models.BigIntegerField()
    as_of = models.DateTimeField()
