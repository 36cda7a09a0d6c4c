"""Family mutual aid (家庭共济) at the core, through the envelope: the wallet's
events (9201) set the core's own authorisation state; 2102 pays the
relative's bill from their own account first, then the payer's account or
set-aside amount (acct_mulaid_pay, in the same posting), then cash; caps,
excluded items, revoked / stale authorisations, reversal, 3201/3202, the
set-aside amount (9403), and the authorisation ending with an enrolment
change.

The family (built through the core's services):
  payer 张伟 — employee 310 in 320100 南京 (江苏), 1 000.00 yuan;
  child 张小宝 — resident 390 in 320100, 30.00 yuan of his own (the region's
    resident policy lets the account pay), on the payer's household register;
  father 张老汉 — resident 390 in 320200 无锡 (same province), no balance; a
    civil parent-child relation with the payer;
  wife 李娜 — employee 310 in 440100 广州 (another province: set-aside only);
  brother 张强 — resident in 320100, sharing the father: a sibling, which the
    payer's region (relations spouse/parent/child) does not allow.
At a level-9 pharmacy residents get 50 %, employees 70 %, no deductible.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal as D

import pytest
from django.db.models import Sum
from django.utils import timezone

from common import idnumber
from common.envelope import InfCode
from core_platform.models import (
    AnnualAccumulator,
    Entry,
    LedgerAccount,
    MutualAidAuth,
    RegistryChange,
    ResidentContribution,
    Settlement,
)
from core_platform.selectors import ledger_discrepancies, personal_account_figures, personal_balance_fen
from core_platform.services.catalogue import catalogue_load
from core_platform.services.ledger import personal_account_credit
from core_platform.services.mutual_aid import set_aside_hold
from core_platform.services.policy import policy_load
from core_platform.services.registry import institution_register, person_enrol, person_status_set, region_register
from core_platform.services.relations import household_register, relation_register
from tests.core_platform.signing import call, envelope

pytestmark = pytest.mark.django_db(databases=["default", "core"])

PHARMACY = "P32010000001"
PHARMACY_GZ = "P44010000001"


def _levels(nine: int) -> dict:
    return {"1": 900, "2": 850, "3": 800, "9": nine}


def _policy(nine: int, **extra) -> dict:
    return {"model": "standard", "deductible_fen": {"1": 30000, "2": 60000, "3": 90000, "9": 0},
            "bands": [{"upto_fen": None, "ratio_permille": _levels(nine)}], "annual_ceiling_fen": 40000000,
            "account_may_pay_self_part": True, **extra}


def _enrol(name, region, born, seq, insutype, balance_fen=0, **kw):
    person, _ = person_enrol(name=name, id_number=idnumber.make(region, born, seq), insutype=insutype, region=region,
                             **kw)
    if balance_fen:
        personal_account_credit(person.psn_no, balance_fen, f"opening-{person.psn_no}")
    return person


@pytest.fixture
def family():
    region_register("320100", "南京市", "江苏省")
    region_register("320200", "无锡市", "江苏省")
    region_register("440100", "广州市", "广东省")
    payer = _enrol("张伟", "320100", dt.date(1986, 5, 20), 11, "310", 100_000, employer="南京恒信科技有限公司",
                   psn_type="11")
    child = _enrol("张小宝", "320100", dt.date(2016, 1, 1), 13, "390", 3_000)
    father = _enrol("张老汉", "320200", dt.date(1956, 1, 1), 15, "390")
    wife = _enrol("李娜", "440100", dt.date(1988, 3, 14), 12, "310", employer="广州华联商贸有限公司", psn_type="11")
    brother = _enrol("张强", "320100", dt.date(1990, 7, 7), 17, "390")
    household_register("320100HT001", "320100", [(payer.psn_no, "head"), (child.psn_no, "child")])
    relation_register("parent_child", father.psn_no, payer.psn_no)
    relation_register("parent_child", father.psn_no, brother.psn_no)
    relation_register("spouse", payer.psn_no, wife.psn_no)
    institution_register(code=PHARMACY, name="南京老百姓大药房", kind="pharmacy", level="9", region="320100")
    institution_register(code=PHARMACY_GZ, name="广州益丰大药房", kind="pharmacy", level="9", region="440100")
    catalogue_load([
        {"med_list_codg": "XA0001", "name": "阿莫西林胶囊", "kind": "drug", "list_class": "A", "unit": "盒"},
        {"med_list_codg": "XH0001", "name": "复合维生素片（保健食品）", "kind": "drug", "list_class": "C",
         "unit": "瓶", "mulaid_excluded": "1"},
    ])
    mutual_aid = {"relations": ["spouse", "parent", "child"], "in_province_mode": "direct"}
    policy_load([
        {"region": "320100", "insutype": "310", "version": 1, "effective_from": "2020-01-01",
         "params": _policy(700, mutual_aid=mutual_aid)},
        {"region": "320100", "insutype": "390", "version": 1, "effective_from": "2020-01-01", "params": _policy(500)},
        {"region": "320200", "insutype": "390", "version": 1, "effective_from": "2020-01-01", "params": _policy(500)},
        {"region": "440100", "insutype": "310", "version": 1, "effective_from": "2020-01-01", "params": _policy(700)},
    ])
    return {"payer": payer, "child": child, "father": father, "wife": wife, "brother": brother}


def send(client, infno, input_, msgid=None, fixmedins_code=PHARMACY):
    return call(client, envelope(infno, input_, msgid=msgid, fixmedins_code=fixmedins_code))


_SEQUENCE = {"n": 0}


def event(client, person_key, kind, payload):
    """One wallet event through 9201, as the outbox sends it."""
    _SEQUENCE["n"] += 1
    answer = send(client, "9201", {"events": [{"message_id": str(uuid.uuid4()), "person_key": person_key,
                                               "sequence": int(timezone.now().timestamp() * 1000) + _SEQUENCE["n"],
                                               "kind": kind, "payload": payload}]}, fixmedins_code="YIBAO-WALLET")
    assert answer["infcode"] == 0, answer
    return answer["output"]["results"][0]


def authorise(client, payer, relative, relation, *, auth_id="MA1", version=1, mode="direct", annual_cap_fen=None,
              bill_cap_fen=None):
    result = event(client, payer.psn_no, "mulaid.authorized", {
        "auth_id": auth_id, "version": version, "payer_psn_no": payer.psn_no, "rel_psn_no": relative.psn_no,
        "relation": relation, "mode": mode, "annual_cap_fen": annual_cap_fen, "bill_cap_fen": bill_cap_fen})
    assert result["result"] == "applied", result
    return auth_id


def bill(person, items, *, auth=None, version=1, insutype="390"):
    """items: (code, pric yuan str, cnt str)"""
    rows, total = [], D(0)
    for n, (code, pric, cnt) in enumerate(items, 1):
        amount = (D(pric) * D(cnt)).quantize(D("0.01"))
        total += amount
        rows.append({"feedetl_sn": str(n), "med_list_codg": code, "det_item_fee_sumamt": str(amount), "cnt": cnt,
                     "pric": pric})
    info = {"psn_no": person.psn_no, "mdtrt_cert_type": "99", "mdtrt_cert_no": person.psn_no,
            "medfee_sumamt": str(total), "insutype": insutype, "acct_used_flag": "1", "med_type": "41"}
    if auth:
        info.update({"mulaid_auth_id": auth, "mulaid_auth_version": version})
    return {"druginfo": info, "drugdetail": rows}


def parts(answer) -> tuple:
    info = answer["output"]["setlinfo"]
    return tuple(info[f] for f in ("fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"))


def settle(client, body, **kw):
    answer = send(client, "2102", body, **kw)
    assert answer["infcode"] == 0, answer
    return answer


def test_own_account_covers_all_no_mutual_aid_used(client, family):
    authorise(client, family["payer"], family["child"], "child")
    answer = settle(client, bill(family["child"], [("XA0001", "40.00", "1")], auth="MA1"))
    assert parts(answer) == (D("20.00"), D("20.00"), D("0.00"), D("0.00"))
    info = answer["output"]["setlinfo"]
    assert info["mulaid_payer_psn_no"] == "" and info["balc"] == D("10.00")
    assert personal_balance_fen(family["payer"].psn_no) == 100_000
    assert Settlement.objects.get().mulaid_payer_psn_no == ""


def test_own_account_partly_then_the_payer_pays_the_rest_in_the_same_posting(client, family):
    payer, child = family["payer"], family["child"]
    authorise(client, payer, child, "child")
    answer = settle(client, bill(child, [("XA0001", "200.00", "1")], auth="MA1"))
    # fund 50 % = 100.00; the child's 100.00: own account 30.00, then the father's account 70.00
    assert parts(answer) == (D("100.00"), D("30.00"), D("70.00"), D("0.00"))
    info = answer["output"]["setlinfo"]
    assert info["mulaid_payer_psn_no"] == payer.psn_no and info["mulaid_payer_balc"] == D("930.00")
    assert info["mulaid_mode"] == "direct" and info["mulaid_annual_left"] == ""
    assert any("共济账户支付70.00元" in line for line in answer["output"]["explanation"])
    assert (personal_balance_fen(child.psn_no), personal_balance_fen(payer.psn_no)) == (0, 93_000)
    settlement = Settlement.objects.get()
    assert (settlement.mulaid_fen, settlement.mulaid_payer_psn_no, settlement.mulaid_auth_id) == (7000, payer.psn_no,
                                                                                                  "MA1")
    lines = {(e.account.kind, e.account.owner): e.amount_fen for e in settlement.posting.entries.select_related("account")}
    assert lines[("personal", payer.psn_no)] == -7000 and lines[("personal", child.psn_no)] == -3000
    assert sum(lines.values()) == 0 and ledger_discrepancies() == []


def test_bill_cap_and_annual_cap_and_reversal_gives_the_annual_use_back(client, family):
    payer, child = family["payer"], family["child"]
    authorise(client, payer, child, "child", annual_cap_fen=10_000, bill_cap_fen=8_000)
    first = settle(client, bill(child, [("XA0001", "200.00", "1")], auth="MA1"))
    assert parts(first) == (D("100.00"), D("30.00"), D("70.00"), D("0.00"))
    assert first["output"]["setlinfo"]["mulaid_annual_left"] == D("30.00")
    # the child's account is empty now: 100.00 to pay, capped by the 30.00 left of the annual cap
    second = settle(client, bill(child, [("XA0001", "200.00", "1")], auth="MA1"))
    assert parts(second) == (D("100.00"), D("0.00"), D("30.00"), D("70.00"))
    assert second["output"]["setlinfo"]["mulaid_annual_left"] == D("0.00")
    assert any("年度共济限额剩余30.00元" in line for line in second["output"]["explanation"])
    # reversing the first bill gives back 70.00 of the annual cap: the next bill is capped per bill (80.00)
    reversed_ = send(client, "2103", {"data": {"setl_id": first["output"]["setlinfo"]["setl_id"]}})
    assert reversed_["infcode"] == 0 and reversed_["output"]["setlinfo"]["acct_mulaid_pay"] == D("-70.00")
    third = settle(client, bill(child, [("XA0001", "400.00", "1")], auth="MA1"))
    assert parts(third) == (D("200.00"), D("30.00"), D("70.00"), D("100.00"))
    fourth = settle(client, bill(child, [("XA0001", "400.00", "1")], auth="MA1"))
    assert parts(fourth) == (D("200.00"), D("0.00"), D("0.00"), D("200.00"))  # annual cap used up again
    assert personal_balance_fen(payer.psn_no) == 100_000 - 3_000 - 7_000
    assert ledger_discrepancies() == []


def test_excluded_item_is_never_paid_by_the_payer(client, family):
    payer, child = family["payer"], family["child"]
    authorise(client, payer, child, "child")
    answer = settle(client, bill(child, [("XA0001", "40.00", "1"), ("XH0001", "50.00", "1")], auth="MA1"))
    # fund 20.00; the child's 70.00 = 20.00 (drug) + 50.00 (health product, excluded). Own account 30.00 pays
    # the excluded item first; its other 20.00 is cash; the payer pays only the drug's 20.00.
    assert parts(answer) == (D("20.00"), D("30.00"), D("20.00"), D("20.00"))
    rows = {r["feedetl_sn"]: r["mulaid_excluded"] for r in answer["output"]["detlcutinfo"]}
    assert rows == {"1": "0", "2": "1"}
    assert personal_balance_fen(payer.psn_no) == 98_000


def test_cross_province_uses_only_the_set_aside_amount_until_exhausted(client, family):
    payer, wife = family["payer"], family["wife"]
    authorise(client, payer, wife, "spouse", mode="set_aside")
    too_much = send(client, "9403", {"data": {"auth_id": "MA1", "payer_psn_no": payer.psn_no,
                                              "rel_psn_no": wife.psn_no, "amount": "1000.01"}})
    assert too_much["infcode"] == InfCode.INPUT_INVALID and "1000.00" in too_much["err_msg"]
    answer = send(client, "9403", {"data": {"auth_id": "MA1", "payer_psn_no": payer.psn_no,
                                            "rel_psn_no": wife.psn_no, "amount": "50.00"}})
    assert answer["infcode"] == 0, answer
    assert answer["output"]["mulaid"] == {"auth_id": "MA1", "payer_psn_no": payer.psn_no, "rel_psn_no": wife.psn_no,
                                          "set_aside": D("50.00"), "payer_balc": D("950.00")}
    # the set-aside amount is a hold on the payer's account (no deadline): held, not spendable
    assert set_aside_hold(payer.psn_no, wife.psn_no).amount_fen == 5_000
    assert personal_account_figures(payer.psn_no) == {"balance_fen": 100_000, "held_fen": 5_000,
                                                      "available_fen": 95_000}
    body = bill(wife, [("XA0001", "200.00", "1")], auth="MA1", insutype="310")
    first = settle(client, body, fixmedins_code=PHARMACY_GZ)
    # 70 %: fund 140.00, her 60.00: own account 0, the set-aside 50.00, cash 10.00
    assert parts(first) == (D("140.00"), D("0.00"), D("50.00"), D("10.00"))
    assert first["output"]["setlinfo"]["mulaid_mode"] == "set_aside"
    second = settle(client, body, fixmedins_code=PHARMACY_GZ)
    assert parts(second) == (D("140.00"), D("0.00"), D("0.00"), D("60.00"))  # exhausted: the account is not used
    assert set_aside_hold(payer.psn_no, wife.psn_no) is None  # posted for 50.00: nothing left to hold
    assert personal_account_figures(payer.psn_no) == {"balance_fen": 95_000, "held_fen": 0, "available_fen": 95_000}
    assert ledger_discrepancies() == []


def test_revoked_or_stale_or_unknown_authorisation_is_refused_and_nothing_posted(client, family):
    payer, child = family["payer"], family["child"]
    authorise(client, payer, child, "child", version=1)
    body = bill(child, [("XA0001", "200.00", "1")], auth="MA1", version=1)
    # a change (new caps, version 2): the wallet's version-1 view is stale
    authorise(client, payer, child, "child", version=2, bill_cap_fen=1_000)
    stale = send(client, "2102", body)
    assert stale["infcode"] == InfCode.MULAID_REVOKED and stale["err_msg"] == "家庭共济授权已撤销或已变更，本次不能使用共济支付"
    # an older version arriving late changes nothing
    assert authorise(client, payer, child, "child", version=1) and MutualAidAuth.objects.get().bill_cap_fen == 1_000
    ok = settle(client, bill(child, [("XA0001", "200.00", "1")], auth="MA1", version=2))
    assert parts(ok)[2] == D("10.00")
    assert event(client, payer.psn_no, "mulaid.revoked", {"auth_id": "MA1", "version": 3})["result"] == "applied"
    for version in (2, 3):
        revoked = send(client, "2102", bill(child, [("XA0001", "200.00", "1")], auth="MA1", version=version))
        assert revoked["infcode"] == InfCode.MULAID_REVOKED, revoked
    unknown = send(client, "2102", bill(child, [("XA0001", "200.00", "1")], auth="NOPE", version=1))
    assert unknown["infcode"] == InfCode.MULAID_REVOKED and "未查到" in unknown["err_msg"]
    pre = send(client, "2101", bill(child, [("XA0001", "200.00", "1")], auth="MA1", version=3))
    assert pre["infcode"] == InfCode.MULAID_REVOKED
    assert Settlement.objects.count() == 1 and personal_balance_fen(payer.psn_no) == 99_000
    # without the fields there is no mutual aid: the bill is settled, the rest is cash
    cash = settle(client, bill(child, [("XA0001", "200.00", "1")]))
    assert parts(cash) == (D("100.00"), D("0.00"), D("0.00"), D("100.00"))


def test_relation_rules_of_the_payers_region_and_the_registry(client, family):
    payer = family["payer"]
    # a sibling (shared parent: verified) — but 320100 allows only spouse, parent, child
    authorise(client, payer, family["brother"], "sibling", auth_id="SIB")
    refused = send(client, "2102", bill(family["brother"], [("XA0001", "200.00", "1")], auth="SIB"))
    assert refused["infcode"] == InfCode.MULAID_NOT_ALLOWED and "兄弟姐妹" in refused["err_msg"]
    # claimed as a child: not what the registry says
    authorise(client, payer, family["brother"], "child", auth_id="FAKE")
    refused = send(client, "2102", bill(family["brother"], [("XA0001", "200.00", "1")], auth="FAKE"))
    assert refused["infcode"] == InfCode.MULAID_NOT_ALLOWED and "核实" in refused["err_msg"]
    # someone else's authorisation
    authorise(client, payer, family["child"], "child", auth_id="KID")
    refused = send(client, "2102", bill(family["brother"], [("XA0001", "200.00", "1")], auth="KID"))
    assert refused["infcode"] == InfCode.MULAID_NOT_ALLOWED and "不是本次结算人员" in refused["err_msg"]
    # the father, insured in another region of the province: direct use of the account
    authorise(client, payer, family["father"], "parent", auth_id="DAD")
    answer = settle(client, bill(family["father"], [("XA0001", "100.00", "1")], auth="DAD"))
    assert parts(answer) == (D("50.00"), D("0.00"), D("50.00"), D("0.00"))
    assert Settlement.objects.count() == 1


def test_enrolment_change_ends_the_authorisation_and_returns_the_set_aside(client, family):
    payer, wife = family["payer"], family["wife"]
    authorise(client, payer, wife, "spouse", mode="set_aside")
    assert send(client, "9403", {"data": {"auth_id": "MA1", "payer_psn_no": payer.psn_no,
                                          "rel_psn_no": wife.psn_no, "amount": "200.00"}})["infcode"] == 0
    assert personal_balance_fen(payer.psn_no) == 80_000
    person_status_set(wife.psn_no, "suspended")
    auth = MutualAidAuth.objects.get()
    assert auth.status == "ended" and "暂停参保" in auth.ended_reason
    assert personal_balance_fen(payer.psn_no) == 100_000
    assert set_aside_hold(payer.psn_no, wife.psn_no) is None and personal_account_figures(payer.psn_no)["held_fen"] == 0
    change = RegistryChange.objects.get(kind="mulaid_ended")
    assert change.psn_no == payer.psn_no and change.data["auth_id"] == "MA1" and change.data["returned"] == "200.00"
    # a set-aside for an ended authorisation is refused; the ended one is never used again
    again = send(client, "9403", {"data": {"auth_id": "MA1", "payer_psn_no": payer.psn_no,
                                           "rel_psn_no": wife.psn_no, "amount": "10.00"}})
    assert again["infcode"] == InfCode.MULAID_REVOKED
    assert ledger_discrepancies() == []


def test_revocation_returns_the_set_aside_and_a_later_reversal_returns_it_too(client, family):
    payer, wife = family["payer"], family["wife"]
    authorise(client, payer, wife, "spouse", mode="set_aside")
    send(client, "9403", {"data": {"auth_id": "MA1", "payer_psn_no": payer.psn_no, "rel_psn_no": wife.psn_no,
                                   "amount": "100.00"}})
    paid = settle(client, bill(wife, [("XA0001", "200.00", "1")], auth="MA1", insutype="310"),
                  fixmedins_code=PHARMACY_GZ)
    assert parts(paid)[2] == D("60.00")
    event(client, payer.psn_no, "mulaid.revoked", {"auth_id": "MA1", "version": 2})
    assert personal_balance_fen(payer.psn_no) == 94_000  # the 40.00 left came back
    reversed_ = send(client, "2103", {"data": {"setl_id": paid["output"]["setlinfo"]["setl_id"]}},
                     fixmedins_code=PHARMACY_GZ)
    assert reversed_["infcode"] == 0, reversed_
    assert personal_balance_fen(payer.psn_no) == 100_000  # and the 60.00 the reversal put back, at once
    assert set_aside_hold(payer.psn_no, wife.psn_no) is None and personal_account_figures(payer.psn_no)["held_fen"] == 0
    assert ledger_discrepancies() == []


def test_binding_ended_ends_the_authorisation(client, family):
    payer, child = family["payer"], family["child"]
    event(client, payer.psn_no, "family.binding_added", {"binding_id": "B1", "binder_psn_no": payer.psn_no,
                                                         "rel_psn_no": child.psn_no, "relation": "child",
                                                         "relation_check": "verified"})
    authorise(client, payer, child, "child")
    event(client, payer.psn_no, "family.binding_ended", {"binding_id": "B1"})
    assert MutualAidAuth.objects.get().status == "ended"
    refused = send(client, "2102", bill(child, [("XA0001", "200.00", "1")], auth="MA1"))
    assert refused["infcode"] == InfCode.MULAID_REVOKED
    bad = event(client, payer.psn_no, "mulaid.authorized", {"auth_id": "X", "version": 1})
    assert bad["result"] == "error" and "payer_psn_no" in bad["error"]


def test_reconciliation_carries_acct_mulaid_pay(client, family):
    payer, child = family["payer"], family["child"]
    authorise(client, payer, child, "child")
    paid = settle(client, bill(child, [("XA0001", "200.00", "1")], auth="MA1"))
    setl_id = paid["output"]["setlinfo"]["setl_id"]
    today = timezone.localdate().isoformat()
    totals = send(client, "3201", {"data": {"setl_date": today}})
    assert totals["output"]["stmtinfo"][0]["acct_mulaid_pay"] == D("70.00")
    details = send(client, "3202", {"data": {"setl_date": today}})
    row = details["output"]["stmtdetail"][0]
    assert row["acct_mulaid_pay"] == D("70.00") and row["mulaid_payer_psn_no"] == payer.psn_no
    national = {"stmt_begndate": today, "stmt_enddate": today, "medfee_sumamt": "200.00", "fund_pay_sumamt": "100.00",
                "acct_pay": "30.00", "fixmedins_setl_cnt": 1}
    agreed = send(client, "3201", {"data": {**national, "acct_mulaid_pay": "70.00"}})
    assert agreed["output"]["stmtinfo"]["stmt_rslt"] == "0", agreed
    differs = send(client, "3201", {"data": {**national, "acct_mulaid_pay": "0.00"}})
    assert differs["output"]["stmtinfo"]["stmt_rslt"] == "1" and "个人账户共济支付" in differs["output"]["stmtinfo"][
        "stmt_rslt_dscr"]
    detail = send(client, "3202", {"data": {**national, "cash_payamt": "0.00", "detail": [
        {"setl_id": setl_id, "medfee_sumamt": "200.00", "fund_pay_sumamt": "100.00", "acct_pay": "30.00",
         "acct_mulaid_pay": "70.00", "refd_setl_flag": "0"}]}})
    assert detail["output"]["filedata"][0]["stmt_rslt"] == "0" and detail["output"]["filedata"][0][
        "acct_mulaid_pay"] == D("70.00")


# --- 9404 / 9405 resident contribution --------------------------------------------------------


def test_contribution_is_idempotent_by_msgid_and_reversible_the_same_day(client, family):
    payer, child = family["payer"], family["child"]
    year = str(timezone.localdate().year)
    body = {"data": {"payer_psn_no": payer.psn_no, "psn_no": child.psn_no, "year": year, "amount": "380.00"}}
    first = send(client, "9404", body, msgid="CLCT0001")
    assert first["infcode"] == 0, first
    contribution = first["output"]["contribution"]
    assert contribution["status"] == "paid" and contribution["payer_balc"] == D("620.00")
    assert send(client, "9404", body, msgid="CLCT0001") == first  # replay: the first answer, posted once
    assert ResidentContribution.objects.count() == 1 and personal_balance_fen(payer.psn_no) == 62_000
    fund = LedgerAccount.objects.get(kind="pooled_fund", owner="320100-390")
    assert Entry.objects.filter(account=fund).aggregate(s=Sum("amount_fen"))["s"] == 38_000
    twice = send(client, "9404", body, msgid="CLCT0002")
    assert twice["infcode"] == InfCode.INPUT_INVALID and "已代缴" in twice["err_msg"]
    reversed_ = send(client, "9405", {"data": {"clct_id": contribution["clct_id"]}})
    assert reversed_["infcode"] == 0 and reversed_["output"]["contribution"]["status"] == "reversed"
    assert reversed_["output"]["contribution"]["payer_balc"] == D("1000.00")
    again = send(client, "9405", {"data": {"clct_id": contribution["clct_id"]}})
    assert again["infcode"] == InfCode.ALREADY_REVERSED
    # paid again after the reversal, then a day passes: no longer reversible
    paid = send(client, "9404", body, msgid="CLCT0003")
    assert paid["infcode"] == 0
    ResidentContribution.objects.filter(clct_id=paid["output"]["contribution"]["clct_id"]).update(
        paid_on=timezone.localdate() - dt.timedelta(days=1))
    late = send(client, "9405", {"data": {"clct_id": paid["output"]["contribution"]["clct_id"]}})
    assert late["infcode"] == InfCode.CONTRIBUTION_NOT_REVERSIBLE and late["err_msg"] == "代缴城乡居民医保只能在缴费当日撤销"
    assert ledger_discrepancies() == []


def test_contribution_refusals(client, family):
    payer = family["payer"]
    year = str(timezone.localdate().year)

    def pay(psn_no, amount="380.00", who=None, y=year):
        return send(client, "9404", {"data": {"payer_psn_no": (who or payer).psn_no, "psn_no": psn_no, "year": y,
                                              "amount": amount}})

    assert pay(family["wife"].psn_no)["infcode"] == InfCode.MULAID_NOT_ALLOWED  # an employee: not a resident
    sibling = pay(family["brother"].psn_no)
    assert sibling["infcode"] == InfCode.MULAID_NOT_ALLOWED and "兄弟姐妹" in sibling["err_msg"]
    assert pay(family["father"].psn_no, who=family["child"])["infcode"] == InfCode.MULAID_NOT_ALLOWED  # a resident payer
    assert pay(family["father"].psn_no, amount="1000.01")["infcode"] == InfCode.INPUT_INVALID  # above the balance
    assert pay(family["father"].psn_no, y="２０２６")["infcode"] == InfCode.INPUT_INVALID
    assert pay(family["father"].psn_no, y="1999")["infcode"] == InfCode.INPUT_INVALID
    assert pay(family["father"].psn_no, amount="-1.00")["infcode"] == InfCode.INPUT_INVALID
    assert pay(payer.psn_no)["infcode"] == InfCode.INPUT_INVALID
    ok = pay(family["father"].psn_no)  # the father, another region of the province
    assert ok["infcode"] == 0 and personal_balance_fen(payer.psn_no) == 62_000
    assert ResidentContribution.objects.count() == 1 and AnnualAccumulator.objects.count() == 0
