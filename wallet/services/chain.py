"""The chain that let a voucher code be shown, checked as one (``chain_refusal``):
the voucher, the channel authorization it was shown under and, for a
relative's code shown by a binder, the family code grant. The decode
(codes/services/issue.py ``code_check``) and every use of an ecToken
(terminal/services/ectokens.py ``ectoken_resolve``) ask it."""

from __future__ import annotations

from dataclasses import dataclass

from common.envelope import InfCode
from wallet.enums import AuthorizationStatus, VoucherStatus
from wallet.hooks import ProxyGrant, hook
from wallet.models import ChannelAuthorization, Voucher


@dataclass(frozen=True)
class ChainRefusal:
    """Why a code's chain no longer holds: an infcode and a message for the cashier."""

    infcode: InfCode
    message: str


VOUCHER_UNAVAILABLE = ChainRefusal(InfCode.VOUCHER_UNAVAILABLE,
                                   "该参保人的医保电子凭证已冻结或注销，不能使用医保电子凭证结算")
AUTHORIZATION_REVOKED = ChainRefusal(InfCode.AUTHORIZATION_REVOKED,
                                     "出示该医保码的渠道授权已撤销，电子凭证令牌已失效，请参保人重新出示医保码")
SHOWER_UNAVAILABLE = ChainRefusal(InfCode.AUTHORIZATION_REVOKED,
                                  "出示该医保码的家属的医保电子凭证已冻结或注销，电子凭证令牌已失效，请重新出示医保码")
BINDING_ENDED = ChainRefusal(InfCode.BINDING_ENDED,
                             "出示该医保码的亲情账户绑定已解除，电子凭证令牌已失效，请参保人本人出示医保码")


def chain_refusal(*, voucher: Voucher, authorization: ChannelAuthorization | None, grant_id: int | None,
                  grant: ProxyGrant | None = None) -> ChainRefusal | None:
    """The chain that authorised a code, checked as one: ``voucher`` (whose
    code it is) active; ``authorization`` (the channel authorization it was
    shown under, its ``voucher`` loaded) active, and its voucher active (a
    binder's, for a relative's code); for a relative's code (``grant_id``),
    the family code grant still standing for this authorization and this
    person (``grant``, or asked of family through the wallet hook). ``None``
    when the whole chain holds. Reads nothing but the grant."""
    if voucher.status != VoucherStatus.ACTIVE:
        return VOUCHER_UNAVAILABLE
    if authorization is None or authorization.status != AuthorizationStatus.ACTIVE:
        return AUTHORIZATION_REVOKED
    if authorization.voucher.status != VoucherStatus.ACTIVE:
        return SHOWER_UNAVAILABLE
    if grant_id is None:
        return None if authorization.voucher_id == voucher.pk else AUTHORIZATION_REVOKED
    if grant is None:
        get = hook("proxy_grant_get")
        grant = get(grant_id) if get else None  # family not installed: no binding stands
    if (grant is None or not grant.active or grant.authorization_id != authorization.pk
            or grant.relative_person_id != voucher.person_id):
        return BINDING_ENDED
    return None
