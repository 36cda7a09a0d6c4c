"""Views of the composition root: the readiness probe, which asks every
app's checks (common: database, Redis; settlement: the core, the outbox)."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import JsonResponse

from common.errors import allow_methods
from common.health import check_database, check_redis
from settlement.health import check_core, check_outbox


@allow_methods("GET")
def readyz(request):
    """Can this process serve traffic? ``ok`` / ``degraded`` (200) or ``down`` (503).

    Database and Redis are required; the settlement core and the outbox age
    only degrade the service (codes still rotate, records still read)."""
    checks = {
        "database": check_database(),
        "redis": check_redis(),
        "core": check_core(),
        "outbox": check_outbox(),
    }
    required_ok = checks["database"]["ok"] and checks["redis"]["ok"]
    if not required_ok:
        status = "down"
    elif all(check["ok"] for check in checks.values()):
        status = "ok"
    else:
        status = "degraded"
    body = {"status": status, "service": settings.YIBAO_SERVICE, "checks": checks, "time": int(time.time())}
    return JsonResponse(body, status=200 if required_ok else 503, json_dumps_params={"ensure_ascii": False})
