"""The operators' sign-in page for /staff/sync/ (server-rendered, like the
page it guards): username, password and a TOTP code in one form, through
``operator_login`` (throttled and audited like the console's login). A
refusal re-renders the form (200, as a browser form expects) with the
refusal's stable code and Chinese message (``data-code``)."""

from __future__ import annotations

from django.contrib import auth
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from common.errors import ApplicationError
from common.http import client_ip

from .services.staff_login import operator_login

SYNC_PAGE = "/staff/sync/"


@require_http_methods(["GET", "POST"])
def operator_login_page(request):
    target = request.POST.get("next") or request.GET.get("next") or SYNC_PAGE
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = SYNC_PAGE
    error, username = None, ""
    if request.method == "POST":
        username = str(request.POST.get("username", ""))[:150]
        try:
            operator_login(request, username=username, password=str(request.POST.get("password", ""))[:128],
                           otp=str(request.POST.get("otp", ""))[:10], ip=client_ip(request))
        except ApplicationError as refused:
            error = refused
        else:
            return redirect(target)
    return render(request, "accounts/operator_login.html", {"error": error, "next": target, "username": username})


@require_POST
def operator_logout(request):
    auth.logout(request)
    return redirect("staff-sync-login")
