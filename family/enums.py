"""States and vocabularies of family bindings (亲情账户). See docs/subsystems/family.md."""

from django.db import models


class Relation(models.TextChoices):
    """The relative's relation TO THE BINDER ("parent": the relative is the binder's parent)."""

    SPOUSE = "spouse", "配偶"
    PARENT = "parent", "父母"
    CHILD = "child", "子女"
    SIBLING = "sibling", "兄弟姐妹"
    GRANDPARENT = "grandparent", "祖父母/外祖父母"
    GRANDCHILD = "grandchild", "孙子女/外孙子女"


class Consent(models.TextChoices):
    """How the relative (or their guardian) agreed to the binding."""

    LIVENESS = "liveness", "本人人脸识别（绑定人手机）"
    """The relative, 16 or over, passes liveness in front of the binder's phone."""

    INVITATION = "invitation", "邀请本人确认"
    """The relative, 16 or over, opens a one-time invitation on their own
    phone and accepts it with their own liveness."""

    GUARDIAN = "guardian", "监护人承诺"
    """The relative is under 16: the binder, as guardian, accepts the
    commitment statement and gives household-register details; no face.
    Audited as guardian-asserted."""


class BindingStatus(models.TextChoices):
    """Life of a binding. Moves forward only, by compare-and-swap."""

    PENDING = "pending", "待确认"  # waiting for the relative's consent (liveness / invitation)
    ACTIVE = "active", "已绑定"  # in force: the binder may see and show
    ENDED = "ended", "已解除"  # ended by either side (or consent never given); final


class RelationCheck(models.TextChoices):
    """The claimed relation as the settlement core's registry (9402) judged it."""

    VERIFIED = "verified", "已核验"  # the registry holds the relation (household, spouse, parent/child, derived)
    PENDING = "pending", "待核验"  # not checked yet (core unreachable, or cannot tell)
    REFUTED = "refuted", "核验不符"  # the registry says the two are not so related


class GuardianDocType(models.TextChoices):
    HUKOU = "hukou", "户口簿"
    BIRTH_CERT = "birth_cert", "出生医学证明"


class EndedBy(models.TextChoices):
    BINDER = "binder", "绑定人解除"
    RELATIVE = "relative", "亲属本人解除"
    EXPIRED = "expired", "未完成授权"


class CodeViewKind(models.TextChoices):
    """What the relative's "who showed my code" list records."""

    SHOWN = "shown", "展示医保码"  # a binder opened the relative's code page (or fetched a code)
    SCANNED = "scanned", "医保码被扫描"  # a code a binder showed was decoded by an institution


# Wallet events for the core (9201 outbox, person_key = the binder's psn_no), as the contract names them.
# Plain strings: settlement's OutboxKind choices gain them with settlement's next migration.
EVENT_BINDING_ADDED = "family.binding_added"
EVENT_BINDING_ENDED = "family.binding_ended"


class InvitationState(models.TextChoices):
    """An invitation as the relative who opened it sees it."""

    OPEN = "open", "待确认"
    USED = "used", "已使用"  # accepted once; never again
    EXPIRED = "expired", "已失效"  # past 24 h, replaced by a newer one, or the binding no longer waits


# --- mutual aid (家庭共济, issue #13 part 3) ---------------------------------------------

class MutualAidStatus(models.TextChoices):
    """Life of a mutual-aid authorisation. Moves forward only (active -> revoked | ended)."""

    ACTIVE = "active", "已授权"
    REVOKED = "revoked", "已撤销"  # the payer revoked it
    ENDED = "ended", "已终止"  # ended by itself: binding ended, either enrolment changed, relation refuted


class MutualAidMode(models.TextChoices):
    DIRECT = "direct", "直接使用个人账户"  # the payer's account pays the relative's bills up to the caps
    SET_ASIDE = "set_aside", "划定共济额度"  # an amount frozen in the payer's account, used only for this relative


class MutualAidUseStatus(models.TextChoices):
    """One payment of the relative that carried the authorisation to the core."""

    SENDING = "sending", "结算中"  # recorded under the authorisation's row lock, before the settle was sent
    SETTLED = "settled", "已支付"  # the core settled it (acct_mulaid_pay may be 0)
    REVERSED = "reversed", "已撤销"  # the settlement was reversed: both accounts restored
    NOT_USED = "not_used", "未使用"  # the payment failed, was declined or went without the authorisation


class ContributionStatus(models.TextChoices):
    PENDING = "pending", "缴费处理中"  # sent (or about to be) to the core; a retry with the same key completes it
    PAID = "paid", "已缴费"
    REVERSED = "reversed", "已撤销"
    FAILED = "failed", "缴费失败"


# Wallet events for the core (9201 outbox, person_key = the PAYER's psn_no).
EVENT_MULAID_AUTHORIZED = "mulaid.authorized"
EVENT_MULAID_REVOKED = "mulaid.revoked"
