"""Real processes for integration tests: the settlement core as its own HTTP
service, the wallet's ASGI server, Celery workers. Each is started with the
same environment the test run has (throwaway Redis/PostgreSQL from
scripts/testenv.py) and stopped at the end, whatever happens.

The process machinery itself (``Process``, ports, logs, process-group stop,
the core's uvicorn command) is scripts/harness.py, shared with bench/."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from harness import PYTHON, Process, celery_worker_cmd, core_start, free_port, run_manage, wait_port  # noqa: E402,F401


def base_env(**overrides: str) -> dict:
    env = dict(os.environ)
    env.setdefault("YIBAO_ENV", "test")
    env["LOG_FORMAT"] = "text"
    env.update({k: v for k, v in overrides.items() if v is not None})
    return env


def core_database_url(name: str) -> str:
    """A database for a core process: in the test run's PostgreSQL cluster when
    there is one, else a fresh SQLite file."""
    admin = os.environ.get("YIBAO_PG_ADMIN_URL")
    if admin:
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return admin.rsplit("/", 1)[0] + "/" + name
    path = Path(tempfile.mkdtemp(prefix="yibao-core-")) / f"{name}.sqlite3"
    return f"sqlite:///{path}"


def start_core(db_name: str = "yibao_core_live", seed: bool = True, port: int | None = None) -> Process:
    """The settlement core reference service as its own uvicorn process;
    ``.url`` its base URL, ``.db_url`` its database."""
    env = base_env(CORE_DATABASE_URL=core_database_url(db_name))
    proc = core_start(env, port=port, seed=seed, extra=("--timeout-graceful-shutdown", "2"))
    proc.db_url = env["CORE_DATABASE_URL"]
    return proc


def start_worker(queues: str = "money,housekeeping", concurrency: int = 1, name: str = "worker",
                 **env_overrides: str) -> Process:
    return Process(name, celery_worker_cmd(queues, concurrency, name), base_env(**env_overrides)).start()


def start_beat(name: str = "beat", **env_overrides: str) -> Process:
    schedule = Path(tempfile.mkdtemp(prefix="yibao-beat-")) / "celerybeat-schedule"
    env = base_env(**env_overrides)
    return Process(name, [PYTHON, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                          "--schedule", str(schedule)], env).start()


def wait_until(predicate, timeout: float, interval: float = 0.5, message: str = "condition"):
    import time

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")


def core_eval(core_db_url: str, expression: str):
    """Evaluate a Python expression inside the core's own process context
    (its database), for assertions about the book of record. Returns the
    value (repr round-trip)."""
    import ast

    env = base_env(YIBAO_SERVICE="core", CORE_DATABASE_URL=core_db_url, LOG_LEVEL="ERROR")
    code = "import core_platform.models as m\nprint(repr(" + expression + "))"
    out = run_manage(env, "shell", "-c", code)
    return ast.literal_eval(out.strip().splitlines()[-1])


def core_exec(core_db_url: str, code: str) -> str:
    """Run statements inside the core's own context (a deliberate tamper, say)."""
    env = base_env(YIBAO_SERVICE="core", CORE_DATABASE_URL=core_db_url, LOG_LEVEL="ERROR")
    return run_manage(env, "shell", "-c", code)
