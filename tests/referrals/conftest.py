"""Personas and helpers of the filing tests: an activated person insured in
Beijing (110100, resident 390) files to other provinces; a stranger is
another activated person (IDOR)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from common import demodata
from tests.support.app import AppClient

P = demodata.DEMO_PERSONAS
FILER = P["resident"]  # 110100 北京, 390
STRANGER = P["elderly"]  # 310100 上海, 310


def today() -> dt.date:
    return timezone.localdate()


def days(n: int) -> str:
    return str(today() + dt.timedelta(days=n))


class Filer(AppClient):
    def file(self, body: dict, key: str | None = None):
        headers = {**self._headers(), **({"Idempotency-Key": key} if key else {})}
        response = self.client.post("/api/filings", data=body, content_type="application/json", headers=headers)
        self.responses.append(response.content)
        return response


LONG_TERM = {"type": "long_term_residence", "dest_admdvs": "440300", "begin_date": None, "basis": "commitment",
             "commitment_accepted": True}
TEMPORARY = {"type": "temporary_other", "dest_admdvs": "510100", "begin_date": None, "basis": "commitment",
             "commitment_accepted": True}
REFERRAL = {"type": "referral", "dest_admdvs": "310100", "begin_date": None, "basis": "proof",
            "proof": {"doc_type": "referral_certificate", "doc_no": "ZZ20260001"},
            "referral": {"reflin_medins_no": "H11010000002", "reflin_medins_name": "北京市第二人民医院",
                         "diag_code": "J18.900", "diag_name": "肺炎", "dise_cond_dscr": "需转上级医院",
                         "institutions": ["H31010000002"]}}


def body(template: dict, **changes) -> dict:
    out = {**template, "begin_date": str(today())}
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None or k == "end_date"}


@pytest.fixture
def filer(client, core_url, outbox_ids_above_earlier_tests):
    app = Filer(client, openid=f"filer-{uuid.uuid4().hex[:10]}").login()
    app.activate(FILER)
    return app


@pytest.fixture
def stranger(client, core_url):
    app = Filer(client, openid=f"stranger-{uuid.uuid4().hex[:10]}").login()
    app.activate(STRANGER)
    return app


@pytest.fixture
def activated(client, core_url, outbox_ids_above_earlier_tests):
    """Activate any demo persona (e.g. the cross-province ones of 130100, 210100, 150100)."""
    def activate(persona) -> Filer:
        app = Filer(client, openid=f"p-{uuid.uuid4().hex[:10]}").login()
        app.activate(persona)
        return app
    return activate
