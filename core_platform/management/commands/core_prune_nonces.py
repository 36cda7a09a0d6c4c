from django.core.management.base import BaseCommand

from ...services.envelope import nonce_prune


class Command(BaseCommand):
    help = "Delete spent request nonces older than twice GATEWAY_CLOCK_SKEW_SECONDS."

    def handle(self, *args, **options):
        self.stdout.write(f"pruned {nonce_prune()} nonces")
