"""Create (or reset) the demo staff users and the demo operator, and print
their passwords and TOTP seeds. Development only: refused in production."""

import base64

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.services.staff import operator_user_ensure
from staff.services import staff_user_create

# (username, role, team, password, TOTP key hex): fixed so the README can name them.
DEMO_STAFF = [
    ("agent1", "agent", "一组", "agent1-demo-2026", "3132333435363738393031323334353637383930"),
    ("agent2", "agent", "二组", "agent2-demo-2026", "3232333435363738393031323334353637383930"),
    ("supervisor1", "supervisor", "一组", "supervisor1-demo-2026", "3332333435363738393031323334353637383930"),
    ("auditor1", "auditor", "审计", "auditor1-demo-2026", "3432333435363738393031323334353637383930"),
]
# The operator of /staff/sync/ (not a console user): password + TOTP too.
DEMO_OPERATOR = ("ops", "ops-demo-2026", "3532333435363738393031323334353637383930")


def totp_seed_base32(key_hex: str) -> str:
    return base64.b32encode(bytes.fromhex(key_hex)).decode()


class Command(BaseCommand):
    help = ("Create the demo support staff (agent, supervisor, auditor) and the operator (ops) with TOTP devices; "
            "print their seeds.")

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("demo staff users are for development only")
        for username, role, team, password, key in DEMO_STAFF:
            staff_user_create(username=username, password=password, role=role, team=team, totp_key=key)
            self.stdout.write(f"staff {username:<12} role={role:<10} team={team} password={password} "
                              f"totp_seed={totp_seed_base32(key)}")
        username, password, key = DEMO_OPERATOR
        operator_user_ensure(username, password, totp_key=key)
        self.stdout.write(f"operator {username:<9} /staff/sync/ password={password} totp_seed={totp_seed_base32(key)}")
