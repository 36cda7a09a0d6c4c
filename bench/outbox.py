"""Benchmark: outbox relay throughput — wallet outbox → settlement core
(infno 9201) — with and without batching, and the time to drain a large
backlog, on PostgreSQL.

    .venv/bin/python bench/outbox.py [--messages 20000] [--backlog 100000] [--persons 2000] [--workers 2]

On its own it:

1. starts a throwaway Redis and PostgreSQL cluster (scripts/services.py) with
   two databases, ``bench_wallet`` and ``bench_core`` (the core is a separate
   service with its own database; here it shares the cluster), migrates both,
   seeds the core (``core_seed_demo``) and starts it as its own uvicorn
   process; YIBAO_ENV=test, DEBUG=false, LOG_LEVEL=WARNING. The wallet needs
   no web server: the relay runs in worker processes;
2. per run, empties the outbox (wallet) and the applied events and voucher
   states (core), then bulk-inserts (COPY) a backlog of ``OutboxMessage`` rows
   straight into the wallet database — this measures the relay, not the
   writers — round-robin over ``--persons`` person keys (the demo data's real
   psn_nos first, then synthetic ones; the core applies events for any psn_no),
   kinds alternating voucher.frozen / voucher.unfrozen per person, status
   pending, next_attempt_at = now, unique uuid message_ids, ids in insertion
   order; then ANALYZE (as autovacuum would after such growth);
3. relays it with ``--workers`` plain processes, each calling
   ``settlement.services.outbox.outbox_relay(budget_seconds=20,
   batch_size=B)`` in a loop in one interpreter (what ``manage.py
   outbox_relay --budget 20 --batch-size B`` does once) until nothing is
   unsent or the run's time limit, and times claim / core call / bookkeeping
   inside them; and once with real Celery workers
   (``celery -A config worker -Q money --concurrency N``) driving the
   ``settlement.outbox_relay`` task chain;
4. runs: batch 1 (no batching) and ``--batch-sizes`` on ``--messages`` with
   ``--persons`` persons, the same with ``--few-persons`` (a batch is then
   filled with runs of each person's consecutive messages), Celery, and the
   drain of a ``--backlog`` backlog with the default batch size
   (OUTBOX_BATCH_SIZE); with ``--profile yes`` py-spy samples the core
   during the drain's first minute;
   each bounded in time (``--run-seconds``, ``--drain-seconds``); a run
   stopped at its limit reports the measured rate and the extrapolated time;
5. after every run verifies that the core holds exactly the message_ids the
   wallet marked sent (no loss, no double application), that nothing is left
   sending or dead (and nothing pending when the run drained), and that every
   person's events were applied in outbox order;
6. prints a table and writes its section of docs/performance.md (``--doc -``
   to skip).

Its servers and processes are started and stopped by scripts/harness.py, the
harness the tests use too (bench/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import datetime as dt
import json
import os
import resource
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from _common import (ENV_LINE, PG_CLUSTER, bench_args, bench_command, machine_line, pyspy_binary,  # bench/_common.py
                     pyspy_start, pyspy_summary, report_head, write_results)
from harness import (PYTHON, Process, ServiceStack, celery_worker_cmd, log, machine_busy, machine_facts,  # noqa: E402
                     run_main, run_manage, tree_cpu)

OUTBOX_TABLE = "settlement_outboxmessage"
EVENT_TABLE = "core_platform_walletevent"
STATE_TABLE = "core_platform_voucherstate"
RELAY_BUDGET = 20.0  # seconds per outbox_relay() call, as OUTBOX_RELAY_BUDGET_SECONDS


# =========================================================================== relay worker (child)


PHASE: contextvars.ContextVar[str] = contextvars.ContextVar("phase", default="other")


def relay_worker(args) -> int:
    """One relay process: Django set up once, then outbox_relay() in a loop.
    Times, per phase, the SQL it runs and the HTTP call to the core."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction

    import settlement.services.outbox as ob
    from settlement.client import SettlementCoreClient, core_client
    from settlement.enums import OutboxStatus
    from settlement.models import OutboxMessage

    work = Path(args.relay_worker)
    batch = args.batch_size or settings.OUTBOX_BATCH_SIZE
    stats = {"index": args.index, "batch_size": batch, "rounds": 0, "claimed": 0, "sent": 0, "failed": 0,
             "empty_rounds": 0, "calls": 0, "sql": {}, "sql_n": {}, "http_s": 0.0, "claim_select_ms": [],
             "relay_calls": 0, "explain": None, "errors": []}

    def timer(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            dt_ = time.perf_counter() - t0
            phase = PHASE.get()
            verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
            key = f"{phase}:{verb}"
            stats["sql"][key] = stats["sql"].get(key, 0.0) + dt_
            stats["sql_n"][key] = stats["sql_n"].get(key, 0) + 1
            if key == "claim:SELECT" and len(stats["claim_select_ms"]) < 20000:
                stats["claim_select_ms"].append(dt_ * 1000)

    orig_claim, orig_send, orig_call = ob.outbox_claim, ob.outbox_send, SettlementCoreClient.call

    def claim(limit, now=None):
        token = PHASE.set("claim")
        try:
            got = orig_claim(limit, now)
        finally:
            PHASE.reset(token)
        stats["rounds"] += 1
        stats["claimed"] += len(got)
        if not got:
            stats["empty_rounds"] += 1
        return got

    def send(messages, *, batch_size=None):
        token = PHASE.set("send")
        try:
            return orig_send(messages, batch_size=batch_size)
        finally:
            PHASE.reset(token)

    def call(self, infno, input, **kw):
        t0 = time.perf_counter()
        try:
            return orig_call(self, infno, input, **kw)
        finally:
            stats["http_s"] += time.perf_counter() - t0
            stats["calls"] += 1

    ob.outbox_claim, ob.outbox_send, SettlementCoreClient.call = claim, send, call

    def unsent_left() -> bool:
        return OutboxMessage.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING]).exists()

    with connection.execute_wrapper(timer):
        core_client().health()  # connect to the core once before the clock starts
        unsent_left()
        if args.explain:  # the claim query's plan at the full backlog, in a rolled-back transaction
            captured = []

            def capture(execute, sql, params, many, context):
                if PHASE.get() == "claim" and sql.lstrip().upper().startswith("SELECT") and not captured:
                    captured.append((sql, params))
                return execute(sql, params, many, context)

            with contextlib.suppress(RuntimeError), connection.execute_wrapper(capture):
                with transaction.atomic():
                    token = PHASE.set("claim")
                    try:
                        orig_claim(batch)
                    finally:
                        PHASE.reset(token)
                    raise RuntimeError("rollback")
            if captured:
                sql, params = captured[0]
                with connection.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                    stats["explain"] = "\n".join(r[0] for r in cur.fetchall())
        (work / f"ready-{args.index}").write_text("1")
        go = work / "go"
        wait_until = time.monotonic() + 300
        while not go.exists() and time.monotonic() < wait_until:
            time.sleep(0.02)
        if not go.exists():
            stats["errors"].append("no go signal within 300 s")
        else:
            until = float(go.read_text()) + args.seconds
            ru0 = resource.getrusage(resource.RUSAGE_SELF)
            stop = work / "stop"
            for _ in range(10_000_000):  # bounded: each pass is ≥ one round trip or a 50 ms sleep
                if time.time() >= until or stop.exists():
                    break
                try:
                    result = ob.outbox_relay(budget_seconds=min(RELAY_BUDGET, max(0.5, until - time.time())),
                                             batch_size=batch)
                except Exception as exc:  # noqa: BLE001 - reported, not fatal to the run
                    stats["errors"].append(f"{type(exc).__name__}: {str(exc)[:200]}")
                    time.sleep(0.5)
                    continue
                stats["relay_calls"] += 1
                stats["sent"] += result["sent"]
                stats["failed"] += result["failed"]
                if result["sent"] == 0:
                    if not unsent_left():
                        break
                    time.sleep(0.05)  # others hold every due head (or backoff): look again shortly
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            stats["cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        stats["last_at"] = time.time()
    (work / f"stats-{args.index}.json").write_text(json.dumps(stats))
    return 0


# =========================================================================== orchestration (parent)


# --------------------------------------------------------------------------- the backlog


def person_keys(count: int) -> list[str]:
    from common import demodata

    real = [p.psn_no for p in demodata.generate(demodata.DEFAULT_SEED).persons]
    keys = real[:count]
    n = 0
    while len(keys) < count:
        n += 1
        keys.append(f"99{n:018d}")  # synthetic 20-digit psn_no (the demo data's are 11…/…)
    return keys, min(count, len(real))


def reset(wallet_url: str, core_url: str) -> None:
    import psycopg

    with psycopg.connect(wallet_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {OUTBOX_TABLE}")
    with psycopg.connect(core_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {EVENT_TABLE}, {STATE_TABLE}")


def fill(wallet_url: str, messages: int, keys: list[str]) -> float:
    """COPY ``messages`` pending rows, round-robin over the persons; returns seconds."""
    import psycopg

    t0 = time.perf_counter()
    now = dt.datetime.now(dt.timezone.utc)
    reasons = ["挂失", "找回"]
    kinds = ["voucher.frozen", "voucher.unfrozen"]
    with psycopg.connect(wallet_url, autocommit=True) as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY {OUTBOX_TABLE} (message_id, person_key, kind, payload, status, attempts, "
                          "next_attempt_at, last_error, created_at) FROM STDIN") as copy:
                for j in range(messages):
                    turn = (j // len(keys)) % 2
                    copy.write_row((str(uuid.uuid4()), keys[j % len(keys)], kinds[turn],
                                    json.dumps({"reason": reasons[turn]}, ensure_ascii=False), "pending", 0,
                                    now, "", now))
        conn.execute(f"ANALYZE {OUTBOX_TABLE}")
    return time.perf_counter() - t0


def status_counts(wallet_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(wallet_url, autocommit=True) as conn:
        return {s: int(n) for s, n in conn.execute(f"SELECT status, count(*) FROM {OUTBOX_TABLE} GROUP BY status")}


def verify(wallet_url: str, core_url: str, total: int) -> dict:
    """The core holds exactly the message_ids the wallet marked sent; nothing
    sending or dead; every person's events applied in outbox order."""
    import psycopg

    with psycopg.connect(wallet_url, autocommit=True) as conn:
        counts = {s: int(n) for s, n in conn.execute(f"SELECT status, count(*) FROM {OUTBOX_TABLE} GROUP BY status")}
        sent_ids = {r[0] for r in conn.execute(f"SELECT message_id FROM {OUTBOX_TABLE} WHERE status = 'sent'")}
        attempts = conn.execute(f"SELECT coalesce(sum(attempts), 0), coalesce(max(attempts), 0), "
                                f"count(*) FILTER (WHERE attempts > 1) FROM {OUTBOX_TABLE}").fetchone()
        span = conn.execute(f"SELECT min(sent_at), max(sent_at) FROM {OUTBOX_TABLE}").fetchone()
        errors = [r[0] for r in conn.execute(f"SELECT last_error FROM {OUTBOX_TABLE} WHERE last_error <> '' LIMIT 3")]
    with psycopg.connect(core_url, autocommit=True) as conn:
        core_ids = {r[0] for r in conn.execute(f"SELECT message_id FROM {EVENT_TABLE}")}
        core_rows = conn.execute(f"SELECT count(*) FROM {EVENT_TABLE}").fetchone()[0]
        out_of_order = conn.execute(
            f"SELECT count(*) FROM (SELECT sequence, lag(sequence) OVER (PARTITION BY psn_no ORDER BY id) AS prev "
            f"FROM {EVENT_TABLE}) t WHERE prev IS NOT NULL AND sequence <= prev").fetchone()[0]
    sent = counts.get("sent", 0)
    problems = []
    if sum(counts.values()) != total:
        problems.append(f"outbox holds {sum(counts.values())} rows, {total} were inserted")
    if core_rows != len(core_ids):
        problems.append(f"core: {core_rows} rows but {len(core_ids)} distinct message_ids")
    # Applied at the core but not (yet) marked sent at the wallet: legitimate in a run stopped at its limit
    # when their call timed out at the wallet (SETTLEMENT_CORE_TIMEOUT) after the core committed — they are
    # pending again with attempts ≥ 1 and their redelivery is answered "duplicate". Anything else is a failure.
    unacked = core_ids - sent_ids
    awaiting = 0
    if unacked:
        with psycopg.connect(wallet_url, autocommit=True) as conn:
            rows = conn.execute(f"SELECT status, attempts FROM {OUTBOX_TABLE} WHERE message_id = ANY(%s)",
                                [list(unacked)]).fetchall()
        awaiting = sum(1 for status, tries in rows if status == "pending" and tries >= 1)
        if len(rows) != len(unacked):
            problems.append(f"core applied {len(unacked) - len(rows)} message(s) the wallet never wrote")
        if awaiting != len(rows):
            problems.append(f"core applied {len(rows) - awaiting} message(s) the wallet has not marked sent "
                            "and is not retrying")
    if sent_ids - core_ids:
        problems.append(f"wallet marked {len(sent_ids - core_ids)} message(s) sent that the core does not hold (LOST)")
    if counts.get("dead"):
        problems.append(f"{counts['dead']} dead letter(s)")
    if counts.get("sending"):
        problems.append(f"{counts['sending']} left 'sending' (lease)")
    if out_of_order:
        problems.append(f"{out_of_order} event(s) applied out of order at the core")
    return {"counts": counts, "sent": sent, "core_events": core_rows, "problems": problems,
            "drained": sent == total and not problems, "awaiting_ack": awaiting, "attempts_sum": int(attempts[0]),
            "attempts_max": int(attempts[1]), "retried": int(attempts[2]), "out_of_order": int(out_of_order),
            "sent_first": span[0], "sent_last": span[1], "errors": errors}


def pg_xacts(admin_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute("SELECT datname, xact_commit + xact_rollback FROM pg_stat_database "
                            "WHERE datname LIKE 'bench_%'").fetchall()
    return {name: int(n) for name, n in rows}


# --------------------------------------------------------------------------- one run


def one_run(ctx: dict, *, label: str, mode: str, batch: int | None, messages: int, persons: int, workers: int,
            seconds: float, explain: bool = False, profile: bool = False) -> dict:
    """Fresh backlog, relay it for at most ``seconds``, verify."""
    wallet_url, core_url, env, log_dir = ctx["wallet_url"], ctx["core_url"], ctx["relay_env"], ctx["log_dir"]
    keys, real = person_keys(persons)
    reset(wallet_url, core_url)
    fill_s = fill(wallet_url, messages, keys)
    log(f"[{label}] backlog: {messages:,} messages over {persons:,} persons ({real} real psn_nos) "
        f"inserted in {fill_s:.1f} s; relaying ({mode}, batch {batch or 'default'}, {workers} process(es), "
        f"≤ {seconds:.0f} s) ...")
    work = Path(tempfile.mkdtemp(prefix=f"relay-{label.replace(' ', '_')}-", dir=log_dir))
    procs: list[Process] = []
    result = {"label": label, "mode": mode, "batch": batch, "messages": messages, "persons": persons,
              "workers": workers, "limit_s": seconds, "fill_s": fill_s}
    time.sleep(11)  # PostgreSQL flushes backend statistics at most every 10 s
    x0 = pg_xacts(ctx["admin_url"])
    try:
        run_env = dict(env)
        if batch:
            run_env["OUTBOX_BATCH_SIZE"] = str(batch)
        if mode == "plain":
            for i in range(workers):
                cmd = [PYTHON, str(Path(__file__).resolve()), "--relay-worker", str(work), "--index", str(i),
                       "--seconds", str(seconds)]
                if batch:
                    cmd += ["--batch-size", str(batch)]
                if explain and i == 0:
                    cmd.append("--explain")
                procs.append(Process(f"relay-{label.replace(' ', '_')}-{i}", cmd, run_env, log_dir=work).start())
            ctx["cleanup"].extend(procs)
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and not all((work / f"ready-{i}").exists() for i in range(workers)):
                if any(not p.running() for p in procs):
                    raise RuntimeError("a relay worker exited before it was ready:\n"
                                       + "\n".join(p.log_tail() for p in procs))
                time.sleep(0.1)
            if not all((work / f"ready-{i}").exists() for i in range(workers)):
                raise RuntimeError("relay workers not ready within 180 s")
        else:  # celery: the real task chain on the money queue
            cmd = celery_worker_cmd("money", workers, "bench-outbox", "--without-heartbeat")
            worker = Process("celery-worker", cmd, run_env, log_dir=work).start()
            procs.append(worker)
            ctx["cleanup"].append(worker)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and "ready." not in worker.log_tail(200):
                if not worker.running():
                    raise RuntimeError(f"celery worker exited:\n{worker.log_tail()}")
                time.sleep(0.2)
            if "ready." not in worker.log_tail(200):
                raise RuntimeError(f"celery worker not ready within 120 s:\n{worker.log_tail()}")
            time.sleep(2)  # let the pool's children finish forking

        groups = {"relay processes": [p.pid for p in procs], "core (uvicorn)": [ctx["core"].pid],
                  "PostgreSQL (all backends)": [ctx["pg"].proc.pid], "Redis": [ctx["redis"].proc.pid]}
        cpu0 = {k: {pid: v for root in pids for pid, v in tree_cpu(root).items()} for k, pids in groups.items()}
        busy0, load0 = machine_busy(), os.getloadavg()
        spy = None
        if profile and ctx.get("py_spy"):  # the core, wall-clock, for the first minute of the run
            spy = pyspy_start(ctx["py_spy"], ctx["core"].pid, work / "core-profile.txt", min(seconds, 60), False)
        t_go = time.time()
        if mode == "plain":
            (work / "go.tmp").write_text(repr(t_go))  # then renamed: a worker never reads it half-written
            os.replace(work / "go.tmp", work / "go")
        else:
            script = ("from settlement.tasks import outbox_relay_task\n"
                      f"for _ in range({workers}):\n    outbox_relay_task.apply_async(expires=120)\n")
            t_go = time.time()
            run_manage(run_env, "shell", "-c", script, timeout=60)
        timeline = [(0.0, 0)]
        hard = t_go + seconds + 45
        for _ in range(int(seconds + 60) * 2):  # bounded polling, every 0.5–1 s
            time.sleep(1.0 if messages > 30000 else 0.5)
            counts = status_counts(wallet_url)
            timeline.append((time.time() - t_go, counts.get("sent", 0)))
            unsent = counts.get("pending", 0) + counts.get("sending", 0)
            if unsent == 0:
                break
            if mode == "plain" and not any(p.running() for p in procs):
                break
            if time.time() >= t_go + seconds:
                if mode == "celery":
                    break
                if time.time() >= hard:
                    break
        if mode == "plain":
            (work / "stop").write_text("1")
            for p in procs:  # they finish their current round and exit
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.proc.wait(max(1.0, hard - time.time()))
        cpu1 = {k: {pid: v for root in pids for pid, v in tree_cpu(root).items()} for k, pids in groups.items()}
        busy1, load1 = machine_busy(), os.getloadavg()
        for p in procs:
            if mode == "celery" and p.running():  # warm shutdown: TERM to the main process only, so the
                with contextlib.suppress(ProcessLookupError):  # pool finishes its running relay (≤ 20 s budget)
                    os.kill(p.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.proc.wait(45)
            p.stop(timeout=40)
        wall = time.time() - t_go
        cpu = {k: sum(v - cpu0[k].get(pid, 0.0) for pid, v in cpu1[k].items()) for k in groups}
        cpu["other processes on the machine (not this benchmark)"] = max(0.0, busy1 - busy0 - sum(cpu.values()))
        time.sleep(11)
        x1 = pg_xacts(ctx["admin_url"])
    finally:
        for p in procs:
            p.stop(timeout=40)
        if spy is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(90)
            if spy.poll() is None:
                spy.kill()
            result["core_profile"] = pyspy_summary(work / "core-profile.txt", "call_service_api", top=12)
    check = verify(wallet_url, core_url, messages)
    stats = [json.loads(f.read_text()) for f in sorted(work.glob("stats-*.json"))]
    sent = check["sent"]
    last = check["sent_last"].timestamp() if check["sent_last"] else t_go
    elapsed = max(1e-6, last - t_go)
    if check["drained"]:
        rate = sent / elapsed if sent else 0.0
    else:  # stopped at the limit: the rate up to the last sample before the stop (rounds in flight then finish)
        t_last, s_last = timeline[-1]
        elapsed, rate = t_last, (s_last / t_last if t_last > 0 else 0.0)
    if mode == "plain" and stats:
        cpu["relay processes"] = sum(s.get("cpu_s", 0.0) for s in stats)  # they exit before the parent's snapshot
    result.update(
        check=check, elapsed=elapsed, rate=rate, drained=check["drained"], wall=wall, timeline=timeline,
        extrapolated=(messages / rate if rate and not check["drained"] else None), cpu=cpu, cpu_window=wall,
        loads=(load0[0], load1[0]), xacts={k.replace("bench_", ""): x1.get(k, 0) - x0.get(k, 0) for k in x1},
        workers_stats=stats, errors=[e for s in stats for e in s.get("errors", [])])
    if stats:
        agg_sql: dict[str, float] = {}
        agg_n: dict[str, int] = {}
        for s in stats:
            for k, v in s["sql"].items():
                agg_sql[k] = agg_sql.get(k, 0.0) + v
                agg_n[k] = agg_n.get(k, 0) + s["sql_n"][k]
        claim_ms = [x for s in stats for x in s["claim_select_ms"]]
        first = [x for s in stats for x in s["claim_select_ms"][:10]]
        result["breakdown"] = {
            "rounds": sum(s["rounds"] for s in stats), "empty_rounds": sum(s["empty_rounds"] for s in stats),
            "claimed": sum(s["claimed"] for s in stats), "calls": sum(s["calls"] for s in stats),
            "http_s": sum(s["http_s"] for s in stats), "sql": agg_sql, "sql_n": agg_n,
            "claim_select_ms_median": statistics.median(claim_ms) if claim_ms else None,
            "claim_select_ms_first": statistics.median(first) if first else None,
            "claim_select_ms_last": statistics.median([x for s in stats for x in s["claim_select_ms"][-10:]])
            if claim_ms else None,
            "sent_by_workers": sum(s["sent"] for s in stats), "failed_by_workers": sum(s["failed"] for s in stats),
        }
        result["explain"] = next((s["explain"] for s in stats if s.get("explain")), None)
    state = "drained" if check["drained"] else f"NOT drained ({sent:,}/{messages:,} sent)"
    log(f"[{label}] {state} in {elapsed:.1f} s: {rate:.1f} messages/s; core holds {check['core_events']:,} events; "
        f"load {load0[0]:.1f} → {load1[0]:.1f}" + ("; PROBLEMS: " + "; ".join(check["problems"])
                                                  if check["problems"] else "; verified"))
    return result


# --------------------------------------------------------------------------- report


def fmt_s(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def breakdown_line(r: dict) -> str:
    b = r.get("breakdown")
    if not b or not b["claimed"]:
        return ""
    per = max(1, b["claimed"])
    sql, n = b["sql"], b["sql_n"]

    def ms(key: str) -> float:
        return sql.get(key, 0.0) * 1000 / per

    http_ms = b["http_s"] * 1000 / per
    return (f"per message: claim SELECTs {ms('claim:SELECT'):.2f} ms ({n.get('claim:SELECT', 0) / max(1, b['rounds']):.1f} "
            f"per round: heads, followers, what the claim got, the run check; {b['claim_select_ms_median']:.1f} ms "
            f"median each; {b['claim_select_ms_first']:.1f} ms at the start, {b['claim_select_ms_last']:.1f} ms "
            f"at the end), claim UPDATE {ms('claim:UPDATE'):.2f} ms, core call {http_ms:.2f} ms "
            f"({b['calls']:,} calls, {b['http_s'] * 1000 / max(1, b['calls']):.0f} ms each), mark-sent UPDATE "
            f"{ms('send:UPDATE'):.2f} ms; {b['rounds']:,} rounds ({b['empty_rounds']:,} found nothing due), "
            f"{b['claimed'] / max(1, b['rounds'] - b['empty_rounds']):.1f} messages per non-empty round")


DOC_HEADING = "## Outbox relay (issue 6)"
DOC_BEGIN = "<!-- bench/outbox.py: begin (generated, replaced on every run) -->"
DOC_END = "<!-- bench/outbox.py: end -->"


def render(res: dict) -> str:
    a, m = res["args"], res["machine"]
    lines = [
        *report_head("outbox.py", m, res["command"]),
        machine_line(m, versions=("django", "celery", "uvicorn", "httpx"))
        + " (see the load column and \"other processes\" below)",
        f"- {PG_CLUSTER} with the wallet's and the core's databases; one Redis; the core as its own uvicorn "
        f"process ({a['core_workers']} worker); {ENV_LINE}",
        "- backlog: OutboxMessage rows bulk-inserted (COPY) straight into the wallet database, then ANALYZE — "
        "this measures the relay, not the writers; round-robin over the persons (the demo data's "
        f"{res['real_persons']} real psn_nos first, then synthetic ones), voucher.frozen / voucher.unfrozen "
        "alternating per person, all due at once; core events and voucher states emptied before every run",
        f"- relay: \"plain\" = N processes each calling `outbox_relay(budget_seconds={RELAY_BUDGET:.0f}, "
        "batch_size=B)` in a loop in one interpreter (what `manage.py outbox_relay --budget 20 --batch-size B` "
        "does once; started and connected before the clock starts); \"celery\" = `celery -A config worker -Q money "
        "--concurrency N`, N `settlement.outbox_relay` tasks enqueued, each re-enqueuing itself "
        "(countdown 1 s) while work remains, as in production",
        "- rate = messages marked sent ÷ (last `sent_at` − start); a run stopped at its time limit reports the rate "
        "so far and the extrapolated time for the whole backlog; verified after each run: the core holds exactly "
        "the message_ids the wallet marked sent, once each, each person's in outbox order, nothing left sending "
        "or dead",
        "",
        "| run | relay | batch | processes | persons | messages | result | time | **messages/s** | retried | "
        "load 1-min start → end | check |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["runs"]:
        c = r["check"]
        if r["drained"]:
            outcome, when = "drained", fmt_s(r["elapsed"])
        else:
            outcome = f"stopped at {r['limit_s']:.0f} s, {c['sent']:,} sent"
            when = f"{fmt_s(r['elapsed'])} (whole backlog ≈ {fmt_s(r['extrapolated'])})" if r["extrapolated"] else "—"
        check = "ok" if not c["problems"] else "**FAILED**: " + "; ".join(c["problems"])
        if c.get("awaiting_ack"):
            check += (f" ({c['awaiting_ack']:,} applied at the core whose call timed out at the wallet: pending "
                      "again, redelivery answered duplicate)")
        lines.append(f"| {r['label']} | {r['mode']} | {r['batch'] or 'default (500)'} | {r['workers']} | "
                     f"{r['persons']:,} | {r['messages']:,} | {outcome} | {when} | **{r['rate']:.1f}** | "
                     f"{c['retried']:,} | {r['loads'][0]:.1f} → {r['loads'][1]:.1f} | {check} |")
    lines += ["", "Where the relay's time goes (plain runs, measured inside the relay processes; SQL timed with "
                  "`connection.execute_wrapper`, the core call around `SettlementCoreClient.call`; summed over "
                  "processes, so with N processes the per-message figures add up to about N × 1 / rate):", ""]
    for r in res["runs"]:
        line = breakdown_line(r)
        if line:
            lines.append(f"- {r['label']}: {line}.")
    lines += ["", "CPU-seconds per 1,000 messages delivered (psutil, process trees; \"other\" = everything else "
                  "the machine did meanwhile) and PostgreSQL transactions per message:", "",
              "| run | relay processes | core | PostgreSQL | Redis | other | wallet db xacts/msg | core db xacts/msg |",
              "|---|---|---|---|---|---|---|---|"]
    for r in res["runs"]:
        k = max(1, r["check"]["sent"]) / 1000
        cpu = r["cpu"]
        lines.append(f"| {r['label']} | {cpu['relay processes'] / k:.2f} | {cpu['core (uvicorn)'] / k:.2f} | "
                     f"{cpu['PostgreSQL (all backends)'] / k:.2f} | {cpu['Redis'] / k:.2f} | "
                     f"{cpu['other processes on the machine (not this benchmark)'] / k:.1f} | "
                     f"{r['xacts'].get('wallet', 0) / max(1, r['check']['sent']):.2f} | "
                     f"{r['xacts'].get('core', 0) / max(1, r['check']['sent']):.2f} |")
    drain = next((r for r in res["runs"] if r.get("drain")), None)
    if drain and len(drain["timeline"]) > 4:
        tl = drain["timeline"]
        pts = []
        for frac in (0.1, 0.25, 0.5, 0.75, 0.9, 1.0):
            target = frac * drain["messages"]
            hit = next(((t, s) for t, s in tl if s >= target), None)
            if hit:
                pts.append(f"{frac:.0%} at {fmt_s(hit[0])}")
        if pts:
            lines += ["", f"Drain progress ({drain['label']}): " + ", ".join(pts) + "."]
        windows = []
        step = max(1, len(tl) // 6)
        for i in range(0, len(tl) - step, step):
            (t0, s0), (t1, s1) = tl[i], tl[i + step]
            if t1 > t0:
                windows.append(f"{t0:.0f}–{t1:.0f} s: {(s1 - s0) / (t1 - t0):.0f}/s")
        if windows:
            lines += ["", "Rate over the drain (the claim query scans every unsent row, so it speeds up as the "
                          "backlog shrinks): " + "; ".join(windows) + "."]
    if res.get("explain"):
        plan = res["explain"].splitlines()
        total = next((ln.strip() for ln in plan if ln.strip().startswith("Execution Time")), "")
        lines += ["", f"The claim query at the full {res['explain_backlog']:,}-message backlog "
                      f"(`EXPLAIN (ANALYZE, BUFFERS)` of the SQL `outbox_claim` runs, in a rolled-back "
                      f"transaction): {total}.", "", "```"] + plan[:40] + ["```"]
    for r in res["runs"]:
        prof = r.get("core_profile")
        if prof and prof["total"]:
            lines += ["", f"Where the core's time goes ({r['label']}; py-spy, wall clock incl. waits, "
                          f"{prof['total']:,} samples inside `call_service_api`, inclusive shares):", ""]
            lines += [f"- {share:.0%} {name}" for name, share in prof["buckets"]]
            lines += [f"- {share:.0%} `{name}`" for name, share in prof["funcs"]]
    errors = [e for r in res["runs"] for e in r.get("errors", [])]
    if errors:
        lines += ["", "Errors in relay processes: " + "; ".join(errors[:5])]
    return "\n".join(lines).rstrip()


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000, help="backlog of each throughput run")
    parser.add_argument("--backlog", type=int, default=100000, help="backlog of the drain run (0: skip)")
    parser.add_argument("--persons", type=int, default=2000, help="distinct person keys")
    parser.add_argument("--few-persons", type=int, default=50, help="the few-persons run (0: skip)")
    parser.add_argument("--workers", type=int, default=2, help="relay processes (and Celery concurrency)")
    parser.add_argument("--batch-sizes", default="1,100,500", help="throughput runs, comma-separated (1 = none)")
    parser.add_argument("--run-seconds", type=float, default=120, help="time limit of each throughput run")
    parser.add_argument("--drain-seconds", type=float, default=600, help="time limit of the drain run")
    parser.add_argument("--celery", choices=["yes", "no"], default="yes", help="also a run with Celery workers")
    parser.add_argument("--core-workers", type=int, default=1, help="uvicorn workers of the core")
    parser.add_argument("--profile", choices=["yes", "no"], default="yes",
                        help="py-spy the core during the first minute of the drain (or of the first run)")
    bench_args(parser)
    # internal: one relay process
    parser.add_argument("--relay-worker", default="", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=60, help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--explain", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--render-json", default="", help="only write the docs section again from a --json file")
    args = parser.parse_args()
    if args.relay_worker:
        return relay_worker(args)
    if args.render_json:
        saved = json.loads(Path(args.render_json).read_text())
        write_results(args, result=saved, section=render(saved), begin=DOC_BEGIN, end=DOC_END, heading=DOC_HEADING)
        return 0
    batches = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    if not (1 <= args.workers <= 16 and 1 <= args.persons <= 1_000_000 and 1 <= args.messages <= 1_000_000
            and 0 <= args.backlog <= 2_000_000 and all(1 <= b <= 500 for b in batches)
            and 5 <= args.run_seconds <= 1800 and 5 <= args.drain_seconds <= 3600 and 1 <= args.core_workers <= 8):
        parser.error("out of range: workers 1..16, batch sizes 1..500 (the core's MAX_EVENTS), "
                     "run-seconds 5..1800, drain-seconds 5..3600")
    command = bench_command("outbox.py")

    info = machine_facts()
    log(f"machine: nproc {info['nproc']}, {info['cpu']}, {info['mem_gib']:.1f} GiB, load {info['loadavg']}")
    runs: list[dict] = []
    with contextlib.ExitStack() as stack:
        services = ServiceStack(stack, log_prefix="yibao-bench-outbox-", strip_env=("YIBAO_", "DJANGO_", "OUTBOX_"))
        log_dir = services.log_dir
        log(f"logs in {log_dir}")
        services.start()
        core = services.start_core(workers=args.core_workers)
        cleanup: list[Process] = []  # relay processes and Celery workers: stopped before the services
        stack.callback(lambda: [p.stop() for p in reversed(cleanup)])
        time.sleep(2)
        log(f"core on :{core.port} ({args.core_workers} worker)")
        ctx = {"wallet_url": services.wallet_db, "core_url": services.core_db, "admin_url": services.admin_url,
               "log_dir": log_dir, "relay_env": dict(services.env), "core": core, "pg": services.pg,
               "redis": services.redis, "cleanup": cleanup}
        _, real_persons = person_keys(args.persons)
        ctx["py_spy"] = pyspy_binary("") if args.profile == "yes" else None

        plan = []
        for b in batches:
            plan.append(dict(label=f"batch {b}" + (" (no batching)" if b == 1 else ""), mode="plain", batch=b,
                             messages=args.messages, persons=args.persons))
        if args.few_persons:
            plan.append(dict(label=f"batch 100, {args.few_persons} persons", mode="plain", batch=100,
                             messages=args.messages, persons=args.few_persons))
        if args.celery == "yes":
            plan.append(dict(label="celery, batch 100", mode="celery", batch=100, messages=args.messages,
                             persons=args.persons))
        for n, spec in enumerate(plan):
            runs.append(one_run(ctx, workers=args.workers, seconds=args.run_seconds,
                                profile=(n == 0 and not args.backlog), **spec))
        explain = None
        if args.backlog:
            drain = one_run(ctx, label=f"drain {args.backlog:,}", mode="plain", batch=None, messages=args.backlog,
                            persons=args.persons, workers=args.workers, seconds=args.drain_seconds, explain=True,
                            profile=True)
            drain["drain"] = True
            runs.append(drain)
            explain = drain.get("explain")
        for p in [core, *cleanup]:
            tail = [ln for ln in p.log_tail(300).splitlines() if "ERROR" in ln or "Traceback" in ln]
            if tail:
                log(f"{p.name} log has {len(tail)} error line(s), e.g. {tail[0][:200]}")

    # --- report (every process is stopped by now) -----------------------------------------
    result = {"command": command, "machine": info, "real_persons": real_persons, "runs": runs, "explain": explain,
              "explain_backlog": args.backlog,
              "args": {"messages": args.messages, "backlog": args.backlog, "persons": args.persons,
                       "workers": args.workers, "core_workers": args.core_workers}}
    print()
    print(f"{'run':28} {'relay':7} {'batch':>6} {'persons':>8} {'messages':>9} {'sent':>9} {'time':>16} "
          f"{'msg/s':>8} {'check':>6}")
    for r in runs:
        time_s = fmt_s(r["elapsed"]) if r["drained"] else f"{fmt_s(r['elapsed'])} (stopped)"
        print(f"{r['label']:28} {r['mode']:7} {str(r['batch'] or 'dflt'):>6} {r['persons']:>8,} {r['messages']:>9,} "
              f"{r['check']['sent']:>9,} {time_s:>16} {r['rate']:>8.1f} "
              f"{'ok' if not r['check']['problems'] else 'FAILED'}")
        if r["extrapolated"]:
            print(f"{'':28} whole backlog at this rate ≈ {fmt_s(r['extrapolated'])}")
        for p in r["check"]["problems"]:
            print(f"{'':28} PROBLEM: {p}")
        line = breakdown_line(r)
        if line:
            print(f"{'':28} {line}")
        for name, share in (r.get("core_profile") or {}).get("buckets", []) + \
                (r.get("core_profile") or {}).get("funcs", []):
            print(f"{'':28} core {share:6.1%}  {name}")
    write_results(args, result=result, section=render(result), begin=DOC_BEGIN, end=DOC_END, heading=DOC_HEADING)
    return 0 if all(not r["check"]["problems"] for r in runs) else 1


if __name__ == "__main__":
    run_main(main)
