"""The settlement core's book of record: registry, institutions, catalogue,
policy parameters, the double-entry ledger and envelope idempotency.

All tables live in the ``core`` database (config.routers). No business rule
lives here: every write goes through ``core_platform.services``.
"""

from django.db import models
from django.db.models import F, Q

from common.encrypted_fields import EncryptedJSONField, EncryptedTextField

from .enums import (
    CatalogueKind,
    CivilRelationKind,
    HouseholdRole,
    MutualAidStatus,
    EnrolmentStatus,
    Gender,
    HoldPurpose,
    HoldStatus,
    Insutype,
    InstitutionKind,
    InstitutionLevel,
    LedgerAccountKind,
    ListClass,
    MessageStatus,
    PostingKind,
    PsnType,
    SettlementStatus,
)


class Region(models.Model):
    """An insurance pooling region (统筹区), by GB/T 2260 code."""

    admdvs = models.CharField(max_length=6, unique=True)
    name = models.CharField(max_length=64)
    province = models.CharField(max_length=32)
    # Has this region opened e-voucher (医保电子凭证) service? Activation is
    # refused for persons insured in a region that has not.
    evoucher_open = models.BooleanField(default=True)

    class Meta:
        ordering = ["admdvs"]

    def __str__(self):
        return f"{self.admdvs} {self.name}"


class InsuredPerson(models.Model):
    # 20 digits: insured region admdvs (6) + sequence within the region (14).
    psn_no = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=64)
    # AES-GCM ciphertext (common.crypto.encrypt); never the plaintext.
    id_number_encrypted = models.TextField()
    # common.crypto.keyed_hash of the normalised ID number, for lookups.
    id_number_hash = models.CharField(max_length=64, unique=True)
    gender = models.CharField(max_length=1, choices=Gender.choices)
    birth_date = models.DateField()
    insutype = models.CharField(max_length=3, choices=Insutype.choices)
    psn_type = models.CharField(max_length=2, choices=PsnType.choices)
    insured_region = models.CharField(max_length=6, db_index=True)
    enrolment_status = models.CharField(max_length=12, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE)
    status_changed_on = models.DateField(null=True, blank=True)
    employer = models.CharField(max_length=128, blank=True)
    enrolled_on = models.DateField()
    # 公务员标志: covered by the civil-servant medical subsidy (cvlserv_pay)
    # where the region's policy has one.
    cvlserv_flag = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["psn_no"]

    def __str__(self):
        return self.psn_no


class LedgerAccount(models.Model):
    kind = models.CharField(max_length=32, choices=LedgerAccountKind.choices)
    # psn_no (personal), fixmedins_code (institution_receivable, cash),
    # "<admdvs>-<insutype>" (pooled_fund, contribution_source),
    # "<payer psn_no>:<relative psn_no>" (mulaid_reserve).
    owner = models.CharField(max_length=64)
    # Cached sum of this account's entries, in fen; kept by services.ledger.
    balance_fen = models.BigIntegerField(default=0)
    # Cached sum of this account's pending holds (``Hold``), in fen; kept by
    # services.ledger in the same statement as the balance. Available (what
    # the person may spend) = balance_fen - held_fen.
    held_fen = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "owner"], name="core_ledger_account_kind_owner_uniq"),
            models.CheckConstraint(
                condition=~Q(kind__in=[LedgerAccountKind.PERSONAL, LedgerAccountKind.MULAID_RESERVE])
                | Q(balance_fen__gte=0),
                name="core_ledger_personal_not_negative",
            ),
            # Held money is part of the balance: never more than it, never below zero.
            models.CheckConstraint(
                condition=Q(held_fen__gte=0)
                & (~Q(kind__in=[LedgerAccountKind.PERSONAL, LedgerAccountKind.MULAID_RESERVE])
                   | Q(balance_fen__gte=F("held_fen"))),
                name="core_ledger_held_within_balance",
            ),
        ]

    def __str__(self):
        return f"{self.kind}:{self.owner}"


class Posting(models.Model):
    """One balanced movement of money: its entries sum to zero."""

    kind = models.CharField(max_length=32, choices=PostingKind.choices)
    # The caller's key (credit reference, settlement id, ...); unique per kind,
    # which makes a repeated posting fail at the database.
    reference = models.CharField(max_length=64)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "reference"], name="core_posting_kind_reference_uniq")]

    def __str__(self):
        return f"{self.kind}:{self.reference}"


class Entry(models.Model):
    """Append-only: entries are created with their posting and never changed."""

    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    # Signed: positive raises the account's balance, negative lowers it.
    amount_fen = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(amount_fen=0), name="core_entry_amount_not_zero")]

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise RuntimeError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("ledger entries are append-only")


class Hold(models.Model):
    """A hold (two-phase transfer, as TigerBeetle's pending transfers and card
    authorisations): ``amount_fen`` reserved on a personal account until
    ``deadline`` (null: until voided — the set-aside amount), then posted
    (fully or partly: ``posted_fen``, the posting it became in ``posting``,
    the rest released) or voided, exactly once (compare-and-swap on
    ``status``); past its deadline it expires by itself. Only
    services/ledger.py changes a hold; the account's ``held_fen`` is the sum
    of its pending holds."""

    hold_id = models.CharField(max_length=40, unique=True)  # "H" + yyyymmddHHMMSS + 12 hex
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="holds")
    amount_fen = models.BigIntegerField()
    deadline = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=HoldStatus.choices, default=HoldStatus.PENDING)
    posted_fen = models.BigIntegerField(default=0)
    posting = models.ForeignKey(Posting, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=20, choices=HoldPurpose.choices)
    # What it is for: "<fixmedins_code>:<msgid>" (settlement), "<payer>:<relative>" (set-aside).
    reference = models.CharField(max_length=80)
    fixmedins_code = models.CharField(max_length=30, blank=True)  # a settlement hold's institution
    # A set-aside used by a settlement goes on as a new hold for the rest: the one it continues.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # A settlement hold: the bill as it will be settled (encrypted at rest: names the person), the
    # split held, the original msgid. A set-aside: the authorisation.
    detail = EncryptedJSONField(default=dict)
    reason = models.CharField(max_length=200, blank=True)  # why it was voided
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)  # posted, voided or expired

    class Meta:
        indexes = [models.Index(fields=["status", "deadline"], name="core_hold_status_deadline"),
                   models.Index(fields=["account", "status"], name="core_hold_account_status")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="core_hold_amount_positive"),
            models.CheckConstraint(
                condition=(Q(status=HoldStatus.POSTED, posted_fen__gt=0, posted_fen__lte=F("amount_fen"))
                           | (~Q(status=HoldStatus.POSTED) & Q(posted_fen=0, posting__isnull=True))),
                name="core_hold_posted_amount"),
            models.UniqueConstraint(fields=["purpose", "reference"], condition=Q(status=HoldStatus.PENDING),
                                    name="core_hold_one_pending_per_reference"),
        ]


class PersonIdentity(models.Model):
    """A special identity of an insured person (人员身份, 1101 ``idetinfo``):
    medical-assistance identities such as 特困人员 or 低保对象 (codes: the
    region's dictionary, core_platform/README.md), valid from ``begntime``
    to ``endtime`` (inclusive; null: open-ended). A region's medical
    assistance (maf) pays only for persons holding one of its identities on
    the bill's date."""

    psn_no = models.CharField(max_length=30, db_index=True)
    psn_idet_type = models.CharField(max_length=6)
    psn_type_lv = models.CharField(max_length=6, blank=True)
    begntime = models.DateField()
    endtime = models.DateField(null=True, blank=True)
    memo = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["psn_no", "begntime", "psn_idet_type"]
        constraints = [
            models.UniqueConstraint(fields=["psn_no", "psn_idet_type", "begntime"], name="core_identity_uniq"),
            models.CheckConstraint(condition=Q(endtime__isnull=True) | Q(endtime__gte=F("begntime")),
                                   name="core_identity_period"),
        ]


class AnnualAccumulator(models.Model):
    """Per person and policy year (``engine.policy_year``): what the
    deductibles, bands and ceilings are measured against, one column per
    ``engine.COUNTERS`` name. Moved by settlements and their reversals."""

    psn_no = models.CharField(max_length=30)
    year = models.PositiveSmallIntegerField()
    eligible_cost_fen = models.BigIntegerField(default=0)
    deductible_paid_fen = models.BigIntegerField(default=0)
    fund_paid_fen = models.BigIntegerField(default=0)
    outpatient_eligible_cost_fen = models.BigIntegerField(default=0)
    outpatient_deductible_paid_fen = models.BigIntegerField(default=0)
    outpatient_fund_paid_fen = models.BigIntegerField(default=0)
    hifob_base_fen = models.BigIntegerField(default=0)
    hifob_deductible_paid_fen = models.BigIntegerField(default=0)
    hifob_paid_fen = models.BigIntegerField(default=0)
    hifmi_base_fen = models.BigIntegerField(default=0)
    hifmi_deductible_paid_fen = models.BigIntegerField(default=0)
    hifmi_paid_fen = models.BigIntegerField(default=0)
    cvlserv_base_fen = models.BigIntegerField(default=0)
    cvlserv_deductible_paid_fen = models.BigIntegerField(default=0)
    cvlserv_paid_fen = models.BigIntegerField(default=0)
    maf_base_fen = models.BigIntegerField(default=0)
    maf_deductible_paid_fen = models.BigIntegerField(default=0)
    maf_paid_fen = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["psn_no", "year"], name="core_accumulator_psn_year_uniq")]


class Institution(models.Model):
    # "H"/"P" + admdvs (6) + 5-digit sequence, e.g. P44010000001.
    fixmedins_code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=InstitutionKind.choices)
    level = models.CharField(max_length=1, choices=InstitutionLevel.choices)
    region = models.CharField(max_length=6, db_index=True)
    designated = models.BooleanField(default=True)
    # Designated for employee outpatient pooling (门诊统筹, 职工门诊共济):
    # matters for pharmacies (level 9), where an outpatient bill gets pooled
    # benefits only if this is set.
    outpatient_pooling = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["fixmedins_code"]

    def __str__(self):
        return f"{self.fixmedins_code} {self.name}"


class CatalogueItem(models.Model):
    med_list_codg = models.CharField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=CatalogueKind.choices)
    list_class = models.CharField(max_length=1, choices=ListClass.choices)
    # 先行自付 share in permille: 0 for A, 1000 for C, 0..1000 for B.
    self_pay_ratio_permille = models.PositiveIntegerField(default=0)
    # Highest eligible unit price (最高支付限价); the excess is self-paid.
    price_cap_fen = models.BigIntegerField(null=True, blank=True)
    unit = models.CharField(max_length=16, blank=True)
    spec = models.CharField(max_length=100, blank=True)
    # Never paid from a family member's account (家庭共济): health products,
    # fitness, wellness. The person's own account and cash still may.
    mulaid_excluded = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["med_list_codg"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(list_class=ListClass.A, self_pay_ratio_permille=0)
                           | Q(list_class=ListClass.C, self_pay_ratio_permille=1000)
                           | Q(list_class=ListClass.B, self_pay_ratio_permille__lte=1000)),
                name="core_catalogue_class_ratio",
            ),
        ]


class PolicyParameters(models.Model):
    """One immutable version of a region's policy for one insutype. The
    ``params`` schema and its validator are in engine/params.py."""

    region = models.CharField(max_length=6)
    insutype = models.CharField(max_length=3, choices=Insutype.choices)
    version = models.PositiveIntegerField()
    effective_from = models.DateField()
    params = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["region", "insutype", "version"]
        constraints = [
            models.UniqueConstraint(fields=["region", "insutype", "version"], name="core_policy_version_uniq"),
        ]


class EnvelopeMessage(models.Model):
    """Idempotency record of one envelope request: the unique constraint on
    (client_id, fixmedins_code, msgid) decides which request runs."""

    client_id = models.CharField(max_length=64)
    fixmedins_code = models.CharField(max_length=30)
    msgid = models.CharField(max_length=40)
    infno = models.CharField(max_length=8)
    request_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=MessageStatus.choices, default=MessageStatus.PROCESSING)
    # Fencing counter: bumped when a stale "processing" claim is taken over,
    # so the old owner's late answer is not stored.
    attempt = models.PositiveIntegerField(default=1)
    # The answer exactly as first sent (text, so a replay is byte-identical;
    # PostgreSQL jsonb would reorder keys), encrypted at rest: a 1101 answer
    # carries the person's full ID number (certno).
    response = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client_id", "fixmedins_code", "msgid"], name="core_envelope_msgid_uniq"),
        ]


class CoreNonce(models.Model):
    """A signed call's nonce, single use. Older than the clock-skew window it
    can be pruned (the timestamp check already refuses such calls)."""

    client_id = models.CharField(max_length=64)
    nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client_id", "nonce"], name="core_nonce_uniq")]


class AuditEvent(models.Model):
    """Append-only trail of the core's writes (operator commands, postings)."""

    action = models.CharField(max_length=64)
    subject = models.CharField(max_length=64)  # psn_no, fixmedins_code, posting id, ...
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)


class Settlement(models.Model):
    """A settled bill (2102): the split, its explanation, its posting, and the
    accumulator deltas it applied (so a reversal can take exactly those back)."""

    setl_id = models.CharField(max_length=40, unique=True)
    mdtrt_id = models.CharField(max_length=40, unique=True)
    psn_no = models.CharField(max_length=30, db_index=True)
    fixmedins_code = models.CharField(max_length=30)
    msgid = models.CharField(max_length=40)
    insutype = models.CharField(max_length=3)
    insured_region = models.CharField(max_length=6)
    status = models.CharField(max_length=10, choices=SettlementStatus.choices, default=SettlementStatus.SETTLED)
    medfee_fen = models.BigIntegerField()
    fund_fen = models.BigIntegerField()
    acct_fen = models.BigIntegerField()
    mulaid_fen = models.BigIntegerField(default=0)
    # Family mutual aid (家庭共济): who paid ``mulaid_fen``, under which
    # authorisation, counted in which calendar year (the bill date's) for
    # the authorisation's annual cap; blank / null without mutual aid.
    mulaid_payer_psn_no = models.CharField(max_length=30, blank=True)
    mulaid_auth_id = models.CharField(max_length=64, blank=True, db_index=True)
    mulaid_year = models.PositiveSmallIntegerField(null=True, blank=True)
    cash_fen = models.BigIntegerField()
    accumulator_year = models.PositiveSmallIntegerField()
    deltas = models.JSONField(default=dict)
    setlinfo = EncryptedJSONField(default=dict)  # encrypted at rest: may carry certno
    setldetail = models.JSONField(default=list)  # per fund (结算基金分项); older records: per item
    detlcutinfo = models.JSONField(default=list)  # per line item (明细分割), amounts as decimal text
    explanation = models.JSONField(default=list)
    # The bill's record fields (docs/subsystems/terminal-gateway.md): the
    # invoice number searchable for reconciliation; the rest (diagnosis,
    # charge batch, prescriptions, prescriber) encrypted at rest.
    invono = models.CharField(max_length=50, blank=True, db_index=True)
    bill_info = EncryptedJSONField(default=dict)
    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="+")
    reversal_posting = models.ForeignKey(Posting, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reversal_msgid = models.CharField(max_length=40, blank=True)
    settled_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fixmedins_code", "msgid"], name="core_settlement_msgid_uniq"),
            models.CheckConstraint(condition=Q(medfee_fen=F("fund_fen") + F("acct_fen") + F("mulaid_fen") + F("cash_fen")),
                                   name="core_settlement_parts_sum"),
        ]


class WalletEvent(models.Model):
    """A wallet change the core applied (9201), once per ``message_id``; in
    order per person (``sequence`` only grows)."""

    message_id = models.CharField(max_length=36, unique=True)
    psn_no = models.CharField(max_length=30, db_index=True)
    sequence = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    applied_at = models.DateTimeField(auto_now_add=True)


class VoucherState(models.Model):
    """What the core knows of a person's e-voucher, from wallet events."""

    psn_no = models.CharField(max_length=30, unique=True)
    status = models.CharField(max_length=12, default="inactive")
    channels = models.JSONField(default=list)
    pin_locked = models.BooleanField(default=False)
    last_sequence = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)


class RegistryChange(models.Model):
    """Enrolment changes (suspended, moved region, insutype changed), in
    order, for the wallet's pull (9302)."""

    psn_no = models.CharField(max_length=30)
    kind = models.CharField(max_length=30)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)


class RegionCatalogueItem(models.Model):
    """A treatment region's own terms for a catalogue item (就医地目录): its
    class, self-pay-first ratio and price cap where they differ from the
    catalogue's. A bill at an institution of ``region`` uses them, whoever
    the patient is (local or from another province: "就医地目录")."""

    region = models.CharField(max_length=6)
    med_list_codg = models.CharField(max_length=50)
    list_class = models.CharField(max_length=1, choices=ListClass.choices)
    self_pay_ratio_permille = models.PositiveIntegerField(default=0)
    price_cap_fen = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["region", "med_list_codg"]
        constraints = [
            models.UniqueConstraint(fields=["region", "med_list_codg"], name="core_region_catalogue_uniq"),
            models.CheckConstraint(
                condition=(Q(list_class=ListClass.A, self_pay_ratio_permille=0)
                           | Q(list_class=ListClass.C, self_pay_ratio_permille=1000)
                           | Q(list_class=ListClass.B, self_pay_ratio_permille__lte=1000)),
                name="core_region_catalogue_class_ratio",
            ),
        ]


class Filing(models.Model):
    """The core's copy of a cross-province treatment filing (异地就医备案),
    held from the wallet's events (9201 filing.created / filing.changed /
    filing.cancelled; services/filings.py). Settlement reads only this copy.
    A temporary filing past ``end_date`` simply no longer covers a bill; a
    cancelled one never does again."""

    filing_no = models.CharField(max_length=40, unique=True)  # trt_dcla_detl_sn
    psn_no = models.CharField(max_length=30, db_index=True)
    type = models.CharField(max_length=24)  # retired_resettled, long_term_residence, ..., temporary_other
    kind = models.CharField(max_length=16)  # engine.FILING_KINDS
    basis = models.CharField(max_length=12, blank=True)  # commitment / proof
    dest_admdvs = models.CharField(max_length=6)  # a city, or a whole province ("xx0000")
    begin_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)  # null: until cancelled (long-term)
    institutions = models.JSONField(default=list)  # referral: the receiving institutions (empty: any)
    referral = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=12, default="active")  # active / cancelled
    cancelled_on = models.DateField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)  # when the core applied the cancellation
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["psn_no", "begin_date", "filing_no"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__isnull=True) | Q(end_date__gte=F("begin_date")),
                                   name="core_filing_period"),
        ]


# --- family: registry relations and the core's copy of bindings and
# mutual-aid authorisations (issue #13; services/relations.py, mutual_aid.py)


class Household(models.Model):
    """A household register (户籍, 户口簿): its number and region; members
    are recorded with their relation to the head."""

    hh_no = models.CharField(max_length=30, unique=True)
    region = models.CharField(max_length=6)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["hh_no"]


class HouseholdMember(models.Model):
    """A person on a household register (one register per person), with
    their relation to the head (户主, role ``head``)."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="members")
    psn_no = models.CharField(max_length=30, unique=True)
    role = models.CharField(max_length=12, choices=HouseholdRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["household", "psn_no"]
        constraints = [
            models.UniqueConstraint(fields=["household"], condition=Q(role=HouseholdRole.HEAD),
                                    name="core_household_one_head"),
        ]


class CivilRelation(models.Model):
    """A civil-status relation (婚姻登记, 出生医学证明/亲子关系): ``spouse``
    (``psn_no`` < ``rel_psn_no``) or ``parent_child`` (``psn_no`` is the
    parent of ``rel_psn_no``)."""

    kind = models.CharField(max_length=16, choices=CivilRelationKind.choices)
    psn_no = models.CharField(max_length=30, db_index=True)
    rel_psn_no = models.CharField(max_length=30, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "psn_no", "rel_psn_no"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "psn_no", "rel_psn_no"], name="core_civil_relation_uniq"),
            models.CheckConstraint(condition=~Q(psn_no=F("rel_psn_no")), name="core_civil_relation_distinct"),
        ]


class FamilyBinding(models.Model):
    """The core's copy of a wallet binding (亲情账户), from 9201 events."""

    binding_id = models.CharField(max_length=64, unique=True)
    binder_psn_no = models.CharField(max_length=30, db_index=True)
    rel_psn_no = models.CharField(max_length=30, db_index=True)
    relation = models.CharField(max_length=12)
    relation_check = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=10, default="active")  # active / ended
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class MutualAidAuth(models.Model):
    """The core's own state of a mutual-aid authorisation (家庭共济授权),
    from 9201 events (only a newer ``version`` replaces an older one) and
    the core's own ending (either person's enrolment changed). Settlement
    uses it only when the wallet names this ``auth_id`` and ``version`` and
    it is active."""

    auth_id = models.CharField(max_length=64, unique=True)
    version = models.BigIntegerField(default=0)
    payer_psn_no = models.CharField(max_length=30, db_index=True)
    rel_psn_no = models.CharField(max_length=30, db_index=True)
    relation = models.CharField(max_length=12, blank=True)
    mode = models.CharField(max_length=10, default="direct")  # direct / set_aside
    annual_cap_fen = models.BigIntegerField(null=True, blank=True)
    bill_cap_fen = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=MutualAidStatus.choices, default=MutualAidStatus.ACTIVE)
    ended_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class ResidentContribution(models.Model):
    """A resident-insurance contribution (城乡居民医保缴费) a payer paid for a
    relative from their personal account (9404); reversible the same day
    (9405)."""

    clct_id = models.CharField(max_length=40, unique=True)
    msgid = models.CharField(max_length=40)
    payer_psn_no = models.CharField(max_length=30, db_index=True)
    psn_no = models.CharField(max_length=30, db_index=True)
    year = models.PositiveSmallIntegerField()
    amount_fen = models.BigIntegerField()
    status = models.CharField(max_length=10, default="paid")  # paid / reversed
    paid_on = models.DateField()
    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="+")
    reversal_posting = models.ForeignKey(Posting, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["psn_no", "year"], condition=Q(status="paid"),
                                    name="core_contribution_one_per_year"),
        ]


class ReferenceVersion(models.Model):
    """One row (id 1): a token that database triggers (migration 0010)
    replace whenever the reference data read by every settlement changes —
    regions, institutions, catalogue items, regional catalogue terms, policy
    versions — by any writer. core_platform/reference.py keeps a per-process
    copy of those rows for as long as the token stays the same."""

    token = models.BigIntegerField()
