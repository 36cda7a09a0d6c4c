from django.urls import path

from . import apis_security

# Mounted under api/ (config/urls.py): the person's security (issue #15, docs/subsystems/security.md).
urlpatterns = [
    path("pin/change", apis_security.PinChangeApi.as_view(), name="pin-change"),
    path("pin/forgot/liveness/start", apis_security.PinForgotLivenessStartApi.as_view(),
         name="pin-forgot-liveness-start"),
    path("pin/forgot/liveness/verify", apis_security.PinForgotLivenessVerifyApi.as_view(),
         name="pin-forgot-liveness-verify"),
    path("pin/forgot/complete", apis_security.PinForgotCompleteApi.as_view(), name="pin-forgot-complete"),
    path("security", apis_security.SecurityApi.as_view(), name="security"),
    path("security/notifications", apis_security.SecurityNotificationListApi.as_view(),
         name="security-notifications"),
    path("voucher/freeze", apis_security.VoucherFreezeApi.as_view(), name="voucher-freeze"),
    path("voucher/unfreeze/liveness/start", apis_security.VoucherUnfreezeLivenessStartApi.as_view(),
         name="voucher-unfreeze-liveness-start"),
    path("voucher/unfreeze/liveness/verify", apis_security.VoucherUnfreezeLivenessVerifyApi.as_view(),
         name="voucher-unfreeze-liveness-verify"),
]
