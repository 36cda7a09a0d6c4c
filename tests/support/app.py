"""The insured person's app as a test persona: logs in on a channel and walks
the activation API the way the mini-program does, liveness simulator included."""

from __future__ import annotations

import uuid


class AppClient:
    def __init__(self, client, channel: str = "wechat", openid: str | None = None):
        self.client = client
        self.channel = channel
        self.openid = openid or f"test-{uuid.uuid4().hex[:12]}"
        self.token = ""
        self.responses: list = []  # every body seen, for "no full ID anywhere" checks

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def post(self, path: str, data: dict | None = None):
        response = self.client.post(path, data=data or {}, content_type="application/json", headers=self._headers())
        self.responses.append(response.content)
        return response

    def get(self, path: str):
        response = self.client.get(path, headers=self._headers())
        self.responses.append(response.content)
        return response

    def login(self) -> "AppClient":
        response = self.post("/api/auth/login", {"channel": self.channel, "openid": self.openid})
        assert response.status_code == 200, response.content
        self.token = response.json()["token"]
        return self

    def real_name(self, person):
        return self.post("/api/activation/real-name", {"name": person.name, "id_number": person.id_number})

    def liveness(self, activation_id: str, outcome: str = "pass") -> tuple[dict, dict]:
        """Start a liveness session and get the simulator's signed result."""
        start = self.post("/api/activation/liveness/start", {"activation_id": activation_id})
        assert start.status_code == 200, start.content
        started = start.json()
        sim = self.client.post(f"{started['provider_url']}api/sessions/{started['nonce']}/result",
                               data={"outcome": outcome}, content_type="application/json")
        assert sim.status_code == 200, sim.content
        return started, sim.json()

    def verify(self, activation_id: str, signed: dict):
        return self.post("/api/activation/liveness/verify", {"activation_id": activation_id, **signed})

    def pin(self, activation_id: str, pin: str, confirm: str | None = None):
        body = {"activation_id": activation_id, "pin": pin}
        if confirm is not None:
            body["pin_confirm"] = confirm
        return self.post("/api/activation/pin", body)

    def activate(self, person, pin: str = "258036") -> dict:
        """The whole wizard; returns the final answer."""
        first = self.real_name(person)
        assert first.status_code == 200, first.content
        activation_id = first.json()["activation_id"]
        _, signed = self.liveness(activation_id)
        verified = self.verify(activation_id, signed)
        assert verified.status_code == 200, verified.content
        new = verified.json()["pin_mode"] == "new"
        done = self.pin(activation_id, pin, pin if new else None)
        assert done.status_code == 200, done.content
        return done.json()
