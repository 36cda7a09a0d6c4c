"""Registry relations (户籍 households, spouse and parent-child relations)
and the 9402 relation check through the envelope, with the derived ones
(grandparent / grandchild, siblings); the operator commands; the demo
family and the households derived from the demo data."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from common import demodata, idnumber
from common.envelope import InfCode
from core_platform.models import CivilRelation, Household, HouseholdMember
from core_platform.services.demo import demo_seed
from core_platform.services.registry import person_enrol, region_register
from core_platform.services.relations import household_register, relation_register
from tests.core_platform.signing import call, envelope

pytestmark = pytest.mark.django_db(databases=["default", "core"])


def _enrol(name, born, seq, insutype="390", region="320100"):
    person, _ = person_enrol(name=name, id_number=idnumber.make(region, born, seq), insutype=insutype, region=region,
                             **({"employer": "南京恒信科技有限公司", "psn_type": "11"} if insutype == "310" else {}))
    return person.psn_no


@pytest.fixture
def tree():
    """grandpa -> dad (civil) ; dad's household: dad head, mum spouse, two kids,
    granny (dad's mother) as 'parent'; uncle: grandpa's other son (civil)."""
    region_register("320100", "南京市", "江苏省")
    p = {"grandpa": _enrol("赵老", dt.date(1950, 2, 2), 11), "granny": _enrol("钱奶", dt.date(1952, 3, 3), 12),
         "dad": _enrol("赵大", dt.date(1980, 4, 4), 13, "310"), "mum": _enrol("孙妈", dt.date(1982, 5, 5), 14),
         "kid": _enrol("赵一", dt.date(2012, 6, 6), 15), "kid2": _enrol("赵二", dt.date(2015, 7, 7), 16),
         "uncle": _enrol("赵叔", dt.date(1984, 8, 8), 17), "cousin": _enrol("赵表", dt.date(2010, 9, 9), 19),
         "stranger": _enrol("周路", dt.date(1981, 1, 1), 21)}
    household_register("320100HT001", "320100", [(p["dad"], "head"), (p["mum"], "spouse"), (p["kid"], "child"),
                                                 (p["kid2"], "child"), (p["granny"], "parent")])
    relation_register("parent_child", p["grandpa"], p["dad"])
    relation_register("parent_child", p["grandpa"], p["uncle"])
    relation_register("parent_child", p["uncle"], p["cousin"])
    return p


def check(client, psn_no, rel_psn_no, relation):
    return call(client, envelope("9402", {"data": {"psn_no": psn_no, "rel_psn_no": rel_psn_no, "relation": relation}}))


@pytest.mark.parametrize("who, whom, relation, basis", [
    ("dad", "mum", "spouse", "household"),
    ("mum", "dad", "spouse", "household"),
    ("dad", "kid", "child", "household"),
    ("kid", "dad", "parent", "household"),
    ("dad", "granny", "parent", "household"),
    ("granny", "dad", "child", "household"),
    ("dad", "grandpa", "parent", "parent_child"),
    ("grandpa", "dad", "child", "parent_child"),
    ("kid", "granny", "grandparent", "derived"),  # one register: the head's parent and the head's child
    ("granny", "kid", "grandchild", "derived"),
    ("kid", "grandpa", "grandparent", "derived"),  # two parent links: grandpa -> dad (civil) -> kid (register)
    ("grandpa", "kid2", "grandchild", "derived"),
    ("kid", "kid2", "sibling", "derived"),  # two children of the head
    ("dad", "uncle", "sibling", "derived"),  # a shared parent (grandpa)
    ("grandpa", "cousin", "grandchild", "derived"),
])
def test_verified_relations(client, tree, who, whom, relation, basis):
    answer = check(client, tree[who], tree[whom], relation)
    assert answer["infcode"] == 0, answer
    assert answer["output"]["relation"] == {
        "psn_no": tree[who], "rel_psn_no": tree[whom], "relation": relation, "verified": "1", "basis": basis,
        "memo": answer["output"]["relation"]["memo"]}
    assert answer["output"]["relation"]["memo"]


@pytest.mark.parametrize("who, whom, relation", [
    ("dad", "kid", "parent"),  # the wrong direction
    ("kid", "dad", "child"),
    ("dad", "stranger", "spouse"),
    ("mum", "kid", "child"),  # the register states the head's child only; no civil relation for mum
    ("kid", "cousin", "sibling"),  # cousins share no parent
    ("dad", "cousin", "grandchild"),
    ("kid", "uncle", "grandparent"),
    ("dad", "grandpa", "grandparent"),
])
def test_refuted_relations(client, tree, who, whom, relation):
    answer = check(client, tree[who], tree[whom], relation)
    assert answer["infcode"] == 0, answer
    out = answer["output"]["relation"]
    assert (out["verified"], out["basis"]) == ("0", "") and out["memo"].startswith("登记信息中未查到对方为本人的")


def test_civil_spouse_and_bad_input(client, tree):
    relation_register("spouse", tree["stranger"], tree["uncle"])
    answer = check(client, tree["uncle"], tree["stranger"], "spouse")
    assert answer["output"]["relation"]["basis"] == "spouse" and answer["output"]["relation"]["verified"] == "1"
    assert check(client, tree["dad"], tree["dad"], "spouse")["infcode"] == InfCode.INPUT_INVALID
    bad = check(client, tree["dad"], tree["kid"], "cousin")
    assert bad["infcode"] == InfCode.INPUT_INVALID and "relation" in bad["err_msg"]
    assert check(client, tree["dad"], "１" * 20, "child")["infcode"] == InfCode.INPUT_INVALID
    unknown = check(client, tree["dad"], "32010099999999999999", "child")
    assert unknown["infcode"] == InfCode.PERSON_NOT_FOUND and "32010099999999999999" in unknown["err_msg"]
    missing = call(client, envelope("9402", {"data": {"psn_no": tree["dad"]}}))
    assert missing["infcode"] == InfCode.INPUT_INVALID and "rel_psn_no" in missing["err_msg"]


def test_registering_relations_refuses_contradictions(tree):
    relation_register("spouse", tree["dad"], tree["mum"])
    with pytest.raises(Exception, match="其他配偶"):
        relation_register("spouse", tree["mum"], tree["stranger"])
    with pytest.raises(Exception, match="出生日期"):
        relation_register("parent_child", tree["kid"], tree["dad"])
    with pytest.raises(Exception, match="已登记在户号"):
        household_register("320100HT002", "320100", [(tree["kid"], "head")])  # on another register already
    with pytest.raises(Exception, match="只能有一位户主"):
        household_register("320100HT001", "320100", [(tree["uncle"], "head")])
    _, added = household_register("320100HT001", "320100", [(tree["kid"], "child"), (tree["uncle"], "sibling")])
    assert added == 1 and HouseholdMember.objects.filter(household__hh_no="320100HT001").count() == 6


def test_operator_commands(tree):
    out = StringIO()
    call_command("core_register_household", "--hh-no", "320100HT009", "--region", "320100",
                 "--member", f"{tree['stranger']}:head", stdout=out)
    assert "1 member(s) added" in out.getvalue()
    call_command("core_register_relation", "--kind", "parent_child", "--psn-no", tree["stranger"],
                 "--rel-psn-no", tree["cousin"], stdout=out)
    assert "recorded" in out.getvalue()
    with pytest.raises(CommandError, match="INVALID_INPUT"):
        call_command("core_register_household", "--hh-no", "320100HT010", "--region", "320100",
                     "--member", f"{tree['stranger']}:boss")
    with pytest.raises(CommandError, match="PSN_NO:ROLE"):
        call_command("core_register_household", "--hh-no", "320100HT010", "--region", "320100", "--member", "x")


def test_demo_family_and_derived_households(client):
    data = demodata.generate()
    personas = demodata.personas(data)
    parent, child, grandfather = personas["family_parent"], personas["family_child"], personas["family_grandfather"]
    assert (parent.insutype, parent.psn_type) == ("310", "11") and parent.balance_fen >= 200_000
    for day in (dt.date(2026, 1, 1), dt.date(2026, 6, 30), dt.date(2026, 12, 31)):
        assert (child.age(day), grandfather.age(day)) == (10, 70)
    assert child.household == parent.household == grandfather.household
    family_policy = next(p for p in data.policies if p.region == parent.insured_region and p.insutype == "310")
    assert {"child", "parent"} <= set(family_policy.params["mutual_aid"]["relations"])
    assert sum(1 for c in data.catalogue if c.mulaid_excluded) == 4
    demo_seed(regions={parent.insured_region})
    demo_seed(regions={parent.insured_region})  # a second run creates nothing
    assert Household.objects.count() == 1 and HouseholdMember.objects.count() == 4
    assert CivilRelation.objects.count() == 4  # spouses; each parent and the son; the grandfather and the parent
    for rel, relation, basis in ((child, "child", "parent_child"), (grandfather, "parent", "parent_child")):
        out = check(client, parent.psn_no, rel.psn_no, relation)["output"]["relation"]
        assert (out["verified"], out["basis"]) == ("1", basis)
    out = check(client, child.psn_no, grandfather.psn_no, "grandparent")["output"]["relation"]
    assert (out["verified"], out["basis"]) == ("1", "derived")
    # every generated household became a register with its derived relations
    assert len(data.households) == len({p.household for p in data.persons})
    assert all(r.psn_no != r.rel_psn_no for r in data.relations)
