from django.db import models


class Role(models.TextChoices):
    """A staff member's role: one Django group each (staff/roles.py)."""

    AGENT = "agent", "客服专员"  # looks people up, starts reset tickets, freezes, revokes a channel, asks for approvals
    SUPERVISOR = "supervisor", "客服主管"  # decides the team's requests (unlock, unfreeze); sees the team's queue
    AUDITOR = "auditor", "审计员"  # reads and exports the audit trail; never writes


class LookupBy(models.TextChoices):
    ID_NUMBER = "id_number", "身份证号"  # matched through the keyed hash
    PSN_NO = "psn_no", "人员编号"
    NAME_BIRTH = "name_birth", "姓名+出生日期"


class RequestKind(models.TextChoices):
    """What an agent asks a supervisor to approve (four eyes)."""

    UNLOCK = "unlock", "解锁支付密码"  # after an in-person ID check at the counter
    UNFREEZE = "unfreeze", "解冻医保电子凭证"


class RequestStatus(models.TextChoices):
    """An approval request: pending → approved / denied / cancelled (by compare-and-swap)."""

    PENDING = "pending", "待审批"
    APPROVED = "approved", "已批准"  # the effect (unlock / unfreeze) ran in the same transaction
    DENIED = "denied", "已驳回"
    CANCELLED = "cancelled", "已撤回"  # withdrawn by the agent who asked


class AlertKind(models.TextChoices):
    LOOKUP_LIMIT = "lookup_limit", "查询次数超限"  # an agent went past STAFF_LOOKUPS_PER_HOUR
    LOGIN_THROTTLED = "login_throttled", "登录失败次数过多"  # a username was throttled
