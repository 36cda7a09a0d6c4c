"""Conformance of the terminal interface as a client sees it (issue #10).

Requests are built from the national field lists and typed as the spec types
them (tests/support/national_fixtures.py: amounts as JSON numbers with two
decimals, exactly as a decimal-typed client writes them), sent as signed text
through the real gateway to the live settlement core, and every answer is
parsed as a decimal-typed client parses it (numbers from their exact text)
and validated against the JSON Schema of the national nodes
(tests/support/national_schema.py: types, formats, lengths, required fields).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from common import demodata, signing
from common.envelope import InfCode
from tests.support import national_fixtures as fx
from tests.support.app import AppClient
from tests.support.national_schema import FILE_ROW_3202, SCHEMAS, errors, load_answer
from tests.support.pos import A_ITEMS, DECODE, pharmacy_for, register
from tests.support.terminal import GATEWAY_PATH
from wallet.models import Voucher
from codes.services.issue import code_issue

pytestmark = pytest.mark.django_db

DATA = demodata.generate(demodata.DEFAULT_SEED)
EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
PHARMACY = pharmacy_for(EMPLOYEE)  # the person's own region: a local bill (elsewhere: a filing, else 4011)
ENVELOPE_ANSWER_FIELDS = {"infcode", "inf_refmsgid", "refmsg_time", "respond_time", "err_msg", "warn_msg", "cainfo",
                          "signtype", "output"}
# 50.00 at 25.00 × 2 of a class-A item: the account part stays under the confirmation threshold.
ITEM = A_ITEMS[0].med_list_codg


def conforms(answer: dict, infno: str) -> list[str]:
    """Every violation of the envelope schema and of the transaction's output schema."""
    found = errors(answer, SCHEMAS["answer"])
    if answer.get("infcode") == 0 and isinstance(answer.get("output"), dict):
        found += [f"output/{e}" for e in errors(answer["output"], SCHEMAS[infno])]
    return found


def assert_conforms(answer: dict, infno: str) -> None:
    found = conforms(answer, infno)
    assert not found, f"{infno} answer does not conform to the national nodes:\n" + "\n".join(found)


class Counter:
    """A pharmacy POS that writes its requests from the national field lists."""

    def __init__(self, client, inst):
        register(inst)
        self.client, self.inst, self.sign_no = client, inst, ""

    def post(self, path: str, text: bytes) -> dict:
        response = self.client.post(path, data=text, content_type="application/json",
                                    headers=signing.sign_headers(self.inst.fixmedins_code, self.inst.secret, text))
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("application/json")
        return load_answer(response.content)

    def request(self, infno: str, input: dict, *, msgid: str | None = None) -> dict:
        return fx.envelope(infno, input, fixmedins_code=self.inst.fixmedins_code, fixmedins_name=self.inst.name,
                           sign_no=self.sign_no, msgid=msgid, mdtrtarea_admvs=self.inst.region)

    def send(self, infno: str, input: dict, *, strings: bool = False, msgid: str | None = None) -> dict:
        answer = self.post(GATEWAY_PATH, fx.to_text(self.request(infno, input, msgid=msgid), strings=strings))
        assert_conforms(answer, infno)
        return answer

    def sign_in(self) -> dict:
        answer = self.send("9001", fx.input_9001())
        assert answer["infcode"] == 0, answer
        self.sign_no = answer["output"]["signinoutb"]["sign_no"]
        return answer

    def decode(self, qr_code: str) -> dict:
        return self.post(DECODE, fx.to_text(fx.decode_request(self.inst.fixmedins_code, qr_code)))


@pytest.fixture
def person(client, core_url):
    app = AppClient(client, "wechat").login()
    app.activate(EMPLOYEE, pin="258036")
    return app


@pytest.fixture
def counter(client, core_url):
    counter = Counter(client, PHARMACY)
    counter.sign_in()
    return counter


def scan(counter: Counter) -> str:
    """Decode a fresh code of the person's voucher; the answer must conform."""
    voucher = Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no)
    answer = counter.decode(code_issue(voucher).code)
    found = errors(answer, SCHEMAS["decode"])
    assert not found, "decode answer does not conform:\n" + "\n".join(found)
    assert answer["code"] == 0, answer
    return answer["data"]["ecToken"]


def small_bill() -> list[dict]:
    return [fx.drug_row(1, ITEM, fx.D("25.00"), fx.D("2"))]


# --- the fixtures themselves ----------------------------------------------------------------

def test_fixtures_are_typed_as_the_spec_types_them():
    body = fx.envelope("2102", fx.input_2102(psn_no="P1", ec_token="EC" + "A" * 38, rows=small_bill()),
                       fixmedins_code=PHARMACY.fixmedins_code, fixmedins_name=PHARMACY.name, sign_no="1")
    text = fx.to_text(body).decode()
    assert '"medfee_sumamt": 50.00' in text and '"det_item_fee_sumamt": 50.00' in text
    assert '"pric": 25.00' in text and '"cnt": 2' in text
    parsed = load_answer(text)  # as a decimal-typed server reads it
    assert not errors(parsed, SCHEMAS["request"]) and not errors(parsed["input"], SCHEMAS["in_2102"])
    assert parsed["input"]["druginfo"]["medfee_sumamt"].as_tuple().exponent == -2
    assert len(parsed["msgid"]) == 30
    strings = load_answer(fx.to_text(body, strings=True))
    assert strings["input"]["druginfo"]["medfee_sumamt"] == "50.00"
    assert strings["input"]["drugdetail"][0]["cnt"] == "2"
    assert errors(strings["input"], SCHEMAS["in_2102"])  # the string form is not the spec's type


# --- answers, transaction by transaction --------------------------------------------------------

def test_sign_in_and_sign_out_conform(client, core_url):
    counter = Counter(client, PHARMACY)
    signed_in = counter.sign_in()
    assert len(signed_in["inf_refmsgid"]) == 30 and signed_in["inf_refmsgid"][:6].isdigit()
    out = counter.send("9002", fx.input_9002(counter.sign_no))
    assert out["infcode"] == 0, out
    again = counter.send("1101", fx.input_1101_by_id_number(EMPLOYEE.id_number, EMPLOYEE.name))
    assert again["infcode"] != 0 and again["err_msg"]  # signed out: refused, still a full envelope


def test_person_info_by_id_number_conforms(counter):
    answer = counter.send("1101", fx.input_1101_by_id_number(EMPLOYEE.id_number, EMPLOYEE.name))
    assert answer["infcode"] == 0, answer
    base = answer["output"]["baseinfo"]
    assert (base["psn_no"], base["certno"], base["brdy"]) == (EMPLOYEE.psn_no, EMPLOYEE.id_number,
                                                              EMPLOYEE.birth_date.isoformat())
    assert isinstance(base["age"], Decimal) and base["age"].as_tuple().exponent == -1  # 数值型 4,1: 38.0
    balc = answer["output"]["insuinfo"][0]["balc"]
    assert isinstance(balc, Decimal) and balc.as_tuple().exponent == -2


def test_decode_and_person_info_by_ectoken_conform(person, counter):
    token = scan(counter)
    answer = counter.send("1101", fx.input_1101_by_ectoken(token))
    assert answer["infcode"] == 0, answer
    assert answer["output"]["baseinfo"]["psn_no"] == EMPLOYEE.psn_no


def test_pre_settle_settle_and_reverse_with_numbers_conform(person, counter):
    token = scan(counter)
    bill = dict(psn_no=EMPLOYEE.psn_no, ec_token=token, rows=small_bill())
    pre = counter.send("2101", fx.input_2101(**bill))
    assert pre["infcode"] == 0, pre
    info = pre["output"]["setlinfo"]
    assert info["medfee_sumamt"] == Decimal("50.00")
    assert info["fund_pay_sumamt"] + info["acct_pay"] + info["psn_cash_pay"] == Decimal("50.00")
    assert [row["feedetl_sn"] for row in pre["output"]["detlcutinfo"]] == ["0001"]
    assert sum(d["fund_payamt"] for d in pre["output"]["setldetail"]) == info["fund_pay_sumamt"]

    settled = counter.send("2102", fx.input_2102(**bill))
    assert settled["infcode"] == 0, settled
    setl = settled["output"]["setlinfo"]
    assert setl["setl_id"] and setl["acct_pay"] == info["acct_pay"]

    reversed_ = counter.send("2103", fx.input_2103(psn_no=EMPLOYEE.psn_no, setl_id=setl["setl_id"],
                                                   mdtrt_id=setl["mdtrt_id"]))
    assert reversed_["infcode"] == 0, reversed_
    assert abs(reversed_["output"]["setlinfo"]["medfee_sumamt"]) == Decimal("50.00")


def test_numbers_and_strings_settle_to_the_same_split(person, counter):
    """The same bill, once with numbers as numbers and once with every number
    a string: both settle, and to the same split."""
    answers = []
    for strings in (False, True):
        token = scan(counter)
        answer = counter.send("2102", fx.input_2102(psn_no=EMPLOYEE.psn_no, ec_token=token, rows=small_bill()),
                              strings=strings)
        assert answer["infcode"] == 0, (strings, answer)
        answers.append(answer["output"])
    moving = {"setl_id", "mdtrt_id", "setl_time", "balc", "medins_setl_id"}
    split = [{k: v for k, v in out["setlinfo"].items() if k not in moving} for out in answers]
    assert split[0] == split[1]
    # crt_payb_lmt_amt is what is left of the year's limit: it moves with each settlement
    funds = [[{k: v for k, v in d.items() if k != "crt_payb_lmt_amt"} for d in out["setldetail"]] for out in answers]
    assert funds[0] == funds[1] and funds[0]
    assert answers[0]["detlcutinfo"] == answers[1]["detlcutinfo"]
    assert answers[1]["setlinfo"]["balc"] == answers[0]["setlinfo"]["balc"] - answers[1]["setlinfo"]["acct_pay"]


def test_price_and_quantity_with_the_spec_s_decimals_settle(person, counter):
    """pric is 数值型 16,6 and cnt 16,4: a client that maps them to decimals
    of that scale writes 25.000000 and 2.0000; as numbers or as strings, the
    bill is the same 50.00."""
    for strings in (False, True):
        token = scan(counter)
        rows = [fx.drug_row(1, ITEM, fx.D("25.000000"), fx.D("2.0000"), amount=fx.D("50.00"))]
        answer = counter.send("2101", fx.input_2101(psn_no=EMPLOYEE.psn_no, ec_token=token, rows=rows),
                              strings=strings)
        assert answer["infcode"] == 0, (strings, answer)
        assert answer["output"]["setlinfo"]["medfee_sumamt"] == Decimal("50.00")


def test_reversal_by_msgid_conforms(person, counter):
    token = scan(counter)
    msgid = fx.new_msgid(PHARMACY.fixmedins_code)
    settled = counter.send("2102", fx.input_2102(psn_no=EMPLOYEE.psn_no, ec_token=token, rows=small_bill()),
                           msgid=msgid)
    assert settled["infcode"] == 0, settled
    answer = counter.send("2601", fx.input_2601(psn_no=EMPLOYEE.psn_no, omsgid=msgid))
    assert answer["infcode"] == 0, answer


# --- 3201 / 3202: the pharmacy reconciles its day through the gateway, as with the platform --------

def test_reconciliation_totals_and_details_conform(person, counter):
    token = scan(counter)
    settled = counter.send("2102", fx.input_2102(psn_no=EMPLOYEE.psn_no, ec_token=token, rows=small_bill()))
    assert settled["infcode"] == 0, settled
    setl = settled["output"]["setlinfo"]
    day = dt.date.today()
    totals = counter.send("3201", fx.input_3201(day=day, medfee_sumamt=setl["medfee_sumamt"],
                                                fund_pay_sumamt=setl["fund_pay_sumamt"], acct_pay=setl["acct_pay"],
                                                fixmedins_setl_cnt=1, setl_optins=EMPLOYEE.insured_region))
    assert totals["infcode"] == 0, (totals["infcode"], totals["err_msg"])
    stmt = totals["output"]["stmtinfo"]  # earlier tests' sales of the day are the core's too: 平 or 不平, said why
    assert stmt["stmt_rslt"] == "0" or (stmt["stmt_rslt"] == "1" and "医疗费总额" in stmt["stmt_rslt_dscr"]), stmt
    details = counter.send("3202", fx.input_3202(day=day, medfee_sumamt=setl["medfee_sumamt"],
                                                 fund_pay_sumamt=setl["fund_pay_sumamt"],
                                                 cash_payamt=setl["psn_cash_pay"], fixmedins_setl_cnt=1,
                                                 setl_optins=EMPLOYEE.insured_region))
    assert details["infcode"] == 0, (details["infcode"], details["err_msg"])
    rows = details["output"].get("filedata", [])  # the result file's rows, given inline
    assert setl["setl_id"] in {row["setl_id"] for row in rows}
    found = [f"filedata/{n}/{e}" for n, row in enumerate(rows) for e in errors(row, FILE_ROW_3202)]
    assert not found, "3202 result rows do not conform:\n" + "\n".join(found)


def test_a_terminal_cannot_reconcile_another_institution(counter):
    """The core's own per-day form names any institution (or all): only the
    wallet's reconciliation uses it; a terminal gets its own rows or nothing."""
    answer = counter.send("3201", {"data": {"setl_date": dt.date.today().isoformat(), "fixmedins_code": "H0001"}})
    assert answer["infcode"] == InfCode.INPUT_INVALID and "stmt_begndate" in answer["err_msg"]
    national = fx.input_3201(day=dt.date.today(), medfee_sumamt=fx.D("0.00"), fund_pay_sumamt=fx.D("0.00"),
                             acct_pay=fx.D("0.00"), fixmedins_setl_cnt=0, setl_optins=EMPLOYEE.insured_region)
    national["data"]["fixmedins_code"] = "H0001"
    answer = counter.send("3201", national)
    assert answer["infcode"] == InfCode.INPUT_INVALID and "fixmedins_code" in answer["err_msg"]


# --- refusals ------------------------------------------------------------------------------------

def test_refusals_carry_every_envelope_field(person, counter):
    bad_sign = fx.to_text(counter.request("9001", fx.input_9001()))
    bad_amount = fx.input_2102(psn_no=EMPLOYEE.psn_no, ec_token="EC" + "0" * 38, rows=small_bill())
    bad_amount["druginfo"]["medfee_sumamt"] = fx.D("50.005")  # three decimals: not 16,2
    refusals = {
        "not JSON": counter.post(GATEWAY_PATH, b"{not json"),
        "bad signature": load_answer(counter.client.post(
            GATEWAY_PATH, data=bad_sign, content_type="application/json",
            headers=signing.sign_headers(PHARMACY.fixmedins_code, "not-the-secret", bad_sign)).content),
        "unknown infno": counter.post(GATEWAY_PATH, fx.to_text(counter.request("8888", {}))),
        "bad amount": counter.post(GATEWAY_PATH, fx.to_text(counter.request("2102", bad_amount))),
        "unknown token": counter.post(GATEWAY_PATH, fx.to_text(counter.request(
            "1101", fx.input_1101_by_ectoken("EC" + "0" * 38)))),
    }
    for name, answer in refusals.items():
        assert answer["infcode"] != 0 and answer["err_msg"], (name, answer)
        assert set(answer) >= ENVELOPE_ANSWER_FIELDS, (name, sorted(ENVELOPE_ANSWER_FIELDS - set(answer)))
        found = errors(answer, SCHEMAS["answer"])
        assert not found, (name, found)


def test_decode_refusal_conforms(counter):
    answer = counter.decode("88" + "0" * 47)
    assert answer["code"] != 0 and answer["data"] is None, answer
    assert not errors(answer, SCHEMAS["decode"])


# --- the check itself can fail ---------------------------------------------------------------------

def test_the_schema_check_reports_a_non_conforming_answer():
    """A known-bad answer (an amount as a string, the time as text, a field
    missing) is reported, field by field."""
    bad = load_answer(b'{"infcode": 0, "inf_refmsgid": "1", "refmsg_time": "2026-11-27 14:14:39",'
                      b' "respond_time": "20261127141439123", "err_msg": "", "warn_msg": "", "cainfo": "",'
                      b' "output": {"insuinfo": [], "idetinfo": [], "baseinfo": {"psn_no": "1", "psn_cert_type": "01",'
                      b' "certno": "1", "psn_name": "x", "gend": "1", "naty": "01", "brdy": "1988-03-29", "age": "38"}}}')
    found = "\n".join(conforms(bad, "1101"))
    assert "refmsg_time" in found and "inf_refmsgid" in found
    assert "'signtype' is a required property" in found
    assert "output/baseinfo/age: '38' is not of type 'number'" in found

    money = {"balc": "12.50", "insutype": "310", "psn_type": "11", "psn_insu_stas": "1", "psn_insu_date": "2010-07-14",
             "cvlserv_flag": "0", "insuplc_admdvs": "440100"}
    assert errors(money, SCHEMAS["1101"]["properties"]["insuinfo"]["items"]) == \
        ["balc: '12.50' is not of type 'number'"]
    money["balc"] = load_answer(b"12.5")  # a number, but not written with the two decimals of 16,2
    assert errors(money, SCHEMAS["1101"]["properties"]["insuinfo"]["items"]) == \
        ["balc: Decimal('12.5') is not a 'money'"]
    money["balc"] = load_answer(b"12.50")
    assert errors(money, SCHEMAS["1101"]["properties"]["insuinfo"]["items"]) == []
