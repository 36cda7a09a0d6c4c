"""2501 (转院备案) and 2502 (its cancellation) at the wallet's gateway, for
designated hospitals that are signed in (the gateway has authenticated the
institution, journalled the msgid and checked the sign-in before these run).
Registered into the gateway through ``wallet.hooks`` (referrals sits above
the wallet and the wallet never imports it).

2501 ``input.refmedin`` {psn_no, insutype, tel, addr, insu_optins, diag_code,
diag_name, dise_cond_dscr, reflin_medins_no, reflin_medins_name,
mdtrtarea_admdvs, hosp_agre_refl_flag, refl_type, refl_date, refl_rea,
refl_opnn, begndate, enddate, refl_used_flag} → ``output.result
{trt_dcla_detl_sn}``. The calling hospital is the referring institution;
``reflin_medins_no`` (转往) becomes the filing's designated institution;
``mdtrtarea_admdvs`` its destination. The person is looked up at the core
(1101 by psn_no): their insured region decides the rules.

2502 ``input.data`` {trt_dcla_detl_sn, psn_no, memo?} → ``output`` {}: only
the hospital that filed it may cancel it.

Refusals are envelope answers: INSTITUTION_NOT_DESIGNATED (1008),
PERSON_NOT_FOUND (2001, from the core), INPUT_INVALID (1007) with the
filing rule's Chinese message and its stable code in brackets, the core
unreachable 5001 (not stored: retry the same msgid)."""

from __future__ import annotations

import datetime as dt
import re

from common.envelope import EnvelopeError, InfCode, answer
from common.errors import ApplicationError
from terminal.services.forward import TerminalCall, core_call, core_unavailable

from ..enums import FilingSource, FilingStatus, FilingType, ProofDocType
from ..models import Filing
from .filings import DIAGNOSIS_CODE, INSTITUTION_CODE, FilingInput, Insured, filing_cancel, filing_create

DATE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})( [0-9]{2}:[0-9]{2}:[0-9]{2})?")
PSN_NO = re.compile(r"[0-9A-Za-z]{1,30}")


def _invalid(env, message: str) -> EnvelopeError:
    return EnvelopeError(InfCode.INPUT_INVALID, message, msgid=env.msgid)


def _text(node: dict, name: str, env, *, required: bool = True, max_length: int = 200) -> str:
    value = node.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(env, f"refmedin.{name} 必须是字符串")
    value = value.strip()
    if required and not value:
        raise _invalid(env, f"缺少 refmedin.{name}")
    if len(value) > max_length:
        raise _invalid(env, f"refmedin.{name} 超过{max_length}个字符")
    return value


def _date(node: dict, name: str, env, *, required: bool = True) -> dt.date | None:
    value = _text(node, name, env, required=required, max_length=19)
    if not value:
        return None
    match = DATE.fullmatch(value)
    try:
        if match:
            return dt.date.fromisoformat(match.group(1))
    except ValueError:
        pass
    raise _invalid(env, f"refmedin.{name} 须为日期 yyyy-MM-dd")


def _refusal(env, error: ApplicationError) -> Exception:
    if error.code == "FILING_RULES_UNAVAILABLE":
        return core_unavailable(env)
    return _invalid(env, f"{error.message}（{error.code}）")


def _designated_hospital(call: TerminalCall) -> None:
    institution = call.institution
    if not institution.designated:
        raise EnvelopeError(InfCode.INSTITUTION_NOT_DESIGNATED, "非定点医疗机构不能办理转院备案", msgid=call.env.msgid)
    if institution.kind != "hospital":
        raise EnvelopeError(InfCode.INSTITUTION_NOT_DESIGNATED, "仅定点医疗机构可办理转院备案（药店不能办理）",
                            msgid=call.env.msgid)


def _insured(call: TerminalCall, psn_no: str, insutype: str) -> Insured:
    """The person as the core knows them (1101 by psn_no)."""
    output = core_call(call, "1101", {"data": {"mdtrt_cert_type": "99", "mdtrt_cert_no": psn_no}})
    rows = [r for r in output.get("insuinfo") or [] if isinstance(r, dict)]
    row = next((r for r in rows if str(r.get("insutype", "")) == insutype), None)
    if row is None:
        raise _invalid(call.env, f"该人员未参加险种 {insutype}")
    return Insured(psn_no=psn_no, insutype=insutype, insured_region=str(row.get("insuplc_admdvs", "")))


def referral_file(call: TerminalCall) -> dict:
    """2501 转院备案."""
    env = call.env
    _designated_hospital(call)
    node = env.input.get("refmedin")
    if not isinstance(node, dict):
        raise _invalid(env, "2501 需要 input.refmedin")
    psn_no = _text(node, "psn_no", env, max_length=30)
    if not PSN_NO.fullmatch(psn_no):
        raise _invalid(env, "refmedin.psn_no 格式不正确")
    insutype = _text(node, "insutype", env, max_length=6)
    if not (insutype.isascii() and insutype.isdigit() and len(insutype) == 3):
        raise _invalid(env, "refmedin.insutype 须为3位险种类型代码（如 310、390）")
    diag_code = _text(node, "diag_code", env, max_length=20)
    if not DIAGNOSIS_CODE.fullmatch(diag_code):
        raise _invalid(env, "诊断代码格式不正确，应为疾病分类代码（如 J18.900）（FILING_DIAGNOSIS_INVALID）")
    to_code = _text(node, "reflin_medins_no", env, max_length=30)
    if not INSTITUTION_CODE.fullmatch(to_code):
        raise _invalid(env, "refmedin.reflin_medins_no（转往医院编号）格式不正确")
    if _text(node, "hosp_agre_refl_flag", env, max_length=1) != "1":
        raise _invalid(env, "医院同意转院标志 hosp_agre_refl_flag 须为 1（医院同意转院）方可备案")
    dest = _text(node, "mdtrtarea_admdvs", env, max_length=6)
    begin = _date(node, "begndate", env)
    end = _date(node, "enddate", env, required=False)
    refl_date = _date(node, "refl_date", env, required=False)
    if end is not None and end < begin:
        raise _invalid(env, "结束日期 enddate 不能早于开始日期 begndate（FILING_DATES_INVALID）")
    if refl_date is not None and (refl_date < begin or (end is not None and refl_date > end)):
        raise _invalid(env, "转院日期 refl_date 须在备案有效期（begndate 至 enddate）之内（FILING_DATES_INVALID）")
    referral = {"reflin_medins_no": call.institution.fixmedins_code, "reflin_medins_name": call.institution.name,
                "diag_code": diag_code, "diag_name": _text(node, "diag_name", env, max_length=100),
                "dise_cond_dscr": _text(node, "dise_cond_dscr", env, required=False),
                "to_medins_name": _text(node, "reflin_medins_name", env, required=False, max_length=100),
                "tel": _text(node, "tel", env, required=False, max_length=50),
                "addr": _text(node, "addr", env, required=False),
                "refl_type": _text(node, "refl_type", env, required=False, max_length=6),
                "refl_date": str(refl_date) if refl_date else "",
                "refl_rea": _text(node, "refl_rea", env, required=False),
                "refl_opnn": _text(node, "refl_opnn", env, required=False),
                "hosp_agre_refl_flag": "1"}
    insured = _insured(call, psn_no, insutype)
    data = FilingInput(type=FilingType.REFERRAL, dest_admdvs=dest, begin_date=begin, end_date=end,
                       basis="proof", proof={"doc_type": ProofDocType.REFERRAL_CERTIFICATE,
                                             "doc_no": call.institution.fixmedins_code},
                       referral={k: v for k, v in referral.items() if v}, institutions=[to_code])
    try:
        filing, _ = filing_create(insured=insured, data=data, actor=call.institution.fixmedins_code, ip=call.ip,
                                  source=FilingSource.HOSPITAL, fixmedins_code=call.institution.fixmedins_code)
    except ApplicationError as error:
        raise _refusal(env, error)
    return answer(env.msgid, {"result": {"trt_dcla_detl_sn": filing.filing_no}})


def referral_cancel(call: TerminalCall) -> dict:
    """2502 转院备案撤销."""
    env = call.env
    _designated_hospital(call)
    node = env.input.get("data")
    if not isinstance(node, dict):
        raise _invalid(env, "2502 需要 input.data（含 trt_dcla_detl_sn、psn_no）")
    number = _text(node, "trt_dcla_detl_sn", env, max_length=30)
    psn_no = _text(node, "psn_no", env, max_length=30)
    memo = _text(node, "memo", env, required=False)
    filing = Filing.objects.filter(filing_no=number, psn_no=psn_no,
                                   fixmedins_code=call.institution.fixmedins_code).first()
    if filing is None:
        raise _invalid(env, "未找到本机构为该人员办理的这份转院备案（trt_dcla_detl_sn 或 psn_no 不正确）")
    if filing.status != FilingStatus.ACTIVE:
        raise _invalid(env, f"该备案{filing.get_status_display()}，不能撤销")
    try:
        filing_cancel(filing=filing, actor=call.institution.fixmedins_code, ip=call.ip, check_period=False,
                      memo=memo)
    except ApplicationError as error:
        raise _refusal(env, error)
    return answer(env.msgid, {})


TERMINAL_HANDLERS = {"2501": referral_file, "2502": referral_cancel}
