"""scripts/testenv.py, which `make test` runs the suites under: stopped with
SIGTERM (a CI runner's timeout, a service manager), it stops its command as
Ctrl-C would and then the PostgreSQL and Redis servers it started."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTENV = ROOT / "scripts" / "testenv.py"
# A command that says it is ready, then waits; on Ctrl-C (SIGINT) it writes down that it was interrupted.
COMMAND = """
import pathlib, sys, time
ready, interrupted = map(pathlib.Path, sys.argv[1:3])
ready.write_text("ready")
try:
    time.sleep(120)
except KeyboardInterrupt:
    interrupted.write_text("interrupted")
    sys.exit(130)
"""

pytestmark = [pytest.mark.processes]


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.3):
        return True
    return False


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_sigterm_interrupts_the_command_and_stops_the_servers(tmp_path):
    ready, interrupted = tmp_path / "ready", tmp_path / "interrupted"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "CORE_DATABASE_URL")}
    proc = subprocess.Popen([sys.executable, str(TESTENV), "--db", "postgres", "--", sys.executable, "-c", COMMAND,
                             str(ready), str(interrupted)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        found = re.search(r"redis=redis://127\.0\.0\.1:(\d+)/0 db=postgres pg_port=(\d+)", banner)
        assert found, banner
        redis_port, pg_port = map(int, found.groups())
        assert _wait(ready.exists, 30), "the command did not start"
        assert _listening(redis_port) and _listening(pg_port)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 130  # the command's own exit status, passed on
        assert interrupted.read_text() == "interrupted"  # stopped as Ctrl-C does: pytest would run its teardown
        assert _wait(lambda: not _listening(pg_port) and not _listening(redis_port), 15), \
            "PostgreSQL or Redis still running after testenv stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
