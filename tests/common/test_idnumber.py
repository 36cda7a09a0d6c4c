import datetime as dt

import pytest

from common import idnumber


@pytest.mark.parametrize("value", ["11010519491231002X", "440524198001010013", "11010119900307803X", "11010519491231002x"])
def test_known_valid(value):
    assert idnumber.is_valid(value)


def test_wrong_check_digit():
    assert not idnumber.is_valid("110105194912310021")


@pytest.mark.parametrize("value", ["110105194902300026", "110105189912310022", "110105194913310020"])
def test_bad_date(value):
    # 30 February, a year before 1900, month 13 — check digits made valid so only the date is wrong
    fixed = value[:17] + idnumber.check_char(value[:17])
    assert not idnumber.is_valid(fixed)


@pytest.mark.parametrize("value", ["", "1101051949123100", "11010519491231002Y", "A1010519491231002X", None])
def test_bad_shape(value):
    assert not idnumber.is_valid(value)


def test_lowercase_x_normalised():
    assert idnumber.normalize("11010519491231002x") == "11010519491231002X"
    assert idnumber.normalize(" 11010519491231002x ") == " 11010519491231002x "  # nothing else is mended
    assert not idnumber.is_valid(" 11010519491231002X")


def test_birth_date_and_gender():
    assert idnumber.birth_date("11010519491231002X") == dt.date(1949, 12, 31)
    assert idnumber.gender("11010519491231002X") == "2"  # sequence 002: even, female
    assert idnumber.gender("440524198001010013") == "1"


def test_make_builds_valid_numbers():
    number = idnumber.make("440100", dt.date(2025, 6, 1), 7)
    assert number.startswith("44010020250601007") and idnumber.is_valid(number)


def test_mask():
    assert idnumber.mask("11010519491231002X") == "110***********002X"
    assert idnumber.mask("") == ""
    assert idnumber.mask("12345") == "*****"


def test_mask_in_text():
    assert idnumber.mask_in_text("id=11010519491231002X ok") == "id=110***********002X ok"
