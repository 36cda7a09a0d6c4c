"""Operator: record a civil relation — spouse (marriage registration) or
parent_child (--psn-no is the parent of --rel-psn-no). Idempotent."""

from django.core.management.base import BaseCommand

from core_platform.management.base import refusals_as_command_errors
from core_platform.services.relations import relation_register


class Command(BaseCommand):
    help = "core_register_relation --kind spouse|parent_child --psn-no N --rel-psn-no M"

    def add_arguments(self, parser):
        parser.add_argument("--kind", required=True, choices=["spouse", "parent_child"])
        parser.add_argument("--psn-no", required=True, help="parent_child: the parent")
        parser.add_argument("--rel-psn-no", required=True, help="parent_child: the child")

    def handle(self, *args, kind, psn_no, rel_psn_no, **options):
        with refusals_as_command_errors():
            relation, created = relation_register(kind, psn_no, rel_psn_no)
        self.stdout.write(f"{relation.kind} {relation.psn_no} -> {relation.rel_psn_no} "
                          f"{'recorded' if created else 'already recorded'}")
