"""Run a command (pytest) with throwaway Redis and, optionally, PostgreSQL.

    python scripts/testenv.py --db postgres -- pytest tests/
    python scripts/testenv.py --db sqlite -- pytest -m db tests/

Exports REDIS_URL and, for PostgreSQL, DATABASE_URL and CORE_DATABASE_URL
(two databases in one throwaway cluster). Everything it starts is stopped
when the command ends, however it ends.
"""

from __future__ import annotations

import argparse
import os
import signal
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import PostgresServer, RedisServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _stop_on_sigterm(proc: subprocess.Popen):
    """SIGTERM (a CI runner's timeout, a service manager, ``kill``) stops the
    command as Ctrl-C does, so pytest runs its teardown and stops the servers
    its fixtures started; a second SIGTERM ends it at once. Either way this
    process then stops its own PostgreSQL and Redis (``finally`` in main),
    which Python's default SIGTERM handling would skip: the PostgreSQL
    server, started by pg_ctl, outlives its parent."""
    received = 0

    def handler(signum, frame) -> None:
        nonlocal received
        received += 1
        proc.send_signal(signal.SIGINT if received == 1 else signal.SIGKILL)

    return handler


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")

    env = dict(os.environ)
    env["YIBAO_ENV"] = "test"
    env["YIBAO_TEST_DB"] = args.db
    # The audit chain's checkpoints never go to var/ (a `make run`'s): tests/conftest.py gives each test its own.
    checkpoints_dir = tempfile.mkdtemp(prefix="yibao-checkpoints-")
    env["AUDIT_CHECKPOINT_FILE"] = os.path.join(checkpoints_dir, "audit-checkpoints.jsonl")
    redis = RedisServer().start()
    pg = None
    try:
        env["REDIS_URL"] = redis.url
        if args.db == "postgres":
            pg = PostgresServer().start()
            env["DATABASE_URL"] = pg.create_database("yibao")
            env["CORE_DATABASE_URL"] = pg.create_database("yibao_core")
            env["YIBAO_PG_ADMIN_URL"] = pg.url("postgres")
        else:
            env.pop("DATABASE_URL", None)
            env.pop("CORE_DATABASE_URL", None)
            env["SQLITE_TEST_DIR"] = tempfile.mkdtemp(prefix="yibao-sqlite-")
        print(f"[testenv] redis={redis.url} db={args.db}" + (f" pg_port={pg.port}" if pg else ""), flush=True)
        proc = subprocess.Popen(command, env=env, cwd=ROOT)
        signal.signal(signal.SIGTERM, _stop_on_sigterm(proc))
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            return proc.wait()
    finally:
        if pg:
            pg.stop()
        redis.stop()
        shutil.rmtree(checkpoints_dir, ignore_errors=True)
        if env.get("SQLITE_TEST_DIR"):
            shutil.rmtree(env["SQLITE_TEST_DIR"], ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
