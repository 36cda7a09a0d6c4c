"""The terminal gateway: the national envelope at
``POST /fsi/api/rsfComIfsService/callService``.

Order of checks for every request (each failure is an envelope answer with a
stable ``infcode``, never an HTTP error):

1. parse the envelope (``MALFORMED``);
2. authenticate the institution: signed headers, clock skew, single-use
   nonce (``AUTH_FAILED``);
3. idempotency on (fixmedins_code, msgid), the wallet's one record per
   terminal msgid (``GatewayMessage``; the body digest is computed here, once):
   a replay gets the first answer, a different body ``MSGID_CONFLICT``, a
   concurrent duplicate ``MSGID_IN_PROGRESS``; an answer that was not final
   (``NotStored``: payer asked to confirm, outcome unknown, core unreachable)
   leaves the row ``retryable`` and the same body runs again; a row left
   ``processing`` by a dead process is taken over once its short lease,
   renewed while its request runs (``MESSAGE_LEASES``), has run out;
4. sign-in (``NOT_SIGNED_IN``) for everything but 9001 (read with the
   institution in step 2: one query);
5. the handler's opening step (``OPENERS``; 2102: the payment row, written
   ``submitted``) — steps 2 to 5 are ONE transaction (``_open``), committed
   before anything is sent anywhere, a refusal stored in it;
6. dispatch with one ``TerminalCall`` (institution, envelope, journal row,
   each loaded once): 9001/9002 are answered here; 1101/3201/3202 go to the
   core through services/core.py; 2101/2102/2103/2601 are payments/. A
   settled 2102 stores its answer in its settling transaction.

Every answer is stamped with this receiver's ``Receipt`` (inf_refmsgid =
GATEWAY_ADMDVS + time + sequence, refmsg_time, respond_time) and rendered once
(common.envelope.render_answer); the journal keeps that exact text, so a msgid
replay is byte-identical. Outputs carry 数值型 fields as numbers
(common.money.output_numbers).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable, Mapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.enums import AuditOutcome
from accounts.services import audit_record
from common import idnumber, signing
from common.envelope import (Envelope, EnvelopeError, InfCode, Receipt, answer, error_answer, json_ready, parse,
                             render_answer)
from common.fields import is_ascii_digits
from common.leases import LeaseKeeper
from common.money import output_numbers
from common.redis import redis_client

from terminal.enums import GatewayMessageStatus
from terminal.models import GatewayMessage, Institution, TerminalSignIn
from terminal.services.forward import NotStored, TerminalCall, answer_final, core_call
from terminal.services.ectokens import ectoken_resolve
from terminal.services.institutions import institution_certno

logger = logging.getLogger(__name__)


def gateway_handle(*, body: bytes, headers: Mapping[str, str], ip: str | None = None) -> bytes:
    """One terminal request; returns the rendered answer (UTF-8 JSON)."""
    receipt = Receipt(settings.GATEWAY_ADMDVS)
    try:
        env = parse(body)
    except EnvelopeError as error:
        logger.info("gateway refused malformed envelope: %s", error.err_msg)
        return render_answer(receipt.stamp(error_answer(error)))
    try:
        opened = _open(env, headers, body, receipt, ip)
    except EnvelopeError as error:
        logger.info("gateway auth failed for %s: %s", env.fixmedins_code, error.err_msg)
        return render_answer(receipt.stamp(error_answer(error, env.msgid)))
    except RedisError:
        logger.exception("gateway nonce store unavailable")
        return render_answer(receipt.stamp(answer(env.msgid, infcode=InfCode.INTERNAL, err_msg="系统繁忙，请稍后重试")))
    except Exception:  # nothing of the request was committed: the terminal's retry starts afresh
        logger.exception("gateway failed to open infno=%s msgid=%s", env.infno, env.msgid)
        return render_answer(receipt.stamp(answer(env.msgid, infcode=InfCode.INTERNAL, err_msg="系统内部错误，请稍后重试")))
    if isinstance(opened, bytes):
        return opened  # a replay, a refusal of the msgid, or a refusal stored with its journal row
    MESSAGE_LEASES.hold(opened.message.pk, opened.message.claimed_at)  # renewed while we run: a short lease
    try:
        return _run(opened, receipt)
    finally:
        MESSAGE_LEASES.release(opened.message.pk)


def _run(call: TerminalCall, receipt: Receipt) -> bytes:
    """Step 6: the handler, then the answer stored (or the row handed back)."""
    env = call.env
    try:
        try:
            result = _handler(call.env)(call)
        except EnvelopeError as error:
            result = error_answer(error, env.msgid)
        if isinstance(result, bytes):
            return result  # stored by the handler in its last transaction (core.answer_final)
        text = render_answer(receipt.stamp(result))
    except NotStored as transient:
        _message_retryable(call.message)
        return render_answer(receipt.stamp(transient.answer))
    except Exception:
        logger.exception("gateway failed on infno=%s msgid=%s", env.infno, env.msgid)
        _message_retryable(call.message)
        return render_answer(receipt.stamp(answer(env.msgid, infcode=InfCode.INTERNAL,
                                                  err_msg="系统内部错误，请稍后重试")))
    GatewayMessage.objects.filter(pk=call.message.pk).update(
        status=GatewayMessageStatus.DONE, response=text.decode("utf-8"), completed_at=timezone.now()
    )
    return text


@transaction.atomic
def _open(env: Envelope, headers: Mapping[str, str], body: bytes, receipt: Receipt,
          ip: str | None) -> TerminalCall | bytes:
    """Steps 2-4 and the handler's opening step, in one transaction, before
    anything is sent: the institution (with the envelope's sign-in, one
    read), the msgid's journal row and, for 2102, the payment row. The
    ``TerminalCall`` to run, or the answer's text when there is nothing to
    run (a replay, a conflict, a request running now; a refusal is stored
    with the journal row, in this same commit)."""
    institution = _authenticate(env, headers, body)
    message, fresh, replay = _message_begin(env)
    if replay is not None:
        return replay.encode("utf-8") if isinstance(replay, str) else render_answer(receipt.stamp(replay))
    call = TerminalCall(institution=institution, env=env, message=message, ip=ip, receipt=receipt, fresh=fresh)
    try:
        _handler(env)
        if env.infno != "9001":
            _require_sign_in(institution, env)
        opener = OPENERS.get(env.infno)
        if opener is not None:
            call = dataclasses.replace(call, opened=opener(call))
    except EnvelopeError as error:
        return answer_final(call, error_answer(error, env.msgid))
    return call


# --- authentication -------------------------------------------------------

class AuthError(Exception):
    """An institution's request failed authentication (message in Chinese)."""


def authenticate_institution(fixmedins_code: str, headers: Mapping[str, str], body: bytes, *,
                             sign_no: str = "") -> Institution:
    """The x-tif-* scheme (common/signing.py), shared by the envelope and the
    voucher decode: caller id = fixmedins_code, fresh timestamp, valid
    signature over the exact body, single-use nonce (Redis SET NX). The
    institution comes with ``signed_in``: has it a live 9001 sign-in (the
    one named ``sign_no``, if given) — read with it, in one query."""
    lower = {k.lower(): v for k, v in headers.items()}
    paasid = lower.get(signing.HEADER_ID, "")
    if not paasid or not lower.get(signing.HEADER_SIGNATURE):
        raise AuthError("缺少机构签名信息（x-tif-paasid / x-tif-signature）")
    if paasid != fixmedins_code:
        raise AuthError("签名机构与报文 fixmedins_code 不一致")
    live = TerminalSignIn.objects.filter(institution=OuterRef("pk"), signed_out_at__isnull=True)
    if sign_no:
        live = live.filter(sign_no=sign_no)
    try:
        institution = Institution.objects.annotate(signed_in=Exists(live)).get(fixmedins_code=fixmedins_code,
                                                                                active=True)
    except Institution.DoesNotExist:
        raise AuthError("机构未注册或已停用") from None
    stamp_text = lower.get(signing.HEADER_TIMESTAMP, "")
    if not is_ascii_digits(stamp_text, max_length=12):  # int() would also take " 17…" or "1_7…"
        raise AuthError("x-tif-timestamp 不正确")
    stamp = int(stamp_text)
    if abs(time.time() - stamp) > settings.GATEWAY_CLOCK_SKEW_SECONDS:
        raise AuthError("请求时间与服务器时间相差过大，请校准终端时钟")
    nonce = lower.get(signing.HEADER_NONCE, "")
    if not 8 <= len(nonce) <= 64:
        raise AuthError("x-tif-nonce 不正确")
    if not signing.verify(institution.secret, lower, body):
        raise AuthError("签名校验失败")
    fresh = redis_client().set(f"yibao:gw:nonce:{institution.fixmedins_code}:{nonce}", b"1", nx=True,
                               ex=settings.GATEWAY_CLOCK_SKEW_SECONDS * 2)
    if not fresh:
        raise AuthError("请求已被使用（nonce 重放）")
    return institution


def _authenticate(env: Envelope, headers: Mapping[str, str], body: bytes) -> Institution:
    try:
        return authenticate_institution(env.fixmedins_code, headers, body, sign_no=env.sign_no)
    except AuthError as error:
        raise EnvelopeError(InfCode.AUTH_FAILED, str(error), msgid=env.msgid)


def institution_signed_in(institution: Institution) -> bool:
    """Has the institution a live 9001 sign-in (not signed out)?"""
    return TerminalSignIn.objects.filter(institution=institution, signed_out_at__isnull=True).exists()


# --- idempotency ------------------------------------------------------------

def _message_begin(env: Envelope) -> tuple[GatewayMessage | None, bool, dict | str | None]:
    """(row, fresh, None) to process — ``fresh`` when this request created
    it; (None, False, the first answer's exact text) for a replay; (None,
    False, a refusal to stamp) for a conflict or a request with this msgid
    running now. A ``retryable`` row (its last answer was not final) is taken
    over by one request at a time, with the same body only. In the opening
    transaction: a concurrent duplicate waits on the unique key until it
    commits, then finds the row ``processing``."""
    request_hash = env.body_hash()
    try:
        with transaction.atomic():  # a savepoint: the duplicate's IntegrityError leaves the transaction usable
            message = GatewayMessage.objects.create(
                fixmedins_code=env.fixmedins_code, msgid=env.msgid, infno=env.infno, request_hash=request_hash
            )
        return message, True, None
    except IntegrityError:
        pass
    first = GatewayMessage.objects.get(fixmedins_code=env.fixmedins_code, msgid=env.msgid)
    if first.request_hash != request_hash:
        return None, False, answer(env.msgid, infcode=InfCode.MSGID_CONFLICT,
                                   err_msg="msgid 已被另一笔不同内容的交易使用，请使用新的 msgid")
    if first.status == GatewayMessageStatus.DONE:
        return None, False, first.response
    if _message_take_over(first):
        return first, False, None
    return None, False, answer(env.msgid, infcode=InfCode.MSGID_IN_PROGRESS,
                               err_msg="该交易正在处理中，请稍后用相同 msgid 重试")


# The lease of this process's ``processing`` rows, renewed every fifth of
# GATEWAY_PROCESSING_LEASE_SECONDS while the request runs (common/leases.py).
MESSAGE_LEASES = LeaseKeeper(GatewayMessage, "claimed_at", condition={"status": GatewayMessageStatus.PROCESSING},
                      renew_every=lambda: settings.GATEWAY_PROCESSING_LEASE_SECONDS / 5)


def _message_take_over(first: GatewayMessage) -> bool:
    """Claim a row whose last answer was not final (``retryable``), or one
    still ``processing`` past its lease (nobody renewed it: its process died
    mid-request, and a crash must not fence the msgid). Compare-and-swap:
    one claimant."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.GATEWAY_PROCESSING_LEASE_SECONDS)
    claimable = (Q(status=GatewayMessageStatus.RETRYABLE)
                 | Q(status=GatewayMessageStatus.PROCESSING, claimed_at__lt=stale))
    if not GatewayMessage.objects.filter(claimable, pk=first.pk).update(status=GatewayMessageStatus.PROCESSING,
                                                                         claimed_at=now):
        return False
    if first.status == GatewayMessageStatus.PROCESSING:
        logger.warning("gateway msgid %s of %s taken over after its lease ran out", first.msgid, first.fixmedins_code)
    first.status, first.claimed_at = GatewayMessageStatus.PROCESSING, now
    return True


def _message_retryable(message: GatewayMessage) -> None:
    """The answer was not final: not stored; the terminal's retry runs the request again."""
    GatewayMessage.objects.filter(pk=message.pk, status=GatewayMessageStatus.PROCESSING).update(
        status=GatewayMessageStatus.RETRYABLE)


# --- dispatch ---------------------------------------------------------------

def _handler(env: Envelope) -> Callable[[TerminalCall], dict | bytes]:
    handler = HANDLERS.get(env.infno) or REGISTERED_HANDLERS.get(env.infno)
    if handler is None:
        raise EnvelopeError(InfCode.UNKNOWN_INFNO, f"不支持的交易编号 infno={env.infno}", msgid=env.msgid)
    return handler


def _require_sign_in(institution: Institution, env: Envelope) -> None:
    """The envelope's sign_no is a live sign-in of this institution (read
    with the institution: authenticate_institution's ``signed_in``)."""
    if not env.sign_no:
        raise EnvelopeError(InfCode.NOT_SIGNED_IN, "未签到：请先调用 9001 签到并在报文中携带 sign_no", msgid=env.msgid)
    if not institution.signed_in:
        raise EnvelopeError(InfCode.NOT_SIGNED_IN, "签到编号无效或已签退，请重新签到", msgid=env.msgid)


def _sign_in(call: TerminalCall) -> dict:
    institution, env, ip = call.institution, call.env, call.ip
    data = env.input.get("signIn") or env.input.get("signin") or {}
    if not isinstance(data, dict) or not str(data.get("opter_no", "")).strip():
        raise EnvelopeError(InfCode.INPUT_INVALID, "签到需要 input.signIn.opter_no（操作员编号）", msgid=env.msgid)
    now = timezone.localtime()
    sign_no = f"{now:%Y%m%d%H%M%S}{secrets.randbelow(10**12):012d}"
    with transaction.atomic():
        TerminalSignIn.objects.create(
            sign_no=sign_no, institution=institution, opter_no=str(data["opter_no"])[:30],
            mac=str(data.get("mac", ""))[:40], ip=str(data.get("ip", ""))[:45],
        )
        audit_record(action="terminal.sign_in", outcome=AuditOutcome.SUCCESS, actor=institution.fixmedins_code,
                     ip=ip, detail={"opter_no": str(data["opter_no"])[:30], "sign_no": sign_no})
    return answer(env.msgid, {"signinoutb": {"sign_time": now.strftime("%Y-%m-%d %H:%M:%S"), "sign_no": sign_no}})


def _sign_out(call: TerminalCall) -> dict:
    institution, env = call.institution, call.env
    data = env.input.get("signOut") or env.input.get("signout") or {}
    sign_no = (data.get("sign_no") if isinstance(data, dict) else "") or env.sign_no
    updated = TerminalSignIn.objects.filter(sign_no=sign_no, institution=institution,
                                            signed_out_at__isnull=True).update(signed_out_at=timezone.now())
    if not updated:
        raise EnvelopeError(InfCode.NOT_SIGNED_IN, "签到编号无效或已签退", msgid=env.msgid)
    return answer(env.msgid, {"signoutoutb": {"sign_time": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")}})


def _person_info(call: TerminalCall) -> dict:
    """1101: forward to the core by ID number (mdtrt_cert_type 02)."""
    institution, env = call.institution, call.env
    data = env.input.get("data")
    if not isinstance(data, dict):
        raise EnvelopeError(InfCode.INPUT_INVALID, "1101 需要 input.data", msgid=env.msgid)
    cert_type = str(data.get("mdtrt_cert_type", ""))
    if cert_type == "01":
        token = ectoken_resolve(str(data.get("mdtrt_cert_no", "")), institution, msgid=env.msgid)
        forward = {"data": {"mdtrt_cert_type": "99", "mdtrt_cert_no": token.voucher.person.psn_no}}
        output = core_call(call, "1101", forward)
        output.pop("evoucher", None)
        return answer(env.msgid, output_numbers(output))
    if cert_type != "02":
        raise EnvelopeError(InfCode.CERT_TYPE_UNSUPPORTED,
                            f"不支持的就诊凭证类型 mdtrt_cert_type={cert_type or '空'}（支持 01 医保电子凭证、02 居民身份证）",
                            msgid=env.msgid)
    certno = idnumber.normalize(str(data.get("mdtrt_cert_no") or data.get("certno") or ""))
    if not idnumber.is_valid(certno):
        raise EnvelopeError(InfCode.INPUT_INVALID, "身份证号码格式或校验位不正确", msgid=env.msgid)
    forward = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "psn_cert_type": "01", "certno": certno,
                        "psn_name": str(data.get("psn_name", ""))}}
    output = core_call(call, "1101", forward)
    base = output.get("baseinfo") or {}
    if base.get("certno"):
        base["certno"] = institution_certno(institution, base["certno"])
    output.pop("evoucher", None)
    return answer(env.msgid, output_numbers(output))


def _reconcile(call: TerminalCall) -> dict:
    """3201 对总账 / 3202 对明细账, as a pharmacy sends them to the platform:
    forwarded to the core in the national form only (``stmt_begndate`` …),
    which the core answers for the calling institution alone. The core's
    own per-day form (any institution, or all) is the wallet's, not a
    terminal's, so it is refused here."""
    env = call.env
    data = env.input.get("data")
    if not isinstance(data, dict) or "stmt_begndate" not in data:
        raise EnvelopeError(InfCode.INPUT_INVALID, f"{env.infno} 需要 input.data（含 stmt_begndate、stmt_enddate）",
                            msgid=env.msgid)
    if "fixmedins_code" in data or "setl_date" in data:
        raise EnvelopeError(InfCode.INPUT_INVALID, "对账只针对本机构：input.data 不接受 fixmedins_code、setl_date",
                            msgid=env.msgid)
    return answer(env.msgid, output_numbers(core_call(call, env.infno, {"data": json_ready(data)})))


# The typed infno -> handler registry. The gateway's own transactions are in
# HANDLERS; the apps above it register theirs in their AppConfig.ready()
# (payments: 2101/2102/2103/2601 with 2102's opening step; referrals:
# 2501/2502): the terminal app never imports them. They run after
# authentication, the msgid journal and the sign-in check, like ours.
REGISTERED_HANDLERS: dict[str, Callable[[TerminalCall], dict | bytes]] = {}


def gateway_handler_register(infno: str, handler: Callable[[TerminalCall], dict | bytes], *,
                             opener: Callable[[TerminalCall], object] | None = None) -> None:
    """Serve ``infno`` with ``handler``; ``opener`` is its opening step (see
    ``OPENERS``). Registering the same handler again is a no-op."""
    if infno in HANDLERS:
        raise RuntimeError(f"infno {infno} is the gateway's own")
    REGISTERED_HANDLERS[infno] = handler
    if opener is not None:
        OPENERS[infno] = opener


HANDLERS: dict[str, Callable[[TerminalCall], dict | bytes]] = {
    "9001": _sign_in,
    "9002": _sign_out,
    "1101": _person_info,
    "3201": _reconcile,
    "3202": _reconcile,
}

# A handler's opening step: runs in the gateway's opening transaction, with
# the msgid's journal row, before anything is sent; what it returns is the
# handler's ``call.opened``. 2102 (registered by payments): the payment row,
# written ``submitted``.
OPENERS: dict[str, Callable[[TerminalCall], object]] = {}
