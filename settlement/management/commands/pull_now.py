from django.core.management.base import BaseCommand, CommandError

from settlement.errors import CoreError
from settlement.services.pulls import pull_all


class Command(BaseCommand):
    help = "Pull credits, enrolment changes and policy versions from the core now."

    def handle(self, *args, **options):
        try:
            self.stdout.write(str(pull_all()))
        except CoreError as exc:
            raise CommandError(f"settlement core unavailable: {exc}")
