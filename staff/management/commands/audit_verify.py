"""Verify the audit trail's hash chain, and the chain against the signed
checkpoints kept outside the database: OK, or the first problem found."""

from django.core.management.base import BaseCommand, CommandError

from accounts.services.audit_chain import audit_chain_verify, audit_checkpoint_create
from common.errors import ApplicationError


class Command(BaseCommand):
    help = ("Seal pending audit events into the chain, then verify every link and that the chain is an extension "
            "of every checkpoint in AUDIT_CHECKPOINT_FILE; exit 1 at the first problem.")

    def add_arguments(self, parser):
        parser.add_argument("--no-seal", action="store_true", help="verify only; do not seal pending events first")
        parser.add_argument("--checkpoint", action="store_true",
                            help="after a successful verification, append a checkpoint of the head (as beat does "
                                 "every AUDIT_CHECKPOINT_INTERVAL_SECONDS); the first one on a new installation")

    def handle(self, *args, no_seal=False, checkpoint=False, **options):
        report = audit_chain_verify(seal_first=not no_seal, allow_no_checkpoint=checkpoint)
        if not report.ok:
            raise CommandError(report.as_text())
        self.stdout.write(report.as_text())
        if checkpoint:
            try:
                written = audit_checkpoint_create()
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(f"checkpoint written: {written.seq} events" if written is not None
                              else "checkpoint: the last one already names the head")
