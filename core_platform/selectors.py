"""Reads of the settlement core that are more than a ``get``."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_FLOOR, Decimal

from django.db.models import Sum

from common import crypto, idnumber

from .enums import LedgerAccountKind
from .models import Entry, Institution, InsuredPerson, LedgerAccount, PolicyParameters, Posting, Region


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
    account = LedgerAccount.objects.filter(kind=LedgerAccountKind.PERSONAL, owner=psn_no).first()
    return account.balance_fen if account else 0


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
    personal accounts. Empty when the books are sound."""
    problems: list[dict] = []
    for row in Posting.objects.annotate(total=Sum("entries__amount_fen")).exclude(total=0).values("pk", "total"):
        problems.append({"problem": "posting_unbalanced", "posting": row["pk"], "sum_fen": row["total"]})
    sums = dict(Entry.objects.values_list("account_id").annotate(total=Sum("amount_fen")).values_list("account_id", "total"))
    for account in LedgerAccount.objects.all():
        derived = sums.get(account.pk, 0) or 0
        if derived != account.balance_fen:
            problems.append({"problem": "balance_mismatch", "account": str(account),
                             "cached_fen": account.balance_fen, "entries_fen": derived})
        if account.kind == LedgerAccountKind.PERSONAL and account.balance_fen < 0:
            problems.append({"problem": "personal_negative", "account": str(account)})
    return problems


def policy_current(region: str, insutype: str, on: dt.date) -> PolicyParameters | None:
    """The policy version in force on ``on``: the latest effective_from <= on
    (the highest version wins on the same date)."""
    return (
        PolicyParameters.objects.filter(region=region, insutype=insutype, effective_from__lte=on)
        .order_by("-effective_from", "-version")
        .first()
    )
