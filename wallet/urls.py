from django.urls import path

from wallet import apis

# Mounted under api/ (config/urls.py) next to accounts.urls (login, liveness):
# the URL paths are the same as before the wallet app was split (issue #21).
urlpatterns = [
    path("me", apis.MeApi.as_view(), name="me"),
    path("activation/real-name", apis.RealNameApi.as_view(), name="activation-real-name"),
    path("activation/pin", apis.PinApi.as_view(), name="activation-pin"),
    path("voucher/authorizations", apis.AuthorizationListApi.as_view(), name="voucher-authorizations"),
    path("voucher/authorizations/<int:authorization_id>/revoke", apis.AuthorizationRevokeApi.as_view(),
         name="voucher-authorization-revoke"),
    path("voucher/diagnosis", apis.DiagnosisApi.as_view(), name="voucher-diagnosis"),
    path("account/balance", apis.BalanceApi.as_view(), name="account-balance"),
    path("notifications", apis.NotificationListApi.as_view(), name="notifications"),
    # the person's security (issue #15, docs/subsystems/security.md)
    path("pin/change", apis.PinChangeApi.as_view(), name="pin-change"),
    path("pin/forgot/liveness/start", apis.PinForgotLivenessStartApi.as_view(), name="pin-forgot-liveness-start"),
    path("pin/forgot/liveness/verify", apis.PinForgotLivenessVerifyApi.as_view(), name="pin-forgot-liveness-verify"),
    path("pin/forgot/complete", apis.PinForgotCompleteApi.as_view(), name="pin-forgot-complete"),
    path("security", apis.SecurityApi.as_view(), name="security"),
    path("security/notifications", apis.SecurityNotificationListApi.as_view(), name="security-notifications"),
    path("voucher/freeze", apis.VoucherFreezeApi.as_view(), name="voucher-freeze"),
    path("voucher/unfreeze/liveness/start", apis.VoucherUnfreezeLivenessStartApi.as_view(),
         name="voucher-unfreeze-liveness-start"),
    path("voucher/unfreeze/liveness/verify", apis.VoucherUnfreezeLivenessVerifyApi.as_view(),
         name="voucher-unfreeze-liveness-verify"),
]
