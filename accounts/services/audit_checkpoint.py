"""Checkpoints of the audit chain, outside the database (issue #20).

The chain (audit_chain.py) shows an event altered, inserted or deleted in the
middle; it cannot show its newest events deleted with the head moved back to
an earlier event's stored hash, because everything it checks lives in the
rows it protects. A checkpoint anchors it elsewhere: (seq, chain_hash of the
event at seq, time, key id), signed with HMAC-SHA256 under
AUDIT_CHECKPOINT_KEY — a secret of the environment, never stored in the
database — and appended as one JSON line to AUDIT_CHECKPOINT_FILE, a file
the application opens only with O_APPEND (``chattr +a`` in production makes
the kernel refuse anything else, to the application's own user too). Every
later chain must be an extension of every checkpoint: at least seq events,
and the event at seq still carrying that chain_hash.

This module is the store alone (sign, append, read); taking a checkpoint and
checking the chain against them is audit_chain.py's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

VERSION = 1
TAIL_BYTES = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    seq: int
    chain_hash: str
    at: dt.datetime
    key_id: str
    signature: str
    line: int = 0  # 1-based line in the store; 0 when not read from it

    @property
    def signature_valid(self) -> bool:
        return self.key_id == key_id() and hmac.compare_digest(self.signature, _sign(self.seq, self.chain_hash,
                                                                                     _iso(self.at), self.key_id))

    def as_line(self) -> str:
        return json.dumps({"v": VERSION, "seq": self.seq, "chain_hash": self.chain_hash, "at": _iso(self.at),
                           "kid": self.key_id, "sig": self.signature}, sort_keys=True, separators=(",", ":")) + "\n"


@dataclasses.dataclass(frozen=True)
class BadLine:
    """A line of the store that is not a validly signed checkpoint."""

    line: int
    reason: str
    checkpoint: Checkpoint | None = None  # its fields, when the line has them (signature not valid)


def store_path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_FILE)


def _secret() -> bytes:
    return hmac.new(settings.AUDIT_CHECKPOINT_KEY.encode(), b"yibao/audit-checkpoint/v1", hashlib.sha256).digest()


def key_id() -> str:
    """Names the key without revealing it (a rotated key has another id)."""
    return hashlib.sha256(b"yibao/audit-checkpoint/kid|" + _secret()).hexdigest()[:12]


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def _sign(seq: int, chain_hash: str, at: str, kid: str) -> str:
    return hmac.new(_secret(), f"v{VERSION}|{seq}|{chain_hash}|{at}|{kid}".encode(), hashlib.sha256).hexdigest()


def checkpoint_sign(*, seq: int, chain_hash: str, at: dt.datetime) -> Checkpoint:
    kid = key_id()
    return Checkpoint(seq=seq, chain_hash=chain_hash, at=at, key_id=kid, signature=_sign(seq, chain_hash, _iso(at), kid))


def _parse(text: str, line: int) -> Checkpoint | BadLine:
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict) or raw.get("v") != VERSION:
            return BadLine(line, "not a checkpoint of this version")
        seq, chain_hash, at, kid, sig = raw["seq"], raw["chain_hash"], raw["at"], raw["kid"], raw["sig"]
        if not (type(seq) is int and seq >= 0 and all(isinstance(v, str) for v in (chain_hash, at, kid, sig))):
            return BadLine(line, "malformed checkpoint")
        when = dt.datetime.fromisoformat(at)
    except (ValueError, KeyError, TypeError):
        return BadLine(line, "not a checkpoint (unreadable line)")
    if when.tzinfo is None or _iso(when) != at:
        return BadLine(line, "malformed checkpoint time")
    checkpoint = Checkpoint(seq=seq, chain_hash=chain_hash, at=when, key_id=kid, signature=sig, line=line)
    if kid != key_id():
        return BadLine(line, f"signed with another key (key id {kid[:12]}, configured {key_id()})", checkpoint)
    if not checkpoint.signature_valid:
        return BadLine(line, "signature invalid (forged or altered)", checkpoint)
    return checkpoint


def checkpoint_read_all() -> Iterator[Checkpoint | BadLine]:
    """Every line of the store, in order: a checkpoint or why it is not one.
    Nothing at all when the store does not exist."""
    try:
        handle = store_path().open("rb")
    except FileNotFoundError:
        return
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield BadLine(number, "not a checkpoint (not UTF-8)")
                continue
            if not text.endswith("\n"):
                yield BadLine(number, "incomplete last line")
            elif text.strip():
                yield _parse(text, number)


def checkpoint_last(*, valid_only: bool) -> Checkpoint | BadLine | None:
    """The store's last line (``valid_only``: its last validly signed
    checkpoint), reading only the tail of the file. Line numbers are not
    counted here (0)."""
    path = store_path()
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - TAIL_BYTES)
            handle.seek(start)
            tail = handle.read()
    except FileNotFoundError:
        return None
    lines = tail.split(b"\n")
    if start > 0:
        lines = lines[1:]  # the first piece may be the end of an earlier line
    for raw in reversed(lines):
        if not raw.strip():
            continue
        try:
            entry = _parse(raw.decode("utf-8"), 0)
        except UnicodeDecodeError:
            entry = BadLine(0, "not a checkpoint (not UTF-8)")
        if not valid_only or isinstance(entry, Checkpoint):
            return entry
    return None


@contextlib.contextmanager
def checkpoint_store_locked() -> Iterator[int]:
    """The store opened for appending only (O_APPEND: every write lands at the
    end, and a file marked ``chattr +a`` accepts nothing else), under an
    exclusive flock so that two writers on one host read-then-append in turn."""
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # releases the lock


def checkpoint_append(fd: int, checkpoint: Checkpoint) -> None:
    """One write of one line (well under PIPE_BUF), then fsync."""
    data = checkpoint.as_line().encode()
    if os.write(fd, data) != len(data):
        raise OSError(f"short write to {store_path()}")
    os.fsync(fd)
