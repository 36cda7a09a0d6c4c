"""Operator: a person's benefit attributes — the civil-servant flag
(公务员标志) and special identities (人员身份, e.g. 特困人员, 低保对象; the
region's codes are listed in core_platform/README.md)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from core_platform.management.base import refusals_as_command_errors
from core_platform.services.registry import IDENTITY_TYPES, person_cvlserv_set, person_identity_add


def _date(text: str | None, name: str) -> dt.date | None:
    if text is None:
        return None
    try:
        if len(text) != 10 or not text.isascii():
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{name} must be a YYYY-MM-DD date, got {text!r}") from None


class Command(BaseCommand):
    help = ("core_person_benefits --psn-no N [--cvlserv 1|0] "
            "[--identity CODE --begin YYYY-MM-DD [--end YYYY-MM-DD] [--level LV] [--memo TEXT]]; identity codes: "
            + ", ".join(f"{code} {name}" for code, name in IDENTITY_TYPES.items()))

    def add_arguments(self, parser):
        parser.add_argument("--psn-no", required=True)
        parser.add_argument("--cvlserv", choices=["1", "0"], help="set (1) or clear (0) the civil-servant flag")
        parser.add_argument("--identity", help="psn_idet_type code to add")
        parser.add_argument("--begin", help="first day the identity holds")
        parser.add_argument("--end", help="last day the identity holds (default: open-ended)")
        parser.add_argument("--level", default="", help="psn_type_lv")
        parser.add_argument("--memo", default="")

    def handle(self, *args, psn_no, cvlserv, identity, begin, end, level, memo, **options):
        if cvlserv is None and identity is None:
            raise CommandError("give --cvlserv or --identity")
        if identity is not None and begin is None:
            raise CommandError("--identity needs --begin")
        with refusals_as_command_errors():
            if cvlserv is not None:
                person = person_cvlserv_set(psn_no, cvlserv == "1")
                self.stdout.write(f"{psn_no} cvlserv_flag={'1' if person.cvlserv_flag else '0'}")
            if identity is not None:
                row, created = person_identity_add(psn_no, identity, _date(begin, "--begin"),
                                                   endtime=_date(end, "--end"), psn_type_lv=level, memo=memo)
                verb = "added" if created else "already recorded"
                self.stdout.write(f"{psn_no} identity {row.psn_idet_type} {verb}: {row.begntime} .. "
                                  f"{row.endtime or 'open'}")
