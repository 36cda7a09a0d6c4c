"""Operators: reconcile a day and print the report."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from settlement.errors import CoreError
from settlement.services.reconciliation import reconcile_day, reconciliation_report


class Command(BaseCommand):
    help = "Reconcile one day (default: today) of the wallet's journal against the core; print the report."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default today)")
        parser.add_argument("--institution", action="append", help="fixmedins_code (repeatable; default all)")

    def handle(self, *args, date=None, institution=None, **options):
        try:
            day = dt.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError:
            raise CommandError("--date must be YYYY-MM-DD")
        try:
            run = reconcile_day(day, institution)
        except CoreError as exc:
            raise CommandError(f"settlement core unavailable: {exc}")
        for line in reconciliation_report(run):
            self.stdout.write(line)
