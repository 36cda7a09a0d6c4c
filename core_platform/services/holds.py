"""Settlement holds over the envelope (ours; issue #21 item 2): a 2102 above
the wallet's confirmation threshold that carries ``input.hold`` places a
hold on the person's account instead of answering 4008 with nothing
reserved (services/settle.py ``_hold_place``); these transactions then
decide it, each idempotent per msgid like every core transaction:

- 9410 冻结查询: ``{"data": {"hold_id"}}`` → ``output.hold`` (a hold past
  its deadline is expired first);
- 9411 冻结确认扣款: ``{"data": {"hold_id"}}`` → the bill kept with the hold
  is settled under the original 2102's msgid (``medins_setl_id``; so 2103,
  2601 by that msgid, 3201/3202 see an ordinary settlement): the split is
  computed again with exactly the held amount as the account's money and
  must equal the one held (4003 otherwise, the hold stays pending until it
  is voided or expires); the answer is 2102's, plus ``output.hold``;
- 9412 冻结撤销: ``{"data": {"hold_id", "reason"?}}`` → the hold voided;
  one already voided or expired answers its state (nothing changes); a
  posted one is 4016 HOLD_CLOSED.

A hold is the institution's: another ``fixmedins_code`` gets 4015
HOLD_NOT_FOUND, as does a set-aside hold (those belong to 9403 and the
authorisation's life). A hold no longer pending (or past its deadline) is
4016 HOLD_CLOSED with ``output.hold`` saying what became of it.
"""

from __future__ import annotations

import re

from django.utils import timezone

from common.envelope import Envelope, EnvelopeError, InfCode

from ..enums import HoldPurpose, HoldStatus
from ..errors import HoldClosed
from ..models import Hold, Settlement
from .ledger import available_fen, hold_void
from .settle import _split, bill_parse, hold_output, settlement_post

_HOLD_ID = re.compile(r"H[0-9]{14}[0-9A-F]{12}", re.ASCII)


def _hold(env: Envelope, *, lock: bool = False) -> Hold:
    data = env.input.get("data")
    if not isinstance(data, dict):
        raise EnvelopeError(InfCode.INPUT_INVALID, "缺少 input.data", msgid=env.msgid)
    hold_id = data.get("hold_id")
    if not isinstance(hold_id, str) or not _HOLD_ID.fullmatch(hold_id):
        raise EnvelopeError(InfCode.INPUT_INVALID, "hold_id 须为2102返回的冻结编号", msgid=env.msgid)
    hold = Hold.objects.filter(hold_id=hold_id, purpose=HoldPurpose.SETTLEMENT,
                               fixmedins_code=env.fixmedins_code).first()
    if hold is None:
        raise EnvelopeError(InfCode.HOLD_NOT_FOUND, "未找到该冻结记录", msgid=env.msgid)
    return hold


def _output(hold: Hold) -> dict:
    setl_id = ""
    if hold.status == HoldStatus.POSTED:
        setl_id = Settlement.objects.filter(posting_id=hold.posting_id).values_list("setl_id", flat=True).first() or ""
    return {"hold": hold_output(hold, setl_id)}


def _expire_if_due(hold: Hold) -> None:
    if hold.status == HoldStatus.PENDING and hold.deadline is not None and hold.deadline <= timezone.now():
        hold_void(hold)  # past its deadline: expired, not voided


def _closed(env: Envelope, hold: Hold):
    raise EnvelopeError(InfCode.HOLD_CLOSED, {HoldStatus.POSTED: "该冻结已确认扣款", HoldStatus.VOIDED: "该冻结已撤销",
                                              HoldStatus.EXPIRED: "该冻结已过期"}.get(hold.status, "该冻结已结束"),
                        msgid=env.msgid, output=_output(hold))


def hold_query(env: Envelope) -> dict:
    """9410: the hold's state."""
    hold = _hold(env)
    _expire_if_due(hold)
    return _output(hold)


def hold_settle(env: Envelope) -> dict:
    """9411: the payer confirmed: settle the bill the hold was placed for."""
    hold = _hold(env)
    if hold.status != HoldStatus.PENDING or (hold.deadline is not None and hold.deadline <= timezone.now()):
        _closed(env, hold)
    detail = hold.detail or {}
    original = Envelope(infno="2102", msgid=str(detail.get("msgid", "")), fixmedins_code=hold.fixmedins_code,
                        inf_time=env.inf_time, input=detail.get("input") or {}, fields=env.fields,
                        client_id=env.client_id)
    bill = bill_parse(original)
    if bill.person.psn_no != hold.account.owner:
        raise AssertionError("a settlement hold is on the bill's person's account")
    result, account, accumulator, _ = _split(original, bill, lock=True, hold=hold)
    hold.refresh_from_db()  # read again under the account's lock
    if hold.status != HoldStatus.PENDING:
        _closed(env, hold)
    available = available_fen(account, locked=True)  # the rest of the account: this hold is still pending
    try:
        output = settlement_post(original, bill, result, account, accumulator, available, own_hold=hold)
    except HoldClosed:  # its deadline passed a moment ago
        hold.refresh_from_db()
        _closed(env, hold)
    hold.refresh_from_db()
    output.update(_output(hold))
    return output


def hold_cancel(env: Envelope) -> dict:
    """9412: the payer declined (or the terminal gave up): release the hold."""
    hold = _hold(env)
    data = env.input["data"]
    reason = data.get("reason") if isinstance(data.get("reason"), str) else ""
    if hold.status == HoldStatus.POSTED:
        _closed(env, hold)
    hold_void(hold, reason=reason[:200] or f"撤销 {env.msgid}")
    if hold.status == HoldStatus.POSTED:  # a 9411 won the race
        _closed(env, hold)
    return _output(hold)
