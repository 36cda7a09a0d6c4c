"""docs/architecture.md's pay-path table is a real trace (issue #21): the
settlement core and a wallet server run under scripts/pay_path.py's tracer,
a pharmacy settles a warm-up 2102, then the traced one; the table rendered
from the two traces must be the one in the doc. ``PAY_PATH_WRITE=1`` writes
the doc instead of failing (then commit it)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from common import demodata
from tests.conftest import live_database_env
from tests.support import processes
from tests.support.app import AppClient
from tests.support.http import LiveClient
from tests.support.pos import A_ITEMS, Pos, pharmacy_for

import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import pay_path  # noqa: E402  (scripts/pay_path.py)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
SMALL = [(A_ITEMS[0].med_list_codg, "25.00", "2")]  # within the confirmation threshold: the straight path


def _traced(name: str, out: Path, env: dict) -> processes.Process:
    port = processes.free_port()
    cmd = [processes.PYTHON, "scripts/pay_path.py", "run", "--out", str(out), "--", "-m", "uvicorn",
           "config.asgi:application", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
           "--no-access-log", "--timeout-graceful-shutdown", "2"]
    proc = processes.Process(name, cmd, env, port=port).start(wait=90)
    proc.url = f"http://127.0.0.1:{port}"
    return proc


def _collect(proc: processes.Process, out: Path) -> dict[str, list[str]]:
    os.kill(proc.pid, signal.SIGUSR2)
    processes.wait_until(out.exists, timeout=10, interval=0.05, message=f"{proc.name}'s trace")
    return json.loads(out.read_text())


def test_the_pay_path_table_is_the_trace_of_a_settlement(tmp_path):
    core_env = processes.base_env(CORE_DATABASE_URL=processes.core_database_url("yibao_core_paypath"),
                                  YIBAO_SERVICE="core")
    processes.run_manage(core_env, "migrate", "--database", "core", "--noinput", "-v", "0")
    processes.run_manage(core_env, "core_seed_demo")
    core = _traced("core-traced", tmp_path / "core.json", core_env)
    wallet = _traced("wallet-traced", tmp_path / "wallet.json",
                     processes.base_env(SETTLEMENT_CORE_URL=f"{core.url}/core", **live_database_env()))
    try:
        person = AppClient(LiveClient(wallet.url), channel="wechat").login()
        person.activate(EMPLOYEE, pin="258036")
        pos = Pos(LiveClient(wallet.url), pharmacy_for(EMPLOYEE))

        def settle(msgid: str) -> None:
            assert pos.decode(person.get("/api/voucher/code").json()["code"])["code"] == 0
            answer = pos.settle(pos.bill(SMALL, insutype=EMPLOYEE.insutype), msgid=msgid)
            assert answer["infcode"] == 0 and answer["output"]["setlinfo"]["setl_id"], answer

        settle("PAYPATH-WARM")  # first-request work (connections, caches) is not the pay path
        decoded = pos.decode(person.get("/api/voucher/code").json()["code"])  # the decode is not the settlement
        assert decoded["code"] == 0, decoded
        for proc in (core, wallet):
            os.kill(proc.pid, signal.SIGUSR1)
        # The signals are handled between bytecodes of each server's main thread; and the traced 2102
        # starts a new second, as most do (inf_refmsgid blocks are taken per process and second).
        time.sleep(1.1 - time.time() % 1)
        answer = pos.settle(pos.bill(SMALL, insutype=EMPLOYEE.insutype), msgid="PAYPATH-TRACED")
        assert answer["infcode"] == 0 and answer["output"]["setlinfo"]["setl_id"], answer
        traced_wallet = _collect(wallet, tmp_path / "wallet.json")
        traced_core = _collect(core, tmp_path / "core.json")
    finally:
        wallet.stop()
        core.stop()

    table = pay_path.render([("wallet", traced_wallet), ("core", traced_core)])
    text = DOC.read_text(encoding="utf-8")
    if os.environ.get("PAY_PATH_WRITE") == "1":
        DOC.write_text(pay_path.replace_block(text, table), encoding="utf-8")
        return
    assert pay_path.current_block(text) == table, (
        "docs/architecture.md's pay-path table is not the trace of a settlement; regenerate it with "
        "PAY_PATH_WRITE=1 make test-postgres ARGS=tests/config/test_pay_path_doc.py\n\n" + table)
