"""The insured-person registry, pooling regions and designated institutions.

``psn_no`` format: 20 digits, the insured region's admdvs (6) followed by a
14-digit sequence within that region (``44010000000000000001``). It is
assigned once at enrolment and never changes, even if the person later moves.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import IntegrityError
from django.db.models import Max, Q
from django.utils import timezone

from common import crypto, idnumber

from ..db import core_atomic
from ..enums import (
    EMPLOYEE_PSN_TYPES,
    RESIDENT_PSN_TYPES,
    EnrolmentStatus,
    Insutype,
    InstitutionKind,
    InstitutionLevel,
    LedgerAccountKind,
    PsnType,
)
from ..errors import Conflict, InvalidInput
from ..models import Institution, InsuredPerson, PersonIdentity, Region, RegistryChange
from .audit import audit_record
from . import mutual_aid
from .ledger import fund_owner, ledger_account_get_or_create

_ADMDVS = re.compile(r"[0-9]{6}", re.ASCII)  # matched whole (fullmatch): ASCII only, no trailing "\n"
_PSN_NO = re.compile(r"[0-9]{20}", re.ASCII)
_FIXMEDINS_CODE = re.compile(r"[A-Z0-9]{4,30}", re.ASCII)


def region_register(admdvs: str, name: str, province: str, *, evoucher_open: bool = True) -> tuple[Region, bool]:
    """Create or update a pooling region. Returns (region, created)."""
    if not _ADMDVS.fullmatch(admdvs or ""):
        raise InvalidInput(f"区划代码必须是6位数字：{admdvs!r}")
    if not name or not province:
        raise InvalidInput("统筹区名称和省份不能为空")
    with core_atomic():
        region, created = Region.objects.update_or_create(
            admdvs=admdvs, defaults={"name": name, "province": province, "evoucher_open": evoucher_open}
        )
        for insutype in Insutype.values:
            ledger_account_get_or_create(LedgerAccountKind.POOLED_FUND, fund_owner(admdvs, insutype))
        audit_record("region.register", admdvs, {"evoucher_open": evoucher_open, "created": created})
    return region, created


def _default_psn_type(insutype: str, age: int) -> str:
    if insutype == Insutype.EMPLOYEE:
        return PsnType.EMPLOYEE_WORKING
    if age < 18:
        return PsnType.RESIDENT_MINOR
    if age >= 60:
        return PsnType.RESIDENT_ELDERLY
    return PsnType.RESIDENT_ADULT


def _next_psn_no(region: str) -> str:
    last = InsuredPerson.objects.filter(psn_no__startswith=region, psn_no__regex=r"^\d{20}$").aggregate(
        m=Max("psn_no")
    )["m"]
    sequence = int(last[6:]) + 1 if last else 1
    return f"{region}{sequence:014d}"


def person_enrol(
    *,
    name: str,
    id_number: str,
    insutype: str,
    region: str,
    employer: str = "",
    psn_type: str | None = None,
    psn_no: str | None = None,
    enrolment_status: str = EnrolmentStatus.ACTIVE,
    enrolled_on: dt.date | None = None,
) -> tuple[InsuredPerson, bool]:
    """Enrol a person in ``region`` for ``insutype`` and open their personal
    account. Gender and birth date come from the ID number.

    Idempotent: the same ID number with the same name, insutype and region
    returns the existing person (created=False); with other details it is
    refused (change an enrolment through its own service, not by enrolling
    again). ``psn_no`` is assigned unless given (demo data gives its own).
    """
    name = (name or "").strip()
    number = idnumber.normalize(id_number)
    employer = (employer or "").strip()
    if not name or len(name) > 64:
        raise InvalidInput("姓名不能为空且不超过64个字符")
    if not idnumber.is_valid(number):
        raise InvalidInput(f"身份证号码无效（格式、出生日期或校验位不正确）：{idnumber.mask(number)}")
    if insutype not in Insutype.values:
        raise InvalidInput(f"险种必须是 310（职工）或 390（居民），实为 {insutype!r}")
    if enrolment_status not in EnrolmentStatus.values:
        raise InvalidInput(f"参保状态无效：{enrolment_status!r}")
    if not Region.objects.filter(admdvs=region).exists():
        raise InvalidInput(f"参保地 {region!r} 未登记（先登记统筹区）")
    born = idnumber.birth_date(number)
    today = timezone.localdate()
    if born > today:
        raise InvalidInput("出生日期晚于今天")
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    psn_type = psn_type or _default_psn_type(insutype, age)
    allowed = EMPLOYEE_PSN_TYPES if insutype == Insutype.EMPLOYEE else RESIDENT_PSN_TYPES
    if psn_type not in allowed:
        raise InvalidInput(f"人员类别 {psn_type!r} 与险种 {insutype} 不符（可选：{', '.join(sorted(allowed))}）")
    if insutype == Insutype.RESIDENT and employer:
        raise InvalidInput("城乡居民参保不填写单位名称")
    if psn_type == PsnType.EMPLOYEE_WORKING and not employer:
        raise InvalidInput("在职职工参保必须填写单位名称")
    if psn_no is not None and not _PSN_NO.fullmatch(psn_no):
        raise InvalidInput("人员编号必须是20位数字")

    id_hash = crypto.keyed_hash(number)

    def existing() -> InsuredPerson | None:
        person = InsuredPerson.objects.filter(id_number_hash=id_hash).first()
        if person is None:
            return None
        if (person.name, person.insutype, person.insured_region) != (name, insutype, region) or (
            psn_no is not None and person.psn_no != psn_no
        ):
            raise Conflict(
                f"证件号码 {idnumber.mask(number)} 已参保（人员编号 {person.psn_no}），登记信息不一致",
                {"psn_no": person.psn_no},
            )
        return person

    found = existing()
    if found:
        return found, False
    for _attempt in range(5):
        try:
            with core_atomic():
                person = InsuredPerson.objects.create(
                    psn_no=psn_no or _next_psn_no(region),
                    name=name,
                    id_number_encrypted=crypto.encrypt(number),
                    id_number_hash=id_hash,
                    gender=idnumber.gender(number),
                    birth_date=born,
                    insutype=insutype,
                    psn_type=psn_type,
                    insured_region=region,
                    enrolment_status=enrolment_status,
                    status_changed_on=None if enrolment_status == EnrolmentStatus.ACTIVE else today,
                    employer=employer,
                    enrolled_on=enrolled_on or today,
                )
                ledger_account_get_or_create(LedgerAccountKind.PERSONAL, person.psn_no)
                audit_record("person.enrol", person.psn_no,
                             {"id_number": idnumber.mask(number), "insutype": insutype, "region": region})
            return person, True
        except IntegrityError:
            found = existing()  # the same person enrolled concurrently
            if found:
                return found, False
            if psn_no is not None:
                raise Conflict(f"人员编号 {psn_no} 已被占用") from None
            # another enrolment took the same sequence number: try the next
    raise Conflict("人员编号分配冲突，请重试")


def person_status_set(psn_no: str, new_status: str, *, on: dt.date | None = None) -> InsuredPerson:
    """Change an enrolment status as a compare-and-swap on the current one."""
    if new_status not in EnrolmentStatus.values:
        raise InvalidInput(f"参保状态无效：{new_status!r}")
    with core_atomic():
        person = InsuredPerson.objects.filter(psn_no=psn_no).first()
        if person is None:
            raise InvalidInput(f"人员编号 {psn_no} 不存在")
        if person.enrolment_status == EnrolmentStatus.TERMINATED:
            raise Conflict("终止参保的人员不能变更状态，请重新参保")
        changed = InsuredPerson.objects.filter(pk=person.pk, enrolment_status=person.enrolment_status).update(
            enrolment_status=new_status, status_changed_on=on or timezone.localdate(), updated_at=timezone.now()
        )
        if changed != 1:
            raise Conflict("参保状态已被并发修改，请重试")
        audit_record("person.status_set", psn_no, {"from": person.enrolment_status, "to": new_status})
        RegistryChange.objects.create(psn_no=psn_no, kind="enrolment_status",
                                      data={"from": person.enrolment_status, "to": new_status})
        if new_status != person.enrolment_status:  # family mutual aid ends by itself (services/mutual_aid.py)
            mutual_aid.enrolment_changed(psn_no, f"{EnrolmentStatus(person.enrolment_status).label}→"
                                                 f"{EnrolmentStatus(new_status).label}")
    person.refresh_from_db()
    return person


def person_move(psn_no: str, *, region: str | None = None, insutype: str | None = None) -> InsuredPerson:
    """Move a person's insured region and/or change their insutype (recorded
    for the wallet's pull)."""
    with core_atomic():
        person = InsuredPerson.objects.select_for_update().filter(psn_no=psn_no).first()
        if person is None:
            raise InvalidInput(f"人员编号 {psn_no} 不存在")
        data = {}
        if region and region != person.insured_region:
            if not Region.objects.filter(admdvs=region).exists():
                raise InvalidInput(f"参保地未登记：{region}")
            data["insured_region"] = {"from": person.insured_region, "to": region}
            person.insured_region = region
        if insutype and insutype != person.insutype:
            if insutype not in ("310", "390"):
                raise InvalidInput(f"险种无效：{insutype}")
            data["insutype"] = {"from": person.insutype, "to": insutype}
            person.insutype = insutype
        if data:
            person.save(update_fields=["insured_region", "insutype", "updated_at"])
            RegistryChange.objects.create(psn_no=psn_no, kind="moved", data=data)
            audit_record("person.move", psn_no, data)
            mutual_aid.enrolment_changed(psn_no, "参保地或险种变更")
    return person


def institution_register(
    *, code: str, name: str, kind: str, level: str, region: str, designated: bool = True,
    outpatient_pooling: bool = False,
) -> tuple[Institution, bool]:
    """Create or update a designated institution (upsert on fixmedins_code:
    every field is set, ``outpatient_pooling`` included). Pharmacies are
    level '9'; hospitals '1', '2', '3' or '9'. ``outpatient_pooling``: the
    institution is designated for employee outpatient pooling (门诊统筹); a
    pharmacy without it gets no outpatient pooled benefit."""
    code = (code or "").strip().upper()
    name = (name or "").strip()
    if not _FIXMEDINS_CODE.fullmatch(code):
        raise InvalidInput(f"机构编码必须是4-30位大写字母或数字（如 P44010000001）：{code!r}")
    if not name or len(name) > 128:
        raise InvalidInput("机构名称不能为空且不超过128个字符")
    if kind not in InstitutionKind.values:
        raise InvalidInput(f"机构类型必须是 hospital 或 pharmacy，实为 {kind!r}")
    if level not in InstitutionLevel.values:
        raise InvalidInput(f"机构等级必须是 1/2/3/9，实为 {level!r}")
    if kind == InstitutionKind.PHARMACY and level != InstitutionLevel.UNGRADED:
        raise InvalidInput("零售药店的等级必须是 9（未定级）")
    if not Region.objects.filter(admdvs=region).exists():
        raise InvalidInput(f"所在统筹区 {region!r} 未登记（先登记统筹区）")
    with core_atomic():
        institution, created = Institution.objects.update_or_create(
            fixmedins_code=code,
            defaults={"name": name, "kind": kind, "level": level, "region": region, "designated": designated,
                      "outpatient_pooling": bool(outpatient_pooling)},
        )
        ledger_account_get_or_create(LedgerAccountKind.INSTITUTION_RECEIVABLE, code)
        audit_record("institution.register", code, {"designated": designated, "created": created,
                                                    "outpatient_pooling": bool(outpatient_pooling)})
    return institution, created


# 人员身份类别 (psn_idet_type) of this platform's regions: the national
# interface leaves the dictionary to each region; these are the values the
# demo regions use (core_platform/README.md). Medical assistance (maf) lists
# the codes it pays for in the region's policy.
IDENTITY_TYPES = {
    "2101": "特困供养人员",
    "2201": "最低生活保障对象",
    "2301": "低保边缘家庭成员",
    "2401": "防止返贫监测对象",
}
_IDENTITY_LEVEL = re.compile(r"[0-9A-Za-z]{0,6}", re.ASCII)


def person_cvlserv_set(psn_no: str, cvlserv: bool) -> InsuredPerson:
    """Set or clear a person's civil-servant flag (公务员标志, 1101/2101
    ``cvlserv_flag``)."""
    with core_atomic():
        person = InsuredPerson.objects.select_for_update().filter(psn_no=psn_no).first()
        if person is None:
            raise InvalidInput(f"人员编号 {psn_no} 不存在")
        if person.cvlserv_flag != bool(cvlserv):
            person.cvlserv_flag = bool(cvlserv)
            person.save(update_fields=["cvlserv_flag", "updated_at"])
            audit_record("person.cvlserv_set", psn_no, {"cvlserv_flag": person.cvlserv_flag})
    return person


def person_identity_add(psn_no: str, psn_idet_type: str, begntime: dt.date, *, endtime: dt.date | None = None,
                        psn_type_lv: str = "", memo: str = "") -> tuple[PersonIdentity, bool]:
    """Record a special identity (人员身份) of a person, valid from
    ``begntime`` to ``endtime`` inclusive (None: open-ended). Idempotent on
    (psn_no, type, begntime) with the same details; other details for the
    same key are refused (end it and add a new period instead)."""
    if psn_idet_type not in IDENTITY_TYPES:
        known = "，".join(f"{code} {name}" for code, name in IDENTITY_TYPES.items())
        raise InvalidInput(f"人员身份类别 {psn_idet_type!r} 不在本地区字典中（可选：{known}）")
    if not isinstance(begntime, dt.date) or (endtime is not None and not isinstance(endtime, dt.date)):
        raise InvalidInput("身份开始、结束日期必须是日期")
    if endtime is not None and endtime < begntime:
        raise InvalidInput("身份结束日期早于开始日期")
    psn_type_lv = (psn_type_lv or "").strip()
    memo = (memo or "").strip()
    if not _IDENTITY_LEVEL.fullmatch(psn_type_lv):
        raise InvalidInput("人员身份等级 psn_type_lv 必须是不超过6位的字母或数字")
    if len(memo) > 500:
        raise InvalidInput("备注不超过500个字符")
    with core_atomic():
        if not InsuredPerson.objects.filter(psn_no=psn_no).exists():
            raise InvalidInput(f"人员编号 {psn_no} 不存在")
        wanted = {"psn_type_lv": psn_type_lv, "endtime": endtime, "memo": memo}
        identity, created = PersonIdentity.objects.get_or_create(
            psn_no=psn_no, psn_idet_type=psn_idet_type, begntime=begntime, defaults=wanted)
        if not created and {k: getattr(identity, k) for k in wanted} != wanted:
            raise Conflict(f"人员 {psn_no} 的身份 {psn_idet_type}（{begntime.isoformat()} 起）已登记且内容不同")
        if created:
            audit_record("person.identity_add", psn_no, {"psn_idet_type": psn_idet_type,
                                                        "begntime": begntime.isoformat(),
                                                        "endtime": endtime.isoformat() if endtime else None})
    return identity, created


def person_identities_on(psn_no: str, on: dt.date) -> frozenset[str]:
    """The identity codes a person holds on ``on`` (begntime <= on <= endtime)."""
    rows = PersonIdentity.objects.filter(psn_no=psn_no, begntime__lte=on).filter(
        Q(endtime__isnull=True) | Q(endtime__gte=on))
    return frozenset(rows.values_list("psn_idet_type", flat=True))
