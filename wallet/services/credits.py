"""The wallet's side of settlement's credit pulls, registered with
settlement's hooks in wallet/apps.py (settlement may not import the wallet):
``account_credit_push`` pushes a pulled personal-account credit to the
person's open pages (``account.credited``)."""

from __future__ import annotations

import datetime as dt

from common.money import fen_to_yuan
from wallet.models import Voucher
from wallet.services.push import voucher_push


def account_credit_push(person_id: int, amount_fen: int, at: dt.datetime) -> None:
    voucher_id = Voucher.objects.filter(person_id=person_id).values_list("pk", flat=True).first()
    if voucher_id is not None:
        voucher_push(voucher_id, "account.credited", {"amount": fen_to_yuan(amount_fen), "at": at.isoformat()})
