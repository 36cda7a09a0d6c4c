from django.core.management.base import BaseCommand

from ...services.registry import institution_register
from ..base import refusals_as_command_errors


class Command(BaseCommand):
    help = "Register or update a designated institution (upsert on --code)."

    def add_arguments(self, parser):
        parser.add_argument("--code", required=True, help="fixmedins_code, e.g. P44010000001")
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=["hospital", "pharmacy"])
        parser.add_argument("--level", required=True, choices=["1", "2", "3", "9"], help="pharmacies: 9")
        parser.add_argument("--region", required=True, help="admdvs of a registered region")
        parser.add_argument("--not-designated", action="store_true", help="registered but not (or no longer) designated")
        parser.add_argument("--outpatient-pooling", action="store_true",
                            help="designated for employee outpatient pooling (门诊统筹); matters for pharmacies")

    def handle(self, *args, **o):
        with refusals_as_command_errors():
            inst, created = institution_register(code=o["code"], name=o["name"], kind=o["kind"], level=o["level"],
                                                 region=o["region"], designated=not o["not_designated"],
                                                 outpatient_pooling=o["outpatient_pooling"])
        verb = "registered" if created else "updated"
        self.stdout.write(self.style.SUCCESS(
            f"{verb}: {inst.fixmedins_code} {inst.name} kind={inst.kind} level={inst.level} "
            f"region={inst.region} designated={inst.designated} outpatient_pooling={inst.outpatient_pooling}"
        ))
