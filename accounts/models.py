"""People, their channel logins, and the append-only audit log."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from common import crypto, idnumber

from .enums import ActivationStep, AuditOutcome, Channel, LivenessPurpose, PinMode, ResetTicketStatus


class Person(models.Model):
    """An insured person as the wallet knows them: a copy of the registry
    fields the wallet needs, keyed by the core's ``psn_no``. The ID number is
    stored encrypted; ``id_number_hash`` (keyed HMAC) finds it."""

    psn_no = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=50)
    id_number_encrypted = models.TextField()
    id_number_hash = models.CharField(max_length=64, unique=True)
    gender = models.CharField(max_length=1)
    birth_date = models.DateField()
    insutype = models.CharField(max_length=3)
    insured_region = models.CharField(max_length=6)
    # As last learned from the core (real-name check, then the registry pull).
    enrolment_status = models.CharField(max_length=12, default="active")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.psn_no} {self.id_number_masked}"

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_number_encrypted)

    @property
    def id_number_masked(self) -> str:
        return idnumber.mask(self.id_number)

    @staticmethod
    def hash_id_number(value: str) -> str:
        return crypto.keyed_hash(idnumber.normalize(value))


class ChannelLogin(models.Model):
    """One identity presented by a channel (WeChat/Alipay openid, national app
    user id). A person may have one login per channel."""

    channel = models.CharField(max_length=10, choices=Channel.choices)
    openid = models.CharField(max_length=64)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="logins")
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "openid"], name="uniq_channel_openid")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.openid}"


class AuditEvent(models.Model):
    """Append-only record of every sensitive action: who, what, when, outcome,
    channel, IP. Never updated or deleted by the application.

    Tamper-evident (accounts/services/audit_chain.py): ``row_mac`` is a keyed
    MAC of the event's content, set at insert; after commit the event is
    sealed into one chain (``seq``, ``prev_hash``, ``chain_hash``) in commit
    order. ``manage.py audit_verify`` names the first broken link."""

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=10, choices=AuditOutcome.choices)
    actor = models.CharField(max_length=100, help_text="login, staff user or institution code")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events")
    channel = models.CharField(max_length=10, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    code = models.CharField(max_length=64, blank=True, help_text="error code on failure")
    detail = models.JSONField(default=dict, blank=True)
    row_mac = models.CharField(max_length=64, blank=True, help_text="keyed MAC of the content, set at insert")
    seq = models.BigIntegerField(null=True, blank=True, unique=True, help_text="place in the chain, set when sealed")
    prev_hash = models.CharField(max_length=64, blank=True)
    chain_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit events are append-only")


class AuditChainHead(models.Model):
    """The one row (pk 1) naming the chain's last sealed event. Sealing locks
    it (an UPDATE first: a row lock on PostgreSQL, the write lock on SQLite),
    so two sealers never fork the chain; ``AuditEvent.seq`` is unique besides."""

    seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True)


class PinResetTicket(models.Model):
    """A PIN reset a support agent started for a person (issue #15): only the
    person completes it, on their own phone, with their own liveness check,
    before ``expires_at``. Staff never set, see or hear the PIN."""

    public_id = models.CharField(max_length=32, unique=True)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="reset_tickets")
    status = models.CharField(max_length=10, choices=ResetTicketStatus.choices, default=ResetTicketStatus.OPEN)
    created_by = models.CharField(max_length=100, help_text="staff actor (staff:<username>)")
    team = models.CharField(max_length=50, blank=True, help_text="the creating agent's team")
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=10, blank=True, help_text="the person's channel that completed it")


class LoginSession(models.Model):
    """A bearer token of the app. Only its SHA-256 is stored."""

    token_hash = models.CharField(max_length=64, unique=True)
    login = models.ForeignKey(ChannelLogin, on_delete=models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)


class Activation(models.Model):
    """One run of the activation wizard for one login and one person."""

    public_id = models.CharField(max_length=32, unique=True)
    login = models.ForeignKey(ChannelLogin, on_delete=models.CASCADE, related_name="activations")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="activations")
    step = models.CharField(max_length=20, choices=ActivationStep.choices)
    pin_mode = models.CharField(max_length=10, choices=PinMode.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)


class LivenessSession(models.Model):
    """A liveness challenge opened with the provider. Holds no image: only the
    nonce, the actions asked for, the expiry and what became of it.

    A session belongs to one purpose (``LivenessPurpose``): an activation
    (``activation`` set), or another flow named by ``reference`` (a family
    binding's consent: the binding's public id). A result is accepted only for
    the purpose, reference and login the session was opened for."""

    nonce = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=20, choices=LivenessPurpose.choices, default=LivenessPurpose.ACTIVATION)
    activation = models.ForeignKey(Activation, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="liveness_sessions")
    login = models.ForeignKey(ChannelLogin, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="liveness_sessions", help_text="the login that opened it")
    reference = models.CharField(max_length=64, blank=True, help_text="the flow's own id when not an activation")
    subject = models.CharField(max_length=40, help_text="psn_no the result must name")
    actions = models.JSONField(default=list)
    provider = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=40, blank=True)
