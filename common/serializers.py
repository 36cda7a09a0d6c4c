"""Serializer fields shared by the apps' ``InputSerializer``s and
``OutputSerializer``s."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .fields import is_ascii_digits
from .money import fen_to_yuan

YUAN_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
WHOLE_NUMBER_MAX_DIGITS = 9
WHOLE_NUMBER_PATTERN = rf"^(0|[1-9][0-9]{{0,{WHOLE_NUMBER_MAX_DIGITS - 1}}})$"


@extend_schema_field({"type": "string", "pattern": YUAN_PATTERN, "example": "12.50"})
class YuanField(serializers.Field):
    """An amount kept in integer fen, rendered as a yuan decimal string with
    two decimals (``1250`` → ``"12.50"``): the app API never sends a binary
    float. Output only."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return fen_to_yuan(value)


@extend_schema_field({"oneOf": [
    {"type": "integer", "minimum": 0, "maximum": 10 ** WHOLE_NUMBER_MAX_DIGITS - 1},
    {"type": "string", "pattern": WHOLE_NUMBER_PATTERN}], "example": 2026})
class WholeNumberField(serializers.IntegerField):
    """A whole number ≥ 0 taken exactly (common/fields.py): a JSON integer
    (``2026``) or a string of ASCII digits without leading zeros (``"2026"``),
    at most 9 digits. Refused, never mended: booleans, floats and JSON
    numbers with a fraction or exponent (``2026.0``, ``2.026e3``), fullwidth
    or other non-ASCII digits (``"２０２６"``), spaces (``" 2026 "``), signs,
    ``"2026.0"``, leading zeros. DRF's ``IntegerField`` takes all of these
    (``int(str(value))`` after stripping ``.0``). A refusal is 400
    ``VALIDATION_ERROR`` with ``detail.fields.<name>``."""

    default_error_messages = {
        "invalid": "须为整数，只能由数字0-9组成（如 2026），不能带小数点、空格或符号",
        "max_value": "不能大于 {max_value}",
        "min_value": "不能小于 {min_value}",
        "max_string_length": "数字过长",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 10 ** WHOLE_NUMBER_MAX_DIGITS - 1)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            return data
        if is_ascii_digits(data, max_length=WHOLE_NUMBER_MAX_DIGITS) and (data == "0" or data[0] != "0"):
            return int(data)
        self.fail("invalid")
