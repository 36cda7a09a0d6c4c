"""The OpenAPI schema tells the truth (issue #11, outcome 2).

schemathesis generates requests from the schema the server publishes and sends
them to a LIVE wallet (uvicorn on the test database, the settlement core as its
own process), signed in as an activated person who has one settled payment.
Every answer must be below 500, carry a status code the operation declares,
the declared content type, and a body valid against the declared schema
(errors included: the one ``Error`` shape).

Bounded: a fixed number of derandomized examples per operation in each
generation mode (valid data, then — where there is a path parameter, a query
or a body to break — data that breaks the schema), no shrinking, no deadline. Operations that end the session (logout, refresh) run with a
fresh session per example; the channel revoke runs last.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from common import demodata
from tests.support.app import AppClient
from tests.support.http import LiveClient
from tests.support.pos import A_ITEMS, Pos, pharmacy_for

EMPLOYEE = demodata.DEMO_PERSONAS["employee"]
PHARMACY = pharmacy_for(EMPLOYEE)  # the person's own region: a local bill, no filing needed
SMALL = [(A_ITEMS[0].med_list_codg, "25.00", "2")]  # no confirmation needed
EXAMPLES = 20  # per operation and generation mode
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
SESSION_ENDING = ("/api/auth/logout", "/api/auth/refresh")
LAST = ("/revoke",)


def _order(operation) -> tuple:
    return (operation.path.endswith(LAST), operation.path, operation.method)


def _run(operation, mode: GenerationMode, base_url: str, headers) -> None:
    """``EXAMPLES`` generated cases of one operation; raises the first failure."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              print_blob=False)
    def run(case):
        case.call_and_validate(base_url=base_url, headers=headers(), checks=CHECKS, timeout=30)

    run()


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_live_api_conforms_to_its_schema(wallet_live):
    started = time.monotonic()
    client = LiveClient(wallet_live.url)
    app = AppClient(client).login()
    app.activate(EMPLOYEE)
    pos = Pos(client, PHARMACY)
    assert pos.decode(app.get("/api/voucher/code").json()["code"])["code"] == 0
    assert pos.settle(pos.bill(SMALL))["infcode"] == 0

    schema = schemathesis.openapi.from_url(f"{wallet_live.url}/api/schema/",
                                           headers={"Accept": "application/vnd.oai.openapi+json"})

    # The answers with real ids and a settled payment are validated too: the
    # fuzzer alone rarely reaches a 200 of these.
    shared = {"Authorization": f"Bearer {app.token}"}
    with httpx.Client(base_url=wallet_live.url, headers=shared, timeout=30) as http:
        record_id = http.get("/api/records").json()[0]["id"]
        code = http.get("/api/voucher/code").json()["code"]
    known = [("GET", "/api/me", {}, {}), ("GET", "/api/records", {}, {}),
             ("GET", "/api/records/{public_id}", {"public_id": record_id}, {}),
             ("GET", "/api/voucher/authorizations", {}, {}), ("GET", "/api/voucher/diagnosis", {}, {}),
             ("GET", "/api/voucher/code", {}, {}),
             ("GET", "/api/voucher/code/{kind}", {"kind": "qr"}, {"code": code, "format": "png"}),
             ("GET", "/api/voucher/code/{kind}", {"kind": "barcode"}, {"code": code}),
             ("GET", "/api/account/balance", {}, {"refresh": "1"}), ("GET", "/api/notifications", {}, {}),
             ("GET", "/api/payments/pending", {}, {}), ("GET", "/api/demo/terminal", {}, {}),
             ("GET", "/api/demo/catalogue", {}, {}), ("POST", "/api/ws-ticket", {}, {})]
    problems = []
    for method, template, path_parameters, query in known:
        case = schema[template][method].Case(path_parameters=path_parameters, query=query)
        try:
            response = case.call_and_validate(base_url=wallet_live.url, headers=shared, checks=CHECKS, timeout=30)
            assert response.status_code == 200, response.text[:300]
        except (AssertionError, FailureGroup) as failure:
            problems.append(f"{method} {template} {path_parameters} {query}: {failure}")
    assert not problems, "\n\n".join(problems)

    def fresh_session() -> dict:
        return {"Authorization": f"Bearer {AppClient(client, openid=app.openid).login().token}"}

    failures = []
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_order)
    assert len(operations) >= 20, [op.label for op in operations]
    for operation in operations:
        headers = fresh_session if operation.path in SESSION_ENDING else (lambda: shared)
        breakable = len(operation.path_parameters) + len(operation.query) + len(operation.body)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if breakable else (GenerationMode.POSITIVE,):
            try:
                _run(operation, mode, wallet_live.url, headers)
            except (Exception, FailureGroup) as failure:  # noqa: BLE001 - every operation's first failure
                failures.append(f"{operation.label} [{mode.value}]: {failure}")
    assert not failures, f"{len(failures)} operation(s) do not conform:\n\n" + "\n\n".join(failures)
    assert time.monotonic() - started < 240, "the conformance run must stay within its time budget"


# --- the frontend's typed API layer uses the same shapes ----------------------------------

FRONTEND_API = Path(__file__).resolve().parents[2] / "frontend" / "src" / "api"
TS_INTERFACE = re.compile(r"/\*\*[^*]*?schema: (\w+)[^*]*?\*/\s*export interface (\w+)(?: extends (\w+))? \{\n(.*?)\n\}",
                          re.S)
TS_ANY_INTERFACE = re.compile(r"export interface (\w+)(?: extends (\w+))? \{\n(.*?)\n\}", re.S)
TS_PROPERTY = re.compile(r"^  (\w+)(\??): (.+)$", re.M)
TS_UNION = re.compile(r"export type (\w+) =((?:\s*\|?\s*'[^']+')+)")
TS_ENUMS = {"PaymentStatus": "PaymentStatusEnum", "VoucherStatus": "VoucherStatusEnum",
            "AuthorizationStatus": "AuthorizationStatusEnum", "PinMode": "PinModeEnum"}


def _published_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _typescript() -> tuple[dict, dict]:
    """``{interface: (component, {property: (optional, nullable)})}`` for every
    interface whose doc comment names its schema component, and the string
    unions by name."""
    source = "\n".join(path.read_text() for path in sorted(FRONTEND_API.glob("*.ts")))
    declared = {name: (parent, body) for name, parent, body in TS_ANY_INTERFACE.findall(source)}

    def props_of(name: str) -> dict:
        """An interface's properties, its parents' included (a parent need not name a component)."""
        parent, body = declared[name]
        props = props_of(parent) if parent else {}
        props.update({prop: (bool(opt), "null" in kind.split("//")[0]) for prop, opt, kind in TS_PROPERTY.findall(body)})
        return props

    interfaces = {name: (component, props_of(name)) for component, name, _, _ in TS_INTERFACE.findall(source)}
    unions = {name: sorted(re.findall(r"'([^']+)'", body)) for name, body in TS_UNION.findall(source)}
    return interfaces, unions


def _nullable(node: dict) -> bool:
    return bool(node.get("nullable"))


def test_frontend_api_types_match_the_schema():
    """Every interface of frontend/src/api that names its schema component has
    the component's properties, optional where the schema does not require
    them and nullable where the schema says so; the status unions list the
    schema's enum values."""
    components = _published_schema()["components"]["schemas"]
    interfaces, unions = _typescript()
    assert len(interfaces) >= 20, sorted(interfaces)
    problems = []
    for name, (component, props) in sorted(interfaces.items()):
        schema = components.get(component)
        if schema is None:
            problems.append(f"{name}: no schema component {component}")
            continue
        required = set(schema.get("required", []))
        expected = {prop: (prop not in required, _nullable(node)) for prop, node in schema["properties"].items()}
        if set(props) != set(expected):
            problems.append(f"{name} vs {component}: missing {sorted(set(expected) - set(props))}, "
                            f"extra {sorted(set(props) - set(expected))}")
        for prop in set(props) & set(expected):
            if props[prop] != expected[prop]:
                problems.append(f"{name}.{prop}: (optional, nullable) {props[prop]} in TypeScript, "
                                f"{expected[prop]} in {component}")
    for union, component in TS_ENUMS.items():
        if unions.get(union) != sorted(components[component]["enum"]):
            problems.append(f"type {union} = {unions.get(union)}; {component} = {sorted(components[component]['enum'])}")
    assert not problems, "\n".join(problems)
