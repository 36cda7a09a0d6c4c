"""Liveness sessions (实人认证) for any flow that needs a person's face: the
activation (accounts/services/activation.py), a relative's consent to a
family binding (family/), forgot-PIN (issue #15).

``liveness_open`` opens a challenge with the provider for one subject (a
psn_no), one purpose and one reference (the flow's own id), on behalf of one
login; ``liveness_consume`` accepts the provider-signed result exactly once:
signature, nonce of this purpose/reference/login, expiry, subject, liveness
and score. The refusal codes are the activation's (docs/subsystems/
activation.md), whatever the flow. Neither writes an audit event: the calling
flow records its own, with its own action name."""

from __future__ import annotations

import datetime as dt
import random
import secrets

from django.conf import settings
from django.utils import timezone

from common import ratelimit
from common.errors import ApplicationError

from ..enums import LivenessPurpose
from ..liveness import get_provider
from ..liveness.base import ACTIONS, Challenge
from ..models import Activation, ChannelLogin, LivenessSession

HOUR, DAY = 3600, 86400

_RESULT_FIELDS = {"nonce": str, "subject": str, "score": int, "passed": bool, "issued_at": int}


def _too_many(message: str, retry_after: int) -> ApplicationError:
    return ApplicationError("TOO_MANY_ATTEMPTS", message, status=429, detail={"retry_after": retry_after})


def liveness_open(*, login: ChannelLogin, subject: str, purpose: str, reference: str = "",
                  activation: Activation | None = None) -> LivenessSession:
    """Open a challenge for ``subject`` (psn_no). Rate-limited per login and
    per (subject, login), never per subject alone: someone who knows a name
    and ID number must not be able to use up the person's own tries. Call
    outside a transaction (the provider is told after the row is written)."""
    wait = ratelimit.attempt(f"liveness:login:{login.pk}", settings.LIVENESS_LIMIT_PER_LOGIN, HOUR)
    if wait:
        raise _too_many("人脸识别尝试次数过多，请1小时后再试", wait)
    wait = ratelimit.attempt(f"liveness:psn:{subject}:login:{login.pk}", settings.LIVENESS_LIMIT_PER_ID, DAY)
    if wait:
        raise _too_many("该证件今日人脸识别次数过多，请明天再试", wait)
    provider = get_provider()
    rng = random.SystemRandom()
    actions = rng.sample(list(ACTIONS), k=rng.choice([2, 3]))
    challenge = Challenge(nonce=secrets.token_hex(16), subject=subject, actions=actions,
                          expires_at=timezone.now() + dt.timedelta(seconds=settings.LIVENESS_SESSION_TTL_SECONDS))
    session = LivenessSession.objects.create(
        nonce=challenge.nonce, purpose=purpose, activation=activation, login=login, reference=reference,
        subject=subject, actions=actions, provider=provider.name, expires_at=challenge.expires_at,
    )
    provider.open(challenge)  # no I/O with the simulator; a vendor adapter registers the challenge here
    return session


def liveness_consume(*, login: ChannelLogin, subject: str, purpose: str, result, signature,
                     reference: str = "", activation: Activation | None = None,
                     now: dt.datetime | None = None) -> dict:
    """Accept a provider-signed ``result`` once for this purpose, reference
    (or activation) and login, naming ``subject``. Returns the result. Raises
    the LIVENESS_* refusals; whatever the outcome, a known nonce is spent."""
    now = now or timezone.now()
    if not isinstance(result, dict) or not isinstance(signature, str) or any(
        not isinstance(result.get(k), t) or (t is int and isinstance(result.get(k), bool))
        for k, t in _RESULT_FIELDS.items()
    ):
        raise ApplicationError("LIVENESS_SIGNATURE_INVALID", "人脸识别结果格式不正确，请重新识别")
    if not get_provider().verify_signature(result, signature):
        raise ApplicationError("LIVENESS_SIGNATURE_INVALID", "人脸识别结果签名校验失败，请重新识别")
    sessions = LivenessSession.objects.filter(nonce=result["nonce"], purpose=purpose)
    if purpose == LivenessPurpose.ACTIVATION:
        sessions = sessions.filter(activation=activation)
    else:
        sessions = sessions.filter(reference=reference, login=login)
    session = sessions.first()
    if session is None:
        raise ApplicationError("LIVENESS_NONCE_UNKNOWN", "人脸识别结果与本次认证不符，请重新识别")
    if session.used_at is not None:
        raise ApplicationError("LIVENESS_REPLAYED", "该人脸识别结果已使用过，请重新识别")
    if now > session.expires_at:
        raise ApplicationError("LIVENESS_EXPIRED", "人脸识别已超时，请重新识别")
    failure = None
    if result["subject"] != subject or session.subject != subject:
        failure = ApplicationError("LIVENESS_SUBJECT_MISMATCH", "人脸识别结果不属于当前认证人，请本人重新识别")
    elif not result["passed"]:
        failure = ApplicationError("LIVENESS_NOT_LIVE", "未通过活体检测，请按提示完成动作后重新识别")
    elif result["score"] < settings.LIVENESS_MIN_SCORE:
        failure = ApplicationError("LIVENESS_FACE_MISMATCH", "人脸比对未通过，请确认是本人并在光线充足处重新识别")
    # Single use: whatever the outcome, this nonce is spent.
    spent = LivenessSession.objects.filter(pk=session.pk, used_at__isnull=True).update(
        used_at=now, outcome=failure.code if failure else "accepted")
    if not spent:
        raise ApplicationError("LIVENESS_REPLAYED", "该人脸识别结果已使用过，请重新识别")
    if failure:
        raise failure
    return result
