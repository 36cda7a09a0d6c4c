"""Verify the audit trail's hash chain: OK, or the first broken link (id)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.services.audit_chain import audit_chain_verify


class Command(BaseCommand):
    help = "Seal pending audit events into the chain, then verify every link; exit 1 at the first broken one."

    def add_arguments(self, parser):
        parser.add_argument("--no-seal", action="store_true", help="verify only; do not seal pending events first")

    def handle(self, *args, no_seal=False, **options):
        report = audit_chain_verify(seal_first=not no_seal)
        if not report.ok:
            raise CommandError(report.as_text())
        self.stdout.write(report.as_text())
