"""Operator: change a person's enrolment status, insured region or insutype
(recorded for the wallet's pull, 9302)."""

from django.core.management.base import BaseCommand, CommandError

from core_platform.management.base import refusals_as_command_errors
from core_platform.services.registry import person_move, person_status_set


class Command(BaseCommand):
    help = "core_change_person --psn-no N [--status active|suspended|terminated] [--region ADMDVS] [--insutype 310|390]"

    def add_arguments(self, parser):
        parser.add_argument("--psn-no", required=True)
        parser.add_argument("--status", choices=["active", "suspended", "terminated"])
        parser.add_argument("--region")
        parser.add_argument("--insutype", choices=["310", "390"])

    def handle(self, *args, psn_no, status, region, insutype, **options):
        if not (status or region or insutype):
            raise CommandError("give --status, --region or --insutype")
        with refusals_as_command_errors():
            if status:
                person_status_set(psn_no, status)
            if region or insutype:
                person_move(psn_no, region=region, insutype=insutype)
        self.stdout.write(f"{psn_no} changed")
