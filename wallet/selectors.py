"""Reads of the wallet domain: the voucher, its channel authorizations, its
diagnosis, which code page a login may open and whether an open one may
still be shown (the code page's reads of the voucher and its
authorizations, batched), the proxy states family shows, who may confirm
for whom."""

from __future__ import annotations

from typing import NamedTuple

from django.db.models import Exists, F, OuterRef

from accounts.enums import Channel
from accounts.services.sessions import session_live_query, sessions_get_many, sessions_live_query, ws_ticket_redeem
from common.errors import ApplicationError
from settlement.client import core_client
from settlement.errors import CoreError, CoreRefused
from wallet.enums import AuthorizationStatus, VoucherStatus
from wallet.hooks import hook, proxy_code_owner, ProxyGrant
from wallet.models import ChannelAuthorization, Voucher
from wallet.services.pin import pin_is_locked, pin_lock_advice


def authorization_list(person) -> list[ChannelAuthorization]:
    return list(ChannelAuthorization.objects.filter(voucher__person=person).order_by("-created_at", "-id"))


def voucher_get(person) -> Voucher | None:
    if person is None:
        return None
    return Voucher.objects.filter(person=person).first()


def voucher_usable_by(login, voucher: Voucher | None) -> bool:
    """Is the e-voucher activated for this login: the voucher active and an
    active channel authorization of this very login (what ``/api/me`` calls
    ``activated``)."""
    if voucher is None or voucher.status != VoucherStatus.ACTIVE:
        return False
    return voucher.authorizations.filter(login=login, status=AuthorizationStatus.ACTIVE).exists()


def _check(key: str, ok: bool | None, title: str, message: str, advice: str = "") -> dict:
    return {"key": key, "ok": ok, "title": title, "message": message, "advice": "" if ok else advice}


def voucher_diagnose(login) -> dict:
    """Why is e-voucher payment (医保支付) unavailable for this login? The
    checks a person would otherwise guess at, in the order they matter."""
    person = login.person
    voucher = voucher_get(person)
    checks = []
    channel_name = Channel(login.channel).label
    if voucher is None or voucher.status == VoucherStatus.INACTIVE:
        checks.append(_check("activated", False, "医保电子凭证激活", "您尚未在本渠道激活医保电子凭证",
                             "请在首页点击“激活医保电子凭证”，完成实名和人脸识别"))
        return {"available": False, "checks": checks}
    checks.append(_check("activated", True, "医保电子凭证激活", "已激活"))

    auth = (ChannelAuthorization.objects.filter(voucher=voucher, login=login).order_by("-created_at", "-id").first())
    if auth is None:
        checks.append(_check("channel_authorization", False, f"{channel_name}渠道授权", "您尚未在本渠道完成激活",
                             "请在本渠道重新激活，使用已设置的支付密码"))
    elif auth.status != AuthorizationStatus.ACTIVE:
        checks.append(_check("channel_authorization", False, f"{channel_name}渠道授权", "您已解除本渠道的授权",
                             "如需在本渠道使用，请重新激活"))
    else:
        checks.append(_check("channel_authorization", True, f"{channel_name}渠道授权", "有效"))

    if voucher.status == VoucherStatus.FROZEN:
        checks.append(_check("voucher_status", False, "凭证状态", "您的医保电子凭证已被冻结", "请联系参保地医保经办机构"))
    elif voucher.status == VoucherStatus.REVOKED:
        checks.append(_check("voucher_status", False, "凭证状态", "您的医保电子凭证已注销", "请联系参保地医保经办机构"))
    else:
        checks.append(_check("voucher_status", True, "凭证状态", "正常"))

    if pin_is_locked(voucher):
        checks.append(_check("pin_locked", False, "支付密码", "支付密码输错次数过多，已被锁定",
                             pin_lock_advice(voucher.pin_locked_until)))  # when it ends; the hotline (no reset yet)
    else:
        checks.append(_check("pin_locked", True, "支付密码", "正常"))

    try:
        output = core_client().call("1101", {"data": {"mdtrt_cert_type": "99", "mdtrt_cert_no": person.psn_no}})
        insu = (output.get("insuinfo") or [{}])[0]
        status = insu.get("psn_insu_stas")
        if status == "1":
            checks.append(_check("enrolment", True, "参保状态", "正常参保"))
        elif status == "2":
            checks.append(_check("enrolment", False, "参保状态", "您的参保状态为暂停参保",
                                 "请联系参保地医保经办机构或单位办理续保"))
        else:
            checks.append(_check("enrolment", False, "参保状态", "您当前不在参保状态", "请联系参保地医保经办机构"))
        if (output.get("evoucher") or {}).get("region_open"):
            checks.append(_check("region_open", True, "参保地开通情况", "参保地已开通医保电子凭证"))
        else:
            checks.append(_check("region_open", False, "参保地开通情况", "您的参保地暂未开通医保电子凭证服务",
                                 "请关注当地医保部门通知"))
    except (CoreRefused, CoreError):
        checks.append(_check("enrolment", None, "参保状态", "医保信息平台暂时无法访问，无法确认参保状态",
                             "请稍后再试"))
    available = all(c["ok"] for c in checks)
    return {"available": available, "checks": checks}


def authorization_for_code_page(login) -> ChannelAuthorization:
    """The active channel authorization under which this login may show a
    code (its ``voucher`` loaded): activated, voucher active, an active
    authorization for this very login. Raises ApplicationError. One query
    when all is well (the code page's connect); the precise refusal is looked
    up only when not."""
    if login.person_id is not None:
        authorization = (ChannelAuthorization.objects.select_related("voucher")
                         .filter(login=login, status=AuthorizationStatus.ACTIVE, voucher__person_id=login.person_id,
                                 voucher__status=VoucherStatus.ACTIVE)
                         .order_by("-created_at", "-id").first())
        if authorization is not None:
            return authorization
    person = login.person
    voucher = voucher_get(person)
    if voucher is None:
        raise ApplicationError("NOT_ACTIVATED", "您尚未激活医保电子凭证", status=403)
    if voucher.status != VoucherStatus.ACTIVE:
        raise ApplicationError("VOUCHER_UNAVAILABLE", "您的医保电子凭证当前不可用", status=403)
    authorization = (voucher.authorizations.filter(login=login, status=AuthorizationStatus.ACTIVE)
                     .order_by("-created_at", "-id").first())
    if authorization is None:
        raise ApplicationError("CHANNEL_NOT_AUTHORIZED", CHANNEL_REVOKED_MESSAGE, status=403)
    authorization.voucher = voucher
    return authorization


class CodePageOpen(NamedTuple):
    """What an open code page keeps (codes/consumers.py): ids and the
    voucher's code secret, no model instances."""
    session_id: int
    login_person_id: int | None
    voucher_id: int  # the voucher shown (a relative's with ?person=)
    code_owner_id: int  # the id its codes name (channel authorization, or codes.proxy_code_owner(grant))
    secret: str
    authorization_id: int  # the login's own channel authorization, re-checked at every push
    grant_id: int | None  # family code grant with ?person=


def code_pages_open(requests) -> dict:
    """The connects of many code pages at once, keyed by (ticket, token,
    person, nonce) — a ticket key carries its own nonce, so a single-use
    ticket is never shared between two sockets. Answer per key: a
    ``CodePageOpen``, ``None`` (not a live login) or the ``ApplicationError``
    that refuses it. Two queries for all bearer-token connects (the sessions
    by ``token_hash IN``, then the active authorizations of their logins);
    tickets (redeemed one by one in Redis), ``?person=`` pages and refusals
    take the single-page path (``authorization_for_code_page``,
    ``proxy_code_page_open``), which names the precise refusal."""
    requests = list(dict.fromkeys(requests))
    by_token = sessions_get_many({token for ticket, token, _, _ in requests if token and not ticket})
    sessions = {}
    for key in requests:
        ticket, token, _, _ = key
        sessions[key] = ws_ticket_redeem(ticket) if ticket else by_token.get(token)
    logins = {s.login_id: s.login for s in sessions.values() if s is not None and s.login.person_id is not None}
    own: dict[int, ChannelAuthorization] = {}
    for authorization in (ChannelAuthorization.objects.select_related("voucher")
                          .filter(login_id__in=list(logins), status=AuthorizationStatus.ACTIVE,
                                  voucher__person_id=F("login__person_id"), voucher__status=VoucherStatus.ACTIVE)
                          .order_by("login_id", "-created_at", "-id")):
        own.setdefault(authorization.login_id, authorization)
    answers = {}
    secrets: dict[int, str] = {}  # voucher id -> its decrypted code secret (once per batch, not per page)
    for key, session in sessions.items():
        person = key[2]
        try:
            if session is None:
                answers[key] = None
            elif person is None:
                authorization = own.get(session.login_id) or authorization_for_code_page(session.login)
                secret = secrets.get(authorization.voucher_id)
                if secret is None:
                    secret = secrets[authorization.voucher_id] = authorization.voucher.code_secret
                answers[key] = CodePageOpen(session.pk, session.login.person_id, authorization.voucher_id,
                                            authorization.pk, secret, authorization.pk, None)
            else:
                voucher, owner_id, grant = proxy_code_page_open(session.login, person)
                answers[key] = CodePageOpen(session.pk, session.login.person_id, voucher.pk, owner_id,
                                            voucher.code_secret, grant.authorization_id, grant.id)
        except ApplicationError as refused:
            answers[key] = refused
    return answers


def voucher_for_code_page(login) -> Voucher:
    """The voucher this login may show a code for (see
    ``authorization_for_code_page``). Raises ApplicationError."""
    return authorization_for_code_page(login).voucher


SESSION_ENDED = ("SESSION_ENDED", "登录已失效，请重新登录")


CHANNEL_REVOKED_MESSAGE = "本渠道授权已撤销，如需使用请重新激活"


CHANNEL_REVOKED = ("CHANNEL_NOT_AUTHORIZED", CHANNEL_REVOKED_MESSAGE)


VOUCHER_UNAVAILABLE = ("VOUCHER_UNAVAILABLE", "您的医保电子凭证当前不可用")


def code_page_check(*, session_id: int, authorization_id: int) -> tuple[str, str] | None:
    """May an open code page still be shown? ``None`` when the login session
    is live, the channel authorization the page was opened under is still
    active and its voucher is active; otherwise ``(code, message)`` of the
    first that ended. One query: the code page calls this at every push."""
    row = (ChannelAuthorization.objects.filter(pk=authorization_id)
           .annotate(session_live=Exists(session_live_query(session_id).filter(login_id=OuterRef("login_id"))))
           .values_list("status", "voucher__status", "session_live").first())
    if row is None:
        return CHANNEL_REVOKED
    status, voucher_status, session_live = row
    if not session_live:
        return SESSION_ENDED
    if status != AuthorizationStatus.ACTIVE:
        return CHANNEL_REVOKED
    if voucher_status != VoucherStatus.ACTIVE:
        return VOUCHER_UNAVAILABLE
    return None


BINDING_ENDED = ("FAMILY_NOT_ACTIVE", "亲情账户绑定已解除，不能再展示该亲属的医保码")


RELATIVE_VOUCHER_UNAVAILABLE = ("VOUCHER_UNAVAILABLE", "该亲属的医保电子凭证当前不可用")


def proxy_code_page_open(login, binding_id: str) -> tuple[Voucher, int, ProxyGrant]:
    """The relative's voucher, the id its codes name (``codes.proxy_code_owner``)
    and the grant, for a binder's code page (or REST fallback) with
    ``?person=<binding id>``: the binder's own code-page checks first (login,
    voucher active, this login's channel authorization), then family's (the
    binding is this person's, active, can show the code). Raises ApplicationError."""
    authorization = authorization_for_code_page(login)
    open_grant = hook("proxy_grant_open")
    if open_grant is None:
        raise ApplicationError("FAMILY_NOT_FOUND", "未找到该亲属", status=404)
    grant = open_grant(login=login, binding_id=binding_id, authorization_id=authorization.pk)
    voucher = Voucher.objects.select_related("person").filter(person_id=grant.relative_person_id).first()
    if voucher is None or voucher.status != VoucherStatus.ACTIVE:
        raise ApplicationError(*RELATIVE_VOUCHER_UNAVAILABLE, status=403)
    return voucher, proxy_code_owner(grant.id), grant


def proxy_code_page_check(*, session_id: int, authorization_id: int, grant_id: int) -> tuple[str, str] | None:
    """``code_page_check`` for a binder showing a relative's code, plus the
    binding (still active, may show the code) and the relative's voucher."""
    ended = code_page_check(session_id=session_id, authorization_id=authorization_id)
    if ended is not None:
        return ended
    get = hook("proxy_grant_get")
    grant = get(grant_id) if get else None
    if grant is None or not grant.active:
        return BINDING_ENDED
    status = Voucher.objects.filter(person_id=grant.relative_person_id).values_list("status", flat=True).first()
    if status != VoucherStatus.ACTIVE:
        return RELATIVE_VOUCHER_UNAVAILABLE
    return None


def code_pages_check(keys) -> dict[tuple[int, int, int | None], tuple[str, str] | None]:
    """``code_page_check`` / ``proxy_code_page_check`` for many open code
    pages at once, keyed by (session id, channel authorization id, family code
    grant id or None): two queries for all of them (plus family's grant
    lookup per distinct proxy grant). The code pages' per-push check is
    batched through this (codes/pages.py), so 10,000 pages cost a few
    dozen queries per step instead of 10,000. Same answers as the single checks."""
    keys = list(dict.fromkeys(keys))
    rows = {pk: (status, voucher_status, login_id) for pk, status, voucher_status, login_id in
            ChannelAuthorization.objects.filter(pk__in={a for _, a, _ in keys})
            .values_list("pk", "status", "voucher__status", "login_id")}
    live = dict(sessions_live_query({s for s, _, _ in keys}).values_list("pk", "login_id"))
    grants: dict[int, tuple[str, str] | None] = {}
    answers = {}
    for key in keys:
        session_id, authorization_id, grant_id = key
        row = rows.get(authorization_id)
        if row is None:
            answers[key] = CHANNEL_REVOKED
        elif live.get(session_id) != row[2]:
            answers[key] = SESSION_ENDED
        elif row[0] != AuthorizationStatus.ACTIVE:
            answers[key] = CHANNEL_REVOKED
        elif row[1] != VoucherStatus.ACTIVE:
            answers[key] = VOUCHER_UNAVAILABLE
        elif grant_id is None:
            answers[key] = None
        else:
            if grant_id not in grants:
                grants[grant_id] = _proxy_grant_ended(grant_id)
            answers[key] = grants[grant_id]
    return answers


def _proxy_grant_ended(grant_id: int) -> tuple[str, str] | None:
    get = hook("proxy_grant_get")
    grant = get(grant_id) if get else None
    if grant is None or not grant.active:
        return BINDING_ENDED
    status = Voucher.objects.filter(person_id=grant.relative_person_id).values_list("status", flat=True).first()
    if status != VoucherStatus.ACTIVE:
        return RELATIVE_VOUCHER_UNAVAILABLE
    return None


def voucher_proxy_states(person_ids) -> dict[int, dict]:
    """For family's binding views: per person id, the voucher's status and
    whether it is a proxy voucher (active with a PIN but never activated on a
    channel of the person's own: a binder set its PIN)."""
    rows = (Voucher.objects.filter(person_id__in=list(person_ids))
            .annotate(own=Exists(ChannelAuthorization.objects.filter(voucher_id=OuterRef("pk"))))
            .values_list("person_id", "status", "own", "pin_hash"))
    return {pid: {"status": status, "own_channel": own, "proxy": bool(pin) and not own and status == VoucherStatus.ACTIVE}
            for pid, status, own, pin in rows}


def person_may_be_confirmed_by(login, person_id: int) -> bool:
    """May ``login`` confirm (or decline, or see pending) a payment of the
    person ``person_id``: their own, or a relative it can show the code of."""
    if login.person_id is None:
        return False
    if login.person_id == person_id:
        return True
    may_act = hook("proxy_may_act")
    return bool(may_act and may_act(login.person_id, person_id))


def authorization_with_voucher(authorization_id: int) -> ChannelAuthorization | None:
    """A channel authorization with its voucher and person (the decode's lookup of a code's owner)."""
    return ChannelAuthorization.objects.select_related("voucher__person").filter(pk=authorization_id).first()


def proxy_code_rows(grant: ProxyGrant) -> tuple[Voucher | None, ChannelAuthorization | None]:
    """For a family code grant: the relative's voucher and the binder's
    channel authorization it is shown under (with the binder's voucher)."""
    voucher = Voucher.objects.select_related("person").filter(person_id=grant.relative_person_id).first()
    authorization = ChannelAuthorization.objects.select_related("voucher").filter(pk=grant.authorization_id).first()
    return voucher, authorization
