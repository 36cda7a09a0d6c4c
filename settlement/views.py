"""Operators' page: /staff/sync/ — outbox, dead letters, pulls, and the
reconciliation report (a clean day says so)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from .models import ReconciliationRun
from .selectors import sync_status
from .services.reconciliation import reconciliation_report


@login_required(login_url="/admin/login/")
@permission_required("settlement.view_reconciliationrun", raise_exception=True)
def sync_page(request):
    run = ReconciliationRun.objects.first()
    return render(request, "settlement/sync_status.html", {
        "status": sync_status(),
        "run": run,
        "report": reconciliation_report(run) if run else [],
        "discrepancies": list(run.discrepancies.order_by("id")) if run else [],
    })
