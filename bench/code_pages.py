"""Benchmark: how many code pages (WebSocket /ws/code/) one wallet ASGI process
holds while rotating codes, and the lag from a step boundary to the pushed code
arriving — beside a bare ``websockets`` server (bench/ref_ws_server.py) pushing
the same messages, in the same run.

    .venv/bin/python bench/code_pages.py --connections 1000 10000 --steps 2 --step-seconds 30

On its own it starts a throwaway Redis and PostgreSQL (scripts/services.py),
migrates, starts the settlement core and activates one demo person through the
real API; then, for each connection count, it starts ONE wallet uvicorn process
(then the reference server), opens the connections from client processes
(asyncio + ``websockets``), waits ``--steps`` step boundaries and records, for
every connection, arrival time − step × step_seconds of each pushed code. It
prints a table per connection count and writes docs/performance.md (``--doc -``
to skip). Everything listens on and talks to 127.0.0.1 only; every process it
starts is stopped at the end, also on Ctrl-C or error. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import json
import math
import multiprocessing as mp
import multiprocessing.connection
import os
import resource
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]  # the project, and scripts/harness.py

from _common import (bench_args, bench_command, pyspy_binary, pyspy_summary,  # noqa: E402  (bench/_common.py)
                     write_results)
from harness import (PYTHON, Process, ServiceStack, free_port, log,
                     machine_facts, run_main)  # noqa: E402  (scripts/harness.py)

SERVER_CPU = 0  # with pinning: the server on CPU 0, the load generators on CPU 1
CLIENT_CPU = 1
ORIGIN = "http://127.0.0.1"
DOC_BEGIN = "<!-- bench/code_pages.py: begin (generated, replaced on every full run) -->"
DOC_END = "<!-- bench/code_pages.py: end -->"


def raise_nofile() -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def pin(pid: int, cpus: set[int] | None) -> None:
    if cpus:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, cpus)


class Stack(ServiceStack):
    """Redis, a database, the settlement core (scripts/harness.py), and one
    activated person whose bearer token every connection uses."""

    def __init__(self, args, exit: contextlib.ExitStack):
        super().__init__(exit, db=args.db, CODE_STEP_SECONDS=str(args.step_seconds))
        self.args = args
        self.token = ""
        self.tokens: list[str] = []

    def start(self) -> "Stack":
        super().start()
        self.start_core()
        self.token = self._activate()
        self.tokens = self._sessions(max(self.args.connections)) if self.args.sessions == "distinct" else []
        return self

    def _sessions(self, n: int) -> list[str]:
        """``n`` more login sessions of the activated login (as if the person
        had logged in ``n`` times), one bearer token per connection."""
        from harness import run_manage

        snippet = ("from accounts.models import LoginSession\n"
                   "from accounts.services.sessions import _session_create\n"
                   "login = LoginSession.objects.order_by('-id').first().login\n"
                   f"print('\\n'.join('TOKEN ' + _session_create(login)[1] for _ in range({n})))")
        out = run_manage(self.env, "shell", "-c", snippet).splitlines()
        tokens = [line[6:] for line in out if line.startswith("TOKEN ")]
        assert len(tokens) == n, len(tokens)
        log(f"created {n:,} login sessions of the activated login (one token per connection)")
        return tokens

    def _activate(self) -> str:
        """login → real name → liveness simulator → PIN, on a throwaway wallet process."""
        from common import demodata
        from tests.support.app import AppClient
        from tests.support.http import LiveClient

        wallet = self.start_wallet("wallet-setup")
        try:
            app = AppClient(LiveClient(f"http://127.0.0.1:{wallet.port}")).login()
            app.activate(demodata.DEMO_PERSONAS["employee"])
            code = app.get("/api/voucher/code")
            assert code.status_code == 200, code.content
            log("activated the demo employee")
            return app.token
        finally:
            wallet.stop()

    def start_wallet(self, name: str) -> Process:
        return super().start_wallet(name, extra=("--ws", self.args.ws, "--backlog", "2048"))

    def start_reference(self, name: str) -> Process:
        port = free_port()
        cmd = [PYTHON, str(ROOT / "bench" / "ref_ws_server.py"), "--port", str(port), "--step-seconds",
               str(self.args.step_seconds)]
        return self.spawn(name, cmd, port=port)

    # Server-side work per connect, as seen from the outside.
    def db_transactions(self) -> int | None:
        if not self.pg:
            return None
        import psycopg

        with psycopg.connect(self.wallet_db, autocommit=True) as conn:
            row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                               "WHERE datname = current_database()").fetchone()
        return int(row[0])

    def redis_commands(self) -> int:
        import redis

        client = redis.Redis.from_url(self.redis.url)
        try:
            return int(client.info("stats")["total_commands_processed"])
        finally:
            client.close()


# --------------------------------------------------------------------------- load generator (client processes)


def client_worker(pipe, cfg: dict) -> None:
    """One client process: opens its share of connections, records push arrivals."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    raise_nofile()
    pin(0, cfg["cpus"])
    try:
        import uvloop

        uvloop.run(_client_main(pipe, cfg))
    except ImportError:
        asyncio.run(_client_main(pipe, cfg))


class _Page:
    __slots__ = ("token", "ws", "first", "arrivals", "raw", "valid_until", "closed", "close_info", "task")

    def __init__(self, token: str):
        self.token = token
        self.ws = None
        self.first = asyncio.Event()
        self.arrivals: dict[int, float] = {}  # step -> when the page shows that step's code
        self.raw: dict[int, float] = {}  # step -> when its code arrived (before the boundary: delivered early)
        self.valid_until: dict[int, float] = {}  # step -> when that code stops decoding
        self.closed = False
        self.close_info = ""
        self.task = None


async def _client_main(pipe, cfg: dict) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    hard_deadline = time.monotonic() + cfg["hard_timeout"]
    pages = [_Page(cfg["tokens"][i] if cfg["tokens"] else cfg["token"]) for i in range(cfg["count"])]
    failures: collections.Counter = collections.Counter()
    loop = asyncio.get_running_loop()

    async def read(page: _Page) -> None:
        try:
            async for raw in page.ws:
                now = time.time()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "code":
                    step = message["step"]
                    # A page switches to a code at its valid_from (sent early) or on arrival.
                    valid_from = message.get("valid_from", step * message["step_seconds"])
                    page.valid_until.setdefault(step, message["valid_until"])
                    if page.first.is_set():
                        page.raw.setdefault(step, now)
                        page.arrivals.setdefault(step, max(now, valid_from))
                    else:
                        page.first.set()
                elif kind == "error":
                    page.close_info = f"error {message.get('code')}"
        except ConnectionClosed as closed:
            rcvd = closed.rcvd
            page.close_info = page.close_info or (f"closed {rcvd.code}" if rcvd else "closed (no close frame)")
        except Exception as exc:  # noqa: BLE001 - a result to report
            page.close_info = f"{type(exc).__name__}: {exc}"[:120]
        finally:
            page.closed = True

    async def open_page(page: _Page) -> str | None:
        try:
            page.ws = await connect(cfg["url"], subprotocols=["bearer", page.token], origin=ORIGIN,
                                    compression="deflate" if cfg["deflate"] else None,
                                    open_timeout=cfg["open_timeout"], ping_interval=None, close_timeout=2)
        except Exception as exc:  # noqa: BLE001
            return f"connect: {type(exc).__name__}: {str(exc)[:80]}"
        page.task = asyncio.create_task(read(page))
        try:
            await asyncio.wait_for(page.first.wait(), cfg["first_timeout"])
        except (TimeoutError, asyncio.TimeoutError):
            return f"no code within {cfg['first_timeout']}s ({page.close_info or 'open'})"
        return None

    # Ramp: batches of concurrent opens; stop opening at the ramp deadline.
    ramp_start = time.time()
    ramp_deadline = time.monotonic() + cfg["ramp_timeout"]
    attempted = 0
    for start in range(0, len(pages), cfg["batch"]):
        if time.monotonic() > ramp_deadline:
            failures["not attempted: ramp deadline"] += len(pages) - start
            break
        batch = pages[start:start + cfg["batch"]]
        attempted += len(batch)
        for reason in await asyncio.gather(*(open_page(p) for p in batch)):
            if reason:
                failures[reason] += 1
    ramp_end = time.time()
    ok = [p for p in pages if p.first.is_set() and not p.closed]
    dropped = collections.Counter(p.close_info or "closed" for p in pages if p.first.is_set() and p.closed)
    pipe.send(("ramped", {"attempted": attempted, "established": len(ok), "failures": dict(failures),
                          "dropped": dict(dropped), "start": ramp_start, "end": ramp_end}))

    async def wait_message(timeout: float):
        ready = await loop.run_in_executor(None, pipe.poll, max(0.0, timeout))
        return pipe.recv() if ready else None

    command = await wait_message(hard_deadline - time.monotonic())
    if command and command[0] == "measure":
        _, steps, step_seconds, grace = command
        last_boundary = steps[-1] * step_seconds
        await asyncio.sleep(max(0.0, steps[0] * step_seconds - time.time() - 0.5))
        cpu0, t0 = time.process_time(), time.time()
        await asyncio.sleep(max(0.0, last_boundary - time.time()))
        end = min(last_boundary + grace, time.time() + max(0.0, hard_deadline - time.monotonic()))
        while time.time() < end:
            if all(p.closed or steps[-1] in p.arrivals for p in ok):
                break
            await asyncio.sleep(0.1)
        cpu1, t1 = time.process_time(), time.time()
        lags = [[p.arrivals[s] - s * step_seconds for p in ok if s in p.arrivals] for s in steps]
        raw = [[p.raw[s] - s * step_seconds for p in ok if s in p.raw] for s in steps]

        def expired(p) -> bool:  # the page kept showing a code past its valid_until
            return any(s - 1 in p.valid_until and p.arrivals.get(s, math.inf) > p.valid_until[s - 1] for s in steps)

        closes = collections.Counter(p.close_info or "closed" for p in ok if p.closed)
        pipe.send(("done", {"lags": lags, "raw": raw, "expired": sum(expired(p) for p in ok if not p.closed),
                            "expected": len(ok) * len(steps), "held": sum(not p.closed for p in ok),
                            "closes": dict(closes), "client_cpu": (cpu1 - cpu0) / max(1e-9, t1 - t0)}))
        command = await wait_message(max(0.0, hard_deadline - time.monotonic()))
    # "close" (or the main process went away): close politely, within bounds.
    open_pages = [p for p in pages if p.ws is not None]
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.gather(*(p.ws.close() for p in open_pages), return_exceptions=True), 15)
    for p in open_pages:
        if p.task:
            p.task.cancel()


# --------------------------------------------------------------------------- one (server, N) run


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


class CpuSampler:
    def __init__(self, pid: int):
        import psutil

        self.proc = psutil.Process(pid)
        self.samples: list[tuple[float, float]] = []

    def cpu(self) -> float:
        times = self.proc.cpu_times()
        return times.user + times.system

    def sample(self) -> None:
        with contextlib.suppress(Exception):
            self.samples.append((time.time(), self.cpu()))

    def between(self, a: float, b: float) -> float | None:
        inside = [s for s in self.samples if a <= s[0] <= b]
        if len(inside) < 2:
            return None
        return inside[-1][1] - inside[0][1]

    def rss(self) -> int:
        return self.proc.memory_info().rss


# Frames worth naming in a profile summary (the rest is thread/loop plumbing).
_PROFILE_PLACES = ("wallet/", "accounts/", "common/", "django/db/models", "psycopg/", "psycopg_pool/",
                   "channels_redis/", "channels/generic", "channels/consumer", "uvicorn/protocols/", "websockets/",
                   "redis/", "bench/ref_ws_server", "pyotp/", "json/")


def _frame(raw: str) -> str | None:
    """"func (/path/site-packages/pkg/mod.py:12)" -> "func (pkg/mod.py)" for the places above, else None."""
    name, _, where = raw.partition(" (")
    path = where.rsplit(":", 1)[0].split("site-packages/")[-1].replace(str(ROOT) + "/", "")
    return f"{name} ({path})" if any(p in path for p in _PROFILE_PLACES) else None


class Profiler:
    """py-spy on the server for one phase (``--profile``): the functions with
    the most samples (inclusive), summed over every thread."""

    def __init__(self, stack: Stack, pid: int, path: Path):
        self.path, self.proc, self.buckets = path, None, []
        exe = pyspy_binary("")
        if exe:
            import subprocess

            self.proc = subprocess.Popen([exe, "record", "--pid", str(pid), "--rate", "200", "--format", "raw",
                                          "--nonblocking", "-o", str(path)], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)

    def stop(self, top: int = 12) -> list[tuple[str, float]]:
        if self.proc is None:
            return []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        with contextlib.suppress(Exception):
            self.proc.wait(30)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        inclusive: collections.Counter = collections.Counter()
        total = 0
        with contextlib.suppress(OSError):
            for line in self.path.read_text(errors="replace").splitlines():
                stack_text, _, count = line.rpartition(" ")
                if not (count.isascii() and count.isdigit()):  # a sample count: ASCII digits
                    continue
                frames = [_frame(f) for f in stack_text.split(";")[1:]]
                total += int(count)
                for frame in set(frames):
                    if frame:
                        inclusive[frame] += int(count)
        # The shared harness's library buckets (bench/_common.py) over the same samples.
        self.buckets = pyspy_summary(self.path, "")["buckets"]
        return [(frame, count / total) for frame, count in inclusive.most_common(top)] if total else []


def run_one(stack: Stack, kind: str, n: int, args) -> dict:
    name = f"{kind}-{n}"
    server = stack.start_wallet(name) if kind == "wallet" else stack.start_reference(name)
    pin(server.pid, {SERVER_CPU} if args.pin else None)
    url = f"ws://127.0.0.1:{server.port}/ws/code/"
    sampler = CpuSampler(server.pid)
    result: dict = {"server": kind, "n": n, "log": str(server.log_path)}
    step = args.step_seconds
    shares = [n // math.ceil(n / args.per_process)] * math.ceil(n / args.per_process)
    for i in range(n - sum(shares)):
        shares[i] += 1
    ramp_timeout = args.ramp_timeout or (60 + n / 50)
    hard_timeout = ramp_timeout + (args.steps + 3) * step + 180
    ctx = mp.get_context("spawn")
    workers, pipes = [], []
    started = time.monotonic()
    try:
        time.sleep(1.0)
        rss0, cpu0 = sampler.rss(), sampler.cpu()
        db0 = stack.db_transactions() if kind == "wallet" else None
        redis0 = stack.redis_commands() if kind == "wallet" else None
        offset = 0
        for i, share in enumerate(shares):
            parent, child = ctx.Pipe()
            tokens = stack.tokens[offset:offset + share]
            offset += share
            cfg = {"url": url, "token": stack.token, "tokens": tokens, "count": share, "batch": args.batch, "deflate": args.deflate,
                   "open_timeout": 30, "first_timeout": 30, "ramp_timeout": ramp_timeout,
                   "hard_timeout": hard_timeout, "cpus": {CLIENT_CPU} if args.pin else None}
            worker = ctx.Process(target=client_worker, args=(child, cfg), name=f"client-{i}", daemon=True)
            worker.start()
            workers.append(worker)
            pipes.append(parent)
        profiler = Profiler(stack, server.pid, server.log_path.with_suffix(".ramp.pyspy")) if args.profile else None
        log(f"{name}: {len(workers)} client process(es) x {shares[0]} connections, ramping ...")

        def collect(tag: str, timeout: float) -> list[dict]:
            got: dict[int, dict] = {}
            deadline = time.monotonic() + timeout
            while len(got) < len(pipes) and time.monotonic() < deadline:
                sampler.sample()
                for conn in multiprocessing.connection.wait(pipes, timeout=0.1):
                    i = pipes.index(conn)
                    try:
                        msg_tag, payload = conn.recv()
                    except EOFError:
                        raise RuntimeError(f"client process {i} died (exit {workers[i].exitcode})")
                    if msg_tag == tag:
                        got[i] = payload
                if server.proc.poll() is not None:
                    raise RuntimeError(f"{name} server exited with {server.proc.returncode}:\n{server.log_tail()}")
            if len(got) < len(pipes):
                raise RuntimeError(f"{name}: timed out waiting for '{tag}' from client processes")
            return [got[i] for i in range(len(pipes))]

        ramped = collect("ramped", ramp_timeout + 90)
        if profiler:
            result["profile_ramp"] = profiler.stop()
            result["profile_ramp_buckets"] = profiler.buckets
        ramp_start, ramp_end = min(r["start"] for r in ramped), max(r["end"] for r in ramped)
        rss1, cpu1 = sampler.rss(), sampler.cpu()
        failures: collections.Counter = collections.Counter()
        dropped: collections.Counter = collections.Counter()
        for r in ramped:
            failures.update(r["failures"])
            dropped.update(r["dropped"])
        result.update(ramp_dropped=dict(dropped), attempted=sum(r["attempted"] for r in ramped), established=sum(r["established"] for r in ramped),
                      ramp_seconds=ramp_end - ramp_start, ramp_failures=dict(failures),
                      rss_base=rss0, rss_ramped=rss1, ramp_cpu=(cpu1 - cpu0) / max(1e-9, ramp_end - ramp_start))
        log(f"{name}: {result['established']}/{n} established in {result['ramp_seconds']:.1f}s"
            + (f"; failures {dict(failures)}" if failures else "")
            + (f"; dropped after their first code {dict(dropped)}" if dropped else ""))

        now = time.time()
        first = int(now // step) + 1
        if first * step - now < 1.5:
            first += 1
        steps = list(range(first, first + args.steps))
        grace = max(2.0, step - 1.0)
        import psutil

        machine0, server_cpu0, t_machine0 = psutil.cpu_times(), sampler.cpu(), time.time()
        profiler = Profiler(stack, server.pid, server.log_path.with_suffix(".steps.pyspy")) if args.profile else None
        for conn in pipes:
            conn.send(("measure", steps, step, grace))
        log(f"{name}: measuring step boundaries {steps[0]}..{steps[-1]} "
            f"(first in {first * step - time.time():.1f}s)")
        done = collect("done", (steps[-1] * step - time.time()) + grace + 60)
        if profiler:
            result["profile_steps"] = profiler.stop()
            result["profile_steps_buckets"] = profiler.buckets
        sampler.sample()
        machine1, server_cpu1, t_machine1 = psutil.cpu_times(), sampler.cpu(), time.time()
        elapsed = max(1e-9, t_machine1 - t_machine0)
        busy = sum(getattr(machine1, f) - getattr(machine0, f) for f in machine1._fields if f not in ("idle", "iowait", "guest", "guest_nice"))
        clients = sum(d["client_cpu"] for d in done)
        result["other_cpu"] = max(0.0, busy / elapsed - (server_cpu1 - server_cpu0) / elapsed - clients)
        result["per_step"] = [(percentile([lag for d in done for lag in d["lags"][i]], 50),
                               percentile([lag for d in done for lag in d["lags"][i]], 99)) for i in range(len(steps))]
        result["rss_end"] = sampler.rss()
        result["db_transactions"] = (stack.db_transactions() - db0) if db0 is not None else None
        result["redis_commands"] = (stack.redis_commands() - redis0) if redis0 is not None else None
        lags = [lag for d in done for per_step in d["lags"] for lag in per_step]
        raw = [lag for d in done for per_step in d["raw"] for lag in per_step]
        result.update(expired_pages=sum(d["expired"] for d in done),
                      early_share=(sum(r < 0 for r in raw) / len(raw)) if raw else None,
                      arrival_median=percentile(raw, 50), arrival_p99=percentile(raw, 99))
        closes: collections.Counter = collections.Counter()
        for d in done:
            closes.update(d["closes"])
        idle_a, idle_b = ramp_end + 1.0, steps[0] * step - 0.2
        idle_cpu = sampler.between(idle_a, idle_b) if idle_b - idle_a >= 2 else None
        window = min(step - 1.0, 10.0)
        # From before the early delivery (the wallet sends the next code up to min(8 s, step/4) ahead).
        bursts = [sampler.between(b * step - min(8.0, step / 4) - 0.3, b * step + window) for b in steps]
        bursts = [b for b in bursts if b is not None]
        result.update(
            steps=steps, received=len(lags), expected=sum(d["expected"] for d in done),
            held=sum(d["held"] for d in done), closes=dict(closes),
            lag_median=percentile(lags, 50), lag_p99=percentile(lags, 99), lag_max=max(lags) if lags else float("nan"),
            lag_min=min(lags) if lags else float("nan"),
            idle_cpu=(idle_cpu / (idle_b - idle_a)) if idle_cpu is not None else None,
            burst_cpu_seconds=(sum(bursts) / len(bursts)) if bursts else None,
            client_cpu=[round(d["client_cpu"], 2) for d in done],
        )
        for conn in pipes:
            with contextlib.suppress(OSError):
                conn.send(("close",))
        for worker in workers:
            worker.join(30)
        log(f"{name}: pushes {result['received']}/{result['expected']}, lag median {result['lag_median'] * 1000:.0f} ms,"
            f" p99 {result['lag_p99'] * 1000:.0f} ms, max {result['lag_max'] * 1000:.0f} ms;"
            f" RSS {result['rss_end'] / 2**20:.0f} MiB; {time.monotonic() - started:.0f}s")
    except RuntimeError as exc:
        result["error"] = str(exc)
        log(f"{name}: FAILED: {exc}")
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(10)
            if worker.is_alive():
                worker.kill()
                worker.join(5)
        server.stop()
        result["server_log_tail"] = server.log_tail(10)
        result["server_errors"] = error_summary(server.log_path)
    return result


# --------------------------------------------------------------------------- report


def error_summary(path: Path) -> dict:
    """Final exception lines in a server log ("redis.exceptions.X: message"), counted."""
    import re

    counts: collections.Counter = collections.Counter()
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            match = re.match(r"^([A-Za-z_][\w.]*(?:Error|Exception))(?::\s*(.*))?$", line)
            if match:
                counts[f"{match.group(1)}: {re.sub(r':[0-9]{2,}', ':N', (match.group(2) or '').strip())}"[:120]] += 1
    return dict(counts.most_common(8))


def ms(value) -> str:
    return "—" if value is None or value != value else f"{value * 1000:.0f} ms"


def ratio(a, b) -> str:
    if a is None or b is None or a != a or b != b or b == 0:
        return "—"
    return f"{a / b:.2f}×"


def table(wallet: dict, ref: dict) -> list[str]:
    def held(r):
        return r.get("held", 0) if "error" not in r else r.get("established", 0)

    def per_step(r):
        return ", ".join(f"{a * 1000:.0f} / {b * 1000:.0f} ms" for a, b in r.get("per_step") or []) or "—"

    def connected(r):
        return r.get("established", 0) + sum((r.get("ramp_dropped") or {}).values())

    def row(label, w, r, rt=""):
        return f"| {label} | {w} | {r} | {rt} |"

    def pct(v):
        return "—" if v is None else f"{v * 100:.0f} %"

    def mib(v):
        return "—" if not v else f"{v / 2**20:.0f} MiB"

    def per_conn(r):
        if not r.get("rss_ramped") or not r.get("established"):
            return "—"
        return f"{(r['rss_ramped'] - r['rss_base']) / r['established'] / 1024:.1f} KiB"

    def per_push(r):
        if r.get("burst_cpu_seconds") is None or not r.get("established"):
            return None
        return r["burst_cpu_seconds"] / r["established"]

    def us(v):
        return "—" if v is None else f"{v * 1e6:.0f} µs"

    n = wallet["n"]
    lines = [f"| {n:,} connections | wallet (uvicorn, /ws/code/ app) | bare websockets | ratio wallet / reference |",
             "|---|---|---|---|",
             row("connected (first code received) / attempted", f"{connected(wallet):,} / {n:,}",
                 f"{connected(ref):,} / {n:,}", ratio(connected(wallet), connected(ref))),
             row("held to the end / attempted", f"{held(wallet):,} / {n:,}", f"{held(ref):,} / {n:,}",
                 ratio(held(wallet), held(ref))),
             row("pushes received / expected", f"{wallet.get('received', 0):,} / {wallet.get('expected', 0):,}",
                 f"{ref.get('received', 0):,} / {ref.get('expected', 0):,}"),
             row("lag median", ms(wallet.get("lag_median")), ms(ref.get("lag_median")),
                 ratio(wallet.get("lag_median"), ref.get("lag_median"))),
             row("lag p99", ms(wallet.get("lag_p99")), ms(ref.get("lag_p99")),
                 ratio(wallet.get("lag_p99"), ref.get("lag_p99"))),
             row("lag max", ms(wallet.get("lag_max")), ms(ref.get("lag_max")),
                 ratio(wallet.get("lag_max"), ref.get("lag_max"))),
             row("lag median / p99 at each boundary", per_step(wallet), per_step(ref)),
             row("pushes that arrived before their boundary (early)", pct(wallet.get("early_share")),
                 pct(ref.get("early_share"))),
             row("arrival − boundary: median / p99 (negative: early)",
                 f"{ms(wallet.get('arrival_median'))} / {ms(wallet.get('arrival_p99'))}",
                 f"{ms(ref.get('arrival_median'))} / {ms(ref.get('arrival_p99'))}"),
             row("pages that showed a code past its valid_until", f"{wallet.get('expired_pages', '—')}",
                 f"{ref.get('expired_pages', '—')}"),
             row("server CPU per boundary, from the early delivery to 10 s after (≈ per push)",
                 f"{wallet['burst_cpu_seconds']:.2f} s ({us(per_push(wallet))})" if wallet.get("burst_cpu_seconds") is not None else "—",
                 f"{ref['burst_cpu_seconds']:.2f} s ({us(per_push(ref))})" if ref.get("burst_cpu_seconds") is not None else "—",
                 ratio(per_push(wallet), per_push(ref))),
             row("server CPU while idle between boundaries", pct(wallet.get("idle_cpu")), pct(ref.get("idle_cpu"))),
             row("ramp: time to open all (server CPU)",
                 f"{wallet.get('ramp_seconds', 0):.1f} s ({pct(wallet.get('ramp_cpu'))})",
                 f"{ref.get('ramp_seconds', 0):.1f} s ({pct(ref.get('ramp_cpu'))})",
                 ratio(wallet.get("ramp_seconds"), ref.get("ramp_seconds"))),
             row("server RSS: before → connections open → end",
                 f"{mib(wallet.get('rss_base'))} → {mib(wallet.get('rss_ramped'))} → {mib(wallet.get('rss_end'))}",
                 f"{mib(ref.get('rss_base'))} → {mib(ref.get('rss_ramped'))} → {mib(ref.get('rss_end'))}"),
             row("RSS per connection", per_conn(wallet), per_conn(ref)),
             row("CPU of everything else on the machine during the steps (cores)",
                 f"{wallet['other_cpu']:.2f}" if wallet.get("other_cpu") is not None else "—",
                 f"{ref['other_cpu']:.2f}" if ref.get("other_cpu") is not None else "—"),
             row("client processes' CPU during the steps", ", ".join(f"{c * 100:.0f} %" for c in wallet.get("client_cpu", [])),
                 ", ".join(f"{c * 100:.0f} %" for c in ref.get("client_cpu", [])))]
    if wallet.get("db_transactions") is not None or wallet.get("redis_commands") is not None:
        est = max(1, wallet.get("established") or 1)
        lines.append(row("wallet per connect: DB transactions / Redis commands",
                         f"{(wallet.get('db_transactions') or 0) / est:.1f} / {(wallet.get('redis_commands') or 0) / est:.1f}",
                         "none", ""))
    return lines


def notes_for(r: dict) -> list[str]:
    out = []
    if r.get("ramp_failures"):
        out.append(f"- {r['server']} at {r['n']:,}: connect failures {r['ramp_failures']}")
    if r.get("ramp_dropped"):
        out.append(f"- {r['server']} at {r['n']:,}: dropped by the server after their first code, while the others "
                   f"were still connecting: {r['ramp_dropped']}")
    if r.get("closes"):
        out.append(f"- {r['server']} at {r['n']:,}: connections lost during the steps {r['closes']}")
    if r.get("server_errors"):
        out.append(f"- {r['server']} at {r['n']:,}: exceptions in the server log (whole run, including the clients'"
                   f" disconnect at the end): " + "; ".join(f"{k} ×{v}" for k, v in r["server_errors"].items()))
    if r.get("error"):
        out.append(f"- {r['server']} at {r['n']:,}: run failed: {r['error'].splitlines()[0]}")
    for phase in ("ramp", "steps"):
        if r.get(f"profile_{phase}"):
            out.append(f"- {r['server']} at {r['n']:,}: py-spy, {phase}, share of samples (inclusive, all threads): "
                       + "; ".join(f"`{f}` {share * 100:.0f} %" for f, share in r[f"profile_{phase}"][:10])
                       + ("; by library: " + ", ".join(f"{name} {share * 100:.0f} %"
                                                       for name, share in r[f"profile_{phase}_buckets"])
                          if r.get(f"profile_{phase}_buckets") else ""))
    return out


def render(results: list[dict], args, command: str, info: dict, started: str) -> str:
    v = info["versions"]
    out = ["## Code pages per ASGI process (bench/code_pages.py)", "",
           f"- date: {started} (local time {time.strftime('%Z')})" + (f"; code: {args.label}" if args.label else ""),
           f"- command: `{command}`",
           f"- machine: {info['nproc']} CPUs ({info['cpu']}), {info['mem_gib']:.1f} GiB RAM, Linux {info['kernel']}, "
           f"Python {info['python']}, RLIMIT_NOFILE {info['nofile'][0]}; load average at the start "
           f"{info['loadavg'][0]:.1f} / {info['loadavg'][1]:.1f} / {info['loadavg'][2]:.1f} (1 / 5 / 15 min) — the machine"
           " is shared, see \"CPU of everything else\" in the tables",
           f"- software: Django {v.get('django')}, Channels {v.get('channels')} + channels-redis {v.get('channels-redis')},"
           f" uvicorn {v.get('uvicorn')} (`--ws {args.ws}`"
           + (" → websockets-sansio" if args.ws == "auto" else "") + f", loop auto → uvloop {v.get('uvloop')}),"
           f" websockets {v.get('websockets')}",
           f"- setup: one wallet uvicorn process on {args.db} + Redis (channel layer); CODE_STEP_SECONDS={args.step_seconds};"
           f" {args.steps} step boundaries measured per run; the reference is bench/ref_ws_server.py (bare websockets"
           " on uvloop, same per-connection timer, same `codes.format.issue` work, same JSON)"
           + ("; server pinned to CPU 0, load generators to CPU 1" if args.pin else "; no CPU pinning"),
           f"- clients: asyncio + websockets {v.get('websockets')} on uvloop, up to {args.per_process:,} connections per "
           f"client process, opened in batches of {args.batch} per process, no permessage-deflate offered"
           f"{' (offered: --deflate)' if args.deflate else ''}; "
           + ("every connection has its own login session of the one activated login (its own bearer token"
              " `[\"bearer\", token]`, so its own `session.<id>` group; one voucher, so one `voucher.<id>` group)"
              " — per connection the server looks up a distinct token, joins a distinct group and checks a distinct"
              " session, as with distinct persons; only the voucher and its authorization are shared"
              if args.sessions == "distinct" else
              "every connection uses the same activated login's bearer token (`--sessions shared`: the batched"
              " connect looks the one token up once per batch, and the process joins two groups in all)"),
           "- lag = when the page shows the new code − step × step_seconds: the arrival time, or the code's valid_from"
           " when it arrived before it (the wallet sends the next code early, spread over the last"
           " min(8 s, step/4) before the boundary, and the page switches at valid_from: codes/pages.py);"
           " the reference pushes at the boundary + 5 ms as the wallet did before, so 5 ms is its floor", ""]
    by_n: dict[int, dict[str, dict]] = collections.defaultdict(dict)
    for r in results:
        by_n[r["n"]][r["server"]] = r
    notes = []
    for n in sorted(by_n):
        pair = by_n[n]
        wallet, ref = pair.get("wallet", {"n": n}), pair.get("reference", {"n": n})
        out += table(wallet, ref) + [""]
        notes += notes_for(wallet) + notes_for(ref)
    if notes:
        out += ["Failures and losses (a result, not a benchmark error) and profiles (`--profile`):", ""] + notes + [""]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--steps", type=int, default=2, help="step boundaries measured per run")
    parser.add_argument("--step-seconds", type=int, default=30)
    parser.add_argument("--servers", nargs="+", choices=["wallet", "reference"], default=["wallet", "reference"])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--ws", default="auto", help="uvicorn --ws (auto = websockets-sansio when installed)")
    parser.add_argument("--per-process", type=int, default=2500, help="connections per client process")
    parser.add_argument("--batch", type=int, default=100, help="concurrent opens per client process")
    parser.add_argument("--ramp-timeout", type=float, default=0, help="seconds (default 60 + N/50)")
    parser.add_argument("--deflate", action="store_true", help="clients offer permessage-deflate")
    parser.add_argument("--sessions", choices=["distinct", "shared"], default="distinct",
                        help="one login session (bearer token) per connection, or one for all")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin server/clients to CPUs")
    bench_args(parser)
    parser.add_argument("--label", default="", help="free text for the report, e.g. the commit measured")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during the ramp and the steps")
    args = parser.parse_args()
    if args.pin and len(os.sched_getaffinity(0)) < 2:
        args.pin = False
    if not 1 <= args.steps <= 20 or not 1 <= args.step_seconds <= 120:
        parser.error("--steps 1..20, --step-seconds 1..120")

    nofile = raise_nofile()
    if max(args.connections) + 100 > nofile[0]:
        log(f"warning: RLIMIT_NOFILE is {nofile[0]}; the server may run out of descriptors")
    command = bench_command("code_pages.py")
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    info = machine_facts(("django", "channels", "channels-redis", "uvicorn", "websockets", "uvloop"))
    results: list[dict] = []
    with contextlib.ExitStack() as exit_stack:
        stack = Stack(args, exit_stack).start()
        log(f"logs in {stack.log_dir}")
        for n in args.connections:
            for kind in args.servers:
                results.append(run_one(stack, kind, n, args))
                time.sleep(2)  # let TIME_WAIT / the previous server settle
    section = render(results, args, command, info, started)
    print()
    print(section)
    write_results(args, result=results, section=section, begin=DOC_BEGIN, end=DOC_END)
    return 0


if __name__ == "__main__":
    run_main(main)
