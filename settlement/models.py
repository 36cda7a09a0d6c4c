"""Sync state between the wallet and the settlement core: the outbox, pull
cursors, reconciliation runs and their discrepancies."""

from __future__ import annotations

from django.db import models

from .enums import DiscrepancyKind, OutboxKind, OutboxStatus


class OutboxMessage(models.Model):
    """A wallet change the core must learn, written in the same transaction
    as the change. Relayed in order per person (``person_key``, ``id``), at
    least once; the core applies each ``message_id`` at most once."""

    message_id = models.CharField(max_length=36, unique=True)
    person_key = models.CharField(max_length=40, db_index=True, help_text="psn_no: the ordering key")
    kind = models.CharField(max_length=40, choices=OutboxKind.choices)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"]), models.Index(fields=["person_key", "id"])]


class SyncCursor(models.Model):
    """How far a pull from the core has got (the core's own sequence)."""

    name = models.CharField(max_length=40, unique=True)
    position = models.BigIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class AccountCredit(models.Model):
    """A personal-account credit pulled from the core (monthly contribution):
    unique on the core's posting id, so a re-pull never applies it twice."""

    core_posting_id = models.BigIntegerField(unique=True)
    person = models.ForeignKey("accounts.Person", null=True, blank=True, on_delete=models.SET_NULL)
    psn_no = models.CharField(max_length=40, db_index=True)
    amount_fen = models.BigIntegerField()
    balance_fen = models.BigIntegerField(null=True)
    credited_at = models.DateTimeField()
    notified = models.BooleanField(default=False)


class PolicyVersion(models.Model):
    """Policy parameter versions published by the core (pulled)."""

    core_id = models.BigIntegerField(unique=True)
    region = models.CharField(max_length=6)
    insutype = models.CharField(max_length=3)
    version = models.PositiveIntegerField()
    effective_from = models.DateField()
    params = models.JSONField()


class ReconciliationRun(models.Model):
    """One reconciliation of one day (all institutions): totals (3201) and
    details (3202) of the wallet's journal against the core's ledger."""

    day = models.DateField(db_index=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    institutions = models.PositiveIntegerField(default=0)
    settlements = models.PositiveIntegerField(default=0)
    differences = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]


class Discrepancy(models.Model):
    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="discrepancies")
    fixmedins_code = models.CharField(max_length=30)
    kind = models.CharField(max_length=24, choices=DiscrepancyKind.choices)
    setl_id = models.CharField(max_length=40, blank=True)
    wallet_value = models.JSONField(null=True, blank=True)
    core_value = models.JSONField(null=True, blank=True)
    explanation = models.CharField(max_length=300)
