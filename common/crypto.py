"""Field encryption (AES-256-GCM) and keyed hashes for searchable secrets.

Ciphertexts are ``v1.<base64(nonce|ciphertext|tag)>`` so the key can rotate
later by version. The keyed hash (HMAC-SHA256 under a key derived from the
field key) lets the database find a person by ID number without storing it in
the clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings


@lru_cache(maxsize=4)
def _keys(field_key: str) -> tuple[AESGCM, bytes]:
    raw = base64.urlsafe_b64decode(field_key)
    enc_key = hmac.new(raw, b"yibao/field-encryption/v1", hashlib.sha256).digest()
    hash_key = hmac.new(raw, b"yibao/keyed-hash/v1", hashlib.sha256).digest()
    return AESGCM(enc_key), hash_key


def encrypt(plaintext: str, *, key: str | None = None) -> str:
    aead, _ = _keys(key or settings.FIELD_ENCRYPTION_KEY)
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, plaintext.encode(), b"yibao")
    return "v1." + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str, *, key: str | None = None) -> str:
    if not token.startswith("v1."):
        raise ValueError("unknown ciphertext version")
    aead, _ = _keys(key or settings.FIELD_ENCRYPTION_KEY)
    blob = base64.urlsafe_b64decode(token[3:])
    return aead.decrypt(blob[:12], blob[12:], b"yibao").decode()


def keyed_hash(value: str, *, key: str | None = None) -> str:
    _, hash_key = _keys(key or settings.FIELD_ENCRYPTION_KEY)
    return hmac.new(hash_key, value.encode(), hashlib.sha256).hexdigest()
