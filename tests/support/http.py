"""An httpx client with the small part of Django's test-client API the
personas use, so the same AppClient/Terminal drive a live server process."""

from __future__ import annotations

import json as jsonlib

import httpx


class LiveResponse:
    def __init__(self, response: httpx.Response):
        self._response = response
        self.status_code = response.status_code
        self.content = response.content
        self.headers = response.headers

    def json(self):
        return jsonlib.loads(self.content)


class LiveClient:
    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(timeout=30)

    def post(self, path, data=None, content_type="application/json", headers=None):
        if isinstance(data, (dict, list)):
            body = jsonlib.dumps(data, ensure_ascii=False).encode()
        else:
            body = data or b""
        return LiveResponse(self._http.post(self.base_url + path, content=body,
                                            headers={"content-type": content_type, **(headers or {})}))

    def get(self, path, headers=None):
        return LiveResponse(self._http.get(self.base_url + path, headers=headers or {}))
