"""The demo-only helpers behind the POS page's 使用演示机构 button and bill
editor (demo/apis.py): served outside production, 404 in production."""

from __future__ import annotations

import pytest

from common import demodata
from terminal.models import Institution

pytestmark = pytest.mark.django_db


def test_demo_terminal_registers_a_designated_pharmacy_and_returns_its_secret(client):
    answer = client.get("/api/demo/terminal")
    assert answer.status_code == 200
    body = answer.json()
    inst = next(i for i in demodata.generate(demodata.DEFAULT_SEED).institutions if i.fixmedins_code == body["fixmedins_code"])
    assert inst.kind == "pharmacy" and inst.designated and body["secret"] == inst.secret
    assert Institution.objects.filter(fixmedins_code=inst.fixmedins_code, designated=True).exists()
    assert client.get("/api/demo/terminal").json() == body  # idempotent


def test_demo_catalogue_lists_items_with_yuan_caps(client):
    items = client.get("/api/demo/catalogue").json()
    assert len(items) == len(demodata.generate(demodata.DEFAULT_SEED).catalogue)
    capped = next(i for i in items if i["price_cap"] is not None)
    assert isinstance(capped["price_cap"], str) and "." in capped["price_cap"]
    assert {"med_list_codg", "name", "list_class", "unit", "spec"} <= set(items[0])


def test_demo_endpoints_are_404_in_production(client, settings):
    settings.YIBAO_ENV = "production"
    for path in ("/api/demo/terminal", "/api/demo/catalogue"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "secret" not in answer.content.decode()


def test_demo_pharmacies_list_every_designated_pharmacy_by_city_without_secrets(client):
    rows = client.get("/api/demo/pharmacies").json()
    data = demodata.generate(demodata.DEFAULT_SEED)
    expected = {i.fixmedins_code for i in data.institutions if i.kind == "pharmacy" and i.designated}
    assert {r["fixmedins_code"] for r in rows} == expected
    guangzhou = next(r for r in rows if r["region"] == "440100")
    assert guangzhou["region_name"] == "广东省广州市" and guangzhou["fixmedins_name"]
    assert "secret" not in client.get("/api/demo/pharmacies").content.decode()


def test_demo_terminal_signs_in_as_the_chosen_pharmacy_and_refuses_an_unknown_one(client):
    chosen = next(i for i in demodata.generate(demodata.DEFAULT_SEED).institutions
                  if i.kind == "pharmacy" and i.designated and i.region == "440100")
    body = client.get(f"/api/demo/terminal?fixmedins_code={chosen.fixmedins_code}").json()
    assert body == {"fixmedins_code": chosen.fixmedins_code, "fixmedins_name": chosen.name, "region": "440100",
                    "secret": chosen.secret}
    # A non-ASCII spelling of a real code is not that code: no normalising.
    for code in ("P99999999999", chosen.fixmedins_code.replace("4", "４"), ""):
        answer = client.get("/api/demo/terminal", {"fixmedins_code": code})
        if code == "":
            assert answer.status_code == 200  # empty: the default pharmacy
            continue
        assert answer.status_code == 404 and answer.json()["code"] == "DEMO_INSTITUTION_UNKNOWN", code
