from django.core.management.base import BaseCommand

from ...services.registry import region_register
from ..base import refusals_as_command_errors


class Command(BaseCommand):
    help = "Register or update a pooling region (统筹区)."

    def add_arguments(self, parser):
        parser.add_argument("--admdvs", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--province", required=True)
        parser.add_argument("--not-open", action="store_true", help="e-voucher service not opened in this region")

    def handle(self, *args, **o):
        with refusals_as_command_errors():
            region, created = region_register(o["admdvs"], o["name"], o["province"], evoucher_open=not o["not_open"])
        verb = "registered" if created else "updated"
        self.stdout.write(self.style.SUCCESS(f"{verb}: {region.admdvs} {region.name} evoucher_open={region.evoucher_open}"))
