"""Statuses and codes of the settlement core. Values are stored; labels are
Chinese for people. National-spec code mappings live in the services that
speak the envelope (``services/transactions.py``)."""

from django.db import models


class Insutype(models.TextChoices):
    EMPLOYEE = "310", "职工基本医疗保险"
    RESIDENT = "390", "城乡居民基本医疗保险"


class Gender(models.TextChoices):
    MALE = "1", "男"
    FEMALE = "2", "女"


class PsnType(models.TextChoices):
    """人员类别. Employee codes follow the national '11'/'21' style; residents
    are split by age group ('3x')."""

    EMPLOYEE_WORKING = "11", "在职职工"
    EMPLOYEE_RETIRED = "21", "退休人员"
    RESIDENT_ADULT = "31", "城乡居民（成年）"
    RESIDENT_MINOR = "32", "城乡居民（未成年人/学生）"
    RESIDENT_ELDERLY = "33", "城乡居民（老年人，60岁及以上）"


EMPLOYEE_PSN_TYPES = {PsnType.EMPLOYEE_WORKING, PsnType.EMPLOYEE_RETIRED}
RESIDENT_PSN_TYPES = {PsnType.RESIDENT_ADULT, PsnType.RESIDENT_MINOR, PsnType.RESIDENT_ELDERLY}


class EnrolmentStatus(models.TextChoices):
    # Contributions are paid up: the person may settle bills and use the account.
    ACTIVE = "active", "正常参保"
    # Contributions interrupted (arrears, job change in progress): the record is
    # kept, benefits are paused until contributions resume.
    SUSPENDED = "suspended", "暂停参保"
    # Left the scheme (moved away, death, switched insutype): final; the person
    # must be enrolled again to regain benefits.
    TERMINATED = "terminated", "终止参保"


class InstitutionKind(models.TextChoices):
    HOSPITAL = "hospital", "医疗机构"
    PHARMACY = "pharmacy", "零售药店"


class InstitutionLevel(models.TextChoices):
    """Hospital grade; pharmacies (and ungraded clinics) are '9'."""

    LEVEL_1 = "1", "一级"
    LEVEL_2 = "2", "二级"
    LEVEL_3 = "3", "三级"
    UNGRADED = "9", "未定级"


class CatalogueKind(models.TextChoices):
    DRUG = "drug", "药品"
    SERVICE = "service", "医疗服务项目"
    MATERIAL = "material", "医用耗材"


class ListClass(models.TextChoices):
    # 甲类: fully eligible, no self-pay-first part (national chrgitm_lv '01').
    A = "A", "甲类"
    # 乙类: a self-pay-first share (先行自付) is paid by the person, the rest is eligible ('02').
    B = "B", "乙类"
    # 丙类: not covered, fully self-paid ('03').
    C = "C", "丙类"


class LedgerAccountKind(models.TextChoices):
    # A person's personal account (个人账户); owner = psn_no; never negative.
    PERSONAL = "personal", "个人账户"
    # The pooled fund (统筹基金) of one region and insutype; owner = "<admdvs>-<insutype>".
    POOLED_FUND = "pooled_fund", "统筹基金"
    # What the fund owes an institution for settled bills; owner = fixmedins_code.
    INSTITUTION_RECEIVABLE = "institution_receivable", "机构应收"
    # Where contributions come from (employer/individual payments); owner =
    # "<admdvs>-<insutype>". Goes negative by design: it mirrors money paid in.
    CONTRIBUTION_SOURCE = "contribution_source", "缴费来源"
    # Cash paid by persons at an institution's counter; owner = fixmedins_code.
    CASH = "cash", "现金"
    # A payer's set-aside amount for one relative (家庭共济额度), moved out of
    # the payer's personal account (the payer cannot spend it); owner =
    # "<payer psn_no>:<relative psn_no>"; never negative.
    MULAID_RESERVE = "mulaid_reserve", "共济额度"


class PostingKind(models.TextChoices):
    OPENING_BALANCE = "opening_balance", "期初余额"
    CONTRIBUTION_CREDIT = "contribution_credit", "个人账户划入"
    SETTLEMENT = "settlement", "结算"
    REVERSAL = "reversal", "冲正"
    ADJUSTMENT = "adjustment", "调账"
    MULAID_RESERVE = "mulaid_reserve", "共济额度划转"
    RESIDENT_CONTRIBUTION = "resident_contribution", "代缴城乡居民医保"


class MessageStatus(models.TextChoices):
    # The first request with this msgid is being handled; duplicates wait.
    PROCESSING = "processing", "处理中"
    # The answer is stored; a replay with the same body gets it verbatim.
    DONE = "done", "已完成"


class SettlementStatus(models.TextChoices):
    """A settlement in the book of record."""

    SETTLED = "settled", "已结算"  # posted; money moved
    REVERSED = "reversed", "已撤销"  # a compensating posting undid it (never an edit)


class HouseholdRole(models.TextChoices):
    """户籍 household member's relation to the household head (户主)."""

    HEAD = "head", "户主"
    SPOUSE = "spouse", "配偶"
    CHILD = "child", "子女"
    PARENT = "parent", "父母"
    GRANDCHILD = "grandchild", "孙子女"
    SIBLING = "sibling", "兄弟姐妹"
    OTHER = "other", "其他"


class CivilRelationKind(models.TextChoices):
    SPOUSE = "spouse", "配偶"
    PARENT_CHILD = "parent_child", "父母子女"


class HoldStatus(models.TextChoices):
    """A hold (two-phase transfer, services/ledger.py): money reserved on a
    personal account until it is posted or voided, exactly once."""

    # Reserved: counted in the account's held amount, not spendable; may be posted or voided.
    PENDING = "pending", "冻结中"
    # Became a posting (``Hold.posting``) of ``posted_fen`` (≤ the amount); the rest was released
    # (or, for a set-aside, held again by the next hold of the chain).
    POSTED = "posted", "已扣款"
    # Released by a decision (the payer declined, the terminal cancelled, the set-aside was changed
    # or its authorisation ended); nothing posted.
    VOIDED = "voided", "已解冻"
    # Released because its deadline passed (the sweep, or the first access after it); nothing posted.
    EXPIRED = "expired", "已过期"


class HoldPurpose(models.TextChoices):
    """What a hold is for (``Hold.reference`` names the instance)."""

    # A 2102 above acct_pay_limit waiting for the payer's PIN; reference "<fixmedins_code>:<msgid>".
    SETTLEMENT = "settlement", "待确认结算"
    # 共济额度: a payer's set-aside amount for one relative; reference "<payer psn_no>:<relative psn_no>".
    MULAID_SET_ASIDE = "mulaid_set_aside", "共济额度"


class MutualAidStatus(models.TextChoices):
    ACTIVE = "active", "有效"
    REVOKED = "revoked", "已撤销"
    ENDED = "ended", "已终止"
