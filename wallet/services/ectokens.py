"""ecTokens: the settlement token an institution receives when it decodes a
voucher code. 40 characters, bound to voucher + institution, valid for
ECTOKEN_TTL_SECONDS (10 min). Stored as SHA-256 only."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string

from django.conf import settings
from django.utils import timezone

from common.envelope import EnvelopeError, InfCode

from ..enums import VoucherStatus
from ..models import EcToken, Institution, Voucher

_ALPHABET = string.ascii_uppercase + string.digits


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ectoken_issue(*, voucher: Voucher, institution: Institution, business_type: str = "",
                  operator_id: str = "") -> tuple[EcToken, str]:
    token = "EC" + "".join(secrets.choice(_ALPHABET) for _ in range(38))
    row = EcToken.objects.create(
        token_hash=_hash(token), voucher=voucher, institution=institution, business_type=business_type[:5],
        operator_id=operator_id[:30], expires_at=timezone.now() + dt.timedelta(seconds=settings.ECTOKEN_TTL_SECONDS),
    )
    return row, token


def ectoken_resolve(token: str, institution: Institution, *, msgid: str = "") -> EcToken:
    """The ecToken's voucher, if ``token`` is live and this institution's."""
    row = None
    if token and len(token) <= 64:
        try:
            row = EcToken.objects.select_related("voucher__person").get(token_hash=_hash(token))
        except EcToken.DoesNotExist:
            pass
    if row is None or row.institution_id != institution.pk:
        raise EnvelopeError(InfCode.ECTOKEN_INVALID, "电子凭证令牌无效，请重新扫码", msgid=msgid)
    if row.expires_at <= timezone.now():
        raise EnvelopeError(InfCode.ECTOKEN_INVALID, "电子凭证令牌已过期，请重新扫码", msgid=msgid)
    if row.voucher.status != VoucherStatus.ACTIVE:
        raise EnvelopeError(InfCode.VOUCHER_UNAVAILABLE, "该医保电子凭证当前不可用", msgid=msgid)
    return row
