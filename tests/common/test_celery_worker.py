"""A Celery task executed by a real worker process against the real Redis."""

from __future__ import annotations

import time
import uuid

import pytest

from common.redis import redis_client
from common.tasks import echo
from tests.support.processes import start_worker


@pytest.fixture(scope="module")
def worker():
    proc = start_worker(queues="housekeeping", name="echo-worker")
    yield proc
    proc.stop()


def test_real_worker_runs_a_task(worker):
    key, value = uuid.uuid4().hex, f"你好-{uuid.uuid4().hex[:6]}"
    redis_client().delete(f"yibao:echo:{key}")
    echo.delay(key, value)
    deadline = time.monotonic() + 60
    seen = None
    while time.monotonic() < deadline:
        seen = redis_client().get(f"yibao:echo:{key}")
        if seen is not None:
            break
        time.sleep(0.2)
    assert seen is not None, f"worker never ran the task:\n{worker.log_tail()}"
    assert seen.decode() == value
    assert "common.echo" in worker.log_tail(200)
