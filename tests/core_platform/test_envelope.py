import time
from decimal import Decimal

import pytest

from common.envelope import InfCode
from core_platform.enums import MessageStatus
from core_platform.models import EnvelopeMessage

from .conftest import CLOSED_ID, EMPLOYEE_ID
from .signing import URL, call, envelope, post

pytestmark = pytest.mark.django_db(databases=["default", "core"])


def person_input(number: str, cert_type: str = "02", **extra) -> dict:
    data = {"mdtrt_cert_type": cert_type, "mdtrt_cert_no": number, "card_sn": "", "begntime": "",
            "psn_cert_type": "01", "certno": number if cert_type == "02" else "", "psn_name": ""}
    data.update(extra)
    return {"data": data}


def test_1101_by_id_number(client, core_people):
    answer = call(client, envelope("1101", person_input(EMPLOYEE_ID, psn_name="王芳")))
    assert answer["infcode"] == 0, answer
    base = answer["output"]["baseinfo"]
    assert base["psn_no"] == core_people["employee"].psn_no
    assert base["certno"] == EMPLOYEE_ID and base["psn_cert_type"] == "01"
    assert base["psn_name"] == "王芳" and base["gend"] == "2" and base["brdy"] == "1949-12-31"
    assert type(base["age"]) is Decimal and base["age"] > 75 and base["age"].as_tuple().exponent == -1  # 4,1
    [insu] = answer["output"]["insuinfo"]
    assert str(insu["balc"]) == "1234.56"  # a JSON number, two places
    assert insu["insutype"] == "310" and insu["psn_type"] == "21" and insu["psn_insu_stas"] == "1"
    assert insu["insuplc_admdvs"] == "110100" and insu["emp_name"] == "北京恒信科技有限公司"
    assert answer["output"]["idetinfo"] == []
    assert answer["output"]["evoucher"] == {"region_open": True}


def test_1101_by_certno_only_and_lowercase_x(client, core_people):
    data = {"data": {"psn_cert_type": "01", "certno": EMPLOYEE_ID.lower()}}
    answer = call(client, envelope("1101", data))
    assert answer["infcode"] == 0 and answer["output"]["baseinfo"]["psn_no"] == core_people["employee"].psn_no


def test_1101_by_psn_no(client, core_people):
    resident = core_people["resident"]
    answer = call(client, envelope("1101", person_input(resident.psn_no, cert_type="99")))
    assert answer["infcode"] == 0
    assert answer["output"]["baseinfo"]["psn_no"] == resident.psn_no
    assert str(answer["output"]["insuinfo"][0]["balc"]) == "0.00"
    assert answer["output"]["insuinfo"][0]["psn_type"] == "32"  # a minor resident


def test_1101_region_not_open(client, core_people):
    answer = call(client, envelope("1101", person_input(CLOSED_ID)))
    assert answer["infcode"] == 0 and answer["output"]["evoucher"] == {"region_open": False}


def test_1101_person_not_found(client, core_people):
    answer = call(client, envelope("1101", person_input("440524198001010013")))
    assert answer["infcode"] == InfCode.PERSON_NOT_FOUND
    assert answer["err_msg"] == "未查询到该人员参保信息"
    answer = call(client, envelope("1101", person_input("11010000000000009999", cert_type="99")))
    assert answer["infcode"] == InfCode.PERSON_NOT_FOUND


def test_1101_name_mismatch(client, core_people):
    answer = call(client, envelope("1101", person_input(EMPLOYEE_ID, psn_name="王芬")))
    assert answer["infcode"] == InfCode.PERSON_NAME_MISMATCH and "姓名" in answer["err_msg"]


def test_1101_unsupported_cert_type(client, core_people):
    answer = call(client, envelope("1101", person_input("token-abc", cert_type="01")))
    assert answer["infcode"] == InfCode.CERT_TYPE_UNSUPPORTED


@pytest.mark.parametrize("input_", [
    {},
    {"data": "x"},
    {"data": {"mdtrt_cert_type": "02"}},
    {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "110105194912310021"}},  # bad check digit
])
def test_1101_missing_or_invalid_fields(client, core_people, input_):
    answer = call(client, envelope("1101", input_))
    assert answer["infcode"] == InfCode.INPUT_INVALID, answer


def test_missing_envelope_fields(client):
    body = envelope("1101", {"data": {}})
    del body["infno"]
    answer = call(client, body)
    assert answer["infcode"] == InfCode.MALFORMED and "infno" in answer["err_msg"]


def test_malformed_body(client):
    answer = call(client, [1, 2, 3].__repr__().encode())
    assert answer["infcode"] == InfCode.MALFORMED


def test_non_json(client):
    answer = call(client, b"\xff\xfenot json")
    assert answer["infcode"] == InfCode.MALFORMED


def test_unknown_infno(client):
    answer = call(client, envelope("9999", {}))
    assert answer["infcode"] == InfCode.UNKNOWN_INFNO


def test_bad_signature(client):
    answer = call(client, envelope("1201", {}), secret="not-the-secret")
    assert answer["infcode"] == InfCode.AUTH_FAILED and answer["err_msg"] == "签名校验失败"


def test_wrong_client_id(client):
    answer = call(client, envelope("1201", {}), client_id="someone-else")
    assert answer["infcode"] == InfCode.AUTH_FAILED


def test_missing_headers(client):
    response = client.post(URL, data=b"{}", content_type="application/json")
    assert response.status_code == 200 and response.json()["infcode"] == InfCode.AUTH_FAILED


def test_stale_timestamp(client, settings):
    answer = call(client, envelope("1201", {}), now=time.time() - settings.GATEWAY_CLOCK_SKEW_SECONDS - 5)
    assert answer["infcode"] == InfCode.AUTH_FAILED and "时间戳" in answer["err_msg"]


def test_nonce_replay(client, core_people):
    import json as json_mod

    from common import signing
    from django.conf import settings

    raw = json_mod.dumps(envelope("1201", {})).encode()
    headers = signing.sign_headers(settings.CORE_API_CLIENT_ID, settings.CORE_API_SECRET, raw)
    first = client.post(URL, data=raw, content_type="application/json", headers=headers).json()
    again = client.post(URL, data=raw, content_type="application/json", headers=headers).json()
    assert first["infcode"] == 0
    assert again["infcode"] == InfCode.AUTH_FAILED and "随机数" in again["err_msg"]


def test_msgid_replay_returns_first_answer_verbatim(client, core_people):
    body = envelope("1101", person_input(EMPLOYEE_ID), msgid="replay-1")
    first = post(client, body)
    time.sleep(1.1)  # a re-computed answer would carry a new respond_time
    body["inf_time"] = time.strftime("%Y-%m-%d %H:%M:%S")  # a retry re-stamps inf_time
    second = post(client, body)
    assert first.json()["infcode"] == 0
    assert second.content == first.content
    assert EnvelopeMessage.objects.get(msgid="replay-1").status == MessageStatus.DONE


def test_msgid_replay_of_refusal(client, core_people):
    body = envelope("1101", person_input("440524198001010013"), msgid="replay-2")
    assert post(client, body).content == post(client, body).content


def test_same_msgid_different_body_conflicts(client, core_people):
    call(client, envelope("1101", person_input(EMPLOYEE_ID), msgid="dup-1"))
    answer = call(client, envelope("1101", person_input(CLOSED_ID), msgid="dup-1"))
    assert answer["infcode"] == InfCode.MSGID_CONFLICT
    # the core's own message id (CORE_ADMDVS + time + sequence), never an echo of the msgid
    assert answer["inf_refmsgid"] != "dup-1" and len(answer["inf_refmsgid"]) == 30


def test_same_msgid_other_institution_is_independent(client, core_people):
    call(client, envelope("1101", person_input(EMPLOYEE_ID), msgid="dup-2", fixmedins_code="H11010000001"))
    answer = call(client, envelope("1101", person_input(CLOSED_ID), msgid="dup-2", fixmedins_code="P11010000002"))
    assert answer["infcode"] == 0


def test_msgid_in_progress(client, core_people, settings):
    body = envelope("1101", person_input(EMPLOYEE_ID), msgid="busy-1")
    from common.envelope import parse
    import json as json_mod

    env = parse(json_mod.dumps(body).encode())
    EnvelopeMessage.objects.create(client_id=settings.CORE_API_CLIENT_ID, fixmedins_code=env.fixmedins_code,
                                   msgid="busy-1", infno="1101", request_hash=env.body_hash())
    answer = call(client, body)
    assert answer["infcode"] == InfCode.MSGID_IN_PROGRESS


def test_internal_error_is_an_answer_not_a_500(client, core_people, monkeypatch):
    from core_platform.services import transactions

    def boom(env):
        raise RuntimeError("database exploded")

    monkeypatch.setitem(transactions.HANDLERS, "1101", boom)
    body = envelope("1101", person_input(EMPLOYEE_ID), msgid="boom-1")
    response = post(client, body)
    assert response.status_code == 200
    assert response.json()["infcode"] == InfCode.INTERNAL and response.json()["err_msg"]
    assert not EnvelopeMessage.objects.filter(msgid="boom-1").exists()  # released: a retry runs again
    monkeypatch.undo()
    assert call(client, body)["infcode"] == 0


def test_1201_all_and_one(client, core_people):
    answer = call(client, envelope("1201", {"medinsinfo": {}}))
    assert answer["infcode"] == 0
    by_code = {row["fixmedins_code"]: row for row in answer["output"]["medinsinfo"]}
    assert by_code["H11010000001"] == {"fixmedins_code": "H11010000001", "fixmedins_name": "北京市第一人民医院",
                                       "fixmedins_type": "1", "hosp_lv": "3", "admdvs": "110100", "designated": "1"}
    assert by_code["P11010000002"]["fixmedins_type"] == "2" and by_code["P11010000002"]["designated"] == "0"
    one = call(client, envelope("1201", {"medinsinfo": {"fixmedins_code": "P11010000002"}}))
    assert [row["fixmedins_code"] for row in one["output"]["medinsinfo"]] == ["P11010000002"]
    none = call(client, envelope("1201", {"medinsinfo": {"fixmedins_code": "NOPE0001"}}))
    assert none["infcode"] == 0 and none["output"]["medinsinfo"] == []


def test_full_id_number_never_logged(client, core_people, caplog):
    call(client, envelope("1101", person_input("440524198001010013")))
    assert "440524198001010013" not in caplog.text


@pytest.mark.parametrize("cursor", ["１", " 1", "1e3", 10**30, -1, True, "12345678901234567890"])
def test_pull_cursor_that_is_not_a_plain_integer_is_input_invalid(client, cursor):
    """9301/9302/9303 take cursor and limit as integers (ASCII digits in a
    string, or a JSON integer) within what the database holds: anything else
    is a 1007 refusal, never a 5999 from an overflowing query."""
    answer = call(client, envelope("9301", {"data": {"cursor": cursor}}))
    assert answer["infcode"] == InfCode.INPUT_INVALID, answer
    assert answer["err_msg"] == "cursor/limit 须为非负整数"
