"""Request signing for the terminal gateway and the wallet→core link.

The national gateway ("TIF") style: every request carries

    x-tif-paasid     the caller's id (an institution's fixmedins_code, or the
                     wallet's client id when it calls the core)
    x-tif-timestamp  Unix seconds
    x-tif-nonce      random, single use within the clock-skew window
    x-tif-signature  hex HMAC-SHA256(secret, timestamp + "\n" + nonce + "\n" + sha256_hex(body))

The receiver checks the clock skew, that the nonce is new, and the signature
(constant-time). See docs/subsystems/terminal-gateway.md.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER_ID = "x-tif-paasid"
HEADER_TIMESTAMP = "x-tif-timestamp"
HEADER_NONCE = "x-tif-nonce"
HEADER_SIGNATURE = "x-tif-signature"


def signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    digest = hashlib.sha256(body).hexdigest()
    message = f"{timestamp}\n{nonce}\n{digest}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_headers(client_id: str, secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    return {
        HEADER_ID: client_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature(secret, timestamp, nonce, body),
    }


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    expected = signature(secret, headers.get(HEADER_TIMESTAMP, ""), headers.get(HEADER_NONCE, ""), body)
    return hmac.compare_digest(expected, headers.get(HEADER_SIGNATURE, ""))
