"""The terminal gateway at /fsi/api/rsfComIfsService/callService: good
envelopes, malformed ones, unknown infno, bad credentials, msgid replay, and
1101 forwarded to the settlement core running as its own HTTP service."""

from __future__ import annotations

import json
from decimal import Decimal
import re
import time

import pytest

from accounts.models import AuditEvent
from common import demodata, signing
from common.envelope import InfCode
from terminal.models import GatewayMessage
from terminal.services.institutions import institution_register
from tests.support.terminal import Terminal

pytestmark = pytest.mark.django_db

DATA = demodata.generate(demodata.DEFAULT_SEED)
PHARMACY = next(i for i in DATA.institutions if i.kind == "pharmacy" and i.designated)
UNDESIGNATED = next(i for i in DATA.institutions if not i.designated)
EMPLOYEE = demodata.DEMO_PERSONAS["employee"]


def _register(inst) -> None:
    institution_register(fixmedins_code=inst.fixmedins_code, name=inst.name, kind=inst.kind, level=inst.level,
                         region=inst.region, designated=inst.designated, secret=inst.secret)


@pytest.fixture
def terminal(client):
    _register(PHARMACY)
    return Terminal(client, PHARMACY.fixmedins_code, PHARMACY.secret)


def test_sign_in_returns_sign_no_and_is_audited(terminal):
    answer = terminal.call("9001", {"signIn": {"opter_no": "0001", "mac": "m", "ip": "10.0.0.1"}})
    assert answer["infcode"] == 0 and answer["err_msg"] == ""
    sign_no = answer["output"]["signinoutb"]["sign_no"]
    assert len(sign_no) == 26 and sign_no.isdigit()
    assert answer["inf_refmsgid"]
    event = AuditEvent.objects.get(action="terminal.sign_in")
    assert event.actor == PHARMACY.fixmedins_code and event.detail["sign_no"] == sign_no


def test_sign_in_requires_operator(terminal):
    answer = terminal.call("9001", {"signIn": {}})
    assert answer["infcode"] == InfCode.INPUT_INVALID
    assert "opter_no" in answer["err_msg"]


@pytest.mark.parametrize("body, expected", [
    (b"not json at all", "报文不是合法的JSON"),
    (b"[1, 2]", "报文必须是JSON对象"),
    (json.dumps({"infno": "9001", "msgid": "M1"}).encode(), "报文缺少必填字段"),
    (json.dumps({"infno": "9001", "msgid": "bad msgid!", "fixmedins_code": "P1", "inf_time": "x",
                 "input": {}}).encode(), "msgid 格式不正确"),
    (json.dumps({"infno": "9001", "msgid": "M1", "fixmedins_code": "P1", "inf_time": "x",
                 "input": []}).encode(), "input 必须是JSON对象"),
])
def test_malformed_envelope_is_answered_not_crashed(terminal, body, expected):
    answer = terminal.post_raw(body)
    assert answer["infcode"] == InfCode.MALFORMED
    assert expected in answer["err_msg"]


def test_unknown_infno(terminal):
    terminal.sign_in()
    answer = terminal.call("8888", {})
    assert answer["infcode"] == InfCode.UNKNOWN_INFNO
    assert "8888" in answer["err_msg"]


def test_wrong_secret_is_refused(terminal):
    body = json.dumps(terminal.envelope("9001", {"signIn": {"opter_no": "1"}})).encode()
    answer = terminal.post_raw(body, signing.sign_headers(PHARMACY.fixmedins_code, "not-the-secret", body))
    assert answer["infcode"] == InfCode.AUTH_FAILED and answer["err_msg"] == "签名校验失败"


def test_unknown_institution_is_refused(terminal):
    stranger = Terminal(terminal.client, "P999999999999", "whatever")
    answer = stranger.call("9001", {"signIn": {"opter_no": "1"}})
    assert answer["infcode"] == InfCode.AUTH_FAILED and "未注册" in answer["err_msg"]


def test_missing_signature_headers(terminal):
    body = json.dumps(terminal.envelope("9001", {"signIn": {"opter_no": "1"}})).encode()
    answer = terminal.post_raw(body, {})
    assert answer["infcode"] == InfCode.AUTH_FAILED and "x-tif-signature" in answer["err_msg"]


def test_signature_of_another_institution_is_refused(terminal):
    other = next(i for i in DATA.institutions if i.designated and i.fixmedins_code != PHARMACY.fixmedins_code)
    _register(other)
    body = json.dumps(terminal.envelope("9001", {"signIn": {"opter_no": "1"}})).encode()
    answer = terminal.post_raw(body, signing.sign_headers(other.fixmedins_code, other.secret, body))
    assert answer["infcode"] == InfCode.AUTH_FAILED and "不一致" in answer["err_msg"]


def test_stale_timestamp_is_refused(terminal):
    body = json.dumps(terminal.envelope("9001", {"signIn": {"opter_no": "1"}})).encode()
    headers = signing.sign_headers(PHARMACY.fixmedins_code, PHARMACY.secret, body, now=time.time() - 3600)
    answer = terminal.post_raw(body, headers)
    assert answer["infcode"] == InfCode.AUTH_FAILED and "时间" in answer["err_msg"]


def test_nonce_replay_is_refused(terminal):
    body = json.dumps(terminal.envelope("9001", {"signIn": {"opter_no": "1"}})).encode()
    headers = signing.sign_headers(PHARMACY.fixmedins_code, PHARMACY.secret, body)
    assert terminal.post_raw(body, headers)["infcode"] == 0
    again = terminal.post_raw(body, headers)
    assert again["infcode"] == InfCode.AUTH_FAILED and "nonce" in again["err_msg"]


def test_msgid_replay_returns_the_first_answer(terminal):
    envelope = terminal.envelope("9001", {"signIn": {"opter_no": "0001"}}, msgid="REPLAY0001")
    first = terminal.post_raw(json.dumps(envelope).encode())
    time.sleep(1.1)
    envelope["inf_time"] = "2026-11-23 10:00:00"  # a retry re-stamps inf_time; still the same request
    first_raw = terminal.last_raw
    second = terminal.post_raw(json.dumps(envelope).encode())
    assert first["infcode"] == 0
    assert terminal.last_raw == first_raw  # byte-for-byte: same sign_no, inf_refmsgid, refmsg_time, respond_time
    assert second == first
    assert GatewayMessage.objects.filter(msgid="REPLAY0001").count() == 1


def test_msgid_reused_with_different_body_is_refused(terminal):
    terminal.call("9001", {"signIn": {"opter_no": "0001"}}, msgid="REUSE0001")
    answer = terminal.call("9001", {"signIn": {"opter_no": "0002"}}, msgid="REUSE0001")
    assert answer["infcode"] == InfCode.MSGID_CONFLICT
    assert "msgid" in answer["err_msg"]


def test_transactions_need_sign_in(terminal):
    answer = terminal.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": EMPLOYEE.id_number}})
    assert answer["infcode"] == InfCode.NOT_SIGNED_IN
    terminal.sign_no = "12345"
    answer = terminal.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": EMPLOYEE.id_number}})
    assert answer["infcode"] == InfCode.NOT_SIGNED_IN and "无效" in answer["err_msg"]


def test_person_info_by_id_number_from_the_core(terminal, core_url):
    terminal.sign_in()
    answer = terminal.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": EMPLOYEE.id_number,
                                             "psn_cert_type": "01", "certno": EMPLOYEE.id_number,
                                             "psn_name": EMPLOYEE.name}})
    assert answer["infcode"] == 0, answer
    base = answer["output"]["baseinfo"]
    assert base["psn_no"] == EMPLOYEE.psn_no
    assert base["psn_name"] == EMPLOYEE.name
    assert base["certno"] == EMPLOYEE.id_number  # designated institution that supplied the ID itself
    assert base["gend"] == EMPLOYEE.gender
    insu = answer["output"]["insuinfo"][0]
    assert insu["insutype"] == "310" and insu["insuplc_admdvs"] == EMPLOYEE.insured_region
    # a JSON number with two decimals (parsed exactly; the amount moves with other tests)
    assert isinstance(insu["balc"], Decimal) and insu["balc"].as_tuple().exponent == -2
    assert re.search(r'"balc":\d+\.\d{2}[,}]', terminal.last_raw.decode())
    assert isinstance(base["age"], Decimal) and base["age"].as_tuple().exponent == -1  # 数值型 4,1: 76.0
    assert "evoucher" not in answer["output"]


def test_person_info_masks_id_for_undesignated_institution(client, core_url):
    _register(UNDESIGNATED)
    terminal = Terminal(client, UNDESIGNATED.fixmedins_code, UNDESIGNATED.secret)
    terminal.sign_in()
    answer = terminal.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": EMPLOYEE.id_number}})
    assert answer["infcode"] == 0, answer
    certno = answer["output"]["baseinfo"]["certno"]
    assert certno == EMPLOYEE.id_number[:3] + "*" * 11 + EMPLOYEE.id_number[-4:]


def test_person_info_refuses_bad_id_and_unknown_person(terminal, core_url):
    terminal.sign_in()
    bad = EMPLOYEE.id_number[:17] + ("0" if EMPLOYEE.id_number[17] != "0" else "1")
    answer = terminal.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": bad}})
    assert answer["infcode"] == InfCode.INPUT_INVALID and "校验位" in answer["err_msg"]
    unknown = demodata.idnumber.make("110105", EMPLOYEE.birth_date, 999)
    answer = terminal.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": unknown}})
    assert answer["infcode"] == InfCode.PERSON_NOT_FOUND
    answer = terminal.call("1101", {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": "X"}})
    assert answer["infcode"] == InfCode.CERT_TYPE_UNSUPPORTED


def test_core_down_is_retryable_with_the_same_msgid(terminal, settings, core_live):
    terminal.sign_in()
    settings.SETTLEMENT_CORE_URL = "http://127.0.0.1:9/core"  # nothing listens there
    input = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": EMPLOYEE.id_number}}
    answer = terminal.call("1101", input, msgid="COREDOWN01")
    assert answer["infcode"] == InfCode.CORE_UNAVAILABLE and "重试" in answer["err_msg"]
    settings.SETTLEMENT_CORE_URL = core_live.url
    answer = terminal.call("1101", input, msgid="COREDOWN01")
    assert answer["infcode"] == 0 and answer["output"]["baseinfo"]["psn_no"] == EMPLOYEE.psn_no


def test_log_lines_mask_id_numbers():
    import logging

    from django.conf import settings

    from common.logging import MaskIdNumbersFilter

    for name, handler in settings.LOGGING["handlers"].items():
        assert "mask_ids" in handler.get("filters", []), name
    record = logging.getLogger("x").makeRecord("x", logging.INFO, __file__, 1, "looked up %s for %s",
                                                (EMPLOYEE.id_number, "POS"), None)
    record.certno = EMPLOYEE.id_number
    MaskIdNumbersFilter().filter(record)
    masked = EMPLOYEE.id_number[:3] + "*" * 11 + EMPLOYEE.id_number[-4:]
    assert record.getMessage() == f"looked up {masked} for POS"
    assert record.certno == masked
