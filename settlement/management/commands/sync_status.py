"""Operators: outbox depth, oldest pending age, dead letters, last pulls,
last reconciliation."""

import json

from django.core.management.base import BaseCommand

from settlement.selectors import sync_status


class Command(BaseCommand):
    help = "Show the wallet↔core sync state (outbox, dead letters, pulls, last reconciliation)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, as_json=False, **options):
        status = sync_status()
        if as_json:
            self.stdout.write(json.dumps(status, default=str, ensure_ascii=False, indent=2))
            return
        o = status["outbox"]
        self.stdout.write(f"outbox: pending={o['pending']} sending={o['sending']} sent={o['sent']} dead={o['dead']} "
                          f"oldest_pending_age_s={o['oldest_pending_age_s']}")
        for d in status["dead_letters"]:
            self.stdout.write(f"  dead: {d['message_id']} {d['kind']} psn={d['person_key']} attempts={d['attempts']} "
                              f"error={d['last_error']}")
        for name, c in status["pulls"].items():
            self.stdout.write(f"pull {name}: position={c['position']} last_success_at={c['last_success_at']} "
                              f"error={c['last_error'] or '-'}")
        r = status["last_reconciliation"]
        self.stdout.write("last reconciliation: none" if r is None else
                          f"last reconciliation: {r['day']} differences={r['differences']} settlements={r['settlements']}")
