"""Issue #13's whole story in the browser, in both skins, against a real wallet
ASGI process and the live settlement core (no scripted API):

a parent (employee, 310) binds their child (under 16: guardian commitment with
the household-register number, no face) and their own elderly father (16+:
the father's liveness in front of the parent's phone); sets the child's
payment PIN (proxy voucher); authorises mutual aid for the child; shows the
CHILD's code (the code page's person switcher); the cashier decodes it (the
child's identity) and settles a bill larger than the child's account: the
child's own account pays first, the parent's account the rest
(acct_mulaid_pay); the parent sees the notice and the ledger; the parent
revokes; the next bill is cash.

Every amount on screen is compared, as a string, with what the API answers.
The demo family (personas family_parent / family_child / family_grandfather)
comes from common/demodata.py; until it exists the test uses the employee,
the employee's young child and the elderly persona.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from playwright.sync_api import expect

from common import demodata
from common.money import yuan_to_fen
from tests.frontend.conftest import new_phone_page
from tests.frontend.ui import (
    add_line,
    app_url,
    by_testid,
    enter_pin,
    fill_input,
    new_pos_page,
    pos_decode,
    shown_code,
    sign_in,
)
from tests.conftest import live_database_env
from tests.support import processes
from tests.support.app import AppClient
from tests.support.http import LiveClient
from tests.support.pos import A_ITEMS, DATA, register

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("outbox_ids_above_earlier_tests")]

PARENT_PIN = "258036"
CHILD_PIN = "580369"
HUKOU_NO = "110101987654"
ITEM = A_ITEMS[1]  # class A, no price cap


def persona(name: str, fallback: str) -> demodata.Person:
    return demodata.DEMO_PERSONAS.get(name) or demodata.DEMO_PERSONAS[fallback]


PARENT = persona("family_parent", "employee")
CHILD = persona("family_child", "child")
GRANDFATHER = persona("family_grandfather", "elderly")


def age(person: demodata.Person) -> int:
    """Whole years today (the birthday itself counts), as the wallet and the page count them."""
    today = dt.date.today()
    born = person.birth_date
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def settle_shown_code(phone, pos, base: str, price: str, pin: str) -> dict:
    """The cashier decodes the code the phone shows, bills one line, pre-settles
    and settles; a confirmation on the phone is answered with `pin`.
    Returns the receipt's split as strings."""
    # A pharmacy in the family's own region (another province would need a cross-province filing).
    inst = next(i for i in DATA.institutions if i.kind == "pharmacy" and i.designated
                and i.region == CHILD.insured_region)
    register(inst)
    pos.goto(app_url(base, None, "pages-staff/pos/index"))
    pos.reload()
    fill_input(pos, "pos-code", inst.fixmedins_code)
    fill_input(pos, "pos-secret", inst.secret)
    by_testid(pos, "pos-signin").click()
    expect(by_testid(pos, "pos-sign-no")).not_to_have_text("未签到")
    pos_decode(pos, shown_code(phone))
    expect(by_testid(pos, "pos-person-name")).to_have_text(CHILD.name)
    add_line(pos, ITEM.med_list_codg, price, "1")
    by_testid(pos, "pos-presettle").click()
    expect(by_testid(pos, "pos-presettle-result").or_(by_testid(pos, "pos-tx-error"))).to_be_visible(timeout=60_000)
    refused = by_testid(pos, "pos-tx-error")
    assert refused.count() == 0, (refused.get_attribute("data-infcode"), refused.inner_text())
    by_testid(pos, "pos-settle").click()
    receipt = by_testid(pos, "pos-receipt")
    sheet = by_testid(phone, "pay-confirm-sheet")
    processes.wait_until(lambda: receipt.is_visible() or sheet.is_visible(), 20, message="receipt or confirmation")
    if sheet.is_visible():
        # The PIN asked is the relative's (the child's), on the phone showing the child's code.
        enter_pin(phone, pin)
    expect(receipt).to_be_visible(timeout=20_000)
    fields = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")
    return {f: by_testid(pos, f"pos-receipt-{f}").inner_text() for f in fields} | {
        "setl_id": by_testid(pos, "pos-receipt-setl-id").inner_text()}


def outbox_drained(timeout: float = 30) -> None:
    """Wait until the worker has relayed every wallet event (bindings, authorisations) to the core."""
    from settlement.models import OutboxMessage

    processes.wait_until(lambda: not OutboxMessage.objects.exclude(status="sent").exists(), timeout,
                         message="the outbox relayed to the core")


def add_relative(phone, relation: str, person: demodata.Person) -> None:
    by_testid(phone, "family-add").click()
    expect(by_testid(phone, "family-add-page")).to_have_attribute("data-step", "relation")
    by_testid(phone, f"family-relation-{relation}").click()
    expect(by_testid(phone, f"family-relation-{relation}")).to_have_attribute("aria-checked", "true")
    by_testid(phone, "family-relation-next").click()
    fill_input(phone, "family-name", person.name)
    fill_input(phone, "family-id", person.id_number)
    by_testid(phone, "family-identity-next").click()
    expect(by_testid(phone, "family-add-page")).to_have_attribute("data-step", "consent")


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_parent_binds_child_and_father_shows_childs_code_mutual_aid_then_revokes(
        browser, start_wallet, core_live, screenshot, channel):
    assert age(CHILD) < 16 <= age(GRANDFATHER), (age(CHILD), age(GRANDFATHER))
    wallet = start_wallet(CODE_STEP_SECONDS="10")
    # The outbox worker relays bindings and authorisations to the core, as `make run` does.
    worker = processes.start_worker(queues="money,housekeeping", name=f"family-worker-{channel}",
                                    SETTLEMENT_CORE_URL=core_live.url, **live_database_env())
    phone = new_phone_page(browser)
    pos = new_pos_page(browser)
    try:
        openid = f"demo-family-{uuid.uuid4().hex[:10]}"
        sign_in(phone, wallet.url, channel, openid)
        api = AppClient(LiveClient(wallet.url), channel, openid).login()
        api.activate(PARENT, pin=PARENT_PIN)
        parent_before = api.get("/api/account/balance?refresh=1").json()["balance"]

        # 首页 → 亲情账户 (a real entry now, no longer 即将开放).
        phone.goto(app_url(wallet.url, channel, "pages/home/index"))
        family_entry = by_testid(phone, "entry-family")
        expect(family_entry).to_have_attribute("data-status", "open")
        family_entry.click()
        expect(by_testid(phone, "family-page")).to_be_visible()
        expect(by_testid(phone, "family-empty")).to_be_visible()
        expect(by_testid(phone, "family-count")).to_have_text("0/5")

        # 1. The child, under 16: only the guardian's commitment is offered; no face.
        add_relative(phone, "child", CHILD)
        expect(by_testid(phone, "family-age")).to_have_attribute("data-age", str(age(CHILD)))
        expect(by_testid(phone, "family-consent-guardian")).to_have_attribute("aria-checked", "true")
        expect(by_testid(phone, "family-consent-liveness")).to_have_count(0)
        expect(by_testid(phone, "family-consent-invitation")).to_have_count(0)
        expect(by_testid(phone, "family-commitment")).to_contain_text("法定监护人")
        by_testid(phone, "family-submit").click()  # not yet accepted: refused locally
        expect(by_testid(phone, "family-consent-hint")).to_have_text("请阅读并同意承诺书")
        by_testid(phone, "family-commitment-accept").click()
        by_testid(phone, "family-doc-hukou").click()
        fill_input(phone, "family-doc-no", HUKOU_NO)
        screenshot(phone, f"family-guardian-{channel}")
        by_testid(phone, "family-submit").click()
        expect(by_testid(phone, "family-add-done")).to_be_visible()
        expect(by_testid(phone, "family-done-status")).to_have_attribute("data-status", "active")
        relatives = api.get("/api/family/relatives").json()
        child = next(b for b in relatives if b["relative"]["name"] == CHILD.name)
        assert child["consent"] == "guardian" and child["status"] == "active" and child["relation"] == "child"
        assert CHILD.id_number not in str(relatives)
        by_testid(phone, "family-done-list").first.click()

        # 2. The father, 16+: his own face in front of the parent's phone (no guardian option).
        expect(by_testid(phone, "family-page")).to_be_visible()
        add_relative(phone, "parent", GRANDFATHER)
        expect(by_testid(phone, "family-consent-guardian")).to_have_count(0)
        by_testid(phone, "family-consent-liveness").click()
        by_testid(phone, "family-submit").click()
        expect(by_testid(phone, "liveness-simulator")).to_be_visible()
        by_testid(phone, "liveness-sim-pass").click()
        expect(by_testid(phone, "family-add-done")).to_be_visible(timeout=20_000)
        expect(by_testid(phone, "family-done-status")).to_have_attribute("data-status", "active")
        by_testid(phone, "family-done-list").first.click()
        items = by_testid(phone, "family-relative")
        expect(items).to_have_count(2)
        expect(by_testid(phone, "family-count")).to_have_text("2/5")
        screenshot(phone, f"family-list-{channel}")

        # 3. The child's PIN (proxy voucher: the child has no phone of their own).
        phone.locator(f"[data-testid='family-relative'][data-id='{child['id']}']").click()
        expect(by_testid(phone, "relative-page")).to_have_attribute("data-status", "active")
        expect(by_testid(phone, "relative-name")).to_have_text(CHILD.name)
        by_testid(phone, "relative-set-pin").click()
        enter_pin(phone, CHILD_PIN)
        expect(by_testid(phone, "relative-pin")).to_have_attribute("data-stage", "confirm")
        enter_pin(phone, CHILD_PIN)
        expect(by_testid(phone, "relative-pin-done")).to_be_visible()
        expect(by_testid(phone, "relative-proxy")).to_have_text("已设置支付密码")
        child_before = by_testid(phone, "relative-balance").inner_text()
        child_balance = api.get(f"/api/family/relatives/{child['id']}/balance").json()["balance"]
        assert child_before == f"¥{child_balance}"

        # 4. Mutual aid for the child: annual cap 800.00, no per-bill cap, no confirmation.
        by_testid(phone, "relative-mulaid").click()
        expect(by_testid(phone, "mulaid-page")).to_have_attribute("data-status", "none")
        fill_input(phone, "mulaid-annual-cap", "800")
        by_testid(phone, "mulaid-submit").click()
        expect(by_testid(phone, "mulaid-page")).to_have_attribute("data-status", "active")
        expect(by_testid(phone, "mulaid-status")).to_have_text("已授权")
        outbox_drained()
        screenshot(phone, f"family-mulaid-{channel}")
        phone.go_back()

        # 5. The child's own code, on the parent's phone.
        expect(by_testid(phone, "relative-page")).to_be_visible()
        by_testid(phone, "relative-show-code").click()
        expect(by_testid(phone, "code-page")).to_be_visible()
        expect(by_testid(phone, "code-person")).to_have_attribute("data-person", child["id"])
        expect(by_testid(phone, "code-person")).to_contain_text(CHILD.name)
        # 本人 and each relative whose code may be shown: the child (proxy voucher), not the father (no voucher yet).
        showable = [b["id"] for b in api.get("/api/family/relatives").json() if b["can_show_code"]]
        assert showable == [child["id"]], showable
        expect(by_testid(phone, "code-person-option")).to_have_count(2)
        expect(phone.locator(f"[data-testid='code-person-option'][data-person='{child['id']}']")).to_have_attribute(
            "aria-checked", "true")

        # 6. The cashier settles a bill larger than the child's account.
        bill = yuan_to_fen(child_balance) + 30_000
        price = f"{bill // 100}.{bill % 100:02d}"
        receipt = settle_shown_code(phone, pos, wallet.url, price, CHILD_PIN)
        screenshot(pos, f"family-pos-receipt-{channel}")
        mulaid_fen = yuan_to_fen(receipt["acct_mulaid_pay"])
        # The child's own account first (emptied), then the parent's.
        assert receipt["acct_pay"] == child_balance, receipt
        assert mulaid_fen > 0, receipt
        assert (yuan_to_fen(receipt["fund_pay_sumamt"]) + yuan_to_fen(receipt["acct_pay"]) + mulaid_fen
                + yuan_to_fen(receipt["psn_cash_pay"])) == yuan_to_fen(receipt["medfee_sumamt"])
        parent_after = api.get("/api/account/balance?refresh=1").json()["balance"]
        assert yuan_to_fen(parent_before) - yuan_to_fen(parent_after) == mulaid_fen
        records = api.get(f"/api/family/relatives/{child['id']}/records").json()
        record = next(r for r in records if r["status"] == "settled")
        assert record["acct_mulaid_pay"] == receipt["acct_mulaid_pay"]
        assert record["acct_pay"] == receipt["acct_pay"]
        # The parent's own records do not show the child's bill.
        assert all(r["id"] != record["id"] for r in api.get("/api/records").json())

        # 7. The parent sees the notice and the ledger.
        phone.goto(app_url(wallet.url, channel, "pages-family/index/index"))
        notice = by_testid(phone, "family-notice").first
        expect(notice).to_contain_text(CHILD.name)
        expect(notice).to_contain_text(receipt["acct_mulaid_pay"])
        by_testid(phone, "link-mulaid-ledger").click()
        entry = phone.locator(f"[data-testid='ledger-entry'][data-setl-id='{receipt['setl_id']}']")
        expect(entry.locator("[data-testid='ledger-amount']")).to_have_text(f"¥{receipt['acct_mulaid_pay']}")
        expect(entry.locator("[data-testid='ledger-relative']")).to_have_text(CHILD.name)
        remaining = yuan_to_fen("800.00") - mulaid_fen
        expect(entry.locator("[data-testid='ledger-remaining']")).to_have_text(
            f"年度剩余 ¥{remaining // 100}.{remaining % 100:02d}")
        screenshot(phone, f"family-ledger-{channel}")

        # 8. The parent revokes.
        phone.goto(app_url(wallet.url, channel, f"pages-family/mutual-aid/index?id={child['id']}"))
        expect(by_testid(phone, "mulaid-page")).to_have_attribute("data-status", "active")
        expect(by_testid(phone, "mulaid-used")).to_have_text(f"¥{receipt['acct_mulaid_pay']}")
        by_testid(phone, "mulaid-revoke").click()
        by_testid(phone, "confirm-ok").click()
        expect(by_testid(phone, "mulaid-page")).to_have_attribute("data-status", "revoked")
        expect(by_testid(phone, "mulaid-saved")).to_contain_text("已撤销")
        # No waiting for the outbox: the wallet itself no longer sends the revoked authorisation.

        # 9. The next bill is cash: nothing from the parent's account.
        phone.goto(app_url(wallet.url, channel, f"pages/code/index?person={child['id']}"))
        expect(by_testid(phone, "code-person")).to_have_attribute("data-person", child["id"])
        pos.goto("about:blank")
        second = settle_shown_code(phone, pos, wallet.url, "100.00", CHILD_PIN)
        assert second["acct_mulaid_pay"] == "0.00", second
        assert second["acct_pay"] == "0.00", second  # the child's account was emptied by the first bill
        assert yuan_to_fen(second["psn_cash_pay"]) == yuan_to_fen(second["medfee_sumamt"]) - yuan_to_fen(
            second["fund_pay_sumamt"])
        assert api.get("/api/account/balance?refresh=1").json()["balance"] == parent_after
        screenshot(phone, f"family-after-revoke-{channel}")
        for page in (phone, pos):
            assert page.js_errors == []
    finally:
        for page in (phone, pos):
            page.context.close()
        worker.stop()


def test_code_page_person_switcher_opens_the_relatives_socket(browser, start_wallet):
    """The switcher asks the socket for the relative's code (/ws/code/?person=<binding id>) and back."""
    wallet = start_wallet(CODE_STEP_SECONDS="10")
    phone = new_phone_page(browser)
    sockets: list[str] = []
    phone.on("websocket", lambda ws: sockets.append(ws.url))
    try:
        openid = f"demo-family-{uuid.uuid4().hex[:10]}"
        sign_in(phone, wallet.url, "wechat", openid)
        api = AppClient(LiveClient(wallet.url), "wechat", openid).login()
        api.activate(PARENT, pin=PARENT_PIN)
        answer = api.post("/api/family/relatives", {
            "relation": "child", "name": CHILD.name, "id_number": CHILD.id_number, "consent": "guardian",
            "guardian": {"doc_type": "hukou", "doc_no": HUKOU_NO, "commitment_accepted": True}})
        assert answer.status_code == 201, answer.content
        binding = answer.json()
        # A proxy voucher (the child's PIN) is what makes the child's code showable.
        pin = api.post(f"/api/family/relatives/{binding['id']}/pin", {"pin": CHILD_PIN, "pin_confirm": CHILD_PIN})
        assert pin.status_code == 200 and pin.json()["proxy"] is True, pin.content
        phone.goto(app_url(wallet.url, "wechat", "pages/code/index"))
        expect(by_testid(phone, "code-person")).to_have_attribute("data-person", "")
        mine = shown_code(phone)
        phone.locator(f"[data-testid='code-person-option'][data-person='{binding['id']}']").click()
        expect(by_testid(phone, "code-relative-note")).to_contain_text(CHILD.name)
        theirs = shown_code(phone)
        assert theirs != mine
        assert any(re.search(rf"person={re.escape(binding['id'])}", url) for url in sockets), sockets
        phone.locator("[data-testid='code-person-option'][data-person='']").click()
        expect(by_testid(phone, "code-relative-note")).to_have_count(0)
        assert phone.js_errors == []
    finally:
        phone.context.close()
