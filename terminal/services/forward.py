"""A terminal's request on its way to the settlement core, and the wallet's
one way to call the core on a terminal's behalf.

What every terminal handler gets and gives back: the gateway (gateway.py)
parses and authenticates the envelope, opens the msgid's journal row (with
the handler's own opening step, if it has one: one transaction) and calls a
handler with one ``TerminalCall`` (the institution, the envelope, that
journal row and what the opening step wrote, each loaded once for the
request). A handler returns an answer (stored for the msgid), raises
``EnvelopeError`` (a refusal, stored too) or ``NotStored`` (an answer that
is not final: the terminal retries the same msgid and the handler runs
again). A handler whose last step writes may store its final answer in that
same transaction itself (``answer_final``) and return the stored text.

``core_send`` addresses the request as the terminal's institution and
forwards the envelope's own fields (mdtrtarea_admvs, insuplc_admdvs, opter,
opter_name, sign_no) with the wallet's signature (settlement.client); it
raises the typed failures of settlement.errors, for the callers that must
tell "never arrived" from "no answer" (2102, 2103, 2601: an unknown outcome
is resolved, never guessed). ``core_call`` is for the requests that change
nothing at the core (1101, 2101, 3201, 3202): a refusal becomes the
terminal's answer, any failure to get one "core unavailable".

The answers are made here and nowhere else: ``core_refusal`` (the core's
infcode passed through when the envelope knows it, else INTERNAL),
``core_unavailable`` (5001, retry the same msgid), ``outcome_unknown``
(5002) and ``terminal_output`` (the core's output as a terminal sees it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils import timezone

from common.envelope import Envelope, EnvelopeError, InfCode, Receipt, answer, render_answer
from common.money import output_numbers
from settlement.client import core_client
from settlement.errors import CoreError, CoreRefused

from terminal.enums import GatewayMessageStatus
from terminal.models import GatewayMessage, Institution
from terminal.services.institutions import institution_certno

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TerminalCall:
    institution: Institution
    env: Envelope
    message: GatewayMessage  # the journal row of (fixmedins_code, msgid): the body digest was checked once, there
    ip: str | None = None
    receipt: Receipt | None = None  # this request as the gateway received it: stamps the answer
    fresh: bool = False  # the journal row was created by this request (no earlier attempt of the msgid)
    opened: object = None  # what the handler's opening step wrote in the gateway's opening transaction


def answer_final(call: TerminalCall, result: dict) -> bytes:
    """Stamp and render ``result`` and store it as the msgid's final answer
    (in the caller's transaction, if one is open): a replay gets these bytes."""
    text = render_answer(call.receipt.stamp(result))
    GatewayMessage.objects.filter(pk=call.message.pk).update(
        status=GatewayMessageStatus.DONE, response=text.decode("utf-8"), completed_at=timezone.now())
    call.message.status = GatewayMessageStatus.DONE
    return text


class NotStored(Exception):
    """An answer the gateway must not remember for the msgid (payer asked to
    confirm, outcome unknown, core unreachable): the terminal's retry with the
    same body runs again."""

    def __init__(self, answer: dict):
        self.answer = answer


def outcome_unknown(env: Envelope) -> NotStored:
    return NotStored(answer(env.msgid, infcode=InfCode.OUTCOME_UNKNOWN,
                            err_msg="结算结果确认中，请勿重复收费，稍后用相同 msgid 重新提交查询结果"))


def terminal_output(output: dict, institution: Institution) -> dict:
    """The core's settlement output as the terminal gets it: 数值型 fields as
    numbers (two-place amounts), whichever of the per-item (detlcutinfo) and
    per-fund (setldetail) nodes the core sent, passed through; the ID number
    masked unless the institution is entitled to it, and the certificate type
    the terminal used (01, the e-voucher) rather than the wallet's internal
    one."""
    output = output_numbers(output)
    setlinfo = output.get("setlinfo")
    if isinstance(setlinfo, dict):
        if setlinfo.get("certno"):
            setlinfo["certno"] = institution_certno(institution, str(setlinfo["certno"]))
        if "mdtrt_cert_type" in setlinfo:
            setlinfo["mdtrt_cert_type"] = "01"
    return output


FORWARDED_FIELDS = ("mdtrtarea_admvs", "insuplc_admdvs", "opter", "opter_name", "sign_no")


def core_send(institution: Institution, infno: str, input: dict, *, env: Envelope | None = None,
              msgid: str | None = None) -> dict:
    """One envelope to the core for ``institution``; its ``output`` on
    infcode 0, else the settlement.errors type. ``msgid`` defaults to the
    terminal's (``env``); without ``env`` (a worker) none is forwarded."""
    extra = {"fixmedins_name": institution.name}
    if env is not None:
        extra.update({name: env.get(name) for name in FORWARDED_FIELDS if env.get(name)})
    return core_client().call(infno, input, msgid=msgid or (env.msgid if env is not None else None),
                              fixmedins_code=institution.fixmedins_code, extra=extra)


def core_call(call: TerminalCall, infno: str, input: dict) -> dict:
    """A request the core only reads, under the terminal's msgid: the output,
    or the terminal's refusal / "core unavailable" answer raised."""
    try:
        return core_send(call.institution, infno, input, env=call.env)
    except CoreRefused as refused:
        raise core_refusal(call.env, refused.infcode, refused.err_msg)
    except CoreError as exc:
        logger.warning("settlement core unavailable for infno=%s: %s", infno, exc)
        raise core_unavailable(call.env)


def core_refusal(env: Envelope, infcode: int | None, err_msg: str) -> EnvelopeError:
    """The core's refusal (or a stored one) as the terminal's answer."""
    code = InfCode(infcode) if infcode in InfCode._value2member_map_ else InfCode.INTERNAL
    return EnvelopeError(code, err_msg, msgid=env.msgid)


def core_unavailable(env: Envelope) -> NotStored:
    return NotStored(answer(env.msgid, infcode=InfCode.CORE_UNAVAILABLE,
                            err_msg="医保结算平台暂时无法访问，请稍后用相同 msgid 重试"))
