"""Settlement policy engine (结算政策引擎): pure functions, amounts and rules in,
a split with its explanation out. No Django, no ORM, no I/O: the only import
outside the standard library is ``common.money`` (itself pure);
tests/core_platform/test_engine.py enforces that by parsing the imports.

One entry point::

    split(params, level, accumulators, balance_fen, use_account, items, *, patient=Patient(), visit=Visit(),
          mutual_aid=None, filing=None)
        -> BillSplit

``params`` is a ``PolicyParams`` (``parse_params(dict)``) or the raw ``params``
dict of a ``PolicyParameters`` version (schema and validator: engine/params.py).
The ``BillSplit`` (the engine's result for one bill; not the core's stored
``core_platform.models.Settlement`` record, which the service layer writes
from it) carries the national ``setlinfo`` money fields (integer fen),
one ``ItemSplit`` per line item (which part was self-paid and why), Chinese
explanation lines, and the ``Deltas`` to apply to the personal account and the
annual accumulators. docs/subsystems/policy-engine.md describes the model and
works examples by hand.

Money is integer fen, ratios permille, quantities ``Decimal``; never floats.

ROUNDING RULE (stated here once; implemented once, in ``rounding.round_half_up``):
a fen amount that results from multiplying by a ratio or by a decimal quantity
is computed exactly and rounded HALF-UP to the fen (0.5 fen -> 1 fen) at exactly
these points:

  (a) per line item: the item amount ``pric × cnt`` (the caller's amount must
      equal it), the capped amount ``price cap × cnt`` (over-limit is the
      amount above it), and the B-class self-pay-first share
      ``(amount − over-limit) × ratio``;
  (b) once per bill and fund: the basic fund's payment ``Σ band portion ×
      band ratio`` and each supplementary fund's the same way (the exact
      products are summed, then rounded once); the cost beyond the basic
      fund's ceiling (the 大额 basis) is computed exactly and rounded once.

Every other amount is exact integer arithmetic derived by subtraction, min and
max, so the parts always sum exactly to the total.
"""

from .errors import EngineError
from .funds import BandSplit, FundSplit, Patient
from .params import FILING_KINDS, FUNDS, LEVELS, MODELS, Band, PolicyParams, Supplement, params_errors, parse_params, policy_year
from .rounding import round_half_up
from .split import (
    COUNTERS,
    FUND_PAY_TYPE_NAMES,
    Accumulators,
    BillSplit,
    Deltas,
    Filing,
    ItemSplit,
    LineItem,
    MutualAid,
    Visit,
    apply_deltas,
    split,
)

__all__ = [
    "COUNTERS", "FILING_KINDS", "FUNDS", "FUND_PAY_TYPE_NAMES", "LEVELS", "MODELS", "Accumulators", "Band", "BandSplit", "BillSplit",
    "Deltas", "EngineError", "Filing", "FundSplit", "ItemSplit", "LineItem", "MutualAid", "Patient", "PolicyParams", "Supplement", "Visit",
    "apply_deltas", "params_errors", "parse_params", "policy_year", "round_half_up", "split",
]
