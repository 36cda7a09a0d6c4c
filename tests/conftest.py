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
                                                                 "django_db_setup", "wallet_live", "core_live"}:
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
