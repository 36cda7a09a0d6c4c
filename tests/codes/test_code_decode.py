"""Redeeming codes: the time window, single use, the decode endpoint's
answers, and the ecToken bound to its institution and expiry."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from common import demodata, signing
from common.envelope import InfCode
from tests.support.app import AppClient
from tests.support.terminal import Terminal
from codes import format as codes
from terminal.models import EcToken
from wallet.models import Voucher
from codes.services.issue import CodeRefused, code_issue, code_redeem
from terminal.services.institutions import institution_register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]

DATA = demodata.generate(demodata.DEFAULT_SEED)
PHARMACIES = [i for i in DATA.institutions if i.kind == "pharmacy" and i.designated]
UNDESIGNATED = next(i for i in DATA.institutions if not i.designated)
EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
DECODE = "/localcfc/api/hsecfc/localQrCodeQuery"


def _terminal(client, inst, sign_in=True) -> Terminal:
    institution_register(fixmedins_code=inst.fixmedins_code, name=inst.name, kind=inst.kind, level=inst.level,
                         region=inst.region, designated=inst.designated, secret=inst.secret)
    terminal = Terminal(client, inst.fixmedins_code, inst.secret)
    if sign_in:
        terminal.sign_in()
    return terminal


def decode(terminal: Terminal, qr_code: str, business_type: str = "02121", headers=None) -> dict:
    body = json.dumps({"transType": "ec.query", "orgId": terminal.code,
                       "data": {"orgId": terminal.code, "businessType": business_type, "operatorId": "0001",
                                "operatorName": "收银员甲", "officeId": "01", "officeName": "西药柜台",
                                "deviceType": "POS", "qrCode": qr_code}}, ensure_ascii=False).encode()
    response = terminal.client.post(DECODE, data=body, content_type="application/json",
                                    headers=headers if headers is not None else
                                    signing.sign_headers(terminal.code, terminal.secret, body))
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def voucher(client):
    AppClient(client).login().activate(EMPLOYEE)
    return Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no)


@pytest.fixture
def pharmacy(client):
    return _terminal(client, PHARMACIES[0])


# --- the time window ------------------------------------------------------------

def test_window_edges(voucher):
    t0 = 1_800_000_000.0 - (1_800_000_000 % 30)  # a step boundary
    issued = code_issue(voucher, now=t0 + 29.9)  # late in its step
    assert issued.expires_at == t0 + 30 and issued.valid_until == t0 + 60
    assert code_redeem(issued.code, now=t0 + 29.95).pk == voucher.pk  # same step

    previous = code_issue(voucher, now=t0 + 1)
    assert code_redeem(previous.code, now=t0 + 30 + 29.9).pk == voucher.pk  # next step: still accepted

    older = code_issue(voucher, now=t0 + 1)
    with pytest.raises(CodeRefused) as refused:
        code_redeem(older.code, now=t0 + 60.0)  # two steps later: expired
    assert refused.value.code == "EC_CODE_EXPIRED"

    future = code_issue(voucher, now=t0 + 30)
    with pytest.raises(CodeRefused) as refused:
        code_redeem(future.code, now=t0 + 29.9)  # from the next step: refused
    assert refused.value.code == "EC_CODE_UNKNOWN"


def test_second_redeem_is_refused(voucher):
    issued = code_issue(voucher)
    code_redeem(issued.code)
    with pytest.raises(CodeRefused) as refused:
        code_redeem(issued.code)
    assert refused.value.code == "EC_CODE_USED"


def test_corruption_is_caught_before_any_lookup(voucher, django_assert_num_queries):
    code = code_issue(voucher).code
    broken = code[:10] + str((int(code[10]) + 1) % 10) + code[11:]
    with django_assert_num_queries(0), pytest.raises(CodeRefused) as refused:
        code_redeem(broken)
    assert refused.value.code == "EC_CODE_CORRUPTED"


def test_forged_block_without_the_voucher_secret(voucher):
    from django.conf import settings

    forged = codes.issue(voucher.pk, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", key=settings.FIELD_ENCRYPTION_KEY,
                         step=codes.current_step(30), step_seconds=30)
    with pytest.raises(CodeRefused) as refused:
        code_redeem(forged)
    assert refused.value.code == "EC_CODE_UNKNOWN"


# --- the decode endpoint --------------------------------------------------------------

def test_decode_returns_an_ectoken_and_the_person(voucher, pharmacy):
    answer = decode(pharmacy, code_issue(voucher).code)
    assert answer["code"] == 0 and answer["message"] == "成功", answer
    data = answer["data"]
    assert len(data["ecToken"]) == 40 and data["ecToken"].startswith("EC")
    assert data["userName"] == EMPLOYEE.name and data["idType"] == "01"
    assert data["idNo"] == EMPLOYEE.id_number  # designated and signed in
    assert data["insuOrg"] == EMPLOYEE.insured_region and data["gender"] == EMPLOYEE.gender
    assert data["birthday"] == EMPLOYEE.birth_date.strftime("%Y%m%d")
    assert len(data["ecIndexNo"]) == 32
    token = EcToken.objects.get()
    assert data["ecToken"] not in token.token_hash
    assert dt.timedelta(minutes=9) < token.expires_at - timezone.now() <= dt.timedelta(minutes=10)


def test_decode_retry_by_the_same_terminal_gets_the_same_token(voucher, pharmacy, client):
    code = code_issue(voucher).code
    first = decode(pharmacy, code)
    again = decode(pharmacy, code)
    assert again == first and EcToken.objects.count() == 1
    other = _terminal(client, PHARMACIES[1])
    assert decode(other, code)["errorCode"] == "EC_CODE_USED"


def test_ec_index_differs_across_institutions(voucher, pharmacy, client):
    other = _terminal(client, PHARMACIES[1])
    a = decode(pharmacy, code_issue(voucher).code)["data"]["ecIndexNo"]
    b = decode(other, code_issue(voucher).code)["data"]["ecIndexNo"]
    c = decode(pharmacy, code_issue(voucher).code)["data"]["ecIndexNo"]
    assert a == c and a != b


@pytest.mark.parametrize("mutate, infcode, error_code", [
    (lambda c: c[:-1] + str((int(c[-1]) + 1) % 10), InfCode.CODE_CORRUPTED, "EC_CODE_CORRUPTED"),
    (lambda c: "hello", InfCode.CODE_CORRUPTED, "EC_CODE_CORRUPTED"),
])
def test_decode_refuses_corrupted(voucher, pharmacy, mutate, infcode, error_code):
    answer = decode(pharmacy, mutate(code_issue(voucher).code))
    assert (answer["code"], answer["errorCode"], answer["data"]) == (int(infcode), error_code, None)
    assert answer["message"] and not answer["message"].isascii()


def test_decode_refuses_expired_and_unknown(voucher, pharmacy):
    import time

    stale = code_issue(voucher, now=time.time() - 65).code
    assert decode(pharmacy, stale)["errorCode"] == "EC_CODE_EXPIRED"
    from django.conf import settings

    stranger = codes.issue(999_999, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", key=settings.FIELD_ENCRYPTION_KEY,
                           step=codes.current_step(30), step_seconds=30)
    assert decode(pharmacy, stranger)["errorCode"] == "EC_CODE_UNKNOWN"


def test_decode_refuses_undesignated_and_not_signed_in(voucher, client):
    code = code_issue(voucher).code
    undesignated = _terminal(client, UNDESIGNATED)
    answer = decode(undesignated, code)
    assert (answer["code"], answer["errorCode"]) == (InfCode.INSTITUTION_NOT_DESIGNATED, "EC_INSTITUTION_NOT_DESIGNATED")
    not_signed = _terminal(client, PHARMACIES[2], sign_in=False)
    answer = decode(not_signed, code)
    assert (answer["code"], answer["errorCode"]) == (InfCode.NOT_SIGNED_IN, "EC_NOT_SIGNED_IN")
    # Neither consumed the code.
    assert decode(_terminal(client, PHARMACIES[0]), code)["code"] == 0


def test_decode_refuses_bad_signature_and_malformed(voucher, pharmacy):
    code = code_issue(voucher).code
    assert decode(pharmacy, code, headers={})["errorCode"] == "EC_AUTH_FAILED"
    response = pharmacy.client.post(DECODE, data=b"{not json", content_type="application/json")
    assert response.json()["errorCode"] == "EC_MALFORMED"
    body = json.dumps({"transType": "ec.other", "orgId": pharmacy.code, "data": {}}).encode()
    response = pharmacy.client.post(DECODE, data=body, content_type="application/json",
                                    headers=signing.sign_headers(pharmacy.code, pharmacy.secret, body))
    assert response.json()["errorCode"] == "EC_MALFORMED"
    assert decode(pharmacy, code)["code"] == 0  # still unused


def test_revoked_channel_makes_the_voucher_unavailable(voucher, pharmacy):
    code = code_issue(voucher).code
    voucher.authorizations.update(status="revoked")
    assert decode(pharmacy, code)["errorCode"] == "EC_VOUCHER_UNAVAILABLE"


# --- ecToken in the envelope --------------------------------------------------------

def _person_info(terminal, token):
    return terminal.call("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": token, "card_sn": "",
                                           "begntime": "2026-11-23 10:00:00", "psn_cert_type": "", "certno": "",
                                           "psn_name": ""}})


def test_person_info_by_ectoken(voucher, pharmacy):
    token = decode(pharmacy, code_issue(voucher).code)["data"]["ecToken"]
    answer = _person_info(pharmacy, token)
    assert answer["infcode"] == 0, answer
    base, insu = answer["output"]["baseinfo"], answer["output"]["insuinfo"][0]
    assert base["psn_no"] == EMPLOYEE.psn_no and base["psn_name"] == EMPLOYEE.name
    assert set(base) >= {"psn_no", "psn_cert_type", "certno", "psn_name", "gend", "brdy", "age"}
    assert set(insu) >= {"balc", "insutype", "psn_type", "psn_insu_stas", "insuplc_admdvs", "emp_name"}
    assert insu["psn_insu_stas"] == "1" and insu["insutype"] == "310"


def test_ectoken_is_bound_to_its_institution(voucher, pharmacy, client):
    token = decode(pharmacy, code_issue(voucher).code)["data"]["ecToken"]
    other = _terminal(client, PHARMACIES[1])
    answer = _person_info(other, token)
    assert answer["infcode"] == InfCode.ECTOKEN_INVALID and "无效" in answer["err_msg"]


def test_ectoken_expires(voucher, pharmacy):
    token = decode(pharmacy, code_issue(voucher).code)["data"]["ecToken"]
    EcToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    answer = _person_info(pharmacy, token)
    assert answer["infcode"] == InfCode.ECTOKEN_INVALID and "过期" in answer["err_msg"]
    assert _person_info(pharmacy, "EC" + "A" * 38)["infcode"] == InfCode.ECTOKEN_INVALID


# --- the person's REST fallback and images ------------------------------------------

def test_rest_fallback_and_images(client):
    app = AppClient(client).login()
    app.activate(EMPLOYEE)
    current = app.get("/api/voucher/code").json()
    assert len(current["code"]) == 49 and current["valid_until"] - current["expires_at"] == 30
    svg = app.get(f"/api/voucher/code/qr?code={current['code']}")
    assert svg.headers["Content-Type"] == "image/svg+xml" and svg.content.startswith(b"<svg")
    assert b'viewBox="0 0 29 29"' in svg.content  # QR version 2 (25 modules + 2x2 border): numeric mode keeps it small
    png = app.get(f"/api/voucher/code/barcode?code={current['code']}&format=png")
    assert png.headers["Content-Type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    bar = app.get(f"/api/voucher/code/barcode?code={current['code']}")
    assert b"<svg" in bar.content
    other = AppClient(client).login()
    other.activate(demodata.DEMO_PERSONAS["resident"])
    refused = other.get(f"/api/voucher/code/qr?code={current['code']}")
    assert refused.status_code == 400 and refused.json()["code"] == "EC_CODE_UNKNOWN"


def test_code_page_needs_an_active_authorization(client):
    app = AppClient(client).login()
    refused = app.get("/api/voucher/code")
    assert refused.status_code == 403 and refused.json()["code"] == "NOT_ACTIVATED"

