"""Role x action matrix: each role, each staff action, allowed or refused
with STAFF_FORBIDDEN; IDOR on every case- and ticket-scoped endpoint."""

from __future__ import annotations

import pytest

from wallet.models import Voucher

from .conftest import EMPLOYEE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]


def _prepare(staff):
    """A case for each working role, a frozen voucher, a pending request by agent_a."""
    cases = {name: getattr(staff, name).lookup() for name in ("agent_a", "supervisor_a")}
    return cases


ACTIONS = {
    # name: (method, path template, body, permitted roles)
    "lookup": ("post", "/api/staff/lookup", {"by": "psn_no", "psn_no": EMPLOYEE.psn_no, "reason": "矩阵测试"},
               {"agent", "supervisor"}),
    "case": ("get", "/api/staff/cases/{case}", None, {"agent", "supervisor"}),
    "reset_ticket": ("post", "/api/staff/cases/{case}/reset-tickets", {"reason": "矩阵测试"}, {"agent", "supervisor"}),
    "note": ("post", "/api/staff/cases/{case}/notes", {"text": "矩阵测试备注"}, {"agent", "supervisor"}),
    "request_unlock": ("post", "/api/staff/cases/{case}/requests",
                       {"kind": "unlock", "reason": "矩阵测试", "id_checked": True}, {"agent", "supervisor"}),
    "freeze": ("post", "/api/staff/cases/{case}/freeze", {"reason": "矩阵测试"}, {"agent", "supervisor"}),
    "revoke": ("post", "/api/staff/cases/{case}/authorizations/{auth}/revoke", {"reason": "矩阵测试"},
               {"agent", "supervisor"}),
    "requests": ("get", "/api/staff/requests", None, {"agent", "supervisor"}),
    "approve": ("post", "/api/staff/requests/{request}/approve", {"reason": "矩阵测试"}, {"supervisor"}),
    "deny": ("post", "/api/staff/requests/{request}/deny", {"reason": "矩阵测试"}, {"supervisor"}),
    "alerts": ("get", "/api/staff/alerts", None, {"supervisor"}),
    "audit": ("get", "/api/staff/audit/events", None, {"auditor"}),
    "export": ("get", "/api/staff/audit/export", None, {"auditor"}),
}


@pytest.mark.parametrize("role", ["agent", "supervisor", "auditor"])
def test_role_action_matrix(staff, staff_factory, person_app, role):
    actor = {"agent": staff.agent_a, "supervisor": staff.supervisor_a2, "auditor": staff.auditor}[role]
    # fixtures owned by someone else of team 一组, so four eyes never hides the permission answer
    requester_case = staff.agent_a.lookup()
    pending = staff.agent_a.post(f"/api/staff/cases/{requester_case}/requests",
                                 {"kind": "unlock", "reason": "矩阵准备", "id_checked": True}).json()["id"]
    own_case = actor.lookup() if role != "auditor" else requester_case
    auth_id = staff.agent_a.get(f"/api/staff/cases/{requester_case}").json()["authorizations"][0]["id"]
    for name, (method, template, body, allowed) in ACTIONS.items():
        path = template.format(case=own_case, auth=auth_id, request=pending)
        response = actor.post(path, body) if method == "post" else actor.get(path)
        if role in allowed:
            assert response.status_code < 400 or response.json()["code"] not in ("STAFF_FORBIDDEN", "UNAUTHENTICATED"), \
                (role, name, response.content)
        else:
            assert response.status_code == 403, (role, name, response.content)
            assert response.json()["code"] == "STAFF_FORBIDDEN", (role, name, response.content)
    if role == "auditor":
        assert Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no).status == "active"  # nothing written


def test_case_scoped_endpoints_refuse_another_members_case(staff, person_app):
    """IDOR: agent B (and supervisor A) cannot use agent A's case id; the answer equals an unknown id."""
    case_id = staff.agent_a.lookup()
    auth_id = staff.agent_a.get(f"/api/staff/cases/{case_id}").json()["authorizations"][0]["id"]
    endpoints = [("get", f"/api/staff/cases/{{c}}", None),
                 ("post", "/api/staff/cases/{c}/reset-tickets", {"reason": "越权尝试"}),
                 ("post", "/api/staff/cases/{c}/freeze", {"reason": "越权尝试"}),
                 ("post", f"/api/staff/cases/{{c}}/authorizations/{auth_id}/revoke", {"reason": "越权尝试"}),
                 ("post", "/api/staff/cases/{c}/notes", {"text": "越权尝试备注"}),
                 ("post", "/api/staff/cases/{c}/requests", {"kind": "unfreeze", "reason": "越权尝试"})]
    for intruder in (staff.agent_b, staff.supervisor_a):
        for method, template, body in endpoints:
            for case in (case_id, "0" * 24):
                path = template.format(c=case)
                response = intruder.post(path, body) if method == "post" else intruder.get(path)
                assert response.status_code == 404, (path, response.content)
                assert response.json()["code"] == "CASE_NOT_FOUND", (path, response.content)
    assert Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no).status == "active"


def test_an_authorization_of_another_person_is_not_found(staff, person_app, client):
    from common import demodata
    from tests.support.app import AppClient

    other = AppClient(client).login()
    other.activate(demodata.DEMO_PERSONAS["resident"])
    other_case = staff.agent_a.post("/api/staff/lookup", {"by": "psn_no", "psn_no": demodata.DEMO_PERSONAS["resident"].psn_no,
                                                          "reason": "来电咨询"}).json()["results"][0]["case_id"]
    other_auth = staff.agent_a.get(f"/api/staff/cases/{other_case}").json()["authorizations"][0]["id"]
    case_id = staff.agent_a.lookup()
    response = staff.agent_a.post(f"/api/staff/cases/{case_id}/authorizations/{other_auth}/revoke", {"reason": "越权尝试"})
    assert response.status_code == 404 and response.json()["code"] == "AUTHORIZATION_NOT_FOUND"


def test_ticket_and_request_endpoints_are_team_scoped(staff, person_app):
    case_id = staff.agent_a.lookup()
    ticket = staff.agent_a.post(f"/api/staff/cases/{case_id}/reset-tickets", {"reason": "本人来电"}).json()["id"]
    request = staff.agent_a.post(f"/api/staff/cases/{case_id}/requests",
                                 {"kind": "unlock", "reason": "柜台核验", "id_checked": True}).json()["id"]
    for path, code in [(f"/api/staff/reset-tickets/{ticket}/cancel", "RESET_TICKET_NOT_FOUND"),
                       (f"/api/staff/requests/{request}/approve", "REQUEST_NOT_FOUND"),
                       (f"/api/staff/requests/{request}/deny", "REQUEST_NOT_FOUND")]:
        for intruder in (staff.agent_b, staff.supervisor_b):
            response = intruder.post(path, {"reason": "越权尝试"})
            assert response.status_code in (403, 404), (path, response.content)
            if response.status_code == 404:
                assert response.json()["code"] == code
    assert staff.supervisor_b.post(f"/api/staff/requests/{request}/approve", {"reason": "越权尝试"}).json()["code"] \
        == "REQUEST_NOT_FOUND"
    assert [r["id"] for r in staff.supervisor_b.get("/api/staff/requests").json()] == []


def test_agent_never_approves_even_their_own(staff, person_app):
    case_id = staff.agent_a.lookup()
    request = staff.agent_a.post(f"/api/staff/cases/{case_id}/requests",
                                 {"kind": "unlock", "reason": "柜台核验", "id_checked": True}).json()["id"]
    response = staff.agent_a.post(f"/api/staff/requests/{request}/approve", {"reason": "自己批准"})
    assert response.status_code == 403 and response.json()["code"] == "STAFF_FORBIDDEN"
