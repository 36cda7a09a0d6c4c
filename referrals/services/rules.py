"""The insured region's filing rules, from the core's 9501 (异地就医规则查询,
ours): ``{"data": {"insuplc_admdvs", "insutype"}}`` → ``{"rules": {"open":
"1"|"0", "long_term_min_months", "temporary_valid_months", "unfiled",
"same_province", "adjust": {...}}}`` from the policy in force today.

Cached per (region, insutype) for FILING_RULES_CACHE_SECONDS. The core
unreachable: the cached rules if any, else FILING_RULES_UNAVAILABLE (503) —
"open" cannot be guessed. A core that does not serve 9501 yet (1002) or
leaves a number out: the wallet's FILING_DEFAULT_* settings, logged."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache

from common.envelope import InfCode
from common.errors import ApplicationError
from settlement.client import core_client
from settlement.errors import CoreError, CoreRefused

logger = logging.getLogger(__name__)
RULES_INFNO = "9501"


@dataclass(frozen=True)
class FilingRules:
    open: bool
    long_term_min_months: int
    temporary_valid_months: int
    unfiled: str  # refuse | lowest_ratio
    same_province: str  # local | filed
    adjust: dict  # engine kind -> permille points (<= 0)


def _defaults() -> dict:
    return {"open": True, "long_term_min_months": settings.FILING_DEFAULT_LONG_TERM_MIN_MONTHS,
            "temporary_valid_months": settings.FILING_DEFAULT_TEMPORARY_VALID_MONTHS, "unfiled": "refuse",
            "same_province": "local", "adjust": {"long_term": 0, "referral": -100, "emergency": -100,
                                                 "temporary_other": -200}}


def _months(value, default: int) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 120:
        return default
    return value


def _parse(raw: dict) -> FilingRules:
    base = _defaults()
    open_value = raw.get("open", "1")
    adjust = raw.get("adjust") if isinstance(raw.get("adjust"), dict) else {}
    return FilingRules(
        open=open_value in ("1", 1, True),
        long_term_min_months=_months(raw.get("long_term_min_months"), base["long_term_min_months"]),
        temporary_valid_months=_months(raw.get("temporary_valid_months"), base["temporary_valid_months"]) or 1,
        unfiled=raw.get("unfiled") if raw.get("unfiled") in ("refuse", "lowest_ratio") else base["unfiled"],
        same_province=raw.get("same_province") if raw.get("same_province") in ("local", "filed")
        else base["same_province"],
        adjust={k: int(adjust[k]) if isinstance(adjust.get(k), int) and not isinstance(adjust.get(k), bool) else v
                for k, v in base["adjust"].items()},
    )


def _key(region: str, insutype: str) -> str:
    return f"referrals:rules:{region}:{insutype}"


def filing_rules_get(*, insured_region: str, insutype: str) -> FilingRules:
    """The rules for a person insured in ``insured_region`` under ``insutype``."""
    key = _key(insured_region, insutype)
    cached = cache.get(key)
    if cached is not None:
        return FilingRules(**cached)
    try:
        output = core_client().call(RULES_INFNO, {"data": {"insuplc_admdvs": insured_region, "insutype": insutype}})
        raw = output.get("rules") if isinstance(output.get("rules"), dict) else {}
    except CoreRefused as refused:
        if refused.infcode == InfCode.UNKNOWN_INFNO:
            logger.warning("the settlement core does not serve 9501: filing rules from the wallet's defaults")
            raw = {}
        elif refused.infcode == InfCode.POLICY_MISSING:
            raw = {"open": "0"}  # no policy for the region: nothing can be settled there, so no filing either
        else:
            logger.warning("9501 refused for %s/%s: %s", insured_region, insutype, refused)
            raise _unavailable()
    except CoreError as exc:
        logger.warning("9501 unavailable for %s/%s: %s", insured_region, insutype, exc)
        raise _unavailable()
    rules = _parse(raw)
    cache.set(key, asdict(rules), settings.FILING_RULES_CACHE_SECONDS)
    return rules


def _unavailable() -> ApplicationError:
    return ApplicationError("FILING_RULES_UNAVAILABLE", "暂时无法查询参保地的异地就医政策，请稍后再试", status=503)
