"""Operator: unlock a voucher's payment PIN before the 24 h lock runs out."""

from django.core.management.base import BaseCommand, CommandError

from common.idnumber import mask_in_text
from common.text import visible_length
from wallet.services.pin import pin_unlock


class Command(BaseCommand):
    help = "Unlock the payment PIN of a person's voucher (audited)."

    def add_arguments(self, parser):
        parser.add_argument("--psn-no", required=True)
        parser.add_argument("--operator", required=True, help="who is doing this (recorded in the audit log)")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, psn_no, operator, reason, **options):
        if visible_length(reason) < 4:  # as the console's reasons: invisible characters do not count
            raise CommandError("--reason needs at least 4 visible characters")
        reason = mask_in_text(reason.strip())  # stored in the audit event and sent to the core
        was_locked = pin_unlock(psn_no=psn_no, operator=operator, reason=reason)
        if was_locked is None:
            raise CommandError(f"no voucher for psn_no {psn_no}")
        self.stdout.write(f"PIN of {psn_no} unlocked" + ("" if was_locked else " (it was not locked)"))
