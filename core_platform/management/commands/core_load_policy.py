import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ...services.policy import policy_load
from ..base import refusals_as_command_errors


class Command(BaseCommand):
    help = "Load policy-parameter versions from a JSON file (validated; all or nothing). Schema: engine/params.py."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            data = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {file}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"{file} is not valid JSON: {exc}") from None
        with refusals_as_command_errors():
            counts = policy_load(data)
        self.stdout.write(self.style.SUCCESS(f"policies loaded from {file}: {counts}"))
