"""The envelope as the national platform writes it (issue #10): every answer
field on every answer (refusals and malformed bodies too), refmsg_time /
respond_time as 17-digit yyyyMMddHHmmssSSS, inf_refmsgid the receiver's own
30-digit id beginning with its admdvs, amounts as JSON numbers with exactly
two decimals in the raw text, age with one; msgid replays byte-identical.
And a static check that no wallet, settlement, common or core module reads
an amount through a float."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from common import demodata
from common.envelope import ANSWER_FIELDS, InfCode, Receipt, answer, render_answer
from common.money import fen_to_amount, output_numbers
from tests.support.app import AppClient
from tests.support.pos import A_ITEMS, Pos, pharmacy_for
from tests.support.terminal import Terminal
from terminal.models import GatewayMessage
from wallet.models import Voucher
from codes.services.issue import code_issue

pytestmark = pytest.mark.django_db

ADMDVS = "371300"  # a configured receiver region, not the default
EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
PHARMACY = pharmacy_for(EMPLOYEE)  # the person's own region: a local bill (elsewhere: a filing, else 4011)
SMALL = [(A_ITEMS[0].med_list_codg, "25.00", "2")]
TIME17 = re.compile(r"[0-9]{17}")


@pytest.fixture(autouse=True)
def _admdvs(settings):
    settings.GATEWAY_ADMDVS = ADMDVS


def envelope_of(raw: bytes) -> dict:
    """Parse as a decimal-typed HIS client does, and check the envelope."""
    parsed = json.loads(raw, parse_float=Decimal)
    assert list(parsed) == list(ANSWER_FIELDS), parsed  # every field, always, in one order
    assert type(parsed["infcode"]) is int
    for name in ("refmsg_time", "respond_time"):
        assert TIME17.fullmatch(parsed[name]), parsed[name]
        dt.datetime.strptime(parsed[name][:14], "%Y%m%d%H%M%S")  # a real local time
    assert parsed["refmsg_time"] <= parsed["respond_time"]
    now = timezone.localtime()
    assert abs((dt.datetime.strptime(parsed["respond_time"][:14], "%Y%m%d%H%M%S")
                - now.replace(tzinfo=None)).total_seconds()) < 60  # Asia/Shanghai, not UTC
    refmsgid = parsed["inf_refmsgid"]
    assert re.fullmatch(r"[0-9]{30}", refmsgid) and refmsgid.startswith(ADMDVS), refmsgid
    assert refmsgid[6:20] == parsed["refmsg_time"][:14]
    for name in ("err_msg", "warn_msg", "cainfo", "signtype"):
        assert isinstance(parsed[name], str)
    assert isinstance(parsed["output"], dict)
    return parsed


def money_in_raw(raw: bytes, name: str) -> list[str]:
    """The literal JSON text of every ``name`` value in the answer."""
    return re.findall(rf'"{name}":([^,}}\]]+)', raw.decode())


@pytest.fixture
def terminal(client):
    pos = Pos(client, PHARMACY)  # registers and signs in (9001)
    return pos


def test_9001_answer_has_every_field_and_the_receivers_own_id(terminal):
    envelope = terminal.envelope("9001", {"signIn": {"opter_no": "0001"}}, msgid="FMT-9001-1")
    raw = terminal.post_bytes(json.dumps(envelope).encode())
    parsed = envelope_of(raw)
    assert parsed["infcode"] == 0 and parsed["inf_refmsgid"] != "FMT-9001-1"
    assert raw.startswith(b'{"infcode":0,"inf_refmsgid":"') and b'"warn_msg":""' in raw and b'"cainfo":""' in raw
    # the request's own msgid is kept in the journal
    assert GatewayMessage.objects.filter(msgid="FMT-9001-1", fixmedins_code=PHARMACY.fixmedins_code).count() == 1


def test_inf_refmsgid_is_unique_per_answer(terminal):
    ids = {envelope_of(terminal.post_bytes(json.dumps(terminal.envelope("9001", {"signIn": {"opter_no": "1"}}))
                                           .encode()))["inf_refmsgid"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.usefixtures("core_url")
def test_1101_amounts_and_age_are_numbers(terminal):
    raw = terminal.post_bytes(json.dumps(terminal.envelope("1101", {"data": {
        "mdtrt_cert_type": "02", "mdtrt_cert_no": EMPLOYEE.id_number, "psn_cert_type": "01",
        "certno": EMPLOYEE.id_number, "psn_name": EMPLOYEE.name}}), ensure_ascii=False).encode())
    parsed = envelope_of(raw)
    assert parsed["infcode"] == 0, parsed
    [balc_text] = money_in_raw(raw, "balc")
    assert re.fullmatch(r"[0-9]+\.[0-9]{2}", balc_text), balc_text  # 1234.56, not "1234.56"
    assert parsed["output"]["insuinfo"][0]["balc"].as_tuple().exponent == -2
    [age_text] = money_in_raw(raw, "age")
    assert re.fullmatch(r"[0-9]{1,3}\.[0-9]", age_text), age_text  # 38.0
    assert parsed["output"]["baseinfo"]["age"].as_tuple().exponent == -1


@pytest.mark.usefixtures("core_url")
def test_2101_and_2102_amounts_are_two_decimal_numbers_and_replay_is_byte_identical(client, terminal):
    app = AppClient(client, "wechat").login()
    app.activate(EMPLOYEE, pin="258036")
    assert terminal.decode(code_issue(Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no)).code)["code"] == 0
    bill = terminal.bill(SMALL)
    for infno, msgid in (("2101", "FMT-2101-1"), ("2102", "FMT-2102-1")):
        body = json.dumps(terminal.envelope(infno, bill, msgid=msgid), ensure_ascii=False).encode()
        raw = terminal.post_bytes(body)
        parsed = envelope_of(raw)
        assert parsed["infcode"] == 0, parsed
        setlinfo = parsed["output"]["setlinfo"]
        for name in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay", "balc"):
            assert isinstance(setlinfo[name], Decimal) and setlinfo[name].as_tuple().exponent == -2, (name, setlinfo)
            [text] = money_in_raw(raw, name)[:1]
            assert re.fullmatch(r"-?[0-9]+\.[0-9]{2}", text), (name, text)
        assert setlinfo["medfee_sumamt"] == Decimal("50.00")
        assert b'"acct_pay":"' not in raw and b'"medfee_sumamt":"' not in raw  # no amount as a string
        # a retry of the same msgid (inf_time re-stamped) gets the very same bytes
        again = json.loads(body)
        again["inf_time"] = "2026-01-01 00:00:00"
        assert terminal.post_bytes(json.dumps(again, ensure_ascii=False).encode()) == raw


def test_refusals_have_every_envelope_field(terminal):
    # malformed body, unknown infno, bad signature, not signed in: each a full envelope
    for raw in (
        terminal.post_bytes(b"{not json"),
        terminal.post_bytes(b'{"infno":"9001"}'),
        terminal.post_bytes(json.dumps(terminal.envelope("8888", {})).encode()),
        terminal.post_bytes(json.dumps(terminal.envelope("9001", {"signIn": {"opter_no": "1"}})).encode(),
                            headers={"x-tif-paasid": PHARMACY.fixmedins_code, "x-tif-signature": "x",
                                     "x-tif-timestamp": "1", "x-tif-nonce": "abcdefgh"}),
        terminal.post_bytes(json.dumps(terminal.envelope("1101", {"data": {}}, sign_no="nope")).encode()),
    ):
        parsed = envelope_of(raw)
        assert parsed["infcode"] != 0 and parsed["err_msg"] and parsed["output"] == {}


def test_a_body_refused_before_reading_is_still_a_full_envelope(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    terminal = Terminal(client, PHARMACY.fixmedins_code, PHARMACY.secret)
    raw = terminal.post_bytes(b'{"x":"' + b"a" * 5000 + b'"}', headers={})
    parsed = envelope_of(raw)
    assert parsed["infcode"] == InfCode.MALFORMED and "报文过大" in parsed["err_msg"]


def test_envelope_request_fields_real_clients_send_are_accepted(terminal):
    extra = {"dev_no": "POS-0001", "dev_safe_info": "safe", "cainfo": "c2lnbmF0dXJl", "signtype": "SM3"}
    body = terminal.envelope("9001", {"signIn": {"opter_no": "0001"}}, msgid="FMT-DEV-1", **extra)
    first = terminal.post_bytes(json.dumps(body).encode())
    assert envelope_of(first)["infcode"] == 0
    # a retry re-signs (new cainfo) and re-stamps: still the same request, the same answer
    body.update(cainfo="b3RoZXI=", inf_time="2026-01-01 00:00:00")
    assert terminal.post_bytes(json.dumps(body).encode()) == first
    # malformed: too long for the spec's length
    too_long = terminal.envelope("9001", {"signIn": {"opter_no": "0001"}}, signtype="X" * 11)
    parsed = envelope_of(terminal.post_bytes(json.dumps(too_long).encode()))
    assert parsed["infcode"] == InfCode.MALFORMED and "signtype" in parsed["err_msg"]


def test_renderer_writes_exact_numbers_and_refuses_floats():
    stamped = Receipt(ADMDVS).stamp(answer("m", {"setlinfo": {"acct_pay": fen_to_amount(0),
                                                               "medfee_sumamt": fen_to_amount(330000),
                                                               "age": Decimal("38.0")}}))
    raw = render_answer(stamped)
    assert b'"acct_pay":0.00,"medfee_sumamt":3300.00,"age":38.0' in raw
    with pytest.raises(TypeError):
        render_answer(Receipt(ADMDVS).stamp(answer("m", {"setlinfo": {"acct_pay": 0.1}})))
    with pytest.raises(ValueError):
        render_answer({"infcode": 0, "output": {}})  # not stamped: fields missing


def test_output_numbers_converts_a_legacy_string_core_exactly():
    converted = output_numbers({"setlinfo": {"acct_pay": "17.5", "balc": "0", "age": "38", "psn_no": "0012"},
                                "detlcutinfo": [{"cnt": "2.0000", "pric": "25.123456"}]})
    assert converted["setlinfo"] == {"acct_pay": Decimal("17.50"), "balc": Decimal("0.00"), "age": Decimal("38.0"),
                                     "psn_no": "0012"}
    assert str(converted["detlcutinfo"][0]["pric"]) == "25.123456"


# --- static: no float on amounts, no answer parsed without Decimal -------------------------

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("wallet", "codes", "terminal", "payments", "demo", "settlement", "common", "core_platform")
# json.loads sites that read no envelope answer (checked by hand): the strict reader
# chooses parse_float itself; demo data, catalogue/policy files, the decode's Redis
# record {id, token}; EncryptedJSONField (journals of requests, kept as strings).
JSON_LOADS_ALLOWED = {
    "common/jsonbody.py", "common/demodata.py", "common/encrypted_fields.py", "terminal/services/decode.py",
    "core_platform/services/catalogue.py", "core_platform/management/commands/core_load_policy.py",
}


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def test_no_float_on_amounts_and_no_answer_parsed_through_float():
    offenders = []
    for name, text in _sources():
        for number, line in enumerate(text.splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"\bfloat\(", code):
                offenders.append(f"{name}:{number}: float(")
            if re.search(r"\.json\(\)", code):
                offenders.append(f"{name}:{number}: .json() parses numbers as float")
            if "json.loads(" in code and "parse_float" not in code and name not in JSON_LOADS_ALLOWED:
                offenders.append(f"{name}:{number}: json.loads without parse_float=Decimal")
            if re.search(r"\bJsonResponse\(", code) and name in ("terminal/apis.py", "core_platform/apis.py"):
                offenders.append(f"{name}:{number}: envelope endpoints render with common.envelope.render_answer")
    assert not offenders, "\n".join(offenders)


def test_inf_refmsgid_numbers_come_in_blocks_that_never_overlap():
    """Two processes (two block tables over one Redis) answering in the same
    second get disjoint sequence numbers; each takes one Redis block of
    SEQUENCE_BLOCK numbers, not one round trip per answer."""
    from common import envelope
    from common.redis import redis_client

    second = "20261127120000"
    seen = []
    for _process in range(2):
        envelope._blocks.clear()  # another process: its own blocks
        seen += [envelope._sequence("999999", second) for _ in range(envelope.SEQUENCE_BLOCK + 3)]
    assert len(set(seen)) == len(seen) == 2 * (envelope.SEQUENCE_BLOCK + 3)
    assert int(redis_client().get(f"yibao:refmsgid:999999:{second}")) == 4 * envelope.SEQUENCE_BLOCK
