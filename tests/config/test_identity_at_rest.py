"""ID numbers are encrypted at rest everywhere (DESIGN.md glossary; docs/
subsystems/identity-data.md): after a day of traffic through the public
interfaces, no table of the wallet's database, no table of the core's own
database and no Redis key or value holds a demo person's full ID number in
clear — journals, caches, outbox payloads and queued task messages included.

The core runs as its own process (core_live) on its own database; that
database is opened directly to scan it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from common import demodata
from common.envelope import InfCode
from settlement.services.outbox import outbox_relay
from settlement.services.pulls import pull_all
from settlement.services.reconciliation import reconcile_day
from tests.support import atrest
from tests.support.app import AppClient
from tests.support.pos import A_ITEMS, DATA, Pos, pharmacy_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes,
              pytest.mark.usefixtures("core_url", "outbox_ids_above_earlier_tests")]

P = demodata.DEMO_PERSONAS
UNDESIGNATED = [i for i in DATA.institutions if not i.designated]
SMALL = [(A_ITEMS[0].med_list_codg, "25.00", "2")]
LARGE = [(A_ITEMS[1].med_list_codg, "500.00", "2")]  # needs the payer's PIN on the phone


def _by_id_number(pos: Pos, person, *, msgid: str, lowercase: bool = False) -> dict:
    number = person.id_number.lower() if lowercase else person.id_number
    return pos.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": number, "psn_name": person.name}},
                    msgid=msgid)


def _a_day_of_traffic(client) -> None:
    apps = {}
    for key in ("employee", "resident", "elderly"):
        apps[key] = AppClient(client, "wechat").login()
        apps[key].activate(P[key], pin="258036")
    refused = AppClient(client).login().real_name(P["suspended"])  # the core answers; the wallet refuses
    assert refused.status_code == 400, refused.content

    for n, key in enumerate(("employee", "resident")):
        person, app = P[key], apps[key]
        # A pharmacy of the person's own region (广州, 北京): elsewhere a bill needs a filing (4011).
        pos = Pos(client, pharmacy_for(person))
        code = app.get("/api/voucher/code").json()["code"]
        decoded = pos.decode(code)
        assert decoded["code"] == 0 and decoded["data"]["idNo"] == person.id_number, decoded
        assert pos.decode(code) == decoded  # the same terminal retrying: the stored answer

        by_token = pos.call("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": pos.token}}, msgid=f"Q-T-{n}")
        assert by_token["infcode"] == 0 and by_token["output"]["baseinfo"]["psn_no"] == person.psn_no, by_token
        by_id = _by_id_number(pos, person, msgid=f"Q-ID-{n}", lowercase=True)
        assert by_id["infcode"] == 0 and by_id["output"]["baseinfo"]["certno"] == person.id_number, by_id
        # A replay is the first answer, verbatim (from the encrypted journal).
        assert _by_id_number(pos, person, msgid=f"Q-ID-{n}", lowercase=True) == by_id

        bill = pos.bill(SMALL, insutype=person.insutype)
        pre = pos.pre_settle(bill, msgid=f"PRE-{n}")
        assert pre["infcode"] == 0, pre
        settled = pos.settle(bill, msgid=f"PAY-{n}")
        assert settled["infcode"] == 0, settled
        assert pos.settle(bill, msgid=f"PAY-{n}") == settled
        reversed_ = pos.reverse(settled["output"]["setlinfo"]["setl_id"], msgid=f"REV-{n}")
        assert reversed_["infcode"] == 0, reversed_
        assert pos.settle(pos.bill(SMALL, insutype=person.insutype), msgid=f"PAY-AGAIN-{n}")["infcode"] == 0
        if key == "employee":
            large = pos.bill(LARGE)
            assert pos.settle(large, msgid="PAY-LARGE")["infcode"] == InfCode.CONFIRMATION_PENDING
            pending = app.get("/api/payments/pending").json()
            confirmed = app.post(f"/api/payments/{pending[0]['id']}/confirm", {"pin": "258036"})
            assert confirmed.status_code == 200, confirmed.content
            assert pos.settle(large, msgid="PAY-LARGE")["infcode"] == 0

    # Persons looked up by ID number only, never activated here.
    assert _by_id_number(pos, P["child"], msgid="Q-CHILD")["infcode"] == 0
    _by_id_number(pos, P["suspended"], msgid="Q-SUSPENDED")
    if UNDESIGNATED:
        other = Pos(client, UNDESIGNATED[0])
        masked = _by_id_number(other, P["elderly"], msgid="Q-UNDESIGNATED")
        assert P["elderly"].id_number not in str(masked)

    for app in apps.values():
        assert app.get("/api/records").status_code == 200
    assert outbox_relay(budget_seconds=30)["failed"] == 0
    pull_all()
    reconcile_day(timezone.localdate())


def test_a_day_of_traffic_leaves_no_id_number_in_clear(client, core_live):
    _a_day_of_traffic(client)

    wanted = atrest.needles(p.id_number for p in P.values())
    findings = (atrest.scan_django_database("wallet", connection, wanted)
                + atrest.scan_database_url("core", core_live.db_url, wanted)
                + atrest.scan_redis(settings.REDIS_URL, wanted)
                + atrest.scan_text(f"core log {core_live.log_path.name}", core_live.log_path.read_bytes(), wanted))
    assert not findings, "ID numbers in clear at rest:\n" + "\n".join(findings)


def test_the_scanners_find_a_number_in_each_form(core_live):
    """The scan itself: a clear number is found in a table (as is, with a
    lowercase x, JSON-escaped) and in a Redis value and a Celery body."""
    import base64
    import json

    from accounts.models import AuditEvent
    from common.redis import redis_client

    number = P["employee"].id_number  # ends in X
    wanted = atrest.needles([number])
    for n, detail in enumerate([{"n": number}, {"n": number.lower()}, json.loads(json.dumps({"n": number}))]):
        AuditEvent.objects.create(action=f"t{n}", outcome="success", actor="t", detail=detail)
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(AuditEvent._meta.db_table)
        cursor.execute(f"UPDATE {table} SET detail = %s WHERE action = 't2'", ["".join(
            f"\\u{ord(c):04x}" if c.isalnum() else c for c in json.dumps({"n": number}))])
    found = atrest.scan_django_database("wallet", connection, wanted)
    assert len([f for f in found if f.startswith("wallet:accounts_auditevent.detail")]) == 3, found

    redis_client().set("probe", number.lower())
    body = base64.b64encode(json.dumps([[number], {}, {}]).encode()).decode()
    redis_client().lpush("queue", json.dumps({"body": body, "properties": {"body_encoding": "base64"}}))
    found = atrest.scan_redis(settings.REDIS_URL, wanted)
    assert {f.split(" holds")[0] for f in found} >= {"redis db0 key=probe", "redis db0 key=queue"}, found
