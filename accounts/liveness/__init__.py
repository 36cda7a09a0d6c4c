"""Liveness (实人认证) providers behind one small interface.

A provider opens a challenge for a subject and later hands the app a result
it signed. The wallet trusts a result only through ``verify_signature`` with
the provider's public key; everything else (nonce, expiry, single use,
subject, score) is checked by accounts.services.activation."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import LivenessProvider
from .simulator import SimulatorProvider


@lru_cache(maxsize=2)
def _provider(name: str) -> LivenessProvider:
    if name == "simulator":
        return SimulatorProvider()
    raise ImproperlyConfigured(f"LIVENESS_PROVIDER={name!r} is not a known provider")


def get_provider() -> LivenessProvider:
    return _provider(settings.LIVENESS_PROVIDER)
