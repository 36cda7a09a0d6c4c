from django.core.management.base import BaseCommand, CommandError

from ...selectors import ledger_discrepancies


class Command(BaseCommand):
    help = "Check the ledger invariants (balanced postings, cached balances, no negative personal account)."

    def handle(self, *args, **options):
        problems = ledger_discrepancies()
        for problem in problems:
            self.stdout.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} ledger discrepancies")
        self.stdout.write(self.style.SUCCESS("ledger consistent"))
