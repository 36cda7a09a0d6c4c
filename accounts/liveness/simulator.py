"""A local liveness provider for development, demos and tests.

It stands where a vendor's face-verification service would: it keeps the
challenges it was given (in Redis, with their expiry), and when the app
reports an outcome it returns a result signed with its own Ed25519 key:
``{nonce, subject, score, passed, issued_at}``. It can be told to fail
(``face_mismatch``: low score; ``not_live``: liveness failed). It never sees
or stores an image."""

from __future__ import annotations

import base64
import json
import random
import time
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from common.redis import redis_client

from .base import Challenge, LivenessProvider, canonical

OUTCOMES = ("pass", "face_mismatch", "not_live")


@lru_cache(maxsize=2)
def _private_key(encoded: str) -> Ed25519PrivateKey:
    try:
        raw = base64.urlsafe_b64decode(encoded)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"LIVENESS_SIM_PRIVATE_KEY is not a 32-byte Ed25519 key: {exc}") from exc


def simulator_private_key() -> Ed25519PrivateKey:
    if not settings.LIVENESS_SIM_PRIVATE_KEY:
        raise ImproperlyConfigured("LIVENESS_SIM_PRIVATE_KEY is required for the liveness simulator")
    return _private_key(settings.LIVENESS_SIM_PRIVATE_KEY)


def sign(result: dict, key: Ed25519PrivateKey | None = None) -> str:
    signature = (key or simulator_private_key()).sign(canonical(result))
    return base64.urlsafe_b64encode(signature).decode().rstrip("=")


class SimulatorProvider(LivenessProvider):
    name = "simulator"
    url = "/liveness-sim/"

    def open(self, challenge: Challenge) -> None:
        ttl = max(1, int(challenge.expires_at.timestamp() - time.time()))
        record = {"subject": challenge.subject, "actions": challenge.actions,
                  "expires_at": challenge.expires_at.timestamp()}
        redis_client().set(f"yibao:livesim:{challenge.nonce}", json.dumps(record), ex=ttl)

    def public_key(self) -> Ed25519PublicKey:
        configured = settings.LIVENESS_PROVIDER_PUBLIC_KEY
        if configured:
            return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(configured))
        return simulator_private_key().public_key()


def simulator_result(nonce: str, outcome: str) -> tuple[dict, str] | None:
    """What the simulated face check returns for a challenge it holds."""
    raw = redis_client().get(f"yibao:livesim:{nonce}")
    if raw is None:
        return None
    record = json.loads(raw)
    rng = random.SystemRandom()
    if outcome == "pass":
        score, passed = rng.randint(90, 99), True
    elif outcome == "face_mismatch":
        score, passed = rng.randint(20, 60), True
    else:
        score, passed = 0, False
    result = {"nonce": nonce, "subject": record["subject"], "score": score, "passed": passed,
              "issued_at": int(time.time())}
    return result, sign(result)
