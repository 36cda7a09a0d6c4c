"""The family pages against a scripted /api/family (Playwright request
interception, as test_activation_screens.py does for activation), for what
the real backend is slow or unable to reach on demand: the age-16 boundary
on the exact birthday choosing the consent offered, the guardian's
commitment and its body, a refused sixth relative, the invitation (link + QR)
and the page the relative opens (sign-in round trip, liveness, accepted; an
invitation used twice), the mutual-aid form's amounts and revocation, and
who showed my code. The whole story against the real backend is
test_family_story.py.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Route, expect

from tests.frontend.fake_wallet import FakeWallet
from tests.frontend.ui import app_url, by_testid, fill_input, sign_in

pytestmark = [pytest.mark.browser]

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'


def id_number_born(born: dt.date, seq: str = "123") -> str:
    """An 18-character ID number (GB 11643 check digit) for a birth date."""
    body = f"110101{born:%Y%m%d}{seq}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]
    return body + check


def sixteen_years_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 16)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 16, day=28)


def binding(bid: str, name: str, relation: str, status: str, consent: str, age: int, mutual_aid=None) -> dict:
    names = {"child": "子女", "parent": "父母", "spouse": "配偶"}
    return {"id": bid, "relation": relation, "relation_name": names.get(relation, relation),
            "relative": {"name": name, "id_number_masked": "110***********1234", "age": age, "gender": "1",
                         "insutype": "390", "insured_region": "110101"},
            "status": status, "consent": consent, "relation_check": "verified", "proxy_voucher": False,
            "voucher_active": False, "own_phone": False,
            "can_show_code": status == "active", "created_at": "2026-01-05T10:00:00+08:00",
            "activated_at": None, "ended_at": None, "mutual_aid": mutual_aid}


@dataclass
class FakeFamily(FakeWallet):
    activated: bool = True
    relatives: list[dict] = field(default_factory=list)
    invitation_status: str = "open"
    confirmations: list[dict] = field(default_factory=list)
    headers: list[tuple[str, str, dict]] = field(default_factory=list)
    mutual_aid: dict | None = None

    def _handle(self, route: Route) -> None:
        request = route.request
        path = urlparse(request.url).path
        self.headers.append((request.method, path, dict(request.headers)))
        if path.endswith("/qr"):
            route.fulfill(status=200, content_type="image/svg+xml", body=SVG)
            return
        super()._handle(route)

    def _answer(self, method: str, path: str, body: dict):
        if path == "/api/family/relatives" and method == "GET":
            return 200, self.relatives
        if path == "/api/family/relatives" and method == "POST":
            if len(self.relatives) >= 5:
                return 400, {"code": "FAMILY_TOO_MANY_RELATIVES", "message": "最多添加5位亲属", "detail": {}}
            status = "active" if body["consent"] == "guardian" else "pending"
            made = binding(f"b{len(self.relatives) + 1}", body["name"], body["relation"], status, body["consent"], 10)
            self.relatives.append(made)
            return 201, made
        match = re.fullmatch(r"/api/family/relatives/([^/]+)(/.*)?", path)
        if match:
            found = next((b for b in self.relatives if b["id"] == match.group(1)), None)
            if found is None:
                return 404, {"code": "FAMILY_NOT_FOUND", "message": "未找到该亲属", "detail": {}}
            rest = match.group(2) or ""
            if rest == "":
                return 200, {**found, "mutual_aid": self.mutual_aid}
            if rest == "/invitation":
                return 201, {"token": "tok-123", "url": "http://wallet.test/app/#/pages-family/invite/index?token=tok-123",
                             "expires_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=24)).isoformat()}
            if rest == "/mutual-aid" and method in ("POST", "PUT"):
                self.mutual_aid = {"id": "m1", "status": "active", "mode": body.get("mode", "direct"),
                                   "annual_cap": body.get("annual_cap"), "bill_cap": body.get("bill_cap"),
                                   "confirm_above": body.get("confirm_above"), "set_aside": body.get("set_aside"),
                                   "used_this_year": "0.00", "version": 1}
                return 200, self.mutual_aid
            if rest == "/mutual-aid/revoke":
                self.mutual_aid = {**self.mutual_aid, "status": "revoked", "version": 2}
                return 200, self.mutual_aid
            if rest == "/balance":
                return 200, {"balance": "12.30", "as_of": "2026-01-05T10:00:00+08:00", "stale": False}
            if rest == "/records":
                return 200, []
        if path == "/api/family/binders":
            return 200, []
        if path == "/api/notifications":
            return 200, []
        if path == "/api/family/mutual-aid/confirmations":
            return 200, self.confirmations
        match = re.fullmatch(r"/api/family/mutual-aid/confirmations/([^/]+)/confirm", path)
        if match:
            if body.get("pin") != "135790":
                return 400, {"code": "PIN_INCORRECT", "message": "支付密码错误", "detail": {"tries_left": 4}}
            self.confirmations = [c for c in self.confirmations if c["id"] != match.group(1)]
            return 200, {"id": match.group(1), "status": "confirmed"}
        if path == "/api/family/code-views":
            return 200, [{"binder_name_masked": "*三", "binding_id": "b9", "kind": "shown",
                          "shown_at": "2026-01-05T10:00:00+08:00", "channel": "alipay", "institution": ""},
                         {"binder_name_masked": "*三", "binding_id": "b9", "kind": "scanned",
                          "shown_at": "2026-01-05T10:01:00+08:00", "channel": "", "institution": "同仁堂药店"}]
        if path == "/api/family/invitations/tok-123":
            return 200, {"binder_name_masked": "*三", "relation": "parent", "relation_name": "父母",
                         "expires_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=20)).isoformat(),
                         "status": self.invitation_status}
        if path == "/api/family/invitations/tok-123/liveness/start":
            return 200, {"nonce": "fam-1", "actions": ["blink"], "expires_at": (
                dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)).isoformat(), "provider_url": "/liveness-sim/"}
        if path == "/api/family/invitations/tok-123/liveness/verify":
            self.invitation_status = "used"
            return 200, {"status": "active"}
        return super()._answer(method, path, body)

    def posted(self, path: str) -> list[dict]:
        return [b for m, p, b in self.calls if m in ("POST", "PUT") and p == path]

    def header(self, method: str, path: str, name: str) -> str | None:
        for m, p, h in self.headers:
            if m == method and p == path:
                return h.get(name)
        return None


def open_family(page, live_server, fake: FakeFamily, channel: str = "wechat") -> None:
    fake.install(page)
    sign_in(page, live_server.url, channel, "demo-fake")
    page.goto(app_url(live_server.url, channel, "pages-family/index/index"))
    expect(by_testid(page, "family-page")).to_be_visible()


def to_consent(page, relation: str, name: str, id_number: str) -> None:
    by_testid(page, "family-add").click()
    by_testid(page, f"family-relation-{relation}").click()
    by_testid(page, "family-relation-next").click()
    fill_input(page, "family-name", name)
    fill_input(page, "family-id", id_number)
    by_testid(page, "family-identity-next").click()
    expect(by_testid(page, "family-add-page")).to_have_attribute("data-step", "consent")


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_age_16_on_the_exact_birthday_decides_the_consent_offered(page, live_server, screenshot, channel):
    fake = FakeFamily()
    open_family(page, live_server, fake, channel)
    today = dt.date.today()
    sixteen_today = id_number_born(sixteen_years_before(today))
    fifteen = id_number_born(sixteen_years_before(today) + dt.timedelta(days=1))

    to_consent(page, "child", "张小满", sixteen_today)
    expect(by_testid(page, "family-age")).to_have_attribute("data-age", "16")
    expect(by_testid(page, "family-consent-liveness")).to_have_attribute("aria-checked", "true")
    expect(by_testid(page, "family-consent-invitation")).to_be_visible()
    expect(by_testid(page, "family-consent-guardian")).to_have_count(0)

    by_testid(page, "family-consent-back").click()
    fill_input(page, "family-id", fifteen)
    by_testid(page, "family-identity-next").click()
    expect(by_testid(page, "family-age")).to_have_attribute("data-age", "15")
    expect(by_testid(page, "family-consent-guardian")).to_have_attribute("aria-checked", "true")
    expect(by_testid(page, "family-consent-liveness")).to_have_count(0)
    expect(by_testid(page, "family-commitment")).to_contain_text("本人是被添加人的法定监护人")

    # The commitment and the document number are required before anything is sent.
    by_testid(page, "family-submit").click()
    expect(by_testid(page, "family-consent-hint")).to_have_text("请阅读并同意承诺书")
    by_testid(page, "family-commitment-accept").click()
    expect(by_testid(page, "family-commitment-accept")).to_have_attribute("aria-checked", "true")
    by_testid(page, "family-submit").click()
    expect(by_testid(page, "family-consent-hint")).to_have_text("请填写证件编号")
    assert fake.posted("/api/family/relatives") == []
    by_testid(page, "family-doc-birth_cert").click()
    fill_input(page, "family-doc-no", "O440012345")
    screenshot(page, f"family-screens-guardian-{channel}")
    by_testid(page, "family-submit").click()
    expect(by_testid(page, "family-add-done")).to_be_visible()
    expect(by_testid(page, "family-done-status")).to_have_attribute("data-status", "active")
    assert fake.posted("/api/family/relatives") == [{
        "relation": "child", "name": "张小满", "id_number": fifteen, "consent": "guardian",
        "guardian": {"doc_type": "birth_cert", "doc_no": "O440012345", "commitment_accepted": True}}]
    key = fake.header("POST", "/api/family/relatives", "idempotency-key")
    assert key and re.fullmatch(r"[0-9a-f]{32}", key)
    assert page.js_errors == []


def test_a_sixth_relative_is_refused_with_the_reason_in_chinese(page, live_server):
    fake = FakeFamily(relatives=[binding(f"b{i}", f"亲属{i}", "spouse", "active", "liveness", 40) for i in range(1, 5)])
    open_family(page, live_server, fake)
    expect(by_testid(page, "family-count")).to_have_text("4/5")
    fake.relatives.append(binding("b5", "亲属5", "parent", "active", "liveness", 70))  # added elsewhere meanwhile
    to_consent(page, "parent", "李大爷", id_number_born(dt.date(1956, 5, 1)))
    by_testid(page, "family-submit").click()
    expect(by_testid(page, "error-code")).to_have_text("FAMILY_TOO_MANY_RELATIVES")
    expect(by_testid(page, "error-message")).to_have_text("最多添加5位亲属")
    expect(by_testid(page, "error-advice")).to_contain_text("请先解除一位已绑定的亲属")
    by_testid(page, "error-action").click()  # 返回首页 → back to the list, now full
    expect(by_testid(page, "family-count")).to_have_text("5/5")
    expect(by_testid(page, "family-add")).to_have_attribute("aria-disabled", "true")


def test_invitation_link_and_qr_then_the_relative_accepts_on_their_own_phone(browser, live_server, screenshot):
    from tests.frontend.conftest import new_phone_page

    binder, relative = new_phone_page(browser), new_phone_page(browser)
    try:
        fake = FakeFamily()
        open_family(binder, live_server, fake)
        to_consent(binder, "parent", "李大爷", id_number_born(dt.date(1956, 5, 1)))
        by_testid(binder, "family-consent-invitation").click()
        by_testid(binder, "family-submit").click()
        expect(by_testid(binder, "family-invitation")).to_have_attribute("data-token", "tok-123")
        expect(by_testid(binder, "invitation-url")).to_have_text(
            "http://wallet.test/app/#/pages-family/invite/index?token=tok-123")
        expect(by_testid(binder, "invitation-qr")).to_be_visible()
        expect(by_testid(binder, "invitation-expires")).to_contain_text(re.compile(r"剩余2[34]小时"))
        screenshot(binder, "family-screens-invitation")

        # The relative opens the link signed out: sign in, come back, accept with their own face.
        other = FakeFamily(activated=True)
        other.install(relative)
        relative.goto(app_url(live_server.url, "alipay", "pages-family/invite/index?token=tok-123"))
        expect(by_testid(relative, "invite-page")).to_have_attribute("data-state", "signed-out")
        by_testid(relative, "invite-login").click()
        expect(by_testid(relative, "login-page")).to_be_visible()
        fill_input(relative, "login-openid", "demo-relative")
        by_testid(relative, "login-submit").click()
        expect(by_testid(relative, "invite-page")).to_have_attribute("data-state", "open")
        expect(by_testid(relative, "invite-binder")).to_have_text("*三")
        expect(by_testid(relative, "invite-relation")).to_have_text("父母")
        by_testid(relative, "invite-accept").click()
        by_testid(relative, "liveness-sim-pass").click()
        expect(by_testid(relative, "invite-accepted")).to_be_visible()
        assert other.posted("/api/family/invitations/tok-123/liveness/verify")[0]["signature"] == "c2ln"

        # Opened again: used once already.
        relative.reload()
        expect(by_testid(relative, "error-code")).to_have_text("FAMILY_INVITATION_USED")
        expect(by_testid(relative, "error-advice")).to_contain_text("只能使用一次")
        for page in (binder, relative):
            assert page.js_errors == []
    finally:
        binder.context.close()
        relative.context.close()


def test_a_login_redirect_never_leaves_the_app(page, live_server):
    fake = FakeFamily()
    fake.install(page)
    page.goto(app_url(live_server.url, "wechat", "pages/login/index?redirect=" + "https%3A%2F%2Fevil.example%2F"))
    fill_input(page, "login-openid", "demo-x")
    by_testid(page, "login-submit").click()
    expect(by_testid(page, "voucher-card")).to_be_visible()
    assert urlparse(page.url).netloc == urlparse(live_server.url).netloc


def test_mutual_aid_caps_then_revocation(page, live_server):
    fake = FakeFamily(relatives=[binding("b1", "张小明", "child", "active", "guardian", 10)])
    open_family(page, live_server, fake)
    page.goto(app_url(live_server.url, "wechat", "pages-family/mutual-aid/index?id=b1"))
    expect(by_testid(page, "mulaid-page")).to_have_attribute("data-status", "none")
    fill_input(page, "mulaid-annual-cap", "500")
    fill_input(page, "mulaid-bill-cap", "600")
    by_testid(page, "mulaid-submit").click()
    expect(by_testid(page, "mulaid-hint")).to_have_text("单笔共济上限不能高于年度共济上限")
    fill_input(page, "mulaid-bill-cap", "-1")
    # The page may take the click before the input's new value reached its state (a loaded CI machine):
    # the check refuses locally and sends nothing, so submitting again until the new value is judged is safe.
    for _ in range(20):
        by_testid(page, "mulaid-submit").click()
        if "不小于0" in by_testid(page, "mulaid-hint").inner_text():
            break
        page.wait_for_timeout(250)
    expect(by_testid(page, "mulaid-hint")).to_contain_text("不小于0")
    assert fake.posted("/api/family/relatives/b1/mutual-aid") == []
    fill_input(page, "mulaid-bill-cap", "200.5")
    fill_input(page, "mulaid-confirm-above", "100")
    by_testid(page, "mulaid-mode-set_aside").click()
    fill_input(page, "mulaid-set-aside", "300")
    by_testid(page, "mulaid-submit").click()
    expect(by_testid(page, "mulaid-page")).to_have_attribute("data-status", "active")
    assert fake.posted("/api/family/relatives/b1/mutual-aid") == [{
        "mode": "set_aside", "annual_cap": "500.00", "bill_cap": "200.50", "confirm_above": "100.00", "set_aside": "300.00"}]
    assert fake.header("POST", "/api/family/relatives/b1/mutual-aid", "idempotency-key")
    by_testid(page, "mulaid-revoke").click()
    expect(by_testid(page, "confirm-message")).to_contain_text("共济额度全额退回")
    by_testid(page, "confirm-ok").click()
    expect(by_testid(page, "mulaid-page")).to_have_attribute("data-status", "revoked")
    expect(by_testid(page, "mulaid-status")).to_have_text("已撤销")


def test_the_payer_confirms_a_mutual_aid_part_with_their_own_pin(page, live_server):
    from tests.frontend.ui import enter_pin

    fake = FakeFamily(confirmations=[{"id": "P1", "relative_name": "张小明", "institution": "同仁堂药店", "amount": "260.5",
                                      "medfee_sumamt": "500.00", "expires_at": "2030-01-01T00:00:00+08:00"}])
    open_family(page, live_server, fake)
    by_testid(page, "family-ask").click()
    sheet = by_testid(page, "mulaid-confirm-sheet")
    expect(sheet).to_have_attribute("data-id", "P1")
    expect(by_testid(page, "mulaid-confirm-relative")).to_have_text("张小明")
    expect(by_testid(page, "mulaid-confirm-amount")).to_have_text("¥260.50")
    enter_pin(page, "111222")
    expect(by_testid(page, "mulaid-confirm-error")).to_have_attribute("data-code", "PIN_INCORRECT")
    expect(by_testid(page, "mulaid-confirm-error")).to_contain_text("还可以尝试 4 次")
    enter_pin(page, "135790")
    expect(sheet).to_have_count(0)
    expect(by_testid(page, "family-ask")).to_have_count(0)
    assert fake.posted("/api/family/mutual-aid/confirmations/P1/confirm") == [{"pin": "111222"}, {"pin": "135790"}]


def test_the_relative_sees_who_showed_their_code(page, live_server):
    fake = FakeFamily()
    open_family(page, live_server, fake)
    by_testid(page, "link-code-views").click()
    views = by_testid(page, "code-view")
    expect(views).to_have_count(2)
    shown, scanned = views.nth(0), views.nth(1)
    expect(shown.locator("[data-testid='code-view-binder']")).to_have_text("*三")
    expect(shown.locator("[data-testid='code-view-kind']")).to_have_text("出示了您的医保码")
    expect(shown.locator("[data-testid='code-view-channel']")).to_have_text("支付宝")
    expect(shown.locator("[data-testid='code-view-time']")).to_have_text(re.compile(r"^2026-01-05 \d\d:\d\d$"))
    expect(scanned.locator("[data-testid='code-view-kind']")).to_have_text("在同仁堂药店被扫码")
