from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ACTIONS = ("blink", "turn_head", "open_mouth", "nod")


def canonical(result: dict) -> bytes:
    """The exact bytes a provider signs: sorted keys, no spaces, UTF-8."""
    return json.dumps(result, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Challenge:
    nonce: str
    subject: str
    actions: list[str]
    expires_at: dt.datetime


class LivenessProvider:
    name = "base"
    url = ""  # where the app talks to the provider (its SDK / H5 page)

    def open(self, challenge: Challenge) -> None:
        """Register the challenge with the provider."""
        raise NotImplementedError

    def public_key(self) -> Ed25519PublicKey:
        raise NotImplementedError

    def verify_signature(self, result: dict, signature: str) -> bool:
        try:
            raw = base64.urlsafe_b64decode(signature.encode() + b"=" * (-len(signature) % 4))
            self.public_key().verify(raw, canonical(result))
            return True
        except (InvalidSignature, ValueError, TypeError):
            return False
