"""Issue #15's staff story in the browser, against a real wallet ASGI process and
the live settlement core (no scripted API), with the demo staff users that
`make run` creates (manage.py staff_demo_users) and their TOTP seeds:

an agent (agent1) signs in with password + TOTP code (pyotp from the demo
seed), looks the person up by full ID number with a reason, starts a PIN-reset
ticket; the person completes it on their own phone (忘记支付密码: their own
liveness, the new PIN twice); later the PIN is locked (five wrong PINs), the
agent checks the ID at the counter and asks for an unlock, a supervisor
(supervisor1, another browser) approves it, the lock is gone; an auditor
(auditor1) exports the day's trail and the CSV holds every step, masked.
Any 401 lands on the console's login page (signed out, not signed in, idle).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
import uuid

import pyotp
import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from common import demodata, idnumber
from staff.management.commands.staff_demo_users import DEMO_STAFF, totp_seed_base32
from tests.frontend.conftest import new_phone_page
from tests.frontend.ui import app_url, by_testid, enter_pin, fill_input, fill_textarea, sign_in
from tests.support.app import AppClient
from tests.support.http import LiveClient

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("outbox_ids_above_earlier_tests")]

PERSON = demodata.DEMO_PERSONAS["employee"]
OLD_PIN = "258036"
NEW_PIN = "470913"
DESK = {"width": 1366, "height": 900}
STAFF = {username: (password, totp_seed_base32(key)) for username, _, _, password, key in DEMO_STAFF}
CONSOLE = "pages-staff/console"


def console_page(browser):
    context = browser.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return page


def staff_login(page, base: str, username: str, *, next_step: bool = False) -> None:
    """Sign in on the console. django-otp takes a code once: a second login within
    the same 30 s uses the next step's code (within the device's tolerance)."""
    password, seed = STAFF[username]
    page.goto(app_url(base, None, f"{CONSOLE}/login/index"))
    expect(by_testid(page, "staff-login-page")).to_be_visible()
    fill_input(page, "staff-login-username", username)
    fill_input(page, "staff-login-password", password)
    fill_input(page, "staff-login-otp", pyotp.TOTP(seed).at(time.time() + (30 if next_step else 0)))
    by_testid(page, "staff-login-submit").click()
    expect(by_testid(page, "staff-user")).to_have_text(username)


def reason_dialog(page, reason: str, *, id_checked: bool = False) -> None:
    """Answer the open ReasonDialog: refused empty first (client-side), then with the reason."""
    dialog = by_testid(page, "staff-reason-dialog")
    expect(dialog).to_be_visible()
    by_testid(page, "staff-reason-ok").click()
    expect(by_testid(page, "staff-reason-hint")).to_have_text("请填写操作原因（将记入审计）")
    fill_textarea(page, "staff-reason-input", reason)
    if id_checked:
        by_testid(page, "staff-reason-ok").click()
        expect(by_testid(page, "staff-reason-hint")).to_have_text("请先在柜台当面核验本人身份证件原件")
        by_testid(page, "staff-reason-id-checked").click()
        expect(by_testid(page, "staff-reason-id-checked")).to_have_attribute("aria-checked", "true")
    by_testid(page, "staff-reason-ok").click()
    expect(dialog).to_have_count(0)


def voucher_row():
    from wallet.models import Voucher

    return Voucher.objects.get(person__psn_no=PERSON.psn_no)


def test_agent_reset_ticket_person_completes_supervisor_unlocks_auditor_exports(
        browser, start_wallet, screenshot):
    from accounts.models import PinResetTicket
    from accounts.services.audit_chain import audit_checkpoint_create
    from wallet.services.pin import pin_verify

    wallet = start_wallet()
    call_command("staff_demo_users", stdout=io.StringIO())
    today = dt.date.today().isoformat()
    masked = idnumber.mask(PERSON.id_number)
    assert masked != PERSON.id_number and masked.endswith(PERSON.id_number[-4:])

    # The person: activated on WeChat, signed in on their phone.
    phone = new_phone_page(browser)
    openid = f"demo-staff-{uuid.uuid4().hex[:10]}"
    sign_in(phone, wallet.url, "wechat", openid)
    AppClient(LiveClient(wallet.url), "wechat", openid).login().activate(PERSON, pin=OLD_PIN)

    agent = console_page(browser)
    supervisor = console_page(browser)
    auditor = console_page(browser)
    pages = [agent, supervisor, auditor, phone]
    try:
        # 0. No session: a console page answers 401 and the login page says so.
        agent.goto(app_url(wallet.url, None, f"{CONSOLE}/lookup/index"))
        expect(by_testid(agent, "staff-login-page")).to_be_visible()
        expect(by_testid(agent, "staff-login-notice")).to_have_text("请先登录")

        # 1. The agent: password + TOTP, lands on 查询参保人 (the only page an agent has).
        staff_login(agent, wallet.url, "agent1")
        expect(by_testid(agent, "staff-role")).to_have_attribute("data-role", "agent")
        expect(by_testid(agent, "staff-lookup-page")).to_be_visible()
        expect(by_testid(agent, "staff-nav-queue")).to_have_count(0)
        expect(by_testid(agent, "staff-nav-audit")).to_have_count(0)

        # 2. Lookup by the full ID number; the reason is mandatory.
        fill_input(agent, "staff-lookup-id", PERSON.id_number)
        by_testid(agent, "staff-lookup-submit").click()
        expect(by_testid(agent, "staff-lookup-hint")).to_have_attribute("data-field", "reason")
        fill_input(agent, "staff-lookup-reason", "本人来电：忘记支付密码")
        by_testid(agent, "staff-lookup-submit").click()
        results = by_testid(agent, "staff-lookup-results")
        expect(results).to_have_attribute("data-count", "1")
        expect(by_testid(agent, "staff-result-name")).to_have_text(PERSON.name)
        expect(by_testid(agent, "staff-result-id")).to_have_text(masked)
        assert PERSON.id_number not in results.inner_text()
        by_testid(agent, "staff-result-open").click()

        case = by_testid(agent, "staff-case-page")
        expect(case).to_have_attribute("data-psn", PERSON.psn_no)
        expect(by_testid(agent, "staff-case-id")).to_have_text(masked)
        expect(by_testid(agent, "staff-case-voucher")).to_have_attribute("data-status", "active")
        expect(by_testid(agent, "staff-case-pin-locked")).to_have_attribute("data-locked", "0")
        expect(by_testid(agent, "staff-case-authorization")).to_have_count(1)
        expect(by_testid(agent, "staff-case-authorization")).to_have_attribute("data-channel", "wechat")
        assert PERSON.id_number not in agent.locator("body").inner_text()

        # 3. A PIN-reset ticket, with its reason; the agent never sees or sets a PIN.
        expect(agent.locator("input[type=password]")).to_have_count(0)
        by_testid(agent, "staff-action-reset").click()
        reason_dialog(agent, "本人来电忘记支付密码，已核对姓名与出生日期")
        expect(by_testid(agent, "staff-case-done")).to_contain_text("已发起支付密码重置")
        ticket = by_testid(agent, "staff-case-ticket")
        expect(ticket).to_have_attribute("data-status", "open")
        row = PinResetTicket.objects.get(person__psn_no=PERSON.psn_no)
        assert (row.status, row.created_by) == ("open", "staff:agent1"), (row.status, row.created_by)
        expect(ticket).to_have_attribute("data-id", row.public_id)
        screenshot(agent, "staff-console-case")

        # 4. The person completes it on their own phone: own liveness, the new PIN twice.
        #    首页 → 支付密码: the page says staff started a reset → 忘记支付密码.
        phone.goto(app_url(wallet.url, "wechat", "pages/home/index"))
        by_testid(phone, "entry-pin").click()
        expect(by_testid(phone, "security-ticket-open")).to_contain_text("医保客服已为您发起支付密码重置")
        by_testid(phone, "security-forgot").click()
        expect(by_testid(phone, "pin-forgot-page")).to_have_attribute("data-stage", "liveness")
        expect(by_testid(phone, "liveness-simulator")).to_be_visible()
        by_testid(phone, "liveness-sim-pass").click()
        expect(by_testid(phone, "pin-forgot-page")).to_have_attribute("data-stage", "pin", timeout=20_000)
        enter_pin(phone, NEW_PIN)
        expect(by_testid(phone, "pin-step")).to_have_attribute("data-step", "confirm")
        enter_pin(phone, NEW_PIN)
        expect(by_testid(phone, "pin-forgot-done")).to_be_visible(timeout=20_000)
        expect(by_testid(phone, "pin-forgot-ticket")).to_be_visible()
        row.refresh_from_db()
        assert row.status == "completed", row.status

        by_testid(agent, "staff-case-refresh").click()
        expect(by_testid(agent, "staff-case-ticket")).to_have_count(0)

        # 5. Later: five wrong PINs lock it; the person comes to the counter.
        voucher = voucher_row()
        for _ in range(5):
            with pytest.raises(Exception):
                pin_verify(voucher_id=voucher.pk, pin="000000", actor="test:till")
        by_testid(agent, "staff-case-refresh").click()
        expect(by_testid(agent, "staff-case-pin-locked")).to_have_attribute("data-locked", "1")
        expect(by_testid(agent, "staff-case-pin-failures")).to_have_text("5")
        by_testid(agent, "staff-action-unlock").click()
        reason_dialog(agent, "本人到柜台，已核验身份证原件，申请解锁", id_checked=True)
        expect(by_testid(agent, "staff-case-done")).to_contain_text("已提交解锁支付密码申请")
        expect(by_testid(agent, "staff-case-request")).to_have_attribute("data-kind", "unlock")
        assert voucher_row().pin_locked_until is not None  # not before the supervisor approves
        expect(by_testid(agent, "staff-case-other-teams")).to_have_count(0)

        # 5b. Another team's agent (agent2, 二组) opens the same person: 一组's pending
        #     request is one count line, without its id, requester or reason.
        other = console_page(browser)
        pages.append(other)
        staff_login(other, wallet.url, "agent2")
        fill_input(other, "staff-lookup-id", PERSON.id_number)
        fill_input(other, "staff-lookup-reason", "本人来电：查询解锁进度")
        by_testid(other, "staff-lookup-submit").click()
        by_testid(other, "staff-result-open").click()
        expect(by_testid(other, "staff-case-page")).to_have_attribute("data-psn", PERSON.psn_no)
        expect(by_testid(other, "staff-case-other-teams")).to_have_text("其他组有 1 个处理中的审批申请（详情仅该组可见）")
        expect(by_testid(other, "staff-case-request")).to_have_count(0)
        shown = by_testid(other, "staff-case-tickets").inner_text()
        assert "agent1" not in shown and "已核验身份证原件" not in shown, shown

        # 6. The supervisor (another browser) approves it from the team's queue.
        staff_login(supervisor, wallet.url, "supervisor1")
        by_testid(supervisor, "staff-nav-queue").click()
        request = by_testid(supervisor, "staff-queue-request")
        expect(request).to_have_count(1)
        expect(request).to_have_attribute("data-kind", "unlock")
        expect(request).to_have_attribute("data-psn", PERSON.psn_no)
        expect(by_testid(request, "staff-queue-requester")).to_have_text("agent1")
        by_testid(request, "staff-queue-approve").click()
        reason_dialog(supervisor, "已核对柜台核验记录，同意解锁")
        expect(by_testid(supervisor, "staff-queue-done")).to_contain_text("已批准")
        expect(by_testid(supervisor, "staff-queue-empty")).to_be_visible()
        expect(by_testid(supervisor, "staff-queue-decided-row").first).to_have_attribute("data-status", "approved")
        voucher = voucher_row()
        assert (voucher.pin_locked_until, voucher.pin_failures) == (None, 0)
        screenshot(supervisor, "staff-console-queue")

        by_testid(agent, "staff-case-refresh").click()
        expect(by_testid(agent, "staff-case-pin-locked")).to_have_attribute("data-locked", "0")
        case_id = case.get_attribute("data-case")
        by_testid(agent, "staff-case-back").click()
        expect(by_testid(agent, "staff-my-request")).to_have_attribute("data-status", "approved")

        # 7. The auditor: read-only, lands on 审计记录 with today's events and the chain's last
        #    checkpoint (as beat takes it: signed, outside the database); exports them as CSV.
        checkpoint = audit_checkpoint_create()
        staff_login(auditor, wallet.url, "auditor1")
        expect(by_testid(auditor, "staff-audit-page")).to_be_visible()
        expect(by_testid(auditor, "staff-audit-checkpoint")).to_have_attribute("data-seq", str(checkpoint.seq))
        expect(by_testid(auditor, "staff-audit-checkpoint")).to_have_attribute("data-valid", "true")
        expect(by_testid(auditor, "staff-audit-checkpoint-signature")).to_contain_text("有效")
        expect(by_testid(auditor, "staff-nav-lookup")).to_have_count(0)
        expect(by_testid(auditor, "staff-audit-results")).to_be_visible()
        assert int(by_testid(auditor, "staff-audit-results").get_attribute("data-count")) > 5
        with auditor.expect_download() as download_info:
            by_testid(auditor, "staff-audit-export").click()
        download = download_info.value
        assert download.suggested_filename == f"audit-{today}.csv"
        raw = open(download.path(), "rb").read()
        assert raw.startswith(b"\xef\xbb\xbf"), raw[:10]
        text = raw.decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        expect(by_testid(auditor, "staff-audit-exported")).to_have_attribute("data-rows", str(len(rows)))
        assert PERSON.id_number not in text
        assert all(r["occurred_at"].startswith(today) for r in rows), [r["occurred_at"] for r in rows]
        seen = {(r["action"], r["actor"], r["outcome"]) for r in rows}
        for wanted in [("staff.login", "staff:agent1", "success"), ("staff.lookup", "staff:agent1", "success"),
                       ("pin.reset_ticket.create", "staff:agent1", "success"),
                       ("staff.request.unlock", "staff:agent1", "success"),
                       ("staff.request.unlock.approve", "staff:supervisor1", "success"),
                       ("staff.login", "staff:auditor1", "success")]:
            assert wanted in seen, (wanted, sorted(seen))
        actions = {r["action"] for r in rows}
        assert {"pin.reset_ticket.complete", "pin.unlock"} <= actions, sorted(actions)
        by_person = [r for r in rows if r["psn_no"] == PERSON.psn_no]
        lookup = next(r for r in by_person if r["action"] == "staff.lookup" and r["actor"] == "staff:agent1")
        assert "本人来电：忘记支付密码" in lookup["detail"], lookup
        screenshot(auditor, "staff-console-audit")

        # 8. An auditor has no lookup page: it sends them back to their own.
        auditor.goto(app_url(wallet.url, None, f"{CONSOLE}/lookup/index"))
        expect(by_testid(auditor, "staff-audit-page")).to_be_visible()

        # 9. Signing out: the next console page is the login page again.
        by_testid(agent, "staff-logout").click()
        expect(by_testid(agent, "staff-login-notice")).to_have_text("已安全退出")
        agent.goto(app_url(wallet.url, None, f"{CONSOLE}/case/index?id={case_id}"))
        expect(by_testid(agent, "staff-login-notice")).to_have_text("请先登录")

        for page in pages:
            assert not page.js_errors, page.js_errors
    finally:
        for page in pages:
            page.context.close()


def test_idle_console_returns_to_login(browser, start_wallet):
    """Inactivity, both ways. The server: a session without a call for longer than
    STAFF_SESSION_IDLE_SECONDS answers 401 STAFF_SESSION_EXPIRED (the user kept
    moving the mouse, so the console's own clock did not fire) and the console
    goes to its login page. The console: no input for that long signs out by
    itself (polling would otherwise keep the server session alive)."""
    wallet = start_wallet(STAFF_SESSION_IDLE_SECONDS="4")
    call_command("staff_demo_users", stdout=io.StringIO())
    page = console_page(browser)
    try:
        staff_login(page, wallet.url, "agent1")
        expect(by_testid(page, "staff-lookup-page")).to_be_visible()
        fill_input(page, "staff-lookup-id", PERSON.id_number)
        fill_input(page, "staff-lookup-reason", "本人来电咨询支付失败")
        for x in range(10):  # 5 s of input, no call
            page.mouse.move(100 + 10 * x, 300)
            time.sleep(0.5)
        by_testid(page, "staff-lookup-submit").click()
        expect(by_testid(page, "staff-login-page")).to_be_visible()
        expect(by_testid(page, "staff-login-notice")).to_have_text("长时间未操作，登录已失效，请重新登录")
        assert "reason=STAFF_SESSION_EXPIRED" in page.url, page.url

        staff_login(page, wallet.url, "agent1", next_step=True)
        expect(by_testid(page, "staff-lookup-page")).to_be_visible()
        # No input at all: the console's clock (checked every 5 s) signs out.
        expect(by_testid(page, "staff-login-page")).to_be_visible(timeout=15_000)
        expect(by_testid(page, "staff-login-notice")).to_have_text("长时间未操作，登录已失效，请重新登录")
        assert "reason=IDLE" in page.url, page.url
        assert not page.js_errors, page.js_errors
    finally:
        page.context.close()
