"""What the core serves the wallet's workers:

- 9201 wallet events (the outbox): ``{"events": [{message_id, person_key,
  sequence, kind, payload, created_at}]}`` → ``{"results": [{message_id,
  result: applied|duplicate|error|skipped, error}]}``. Each ``message_id`` is
  applied once; per person ``sequence`` must grow (an older one after a newer
  one is refused, which the wallet's per-person ordering never sends); a
  batch may hold several events of one person, in order, and after one of
  them fails the rest of that person's are ``skipped`` (not applied).
- 9301 personal-account credits since a cursor, 9302 enrolment changes since
  a cursor, 9303 policy versions since a cursor: ``{"data": {"cursor": n,
  "limit": m}}`` → ``{"items": [...], "cursor": last id}``.
- 3201 对总账 and 3202 对明细账, in two forms:

  * national (``input.data`` has ``stmt_begndate``): the calling institution
    sends its totals for a period (and, for 3202, optionally its rows inline
    as ``input.data.detail``, since this platform has no file upload); the
    core compares them with its own standing settlements and answers 3201
    ``stmtinfo {setl_optins, stmt_rslt "0" 平 / "1" 不平, stmt_rslt_dscr}``,
    3202 ``fileinfo {file_qury_no, filename, dld_endtime}`` — the handle of
    the result file the national platform would offer for download — with
    the file's rows inline in our extra node ``filedata`` (no 9102 download
    here);
  * ours (``input.data.setl_date``, used by the wallet's daily reconciliation):
    per-institution totals (``stmtinfo`` list) and every settlement of the day
    (``stmtdetail``).

  Amounts are two-place ``Decimal``s (JSON numbers) in both.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import NamedTuple

from django.db import DatabaseError, IntegrityError, connections
from django.utils import timezone

from common.envelope import Envelope, EnvelopeError, InfCode
from common.fields import FieldError, amount_fen, is_ascii_digits
from common.money import fen_to_amount

from ..db import CORE_DB, core_atomic
from ..enums import LedgerAccountKind, PostingKind, SettlementStatus
from ..models import Entry, Institution, PolicyParameters, RegistryChange, Settlement, VoucherState, WalletEvent
from .filings import FILING_EVENT_KINDS, filing_event_apply

from .mutual_aid import EVENT_KINDS as FAMILY_EVENT_KINDS
from .mutual_aid import event_apply as family_event_apply

MAX_EVENTS = 500
MAX_PULL = 1000


def _data(env: Envelope) -> dict:
    data = env.input.get("data")
    if not isinstance(data, dict):
        raise EnvelopeError(InfCode.INPUT_INVALID, "缺少 input.data", msgid=env.msgid)
    return data


def _apply(state: VoucherState, kind: str, payload: dict) -> None:
    if kind in FAMILY_EVENT_KINDS:  # bindings and mutual-aid authorisations (services/mutual_aid.py)
        family_event_apply(state.psn_no, kind, payload)
        return
    if kind in FILING_EVENT_KINDS:  # cross-province filings (services/filings.py)
        filing_event_apply(state.psn_no, kind, payload)
        return
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
    elif kind == "pin.changed":  # the person changed the PIN (old PIN verified, so it was not locked)
        state.pin_locked = False
    elif kind == "pin.reset":  # forgot-PIN with liveness: a new PIN, and any lock lifted
        state.pin_locked = False
    else:
        raise ValueError(f"unknown event kind {kind}")


def wallet_events(env: Envelope) -> dict:
    """9201: apply a batch of wallet events (see the module docstring).

    The events that change only the VoucherState (voucher, authorisation,
    PIN) are applied in one transaction per run with set-based reads and
    writes (the persons' rows created if missing and locked in psn_no order,
    the run's already-applied message_ids read once under those locks, the
    new WalletEvent rows inserted at once, the changed states written
    together); family and filing events, which write their own tables and
    take their own locks, keep one transaction each, in their place in the
    batch (so a person's order holds). Per event the answer is as before:
    ``applied``, ``duplicate`` (its message_id was applied earlier) or
    ``error``; and ``skipped`` for the events of a person after that
    person's failed one in the same batch (never applied out of order: the
    wallet sends them again after the failed one). Should the batch
    transaction fail as a whole (a unique-key race, a deadlock), the batch
    is applied again one event per transaction, as before batching."""
    events = env.input.get("events")
    if not isinstance(events, list) or not events or len(events) > MAX_EVENTS:
        raise EnvelopeError(InfCode.INPUT_INVALID, f"input.events 须为1-{MAX_EVENTS}条事件", msgid=env.msgid)
    results: list[dict | None] = [None] * len(events)
    parsed: list[tuple[int, _Event]] = []
    malformed: set[str] = set()  # persons with a malformed event: their later ones are skipped
    for index, event in enumerate(events):
        try:
            item = _parse_event(event)
        except (ValueError, TypeError, KeyError) as exc:
            message_id = str(event.get("message_id", "")) if isinstance(event, dict) else ""
            results[index] = {"message_id": message_id, "result": "error", "error": str(exc)[:200]}
            if isinstance(event, dict) and event.get("person_key") is not None:
                malformed.add(str(event["person_key"]))
            continue
        if item.psn_no in malformed:
            results[index] = {"message_id": item.message_id, **_SKIPPED}
        else:
            parsed.append((index, item))
    outcomes: list[dict] = []
    failed: set[str] = set()  # persons with a failed event in this batch: their later ones are skipped
    for run in _runs([event for _, event in parsed]):
        if run[0].kind in _OWN_TRANSACTION:
            outcomes += _apply_each(run, failed)
            continue
        try:
            outcome, failed_now = _apply_batch(run, failed)
        except DatabaseError:  # a race on a unique key or a deadlock: one transaction per event
            outcome = _apply_each(run, failed)
        else:
            failed |= failed_now
        outcomes += outcome
    for (index, event), outcome in zip(parsed, outcomes):
        results[index] = {"message_id": event.message_id, **outcome}
    return {"results": results}


class _Event(NamedTuple):
    message_id: str
    psn_no: str
    sequence: int
    kind: str
    payload: dict


def _parse_event(event) -> _Event:
    if not isinstance(event, dict):
        raise ValueError("event must be an object")
    message_id, psn_no = str(event["message_id"]), str(event["person_key"])
    sequence, kind, payload = event["sequence"], str(event["kind"]), event.get("payload") or {}
    if not message_id or len(message_id) > 36 or not psn_no or len(psn_no) > 30:
        raise ValueError("message_id (1-36) and person_key (1-30) are required")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 < sequence < 2**63:
        raise ValueError(f"sequence must be a positive integer, not {sequence!r}")
    if not isinstance(payload, dict):
        raise ValueError("payload must be an object")
    return _Event(message_id, psn_no, sequence, kind, payload)


_SKIPPED = {"result": "skipped", "error": "not applied: an earlier event of this person in this batch failed"}
_STATE_FIELDS = ("status", "channels", "pin_locked", "last_sequence", "updated_at")
# Events that write their own tables and take their own locks (a filing row, a binding, ledger accounts
# when an authorisation ends): each in its own transaction as before batching, holding one person's lock.
_OWN_TRANSACTION = frozenset(FAMILY_EVENT_KINDS) | frozenset(FILING_EVENT_KINDS)


def _runs(events: list[_Event]) -> list[list[_Event]]:
    """The batch in order, cut into runs: each event of ``_OWN_TRANSACTION``
    alone, the events between them together."""
    runs: list[list[_Event]] = []
    for event in events:
        if event.kind in _OWN_TRANSACTION or not runs or runs[-1][0].kind in _OWN_TRANSACTION:
            runs.append([event])
        else:
            runs[-1].append(event)
    return runs


def _apply_batch(events: list[_Event], failed_before: set[str]) -> tuple[list[dict], set[str]]:
    """Events that change only VoucherState, in one transaction (see
    ``wallet_events``); returns the outcomes and the persons that failed."""
    psn_nos = sorted({e.psn_no for e in events})
    with core_atomic():
        VoucherState.objects.bulk_create([VoucherState(psn_no=p) for p in psn_nos], ignore_conflicts=True)
        states = {s.psn_no: s for s in VoucherState.objects.select_for_update().filter(psn_no__in=psn_nos)
                  .order_by("psn_no")}
        # Read under the persons' locks: a concurrent delivery of one of these events has committed by now.
        done = set(WalletEvent.objects.filter(message_id__in=[e.message_id for e in events])
                   .values_list("message_id", flat=True))
        outcomes, rows, changed, failed = [], [], {}, set(failed_before)
        for event in events:
            if event.psn_no in failed:
                outcomes.append(_SKIPPED)
                continue
            if event.message_id in done:
                outcomes.append({"result": "duplicate"})
                continue
            state = states[event.psn_no]
            try:
                if event.sequence <= state.last_sequence:
                    raise ValueError(f"out of order: sequence {event.sequence} after {state.last_sequence}")
                _apply(state, event.kind, event.payload)  # in memory; raises before changing anything
                rows.append(WalletEvent(**event._asdict()))
            except (ValueError, TypeError, KeyError) as exc:
                failed.add(event.psn_no)
                outcomes.append({"result": "error", "error": str(exc)[:200]})
                continue
            state.last_sequence = event.sequence
            changed[event.psn_no] = state
            done.add(event.message_id)
            outcomes.append({"result": "applied"})
        WalletEvent.objects.bulk_create(rows)
        _states_save(list(changed.values()))
    return outcomes, failed - failed_before


def _states_save(states: list[VoucherState]) -> None:
    """Write the changed states: one UPDATE per row, sent together
    (``executemany``: a pipeline on psycopg 3). Not ``bulk_update``, whose
    CASE WHEN per field grows with the square of the rows."""
    if not states:
        return
    connection = connections[CORE_DB]
    now = timezone.now()
    fields = [VoucherState._meta.get_field(name) for name in _STATE_FIELDS]
    sql = (f"UPDATE {connection.ops.quote_name(VoucherState._meta.db_table)} SET "
           + ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields) + " WHERE id = %s")
    rows = []
    for state in states:
        state.updated_at = now
        rows.append([f.get_db_prep_save(getattr(state, f.attname), connection) for f in fields] + [state.pk])
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _apply_each(events: list[_Event], failed: set[str]) -> list[dict]:
    """One transaction per event (``_OWN_TRANSACTION`` kinds, and the
    fallback of ``_apply_batch``); adds the persons that fail to ``failed``."""
    outcomes = []
    for event in events:
        if event.psn_no in failed:
            outcomes.append(_SKIPPED)
            continue
        try:
            outcome = _one_event(event)
        except (ValueError, TypeError, KeyError) as exc:
            outcome = {"result": "error", "error": str(exc)[:200]}
        if outcome["result"] == "error":
            failed.add(event.psn_no)
        outcomes.append(outcome)
    return outcomes


def _one_event(event: _Event) -> dict:
    message_id, psn_no, sequence, kind, payload = event
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
            WalletEvent.objects.create(**event._asdict())
    except IntegrityError:  # a concurrent delivery of the same message won
        return {"result": "duplicate"}
    return {"result": "applied"}


def _cursor(env: Envelope) -> tuple[int, int]:
    data = _data(env)
    values = []
    for name, default in (("cursor", 0), ("limit", 500)):
        value = data.get(name, default)
        if isinstance(value, str) and is_ascii_digits(value, max_length=18):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**18:
            raise EnvelopeError(InfCode.INPUT_INVALID, "cursor/limit 须为非负整数", msgid=env.msgid)
        values.append(value)
    cursor, limit = values
    return cursor, max(min(limit, MAX_PULL), 1)


def credits_since(env: Envelope) -> dict:
    """9301: personal-account credits (contribution postings) after ``cursor``."""
    cursor, limit = _cursor(env)
    entries = (Entry.objects.select_related("posting", "account")
               .filter(posting_id__gt=cursor, posting__kind=PostingKind.CONTRIBUTION_CREDIT,
                       account__kind=LedgerAccountKind.PERSONAL)
               .order_by("posting_id")[:limit])
    items = [{"posting_id": e.posting_id, "psn_no": e.account.owner, "amount": fen_to_amount(e.amount_fen),
              "balc": fen_to_amount(e.account.balance_fen), "credited_at": e.posting.created_at.isoformat(),
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
    """3201, national form or ours (see the module docstring)."""
    if "stmt_begndate" in _data(env):
        return _national_totals(env)
    return _totals_of_day(env)


def details_of_day(env: Envelope) -> dict:
    """3202, national form or ours (see the module docstring)."""
    if "stmt_begndate" in _data(env):
        return _national_details(env)
    return _details_of_day(env)


def _totals_of_day(env: Envelope) -> dict:
    """3201 (ours): per institution, the day's settlements still standing (reversed
    ones excluded): medfee_sumamt, fund_pay_sumamt, acct_pay, count."""
    start, end = _day(env)
    rows = Settlement.objects.filter(settled_at__gte=start, settled_at__lt=end, status=SettlementStatus.SETTLED)
    code = str(_data(env).get("fixmedins_code") or "")
    if code:
        rows = rows.filter(fixmedins_code=code)
    totals: dict[str, dict] = {}
    for s in rows.order_by("fixmedins_code", "pk"):
        t = totals.setdefault(s.fixmedins_code, {"medfee": 0, "fund": 0, "acct": 0, "mulaid": 0, "count": 0})
        t["medfee"] += s.medfee_fen
        t["fund"] += s.fund_fen
        t["acct"] += s.acct_fen
        t["mulaid"] += s.mulaid_fen
        t["count"] += 1
    return {"stmtinfo": [{"fixmedins_code": code, "medfee_sumamt": fen_to_amount(t["medfee"]),
                          "fund_pay_sumamt": fen_to_amount(t["fund"]), "acct_pay": fen_to_amount(t["acct"]),
                          "acct_mulaid_pay": fen_to_amount(t["mulaid"]), "fixmedins_setl_cnt": t["count"]} for code, t in sorted(totals.items())]}


def _details_of_day(env: Envelope) -> dict:
    """3202 (ours): every settlement of the day (settled or since reversed) for the
    institutions asked (``fixmedins_code`` or all)."""
    start, end = _day(env)
    rows = Settlement.objects.filter(settled_at__gte=start, settled_at__lt=end)
    code = str(_data(env).get("fixmedins_code") or "")
    if code:
        rows = rows.filter(fixmedins_code=code)
    return {"stmtdetail": [{
        "setl_id": s.setl_id, "fixmedins_code": s.fixmedins_code, "msgid": s.msgid, "psn_no": s.psn_no,
        "medfee_sumamt": fen_to_amount(s.medfee_fen), "fund_pay_sumamt": fen_to_amount(s.fund_fen),
        "acct_pay": fen_to_amount(s.acct_fen), "acct_mulaid_pay": fen_to_amount(s.mulaid_fen),
        "mulaid_payer_psn_no": s.mulaid_payer_psn_no, "psn_cash_pay": fen_to_amount(s.cash_fen),
        "setl_stas": "1" if s.status == SettlementStatus.SETTLED else "2",
    } for s in rows.order_by("pk")]}


# --- 3201 / 3202, national form --------------------------------------------------

CLR_TYPE = {"pharmacy": "41", "hospital": "11"}  # as settlement.CLR_TYPE: 41 定点药店购药, 11 门诊


def _refuse(env: Envelope, message: str):
    raise EnvelopeError(InfCode.INPUT_INVALID, message, msgid=env.msgid)


def _amount(env: Envelope, data: dict, name: str, where: str = "") -> int:
    try:
        return amount_fen(data.get(name), f"{where}{name}", allow_negative=True)
    except FieldError as error:
        _refuse(env, error.message)


def _count(env: Envelope, data: dict, name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not (isinstance(value, int) or is_ascii_digits(value, max_length=10)):
        _refuse(env, f"{name} 须为非负整数")
    if int(value) < 0:
        _refuse(env, f"{name} 须为非负整数")
    return int(value)


def _period(env: Envelope, data: dict) -> tuple[dt.datetime, dt.datetime]:
    days = []
    for name in ("stmt_begndate", "stmt_enddate"):
        text = data.get(name)
        if not isinstance(text, str) or len(text) != 10 or not text.isascii():
            _refuse(env, f"{name} 须为 yyyy-MM-dd 格式的日期")
        try:
            days.append(dt.date.fromisoformat(text))
        except ValueError:
            _refuse(env, f"{name} 须为 yyyy-MM-dd 格式的日期")
    if days[1] < days[0] or (days[1] - days[0]).days > 366:
        _refuse(env, "对账期间须为 stmt_begndate 至 stmt_enddate，且不超过一年")
    start = timezone.make_aware(dt.datetime.combine(days[0], dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(days[1] + dt.timedelta(days=1), dt.time.min))


def _code(env: Envelope, data: dict, name: str, length: int) -> str:
    value = data.get(name)
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > length or not value.isascii() or not value.isalnum():
        _refuse(env, f"{name} 须为最多{length}位字母或数字代码")
    return value


def _national_rows(env: Envelope, data: dict, *, standing_only: bool):
    """This institution's settlements in the period, of the settlement
    agency (setl_optins = the insured region), insutype and clr_type asked."""
    start, end = _period(env, data)
    institution = Institution.objects.filter(fixmedins_code=env.fixmedins_code).first()
    if institution is None:
        _refuse(env, "定点医药机构不存在")
    rows = Settlement.objects.filter(fixmedins_code=env.fixmedins_code, settled_at__gte=start, settled_at__lt=end)
    if standing_only:
        rows = rows.filter(status=SettlementStatus.SETTLED)
    setl_optins = _code(env, data, "setl_optins", 6)
    if setl_optins:
        rows = rows.filter(insured_region=setl_optins)
    insutype = _code(env, data, "insutype", 6)
    if insutype:
        rows = rows.filter(insutype=insutype)
    clr_type = _code(env, data, "clr_type", 6)
    if clr_type and clr_type != CLR_TYPE.get(institution.kind, "41"):
        rows = rows.none()
    return setl_optins, rows.order_by("pk")


def _compare(pairs: list[tuple[str, int, int]], count_sent: int, count_core: int) -> tuple[str, str]:
    differing = [f"{label}：机构 {fen_to_amount(sent)} 元 / 中心 {fen_to_amount(core)} 元"
                 for label, sent, core in pairs if sent != core]
    if count_sent != count_core:
        differing.append(f"结算笔数：机构 {count_sent} 笔 / 中心 {count_core} 笔")
    if not differing:
        return "0", f"对账一致：{count_core} 笔，医疗费总额 {fen_to_amount(pairs[0][2])} 元"
    return "1", ("对账不一致：" + "；".join(differing))[:200]


def _national_totals(env: Envelope) -> dict:
    """3201 对总账: the institution's totals against the core's standing
    settlements of the period."""
    data = _data(env)
    sent = {name: _amount(env, data, name) for name in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")}
    count = _count(env, data, "fixmedins_setl_cnt")
    setl_optins, rows = _national_rows(env, data, standing_only=True)
    rows = list(rows)
    core = {"medfee_sumamt": sum(s.medfee_fen for s in rows), "fund_pay_sumamt": sum(s.fund_fen for s in rows),
            "acct_pay": sum(s.acct_fen for s in rows)}
    result, text = _compare([("医疗费总额", sent["medfee_sumamt"], core["medfee_sumamt"]),
                             ("基金支付总额", sent["fund_pay_sumamt"], core["fund_pay_sumamt"]),
                             ("个人账户支付", sent["acct_pay"], core["acct_pay"]),
                             *_mulaid_pair(env, data, rows)], count, len(rows))
    return {"stmtinfo": {"setl_optins": setl_optins, "stmt_rslt": result, "stmt_rslt_dscr": text}}


def _mulaid_pair(env: Envelope, data: dict, rows) -> list[tuple[str, int, int]]:
    """acct_mulaid_pay (个人账户共济支付), compared when the institution sends it."""
    if data.get("acct_mulaid_pay") in (None, ""):
        return []
    return [("个人账户共济支付", _amount(env, data, "acct_mulaid_pay"), sum(s.mulaid_fen for s in rows))]


DETAIL_MAX_ROWS = 5000


def _national_details(env: Envelope) -> dict:
    """3202 对明细账: every settlement of the period (standing or since
    reversed), checked against the institution's rows if it sent them
    (``input.data.detail``: setl_id, medfee_sumamt, fund_pay_sumamt,
    acct_pay, refd_setl_flag) and against its totals otherwise."""
    data = _data(env)
    if data.get("file_qury_no") and data.get("detail") is None:
        _refuse(env, "本平台不提供文件上传，请在 input.data.detail 中直接提交明细（或不填 file_qury_no 只对总额）")
    sent_rows = data.get("detail") or []
    if not isinstance(sent_rows, list) or len(sent_rows) > DETAIL_MAX_ROWS:
        _refuse(env, f"input.data.detail 须为最多{DETAIL_MAX_ROWS}条明细")
    theirs = {}
    for index, row in enumerate(sent_rows, 1):
        where = f"第{index}条明细 "
        if not isinstance(row, dict) or not isinstance(row.get("setl_id"), str) or not row["setl_id"]:
            _refuse(env, f"{where}须有 setl_id")
        theirs[row["setl_id"]] = {"medfee": _amount(env, row, "medfee_sumamt", where),
                                  "fund": _amount(env, row, "fund_pay_sumamt", where),
                                  "acct": _amount(env, row, "acct_pay", where),
                                  "refd": "1" if str(row.get("refd_setl_flag", "0")) == "1" else "0"}
        if row.get("acct_mulaid_pay") not in (None, ""):  # compared when sent
            theirs[row["setl_id"]]["mulaid"] = _amount(env, row, "acct_mulaid_pay", where)
    medfee, fund, cash = (_amount(env, data, name) for name in ("medfee_sumamt", "fund_pay_sumamt", "cash_payamt"))
    count = _count(env, data, "fixmedins_setl_cnt")
    _, rows = _national_rows(env, data, standing_only=False)
    filedata, standing = [], []
    for s in rows:
        refd = "1" if s.status == SettlementStatus.REVERSED else "0"
        if refd == "0":
            standing.append(s)
        mine = {"medfee": s.medfee_fen, "fund": s.fund_fen, "acct": s.acct_fen, "refd": refd}
        other = theirs.pop(s.setl_id, None)
        if other is not None and "mulaid" in other:
            mine["mulaid"] = s.mulaid_fen
        if not sent_rows:
            result, memo = "0", ""
        elif other is None:
            result, memo = "1", "机构无此结算记录"
        elif other != mine:
            result, memo = "1", "金额或撤销标志不一致"
        else:
            result, memo = "0", ""
        filedata.append({"psn_no": s.psn_no, "mdtrt_id": s.mdtrt_id, "setl_id": s.setl_id, "msgid": s.msgid,
                         "stmt_rslt": result, "refd_setl_flag": refd, "memo": memo,
                         "medfee_sumamt": fen_to_amount(s.medfee_fen), "fund_pay_sumamt": fen_to_amount(s.fund_fen),
                         "acct_pay": fen_to_amount(s.acct_fen), "acct_mulaid_pay": fen_to_amount(s.mulaid_fen)})
    for setl_id, other in theirs.items():  # the institution has it, the core does not
        filedata.append({"psn_no": "", "mdtrt_id": "", "setl_id": setl_id, "msgid": "", "stmt_rslt": "1",
                         "refd_setl_flag": other["refd"], "memo": "中心无此结算记录",
                         "medfee_sumamt": fen_to_amount(other["medfee"]),
                         "fund_pay_sumamt": fen_to_amount(other["fund"]), "acct_pay": fen_to_amount(other["acct"]),
                         "acct_mulaid_pay": fen_to_amount(other.get("mulaid", 0))})
    result, text = _compare([("医疗费总额", medfee, sum(s.medfee_fen for s in standing)),
                             ("基金支付总额", fund, sum(s.fund_fen for s in standing)),
                             ("现金支付", cash, sum(s.cash_fen for s in standing))], count, len(standing))
    if any(row["stmt_rslt"] != "0" for row in filedata):
        result = "1"
    now = timezone.localtime()
    query_no = f"F{now:%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}"
    return {"fileinfo": {"file_qury_no": query_no, "filename": f"{query_no}.txt",
                         "dld_endtime": (now + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")},
            "filedata": filedata, "stmtinfo": {"stmt_rslt": result, "stmt_rslt_dscr": text}}
