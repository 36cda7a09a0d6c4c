"""Operator: record a household register (户籍, 户口簿) or add members to it;
each member is PSN_NO:ROLE, the role being the relation to the head (head,
spouse, child, parent, grandchild, sibling, other). Idempotent."""

from django.core.management.base import BaseCommand, CommandError

from core_platform.enums import HouseholdRole
from core_platform.management.base import refusals_as_command_errors
from core_platform.services.relations import household_register


class Command(BaseCommand):
    help = ("core_register_household --hh-no NO --region ADMDVS --member PSN_NO:ROLE [--member ...]; roles: "
            + ", ".join(f"{value} {label}" for value, label in HouseholdRole.choices))

    def add_arguments(self, parser):
        parser.add_argument("--hh-no", required=True, help="household register number (户号)")
        parser.add_argument("--region", required=True)
        parser.add_argument("--member", action="append", required=True, help="PSN_NO:ROLE (repeat)")

    def handle(self, *args, hh_no, region, member, **options):
        members = []
        for text in member:
            psn_no, sep, role = text.partition(":")
            if not sep or not psn_no or not role:
                raise CommandError(f"--member must be PSN_NO:ROLE, got {text!r}")
            members.append((psn_no, role))
        with refusals_as_command_errors():
            household, added = household_register(hh_no, region, members)
        self.stdout.write(f"household {household.hh_no} ({household.region}): {added} member(s) added, "
                          f"{household.members.count()} on the register")
