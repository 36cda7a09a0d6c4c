"""Cross-province filing end to end (issue #14), in the browser against a real
wallet ASGI process and the live settlement core with the demo data.

``cross_filer`` (林志远, employee 310 insured in 130100 石家庄市, 河北省) files
异地长期居住 to 440300 深圳市 on the phone (承诺制), the outbox carries the
filing to the core, and a 深圳 pharmacy's POS page settles a bill at the
long-term ratio; he then files 其他临时外出 to 510100 成都市 and a 成都
pharmacy settles the same bill 20 points lower; a 武汉 (420100) pharmacy,
where he has no filing, is refused with the core's NOT_FILED message on the
POS page; he cancels the long-term filing (a reason accepted before the
minimum period) and 深圳 refuses him too.

Hand-worked (common/demodata.py, the 130100 employee policy): at a pharmacy
(level 9) no deductible and 80 % up to 50 000 yuan a year; cross_province
long_term 0, temporary_other −200 permille; account pays the person's part.
One class-A item without a price cap and without a treatment-region term,
100.00 × 1:
- 深圳, long-term:      统筹 100.00 × 80 % = 80.00, 个人账户 20.00, 现金 0.00;
- 成都, other temporary: 统筹 100.00 × 60 % = 60.00, 个人账户 40.00, 现金 0.00;
- 武汉, unfiled: infcode 4011, 异地就医未备案….
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from common import demodata
from tests.frontend.conftest import new_phone_page
from tests.frontend.ui import (
    add_line,
    activated_person_on_code_page,
    app_url,
    by_testid,
    fill_input,
    new_pos_page,
    pos_decode,
    shown_code,
)
from tests.support.app import AppClient
from tests.support.http import LiveClient
from tests.support.pos import A_ITEMS, register

pytestmark = [pytest.mark.browser]

FILER = demodata.DEMO_PERSONAS["cross_filer"]
PIN = "258036"
DATA = demodata.generate(demodata.DEFAULT_SEED)
OVERRIDDEN = {t.med_list_codg for t in DATA.region_catalogue}
ITEM = next(c for c in A_ITEMS if c.med_list_codg not in OVERRIDDEN)


def pharmacy(region: str) -> demodata.Institution:
    return next(i for i in DATA.institutions
                if i.region == region and i.kind == "pharmacy" and i.designated and i.fixmedins_code.endswith("11"))


SHENZHEN, CHENGDU, WUHAN = pharmacy("440300"), pharmacy("510100"), pharmacy("420100")


def relay_outbox() -> None:
    """What the relay worker does (no Celery worker runs in the tests): send
    the wallet's outbox, the filing events included, to the core."""
    from settlement.services.outbox import outbox_relay

    outbox_relay()


def file_on_phone(phone: Page, base: str, type_key: str, province: str, city: str, city_label: str) -> tuple[str, str]:
    """异地就医备案 from the home page through the wizard, 承诺制; returns (id, filing_no)."""
    phone.goto(app_url(base, "wechat", "pages/home/index"))
    by_testid(phone, "entry-filing").click()
    expect(by_testid(phone, "filing-list-page")).to_be_visible()
    expect(by_testid(phone, "filing-rules-region")).to_contain_text("石家庄")
    by_testid(phone, "filing-new").click()
    by_testid(phone, f"filing-type-{type_key}").click()
    by_testid(phone, "filing-type-next").click()
    by_testid(phone, "filing-dest").click()
    expect(by_testid(phone, "filing-province-130000")).to_have_count(0)  # the insured province is not offered
    by_testid(phone, f"filing-province-{province}").click()
    by_testid(phone, f"filing-city-{city}").click()
    expect(by_testid(phone, "filing-dest-value")).to_contain_text(city_label)
    by_testid(phone, "filing-details-next").click()
    by_testid(phone, "filing-commitment-accept").click()
    by_testid(phone, "filing-basis-next").click()
    expect(by_testid(phone, "filing-review-dest")).to_contain_text(city_label)
    by_testid(phone, "filing-submit").click()
    expect(by_testid(phone, "filing-created")).to_be_visible()
    detail = by_testid(phone, "filing-detail")
    expect(detail).to_have_attribute("data-status", "active")
    expect(by_testid(phone, "filing-detail-status")).to_have_text("有效")
    expect(by_testid(phone, "filing-detail-dest")).to_have_attribute("data-admdvs", city)
    return detail.get_attribute("data-id"), by_testid(phone, "filing-detail-no").inner_text()


def show_code(phone: Page, base: str) -> str:
    phone.goto(app_url(base, "wechat", "pages/home/index"))
    by_testid(phone, "home-show-code").click()
    expect(by_testid(phone, "code-page")).to_be_visible()
    return shown_code(phone)


def pos_at(pos: Page, base: str, inst: demodata.Institution, code: str) -> None:
    """The cashier of `inst` signs in with its credentials and decodes the code."""
    register(inst)
    pos.goto(app_url(base, None, "pages-staff/pos/index"))
    pos.reload()
    fill_input(pos, "pos-code", inst.fixmedins_code)
    fill_input(pos, "pos-secret", inst.secret)
    by_testid(pos, "pos-signin").click()
    expect(by_testid(pos, "pos-sign-no")).not_to_have_text("未签到")
    expect(by_testid(pos, "pos-institution")).to_contain_text(inst.fixmedins_code)
    pos_decode(pos, code)
    expect(by_testid(pos, "pos-person-name")).to_have_text(FILER.name, timeout=15_000)
    expect(by_testid(pos, "pos-person-region")).to_have_text(FILER.insured_region)
    expect(by_testid(pos, "pos-person-balance")).to_have_text(re.compile(r"^\d+\.\d{2}$"), timeout=15_000)  # 1101 answered


def bill_and_presettle(pos: Page) -> None:
    add_line(pos, ITEM.med_list_codg, "100.00", "1")
    expect(by_testid(pos, "pos-bill-total")).to_have_text("100.00")
    by_testid(pos, "pos-presettle").click()


def settle(pos: Page, expected: dict[str, str]) -> str:
    expect(by_testid(pos, "pos-presettle-result")).to_be_visible(timeout=20_000)
    for field, value in expected.items():
        expect(by_testid(pos, f"pos-pre-{field}")).to_have_text(value)
    by_testid(pos, "pos-settle").click()
    expect(by_testid(pos, "pos-receipt")).to_be_visible(timeout=20_000)
    for field, value in expected.items():
        expect(by_testid(pos, f"pos-receipt-{field}")).to_have_text(value)
    return by_testid(pos, "pos-receipt-setl-id").inner_text()


def record_of(api: AppClient, setl_id: str) -> dict:
    record = next(r for r in api.get("/api/records").json() if api.get(f"/api/records/{r['id']}").json().get("setl_id") == setl_id)
    return api.get(f"/api/records/{record['id']}").json()


def test_long_term_and_temporary_filings_settle_at_their_ratios_and_unfiled_is_refused(
        browser, start_wallet, core_url, outbox_ids_above_earlier_tests, screenshot):
    assert FILER.insured_region == "130100" and FILER.insutype == "310"
    wallet = start_wallet()
    phone = new_phone_page(browser)
    pos = new_pos_page(browser)
    try:
        openid = activated_person_on_code_page(phone, wallet.url, FILER, PIN)
        api = AppClient(LiveClient(wallet.url), "wechat", openid).login()

        # 1. 异地长期居住 to 深圳, then a bill at a 深圳 pharmacy: the long-term ratio (80 %).
        long_id, long_no = file_on_phone(phone, wallet.url, "long_term_residence", "440000", "440300", "深圳市")
        expect(by_testid(phone, "filing-detail-validity")).to_contain_text("长期有效")
        screenshot(phone, "filing-story-long-term")
        listed = {f["id"]: f for f in api.get("/api/filings").json()}
        assert listed[long_id]["filing_no"] == long_no and listed[long_id]["status"] == "active"
        assert listed[long_id]["kind"] == "long_term" and listed[long_id]["end_date"] is None
        relay_outbox()

        pos_at(pos, wallet.url, SHENZHEN, show_code(phone, wallet.url))
        bill_and_presettle(pos)
        setl_id = settle(pos, {"medfee_sumamt": "100.00", "hifp_pay": "80.00", "acct_pay": "20.00", "psn_cash_pay": "0.00"})
        screenshot(pos, "filing-story-pos-shenzhen")
        detail = record_of(api, setl_id)
        assert detail["setlinfo"]["hifp_pay"] == "80.00", detail["setlinfo"]
        assert any(f"按异地长期居住结算（备案号{long_no}）" in line and "报销比例不作调整" in line
                   for line in detail["explanation"]), detail["explanation"]
        # The person's record names the filing used.
        phone.goto(app_url(wallet.url, "wechat", f"pages/records/detail?id={detail['id']}"))
        expect(by_testid(phone, "explanation-line").filter(has_text=f"备案号{long_no}")).to_have_count(1)
        expect(by_testid(phone, "detail-filing")).to_contain_text("异地长期居住")
        expect(by_testid(phone, "detail-filing-no")).to_have_text(long_no)

        # 2. 其他临时外出 to 成都, then the same bill at a 成都 pharmacy: 20 points lower (60 %).
        temp_id, temp_no = file_on_phone(phone, wallet.url, "temporary_other", "510000", "510100", "成都市")
        validity = by_testid(phone, "filing-detail-validity").inner_text()
        assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日至\d{4}年\d{1,2}月\d{1,2}日", validity), validity
        assert temp_no != long_no
        relay_outbox()

        pos_at(pos, wallet.url, CHENGDU, show_code(phone, wallet.url))
        bill_and_presettle(pos)
        setl_id = settle(pos, {"medfee_sumamt": "100.00", "hifp_pay": "60.00", "acct_pay": "40.00", "psn_cash_pay": "0.00"})
        screenshot(pos, "filing-story-pos-chengdu")
        detail = record_of(api, setl_id)
        assert any(f"按其他临时外出结算（备案号{temp_no}）" in line and "−20个百分点" in line
                   for line in detail["explanation"]), detail["explanation"]

        # 3. 武汉: no filing covers it; the POS page shows the core's refusal.
        pos_at(pos, wallet.url, WUHAN, show_code(phone, wallet.url))
        bill_and_presettle(pos)
        error = by_testid(pos, "pos-tx-error")
        expect(error).to_have_attribute("data-infcode", "4011", timeout=20_000)
        expect(error).to_contain_text("异地就医未备案")
        expect(error).to_contain_text("办理异地就医备案")
        expect(by_testid(pos, "pos-presettle-result")).to_have_count(0)
        screenshot(pos, "filing-story-pos-unfiled")

        # 4. He cancels the long-term filing before its minimum period: a reason
        # the region accepts early is required; once the core has the
        # cancellation, the 深圳 pharmacy is refused too.
        phone.goto(app_url(wallet.url, "wechat", f"pages-filing/detail/index?id={long_id}"))
        expect(by_testid(phone, "filing-cancel-rule")).to_contain_text("6个月")
        expect(by_testid(phone, "filing-change")).to_be_visible()
        by_testid(phone, "filing-cancel").click()
        expect(by_testid(phone, "filing-reason-hint")).to_have_text("未满规定期限，请先选择理由")
        expect(by_testid(phone, "filing-reason-other")).to_have_count(0)  # not accepted early
        by_testid(phone, "filing-reason-work_change").click()
        by_testid(phone, "filing-cancel").click()
        by_testid(phone, "confirm-ok").click()
        expect(by_testid(phone, "filing-done")).to_have_text("备案已取消")
        expect(by_testid(phone, "filing-detail-status")).to_have_text("已撤销")
        screenshot(phone, "filing-story-cancelled")
        relay_outbox()
        pos_at(pos, wallet.url, SHENZHEN, show_code(phone, wallet.url))
        bill_and_presettle(pos)
        expect(by_testid(pos, "pos-tx-error")).to_have_attribute("data-infcode", "4011", timeout=20_000)

        # My filings: the long-term one cancelled, the temporary one in force, with their validity.
        phone.goto(app_url(wallet.url, "wechat", "pages-filing/index/index"))
        for filing_id, status_text, validity_part in ((long_id, "已撤销", "长期有效"), (temp_id, "有效", "至")):
            item = phone.locator(f"[data-testid='filing-item'][data-id='{filing_id}']")
            expect(item).to_have_attribute("data-status", "cancelled" if filing_id == long_id else "active")
            expect(item.locator("[data-testid='filing-item-status']")).to_have_text(status_text)
            expect(item.locator("[data-testid='filing-item-validity']")).to_contain_text(validity_part)
        screenshot(phone, "filing-story-list")
        today = dt.date.today().isoformat()
        assert {f["begin_date"] for f in api.get("/api/filings").json()} == {today}
        for page in (phone, pos):
            assert page.js_errors == []
    finally:
        for page in (phone, pos):
            page.context.close()


def test_a_region_not_open_is_told_before_the_form(browser, start_wallet, core_url):
    """``cross_not_open`` (150100 呼和浩特市, cross_province.open false): the
    filing page says so and offers no 新增备案; the API refuses a filing."""
    person = demodata.DEMO_PERSONAS["cross_not_open"]
    wallet = start_wallet()
    phone = new_phone_page(browser)
    try:
        openid = activated_person_on_code_page(phone, wallet.url, person, PIN)
        phone.goto(app_url(wallet.url, "wechat", "pages/home/index"))
        by_testid(phone, "entry-filing").click()
        expect(by_testid(phone, "filing-rules-closed")).to_contain_text("暂未开通跨省异地就医直接结算")
        expect(by_testid(phone, "filing-new")).to_have_attribute("aria-disabled", "true")
        expect(by_testid(phone, "filing-empty")).to_be_visible()
        api = AppClient(LiveClient(wallet.url), "wechat", openid).login()
        answer = api.post("/api/filings", {"type": "temporary_other", "dest_admdvs": "440300",
                                           "begin_date": dt.date.today().isoformat(), "basis": "commitment",
                                           "commitment_accepted": True})
        assert answer.status_code == 409 and answer.json()["code"] == "FILING_REGION_NOT_OPEN", answer.text
        assert phone.js_errors == []
    finally:
        phone.context.close()
