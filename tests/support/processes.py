"""Real processes for integration tests: the settlement core as its own HTTP
service, the wallet's ASGI server, Celery workers. Each is started with the
same environment the test run has (throwaway Redis/PostgreSQL from
scripts/testenv.py) and stopped at the end, whatever happens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from services import free_port, wait_port  # noqa: E402

PYTHON = sys.executable


class Process:
    def __init__(self, name: str, cmd: list[str], env: dict, port: int | None = None, log_dir: Path | None = None):
        self.name = name
        self.cmd = cmd
        self.env = env
        self.port = port
        log_dir = log_dir or Path(tempfile.mkdtemp(prefix="yibao-proc-"))
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, wait: float = 60.0) -> "Process":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if self.port:
            try:
                wait_port(self.port, timeout=wait, proc=self.proc)
            except RuntimeError as exc:
                raise RuntimeError(f"{self.name} did not start: {exc}\n{self.log_tail()}") from exc
        return self

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 15.0) -> None:
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def base_env(**overrides: str) -> dict:
    env = dict(os.environ)
    env.setdefault("YIBAO_ENV", "test")
    env["LOG_FORMAT"] = "text"
    env.update({k: v for k, v in overrides.items() if v is not None})
    return env


def run_manage(env: dict, *args: str) -> str:
    out = subprocess.run([PYTHON, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


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
    """The settlement core reference service as its own uvicorn process."""
    port = port or free_port()
    env = base_env(YIBAO_SERVICE="core", CORE_DATABASE_URL=core_database_url(db_name))
    run_manage(env, "migrate", "--database", "core", "--noinput", "-v", "0")
    if seed:
        run_manage(env, "core_seed_demo")
    proc = Process("core", [PYTHON, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                            "--port", str(port), "--log-level", "warning", "--timeout-graceful-shutdown", "2"], env, port=port)
    proc.url = f"http://127.0.0.1:{port}/core"
    proc.db_url = env["CORE_DATABASE_URL"]
    return proc.start()


def start_worker(queues: str = "money,housekeeping", concurrency: int = 1, name: str = "worker",
                 **env_overrides: str) -> Process:
    env = base_env(**env_overrides)
    return Process(name, [PYTHON, "-m", "celery", "-A", "config", "worker", "-Q", queues, "--concurrency",
                          str(concurrency), "--loglevel", "INFO", "-n", f"{name}-{os.getpid()}@%h",
                          "--without-gossip", "--without-mingle"], env).start()


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
