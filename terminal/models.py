"""Terminal gateway state: institution credentials, sign-ins, the msgid
journal that makes every terminal request idempotent, and the ecTokens a
decode issues. The tables keep the names the wallet app created them with."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from common import crypto
from common.encrypted_fields import EncryptedTextField
from terminal.enums import GatewayMessageStatus


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

    class Meta:
        db_table = "wallet_institution"  # the table the wallet app created (moved, issue #21)


class TerminalSignIn(models.Model):
    """A 9001 sign-in: the ``sign_no`` every later transaction carries."""

    sign_no = models.CharField(max_length=40, unique=True)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="sign_ins")
    opter_no = models.CharField(max_length=30)
    mac = models.CharField(max_length=40, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    signed_in_at = models.DateTimeField(auto_now_add=True)
    signed_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "wallet_terminalsignin"  # the table the wallet app created (moved, issue #21)


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
        db_table = "wallet_gatewaymessage"  # the table the wallet app created (moved, issue #21)
        constraints = [models.UniqueConstraint(fields=["fixmedins_code", "msgid"], name="uniq_gateway_msgid")]


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
    (terminal/services/ectokens.py ``ectoken_resolve``)."""

    token_hash = models.CharField(max_length=64, unique=True)
    voucher = models.ForeignKey("wallet.Voucher", on_delete=models.PROTECT, related_name="ec_tokens")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="ec_tokens")
    authorization = models.ForeignKey(
        "wallet.ChannelAuthorization", null=True, on_delete=models.PROTECT, related_name="ec_tokens",
        help_text="the channel authorization the decoded code was shown under; null only on tokens issued "
                  "before the chain was recorded, which are refused")
    proxy_grant_id = models.BigIntegerField(
        null=True, blank=True, help_text="family code grant id, when a binder showed a relative's code")
    business_type = models.CharField(max_length=5, blank=True)
    operator_id = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "wallet_ectoken"  # the table the wallet app created (moved, issue #21)
