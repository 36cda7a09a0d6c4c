"""The vocabulary of cross-province filing (异地就医备案): types, the engine
kind each maps to, the basis, the life cycle. docs/subsystems/filing.md."""

from django.db import models


class FilingType(models.TextChoices):
    """What the person files (the national 备案类型)."""

    RETIRED_RESETTLED = "retired_resettled", "异地安置退休"  # long-term: retired and settled in another region
    LONG_TERM_RESIDENCE = "long_term_residence", "异地长期居住"  # long-term: lives there (residence permit etc.)
    STATIONED_WORK = "stationed_work", "常驻异地工作"  # long-term: the employer stations them there
    REFERRAL = "referral", "异地转诊转院"  # temporary: a hospital refers them elsewhere
    EMERGENCY = "emergency", "急诊抢救"  # temporary: counts as filed; recorded after the fact if at all
    TEMPORARY_OTHER = "temporary_other", "其他临时外出"  # temporary: travel, visiting family, ...


class FilingKind(models.TextChoices):
    """The engine's kind (core_platform engine.FILING_KINDS): what decides the ratio adjustment."""

    LONG_TERM = "long_term", "长期"
    REFERRAL = "referral", "转诊转院"
    EMERGENCY = "emergency", "急诊抢救"
    TEMPORARY_OTHER = "temporary_other", "其他临时外出"


KIND_OF_TYPE = {
    FilingType.RETIRED_RESETTLED: FilingKind.LONG_TERM,
    FilingType.LONG_TERM_RESIDENCE: FilingKind.LONG_TERM,
    FilingType.STATIONED_WORK: FilingKind.LONG_TERM,
    FilingType.REFERRAL: FilingKind.REFERRAL,
    FilingType.EMERGENCY: FilingKind.EMERGENCY,
    FilingType.TEMPORARY_OTHER: FilingKind.TEMPORARY_OTHER,
}
LONG_TERM_TYPES = frozenset(t for t, k in KIND_OF_TYPE.items() if k == FilingKind.LONG_TERM)

TYPE_HELP = {
    FilingType.RETIRED_RESETTLED: "已退休，并在参保省份以外的地方安家养老。长期有效，直到您撤销。",
    FilingType.LONG_TERM_RESIDENCE: "在参保省份以外长期居住（如持有当地居住证）。长期有效，直到您撤销。",
    FilingType.STATIONED_WORK: "单位派您长期在参保省份以外工作。长期有效，直到您撤销。",
    FilingType.REFERRAL: "参保地医院开具转诊，到外省医院继续治疗。需填写转出医院和诊断，有效期内可多次就医。",
    FilingType.EMERGENCY: "在外省急诊抢救，视同已备案，无需事先办理；可事后登记，便于后续治疗。",
    FilingType.TEMPORARY_OTHER: "出差、旅游、探亲等临时外出就医。有效期内可多次就医，报销比例略低。",
}


class FilingBasis(models.TextChoices):
    """What the filing rests on."""

    COMMITMENT = "commitment", "个人承诺"  # 承诺制: filed at once by accepting the commitment statement
    PROOF = "proof", "证明材料"  # a declared document (type and number); no upload here
    NOT_REQUIRED = "not_required", "无需材料"  # emergency: counts as filed


class ProofDocType(models.TextChoices):
    RESIDENCE_PERMIT = "residence_permit", "居住证"
    HOUSEHOLD_REGISTER = "household_register", "户口簿"
    RESETTLEMENT_CERTIFICATE = "resettlement_certificate", "异地安置认定表"
    LABOR_CONTRACT = "labor_contract", "劳动合同或单位派驻证明"
    REFERRAL_CERTIFICATE = "referral_certificate", "转诊转院单"
    OTHER = "other", "其他证明"


class FilingStatus(models.TextChoices):
    """Life of one filing."""

    ACTIVE = "active", "有效"  # in force from begin_date (until end_date for a temporary one)
    CANCELLED = "cancelled", "已撤销"  # cancelled by the person or the referring hospital (2502)
    EXPIRED = "expired", "已过期"  # a temporary filing past its end date (set by the daily sweep)


class FilingSource(models.TextChoices):
    APP = "app", "本人申请"
    HOSPITAL = "hospital", "医院办理（2501）"


class CancelReason(models.TextChoices):
    """Why a filing is cancelled or its destination changed. Before the
    long-term minimum period only the reasons in FILING_EARLY_REASONS count."""

    RETURNED = "returned", "已回参保地"
    INFO_ERROR = "info_error", "备案信息填写有误"
    WORK_CHANGE = "work_change", "工作单位派驻地变动"
    FAMILY_CHANGE = "family_change", "家庭原因（随子女、配偶迁居）"
    OTHER = "other", "其他原因"


class FilingEventKind(models.TextChoices):
    """The audit trail of one filing (FilingEvent)."""

    CREATED = "created", "备案"
    CHANGED = "changed", "变更就医地"
    CANCELLED = "cancelled", "撤销"
    EXPIRED = "expired", "到期"
    REMINDED = "reminded", "到期提醒"


# Outbox kinds (settlement.services.outbox), applied by the core's 9201.
OUTBOX_FILING_CREATED = "filing.created"
OUTBOX_FILING_CHANGED = "filing.changed"
OUTBOX_FILING_CANCELLED = "filing.cancelled"
