"""URLconf of a process running only the settlement core (YIBAO_SERVICE=core)."""

from django.urls import include, path

from common import views as common_views

handler400 = "common.errors.handler400"
handler403 = "common.errors.handler403"
handler404 = "common.errors.handler404"
handler500 = "common.errors.handler500"

urlpatterns = [
    path("healthz", common_views.healthz, name="healthz"),
    path("core/", include("core_platform.urls")),
]
