"""The operators' page /staff/sync/ shows the readiness checks (database,
Redis, settlement core, outbox) — rendered on the server from the same check
functions /readyz runs. They moved here from the insured person's home page."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.utils import timezone

from settlement.models import OutboxMessage

pytestmark = [pytest.mark.django_db]

CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard: nothing listens


def readiness_rows(html: str) -> dict[str, dict]:
    table = re.search(r'<table data-testid="readiness">(.*?)</table>', html, re.S)
    assert table, html
    rows = {}
    for key, ok, cells in re.findall(r'<tr data-check="(\w+)" data-ok="(\w+)">(.*?)</tr>', table.group(1), re.S):
        rows[key] = {"ok": ok, "cells": re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)}
    return rows


@pytest.fixture(autouse=True)
def _core_unreachable(settings):
    settings.SETTLEMENT_CORE_URL = CLOSED_PORT_URL
    settings.SETTLEMENT_CORE_RETRIES = 0
    settings.SETTLEMENT_CORE_TIMEOUT = 2


def test_staff_page_shows_each_readiness_check(ops_client):
    page = ops_client.get("/staff/sync/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "服务就绪检查" in html
    rows = readiness_rows(html)
    assert list(rows) == ["database", "redis", "core", "outbox"]

    # name, class, state, time, note
    assert rows["database"]["ok"] == "true"
    assert rows["database"]["cells"][:3] == ["数据库", "必需", "正常"]
    assert re.fullmatch(r"[\d.]+ 毫秒", rows["database"]["cells"][3])
    assert rows["redis"]["ok"] == "true"
    assert rows["redis"]["cells"][:3] == ["缓存", "必需", "正常"]
    assert rows["outbox"]["ok"] == "true"
    assert rows["outbox"]["cells"][:3] == ["同步队列", "异常时降级", "正常"]
    assert rows["outbox"]["cells"][4] == "-"
    # The core is not reachable here: the check's own error is shown.
    assert rows["core"]["ok"] == "false"
    assert rows["core"]["cells"][:3] == ["结算核心", "异常时降级", "异常"]
    assert rows["core"]["cells"][4] not in ("", "-")


def test_staff_page_shows_an_old_outbox_message_as_a_failed_check(ops_client, settings):
    settings.READYZ_OUTBOX_MAX_AGE_SECONDS = 60
    message = OutboxMessage.objects.create(
        message_id=str(uuid.uuid4()), person_key="P0001", kind="voucher.frozen", next_attempt_at=timezone.now())
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))

    rows = readiness_rows(ops_client.get("/staff/sync/").content.decode())
    assert rows["outbox"]["ok"] == "false"
    assert rows["outbox"]["cells"][2] == "异常"
    assert re.search(r"oldest pending outbox message is 7\d{3} s old", rows["outbox"]["cells"][4])
    assert rows["database"]["ok"] == "true"


def test_readiness_is_for_operators_only(client):
    page = client.get("/staff/sync/")
    assert page.status_code == 302
    assert page["Location"].startswith("/staff/sync/login/")
