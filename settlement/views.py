"""Operators' page: /staff/sync/ — the readiness checks, outbox, dead letters,
pulls, and the reconciliation report (a clean day says so). Only for an
OTP-verified session (signed in at /staff/sync/login/ with password + TOTP)
of a user holding the operators' permission."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django_otp.decorators import otp_required

from common.health import check_database, check_redis

from .health import check_core, check_outbox
from .models import ReconciliationRun
from .selectors import sync_status
from .services.reconciliation import reconciliation_report


@otp_required(login_url="/staff/sync/login/")  # password AND TOTP (accounts' operator_login): a password-only session is sent there
@permission_required("settlement.view_reconciliationrun", raise_exception=True)
def sync_page(request):
    run = ReconciliationRun.objects.first()
    return render(request, "settlement/sync_status.html", {
        "readiness": readiness_rows(),
        "status": sync_status(),
        "run": run,
        "report": reconciliation_report(run) if run else [],
        "discrepancies": list(run.discrepancies.order_by("id")) if run else [],
    })


# The readiness checks as /readyz runs them (called here, not fetched over
# HTTP), in the order and with the names operators read.
READINESS_CHECKS = (
    ("database", "数据库", True, check_database),
    ("redis", "缓存", True, check_redis),
    ("core", "结算核心", False, check_core),
    ("outbox", "同步队列", False, check_outbox),
)


def readiness_rows() -> list[dict]:
    """One row per check: its key, Chinese name, whether it is required (down
    without it) or only degrades the service, and the check's own result."""
    return [{"key": key, "name": name, "required": required, **check()}
            for key, name, required, check in READINESS_CHECKS]
