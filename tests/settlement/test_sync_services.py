"""Outbox, pulls and reconciliation as services, against the settlement core
running as its own HTTP service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from common import demodata
from settlement.client import core_client
from settlement.models import AccountCredit, Discrepancy, OutboxMessage, PolicyVersion, SyncCursor
from settlement.services.outbox import outbox_relay
from settlement.services.pulls import pull_all, pull_credits
from settlement.services.reconciliation import reconcile_day, reconciliation_report
from tests.support.app import AppClient
from tests.support.pos import A_ITEMS, Pos, pharmacies_for
from tests.support.processes import base_env, run_manage
from payments.models import Payment
from wallet.models import Voucher
from codes.services.issue import code_issue
from wallet.services.vouchers import voucher_status_change

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url", "outbox_ids_above_earlier_tests")]
P = demodata.DEMO_PERSONAS
# The reconciled pharmacy: in the employee's province (elsewhere a bill needs a cross-province
# filing, 4011) and one no other test settles at, since the core and its day are shared by the run.
PHARMACY = next(i for i in pharmacies_for(P["employee"]) if i.fixmedins_code == "P44060000001")


def core_state(psn_no: str) -> dict:
    """What the core knows of the voucher (read through its own DB via the
    ORM would cross the boundary; ask over HTTP instead)."""
    from django.conf import settings

    env = base_env(YIBAO_SERVICE="core", CORE_DATABASE_URL=settings.CORE_LIVE_DB_URL)
    out = run_manage(env, "shell", "-c", (
        "from core_platform.models import VoucherState, WalletEvent;"
        f"s=VoucherState.objects.filter(psn_no='{psn_no}').first();"
        f"e=list(WalletEvent.objects.filter(psn_no='{psn_no}').order_by('id').values_list('kind','sequence'));"
        "print(repr((s.status if s else None, s.channels if s else None, s.pin_locked if s else None, e)))"))
    return dict(zip(("status", "channels", "pin_locked", "events"), eval(out.strip().splitlines()[-1])))


@pytest.fixture(autouse=True)
def _core_db(core_live, settings):
    settings.CORE_LIVE_DB_URL = core_live.db_url


def test_changes_are_written_with_the_change_and_relayed_in_order(client):
    app = AppClient(client, "wechat").login()
    app.activate(P["elderly"])
    rows = list(OutboxMessage.objects.order_by("id").values_list("kind", "person_key", "status"))
    assert rows == [("voucher.activated", P["elderly"].psn_no, "pending"),
                    ("authorization.added", P["elderly"].psn_no, "pending")]
    auth_id = app.get("/api/voucher/authorizations").json()[0]["id"]
    app.post(f"/api/voucher/authorizations/{auth_id}/revoke")
    voucher_status_change(psn_no=P["elderly"].psn_no, action="freeze", actor="ops", reason="测试")
    result = outbox_relay(budget_seconds=30)
    assert result["sent"] == 4 and result["failed"] == 0
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    state = core_state(P["elderly"].psn_no)
    assert state["status"] == "frozen" and state["channels"] == []
    # This test's own events (other tests of the run may have sent the persona's events to the shared core).
    sent = set(OutboxMessage.objects.values_list("pk", flat=True))
    mine = [(k, s) for k, s in state["events"] if s in sent]
    assert [k for k, _ in mine] == ["voucher.activated", "authorization.added", "authorization.revoked",
                                    "voucher.frozen"]
    seqs = [s for _, s in mine]
    assert seqs == sorted(seqs)


def test_a_failed_change_rolls_back_its_message():
    with pytest.raises(Exception):
        voucher_status_change(psn_no="nobody", action="freeze", actor="ops", reason="x")
    assert not OutboxMessage.objects.exists()


def test_redelivery_is_applied_once(client):
    AppClient(client).login().activate(P["resident"])
    messages = list(OutboxMessage.objects.order_by("id"))
    from settlement.services.outbox import _event

    events = [_event(m) for m in messages]
    first = core_client().call("9201", {"events": events})
    again = core_client().call("9201", {"events": events})
    assert [r["result"] for r in first["results"]] == ["applied", "applied"]
    assert [r["result"] for r in again["results"]] == ["duplicate", "duplicate"]
    # Other tests of the run (filings, family) may have sent the same persona's events to the
    # shared core: count this test's own events, by (kind, sequence).
    ours = {(e["kind"], e["sequence"]) for e in events}
    applied = [tuple(e) for e in core_state(P["resident"].psn_no)["events"] if tuple(e) in ours]
    assert sorted(applied) == sorted(ours)  # each applied exactly once


def test_core_down_backs_off_then_dead_letters_then_replays(client, settings):
    AppClient(client).login().activate(P["employee"])
    settings.OUTBOX_MAX_ATTEMPTS = 2
    good_url = settings.SETTLEMENT_CORE_URL
    settings.SETTLEMENT_CORE_URL = "http://127.0.0.1:9/core"
    outbox_relay(budget_seconds=5)
    head = OutboxMessage.objects.order_by("id").first()
    assert head.status == "pending" and head.attempts == 1 and head.next_attempt_at > timezone.now()
    assert head.last_error.startswith("CoreUnavailable")
    assert OutboxMessage.objects.order_by("id").last().attempts == 0  # the person's later message waits its turn
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    outbox_relay(budget_seconds=5)
    head.refresh_from_db()
    assert head.status == "dead" and head.attempts == 2
    from settlement.selectors import sync_status

    assert sync_status()["outbox"]["dead"] == 1
    settings.SETTLEMENT_CORE_URL = good_url
    assert outbox_relay(budget_seconds=5)["sent"] == 0  # a dead head holds its person's line
    call_command("outbox_replay", "--all")
    assert outbox_relay(budget_seconds=10)["sent"] == 2
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_backoff_grows_with_jitter():
    from settlement.services.outbox import _backoff

    samples = {n: [_backoff(n) for _ in range(50)] for n in (1, 2, 3, 4)}
    assert all(1 <= s <= 2 for s in samples[1]) and all(4 <= s <= 8 for s in samples[3])
    assert len(set(samples[2])) > 10  # jittered, not in lockstep


def test_pulls_credits_once_and_tells_the_person(client, core_live, django_capture_on_commit_callbacks):
    app = AppClient(client).login()
    app.activate(P["employee"])
    pull_all()  # catch up with everything seeded
    before = AccountCredit.objects.count()
    env = base_env(YIBAO_SERVICE="core", CORE_DATABASE_URL=core_live.db_url)
    ref = f"contrib-{timezone.now():%Y%m%d%H%M%S%f}"
    run_manage(env, "core_credit_account", "--psn-no", P["employee"].psn_no, "--amount-fen", "12345",
               "--reference", ref)
    with django_capture_on_commit_callbacks(execute=True):
        assert pull_credits() == 1
    credit = AccountCredit.objects.order_by("-core_posting_id").first()
    assert (credit.psn_no, credit.amount_fen, credit.notified) == (P["employee"].psn_no, 12345, True)
    assert pull_credits() == 0 and AccountCredit.objects.count() == before + 1
    latest = app.get("/api/notifications").json()[0]
    assert (latest["amount"], latest["message"]) == ("123.45", "个人账户到账 123.45 元")
    # Moving the cursor back re-reads, but applies nothing twice.
    SyncCursor.objects.filter(name="credits").update(position=credit.core_posting_id - 1)
    pull_credits()
    assert AccountCredit.objects.count() == before + 1


def test_pulls_enrolment_changes_and_policies(client, core_live):
    person = P["resident"]
    AppClient(client).login().activate(person)
    pull_all()
    env = base_env(YIBAO_SERVICE="core", CORE_DATABASE_URL=core_live.db_url)
    run_manage(env, "core_change_person", "--psn-no", person.psn_no, "--status", "suspended")
    try:
        assert pull_all()["registry"] >= 1
        from accounts.models import Person

        assert Person.objects.get(psn_no=person.psn_no).enrolment_status == "suspended"
    finally:
        run_manage(env, "core_change_person", "--psn-no", person.psn_no, "--status", "active")
        pull_all()
    assert PolicyVersion.objects.count() >= 38


def test_reconciliation_clean_day_then_a_tamper(client):
    app = AppClient(client).login()
    app.activate(P["employee"])
    pos = Pos(client, PHARMACY)
    voucher = Voucher.objects.get(person__psn_no=P["employee"].psn_no)
    pos.decode(code_issue(voucher).code)
    settled = [pos.settle(pos.bill([(A_ITEMS[n].med_list_codg, "10.00", "1")]))["output"]["setlinfo"]["setl_id"]
               for n in range(3)]
    pos.reverse(settled[1])
    today = timezone.localdate()
    mine = [PHARMACY.fixmedins_code]  # the core is shared with other tests: reconcile this pharmacy's day
    call_command("reconcile_day", "--date", today.isoformat(), "--institution", mine[0])
    run = reconcile_day(today, mine)
    differences = list(run.discrepancies.all())
    assert differences == [], [d.explanation for d in differences]
    report = reconciliation_report(run)
    assert "差异 0 笔" in report[1]

    Payment.objects.filter(setl_id=settled[0]).update(acct_fen=1)  # tamper with the wallet's side
    run = reconcile_day(today, mine)
    found = list(run.discrepancies.all())
    assert [(d.kind, d.setl_id) for d in found] == [("amount_mismatch", settled[0])]
    assert "个人账户支付" in found[0].explanation
    Payment.objects.filter(setl_id=settled[2]).update(status="reversed")
    run = reconcile_day(today, mine)
    assert sorted((d.kind, d.setl_id) for d in run.discrepancies.all()) == sorted(
        [("amount_mismatch", settled[0]), ("status_mismatch", settled[2])])


def test_readyz_degrades_when_the_outbox_is_old(client, settings):
    AppClient(client).login().activate(P["elderly"])
    settings.READYZ_OUTBOX_MAX_AGE_SECONDS = 60
    OutboxMessage.objects.update(created_at=timezone.now() - dt.timedelta(minutes=5))
    body = client.get("/readyz").json()
    assert body["status"] == "degraded" and body["checks"]["outbox"]["ok"] is False
    assert "outbox" in body["checks"]["outbox"]["error"]


def test_operator_page_and_command(client, capsys):
    """The demo operator (``make run``: staff_demo_users prints its TOTP seed) signs in with password + code."""
    import pyotp

    call_command("staff_demo_users")
    seed = capsys.readouterr().out.split("operator ops")[1].split("totp_seed=")[1].split()[0]
    assert seed == "GUZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert client.login(username="ops", password="ops-demo-2026")  # the password alone: sent to sign in
    assert client.get("/staff/sync/")["Location"].startswith("/staff/sync/login/")
    signed_in = client.post("/staff/sync/login/", {"username": "ops", "password": "ops-demo-2026",
                                                   "otp": pyotp.TOTP(seed).now()})
    assert signed_in.status_code == 302, signed_in.content
    page = client.get("/staff/sync/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "发件箱" in text and "最近一次对账" in text
    call_command("sync_status")
    assert "outbox: pending=" in capsys.readouterr().out
    client.logout()
    # a console auditor, signed in with both factors, is not an operator
    client.get("/api/staff/auth/csrf")
    assert client.post("/api/staff/auth/login", {"username": "auditor1", "password": "auditor1-demo-2026",
                                                 "otp": pyotp.TOTP("GQZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").now()},
                       content_type="application/json").status_code == 200
    assert client.get("/staff/sync/").status_code == 403
