"""A person's filing changes reach the core in order, once, even when the
core is down while they happen: created, changed, cancelled and a second
created wait in the outbox (the person's head message backs off, the rest
wait their turn) and, once the core is back, are applied in that order."""

from __future__ import annotations

import pytest
from django.utils import timezone

from referrals.models import Filing
from settlement.models import OutboxMessage
from settlement.services.outbox import outbox_relay
from tests.support.processes import core_eval

from .conftest import FILER, LONG_TERM, TEMPORARY, body

pytestmark = pytest.mark.django_db


def test_filings_made_while_the_core_is_down_are_applied_in_order(filer, settings, core_live):
    assert filer.get("/api/filings/rules").status_code == 200  # the region's rules, cached while the core is up
    outbox_relay(budget_seconds=10)  # the activation's own messages go first
    settings.SETTLEMENT_CORE_URL = "http://127.0.0.1:9/core"  # nothing listens there
    settings.SETTLEMENT_CORE_RETRIES = 0
    long_term = filer.file(body(LONG_TERM)).json()
    assert filer.post(f"/api/filings/{long_term['id']}/change",
                      {"dest_admdvs": "440100", "reason": "work_change"}).status_code == 200
    temporary = filer.file(body(TEMPORARY)).json()
    assert filer.post(f"/api/filings/{temporary['id']}/cancel", {}).status_code == 200
    result = outbox_relay(budget_seconds=5)
    assert result["sent"] == 0 and result["failed"] == 1  # only the person's head was tried
    mine = list(OutboxMessage.objects.filter(person_key=FILER.psn_no, kind__startswith="filing.").order_by("id"))
    assert [m.kind for m in mine] == ["filing.created", "filing.changed", "filing.created", "filing.cancelled"]
    assert [m.attempts for m in mine] == [1, 0, 0, 0] and mine[0].last_error.startswith("CoreUnavailable")

    settings.SETTLEMENT_CORE_URL = core_live.url
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    for _ in range(10):
        outbox_relay(budget_seconds=10)
        if not OutboxMessage.objects.exclude(status="sent").exists():
            break
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    applied = core_eval(core_live.db_url, (
        f"list(m.WalletEvent.objects.filter(psn_no={FILER.psn_no!r}, kind__startswith='filing.')"
        ".order_by('id').values_list('message_id', 'sequence'))"))
    assert [message_id for message_id, _ in applied][-4:] == [m.message_id for m in mine]
    sequences = [s for _, s in applied]
    assert sequences == sorted(sequences)
    held = core_eval(core_live.db_url, (
        f"sorted(m.Filing.objects.filter(psn_no={FILER.psn_no!r}, filing_no__in="
        f"{[long_term['filing_no'], temporary['filing_no']]!r}).values_list('filing_no', 'dest_admdvs', 'status'))"))
    assert held == sorted([(long_term["filing_no"], "440100", "active"), (temporary["filing_no"], "510100", "cancelled")])
    assert Filing.objects.count() == 2
