"""Operator: freeze, unfreeze or revoke a person's voucher (audited; the core
learns it through the outbox)."""

from django.core.management.base import BaseCommand, CommandError

from common.errors import ApplicationError
from common.idnumber import mask_in_text
from common.text import visible_length
from wallet.services.vouchers import voucher_status_change


class Command(BaseCommand):
    help = "Freeze / unfreeze / revoke a voucher: voucher_status --psn-no N --action freeze --operator X --reason R"

    def add_arguments(self, parser):
        parser.add_argument("--psn-no", required=True)
        parser.add_argument("--action", required=True, choices=["freeze", "unfreeze", "revoke"])
        parser.add_argument("--operator", required=True)
        parser.add_argument("--reason", required=True)

    def handle(self, *args, psn_no, action, operator, reason, **options):
        if visible_length(reason) < 4:  # as the console's reasons: invisible characters do not count
            raise CommandError("--reason needs at least 4 visible characters")
        reason = mask_in_text(reason.strip())  # stored in the audit event and sent to the core
        try:
            voucher = voucher_status_change(psn_no=psn_no, action=action, actor=f"operator:{operator}", reason=reason)
        except ApplicationError as error:
            raise CommandError(f"{error.code}: {error.message}")
        self.stdout.write(f"voucher of {psn_no} is now {voucher.status}")
