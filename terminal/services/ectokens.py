"""ecTokens: the settlement token an institution receives when it decodes a
voucher code. 40 characters, bound to voucher + institution, valid for
ECTOKEN_TTL_SECONDS (10 min). Stored as SHA-256 only.

A token carries the chain that let its code be shown: the channel
authorization the code was shown under (which names the login) and, for a
relative's code shown by a binder, the family code grant. ``chain_refusal``
is the one rule for that chain, used by the decode (``code_check``) and by
``ectoken_resolve``, which every use of a token goes through (1101 by token,
2101, 2102; a 2102 opened but not yet sent is checked again before it is sent,
``ectoken_chain_check``): the voucher active, the authorization that showed the code
active (and, for a binder's, the binder's voucher active), the binding
standing. A logout or an expired app session is not in the chain: the
person has not withdrawn consent, and the cashier may still be settling."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from common.envelope import EnvelopeError, InfCode
from settlement.services.housekeeping import batch_delete

from terminal.models import EcToken, Institution
from wallet.services.chain import chain_refusal

_ALPHABET = string.ascii_uppercase + string.digits


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ectoken_issue(*, voucher: Voucher, institution: Institution, authorization_id: int,
                  proxy_grant_id: int | None = None, business_type: str = "",
                  operator_id: str = "") -> tuple[EcToken, str]:
    """A token for ``voucher`` at ``institution``, carrying the chain its code
    was checked with (``code_check``): the authorization it was shown under and
    the family code grant when a binder showed it."""
    token = "EC" + "".join(secrets.choice(_ALPHABET) for _ in range(38))
    row = EcToken.objects.create(
        token_hash=_hash(token), voucher=voucher, institution=institution, authorization_id=authorization_id,
        proxy_grant_id=proxy_grant_id, business_type=business_type[:5], operator_id=operator_id[:30],
        expires_at=timezone.now() + dt.timedelta(seconds=settings.ECTOKEN_TTL_SECONDS),
    )
    return row, token


def ectoken_resolve(token: str, institution: Institution, *, msgid: str = "") -> EcToken:
    """The ecToken, if ``token`` is this institution's, its whole chain still
    holds (``chain_refusal``) and it has not expired: one query (plus family's
    grant lookup for a relative's code shown by a binder). Every use of an
    ecToken goes through here; a refusal raises before anything is sent to
    the core."""
    # The chain before the expiry: a token ended by a freeze (ectokens_end) says why while the voucher is frozen.
    row = ectoken_chain_check(token, institution, msgid=msgid)
    if row.expires_at <= timezone.now():
        raise EnvelopeError(InfCode.ECTOKEN_INVALID, "电子凭证令牌已过期，请重新扫码", msgid=msgid)
    return row


def ectoken_chain_check(token: str, institution: Institution, *, msgid: str = "") -> EcToken:
    """``ectoken_resolve`` without the expiry: the token is this institution's
    and its chain still holds. For a payment opened with the token while it
    was live and not yet sent (waiting for the payer's PIN, or confirmed and
    about to be sent): it is sent only while the consent behind the code
    stands, however long the confirmation took."""
    row = None
    if token and len(token) <= 64:
        row = (EcToken.objects.select_related("voucher__person", "authorization__voucher")
               .filter(token_hash=_hash(token)).first())
    if row is None or row.institution_id != institution.pk:
        raise EnvelopeError(InfCode.ECTOKEN_INVALID, "电子凭证令牌无效，请重新扫码", msgid=msgid)
    if row.authorization_id is None:  # issued before tokens carried their chain: nothing to check it against
        raise EnvelopeError(InfCode.ECTOKEN_INVALID, "电子凭证令牌已失效，请重新扫码", msgid=msgid)
    refusal = chain_refusal(voucher=row.voucher, authorization=row.authorization, grant_id=row.proxy_grant_id)
    if refusal is not None:
        raise EnvelopeError(refusal.infcode, refusal.message, msgid=msgid)
    return row


def ectokens_end(voucher_id: int) -> int:
    """Inside the caller's transaction (a freeze or revoke of ``voucher_id``):
    its live tokens, and those of relatives' codes its channels showed, end
    for good — an unfreeze within their 10 minutes does not revive them."""
    now = timezone.now()
    return (EcToken.objects.filter(Q(voucher_id=voucher_id) | Q(authorization__voucher_id=voucher_id),
                                   expires_at__gt=now).update(expires_at=now))


def ectoken_expired_delete(before: dt.datetime, batch: int) -> int:
    """Tokens are useless once expired; ``before`` leaves a grace period
    (settlement's housekeeping sweep ``ectokens``, registered in terminal/apps.py)."""
    return batch_delete(EcToken.objects.filter(expires_at__lt=before), batch)
