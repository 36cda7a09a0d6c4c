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
