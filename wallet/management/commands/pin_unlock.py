"""Operator: unlock a voucher's payment PIN before the 24 h lock runs out."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.enums import AuditOutcome
from accounts.services import audit_record
from settlement.enums import OutboxKind
from settlement.services.outbox import outbox_enqueue
from wallet.models import Voucher


class Command(BaseCommand):
    help = "Unlock the payment PIN of a person's voucher (audited)."

    def add_arguments(self, parser):
        parser.add_argument("--psn-no", required=True)
        parser.add_argument("--operator", required=True, help="who is doing this (recorded in the audit log)")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, psn_no, operator, reason, **options):
        with transaction.atomic():
            voucher = Voucher.objects.select_for_update().select_related("person").filter(person__psn_no=psn_no).first()
            if voucher is None:
                raise CommandError(f"no voucher for psn_no {psn_no}")
            was_locked = voucher.pin_locked_until is not None
            voucher.pin_locked_until = None
            voucher.pin_failures = 0
            voucher.save(update_fields=["pin_locked_until", "pin_failures", "updated_at"])
            audit_record(action="pin.unlock", outcome=AuditOutcome.SUCCESS, actor=f"operator:{operator}",
                         person=voucher.person, detail={"reason": reason, "was_locked": was_locked})
            if was_locked:
                outbox_enqueue(kind=OutboxKind.PIN_UNLOCKED, person_key=psn_no, payload={"reason": reason})
        self.stdout.write(f"PIN of {psn_no} unlocked" + ("" if was_locked else " (it was not locked)"))
