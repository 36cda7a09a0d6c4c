"""The audit trail is append-only and tamper-evident: the chain verifies,
then one event altered (or deleted) in the database is named by the
verifier; concurrent sealers never fork it; auditors search and export."""

from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from accounts.enums import AuditOutcome
from accounts.models import AuditEvent
from accounts.services import audit_record
from accounts.services.audit_chain import audit_chain_seal, audit_chain_verify

from .conftest import EMPLOYEE


def _table() -> str:
    return connection.ops.quote_name(AuditEvent._meta.db_table)


def _write(n: int, prefix: str = "t") -> list[int]:
    return [audit_record(action=f"{prefix}.{i}", outcome=AuditOutcome.SUCCESS, actor="tester", ip="10.0.0.1",
                         detail={"n": i, "text": "中文", "nested": {"b": [1, 2], "a": None}}).pk for i in range(n)]


@pytest.mark.django_db
def test_chain_verifies_then_names_the_altered_event(capsys):
    ids = _write(6)
    call_command("audit_verify")
    assert capsys.readouterr().out.startswith("OK: 6 events sealed and verified")
    assert list(AuditEvent.objects.order_by("seq").values_list("id", flat=True)) == ids
    victim = ids[3]
    with connection.cursor() as cursor:  # an UPDATE behind the application's back
        cursor.execute(f"UPDATE {_table()} SET actor = %s WHERE id = %s", ["someone-else", victim])
    with pytest.raises(CommandError) as broken:
        call_command("audit_verify")
    assert f"id={victim}" in str(broken.value) and "content altered" in str(broken.value)
    report = audit_chain_verify()
    assert not report.ok and report.broken_id == victim and report.checked == 3


@pytest.mark.django_db
def test_a_deleted_event_breaks_the_next_link():
    ids = _write(5)
    audit_chain_seal()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table()} WHERE id = %s", [ids[2]])
    report = audit_chain_verify()
    assert not report.ok and report.broken_id == ids[3] and "deleted" in report.reason


@pytest.mark.django_db
def test_a_deleted_last_event_is_seen_from_the_head():
    ids = _write(3)
    audit_chain_seal()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table()} WHERE id = %s", [ids[-1]])
    report = audit_chain_verify()
    assert not report.ok and "head" in report.reason


@pytest.mark.django_db
def test_a_relinked_chain_without_the_key_fails():
    """Recomputing a hash with plain SHA-256 (no key) does not pass."""
    import hashlib

    ids = _write(3)
    audit_chain_seal()
    forged = hashlib.sha256(b"forged").hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_table()} SET detail = %s, row_mac = %s WHERE id = %s", ['{"n": 99}', forged, ids[1]])
    assert audit_chain_verify().broken_id == ids[1]


@pytest.mark.django_db
def test_unsealed_events_are_checked_too():
    [event_id] = _write(1)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_table()} SET code = %s WHERE id = %s", ["X", event_id])
    report = audit_chain_verify(seal_first=False)
    assert not report.ok and report.broken_id == event_id


@pytest.mark.django_db
def test_the_application_cannot_update_or_delete_an_event():
    [event_id] = _write(1)
    event = AuditEvent.objects.get(pk=event_id)
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_sealers_never_fork_the_chain():
    """Eight threads write and seal at once (on PostgreSQL: real concurrency on the head's row lock)."""
    errors = []

    def work(n):
        try:
            _write(10, prefix=f"w{n}")
            audit_chain_seal()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    report = audit_chain_verify()
    assert report.ok and report.checked == 80, report.as_text()
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 81))


@pytest.mark.django_db
@pytest.mark.usefixtures("core_url")
def test_auditor_searches_and_exports(staff, person_app):
    case_id = staff.agent_a.lookup(reason="来电咨询余额")
    staff.agent_a.post(f"/api/staff/cases/{case_id}/freeze", {"reason": "本人来电手机丢失"})
    by_person = staff.auditor.get("/api/staff/audit/events", psn_no=EMPLOYEE.psn_no).json()
    actions = [r["action"] for r in by_person["results"]]
    assert "staff.lookup" in actions and "staff.voucher_freeze" in actions and "activation.complete" in actions
    by_staff = staff.auditor.get("/api/staff/audit/events", actor="staff:agent_a").json()["results"]
    assert {r["action"] for r in by_staff} == {"staff.lookup", "staff.voucher_freeze", "voucher.freeze",
                                               "staff.login"}
    by_action = staff.auditor.get("/api/staff/audit/events", action="staff.").json()["results"]
    assert all(r["action"].startswith("staff.") for r in by_action) and by_action
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    dated = staff.auditor.get("/api/staff/audit/events", date_from=today, date_to=today).json()
    assert dated["count"] == AuditEvent.objects.count()
    assert staff.auditor.get("/api/staff/audit/events", date_from="2000-01-01", date_to="2000-01-02").json()["count"] == 0
    bad = staff.auditor.get("/api/staff/audit/events", date_from="２０２６-01-01")
    assert bad.status_code == 400 and bad.json()["code"] == "VALIDATION_ERROR"
    export = staff.auditor.get("/api/staff/audit/export", date_from=today, date_to=today)
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    text = export.content.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("id,seq,occurred_at,action") and any("staff.voucher_freeze" in line for line in lines)
    assert "来电咨询余额" in text
    assert AuditEvent.objects.filter(action="staff.audit_export", actor="staff:auditor").count() == 1
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_a_commit_does_not_seal_beat_does(django_capture_on_commit_callbacks, settings, monkeypatch):
    """Issue #16: a request never takes the chain head's lock (it serialised
    every settlement); the beat task seals, in batches, in id order."""
    from accounts.services import audit_chain
    from accounts.tasks import audit_chain_seal_task
    from config.settings.redis import CELERY_BEAT_SCHEDULE

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ids = _write(5, prefix="req")
    assert callbacks == []  # nothing runs after the request's commit
    assert list(AuditEvent.objects.filter(pk__in=ids, seq__isnull=False)) == []
    schedule = CELERY_BEAT_SCHEDULE["accounts.audit_chain_seal"]
    assert schedule["task"] == audit_chain_seal_task.name and schedule["schedule"] <= 10
    monkeypatch.setattr(audit_chain, "SEAL_BATCH", 2)
    assert audit_chain_seal_task() == 5  # three batches of at most two
    assert list(AuditEvent.objects.order_by("seq").values_list("id", "seq")) == [(pk, n + 1) for n, pk in enumerate(ids)]
    report = audit_chain_verify(seal_first=False)
    assert report.ok and report.checked == 5 and report.unsealed == 0, report.as_text()
