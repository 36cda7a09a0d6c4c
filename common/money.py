"""Money is integer fen inside; the national envelope carries yuan with two
decimals. Convert at the edge, once, with Decimal (never float)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .fields import FieldError, amount_fen, ascii_pattern, matches

_PLAIN_DECIMAL = ascii_pattern(r"-?[0-9]+(\.[0-9]+)?")

_CENT = Decimal("0.01")


class MoneyFormatError(ValueError):
    """Not an amount; ``message`` is Chinese and names the field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def yuan_to_fen(value, name: str = "金额") -> int:
    """'12.34' / 12 / Decimal('12.34') -> 1234; '-12.34' -> -1234. The one
    amount form of common.fields.amount_fen (ASCII digits, at most two
    decimals, within 16,2): floats, exponents, underscores, spaces and
    non-ASCII digits are refused, never guessed. Callers that take outside
    input refuse negatives themselves (or use ``amount_fen`` directly)."""
    try:
        return amount_fen(value, name, allow_negative=True)
    except FieldError as error:
        raise MoneyFormatError(error.message) from None


def fen_to_yuan(fen: int) -> str:
    """1234 -> '12.34' (a string, so JSON never carries a binary float)."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError("fen must be an int")
    return str((Decimal(fen) / 100).quantize(_CENT, rounding=ROUND_HALF_UP))


def fen_to_amount(fen: int) -> Decimal:
    """1234 -> Decimal('12.34'), -5 -> Decimal('-0.05'), 0 -> Decimal('0.00'):
    an amount for a national envelope ``output`` (数值型 16,2), always with
    exactly two decimal places, so the one renderer (common.envelope.
    render_answer) writes the JSON number ``12.34`` / ``0.00``. The REST app
    API keeps ``fen_to_yuan`` strings."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError("fen must be an int")
    return Decimal(fen).scaleb(-2).quantize(_CENT)


def amount_value(value, name: str = "金额") -> Decimal:
    """An amount read from an envelope answer (a ``Decimal`` parsed from the
    JSON number's exact text, or a legacy string) as a two-place ``Decimal``,
    checked like every amount (common.fields.amount_fen; negatives allowed:
    a reversal answers negative amounts)."""
    return fen_to_amount(yuan_to_fen(value, name))


def age_value(years) -> Decimal:
    """An age for an envelope output (数值型 4,1): ``38`` -> Decimal('38.0')."""
    if isinstance(years, bool) or isinstance(years, float) or not isinstance(years, (int, Decimal)):
        raise TypeError("age must be an int or a Decimal")
    return Decimal(years).quantize(Decimal("0.1"))


# 数值型 16,2 fields of the national answer nodes (1101, 2101-2103, 3201/3202
# and their detail rows): JSON numbers with exactly two decimals.
MONEY_FIELDS = frozenset({
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay",
    "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc", "acct_mulaid_pay", "psn_pay",
    "cash_payamt", "crt_payb_lmt_amt", "fund_payamt", "det_item_fee_sumamt", "pric_uplmt_amt", "overlmt_amt",
    "hifdm_pay", "fund_pay_amt",
})
# Other 数值型 fields: (digits after the point) — written as given, never re-scaled.
_OTHER_NUMBERS = {"cnt": 4, "pric": 6, "selfpay_prop": 4, "prd_days": 2}


def output_numbers(value):
    """A copy of an envelope ``output`` node in which every 数值型 field is a
    number as the national platform answers it: amounts (``MONEY_FIELDS``) a
    two-place ``Decimal``, ``age`` a one-place ``Decimal`` (4,1), quantities
    and prices an exact ``Decimal``. A value given as a string (an older
    core) is converted from its exact text; one that is not a number is left
    as it is. Nothing passes through a float."""
    if isinstance(value, list):
        return [output_numbers(item) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            result[key] = output_numbers(item)
        elif key in MONEY_FIELDS:
            result[key] = _number_or_same(item, lambda v: amount_value(v, key))
        elif key == "age":
            result[key] = _number_or_same(item, _age_from)
        elif key in _OTHER_NUMBERS:
            result[key] = _number_or_same(item, _exact_decimal)
        else:
            result[key] = item
    return result


def _number_or_same(item, convert):
    if item is None or item == "" or isinstance(item, (bool, float)):
        return item
    try:
        return convert(item)
    except (MoneyFormatError, ArithmeticError, ValueError, TypeError):
        return item


def _age_from(value) -> Decimal:
    number = _exact_decimal(value)
    return number.quantize(Decimal("0.1"))


def _exact_decimal(value) -> Decimal:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("not finite")
        return value
    if isinstance(value, int):
        return Decimal(value)
    if matches(_PLAIN_DECIMAL, value):  # "--1" or "1." would pass a strip-and-isdigit test
        return Decimal(value)
    raise ValueError("not a plain decimal")
