"""Reads of the settlement core that are more than a ``get``."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_FLOOR, Decimal

from django.db.models import Sum
from django.utils import timezone

from common import crypto, idnumber

from .enums import HoldStatus, LedgerAccountKind
from .models import Entry, Hold, Institution, InsuredPerson, LedgerAccount, PolicyParameters, Posting, Region


def person_get_by_id_number(id_number: str) -> InsuredPerson | None:
    return InsuredPerson.objects.filter(id_number_hash=crypto.keyed_hash(idnumber.normalize(id_number))).first()


def person_get_by_psn_no(psn_no: str) -> InsuredPerson | None:
    return InsuredPerson.objects.filter(psn_no=psn_no).first()


def person_id_number(person: InsuredPerson) -> str:
    return crypto.decrypt(person.id_number_encrypted)


def person_age(birth_date: dt.date, on: dt.date) -> Decimal:
    """Age in years with one decimal, rounded down: completed years plus the
    elapsed fraction of the current year of life (35.6)."""
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    last = _anniversary(birth_date, birth_date.year + years)
    following = _anniversary(birth_date, birth_date.year + years + 1)
    fraction = Decimal((on - last).days) / Decimal((following - last).days)
    return (Decimal(years) + fraction).quantize(Decimal("0.1"), rounding=ROUND_FLOOR)


def _anniversary(birth_date: dt.date, year: int) -> dt.date:
    try:
        return birth_date.replace(year=year)
    except ValueError:  # 29 February in a common year
        return dt.date(year, 3, 1)


def personal_balance_fen(psn_no: str) -> int:
    """What the person may spend: the balance less pending holds (a payment
    waiting for the PIN, a set-aside amount), holds past their deadline not
    counted. This is the ``balc`` every answer shows."""
    account = LedgerAccount.objects.filter(kind=LedgerAccountKind.PERSONAL, owner=psn_no).first()
    return account_available_fen(account) if account else 0


def account_available_fen(account: LedgerAccount) -> int:
    """``balance_fen - held_fen``, holds past their deadline not counted (the
    sweep or the next locked access expires them: services/ledger.py)."""
    if account.held_fen == 0:
        return account.balance_fen
    late = Hold.objects.filter(account_id=account.pk, status=HoldStatus.PENDING,
                               deadline__lte=timezone.now()).aggregate(s=Sum("amount_fen"))["s"] or 0
    return account.balance_fen - account.held_fen + late


def personal_account_figures(psn_no: str) -> dict[str, int]:
    """The personal account's balance (sum of its entries), held amount
    (sum of pending holds) and available amount, in fen."""
    account = LedgerAccount.objects.filter(kind=LedgerAccountKind.PERSONAL, owner=psn_no).first()
    if account is None:
        return {"balance_fen": 0, "held_fen": 0, "available_fen": 0}
    return {"balance_fen": account.balance_fen, "held_fen": account.held_fen,
            "available_fen": personal_balance_fen(psn_no)}


def region_get(admdvs: str) -> Region | None:
    return Region.objects.filter(admdvs=admdvs).first()


def institution_list(fixmedins_code: str | None = None):
    rows = Institution.objects.all().order_by("fixmedins_code")
    if fixmedins_code:
        rows = rows.filter(fixmedins_code=fixmedins_code)
    return rows


def ledger_discrepancies() -> list[dict]:
    """Every broken ledger invariant: postings whose entries do not sum to
    zero, accounts whose cached balance differs from their entries, negative
    personal accounts; and of the holds: an account's cached held amount
    that is not the sum of its pending holds, a personal account holding
    more than its balance (available < 0), a posted hold without exactly one
    posting that debits its account by the posted amount, a hold posted
    beyond its amount, a pending hold past its deadline (run the sweep,
    ``core_hold_expire``, first). Empty when the books are sound."""
    problems: list[dict] = []
    for row in Posting.objects.annotate(total=Sum("entries__amount_fen")).exclude(total=0).values("pk", "total"):
        problems.append({"problem": "posting_unbalanced", "posting": row["pk"], "sum_fen": row["total"]})
    sums = dict(Entry.objects.values_list("account_id").annotate(total=Sum("amount_fen")).values_list("account_id", "total"))
    held = dict(Hold.objects.filter(status=HoldStatus.PENDING).values_list("account_id").annotate(
        total=Sum("amount_fen")).values_list("account_id", "total"))
    for account in LedgerAccount.objects.all():
        derived = sums.get(account.pk, 0) or 0
        if derived != account.balance_fen:
            problems.append({"problem": "balance_mismatch", "account": str(account),
                             "cached_fen": account.balance_fen, "entries_fen": derived})
        if account.kind == LedgerAccountKind.PERSONAL and account.balance_fen < 0:
            problems.append({"problem": "personal_negative", "account": str(account)})
        if (held.get(account.pk) or 0) != account.held_fen:
            problems.append({"problem": "held_mismatch", "account": str(account), "cached_fen": account.held_fen,
                             "holds_fen": held.get(account.pk) or 0})
        if account.kind == LedgerAccountKind.PERSONAL and account.balance_fen - account.held_fen < 0:
            problems.append({"problem": "available_negative", "account": str(account),
                             "balance_fen": account.balance_fen, "held_fen": account.held_fen})
    posted: dict[tuple[int, int], int] = {}
    for hold in Hold.objects.filter(status=HoldStatus.POSTED).values("hold_id", "account_id", "posting_id",
                                                                    "posted_fen", "amount_fen"):
        if hold["posting_id"] is None:
            problems.append({"problem": "hold_posted_without_posting", "hold": hold["hold_id"]})
            continue
        if not 0 < hold["posted_fen"] <= hold["amount_fen"]:
            problems.append({"problem": "hold_posted_amount", "hold": hold["hold_id"], "posted_fen": hold["posted_fen"],
                             "amount_fen": hold["amount_fen"]})
        key = (hold["posting_id"], hold["account_id"])
        posted[key] = posted.get(key, 0) + hold["posted_fen"]
    if posted:
        debits = dict(((row[0], row[1]), row[2]) for row in Entry.objects.filter(
            posting_id__in={k[0] for k in posted}).values_list("posting_id", "account_id").annotate(
            total=Sum("amount_fen")).values_list("posting_id", "account_id", "total"))
        for (posting_id, account_id), amount in posted.items():
            # The posting the holds became debits their account by what they posted (the settlement's own
            # line of that account, if any, is the hold's: a posted hold replaces it).
            if debits.get((posting_id, account_id), 0) != -amount:
                problems.append({"problem": "hold_posting_mismatch", "posting": posting_id, "account": account_id,
                                 "posted_fen": amount, "entries_fen": debits.get((posting_id, account_id), 0)})
    for hold_id in Hold.objects.filter(status=HoldStatus.PENDING, deadline__lte=timezone.now()).values_list(
            "hold_id", flat=True):
        problems.append({"problem": "hold_overdue", "hold": hold_id})
    for hold_id in Hold.objects.exclude(status=HoldStatus.POSTED).exclude(posting__isnull=True).values_list(
            "hold_id", flat=True):
        problems.append({"problem": "hold_unposted_with_posting", "hold": hold_id})
    return problems


def policy_current(region: str, insutype: str, on: dt.date) -> PolicyParameters | None:
    """The policy version in force on ``on``: the latest effective_from <= on
    (the highest version wins on the same date)."""
    return (
        PolicyParameters.objects.filter(region=region, insutype=insutype, effective_from__lte=on)
        .order_by("-effective_from", "-version")
        .first()
    )
