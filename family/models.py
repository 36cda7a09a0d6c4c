"""Family bindings (亲情账户): who may see and show whose voucher, with what
consent. Writes are in family/services/bindings.py; reads in
family/selectors.py. Mutual aid (家庭共济, F2b) appends its models at the end
of this file."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from common.encrypted_fields import EncryptedTextField

from family.enums import (
    BindingStatus,
    CodeViewKind,
    Consent,
    ContributionStatus,
    EndedBy,
    GuardianDocType,
    MutualAidMode,
    MutualAidStatus,
    MutualAidUseStatus,
    Relation,
    RelationCheck,
)


class Binding(models.Model):
    """A relative on a binder's family list. ``public_id`` is the only id the
    app sees. At most one binding per (binder, relative) that is not ended."""

    public_id = models.CharField(max_length=32, unique=True)
    binder = models.ForeignKey("accounts.Person", on_delete=models.PROTECT, related_name="family_relatives")
    relative = models.ForeignKey("accounts.Person", on_delete=models.PROTECT, related_name="family_binders")
    relation = models.CharField(max_length=12, choices=Relation.choices)
    consent = models.CharField(max_length=12, choices=Consent.choices)
    status = models.CharField(max_length=10, choices=BindingStatus.choices, default=BindingStatus.PENDING)
    relation_check = models.CharField(max_length=10, choices=RelationCheck.choices, default=RelationCheck.PENDING)
    relation_basis = models.CharField(max_length=20, blank=True, help_text="9402 basis: household, spouse, ...")
    relation_checked_at = models.DateTimeField(null=True, blank=True)
    # Guardian consent (relative under 16): the commitment and the household-register details, encrypted at rest.
    guardian_doc_type = models.CharField(max_length=12, choices=GuardianDocType.choices, blank=True)
    guardian_doc_no = EncryptedTextField(blank=True)
    guardian_committed_at = models.DateTimeField(null=True, blank=True)
    # Idempotency-Key of the creating POST (per binder) and the digest of its body.
    idempotency_key = models.CharField(max_length=64, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    # Whether the core was told of it (family.binding_added sent): ending it then tells the core too.
    core_notified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=10, choices=EndedBy.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["binder", "relative"], condition=~Q(status="ended"),
                                    name="uniq_family_binding_standing"),
            models.UniqueConstraint(fields=["binder", "idempotency_key"], condition=~Q(idempotency_key=""),
                                    name="uniq_family_binding_idempotency"),
        ]
        indexes = [models.Index(fields=["relative", "status"])]

    def __str__(self) -> str:
        return f"{self.public_id} {self.relation} {self.status}"


class Invitation(models.Model):
    """A one-time invitation for the relative to consent on their own phone:
    24 h, single use, only the SHA-256 of its token stored. A new invitation
    for the binding retires the previous one."""

    binding = models.ForeignKey(Binding, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by_login = models.ForeignKey("accounts.ChannelLogin", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    retired_at = models.DateTimeField(null=True, blank=True, help_text="replaced by a newer one, or binding ended")


class CodeGrant(models.Model):
    """A binder's right to show a relative's code under one of the binder's
    channel authorizations (wallet ``ChannelAuthorization`` id). Codes shown
    under it name it (codes/format.py ``PROXY_FLAG``), so they stop decoding
    when the binding ends or that authorization is revoked."""

    binding = models.ForeignKey(Binding, on_delete=models.CASCADE, related_name="code_grants")
    authorization_id = models.BigIntegerField()
    channel = models.CharField(max_length=10)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["binding", "authorization_id"], name="uniq_family_code_grant")]


class CodeView(models.Model):
    """Append-only: a binder showed the relative's code, or a code so shown
    was scanned. The relative reads these ("who showed my code, when")."""

    binding = models.ForeignKey(Binding, on_delete=models.CASCADE, related_name="code_views")
    grant = models.ForeignKey(CodeGrant, null=True, on_delete=models.SET_NULL, related_name="views")
    kind = models.CharField(max_length=10, choices=CodeViewKind.choices)
    channel = models.CharField(max_length=10, blank=True)
    institution = models.CharField(max_length=100, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)


# --- mutual aid (家庭共济, F2b): family/services/mulaid.py writes these -------------

class MutualAid(models.Model):
    """A payer's authorisation for one bound relative to use the payer's
    personal account. ``version`` grows by one on every change; the pay path
    sends (public_id, version) with each settlement and the core refuses a
    version it does not hold as active. At most one standing authorisation
    per binding."""

    public_id = models.CharField(max_length=32, unique=True)
    binding = models.ForeignKey(Binding, on_delete=models.PROTECT, related_name="mutual_aids")
    payer = models.ForeignKey("accounts.Person", on_delete=models.PROTECT, related_name="mutual_aid_given")
    beneficiary = models.ForeignKey("accounts.Person", on_delete=models.PROTECT, related_name="mutual_aid_received")
    status = models.CharField(max_length=10, choices=MutualAidStatus.choices, default=MutualAidStatus.ACTIVE)
    mode = models.CharField(max_length=10, choices=MutualAidMode.choices, default=MutualAidMode.DIRECT)
    annual_cap_fen = models.BigIntegerField(null=True, blank=True)
    bill_cap_fen = models.BigIntegerField(null=True, blank=True)
    confirm_above_fen = models.BigIntegerField(null=True, blank=True)
    set_aside_fen = models.BigIntegerField(default=0, help_text="frozen in the payer's account (core 9403)")
    version = models.PositiveIntegerField(default=1)
    ended_reason = models.CharField(max_length=40, blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["binding"], condition=Q(status="active"), name="uniq_family_mulaid_active"),
            models.UniqueConstraint(fields=["payer", "idempotency_key"], condition=~Q(idempotency_key=""),
                                    name="uniq_family_mulaid_idempotency"),
        ]
        indexes = [models.Index(fields=["beneficiary", "status"]), models.Index(fields=["payer", "status"])]


class MutualAidUse(models.Model):
    """The mutual-aid ledger: one row per relative's payment that carried an
    authorisation to the core, written (``sending``) under the
    authorisation's row lock before the settle is sent."""

    authorisation = models.ForeignKey(MutualAid, on_delete=models.PROTECT, related_name="uses")
    payment_id = models.CharField(max_length=32, unique=True, help_text="wallet Payment.public_id")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=MutualAidUseStatus.choices, default=MutualAidUseStatus.SENDING)
    amount_fen = models.BigIntegerField(default=0)
    institution = models.CharField(max_length=100, blank=True)
    setl_id = models.CharField(max_length=40, blank=True)
    payer_confirm_required = models.BooleanField(default=False)
    payer_confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reversed_at = models.DateTimeField(null=True, blank=True)


class Contribution(models.Model):
    """The payer paid a relative's annual resident contribution (城乡居民医保缴费)
    from the personal account (core 9404; reversed the same day by 9405)."""

    public_id = models.CharField(max_length=32, unique=True)
    binding = models.ForeignKey(Binding, on_delete=models.PROTECT, related_name="contributions")
    payer = models.ForeignKey("accounts.Person", on_delete=models.PROTECT, related_name="contributions_paid")
    beneficiary = models.ForeignKey("accounts.Person", on_delete=models.PROTECT, related_name="contributions_received")
    year = models.PositiveIntegerField()
    amount_fen = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=ContributionStatus.choices, default=ContributionStatus.PENDING)
    msgid = models.CharField(max_length=40, unique=True)
    reverse_msgid = models.CharField(max_length=40, blank=True)
    clct_id = models.CharField(max_length=40, blank=True)
    err_msg = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=64)
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["payer", "idempotency_key"],
                                               name="uniq_family_contribution_idempotency")]
