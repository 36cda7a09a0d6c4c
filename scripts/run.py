"""`make run`: everything on one machine, in the foreground.

Migrates both databases, seeds demo data (idempotent), starts a local Redis
on PORT+2 (unless REDIS_URL is set; REDIS_PORT overrides the port), the
settlement core as its own process on PORT+1 (unless SETTLEMENT_CORE_URL is
set), the wallet's ASGI server on PORT, a Celery worker and Celery beat.

Address: the wallet listens on 127.0.0.1 only (a development server with
demo secrets and demo logins); HOST (or --host) opens it wider, e.g.
HOST=0.0.0.0 for a phone on the same network. Redis and the core always stay
on 127.0.0.1.

Ports: each run owns PORT, PORT+1 and PORT+2. If any of them is already taken
(another `make run`, a leftover or foreign Redis), it refuses to start rather
than share a Redis with a stranger.

State: SQLite files, the Redis dump, beat's schedule and demo-personas.txt go
to YIBAO_VAR_DIR (default var/ in the checkout).

Stopping: Ctrl-C (SIGINT), SIGTERM or SIGHUP, once or repeatedly, stops every
process it started. Further signals during the shutdown are noted, never
allowed to interrupt it; each child runs in its own process group and the
whole group is killed, so no worker or pool process outlives the run. If this
script is killed outright (SIGKILL, OOM), Linux sends each child SIGTERM
(PR_SET_PDEATHSIG) and they stop on their own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import RedisServer, die_with_parent, wait_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VPY = str(ROOT / ".venv" / "bin" / "python")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 15
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Stop(Exception):
    """A stop signal arrived (raised once, from the signal handler)."""


def port_in_use(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--host", default=os.environ.get("HOST") or "127.0.0.1",
                        help="the wallet's listening address (default 127.0.0.1; HOST overrides)")
    args = parser.parse_args()
    port, core_port, host = args.port, args.port + 1, args.host
    # Where to reach the wallet from here (the check that it is up, the printed
    # URLs): a wildcard address answers on loopback.
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host

    var_dir = Path(os.environ.get("YIBAO_VAR_DIR") or ROOT / "var").resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["YIBAO_VAR_DIR"] = str(var_dir)
    env.setdefault("DEBUG", "false")
    children: list[tuple[str, subprocess.Popen]] = []
    redis: RedisServer | None = None
    state = {"stopping": False, "defer": False, "pending": ""}

    def on_signal(signum, _frame):
        name = signal.Signals(signum).name
        if state["stopping"]:
            # Never interrupt the cleanup (a second signal used to abort it and
            # leave the servers and Redis running); just say it is under way.
            os.write(2, f"[run] {name}: already stopping, please wait\n".encode())
            return
        state["stopping"] = True
        if state["defer"]:
            state["pending"] = name
            return
        raise Stop(name)

    @contextlib.contextmanager
    def not_interrupted():
        """Start-and-record a child as one step: a child we do not know about
        is a child we would leave running. (Blocking the signals instead would
        leave them blocked in the children, which inherit the mask.)"""
        state["defer"] = True
        try:
            yield
        finally:
            state["defer"] = False
            if state["pending"]:
                raise Stop(state["pending"])

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)

    def spawn(name: str, cmd: list[str], extra_env: dict | None = None) -> subprocess.Popen:
        with not_interrupted():
            proc = subprocess.Popen(cmd, env={**env, **(extra_env or {})}, cwd=ROOT, start_new_session=True,
                                    preexec_fn=die_with_parent())
            children.append((name, proc))
        return proc

    try:
        own_redis = not env.get("REDIS_URL")
        own_core = not env.get("SETTLEMENT_CORE_URL")
        redis_port = int(env.get("REDIS_PORT") or port + 2)
        wanted = [(port, "wallet (PORT)")]
        if own_core:
            wanted.append((core_port, "settlement core (PORT+1)"))
        if own_redis:
            wanted.append((redis_port, "Redis (PORT+2, or REDIS_PORT)"))
        if len({p for p, _ in wanted}) != len(wanted):
            print(f"[run] ports overlap: {wanted}; choose another REDIS_PORT", flush=True)
            return 1
        busy = [(p, what) for p, what in wanted if port_in_use(p)]
        if busy:
            for p, what in busy:
                print(f"[run] port {p} for the {what} is already in use (another `make run`, or a "
                      f"leftover or foreign server). Refusing to start next to it: stop it, or use "
                      f"another PORT / REDIS_PORT.", flush=True)
            return 1

        if own_redis:
            redis = RedisServer(port=redis_port, data_dir=str(var_dir / f"redis-{redis_port}"), persistent=True)
            with not_interrupted():
                redis.start()
            env["REDIS_URL"] = redis.url
            print(f"[run] redis on {redis.url}", flush=True)
        if own_core:
            env["SETTLEMENT_CORE_URL"] = f"http://127.0.0.1:{core_port}/core"

        def manage(*cmd: str, check: bool = True) -> None:
            # Its own process group as well, so that a Ctrl-C reaches only us
            # and the cleanup below decides what to stop.
            proc = spawn("manage " + cmd[0], [VPY, "manage.py", *cmd])
            code = proc.wait()
            children.remove(("manage " + cmd[0], proc))
            if check and code:
                raise subprocess.CalledProcessError(code, ["manage.py", *cmd])

        manage("migrate", "--noinput", "-v", "0")
        manage("migrate", "--database", "core", "--noinput", "-v", "0")
        manage("core_seed_demo")
        manage("seed_demo")

        if own_core:
            core = spawn("core", [VPY, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                                  "--port", str(core_port), "--log-level", "warning"], {"YIBAO_SERVICE": "core"})
            wait_port(core_port, proc=core)
        web = spawn("web", [VPY, "-m", "uvicorn", "config.asgi:application", "--host", host,
                            "--port", str(port), "--log-level", "info", "--timeout-graceful-shutdown", "5"])
        spawn("worker", [VPY, "-m", "celery", "-A", "config", "worker", "-Q", "money,housekeeping",
                         "--concurrency", "2", "--loglevel", "INFO"])
        spawn("beat", [VPY, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                       "--schedule", str(var_dir / f"celerybeat-schedule-{port}")])
        wait_port(port, proc=web, host=local)
        manage("demo_logins", "--base-url", f"http://{local}:{port}", check=False)
        manage("staff_demo_users", check=False)  # support console (issue #15): demo staff with their TOTP seeds
        print(f"\n[run] Yibao Wallet is up. Ctrl-C stops everything.\n"
              f"  app (H5):        http://{local}:{port}/app/\n"
              f"  support console: http://{local}:{port}/app/#/pages-staff/console/login/index"
              f"  (demo staff and TOTP seeds above)\n"
              f"  API docs:        http://{local}:{port}/api/docs/\n"
              f"  terminal gateway POST http://{local}:{port}/fsi/api/rsfComIfsService/callService\n"
              f"  settlement core  POST {env['SETTLEMENT_CORE_URL']}/fsi/api/rsfComIfsService/callService\n"
              f"  Redis            {env['REDIS_URL']}  (REDIS_URL for manage.py next to this run)\n"
              f"  readiness:       http://{local}:{port}/readyz\n"
              f"  listening on     {host}:{port}"
              + ("  (this machine only; HOST=0.0.0.0 opens it to the network)\n" if host in LOOPBACK
                 else "  (reachable from other machines: demo secrets and demo logins!)\n"), flush=True)
        while True:
            for name, proc in children:
                if proc.poll() is not None:
                    print(f"[run] {name} exited with {proc.returncode}; stopping everything", flush=True)
                    return 1
            time.sleep(1)
    except Stop as stop:
        print(f"\n[run] {stop} received, stopping…", flush=True)
        return 0
    except KeyboardInterrupt:  # a SIGINT before our handler was installed
        print("\n[run] stopping…", flush=True)
        return 0
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        print(f"[run] setup step failed: {exc}", flush=True)
        return 1
    finally:
        # From here on a signal is only noted; nothing may interrupt the cleanup.
        state["stopping"], state["defer"] = True, False
        _stop_children(children)
        if redis:
            redis.stop()
        print("[run] stopped", flush=True)


def _stop_children(children: list[tuple[str, subprocess.Popen]]) -> None:
    """SIGTERM every child's process group, wait up to GRACE_SECONDS, then
    SIGKILL whatever is left of each group (pool processes included)."""
    for _name, proc in reversed(children):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for _name, proc in reversed(children):
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for _name, proc in reversed(children):
        # The leader may be gone while its group is not (a Celery pool child).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)


if __name__ == "__main__":
    sys.exit(main())
