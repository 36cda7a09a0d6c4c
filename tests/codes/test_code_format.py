"""The code format: opaque, unlinkable, ≤ 64 digits, corruption caught
before any lookup (codes/format.py)."""

from __future__ import annotations

import random
from difflib import SequenceMatcher

import pyotp
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from codes import format as codes

KEY = "ZGV2LW9ubHktZmllbGQta2V5LTMyLWJ5dGVzLWxvbmc="
SECRET = pyotp.random_base32(32)


def _code(voucher_id=42, step=59_000_000, secret=SECRET, salt=None):
    return codes.issue(voucher_id, secret, key=KEY, step=step, step_seconds=30, salt=salt)


def test_shape():
    code = _code()
    assert len(code) == codes.LENGTH == 49 <= 64
    assert code.isdigit() and code.startswith("88")


@given(voucher_id=st.integers(1, 2**48 - 1), step=st.integers(0, 2**32 - 1), salt=st.binary(min_size=6, max_size=6))
@hsettings(max_examples=300, deadline=None)
def test_round_trip(voucher_id, step, salt):
    parsed = codes.parse(_code(voucher_id, step, salt=salt), key=KEY)
    assert (parsed.authorization_id, parsed.step) == (voucher_id, step)
    assert codes.totp_matches(parsed, SECRET, 30)


def test_every_single_digit_error_and_adjacent_swap_is_caught():
    code = _code()
    for i in range(len(code)):
        for digit in "0123456789":
            if digit != code[i]:
                with pytest.raises(codes.CodeFormatError):
                    codes.parse(code[:i] + digit + code[i + 1:], key=KEY)
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
            with pytest.raises(codes.CodeFormatError):
                codes.parse(swapped, key=KEY)


@pytest.mark.parametrize("bad", ["", "88", "x" * 49, "77" + "0" * 47, "8" * 65, " " * 49])
def test_malformed_is_refused(bad):
    with pytest.raises(codes.CodeFormatError):
        codes.parse(bad, key=KEY)


def test_wrong_key_or_secret_does_not_verify():
    code = _code()
    parsed = codes.parse(code, key=KEY)
    assert not codes.totp_matches(parsed, pyotp.random_base32(32), 30)
    other = codes.parse(code, key="b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktISE=")
    assert (other.authorization_id, other.step) != (42, 59_000_000)


def _longest_common_substring(a: str, b: str) -> int:
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size


def test_codes_of_one_voucher_share_nothing_beyond_the_prefix():
    """Unlinkability: a shop scanning one person twice sees unrelated numbers.
    Two random 47-digit strings share a run of 10+ digits with probability
    ~2e-7 per pair; identical fields or a constant part would share 39."""
    steps = [59_000_000 + i for i in range(10)] + [59_000_100] * 10  # new steps, and refreshes within one step
    issued = [_code(step=s) for s in steps]
    assert len(set(issued)) == len(issued)
    bodies = [c[2:] for c in issued]
    for i in range(len(bodies)):
        for j in range(i + 1, len(bodies)):
            a, b = codes.parse(issued[i], key=KEY), codes.parse(issued[j], key=KEY)
            assert a.block != b.block
            assert _longest_common_substring(bodies[i], bodies[j]) < 10


def test_identifying_values_never_appear_in_a_code():
    from common import demodata

    person = demodata.DEMO_PERSONAS["employee"]
    rng = random.Random(7)
    for _ in range(50):
        code = _code(voucher_id=rng.randint(1, 10**6), step=rng.randint(0, 2**32 - 1))
        for value in (person.psn_no, person.id_number):
            assert value not in code
