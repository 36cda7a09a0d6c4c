"""Support staff read the audit trail (read-only) and never see a full ID."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from common import demodata
from tests.support.app import AppClient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]
EMPLOYEE = demodata.DEMO_PERSONAS["employee"]


def test_support_reads_the_audit_trail_masked(client):
    AppClient(client).login().activate(EMPLOYEE)
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent
    client.logout()
    assert client.login(username="support", password="support-demo-2026")
    audit = client.get("/admin/accounts/auditevent/")
    assert audit.status_code == 200
    assert "activation.complete" in audit.content.decode()
    person_list = client.get("/admin/accounts/person/").content.decode()
    assert EMPLOYEE.psn_no in person_list
    assert EMPLOYEE.id_number not in person_list and EMPLOYEE.id_number[:3] + "*" * 11 in person_list
    from accounts.models import AuditEvent, Person

    person = Person.objects.get(psn_no=EMPLOYEE.psn_no)
    page = client.get(f"/admin/accounts/person/{person.pk}/change/").content.decode()
    assert EMPLOYEE.id_number not in page and "id_number_encrypted" not in page
    event = AuditEvent.objects.first()
    # read-only: the change view shows no save button and a POST is refused
    response = client.post(f"/admin/accounts/auditevent/{event.pk}/change/", {"action": "tampered"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="tampered").count() == 0
