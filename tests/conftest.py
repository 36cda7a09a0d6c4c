"""Shared fixtures. The test run (scripts/testenv.py) has already started a
throwaway Redis and, for the PostgreSQL pass, a throwaway cluster; their URLs
are in the environment before Django reads its settings."""

from __future__ import annotations

import pytest

from tests.support import processes


def pytest_collection_modifyitems(config, items):
    """Mark every test that touches a database with ``db`` so `make test` can
    run exactly those again on SQLite."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("django_db") or fixtures & {"db", "transactional_db", "live_server",
                                                                 "django_db_setup", "wallet_live", "core_live", "start_wallet"}:
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def core_live():
    """The settlement core as a real HTTP service (own process, own database,
    seeded with the demo data)."""
    proc = processes.start_core()
    yield proc
    proc.stop()


@pytest.fixture
def core_url(core_live, settings):
    """Point the wallet's settlement client at the live core for one test."""
    settings.SETTLEMENT_CORE_URL = core_live.url
    return core_live.url


@pytest.fixture(autouse=True)
def _core_accounts_forgotten():
    """The core remembers committed ledger accounts per process (accounts
    are never deleted in a running service); a test database wiped between
    tests is the one exception."""
    from core_platform.services.ledger import ledger_refs_forget

    ledger_refs_forget()
    yield


@pytest.fixture(autouse=True)
def _fresh_redis_db0():
    """Rate-limit counters, nonces and single-use markers live in Redis db 0;
    each test starts without the previous test's."""
    from common.redis import redis_client

    redis_client().flushdb()
    yield


@pytest.fixture(autouse=True)
def audit_checkpoint_file(tmp_path, settings, monkeypatch):
    """The audit chain's checkpoint store (a file outside the database) is
    this test's own, like its database: for this process and for any
    process the test starts."""
    path = tmp_path / "audit-checkpoints.jsonl"
    settings.AUDIT_CHECKPOINT_FILE = path
    monkeypatch.setenv("AUDIT_CHECKPOINT_FILE", str(path))
    return path


def live_database_env() -> dict:
    """Environment that points another process at this test run's wallet
    database (use with transactional tests so the data is committed)."""
    from django.db import connection

    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return {"DATABASE_URL": f"sqlite:///{conf['NAME']}"}
    return {"DATABASE_URL": f"postgres://{conf['USER']}@{conf['HOST']}:{conf['PORT']}/{conf['NAME']}"}


@pytest.fixture
def start_wallet(transactional_db, core_live):
    """Start wallet ASGI servers (uvicorn, each its own process) on this test's
    database, talking to the live core; all are stopped after the test."""
    started = []

    def start(**env_overrides):
        port = processes.free_port()
        env = processes.base_env(SETTLEMENT_CORE_URL=core_live.url, **live_database_env(), **env_overrides)
        proc = processes.Process(f"wallet-{port}", [processes.PYTHON, "-m", "uvicorn", "config.asgi:application",
                                                     "--host", "127.0.0.1", "--port", str(port), "--log-level",
                                                     "warning", "--timeout-graceful-shutdown", "2"], env, port=port).start()
        proc.url = f"http://127.0.0.1:{port}"
        proc.ws_url = f"ws://127.0.0.1:{port}"
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def wallet_live(start_wallet):
    """One wallet ASGI server process."""
    return start_wallet()


@pytest.fixture
def outbox_ids_above_earlier_tests(db):
    """The live core lives for the whole session while each test's wallet rows
    are rolled back or flushed. The outbox id is the per-person sequence the
    core applies in order; PostgreSQL's sequences never go back, but on
    SQLite a rollback rewinds the id counter too, so a later test would send
    ids the core has already seen and be refused as out of order — something
    a real wallet database never does. Start this test's ids above every
    earlier test's (milliseconds since the epoch)."""
    import time

    from django.db import connection

    from settlement.models import OutboxMessage

    if connection.vendor == "sqlite":
        table = OutboxMessage._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
            cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, int(time.time() * 1000)])
