"""Cross-province filings (异地就医备案). Writes are in services/filings.py,
reads in selectors.py; the core holds its own copy, fed through the outbox."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from common.encrypted_fields import EncryptedJSONField, EncryptedTextField

from .enums import (CancelReason, FilingBasis, FilingEventKind, FilingKind, FilingSource, FilingStatus, FilingType,
                    ProofDocType)


class Filing(models.Model):
    """One filing of one insured person (by ``psn_no``: a hospital may file
    for a person who never activated the wallet; the person's list shows it
    once they do). ``public_id`` is the only id the app sees; ``filing_no``
    (trt_dcla_detl_sn) is the national number the core and hospitals use.
    At most one active long-term filing per person (a partial unique index)."""

    public_id = models.CharField(max_length=32, unique=True)
    filing_no = models.CharField(max_length=30, unique=True)
    psn_no = models.CharField(max_length=40, db_index=True)
    insutype = models.CharField(max_length=3)
    insured_region = models.CharField(max_length=6)
    type = models.CharField(max_length=24, choices=FilingType.choices)
    kind = models.CharField(max_length=16, choices=FilingKind.choices)
    basis = models.CharField(max_length=16, choices=FilingBasis.choices)
    source = models.CharField(max_length=10, choices=FilingSource.choices, default=FilingSource.APP)
    status = models.CharField(max_length=10, choices=FilingStatus.choices, default=FilingStatus.ACTIVE)
    dest_admdvs = models.CharField(max_length=6)
    dest_since = models.DateField(help_text="When the current destination took effect (begin, or the last change)")
    begin_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="null: long-term, valid until cancelled")
    late = models.BooleanField(default=False, help_text="补办: filed after treatment began (begin_date in the past)")
    institutions = models.JSONField(default=list, blank=True, help_text="designated institutions (referrals)")
    referral = EncryptedJSONField(null=True, blank=True, help_text="referring institution, diagnosis (health data)")
    proof_doc_type = models.CharField(max_length=30, choices=ProofDocType.choices, blank=True)
    proof_doc_no = EncryptedTextField(blank=True)
    commitment_accepted_at = models.DateTimeField(null=True, blank=True)
    fixmedins_code = models.CharField(max_length=30, blank=True, help_text="the hospital that filed it (2501)")
    # Idempotency-Key of the creating POST (per person) and the digest of its body.
    idempotency_key = models.CharField(max_length=64, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_on = models.DateField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=16, choices=CancelReason.choices, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="expiry reminder sent (once per filing)")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["psn_no"], condition=Q(status="active", kind="long_term"),
                                    name="uniq_referrals_one_active_long_term"),
            models.UniqueConstraint(fields=["psn_no", "idempotency_key"], condition=~Q(idempotency_key=""),
                                    name="uniq_referrals_filing_idempotency"),
        ]
        indexes = [models.Index(fields=["status", "end_date"])]

    def __str__(self) -> str:
        return f"{self.filing_no} {self.type} {self.status}"


class FilingEvent(models.Model):
    """Append-only: what happened to a filing, by whom (the person's login,
    a hospital's fixmedins_code, the system)."""

    filing = models.ForeignKey(Filing, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=FilingEventKind.choices)
    actor = models.CharField(max_length=80)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
