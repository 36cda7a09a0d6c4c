"""Request fixtures of the national interface, written from the national field
lists (/work/notes/national_fields.md, docs/subsystems/terminal-gateway.md)
and typed as the spec types them:

- 字符型 → JSON string;
- 数值型 16,2 (money) → JSON number with exactly two decimals, as a client
  that maps the field to a C# ``decimal`` serialises it: ``"medfee_sumamt": 50.00``;
  16,4 (cnt), 16,6 (pric), 4,2 (prd_days) → JSON numbers;
  integers (fixmedins_setl_cnt) → JSON integers;
- 日期型 ``yyyy-MM-dd``, 日期时间型 ``yyyy-MM-dd HH:mm:ss``.

Values are built as ``Decimal`` and written with simplejson
(``use_decimal=True``), so the text carries exactly the digits written here —
never a binary float. ``to_text(body, strings=True)`` gives the same request
with every number written as a string, as many other clients send it.

Every builder returns plain data; the test sends it through the real gateway.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import simplejson

D = Decimal
_SEQUENCE = itertools.count(1)


def now_text() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def new_msgid(fixmedins_code: str) -> str:
    """The national form: fixmedins_code + yyyyMMddHHmmss + a 4-digit sequence
    (30 characters for a 12-character code)."""
    return f"{fixmedins_code}{dt.datetime.now():%Y%m%d%H%M%S}{next(_SEQUENCE) % 10000:04d}"


def envelope(infno: str, input: dict, *, fixmedins_code: str, fixmedins_name: str, sign_no: str = "",
             msgid: str | None = None, mdtrtarea_admvs: str = "", insuplc_admdvs: str = "") -> dict:
    """Every request field the spec lists, in its order."""
    return {
        "infno": infno,
        "msgid": msgid or new_msgid(fixmedins_code),
        "mdtrtarea_admvs": mdtrtarea_admvs,
        "insuplc_admdvs": insuplc_admdvs,
        "recer_sys_code": "MBS_LOCAL",
        "dev_no": "POS-0001",
        "dev_safe_info": "",
        "cainfo": "",
        "signtype": "SM3",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "0001",
        "opter_name": "收银员甲",
        "inf_time": now_text(),
        "fixmedins_code": fixmedins_code,
        "fixmedins_name": fixmedins_name,
        "sign_no": sign_no,
        "input": input,
    }


# --- transactions' input ---------------------------------------------------------------

def input_9001(opter_no: str = "0001") -> dict:
    return {"signIn": {"opter_no": opter_no, "mac": "00-11-22-33-44-55", "ip": "10.0.0.8"}}


def input_9002(sign_no: str, opter_no: str = "0001") -> dict:
    return {"signOut": {"sign_no": sign_no, "opter_no": opter_no}}


def input_1101_by_id_number(id_number: str, name: str) -> dict:
    return {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": id_number, "card_sn": "", "begntime": now_text(),
                     "psn_cert_type": "01", "certno": id_number, "psn_name": name}}


def input_1101_by_ectoken(ec_token: str) -> dict:
    return {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": ec_token, "card_sn": "", "begntime": now_text(),
                     "psn_cert_type": "", "certno": "", "psn_name": ""}}


def drug_row(n: int, med_list_codg: str, pric: Decimal, cnt: Decimal, *, amount: Decimal | None = None) -> dict:
    """One drugdetail row with every field the spec lists."""
    if amount is None:
        amount = (pric * cnt).quantize(D("0.01"))
    return {
        "feedetl_sn": f"{n:04d}",
        "rxno": "",
        "rx_circ_flag": "0",
        "fee_ocur_time": now_text(),
        "med_list_codg": med_list_codg,
        "medins_list_codg": f"L{med_list_codg}",
        "det_item_fee_sumamt": amount,
        "cnt": cnt,
        "pric": pric,
        "sin_dos_dscr": "每次1片",
        "used_frqu_dscr": "每日三次",
        "prd_days": D("3"),
        "medc_way_dscr": "口服",
        "bilg_dr_codg": "D110100000001",
        "bilg_dr_name": "王医师",
        "tcmdrug_used_way": "",
    }


def input_2101(*, psn_no: str, ec_token: str, rows: list[dict], insutype: str = "310") -> dict:
    """药店预结算: druginfo with every field the spec lists, and the rows."""
    total = sum((row["det_item_fee_sumamt"] for row in rows), D("0.00"))
    return {
        "druginfo": {
            "psn_no": psn_no,
            "mdtrt_cert_type": "01",
            "mdtrt_cert_no": ec_token,
            "begntime": now_text(),
            "medfee_sumamt": total,
            "psn_setlway": "01",
            "mdtrt_id": "",
            "chrg_bchno": f"CB{dt.datetime.now():%Y%m%d%H%M%S}{next(_SEQUENCE) % 10000:04d}",
            "insutype": insutype,
            "dise_codg": "",
            "dise_name": "",
            "acct_used_flag": "1",
            "med_type": "41",
        },
        "drugdetail": rows,
    }


def input_2102(*, psn_no: str, ec_token: str, rows: list[dict], invono: str = "", insutype: str = "310") -> dict:
    """药店结算: the same bill, with the invoice number."""
    body = input_2101(psn_no=psn_no, ec_token=ec_token, rows=rows, insutype=insutype)
    body["druginfo"]["invono"] = invono or f"INV{next(_SEQUENCE):08d}"
    return body


def input_2103(*, psn_no: str, setl_id: str, mdtrt_id: str) -> dict:
    return {"data": {"psn_no": psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}}


def input_2601(*, psn_no: str, omsgid: str, oinfno: str = "2102") -> dict:
    return {"data": {"psn_no": psn_no, "omsgid": omsgid, "oinfno": oinfno}}


def input_3201(*, day: dt.date, medfee_sumamt: Decimal, fund_pay_sumamt: Decimal, acct_pay: Decimal,
               fixmedins_setl_cnt: int, setl_optins: str, insutype: str = "310", clr_type: str = "41") -> dict:
    return {"data": {"insutype": insutype, "clr_type": clr_type, "setl_optins": setl_optins,
                     "stmt_begndate": day.isoformat(), "stmt_enddate": day.isoformat(),
                     "medfee_sumamt": medfee_sumamt, "fund_pay_sumamt": fund_pay_sumamt, "acct_pay": acct_pay,
                     "fixmedins_setl_cnt": fixmedins_setl_cnt}}


def input_3202(*, day: dt.date, medfee_sumamt: Decimal, fund_pay_sumamt: Decimal, cash_payamt: Decimal,
               fixmedins_setl_cnt: int, setl_optins: str, file_qury_no: str = "", clr_type: str = "41") -> dict:
    return {"data": {"setl_optins": setl_optins, "file_qury_no": file_qury_no, "clr_type": clr_type,
                     "stmt_begndate": day.isoformat(), "stmt_enddate": day.isoformat(),
                     "medfee_sumamt": medfee_sumamt, "fund_pay_sumamt": fund_pay_sumamt, "cash_payamt": cash_payamt,
                     "fixmedins_setl_cnt": fixmedins_setl_cnt, "refd_setl_flag": "0"}}


def decode_request(fixmedins_code: str, qr_code: str) -> dict:
    """The voucher centre's ec.query (EcQueryInput), with the scanned code."""
    return {"transType": "ec.query", "orgId": fixmedins_code,
            "data": {"orgId": fixmedins_code, "businessType": "02121", "operatorId": "0001",
                     "operatorName": "收银员甲", "officeId": "01", "officeName": "柜台", "deviceType": "",
                     "qrCode": qr_code}}


# --- text --------------------------------------------------------------------------------

def as_strings(value):
    """The same request with every number written as a string (``50.00`` →
    ``"50.00"``, ``2`` → ``"2"``), as clients that type everything 字符型 send it."""
    if isinstance(value, dict):
        return {key: as_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_strings(item) for item in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):  # pragma: no cover - the builders never make one
        raise TypeError("a fixture must not hold a float")
    return value


def _no_floats(value) -> None:
    if isinstance(value, float):
        raise TypeError("a fixture must not hold a float")
    if isinstance(value, dict):
        for item in value.values():
            _no_floats(item)
    elif isinstance(value, list):
        for item in value:
            _no_floats(item)


def to_text(body: dict, *, strings: bool = False) -> bytes:
    """The request's JSON text: Decimals as the exact numbers they hold."""
    _no_floats(body)
    if strings:
        body = as_strings(body)
    return simplejson.dumps(body, use_decimal=True, ensure_ascii=False).encode()
