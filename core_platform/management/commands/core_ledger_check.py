from django.core.management.base import BaseCommand, CommandError

from ...selectors import ledger_discrepancies
from ...services.ledger import holds_expire


class Command(BaseCommand):
    help = ("Check the ledger invariants (balanced postings, cached balances, no negative personal account, "
            "held amounts = pending holds, available ≥ 0, every posted hold one posting of its amount, "
            "no pending hold past its deadline).")

    def add_arguments(self, parser):
        parser.add_argument("--expire", action="store_true",
                            help="run the hold sweep (core_hold_expire) before checking")

    def handle(self, *args, **options):
        if options["expire"]:
            self.stdout.write(f"expired {holds_expire()} holds")
        problems = ledger_discrepancies()
        for problem in problems:
            self.stdout.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} ledger discrepancies")
        self.stdout.write(self.style.SUCCESS("ledger consistent"))
