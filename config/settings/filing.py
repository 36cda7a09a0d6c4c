"""Settings of cross-province filing (异地就医备案, referrals/). The rules that
differ by insured region (open, long-term minimum period, temporary validity)
come from the core's 9501 for the person's region; the values here are the
wallet's own. docs/subsystems/filing.md."""

from django.core.exceptions import ImproperlyConfigured

from .env import env_int, env_list

# 补办: a filing's begin date may lie this many days in the past (treatment
# began before the filing; it still counts for bills settled after it).
FILING_LATE_DAYS = env_int("FILING_LATE_DAYS", 30)
# A filing may begin at most this many days ahead.
FILING_MAX_DAYS_AHEAD = env_int("FILING_MAX_DAYS_AHEAD", 90)
# Used only when the core's 9501 does not state them (an older core).
FILING_DEFAULT_LONG_TERM_MIN_MONTHS = env_int("FILING_DEFAULT_LONG_TERM_MIN_MONTHS", 6)
FILING_DEFAULT_TEMPORARY_VALID_MONTHS = env_int("FILING_DEFAULT_TEMPORARY_VALID_MONTHS", 6)
# Reasons the insured region accepts for cancelling or changing a long-term
# filing before its minimum period (referrals.enums.CancelReason values).
FILING_EARLY_REASONS = env_list("FILING_EARLY_REASONS", ["info_error", "work_change", "family_change"])
# The 9501 rules of a region are cached this long (seconds).
FILING_RULES_CACHE_SECONDS = env_int("FILING_RULES_CACHE_SECONDS", 300)
# A temporary filing is notified this many days before its end date (once).
FILING_REMINDER_DAYS = env_int("FILING_REMINDER_DAYS", 15)
FILING_REMINDER_BATCH = env_int("FILING_REMINDER_BATCH", 500)

for _name in ("FILING_LATE_DAYS", "FILING_MAX_DAYS_AHEAD", "FILING_DEFAULT_LONG_TERM_MIN_MONTHS",
              "FILING_DEFAULT_TEMPORARY_VALID_MONTHS", "FILING_RULES_CACHE_SECONDS", "FILING_REMINDER_DAYS"):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must not be negative")
if FILING_REMINDER_BATCH < 1:
    raise ImproperlyConfigured("FILING_REMINDER_BATCH must be positive")
_KNOWN_REASONS = {"returned", "info_error", "work_change", "family_change", "other"}
if set(FILING_EARLY_REASONS) - _KNOWN_REASONS:
    raise ImproperlyConfigured(f"FILING_EARLY_REASONS: unknown {sorted(set(FILING_EARLY_REASONS) - _KNOWN_REASONS)}")
