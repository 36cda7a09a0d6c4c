"""What a terminal sees of the core's settlement output: the ID number only
where the institution is entitled to it (docs/subsystems/identity-data.md)."""

from __future__ import annotations

from decimal import Decimal

from common import idnumber
from terminal.models import Institution
from terminal.services.forward import terminal_output

CERTNO = "11010519491231002X"


def _output():
    return {"setlinfo": {"certno": CERTNO, "mdtrt_cert_type": "99", "acct_pay": "12.5"}, "setldetail": []}


def test_an_undesignated_institution_sees_the_id_number_masked():
    output = terminal_output(_output(), Institution(fixmedins_code="P1", designated=False))
    assert output["setlinfo"]["certno"] == idnumber.mask(CERTNO) != CERTNO
    assert output["setlinfo"]["mdtrt_cert_type"] == "01"
    assert output["setlinfo"]["acct_pay"] == Decimal("12.50")


def test_a_designated_institution_sees_it_in_full():
    output = terminal_output(_output(), Institution(fixmedins_code="P2", designated=True))
    assert output["setlinfo"]["certno"] == CERTNO
