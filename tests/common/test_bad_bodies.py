"""Bad input never gets a 5xx (issue #9).

Every operation of the live OpenAPI schema, the two terminal endpoints, the
core's envelope endpoint and the plain Django pages are sent bodies of any
size, depth and encoding: nesting 100,000 deep, a body over
DATA_UPLOAD_MAX_MEMORY_SIZE, invalid UTF-8, lone surrogate escapes, NaN,
duplicate keys, NUL characters, a wrong content type or charset, an empty
body. Each answer must be below 500; a 4xx must be the one error shape with a
Chinese message; a terminal endpoint answers with its own refusal envelope.
Nothing may be logged at ERROR or with a traceback.
"""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from django.conf import settings

from common import demodata, signing
from tests.support.app import AppClient
from tests.support.terminal import Terminal
from terminal.services.institutions import institution_register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]

DATA = demodata.generate(demodata.DEFAULT_SEED)
PHARMACY = next(i for i in DATA.institutions if i.kind == "pharmacy" and i.designated)
GATEWAY = "/fsi/api/rsfComIfsService/callService"
DECODE = "/localcfc/api/hsecfc/localQrCodeQuery"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
DEPTH = 100_000


@pytest.fixture
def client(client):
    """The test client, answering with the 500 a real server would send
    instead of re-raising the view's exception."""
    client.raise_request_exception = False
    return client


# --- bodies --------------------------------------------------------------------

def _poison(value, text: str):
    """Every string in ``value`` (keys kept) replaced by ``text``."""
    if isinstance(value, dict):
        return {k: _poison(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_poison(v, text) for v in value]
    if isinstance(value, str):
        return text
    return value


def _dup_keys(plausible: dict) -> bytes:
    """The same object with every key twice (first value differs)."""
    parts = []
    for key, value in (plausible or {"a": 1}).items():
        parts.append(f"{json.dumps(key)}: {json.dumps('other')}")
        parts.append(f"{json.dumps(key)}: {json.dumps(value)}")
    return ("{" + ", ".join(parts) + "}").encode()


def bad_bodies(plausible: dict) -> list[tuple[str, bytes, str]]:
    """(name, body, content type) for an endpoint whose good body looks like ``plausible``."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    good = json.dumps(plausible, ensure_ascii=False).encode()
    padded = dict(plausible, padding="x" * (limit + 1))
    return [
        ("deep_array", b"[" * DEPTH + b"]" * DEPTH, "application/json"),
        ("deep_object", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH, "application/json"),
        ("deep_value", good[:-1] + (b', "deep": ' if plausible else b'"deep": ') + b"[" * DEPTH + b"]" * DEPTH + b"}",
         "application/json"),
        ("over_upload_limit", json.dumps(padded).encode(), "application/json"),
        ("invalid_utf8", json.dumps(_poison(plausible, "\udcff"), ensure_ascii=False).encode("utf-8", "surrogateescape")
         if plausible else b'{"a": "\xff\xfe"}', "application/json"),
        ("lone_surrogate", json.dumps(_poison(plausible or {"a": ""}, "ab\ud800cd")).encode(), "application/json"),
        ("nan", good[:-1] + (b', "n": NaN}' if plausible else b'"n": NaN}'), "application/json"),
        ("infinity", json.dumps(dict(plausible, n=float("inf"))).encode(), "application/json"),
        ("duplicate_keys", _dup_keys(plausible), "application/json"),
        ("nul_char", json.dumps(_poison(plausible or {"a": ""}, "ab\x00cd")).encode(), "application/json"),
        ("not_json", b'{"a": ', "application/json"),
        ("json_scalar", b'"just a string"', "application/json"),
        ("json_array", b"[1, 2, 3]", "application/json"),
        ("wrong_content_type", b"<a>1</a>", "application/xml"),
        ("form_encoded", b"a=1&b=2", "application/x-www-form-urlencoded"),
        ("utf16_charset", good.decode().encode("utf-16"), "application/json; charset=utf-16"),
        ("unknown_charset", good, "application/json; charset=no-such-charset"),
        ("latin1_charset", "{\"a\": \"\u00e9\"}".encode("latin-1"), "application/json; charset=latin-1"),
        ("empty", b"", "application/json"),
    ]


# --- the schema ----------------------------------------------------------------

def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def _plausible(schema: dict, node: dict):
    node = _resolve(schema, node)
    if "enum" in node:
        return node["enum"][0]
    if "allOf" in node:
        return _plausible(schema, node["allOf"][0])
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return {name: _plausible(schema, prop) for name, prop in node.get("properties", {}).items()}
    if kind == "array":
        return [_plausible(schema, node.get("items", {}))]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "string":
        return "abcdef12"
    return {"nonce": "abcdef12"}  # a free-form JSON field


def operations(client) -> list[dict]:
    """Every operation of the schema the server publishes right now."""
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content[:200]
    schema = json.loads(response.content)
    ops = []
    for template, methods in schema["paths"].items():
        for method, op in methods.items():
            body_schema = (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
            ops.append({
                "method": method.upper(),
                "template": template,
                "has_body": body_schema is not None,
                "plausible": _plausible(schema, body_schema) if body_schema else {},
            })
    # Operations that end the session or the channel's authorization go last,
    # so the authenticated pass stays authenticated for the rest.
    last = ("/logout", "/refresh", "/revoke")
    return sorted(ops, key=lambda op: (op["template"].endswith(last), op["template"], op["method"]))


def paths_for(template: str, ids: dict) -> list[str]:
    """The template filled with a plausible id, and with ids that are not
    ASCII digits (Arabic-Indic, full-width), far past any integer column, a
    NUL character or the UTF-8 bytes of a lone surrogate."""
    fills = [ids, {name: "١٢٣" for name in ids}, {name: "１２３" for name in ids},
             {name: "9" * 30 for name in ids}, {name: "ab%00cd" for name in ids}, {name: "%ED%A0%80" for name in ids}]
    out = []
    for fill in fills:
        path = template
        for name in re.findall(r"{(\w+)}", template):
            path = path.replace("{" + name + "}", str(fill.get(name, "1")))
        if path not in out:
            out.append(path)
    return out


# --- checks ----------------------------------------------------------------------

def check_one_shape(problems: list, label: str, response) -> None:
    status = response.status_code
    if status >= 500:
        problems.append(f"{label}: HTTP {status} {response.content[:160]!r}")
        return
    if status < 400:
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        problems.append(f"{label}: HTTP {status} is not JSON: {response.content[:120]!r}")
        return
    if not (isinstance(body, dict) and {"code", "message"} <= set(body) <= {"code", "message", "detail"}
            and re.fullmatch(r"[A-Z][A-Z0-9_]*", str(body["code"])) and CHINESE.search(str(body["message"]))):
        problems.append(f"{label}: HTTP {status} not in the one error shape: {body!r:.200}")


def check_nothing_logged(problems: list, caplog) -> None:
    for record in caplog.records:
        if record.levelno >= logging.ERROR or record.exc_info:
            problems.append(f"logged {record.levelname} {record.name}: {record.getMessage()[:160]}")
    caplog.clear()


def send(client, method: str, path: str, body: bytes, content_type: str, headers: dict | None = None):
    return client.generic(method, path, body, content_type=content_type, headers=headers or {})


def sweep_schema(client, caplog, headers: dict, ids: dict) -> list[str]:
    problems: list[str] = []
    for op in operations(client):
        for path in paths_for(op["template"], ids):
            for name, body, content_type in bad_bodies(op["plausible"]):
                label = f"{op['method']} {path} [{name}]"
                response = send(client, op["method"], path, body, content_type, headers)
                check_one_shape(problems, label, response)
                if op["has_body"] and response.status_code < 400:
                    problems.append(f"{label}: accepted a bad body: HTTP {response.status_code}")
                if name == "over_upload_limit" and response.status_code != 413 and "%00" not in path:
                    problems.append(f"{label}: body over the upload limit got HTTP {response.status_code}, not 413")
        check_nothing_logged(problems, caplog)
    return problems


# --- the REST API ------------------------------------------------------------------

def test_every_schema_operation_refuses_bad_bodies_unauthenticated(client, caplog):
    caplog.set_level(logging.INFO)
    problems = sweep_schema(client, caplog, headers={}, ids={"public_id": "p-1", "authorization_id": "1", "kind": "qr"})
    assert not problems, "\n".join(problems)


def test_every_schema_operation_refuses_bad_bodies_as_an_activated_person(client, caplog):
    app = AppClient(client).login()
    app.activate(demodata.DEMO_PERSONAS["employee"])
    authorization_id = app.get("/api/voucher/authorizations").json()[0]["id"]
    caplog.set_level(logging.INFO)
    caplog.clear()
    problems = sweep_schema(client, caplog, headers={"Authorization": f"Bearer {app.token}"},
                            ids={"public_id": "p-1", "authorization_id": str(authorization_id), "kind": "qr"})
    assert not problems, "\n".join(problems)


def test_rest_refusals_say_what_was_wrong(client):
    """The strict parser's reason reaches the caller, in Chinese, in the one shape."""
    cases = {
        b"[" * DEPTH + b"]" * DEPTH: "嵌套",
        b'{"channel": "wechat", "channel": "alipay", "openid": "abcdef"}': "重复",
        b'{"channel": "wechat", "openid": NaN}': "NaN",
        b'{"channel": "wechat", "openid": "ab\\ud800cd"}': "代理",
        b'{"channel": "wechat", "openid": "ab\\u0000cdef"}': "NUL",
        b'{"channel": "wechat", "openid": "\xff\xfe"}': "UTF-8",
    }
    for body, reason in cases.items():
        response = client.post("/api/auth/login", body, content_type="application/json")
        assert response.status_code == 400, (body[:40], response.content)
        answer = response.json()
        assert answer["code"] == "MALFORMED_REQUEST", answer
        assert reason in answer["message"], answer
    big = b'{"openid": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    response = client.post("/api/auth/login", big, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"code": "REQUEST_TOO_LARGE", "message": response.json()["message"],
                               "detail": {"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}}
    assert CHINESE.search(response.json()["message"])
    response = send(client, "POST", "/api/auth/login", json.dumps({"channel": "wechat", "openid": "abcdef"}).encode("utf-16"),
                    "application/json; charset=utf-16")  # client.post would re-encode the body
    assert response.status_code == 415 and response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE", response.content


def test_query_strings_with_odd_characters_are_not_a_5xx(client, caplog):
    app = AppClient(client).login()
    app.activate(demodata.DEMO_PERSONAS["employee"])
    caplog.clear()
    headers = {"Authorization": f"Bearer {app.token}"}
    problems: list[str] = []
    for query in ("format=%00", "format=%ED%A0%80", "format=%FF", "format=json", "code=%00&format=png",
                  "index=%D9%A1%D9%A2", "index=" + "9" * 5000, "refresh=%00", "a=" + "%5B" * 5000):
        for path in ("/api/voucher/code/qr", "/api/voucher/code/barcode", "/api/demo/terminal",
                     "/api/account/balance", "/api/records", "/api/payments/pending", "/api/schema/", "/healthz"):
            check_one_shape(problems, f"GET {path}?{query}", client.get(f"{path}?{query}", headers=headers))
    check_nothing_logged(problems, caplog)
    assert not problems, "\n".join(problems)


# --- the terminal endpoints -----------------------------------------------------------

@pytest.fixture
def terminal(client):
    institution_register(fixmedins_code=PHARMACY.fixmedins_code, name=PHARMACY.name, kind=PHARMACY.kind,
                         level=PHARMACY.level, region=PHARMACY.region, designated=PHARMACY.designated,
                         secret=PHARMACY.secret)
    terminal = Terminal(client, PHARMACY.fixmedins_code, PHARMACY.secret)
    terminal.sign_in()
    return terminal


def _decode_request(code: str) -> dict:
    return {"transType": "ec.query", "orgId": code,
            "data": {"orgId": code, "businessType": "02121", "operatorId": "0001", "operatorName": "收银员甲",
                     "officeId": "01", "officeName": "西药柜台", "deviceType": "POS", "qrCode": "1" * 18}}


def check_refusal(problems: list, label: str, response, kind: str) -> None:
    """A terminal endpoint refuses in its own envelope (HTTP 200, non-zero
    code, Chinese message), or with a 4xx in the one shape."""
    if response.status_code != 200:
        check_one_shape(problems, label, response)
        return
    answer = json.loads(response.content)
    code, message = (answer.get("infcode"), answer.get("err_msg")) if kind == "envelope" else (
        answer.get("code"), answer.get("message"))
    if not code or not CHINESE.search(str(message)):
        problems.append(f"{label}: not a refusal: {answer!r:.200}")


def test_terminal_endpoints_refuse_bad_bodies_signed_and_unsigned(client, terminal, caplog):
    envelope = terminal.envelope("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "x", "psn_cert_type": "01",
                                                   "certno": "", "psn_name": ""}})
    targets = [(GATEWAY, envelope, "envelope"), (DECODE, _decode_request(terminal.code), "decode")]
    caplog.set_level(logging.INFO)
    caplog.clear()
    problems: list[str] = []
    for path, plausible, kind in targets:
        for name, body, content_type in bad_bodies(plausible):
            for signed in (True, False):
                headers = signing.sign_headers(terminal.code, terminal.secret, body) if signed else {}
                label = f"POST {path} [{name}{' signed' if signed else ''}]"
                check_refusal(problems, label, send(client, "POST", path, body, content_type, headers), kind)
        check_nothing_logged(problems, caplog)
    assert not problems, "\n".join(problems)


def test_signed_envelope_with_a_lone_surrogate_is_refused(client, terminal, caplog):
    """A properly signed envelope whose opter_name is ``\\ud800``: the
    signature holds, so only the body's reader stands between it and a 500."""
    caplog.set_level(logging.INFO)
    caplog.clear()
    body = json.dumps(terminal.envelope("9001", {"signIn": {"opter_no": "0001", "mac": "m", "ip": "10.0.0.1"}},
                                        opter_name="收银员\ud800")).encode()
    response = client.post(GATEWAY, body, content_type="application/json",
                           headers=signing.sign_headers(terminal.code, terminal.secret, body))
    assert response.status_code == 200, response.content
    assert response.json()["infcode"] == 1001, response.json()
    problems: list[str] = []
    check_nothing_logged(problems, caplog)
    assert not problems, "\n".join(problems)


def test_terminal_endpoints_answer_an_oversize_body_with_their_own_refusal(client, terminal):
    big = b'{"pad": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    answer = client.post(GATEWAY, big, content_type="application/json").json()
    assert answer["infcode"] == 1001 and "报文过大" in answer["err_msg"], answer
    answer = client.post(DECODE, big, content_type="application/json").json()
    assert answer["code"] == 1001 and answer["errorCode"] == "EC_MALFORMED" and "报文过大" in answer["message"], answer
    answer = client.post("/core/fsi/api/rsfComIfsService/callService", big, content_type="application/json").json()
    assert answer["infcode"] == 1001 and "报文过大" in answer["err_msg"], answer


# --- the other pages ---------------------------------------------------------------------

OTHER_ENDPOINTS = [
    ("GET", "/healthz"), ("POST", "/healthz"), ("POST", "/readyz"),
    ("POST", "/liveness-sim/api/sessions/abc/result"),
    ("POST", "/core/fsi/api/rsfComIfsService/callService"), ("GET", "/core/fsi/api/rsfComIfsService/callService"),
    ("POST", "/core/healthz"),
    ("POST", "/staff/sync/login/"), ("POST", "/staff/sync/"), ("GET", "/staff/sync/"),
    ("POST", "/api/schema/"), ("POST", "/api/docs/"), ("POST", "/api/no-such-thing/"), ("POST", "/app/index.html"),
]


def test_plain_django_endpoints_refuse_bad_bodies(client, caplog):
    caplog.set_level(logging.INFO)
    caplog.clear()
    problems: list[str] = []
    for method, path in OTHER_ENDPOINTS:
        for name, body, content_type in bad_bodies({"outcome": "pass"}):
            label = f"{method} {path} [{name}]"
            response = send(client, method, path, body, content_type)
            if path.startswith("/core/fsi"):
                check_refusal(problems, label, response, "envelope")
            elif path.startswith("/staff/") and response.status_code < 400:
                continue  # a redirect to the login page, or the login form again with the refusal
            else:
                check_one_shape(problems, label, response)
            if name == "over_upload_limit" and response.status_code not in (413, 200):
                problems.append(f"{label}: HTTP {response.status_code} for a body over the upload limit")
        check_nothing_logged(problems, caplog)
    assert not problems, "\n".join(problems)


def test_liveness_simulator_refuses_deep_and_duplicate_bodies(client):
    for body in (b"[" * DEPTH + b"]" * DEPTH, b'{"outcome": "pass", "outcome": "not_live"}', b'{"outcome": NaN}'):
        response = client.post("/liveness-sim/api/sessions/abc/result", body, content_type="application/json")
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "MALFORMED_REQUEST", response.json()


# --- a real ASGI server ---------------------------------------------------------------------

def test_oversize_bodies_through_uvicorn(wallet_live):
    """uvicorn + Django: a body over the limit, declared or chunked, is a 413
    in the one shape for the REST API and an envelope refusal for terminals."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    big = b'{"openid": "' + b"x" * (limit + 1) + b'"}'

    def chunks():
        for start in range(0, len(big), 65536):
            yield big[start:start + 65536]

    with httpx.Client(base_url=wallet_live.url, timeout=60) as http:
        for content in (big, chunks()):
            response = http.post("/api/auth/login", content=content, headers={"content-type": "application/json"})
            assert response.status_code == 413, response.text[:200]
            assert response.json()["code"] == "REQUEST_TOO_LARGE" and CHINESE.search(response.json()["message"])
            response = http.post(GATEWAY, content=content if isinstance(content, bytes) else chunks(),
                                 headers={"content-type": "application/json"})
            assert response.status_code == 200, response.text[:200]
            assert response.json()["infcode"] == 1001 and "报文过大" in response.json()["err_msg"]
        deep = b"[" * DEPTH + b"]" * DEPTH
        response = http.post("/api/auth/login", content=deep, headers={"content-type": "application/json"})
        assert response.status_code == 400 and response.json()["code"] == "MALFORMED_REQUEST", response.text[:200]


def test_csrf_refusal_is_in_the_one_shape():
    """Django's CSRF failure page was HTML; the operators' login and the staff
    pages now refuse in the one shape too."""
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/staff/sync/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403
    assert response.json() == {"code": "CSRF_FAILED", "message": "页面已过期或来源不可信，请刷新页面后重试"}
