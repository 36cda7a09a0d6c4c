import hashlib

from common import demodata, idnumber

DATA = demodata.generate()


def test_same_seed_same_data():
    again = demodata.generate(demodata.DEFAULT_SEED)
    assert again.digest() == DATA.digest()
    assert hashlib.sha256(again.to_json().encode()).hexdigest() == DATA.digest()


def test_different_seed_differs():
    assert demodata.generate(7).digest() != DATA.digest()


def test_regions():
    provinces = {r.province for r in DATA.regions}
    assert len(provinces) >= 6
    assert any(not r.evoucher_open for r in DATA.regions)
    assert len({r.admdvs for r in DATA.regions}) == len(DATA.regions)


def test_persons():
    persons = DATA.persons
    assert len(persons) >= 300
    assert {p.insutype for p in persons} == {"310", "390"}
    provinces = {DATA.region(p.insured_region).province for p in persons}
    assert len(provinces) >= 6
    ages = [p.age(DATA.reference_date) for p in persons]
    assert min(ages) < 3 and max(ages) > 80
    assert len({p.psn_no for p in persons}) == len(persons)
    assert len({p.id_number for p in persons}) == len(persons)
    for p in persons:
        assert idnumber.is_valid(p.id_number), p.psn_no
        assert p.id_number[:6] == p.insured_region
        assert idnumber.birth_date(p.id_number) == p.birth_date
        assert idnumber.gender(p.id_number) == p.gender
        assert len(p.psn_no) == 20 and p.psn_no.startswith(p.insured_region)
        assert p.balance_fen >= 0
        if p.psn_type == "11":
            assert p.insutype == "310" and p.employer
        if p.insutype == "390":
            assert not p.employer and p.balance_fen <= 5000
    assert any(p.enrolment_status == "suspended" for p in persons)


def test_households_can_form_families():
    households = {}
    for p in DATA.persons:
        households.setdefault(p.household, []).append(p)
    with_family = [m for m in households.values() if len(m) >= 3]
    assert len(with_family) >= 20
    for members in households.values():
        assert len({m.insured_region for m in members}) == 1
        head = next(m for m in members if m.role == "head")
        for child in (m for m in members if m.role == "child"):
            assert child.name[0] == head.name[0]  # children share the head's surname


def test_institutions():
    insts = DATA.institutions
    assert len(insts) >= 30
    assert {(i.kind, i.level) for i in insts} >= {("hospital", "1"), ("hospital", "2"), ("hospital", "3"),
                                                 ("pharmacy", "9")}
    assert any(not i.designated for i in insts)
    assert len({i.fixmedins_code for i in insts}) == len(insts)
    assert all(len(i.secret) == 32 for i in insts)
    assert len({i.region for i in insts}) >= 10


def test_catalogue():
    items = DATA.catalogue
    assert len(items) >= 300
    assert {c.list_class for c in items} == {"A", "B", "C"}
    assert {c.kind for c in items} == {"drug", "service", "material"}
    assert {c.self_pay_ratio_permille for c in items if c.list_class == "B"} >= {50, 100, 200}
    assert all(c.self_pay_ratio_permille == 0 for c in items if c.list_class == "A")
    assert all(c.self_pay_ratio_permille == 1000 for c in items if c.list_class == "C")
    assert any(c.price_cap_fen for c in items)
    assert len({c.med_list_codg for c in items}) == len(items)


def test_policies():
    pairs = {(p.region, p.insutype) for p in DATA.policies}
    assert pairs == {(r.admdvs, t) for r in DATA.regions for t in ("310", "390")}
    models = {p.params["model"] for p in DATA.policies}
    assert models == {"standard", "account_first"}


def test_personas():
    personas = demodata.DEMO_PERSONAS
    assert set(personas) >= {"employee", "child", "resident", "elderly", "suspended", "not_open", "chongqing"}
    open_regions = {r.admdvs for r in DATA.regions if r.evoucher_open}
    assert personas["employee"].insutype == "310" and personas["employee"].balance_fen >= 200_000
    assert personas["child"].age() < 6 and personas["child"].household == personas["employee"].household
    assert personas["resident"].insutype == "390"
    assert personas["elderly"].age() >= 80
    assert personas["suspended"].enrolment_status == "suspended"
    assert personas["not_open"].insured_region not in open_regions
    assert (personas["chongqing"].insured_region, personas["chongqing"].balance_fen) == ("500100", 33_280)
    assert personas == demodata.personas(demodata.generate())
