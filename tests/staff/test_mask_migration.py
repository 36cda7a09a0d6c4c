"""Issue #20: reasons and notes stored before ID numbers were masked however
written are masked in place by the data migrations (staff 0002, accounts
0007), with the rule new text is stored with. The rows are written here as
the old code stored them (straight to the table, unmasked)."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from accounts.models import PinResetTicket
from common import crypto, idnumber
from staff.models import ApprovalRequest, Case, CaseNote, StaffMember

pytestmark = [pytest.mark.django_db]

NUMBER = idnumber.make("500101", dt.date(1986, 5, 6), 678)
SPELLINGS = [f"本人来电ID{NUMBER}核实身份", f"证件 {NUMBER[:6]} {NUMBER[6:14]} {NUMBER[14:]} 已核",
             NUMBER.translate(str.maketrans("0123456789X", "０１２３４５６７８９ｘ")) + "号"]


def _run(app_label: str, module: str, function: str) -> None:
    getattr(importlib.import_module(f"{app_label}.migrations.{module}"), function)(apps, None)


def test_old_reasons_and_notes_are_masked_in_place(staff_factory):
    from accounts.models import Person

    staff_factory("agent_old", "agent", "一组")
    member = StaffMember.objects.get(user__username="agent_old")
    person = Person.objects.create(psn_no="P-MASK-1", name="张三", id_number_encrypted=crypto.encrypt(NUMBER),
                                   id_number_hash=Person.hash_id_number(NUMBER), gender="1",
                                   birth_date=dt.date(1986, 5, 6), insutype="310", insured_region="500101")
    later = timezone.now() + dt.timedelta(hours=1)
    cases = [Case.objects.create(public_id=f"c{n}", staff=member, person=person, looked_up_by="id_number", reason=text,
                                 expires_at=later) for n, text in enumerate(SPELLINGS)]
    request = ApprovalRequest.objects.create(public_id="r1", kind="unlock", person=person, team=member.team,
                                             requested_by=member, reason=SPELLINGS[0], decision_reason=SPELLINGS[1])
    note = CaseNote.objects.create(person=person, author=member, case=cases[0], text=SPELLINGS[2])
    ticket = PinResetTicket.objects.create(public_id="t1", person=person, created_by="staff:agent_old", team="一组",
                                           reason=SPELLINGS[1], expires_at=later)
    untouched = Case.objects.create(public_id="c-plain", staff=member, person=person, looked_up_by="id_number",
                                    reason="本人来电：忘记支付密码", expires_at=later)

    _run("staff", "0002_mask_ids_in_free_text", "mask_stored_text")
    _run("accounts", "0007_mask_ids_in_reset_ticket_reasons", "mask_stored_reasons")

    stored = [c.reason for c in Case.objects.filter(pk__in=[c.pk for c in cases]).order_by("pk")]
    request.refresh_from_db(); note.refresh_from_db(); ticket.refresh_from_db(); untouched.refresh_from_db()
    stored += [request.reason, request.decision_reason, note.text, ticket.reason]
    masked = idnumber.mask(NUMBER)
    for text in stored:
        assert masked in text, text
        assert NUMBER not in text and NUMBER[6:14] not in text and "１９８６０５０６" not in text, text
    assert stored[0] == f"本人来电ID{masked}核实身份"
    assert untouched.reason == "本人来电：忘记支付密码"
