from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ...services.catalogue import catalogue_file_rows, catalogue_load
from ..base import refusals_as_command_errors


class Command(BaseCommand):
    help = "Load (upsert) catalogue items from a .csv or .json file; all or nothing. Format: core_platform/README.md."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        path = Path(file)
        fmt = path.suffix.lower().lstrip(".")
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {file}: {exc}") from None
        with refusals_as_command_errors():
            counts = catalogue_load(catalogue_file_rows(content, fmt))
        self.stdout.write(self.style.SUCCESS(f"catalogue loaded from {file}: {counts}"))
