"""Benchmark: scale-out — settlements per second and CPU per settlement with
ONE and with TWO wallet ASGI processes behind HAProxy, in the same run
(issue 16, target 5).

    .venv/bin/python bench/scale_out.py [--clients 8] [--duration 20] [--rounds 1]

On its own it:

1. starts a throwaway Redis and PostgreSQL (scripts/harness.py
   ``ServiceStack``: ``bench_wallet`` and ``bench_core`` migrated, both
   seeded), the settlement core as its own uvicorn process, two wallet ASGI
   processes A and B (uvicorn, one process each: ``--workers 1``), two
   Celery workers (``-Q money,housekeeping``), and two HAProxy processes (the
   distribution's package): ``one`` balancing over A alone, ``two`` round
   robin over A and B (per request; health check GET /readyz);
2. activates one employee per client through ``two`` (login, real name,
   liveness, PIN: the activation's requests alternate between A and B),
   signs in one designated pharmacy terminal per client and decodes the
   employee's code into an ecToken — the same persons, pharmacies and bill as
   bench/settlement.py (whose client code it reuses), with the same
   top-up so no account runs dry;
3. C client threads send signed 2102 envelopes back to back for
   ``--duration`` seconds, through ``one``, then ``two``, ``two``, ``one``
   (ABBA, ``--rounds`` times, so a drift of the shared machine's load
   touches both alike); every run measures settlements/s, latency, failures,
   the requests HAProxy sent to each wallet process, and CPU seconds per
   process tree (wallet A, wallet B, core, PostgreSQL, Redis, HAProxy, both
   Celery workers, the load generator, and the rest of the machine);
4. prints a table and writes its section of docs/performance.md (``--doc -``
   to skip): throughput with one and two processes, their ratio, and CPU-ms
   per settlement per part — the figure to size a larger machine with.

On a 2-core machine two wallet processes cannot double the throughput: the
wallet, the core, PostgreSQL, Redis, HAProxy and the load generator share
the same two cores, so a second process only adds the idle share of a core
(and its own overhead). The proof here is that settlements spread evenly over
both processes with nothing lost, and what each settlement costs in CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import subprocess
import threading
import time
from collections import Counter

from _common import (ROOT, bench_args, bench_command, machine_line, report_head,  # bench/_common.py
                     write_results)
from harness import (ServiceStack, haproxy_binary, log, machine_facts, run_main,  # noqa: E402
                     run_manage)  # noqa: E402  (scripts/harness.py)


def _bench_settlement():
    """bench/settlement.py's client (terminals, bills, load loop, CPU meter),
    loaded by path: ``settlement`` is also the wallet's Django app."""
    spec = importlib.util.spec_from_file_location("bench_settlement", ROOT / "bench" / "settlement.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bs = _bench_settlement()
DOC_HEADING = "## Scale-out: two wallet processes behind HAProxy (issue 16, target 5)"
DOC_BEGIN = "<!-- bench/scale_out.py: begin (generated, replaced on every run) -->"
DOC_END = "<!-- bench/scale_out.py: end -->"
SERVICE_PARTS = ("wallet A", "wallet B", "core", "PostgreSQL", "Redis", "HAProxy", "Celery workers")


def point(terminal, url: str) -> None:
    """Send this terminal's next requests to ``url`` (a fresh keep-alive connection)."""
    import httpx

    terminal.http.close()
    terminal.http = httpx.Client(base_url=url, timeout=30.0,
                                 limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def summarize(runs: list[dict], nproc: int) -> dict:
    """One configuration over all its runs: rates from the sums, CPU per settlement per part."""
    ok = sum(r["ok"] for r in runs)
    elapsed = sum(r["elapsed"] for r in runs)
    latencies = [x for r in runs for x in r["latencies"]]
    cpu = {}
    for r in runs:
        for name, sec in r["cpu"].items():
            cpu[name] = cpu.get(name, 0.0) + sec
    served = {}
    for r in runs:
        for name, n in r["served"].items():
            served[name] = served.get(name, 0) + n
    service = sum(v for k, v in cpu.items() if k in SERVICE_PARTS)
    return {"ok": ok, "failed": sum(r["failed"] for r in runs), "elapsed": elapsed, "rate": ok / elapsed,
            "p50": bs.percentile(latencies, 50), "p99": bs.percentile(latencies, 99),
            "rates": [r["ok"] / r["elapsed"] for r in runs], "served": served,
            "cpu_ms": {k: v * 1000 / max(1, ok) for k, v in cpu.items()},
            "service_cpu_ms": service * 1000 / max(1, ok),
            "wallet_cpu_ms": (cpu.get("wallet A", 0) + cpu.get("wallet B", 0)) * 1000 / max(1, ok),
            "machine_share": {k: v / (elapsed * nproc) for k, v in cpu.items()},
            "failures": sum((r["failures"] for r in runs), start=Counter())}


def render(r: dict) -> str:
    m, a = r["machine"], r["args"]
    one, two = r["one"], r["two"]
    lines = [
        *report_head("scale_out.py", m, r["command"]),
        machine_line(m, versions=("django", "celery", "uvicorn", "httpx", "psycopg")) + f"; {r['haproxy_version']}",
        "",
        f"Topology: the core (1 uvicorn process), wallet processes A and B (uvicorn, one process each), two Celery "
        f"workers (`-Q money,housekeeping`, concurrency 1), Redis, PostgreSQL; HAProxy `one` in front of A alone, "
        f"HAProxy `two` round robin over A and B (per request, health check GET /readyz). {a['clients']} clients "
        f"(one pharmacy terminal and one employee each, bench/settlement.py's bill of {bs.BILL_TOTAL} yuan, no "
        f"confirmation), each sending 2102 back to back on one keep-alive connection to the balancer; runs of "
        f"{a['duration']} s in the order {' '.join(r['order'])}.",
        "",
        "| | one wallet process | two wallet processes |",
        "|---|---|---|",
        f"| settlements/s (per run) | **{one['rate']:.1f}** ({', '.join(f'{x:.1f}' for x in one['rates'])}) | "
        f"**{two['rate']:.1f}** ({', '.join(f'{x:.1f}' for x in two['rates'])}) |",
        f"| latency median / p99 | {ms(one['p50'])} / {ms(one['p99'])} | {ms(two['p50'])} / {ms(two['p99'])} |",
        f"| settled / failed | {one['ok']} / {one['failed']} | {two['ok']} / {two['failed']} |",
        f"| requests per wallet process (HAProxy) | "
        + ", ".join(f"{k} {v}" for k, v in one["served"].items()) + " | "
        + ", ".join(f"{k} {v}" for k, v in two["served"].items()) + " |",
    ]
    for part in SERVICE_PARTS:
        lines.append(f"| CPU-ms per settlement: {part} | {one['cpu_ms'].get(part, 0):.1f} | "
                     f"{two['cpu_ms'].get(part, 0):.1f} |")
    lines += [
        f"| CPU-ms per settlement: all of the above | **{one['service_cpu_ms']:.1f}** | "
        f"**{two['service_cpu_ms']:.1f}** |",
        f"| CPU-ms per settlement: the load generator | {one['cpu_ms'].get('load generator', 0):.1f} | "
        f"{two['cpu_ms'].get('load generator', 0):.1f} |",
        f"| machine busy with other work during the runs | "
        f"{one['machine_share'].get('other processes', 0):.0%} of {m['nproc']} CPUs | "
        f"{two['machine_share'].get('other processes', 0):.0%} of {m['nproc']} CPUs |",
        "",
        f"Two processes / one: **{two['rate'] / one['rate']:.2f}×** throughput. "
        f"Settlements spread over A and B by HAProxy: "
        + ", ".join(f"{k} {v / max(1, sum(two['served'].values())):.0%}" for k, v in two["served"].items()) + ".",
        "",
        f"Sizing: one settlement costs about {two['service_cpu_ms']:.0f} CPU-ms in all (wallet "
        f"{two['wallet_cpu_ms']:.0f}, core {two['cpu_ms'].get('core', 0):.0f}, PostgreSQL "
        f"{two['cpu_ms'].get('PostgreSQL', 0):.0f}, HAProxy {two['cpu_ms'].get('HAProxy', 0):.1f}), so N cores "
        f"given wholly to this path settle about N × {1000 / max(0.1, two['service_cpu_ms']):.0f} per second "
        f"(the wallet's share alone: N × {1000 / max(0.1, two['wallet_cpu_ms']):.0f} per second for the wallet "
        f"tier, if the core and PostgreSQL run elsewhere).",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=int, default=20, help="seconds of each timed run")
    parser.add_argument("--rounds", type=int, default=1, help="ABBA rounds (one, two, two, one)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed settlements per client and balancer")
    bench_args(parser)
    args = parser.parse_args()
    order = ["one", "two", "two", "one"] * args.rounds
    if not 1 <= args.clients <= 64 or not 5 <= args.duration <= 120 or not 1 <= args.rounds <= 3 \
            or len(order) * args.duration > 480:
        parser.error("--clients 1..64, --duration 5..120 s, --rounds 1..3, at most 480 s of runs (ecTokens live 600 s)")
    slots = bs.pick_slots(args.clients)
    command = bench_command("scale_out.py")
    stop = threading.Event()
    info = machine_facts()
    log(f"machine: nproc {info['nproc']}, {info['cpu']}, load average {info['loadavg'][0]:.1f}")
    runs: dict[str, list[dict]] = {"one": [], "two": []}
    with contextlib.ExitStack() as stack:
        stack.callback(stop.set)
        services = ServiceStack(stack, log_prefix="yibao-bench-scale-")
        log(f"logs in {services.log_dir}")
        services.start(seed_wallet=True)
        topup = int(100 * args.duration * len(order) * 5350 * 1.2) + 100_000
        run_manage(services.core_env, "shell", "-c",
                   "from core_platform.services.ledger import personal_account_credit\n"
                   f"for psn in {[p.psn_no for _, p in slots]!r}:\n"
                   f"    personal_account_credit(psn, {topup}, 'bench-topup-' + psn, memo='bench/scale_out.py')\n")
        core = services.start_core(extra=("--backlog", "2048"))
        wallet_a = services.start_wallet("wallet-a", extra=("--backlog", "2048"))
        wallet_b = services.start_wallet("wallet-b", extra=("--backlog", "2048"))
        workers = [services.start_worker(f"bench-worker-{n}") for n in (1, 2)]
        proxies = {"one": services.start_haproxy({"a": wallet_a.port}, name="haproxy-one"),
                   "two": services.start_haproxy({"a": wallet_a.port, "b": wallet_b.port}, name="haproxy-two")}
        haproxy_version = subprocess.run([haproxy_binary(), "-v"], capture_output=True, text=True).stdout \
            .splitlines()[0].split(" - ")[0].strip()
        time.sleep(2)  # every process finishes importing
        log(f"core :{core.port}, wallet A :{wallet_a.port}, wallet B :{wallet_b.port}, "
            f"HAProxy one :{proxies['one'].port}, two :{proxies['two'].port}")

        # The persons, pharmacies, bills and ecTokens of bench/settlement.py, activated through ``two``.
        group = bs.Group(proxies["two"].url, slots, stack, "scale-out")
        terminals, send = group.terminals, group.send
        log(f"{len(terminals)} employees activated and pharmacies signed in through HAProxy two: "
            f"{proxies['two'].requests_per_server()}")

        for name in ("one", "two"):
            for terminal in terminals:
                point(terminal, proxies[name].url)
                for _ in range(args.warmup):
                    answer = send(terminal)
                    if answer.get("infcode") != 0:
                        raise RuntimeError(f"warm-up settlement through {name} refused: {answer}")
        log("warm-up done")

        groups = {"wallet A": wallet_a.pid, "wallet B": wallet_b.pid, "core": core.pid,
                  "PostgreSQL": services.pg.proc.pid, "Redis": services.redis.proc.pid}
        for name in order:
            proxy = proxies[name]
            group.ensure_fresh(args.duration)
            for terminal in terminals:
                point(terminal, proxy.url)
            meter = bs.CpuMeter({**groups, "HAProxy": proxy.pid,
                                 **{f"Celery worker {i}": w.pid for i, w in enumerate(workers, 1)}})
            served0 = proxy.requests_per_server()
            time.sleep(1)
            meter.begin()
            result = bs.run_load(terminals, send, args.duration, stop, max_requests=args.duration * 2000)
            cpu = meter.end()
            served1 = proxy.requests_per_server()
            cpu["Celery workers"] = sum(cpu.pop(f"Celery worker {i}") for i in (1, 2))
            cpu["load generator"] = cpu.pop("load generator (this process)")
            cpu["other processes"] = cpu.pop("other processes on the machine (not this benchmark)")
            run = {"config": name, "ok": result.ok, "failed": result.failed, "elapsed": result.elapsed,
                   "latencies": result.latencies, "failures": result.failures, "cpu": cpu,
                   "served": {k: served1[k] - served0.get(k, 0) for k in served1}}
            runs[name].append(run)
            log(f"{name}: {result.rate():.1f} settlements/s, median {ms(result.pct(50))}, p99 {ms(result.pct(99))}, "
                f"{result.failed} failed, served {run['served']}, service CPU "
                f"{sum(v for k, v in cpu.items() if k in SERVICE_PARTS) * 1000 / max(1, result.ok):.1f} ms/settlement")
            for why, n in result.failures.most_common(3):
                log(f"  failure × {n}: {why}")
        for proc in (wallet_a, wallet_b, core):
            errors = [line for line in proc.log_tail(300).splitlines() if "ERROR" in line or "Traceback" in line]
            if errors:
                log(f"{proc.name} log has {len(errors)} error line(s), e.g. {errors[0][:200]}")

    result = {"command": command, "machine": info, "haproxy_version": haproxy_version, "order": order,
              "args": {"clients": args.clients, "duration": args.duration, "rounds": args.rounds},
              "one": summarize(runs["one"], info["nproc"]), "two": summarize(runs["two"], info["nproc"])}
    one, two = result["one"], result["two"]
    print()
    print(f"{'':44} {'one process':>14} {'two processes':>14}")
    print(f"{'settlements/s':44} {one['rate']:>14.1f} {two['rate']:>14.1f}")
    print(f"{'latency median / p99 (ms)':44} {one['p50'] * 1000:>6.0f} / {one['p99'] * 1000:<5.0f} "
          f"{two['p50'] * 1000:>6.0f} / {two['p99'] * 1000:<5.0f}")
    print(f"{'settled / failed':44} {one['ok']:>8} / {one['failed']:<4} {two['ok']:>8} / {two['failed']:<4}")
    for part in (*SERVICE_PARTS, "load generator", "other processes"):
        print(f"{'CPU-ms per settlement: ' + part:44} {one['cpu_ms'].get(part, 0):>14.1f} "
              f"{two['cpu_ms'].get(part, 0):>14.1f}")
    print(f"{'CPU-ms per settlement: services in all':44} {one['service_cpu_ms']:>14.1f} {two['service_cpu_ms']:>14.1f}")
    print(f"requests per wallet process: one {one['served']}, two {two['served']}")
    print(f"two / one = {two['rate'] / one['rate']:.2f}x")
    write_results(args, result=result, section=render(result), begin=DOC_BEGIN, end=DOC_END, heading=DOC_HEADING)
    return 0 if one["failed"] == 0 and two["failed"] == 0 else 1


if __name__ == "__main__":
    run_main(main)
