"""`make run`: everything on one machine, in the foreground.

Migrates both databases, seeds demo data (idempotent), starts a local Redis
(unless REDIS_URL is set), the settlement core as its own process on PORT+1
(unless SETTLEMENT_CORE_URL is set), the wallet's ASGI server on PORT, a Celery
worker and Celery beat. Ctrl-C (or SIGTERM) stops every process it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from services import RedisServer, wait_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VPY = str(ROOT / ".venv" / "bin" / "python")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()
    port, core_port = args.port, args.port + 1

    (ROOT / "var").mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DEBUG", "false")
    children: list[tuple[str, subprocess.Popen]] = []
    redis = None

    def stop_all(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_all)
    try:
        if not env.get("REDIS_URL"):
            redis_port = int(env.get("REDIS_PORT", "6389"))
            redis = RedisServer(port=redis_port, data_dir=str(ROOT / "var" / "redis"), persistent=True).start()
            env["REDIS_URL"] = redis.url
            print(f"[run] redis on {redis.url}", flush=True)
        own_core = not env.get("SETTLEMENT_CORE_URL")
        if own_core:
            env["SETTLEMENT_CORE_URL"] = f"http://127.0.0.1:{core_port}/core"

        def manage(*cmd: str) -> None:
            subprocess.run([VPY, "manage.py", *cmd], env=env, cwd=ROOT, check=True)

        manage("migrate", "--noinput", "-v", "0")
        manage("migrate", "--database", "core", "--noinput", "-v", "0")
        manage("core_seed_demo")
        manage("seed_demo")

        def spawn(name: str, cmd: list[str], extra_env: dict | None = None) -> subprocess.Popen:
            proc = subprocess.Popen(cmd, env={**env, **(extra_env or {})}, cwd=ROOT, start_new_session=True)
            children.append((name, proc))
            return proc

        if own_core:
            core = spawn("core", [VPY, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                                  "--port", str(core_port), "--log-level", "warning"], {"YIBAO_SERVICE": "core"})
            wait_port(core_port, proc=core)
        web = spawn("web", [VPY, "-m", "uvicorn", "config.asgi:application", "--host", "0.0.0.0",
                            "--port", str(port), "--log-level", "info", "--timeout-graceful-shutdown", "5"])
        spawn("worker", [VPY, "-m", "celery", "-A", "config", "worker", "-Q", "money,housekeeping",
                         "--concurrency", "2", "--loglevel", "INFO"])
        spawn("beat", [VPY, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                       "--schedule", str(ROOT / "var" / "celerybeat-schedule")])
        wait_port(port, proc=web)
        subprocess.run([VPY, "manage.py", "demo_logins", "--base-url", f"http://127.0.0.1:{port}"], env=env, cwd=ROOT)
        print(f"\n[run] Yibao Wallet is up. Ctrl-C stops everything.\n"
              f"  app (H5):        http://127.0.0.1:{port}/app/\n"
              f"  API docs:        http://127.0.0.1:{port}/api/docs/\n"
              f"  terminal gateway POST http://127.0.0.1:{port}/fsi/api/rsfComIfsService/callService\n"
              f"  settlement core  POST {env['SETTLEMENT_CORE_URL']}/fsi/api/rsfComIfsService/callService\n"
              f"  readiness:       http://127.0.0.1:{port}/readyz\n", flush=True)
        while True:
            for name, proc in children:
                if proc.poll() is not None:
                    print(f"[run] {name} exited with {proc.returncode}; stopping everything", flush=True)
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\n[run] stopping…", flush=True)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"[run] setup step failed: {exc}", flush=True)
        return 1
    finally:
        for name, proc in reversed(children):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, proc in reversed(children):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if redis:
            redis.stop()


if __name__ == "__main__":
    sys.exit(main())
