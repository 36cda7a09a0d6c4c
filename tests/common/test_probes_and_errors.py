"""/healthz, /readyz and the one error shape."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_healthz(client):
    response = client.get("/healthz")
    assert response.json() == {"status": "ok", "service": "wallet"}


def test_readyz_ok_with_core(client, core_url):
    body = client.get("/readyz").json()
    assert body["status"] == "ok", body
    assert {name for name, check in body["checks"].items() if check["ok"]} == {"database", "redis", "core", "outbox"}


def test_readyz_degraded_without_core(client, settings):
    settings.SETTLEMENT_CORE_URL = "http://127.0.0.1:9/core"
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["core"]["ok"] is False and body["checks"]["core"]["error"].startswith("CoreUnavailable")
    assert body["checks"]["database"]["ok"] is True


def test_readyz_down_without_redis(client, settings, monkeypatch):
    import redis

    def refuse(self):
        raise redis.ConnectionError("connection refused")

    monkeypatch.setattr(redis.Redis, "ping", refuse)
    settings.SETTLEMENT_CORE_URL = "http://127.0.0.1:9/core"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["redis"]["error"] == "ConnectionError: connection refused"


def test_unknown_url_has_the_error_shape(client):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"code": "NOT_FOUND", "message": "请求的资源不存在"}


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"Yibao Wallet API" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_gateway_get_is_not_a_stack_trace(client):
    response = client.get("/fsi/api/rsfComIfsService/callService")
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
