"""Issue terminal credentials for an institution; prints the secret once."""

from django.core.management.base import BaseCommand, CommandError

from common.fields import admdvs_valid, ascii_pattern, matches
from terminal.services.institutions import institution_register

_FIXMEDINS_CODE = ascii_pattern(r"[A-Z0-9]{4,30}")


class Command(BaseCommand):
    help = "Register a designated institution at the terminal gateway and print its new secret (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("--code", required=True, help="fixmedins_code")
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", choices=["pharmacy", "hospital"], required=True)
        parser.add_argument("--level", default="9")
        parser.add_argument("--region", required=True, help="6-digit admdvs")
        parser.add_argument("--not-designated", action="store_true")

    def handle(self, *args, code, name, kind, level, region, not_designated, **options):
        if not matches(_FIXMEDINS_CODE, code):
            raise CommandError("--code must be 4-30 ASCII capital letters or digits (the core's fixmedins_code form)")
        if not admdvs_valid(region):  # six ASCII digits; isdigit() would also take "１" or "²"
            raise CommandError("--region must be a 6-digit administrative division code")
        institution, secret = institution_register(fixmedins_code=code, name=name, kind=kind, level=level,
                                                   region=region, designated=not not_designated)
        if secret is None:
            self.stdout.write(f"{code} already registered; directory fields updated, secret unchanged")
        else:
            self.stdout.write(f"{code} registered. Secret (shown once, store it in the terminal): {secret}")
