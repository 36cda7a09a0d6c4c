"""Benchmark: settlements per second end to end — terminal envelope (2102) →
wallet gateway → settlement core → double-entry ledger, on PostgreSQL — beside
pgbench's built-in TPC-B-like transaction on the same PostgreSQL cluster with
the same client count, in the same run.

    .venv/bin/python bench/settlement.py [--clients 8] [--duration 30] [--wallet-workers 2]

On its own it:

1. starts a throwaway Redis and PostgreSQL cluster (scripts/services.py) with
   three databases in that one cluster: ``bench_wallet`` (the wallet),
   ``bench_core`` (the settlement core — a separate service with its own
   database; here it shares the cluster, not the database) and ``bench_pgbench``;
   migrates both services and seeds them (``core_seed_demo``, ``seed_demo``);
2. starts the core as its own uvicorn process (YIBAO_SERVICE=core) and the
   wallet as uvicorn with ``--workers N``; YIBAO_ENV=test, DEBUG=false,
   LOG_LEVEL=WARNING;
3. per client: one designated pharmacy (its own terminal, 9001 sign-in) and one
   insured employee of the same region, activated through the real API (login
   → real name → liveness simulator → PIN), whose code (GET /api/voucher/code)
   the pharmacy decodes (localQrCodeQuery) into an ecToken. The employee's
   personal account is topped up beforehand through the core's own
   contribution posting (``personal_account_credit``, what ``manage.py
   core_credit_account`` does) so it does not run dry during the run. The bill
   (one class A, one class B, one class C drug, 53.50 yuan, of which the
   personal account pays well under PAYMENT_CONFIRM_THRESHOLD_FEN) needs no
   confirmation on the phone; the threshold is left at its default;
4. C client threads (httpx, one keep-alive connection each) send signed 2102
   envelopes with unique msgids for ``--duration`` seconds, after a short
   warm-up; successes are infcode 0, anything else is a failure and is
   reported with its infcode;
5. then ``pgbench -i -s 10`` and ``pgbench -c C -j C -T duration -M prepared``
   on ``bench_pgbench`` in the same cluster;
6. prints a table and the ratio, and, when the ratio is below --target
   (0.25), where the time went: CPU per process group during the wallet run,
   PostgreSQL transactions per settlement, and the core alone (the same
   2101 + 2102 pair the wallet sends per settlement, sent straight to the core
   with C clients). Writes its section of docs/performance.md (``--doc -``
   to skip).

Processes, servers, machine facts and the docs section come from the shared
harness (scripts/harness.py); bench/README.md says what every benchmark
guarantees (127.0.0.1 only, bounded loops, every process stopped).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os

import re
import shlex
import subprocess
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from _common import (bench_args, bench_command, pyspy_binary, pyspy_start, pyspy_summary,  # bench/_common.py
                     write_results)
from harness import (PYTHON, PostgresServer, ServiceStack, log, machine_busy,  # noqa: E402
                     machine_facts, run_main, pg_bindir, run_manage, tree_cpu)  # noqa: E402  (scripts/harness.py)

from common import demodata, signing  # noqa: E402  (pure: no Django)

GATEWAY = "/fsi/api/rsfComIfsService/callService"
DECODE = "/localcfc/api/hsecfc/localQrCodeQuery"
CORE_CLIENT_ID = ServiceStack.CORE_CLIENT_ID
CORE_SECRET = ServiceStack.CORE_SECRET
DOC_HEADING = "## Settlement throughput (issue 5)"
DOC_BEGIN = "<!-- bench/settlement.py: begin (generated, replaced on every run) -->"
DOC_END = "<!-- bench/settlement.py: end -->"

DATA = demodata.generate(demodata.DEFAULT_SEED)
CATALOGUE = {c.med_list_codg: c for c in DATA.catalogue}
# A realistic pharmacy bill: one class A, one class B (self-pay-first 20 %), one class C drug.
BILL_ITEMS = [("X00000001", "12.50", "2"),   # 阿莫西林片, A
              ("X00000011", "18.60", "1"),   # 头孢呋辛酯胶囊, B, 20 % self-pay first
              ("X00000004", "9.90", "1")]    # 阿莫西林缓释片, C (fully self-paid)
BILL_TOTAL = "53.50"


# --------------------------------------------------------------------------- CPU accounting


class CpuMeter:
    """CPU seconds (user+system) of process trees between two snapshots. A
    process that exits between them loses its share (PostgreSQL backends of
    the services are persistent, CONN_MAX_AGE, so they stay)."""

    def __init__(self, groups: dict[str, int]):
        self.groups = groups  # name -> root pid (the root and all its descendants)
        self.start: dict[str, dict[int, float]] = {}

    def snap(self) -> dict[str, dict[int, float]]:
        snap = {name: tree_cpu(pid) for name, pid in self.groups.items()}
        t = os.times()
        snap["load generator (this process)"] = {os.getpid(): t.user + t.system}
        return snap

    def begin(self) -> None:
        self.start = self.snap()
        self.busy0 = machine_busy()
        self.load0 = os.getloadavg()[0]

    def end(self) -> dict[str, float]:
        now = self.snap()
        out = {name: sum(v - self.start.get(name, {}).get(pid, 0.0) for pid, v in procs.items())
               for name, procs in now.items()}
        out["other processes on the machine (not this benchmark)"] = max(0.0, machine_busy() - self.busy0
                                                                          - sum(out.values()))
        self.loads = (self.load0, os.getloadavg()[0])
        return out


def pg_tables(url: str) -> dict[str, tuple[int, int, int, int]]:
    """Per table: (index + sequential scans, rows inserted, updated, deleted)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0), n_tup_ins, n_tup_upd, "
                            "n_tup_del FROM pg_stat_user_tables").fetchall()
    return {r[0]: tuple(int(x) for x in r[1:]) for r in rows}


def table_deltas(before: dict, after: dict, per: int) -> list[tuple[str, float, float, float, float]]:
    out = []
    for name, values in after.items():
        old = before.get(name, (0, 0, 0, 0))
        delta = [(a - b) / max(1, per) for a, b in zip(values, old)]
        if any(d >= 0.05 for d in delta):
            out.append((name, *delta))
    return sorted(out, key=lambda r: -(r[1] + r[2] + r[3] + r[4]))


def pg_xacts(admin_url: str) -> dict[str, tuple[int, int]]:
    """Per bench database: (transactions committed + rolled back, sessions opened)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute("SELECT datname, xact_commit + xact_rollback, sessions FROM pg_stat_database "
                            "WHERE datname LIKE 'bench_%'").fetchall()
    return {name: (int(n), int(sessions)) for name, n, sessions in rows}


# --------------------------------------------------------------------------- terminals and bills


def pick_slots(clients: int) -> list[tuple[demodata.Institution, demodata.Person]]:
    """(designated pharmacy, active employee of the same region) per client:
    distinct persons always, distinct pharmacies and regions while they last,
    so clients share no personal account and as few hot rows as the demo
    data allows."""
    open_regions = [r.admdvs for r in DATA.regions if r.evoucher_open]
    per_region = []
    for region in open_regions:
        pharmacies = [i for i in DATA.institutions if i.region == region and i.kind == "pharmacy" and i.designated]
        employees = [p for p in DATA.persons if p.insured_region == region and p.insutype == "310"
                     and p.psn_type == "11" and p.enrolment_status == "active"]
        if pharmacies and employees:
            per_region.append((pharmacies, employees))
    slots = []
    for k in range(max(len(e) for _, e in per_region)):
        for pharmacies, employees in per_region:
            if k < len(employees):
                slots.append((pharmacies[k % len(pharmacies)], employees[k]))
    if clients > len(slots):
        raise SystemExit(f"at most {len(slots)} clients with the demo data")
    return slots[:clients]


def bill_input(token: str) -> dict:
    rows = []
    for n, (code, pric, cnt) in enumerate(BILL_ITEMS, 1):
        amount = str((Decimal(pric) * Decimal(cnt)).quantize(Decimal("0.01")))
        rows.append({"feedetl_sn": f"{n:04d}", "med_list_codg": code, "medins_list_codg": f"L{code}",
                     "det_item_fee_sumamt": amount, "cnt": cnt, "pric": pric,
                     "med_list_name": CATALOGUE[code].name})
    return {"druginfo": {"mdtrt_cert_type": "01", "mdtrt_cert_no": token, "begntime": "2026-11-23 10:00:00",
                         "medfee_sumamt": BILL_TOTAL, "insutype": "310", "acct_used_flag": "1", "med_type": "41"},
            "drugdetail": rows}


class Terminal:
    """A pharmacy POS: signs envelopes (common/signing.py) and posts them."""

    def __init__(self, base_url: str, inst: demodata.Institution, index: int):
        import httpx

        self.inst = inst
        self.code = inst.fixmedins_code
        self.index = index
        self.sign_no = ""
        self.seq = 0
        self.http = httpx.Client(base_url=base_url, timeout=30.0,
                                 limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))

    def msgid(self) -> str:
        self.seq += 1  # national form: fixmedins_code + yyyyMMddHHmmss + sequence (≤ 40 chars)
        return f"{self.code}{dt.datetime.now():%Y%m%d%H%M%S}{self.index:03d}{self.seq:07d}"

    def envelope(self, infno: str, input: dict) -> bytes:
        body = {"infno": infno, "msgid": self.msgid(), "mdtrtarea_admvs": self.inst.region,
                "insuplc_admdvs": self.inst.region, "recer_sys_code": "POS", "infver": "V1.0", "opter_type": "1",
                "opter": "0001", "opter_name": "收银员甲", "inf_time": dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
                "fixmedins_code": self.code, "fixmedins_name": self.inst.name, "sign_no": self.sign_no,
                "input": input}
        return json.dumps(body, ensure_ascii=False).encode()

    def post(self, path: str, body: bytes) -> dict:
        headers = {"content-type": "application/json", **signing.sign_headers(self.code, self.inst.secret, body)}
        response = self.http.post(path, content=body, headers=headers)
        response.raise_for_status()
        return response.json()

    def call(self, infno: str, input: dict) -> dict:
        return self.post(GATEWAY, self.envelope(infno, input))

    def sign_in(self) -> None:
        answer = self.call("9001", {"signIn": {"opter_no": "0001", "mac": "00:11:22:33:44:55", "ip": "10.0.0.8"}})
        if answer["infcode"] != 0:
            raise RuntimeError(f"9001 refused for {self.code}: {answer}")
        self.sign_no = answer["output"]["signinoutb"]["sign_no"]

    def decode(self, qr_code: str) -> str:
        body = json.dumps({"transType": "ec.query", "orgId": self.code,
                           "data": {"orgId": self.code, "businessType": "02121", "operatorId": "0001",
                                    "operatorName": "收银员甲", "officeId": "01", "officeName": "柜台",
                                    "deviceType": "POS", "qrCode": qr_code}}, ensure_ascii=False).encode()
        answer = self.post(DECODE, body)
        if answer["code"] != 0:
            raise RuntimeError(f"decode refused at {self.code}: {answer}")
        return answer["data"]["ecToken"]

    def close(self) -> None:
        self.http.close()


class CoreCaller:
    """The wallet's side of the wallet→core link, for timing the core alone:
    the same 2101 (msgid P…) + 2102 pair the wallet sends per settlement."""

    def __init__(self, base_url: str, inst: demodata.Institution, person: demodata.Person, index: int):
        import httpx

        self.inst, self.person, self.index, self.seq = inst, person, index, 0
        self.http = httpx.Client(base_url=base_url, timeout=30.0,
                                 limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))

    def _post(self, infno: str, msgid: str, input: dict) -> dict:
        envelope = {"infno": infno, "msgid": msgid, "fixmedins_code": self.inst.fixmedins_code,
                    "inf_time": dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"), "recer_sys_code": "YIBAO",
                    "infver": "V1.0", "opter_type": "3", "fixmedins_name": self.inst.name, "input": input}
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"content-type": "application/json; charset=utf-8",
                   **signing.sign_headers(CORE_CLIENT_ID, CORE_SECRET, body)}
        response = self.http.post(GATEWAY, content=body, headers=headers)
        response.raise_for_status()
        return response.json()

    def settle(self) -> dict:
        self.seq += 1
        msgid = f"C{self.inst.fixmedins_code}{dt.datetime.now():%Y%m%d%H%M%S}{self.index:03d}{self.seq:07d}"
        bill = bill_input("")
        bill["druginfo"].update({"psn_no": self.person.psn_no, "mdtrt_cert_type": "99",
                                 "mdtrt_cert_no": self.person.psn_no})
        pre = self._post("2101", f"P{msgid}"[:40], bill)
        if pre.get("infcode") != 0:
            return pre
        return self._post("2102", msgid, bill)

    def close(self) -> None:
        self.http.close()


# --------------------------------------------------------------------------- load


class LoadResult:
    def __init__(self):
        self.latencies: list[float] = []  # seconds, successes only
        self.failures: Counter = Counter()  # "infcode N: err_msg" / "exception: ..."
        self.failure_latencies: list[float] = []
        self.elapsed = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        return percentile(self.latencies, q)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))  # nearest rank
    return ordered[index]


def run_load(workers: list, send, duration: float, stop: threading.Event, max_requests: int) -> LoadResult:
    """Each worker in its own thread calls ``send(worker)`` back to back until
    the deadline (or ``max_requests`` each, or ``stop``)."""
    result = LoadResult()
    lock = threading.Lock()
    start_gate = threading.Barrier(len(workers) + 1)
    deadline_box = {}

    def loop(worker) -> None:
        lat, fails, fail_lat = [], Counter(), []
        start_gate.wait()
        deadline = deadline_box["t"]
        for _ in range(max_requests):
            if stop.is_set() or time.perf_counter() >= deadline:
                break
            t0 = time.perf_counter()
            try:
                answer = send(worker)
                code = answer.get("infcode")
                why = None if code == 0 else f"infcode {code}: {str(answer.get('err_msg', ''))[:80]}"
            except Exception as exc:  # noqa: BLE001 - a result to report
                why = f"exception {type(exc).__name__}: {str(exc)[:80]}"
            elapsed = time.perf_counter() - t0
            if why is None:
                lat.append(elapsed)
            else:
                fails[why] += 1
                fail_lat.append(elapsed)
        with lock:
            result.latencies.extend(lat)
            result.failures.update(fails)
            result.failure_latencies.extend(fail_lat)

    threads = [threading.Thread(target=loop, args=(w,), daemon=True, name=f"client-{i}") for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    t_start = time.perf_counter()
    deadline_box["t"] = t_start + duration
    start_gate.wait()
    for t in threads:
        t.join(duration + 60)  # a request in flight at the deadline may take up to its 30 s timeout
    result.elapsed = time.perf_counter() - t_start
    if any(t.is_alive() for t in threads):
        stop.set()
        raise RuntimeError("client threads did not finish in time")
    return result


# --------------------------------------------------------------------------- pgbench


def run_pgbench(pg: PostgresServer, db: str, clients: int, duration: int, scale: int, log_dir: Path) -> dict:
    bindir = pg_bindir()
    conn = ["-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres"]
    init = [str(bindir / "pgbench"), "-i", "-q", "-s", str(scale), *conn, db]
    log(f"pgbench init: {shlex.join(init[:1] + ['-i', '-q', '-s', str(scale)])} ...")
    out = subprocess.run(init, capture_output=True, text=True, timeout=600, start_new_session=True)
    if out.returncode != 0:
        raise RuntimeError(f"pgbench -i failed:\n{out.stderr}")
    prefix = log_dir / "pgbench_log"
    cmd = [str(bindir / "pgbench"), "-c", str(clients), "-j", str(clients), "-T", str(duration), "-M", "prepared",
           "-l", f"--log-prefix={prefix}", *conn, db]
    log(f"pgbench run: pgbench -c {clients} -j {clients} -T {duration} -M prepared ...")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120, start_new_session=True)
    if out.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{out.stdout}\n{out.stderr}")
    text = out.stdout
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text) or re.search(r"tps = ([\d.]+)", text)
    failed = re.search(r"number of failed transactions: (\d+)", text)
    processed = re.search(r"number of transactions actually processed: (\d+)", text)
    latencies = []
    for path in log_dir.glob("pgbench_log.*"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3:
                latencies.append(int(parts[2]) / 1e6)
    return {"tps": float(match.group(1)), "output": text.strip(), "latencies": latencies,
            "failed": int(failed.group(1)) if failed else 0, "processed": int(processed.group(1)) if processed else 0,
            "version": subprocess.run([str(bindir / "pgbench"), "--version"], capture_output=True,
                                      text=True).stdout.strip()}


# --------------------------------------------------------------------------- profile (py-spy)


# --------------------------------------------------------------------------- machine and report


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def render(r: dict) -> str:
    """The generated part of the docs section (Markdown)."""
    a, m = r["args"], r["machine"]
    w, pgb = r["wallet"], r["pgbench"]
    lines = [
        f"Generated by `bench/settlement.py` on {m['date']} (commit {m['commit']}, uncommitted changes may apply).",
        "",
        "    " + r["command"],
        "",
        f"- machine: nproc {m['nproc']} ({m['cpu']}), {m['mem_gib']:.1f} GiB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}, {m['postgres']}, {pgb['version']}",
        f"- one throwaway PostgreSQL cluster (scripts/services.py: fsync=off, synchronous_commit=off, "
        f"full_page_writes=off, shared_buffers=256MB) holding three databases: the wallet's, the core's "
        f"(the core is a separate service with its own database; here it shares the cluster) and pgbench's; "
        f"one Redis; all on 127.0.0.1, as are the load generators",
        f"- wallet: uvicorn, {a['wallet_workers']} worker(s); core: its own uvicorn, {a['core_workers']} worker(s); "
        f"YIBAO_ENV=test, DEBUG=false, LOG_LEVEL=WARNING",
        f"- load: {a['clients']} client threads (httpx, one keep-alive connection each), each a different designated "
        f"pharmacy terminal (signed in) settling for a different activated employee (distinct regions where the "
        f"demo data allows), back to back, unique msgids; bill: 3 items (class A, B, C), {BILL_TOTAL} yuan, "
        f"personal account {r['acct_pay']} yuan (below the confirmation threshold; not raised); "
        f"{a['warmup']} warm-up settlements per client before timing",
        "",
        "| | wallet 2102 settlements (end to end) | pgbench TPC-B-like (`-M prepared`) |",
        "|---|---|---|",
        f"| clients | {a['clients']} | {a['clients']} (`-j {a['clients']}`) |",
        f"| duration | {w['elapsed']:.1f} s | {a['duration']} s |",
        f"| completed | {w['ok']} settled, {w['failed']} failed | {pgb['processed']} transactions, "
        f"{pgb['failed']} failed |",
        f"| throughput | **{w['rate']:.1f} settlements/s** | **{pgb['tps']:.0f} tps** |",
        f"| latency median | {ms(w['p50'])} | {ms(pgb['p50'])} |",
        f"| latency p99 | {ms(w['p99'])} | {ms(pgb['p99'])} |",
        "",
        f"**Ratio wallet ÷ pgbench: {r['ratio']:.4f}** (target ≥ {a['target']}: "
        f"{'met' if r['ratio'] >= a['target'] else 'not met'}).",
    ]
    if w["failures"]:
        lines += ["", "Failures: " + "; ".join(f"{n} × {k}" for k, n in w["failures"].items())]
    if r.get("cpu"):
        total = r["cpu_window"] * m["nproc"]
        lines += ["", f"CPU during the timed wallet run ({r['cpu_window']:.1f} s × {m['nproc']} CPUs = "
                      f"{total:.0f} CPU-s available):", "",
                  "| process group | CPU-s | share of the machine | CPU-ms per settlement |", "|---|---|---|---|"]
        for name, sec in sorted(r["cpu"].items(), key=lambda kv: -kv[1]):
            lines.append(f"| {name} | {sec:.1f} | {sec / total:.0%} | {sec * 1000 / max(1, w['ok']):.1f} |")
        lines.append(f"| (idle) | {max(0.0, total - sum(r['cpu'].values())):.1f} | "
                     f"{max(0.0, 1 - sum(r['cpu'].values()) / total):.0%} | |")
    if r.get("loadavg"):
        lines += ["", f"Load average (1 min) at the start / end of the timed wallet run: {r['loadavg'][0]:.1f} / "
                      f"{r['loadavg'][1]:.1f} on {m['nproc']} CPUs."]
    if r.get("xacts"):
        per = {k: v / max(1, w["ok"]) for k, v in r["xacts"].items()}
        lines += ["", "PostgreSQL transactions (pg_stat_database xact_commit + xact_rollback) per settlement: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in sorted(per.items()))
                  + " (Django autocommit: every statement outside `atomic()` is its own transaction)."]
    if r.get("sessions"):
        lines += ["", "New PostgreSQL connections (pg_stat_database.sessions) per settlement: "
                  + ", ".join(f"{k} {v / max(1, w['ok']):.2f}" for k, v in sorted(r["sessions"].items())) + "."]
    for db, rows in (r.get("tables") or {}).items():
        if rows:
            lines += ["", f"{db.capitalize()} database, per settlement (pg_stat_user_tables): "
                      + "; ".join(f"`{n}` {a:.1f} scans, {b:.1f} ins, {c:.1f} upd" + (f", {d:.1f} del" if d else "")
                                  for n, a, b, c, d in rows) + "."]
    core = r.get("core_alone")
    if core:
        lines += ["", f"Core alone (the 2101 + 2102 pair the wallet sends per settlement, straight to the core "
                      f"process, {a['clients']} clients, {core['elapsed']:.1f} s): **{core['rate']:.1f} "
                      f"settlements/s**, median {ms(core['p50'])}, p99 {ms(core['p99'])}, "
                      f"{core['failed']} failed; ratio to pgbench {core['rate'] / pgb['tps']:.4f}."]
    prof = r.get("profile")
    if prof:
        lines += ["", f"Profile: a separate {prof['seconds']} s wallet run under py-spy (`record --idle --function`, "
                      f"100 Hz, wall clock; {prof['rate']:.1f} settlements/s while sampled, not counted above). "
                      f"Share of the request-handling wall time (stacks under the view) in which each frame is on "
                      f"the stack (inclusive, so shares overlap):", ""]
        for svc, handler in (("wallet", "envelope_call_service"), ("core", "call_service_api")):
            summary = prof[svc]
            lines += [f"| {svc} ({summary['total']} samples under `{handler}`) | share |", "|---|---|"]
            for name, share in summary["buckets"] + summary["funcs"]:
                lines.append(f"| {name} | {share:.0%} |")
            lines.append("")
    return "\n".join(lines).rstrip()


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=int, default=30, help="seconds, each of the timed runs (max 480)")
    parser.add_argument("--wallet-workers", type=int, default=2,
                        help="uvicorn workers of the wallet (default 2: see docs/performance.md)")
    parser.add_argument("--core-workers", type=int, default=1, help="uvicorn workers of the core (default 1)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed settlements per client first")
    parser.add_argument("--scale", type=int, default=10, help="pgbench -i -s")
    parser.add_argument("--target", type=float, default=0.25)
    parser.add_argument("--core-alone", choices=["auto", "yes", "no"], default="auto",
                        help="also time the core alone (auto: when the ratio is below --target)")
    parser.add_argument("--profile", action="store_true",
                        help="then a separate wallet run under py-spy (not counted): where request time goes")
    parser.add_argument("--py-spy", default="", help="py-spy binary (else PATH / the venv)")
    bench_args(parser)
    args = parser.parse_args()
    if not 1 <= args.clients <= 64 or not 5 <= args.duration <= 480 or not 1 <= args.wallet_workers <= 16 \
            or not 1 <= args.core_workers <= 16:
        parser.error("--clients 1..64, --duration 5..480 s (ecTokens live 600 s), workers 1..16")
    slots = pick_slots(args.clients)
    command = bench_command("settlement.py")

    stop = threading.Event()
    info = machine_facts()
    log(f"machine: nproc {info['nproc']}, {info['cpu']}, {info['mem_gib']:.1f} GiB, Python {info['python']}")
    with contextlib.ExitStack() as stack:
        stack.callback(stop.set)
        services = ServiceStack(stack, log_prefix="yibao-bench-settle-")
        log_dir = services.log_dir
        log(f"logs in {log_dir}")
        services.start(extra_databases=("bench_pgbench",), seed_wallet=True)
        pg, redis, admin_url = services.pg, services.redis, services.admin_url
        wallet_db, core_db = services.wallet_db, services.core_db
        # Top up the employees' personal accounts (the core's contribution posting) so that
        # even 100 settlements/s per client for the whole run leave money in the account.
        topup = int(100 * args.duration * 5350 * 1.2) + 100_000
        script = ("from core_platform.services.ledger import personal_account_credit\n"
                  f"for psn in {[p.psn_no for _, p in slots]!r}:\n"
                  f"    personal_account_credit(psn, {topup}, 'bench-topup-' + psn, memo='bench/settlement.py')\n")
        run_manage(services.core_env, "shell", "-c", script)

        core = services.start_core(workers=args.core_workers, extra=("--backlog", "2048"))
        core_url = core.url
        wallet = services.start_wallet(workers=args.wallet_workers, extra=("--backlog", "2048"))
        wallet_url = wallet.url
        time.sleep(2)  # let every worker finish importing before the first requests
        log(f"core on :{core.port} ({args.core_workers} worker), wallet on :{wallet.port} "
            f"({args.wallet_workers} workers)")

        # --- persons, terminals, ecTokens ------------------------------------------------
        from tests.support.app import AppClient
        from tests.support.http import LiveClient

        terminals: list[Terminal] = []
        stack.callback(lambda: [t.close() for t in terminals])
        tokens = []
        for index, (inst, person) in enumerate(slots):
            app = AppClient(LiveClient(wallet_url), "wechat", openid=f"bench-{person.psn_no}").login()
            app.activate(person, pin="258036")
            terminal = Terminal(wallet_url, inst, index)
            terminals.append(terminal)
            terminal.sign_in()
            code = app.get("/api/voucher/code")
            if code.status_code != 200:
                raise RuntimeError(f"GET /api/voucher/code: {code.status_code} {code.content[:200]!r}")
            tokens.append(terminal.decode(code.json()["code"]))
            app.client._http.close()
            log(f"client {index}: {inst.fixmedins_code} ({inst.name}) settles for {person.psn_no} "
                f"(region {person.insured_region}), ecToken decoded")
        decoded_at = time.monotonic()
        bills = [bill_input(t) for t in tokens]

        def send_wallet(terminal: Terminal) -> dict:
            return terminal.call("2102", bills[terminal.index])

        # Warm-up (untimed): every worker's connections, caches, the prepared paths.
        acct_pay = "?"
        for terminal in terminals:
            for _ in range(args.warmup):
                answer = send_wallet(terminal)
                if answer.get("infcode") != 0:
                    raise RuntimeError(f"warm-up settlement refused: {answer}")
                acct_pay = answer["output"]["setlinfo"]["acct_pay"]
        log(f"warm-up done; one settlement: {BILL_TOTAL} yuan, personal account {acct_pay} yuan")
        if time.monotonic() - decoded_at + args.duration > 590:
            raise RuntimeError("the ecTokens would expire during the run; use a shorter --duration")

        # --- the timed wallet run ----------------------------------------------------------
        time.sleep(11)  # PostgreSQL flushes backend statistics at most every 10 s when idle
        groups = {"wallet (uvicorn + workers)": wallet.pid, "core (uvicorn)": core.pid,
                  "PostgreSQL (all backends)": pg.proc.pid, "Redis": redis.proc.pid}
        meter = CpuMeter(groups)
        x0 = pg_xacts(admin_url)
        t0 = {"wallet": pg_tables(wallet_db), "core": pg_tables(core_db)}
        meter.begin()
        log(f"wallet run: {args.clients} clients × {args.duration} s ...")
        wall = run_load(terminals, send_wallet, args.duration, stop, max_requests=args.duration * 2000)
        cpu = meter.end()
        time.sleep(11)
        x1 = pg_xacts(admin_url)
        t1 = {"wallet": pg_tables(wallet_db), "core": pg_tables(core_db)}
        tables = {k: table_deltas(t0[k], t1[k], wall.ok) for k in t0}
        xacts = {f"{label} db": x1[db][0] - x0[db][0] for label, db in (("wallet", "bench_wallet"), ("core", "bench_core"))}
        sessions = {f"{label} db": x1[db][1] - x0[db][1] for label, db in (("wallet", "bench_wallet"),
                                                                            ("core", "bench_core"))}
        log(f"wallet: {wall.ok} settled, {wall.failed} failed in {wall.elapsed:.1f} s = {wall.rate():.1f}/s, "
            f"median {ms(wall.pct(50))}, p99 {ms(wall.pct(99))}")
        for why, n in wall.failures.most_common():
            log(f"  failure × {n}: {why}")

        # --- pgbench, same cluster, same client count ----------------------------------------
        pgb = run_pgbench(pg, "bench_pgbench", args.clients, args.duration, args.scale, log_dir)
        pgb["p50"], pgb["p99"] = percentile(pgb["latencies"], 50), percentile(pgb["latencies"], 99)
        log(f"pgbench: {pgb['tps']:.0f} tps, median {ms(pgb['p50'])}, p99 {ms(pgb['p99'])}")
        ratio = wall.rate() / pgb["tps"]

        # --- the core alone, when the ratio is short -------------------------------------------
        core_alone = None
        if args.core_alone == "yes" or (args.core_alone == "auto" and ratio < args.target):
            callers = [CoreCaller(core_url, inst, person, i) for i, (inst, person) in enumerate(slots)]
            stack.callback(lambda: [c.close() for c in callers])
            log(f"core alone: 2101 + 2102 straight to the core, {args.clients} clients × {args.duration} s ...")
            alone = run_load(callers, lambda c: c.settle(), args.duration, stop, max_requests=args.duration * 2000)
            core_alone = {"ok": alone.ok, "failed": alone.failed, "elapsed": alone.elapsed, "rate": alone.rate(),
                          "p50": alone.pct(50), "p99": alone.pct(99), "failures": dict(alone.failures)}
            log(f"core alone: {alone.rate():.1f} settlements/s, median {ms(alone.pct(50))}, p99 {ms(alone.pct(99))}, "
                f"{alone.failed} failed")

        # --- a profiled wallet run (py-spy, wall clock; not counted above) ----------------------
        profile = None
        if args.profile:
            binary = pyspy_binary(args.py_spy)
            if binary is None:
                log("no py-spy found (pip install py-spy, or --py-spy PATH); skipping the profile")
            else:
                seconds = min(args.duration, 20)
                outs = {"wallet": log_dir / "pyspy-wallet.txt", "core": log_dir / "pyspy-core.txt"}
                spies = [pyspy_start(binary, wallet.pid, outs["wallet"], seconds, True),
                         pyspy_start(binary, core.pid, outs["core"], seconds, args.core_workers > 1)]
                stack.callback(lambda: [p.kill() for p in spies if p.poll() is None])
                time.sleep(1.5)  # py-spy attaches
                log(f"profiled wallet run (py-spy --idle, {seconds} s, not counted) ...")
                prof = run_load(terminals, send_wallet, seconds, stop, max_requests=seconds * 2000)
                for spy in spies:
                    try:
                        spy.wait(30)
                    except subprocess.TimeoutExpired:
                        spy.kill()
                profile = {"rate": prof.rate(), "seconds": seconds,
                           "wallet": pyspy_summary(outs["wallet"], "envelope_call_service"),
                           "core": pyspy_summary(outs["core"], "call_service_api")}
                log(f"profiled run: {prof.rate():.1f} settlements/s under py-spy")

        for proc in (wallet, core):
            tail = [line for line in proc.log_tail(200).splitlines() if "ERROR" in line or "Traceback" in line]
            if tail:
                log(f"{proc.name} log has {len(tail)} error line(s), e.g. {tail[0][:200]}")

    # --- report (every process is stopped by now) -----------------------------------------
    result = {
        "command": command, "machine": info, "acct_pay": acct_pay, "ratio": ratio,
        "args": {"clients": args.clients, "duration": args.duration, "wallet_workers": args.wallet_workers,
                 "core_workers": args.core_workers, "warmup": args.warmup, "target": args.target},
        "wallet": {"ok": wall.ok, "failed": wall.failed, "elapsed": wall.elapsed, "rate": wall.rate(),
                   "p50": wall.pct(50), "p99": wall.pct(99), "failures": dict(wall.failures)},
        "pgbench": {k: v for k, v in pgb.items() if k != "latencies"},
        "cpu": cpu, "cpu_window": wall.elapsed, "xacts": xacts, "core_alone": core_alone,
        "loadavg": meter.loads, "tables": tables, "profile": profile, "sessions": sessions,
    }
    print()
    print(f"{'':28} {'wallet 2102':>16} {'pgbench TPC-B':>16}")
    print(f"{'clients':28} {args.clients:>16} {args.clients:>16}")
    print(f"{'throughput (/s)':28} {wall.rate():>16.1f} {pgb['tps']:>16.1f}")
    print(f"{'latency median (ms)':28} {wall.pct(50) * 1000:>16.1f} {pgb['p50'] * 1000:>16.1f}")
    print(f"{'latency p99 (ms)':28} {wall.pct(99) * 1000:>16.1f} {pgb['p99'] * 1000:>16.1f}")
    done_wallet, done_pgbench = f"{wall.ok} / {wall.failed}", f"{pgb['processed']} / {pgb['failed']}"
    print(f"{'completed / failed':28} {done_wallet:>16} {done_pgbench:>16}")
    print(f"ratio wallet / pgbench = {ratio:.4f} (target >= {args.target})")
    total = wall.elapsed * info["nproc"]
    print(f"CPU during the wallet run ({total:.0f} CPU-s available):")
    for name, sec in sorted(cpu.items(), key=lambda kv: -kv[1]):
        print(f"  {name:34} {sec:7.1f} CPU-s {sec / total:5.0%}  {sec * 1000 / max(1, wall.ok):6.1f} CPU-ms/settlement")
    print("PostgreSQL transactions per settlement: "
          + ", ".join(f"{k} {v / max(1, wall.ok):.1f}" for k, v in xacts.items()))
    print(f"load average (1 min) at start / end of the wallet run: {meter.loads[0]:.1f} / {meter.loads[1]:.1f}")
    for db, rows in tables.items():
        print(f"{db} tables per settlement (scans, ins, upd, del): "
              + "; ".join(f"{n} {a:.1f}/{b:.1f}/{c:.1f}/{d:.1f}" for n, a, b, c, d in rows))
    if profile:
        for svc in ("wallet", "core"):
            summary = profile[svc]
            print(f"{svc}: share of request wall time ({summary['total']} samples)")
            for name, share in summary["buckets"] + summary["funcs"]:
                print(f"  {share:6.1%}  {name}")
    print("new PostgreSQL connections per settlement: "
          + ", ".join(f"{k} {v / max(1, wall.ok):.2f}" for k, v in sessions.items()))
    if core_alone:
        print(f"core alone: {core_alone['rate']:.1f} settlements/s (ratio to pgbench {core_alone['rate'] / pgb['tps']:.4f})")
    write_results(args, result=result, section=render(result), begin=DOC_BEGIN, end=DOC_END, heading=DOC_HEADING)
    return 0


if __name__ == "__main__":
    run_main(main)
