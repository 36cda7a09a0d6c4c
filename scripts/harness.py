"""The one process harness of the project: what bench/*.py and
tests/support/processes.py start, watch and stop.

- ``Process``: a child in its own session (so a terminal's Ctrl-C reaches the
  script, not the child), its output captured to a log file, optionally
  waited for until it listens on a port, stopped by process group (SIGTERM,
  then SIGKILL) so no worker or pool child outlives it.
- ``RedisServer`` / ``PostgresServer`` (from scripts/services.py, which
  ``make run`` and scripts/testenv.py use directly).
- ``run_manage``, ``uvicorn_cmd``, ``celery_worker_cmd``, ``core_start``,
  ``wallet_start``: the settlement core and the wallet as ASGI processes.
- ``ServiceStack``: Redis + PostgreSQL (or SQLite files) + both databases
  migrated + the core running, for a benchmark, all stopped by one ExitStack.
- ``HAProxy`` / ``haproxy_start``: the distribution's HAProxy in front of
  several wallet ASGI processes (round robin, WebSocket upgrades, health
  checks on /readyz, stats; ``X-Served-By`` names the process that answered).
- ``machine_facts``, ``tree_cpu``, ``machine_busy``, ``doc_section_write``:
  what a benchmark reports about the machine and how it writes its section
  of docs/performance.md.

Standard library only at import time (psutil and psycopg are imported inside
the functions that need them), like scripts/services.py, so it can be used
before the virtualenv exists. Import it with scripts/ on ``sys.path``
(``from harness import ...``), as bench/*.py and tests/support do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import (  # noqa: E402,F401  (re-exported: one import for every user of the harness)
    PostgresServer,
    RedisServer,
    die_with_parent,
    free_port,
    pg_bindir,
    wait_port,
)

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ASGI_APP = "config.asgi:application"
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"
PERFORMANCE_HEAD = ("# Performance\n\nSpeed targets are measured by the benchmarks in bench/ (not part of the test "
                    "suite); each section gives the machine, the command and the figures, beside a reference "
                    "measured in the same run.\n")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- one child process


class Process:
    """A child in its own session, its output in ``log_dir/name.log``;
    stopped by process group: SIGTERM, then SIGKILL."""

    def __init__(self, name: str, cmd: list[str], env: dict, port: int | None = None,
                 log_dir: Path | None = None):
        self.name, self.cmd, self.env, self.port = name, cmd, env, port
        log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="yibao-proc-"))
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, wait: float = 60.0) -> "Process":
        """Start; with a port, wait until it listens (the log's tail is in the
        error if it does not, and the child is stopped)."""
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if self.port:
            try:
                wait_port(self.port, timeout=wait, proc=self.proc)
            except RuntimeError as exc:
                self.stop()
                raise RuntimeError(f"{self.name} did not start: {exc}\n{self.log_tail()}") from exc
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        """``sig`` to the whole process group, if it still runs."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None


# --------------------------------------------------------------------------- the project's processes


def run_manage(env: dict, *args: str, timeout: float = 600) -> str:
    """``manage.py ARGS`` in ``env``; its stdout, or RuntimeError with both streams."""
    out = subprocess.run([PYTHON, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def uvicorn_cmd(port: int, *extra: str, workers: int = 1) -> list[str]:
    """The project's ASGI application (wallet or core, by YIBAO_SERVICE) on 127.0.0.1."""
    return [PYTHON, "-m", "uvicorn", ASGI_APP, "--host", "127.0.0.1", "--port", str(port), "--workers",
            str(workers), "--log-level", "warning", "--no-access-log", *extra]


def celery_worker_cmd(queues: str, concurrency: int, node: str, *extra: str) -> list[str]:
    return [PYTHON, "-m", "celery", "-A", "config", "worker", "-Q", queues, "--concurrency", str(concurrency),
            "--loglevel", "INFO", "-n", f"{node}-{os.getpid()}@%h", "--without-gossip", "--without-mingle", *extra]


def core_start(env: dict, *, name: str = "core", port: int | None = None, workers: int = 1, migrate: bool = True,
               seed: bool = True, log_dir: Path | None = None, extra: tuple[str, ...] = ()) -> Process:
    """The settlement core as its own uvicorn process (YIBAO_SERVICE=core):
    migrated and seeded (``core_seed_demo``) first unless told otherwise.
    ``.url`` is the base URL the wallet's SETTLEMENT_CORE_URL takes."""
    core_env = dict(env, YIBAO_SERVICE="core")
    if migrate:
        run_manage(core_env, "migrate", "--database", "core", "--noinput", "-v", "0")
    if seed:
        run_manage(core_env, "core_seed_demo")
    port = port or free_port()
    proc = Process(name, uvicorn_cmd(port, *extra, workers=workers), core_env, port=port, log_dir=log_dir)
    proc.url = f"http://127.0.0.1:{port}/core"
    return proc.start(wait=90)


def wallet_start(env: dict, *, name: str = "wallet", port: int | None = None, workers: int = 1,
                 log_dir: Path | None = None, extra: tuple[str, ...] = ()) -> Process:
    """The wallet's ASGI server (HTTP and WebSocket) as a uvicorn process."""
    port = port or free_port()
    proc = Process(name, uvicorn_cmd(port, *extra, workers=workers), env, port=port, log_dir=log_dir)
    proc.url = proc.base_url
    return proc.start(wait=90)


class ServiceStack:
    """What a benchmark runs against: Redis, PostgreSQL (a throwaway cluster
    with ``bench_wallet`` and ``bench_core``) or SQLite files, both databases
    migrated, the core seeded and running. Everything it starts is stopped by
    ``exit`` (a contextlib.ExitStack), also on error or Ctrl-C.

    ``env`` is the wallet's environment (YIBAO_ENV=test, DEBUG=false,
    LOG_LEVEL=WARNING, the throwaway Redis and databases, SETTLEMENT_CORE_URL
    of the running core); ``core_env`` the core's."""

    CORE_CLIENT_ID = "yibao-wallet"
    CORE_SECRET = "bench-core-api-secret"

    def __init__(self, exit: contextlib.ExitStack, *, db: str = "postgres", log_prefix: str = "yibao-bench-",
                 strip_env: tuple[str, ...] = ("YIBAO_", "DJANGO_"), **env_extra: str):
        self.exit = exit
        self.db = db
        self.log_dir = Path(tempfile.mkdtemp(prefix=log_prefix))
        self.strip_env = strip_env
        self.env_extra = env_extra
        self.redis: RedisServer | None = None
        self.pg: PostgresServer | None = None
        self.core: Process | None = None

    def start(self, *, core_workers: int = 1, extra_databases: tuple[str, ...] = (),
              seed_wallet: bool = False) -> "ServiceStack":
        self.redis = RedisServer()
        self.exit.callback(self.redis.stop)
        self.redis.start()
        if self.db == "postgres":
            self.pg = PostgresServer()
            self.exit.callback(self.pg.stop)
            self.pg.start()
            self.wallet_db = self.pg.create_database("bench_wallet")
            self.core_db = self.pg.create_database("bench_core")
            for name in extra_databases:
                self.pg.create_database(name)
            self.admin_url = self.pg.url("postgres")
        else:
            self.wallet_db = f"sqlite:///{self.log_dir / 'wallet.sqlite3'}"
            self.core_db = f"sqlite:///{self.log_dir / 'core.sqlite3'}"
            self.admin_url = None
        env = {k: v for k, v in os.environ.items() if not k.startswith(self.strip_env)}
        env.update(YIBAO_ENV="test", DEBUG="false", LOG_LEVEL="WARNING", LOG_FORMAT="text", PYTHONUNBUFFERED="1",
                   REDIS_URL=self.redis.url, DATABASE_URL=self.wallet_db, CORE_DATABASE_URL=self.core_db,
                   CORE_API_CLIENT_ID=self.CORE_CLIENT_ID, CORE_API_SECRET=self.CORE_SECRET, **self.env_extra)
        self.core_env = dict(env, YIBAO_SERVICE="core")
        log(f"migrating the wallet and the core ({self.db}), seeding ...")
        run_manage(env, "migrate", "--noinput", "-v", "0")
        run_manage(self.core_env, "migrate", "--database", "core", "--noinput", "-v", "0")
        run_manage(self.core_env, "core_seed_demo")
        if seed_wallet:
            run_manage(env, "seed_demo")
        self.env = env
        return self

    def start_core(self, *, workers: int = 1, extra: tuple[str, ...] = ()) -> Process:
        """Start (after ``start``) the core; the wallet's env then points at it."""
        self.core = self.register(core_start(self.env, workers=workers, migrate=False, seed=False,
                                             log_dir=self.log_dir, extra=extra))
        self.core_url = self.core.url
        self.env["SETTLEMENT_CORE_URL"] = self.core_url
        return self.core

    def start_wallet(self, name: str = "wallet", *, workers: int = 1, extra: tuple[str, ...] = ()) -> Process:
        return self.register(wallet_start(self.env, name=name, workers=workers, log_dir=self.log_dir, extra=extra))

    def start_haproxy(self, servers: dict[str, int], name: str = "haproxy") -> "HAProxy":
        """HAProxy (the distribution's) in front of running wallet processes."""
        return self.register(haproxy_start(servers, name=name, log_dir=self.log_dir))

    def start_worker(self, name: str, *, queues: str = "money,housekeeping", concurrency: int = 1) -> Process:
        """A Celery worker of the wallet (its environment, the core's URL once started)."""
        return self.spawn(name, celery_worker_cmd(queues, concurrency, name))

    def spawn(self, name: str, cmd: list[str], *, env: dict | None = None, port: int | None = None,
              log_dir: Path | None = None) -> Process:
        """Any other child (a load generator, a reference server), stopped with the stack."""
        proc = Process(name, cmd, env if env is not None else self.env, port=port, log_dir=log_dir or self.log_dir)
        return self.register(proc.start())

    def register(self, proc: Process) -> Process:
        self.exit.callback(proc.stop)
        return proc


# --------------------------------------------------------------------------- HAProxy in front of wallet processes


SERVED_BY_HEADER = "X-Served-By"  # added by the balancer of tests and benchmarks only, never by the wallet


def haproxy_binary() -> str:
    """The distribution's HAProxy (Debian package ``haproxy``, installed by
    ``make system-deps-test`` / ``make system-deps-bench``)."""
    import shutil

    found = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy")
                                             if os.access(p, os.X_OK)), None)
    if not found:
        raise RuntimeError("HAProxy is not installed: run `make system-deps-bench` (Debian package haproxy)")
    return found


def haproxy_config(port: int, servers: dict[str, int], *, stats_port: int, check_path: str = "/readyz",
                   served_by: bool = True) -> str:
    """One HTTP frontend on 127.0.0.1:``port``, round robin over ``servers``
    (name -> port on 127.0.0.1), per request (keep-alive client connections
    are re-balanced at every request); a WebSocket upgrade goes to one server
    and stays there as a tunnel (``timeout tunnel``). Each server is checked
    with ``GET check_path`` every 2 s (5 s to answer: /readyz also asks the
    core, slow on a loaded machine) and taken out of rotation after three
    failures (/readyz answers 503 when its database or Redis is down). With
    ``served_by`` every answer, the 101 of a WebSocket included, names the
    server in ``X-Served-By`` — the balancer's header, so tests and benchmarks
    can tell which process served what; the wallet itself never says. The
    stats page (CSV at ``/stats;csv``) is on ``stats_port``."""
    # Two descriptors per proxied connection, within the hard limit HAProxy may raise itself to.
    maxconn = max(256, min(20000, (resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 200) // 2))
    lines = [
        "global",
        f"    maxconn {maxconn}",
        "defaults",
        "    mode http",
        "    option dontlognull",
        "    timeout connect 5s",
        "    timeout client 120s",
        "    timeout server 120s",
        "    timeout tunnel 1h",
        "    timeout http-keep-alive 30s",
        "    timeout http-request 30s",
        "frontend wallet",
        f"    bind 127.0.0.1:{port}",
        "    default_backend wallets",
        "backend wallets",
        "    balance roundrobin",
        "    option httpchk",
        f"    http-check send meth GET uri {check_path} ver HTTP/1.1 hdr Host 127.0.0.1",
        "    http-check expect status 200",
        "    timeout check 5s",
        f"    default-server check inter 2s fall 3 rise 1 maxconn {maxconn}",
    ]
    if served_by:
        lines.append(f"    http-response set-header {SERVED_BY_HEADER} %s")
    lines += [f"    server {name} 127.0.0.1:{server_port}" for name, server_port in servers.items()]
    lines += ["listen stats", f"    bind 127.0.0.1:{stats_port}", "    stats enable", "    stats uri /stats",
              "    stats refresh 0"]
    return "\n".join(lines) + "\n"


class HAProxy(Process):
    """HAProxy as a child process (``-db``: foreground), with ``url`` /
    ``ws_url`` of its frontend and its stats page."""

    def __init__(self, name: str, servers: dict[str, int], *, port: int | None = None, log_dir: Path | None = None,
                 check_path: str = "/readyz", env: dict | None = None):
        log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="yibao-haproxy-"))
        port = port or free_port()
        self.servers = dict(servers)
        self.stats_port = free_port()
        self.config_path = log_dir / f"{name}.cfg"
        self.config_path.write_text(haproxy_config(port, self.servers, stats_port=self.stats_port,
                                                   check_path=check_path))
        binary = haproxy_binary()
        check = subprocess.run([binary, "-c", "-q", "-f", str(self.config_path)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"HAProxy refused its configuration:\n{check.stdout}{check.stderr}")
        super().__init__(name, [binary, "-db", "-f", str(self.config_path)], env or {"PATH": os.environ.get("PATH", "")},
                         port=port, log_dir=log_dir)
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"

    def stats(self) -> dict[str, dict[str, str]]:
        """Per server of the ``wallets`` backend: its row of HAProxy's CSV
        stats (``status`` UP/DOWN, ``stot`` sessions, ``req_tot`` requests, ...)."""
        import csv
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=5) as answer:
            text = answer.read().decode()
        rows = csv.DictReader(text.lstrip("# ").splitlines())
        return {row["svname"]: row for row in rows if row["pxname"] == "wallets" and row["svname"] in self.servers}

    def requests_per_server(self) -> dict[str, int]:
        """HTTP requests (a WebSocket counts once, at its upgrade) each server has been sent so far."""
        return {name: int(row.get("req_tot") or 0) for name, row in self.stats().items()}

    def wait_servers_up(self, timeout: float = 30.0) -> None:
        """Until every server passes its health check (else RuntimeError with the stats)."""
        deadline = time.monotonic() + timeout
        status = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                status = {name: row["status"] for name, row in self.stats().items()}
                if len(status) == len(self.servers) and all(s.startswith("UP") for s in status.values()):
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: servers not UP after {timeout:.0f} s: {status}\n{self.log_tail()}")


def haproxy_start(servers: dict[str, int], *, name: str = "haproxy", port: int | None = None,
                  log_dir: Path | None = None, check_path: str = "/readyz", wait_up: float = 30.0) -> HAProxy:
    """Start HAProxy in front of ``servers`` (name -> port of a running
    wallet ASGI process) and wait until it listens and every server is UP."""
    proxy = HAProxy(name, servers, port=port, log_dir=log_dir, check_path=check_path)
    proxy.start(wait=30)
    try:
        proxy.wait_servers_up(wait_up)
    except RuntimeError:
        proxy.stop()
        raise
    return proxy


# --------------------------------------------------------------------------- machine facts and CPU


def machine_facts(packages: tuple[str, ...] = ("django", "celery", "uvicorn", "httpx", "psycopg")) -> dict:
    """What a benchmark states about where it ran."""
    from importlib import metadata

    model = platform.processor() or "?"
    mem_kib = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    postgres = "?"
    with contextlib.suppress(RuntimeError, OSError):
        postgres = subprocess.run([str(pg_bindir() / "postgres"), "--version"], capture_output=True,
                                  text=True).stdout.strip() or "?"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    versions = {}
    for pkg in packages:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[pkg] = metadata.version(pkg)
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": model, "mem_gib": mem_kib / 2**20,
            "python": platform.python_version(), "kernel": platform.release(), "postgres": postgres,
            "commit": commit.strip() or "?", "versions": versions, "loadavg": os.getloadavg(),
            "nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
            "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")}


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of ``pid`` and all its descendants, per pid."""
    import psutil

    out = {}
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.Error:
        return out
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            out[proc.pid] = t.user + t.system
    return out


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (not idle, not waiting for I/O)."""
    import psutil

    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


# --------------------------------------------------------------------------- docs/performance.md


def doc_section_write(path: Path, generated: str, *, begin: str, end: str, heading: str | None = None) -> None:
    """Write one benchmark's generated block (between its ``begin`` / ``end``
    markers) into ``path``, leaving everything else as it is: hand-written
    notes around the block survive. With ``heading``, the block lives in that
    ``## `` section (created at the end if missing); without, the markers
    alone place it. Re-read right before writing: other benchmarks write
    other sections of the same file."""
    path = Path(path)
    block = f"{begin}\n\n{generated.strip()}\n\n{end}"
    text = path.read_text() if path.exists() else PERFORMANCE_HEAD
    if heading and heading in text:
        head, rest = text.split(heading, 1)
        nxt = re.search(r"^## ", rest, flags=re.M)
        body, tail = (rest[:nxt.start()], rest[nxt.start():]) if nxt else (rest, "")
        if begin in body and end in body:
            before, after = body.split(begin, 1)
            body = before + block + after.split(end, 1)[1]
        else:
            body = "\n\n" + block + "\n\n"
        text = head + heading + body + tail
    elif begin in text and end in text:
        before, after = text.split(begin, 1)
        text = before + block + after.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + (f"{heading}\n\n" if heading else "") + block + "\n"
    path.write_text(text)


def run_main(main) -> None:
    """Run a benchmark's ``main()`` and exit with its status: SIGTERM acts as
    Ctrl-C, and either unwinds every ExitStack (so every process it started
    is stopped) before exiting 130."""

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; every process started here has been stopped", file=sys.stderr)
        sys.exit(130)
