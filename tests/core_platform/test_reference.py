"""The reference data the core keeps per process (core_platform/reference.py):
kept while nothing changes, dropped on any change by any writer — the
triggers of migration 0010 replace the version token, on PostgreSQL and
SQLite alike."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from common.envelope import InfCode
from core_platform.models import CatalogueItem, Institution, PolicyParameters, RegionCatalogueItem
from core_platform.reference import reference
from core_platform.services.policy import policy_load
from tests.core_platform.test_settle import PHARMACY, POLICY, THREE_ITEMS, bill, send, world  # noqa: F401

pytestmark = pytest.mark.django_db(databases=["default", "core"])


def _tables_read(ctx) -> set[str]:
    names = ("institution", "catalogueitem", "regioncatalogueitem", "policyparameters")
    return {name for q in ctx.captured_queries for name in names if f'"core_platform_{name}"' in q["sql"]
            and q["sql"].lstrip().startswith("SELECT")}


def test_a_second_settlement_reads_no_reference_rows(client, world):
    assert send(client, "2102", bill(world.psn_no, THREE_ITEMS))["infcode"] == 0
    with CaptureQueriesContext(connections["core"]) as ctx:
        assert send(client, "2102", bill(world.psn_no, THREE_ITEMS))["infcode"] == 0
    assert _tables_read(ctx) == set()
    assert reference() is reference()


def test_an_institution_changed_behind_the_services_back_is_seen_at_once(client, world):
    assert send(client, "2102", bill(world.psn_no, THREE_ITEMS))["infcode"] == 0
    Institution.objects.filter(fixmedins_code=PHARMACY).update(designated=False)  # no service, no signal
    refused = send(client, "2102", bill(world.psn_no, THREE_ITEMS))
    assert refused["infcode"] == InfCode.INSTITUTION_NOT_DESIGNATED, refused
    assert "非定点" in refused["err_msg"]


def test_catalogue_terms_and_policy_versions_changed_are_used_by_the_next_bill(client, world):
    first = send(client, "2101", bill(world.psn_no, [("XC0001", "15.50", "1")]))["output"]["setlinfo"]
    assert first["fulamt_ownpay_amt"] == D("15.50")  # class C: all self-paid
    CatalogueItem.objects.filter(med_list_codg="XC0001").update(list_class="A", self_pay_ratio_permille=0)
    second = send(client, "2101", bill(world.psn_no, [("XC0001", "15.50", "1")]))["output"]["setlinfo"]
    assert second["fulamt_ownpay_amt"] == D("0.00")
    RegionCatalogueItem.objects.create(region="110100", med_list_codg="XC0001", list_class="C",
                                       self_pay_ratio_permille=1000)
    third = send(client, "2101", bill(world.psn_no, [("XC0001", "15.50", "1")]))["output"]["setlinfo"]
    assert third["fulamt_ownpay_amt"] == D("15.50")  # the treatment region's own terms
    before = send(client, "2101", bill(world.psn_no, THREE_ITEMS))["output"]["setlinfo"]
    policy_load({"region": "110100", "insutype": "310", "version": 2, "effective_from": "2021-01-01",
                 "params": {**POLICY, "account_may_pay_self_part": False}})
    assert PolicyParameters.objects.filter(region="110100").count() == 2
    after = send(client, "2101", bill(world.psn_no, THREE_ITEMS))["output"]["setlinfo"]
    assert before["acct_pay"] != after["acct_pay"], (before, after)
