from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from common.jsonbody import JsonBodyError, loads

from ...services.policy import policy_load
from ..base import refusals_as_command_errors


class Command(BaseCommand):
    help = "Load policy-parameter versions from a JSON file (validated; all or nothing). Schema: engine/params.py."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            raw = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc}") from None
        try:
            # The strict reader: a key given twice (which plain json.loads
            # would settle silently by keeping the last), NaN, bad UTF-8 are
            # refused. Money and ratios are integers: the validator refuses
            # a number with a fraction.
            data = loads(raw)
        except JsonBodyError as exc:
            raise CommandError(f"INVALID_INPUT: 政策参数文件 {file} 不是合法的JSON：{exc.message}") from None
        with refusals_as_command_errors():
            counts = policy_load(data)
        self.stdout.write(self.style.SUCCESS(f"policies loaded from {file}: {counts}"))
