"""Redis: cache + one-time-code store (db 0), Celery broker (db 1), channel
layer (db 2). One ``REDIS_URL`` names the server; the databases are derived."""

from urllib.parse import urlsplit, urlunsplit

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from .base import PRODUCTION
from .env import env_int, env_str

if PRODUCTION:
    REDIS_URL = env_str("REDIS_URL")
else:
    REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6389/0")

_parts = urlsplit(REDIS_URL)
if _parts.scheme not in {"redis", "rediss"} or not _parts.hostname:
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} is not a redis:// URL")


def redis_db_url(db: int) -> str:
    return urlunsplit((_parts.scheme, _parts.netloc, f"/{db}", _parts.query, ""))


CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_db_url(0),
        "KEY_PREFIX": "yibao",
        "TIMEOUT": 300,
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "common.channel_layer.ResilientRedisChannelLayer",
        # socket_timeout above the layer's 5 s blocking read (BZPOPMIN), or
        # redis-py's own default timeout fires first and kills consumers
        # (channels_redis#422); a pool big enough for many pages per process.
        "CONFIG": {"hosts": [{"address": redis_db_url(2), "socket_timeout": 15, "socket_connect_timeout": 5,
                              "max_connections": 5000}],
                   "capacity": 1500, "expiry": 60},
    }
}

# Celery: at-least-once work. A task is acknowledged only after it ran
# (acks_late) and re-queued when its worker dies (reject_on_worker_lost); the
# visibility timeout is longer than any task's hard time limit so a slow task
# is never handed to a second worker while the first still runs.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", redis_db_url(1))
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 4}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "housekeeping"
# Money-adjacent work (outbox, pulls, reconciliation, unknown outcomes) has
# its own queue, so housekeeping can never delay it.
CELERY_TASK_ROUTES = {
    "settlement.housekeeping": {"queue": "housekeeping"},
    "common.*": {"queue": "housekeeping"},
    "settlement.*": {"queue": "money"},
    "wallet.*": {"queue": "money"},
}
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = "Asia/Shanghai"
# Beat's schedule state lives in a file (`--schedule var/celerybeat-schedule`),
# so a restarted beat neither skips nor repeats runs. Exactly one beat runs.
# How often the audit chain is checkpointed outside the database (accounts.audit_checkpoint_create).
AUDIT_CHECKPOINT_INTERVAL_SECONDS = env_int("AUDIT_CHECKPOINT_INTERVAL_SECONDS", 60)
if AUDIT_CHECKPOINT_INTERVAL_SECONDS <= 0:
    raise ImproperlyConfigured("AUDIT_CHECKPOINT_INTERVAL_SECONDS must be a positive number")
CELERY_BEAT_SCHEDULE = {
    "common.heartbeat": {"task": "common.heartbeat", "schedule": 60.0},
    "wallet.payment_resolve_sweep": {"task": "wallet.payment_resolve_sweep",
                                     "schedule": float(env_int("PAYMENT_RESOLVE_INTERVAL_SECONDS", 30))},
    "settlement.outbox_relay": {"task": "settlement.outbox_relay",
                                "schedule": float(env_int("OUTBOX_RELAY_INTERVAL_SECONDS", 10)),
                                "options": {"expires": 30}},
    # The audit trail's hash chain (accounts/services/audit_chain.py): events are sealed
    # here, in batches, within seconds of their commit; requests never take the head's lock.
    "accounts.audit_chain_seal": {"task": "accounts.audit_chain_seal",
                                  "schedule": float(env_int("AUDIT_CHAIN_SEAL_INTERVAL_SECONDS", 5)),
                                  "options": {"expires": 30}},
    # ... and anchored outside the database: a signed checkpoint of its head, appended to
    # AUDIT_CHECKPOINT_FILE (staff.py), whenever the chain has grown.
    "accounts.audit_checkpoint_create": {"task": "accounts.audit_checkpoint_create",
                                         "schedule": float(AUDIT_CHECKPOINT_INTERVAL_SECONDS),
                                         "options": {"expires": 60}},
    "settlement.pull_all": {"task": "settlement.pull_all", "schedule": 300.0, "options": {"expires": 240}},
    "settlement.reconcile_day": {"task": "settlement.reconcile_day", "schedule": crontab(hour=2, minute=30)},
    "settlement.housekeeping": {"task": "settlement.housekeeping", "schedule": 3600.0},
    # Expire temporary filings past their end date, remind those about to expire (once each).
    "referrals.filing_reminders_send": {"task": "referrals.filing_reminders_send", "schedule": 3600.0,
                                        "options": {"expires": 1800}},
}
