"""JSON Schemas of the national interface's answer nodes, written from the
national field lists (国家医保信息平台 接口规范: field, type, length, required),
for the conformance tests. Types as the spec types them:

- 字符型 n      → string, maxLength n
- 数值型 16,2   → JSON number, at most 14 integer digits and exactly two decimals
  (``money``); 4,1 (age) one decimal; 16,4 (cnt), 16,6 (pric), 5,4 (selfpay_prop)
  at most that many decimals
- 日期型        → "yyyy-MM-dd";  日期时间型 → "yyyy-MM-dd HH:mm:ss"

Answers must be parsed with ``parse_float=Decimal`` (``load_answer``) so the
number formats can see the exact text the server sent: ``12.50`` and ``12.5``
are different answers to a client that maps a field to decimal(16,2).
"""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema

# --- field types -------------------------------------------------------------

def _decimal_format(integer_digits: int, decimals: int, exact: bool):
    def check(instance) -> bool:
        if isinstance(instance, bool) or not isinstance(instance, (int, Decimal)):
            return True  # the "type" keyword reports non-numbers
        if isinstance(instance, int):
            return not exact and len(str(abs(instance))) <= integer_digits
        sign, digits, exponent = instance.as_tuple()
        if not isinstance(exponent, int):
            return False
        places = -exponent if exponent < 0 else 0
        if exact and places != decimals or places > decimals:
            return False
        whole = len(digits) - places if len(digits) > places else 0
        return whole <= integer_digits
    return check


FORMAT_CHECKER = jsonschema.FormatChecker()
for _name, _args in {
    "money": (14, 2, True),  # 数值型 16,2 as the platform sends it: 0.00
    "num4_1": (3, 1, False),  # age 38.0
    "num16_4": (12, 4, False),  # cnt
    "num16_6": (10, 6, False),  # pric
    "num5_4": (1, 4, False),  # selfpay_prop 0.1000
    "num4_2": (2, 2, False),  # prd_days
}.items():
    FORMAT_CHECKER.checks(_name)(_decimal_format(*_args))

DATE = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"}
DATETIME = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z"}
DATE_OR_EMPTY = {"type": "string", "pattern": r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?\Z"}
MONEY = {"type": "number", "format": "money"}


def s(length: int) -> dict:
    return {"type": "string", "maxLength": length}


def obj(properties: dict, required: list[str] | tuple[str, ...] | None = None) -> dict:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else list(required)}


def rows(item: dict) -> dict:
    return {"type": "array", "items": item}


# --- the envelope ----------------------------------------------------------------

ANSWER = obj({
    "infcode": {"type": "integer"},
    "inf_refmsgid": {"type": "string", "pattern": r"^[0-9]{30}\Z"},  # admdvs(6) + yyyyMMddHHmmss + seq(10)
    "refmsg_time": {"type": "string", "pattern": r"^[0-9]{17}\Z"},  # yyyyMMddHHmmssSSS
    "respond_time": {"type": "string", "pattern": r"^[0-9]{17}\Z"},
    "err_msg": {"type": "string"},
    "warn_msg": {"type": "string"},
    "cainfo": {"type": "string"},
    "signtype": {"type": "string"},
    "output": {"type": "object"},
})

# --- 9001 签到 ---------------------------------------------------------------------

OUT_9001 = obj({"signinoutb": obj({"sign_time": DATETIME, "sign_no": s(30)})})

# --- 1101 人员信息获取 --------------------------------------------------------------

BASEINFO = obj({
    "psn_no": s(30), "psn_cert_type": s(6), "certno": s(50), "psn_name": s(50), "gend": s(6),
    "naty": s(3), "brdy": DATE, "age": {"type": "number", "format": "num4_1"},
})
INSUINFO = obj({
    "balc": MONEY, "insutype": s(6), "psn_type": s(6), "psn_insu_stas": s(6), "psn_insu_date": DATE,
    "paus_insu_date": DATE_OR_EMPTY, "cvlserv_flag": s(3), "insuplc_admdvs": s(6), "emp_name": s(200),
}, required=["balc", "insutype", "psn_type", "psn_insu_stas", "psn_insu_date", "cvlserv_flag", "insuplc_admdvs"])
IDETINFO = obj({
    "psn_idet_type": s(6), "psn_type_lv": s(6), "memo": s(500), "begntime": DATETIME,
    "endtime": {"type": "string"},
}, required=["psn_idet_type", "begntime"])
OUT_1101 = obj({"baseinfo": BASEINFO, "insuinfo": rows(INSUINFO), "idetinfo": rows(IDETINFO)})

# --- 2101 / 2102 药店预结算 / 结算 ---------------------------------------------------

_SETL_MONEY = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay",
    "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc", "acct_mulaid_pay",
)
SETLINFO = obj({
    "mdtrt_id": s(30), "psn_no": s(30), "psn_name": s(50), "psn_cert_type": s(6), "certno": s(50),
    "gend": s(6), "naty": s(3), "brdy": DATE, "age": {"type": "number", "format": "num4_1"},
    "insutype": s(6), "psn_type": s(6), "cvlserv_flag": s(3), "setl_time": DATETIME,
    "mdtrt_cert_type": s(3), "med_type": s(6),
    **{name: MONEY for name in _SETL_MONEY},
    "medins_setl_id": s(30), "clr_optins": s(6), "clr_way": s(6), "clr_type": s(6),
})
# 医院负担金额: listed for the hospital settlement (2207), not for the pharmacy's 2101/2102; typed if present.
SETLINFO["properties"]["hosp_part_amt"] = MONEY
SETLINFO_2102 = {**SETLINFO, "properties": {**SETLINFO["properties"], "setl_id": s(30)},
                 "required": [*SETLINFO["required"], "setl_id"]}
SETLDETAIL = obj({
    "fund_pay_type": s(6), "inscp_scp_amt": MONEY, "crt_payb_lmt_amt": MONEY, "fund_payamt": MONEY,
    "fund_pay_type_name": s(200), "setl_proc_info": s(4000),
}, required=["fund_pay_type", "inscp_scp_amt", "fund_payamt", "fund_pay_type_name"])
DETLCUTINFO = obj({
    "feedetl_sn": s(30), "det_item_fee_sumamt": MONEY, "cnt": {"type": "number", "format": "num16_4"},
    "pric": {"type": "number", "format": "num16_6"}, "pric_uplmt_amt": {"type": "number", "format": "num16_6"},
    "selfpay_prop": {"type": "number", "format": "num5_4"}, "fulamt_ownpay_amt": MONEY, "overlmt_amt": MONEY,
    "preselfpay_amt": MONEY, "inscp_scp_amt": MONEY, "chrgitm_lv": s(3), "med_chrgitm_type": s(6),
    "bas_medn_flag": s(3), "hi_nego_drug_flag": s(3), "chld_medc_flag": s(3), "list_sp_item_flag": s(3),
    "drt_reim_flag": s(3), "memo": s(500),
}, required=["feedetl_sn", "det_item_fee_sumamt", "cnt", "pric", "pric_uplmt_amt", "selfpay_prop",
             "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt", "chrgitm_lv",
             "med_chrgitm_type"])
OUT_2101 = obj({"setlinfo": SETLINFO, "setldetail": rows(SETLDETAIL), "detlcutinfo": rows(DETLCUTINFO)})
OUT_2102 = obj({"setlinfo": SETLINFO_2102, "setldetail": rows(SETLDETAIL), "detlcutinfo": rows(DETLCUTINFO)})

# --- 2103 药店结算撤销 ----------------------------------------------------------------

OUT_2103 = obj({
    "setlinfo": obj({
        "mdtrt_id": s(30), "setl_id": s(30), "clr_optins": s(6), "setl_time": DATETIME,
        **{name: MONEY for name in (
            "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
            "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay",
            "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_pay", "acct_pay", "cash_payamt", "balc",
            "acct_mulaid_pay")},
        "medins_setl_id": s(30),
    }),
    "setldetail": rows(SETLDETAIL),
})

# --- 3201 对总账 / 3202 对明细账 -------------------------------------------------------

OUT_3201 = obj({"stmtinfo": obj({"setl_optins": s(6), "stmt_rslt": s(6), "stmt_rslt_dscr": s(200)},
                                required=["stmt_rslt"])})

# 3202 answers with the reconciliation result file's handle (fileinfo, all three
# marked required); the file's rows (FILE_ROW_3202) are what the file holds.
OUT_3202 = obj({"fileinfo": obj({"file_qury_no": s(30), "filename": s(200), "dld_endtime": DATETIME})})
FILE_ROW_3202 = obj({
    "psn_no": s(30), "mdtrt_id": s(30), "setl_id": s(30), "msgid": s(30), "stmt_rslt": s(6),
    "refd_setl_flag": s(3), "memo": s(500), "medfee_sumamt": MONEY, "fund_pay_sumamt": MONEY, "acct_pay": MONEY,
}, required=["psn_no", "mdtrt_id", "setl_id", "msgid", "stmt_rslt", "refd_setl_flag", "medfee_sumamt",
             "fund_pay_sumamt", "acct_pay"])

# --- 9002 签退 / 2601 冲正 -------------------------------------------------------------

OUT_9002 = obj({"signoutoutb": obj({"sign_time": DATETIME})})
OUT_2601 = {"type": "object"}  # the spec's output of 2601 has no node: infcode 0 is the answer

# --- the voucher decode (ec.query at /localcfc/api/hsecfc/localQrCodeQuery) -------------
# Answer {code, message, data}; data on success as the national voucher centre's
# EcQueryOutput lists it (字符 n, "Y" = always returned): idNo 64 Y, idType 64 Y,
# userName 64, ecToken 40 Y, insuOrg 6 Y, ecIndexNo, gender 2, birthday 10,
# nationality 32, email 32, extData (JSON text). ecIndexNo's length is printed
# as "3" in the client model, evidently cut short; 32 is what index numbers hold.

DECODE_DATA = obj({
    "ecToken": s(40), "idNo": s(64), "idType": s(64), "userName": s(64), "insuOrg": {**s(6), "minLength": 6},
    "ecIndexNo": s(32), "gender": s(2), "birthday": s(10), "nationality": s(32), "email": s(32),
    "extData": {"type": "string"},
}, required=["ecToken", "idNo", "idType", "insuOrg"])
DECODE_ANSWER = {
    "type": "object",
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "errorCode": {"type": "string"},
                   "data": {"type": ["object", "null"]}},
    "required": ["code", "message", "data"],
    "if": {"properties": {"code": {"const": 0}}},
    "then": {"properties": {"data": DECODE_DATA}},
    "else": {"properties": {"data": {"type": "null"}, "message": {"minLength": 1}}},
}

# --- requests, as a client types them (to check the fixtures themselves) ----------------

AMOUNT_IN = {"type": "number", "format": "money"}
REQUEST = obj({
    "infno": {"type": "string", "pattern": r"^[0-9]{4}\Z"}, "msgid": s(30), "mdtrtarea_admvs": s(6),
    "insuplc_admdvs": s(6), "recer_sys_code": s(10), "dev_no": s(100), "dev_safe_info": s(2000),
    "cainfo": s(1024), "signtype": s(10), "infver": s(6), "opter_type": s(3), "opter": s(30),
    "opter_name": s(50), "inf_time": DATETIME, "fixmedins_code": s(30), "fixmedins_name": s(200), "sign_no": s(30),
    "input": {"type": "object"},
}, required=["infno", "msgid", "mdtrtarea_admvs", "insuplc_admdvs", "recer_sys_code", "infver", "opter_type",
             "opter", "opter_name", "inf_time", "fixmedins_code", "fixmedins_name", "input"])
DRUGINFO_IN = obj({
    "psn_no": s(30), "mdtrt_cert_type": s(3), "mdtrt_cert_no": s(50), "begntime": DATETIME,
    "medfee_sumamt": AMOUNT_IN, "invono": s(20), "insutype": s(6), "dise_codg": s(30), "dise_name": s(500),
    "psn_setlway": s(6), "mdtrt_id": s(30), "chrg_bchno": s(30), "acct_used_flag": s(3), "med_type": s(6),
}, required=["psn_no", "mdtrt_cert_type", "mdtrt_cert_no", "begntime", "medfee_sumamt", "insutype",
             "psn_setlway", "chrg_bchno", "acct_used_flag"])
DRUGDETAIL_IN = obj({
    "feedetl_sn": s(30), "rxno": s(30), "rx_circ_flag": s(3), "fee_ocur_time": DATETIME, "med_list_codg": s(50),
    "medins_list_codg": s(150), "det_item_fee_sumamt": AMOUNT_IN, "cnt": {"type": "number", "format": "num16_4"},
    "pric": {"type": "number", "format": "num16_6"}, "sin_dos_dscr": s(200), "used_frqu_dscr": s(200),
    "prd_days": {"type": "number", "format": "num4_2"}, "medc_way_dscr": s(200), "bilg_dr_codg": s(30),
    "bilg_dr_name": s(50), "tcmdrug_used_way": s(6),
}, required=["feedetl_sn", "rx_circ_flag", "fee_ocur_time", "med_list_codg", "medins_list_codg",
             "det_item_fee_sumamt", "cnt", "pric", "bilg_dr_codg", "bilg_dr_name"])
IN_2102 = obj({"druginfo": DRUGINFO_IN, "drugdetail": {**rows(DRUGDETAIL_IN), "minItems": 1}})

SCHEMAS = {"answer": ANSWER, "9001": OUT_9001, "9002": OUT_9002, "1101": OUT_1101, "2101": OUT_2101,
           "2102": OUT_2102, "2103": OUT_2103, "2601": OUT_2601, "3201": OUT_3201, "3202": OUT_3202,
           "decode": DECODE_ANSWER, "request": REQUEST, "in_2102": IN_2102}


def load_answer(raw: bytes | str):
    """Parse an answer as a decimal-typed client does (numbers from their exact text)."""
    return json.loads(raw, parse_float=Decimal)


def errors(instance, schema: dict) -> list[str]:
    """Every violation, as 'path: message' lines (empty when the instance conforms)."""
    validator = jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(instance)]


def assert_conforms(instance, schema: dict) -> None:
    found = errors(instance, schema)
    assert not found, "answer does not conform to the national nodes:\n" + "\n".join(found)
