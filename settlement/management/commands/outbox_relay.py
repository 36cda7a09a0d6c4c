"""Operators / benchmarks: relay the outbox now, in this process."""

from django.core.management.base import BaseCommand

from settlement.services.outbox import outbox_relay


class Command(BaseCommand):
    help = "Relay due outbox messages to the core now (bounded by --budget seconds)."

    def add_arguments(self, parser):
        parser.add_argument("--budget", type=float, default=60.0)
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args, budget, batch_size, **options):
        self.stdout.write(str(outbox_relay(budget_seconds=budget, batch_size=batch_size)))
