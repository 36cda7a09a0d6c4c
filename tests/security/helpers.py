"""The person's security flows as the pages walk them (issue #15, person side)."""

from __future__ import annotations

from accounts.liveness.simulator import sign
from accounts.models import ChannelLogin
from common import demodata
from tests.support.app import AppClient

P = demodata.DEMO_PERSONAS
ALICE, BOB = P["employee"], P["resident"]  # two insured people in open regions
PIN, NEW_PIN, OTHER_PIN = "258036", "471902", "630852"


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["message"] and not body["message"].isascii()  # a Chinese message for people
    return body


def activated(client, person, channel: str = "wechat", pin: str = PIN) -> AppClient:
    app = AppClient(client, channel).login()
    app.activate(person, pin=pin)
    return app


def login_of(app: AppClient) -> ChannelLogin:
    return ChannelLogin.objects.select_related("person").get(channel=app.channel, openid=app.openid)


def simulate(app: AppClient, started: dict, outcome: str = "pass") -> dict:
    """The simulator's signed result for a challenge (what the face page posts back)."""
    sim = app.client.post(f"{started['provider_url']}api/sessions/{started['nonce']}/result",
                          data={"outcome": outcome}, content_type="application/json")
    assert sim.status_code == 200, sim.content
    return sim.json()


def forgot_start(app: AppClient) -> dict:
    start = app.post("/api/pin/forgot/liveness/start")
    assert start.status_code == 200, start.content
    return start.json()


def forgot_verified(app: AppClient) -> str:
    """Start forgot-PIN and pass the liveness check: the reset id."""
    started = forgot_start(app)
    verified = app.post("/api/pin/forgot/liveness/verify", {"reset_id": started["reset_id"], **simulate(app, started)})
    assert verified.status_code == 200, verified.content
    assert verified.json()["next"] == "pin"
    return started["reset_id"]


def forgot_complete(app: AppClient, reset_id: str, pin: str = NEW_PIN, confirm: str | None = None):
    return app.post("/api/pin/forgot/complete", {"reset_id": reset_id, "new_pin": pin,
                                                 "new_pin_confirm": pin if confirm is None else confirm})


def change(app: AppClient, old: str, new: str, confirm: str | None = None):
    return app.post("/api/pin/change", {"old_pin": old, "new_pin": new,
                                        "new_pin_confirm": new if confirm is None else confirm})


def forged(nonce: str, subject: str, *, score: int = 95, passed: bool = True, issued_at: int = 0) -> dict:
    """A correctly signed result the simulator could have produced for ``nonce`` naming ``subject``."""
    import time

    result = {"nonce": nonce, "subject": subject, "score": score, "passed": passed,
              "issued_at": issued_at or int(time.time())}
    return {"result": result, "signature": sign(result)}
