"""What the core serves the wallet's workers:

- 9201 wallet events (the outbox): ``{"events": [{message_id, person_key,
  sequence, kind, payload, created_at}]}`` → ``{"results": [{message_id,
  result: applied|duplicate|error, error}]}``. Each ``message_id`` is applied
  once; per person ``sequence`` must grow (an older one after a newer one is
  refused, which the wallet's per-person ordering never sends).
- 9301 personal-account credits since a cursor, 9302 enrolment changes since
  a cursor, 9303 policy versions since a cursor: ``{"data": {"cursor": n,
  "limit": m}}`` → ``{"items": [...], "cursor": last id}``.
- 3201 totals per institution for a day, 3202 details of one institution's
  day (national reconciliation style).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError
from django.utils import timezone

from common.envelope import Envelope, EnvelopeError, InfCode
from common.money import fen_to_yuan

from ..db import core_atomic
from ..enums import LedgerAccountKind, PostingKind, SettlementStatus
from ..models import Entry, PolicyParameters, RegistryChange, Settlement, VoucherState, WalletEvent

MAX_EVENTS = 500
MAX_PULL = 1000


def _data(env: Envelope) -> dict:
    data = env.input.get("data")
    if not isinstance(data, dict):
        raise EnvelopeError(InfCode.INPUT_INVALID, "缺少 input.data", msgid=env.msgid)
    return data


def _apply(state: VoucherState, kind: str, payload: dict) -> None:
    if kind == "voucher.activated":
        state.status = "active"
    elif kind == "voucher.frozen":
        state.status = "frozen"
    elif kind == "voucher.unfrozen":
        state.status = "active"
    elif kind == "voucher.revoked":
        state.status = "revoked"
    elif kind == "authorization.added":
        state.channels = sorted(set(state.channels) | {payload.get("channel", "")})
    elif kind == "authorization.revoked":
        state.channels = sorted(set(state.channels) - {payload.get("channel", "")})
    elif kind == "pin.locked":
        state.pin_locked = True
    elif kind == "pin.unlocked":
        state.pin_locked = False
    else:
        raise ValueError(f"unknown event kind {kind}")


def wallet_events(env: Envelope) -> dict:
    events = env.input.get("events")
    if not isinstance(events, list) or not events or len(events) > MAX_EVENTS:
        raise EnvelopeError(InfCode.INPUT_INVALID, f"input.events 须为1-{MAX_EVENTS}条事件", msgid=env.msgid)
    results = []
    for event in events:
        message_id = str(event.get("message_id", "")) if isinstance(event, dict) else ""
        try:
            results.append({"message_id": message_id, **_one_event(event)})
        except (ValueError, TypeError, KeyError) as exc:
            results.append({"message_id": message_id, "result": "error", "error": str(exc)[:200]})
    return {"results": results}


def _one_event(event: dict) -> dict:
    message_id, psn_no = str(event["message_id"]), str(event["person_key"])
    sequence, kind, payload = int(event["sequence"]), str(event["kind"]), event.get("payload") or {}
    if WalletEvent.objects.filter(message_id=message_id).exists():
        return {"result": "duplicate"}
    try:
        with core_atomic():
            VoucherState.objects.get_or_create(psn_no=psn_no)
            state = VoucherState.objects.select_for_update().get(psn_no=psn_no)
            if WalletEvent.objects.filter(message_id=message_id).exists():  # re-check under the lock
                return {"result": "duplicate"}
            if sequence <= state.last_sequence:
                raise ValueError(f"out of order: sequence {sequence} after {state.last_sequence}")
            _apply(state, kind, payload)
            state.last_sequence = sequence
            state.save()
            WalletEvent.objects.create(message_id=message_id, psn_no=psn_no, sequence=sequence, kind=kind,
                                       payload=payload)
    except IntegrityError:  # a concurrent delivery of the same message won
        return {"result": "duplicate"}
    return {"result": "applied"}


def _cursor(env: Envelope) -> tuple[int, int]:
    data = _data(env)
    try:
        cursor, limit = int(data.get("cursor", 0)), min(int(data.get("limit", 500)), MAX_PULL)
    except (TypeError, ValueError):
        raise EnvelopeError(InfCode.INPUT_INVALID, "cursor/limit 须为整数", msgid=env.msgid)
    return max(cursor, 0), max(limit, 1)


def credits_since(env: Envelope) -> dict:
    """9301: personal-account credits (contribution postings) after ``cursor``."""
    cursor, limit = _cursor(env)
    entries = (Entry.objects.select_related("posting", "account")
               .filter(posting_id__gt=cursor, posting__kind=PostingKind.CONTRIBUTION_CREDIT,
                       account__kind=LedgerAccountKind.PERSONAL)
               .order_by("posting_id")[:limit])
    items = [{"posting_id": e.posting_id, "psn_no": e.account.owner, "amount": fen_to_yuan(e.amount_fen),
              "balc": fen_to_yuan(e.account.balance_fen), "credited_at": e.posting.created_at.isoformat(),
              "reference": e.posting.reference} for e in entries]
    return {"items": items, "cursor": items[-1]["posting_id"] if items else cursor}


def registry_changes_since(env: Envelope) -> dict:
    """9302: enrolment changes after ``cursor``."""
    cursor, limit = _cursor(env)
    rows = RegistryChange.objects.filter(pk__gt=cursor).order_by("pk")[:limit]
    items = [{"id": r.pk, "psn_no": r.psn_no, "kind": r.kind, "data": r.data, "at": r.created_at.isoformat()}
             for r in rows]
    return {"items": items, "cursor": items[-1]["id"] if items else cursor}


def policies_since(env: Envelope) -> dict:
    """9303: policy parameter versions after ``cursor``."""
    cursor, limit = _cursor(env)
    rows = PolicyParameters.objects.filter(pk__gt=cursor).order_by("pk")[:limit]
    items = [{"id": r.pk, "region": r.region, "insutype": r.insutype, "version": r.version,
              "effective_from": r.effective_from.isoformat(), "params": r.params} for r in rows]
    return {"items": items, "cursor": items[-1]["id"] if items else cursor}


def _day(env: Envelope) -> tuple[dt.datetime, dt.datetime]:
    data = _data(env)
    try:
        day = dt.date.fromisoformat(str(data.get("setl_date", "")))
    except ValueError:
        raise EnvelopeError(InfCode.INPUT_INVALID, "setl_date 须为 YYYY-MM-DD", msgid=env.msgid)
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def totals_of_day(env: Envelope) -> dict:
    """3201: per institution, the day's settlements still standing (reversed
    ones excluded): medfee_sumamt, fund_pay_sumamt, acct_pay, count."""
    start, end = _day(env)
    rows = Settlement.objects.filter(settled_at__gte=start, settled_at__lt=end, status=SettlementStatus.SETTLED)
    code = str(_data(env).get("fixmedins_code") or "")
    if code:
        rows = rows.filter(fixmedins_code=code)
    totals: dict[str, dict] = {}
    for s in rows.order_by("fixmedins_code", "pk"):
        t = totals.setdefault(s.fixmedins_code, {"medfee": 0, "fund": 0, "acct": 0, "count": 0})
        t["medfee"] += s.medfee_fen
        t["fund"] += s.fund_fen
        t["acct"] += s.acct_fen
        t["count"] += 1
    return {"stmtinfo": [{"fixmedins_code": code, "medfee_sumamt": fen_to_yuan(t["medfee"]),
                          "fund_pay_sumamt": fen_to_yuan(t["fund"]), "acct_pay": fen_to_yuan(t["acct"]),
                          "fixmedins_setl_cnt": t["count"]} for code, t in sorted(totals.items())]}


def details_of_day(env: Envelope) -> dict:
    """3202: every settlement of the day (settled or since reversed) for the
    institutions asked (``fixmedins_code`` or all)."""
    start, end = _day(env)
    rows = Settlement.objects.filter(settled_at__gte=start, settled_at__lt=end)
    code = str(_data(env).get("fixmedins_code") or "")
    if code:
        rows = rows.filter(fixmedins_code=code)
    return {"stmtdetail": [{
        "setl_id": s.setl_id, "fixmedins_code": s.fixmedins_code, "msgid": s.msgid, "psn_no": s.psn_no,
        "medfee_sumamt": fen_to_yuan(s.medfee_fen), "fund_pay_sumamt": fen_to_yuan(s.fund_fen),
        "acct_pay": fen_to_yuan(s.acct_fen), "psn_cash_pay": fen_to_yuan(s.cash_fen),
        "setl_stas": "1" if s.status == SettlementStatus.SETTLED else "2",
    } for s in rows.order_by("pk")]}
