"""The liveness probe and the built H5 app. (The readiness probe composes
checks of several apps: config/views.py.)"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, JsonResponse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.renderers import JSONRenderer

from .errors import allow_methods, json_error


@allow_methods("GET")
def healthz(request):
    """The process is up. No dependencies are touched."""
    return JsonResponse({"status": "ok", "service": settings.YIBAO_SERVICE})


@allow_methods("GET")
def frontend_app(request, path: str = ""):
    """Serve the uni-app H5 build: a file if it exists, else index.html (the
    app routes by hash, so deep links land on index.html)."""
    root: Path = Path(settings.FRONTEND_H5_DIR).resolve()
    index = root / "index.html"
    if not index.exists():
        return json_error("FRONTEND_NOT_BUILT", "前端尚未构建，请先运行 make frontend", 503)
    candidate = (root / path).resolve() if path else index
    if not candidate.is_relative_to(root) or not candidate.is_file():
        candidate = index
    content_type, _ = mimetypes.guess_type(candidate.name)
    response = FileResponse(open(candidate, "rb"), content_type=content_type or "application/octet-stream")
    if candidate == index:
        response["Cache-Control"] = "no-cache"
    else:
        response["Cache-Control"] = "public, max-age=31536000, immutable" if "/assets/" in str(candidate) else "public, max-age=300"
    return response


__all__ = ["healthz", "frontend_app", "SchemaApi", "SchemaDocsApi"]


class _JsonErrors:
    """The schema and docs views render with YAML / HTML renderers; their
    refusals (405, 415, ...) still use the one JSON error shape."""

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


class SchemaApi(_JsonErrors, SpectacularAPIView):
    pass


class SchemaDocsApi(_JsonErrors, SpectacularSwaggerView):
    pass
