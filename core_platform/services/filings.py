"""Cross-province treatment filings (异地就医备案) at the settlement core.

The wallet is where a person files (referrals/); the core holds a copy, fed
by the wallet's outbox (9201, person_key = psn_no, applied once and in
order per person by services/sync.py), and settlement reads only that copy:

- ``filing.created`` ``{filing_no, psn_no, type, kind, basis, dest_admdvs,
  begin_date, end_date|null, institutions: [], referral: {...}|null}``;
- ``filing.changed`` ``{filing_no, ...the same fields, dest_since}`` (a
  change of destination or dates; an unknown filing_no is created from it).
  A change takes effect from its date: ``dest_since`` (else ``changed_on``;
  neither: from ``begin_date`` — a correction of the whole filing). Bills
  dated before it stay covered by the old destination, bills dated on or
  after it only by the new one. The history is the core's own record of the
  events it applied (``WalletEvent``, append-only): ``destination_on``;
- ``filing.cancelled`` ``{filing_no, cancelled_on}``: from the moment the core
  applies it the filing covers no further bill, whatever the bill's date.

At 2101/2102 (``filing_for_bill``): a bill needs a filing when the
institution's province (``region[:2]``) differs from the insured province,
or, in another pooling region of the same province, when the insured
region's policy says ``cross_province.same_province == "filed"``. It is then
settled under the most favourable (highest ratio adjustment; ties: the one
begun last) of:

- an active filing of the person whose period covers the bill's date
  (``begin_date <= date``, ``end_date`` null or ``>= date``) — a filing made
  after treatment began but before settlement (补办) covers it like any
  other — and whose destination on that date is the institution's region,
  or its whole province (``dest_admdvs`` ``xx0000``); a referral that names
  receiving institutions covers only those;
- emergency treatment (med_type ``13`` 急诊): counts as filed without one;

and none: ``engine.Filing("unfiled")`` (the engine refuses with NOT_FILED,
or settles at the lowest temporary ratio where the insured region says so).
A region that has not opened cross-province direct settlement
(``cross_province.open`` false) is refused before any of this.

2102 locks the candidate filings (``select_for_update``) under the account
lock: a cancellation applied concurrently waits for that settlement to
commit, and every settlement after it sees the filing cancelled.

9501 (异地就医规则查询, ours) answers the insured region's filing rules from
the policy in force today.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import Q
from django.utils import timezone

from common.envelope import Envelope, EnvelopeError, InfCode
from common.fields import is_ascii_digits

from .. import engine
from ..engine.params import FILING_KIND_NAMES
from ..errors import CoreRefusal
from ..models import Filing, Institution, InsuredPerson, WalletEvent
from ..selectors import policy_current
from .audit import audit_record

# type code -> (Chinese name, engine kind); the wallet's vocabulary (docs/subsystems/filing.md).
FILING_TYPES = {
    "retired_resettled": ("异地安置退休", "long_term"),
    "long_term_residence": ("异地长期居住", "long_term"),
    "stationed_work": ("常驻异地工作", "long_term"),
    "referral": ("异地转诊转院", "referral"),
    "emergency": ("急诊抢救", "emergency"),
    "temporary_other": ("其他临时外出", "temporary_other"),
}
FILING_EVENT_KINDS = ("filing.created", "filing.changed", "filing.cancelled")
EMERGENCY_MED_TYPES = frozenset({"13"})  # 医疗类别 13 急诊
ACTIVE, CANCELLED = "active", "cancelled"

_FILING_NO = re.compile(r"[0-9A-Za-z_-]{1,40}", re.ASCII)
_INSTITUTION = re.compile(r"[0-9A-Z]{4,30}", re.ASCII)
MAX_INSTITUTIONS = 20
MAX_REFERRAL_TEXT = 2000


class CrossProvinceNotOpen(CoreRefusal):
    def __init__(self, region: str):
        super().__init__("CROSS_PROVINCE_NOT_OPEN",
                         "参保地尚未开通跨省异地就医直接结算，本次费用不能直接结算，请先全额垫付后回参保地按规定报销",
                         detail={"insured_region": region})


# --- events (9201) -------------------------------------------------------------------

def _date(payload: dict, name: str, *, required: bool) -> dt.date | None:
    value = payload.get(name)
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str) or len(value) != 10 or not value.isascii():
        raise ValueError(f"{name} must be a YYYY-MM-DD date, not {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be a YYYY-MM-DD date, not {value!r}") from None


def _filing_no(payload: dict) -> str:
    number = payload.get("filing_no")
    if not isinstance(number, str) or not _FILING_NO.fullmatch(number):
        raise ValueError(f"filing_no must be 1-40 ASCII letters, digits, '_' or '-', not {number!r}")
    return number


def _fields(psn_no: str, payload: dict) -> dict:
    """The filing's fields from a created/changed payload (ValueError if bad)."""
    if payload.get("psn_no") not in (None, psn_no):
        raise ValueError("payload psn_no differs from the event's person_key")
    type_ = payload.get("type")
    if type_ not in FILING_TYPES:
        raise ValueError(f"type must be one of {', '.join(FILING_TYPES)}, not {type_!r}")
    kind = FILING_TYPES[type_][1]
    if payload.get("kind") not in (None, kind):
        raise ValueError(f"kind {payload.get('kind')!r} does not match type {type_}")
    dest = payload.get("dest_admdvs")
    if not is_ascii_digits(dest, max_length=6) or len(dest) != 6:
        raise ValueError(f"dest_admdvs must be 6 ASCII digits, not {dest!r}")
    begin = _date(payload, "begin_date", required=True)
    end = _date(payload, "end_date", required=kind != "long_term")
    if end is not None and end < begin:
        raise ValueError("end_date is before begin_date")
    institutions = payload.get("institutions") or []
    if (not isinstance(institutions, list) or len(institutions) > MAX_INSTITUTIONS
            or not all(isinstance(i, str) and _INSTITUTION.fullmatch(i) for i in institutions)):
        raise ValueError(f"institutions must be a list of at most {MAX_INSTITUTIONS} fixmedins_code values")
    referral = payload.get("referral")
    if referral is not None and (not isinstance(referral, dict) or len(str(referral)) > MAX_REFERRAL_TEXT):
        raise ValueError("referral must be an object (or null)")
    basis = payload.get("basis") or ""
    if basis not in ("", "commitment", "proof"):
        raise ValueError(f"basis must be commitment or proof, not {basis!r}")
    return {"type": type_, "kind": kind, "basis": basis, "dest_admdvs": dest, "begin_date": begin,
            "end_date": end, "institutions": sorted(set(institutions)), "referral": referral}


def filing_event_apply(psn_no: str, kind: str, payload: dict) -> Filing:
    """Apply one wallet filing event. Runs inside the caller's transaction
    (sync._one_event, which holds the person's VoucherState lock); raises
    ValueError for a payload it cannot apply (the event's result is then
    ``error`` and nothing changes)."""
    if not isinstance(payload, dict):
        raise ValueError("payload must be an object")
    number = _filing_no(payload)
    filing = Filing.objects.select_for_update().filter(filing_no=number).first()
    if filing is not None and filing.psn_no != psn_no:
        raise ValueError(f"filing {number} belongs to another person")
    if kind == "filing.cancelled":
        if filing is None:
            raise ValueError(f"unknown filing {number}")
        if filing.status == CANCELLED:
            return filing
        try:  # a cancellation always takes effect; a missing or odd date is recorded as today
            cancelled_on = _date(payload, "cancelled_on", required=False) or timezone.localdate()
        except ValueError:
            cancelled_on = timezone.localdate()
        Filing.objects.filter(pk=filing.pk, status=ACTIVE).update(
            status=CANCELLED, cancelled_on=cancelled_on, cancelled_at=timezone.now(), updated_at=timezone.now())
        audit_record("filing.cancel", psn_no, {"filing_no": number, "cancelled_on": cancelled_on.isoformat()})
        filing.refresh_from_db()
        return filing
    fields = _fields(psn_no, payload)
    if kind == "filing.created" and filing is not None:
        raise ValueError(f"filing {number} already exists")
    if kind not in ("filing.created", "filing.changed"):
        raise ValueError(f"unknown event kind {kind}")
    if filing is None:
        filing = Filing.objects.create(filing_no=number, psn_no=psn_no, **fields)
    else:
        if filing.status == CANCELLED:
            raise ValueError(f"filing {number} is cancelled and cannot change")
        for name, value in fields.items():
            setattr(filing, name, value)
        filing.save()
    audit_record(kind, psn_no, {
        "filing_no": number, "type": fields["type"], "dest_admdvs": fields["dest_admdvs"],
        "begin_date": fields["begin_date"].isoformat(),
        "end_date": fields["end_date"].isoformat() if fields["end_date"] else None})
    return filing


# --- settlement ----------------------------------------------------------------------

def needs_filing(person: InsuredPerson, institution: Institution, params: engine.PolicyParams) -> bool:
    """Does a bill of ``person`` at ``institution`` need a filing?"""
    if institution.region == person.insured_region:
        return False
    if institution.region[:2] != person.insured_region[:2]:
        return True
    return params.cross_same_province == "filed"


def _since(payload: dict) -> dt.date | None:
    """From when a created/changed event's destination applies (None: from
    the filing's begin date)."""
    for name in ("dest_since", "changed_on"):
        try:
            day = _date(payload, name, required=False)
        except ValueError:
            continue
        if day is not None:
            return day
    return None


def destination_history(psn_no: str, numbers) -> dict[str, list[tuple[dt.date, str]]]:
    """filing_no -> [(from, dest_admdvs)], ascending, for those of ``numbers``
    whose destination was ever changed, from the events the core applied
    (a change from date S replaces the destination for every date >= S)."""
    numbers = list(numbers)
    if not numbers or not WalletEvent.objects.filter(psn_no=psn_no, kind="filing.changed",
                                                     payload__filing_no__in=numbers).exists():
        return {}
    history: dict[str, list[tuple[dt.date, str]]] = {}
    events = (WalletEvent.objects.filter(psn_no=psn_no, kind__in=("filing.created", "filing.changed"),
                                         payload__filing_no__in=numbers).order_by("sequence", "pk"))
    for applied in events:
        payload = applied.payload
        try:
            begin = _date(payload, "begin_date", required=True)
        except ValueError:
            continue
        since = max(_since(payload) or begin, begin) if applied.kind == "filing.changed" else begin
        segments = [s for s in history.get(payload["filing_no"], []) if s[0] < since]
        history[payload["filing_no"]] = [*segments, (since, str(payload.get("dest_admdvs", "")))]
    return {number: segments for number, segments in history.items() if len(segments) > 1}


def destination_on(filing: Filing, day: dt.date, history: dict[str, list[tuple[dt.date, str]]]) -> str:
    """The filing's destination on ``day``: the last change in force then;
    a date before every recorded change has the first destination."""
    segments = history.get(filing.filing_no)
    if not segments:
        return filing.dest_admdvs
    dest = segments[0][1]
    for since, value in segments:
        if since <= day:
            dest = value
    return dest


def _covers_destination(filing: Filing, institution: Institution, dest: str | None = None) -> bool:
    dest = filing.dest_admdvs if dest is None else dest
    if dest.endswith("0000"):
        covers = dest[:2] == institution.region[:2]
    else:
        covers = dest == institution.region
    return covers and (not filing.institutions or institution.fixmedins_code in filing.institutions)


def filing_for_bill(person: InsuredPerson, institution: Institution, params: engine.PolicyParams,
                    bill_date: dt.date, med_type: str, *, lock: bool) -> engine.Filing | None:
    """The filing a bill is settled under (None: a local bill). Raises
    CrossProvinceNotOpen when the insured region has not opened
    cross-province settlement. See the module docstring for the rules."""
    if not needs_filing(person, institution, params):
        return None
    if not params.cross_open:
        raise CrossProvinceNotOpen(person.insured_region)
    rows = Filing.objects.filter(psn_no=person.psn_no, status=ACTIVE, begin_date__lte=bill_date).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=bill_date)).order_by("pk")
    if lock:
        rows = rows.select_for_update()
    rows = list(rows)
    history = destination_history(person.psn_no, [f.filing_no for f in rows])
    candidates = [engine.Filing(kind=f.kind, number=f.filing_no, type_name=FILING_TYPES[f.type][0],
                                treatment_region=institution.region)
                  for f in rows if f.type in FILING_TYPES
                  and _covers_destination(f, institution, destination_on(f, bill_date, history))]
    begun = {f.filing_no: f.begin_date for f in rows}
    if med_type in EMERGENCY_MED_TYPES:
        candidates.append(engine.Filing(kind="emergency", type_name=FILING_TYPES["emergency"][0],
                                        treatment_region=institution.region))
    if not candidates:
        return engine.Filing(kind="unfiled", treatment_region=institution.region)
    return max(candidates, key=lambda f: (params.cross_adjust_permille[f.kind],
                                          begun.get(f.number, dt.date.min), f.number))


def filing_setlinfo(filing: engine.Filing, institution: Institution) -> dict:
    """Our setlinfo fields naming the filing a cross-province bill was
    settled under (the wallet's records show them)."""
    name = "异地就医未备案" if filing.kind == "unfiled" else (
        filing.type_name or FILING_KIND_NAMES.get(filing.kind, filing.kind))
    return {"mdtrtarea_admvs": institution.region, "trt_dcla_detl_sn": filing.number, "filing_kind": filing.kind,
            "filing_name": name}


# --- 9501 -----------------------------------------------------------------------------

def rules_query(env: Envelope) -> dict:
    """9501 异地就医规则查询 (ours): ``{"data": {"insuplc_admdvs", "insutype"}}``
    → ``{"rules": {...}}`` from the insured region's policy in force today."""
    data = env.input.get("data")
    if not isinstance(data, dict):
        raise EnvelopeError(InfCode.INPUT_INVALID, "缺少 input.data", msgid=env.msgid)
    region, insutype = data.get("insuplc_admdvs"), data.get("insutype")
    if not is_ascii_digits(region, max_length=6) or len(region) != 6:
        raise EnvelopeError(InfCode.INPUT_INVALID, "insuplc_admdvs 须为6位数字行政区划代码", msgid=env.msgid)
    if insutype not in ("310", "390"):
        raise EnvelopeError(InfCode.INPUT_INVALID, "insutype 须为 310 或 390", msgid=env.msgid)
    policy = policy_current(region, insutype, timezone.localdate())
    if policy is None:
        raise EnvelopeError(InfCode.POLICY_MISSING, "参保地未配置该险种的待遇政策", msgid=env.msgid)
    params = engine.parse_params(policy.params)
    return {"rules": {
        "insuplc_admdvs": region, "insutype": insutype, "open": "1" if params.cross_open else "0",
        "long_term_min_months": params.cross_long_term_min_months,
        "temporary_valid_months": params.cross_temporary_valid_months,
        "unfiled": params.cross_unfiled, "same_province": params.cross_same_province,
        "adjust": {kind: params.cross_adjust_permille[kind] for kind in engine.FILING_KINDS},
        "policy_version": policy.version, "effective_from": policy.effective_from.isoformat(),
    }}
