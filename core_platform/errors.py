"""Typed refusals of the core's services. All are ``ApplicationError`` (a
stable code and a Chinese message); commands turn them into CommandError and
envelope handlers into an ``infcode``."""

from common.errors import ApplicationError


class CoreRefusal(ApplicationError):
    """Base of the settlement core's refusals: an application error the core
    explains (a stable code, a Chinese message); over the wire it becomes an
    ``infcode`` that the wallet raises as ``settlement.errors.CoreRefused``.
    Not the wallet's ``settlement.errors.CoreError``, the base of a failed
    call from the wallet to the core (not reached, no answer, or refused)."""


class LedgerUnbalanced(CoreRefusal):
    def __init__(self, message: str = "记账分录借贷不平衡"):
        super().__init__("LEDGER_UNBALANCED", message)


class InsufficientBalance(CoreRefusal):
    def __init__(self, owner: str):
        super().__init__("INSUFFICIENT_BALANCE", "个人账户余额不足", detail={"owner": owner})


class AmountOutOfRange(CoreRefusal):
    """A balance or annual total would leave what a 64-bit column holds
    (PostgreSQL would fail the statement; SQLite would turn it into a float)."""

    def __init__(self, owner: str):
        super().__init__("AMOUNT_OUT_OF_RANGE", "累计金额超出账户可记录的范围，请核对金额", detail={"owner": owner})


class PostingDuplicate(CoreRefusal):
    def __init__(self, kind: str, reference: str):
        super().__init__("POSTING_DUPLICATE", "该业务流水已记账", detail={"kind": kind, "reference": reference})


class ReferenceConflict(CoreRefusal):
    def __init__(self, reference: str):
        super().__init__("REFERENCE_CONFLICT", "该流水号已用于一笔不同的记账", detail={"reference": reference})


class InvalidInput(CoreRefusal):
    def __init__(self, message: str, detail: dict | None = None):
        super().__init__("INVALID_INPUT", message, detail=detail)


class NotFound(CoreRefusal):
    def __init__(self, message: str, detail: dict | None = None):
        super().__init__("NOT_FOUND", message, status=404, detail=detail)


class Conflict(CoreRefusal):
    def __init__(self, message: str, detail: dict | None = None):
        super().__init__("CONFLICT", message, status=409, detail=detail)


class HoldClosed(CoreRefusal):
    """The hold is no longer pending (posted, voided, expired or past its
    deadline): it cannot be posted or voided again."""

    def __init__(self, message: str = "该冻结已扣款、已解冻或已过期", detail: dict | None = None):
        super().__init__("HOLD_CLOSED", message, status=409, detail=detail)
