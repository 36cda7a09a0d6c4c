"""Reads of filings. A person sees only their own (by psn_no): another
person's id is FILING_NOT_FOUND, the same answer as an id that does not exist."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from common.errors import ApplicationError

from .enums import KIND_OF_TYPE, TYPE_HELP, FilingBasis, FilingEventKind, FilingStatus, FilingType
from .models import Filing, FilingEvent
from .regions import region_name, regions_list
from .services.filings import cancel_rule, earliest_change, today
from .services.rules import FilingRules


def filing_list(psn_no: str) -> list[Filing]:
    return list(Filing.objects.filter(psn_no=psn_no).prefetch_related("events").order_by("-created_at", "-id")[:100])


def filing_get(psn_no: str, public_id: str) -> Filing:
    filing = Filing.objects.filter(psn_no=psn_no, public_id=public_id).first() if isinstance(public_id, str) else None
    if filing is None:
        raise ApplicationError("FILING_NOT_FOUND", "未找到该备案", status=404)
    return filing


def filing_by_number(filing_no: str) -> Filing | None:
    return Filing.objects.filter(filing_no=filing_no).first()


def effective_status(filing: Filing, now: dt.date | None = None) -> str:
    """Stored status, with an active temporary filing past its end date shown
    as expired before the sweep has run."""
    now = now or today()
    if filing.status == FilingStatus.ACTIVE and filing.end_date is not None and filing.end_date < now:
        return FilingStatus.EXPIRED
    return filing.status


def destinations(filing: Filing) -> list[dict]:
    """The filing's destinations over time, oldest first: each covers bills
    dated from ``since`` to ``until`` (null: still in force). From the
    filing's own trail (created, then each change from its date)."""
    segments: list[list] = []
    for event in sorted(filing.events.all(), key=lambda e: (e.at, e.pk)):
        if event.kind == FilingEventKind.CREATED:
            segments = [[filing.begin_date, event.detail.get("dest_admdvs") or filing.dest_admdvs]]
        elif event.kind == FilingEventKind.CHANGED and event.detail.get("to"):
            try:
                since = dt.date.fromisoformat(str(event.detail.get("since")))
            except ValueError:  # a change recorded before "since" was kept: the day it was made
                since = timezone.localtime(event.at).date()
            segments = [s for s in segments if s[0] < since] + [[since, event.detail["to"]]]
    if not segments:
        segments = [[filing.dest_since, filing.dest_admdvs]]
    return [{"dest_admdvs": dest, "dest_name": region_name(dest) or dest, "since": since,
             "until": segments[n + 1][0] - dt.timedelta(days=1) if n + 1 < len(segments) else None}
            for n, (since, dest) in enumerate(segments)]


def filing_view(filing: Filing, rules: FilingRules | None = None, now: dt.date | None = None) -> dict:
    """The filing as the app shows it (component ``Filing``)."""
    now = now or today()
    status = effective_status(filing, now)
    earliest = earliest_change(filing, rules) if rules is not None else None
    expiring = (status == FilingStatus.ACTIVE and filing.end_date is not None
                and (filing.end_date - now).days <= settings.FILING_REMINDER_DAYS)
    referral = filing.referral or None
    return {
        "id": filing.public_id, "filing_no": filing.filing_no, "type": filing.type,
        "type_name": FilingType(filing.type).label, "kind": filing.kind, "status": status,
        "status_name": FilingStatus(status).label, "basis": filing.basis,
        "basis_name": FilingBasis(filing.basis).label, "source": filing.source,
        "insured_region": filing.insured_region, "dest_admdvs": filing.dest_admdvs,
        "dest_name": region_name(filing.dest_admdvs) or filing.dest_admdvs, "begin_date": filing.begin_date,
        "end_date": filing.end_date, "dest_since": filing.dest_since, "destinations": destinations(filing),
        "late": filing.late, "institutions": list(filing.institutions),
        "referral": None if referral is None else {
            k: referral.get(k, "") for k in ("reflin_medins_no", "reflin_medins_name", "diag_code", "diag_name",
                                              "dise_cond_dscr")},
        "created_at": filing.created_at, "cancelled_at": filing.cancelled_at,
        "can_cancel": status == FilingStatus.ACTIVE,
        "can_change": status == FilingStatus.ACTIVE and filing.kind in ("long_term", "temporary_other"),
        "change_free_from": earliest,
        "reason_required": status == FilingStatus.ACTIVE and earliest is not None and now < earliest, "expiring": expiring, "cancel_rule": cancel_rule(filing, rules),
    }


def filing_types() -> list[dict]:
    return [{"type": t.value, "name": t.label, "kind": KIND_OF_TYPE[t].value, "long_term": KIND_OF_TYPE[t] == "long_term",
             "help": TYPE_HELP[t]} for t in FilingType]


def filing_regions() -> list[dict]:
    return regions_list()


def filing_notices(psn_no: str, *, limit: int = 50) -> list[dict]:
    """Expiry reminders sent to this person, newest first."""
    events = (FilingEvent.objects.select_related("filing").filter(filing__psn_no=psn_no, kind=FilingEventKind.REMINDED)
              .order_by("-at", "-id")[:limit])
    return [{"kind": "filing.expiring", "title": "异地就医备案即将到期", "filing_id": e.filing.public_id,
             "filing_no": e.filing.filing_no, "end_date": e.filing.end_date,
             "message": f"您到{region_name(e.filing.dest_admdvs) or e.filing.dest_admdvs}的"
                        f"{FilingType(e.filing.type).label}备案将于{e.filing.end_date}到期，如仍需在当地就医，请及时重新备案",
             "at": e.at} for e in events]
