from django.urls import path, re_path

from . import apis_app

urlpatterns = [
    path("authorizations", apis_app.AuthorizationListApi.as_view(), name="voucher-authorizations"),
    path("authorizations/<int:authorization_id>/revoke", apis_app.AuthorizationRevokeApi.as_view(),
         name="voucher-authorization-revoke"),
    path("diagnosis", apis_app.DiagnosisApi.as_view(), name="voucher-diagnosis"),
    path("code", apis_app.CodeCurrentApi.as_view(), name="voucher-code"),
    re_path(r"^code/(?P<kind>qr|barcode)$", apis_app.CodeImageApi.as_view(), name="voucher-code-image"),
]
