from django.apps import apps
from django.urls import include, path, re_path

from accounts import views as accounts_views
from accounts.liveness import simulator_apis as liveness_sim
from common import views as common_views
from config import views as config_views
from settlement import views as sync_views

handler400 = "common.errors.handler400"
handler403 = "common.errors.handler403"
handler404 = "common.errors.handler404"
handler500 = "common.errors.handler500"

urlpatterns = [
    path("healthz", common_views.healthz, name="healthz"),
    path("readyz", config_views.readyz, name="readyz"),
    path("api/schema/", common_views.SchemaApi.as_view(), name="schema"),
    path("api/docs/", common_views.SchemaDocsApi.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("accounts.urls")),
    path("api/", include("wallet.urls")),  # activation, authorizations, balance, PIN change / forgot, freeze
    path("api/", include("codes.urls")),  # /api/voucher/code...
    path("api/", include("payments.urls")),  # /api/payments/..., /api/records...
    path("api/", include("referrals.urls")),  # /api/filings...
    path("api/family/", include("family.urls")),
    path("api/staff/", include("staff.urls")),  # support console (issue #15): session + TOTP
    path("liveness-sim/api/sessions/<str:nonce>/result", liveness_sim.session_result, name="liveness-sim-result"),
    path("", include("terminal.urls")),  # the national envelope gateway and the voucher decode
    # The settlement core reference service, mounted under its own prefix so
    # the dev server can host it too. The wallet never calls these views
    # in-process: it reaches SETTLEMENT_CORE_URL over HTTP.
    path("core/", include("core_platform.urls")),
    # No Django admin (issue #20): every staff surface needs the second factor. Operators sign in
    # here with password + TOTP; the support console has its own login (/api/staff/auth/login).
    path("staff/sync/login/", accounts_views.operator_login_page, name="staff-sync-login"),
    path("staff/sync/logout/", accounts_views.operator_logout, name="staff-sync-logout"),
    path("staff/sync/", sync_views.sync_page, name="staff-sync"),
    re_path(r"^app/(?P<path>.*)$", common_views.frontend_app, name="frontend-app"),
]
if apps.is_installed("demo"):  # dev only (not installed with YIBAO_ENV=production): POS page helpers
    urlpatterns.append(path("api/demo/", include("demo.urls")))
