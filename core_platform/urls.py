from django.urls import path

from common import views as common_views

from . import apis

urlpatterns = [
    path("healthz", common_views.healthz, name="core-healthz"),
    path("fsi/api/rsfComIfsService/callService", apis.call_service_api, name="core-call-service"),
]
