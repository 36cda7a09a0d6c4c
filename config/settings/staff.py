"""Support staff (staff/, docs/subsystems/staff.md): second factor, session
inactivity, login throttles, per-agent limits, the audit chain's key."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .base import PRODUCTION, SECRET_KEY, VAR_DIR
from .env import env_int, env_str
from .security import FIELD_ENCRYPTION_KEY

# A staff session ends after this many seconds without a staff API call.
STAFF_SESSION_IDLE_SECONDS = env_int("STAFF_SESSION_IDLE_SECONDS", 900)
# Failed staff logins (bad password or bad TOTP code) per window, per username and per client address.
STAFF_LOGIN_FAILURES_PER_USER = env_int("STAFF_LOGIN_FAILURES_PER_USER", 5)
STAFF_LOGIN_FAILURES_PER_IP = env_int("STAFF_LOGIN_FAILURES_PER_IP", 20)
STAFF_LOGIN_WINDOW_SECONDS = env_int("STAFF_LOGIN_WINDOW_SECONDS", 900)
# Person lookups per agent per hour; past it the lookup is refused and supervisors are alerted.
STAFF_LOOKUPS_PER_HOUR = env_int("STAFF_LOOKUPS_PER_HOUR", 60)
# A case (one staff member's lookup of one person) may be acted on this long.
STAFF_CASE_TTL_SECONDS = env_int("STAFF_CASE_TTL_SECONDS", 8 * 3600)
STAFF_RESET_TICKET_TTL_HOURS = env_int("STAFF_RESET_TICKET_TTL_HOURS", 24)
# TOTP issuer shown by authenticator apps (django-otp).
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "医保电子凭证客服")

# The audit chain's MAC key (accounts/services/audit_chain.py); derived from
# FIELD_ENCRYPTION_KEY when not set. Changing it makes every existing link fail.
AUDIT_CHAIN_KEY = env_str("AUDIT_CHAIN_KEY", "")

# Checkpoints of the audit chain (issue #20; accounts/services/audit_checkpoint.py): signed with
# this key, which the database never holds (required in production, distinct from the chain's
# key), and appended to this file, opened only with O_APPEND (production: `chattr +a` on it, on a
# disk the database server cannot write). Written every AUDIT_CHECKPOINT_INTERVAL_SECONDS (redis.py).
if PRODUCTION:
    AUDIT_CHECKPOINT_KEY = env_str("AUDIT_CHECKPOINT_KEY")
    AUDIT_CHECKPOINT_FILE = Path(env_str("AUDIT_CHECKPOINT_FILE"))
    if AUDIT_CHECKPOINT_KEY in (AUDIT_CHAIN_KEY, FIELD_ENCRYPTION_KEY, SECRET_KEY) or len(AUDIT_CHECKPOINT_KEY) < 32:
        raise ImproperlyConfigured("AUDIT_CHECKPOINT_KEY must be its own secret of at least 32 characters")
else:
    AUDIT_CHECKPOINT_KEY = env_str("AUDIT_CHECKPOINT_KEY", "dev-audit-checkpoint-key-not-for-production")
    AUDIT_CHECKPOINT_FILE = Path(env_str("AUDIT_CHECKPOINT_FILE", str(VAR_DIR / "audit-checkpoints.jsonl")))

for _name in ("STAFF_SESSION_IDLE_SECONDS", "STAFF_LOGIN_FAILURES_PER_USER", "STAFF_LOGIN_FAILURES_PER_IP",
              "STAFF_LOGIN_WINDOW_SECONDS", "STAFF_LOOKUPS_PER_HOUR", "STAFF_CASE_TTL_SECONDS",
              "STAFF_RESET_TICKET_TTL_HOURS"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number")
if PRODUCTION and STAFF_SESSION_IDLE_SECONDS > 3600:
    raise ImproperlyConfigured("STAFF_SESSION_IDLE_SECONDS may not exceed one hour in production")
