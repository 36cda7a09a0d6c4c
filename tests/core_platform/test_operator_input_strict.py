"""Operator files (catalogue rows, policy entries) take numbers and region
codes as ASCII digits only, like the terminal interface (issue #9, class 1)."""

from __future__ import annotations

import pytest

from core_platform.errors import InvalidInput
from core_platform.services.catalogue import catalogue_row_parse
from core_platform.services.policy import policy_entry_parse

ROW = {"med_list_codg": "X01", "name": "阿莫西林胶囊", "kind": "drug", "list_class": "B",
       "self_pay_ratio_permille": "100", "price_cap_fen": "2500", "unit": "盒", "spec": "0.25g*24"}


def test_catalogue_row_with_ascii_digits_is_accepted():
    clean, errors = catalogue_row_parse(dict(ROW))
    assert errors == []
    assert clean["price_cap_fen"] == 2500 and clean["self_pay_ratio_permille"] == 100


@pytest.mark.parametrize("value", ["２５００", "٢٥٠٠", " 2500", "2500\n", "2_500", "25e2", "-2500"])
def test_catalogue_row_refuses_numbers_not_written_in_ascii_digits(value):
    clean, errors = catalogue_row_parse({**ROW, "price_cap_fen": value})
    assert clean is None
    assert any("price_cap_fen" in e and "ASCII" in e for e in errors), errors


@pytest.mark.parametrize("region", ["５００１００", "500100\n", "50010", 500100])
def test_policy_entry_refuses_a_region_not_written_as_six_ascii_digits(region):
    with pytest.raises(InvalidInput) as refused:
        policy_entry_parse({"region": region})
    assert "region 必须是6位行政区划代码" in str(refused.value)
