from django.core.management.base import BaseCommand

from common import idnumber

from ...services.registry import person_enrol
from ..base import refusals_as_command_errors


class Command(BaseCommand):
    help = "Enrol an insured person (opens the personal account). Idempotent for the same person."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--id-number", required=True, help="18-character GB 11643 ID number")
        parser.add_argument("--insutype", required=True, choices=["310", "390"])
        parser.add_argument("--region", required=True, help="insured region admdvs (6 digits, must be registered)")
        parser.add_argument("--employer", default="", help="required for working employees (psn_type 11)")
        parser.add_argument("--psn-type", default=None, help="11/21 employees, 31/32/33 residents (default by age)")

    def handle(self, *args, **o):
        with refusals_as_command_errors():
            person, created = person_enrol(
                name=o["name"], id_number=o["id_number"], insutype=o["insutype"], region=o["region"],
                employer=o["employer"], psn_type=o["psn_type"],
            )
        verb = "enrolled" if created else "already enrolled"
        self.stdout.write(self.style.SUCCESS(
            f"{verb}: psn_no={person.psn_no} {person.name} {idnumber.mask(idnumber.normalize(o['id_number']))} "
            f"insutype={person.insutype} psn_type={person.psn_type} region={person.insured_region}"
        ))
