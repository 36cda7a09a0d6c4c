"""`make run` (scripts/run.py) as a real process tree: every way of stopping
it leaves nothing running, it never shares a Redis with another run or a
foreign server (issue #9 part 6), and it listens on loopback only unless HOST
says otherwise (issue #20): the listening sockets are read from /proc/net.

Each run gets its own YIBAO_VAR_DIR (SQLite files, Redis dump, beat schedule)
in a temp dir shared by the cases of this module, so a developer's var/ is
never touched and only the first start pays for migrations and demo seeding.
Processes are found through /proc: a unique marker in their environment (the
run passes its environment on to every child), or the run's ports on their
command line (redis-server rewrites its title, not its arguments' ports)."""

from __future__ import annotations

import binascii
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "scripts" / "run.py"
# The test run's own servers and settings must not leak into `make run`.
FOREIGN_ENV = ("REDIS_URL", "DATABASE_URL", "CORE_DATABASE_URL", "SETTLEMENT_CORE_URL", "SQLITE_TEST_DIR",
               "YIBAO_TEST_DB", "YIBAO_PG_ADMIN_URL", "YIBAO_ENV", "REDIS_PORT", "PORT", "HOST",
               "DJANGO_SETTINGS_MODULE")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _three_free_ports() -> int:
    """P with P, P+1 (core) and P+2 (Redis) all free."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + 2 < 65536 and all(_bindable(p) for p in (port, port + 1, port + 2)):
            return port
    raise RuntimeError("no three consecutive free ports")


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.3):
        return True
    return False


def _listen_addresses(port: int) -> set[str]:
    """The local addresses of every socket listening on TCP ``port`` (IPv4 and IPv6), from /proc/net."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with contextlib.suppress(FileNotFoundError), open(table) as f:
            for line in f.read().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                    continue
                raw = binascii.unhexlify(address)  # host-order 32-bit words
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(socket.inet_ntop(family, raw))
    return found


def _processes(marker: str, ports: tuple[int, ...]) -> dict[int, str]:
    """pid → command line of every live (non-zombie) process of this run."""
    found = {}
    needles = [f":{p}" for p in ports] + [f"--port\x00{p}" for p in ports]
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    environ = f.read().decode(errors="replace")
            except PermissionError:
                environ = ""
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if marker in environ or any(n in cmdline for n in needles):
            found[int(entry)] = cmdline.replace("\x00", " ").strip()
    return found


class Run:
    def __init__(self, var_dir: Path, port: int | None = None, host: str | None = None):
        self.port = port or _three_free_ports()
        self.ports = (self.port, self.port + 1, self.port + 2)
        self.marker = f"YIBAO_RUN_TEST_MARK={uuid.uuid4().hex}"
        self.log = var_dir / f"run-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
        env.update({"YIBAO_VAR_DIR": str(var_dir), "YIBAO_RUN_TEST_MARK": self.marker.split("=", 1)[1],
                    "PYTHONUNBUFFERED": "1", **({"HOST": host} if host is not None else {})})
        with open(self.log, "wb") as out:
            # Its own session, as under a service manager: signals reach it only when we send them.
            self.proc = subprocess.Popen([sys.executable, str(RUN), "--port", str(self.port)], cwd=ROOT, env=env,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_up(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while "is up" not in self.output():
            assert self.proc.poll() is None, f"make run exited early:\n{self.output()}"
            assert time.monotonic() < deadline, f"make run not up after {timeout}s:\n{self.output()}"
            time.sleep(0.2)

    def processes(self) -> dict[int, str]:
        found = _processes(self.marker, self.ports)
        found.pop(self.proc.pid, None)
        return found

    def kill_all(self) -> None:
        """Last resort so that a failing test does not leave a stack behind."""
        for pid in [self.proc.pid, *self.processes()]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("make-run-var")


@pytest.mark.parametrize("signals", [["SIGINT"], ["SIGTERM"], ["SIGTERM", "SIGTERM"], ["SIGKILL"]],
                         ids=["sigint", "sigterm", "sigterm-twice", "sigkill"])
def test_every_way_of_stopping_leaves_nothing_running(var_dir, signals):
    run = Run(var_dir)
    try:
        run.wait_up()
        assert f"[run] redis on redis://127.0.0.1:{run.port + 2}/0" in run.output()  # derived from PORT
        assert _listening(run.port) and _listening(run.port + 1) and _listening(run.port + 2)
        # No HOST: the wallet (demo secrets, demo logins) listens on loopback only, as do the core and Redis.
        assert [_listen_addresses(p) for p in run.ports] == [{"127.0.0.1"}] * 3, run.output()[-2000:]
        started = " | ".join(run.processes().values())
        for part in ("uvicorn", f"--port {run.port} ", f"--port {run.port + 1} ", "celery -A config worker",
                     "celery -A config beat", f"redis-server 127.0.0.1:{run.port + 2}"):
            assert part in started + " ", f"{part!r} not among the run's processes: {started}"

        for n, name in enumerate(signals):
            if n:
                time.sleep(0.3)  # the second one lands in the middle of the shutdown
            os.kill(run.proc.pid, getattr(signal, name))
        code = run.proc.wait(60)

        # Killed pool processes are reaped by init, not by us; after a SIGKILL
        # of the run the children stop on their own (parent-death signal).
        deadline = time.monotonic() + (25 if signals == ["SIGKILL"] else 5)
        while run.processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert run.processes() == {}, f"left running after {signals}:\n{run.output()[-3000:]}"
        assert not any(_listening(p) for p in run.ports)
        if signals == ["SIGKILL"]:
            assert code == -signal.SIGKILL
            return
        assert code == 0 and run.output().rstrip().endswith("[run] stopped"), run.output()[-2000:]
        if len(signals) > 1:
            assert "already stopping" in run.output()
    finally:
        run.kill_all()


def test_refuses_to_start_next_to_a_foreign_redis(var_dir):
    """Something already listens where this run's Redis would go (another
    run, a stray redis-server): refuse, start nothing, share nothing."""
    port = _three_free_ports()
    with socket.socket() as foreign:
        foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        foreign.bind(("127.0.0.1", port + 2))
        foreign.listen()
        run = Run(var_dir, port=port)
        try:
            code = run.proc.wait(60)
            assert code == 1
            assert f"port {port + 2} for the Redis" in run.output() and "Refusing to start" in run.output()
            assert run.processes() == {}
            assert not _listening(port) and not _listening(port + 1)
        finally:
            run.kill_all()


def test_host_opens_the_wallet_wider(var_dir):
    """HOST=0.0.0.0 (make run passes it as --host): the wallet listens on every
    interface and says so; the core and Redis stay on loopback."""
    run = Run(var_dir, host="0.0.0.0")
    try:
        run.wait_up()
        assert _listen_addresses(run.port) == {"0.0.0.0"}, run.output()[-2000:]
        assert _listen_addresses(run.port + 1) == {"127.0.0.1"} and _listen_addresses(run.port + 2) == {"127.0.0.1"}
        assert f"listening on     0.0.0.0:{run.port}  (reachable from other machines" in run.output()
        os.kill(run.proc.pid, signal.SIGTERM)
        assert run.proc.wait(60) == 0
    finally:
        run.kill_all()


def test_make_passes_host_to_the_run():
    """The Makefile's run target hands HOST (default 127.0.0.1) and PORT to scripts/run.py (make -n: printed, not run)."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}

    def recipe(*variables: str) -> str:
        out = subprocess.run(["make", "-n", "run", *variables], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        return next(line for line in out.stdout.splitlines() if "scripts/run.py" in line)

    assert recipe().endswith("scripts/run.py --host 127.0.0.1 --port 8000")
    assert recipe("HOST=0.0.0.0", "PORT=9123").endswith("scripts/run.py --host 0.0.0.0 --port 9123")
