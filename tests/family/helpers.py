"""Family-binding test helpers: demo families, and the binder's and the
relative's app walking /api/family/ the way the pages do."""

from __future__ import annotations

from django.utils import timezone

from common import demodata
from settlement.client import core_client
from settlement.errors import CoreError
from tests.support.app import AppClient

DATA = demodata.generate(demodata.DEFAULT_SEED)
P = demodata.DEMO_PERSONAS
OPEN = {r.admdvs for r in DATA.regions if r.evoucher_open}
EMPLOYEE = P["employee"]
HOUSEHOLD = [p for p in DATA.persons if p.household == EMPLOYEE.household]
SMALL_CHILD = P["child"]  # under 6, the employee's child
GUARDIAN = {"doc_type": "hukou", "doc_no": "HK440100123456", "commitment_accepted": True}


def age(person, on=None) -> int:
    return person.age(on or timezone.localdate())


def active_open(predicate, exclude=()) -> list:
    """Active people in open regions matching ``predicate``, demo order."""
    skip = {p.psn_no for p in exclude}
    return [p for p in DATA.persons if p.enrolment_status == "active" and p.insured_region in OPEN
            and p.psn_no not in skip and predicate(p)]


ADULT_CHILD = next(p for p in HOUSEHOLD if p.role == "child" and age(p) >= 16)  # the employee's child, 16+
ADULTS = active_open(lambda p: age(p) >= 18, exclude=[EMPLOYEE, ADULT_CHILD])


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["message"] and not body["message"].isascii()  # a Chinese message for people
    return body


def bind(app: AppClient, person, relation: str, consent: str, guardian=None, headers=None):
    body = {"relation": relation, "name": person.name, "id_number": person.id_number, "consent": consent}
    if guardian is not None:
        body["guardian"] = guardian
    if headers:
        return app.client.post("/api/family/relatives", data=body, content_type="application/json",
                               headers={**app._headers(), **headers})
    return app.post("/api/family/relatives", body)


def signed_liveness(app: AppClient, start_path: str, outcome: str = "pass") -> dict:
    start = app.post(start_path)
    assert start.status_code == 200, start.content
    started = start.json()
    sim = app.client.post(f"{started['provider_url']}api/sessions/{started['nonce']}/result",
                          data={"outcome": outcome}, content_type="application/json")
    assert sim.status_code == 200, sim.content
    return sim.json()


def consent_here(app: AppClient, binding_id: str):
    """The relative's face in front of the binder's phone."""
    signed = signed_liveness(app, f"/api/family/relatives/{binding_id}/liveness/start")
    return app.post(f"/api/family/relatives/{binding_id}/liveness/verify", signed)


def bound_adult(app: AppClient, person, relation: str = "sibling") -> dict:
    created = bind(app, person, relation, "liveness")
    assert created.status_code == 201, created.content
    done = consent_here(app, created.json()["id"])
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "active"
    return done.json()


def expected_relation_check(binder, relative, relation: str) -> set[str]:
    """What relation_check may say: whatever the core's 9402 answers now, or
    pending while the core does not serve 9402 (never verified then)."""
    try:
        answer = core_client().call("9402", {"data": {"psn_no": binder.psn_no, "rel_psn_no": relative.psn_no,
                                                      "relation": relation}})
    except CoreError:
        return {"pending"}
    return {"verified" if answer["relation"]["verified"] == "1" else "refuted"}
