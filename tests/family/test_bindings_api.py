"""Family bindings through /api/family/ against the settlement core as its own
HTTP service: identity as activation, the 16th-birthday boundary, consent
(liveness here, invitation there, guardian), limits, rate limits, ending from
either side, and someone else's binding id."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AuditEvent, ChannelLogin
from common import idnumber
from family.enums import Consent
from family.models import Binding, Invitation
from family.services.bindings import binding_create
from settlement.models import OutboxMessage
from tests.family.helpers import (
    ADULT_CHILD,
    ADULTS,
    EMPLOYEE,
    GUARDIAN,
    P,
    SMALL_CHILD,
    active_open,
    age,
    bind,
    bound_adult,
    consent_here,
    error,
    expected_relation_check,
    signed_liveness,
)
from tests.support.app import AppClient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]


@pytest.fixture
def binder(client):
    app = AppClient(client, "wechat").login()
    app.activate(EMPLOYEE, pin="258036")
    return app


def test_guardian_binds_a_small_child_at_once_audited_as_guardian_asserted(binder):
    created = bind(binder, SMALL_CHILD, "child", "guardian", GUARDIAN)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "active" and body["consent"] == "guardian" and body["relation_name"] == "子女"
    assert body["relative"]["name"] == SMALL_CHILD.name
    assert body["relative"]["id_number_masked"] == idnumber.mask(SMALL_CHILD.id_number)
    assert body["relative"]["age"] == age(SMALL_CHILD)
    assert body["relation_check"] in expected_relation_check(EMPLOYEE, SMALL_CHILD, "child")
    assert body["can_show_code"] is False and body["proxy_voucher"] is False  # no voucher yet: proxy PIN first
    assert binder.get("/api/family/relatives").json() == [body]
    row = Binding.objects.get(public_id=body["id"])
    # Household-register number encrypted at rest, audited masked, never the full ID number in a response.
    assert row.guardian_doc_no == GUARDIAN["doc_no"]
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT guardian_doc_no FROM family_binding WHERE id = %s", [row.pk])
        assert GUARDIAN["doc_no"] not in cursor.fetchone()[0]
    event = AuditEvent.objects.get(action="family.binding_create", outcome="success")
    assert event.detail["guardian_asserted"] is True and event.detail["guardian_doc_no"] != GUARDIAN["doc_no"]
    assert not any(SMALL_CHILD.id_number.encode() in r for r in binder.responses)
    # The core learns of it through the outbox, keyed by the binder.
    message = OutboxMessage.objects.get(kind="family.binding_added")
    assert message.person_key == EMPLOYEE.psn_no
    assert message.payload["rel_psn_no"] == SMALL_CHILD.psn_no and message.payload["relation"] == "child"


def test_guardian_details_are_required_and_refused_for_16_and_over(binder):
    error(bind(binder, SMALL_CHILD, "child", "guardian"), 400, "FAMILY_GUARDIAN_DETAILS_REQUIRED")
    error(bind(binder, SMALL_CHILD, "child", "guardian", {**GUARDIAN, "commitment_accepted": False}),
          400, "FAMILY_GUARDIAN_DETAILS_REQUIRED")
    error(bind(binder, SMALL_CHILD, "child", "liveness"), 400, "FAMILY_GUARDIAN_DETAILS_REQUIRED")
    error(bind(binder, ADULT_CHILD, "child", "guardian", GUARDIAN), 400, "FAMILY_GUARDIAN_NOT_ALLOWED")
    assert Binding.objects.count() == 0


def test_the_16th_birthday_itself_needs_liveness(binder):
    """On the exact 16th birthday the guardian's commitment is refused; the
    day before it is accepted (and the binding is active at once)."""
    login = ChannelLogin.objects.get(openid=binder.openid)
    born = SMALL_CHILD.birth_date
    birthday = born.replace(year=born.year + 16)
    kwargs = dict(login=login, relation="child", name=SMALL_CHILD.name, id_number=SMALL_CHILD.id_number)
    with pytest.raises(Exception) as refused:
        binding_create(consent=Consent.GUARDIAN, guardian=GUARDIAN, today=birthday, **kwargs)
    assert refused.value.code == "FAMILY_GUARDIAN_NOT_ALLOWED"
    pending = binding_create(consent=Consent.LIVENESS, today=birthday, **kwargs)
    assert pending.status == "pending"
    Binding.objects.filter(pk=pending.pk).update(status="ended")
    day_before = binding_create(consent=Consent.GUARDIAN, guardian=GUARDIAN, today=birthday - dt.timedelta(days=1),
                                **kwargs)
    assert day_before.status == "active" and day_before.consent == "guardian"


def test_identity_is_checked_as_activation_with_the_same_codes(binder):
    bad = SMALL_CHILD.id_number[:17] + ("1" if SMALL_CHILD.id_number[17] != "1" else "2")
    error(binder.post("/api/family/relatives", {"relation": "child", "name": SMALL_CHILD.name, "id_number": bad,
                                                "consent": "guardian", "guardian": GUARDIAN}), 400, "ID_NUMBER_INVALID")
    error(binder.post("/api/family/relatives", {"relation": "child", "name": SMALL_CHILD.name + "某",
                                                "id_number": SMALL_CHILD.id_number, "consent": "guardian",
                                                "guardian": GUARDIAN}), 400, "NAME_MISMATCH")
    error(bind(binder, P["suspended"], "parent", "liveness"), 400, "ENROLMENT_SUSPENDED")
    error(bind(binder, P["resident"], "cousin", "liveness"), 400, "FAMILY_RELATION_INVALID")
    error(bind(binder, EMPLOYEE, "sibling", "liveness"), 400, "FAMILY_SELF_BINDING")
    assert Binding.objects.count() == 0


def test_binder_must_have_activated(client):
    app = AppClient(client, "alipay").login()
    error(bind(app, SMALL_CHILD, "child", "guardian", GUARDIAN), 403, "NOT_ACTIVATED")


def test_consent_by_liveness_in_front_of_the_binders_phone(binder):
    created = bind(binder, ADULT_CHILD, "child", "liveness").json()
    assert created["status"] == "pending" and created["can_show_code"] is False
    error(binder.get(f"/api/family/relatives/{created['id']}/records"), 409, "FAMILY_NOT_ACTIVE")
    # A result that is not live is refused (and spends the session).
    start = binder.post(f"/api/family/relatives/{created['id']}/liveness/start").json()
    sim = binder.client.post(f"{start['provider_url']}api/sessions/{start['nonce']}/result",
                             data={"outcome": "not_live"}, content_type="application/json").json()
    error(binder.post(f"/api/family/relatives/{created['id']}/liveness/verify", sim), 400, "LIVENESS_NOT_LIVE")
    done = consent_here(binder, created["id"])
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "active" and done.json()["activated_at"]
    assert done.json()["relation_check"] in expected_relation_check(EMPLOYEE, ADULT_CHILD, "child")
    error(binder.post(f"/api/family/relatives/{created['id']}/liveness/start"), 409, "FAMILY_NOT_ACTIVE")


def test_already_bound_and_idempotency_key(binder):
    first = bind(binder, ADULT_CHILD, "child", "liveness", headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    replay = bind(binder, ADULT_CHILD, "child", "liveness", headers={"Idempotency-Key": "k-1"})
    assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]
    error(bind(binder, ADULT_CHILD, "sibling", "liveness", headers={"Idempotency-Key": "k-1"}),
          409, "IDEMPOTENCY_KEY_REUSED")
    error(bind(binder, ADULT_CHILD, "child", "liveness"), 409, "FAMILY_ALREADY_BOUND")
    assert Binding.objects.count() == 1


def test_a_sixth_relative_is_refused(binder, settings):
    settings.REALNAME_LIMIT_PER_LOGIN = 50
    for person in ADULTS[:5]:
        assert bind(binder, person, "sibling", "liveness").status_code == 201
    body = error(bind(binder, ADULTS[5], "sibling", "liveness"), 409, "FAMILY_TOO_MANY_RELATIVES")
    assert body["detail"] == {"limit": 5}
    # Ending one makes room.
    first = binder.get("/api/family/relatives").json()[0]["id"]
    assert binder.post(f"/api/family/relatives/{first}/end").json()["status"] == "ended"
    assert bind(binder, ADULTS[5], "sibling", "liveness").status_code == 201


def test_a_fourth_binder_is_refused(client, settings):
    relative = ADULTS[0]
    binders = active_open(lambda p: age(p) >= 18, exclude=[relative, EMPLOYEE])[:4]
    apps = []
    for n, person in enumerate(binders):
        app = AppClient(client, "wechat").login()
        app.activate(person, pin="258036")
        apps.append(app)
    for app in apps[:3]:
        assert bind(app, relative, "sibling", "liveness").status_code == 201
    body = error(bind(apps[3], relative, "sibling", "liveness"), 409, "FAMILY_TOO_MANY_BINDERS")
    assert body["detail"] == {"limit": 3}


def test_binding_attempts_are_rate_limited_per_binder(binder, settings):
    settings.FAMILY_BIND_LIMIT_PER_BINDER_PER_DAY = 2
    error(bind(binder, P["suspended"], "sibling", "liveness"), 400, "ENROLMENT_SUSPENDED")
    assert bind(binder, ADULT_CHILD, "child", "liveness").status_code == 201
    body = error(bind(binder, ADULTS[0], "sibling", "liveness"), 429, "RATE_LIMITED")
    assert 0 < body["detail"]["retry_after"] <= 86400


def test_binding_attempts_are_rate_limited_per_relative_id(client, settings):
    settings.FAMILY_BIND_LIMIT_PER_RELATIVE_ID_PER_DAY = 1
    one, two = active_open(lambda p: age(p) >= 18, exclude=[ADULTS[0]])[:2]
    apps = []
    for person in (one, two):
        app = AppClient(client, "wechat").login()
        app.activate(person, pin="258036")
        apps.append(app)
    assert bind(apps[0], ADULTS[0], "sibling", "liveness").status_code == 201
    error(bind(apps[1], ADULTS[0], "sibling", "liveness"), 429, "RATE_LIMITED")


# --- invitations -------------------------------------------------------------------------

def _invited(binder) -> tuple[str, str]:
    created = bind(binder, ADULT_CHILD, "child", "liveness").json()
    invitation = binder.post(f"/api/family/relatives/{created['id']}/invitation")
    assert invitation.status_code == 201, invitation.content
    body = invitation.json()
    assert body["url"] == f"http://testserver/app/#/pages-family/invite/index?token={body['token']}"
    qr = binder.get(f"/api/family/invitations/{body['token']}/qr?format=png")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/png" and qr.content.startswith(b"\x89PNG")
    assert Invitation.objects.get().token_hash != body["token"]  # stored hashed
    return created["id"], body["token"]


def test_invitation_accepted_on_the_relatives_own_phone_once(client, binder):
    binding_id, token = _invited(binder)
    relative = AppClient(client, "alipay").login()  # the relative's own channel, not activated
    shown = relative.get(f"/api/family/invitations/{token}").json()
    assert shown["status"] == "open" and shown["relation"] == "child"
    assert shown["binder_name_masked"].endswith(EMPLOYEE.name[-1]) and EMPLOYEE.name not in shown["binder_name_masked"]
    signed = signed_liveness(relative, f"/api/family/invitations/{token}/liveness/start")
    accepted = relative.post(f"/api/family/invitations/{token}/liveness/verify", signed)
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["status"] == "active" and accepted.json()["id"] == binding_id
    assert binder.get(f"/api/family/relatives/{binding_id}").json()["status"] == "active"
    # Single use: the same link again, with a fresh face, is refused.
    error(relative.post(f"/api/family/invitations/{token}/liveness/start"), 409, "FAMILY_INVITATION_USED")
    assert relative.get(f"/api/family/invitations/{token}").json()["status"] == "used"


def test_invitation_expires_after_24_hours(client, binder):
    _, token = _invited(binder)
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    relative = AppClient(client, "alipay").login()
    assert relative.get(f"/api/family/invitations/{token}").json()["status"] == "expired"
    error(relative.post(f"/api/family/invitations/{token}/liveness/start"), 409, "FAMILY_INVITATION_EXPIRED")


def test_invitation_is_not_for_someone_else_and_a_new_one_retires_the_old(client, binder):
    binding_id, token = _invited(binder)
    other = AppClient(client, "wechat").login()
    other.activate(ADULTS[0])
    error(other.post(f"/api/family/invitations/{token}/liveness/start"), 403, "FAMILY_INVITATION_NOT_FOR_YOU")
    error(other.get(f"/api/family/invitations/{token}/qr"), 404, "FAMILY_NOT_FOUND")  # only the binder's QR
    # A face that is not the relative's cannot accept it either (the binder's own login).
    error(binder.post(f"/api/family/invitations/{token}/liveness/start"), 403, "FAMILY_INVITATION_NOT_FOR_YOU")
    newer = binder.post(f"/api/family/relatives/{binding_id}/invitation").json()["token"]
    relative = AppClient(client, "alipay").login()
    error(relative.post(f"/api/family/invitations/{token}/liveness/start"), 409, "FAMILY_INVITATION_EXPIRED")
    assert relative.get(f"/api/family/invitations/{newer}").json()["status"] == "open"
    error(relative.get("/api/family/invitations/" + "x" * 32), 404, "FAMILY_NOT_FOUND")


# --- ending, and someone else's id --------------------------------------------------------

def test_binder_ends_and_the_relative_leaves_the_view_at_once(binder):
    binding = bound_adult(binder, ADULT_CHILD, "child")
    ended = binder.post(f"/api/family/relatives/{binding['id']}/end")
    assert ended.status_code == 200 and ended.json()["status"] == "ended" and ended.json()["ended_at"]
    assert binder.get("/api/family/relatives").json() == []
    for path in ("", "/records", "/balance", "/records/x"):
        error(binder.get(f"/api/family/relatives/{binding['id']}{path}"), 404, "FAMILY_NOT_FOUND")
    error(binder.post(f"/api/family/relatives/{binding['id']}/end"), 404, "FAMILY_NOT_FOUND")
    assert OutboxMessage.objects.filter(kind="family.binding_ended", person_key=EMPLOYEE.psn_no).count() == 1


def test_relative_16_or_over_ends_it_from_their_own_login(client, binder):
    binding = bound_adult(binder, ADULT_CHILD, "child")
    relative = AppClient(client, "alipay").login()
    relative.activate(ADULT_CHILD, pin="258036" if "0825" not in "258036" else "369147")
    binders = relative.get("/api/family/binders").json()
    assert [(b["id"], b["relation"], b["can_end"]) for b in binders] == [(binding["id"], "child", True)]
    assert binders[0]["binder_name_masked"] != EMPLOYEE.name
    ended = relative.post(f"/api/family/binders/{binding['id']}/end")
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert binder.get("/api/family/relatives").json() == []
    assert relative.get("/api/family/binders").json() == []


def test_relative_under_16_cannot_end_it(client, binder):
    created = bind(binder, SMALL_CHILD, "child", "guardian", GUARDIAN).json()
    child = AppClient(client, "alipay").login()
    child.activate(SMALL_CHILD, pin="369147")
    assert child.get("/api/family/binders").json()[0]["can_end"] is False
    error(child.post(f"/api/family/binders/{created['id']}/end"), 403, "FAMILY_END_NOT_ALLOWED")
    assert binder.get(f"/api/family/relatives/{created['id']}").json()["status"] == "active"


def test_someone_elses_binding_id_is_not_found(client, binder):
    binding = bound_adult(binder, ADULT_CHILD, "child")
    stranger = AppClient(client, "wechat").login()
    stranger.activate(ADULTS[0])
    bid = binding["id"]
    for path in ("", "/records", "/balance", "/payments/pending"):
        error(stranger.get(f"/api/family/relatives/{bid}{path}"), 404, "FAMILY_NOT_FOUND")
    for path in ("/end", "/invitation", "/liveness/start"):
        error(stranger.post(f"/api/family/relatives/{bid}{path}"), 404, "FAMILY_NOT_FOUND")
    error(stranger.post(f"/api/family/relatives/{bid}/pin", {"pin": "369147", "pin_confirm": "369147"}),
          404, "FAMILY_NOT_FOUND")
    error(stranger.post(f"/api/family/binders/{bid}/end"), 404, "FAMILY_NOT_FOUND")  # not the relative either
    error(stranger.get(f"/api/voucher/code?person={bid}"), 404, "FAMILY_NOT_FOUND")
    assert binder.get(f"/api/family/relatives/{bid}").json()["status"] == "active"
