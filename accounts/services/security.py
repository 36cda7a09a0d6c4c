"""The person's own security actions (issue #15, person side), accounts'
part: liveness proofs for forgot-PIN and unfreeze, telling the person's
other login sessions, and the security events a person may read.

The wallet's flows (wallet/services/security.py) call these; they never take
a person or psn_no from the client: the person is always ``login.person``.

A *proof* is a liveness session of purpose ``pin_reset`` or
``voucher_unfreeze`` whose result was accepted (``outcome = "accepted"``)
for this login and this person. It may be spent once, within
``SECURITY_PROOF_WINDOW_SECONDS`` of the accepted result, by a
compare-and-swap on its outcome inside the caller's transaction — so a PIN
set through it and the proof being spent commit together or not at all."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.errors import ApplicationError

from ..models import AuditEvent, ChannelLogin, LivenessSession, LoginSession
from .liveness import liveness_consume, liveness_open
from .sessions import session_group

logger = logging.getLogger(__name__)

ACCEPTED = "accepted"  # liveness_consume's outcome for an accepted result
SPENT = "spent"  # the proof was used to reset the PIN / unfreeze
PROOF_MISSING = ("SECURITY_VERIFICATION_REQUIRED", "请先完成本人人脸识别")
PROOF_EXPIRED = ("SECURITY_VERIFICATION_EXPIRED", "人脸识别已超过有效时间，请重新识别")

# What the person's security page lists as "recent PIN events" (and voucher freezes).
PERSON_SECURITY_ACTIONS = (
    "pin.change", "pin.change.old_pin", "pin.reset", "pin.unlock", "pin.reset_ticket.create", "pin.reset_ticket.complete",
    "pin.reset_ticket.cancel", "voucher.freeze", "voucher.unfreeze", "authorization.revoke",
)


def security_proof_open(*, login: ChannelLogin, purpose: str) -> LivenessSession:
    """Open a liveness challenge for the login's own person (subject = their
    psn_no) under a fresh reference. Raises TOO_MANY_ATTEMPTS (provider
    limits per login). Call outside a transaction."""
    person = login.person
    if person is None:
        raise ApplicationError("NOT_ACTIVATED", "您尚未激活医保电子凭证", status=404)
    return liveness_open(login=login, subject=person.psn_no, purpose=purpose, reference=secrets.token_hex(16))


def security_proof_accept(*, login: ChannelLogin, purpose: str, reference: str, result, signature,
                          now: dt.datetime | None = None) -> dict:
    """Accept the provider-signed result for ``reference`` (this login's, this
    purpose's) naming the login's own person. The LIVENESS_* refusals of
    activation apply: own nonce, unexpired, unused, subject, score."""
    person = login.person
    if person is None:
        raise ApplicationError("NOT_ACTIVATED", "您尚未激活医保电子凭证", status=404)
    if not isinstance(reference, str) or not reference:
        raise ApplicationError("LIVENESS_NONCE_UNKNOWN", "人脸识别结果与本次认证不符，请重新识别")
    return liveness_consume(login=login, subject=person.psn_no, purpose=purpose, reference=reference,
                            result=result, signature=signature, now=now)


def security_proof_spend(*, login: ChannelLogin, purpose: str, reference: str, peek: bool = False) -> None:
    """Inside the caller's transaction: spend the accepted proof ``reference``
    (this login, this purpose, the login's own person). ``peek``: check only.
    Raises SECURITY_VERIFICATION_REQUIRED (none, someone else's, already
    spent) or SECURITY_VERIFICATION_EXPIRED."""
    person = login.person
    session = (LivenessSession.objects.filter(purpose=purpose, reference=str(reference or "")[:64], login=login,
                                              subject=getattr(person, "psn_no", None), outcome=ACCEPTED)
               .first() if person is not None and reference else None)
    if session is None or session.used_at is None:
        raise ApplicationError(*PROOF_MISSING, status=409)
    if timezone.now() - session.used_at > dt.timedelta(seconds=settings.SECURITY_PROOF_WINDOW_SECONDS):
        raise ApplicationError(*PROOF_EXPIRED, status=409)
    if peek:
        return
    if not LivenessSession.objects.filter(pk=session.pk, outcome=ACCEPTED).update(outcome=SPENT):
        raise ApplicationError(*PROOF_MISSING, status=409)


def person_sessions_tell(person, *, except_session_id: int | None, body: dict) -> int:
    """After commit, tell every other live login session of ``person`` (each
    channel's open pages: the ``/ws/session/`` socket and the code page join
    ``session.<pk>``) with a ``security.notice`` carrying ``body``. Returns
    how many sessions will be told."""
    ids = list(LoginSession.objects.filter(login__person=person, revoked_at__isnull=True,
                                           expires_at__gt=timezone.now())
               .exclude(pk=except_session_id or 0).values_list("pk", flat=True))
    message = {"type": "security.notice", "body": body}

    def send():
        layer = get_channel_layer()
        if layer is None:
            return
        for session_id in ids:
            try:
                # "group": the code pages of a process share one channel and route by it (codes/pages.py)
                async_to_sync(layer.group_send)(session_group(session_id),
                                                {**message, "group": session_group(session_id)})
            except Exception:  # Redis down: the notice is also in the person's notifications
                logger.exception("could not tell session %s about %s", session_id, body.get("kind"))

    transaction.on_commit(send)
    return len(ids)


def person_security_events(person, *, limit: int = 20, actions=PERSON_SECURITY_ACTIONS) -> list[AuditEvent]:
    """The person's recent PIN and voucher security events, newest first
    (their own audit events: the actor is never shown for staff beyond
    "客服")."""
    if person is None:
        return []
    return list(AuditEvent.objects.filter(person=person, action__in=actions).order_by("-occurred_at", "-id")[:limit])


def person_last_event(person, action: str) -> AuditEvent | None:
    """The person's most recent successful audit event ``action``."""
    return AuditEvent.objects.filter(person=person, action=action, outcome="success").order_by("-occurred_at",
                                                                                                  "-id").first()
