"""Seed the wallet's demo data (idempotent): terminal credentials for the
demo institutions, from the same deterministic generator the core uses."""

from django.conf import settings
from django.core.management.base import BaseCommand

from common import demodata
from terminal.selectors import institution_count
from terminal.services.institutions import institution_register


class Command(BaseCommand):
    help = "Seed the wallet's demo data (terminal credentials for demo institutions). Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=settings.DEMO_SEED)

    def handle(self, *args, seed, **options):
        data = demodata.generate(seed)
        before = institution_count()
        for inst in data.institutions:
            institution_register(fixmedins_code=inst.fixmedins_code, name=inst.name, kind=inst.kind,
                                 level=inst.level, region=inst.region, designated=inst.designated,
                                 secret=inst.secret, actor="seed_demo")
        created = institution_count() - before
        self.stdout.write(f"wallet demo data: {len(data.institutions)} institutions ({created} new)")
