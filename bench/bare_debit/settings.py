"""A minimal Django project: one app, no middleware, DEBUG off, PostgreSQL
through a psycopg connection pool per process (the way
config/settings/database.py configures the wallet under ASGI: CONN_MAX_AGE 0
and OPTIONS["pool"], because every sync request runs in a thread and
persistent connections are per thread)."""

import os

SECRET_KEY = "bench-bare-debit-not-a-secret"  # nothing is signed; Django insists on one
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["bare_debit.ledger"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bare_debit.urls"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_POOL_MAX = int(os.environ.get("BARE_DB_POOL_MAX_SIZE", "20"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": os.environ.get("BARE_DB_PORT", "5432"),
        "NAME": os.environ.get("BARE_DB_NAME", "bench_bare"),
        "USER": os.environ.get("BARE_DB_USER", "postgres"),
        "PASSWORD": "",
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"pool": {"min_size": min(2, _POOL_MAX), "max_size": _POOL_MAX, "timeout": 10}},
    }
}
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "root": {"handlers": ["console"], "level": "WARNING"}}
