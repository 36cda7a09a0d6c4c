"""How the wallet asks family/ about bindings without importing it.

family sits above the wallet in the dependency order (docs/architecture.md):
the wallet may not import it. Where the wallet's code page, decode or payer
confirmation must know about a family binding — may this login show that
relative's code, is the binding a code names still standing, may this binder
confirm that relative's payment — family registers a function here in its
``AppConfig.ready()`` (plain assignment, no database access) and the wallet
calls it. A missing hook is treated as "no binding" (family not installed):
a relative's code then never decodes and nobody confirms for anyone else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


# How a code names a family code grant instead of a channel authorization
# (codes/format.py re-exports these; the wallet's code-page reads need them).
PROXY_FLAG = 1 << 47  # the code names a family code grant, not a channel authorization


def proxy_code_owner(grant_id: int) -> int:
    """The id a code shown under family code grant ``grant_id`` names."""
    if not 0 < grant_id < PROXY_FLAG:
        raise ValueError("grant id out of range")
    return PROXY_FLAG | grant_id


def proxy_grant_id(owner_id: int) -> int | None:
    """The family code grant a parsed code names, or None for a channel authorization."""
    return owner_id & (PROXY_FLAG - 1) if owner_id & PROXY_FLAG else None


@dataclass(frozen=True)
class ProxyGrant:
    """A binder's right to show one relative's code under one of the binder's
    channel authorizations (family's ``CodeGrant``)."""

    id: int  # the grant's id: codes issued under it name it (codes/format.py, PROXY_FLAG)
    relative_person_id: int  # whose code it is (accounts Person id)
    authorization_id: int  # the binder's channel authorization the code is shown under
    active: bool  # the binding is active and may show the relative's code now
    binding_id: str = ""  # the binding's public id


@dataclass(frozen=True)
class MulaidTicket:
    """The mutual-aid authorisation (家庭共济) a relative's settlement relies on:
    sent to the core as druginfo ``mulaid_auth_id`` / ``mulaid_auth_version``."""

    auth_id: str
    version: int
    confirm_above_fen: int | None = None  # the payer confirms (own PIN) a mutual-aid part above this
    withheld: str = ""  # not sent (the core does not have it yet): the reason, added to the explanation


@dataclass
class WalletHooks:
    proxy_grant_open: Callable[..., ProxyGrant] | None = None
    """family: ``(login, binding_id, authorization_id) -> ProxyGrant`` for the
    code page's ``?person=<binding id>``: the binding must be this login's
    person's, active and able to show the code (raises ApplicationError
    FAMILY_NOT_FOUND / FAMILY_NOT_ACTIVE otherwise). Records the view."""

    proxy_grant_get: Callable[[int], ProxyGrant | None] | None = None
    """family: the grant by id with its binding's current state, or None."""

    proxy_code_scanned: Callable[[int, str, str], None] | None = None
    """family: a code issued under grant ``id`` was decoded by an institution
    (name, fixmedins_code): recorded for the relative's "who showed my code"."""

    proxy_may_act: Callable[[int, int], bool] | None = None
    """family: may the person ``binder_person_id`` act for ``relative_person_id``
    (an active binding that can show the relative's code): confirm the
    relative's payments with the relative's PIN, see them pending."""


    # --- mutual aid (家庭共济): family/services/mulaid.py ---------------------------
    mulaid_ticket: Callable[..., MulaidTicket | None] | None = None
    """family: ``(person_id, payment_public_id, *, first_send=False)``
    (``first_send``: the payment was never sent, so it has no earlier use to
    look up): the active authorisation the
    person's settlement relies on, checked under the authorisation's row lock;
    with a payment id (a 2102 about to be sent, the payment already
    ``submitted``) the use is recorded in the mutual-aid ledger in that same
    locked transaction. ``None``: no mutual aid (the authorisation revoked,
    ended or changed since an earlier send of this payment included)."""

    mulaid_confirmation: Callable[[str, int], bool] | None = None
    """family: the core asked for confirmation (4008) with ``mulaid_fen`` from
    the payer's account: ``True`` when the payer must confirm with their own
    PIN (asked on the payer's phone)."""

    mulaid_payer_pending: Callable[[str], bool] | None = None
    """family: the payer's confirmation of this payment is asked and not given yet."""

    mulaid_settled: Callable[[str, dict, str], None] | None = None
    """family: ``(payment_public_id, setlinfo, institution_name)`` inside the
    settling transaction: the ledger row, the payer told (push + notification)."""

    mulaid_not_used: Callable[[str], None] | None = None
    """family: the payment was settled without its authorisation after all
    (the core no longer held it: 4010 on the first send)."""

    mulaid_reversed: Callable[[str], None] | None = None
    """family: the payment was reversed (2103 / 2601): both accounts restored."""

    payments_cancel_pending: Callable[..., int] | None = None
    """payments: ``(voucher_id, *, reason_code, err_msg) -> int`` inside the
    caller's transaction: the voucher's payments waiting for the PIN end as
    refused (a freeze, a revoke, a PIN change). Filled in PaymentsConfig.ready()."""

    ectokens_end: Callable[[int], int] | None = None
    """terminal: ``(voucher_id) -> int``: the voucher's ecTokens end (a freeze
    or revoke). Filled in TerminalConfig.ready()."""

    notifications_extra: Callable[[object], list[dict]] | None = None
    """family: more notifications for the person (mutual-aid uses as the payer),
    merged into GET /api/notifications."""


hooks = WalletHooks()


def hook(name: str) -> Callable | None:
    return getattr(hooks, name)
