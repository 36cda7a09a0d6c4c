"""Core personas, set up through the core's own services."""

from __future__ import annotations

import pytest

from core_platform.services.ledger import personal_account_credit
from core_platform.services.registry import institution_register, person_enrol, region_register

EMPLOYEE_ID = "11010519491231002X"  # female, born 1949-12-31
RESIDENT_ID = "110101201803078038"
CLOSED_ID = "620400199001010015"


@pytest.fixture
def core_people():
    region_register("110100", "北京市", "北京市", evoucher_open=True)
    region_register("620400", "白银市", "甘肃省", evoucher_open=False)
    employee, _ = person_enrol(name="王芳", id_number=EMPLOYEE_ID, insutype="310", region="110100",
                               employer="北京恒信科技有限公司", psn_type="21")
    personal_account_credit(employee.psn_no, 123_456, "test-opening")
    resident, _ = person_enrol(name="李小明", id_number=RESIDENT_ID, insutype="390", region="110100")
    closed, _ = person_enrol(name="张强", id_number=CLOSED_ID, insutype="390", region="620400")
    institution_register(code="H11010000001", name="北京市第一人民医院", kind="hospital", level="3", region="110100")
    institution_register(code="P11010000002", name="北京益丰大药房第一店", kind="pharmacy", level="9",
                         region="110100", designated=False)
    return {"employee": employee, "resident": resident, "closed": closed}
