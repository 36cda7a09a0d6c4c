"""The payments' side of settlement's reconciliation, registered with
settlement's hooks in payments/apps.py: ``payments_settled``, the wallet's
journal for a day, which reconciliation compares with the core's ledger."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from payments.enums import PaymentStatus
from payments.models import Payment

# The wallet's payment statuses as the core's setl_stas ("1" settled, "2" reversed).
RECONCILED_STATUS = {PaymentStatus.SETTLED: "1", PaymentStatus.REVERSED: "2"}


def account_credit_push(person_id: int, amount_fen: int, at: dt.datetime) -> None:
    voucher_id = Voucher.objects.filter(person_id=person_id).values_list("pk", flat=True).first()
    if voucher_id is not None:
        voucher_push(voucher_id, "account.credited", {"amount": fen_to_yuan(amount_fen), "at": at.isoformat()})


def payments_settled(day: dt.date, institutions: list[str] | None) -> dict[str, dict]:
    """The wallet's settled (or since reversed) payments of ``day``, by setl_id,
    amounts in fen, status as setl_stas."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    rows = (Payment.objects.select_related("institution", "message")
            .filter(settled_at__gte=start, settled_at__lt=start + dt.timedelta(days=1),
                    status__in=list(RECONCILED_STATUS))
            .exclude(setl_id=""))
    if institutions is not None:
        rows = rows.filter(institution__fixmedins_code__in=institutions)
    return {p.setl_id: {"fixmedins_code": p.institution.fixmedins_code, "msgid": p.msgid, "medfee": p.medfee_fen,
                        "fund": p.fund_fen, "acct": p.acct_fen, "mulaid": p.mulaid_fen, "cash": p.cash_fen,
                        "status": RECONCILED_STATUS[p.status]} for p in rows}
