from django.core.management.base import BaseCommand

from ...services.ledger import holds_expire


class Command(BaseCommand):
    help = ("Expire every pending hold past its deadline (its amount released, exactly once). "
            "Run it every minute (cron / a systemd timer next to the core process); the core also "
            "expires an account's overdue holds whenever it locks that account.")

    def handle(self, *args, **options):
        self.stdout.write(f"expired {holds_expire()} holds")
