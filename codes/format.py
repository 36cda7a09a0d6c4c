"""The rotating voucher code: format, issue and parse. No I/O here.

A code is 49 decimal digits (numeric QR mode keeps the symbol small)::

    VV  BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB  TTTTTT  CC
    |   |                                        |       check: ISO 7064 MOD 97-10 over the first 47 digits
    |   |                                        TOTP of the voucher's own secret at the code's step (pyotp)
    |   one AES-256 block, as a 39-digit number: E_k(authorization id 48 bits | step 32 bits | salt 48 bits)
    version "88"

- Opaque and unlinkable: without the wallet's code key the block is a
  pseudorandom permutation of a value that includes a fresh random salt, and
  the TOTP changes every step; nothing stays the same from one code to the
  next but the version prefix. No name, ID number or psn_no is in it.
- Found without a scan: decrypting the block yields the id of the channel
  authorization the code was issued under (a primary key lookup that also
  gives the voucher) and the step; the TOTP is then checked against that
  voucher's secret at that step, so a forged block without the voucher secret
  fails. Because the code names its authorization, a code issued on a channel
  whose authorization is later revoked stops decoding at once.
- A relative's code shown by a binder (family binding, 亲情账户) names a
  family code grant instead: the id with ``PROXY_FLAG`` (bit 47) set is the
  grant's id (the binding, the binder's channel authorization it is shown
  under). It stops decoding when the binding ends or that authorization is
  revoked; channel authorization ids stay below 2**47.
- Corruption is caught before any lookup or decryption by the check digits
  (they catch every single-digit error and adjacent transposition).

Time window and single use are enforced by the redeeming service
(codes/services/issue.py): the step must be the current or the previous
one, and the block is marked used in Redis with SET NX. See docs/subsystems/codes.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from functools import lru_cache

import pyotp
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from common.fields import is_ascii_digits
from wallet.hooks import PROXY_FLAG, proxy_code_owner, proxy_grant_id  # noqa: F401 (part of the format)

VERSION = "88"
BLOCK_DIGITS = 39  # 2**128 < 10**39
TOTP_DIGITS = 6
LENGTH = len(VERSION) + BLOCK_DIGITS + TOTP_DIGITS + 2  # 49


class CodeFormatError(ValueError):
    """Wrong length, characters, version or check digits: a corrupted scan."""


@dataclass(frozen=True)
class ParsedCode:
    authorization_id: int  # the ChannelAuthorization the code was issued under (it names the voucher),
    # or PROXY_FLAG | a family code grant id (proxy_grant_id)
    step: int
    block: str  # the 39-digit block: the single-use key
    totp: str


def check_digits(digits: str) -> str:
    """ISO 7064 MOD 97-10 (as in IBAN): two digits that make the whole number ≡ 1 mod 97."""
    return f"{98 - (int(digits + '00') % 97):02d}"


@lru_cache(maxsize=4)
def _cipher_key(field_key: str) -> bytes:
    raw = base64.urlsafe_b64decode(field_key)
    return hmac.new(raw, b"yibao/voucher-code-block/v1", hashlib.sha256).digest()


def _aes(key: bytes):
    return Cipher(algorithms.AES(key), modes.ECB())  # one block: a keyed pseudorandom permutation


def current_step(step_seconds: int, now: float | None = None) -> int:
    return int((time.time() if now is None else now) // step_seconds)


def issue(authorization_id: int, secret: str, *, key: str, step: int, step_seconds: int,
          salt: bytes | None = None) -> str:
    """A code for the voucher whose TOTP ``secret`` is given, issued under the
    channel authorization ``authorization_id``."""
    if not 0 < authorization_id < 2**48:
        raise ValueError("authorization id out of range")
    plain = authorization_id.to_bytes(6, "big") + (step % 2**32).to_bytes(4, "big") + (salt or os.urandom(6))
    encryptor = _aes(_cipher_key(key)).encryptor()
    block = encryptor.update(plain) + encryptor.finalize()
    block_digits = f"{int.from_bytes(block, 'big'):0{BLOCK_DIGITS}d}"
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=step_seconds).at(step * step_seconds)
    body = VERSION + block_digits + totp
    return body + check_digits(body)


def parse(raw: str, *, key: str) -> ParsedCode:
    """Check the shape and check digits, then decrypt. Raises CodeFormatError."""
    # Exactly 49 ASCII digits, taken as scanned: no strip, no Unicode digits.
    # int() reads "１" or "١" as 1, so a code with such a digit would parse to
    # the same block under a different text, and the single-use marker is
    # keyed on the text (a second decode, a second ecToken); a superscript
    # passes isdigit() but not int() (a 500). Both are corrupted scans.
    code = raw if isinstance(raw, str) else ""
    if not is_ascii_digits(code, LENGTH):
        raise CodeFormatError("length or characters")
    if not code.startswith(VERSION):
        raise CodeFormatError("version")
    body, check = code[:-2], code[-2:]
    if check_digits(body) != check:
        raise CodeFormatError("check digits")
    block_digits = body[len(VERSION):len(VERSION) + BLOCK_DIGITS]
    number = int(block_digits)
    if number >= 2**128:
        raise CodeFormatError("block out of range")
    decryptor = _aes(_cipher_key(key)).decryptor()
    plain = decryptor.update(number.to_bytes(16, "big")) + decryptor.finalize()
    return ParsedCode(authorization_id=int.from_bytes(plain[:6], "big"), step=int.from_bytes(plain[6:10], "big"),
                      block=block_digits, totp=body[-TOTP_DIGITS:])


def totp_matches(parsed: ParsedCode, secret: str, step_seconds: int) -> bool:
    expected = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=step_seconds).at(parsed.step * step_seconds)
    return hmac.compare_digest(expected, parsed.totp)
