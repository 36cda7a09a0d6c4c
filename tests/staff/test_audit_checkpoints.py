"""Issue #20 item 5: the newest audit events deleted, with the chain head
moved back to the previous event's stored hash, leave every link intact —
the chain alone cannot tell. Signed checkpoints in a store outside the
database can: audit_verify fails when the chain is shorter than a
checkpoint, or not its extension, and names a forged checkpoint; the
auditor's endpoint shows the last one."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.enums import AuditOutcome
from accounts.models import AuditChainHead, AuditEvent
from accounts.services import audit_record
from accounts.services.audit_chain import audit_chain_seal, audit_chain_verify, audit_checkpoint_create
from accounts.services.audit_checkpoint import checkpoint_read_all
from common.errors import ApplicationError


def _write(n: int, prefix: str = "cp") -> list[int]:
    return [audit_record(action=f"{prefix}.{i}", outcome=AuditOutcome.SUCCESS, actor="tester", ip="10.0.0.1",
                         detail={"n": i}).pk for i in range(n)]


def _cut_newest(n: int) -> None:
    """The attack: behind the application's back, delete the n newest sealed
    events and move the head back to the previous event's stored hash."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    newest = list(AuditEvent.objects.filter(seq__isnull=False).order_by("-seq").values_list("id", "seq")[:n])
    keep_seq = newest[-1][1] - 1
    keep_hash = AuditEvent.objects.get(seq=keep_seq).chain_hash
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id IN ({', '.join(str(pk) for pk, _ in newest)})")
    AuditChainHead.objects.filter(pk=1).update(seq=keep_seq, last_hash=keep_hash)


def _verify_fails(*args) -> str:
    with pytest.raises(CommandError) as broken:
        call_command("audit_verify", *args)
    return str(broken.value)


@pytest.mark.django_db
def test_deleting_the_newest_events_after_a_checkpoint_is_detected(audit_checkpoint_file):
    _write(8)
    audit_chain_seal()
    assert audit_checkpoint_create().seq == 8
    _cut_newest(3)
    assert audit_chain_verify(seal_first=False).checked == 5  # the links alone still hold ...
    message = _verify_fails()  # ... the checkpoint does not
    assert "the chain ends at seq 5" in message and "names 8 events" in message and "deleted" in message
    assert str(audit_checkpoint_file) in message
    with pytest.raises(ApplicationError) as refused:  # and beat's next checkpoint does not bless the cut chain
        audit_checkpoint_create()
    assert refused.value.code == "AUDIT_CHECKPOINT_REFUSED"
    assert len(list(checkpoint_read_all())) == 1


@pytest.mark.django_db
def test_a_cut_chain_grown_past_the_checkpoint_is_not_its_extension():
    _write(8)
    checkpoint = audit_checkpoint_create()
    _cut_newest(3)
    _write(4, prefix="later")  # new events sealed after the cut: 9 events again, but another chain
    message = _verify_fails()
    assert "not an extension of the checkpoint" in message and f"seq {checkpoint.seq}" in message


@pytest.mark.django_db
def test_a_legitimate_extension_passes_and_is_checkpointed_again(capsys):
    _write(5)
    first = audit_checkpoint_create()
    assert (first.seq, audit_checkpoint_create()) == (5, None)  # nothing new: nothing written
    _write(4, prefix="more")
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert out.startswith("OK: 9 events sealed and verified") and "an extension of all 1 checkpoints" in out
    assert audit_checkpoint_create().seq == 9
    report = audit_chain_verify()
    assert report.ok and report.checkpoints == 2 and report.checkpoint.seq == 9, report.as_text()


@pytest.mark.django_db
def test_a_forged_checkpoint_is_reported(audit_checkpoint_file):
    _write(3)
    real = audit_checkpoint_create()
    line = json.loads(audit_checkpoint_file.read_text())
    with audit_checkpoint_file.open("a") as store:  # a later checkpoint naming fewer events, signed without the key
        store.write(json.dumps({**line, "seq": 2, "sig": "0" * 64}) + "\n")
    message = _verify_fails()
    assert "line 2 of the checkpoint store" in message and "signature invalid" in message
    assert real.seq == 3


@pytest.mark.django_db
def test_a_checkpoint_under_another_key_is_reported(settings):
    _write(2)
    settings.AUDIT_CHECKPOINT_KEY = "someone-elses-key-of-at-least-32-characters"
    audit_checkpoint_create()
    settings.AUDIT_CHECKPOINT_KEY = "the-configured-key-of-at-least-32-characters"
    assert "signed with another key" in _verify_fails()


@pytest.mark.django_db
def test_an_emptied_store_is_reported_once_the_chain_is_older_than_a_few_intervals(audit_checkpoint_file, settings,
                                                                                    capsys):
    _write(3)
    call_command("audit_verify")  # a young chain: the first checkpoint is not due yet
    assert "no checkpoint yet" in capsys.readouterr().out
    settings.AUDIT_CHECKPOINT_INTERVAL_SECONDS = 0  # ... now it is overdue
    assert "no checkpoint in" in _verify_fails()
    call_command("audit_verify", "--checkpoint")  # a new installation: the first one, on purpose
    assert "checkpoint written: 3 events" in capsys.readouterr().out
    call_command("audit_verify")
    audit_checkpoint_file.write_text("")  # the store emptied (impossible under chattr +a)
    assert "no checkpoint in" in _verify_fails()


@pytest.mark.django_db
def test_beat_takes_checkpoints():
    from accounts.tasks import audit_checkpoint_create_task
    from config.settings.redis import CELERY_BEAT_SCHEDULE

    schedule = CELERY_BEAT_SCHEDULE["accounts.audit_checkpoint_create"]
    assert schedule["task"] == audit_checkpoint_create_task.name and schedule["schedule"] <= 60
    _write(2)
    assert audit_checkpoint_create_task() == 2  # seals first, then checkpoints
    assert audit_checkpoint_create_task() is None


@pytest.mark.django_db
def test_the_auditor_sees_the_last_checkpoint_others_are_refused(staff):
    empty = staff.auditor.get("/api/staff/audit/checkpoint")
    assert empty.status_code == 200 and empty.json()["checkpoint"] is None and empty.json()["problem"] == "尚无检查点"
    checkpoint = audit_checkpoint_create()
    body = staff.auditor.get("/api/staff/audit/checkpoint").json()
    assert body["checkpoint"]["seq"] == checkpoint.seq > 0 and body["checkpoint"]["chain_hash"] == checkpoint.chain_hash
    assert body["checkpoint"]["signature_valid"] and body["checkpoint"]["chain_consistent"] and body["problem"] == ""
    assert body["interval_seconds"] == 60
    for other in (staff.agent_a, staff.supervisor_a):
        refused = other.get("/api/staff/audit/checkpoint")
        assert refused.status_code == 403 and refused.json()["code"] == "STAFF_FORBIDDEN"
    _cut_newest(3)
    cut = staff.auditor.get("/api/staff/audit/checkpoint").json()
    assert cut["checkpoint"]["signature_valid"] and not cut["checkpoint"]["chain_consistent"]
    assert "audit_verify" in cut["problem"]
