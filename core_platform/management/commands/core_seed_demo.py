from django.conf import settings
from django.core.management.base import BaseCommand

from common import demodata, idnumber

from ...services.demo import demo_seed
from ..base import refusals_as_command_errors


class Command(BaseCommand):
    help = "Load the deterministic demo data (common.demodata) into the settlement core. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=settings.DEMO_SEED, help="generator seed (default DEMO_SEED)")

    def handle(self, *args, seed, **options):
        with refusals_as_command_errors():
            counts = demo_seed(seed, progress=lambda line: self.stdout.write("  " + line))
        self.stdout.write(self.style.SUCCESS(f"demo data (seed {seed}) loaded"))
        if seed == demodata.DEFAULT_SEED:
            for role, p in demodata.DEMO_PERSONAS.items():
                self.stdout.write(f"  persona {role:<10} {p.psn_no} {p.name} {idnumber.mask(p.id_number)}")
