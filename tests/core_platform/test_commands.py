import json

import pytest
from django.core.management import CommandError, call_command

from common import demodata
from core_platform.models import (
    CatalogueItem,
    Entry,
    Institution,
    InsuredPerson,
    LedgerAccount,
    PolicyParameters,
    Posting,
    Region,
)
from core_platform.selectors import ledger_discrepancies, person_id_number, personal_balance_fen

pytestmark = pytest.mark.django_db(databases=["default", "core"])

FIXTURES = "core_platform/fixtures"
MODELS = [Region, InsuredPerson, Institution, CatalogueItem, PolicyParameters, LedgerAccount, Posting, Entry]


def counts():
    return {m.__name__: m.objects.count() for m in MODELS}


def test_seed_twice_same_counts(capsys):
    call_command("core_seed_demo")
    first = counts()
    data = demodata.generate()
    assert first["InsuredPerson"] == len(data.persons)
    assert first["Institution"] == len(data.institutions)
    assert first["CatalogueItem"] == len(data.catalogue)
    assert first["PolicyParameters"] == len(data.policies)
    call_command("core_seed_demo")
    assert counts() == first
    assert not ledger_discrepancies()
    employee = demodata.DEMO_PERSONAS["employee"]
    person = InsuredPerson.objects.get(psn_no=employee.psn_no)
    assert person_id_number(person) == employee.id_number
    assert employee.id_number not in person.id_number_encrypted
    assert personal_balance_fen(employee.psn_no) == employee.balance_fen
    out = capsys.readouterr().out
    assert employee.id_number not in out and employee.id_number[:3] + "*" in out


@pytest.fixture
def region():
    call_command("core_register_region", admdvs="110100", name="北京市", province="北京市")


def enrol(**kwargs):
    defaults = {"name": "王芳", "id_number": "11010519491231002X", "insutype": "310", "region": "110100",
                "employer": "北京恒信科技有限公司"}
    defaults.update(kwargs)
    call_command("core_enrol_person", **defaults)


def test_enrol_person(region, capsys):
    enrol()
    out = capsys.readouterr().out
    assert "110***********002X" in out and "11010519491231002X" not in out
    person = InsuredPerson.objects.get()
    assert person.psn_no == "11010000000000000001" and person.gender == "2"
    enrol()  # idempotent
    assert InsuredPerson.objects.count() == 1
    enrol(id_number="110101201803078038", name="李小明", insutype="390", employer="")
    assert InsuredPerson.objects.get(name="李小明").psn_no == "11010000000000000002"


@pytest.mark.parametrize("kwargs, message", [
    ({"id_number": "110105194912310021"}, "身份证号码无效"),
    ({"region": "999999"}, "未登记"),
    ({"employer": "", "psn_type": "11"}, "单位名称"),
    ({"insutype": "390", "psn_type": "11"}, "人员类别"),
])
def test_enrol_person_refusals(region, kwargs, message):
    with pytest.raises(CommandError, match=message):
        enrol(**kwargs)


def test_credit_idempotent_by_reference(region):
    enrol()
    psn_no = InsuredPerson.objects.get().psn_no
    call_command("core_credit_account", psn_no=psn_no, amount_fen=15000, reference="2026-01")
    call_command("core_credit_account", psn_no=psn_no, amount_fen=15000, reference="2026-01")
    assert personal_balance_fen(psn_no) == 15000
    assert Posting.objects.count() == 1
    with pytest.raises(CommandError, match="REFERENCE_CONFLICT"):
        call_command("core_credit_account", psn_no=psn_no, amount_fen=99, reference="2026-01")
    call_command("core_credit_account", psn_no=psn_no, amount_fen=5000, reference="2026-02")
    assert personal_balance_fen(psn_no) == 20000
    with pytest.raises(CommandError, match="NOT_FOUND"):
        call_command("core_credit_account", psn_no="11010000000000000999", amount_fen=1, reference="x")
    assert not ledger_discrepancies()


def test_register_institution(region):
    call_command("core_register_institution", code="P11010000001", name="益丰大药房", kind="pharmacy", level="9",
                 region="110100")
    call_command("core_register_institution", code="P11010000001", name="益丰大药房", kind="pharmacy", level="9",
                 region="110100", not_designated=True)
    assert Institution.objects.get().designated is False
    with pytest.raises(CommandError, match="9"):
        call_command("core_register_institution", code="P11010000003", name="x", kind="pharmacy", level="3",
                     region="110100")


def test_load_catalogue_csv_and_json():
    call_command("core_load_catalogue", f"{FIXTURES}/catalogue_example.csv")
    call_command("core_load_catalogue", f"{FIXTURES}/catalogue_example.json")
    call_command("core_load_catalogue", f"{FIXTURES}/catalogue_example.csv")
    assert CatalogueItem.objects.count() == 11
    item = CatalogueItem.objects.get(med_list_codg="XE0000003")
    assert item.list_class == "B" and item.self_pay_ratio_permille == 50


def test_bad_catalogue_refused_whole(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("med_list_codg,name,kind,list_class,self_pay_ratio_permille\n"
                   "OK1,好药,drug,A,0\nBAD1,坏药,drug,B,\nBAD2,坏药,pill,A,5\n", encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        call_command("core_load_catalogue", str(bad))
    assert "第2行" in str(exc.value) and "第3行" in str(exc.value)
    assert CatalogueItem.objects.count() == 0
    other = tmp_path / "catalogue.txt"
    other.write_text("", encoding="utf-8")
    with pytest.raises(CommandError, match="不支持"):
        call_command("core_load_catalogue", str(other))


def test_json_catalogue_is_read_strictly(tmp_path):
    # A key given twice was settled silently by plain json.loads (the last one won): the strict
    # reader refuses it; a fractional fen is an exact Decimal, refused by the row check, not rounded.
    twice = tmp_path / "twice.json"
    twice.write_text('[{"med_list_codg": "X1", "name": "药", "kind": "drug", "list_class": "A", "list_class": "C"}]',
                     encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        call_command("core_load_catalogue", str(twice))
    assert "JSON 格式错误" in str(exc.value)
    fraction = tmp_path / "fraction.json"
    fraction.write_text('[{"med_list_codg": "X2", "name": "药", "kind": "drug", "list_class": "B", '
                        '"self_pay_ratio_permille": 100, "price_cap_fen": 1800.5}]', encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("core_load_catalogue", str(fraction))
    assert CatalogueItem.objects.count() == 0


def test_load_policy_examples():
    call_command("core_seed_demo")
    for name in ("policy_example_standard.json", "policy_example_account_first.json"):
        call_command("core_load_policy", f"{FIXTURES}/{name}")
        call_command("core_load_policy", f"{FIXTURES}/{name}")  # same version, same content: no-op
    assert PolicyParameters.objects.filter(version=2).count() == 3


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p["params"].update(model="cheapest"), "model"),
    (lambda p: p["params"]["deductible_fen"].pop("9"), "缺少机构等级"),
    (lambda p: p["params"]["bands"][0].update(upto_fen=None), "upto_fen"),
    (lambda p: p["params"]["bands"][-1]["ratio_permille"].update({"1": 1001}), "0-1000"),
    (lambda p: p["params"].update(annual_ceiling_fen=12.5), "annual_ceiling_fen"),
    (lambda p: p.update(effective_from="2026-02-30"), "effective_from"),
    (lambda p: p.update(region="999999"), "未登记"),
])
def test_bad_policy_file_refused(region, tmp_path, mutate, message):
    with open(f"{FIXTURES}/policy_example_standard.json", encoding="utf-8") as fh:
        policy = json.load(fh)["policies"][0]
    mutate(policy)
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy), encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        call_command("core_load_policy", str(path))
    assert PolicyParameters.objects.count() == 0


def test_policy_not_json_or_changed_version(region, tmp_path):
    path = tmp_path / "p.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="INVALID_INPUT: 政策参数文件 .* 不是合法的JSON"):
        call_command("core_load_policy", str(path))
    # A key given twice is refused, not settled silently by keeping the last one.
    path.write_text('{"region": "110100", "region": "310100"}', encoding="utf-8")
    with pytest.raises(CommandError, match="字段 region 重复出现"):
        call_command("core_load_policy", str(path))
    with open(f"{FIXTURES}/policy_example_standard.json", encoding="utf-8") as fh:
        policy = json.load(fh)["policies"][0]
    path.write_text(json.dumps(policy), encoding="utf-8")
    call_command("core_load_policy", str(path))
    policy["params"]["annual_ceiling_fen"] += 1
    path.write_text(json.dumps(policy), encoding="utf-8")
    with pytest.raises(CommandError, match="新的版本号"):
        call_command("core_load_policy", str(path))
