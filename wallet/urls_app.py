from django.urls import path

from . import apis_app

urlpatterns = [
    path("authorizations", apis_app.AuthorizationListApi.as_view(), name="voucher-authorizations"),
    path("authorizations/<int:authorization_id>/revoke", apis_app.AuthorizationRevokeApi.as_view(),
         name="voucher-authorization-revoke"),
    path("diagnosis", apis_app.DiagnosisApi.as_view(), name="voucher-diagnosis"),
]
