"""Issue #20 item 4, end to end: a valid ID number typed into a reason or a
note — in any spelling, in any surroundings (tests/support/id_spellings.py)
— never comes out whole: not in the stored audit events, the audit search,
the CSV export, the case view, nor the log lines written meanwhile."""

from __future__ import annotations

import contextlib
import io
import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings as hsettings

from accounts.models import AuditEvent
from common.logging import MaskIdNumbersFilter
from staff.models import ApprovalRequest, Case, CaseNote
from tests.support.id_spellings import ids_in_text, survives

from .conftest import EMPLOYEE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]


@contextlib.contextmanager
def _log_output():
    """What the configured (masking) handlers write, as text and JSON-decoded."""
    handlers = [h for h in logging.getLogger().handlers if any(isinstance(f, MaskIdNumbersFilter) for f in h.filters)]
    assert handlers
    out = io.StringIO()
    old = [h.setStream(out) for h in handlers]
    lines: list[str] = []
    try:
        yield lines
    finally:
        for handler, stream in zip(handlers, old):
            handler.setStream(stream)
        for line in out.getvalue().splitlines():
            lines.append(line)
            with contextlib.suppress(ValueError):
                lines.append(json.dumps(json.loads(line), ensure_ascii=False))


def _text(body: bytes) -> str:
    text = body.decode("utf-8-sig")
    with contextlib.suppress(ValueError):
        return text + "\n" + json.dumps(json.loads(text), ensure_ascii=False)
    return text


def test_issue_examples_in_reason_and_note(staff, person_app):
    agent = staff.agent_a
    case_id = agent.lookup(reason="本人来电ID50010119860506678X核实身份")
    note = agent.post(f"/api/staff/cases/{case_id}/notes", {"text": "证件 500101 19860506 678x 已核验"})
    assert note.status_code == 201 and note.json()["text"] == "证件 500***********678X 已核验"
    view = agent.get(f"/api/staff/cases/{case_id}").json()
    assert view["reason"] == "本人来电ID500***********678X核实身份"
    assert Case.objects.get(public_id=case_id).reason == view["reason"]
    assert CaseNote.objects.get().text == "证件 500***********678X 已核验"
    event = AuditEvent.objects.get(action="staff.lookup")
    assert event.detail["reason"] == "本人来电ID500***********678X核实身份"


def test_request_reason_masked(staff, person_app):
    case_id = staff.agent_a.lookup()
    staff.agent_a.post(f"/api/staff/cases/{case_id}/freeze", {"reason": "本人来电手机丢失"})
    made = staff.agent_a.post(f"/api/staff/cases/{case_id}/requests",
                              {"kind": "unfreeze", "reason": "核对证件５００１０１－１９８６０５０６－６７８Ｘ"})
    assert made.status_code == 201, made.content
    assert ApprovalRequest.objects.get().reason == "核对证件500***********678X"
    queue = staff.supervisor_a.get("/api/staff/requests").content.decode()
    assert "500***********678X" in queue and "678Ｘ" not in queue


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(case=ids_in_text(max_size=30))
def test_property_a_typed_id_never_comes_out_whole(staff, person_app, case):
    number, prefix, spelled, suffix = case
    text = prefix + spelled + suffix
    agent, auditor = staff.agent_a, staff.auditor
    first = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with _log_output() as logged:
        logging.getLogger("staff").warning("reason typed: %s", text, extra={"note": text})
        looked = agent.post("/api/staff/lookup", {"by": "psn_no", "psn_no": EMPLOYEE.psn_no, "reason": text})
        assert looked.status_code == 200, looked.content
        case_id = looked.json()["results"][0]["case_id"]
        note = agent.post(f"/api/staff/cases/{case_id}/notes", {"text": text})
        assert note.status_code == 201, note.content
        outputs = {
            "lookup answer": _text(looked.content),
            "note answer": _text(note.content),
            "case view": _text(agent.get(f"/api/staff/cases/{case_id}").content),
            "audit search": _text(auditor.get("/api/staff/audit/events", action="staff.").content),
            "CSV export": _text(auditor.get("/api/staff/audit/export", action="staff.").content),
        }
    events = list(AuditEvent.objects.filter(id__gt=first))
    assert {e.action for e in events} >= {"staff.lookup", "staff.case_note"}
    outputs["audit events"] = "\n".join(json.dumps(e.detail, ensure_ascii=False) + e.actor for e in events)
    outputs["stored case and note"] = Case.objects.get(public_id=case_id).reason + "\n" + CaseNote.objects.latest(
        "id").text
    outputs["log lines"] = "\n".join(logged)
    assert logged and "reason typed" in outputs["log lines"]
    for where, output in outputs.items():
        assert not survives(number, output), f"{where}: {output[:2000]}"
