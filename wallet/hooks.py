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


@dataclass(frozen=True)
class ProxyGrant:
    """A binder's right to show one relative's code under one of the binder's
    channel authorizations (family's ``CodeGrant``)."""

    id: int  # the grant's id: codes issued under it name it (wallet/codes.py, PROXY_FLAG)
    relative_person_id: int  # whose code it is (accounts Person id)
    authorization_id: int  # the binder's channel authorization the code is shown under
    active: bool  # the binding is active and may show the relative's code now
    binding_id: str = ""  # the binding's public id


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


hooks = WalletHooks()


def hook(name: str) -> Callable | None:
    return getattr(hooks, name)
