"""Terminal-side voucher decode (national voucher-centre style):
``POST /localcfc/api/hsecfc/localQrCodeQuery`` with ``transType: "ec.query"``.

Request: ``{transType, orgId, data: {orgId, businessType, operatorId,
operatorName, officeId, officeName, deviceType, qrCode}}`` signed with the
x-tif-* headers (orgId = fixmedins_code). Answer: ``{code, message,
errorCode, data}``; ``code`` 0 is success, otherwise an ``InfCode`` number
with a stable ``errorCode`` name. A retry of the same code by the same
institution returns the same answer (same ecToken); anyone else gets
EC_CODE_USED.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.enums import AuditOutcome
from accounts.services import audit_record
from common import crypto, idnumber, jsonbody
from common.envelope import InfCode
from common.jsonbody import JsonBodyError
from common.redis import redis_client

from wallet.hooks import hook
from terminal.models import EcToken, Institution
from codes.services.issue import CodeRefused, code_check
from terminal.services.ectokens import ectoken_issue
from terminal.services.gateway import AuthError, authenticate_institution, institution_signed_in
from wallet.services.push import voucher_push


_REFUSALS = {
    "EC_CODE_CORRUPTED": InfCode.CODE_CORRUPTED,
    "EC_CODE_UNKNOWN": InfCode.CODE_UNKNOWN,
    "EC_CODE_EXPIRED": InfCode.CODE_EXPIRED,
    "EC_CODE_USED": InfCode.CODE_USED,
    "EC_VOUCHER_UNAVAILABLE": InfCode.VOUCHER_UNAVAILABLE,
}


def _fail(infcode: InfCode, error_code: str, message: str) -> dict:
    return {"code": int(infcode), "errorCode": error_code, "message": message, "data": None}


def decode_handle(*, body: bytes, headers: Mapping[str, str], ip: str | None = None) -> dict:
    try:
        request = jsonbody.loads(body)  # depth, lone surrogates, NaN and duplicate keys refused
    except JsonBodyError as error:
        return _fail(InfCode.MALFORMED, "EC_MALFORMED", error.message)
    data = request.get("data") if isinstance(request, dict) else None
    if not isinstance(data, dict) or request.get("transType") != "ec.query":
        return _fail(InfCode.MALFORMED, "EC_MALFORMED", "请求须为 {transType: \"ec.query\", orgId, data: {...}}")
    org_id = request.get("orgId") or data.get("orgId") or ""
    if not isinstance(org_id, str) or not org_id or (data.get("orgId") or org_id) != org_id:
        return _fail(InfCode.MALFORMED, "EC_MALFORMED", "orgId 缺失或与 data.orgId 不一致")
    qr_code = data.get("qrCode")
    if not isinstance(qr_code, str) or not qr_code:
        return _fail(InfCode.MALFORMED, "EC_MALFORMED", "缺少 data.qrCode（扫码内容）")
    try:
        institution = authenticate_institution(org_id, headers, body)
    except AuthError as error:
        return _fail(InfCode.AUTH_FAILED, "EC_AUTH_FAILED", str(error))
    if not institution.designated:
        return _fail(InfCode.INSTITUTION_NOT_DESIGNATED, "EC_INSTITUTION_NOT_DESIGNATED", "非定点医药机构，不能使用医保电子凭证")
    if not institution_signed_in(institution):
        return _fail(InfCode.NOT_SIGNED_IN, "EC_NOT_SIGNED_IN", "机构未签到，请先调用 9001 签到")
    try:
        return _decode(institution, data, qr_code, ip)  # as scanned: codes.parse refuses anything but 49 ASCII digits
    except CodeRefused as refused:
        audit_record(action="code.decode", outcome=AuditOutcome.FAILURE, actor=institution.fixmedins_code, ip=ip,
                     code=refused.code)
        return _fail(_REFUSALS[refused.code], refused.code, refused.message)


def _decode(institution: Institution, data: dict, qr_code: str, ip: str | None) -> dict:
    checked = code_check(qr_code)  # the whole chain the code was shown under; the ecToken carries it
    voucher = checked.voucher
    redis = redis_client()
    ttl = settings.CODE_STEP_SECONDS * (settings.CODE_ACCEPT_STEPS + 2)
    used_key, answer_key = f"yibao:code:used:{checked.parsed.block}", f"yibao:code:answer:{checked.parsed.block}"
    if not redis.set(used_key, institution.fixmedins_code.encode(), nx=True, ex=ttl):
        owner = redis.get(used_key)
        stored = redis.get(answer_key)
        if owner == institution.fixmedins_code.encode() and stored is not None:
            return _answer_from_store(stored, institution)  # the same terminal retrying: same ecToken
        raise CodeRefused("EC_CODE_USED", "该医保码已被使用，请让参保人刷新后重新扫码")
    with transaction.atomic():
        row, token = ectoken_issue(voucher=voucher, institution=institution,
                                   authorization_id=checked.authorization_id, proxy_grant_id=checked.grant_id,
                                   business_type=str(data.get("businessType", "")),
                                   operator_id=str(data.get("operatorId", "")))
        audit_record(action="code.decode", outcome=AuditOutcome.SUCCESS, actor=institution.fixmedins_code,
                     person=voucher.person, ip=ip,
                     detail={"business_type": str(data.get("businessType", ""))[:5], "ectoken_id": row.pk})
        scanned = hook("proxy_code_scanned") if checked.grant_id is not None else None
        if scanned:  # a relative's code shown by a binder: the relative sees who showed it, and where it was scanned
            scanned(checked.grant_id, institution.name, institution.fixmedins_code)
        # Tell the person's open code pages: scanned by whom, when; they retire the code and show the next one.
        voucher_push(voucher.pk, "code.scanned", {"institution": institution.name,
                                                 "fixmedins_code": institution.fixmedins_code,
                                                 "at": timezone.localtime().isoformat()})
    redis.set(answer_key, json.dumps({"id": row.pk, "token": crypto.encrypt(token)}), ex=ttl)
    return _success(row, token, institution)


def _answer_from_store(stored: bytes, institution: Institution) -> dict:
    record = json.loads(stored)
    row = EcToken.objects.select_related("voucher__person").get(pk=record["id"], institution=institution)
    return _success(row, crypto.decrypt(record["token"]), institution)


def ec_index_no(voucher_id: int, institution: Institution) -> str:
    """Stable per (voucher, institution), different across institutions."""
    return crypto.keyed_hash(f"ecindex:{voucher_id}:{institution.fixmedins_code}")[:32].upper()


def _success(row: EcToken, token: str, institution: Institution) -> dict:
    person = row.voucher.person
    number = person.id_number
    full = institution.designated and institution_signed_in(institution)
    return {
        "code": 0,
        "errorCode": "",
        "message": "成功",
        "data": {
            "ecToken": token,
            "ecIndexNo": ec_index_no(row.voucher_id, institution),
            "userName": person.name,
            "idType": "01",
            "idNo": number if full else idnumber.mask(number),
            "insuOrg": person.insured_region,
            "gender": person.gender,
            "birthday": person.birth_date.strftime("%Y%m%d"),
            "tokenExpireTime": timezone.localtime(row.expires_at).strftime("%Y-%m-%d %H:%M:%S"),
        },
    }
