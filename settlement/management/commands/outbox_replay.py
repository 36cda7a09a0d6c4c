"""Operators: put dead-lettered outbox messages back in line."""

from django.core.management.base import BaseCommand, CommandError

from settlement.services.outbox import outbox_replay


class Command(BaseCommand):
    help = "Replay dead letters: outbox_replay --all | outbox_replay MESSAGE_ID [...]"

    def add_arguments(self, parser):
        parser.add_argument("message_ids", nargs="*")
        parser.add_argument("--all", action="store_true", help="every dead letter")

    def handle(self, *args, message_ids, all, **options):
        if not all and not message_ids:
            raise CommandError("name message ids or pass --all")
        count = outbox_replay(message_ids=message_ids, all_dead=all)
        self.stdout.write(f"{count} dead letter(s) put back in line")
