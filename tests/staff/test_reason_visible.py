"""Issue #20 item 7: a reason or note counts only its visible characters —
four zero-width spaces are no reason. Checked by every staff action, the
note, and the operator commands that take --reason (common.text.visible_length)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from common.text import visible_length

from .conftest import EMPLOYEE

INVISIBLE = [
    "\u200b\u200b\u200b\u200b",  # zero-width spaces (the example)
    "\u200c\u200d\u2060\ufeff\u200e\u202e",  # joiners, word joiner, BOM, bidi marks
    "\u3000\u00a0\u2003\u2028\u2029\t",  # spaces, line/paragraph separators, a control
    "\u3164\u3164\u2800\u2800\u00ad",  # Hangul fillers, blank Braille, soft hyphen
    "来\u200b\u200b\u200b\u200b电",  # two visible characters padded to six
    " 本\u200b人 ",
]


@pytest.mark.parametrize("text, visible", [
    ("\u200b" * 4, 0), ("本人来电", 4), ("本人 来电", 4), ("\u3000本人来电\u3000", 4), ("😀😀😀😀", 4),
    ("e\u0301te\u0301", 3), ("👨\u200d👩\u200d👧", 3), ("ID 500101", 8), ("", 0),
])
def test_visible_length(text, visible):
    assert visible_length(text) == visible



@pytest.mark.django_db
@pytest.mark.usefixtures("core_url")
def test_every_staff_reason_and_note_counts_visible_characters(staff, person_app):
    agent, supervisor = staff.agent_a, staff.supervisor_a
    refused = agent.post("/api/staff/lookup", {"by": "psn_no", "psn_no": EMPLOYEE.psn_no, "reason": "\u200b" * 4})
    assert refused.status_code == 400 and refused.json()["code"] == "STAFF_REASON_REQUIRED"
    case_id = agent.lookup(reason="本人 来电")  # four visible characters: enough
    ticket = agent.post(f"/api/staff/cases/{case_id}/reset-tickets", {"reason": "本人来电重置"}).json()["id"]
    auth_id = agent.get(f"/api/staff/cases/{case_id}").json()["authorizations"][0]["id"]
    before = AuditEvent.objects.count()
    for reason in INVISIBLE:
        for path in ["/api/staff/lookup", f"/api/staff/cases/{case_id}/reset-tickets",
                     f"/api/staff/cases/{case_id}/freeze",
                     f"/api/staff/cases/{case_id}/authorizations/{auth_id}/revoke",
                     f"/api/staff/reset-tickets/{ticket}/cancel"]:
            body = {"reason": reason, **({"by": "psn_no", "psn_no": EMPLOYEE.psn_no} if path.endswith("lookup") else {})}
            answer = agent.post(path, body)
            assert answer.status_code == 400 and answer.json()["code"] == "STAFF_REASON_REQUIRED", (path, reason)
        note = agent.post(f"/api/staff/cases/{case_id}/notes", {"text": reason})
        assert note.status_code == 400 and note.json()["code"] == "STAFF_NOTE_INVALID", reason
    assert AuditEvent.objects.count() == before  # nothing happened
    # the freeze, the unfreeze request and the decisions on it
    assert agent.post(f"/api/staff/cases/{case_id}/freeze", {"reason": "本人手机丢失"}).status_code == 200
    for reason in INVISIBLE:
        made = agent.post(f"/api/staff/cases/{case_id}/requests", {"kind": "unfreeze", "reason": reason})
        assert made.status_code == 400 and made.json()["code"] == "STAFF_REASON_REQUIRED", reason
    made = agent.post(f"/api/staff/cases/{case_id}/requests", {"kind": "unfreeze", "reason": "本人申请解冻"})
    assert made.status_code == 201, made.content
    request_id = made.json()["id"]
    for reason in INVISIBLE:
        for who, action in [(supervisor, "approve"), (supervisor, "deny"), (agent, "withdraw")]:
            answer = who.post(f"/api/staff/requests/{request_id}/{action}", {"reason": reason})
            assert answer.status_code == 400 and answer.json()["code"] == "STAFF_REASON_REQUIRED", (action, reason)
    assert supervisor.post(f"/api/staff/requests/{request_id}/approve", {"reason": "核实无误"}).status_code == 200


@pytest.mark.parametrize("command, options", [
    ("pin_unlock", {"operator": "ops-li"}),
    ("voucher_status", {"operator": "ops-li", "action": "freeze"}),
])
def test_operator_commands_need_a_visible_reason(command, options):
    with pytest.raises(CommandError, match="4 visible characters"):
        call_command(command, psn_no=EMPLOYEE.psn_no, reason="\u200b" * 4, **options)
