"""Every write of a filing: create (app or hospital), cancel, change the
destination, expire. Each checks the rules of the person's insured region
(services/rules.py, the core's 9501, fetched before the transaction), writes
the filing, its FilingEvent and an audit event, and enqueues the core's copy
in the same transaction (outbox, person_key = psn_no, so the core applies a
person's filings in order). Refusals are ApplicationError with a stable code
and a Chinese message. docs/subsystems/filing.md."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.enums import AuditOutcome
from accounts.services import audit_record
from common.errors import ApplicationError
from settlement.services.outbox import outbox_enqueue

from ..enums import (KIND_OF_TYPE, LONG_TERM_TYPES, OUTBOX_FILING_CANCELLED, OUTBOX_FILING_CHANGED,
                     OUTBOX_FILING_CREATED, CancelReason, FilingBasis, FilingEventKind, FilingKind, FilingSource,
                     FilingStatus, FilingType, ProofDocType)
from ..models import Filing, FilingEvent
from ..regions import is_whole_province, province_of, region_name
from .rules import FilingRules, filing_rules_get

# ICD-10 as the national clinical edition writes it: J18.900, I10.x00x002, E11.9.
DIAGNOSIS_CODE = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Za-z]{1,8})?")
INSTITUTION_CODE = re.compile(r"[A-Z][0-9A-Z]{1,29}")
MAX_INSTITUTIONS = 5


def _err(code: str, message: str, status: int = 400, **detail) -> ApplicationError:
    return ApplicationError(code, message, status=status, detail=detail or None)


def today() -> dt.date:
    return timezone.localdate()


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clamped to the month's last day (31 Aug + 6 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Insured:
    """Whose filing: the person as the wallet (app) or the core (2501) knows them."""

    psn_no: str
    insutype: str
    insured_region: str


@dataclass
class FilingInput:
    type: str
    dest_admdvs: str
    begin_date: dt.date
    end_date: dt.date | None = None
    basis: str = ""
    commitment_accepted: bool = False
    proof: dict | None = None  # {doc_type, doc_no}
    referral: dict | None = None  # {reflin_medins_no, reflin_medins_name, diag_code, diag_name, dise_cond_dscr, ...}
    institutions: list[str] = field(default_factory=list)


# --- the rules ------------------------------------------------------------------------------

def _check_open(rules: FilingRules) -> None:
    if not rules.open:
        raise _err("FILING_REGION_NOT_OPEN", "您的参保地尚未开通跨省异地就医直接结算，暂不能办理备案；"
                                             "异地就医费用请回参保地按规定报销", status=409)


def destination_check(insured_region: str, dest_admdvs: str, rules: FilingRules) -> None:
    """A known province or city, outside the insured province — or, where the
    insured region treats other regions of its own province "as filed",
    another city of it."""
    if not (isinstance(dest_admdvs, str) and len(dest_admdvs) == 6 and dest_admdvs.isascii()
            and dest_admdvs.isdigit() and region_name(dest_admdvs)):
        raise _err("FILING_DEST_INVALID", "请选择就医地所在的省份和城市", field="dest_admdvs")
    if province_of(dest_admdvs) != province_of(insured_region):
        return
    if rules.same_province == "filed" and not is_whole_province(dest_admdvs) and dest_admdvs != insured_region:
        return
    raise _err("FILING_DEST_SAME_PROVINCE", "就医地与参保地在同一省份，无需办理跨省异地就医备案，直接持医保电子凭证就医即可",
               field="dest_admdvs")


def _dates(data: FilingInput, rules: FilingRules, now: dt.date) -> tuple[dt.date, dt.date | None, bool]:
    """(begin, end, late) by the type's rules."""
    begin, end = data.begin_date, data.end_date
    if begin < now - dt.timedelta(days=settings.FILING_LATE_DAYS):
        raise _err("FILING_LATE_TOO_OLD", f"开始日期最早可为{settings.FILING_LATE_DAYS}天前（就医后、结算前补办备案）；"
                                          "更早的费用请回参保地按规定报销", field="begin_date",
                   earliest=str(now - dt.timedelta(days=settings.FILING_LATE_DAYS)))
    if begin > now + dt.timedelta(days=settings.FILING_MAX_DAYS_AHEAD):
        raise _err("FILING_DATES_INVALID", f"开始日期最晚可为{settings.FILING_MAX_DAYS_AHEAD}天后", field="begin_date")
    if data.type in LONG_TERM_TYPES:
        if end is not None:
            raise _err("FILING_DATES_INVALID", "长期备案长期有效，直到您撤销，无需填写结束日期", field="end_date")
        return begin, None, begin < now
    longest = add_months(begin, rules.temporary_valid_months) - dt.timedelta(days=1)
    if end is None:
        end = longest
    if end < begin:
        raise _err("FILING_DATES_INVALID", "结束日期不能早于开始日期", field="end_date")
    if end > longest:
        raise _err("FILING_DATES_INVALID", f"临时备案有效期最长{rules.temporary_valid_months}个月，结束日期最晚为{longest}",
                   field="end_date", latest=str(longest))
    return begin, end, begin < now


def _basis(data: FilingInput) -> tuple[str, str, str]:
    """(basis, proof_doc_type, proof_doc_no)."""
    if data.type == FilingType.EMERGENCY and data.basis in ("", FilingBasis.NOT_REQUIRED):
        return FilingBasis.NOT_REQUIRED, "", ""
    if data.basis == FilingBasis.COMMITMENT:
        if data.commitment_accepted is not True:
            raise _err("FILING_COMMITMENT_REQUIRED", "请阅读并同意《异地就医备案个人承诺书》，或改为提供证明材料",
                       field="commitment_accepted")
        return FilingBasis.COMMITMENT, "", ""
    if data.basis == FilingBasis.PROOF:
        proof = data.proof if isinstance(data.proof, dict) else {}
        doc_type, doc_no = proof.get("doc_type"), proof.get("doc_no")
        if doc_type not in ProofDocType.values or not isinstance(doc_no, str) or not (
                4 <= len(doc_no) <= 40 and doc_no.isascii() and doc_no.isalnum()):
            raise _err("FILING_PROOF_REQUIRED", "请选择证明材料类型并填写材料编号（4-40位字母或数字），或改为个人承诺",
                       field="proof")
        return FilingBasis.PROOF, doc_type, doc_no.upper()
    raise _err("FILING_BASIS_REQUIRED", "请选择备案依据：个人承诺（承诺制即时备案）或证明材料", field="basis")


def _referral(data: FilingInput) -> tuple[dict | None, list[str]]:
    if data.type != FilingType.REFERRAL:
        if data.referral or data.institutions:
            raise _err("FILING_REFERRAL_NOT_ALLOWED", "只有转诊转院备案需要填写转出医院、诊断和指定医院", field="referral")
        return None, []
    referral = data.referral if isinstance(data.referral, dict) else None
    if not referral or not all(isinstance(referral.get(k), str) and referral.get(k).strip()
                               for k in ("reflin_medins_no", "reflin_medins_name", "diag_code", "diag_name")):
        raise _err("FILING_REFERRAL_REQUIRED", "转诊转院备案须填写转出医院（编号和名称）及诊断（代码和名称）",
                   field="referral")
    if not DIAGNOSIS_CODE.fullmatch(referral["diag_code"]):
        raise _err("FILING_DIAGNOSIS_INVALID", "诊断代码格式不正确，应为疾病分类代码（如 J18.900）", field="diag_code")
    if not INSTITUTION_CODE.fullmatch(referral["reflin_medins_no"]):
        raise _err("FILING_INSTITUTION_INVALID", "转出医院编号格式不正确（如 H44030000001）", field="reflin_medins_no")
    institutions = list(dict.fromkeys(data.institutions or referral.get("institutions") or []))
    if len(institutions) > MAX_INSTITUTIONS or not all(isinstance(c, str) and INSTITUTION_CODE.fullmatch(c)
                                                       for c in institutions):
        raise _err("FILING_INSTITUTION_INVALID", f"指定医院最多{MAX_INSTITUTIONS}家，编号须为定点医药机构编号",
                   field="institutions")
    kept = {k: str(referral.get(k, ""))[:200] for k in ("reflin_medins_no", "reflin_medins_name", "diag_code",
                                                         "diag_name", "dise_cond_dscr")}
    for extra in ("to_medins_name", "tel", "addr", "refl_type", "refl_date", "refl_rea", "refl_opnn", "hosp_agre_refl_flag"):
        if referral.get(extra) not in (None, ""):
            kept[extra] = str(referral[extra])[:200]
    return kept, institutions


def _filing_no(insured_region: str, on: dt.date) -> str:
    """trt_dcla_detl_sn: "BA" + insured admdvs + yyyymmdd + 8 digits."""
    return f"BA{insured_region}{on:%Y%m%d}{secrets.randbelow(10**8):08d}"


def request_digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def _core_payload(filing: Filing) -> dict:
    """The core's copy (G1: filing.created / filing.changed)."""
    return {"filing_no": filing.filing_no, "psn_no": filing.psn_no, "insutype": filing.insutype,
            "insured_region": filing.insured_region, "type": filing.type, "kind": filing.kind,
            "basis": filing.basis, "dest_admdvs": filing.dest_admdvs, "dest_since": str(filing.dest_since),
            "begin_date": str(filing.begin_date), "end_date": str(filing.end_date) if filing.end_date else None,
            "late": filing.late, "institutions": list(filing.institutions),
            "referral": None if not filing.referral else {
                k: filing.referral.get(k, "") for k in ("reflin_medins_no", "reflin_medins_name", "diag_code",
                                                         "diag_name")}}


def _record(filing: Filing, kind: str, actor: str, ip: str | None, detail: dict) -> None:
    FilingEvent.objects.create(filing=filing, kind=kind, actor=actor[:80], detail=detail)
    audit_record(action=f"filing.{kind}", outcome=AuditOutcome.SUCCESS, actor=actor, ip=ip,
                 detail={"filing_no": filing.filing_no, "psn_no": filing.psn_no, **detail})


# --- create ----------------------------------------------------------------------------------

def filing_create(*, insured: Insured, data: FilingInput, actor: str, ip: str | None = None,
                  idempotency_key: str = "", request_hash: str = "", source: str = FilingSource.APP,
                  fixmedins_code: str = "", now: dt.date | None = None) -> tuple[Filing, bool]:
    """A new filing; (filing, created). A replay of the same Idempotency-Key
    and body returns the first filing (created False)."""
    if idempotency_key:
        earlier = Filing.objects.filter(psn_no=insured.psn_no, idempotency_key=idempotency_key).first()
        if earlier is not None:
            if earlier.request_hash != request_hash:
                raise _err("IDEMPOTENCY_KEY_REUSED", "该请求标识已用于另一次备案，请刷新后重试", status=409)
            return earlier, False
    now = now or today()
    if data.type not in FilingType.values:
        raise _err("FILING_TYPE_INVALID", "请选择备案类型", field="type")
    rules = filing_rules_get(insured_region=insured.insured_region, insutype=insured.insutype)  # network: before
    _check_open(rules)
    destination_check(insured.insured_region, data.dest_admdvs, rules)
    begin, end, late = _dates(data, rules, now)
    basis, doc_type, doc_no = _basis(data)
    referral, institutions = _referral(data)
    kind = KIND_OF_TYPE[FilingType(data.type)]
    if kind == FilingKind.LONG_TERM and _active_long_term(insured.psn_no) is not None:
        raise _long_term_exists()
    for _ in range(3):
        try:
            with transaction.atomic():
                filing = Filing.objects.create(
                    public_id=f"fl{secrets.token_hex(11)}", filing_no=_filing_no(insured.insured_region, now),
                    psn_no=insured.psn_no, insutype=insured.insutype, insured_region=insured.insured_region,
                    type=data.type, kind=kind, basis=basis, source=source, dest_admdvs=data.dest_admdvs,
                    dest_since=begin, begin_date=begin, end_date=end, late=late, institutions=institutions,
                    referral=referral, proof_doc_type=doc_type, proof_doc_no=doc_no,
                    commitment_accepted_at=timezone.now() if basis == FilingBasis.COMMITMENT else None,
                    fixmedins_code=fixmedins_code, idempotency_key=idempotency_key,
                    request_hash=request_hash if idempotency_key else "")
                _record(filing, FilingEventKind.CREATED, actor, ip, {
                    "type": filing.type, "basis": basis, "dest_admdvs": filing.dest_admdvs, "late": late,
                    "source": source})
                outbox_enqueue(kind=OUTBOX_FILING_CREATED, person_key=filing.psn_no, payload=_core_payload(filing))
            return filing, True
        except IntegrityError:
            if idempotency_key and Filing.objects.filter(psn_no=insured.psn_no,
                                                         idempotency_key=idempotency_key).exists():
                raise _err("IDEMPOTENCY_IN_PROGRESS", "该备案请求正在处理，请稍后刷新", status=409)
            if kind == FilingKind.LONG_TERM and _active_long_term(insured.psn_no) is not None:
                raise _long_term_exists()
            # else: a filing_no collision (1 in 10^8 per day and region): draw again
    raise _err("FILING_RETRY", "备案暂时无法提交，请稍后重试", status=409)


def _active_long_term(psn_no: str) -> Filing | None:
    return Filing.objects.filter(psn_no=psn_no, kind=FilingKind.LONG_TERM, status=FilingStatus.ACTIVE).first()


def _long_term_exists() -> ApplicationError:
    return _err("FILING_LONG_TERM_EXISTS", "您已有一份有效的长期备案；如需更换就医地，请在该备案中办理变更或先撤销",
                status=409)


# --- cancel and change -----------------------------------------------------------------------

def earliest_change(filing: Filing, rules: FilingRules) -> dt.date | None:
    """From when a long-term filing may be cancelled or changed without an
    accepted reason (None: any time)."""
    if filing.kind != FilingKind.LONG_TERM:
        return None
    return add_months(filing.dest_since, rules.long_term_min_months)


def cancel_rule(filing: Filing, rules: FilingRules | None) -> str:
    """The rule in plain Chinese, for the app's cancel page."""
    if filing.kind != FilingKind.LONG_TERM:
        return "临时备案可随时撤销；撤销后在就医地发生的费用不能再直接结算。"
    months = rules.long_term_min_months if rules else settings.FILING_DEFAULT_LONG_TERM_MIN_MONTHS
    since = add_months(filing.dest_since, months)
    reasons = "、".join(CancelReason(r).label for r in settings.FILING_EARLY_REASONS)
    return (f"长期备案自生效起满{months}个月（{since}起）可撤销或变更就医地；"
            f"未满{months}个月的，仅在以下情形可办理：{reasons}。")


def _may_change_now(filing: Filing, rules: FilingRules, reason: str, now: dt.date) -> None:
    earliest = earliest_change(filing, rules)
    if earliest is None or now >= earliest or reason in settings.FILING_EARLY_REASONS:
        return
    raise _err("FILING_TOO_EARLY", f"长期备案需满{rules.long_term_min_months}个月（{earliest}起）才能撤销或变更；"
                                   "如因信息填写有误、单位派驻地变动或家庭原因需提前办理，请选择对应原因",
               status=409, earliest=str(earliest), accepted_reasons=list(settings.FILING_EARLY_REASONS))


def _lock_active(filing: Filing) -> Filing:
    locked = Filing.objects.select_for_update().get(pk=filing.pk)
    if locked.status != FilingStatus.ACTIVE:
        raise _err("FILING_NOT_ACTIVE", f"该备案{locked.get_status_display()}，不能再办理", status=409,
                   status_now=locked.status)
    return locked


def _reason(reason: str) -> str:
    if reason not in ("", *CancelReason.values):
        raise _err("VALIDATION_ERROR", "请选择撤销或变更的原因", fields={"reason": ["无效的选项"]})
    return reason


def filing_cancel(*, filing: Filing, actor: str, reason: str = "", ip: str | None = None,
                  now: dt.date | None = None, check_period: bool = True, memo: str = "") -> Filing:
    """Cancel an active filing from today on. The core is told in the same
    transaction (outbox); once it has applied the cancellation it never uses
    the filing for a bill settled afterwards."""
    now = now or today()
    reason = _reason(reason)
    if check_period and filing.kind == FilingKind.LONG_TERM:
        rules = filing_rules_get(insured_region=filing.insured_region, insutype=filing.insutype)
        _may_change_now(filing, rules, reason, now)
    with transaction.atomic():
        filing = _lock_active(filing)
        filing.status, filing.cancelled_at, filing.cancelled_on = FilingStatus.CANCELLED, timezone.now(), now
        filing.cancel_reason = reason
        filing.save(update_fields=["status", "cancelled_at", "cancelled_on", "cancel_reason", "updated_at"])
        _record(filing, FilingEventKind.CANCELLED, actor, ip, {"reason": reason, "cancelled_on": str(now),
                                                               **({"memo": memo[:200]} if memo else {})})
        outbox_enqueue(kind=OUTBOX_FILING_CANCELLED, person_key=filing.psn_no,
                       payload={"filing_no": filing.filing_no, "cancelled_on": str(now), "reason": reason})
    return filing


def filing_change(*, filing: Filing, dest_admdvs: str, actor: str, reason: str = "", ip: str | None = None,
                  now: dt.date | None = None) -> Filing:
    """Move an active long-term or other-temporary filing to another
    destination from today on (same filing_no): ``dest_since`` = today (or the
    begin date, not yet reached). Bills dated before it stay covered by the
    old destination, later ones only by the new (the core keeps the history:
    docs/subsystems/filing.md "Change of destination"). Referral and
    emergency filings are cancelled and filed again instead."""
    now = now or today()
    reason = _reason(reason)
    if filing.kind not in (FilingKind.LONG_TERM, FilingKind.TEMPORARY_OTHER):
        raise _err("FILING_CHANGE_NOT_ALLOWED", "转诊转院和急诊抢救备案不能变更就医地，请撤销后重新备案", status=409)
    if filing.status != FilingStatus.ACTIVE:
        raise _err("FILING_NOT_ACTIVE", f"该备案{filing.get_status_display()}，不能再办理", status=409,
                   status_now=filing.status)
    rules = filing_rules_get(insured_region=filing.insured_region, insutype=filing.insutype)
    _check_open(rules)
    destination_check(filing.insured_region, dest_admdvs, rules)
    if dest_admdvs == filing.dest_admdvs:
        raise _err("FILING_DEST_UNCHANGED", "新的就医地与当前备案相同", field="dest_admdvs")
    _may_change_now(filing, rules, reason, now)
    with transaction.atomic():
        filing = _lock_active(filing)
        before = filing.dest_admdvs
        filing.dest_admdvs, filing.dest_since = dest_admdvs, max(now, filing.begin_date)
        filing.save(update_fields=["dest_admdvs", "dest_since", "updated_at"])
        _record(filing, FilingEventKind.CHANGED, actor, ip, {"from": before, "to": dest_admdvs, "reason": reason,
                                                             "since": str(filing.dest_since)})
        outbox_enqueue(kind=OUTBOX_FILING_CHANGED, person_key=filing.psn_no,
                       payload={**_core_payload(filing), "changed_on": str(now), "previous_dest_admdvs": before})
    return filing


# --- the daily sweep -------------------------------------------------------------------------

def filing_expire_sweep(*, now: dt.date | None = None, batch: int | None = None) -> int:
    """Mark temporary filings past their end date ``expired`` (the core reads
    the dates itself: no event). Bounded; returns how many."""
    now = now or today()
    batch = batch or settings.FILING_REMINDER_BATCH
    ids = list(Filing.objects.filter(status=FilingStatus.ACTIVE, end_date__lt=now)
               .order_by("id").values_list("id", flat=True)[:batch])
    done = 0
    for pk in ids:
        with transaction.atomic():
            if Filing.objects.filter(pk=pk, status=FilingStatus.ACTIVE).update(status=FilingStatus.EXPIRED):
                FilingEvent.objects.create(filing_id=pk, kind=FilingEventKind.EXPIRED, actor="system",
                                           detail={"on": str(now)})
                done += 1
    return done
