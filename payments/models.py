"""The wallet's journal of the settlements it brokered for terminals. The
table keeps the name the wallet app created it with."""

from __future__ import annotations

from django.db import models

from common.encrypted_fields import EncryptedExactJSONField, EncryptedJSONField
from payments.enums import PaymentStatus


class Payment(models.Model):
    """The wallet's journal of settlements it brokered: one per terminal 2102,
    hanging off that request's ``GatewayMessage`` (the one idempotency record
    per msgid: the gateway checks the body digest and refuses concurrent
    duplicates; this row holds the payment's state). What was asked, whether
    the payer confirmed, what the core answered. The person's records and
    reconciliation read it."""

    public_id = models.CharField(max_length=32, unique=True)
    message = models.OneToOneField("terminal.GatewayMessage", on_delete=models.PROTECT, related_name="payment",
                                   help_text="the terminal's 2102 request (fixmedins_code, msgid, body digest)")
    institution = models.ForeignKey("terminal.Institution", on_delete=models.PROTECT, related_name="payments")
    # The msgid the settle was sent to the core with: the terminal's msgid, or
    # for the settle after the payer confirmed (the first attempt under the
    # terminal's msgid was the core's "confirmation required" answer) a digest
    # of (fixmedins_code, msgid): see payments.journal.confirmed_core_msgid.
    core_msgid = models.CharField(max_length=40)
    voucher = models.ForeignKey("wallet.Voucher", on_delete=models.PROTECT, related_name="payments")
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
        db_table = "wallet_payment"  # the table the wallet app created (moved, issue #21)
        indexes = [models.Index(fields=["status", "updated_at"])]

    @property
    def msgid(self) -> str:
        """The terminal's msgid (from the gateway journal; load ``message``
        with select_related where many rows are read)."""
        return self.message.msgid
