"""Small facts about an HTTP request that every interface needs the same way."""

from __future__ import annotations


def client_ip(request) -> str | None:
    """The caller's address as the ASGI server saw it (``REMOTE_ADDR``), or
    ``None`` when there is none. Proxy headers are not trusted here: a
    deployment behind a proxy sets REMOTE_ADDR in its ASGI server."""
    return request.META.get("REMOTE_ADDR") or None
