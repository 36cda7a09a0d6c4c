"""Activation through the API: each rule, each error code, against the
settlement core running as its own HTTP service."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from accounts.liveness.simulator import sign
from accounts.models import Activation, AuditEvent, LivenessSession, Person
from common import demodata, idnumber
from common.errors import ApplicationError
from tests.support.app import AppClient
from wallet.models import ChannelAuthorization, Voucher
from wallet.services.pin import pin_check_strength

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]

P = demodata.DEMO_PERSONAS
EMPLOYEE, RESIDENT, ELDERLY = P["employee"], P["resident"], P["elderly"]


@pytest.fixture
def app(client):
    return AppClient(client, "wechat").login()


def _start(app, person=EMPLOYEE) -> str:
    response = app.real_name(person)
    assert response.status_code == 200, response.content
    return response.json()["activation_id"]


def _passed_liveness(app, person=EMPLOYEE) -> str:
    activation_id = _start(app, person)
    _, signed = app.liveness(activation_id)
    assert app.verify(activation_id, signed).status_code == 200
    return activation_id


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["message"] and not body["message"].isascii()  # a Chinese message for people
    return body


# --- login and sessions -----------------------------------------------------------

def test_login_gives_a_token_and_me_reports_not_activated(app):
    me = app.get("/api/me").json()
    assert me == {"channel": "wechat", "channel_name": "微信", "activated": False, "person": None, "voucher": None}


def test_unauthenticated_and_bad_token(client):
    _error(client.get("/api/me"), 401, "UNAUTHENTICATED")
    _error(client.get("/api/me", headers={"Authorization": "Bearer nope"}), 401, "UNAUTHENTICATED")


def test_login_refuses_unknown_channel(client):
    body = _error(client.post("/api/auth/login", {"channel": "qq", "openid": "abcdef"},
                              content_type="application/json"), 400, "VALIDATION_ERROR")
    assert "channel" in body["detail"]["fields"]


def test_refresh_replaces_the_token(app):
    old = app.token
    response = app.post("/api/auth/refresh")
    assert response.status_code == 200
    app.token = response.json()["token"]
    assert app.token != old and app.get("/api/me").status_code == 200
    app.token = old
    _error(app.get("/api/me"), 401, "UNAUTHENTICATED")


# --- the whole journey ------------------------------------------------------------

def test_full_activation_on_one_channel(app):
    done = app.activate(EMPLOYEE, pin="258036")
    assert done["next"] == "done" and done["voucher"] == {"status": "active"}
    assert done["authorization"]["channel"] == "wechat" and done["authorization"]["current"] is True
    me = app.get("/api/me").json()
    assert me["activated"] is True
    assert me["person"]["name"] == EMPLOYEE.name
    assert me["person"]["id_number_masked"] == idnumber.mask(EMPLOYEE.id_number)
    assert me["voucher"] == {"status": "active", "pin_locked": False, "pin_tries_left": 5}

    person = Person.objects.get(psn_no=EMPLOYEE.psn_no)
    assert EMPLOYEE.id_number not in person.id_number_encrypted and person.id_number == EMPLOYEE.id_number
    voucher = Voucher.objects.get(person=person)
    assert voucher.pin_hash.startswith("$argon2id$") and "258036" not in voucher.pin_hash
    assert len(voucher.code_secret) >= 32 and voucher.code_secret not in voucher.code_secret_encrypted
    # No response ever carried the full ID number.
    assert not any(EMPLOYEE.id_number.encode() in body for body in app.responses)

    actions = list(AuditEvent.objects.filter(person=person).order_by("id").values_list("action", "outcome", "channel"))
    assert actions == [
        ("activation.real_name", "success", "wechat"),
        ("activation.liveness_start", "success", "wechat"),
        ("activation.liveness_verify", "success", "wechat"),
        ("activation.complete", "success", "wechat"),
    ]
    assert all(e.ip == "127.0.0.1" for e in AuditEvent.objects.filter(person=person))


def test_second_channel_reuses_the_pin(client):
    AppClient(client, "wechat").login().activate(EMPLOYEE, pin="258036")
    alipay = AppClient(client, "alipay").login()
    first = alipay.real_name(EMPLOYEE).json()
    assert first["pin_mode"] == "existing"
    _, signed = alipay.liveness(first["activation_id"])
    assert alipay.verify(first["activation_id"], signed).json() == {"next": "pin", "pin_mode": "existing"}
    wrong = _error(alipay.pin(first["activation_id"], "147036"), 400, "PIN_INCORRECT")
    assert wrong["detail"] == {"tries_left": 4}
    done = alipay.pin(first["activation_id"], "258036")
    assert done.status_code == 200, done.content
    assert done.json()["authorization"]["channel"] == "alipay"
    voucher = Voucher.objects.get(person__psn_no=EMPLOYEE.psn_no)
    assert sorted(voucher.authorizations.values_list("channel", flat=True)) == ["alipay", "wechat"]
    assert Voucher.objects.count() == 1
    listed = alipay.get("/api/voucher/authorizations").json()
    assert [(a["channel_name"], a["status"], a["current"]) for a in listed] == [("支付宝", "active", True),
                                                                                ("微信", "active", False)]


# --- real name ---------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["12345", EMPLOYEE.id_number[:17] + "Z",
                                 EMPLOYEE.id_number[:17] + ("1" if EMPLOYEE.id_number[17] != "1" else "2"),
                                 EMPLOYEE.id_number[:10] + "1332" + EMPLOYEE.id_number[14:]])
def test_malformed_id_number(app, bad):
    _error(app.post("/api/activation/real-name", {"name": EMPLOYEE.name, "id_number": bad}), 400, "ID_NUMBER_INVALID")


def test_name_mismatch(app):
    _error(app.post("/api/activation/real-name", {"name": EMPLOYEE.name + "某", "id_number": EMPLOYEE.id_number}),
           400, "NAME_MISMATCH")


def test_not_enrolled(app):
    stranger = idnumber.make("110101", dt.date(1990, 5, 17), 997)
    _error(app.post("/api/activation/real-name", {"name": "路人甲", "id_number": stranger}), 400, "NOT_ENROLLED")


def test_enrolment_suspended(app):
    _error(app.real_name(P["suspended"]), 400, "ENROLMENT_SUSPENDED")


def test_region_not_open(app):
    _error(app.real_name(P["not_open"]), 400, "REGION_NOT_OPEN")


def test_already_activated_on_this_channel(client):
    AppClient(client, "wechat").login().activate(EMPLOYEE)
    again = AppClient(client, "wechat").login()  # another WeChat identity, same person
    _error(again.real_name(EMPLOYEE), 409, "ALREADY_ACTIVATED")


def test_login_bound_to_another_person(app):
    app.activate(EMPLOYEE)
    _error(app.real_name(RESIDENT), 409, "LOGIN_BOUND_TO_OTHER_PERSON")


def test_too_many_real_name_attempts_per_login(app, settings):
    settings.REALNAME_LIMIT_PER_LOGIN = 2
    _error(app.post("/api/activation/real-name", {"name": "错误", "id_number": EMPLOYEE.id_number}),
           400, "NAME_MISMATCH")
    _error(app.post("/api/activation/real-name", {"name": "错误", "id_number": EMPLOYEE.id_number}),
           400, "REAL_NAME_NOT_VERIFIED")
    body = _error(app.real_name(EMPLOYEE), 429, "TOO_MANY_ATTEMPTS")
    assert 0 < body["detail"]["retry_after"] <= 3600


# --- real name: limits a stranger cannot use against the person (issue #9.6) -------------

def _real_name_from(client, ip: str, name: str, id_number: str, app: AppClient | None = None):
    """A real-name attempt from a given client address (REMOTE_ADDR)."""
    app = app or AppClient(client).login()
    return client.post("/api/activation/real-name", data={"name": name, "id_number": id_number},
                       content_type="application/json", headers=app._headers(), REMOTE_ADDR=ip)


def test_a_stranger_cannot_use_up_the_persons_real_name_allowance(client, settings):
    """The per-ID limit counts per (ID number, login): strangers typing the
    person's ID number, from any number of logins, run into their own limit
    and the person still activates the same day."""
    settings.REALNAME_LIMIT_PER_ID = 2
    for n in range(3):  # three strangers' logins, each over its own limit
        stranger = AppClient(client).login()
        for _ in range(2):
            assert _real_name_from(client, f"10.9.0.{n}", "错误", EMPLOYEE.id_number, stranger).status_code == 400
        refused = _error(_real_name_from(client, f"10.9.0.{n}", "错误", EMPLOYEE.id_number, stranger),
                         429, "TOO_MANY_ATTEMPTS")
        assert 0 < refused["detail"]["retry_after"] <= 86400 and "明天" in refused["message"]
    own = _real_name_from(client, "10.1.1.1", EMPLOYEE.name, EMPLOYEE.id_number)
    assert own.status_code == 200, own.content
    assert own.json()["person"]["id_number_masked"] == idnumber.mask(EMPLOYEE.id_number)


def test_real_name_does_not_sort_enrolled_from_unknown_id_numbers(client):
    """Only a login's first registry refusal is precise; from the second on,
    'not enrolled' and 'name mismatch' are one answer, byte for byte. A new
    login from an address that already failed gets the one answer at once."""
    unknown = idnumber.make("110101", dt.date(1990, 5, 17), 997)
    prober = AppClient(client).login()
    _error(_real_name_from(client, "10.2.0.1", "路人甲", unknown, prober), 400, "NOT_ENROLLED")
    second = _real_name_from(client, "10.2.0.1", "路人甲", EMPLOYEE.id_number, prober)  # enrolled, wrong name
    third = _real_name_from(client, "10.2.0.1", "路人乙", idnumber.make("110101", dt.date(1991, 6, 18), 996), prober)
    blurred = _error(second, 400, "REAL_NAME_NOT_VERIFIED")
    assert second.content == third.content and "12393" in blurred["message"]
    same_address = _real_name_from(client, "10.2.0.1", "路人甲", EMPLOYEE.id_number)  # a fresh login, same address
    assert same_address.content == second.content
    # The audit trail keeps the precise reason for support staff, masked.
    reasons = [e.detail.get("registry_code") for e in AuditEvent.objects.filter(
        action="activation.real_name", outcome="failure").order_by("id")]
    assert reasons == [None, "NAME_MISMATCH", "NOT_ENROLLED", "NAME_MISMATCH"]
    # The person's own first typo, from their own phone, is still precise.
    _error(_real_name_from(client, "10.3.0.1", EMPLOYEE.name + "某", EMPLOYEE.id_number), 400, "NAME_MISMATCH")


def test_real_name_failures_per_address_are_limited(client, settings):
    settings.REALNAME_FAILURES_PER_IP = 3
    for _ in range(3):  # fresh logins every time: the address is what is counted
        assert _real_name_from(client, "10.4.0.1", "错误", EMPLOYEE.id_number).status_code == 400
    refused = _error(_real_name_from(client, "10.4.0.1", EMPLOYEE.name, EMPLOYEE.id_number), 429, "TOO_MANY_ATTEMPTS")
    assert 0 < refused["detail"]["retry_after"] <= 3600
    assert _real_name_from(client, "10.5.0.1", EMPLOYEE.name, EMPLOYEE.id_number).status_code == 200


def test_a_stranger_cannot_use_up_the_persons_liveness_allowance(client, settings):
    """Someone who knows the name and ID number passes the real-name step,
    but the liveness tries they burn are theirs, not the person's."""
    settings.LIVENESS_LIMIT_PER_ID = 2
    stranger = AppClient(client, "wechat").login()
    activation_id = _start(stranger)
    for _ in range(2):
        stranger.liveness(activation_id)
    _error(stranger.post("/api/activation/liveness/start", {"activation_id": activation_id}), 429, "TOO_MANY_ATTEMPTS")
    person = AppClient(client, "wechat").login()
    own = _start(person)
    started = person.post("/api/activation/liveness/start", {"activation_id": own})
    assert started.status_code == 200 and started.json()["nonce"], started.content


def test_failures_are_audited(app):
    app.post("/api/activation/real-name", {"name": "错误", "id_number": EMPLOYEE.id_number})
    event = AuditEvent.objects.get(action="activation.real_name")
    assert (event.outcome, event.code, event.channel) == ("failure", "NAME_MISMATCH", "wechat")
    assert event.detail["id_number"] == idnumber.mask(EMPLOYEE.id_number)
    assert EMPLOYEE.id_number not in json.dumps(event.detail)


# --- liveness ------------------------------------------------------------------------

def test_liveness_challenge_is_random_and_short_lived(app):
    activation_id = _start(app)
    started, _ = app.liveness(activation_id)
    assert 2 <= len(started["actions"]) <= 3 and set(started["actions"]) <= {"blink", "turn_head", "open_mouth", "nod"}
    expires = dt.datetime.fromisoformat(started["expires_at"])
    assert dt.timedelta(0) < expires - timezone.now() <= dt.timedelta(minutes=5)
    assert len(started["nonce"]) == 32


def test_forged_result_is_refused(app):
    activation_id = _start(app)
    _, signed = app.liveness(activation_id, outcome="face_mismatch")
    signed["result"]["score"] = 99  # tampered after signing
    _error(app.verify(activation_id, signed), 400, "LIVENESS_SIGNATURE_INVALID")


def test_result_signed_by_another_key_is_refused(app):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    activation_id = _start(app)
    _, signed = app.liveness(activation_id)
    signed["signature"] = sign(signed["result"], Ed25519PrivateKey.generate())
    _error(app.verify(activation_id, signed), 400, "LIVENESS_SIGNATURE_INVALID")


def test_nonce_replay_is_refused(client):
    first = AppClient(client).login()
    activation_id = _start(first)
    _, signed = first.liveness(activation_id)
    assert first.verify(activation_id, signed).status_code == 200
    _error(first.verify(activation_id, signed), 409, "ACTIVATION_STEP_ORDER")
    # Even if the activation were back at the liveness step, the spent nonce stays spent.
    Activation.objects.filter(public_id=activation_id).update(step="real_name_passed")
    _error(first.verify(activation_id, signed), 400, "LIVENESS_REPLAYED")
    # A failed result spends its nonce too: it cannot be retried with another outcome.
    _, failed = first.liveness(activation_id, outcome="face_mismatch")
    _error(first.verify(activation_id, failed), 400, "LIVENESS_FACE_MISMATCH")
    _error(first.verify(activation_id, failed), 400, "LIVENESS_REPLAYED")


def test_expired_session_is_refused(app):
    activation_id = _start(app)
    started, signed = app.liveness(activation_id)
    LivenessSession.objects.filter(nonce=started["nonce"]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    _error(app.verify(activation_id, signed), 400, "LIVENESS_EXPIRED")


def test_another_persons_result_is_refused(client):
    alice = AppClient(client).login()
    bob = AppClient(client).login()
    alice_activation = _start(alice, EMPLOYEE)
    bob_activation = _start(bob, RESIDENT)
    _, alice_signed = alice.liveness(alice_activation)
    _error(bob.verify(bob_activation, alice_signed), 400, "LIVENESS_NONCE_UNKNOWN")
    # Even a genuinely signed result for Bob's own nonce that names Alice is refused.
    bob_started, _ = bob.liveness(bob_activation)
    result = {"nonce": bob_started["nonce"], "subject": EMPLOYEE.psn_no, "score": 97, "passed": True,
              "issued_at": int(timezone.now().timestamp())}
    _error(bob.verify(bob_activation, {"result": result, "signature": sign(result)}), 400,
           "LIVENESS_SUBJECT_MISMATCH")


def test_face_mismatch_and_not_live(app):
    activation_id = _start(app)
    _, low = app.liveness(activation_id, outcome="face_mismatch")
    _error(app.verify(activation_id, low), 400, "LIVENESS_FACE_MISMATCH")
    _, dead = app.liveness(activation_id, outcome="not_live")
    _error(app.verify(activation_id, dead), 400, "LIVENESS_NOT_LIVE")
    _, good = app.liveness(activation_id)  # a new challenge may then pass
    assert app.verify(activation_id, good).json()["next"] == "pin"


def test_liveness_rate_limit(app, settings):
    settings.LIVENESS_LIMIT_PER_LOGIN = 2
    activation_id = _start(app)
    app.liveness(activation_id)
    app.liveness(activation_id)
    _error(app.post("/api/activation/liveness/start", {"activation_id": activation_id}), 429, "TOO_MANY_ATTEMPTS")


def test_steps_cannot_be_skipped(app):
    activation_id = _start(app)
    _error(app.pin(activation_id, "258036", "258036"), 409, "ACTIVATION_STEP_ORDER")
    _error(app.post("/api/activation/pin", {"activation_id": "nope", "pin": "258036"}), 404, "ACTIVATION_NOT_FOUND")


def test_another_logins_activation_is_not_found(client):
    alice = AppClient(client).login()
    activation_id = _start(alice)
    mallory = AppClient(client).login()
    _error(mallory.post("/api/activation/liveness/start", {"activation_id": activation_id}), 404,
           "ACTIVATION_NOT_FOUND")


# --- PIN ------------------------------------------------------------------------------

def _weak_pins():
    number = EMPLOYEE.id_number
    return [
        ("000000", "PIN_WEAK_REPEATED"), ("777777", "PIN_WEAK_REPEATED"),
        ("123456", "PIN_WEAK_SEQUENCE"), ("456789", "PIN_WEAK_SEQUENCE"), ("876543", "PIN_WEAK_SEQUENCE"),
        (number[8:14], "PIN_WEAK_BIRTHDAY"), ("90" + number[10:14], "PIN_WEAK_BIRTHDAY"),
        (number[-6:] if number[-1] != "X" else None, "PIN_WEAK_ID_SUFFIX"),
        ("12345", "PIN_FORMAT"), ("12a456", "PIN_FORMAT"),
    ]


@pytest.mark.parametrize("pin, code", [p for p in _weak_pins() if p[0]])
def test_weak_pins_are_refused(app, pin, code):
    activation_id = _passed_liveness(app)
    _error(app.pin(activation_id, pin, pin), 400, code)


def test_id_suffix_rule(app):
    number = idnumber.make("110105", dt.date(1980, 3, 9), 583)  # ends in digits
    with pytest.raises(ApplicationError) as error:
        pin_check_strength(number[-6:], id_number=number)
    assert error.value.code == "PIN_WEAK_ID_SUFFIX"


def test_pin_confirmation_must_match(app):
    activation_id = _passed_liveness(app)
    _error(app.pin(activation_id, "258036", "258037"), 400, "PIN_CONFIRM_MISMATCH")
    assert app.pin(activation_id, "258036", "258036").status_code == 200


def test_five_wrong_pins_lock_the_voucher(client):
    AppClient(client, "wechat").login().activate(EMPLOYEE, pin="258036")
    tries = []
    for _ in range(5):
        alipay = AppClient(client, "alipay").login()
        activation_id = _passed_liveness(alipay)
        tries.append(alipay.pin(activation_id, "147036"))
    assert [r.json()["detail"].get("tries_left") for r in tries] == [4, 3, 2, 1, 0]
    locked = _error(tries[-1], 423, "PIN_LOCKED")
    assert "locked_until" in locked["detail"]
    alipay = AppClient(client, "alipay").login()
    activation_id = _passed_liveness(alipay)
    _error(alipay.pin(activation_id, "258036"), 423, "PIN_LOCKED")  # even the right PIN, while locked
    assert AuditEvent.objects.filter(action="pin.activation", outcome="failure").count() == 6


# --- authorizations and diagnosis -----------------------------------------------------

def test_revoke_an_authorization_and_diagnosis_explains(client):
    wechat = AppClient(client, "wechat").login()
    wechat.activate(EMPLOYEE)
    assert wechat.get("/api/voucher/diagnosis").json()["available"] is True
    auth_id = wechat.get("/api/voucher/authorizations").json()[0]["id"]
    revoked = wechat.post(f"/api/voucher/authorizations/{auth_id}/revoke")
    assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]
    diagnosis = wechat.get("/api/voucher/diagnosis").json()
    assert diagnosis["available"] is False
    failing = [c for c in diagnosis["checks"] if not c["ok"]]
    assert [c["key"] for c in failing] == ["channel_authorization"]
    assert failing[0]["message"] == "您已解除本渠道的授权" and failing[0]["advice"]
    assert AuditEvent.objects.filter(action="authorization.revoke", outcome="success").count() == 1
    assert wechat.get("/api/me").json()["activated"] is False
    # The channel can activate again (existing PIN).
    again = wechat.real_name(EMPLOYEE).json()
    assert again["pin_mode"] == "existing"


def test_cannot_revoke_someone_elses_authorization(client):
    alice = AppClient(client).login()
    alice.activate(EMPLOYEE)
    auth_id = ChannelAuthorization.objects.get().pk
    bob = AppClient(client).login()
    bob.activate(RESIDENT)
    _error(bob.post(f"/api/voucher/authorizations/{auth_id}/revoke"), 404, "AUTHORIZATION_NOT_FOUND")


def test_diagnosis_before_activation_and_when_locked(client):
    app = AppClient(client).login()
    diagnosis = app.get("/api/voucher/diagnosis").json()
    assert diagnosis == {"available": False, "checks": [{
        "key": "activated", "ok": False, "title": "医保电子凭证激活", "message": "您尚未在本渠道激活医保电子凭证",
        "advice": "请在首页点击“激活医保电子凭证”，完成实名和人脸识别"}]}
    app.activate(ELDERLY)
    Voucher.objects.update(pin_locked_until=timezone.now() + dt.timedelta(hours=1))
    checks = {c["key"]: c for c in app.get("/api/voucher/diagnosis").json()["checks"]}
    assert checks["pin_locked"]["ok"] is False and "锁定" in checks["pin_locked"]["message"]
    assert checks["enrolment"]["ok"] is True and checks["region_open"]["ok"] is True


def test_diagnosis_says_when_the_core_cannot_tell(client, settings):
    app = AppClient(client).login()
    app.activate(ELDERLY)
    settings.SETTLEMENT_CORE_URL = "http://127.0.0.1:9/core"
    checks = {c["key"]: c for c in app.get("/api/voucher/diagnosis").json()["checks"]}
    assert checks["enrolment"]["ok"] is None and "无法访问" in checks["enrolment"]["message"]


def test_real_name_when_core_is_down(app, settings):
    settings.SETTLEMENT_CORE_URL = "http://127.0.0.1:9/core"
    _error(app.real_name(EMPLOYEE), 503, "CORE_UNAVAILABLE")
