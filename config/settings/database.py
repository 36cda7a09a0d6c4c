"""Two databases: ``default`` for the wallet, ``core`` for the settlement-core
reference service (core_platform), routed by ``config.routers``.

Each accepts a URL (``DATABASE_URL`` / ``CORE_DATABASE_URL``); without one, a
SQLite file under var/ is used (development only).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from .base import PRODUCTION, VAR_DIR
from .env import env_int, env_str


def _database(name: str, sqlite_file: str) -> dict:
    url = env_str(name, "")
    if not url:
        if PRODUCTION:
            raise ImproperlyConfigured(f"{name} is required in production")
        url = f"sqlite:///{VAR_DIR / sqlite_file}"
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from exc
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL + a busy timeout: readers never block the writer, writers queue
        # instead of failing with "database is locked".
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    else:
        # Under ASGI every request runs in its own thread, and Django's
        # persistent connections are per thread, so CONN_MAX_AGE would open a
        # new PostgreSQL connection per request. A psycopg pool per process
        # hands connections back and forth instead.
        pool_max = env_int("DB_POOL_MAX_SIZE", 20)
        if pool_max > 0:
            config["CONN_MAX_AGE"] = 0
            config["OPTIONS"] = {"pool": {"min_size": min(2, pool_max), "max_size": pool_max, "timeout": 10}}
        else:
            config["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)
            config["CONN_HEALTH_CHECKS"] = True
    config["TEST"] = {"NAME": None}
    return config


DATABASES = {
    "default": _database("DATABASE_URL", "wallet.sqlite3"),
    "core": _database("CORE_DATABASE_URL", "core.sqlite3"),
}
# Test databases on SQLite are files (so other processes — a live server, a
# worker — can open them); each test run may put them in its own directory.
_SQLITE_TEST_DIR = Path(env_str("SQLITE_TEST_DIR", str(VAR_DIR)))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(_SQLITE_TEST_DIR / "test_wallet.sqlite3")}
if DATABASES["core"]["ENGINE"].endswith("sqlite3"):
    DATABASES["core"]["TEST"] = {"NAME": str(_SQLITE_TEST_DIR / "test_core.sqlite3")}

DATABASE_ROUTERS = ["config.routers.CoreRouter"]
