from django.core.management.base import BaseCommand

from common.money import fen_to_yuan

from ...selectors import personal_balance_fen
from ...services.ledger import personal_account_credit
from ..base import refusals_as_command_errors


class Command(BaseCommand):
    help = ("Credit a personal account (posting contribution_source -> personal). "
            "Idempotent on --reference: a repeat changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--psn-no", required=True)
        parser.add_argument("--amount-fen", required=True, type=int, help="positive integer, in fen")
        parser.add_argument("--reference", required=True, help="unique key of this credit, e.g. 2026-01-contrib")
        parser.add_argument("--memo", default="")

    def handle(self, *args, **o):
        with refusals_as_command_errors():
            posting, created = personal_account_credit(o["psn_no"], o["amount_fen"], o["reference"], memo=o["memo"])
        balance = fen_to_yuan(personal_balance_fen(o["psn_no"]))
        verb = "credited" if created else "already credited (no change)"
        self.stdout.write(self.style.SUCCESS(
            f"{verb}: {o['psn_no']} +{fen_to_yuan(o['amount_fen'])} yuan, posting {posting.pk}, balance {balance} yuan"
        ))
