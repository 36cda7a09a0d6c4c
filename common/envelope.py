"""The national interface envelope (国家医保信息平台 接口报文), shared by the
wallet's terminal gateway and the settlement core.

Request: ``{infno, msgid, mdtrtarea_admvs, insuplc_admdvs, recer_sys_code,
dev_no, dev_safe_info, cainfo, signtype, infver, opter_type, opter,
opter_name, inf_time, fixmedins_code, fixmedins_name, sign_no, input}``.
Answer (every field on every answer, refusals included, as the national
platform answers): ``{infcode, inf_refmsgid, refmsg_time, respond_time,
err_msg, warn_msg, cainfo, signtype, output}``.

- ``infcode``: a JSON integer, 0 on success, else a stable ``InfCode``.
- ``inf_refmsgid``: the *receiver's* own message id (not the request's msgid):
  receiver admdvs (6) + yyyyMMddHHmmss (14) + a 10-digit sequence, unique per
  receiver (``refmsgid_new``).
- ``refmsg_time`` / ``respond_time``: when the receiver got the request and
  when it answered, ``yyyyMMddHHmmssSSS`` (17 digits, local time).
- ``output``: amounts are ``Decimal`` with two places (数值型 16,2), ages one
  place (4,1); never a float. ``render_answer`` writes them as JSON numbers
  from their exact text.

Answers always travel with HTTP 200, as the national gateway does. A receiver
takes a ``Receipt`` when a request arrives, builds its answer with ``answer``
/ ``error_answer`` and sends ``render_answer(receipt.stamp(answer))``; a
stored answer (msgid replay) is that exact text. See
docs/subsystems/terminal-gateway.md ("Envelope").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum

import simplejson
from django.utils import timezone

from . import jsonbody
from .fields import admdvs_valid, ascii_pattern, matches
from .jsonbody import JsonBodyError
from .redis import redis_client


class InfCode(IntEnum):
    """Stable answer codes. 0 is success; the rest are refusals."""

    OK = 0
    MALFORMED = 1001  # body is not a JSON envelope / required header field missing
    UNKNOWN_INFNO = 1002  # transaction code not served here
    AUTH_FAILED = 1003  # unknown institution, bad signature, stale timestamp, nonce replay
    NOT_SIGNED_IN = 1004  # sign_no missing, unknown or not this institution's
    MSGID_CONFLICT = 1005  # msgid reused with a different body
    MSGID_IN_PROGRESS = 1006  # the first request with this msgid is still running
    INPUT_INVALID = 1007  # input fails validation (see err_msg)
    INSTITUTION_NOT_DESIGNATED = 1008
    CONFIRMATION_PENDING = 1009  # the payer is asked on the phone; retry the same msgid
    CONFIRMATION_REFUSED = 1010  # the payer declined, or the confirmation expired
    PIN_LOCKED = 1011  # the voucher's payment PIN is locked
    PERSON_NOT_FOUND = 2001
    CERT_TYPE_UNSUPPORTED = 2002
    PERSON_NAME_MISMATCH = 2003  # psn_name given and not the registered name
    CODE_CORRUPTED = 3001  # voucher code fails its format/check digits
    CODE_UNKNOWN = 3002  # no voucher issued this code (or its time is in the future)
    CODE_EXPIRED = 3003  # older than the previous time step
    CODE_USED = 3004  # already redeemed
    VOUCHER_UNAVAILABLE = 3005  # voucher not active / no active channel authorization
    ECTOKEN_INVALID = 3006  # ecToken unknown, expired or another institution's
    AUTHORIZATION_REVOKED = 3007  # the channel authorization that showed the ecToken's code was revoked
    #   (or the voucher it belongs to, a binder's, is no longer active): the token is dead
    BINDING_ENDED = 3008  # the family binding under which a binder showed the relative's code has ended
    PERSON_NOT_INSURED = 2004  # enrolment suspended or terminated: no benefits
    AMOUNTS_INCONSISTENT = 4001  # medfee_sumamt ≠ Σ items, or the parts ≠ medfee_sumamt
    CATALOGUE_ITEM_UNKNOWN = 4002  # med_list_codg not in the catalogue
    SPLIT_CHANGED = 4003  # the split the payer confirmed no longer holds
    SETTLEMENT_NOT_FOUND = 4004
    ALREADY_REVERSED = 4005
    POLICY_MISSING = 4006  # no policy parameters for the region/insutype/date
    ORIGINAL_REVERSED = 4007  # 2601 reversed this msgid before it ever ran
    CONFIRMATION_REQUIRED = 4008  # (wallet→core) the account part exceeds acct_pay_limit: nothing posted
    NOT_FILED = 4011  # a bill in another province (or region, where the insured region says so) without a
    #   current cross-province filing (异地就医未备案) covering the treatment region and date
    CROSS_PROVINCE_NOT_OPEN = 4012  # the insured region has not opened cross-province direct settlement
    MULAID_REVOKED = 4010  # (wallet→core) the mutual-aid authorisation sent is not the core's active one
    MULAID_NOT_ALLOWED = 4013  # family mutual aid not allowed: relation, payer's enrolment or region rules
    CONTRIBUTION_NOT_REVERSIBLE = 4014  # a paid resident contribution (9404) can only be reversed the same day
    HOLD_NOT_FOUND = 4015  # (wallet→core) 9410/9411/9412: no settlement hold with that hold_id at this institution
    HOLD_CLOSED = 4016  # (wallet→core) the hold is no longer pending (posted, voided or expired): see output.hold
    CORE_UNAVAILABLE = 5001  # the settlement core could not be reached; safe to retry
    OUTCOME_UNKNOWN = 5002  # sent to the core, no answer yet; being resolved — retry the same msgid
    INTERNAL = 5999


ENVELOPE_FIELDS = (
    "infno",
    "msgid",
    "mdtrtarea_admvs",
    "insuplc_admdvs",
    "recer_sys_code",
    "dev_no",
    "dev_safe_info",
    "cainfo",
    "signtype",
    "infver",
    "opter_type",
    "opter",
    "opter_name",
    "inf_time",
    "fixmedins_code",
    "fixmedins_name",
    "sign_no",
)
REQUIRED_FIELDS = ("infno", "msgid", "fixmedins_code", "inf_time", "input")
# The spec's lengths (字符型) of the request's header fields; longer is malformed
# (the two admdvs fields have their own check below).
FIELD_MAX_LENGTH = {
    "infno": 5, "msgid": 40, "recer_sys_code": 10,
    "dev_no": 100, "dev_safe_info": 2000, "cainfo": 1024, "signtype": 10, "infver": 6,
    "opter_type": 3, "opter": 30, "opter_name": 50, "inf_time": 19, "fixmedins_code": 30,
    "fixmedins_name": 200, "sign_no": 30,
}
# Fields that a terminal's retry may legitimately change: left out of the
# msgid replay digest. inf_time is re-stamped; cainfo is a signature over the
# message (it changes with inf_time); dev_safe_info is per-request device
# security data.
_RETRY_VARIANT_FIELDS = frozenset({"inf_time", "cainfo", "dev_safe_info"})
ANSWER_FIELDS = ("infcode", "inf_refmsgid", "refmsg_time", "respond_time", "err_msg", "warn_msg", "cainfo",
                 "signtype", "output")
# ASCII only and matched whole (fields.matches uses fullmatch: no "\n" slips past "$").
_MSGID = ascii_pattern(r"[0-9A-Za-z_-]{1,40}")
_INFNO = ascii_pattern(r"[0-9]{4}[A-Z]?")
_INF_TIME_LONG = ascii_pattern(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_INF_TIME_SHORT = ascii_pattern(r"[0-9]{14}")


class EnvelopeError(Exception):
    def __init__(self, infcode: InfCode, err_msg: str, *, msgid: str = "", output: dict | None = None):
        super().__init__(f"{int(infcode)} {err_msg}")
        self.infcode = infcode
        self.err_msg = err_msg
        self.msgid = msgid
        self.output = output  # a refusal may still say why, e.g. the split that needs confirming


@dataclass
class Envelope:
    infno: str
    msgid: str
    fixmedins_code: str
    inf_time: str
    input: dict
    fields: dict = field(default_factory=dict)
    client_id: str = ""  # who called (set by the receiver after authentication)

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default) or default

    @property
    def sign_no(self) -> str:
        return self.get("sign_no")

    def body_hash(self) -> str:
        """Digest of what the request asks, for msgid replay detection.
        ``inf_time``, ``cainfo`` and ``dev_safe_info`` are left out: a
        terminal's retry re-stamps and re-signs them."""
        significant = {k: v for k, v in self.fields.items() if k not in _RETRY_VARIANT_FIELDS}
        significant["input"] = self.input
        return hashlib.sha256(canonical_json(significant).encode()).hexdigest()

    def to_dict(self) -> dict:
        return {**self.fields, "input": self.input}


def canonical_json(value) -> str:
    """Sorted keys, no spaces, non-ASCII as is: the text of
    ``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))``,
    except that a ``Decimal`` (a JSON number as the client wrote it) is its
    exact text, so ``12.50`` and ``"12.50"`` stay two different bodies."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(key, ensure_ascii=False)}:{canonical_json(value[key])}"
                              for key in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def json_ready(value):
    """A copy of ``value`` that ``json.dumps`` and a JSONField can hold: each
    ``Decimal`` (a JSON number from the client) becomes its exact value as
    plain decimal text (``Decimal("1E+2")`` -> ``"100"``), which every
    amount and quantity field accepts. Nothing else changes."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_ready(item) for item in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def parse(body: bytes) -> Envelope:
    """Strict: common.jsonbody refuses deep nesting, lone surrogates, NaN and
    duplicate keys (MALFORMED); JSON numbers with a fraction or exponent
    arrive as exact ``Decimal`` (never a float) for common.fields to judge."""
    try:
        data = jsonbody.loads(body, decimal_numbers=True)
    except JsonBodyError as error:
        raise EnvelopeError(InfCode.MALFORMED, error.message)
    if not isinstance(data, dict):
        raise EnvelopeError(InfCode.MALFORMED, "报文必须是JSON对象")
    msgid = data.get("msgid") if isinstance(data.get("msgid"), str) else ""
    missing = [name for name in REQUIRED_FIELDS if data.get(name) in (None, "")]
    if missing:
        raise EnvelopeError(InfCode.MALFORMED, f"报文缺少必填字段：{', '.join(missing)}", msgid=msgid)
    fields = {}
    for name in ENVELOPE_FIELDS:
        value = data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise EnvelopeError(InfCode.MALFORMED, f"字段 {name} 必须是字符串", msgid=msgid)
        fields[name] = str(value)
        if name in FIELD_MAX_LENGTH and len(fields[name]) > FIELD_MAX_LENGTH[name]:
            raise EnvelopeError(InfCode.MALFORMED, f"字段 {name} 超出长度（最多 {FIELD_MAX_LENGTH[name]} 个字符）",
                                msgid=msgid if name != "msgid" else "")
    if not matches(_MSGID, fields["msgid"]):
        raise EnvelopeError(InfCode.MALFORMED, "msgid 格式不正确（1-40位字母数字）", msgid="")
    if not matches(_INFNO, fields["infno"]):
        raise EnvelopeError(InfCode.MALFORMED, "infno 格式不正确", msgid=msgid)
    for name in ("mdtrtarea_admvs", "insuplc_admdvs"):
        if fields[name] and not admdvs_valid(fields[name]):
            raise EnvelopeError(InfCode.MALFORMED, f"{name} 必须是6位行政区划代码", msgid=msgid)
    if not isinstance(data["input"], dict):
        raise EnvelopeError(InfCode.MALFORMED, "input 必须是JSON对象", msgid=msgid)
    return Envelope(
        infno=fields["infno"],
        msgid=fields["msgid"],
        fixmedins_code=fields["fixmedins_code"],
        inf_time=fields["inf_time"],
        input=data["input"],
        fields=fields,
    )


logger = logging.getLogger(__name__)

_MS_FORMAT = "%Y%m%d%H%M%S"


def answer_time(at: dt.datetime | None = None) -> str:
    """``yyyyMMddHHmmssSSS`` (17 digits) in local time (settings.TIME_ZONE)."""
    local = timezone.localtime(at or timezone.now())
    return f"{local:{_MS_FORMAT}}{local.microsecond // 1000:03d}"


_local_counter = itertools.count(1)
_local_lock = threading.Lock()
SEQUENCE_BLOCK = 64
_blocks: dict[str, tuple[str, int, int]] = {}  # admdvs -> (second, next number, end of the block)


def _sequence(admdvs: str, second: str) -> int:
    """A number unique per (receiver, second). Each process takes blocks of
    SEQUENCE_BLOCK numbers from Redis (INCRBY on a key per second, kept a
    minute) and hands them out itself, so a busy second costs one round trip
    per block rather than one per answer; blocks never overlap. Without
    Redis, the process id and a process counter (unique within this process;
    logged, as two hosts could then collide)."""
    with _local_lock:
        block = _blocks.get(admdvs)
        if block is not None and block[0] == second and block[1] < block[2]:
            _blocks[admdvs] = (second, block[1] + 1, block[2])
            return block[1]
    key = f"yibao:refmsgid:{admdvs}:{second}"
    try:
        client = redis_client()
        pipe = client.pipeline()
        pipe.incrby(key, SEQUENCE_BLOCK)
        pipe.expire(key, 60)
        end, _ = pipe.execute()
    except Exception:  # Redis down: the answer must still go out
        logger.warning("inf_refmsgid sequence without Redis (process-local)")
        with _local_lock:
            count = next(_local_counter)
        return 9_000_000_000 + (os.getpid() % 10_000) * 100_000 + count % 100_000
    start = int(end) - SEQUENCE_BLOCK + 1
    with _local_lock:
        _blocks[admdvs] = (second, start + 1, int(end) + 1)
    return start


def refmsgid_new(admdvs: str, at: dt.datetime | None = None) -> str:
    """The receiver's own message id: admdvs (6) + yyyyMMddHHmmss (14) +
    sequence (10), 30 characters."""
    second = f"{timezone.localtime(at or timezone.now()):{_MS_FORMAT}}"
    return f"{admdvs}{second}{_sequence(admdvs, second) % 10**10:010d}"


class Receipt:
    """One request as received by one receiver (the wallet's gateway, the
    core): when it arrived and, once answered, the receiver's message id."""

    def __init__(self, admdvs: str, received_at: dt.datetime | None = None):
        self.admdvs = admdvs
        self.received_at = received_at or timezone.now()
        self.refmsg_time = answer_time(self.received_at)

    def stamp(self, answer: dict) -> dict:
        """The answer with the receiver's fields filled in: ``inf_refmsgid``
        (new), ``refmsg_time`` (arrival), ``respond_time`` (now). Every
        envelope field is present afterwards."""
        stamped = {name: answer.get(name, "") for name in ANSWER_FIELDS}
        stamped["infcode"] = int(answer.get("infcode", InfCode.INTERNAL))
        stamped["output"] = answer.get("output") or {}
        stamped["inf_refmsgid"] = refmsgid_new(self.admdvs, self.received_at)
        stamped["refmsg_time"] = self.refmsg_time
        stamped["respond_time"] = answer_time()
        return stamped


def answer(msgid: str = "", output: dict | None = None, *, infcode: InfCode = InfCode.OK, err_msg: str = "",
           warn_msg: str = "") -> dict:
    """An answer, not yet stamped by its receiver (``Receipt.stamp``).
    ``msgid`` (the request's) names the call site's request only: the answer
    carries the receiver's own ``inf_refmsgid``, never an echo."""
    return {
        "infcode": int(infcode),
        "inf_refmsgid": "",
        "refmsg_time": "",
        "respond_time": "",
        "err_msg": err_msg,
        "warn_msg": warn_msg,
        "cainfo": "",
        "signtype": "",
        "output": output or {},
    }


def error_answer(error: EnvelopeError, msgid: str = "") -> dict:
    return answer(error.msgid or msgid, error.output, infcode=error.infcode, err_msg=error.err_msg)


def _refuse_floats(value, path: str = "answer") -> None:
    if isinstance(value, float):
        raise TypeError(f"{path} is a float: envelope amounts are Decimal (common.money.fen_to_amount)")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_floats(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _refuse_floats(item, f"{path}[{index}]")


def render_answer(answer: dict) -> bytes:
    """The one renderer of envelope answers (the wallet's gateway, the core):
    UTF-8 JSON, no spaces, Chinese as is; each ``Decimal`` as a JSON number
    from its exact text (``Decimal("0.00")`` -> ``0.00``, ``Decimal("38.0")``
    -> ``38.0``). A float anywhere is a bug (TypeError): it would be written
    from a binary value. The answer must be stamped (every ANSWER_FIELDS key)."""
    missing = [name for name in ANSWER_FIELDS if name not in answer]
    if missing:
        raise ValueError(f"answer lacks {', '.join(missing)}: stamp it with its Receipt")
    return dumps_exact(answer)


def dumps_exact(value) -> bytes:
    """Compact UTF-8 JSON where each ``Decimal`` is a number written from its
    exact text; a float is refused (TypeError). For envelope requests too
    (settlement.client)."""
    _refuse_floats(value)
    return simplejson.dumps(value, use_decimal=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def load_answer(text: bytes | str) -> dict:
    """An envelope answer read back (a stored answer, the core's answer):
    JSON numbers as exact ``Decimal`` (never a float), integers as int."""
    return json.loads(text, parse_float=Decimal)


def parse_inf_time(value: str) -> dt.datetime | None:
    """``yyyy-MM-dd HH:mm:ss`` or ``yyyyMMddHHmmss`` in ASCII digits, else None
    (strptime alone takes fullwidth digits and one-digit months)."""
    if matches(_INF_TIME_LONG, value):
        return _strptime(value, "%Y-%m-%d %H:%M:%S")
    if matches(_INF_TIME_SHORT, value):
        return _strptime(value, "%Y%m%d%H%M%S")
    return None


def _strptime(value: str, fmt: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value, fmt)
    except ValueError:  # 30 February, hour 25
        return None
