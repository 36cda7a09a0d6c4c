"""The person's payment PIN and voucher security (issue #15, person side:
wallet/services/security.py, docs/subsystems/security.md). The lockout
itself (PIN_MAX_FAILURES, PIN_LOCK_SECONDS) is in yibao.py."""

from django.core.exceptions import ImproperlyConfigured

from .env import env_int

# PIN changes a person may attempt per day (all channels together; wrong old PINs count here and toward the lockout).
PIN_CHANGE_LIMIT_PER_DAY = env_int("PIN_CHANGE_LIMIT_PER_DAY", 10)
# Forgot-PIN liveness checks a person may start per day (all channels together); an open staff reset ticket
# does not lift it. Unfreezing a voucher with liveness counts here too.
PIN_RESET_LIMIT_PER_DAY = env_int("PIN_RESET_LIMIT_PER_DAY", 10)
# How long after an accepted liveness result the new PIN (or the unfreeze) may follow.
SECURITY_PROOF_WINDOW_SECONDS = env_int("SECURITY_PROOF_WINDOW_SECONDS", 600)

for _name in ("PIN_CHANGE_LIMIT_PER_DAY", "PIN_RESET_LIMIT_PER_DAY", "SECURITY_PROOF_WINDOW_SECONDS"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number")
