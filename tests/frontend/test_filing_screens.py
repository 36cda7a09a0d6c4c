"""The 异地就医备案 pages against a scripted API (Playwright intercepts
/api/...), in both skins: the home entry, the six types with their help, the
province/city picker without the insured province, dates, the commitment
statement or proof, the review, the body actually sent, my filings with
status and validity, the detail, cancellation with its rule (a reason before
the minimum period, FILING_TOO_EARLY shown), a change of destination, and
refusals shown with their code and advice. The real API and the settlement
effect are test_filing_story.py's.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Page, expect

from tests.frontend.fake_wallet import FakeWallet
from tests.frontend.ui import app_url, by_testid, fill_input, sign_in

pytestmark = [pytest.mark.browser]

REGIONS = {"provinces": [
    {"code": "110000", "name": "北京市", "cities": [{"code": "110100", "name": "北京市"}]},
    {"code": "440000", "name": "广东省", "cities": [{"code": "440100", "name": "广州市"}, {"code": "440300", "name": "深圳市"}]},
    {"code": "510000", "name": "四川省", "cities": [{"code": "510100", "name": "成都市"}, {"code": "510700", "name": "绵阳市"}]},
]}
RULES = {"insured_region": "440100", "insured_region_name": "广州市", "open": True, "long_term_min_months": 6,
         "temporary_valid_months": 6, "late_filing_days": 30, "max_days_ahead": 90,
         "reminder_days": 15, "unfiled": "refuse", "same_province": "local",
         "adjust_permille": {"long_term": 0, "referral": -100, "emergency": -100, "temporary_other": -200},
         "reasons": [{"code": "returned", "name": "已回参保地", "accepted_early": True},
                     {"code": "info_error", "name": "备案信息填写有误", "accepted_early": True},
                     {"code": "other", "name": "其他原因", "accepted_early": False}],
         "commitment_text": "本人承诺所填备案信息真实（测试用承诺书）。",
         "emergency_note": "急诊抢救视同已备案。"}
NAMES = {"110100": "北京市", "440300": "广东省深圳市", "510100": "四川省成都市", "510700": "四川省绵阳市",
         "510000": "四川省"}
TYPE_NAMES = {"retired_resettled": "异地安置退休", "long_term_residence": "异地长期居住", "stationed_work": "常驻异地工作",
              "referral": "异地转诊转院", "emergency": "急诊抢救", "temporary_other": "其他临时外出"}
KINDS = {"retired_resettled": "long_term", "long_term_residence": "long_term", "stationed_work": "long_term",
         "referral": "referral", "emergency": "emergency", "temporary_other": "temporary_other"}
CANCEL_RULE_EARLY = "长期备案满6个月后方可变更或取消；未满6个月的，须说明理由，由参保地医保经办机构审核。"


@dataclass
class FakeFilingWallet(FakeWallet):
    activated: bool = True
    filings: list[dict] = field(default_factory=list)

    def _answer(self, method: str, path: str, body: dict):
        if path == "/api/account/balance":
            return 200, {"balance": "1000.00", "as_of": dt.datetime.now(dt.timezone.utc).isoformat(), "stale": False}
        if path == "/api/filings/rules":
            return 200, RULES
        if path == "/api/filings/regions":
            return 200, REGIONS
        if path == "/api/filings" and method == "GET":
            return 200, list(reversed(self.filings))
        if path == "/api/filings" and method == "POST":
            n = len(self.filings) + 1
            long_term = KINDS[body["type"]] == "long_term"
            referral = dict(body["referral"]) if body.get("referral") else None
            institutions = referral.pop("institutions", []) if referral else []
            filing = {"id": f"f{n}", "filing_no": f"BA440100{body['begin_date'].replace('-', '')}{n:08d}",
                      "type": body["type"], "type_name": TYPE_NAMES[body["type"]], "kind": KINDS[body["type"]],
                      "status": "active", "status_name": "有效", "basis": body.get("basis", "not_required"),
                      "basis_name": {"commitment": "个人承诺", "proof": "证明材料",
                                     "not_required": "无需材料"}[body.get("basis", "not_required")], "source": "app",
                      "insured_region": "440100", "dest_admdvs": body["dest_admdvs"],
                      "dest_name": NAMES[body["dest_admdvs"]], "begin_date": body["begin_date"],
                      "end_date": body.get("end_date"), "late": False, "institutions": institutions,
                      "dest_since": body["begin_date"],
                      "destinations": [{"dest_admdvs": body["dest_admdvs"], "dest_name": NAMES[body["dest_admdvs"]],
                                        "since": body["begin_date"], "until": None}],
                      "referral": referral, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                      "cancelled_at": None, "can_cancel": True, "reason_required": long_term,
                      "can_change": long_term, "change_free_from": "2027-05-27" if long_term else None,
                      "expiring": False,
                      "cancel_rule": CANCEL_RULE_EARLY if long_term else "临时备案可随时取消。"}
            self.filings.append(filing)
            return 201, filing
        match = re.fullmatch(r"/api/filings/([^/]+)(/cancel|/change)?", path)
        if match:
            filing = next((f for f in self.filings if f["id"] == match.group(1)), None)
            if filing is None:
                return 404, {"code": "FILING_NOT_FOUND", "message": "未找到该备案", "detail": {}}
            if match.group(2) and filing["reason_required"] and body.get("reason") not in ("returned", "info_error"):
                return 409, {"code": "FILING_TOO_EARLY", "message": "长期备案未满6个月，不能变更或取消", "detail": {}}
            if match.group(2) == "/cancel":
                filing.update(status="cancelled", status_name="已撤销", can_cancel=False, can_change=False,
                              cancelled_at=dt.datetime.now(dt.timezone.utc).isoformat())
            elif match.group(2) == "/change":
                today = dt.date.today()
                filing["destinations"][-1]["until"] = (today - dt.timedelta(days=1)).isoformat()
                filing["destinations"].append({"dest_admdvs": body["dest_admdvs"], "dest_name": NAMES[body["dest_admdvs"]],
                                               "since": today.isoformat(), "until": None})
                filing.update(dest_admdvs=body["dest_admdvs"], dest_name=NAMES[body["dest_admdvs"]],
                              dest_since=today.isoformat())
            return 200, copy.deepcopy(filing)
        return super()._answer(method, path, body)

    def posted(self, suffix: str) -> list[dict]:
        return [b for m, p, b in self.calls if m == "POST" and p.endswith(suffix)]


def open_filings(page: Page, base: str, wallet: FakeFilingWallet, channel: str) -> None:
    wallet.install(page)
    sign_in(page, base, channel, "demo-filer")
    entry = by_testid(page, "entry-filing")
    expect(entry).to_have_attribute("data-status", "open")
    expect(entry).to_have_attribute("role", "link")
    entry.click()
    expect(by_testid(page, "filing-list-page")).to_be_visible()
    expect(by_testid(page, "filing-rules-region")).to_contain_text("广州市")


def choose_destination(page: Page, province: str, city: str) -> None:
    by_testid(page, "filing-dest").click()
    picker = by_testid(page, "filing-region-picker")
    expect(picker).to_have_attribute("data-level", "province")
    by_testid(page, f"filing-province-{province}").click()
    expect(picker).to_have_attribute("data-level", "city")
    by_testid(page, f"filing-city-{city}").click()
    expect(picker).to_have_count(0)


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_file_long_term_with_commitment_then_cancel_by_its_rule(page, live_server, screenshot, channel):
    wallet = FakeFilingWallet()
    open_filings(page, live_server.url, wallet, channel)
    expect(by_testid(page, "filing-empty")).to_have_text("暂无备案记录")
    expect(by_testid(page, "filing-rules")).to_contain_text("备案满6个月后方可变更或取消")
    by_testid(page, "filing-new").click()

    # 1. the six types, each with its plain-language help and ratio.
    expect(by_testid(page, "filing-new-page")).to_have_attribute("data-step", "type")
    for key, name in TYPE_NAMES.items():
        expect(by_testid(page, f"filing-type-{key}")).to_contain_text(name)
        expect(by_testid(page, f"filing-type-help-{key}")).not_to_be_empty()
    expect(by_testid(page, "filing-type-help-emergency")).to_contain_text("视同已备案")
    expect(by_testid(page, "filing-type-ratio-long_term_residence")).to_have_text("报销比例与参保地相同")
    expect(by_testid(page, "filing-type-ratio-temporary_other")).to_have_text("报销比例比参保地低20个百分点")
    by_testid(page, "filing-type-next").click()
    expect(by_testid(page, "filing-hint")).to_have_text("请选择备案类型")
    by_testid(page, "filing-type-long_term_residence").click()
    expect(by_testid(page, "filing-type-long_term_residence")).to_have_attribute("aria-checked", "true")
    screenshot(page, f"filing-types-{channel}")
    by_testid(page, "filing-type-next").click()

    # 2. destination: the insured province (广东省) is not offered.
    expect(by_testid(page, "filing-new-page")).to_have_attribute("data-step", "details")
    by_testid(page, "filing-details-next").click()
    expect(by_testid(page, "filing-hint")).to_contain_text("请选择就医地")
    by_testid(page, "filing-dest").click()
    expect(by_testid(page, "filing-province-440000")).to_have_count(0)
    expect(by_testid(page, "filing-province-510000")).to_be_visible()
    by_testid(page, "filing-province-510000").click()
    expect(by_testid(page, "filing-city-510000")).to_have_text("全省（四川省内各市）")
    by_testid(page, "filing-region-back").click()
    by_testid(page, "filing-region-close").click()
    choose_destination(page, "510000", "510100")
    expect(by_testid(page, "filing-dest-value")).to_have_text("四川省 成都市")
    today = dt.date.today()
    expect(by_testid(page, "filing-begin-value")).to_have_attribute("data-date", today.isoformat())
    expect(by_testid(page, "filing-rule")).to_contain_text("备案满6个月后方可变更或取消")
    expect(by_testid(page, "filing-late-hint")).to_contain_text("30天前")
    by_testid(page, "filing-details-next").click()

    # 3. the commitment statement must be accepted.
    expect(by_testid(page, "filing-basis-commitment")).to_have_attribute("aria-checked", "true")
    expect(by_testid(page, "filing-commitment")).to_have_text(RULES["commitment_text"])
    by_testid(page, "filing-basis-next").click()
    expect(by_testid(page, "filing-hint")).to_have_text("请阅读并同意承诺书")
    by_testid(page, "filing-commitment-accept").click()
    expect(by_testid(page, "filing-commitment-accept")).to_have_attribute("aria-checked", "true")
    by_testid(page, "filing-basis-next").click()

    # 4. review, then submit.
    expect(by_testid(page, "filing-review-type")).to_have_text("异地长期居住")
    expect(by_testid(page, "filing-review-dest")).to_have_text("四川省 成都市")
    expect(by_testid(page, "filing-review-validity")).to_contain_text("长期有效")
    expect(by_testid(page, "filing-review-basis")).to_have_text("个人承诺（承诺制）")
    screenshot(page, f"filing-review-{channel}")
    by_testid(page, "filing-submit").click()
    expect(by_testid(page, "filing-created")).to_contain_text("备案成功")
    assert wallet.posted("/api/filings") == [{"type": "long_term_residence", "dest_admdvs": "510100",
                                              "begin_date": today.isoformat(), "basis": "commitment",
                                              "commitment_accepted": True}]
    idempotency = [r for r in wallet.calls if r[0] == "POST" and r[1] == "/api/filings"]
    assert len(idempotency) == 1
    expect(by_testid(page, "filing-detail-type")).to_have_text("异地长期居住")
    expect(by_testid(page, "filing-detail-status")).to_have_text("有效")
    expect(by_testid(page, "filing-detail-dest")).to_have_text("四川省成都市")
    expect(by_testid(page, "filing-detail-validity")).to_contain_text("起长期有效")
    expect(by_testid(page, "filing-detail-basis")).to_have_text("个人承诺")
    expect(by_testid(page, "filing-detail-no")).to_have_text(re.compile(r"^BA440100\d{16}$"))
    expect(by_testid(page, "filing-cancel-rule")).to_have_text(CANCEL_RULE_EARLY)
    screenshot(page, f"filing-detail-{channel}")

    # Cancelling before the minimum period: a reason is required and only
    # the reasons accepted early are offered; the server's refusal is shown
    # with its advice; then it is cancelled.
    expect(by_testid(page, "filing-reason-returned")).to_be_visible()
    expect(by_testid(page, "filing-reason-other")).to_have_count(0)
    by_testid(page, "filing-cancel").click()
    expect(by_testid(page, "filing-reason-hint")).to_have_text("未满规定期限，请先选择理由")
    expect(by_testid(page, "confirm-dialog")).to_have_count(0)
    wallet.fail("/api/filings/f1/cancel", 409, "FILING_TOO_EARLY", "长期备案未满6个月，不能变更或取消")
    by_testid(page, "filing-reason-returned").click()
    expect(by_testid(page, "filing-reason-returned")).to_have_attribute("aria-checked", "true")
    by_testid(page, "filing-cancel").click()
    expect(by_testid(page, "confirm-message")).to_contain_text("确定取消「异地长期居住」备案吗")
    by_testid(page, "confirm-ok").click()
    expect(by_testid(page, "filing-error")).to_have_attribute("data-code", "FILING_TOO_EARLY")
    expect(by_testid(page, "filing-error-message")).to_have_text("长期备案未满6个月，不能变更或取消")
    expect(by_testid(page, "filing-error-advice")).to_contain_text("理由")
    by_testid(page, "filing-cancel").click()
    by_testid(page, "confirm-ok").click()
    expect(by_testid(page, "filing-done")).to_have_text("备案已取消")
    expect(by_testid(page, "filing-detail")).to_have_attribute("data-status", "cancelled")
    expect(by_testid(page, "filing-detail-status")).to_have_text("已撤销")
    expect(by_testid(page, "filing-detail-cancelled-at")).to_be_visible()
    expect(by_testid(page, "filing-cancel")).to_have_count(0)
    assert wallet.posted("/api/filings/f1/cancel") == [{"reason": "returned"}, {"reason": "returned"}]

    # My filings: status and validity.
    by_testid(page, "filing-go-list").click()
    item = page.locator("[data-testid='filing-item'][data-id='f1']")
    expect(item).to_have_attribute("data-status", "cancelled")
    expect(item.locator("[data-testid='filing-item-status']")).to_have_text("已撤销")
    expect(item.locator("[data-testid='filing-item-validity']")).to_contain_text("长期有效")
    expect(item.locator("[data-testid='filing-item-dest']")).to_have_text("就医地：四川省成都市")
    brand = {"wechat": "rgb(7, 193, 96)", "alipay": "rgb(22, 119, 255)"}[channel]
    expect(by_testid(page, "filing-new")).to_have_css("background-color", brand)
    screenshot(page, f"filing-list-{channel}")
    assert page.js_errors == []


def test_temporary_with_proof_referral_details_and_change(page, live_server, screenshot):
    wallet = FakeFilingWallet()
    open_filings(page, live_server.url, wallet, "wechat")
    by_testid(page, "filing-new").click()
    by_testid(page, "filing-type-referral").click()
    by_testid(page, "filing-type-next").click()
    choose_destination(page, "510000", "510700")
    today = dt.date.today()
    end = by_testid(page, "filing-end-value")
    expected_end = end.get_attribute("data-date")
    assert expected_end and expected_end > today.isoformat()
    expect(by_testid(page, "filing-referral")).to_be_visible()
    by_testid(page, "filing-details-next").click()
    expect(by_testid(page, "filing-hint")).to_have_text("请填写转出医院名称")
    fill_input(page, "filing-ref-medins-name", "广州市第一人民医院")
    by_testid(page, "filing-details-next").click()
    expect(by_testid(page, "filing-hint")).to_contain_text("机构编码")
    fill_input(page, "filing-ref-medins-no", "H44010000001")
    fill_input(page, "filing-ref-diag-code", "J18-900")
    by_testid(page, "filing-details-next").click()
    expect(by_testid(page, "filing-hint")).to_contain_text("诊断编码格式不正确")
    fill_input(page, "filing-ref-diag-code", "j18.900")
    fill_input(page, "filing-ref-diag-name", "肺炎")
    fill_input(page, "filing-ref-institutions", "H510700001")
    by_testid(page, "filing-details-next").click()

    by_testid(page, "filing-basis-proof").click()
    by_testid(page, "filing-basis-next").click()
    expect(by_testid(page, "filing-hint")).to_have_text("请选择证明材料类型")
    by_testid(page, "filing-doc-referral_certificate").click()
    fill_input(page, "filing-doc-no", "ZZ2026001")
    by_testid(page, "filing-basis-next").click()
    expect(by_testid(page, "filing-review-basis")).to_have_text("转诊转院单 ZZ2026001")
    expect(by_testid(page, "filing-review-referral")).to_contain_text("J18.900 肺炎")

    # A refusal is shown with its code and advice; 返回修改 goes back to the form.
    wallet.fail("/api/filings", 400, "FILING_DIAGNOSIS_INVALID", "诊断编码不符合疾病分类编码规则")
    by_testid(page, "filing-submit").click()
    expect(by_testid(page, "filing-error")).to_have_attribute("data-code", "FILING_DIAGNOSIS_INVALID")
    expect(by_testid(page, "filing-error-advice")).to_contain_text("J18.900")
    by_testid(page, "filing-error-action").click()
    expect(by_testid(page, "filing-new-page")).to_have_attribute("data-step", "details")
    by_testid(page, "filing-details-next").click()
    by_testid(page, "filing-basis-next").click()
    by_testid(page, "filing-submit").click()
    expect(by_testid(page, "filing-created")).to_be_visible()
    sent = wallet.posted("/api/filings")
    assert len(sent) == 2 and sent[0] == sent[1]
    keys = [r for r in wallet.calls if r[1] == "/api/filings" and r[0] == "POST"]
    assert len(keys) == 2
    assert sent[1] == {"type": "referral", "dest_admdvs": "510700", "begin_date": today.isoformat(),
                       "end_date": expected_end, "basis": "proof",
                       "proof": {"doc_type": "referral_certificate", "doc_no": "ZZ2026001"},
                       "referral": {"reflin_medins_no": "H44010000001", "reflin_medins_name": "广州市第一人民医院",
                                    "diag_code": "J18.900", "diag_name": "肺炎", "dise_cond_dscr": "",
                                    "institutions": ["H510700001"]}}
    expect(by_testid(page, "filing-detail-validity")).to_contain_text("至")
    expect(by_testid(page, "filing-detail-institutions")).to_have_text(re.compile("H510700001"))
    expect(by_testid(page, "filing-change")).to_have_count(0)  # only a long-term filing changes destination
    screenshot(page, "filing-detail-referral")
    assert page.js_errors == []


def test_change_destination_of_a_long_term_filing(page, live_server):
    wallet = FakeFilingWallet()
    wallet.filings.append({"id": "f9", "filing_no": "BA4401002026010100000009", "type": "stationed_work",
                           "type_name": "常驻异地工作", "kind": "long_term", "status": "active", "status_name": "有效",
                           "basis": "proof", "basis_name": "证明材料", "source": "app", "insured_region": "440100",
                           "dest_admdvs": "510100", "dest_name": "四川省成都市", "begin_date": "2026-01-01",
                           "end_date": None, "late": False, "institutions": [], "referral": None,
                           "dest_since": "2026-01-01",
                           "destinations": [{"dest_admdvs": "510100", "dest_name": "四川省成都市", "since": "2026-01-01",
                                             "until": None}],
                           "created_at": "2026-01-01T02:00:00Z", "cancelled_at": None, "can_cancel": True,
                           "reason_required": False, "can_change": True, "change_free_from": "2026-07-01",
                           "expiring": False, "cancel_rule": "已满6个月，可随时变更或取消。"})
    wallet.filings.append({**copy.deepcopy(wallet.filings[0]), "id": "f10", "type": "referral", "type_name": "异地转诊转院",
                           "kind": "referral", "end_date": "2026-12-31", "expiring": True, "source": "hospital",
                           "can_change": False})
    open_filings(page, live_server.url, wallet, "alipay")
    referral = page.locator("[data-testid='filing-item'][data-id='f10']")
    expect(referral.locator("[data-testid='filing-item-expiring']")).to_contain_text("即将到期")
    expect(referral.locator("[data-testid='filing-item-source']")).to_have_text("由转出医院办理")
    expect(page.locator("[data-testid='filing-item'][data-id='f9'] [data-testid='filing-item-expiring']")).to_have_count(0)
    page.locator("[data-testid='filing-item'][data-id='f9']").click()
    expect(by_testid(page, "filing-cancel-rule")).to_have_text("已满6个月，可随时变更或取消。")
    expect(by_testid(page, "filing-reason-other")).to_be_visible()  # optional now: every reason offered
    by_testid(page, "filing-change").click()
    expect(by_testid(page, "filing-province-440000")).to_have_count(0)
    by_testid(page, "filing-province-110000").click()  # a municipality: picked at once
    expect(by_testid(page, "confirm-message")).to_contain_text("变更为北京市")
    by_testid(page, "confirm-ok").click()
    expect(by_testid(page, "filing-done")).to_have_text("就医地已变更")
    expect(by_testid(page, "filing-detail-dest")).to_have_text("北京市")
    history = by_testid(page, "filing-detail-destination")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("四川省成都市：2026年1月1日至")
    expect(history.nth(1)).to_contain_text("北京市：")
    assert wallet.posted("/api/filings/f9/change") == [{"dest_admdvs": "110100"}]

    # Someone else's filing (or none): the refusal with its way back.
    page.goto(app_url(live_server.url, "alipay", "pages-filing/detail/index?id=nope"))
    expect(by_testid(page, "filing-detail-error")).to_be_visible()
    expect(by_testid(page, "error-panel")).to_have_attribute("data-code", "FILING_NOT_FOUND")
    assert page.js_errors == []


def test_emergency_needs_no_commitment_or_proof(page, live_server):
    wallet = FakeFilingWallet()
    open_filings(page, live_server.url, wallet, "wechat")
    by_testid(page, "filing-new").click()
    by_testid(page, "filing-type-emergency").click()
    by_testid(page, "filing-type-next").click()
    choose_destination(page, "510000", "510100")
    end = by_testid(page, "filing-end-value").get_attribute("data-date")
    by_testid(page, "filing-details-next").click()
    expect(by_testid(page, "filing-basis-not_required")).to_have_attribute("aria-checked", "true")
    expect(by_testid(page, "filing-basis-not_required")).to_contain_text(RULES["emergency_note"])
    expect(by_testid(page, "filing-commitment")).to_have_count(0)
    by_testid(page, "filing-basis-next").click()
    expect(by_testid(page, "filing-review-basis")).to_have_text("无需材料")
    by_testid(page, "filing-submit").click()
    expect(by_testid(page, "filing-created")).to_be_visible()
    assert wallet.posted("/api/filings") == [{"type": "emergency", "dest_admdvs": "510100",
                                              "begin_date": dt.date.today().isoformat(), "end_date": end}]
    expect(by_testid(page, "filing-detail-basis")).to_have_text("无需材料")
    assert page.js_errors == []
