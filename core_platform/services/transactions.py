"""Handlers of the national-interface transactions the core serves.

Each handler takes the parsed ``Envelope`` and returns the ``output`` object,
or raises ``EnvelopeError`` with an ``InfCode``. ``HANDLERS`` maps ``infno``
to its handler; services/envelope.py dispatches.

1101 人员信息获取 (person info) — ``input.data`` forms accepted:

- ``mdtrt_cert_type`` "02" (居民身份证): ``mdtrt_cert_no`` = ID number
  (``certno`` is used if ``mdtrt_cert_no`` is empty; if both are given they
  must agree);
- ``mdtrt_cert_type`` "03" (社会保障卡): ``mdtrt_cert_no`` = the social
  security number, which is the ID number;
- ``mdtrt_cert_type`` "99" (internal, used by the wallet after it resolved an
  e-voucher token): ``mdtrt_cert_no`` = ``psn_no``;
- no ``mdtrt_cert_type``: ``certno`` with ``psn_cert_type`` "01" (or empty).

"01" (电子凭证令牌) is not accepted here: tokens are the wallet's; it resolves
them and asks with "99". Others → ``CERT_TYPE_UNSUPPORTED``. If ``psn_name`` is
given it must equal the registered name (real-name check) → else
``PERSON_NAME_MISMATCH`` (2003) "人员姓名与证件号码不匹配".

1201 (our use of the code: designated-institution info) — ``input.medinsinfo``
``{"fixmedins_code": "..."}`` for one (an unknown code gives an empty list) or
``{}`` for all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.utils import timezone

from common import idnumber
from common.envelope import Envelope, EnvelopeError, InfCode
from common.money import age_value, fen_to_amount

from .. import selectors
from ..enums import EnrolmentStatus, InstitutionKind
from ..models import InsuredPerson, PersonIdentity

logger = logging.getLogger(__name__)

# psn_insu_stas: national 参保状态 codes.
INSU_STATUS = {
    EnrolmentStatus.ACTIVE: "1",  # 正常参保
    EnrolmentStatus.SUSPENDED: "2",  # 暂停参保
    EnrolmentStatus.TERMINATED: "4",  # 终止参保
}
CERT_ID_CARD = "02"
CERT_SOCIAL_CARD = "03"
CERT_PSN_NO = "99"


def _str(data: dict, name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise EnvelopeError(InfCode.INPUT_INVALID, f"字段 {name} 必须是字符串")
    return str(value).strip()


def _person_from_id_number(number: str, msgid: str) -> InsuredPerson:
    number = idnumber.normalize(number)
    if not idnumber.is_valid(number):
        raise EnvelopeError(InfCode.INPUT_INVALID, "证件号码格式、出生日期或校验位不正确", msgid=msgid)
    person = selectors.person_get_by_id_number(number)
    if person is None:
        logger.info("1101 person not found", extra={"certno": idnumber.mask(number)})
        raise EnvelopeError(InfCode.PERSON_NOT_FOUND, "未查询到该人员参保信息", msgid=msgid)
    return person


def person_info(env: Envelope) -> dict:
    """1101: who is this person, and how are they insured."""
    data = env.input.get("data")
    if not isinstance(data, dict):
        raise EnvelopeError(InfCode.INPUT_INVALID, "缺少 input.data", msgid=env.msgid)
    cert_type = _str(data, "mdtrt_cert_type")
    cert_no = _str(data, "mdtrt_cert_no")
    certno = _str(data, "certno")
    psn_cert_type = _str(data, "psn_cert_type")
    psn_name = _str(data, "psn_name")

    if cert_type == CERT_PSN_NO:
        if not cert_no:
            raise EnvelopeError(InfCode.INPUT_INVALID, "缺少 mdtrt_cert_no（人员编号）", msgid=env.msgid)
        person = selectors.person_get_by_psn_no(cert_no)
        if person is None:
            raise EnvelopeError(InfCode.PERSON_NOT_FOUND, "未查询到该人员参保信息", msgid=env.msgid)
    elif cert_type in (CERT_ID_CARD, CERT_SOCIAL_CARD, ""):
        if psn_cert_type not in ("", "01"):
            raise EnvelopeError(InfCode.CERT_TYPE_UNSUPPORTED, f"不支持的人员证件类型：{psn_cert_type}", msgid=env.msgid)
        if cert_type and cert_no and certno and idnumber.normalize(cert_no) != idnumber.normalize(certno):
            raise EnvelopeError(InfCode.INPUT_INVALID, "mdtrt_cert_no 与 certno 不一致", msgid=env.msgid)
        number = (cert_no if cert_type else "") or certno
        if not number:
            raise EnvelopeError(InfCode.INPUT_INVALID, "缺少证件号码（mdtrt_cert_no 或 certno）", msgid=env.msgid)
        person = _person_from_id_number(number, env.msgid)
    else:
        raise EnvelopeError(InfCode.CERT_TYPE_UNSUPPORTED, f"不支持的就诊凭证类型：{cert_type}", msgid=env.msgid)

    if psn_name and psn_name != person.name:
        raise EnvelopeError(InfCode.PERSON_NAME_MISMATCH, "人员姓名与证件号码不匹配", msgid=env.msgid)

    region = selectors.region_get(person.insured_region)
    today = timezone.localdate()
    paused = person.status_changed_on if person.enrolment_status != EnrolmentStatus.ACTIVE else None
    return {
        "baseinfo": {
            "psn_no": person.psn_no,
            "psn_cert_type": "01",
            "certno": selectors.person_id_number(person),
            "psn_name": person.name,
            "gend": person.gender,
            "naty": "01",
            "brdy": person.birth_date.isoformat(),
            "age": age_value(selectors.person_age(person.birth_date, today)),  # 数值型 4,1: 38.0
        },
        "insuinfo": [
            {
                "balc": fen_to_amount(selectors.personal_balance_fen(person.psn_no)),
                "insutype": person.insutype,
                "psn_type": person.psn_type,
                "psn_insu_stas": INSU_STATUS[person.enrolment_status],
                "psn_insu_date": person.enrolled_on.isoformat(),
                "paus_insu_date": paused.isoformat() if paused else "",
                "cvlserv_flag": "1" if person.cvlserv_flag else "0",
                "insuplc_admdvs": person.insured_region,
                "emp_name": person.employer,
            }
        ],
        "idetinfo": _identities(person.psn_no),
        "evoucher": {"region_open": bool(region and region.evoucher_open)},
    }


def _identities(psn_no: str) -> list[dict]:
    """1101 ``idetinfo``: every recorded identity period of the person (人员
    身份, e.g. 2101 特困供养人员; codes in core_platform/README.md), past ones
    included — ``endtime`` says until when ("" open-ended). Dates as 日期时间型:
    the first day from 00:00:00, the last day until 23:59:59."""
    return [{"psn_idet_type": row.psn_idet_type, "psn_type_lv": row.psn_type_lv, "memo": row.memo,
             "begntime": f"{row.begntime.isoformat()} 00:00:00",
             "endtime": f"{row.endtime.isoformat()} 23:59:59" if row.endtime else ""}
            for row in PersonIdentity.objects.filter(psn_no=psn_no).order_by("begntime", "psn_idet_type")]


def institution_info(env: Envelope) -> dict:
    """1201: designated-institution information, one or all."""
    node = env.input.get("medinsinfo", {})
    if not isinstance(node, dict):
        raise EnvelopeError(InfCode.INPUT_INVALID, "input.medinsinfo 必须是对象", msgid=env.msgid)
    code = _str(node, "fixmedins_code")
    rows = selectors.institution_list(code or None)
    return {
        "medinsinfo": [
            {
                "fixmedins_code": i.fixmedins_code,
                "fixmedins_name": i.name,
                "fixmedins_type": "1" if i.kind == InstitutionKind.HOSPITAL else "2",
                "hosp_lv": i.level,
                "admdvs": i.region,
                "designated": "1" if i.designated else "0",
            }
            for i in rows
        ]
    }


from . import filings, settle, sync  # noqa: E402  (none imports anything from here)
from . import holds, mutual_aid, relations  # noqa: E402

HANDLERS: dict[str, Callable[[Envelope], dict]] = {
    "1101": person_info,
    "1201": institution_info,
    "2001": settle.benefit_check,
    "2101": settle.pre_settle,
    "2102": settle.settle,
    "2103": settle.reverse,
    "2601": settle.reverse_by_msgid,
    "9101": settle.message_status,
    "9201": sync.wallet_events,
    "9501": filings.rules_query,
    "9402": relations.relation_verify,
    "9403": mutual_aid.set_aside,
    "9404": mutual_aid.contribution_pay,
    "9405": mutual_aid.contribution_reverse,
    # Ours (issue #21): settlement holds placed by a 2102 with input.hold (services/holds.py).
    "9410": holds.hold_query,
    "9411": holds.hold_settle,
    "9412": holds.hold_cancel,
    "9301": sync.credits_since,
    "9302": sync.registry_changes_since,
    "9303": sync.policies_since,
    "3201": sync.totals_of_day,
    "3202": sync.details_of_day,
}
