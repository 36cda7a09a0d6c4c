"""A scripted stand-in for the wallet's activation API, served through
Playwright's request interception, for UI states the real backend cannot be
steered into cheaply (a locked PIN, a rate limit, a core outage, a camera).

Only `/api/...` and `/liveness-sim/...` are intercepted; the H5 build and
`/readyz` still come from the real live_server. The answers follow
docs/subsystems/activation.md; the real API is exercised end to end by
test_activation_wizard.py.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

from playwright.sync_api import Page, Route

from tests.frontend.ui import sign_in, start_activation

CHANNEL_NAMES = {"wechat": "微信", "alipay": "支付宝", "nhsa": "国家医保APP"}
NAME, ID_NUMBER = "胡洁秀", "44010019880329780X"
PERSON = {"name": "胡洁秀", "id_number_masked": "440***********780X", "insutype": "310", "insured_region": "440100"}


def _later(minutes: int = 60) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)).isoformat()


@dataclass
class FakeWallet:
    pin_mode: str = "new"
    activated: bool = False
    actions: list[str] = field(default_factory=lambda: ["blink", "turn_head", "open_mouth"])
    # path -> queue of (status, code, message, detail) answered before the normal answer
    failures: dict[str, list[tuple[int, str, str, dict]]] = field(default_factory=dict)
    calls: list[tuple[str, str, dict | None]] = field(default_factory=list)
    channel: str = "wechat"
    nonce_seq: int = 0

    def install(self, page: Page) -> "FakeWallet":
        page.route(re.compile(r"^https?://[^/]+/(api|liveness-sim)/"), self._handle)
        return self

    def fail(self, path: str, status: int, code: str, message: str, detail: dict | None = None) -> None:
        self.failures.setdefault(path, []).append((status, code, message, detail or {}))

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.calls]

    # --- routing -------------------------------------------------------------
    def _handle(self, route: Route) -> None:
        request = route.request
        path = urlparse(request.url).path
        try:
            body = request.post_data_json if request.post_data else None
        except Exception:  # noqa: BLE001 - not JSON
            body = None
        self.calls.append((request.method, path, body))
        queued = self.failures.get(path)
        if queued:
            status, code, message, detail = queued.pop(0)
            route.fulfill(status=status, content_type="application/json",
                          body=json.dumps({"code": code, "message": message, "detail": detail}, ensure_ascii=False))
            return
        status, answer = self._answer(request.method, path, body or {})
        route.fulfill(status=status, content_type="application/json", body=json.dumps(answer, ensure_ascii=False))

    def _answer(self, method: str, path: str, body: dict) -> tuple[int, object]:
        if path == "/api/auth/login":
            self.channel = body.get("channel", "wechat")
            return 200, {"token": f"tok-{self.channel}", "expires_at": _later(), "channel": self.channel}
        if path == "/api/auth/refresh":
            return 200, {"token": f"tok2-{self.channel}", "expires_at": _later(), "channel": self.channel}
        if path == "/api/auth/logout":
            return 200, {"ok": True}
        if path == "/api/me":
            return 200, {
                "channel": self.channel,
                "channel_name": CHANNEL_NAMES[self.channel],
                "activated": self.activated,
                "person": PERSON if self.activated else None,
                "voucher": {"status": "active", "pin_locked": False, "pin_tries_left": 5} if self.activated else None,
            }
        if path == "/api/activation/real-name":
            return 200, {"activation_id": "act-1", "next": "liveness", "person": PERSON, "pin_mode": self.pin_mode}
        if path == "/api/activation/liveness/start":
            self.nonce_seq += 1
            return 200, {"session_id": f"s{self.nonce_seq}", "nonce": f"nonce-{self.nonce_seq}", "actions": self.actions,
                         "expires_at": _later(5), "provider": "simulator", "provider_url": "/liveness-sim/"}
        match = re.fullmatch(r"/liveness-sim/api/sessions/([^/]+)/result", path)
        if match:
            outcome = body.get("outcome")
            return 200, {"result": {"nonce": match.group(1), "subject": "subj", "score": 0.95 if outcome != "face_mismatch" else 0.2,
                                    "passed": outcome != "not_live", "issued_at": 1767225600}, "signature": "c2ln"}
        if path == "/api/activation/liveness/verify":
            result = body.get("result", {})
            if not result.get("passed"):
                return 400, {"code": "LIVENESS_NOT_LIVE", "message": "活体检测未通过", "detail": {}}
            if result.get("score", 0) < 0.8:
                return 400, {"code": "LIVENESS_FACE_MISMATCH", "message": "人脸比对未通过", "detail": {}}
            return 200, {"next": "pin", "pin_mode": self.pin_mode}
        if path == "/api/activation/pin":
            self.activated = True
            return 200, {"next": "done", "voucher": {"status": "active"},
                         "authorization": {"id": 1, "channel": self.channel, "channel_name": CHANNEL_NAMES[self.channel],
                                           "status": "active", "created_at": "2026-01-05T10:00:00+08:00"}}
        return 404, {"code": "NOT_FOUND", "message": "未找到", "detail": {}}


def open_wizard(page: Page, live_server, wallet: FakeWallet, channel: str = "wechat") -> None:
    """Install the fake API, sign in, and open the wizard on 身份信息."""
    wallet.install(page)
    sign_in(page, live_server.url, channel, "demo-fake")
    start_activation(page)
